//! The superblock, its embedded device item and backup roots.

use crate::le::{U16, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct btrfs_dev_item`: one device of the filesystem (also embedded in the superblock).
    pub struct DevItem = "btrfs_dev_item" {
        devid: U64 => Dec,
        total_bytes: U64 => Dec,
        bytes_used: U64 => Dec,
        io_align: U32 => Dec,
        io_width: U32 => Dec,
        sector_size: U32 => Dec,
        type_: U64 as "type" => Dec,
        generation: U64 => Dec,
        start_offset: U64 => Dec,
        dev_group: U32 => Dec,
        seek_speed: u8 => Dec,
        bandwidth: u8 => Dec,
        uuid: [u8; 16] => Uuid,
        fsid: [u8; 16] => Uuid,
    }
}
assert_size!(DevItem, 98);

layout! {
    /// `struct btrfs_root_backup`: one of the four rotating copies of the main roots.
    pub struct RootBackup = "btrfs_root_backup" {
        tree_root: U64 => Dec,
        tree_root_gen: U64 => Dec,
        chunk_root: U64 => Dec,
        chunk_root_gen: U64 => Dec,
        extent_root: U64 => Dec,
        extent_root_gen: U64 => Dec,
        fs_root: U64 => Dec,
        fs_root_gen: U64 => Dec,
        dev_root: U64 => Dec,
        dev_root_gen: U64 => Dec,
        csum_root: U64 => Dec,
        csum_root_gen: U64 => Dec,
        total_bytes: U64 => Dec,
        bytes_used: U64 => Dec,
        num_devices: U64 => Dec,
        unused_64: [U64; 4] => Bytes,
        tree_root_level: u8 => Dec,
        chunk_root_level: u8 => Dec,
        extent_root_level: u8 => Dec,
        fs_root_level: u8 => Dec,
        dev_root_level: u8 => Dec,
        csum_root_level: u8 => Dec,
        unused_8: [u8; 10] => Bytes,
    }
}
assert_size!(RootBackup, 168);

/// `BTRFS_SYSTEM_CHUNK_ARRAY_SIZE`
pub const SYSTEM_CHUNK_ARRAY_SIZE: usize = 2048;
/// `BTRFS_NUM_BACKUP_ROOTS`
pub const NUM_BACKUP_ROOTS: usize = 4;

layout! {
    /// `struct btrfs_super_block`, 4096 bytes at 64 KiB (mirrors at 64 MiB and 256 GiB).
    pub struct SuperBlock = "btrfs_super_block" {
        csum: [u8; 32] => Bytes,
        fsid: [u8; 16] => Uuid,
        bytenr: U64 => Dec,
        flags: U64 => Hex,
        magic: U64 => Hex,
        generation: U64 => Dec,
        root: U64 => Dec,
        chunk_root: U64 => Dec,
        log_root: U64 => Dec,
        log_root_transid: U64 as "__unused_log_root_transid" => Dec,
        total_bytes: U64 => Dec,
        bytes_used: U64 => Dec,
        root_dir_objectid: U64 => Dec,
        num_devices: U64 => Dec,
        sectorsize: U32 => Dec,
        nodesize: U32 => Dec,
        leafsize: U32 as "__unused_leafsize" => Dec,
        stripesize: U32 => Dec,
        sys_chunk_array_size: U32 => Dec,
        chunk_root_generation: U64 => Dec,
        compat_flags: U64 => Hex,
        compat_ro_flags: U64 => Hex,
        incompat_flags: U64 => Hex,
        csum_type: U16 => Dec,
        root_level: u8 => Dec,
        chunk_root_level: u8 => Dec,
        log_root_level: u8 => Dec,
        dev_item: DevItem => Struct(<DevItem as crate::Layout>::FIELDS),
        label: [u8; 256] => Text,
        cache_generation: U64 => Dec,
        uuid_tree_generation: U64 => Dec,
        metadata_uuid: [u8; 16] => Uuid,
        nr_global_roots: U64 => Dec,
        reserved: [U64; 27] => Bytes,
        sys_chunk_array: [u8; SYSTEM_CHUNK_ARRAY_SIZE] => Bytes,
        super_roots: [RootBackup; NUM_BACKUP_ROOTS] => Array(<RootBackup as crate::Layout>::FIELDS, 168),
        padding: [u8; 565] => Bytes,
    }
}
assert_size!(SuperBlock, 4096);

/// `BTRFS_MAGIC`: "_BHRfS_M" read as a little-endian u64.
pub const MAGIC: u64 = 0x4D5F_5366_5248_425F;
/// Byte offsets of the primary superblock and its mirrors (`btrfs_sb_offset`).
pub const SUPER_OFFSETS: [u64; 3] = [64 << 10, 64 << 20, 256 << 30];
/// Size of a superblock on disk.
pub const SUPER_INFO_SIZE: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn superblock_offsets_match_ctree_h() {
        assert_eq!(offset_of!(SuperBlock, magic), 64);
        assert_eq!(offset_of!(SuperBlock, sys_chunk_array_size), 160);
        assert_eq!(offset_of!(SuperBlock, csum_type), 196);
        assert_eq!(offset_of!(SuperBlock, dev_item), 201);
        assert_eq!(offset_of!(SuperBlock, label), 299);
        assert_eq!(offset_of!(SuperBlock, metadata_uuid), 571);
        assert_eq!(offset_of!(SuperBlock, sys_chunk_array), 811);
        assert_eq!(offset_of!(SuperBlock, super_roots), 2859);
        assert_eq!(&MAGIC.to_le_bytes(), b"_BHRfS_M");
    }
}
