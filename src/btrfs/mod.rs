//! btrfs: superblocks, the chunk map, tree walks, item decoding, checks.

pub mod check;
pub mod cmd;
pub mod csum;
pub mod superblock;

/// Every btrfs finding kind.
pub static KINDS: &[&crate::findings::Kind] = &[];
