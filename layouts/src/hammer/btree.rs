//! B-Tree nodes and their elements.

use crate::le::{I32, I64, U16, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// The first 64 bytes of `struct hammer_node_ondisk`, before `elms[63]`.
    pub struct NodeHeader = "hammer_node_ondisk" {
        /// crc of bytes 4..4096.
        crc: U32 => Hex,
        reserved01: U32 => Hex,
        /// Zone-8 offset of the parent node; 0 for the root.
        parent: U64 => Hex,
        count: I32 => SignedDec,
        /// 'I' internal, 'L' leaf.
        type_: u8 as "type" => Hex,
        reserved02: u8 => Hex,
        reserved03: U16 => Hex,
        reserved04: U64 => Hex,
        reserved05: U64 => Hex,
        reserved06: U64 => Hex,
        reserved07: U64 => Hex,
        /// Highest TID in the subtree.
        mirror_tid: U64 => Hex,
    }
}
assert_size!(NodeHeader, 64);

layout! {
    /// `struct hammer_base_elm`: the key every element starts with.
    pub struct BtreeElm = "hammer_base_elm" {
        obj_id: I64 => Hex,
        key: I64 => Hex,
        create_tid: U64 => Hex,
        /// 0 = live.
        delete_tid: U64 => Hex,
        rec_type: U16 => Hex,
        obj_type: u8 => Dec,
        /// Internal elements: the child's type; leaf elements: 'R'; right boundary: 0.
        btype: u8 => Hex,
        localization: U32 => Hex,
    }
}
assert_size!(BtreeElm, 40);

layout! {
    /// `struct hammer_btree_internal_elm`
    pub struct InternalElm = "hammer_btree_internal_elm" {
        base: BtreeElm => Struct(<BtreeElm as crate::Layout>::FIELDS),
        mirror_tid: U64 => Hex,
        /// Zone-8 offset of the child node; 0 in the right boundary.
        subtree_offset: U64 => Hex,
        reserved01: I32 => Hex,
        reserved02: U32 => Hex,
    }
}
assert_size!(InternalElm, 64);

layout! {
    /// `struct hammer_btree_leaf_elm`
    pub struct LeafElm = "hammer_btree_leaf_elm" {
        base: BtreeElm => Struct(<BtreeElm as crate::Layout>::FIELDS),
        /// Seconds, display only.
        create_ts: U32 => Dec,
        delete_ts: U32 => Dec,
        data_offset: U64 => Hex,
        data_len: I32 => SignedDec,
        data_crc: U32 => Hex,
    }
}
assert_size!(LeafElm, 64);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn offsets_match_hammer_disk_h() {
        assert_eq!(offset_of!(NodeHeader, parent), 8);
        assert_eq!(offset_of!(NodeHeader, count), 16);
        assert_eq!(offset_of!(NodeHeader, type_), 20);
        assert_eq!(offset_of!(NodeHeader, mirror_tid), 56);
        assert_eq!(offset_of!(BtreeElm, rec_type), 32);
        assert_eq!(offset_of!(BtreeElm, btype), 35);
        assert_eq!(offset_of!(BtreeElm, localization), 36);
        assert_eq!(offset_of!(InternalElm, mirror_tid), 40);
        assert_eq!(offset_of!(InternalElm, subtree_offset), 48);
        assert_eq!(offset_of!(LeafElm, create_ts), 40);
        assert_eq!(offset_of!(LeafElm, data_offset), 48);
        assert_eq!(offset_of!(LeafElm, data_len), 56);
        assert_eq!(offset_of!(LeafElm, data_crc), 60);
    }
}
