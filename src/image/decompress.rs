//! `.zst` and `.xz` images: decompressed once into a sparse, unlinked temporary file.
//!
//! The images we are given are sparse raw volumes (hundreds of MiB apparent, a few MiB of data):
//! runs of zeros become holes, so the temporary costs what the data costs. The file is unlinked
//! at creation (`tempfile::tempfile`), so nothing is left behind even if we are killed.

use super::{Device, OpenOptions};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// A compression format recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Zstd,
    Xz,
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

impl Codec {
    /// Recognises a compressed image by its first bytes (the extension is only a hint for humans).
    pub fn from_path(path: &Path) -> Result<Option<Codec>> {
        let mut head = [0u8; 6];
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        if !f.metadata().map_err(|e| Error::io(path, e))?.is_file() {
            return Ok(None);
        }
        let n = read_full(&mut f, &mut head).map_err(|e| Error::io(path, e))?;
        Ok(if n >= 4 && head[..4] == ZSTD_MAGIC {
            Some(Codec::Zstd)
        } else if n == 6 && head == XZ_MAGIC {
            Some(Codec::Xz)
        } else {
            None
        })
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Decompresses `path` into a sparse temporary file and opens that as the device.
pub fn to_sparse_temp(path: &Path, codec: Codec, opts: OpenOptions) -> Result<Device> {
    let input = BufReader::with_capacity(1 << 20, File::open(path).map_err(|e| Error::io(path, e))?);
    let temp = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let mut out = SparseWriter::new(temp.try_clone().map_err(|e| Error::io(path, e))?);
    let bad = |e: String| Error::Corrupt(format!("{}: cannot decompress: {e}", path.display()));
    match codec {
        Codec::Zstd => {
            let mut dec = ruzstd::decoding::StreamingDecoder::new(input).map_err(|e| bad(e.to_string()))?;
            copy_big(&mut dec, &mut out).map_err(|e| bad(e.to_string()))?;
        }
        Codec::Xz => match xz_tool(path, &mut out) {
            Some(r) => r.map_err(bad)?,
            None => {
                let mut input = input;
                lzma_rs::xz_decompress(&mut input, &mut out).map_err(|e| bad(e.to_string()))?;
            }
        },
    }
    out.finish().map_err(|e| Error::io(path, e))?;
    let handle = temp.try_clone().map_err(|e| Error::io(path, e))?;
    Device::from_file(path.to_path_buf(), handle, opts, Some(temp))
}

/// `io::copy` with a 1 MiB buffer: its 8 KiB one costs a syscall (pipe) or a decoder call per
/// 8 KiB, which adds up over a multi-GiB image.
fn copy_big(r: &mut impl Read, w: &mut SparseWriter) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
    }
}

/// Decodes with the system's `xz` when it can be started, `None` otherwise (then lzma-rs does it).
///
/// lzma-rs decodes a byte at a time (~100 MB/s here): a 2 GiB sparse image takes over 20 s,
/// where liblzma's `xz` takes one or two. Same bytes either way; `ONDISK_XZ=builtin` forces
/// lzma-rs (tests compare the two).
fn xz_tool(path: &Path, out: &mut SparseWriter) -> Option<Result<(), String>> {
    if std::env::var_os("ONDISK_XZ").is_some_and(|v| v == "builtin") {
        return None;
    }
    let mut child = std::process::Command::new("xz")
        .args(["-dc", "--"])
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let copied = match child.stdout.take() {
        Some(mut stdout) => copy_big(&mut stdout, out).map_err(|e| e.to_string()),
        None => Err("xz: no output pipe".to_string()),
    };
    if copied.is_err() {
        let _ = child.kill();
    }
    // xz says at most a line or two on stderr: read after stdout is drained.
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = child.wait().map_err(|e| e.to_string());
    Some(match (copied, status) {
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(()), Ok(s)) if s.success() => Ok(()),
        (Ok(()), Ok(_)) => Err(err.lines().next().unwrap_or("xz failed").to_string()),
    })
}

/// Writes a stream to a file, turning aligned all-zero blocks into holes.
struct SparseWriter {
    file: File,
    pos: u64,
    pending: Vec<u8>,
}

const SPARSE_BLOCK: usize = 64 << 10;

/// An all-zero block to compare against: slice equality is a memcmp, fast even in debug builds
/// (a byte loop over a multi-GiB image is not).
static ZEROS: [u8; SPARSE_BLOCK] = [0; SPARSE_BLOCK];

impl SparseWriter {
    fn new(file: File) -> Self {
        SparseWriter { file, pos: 0, pending: Vec::with_capacity(SPARSE_BLOCK) }
    }

    /// Writes one block at the current position unless it is all zeros (then it stays a hole).
    fn put(&mut self, block: &[u8]) -> io::Result<()> {
        if block != &ZEROS[..block.len()] {
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file.write_all(block)?;
        }
        self.pos += block.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.pending);
        self.put(&rest)?;
        // Trailing holes are not written: set the length explicitly.
        self.file.set_len(self.pos)
    }
}

impl Write for SparseWriter {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let total = buf.len();
        // Top up a partial block first, then take whole blocks straight from the caller's buffer.
        if !self.pending.is_empty() {
            let take = (SPARSE_BLOCK - self.pending.len()).min(buf.len());
            self.pending.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.pending.len() == SPARSE_BLOCK {
                let block = std::mem::take(&mut self.pending);
                self.put(&block)?;
                self.pending = block;
                self.pending.clear();
            }
        }
        while buf.len() >= SPARSE_BLOCK {
            self.put(&buf[..SPARSE_BLOCK])?;
            buf = &buf[SPARSE_BLOCK..];
        }
        self.pending.extend_from_slice(buf);
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
