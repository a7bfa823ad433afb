//! Output plumbing: JSON Lines on stdout, a broken pipe ends quietly.

use serde::Serialize;
use std::io::{self, BufWriter, Stdout, Write};

/// A buffered stdout for results.
pub struct Out {
    w: BufWriter<Stdout>,
}

impl Default for Out {
    fn default() -> Self {
        Self::new()
    }
}

impl Out {
    pub fn new() -> Self {
        Out { w: BufWriter::with_capacity(1 << 16, io::stdout()) }
    }

    /// Writes one JSON object and a newline.
    pub fn json(&mut self, v: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, v).map_err(io::Error::from)?;
        self.w.write_all(b"\n")
    }

    /// The writer, for human output.
    pub fn w(&mut self) -> &mut BufWriter<Stdout> {
        &mut self.w
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// Maps an output error to a result: a closed pipe (`| head`) is not a failure.
pub fn finish(r: io::Result<()>) -> crate::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(crate::Error::io("<stdout>", e)),
        Ok(()) => Ok(()),
    }
}
