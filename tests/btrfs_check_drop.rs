//! A deleted subvolume the cleaner is part way through dropping (btrfs-progs'
//! fsck-tests/021-partially-dropped-snapshot-case, the matrix's base `021-dropped-snapshot`:
//! the metadump restored with `btrfs-image -r`): root 258 has refs 0 and drop_progress
//! (257 EXTENT_DATA 405504) at drop_level 1. Everything left of that key has been dropped — the
//! leaf at slot 0 of its root node is already freed (zeros in the image) — and the rest still
//! holds references in the extent tree. btrfs check 6.2 and 6.19 both pass the image.
//!
//! ondisk walks what is left of the tree (from the slot holding drop_progress on), so the extent
//! tree's references must match exactly — no "fewer refs are fine while something is being
//! dropped" leniency. That moving drop_progress is caught is the corruption matrix's "dropped
//! subvolume" rows (`test-images/src/btrfs_corrupt/dropping.rs`).

mod common;

use common::corrupt::{check_base, clean_base};
use ondisk_test_images::btrfs_corrupt::Base;

#[test]
fn partly_dropped_snapshot_is_walked_from_drop_progress() {
    let Some((_dir, base)) = clean_base(Base::Dropped021) else { return };
    let found = check_base(&base, &[]);
    let kinds: Vec<(&str, &str)> = found.kinds.iter().map(|(k, (_, s))| (k.as_str(), s.as_str())).collect();
    // `btrfs-image -r` writes the primary superblock only: the mirror at 64 MiB, inside this
    // 128 MiB image, reads as zeros (a warning, as btrfs check's scan of mirrors would say).
    assert_eq!(kinds, [("btrfs.subvolume_dropping", "info"), ("btrfs.super_bad_magic", "warning")]);
}
