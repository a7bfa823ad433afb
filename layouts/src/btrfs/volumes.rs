//! Chunks, stripes and device extents: the logical → physical address map.

use crate::le::{U16, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct btrfs_stripe`: one copy (or stripe) of a chunk on one device.
    pub struct Stripe = "btrfs_stripe" {
        devid: U64 => Dec,
        offset: U64 => Dec,
        dev_uuid: [u8; 16] => Uuid,
    }
}
assert_size!(Stripe, 32);

layout! {
    /// `struct btrfs_chunk` without its stripes, which follow it (`num_stripes` × [`Stripe`]).
    pub struct Chunk = "btrfs_chunk" {
        length: U64 => Dec,
        owner: U64 => Dec,
        stripe_len: U64 => Dec,
        type_: U64 as "type" => Hex,
        io_align: U32 => Dec,
        io_width: U32 => Dec,
        sector_size: U32 => Dec,
        num_stripes: U16 => Dec,
        sub_stripes: U16 => Dec,
    }
}
assert_size!(Chunk, 48);

layout! {
    /// `struct btrfs_dev_extent`: a range of a device owned by a chunk.
    pub struct DevExtent = "btrfs_dev_extent" {
        chunk_tree: U64 => Dec,
        chunk_objectid: U64 => Dec,
        chunk_offset: U64 => Dec,
        length: U64 => Dec,
        chunk_tree_uuid: [u8; 16] => Uuid,
    }
}
assert_size!(DevExtent, 48);
