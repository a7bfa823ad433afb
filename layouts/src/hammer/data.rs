//! Record data: inodes, directory entries, PFS and snapshots.

use crate::le::{I32, I64, U16, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct hammer_inode_data`: 128 bytes; the leaf CRC covers bytes 0..112.
    pub struct InodeData = "hammer_inode_data" {
        version: U16 => Dec,
        /// Permission bits only.
        mode: U16 => Hex,
        uflags: U32 => Hex,
        rmajor: U32 => Dec,
        rminor: U32 => Dec,
        /// Microseconds since the epoch.
        ctime: U64 => Dec,
        parent_obj_id: I64 => Hex,
        uid: [u8; 16] => UuidLe,
        gid: [u8; 16] => UuidLe,
        obj_type: u8 => Dec,
        /// Bits 0-1: dirhash algorithm; 0x04: DIR_LOCAL_INO.
        cap_flags: u8 => Hex,
        reserved01: U16 => Hex,
        reserved02: U32 => Hex,
        nlinks: U64 => Dec,
        size: U64 => Dec,
        /// `ext.symlink[24]` (old images: parent_obj_localization, integrity_crc).
        ext: [u8; 24] => Bytes,
        mtime: U64 => Dec,
        atime: U64 => Dec,
    }
}
assert_size!(InodeData, 128);

layout! {
    /// The fixed head of `struct hammer_direntry_data`; the name follows, not NUL-terminated.
    pub struct DirentryHead = "hammer_direntry_data" {
        obj_id: I64 => Hex,
        localization: U32 => Hex,
        reserved01: U32 => Hex,
    }
}
assert_size!(DirentryHead, 16);

layout! {
    /// `struct hammer_pseudofs_data` (`__packed`, 292 bytes).
    pub struct PfsData = "hammer_pseudofs_data" {
        sync_low_tid: U64 => Hex,
        sync_beg_tid: U64 => Hex,
        sync_end_tid: U64 => Hex,
        sync_beg_ts: U64 => Dec,
        sync_end_ts: U64 => Dec,
        shared_uuid: [u8; 16] => UuidLe,
        unique_uuid: [u8; 16] => UuidLe,
        reserved01: I32 => Hex,
        /// SLAVE=1, DELETED=0x80000000.
        mirror_flags: U32 => Hex,
        label: [u8; 64] => Text,
        snapshots: [u8; 64] => Text,
        reserved02: U32 => Hex,
        reserved03: U32 => Hex,
        reserved04: U32 => Hex,
        prune_min: U32 => Dec,
        prune_max: U32 => Dec,
        reserved: [U32; 16] => Bytes,
    }
}
assert_size!(PfsData, 292);

layout! {
    /// `struct hammer_snapshot_data`: 128 bytes.
    pub struct SnapshotData = "hammer_snapshot_data" {
        tid: U64 => Hex,
        ts: U64 => Dec,
        reserved01: U64 => Hex,
        reserved02: U64 => Hex,
        label: [u8; 64] => Text,
        reserved03: [U64; 4] => Bytes,
    }
}
assert_size!(SnapshotData, 128);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn offsets_match_hammer_disk_h() {
        assert_eq!(offset_of!(InodeData, ctime), 16);
        assert_eq!(offset_of!(InodeData, obj_type), 64);
        assert_eq!(offset_of!(InodeData, cap_flags), 65);
        assert_eq!(offset_of!(InodeData, nlinks), 72);
        assert_eq!(offset_of!(InodeData, ext), 88);
        assert_eq!(offset_of!(InodeData, mtime), 112);
        assert_eq!(offset_of!(PfsData, shared_uuid), 40);
        assert_eq!(offset_of!(PfsData, mirror_flags), 76);
        assert_eq!(offset_of!(PfsData, label), 80);
        assert_eq!(offset_of!(PfsData, snapshots), 144);
        assert_eq!(offset_of!(PfsData, prune_min), 220);
        assert_eq!(offset_of!(PfsData, reserved), 228);
        assert_eq!(offset_of!(SnapshotData, label), 32);
    }
}
