//! The v1 space cache header item `(FREE_SPACE, 0, block group start)` in the root tree.
//! (The free space tree's FREE_SPACE_INFO/EXTENT/BITMAP items are one-liners, in `mod.rs`.)

use super::{key_value, view, DecodeError};
use crate::btrfs::names::KeyText;
use crate::record::Record;
use ondisk_layouts::btrfs::*;
use super::put::Out;
use std::io::{self, Write};

/// Whether progs prints this key's item as a v1 free space cache header.
pub(super) fn is_cache_header(key: &DiskKey) -> bool {
    key.type_ == 0 && key.objectid.get() == FREE_SPACE_OBJECTID
}

pub(super) fn parse_header(data: &[u8]) -> Result<&FreeSpaceHeader, DecodeError> {
    view(data, "btrfs_free_space_header")
}

/// `print_free_space_header`
pub(super) fn header_text(o: &mut Out<'_>, h: &FreeSpaceHeader) -> io::Result<()> {
    write!(
        o,
        "\t\tlocation {}\n\t\tcache generation {} entries {} bitmaps {}\n",
        KeyText(&h.location),
        h.generation.get(),
        h.num_entries.get(),
        h.num_bitmaps.get()
    )
}

pub(super) fn header_fields(r: &mut Record<'_>, h: &FreeSpaceHeader) {
    r.push("location", key_value(&h.location))
        .push("cache_generation", h.generation.get())
        .push("entries", h.num_entries.get())
        .push("bitmaps", h.num_bitmaps.get());
}
