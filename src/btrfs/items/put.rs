//! Fast text output for the dump: `core::fmt` costs more than everything else a dump does, so
//! the lines printed millions of times are assembled with these byte-level helpers (decimal,
//! hex and octal without `fmt`; decimal through `itoa`, a buffer flushed to the writer in large pieces).

use std::io::{self, Write};

/// Something bytes can be appended to.
pub trait Put {
    fn b(&mut self, b: &[u8]);

    fn s(&mut self, s: &str) -> &mut Self {
        self.b(s.as_bytes());
        self
    }

    /// Unsigned decimal.
    fn u(&mut self, v: u64) -> &mut Self {
        self.b(itoa::Buffer::new().format(v).as_bytes());
        self
    }

    /// Signed decimal.
    fn i(&mut self, v: i64) -> &mut Self {
        self.b(itoa::Buffer::new().format(v).as_bytes());
        self
    }

    /// Decimal, zero-padded to `width` digits.
    fn u_pad(&mut self, v: u64, width: usize) -> &mut Self {
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(v).as_bytes();
        for _ in digits.len()..width {
            self.b(b"0");
        }
        self.b(digits);
        self
    }

    /// Lower-case hex without prefix (`%llx`).
    fn hex(&mut self, v: u64) -> &mut Self {
        self.radix(v, 4)
    }

    /// Octal (`%o`).
    fn oct(&mut self, v: u64) -> &mut Self {
        self.radix(v, 3)
    }

    /// Digits of a power-of-two radix given by its bit width.
    fn radix(&mut self, v: u64, bits: u32) -> &mut Self {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 22];
        let mut i = buf.len();
        let mut v = v;
        let mask = (1u64 << bits) - 1;
        loop {
            i -= 1;
            buf[i] = DIGITS[(v & mask) as usize];
            v >>= bits;
            if v == 0 {
                break;
            }
        }
        self.b(&buf[i..]);
        self
    }
}

/// A fixed stack buffer for short texts (keys, objectids) rendered through `Display`;
/// it silently stops at its capacity, which the texts put in it never reach.
pub struct Scratch {
    buf: [u8; 160],
    len: usize,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch { buf: [0; 160], len: 0 }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever put here (names and digits).
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("?")
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Put for Scratch {
    fn b(&mut self, b: &[u8]) {
        let n = b.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
        self.len += n;
    }
}

/// Capacity of [`Out`]'s buffer: a few lines; small because it is set up for every item.
const OUT_CAP: usize = 512;

/// The text dump's writer: collects an item's lines in a small buffer and hands them to the
/// underlying (buffered) writer in one piece, which costs far less than many tiny writes.
/// Appends never fail; the first write error is kept (later output is dropped) and returned by
/// [`Out::finish`].
pub struct Out<'w> {
    w: &'w mut dyn Write,
    buf: [u8; OUT_CAP],
    len: usize,
    err: Option<io::Error>,
}

impl<'w> Out<'w> {
    pub fn new(w: &'w mut dyn Write) -> Self {
        Out { w, buf: [0; OUT_CAP], len: 0, err: None }
    }

    fn flush_buf(&mut self) {
        if self.len > 0 && self.err.is_none() {
            if let Err(e) = self.w.write_all(&self.buf[..self.len]) {
                self.err = Some(e);
            }
        }
        self.len = 0;
    }

    /// Writes out what is buffered; the first error met on the way.
    pub fn finish(mut self) -> io::Result<()> {
        self.flush_buf();
        match self.err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Put for Out<'_> {
    fn b(&mut self, b: &[u8]) {
        if self.len + b.len() > OUT_CAP {
            self.flush_buf();
            if b.len() > OUT_CAP {
                if self.err.is_none() {
                    if let Err(e) = self.w.write_all(b) {
                        self.err = Some(e);
                    }
                }
                return;
            }
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }
}

/// So that rare lines can still use `write!`.
impl Write for Out<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Put::b(self, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_render_like_printf() {
        let mut s = Scratch::new();
        s.u(0).s(" ").u(u64::MAX).s(" ").i(-5).s(" ").hex(0x1f).s(" ").oct(0o100644).s(" ").u_pad(7, 2).s(" ").u_pad(2026, 4);
        assert_eq!(s.as_str(), "0 18446744073709551615 -5 1f 100644 07 2026");
    }

    #[test]
    fn out_keeps_order_across_flushes() {
        let mut v = Vec::new();
        let mut o = Out::new(&mut v);
        for i in 0..5000u64 {
            o.u(i).s("\n");
        }
        o.b(&[b'x'; 10000]);
        o.s("!");
        o.finish().unwrap();
        let text = String::from_utf8(v).unwrap();
        assert!(text.starts_with("0\n1\n2\n"));
        assert!(text.contains("\n4999\nxxxx"));
        assert!(text.ends_with("xx!"));
        assert_eq!(text.len(), (0..5000).map(|i: u64| i.to_string().len() + 1).sum::<usize>() + 10001);
    }
}
