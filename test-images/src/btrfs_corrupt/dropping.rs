//! Dropped subvolume rows, on the restored metadump of btrfs-progs'
//! fsck-tests/021-partially-dropped-snapshot-case: root 258 has refs 0 and drop_progress
//! (257 EXTENT_DATA 405504) at drop_level 1. Left of that key the cleaner has dropped
//! everything (the leaf at slot 0 of its root node is freed: zeros in the image); the rest still
//! holds references in the extent tree, which must match exactly. Moving drop_progress must be
//! caught.

use super::image::{put_key, Img, Key};
use super::{row, Base, Corruption, Error, Family};
use ondisk_layouts::btrfs::consts::{EXTENT_DATA_KEY, INODE_ITEM_KEY};
use ondisk_layouts::btrfs::items::RootItem;
use std::mem::offset_of;

/// The restored metadump has only the primary superblock (a warning on every row).
const NO_MIRROR: &str = "btrfs.super_bad_magic=1:warning";
/// Root 258 is still being dropped.
const DROPPING: &str = "btrfs.subvolume_dropping=1:info";

/// Rewrites root 258's drop_progress.
fn drop_progress(i: &Img, key: Key) -> Result<(), Error> {
    let it = i.find("root 258's ROOT_ITEM", |v| v["tree"] == 1 && v["item_type"] == "ROOT_ITEM" && v["key"]["objectid"] == 258)?;
    i.edit_item(&it, |d| put_key(d, offset_of!(RootItem, drop_progress), key))
}

pub(super) fn rows() -> Vec<Corruption> {
    use Family::DroppedSubvolume;
    vec![
        row(
            "drop-progress-back",
            DroppedSubvolume,
            Base::Dropped021,
            &["btrfs.extent_item_missing=1:error", "btrfs.tree_block_bytenr=1:error", "btrfs.tree_block_csum=1:error", NO_MIRROR, DROPPING],
            |i| drop_progress(i, Key { objectid: 256, ty: INODE_ITEM_KEY, offset: 0 }),
        )
        .why("one slot to the left: the walk resumes at a leaf the cleaner already freed (zeros, as btrfs-image leaves unused blocks), a broken tree block with no extent item behind it"),
        row(
            "drop-progress-forward",
            DroppedSubvolume,
            Base::Dropped021,
            &["btrfs.backref_unreferenced=1:error", "btrfs.extent_ref_mismatch=1:error", NO_MIRROR, DROPPING],
            |i| drop_progress(i, Key { objectid: 257, ty: EXTENT_DATA_KEY, offset: 827392 }),
        )
        .why("one slot to the right: the leaf at (257 EXTENT_DATA 405504), shared with FS_TREE, is no longer reached from root 258, so its extent item claims a reference more than the walk finds and its backref for 258 is referenced by nothing"),
    ]
}
