//! Test image builders, named corruptions and the case manifest for ondisk.
//!
//! - [`tree_gen`]: a small deterministic source tree for `mkfs.btrfs --rootdir`;
//! - [`btrfs_matrix`]: the btrfs mkfs matrix (specs, builder, the btrfs-progs oracles), whose
//!   images and goldens are committed under `btrfs/`;
//! - [`hammer`]: a HAMMER image builder (newfs_hammer's layout, then population);
//! - [`hammer_corrupt`]: named HAMMER corruptions with the kinds each must produce.

pub mod btrfs_matrix;
pub mod hammer;
pub mod hammer_corrupt;
pub mod tree_gen;

/// The directory of the committed goldens: `<this crate>/btrfs`.
pub fn btrfs_golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("btrfs")
}
