//! EXTENT_CSUM: checksums of consecutive data sectors starting at the key offset.

use super::ItemCtx;
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::DiskKey;
use super::put::{Out, Put};
use std::io::{self};

pub(super) struct ExtentCsum<'d> {
    start: u64,
    /// Bytes covered, computed as progs does (in 32 bits).
    length: u32,
    csums: &'d [u8],
    csum_size: usize,
    sectorsize: u32,
}

impl<'d> ExtentCsum<'d> {
    pub(super) fn new(key: &DiskKey, data: &'d [u8], ctx: &ItemCtx) -> Self {
        let csum_size = ctx.csum_size.max(1);
        let sectors = (data.len() / csum_size) as u32;
        ExtentCsum {
            start: key.offset.get(),
            length: sectors.wrapping_mul(ctx.sectorsize),
            csums: data,
            csum_size,
            sectorsize: ctx.sectorsize,
        }
    }

    /// `print_extent_csum`: the range, and with `--csum-items` every checksum as
    /// `[offset] 0xCSUM`, as many per line as fill 32 bytes of checksum (at least one).
    pub(super) fn text(&self, o: &mut Out<'_>, csum_items: bool) -> io::Result<()> {
        o.s("\t\trange start ").u(self.start).s(" end ").u(self.start.wrapping_add(u64::from(self.length)));
        o.s(" length ").u(u64::from(self.length)).s("\n");
        if !csum_items {
            return Ok(());
        }
        let per_line = (32 / self.csum_size / 2).max(1);
        let count = self.length.checked_div(self.sectorsize).unwrap_or(0) as usize;
        let mut offset = self.start;
        for (i, c) in self.csums.chunks_exact(self.csum_size).take(count).enumerate() {
            o.s(if i == 0 {
                "\t\t"
            } else if i % per_line == 0 {
                "\n\t\t"
            } else {
                " "
            });
            o.s("[").u(offset).s("] 0x");
            for b in c {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                o.b(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            offset = offset.wrapping_add(u64::from(self.sectorsize));
        }
        o.s("\n");
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        r.push("start", self.start)
            .push("end", self.start.wrapping_add(u64::from(self.length)))
            .push("length", self.length)
            .push("csum_size", self.csum_size as u64)
            .push("sectorsize", self.sectorsize)
            .push("csums", Value::Bytes(self.csums.into()));
    }
}
