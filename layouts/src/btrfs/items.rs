//! Leaf item bodies (`include/uapi/linux/btrfs_tree.h`): inodes, directory entries, file
//! extents, extent backrefs, roots, block groups, free space, qgroups, device stats, balance,
//! device replace, verity and raid stripes. Chunks, stripes, device items and device extents live
//! in `volumes.rs` and `superblock.rs`.

use super::tree::DiskKey;
use crate::le::{U16, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct btrfs_timespec`
    pub struct Timespec = "btrfs_timespec" {
        sec: U64 => Dec,
        nsec: U32 => Dec,
    }
}
assert_size!(Timespec, 12);

layout! {
    /// `struct btrfs_inode_item` (also the first 160 bytes of a root item).
    pub struct InodeItem = "btrfs_inode_item" {
        generation: U64 => Dec,
        transid: U64 => Dec,
        size: U64 => Dec,
        nbytes: U64 => Dec,
        block_group: U64 => Dec,
        nlink: U32 => Dec,
        uid: U32 => Dec,
        gid: U32 => Dec,
        mode: U32 => Dec,
        rdev: U64 => Dec,
        flags: U64 => Hex,
        sequence: U64 => Dec,
        reserved: [U64; 4] => Bytes,
        atime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
        ctime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
        mtime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
        otime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
    }
}
assert_size!(InodeItem, 160);

layout! {
    /// `struct btrfs_inode_ref`, followed by `name_len` bytes of name; repeated within the item.
    pub struct InodeRef = "btrfs_inode_ref" {
        index: U64 => Dec,
        name_len: U16 => Dec,
    }
}
assert_size!(InodeRef, 10);

layout! {
    /// `struct btrfs_inode_extref`, followed by `name_len` bytes of name; repeated.
    pub struct InodeExtref = "btrfs_inode_extref" {
        parent_objectid: U64 => Dec,
        index: U64 => Dec,
        name_len: U16 => Dec,
    }
}
assert_size!(InodeExtref, 18);

layout! {
    /// `struct btrfs_dir_item`, followed by the name and `data_len` bytes of data (xattr value);
    /// repeated within the item on hash collisions.
    pub struct DirItem = "btrfs_dir_item" {
        location: DiskKey => Struct(<DiskKey as crate::Layout>::FIELDS),
        transid: U64 => Dec,
        data_len: U16 => Dec,
        name_len: U16 => Dec,
        type_: u8 as "type" => Dec,
    }
}
assert_size!(DirItem, 30);

layout! {
    /// `struct btrfs_dir_log_item`
    pub struct DirLogItem = "btrfs_dir_log_item" {
        end: U64 => Dec,
    }
}
assert_size!(DirLogItem, 8);

layout! {
    /// `struct btrfs_file_extent_item`; an inline extent's data starts at `disk_bytenr`.
    pub struct FileExtentItem = "btrfs_file_extent_item" {
        generation: U64 => Dec,
        ram_bytes: U64 => Dec,
        compression: u8 => Dec,
        encryption: u8 => Dec,
        other_encoding: U16 => Dec,
        type_: u8 as "type" => Dec,
        disk_bytenr: U64 => Dec,
        disk_num_bytes: U64 => Dec,
        offset: U64 => Dec,
        num_bytes: U64 => Dec,
    }
}
assert_size!(FileExtentItem, 53);
/// Where inline file data starts in a file extent item (`offsetof(disk_bytenr)`).
pub const FILE_EXTENT_INLINE_DATA_START: usize = 21;

layout! {
    /// `struct btrfs_extent_item`, followed (non-skinny tree blocks) by a tree block info, then
    /// inline backrefs.
    pub struct ExtentItem = "btrfs_extent_item" {
        refs: U64 => Dec,
        generation: U64 => Dec,
        flags: U64 => Hex,
    }
}
assert_size!(ExtentItem, 24);

layout! {
    /// `struct btrfs_tree_block_info`
    pub struct TreeBlockInfo = "btrfs_tree_block_info" {
        key: DiskKey => Struct(<DiskKey as crate::Layout>::FIELDS),
        level: u8 => Dec,
    }
}
assert_size!(TreeBlockInfo, 18);

layout! {
    /// `struct btrfs_extent_inline_ref`: type and offset; an EXTENT_DATA_REF uses the offset
    /// bytes as the start of an [`ExtentDataRef`], a SHARED_DATA_REF is followed by a
    /// [`SharedDataRef`].
    pub struct ExtentInlineRef = "btrfs_extent_inline_ref" {
        type_: u8 as "type" => Dec,
        offset: U64 => Dec,
    }
}
assert_size!(ExtentInlineRef, 9);

layout! {
    /// `struct btrfs_extent_data_ref`
    pub struct ExtentDataRef = "btrfs_extent_data_ref" {
        root: U64 => Dec,
        objectid: U64 => Dec,
        offset: U64 => Dec,
        count: U32 => Dec,
    }
}
assert_size!(ExtentDataRef, 28);

layout! {
    /// `struct btrfs_shared_data_ref`
    pub struct SharedDataRef = "btrfs_shared_data_ref" {
        count: U32 => Dec,
    }
}
assert_size!(SharedDataRef, 4);

layout! {
    /// `struct btrfs_extent_owner_ref` (simple quotas)
    pub struct ExtentOwnerRef = "btrfs_extent_owner_ref" {
        root_id: U64 => Dec,
    }
}
assert_size!(ExtentOwnerRef, 8);

layout! {
    /// `struct btrfs_extent_ref_v0` (pre-2.6.31 backrefs)
    pub struct ExtentRefV0 = "btrfs_extent_ref_v0" {
        root: U64 => Dec,
        generation: U64 => Dec,
        objectid: U64 => Dec,
        count: U32 => Dec,
    }
}
assert_size!(ExtentRefV0, 28);

layout! {
    /// `struct btrfs_root_item`; items written by old kernels end at `generation_v2`.
    pub struct RootItem = "btrfs_root_item" {
        inode: InodeItem => Struct(<InodeItem as crate::Layout>::FIELDS),
        generation: U64 => Dec,
        root_dirid: U64 => Dec,
        bytenr: U64 => Dec,
        byte_limit: U64 => Dec,
        bytes_used: U64 => Dec,
        last_snapshot: U64 => Dec,
        flags: U64 => Hex,
        refs: U32 => Dec,
        drop_progress: DiskKey => Struct(<DiskKey as crate::Layout>::FIELDS),
        drop_level: u8 => Dec,
        level: u8 => Dec,
        generation_v2: U64 => Dec,
        uuid: [u8; 16] => Uuid,
        parent_uuid: [u8; 16] => Uuid,
        received_uuid: [u8; 16] => Uuid,
        ctransid: U64 => Dec,
        otransid: U64 => Dec,
        stransid: U64 => Dec,
        rtransid: U64 => Dec,
        ctime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
        otime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
        stime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
        rtime: Timespec => Struct(<Timespec as crate::Layout>::FIELDS),
        reserved: [U64; 8] => Bytes,
    }
}
assert_size!(RootItem, 439);
/// `btrfs_legacy_root_item_size()`: a root item from before subvolume uuids and times.
pub const LEGACY_ROOT_ITEM_SIZE: usize = 239;

layout! {
    /// `struct btrfs_root_ref` (ROOT_REF and ROOT_BACKREF), followed by the name.
    pub struct RootRef = "btrfs_root_ref" {
        dirid: U64 => Dec,
        sequence: U64 => Dec,
        name_len: U16 => Dec,
    }
}
assert_size!(RootRef, 18);

layout! {
    /// `struct btrfs_block_group_item`
    pub struct BlockGroupItem = "btrfs_block_group_item" {
        used: U64 => Dec,
        chunk_objectid: U64 => Dec,
        flags: U64 => Hex,
    }
}
assert_size!(BlockGroupItem, 24);

layout! {
    /// `struct btrfs_free_space_info`
    pub struct FreeSpaceInfo = "btrfs_free_space_info" {
        extent_count: U32 => Dec,
        flags: U32 => Hex,
    }
}
assert_size!(FreeSpaceInfo, 8);

layout! {
    /// `struct btrfs_free_space_header`: the v1 space cache's (FREE_SPACE, 0, bg start) item.
    pub struct FreeSpaceHeader = "btrfs_free_space_header" {
        location: DiskKey => Struct(<DiskKey as crate::Layout>::FIELDS),
        generation: U64 => Dec,
        num_entries: U64 => Dec,
        num_bitmaps: U64 => Dec,
    }
}
assert_size!(FreeSpaceHeader, 41);

layout! {
    /// `struct btrfs_qgroup_status_item` up to `rescan`; `enable_gen` (simple quotas, 8 more
    /// bytes) follows in newer filesystems.
    pub struct QgroupStatusItem = "btrfs_qgroup_status_item" {
        version: U64 => Dec,
        generation: U64 => Dec,
        flags: U64 => Hex,
        rescan: U64 => Dec,
    }
}
assert_size!(QgroupStatusItem, 32);

layout! {
    /// `struct btrfs_qgroup_info_item`
    pub struct QgroupInfoItem = "btrfs_qgroup_info_item" {
        generation: U64 => Dec,
        rfer: U64 => Dec,
        rfer_cmpr: U64 => Dec,
        excl: U64 => Dec,
        excl_cmpr: U64 => Dec,
    }
}
assert_size!(QgroupInfoItem, 40);

layout! {
    /// `struct btrfs_qgroup_limit_item`
    pub struct QgroupLimitItem = "btrfs_qgroup_limit_item" {
        flags: U64 => Hex,
        max_rfer: U64 => Dec,
        max_excl: U64 => Dec,
        rsv_rfer: U64 => Dec,
        rsv_excl: U64 => Dec,
    }
}
assert_size!(QgroupLimitItem, 40);

/// `BTRFS_DEV_STAT_VALUES_MAX`: write, read, flush, corruption, generation errors.
pub const DEV_STAT_VALUES_MAX: usize = 5;

layout! {
    /// `struct btrfs_dev_stats_item` as of today; it may grow at the end.
    pub struct DevStatsItem = "btrfs_dev_stats_item" {
        values: [U64; DEV_STAT_VALUES_MAX] => Bytes,
    }
}
assert_size!(DevStatsItem, 40);

layout! {
    /// `struct btrfs_disk_balance_args` (the `usage` and `limit` unions shown split).
    pub struct DiskBalanceArgs = "btrfs_disk_balance_args" {
        profiles: U64 => Hex,
        usage_min: U32 => Dec,
        usage_max: U32 => Dec,
        devid: U64 => Dec,
        pstart: U64 => Dec,
        pend: U64 => Dec,
        vstart: U64 => Dec,
        vend: U64 => Dec,
        target: U64 => Hex,
        flags: U64 => Hex,
        limit_min: U32 => Dec,
        limit_max: U32 => Dec,
        stripes_min: U32 => Dec,
        stripes_max: U32 => Dec,
        unused: [U64; 6] => Bytes,
    }
}
assert_size!(DiskBalanceArgs, 136);

layout! {
    /// `struct btrfs_balance_item`: (BALANCE, TEMPORARY_ITEM, 0) in the root tree.
    pub struct BalanceItem = "btrfs_balance_item" {
        flags: U64 => Hex,
        data: DiskBalanceArgs => Struct(<DiskBalanceArgs as crate::Layout>::FIELDS),
        meta: DiskBalanceArgs => Struct(<DiskBalanceArgs as crate::Layout>::FIELDS),
        sys: DiskBalanceArgs => Struct(<DiskBalanceArgs as crate::Layout>::FIELDS),
        unused: [U64; 4] => Bytes,
    }
}
assert_size!(BalanceItem, 448);

layout! {
    /// `struct btrfs_dev_replace_item`: (0, DEV_REPLACE, 0) in the device tree.
    pub struct DevReplaceItem = "btrfs_dev_replace_item" {
        src_devid: U64 => Dec,
        cursor_left: U64 => Dec,
        cursor_right: U64 => Dec,
        cont_reading_from_srcdev_mode: U64 => Dec,
        replace_state: U64 => Dec,
        time_started: U64 => Dec,
        time_stopped: U64 => Dec,
        num_write_errors: U64 => Dec,
        num_uncorrectable_read_errors: U64 => Dec,
    }
}
assert_size!(DevReplaceItem, 72);

layout! {
    /// `struct btrfs_verity_descriptor_item`: (ino, VERITY_DESC_ITEM, 0); later offsets hold the
    /// descriptor bytes themselves.
    pub struct VerityDescriptorItem = "btrfs_verity_descriptor_item" {
        size: U64 => Dec,
        reserved: [U64; 2] => Bytes,
        encryption: u8 => Dec,
    }
}
assert_size!(VerityDescriptorItem, 25);

layout! {
    /// `struct btrfs_raid_stride`: one device's part of a RAID_STRIPE item
    /// (`struct btrfs_stripe_extent` is an array of these).
    pub struct RaidStride = "btrfs_raid_stride" {
        devid: U64 => Dec,
        physical: U64 => Dec,
    }
}
assert_size!(RaidStride, 16);

/// `BTRFS_CSUM_ITEM_KEY`: the obsolete per-sector checksum item.
pub const CSUM_ITEM_KEY: u8 = 120;
/// `BTRFS_CSUM_TREE_TMP_OBJECTID` / `BTRFS_CSUM_CHANGE_OBJECTID` (-13): checksum conversion.
pub const CSUM_CHANGE_OBJECTID: u64 = (-13i64) as u64;
/// `BTRFS_NAME_LEN`
pub const NAME_LEN: usize = 255;

// `btrfs_dir_item.type` (`BTRFS_FT_*`).
pub const FT_UNKNOWN: u8 = 0;
pub const FT_REG_FILE: u8 = 1;
pub const FT_DIR: u8 = 2;
pub const FT_CHRDEV: u8 = 3;
pub const FT_BLKDEV: u8 = 4;
pub const FT_FIFO: u8 = 5;
pub const FT_SOCK: u8 = 6;
pub const FT_SYMLINK: u8 = 7;
pub const FT_XATTR: u8 = 8;

// Inode flags (`BTRFS_INODE_*`).
pub const INODE_NODATASUM: u64 = 1 << 0;
pub const INODE_NODATACOW: u64 = 1 << 1;
pub const INODE_READONLY: u64 = 1 << 2;
pub const INODE_NOCOMPRESS: u64 = 1 << 3;
pub const INODE_PREALLOC: u64 = 1 << 4;
pub const INODE_SYNC: u64 = 1 << 5;
pub const INODE_IMMUTABLE: u64 = 1 << 6;
pub const INODE_APPEND: u64 = 1 << 7;
pub const INODE_NODUMP: u64 = 1 << 8;
pub const INODE_NOATIME: u64 = 1 << 9;
pub const INODE_DIRSYNC: u64 = 1 << 10;
pub const INODE_COMPRESS: u64 = 1 << 11;
pub const INODE_ROOT_ITEM_INIT: u64 = 1 << 31;

// File extent types and compression (`BTRFS_FILE_EXTENT_*`, `BTRFS_COMPRESS_*`).
pub const FILE_EXTENT_INLINE: u8 = 0;
pub const FILE_EXTENT_REG: u8 = 1;
pub const FILE_EXTENT_PREALLOC: u8 = 2;
pub const COMPRESS_NONE: u8 = 0;
pub const COMPRESS_ZLIB: u8 = 1;
pub const COMPRESS_LZO: u8 = 2;
pub const COMPRESS_ZSTD: u8 = 3;

// Extent item flags.
pub const EXTENT_FLAG_DATA: u64 = 1 << 0;
pub const EXTENT_FLAG_TREE_BLOCK: u64 = 1 << 1;
pub const BLOCK_FLAG_FULL_BACKREF: u64 = 1 << 8;

/// `BTRFS_ROOT_SUBVOL_RDONLY`
pub const ROOT_SUBVOL_RDONLY: u64 = 1 << 0;

// Qgroup status flags.
pub const QGROUP_STATUS_FLAG_ON: u64 = 1 << 0;
pub const QGROUP_STATUS_FLAG_RESCAN: u64 = 1 << 1;
pub const QGROUP_STATUS_FLAG_INCONSISTENT: u64 = 1 << 2;
pub const QGROUP_STATUS_FLAG_SIMPLE_MODE: u64 = 1 << 3;
/// Qgroup ids: level in the top 16 bits, subvolume id in the low 48.
pub const QGROUP_LEVEL_SHIFT: u32 = 48;

/// `BTRFS_FREE_SPACE_USING_BITMAPS`
pub const FREE_SPACE_USING_BITMAPS: u32 = 1 << 0;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn item_offsets_match_btrfs_tree_h() {
        assert_eq!(offset_of!(InodeItem, atime), 112);
        assert_eq!(offset_of!(RootItem, generation), 160);
        assert_eq!(offset_of!(RootItem, bytenr), 176);
        assert_eq!(offset_of!(RootItem, level), 238);
        assert_eq!(offset_of!(RootItem, generation_v2), LEGACY_ROOT_ITEM_SIZE);
        assert_eq!(offset_of!(FileExtentItem, disk_bytenr), FILE_EXTENT_INLINE_DATA_START);
        assert_eq!(offset_of!(BalanceItem, meta), 144);
    }
}
