//! Blockmap entries of the volume header and the two-layer freemap.

use crate::le::{I32, I64, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct hammer_blockmap`: one per zone in `vol0_blockmap`.
    pub struct Blockmap = "hammer_blockmap" {
        /// Zone-2 address of the layer1 big-block (zone 4 only).
        phys_offset: U64 => Hex,
        /// UNDO: start of the active FIFO range.
        first_offset: U64 => Hex,
        /// Allocation iterator / UNDO append point.
        next_offset: U64 => Hex,
        /// UNDO: end of the FIFO; other zones: the limit.
        alloc_offset: U64 => Hex,
        reserved01: U32 => Hex,
        /// Advisory: crc of bytes 0..36, checked by nobody.
        entry_crc: U32 => Hex,
    }
}
assert_size!(Blockmap, 40);
/// Bytes of a blockmap entry its `entry_crc` covers (`HAMMER_BLOCKMAP_CRCSIZE`).
pub const BLOCKMAP_CRCSIZE: usize = 36;

layout! {
    /// `struct hammer_blockmap_layer1`: one per 4 TiB, 262144 of them fill the layer1 big-block.
    pub struct Layer1 = "hammer_blockmap_layer1" {
        /// Free big-blocks (layer2 zone 0) under this entry.
        blocks_free: I64 => SignedDec,
        /// Zone-2 address of the layer2 big-block, or UNAVAIL.
        phys_offset: U64 => Hex,
        reserved01: U64 => Hex,
        /// Unused (0), but covered by `layer1_crc`.
        layer2_crc: U32 => Hex,
        /// crc of bytes 0..28.
        layer1_crc: U32 => Hex,
    }
}
assert_size!(Layer1, 32);
/// `HAMMER_LAYER1_CRCSIZE`
pub const LAYER1_CRCSIZE: usize = 28;

layout! {
    /// `struct hammer_blockmap_layer2`: one per 8 MiB big-block.
    pub struct Layer2 = "hammer_blockmap_layer2" {
        /// Zone owning the big-block: 0 free, 3 undo, 4 freemap, 8-11, 15 unavail.
        zone: u8 => Dec,
        reserved01: u8 => Hex,
        reserved02: [u8; 2] => Hex,
        /// Next allocation offset inside the big-block.
        append_off: U32 => Dec,
        /// Free bytes (signed since version 5).
        bytes_free: I32 => SignedDec,
        /// crc of bytes 0..12.
        entry_crc: U32 => Hex,
    }
}
assert_size!(Layer2, 16);
/// `HAMMER_LAYER2_CRCSIZE`
pub const LAYER2_CRCSIZE: usize = 12;

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn offsets_match_hammer_disk_h() {
        assert_eq!(offset_of!(Blockmap, alloc_offset), 24);
        assert_eq!(offset_of!(Blockmap, entry_crc), 36);
        assert_eq!(offset_of!(Layer1, layer2_crc), 24);
        assert_eq!(offset_of!(Layer1, layer1_crc), 28);
        assert_eq!(offset_of!(Layer2, append_off), 4);
        assert_eq!(offset_of!(Layer2, bytes_free), 8);
        assert_eq!(offset_of!(Layer2, entry_crc), 12);
    }
}
