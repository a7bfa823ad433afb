//! btrfs: superblocks, the chunk map, tree walks, item decoding, checks.

pub mod check;
pub mod chunk_map;
pub mod cmd;
pub mod csum;
pub mod dump;
pub mod fs;
pub mod items;
pub mod map;
pub mod names;
pub mod node;
pub mod super_print;
pub mod stats;
pub mod superblock;
pub mod walk;

/// Every btrfs finding kind.
pub fn kinds() -> Vec<&'static crate::findings::Kind> {
    check::all_kinds()
}
