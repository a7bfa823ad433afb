//! The clean base images of the btrfs corruption matrix (`ondisk_test_images::btrfs_corrupt`),
//! for tests that check a base as it is.

use ondisk_test_images::btrfs_corrupt::image::{check, BaseImage};
use ondisk_test_images::btrfs_corrupt::{Base, Error, Found, Tools};

/// Where `ondisk` and `../shared` are.
pub fn tools() -> Tools {
    Tools { ondisk: super::ondisk(), shared: super::shared(), unpacked: Some(super::raw_image) }
}

/// A clean base built in a temp dir, or `None` after a visible `SKIP:` line when mkfs.btrfs or
/// `../shared` is absent (a failure under ONDISK_REQUIRE_SHARED).
pub fn clean_base(base: Base) -> Option<(tempfile::TempDir, BaseImage)> {
    let dir = tempfile::tempdir().expect("tempdir");
    match base.build(&tools(), dir.path()) {
        Ok(b) => Some((dir, b)),
        Err(Error::Skip(why)) => {
            assert!(!super::required(), "{why} (ONDISK_REQUIRE_SHARED)");
            eprintln!("SKIP: {why}");
            None
        }
        Err(e) => panic!("base {}: {e}", base.name()),
    }
}

/// `ondisk check --json ARGS` on a base.
pub fn check_base(base: &BaseImage, args: &[&str]) -> Found {
    check(&tools(), &base.paths, args, &[]).expect("ondisk check")
}
