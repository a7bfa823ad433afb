//! btrfs: superblocks, the chunk map, tree walks, item decoding.

pub mod csum;
pub mod superblock;
