//! Tree blocks: header, keys, leaf items and node pointers.

use crate::le::{U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct btrfs_disk_key`: the (objectid, type, offset) triple every item is sorted by.
    pub struct DiskKey = "btrfs_disk_key" {
        objectid: U64 => Dec,
        type_: u8 as "type" => Dec,
        offset: U64 => Dec,
    }
}
assert_size!(DiskKey, 17);

impl DiskKey {
    /// The key as a plain tuple, for ordering and printing.
    pub fn triple(&self) -> (u64, u8, u64) {
        (self.objectid.get(), self.type_, self.offset.get())
    }
}

layout! {
    /// `struct btrfs_header`: the first 101 bytes of every tree block.
    pub struct Header = "btrfs_header" {
        /// Checksum of bytes 32..nodesize, in the superblock's csum_type.
        csum: [u8; 32] => Bytes,
        /// Filesystem uuid (or metadata_uuid when METADATA_UUID is set).
        fsid: [u8; 16] => Uuid,
        /// Logical address this block was written at.
        bytenr: U64 => Dec,
        /// Low 56 bits: WRITTEN/RELOC flags; high 8 bits: backref revision.
        flags: U64 => Hex,
        chunk_tree_uuid: [u8; 16] => Uuid,
        generation: U64 => Dec,
        owner: U64 => Dec,
        nritems: U32 => Dec,
        level: u8 => Dec,
    }
}
assert_size!(Header, 101);

layout! {
    /// `struct btrfs_item`: a leaf slot; `offset` is relative to the end of the header.
    pub struct Item = "btrfs_item" {
        key: DiskKey => Struct(<DiskKey as crate::Layout>::FIELDS),
        offset: U32 => Dec,
        size: U32 => Dec,
    }
}
assert_size!(Item, 25);

layout! {
    /// `struct btrfs_key_ptr`: an internal-node slot pointing at a child block.
    pub struct KeyPtr = "btrfs_key_ptr" {
        key: DiskKey => Struct(<DiskKey as crate::Layout>::FIELDS),
        blockptr: U64 => Dec,
        generation: U64 => Dec,
    }
}
assert_size!(KeyPtr, 33);

/// Size of the tree block header.
pub const HEADER_SIZE: usize = 101;
/// `BTRFS_HEADER_FLAG_WRITTEN`
pub const HEADER_FLAG_WRITTEN: u64 = 1 << 0;
/// `BTRFS_HEADER_FLAG_RELOC`
pub const HEADER_FLAG_RELOC: u64 = 1 << 1;
/// Shift of the backref revision in the header flags.
pub const BACKREF_REV_SHIFT: u32 = 56;
/// `BTRFS_MIXED_BACKREF_REV`: the backref revision of every block written since 2.6.31.
pub const MIXED_BACKREF_REV: u64 = 1;
/// `BTRFS_MAX_LEVEL`
pub const MAX_LEVEL: u8 = 8;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn header_offsets_match_btrfs_tree_h() {
        assert_eq!(offset_of!(Header, bytenr), 48);
        assert_eq!(offset_of!(Header, chunk_tree_uuid), 64);
        assert_eq!(offset_of!(Header, generation), 80);
        assert_eq!(offset_of!(Header, owner), 88);
        assert_eq!(offset_of!(Header, nritems), 96);
        assert_eq!(offset_of!(Header, level), 100);
    }
}
