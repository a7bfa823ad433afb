//! Test image builders, named corruptions and the case manifest for ondisk.
//!
//! - [`tree_gen`]: a small deterministic source tree for `mkfs.btrfs --rootdir`;
//! - [`btrfs_matrix`]: the btrfs mkfs matrix (specs, builder, the btrfs-progs oracles), whose
//!   images and goldens are committed under `btrfs/`;
//! - [`btrfs_corrupt`]: the btrfs corruption matrix — named corruptions of clean images, each with
//!   its check family and the exact kinds `ondisk check` must report, and the toolkit that makes
//!   them (run by `tests/btrfs_corruptions.rs`; the `btrfs-corrupt` bin lists them with `--list`
//!   and writes one with `btrfs-corrupt NAME OUT.img` to reproduce it by hand);
//! - [`hammer`]: a HAMMER image builder (newfs_hammer's layout, then population);
//! - [`hammer_corrupt`]: named HAMMER corruptions with the kinds each must produce.
//!
//! The crate does not depend on `ondisk`, the code under test: it computes the checksums it
//! writes (crc32c, xxhash64, sha256, blake2b, HAMMER's crc32) with the libraries directly, so a
//! checksum bug in ondisk cannot make the images it is tested on agree with it.

pub mod btrfs_corrupt;
pub mod btrfs_matrix;
pub mod hammer;
pub mod hammer_corrupt;
pub mod tree_gen;

/// The directory of the committed goldens: `<this crate>/btrfs`.
pub fn btrfs_golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("btrfs")
}
