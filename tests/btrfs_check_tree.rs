//! The tree-block, parent/child, superblock and root ref families on their base image: k-bgt (a
//! kernel image: DUP metadata, a two-level FS_TREE, a snapshot) is clean. Their named
//! corruptions are rows of the corruption matrix (`test-images/src/btrfs_corrupt/tree.rs`, run
//! by `tests/btrfs_corruptions.rs`).

mod common;

use ondisk_test_images::btrfs_corrupt::Base;

#[test]
fn k_bgt_is_clean() {
    let Some((_dir, base)) = common::corrupt::clean_base(Base::KBgt) else { return };
    let found = common::corrupt::check_base(&base, &[]);
    assert!(found.kinds.is_empty() && found.code == Some(0), "k-bgt: exit {:?}, {found}", found.code);
}
