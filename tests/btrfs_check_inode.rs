//! The inode and directory family on clean `mkfs.btrfs --rootdir` images, with and without
//! NO_HOLES. Its named corruptions are rows of the corruption matrix
//! (`test-images/src/btrfs_corrupt/inode.rs`, run by `tests/btrfs_corruptions.rs`).

mod common;

use ondisk_test_images::btrfs_corrupt::Base;

#[test]
fn clean_with_and_without_no_holes() {
    for b in [Base::MkfsTree, Base::MkfsTreeHoles] {
        let Some((_dir, base)) = common::corrupt::clean_base(b) else { return };
        let found = common::corrupt::check_base(&base, &[]);
        assert!(found.code == Some(0) && found.kinds.is_empty(), "{}: exit {:?}, {found}", b.name(), found.code);
    }
}
