//! The volume header at byte 0 of every volume.

use super::freemap::Blockmap;
use crate::le::{I32, I64, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct hammer_volume_ondisk`: 1928 bytes at byte 0 of every volume (read as 16 KiB).
    pub struct VolumeOndisk = "hammer_volume_ondisk" {
        /// `HAMMER_FSBUF_VOLUME`
        vol_signature: U64 => Hex,
        /// Byte offset of the boot area.
        vol_bot_beg: I64 => Hex,
        /// Byte offset of the memory log.
        vol_mem_beg: I64 => Hex,
        /// Physical base of zone-2 space.
        vol_buf_beg: I64 => Hex,
        /// End of the buffer space.
        vol_buf_end: I64 => Hex,
        vol_reserved01: I64 => Hex,
        /// Filesystem id, identical on every volume (DCE uuid).
        vol_fsid: [u8; 16] => UuidLe,
        /// The HAMMER fstype uuid.
        vol_fstype: [u8; 16] => UuidLe,
        vol_label: [u8; 64] => Text,
        vol_no: I32 => SignedDec,
        vol_count: I32 => SignedDec,
        vol_version: U32 => Dec,
        /// Advisory: set by the kernel flusher, checked by nobody.
        vol_crc: U32 => Hex,
        vol_flags: U32 => Hex,
        vol_rootvol: U32 => Dec,
        vol_reserved: [U32; 8] => Bytes,
        vol0_stat_bigblocks: I64 => SignedDec,
        vol0_stat_freebigblocks: I64 => SignedDec,
        vol0_reserved01: I64 => Hex,
        vol0_stat_inodes: I64 => SignedDec,
        vol0_reserved02: I64 => Hex,
        /// Zone-8 offset of the B-Tree root node.
        vol0_btree_root: U64 => Hex,
        /// Highest partially synchronized TID.
        vol0_next_tid: U64 => Hex,
        vol0_reserved03: U64 => Hex,
        /// One `hammer_blockmap` per zone.
        vol0_blockmap: [Blockmap; 16] => Array(<Blockmap as crate::Layout>::FIELDS, 40),
        /// Zone-2 base of each UNDO big-block; UNAVAIL when unused.
        vol0_undo_array: [U64; 128] => Bytes,
    }
}
assert_size!(VolumeOndisk, 1928);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn offsets_match_hammer_disk_h() {
        assert_eq!(offset_of!(VolumeOndisk, vol_fsid), 48);
        assert_eq!(offset_of!(VolumeOndisk, vol_fstype), 64);
        assert_eq!(offset_of!(VolumeOndisk, vol_label), 80);
        assert_eq!(offset_of!(VolumeOndisk, vol_no), 144);
        assert_eq!(offset_of!(VolumeOndisk, vol_version), 152);
        assert_eq!(offset_of!(VolumeOndisk, vol_crc), 156);
        assert_eq!(offset_of!(VolumeOndisk, vol_rootvol), 164);
        assert_eq!(offset_of!(VolumeOndisk, vol0_stat_bigblocks), 200);
        assert_eq!(offset_of!(VolumeOndisk, vol0_stat_inodes), 224);
        assert_eq!(offset_of!(VolumeOndisk, vol0_btree_root), 240);
        assert_eq!(offset_of!(VolumeOndisk, vol0_next_tid), 248);
        assert_eq!(offset_of!(VolumeOndisk, vol0_blockmap), 264);
        assert_eq!(offset_of!(VolumeOndisk, vol0_undo_array), 904);
    }
}
