//! Root items against how the kernel finds its trees: the fixed trees by the exact key
//! (objectid, ROOT_ITEM, 0), the ones it cannot mount without, and a subvolume's root directory.
//! Fed by the walk as it meets the root tree's ROOT_ITEMs.

use super::kinds::*;
use super::walker::{is_subvolume, TreeRoot};
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::items::RootItem;
use ondisk_layouts::btrfs::*;

/// The trees the kernel finds once per filesystem by the exact key (objectid, ROOT_ITEM, 0)
/// (`btrfs_read_tree_root`, the global roots).
const BY_OFFSET_ZERO: [u64; 8] = [
    EXTENT_TREE_OBJECTID,
    DEV_TREE_OBJECTID,
    CSUM_TREE_OBJECTID,
    QUOTA_TREE_OBJECTID,
    UUID_TREE_OBJECTID,
    FREE_SPACE_TREE_OBJECTID,
    BLOCK_GROUP_TREE_OBJECTID,
    RAID_STRIPE_TREE_OBJECTID,
];

/// One ROOT_ITEM of the root tree, in `leaf`; `item` is `None` when it does not decode.
///
/// A fixed tree's root item at another key offset is a tree the kernel does not find
/// (subvolume, relocation and log root items carry meaningful offsets, and extent-tree-v2
/// numbers its global roots by it). A subvolume's root item names its root directory, always
/// FIRST_FREE_OBJECTID (256); btrfs check looks the directory up by it.
pub fn check(sb: &SuperBlock, leaf: u64, key: &DiskKey, item: Option<&RootItem>, report: &mut Report) {
    let v2 = sb.incompat_flags.get() & FEATURE_INCOMPAT_EXTENT_TREE_V2 != 0;
    let (tree, offset) = (key.objectid.get(), key.offset.get());
    if BY_OFFSET_ZERO.contains(&tree) && offset != 0 && !v2 {
        // Without its quota tree the kernel mounts with quotas off; without its UUID tree it
        // builds a new one (the old one's blocks leak). The others fail the mount.
        let sev = if tree == QUOTA_TREE_OBJECTID || tree == UUID_TREE_OBJECTID { Severity::Warning } else { Severity::Error };
        report.push(
            Finding::new(&ROOT_ITEM_OFFSET, format!("root item of tree {tree} at key offset {offset}: the kernel looks it up at offset 0 and does not find it"))
                .severity(sev)
                .at("logical", leaf)
                .at("tree", ROOT_TREE_OBJECTID)
                .at("key", super::key_value(tree, ROOT_ITEM_KEY, offset))
                .ctx("found", offset),
        );
    }
    let dirid = item.map_or(FIRST_FREE_OBJECTID, |r| r.root_dirid.get());
    if is_subvolume(tree) && dirid != FIRST_FREE_OBJECTID {
        report.push(
            Finding::new(&super::inode::ROOT_DIR, format!("root {tree} root dir {dirid} is not {FIRST_FREE_OBJECTID} (its root item's root_dirid)"))
                .at("logical", leaf)
                .at("tree", tree)
                .ctx("expected", FIRST_FREE_OBJECTID)
                .ctx("found", dirid),
        );
    }
}

/// The trees the kernel cannot mount without (`btrfs_read_roots`, `open_ctree`): the extent,
/// device and csum trees, FS_TREE, the data relocation tree, and the free space and block group
/// trees when their compat_ro bits say they exist. `roots` are those the root tree names.
pub fn check_required(sb: &SuperBlock, roots: &[TreeRoot], report: &mut Report) {
    let (incompat, compat_ro) = (sb.incompat_flags.get(), sb.compat_ro_flags.get());
    let mut required = vec![(DEV_TREE_OBJECTID, "device"), (FS_TREE_OBJECTID, "FS_TREE"), (DATA_RELOC_TREE_OBJECTID, "data relocation")];
    if incompat & FEATURE_INCOMPAT_EXTENT_TREE_V2 == 0 {
        required.extend([(EXTENT_TREE_OBJECTID, "extent"), (CSUM_TREE_OBJECTID, "csum")]);
    }
    if compat_ro & FEATURE_COMPAT_RO_FREE_SPACE_TREE != 0 {
        required.push((FREE_SPACE_TREE_OBJECTID, "free space"));
    }
    if compat_ro & FEATURE_COMPAT_RO_BLOCK_GROUP_TREE != 0 {
        required.push((BLOCK_GROUP_TREE_OBJECTID, "block group"));
    }
    for (tree, name) in required {
        if !roots.iter().any(|r| r.tree == tree) {
            report.push(
                Finding::new(&ROOT_MISSING, format!("the root tree has no root item for the {name} tree ({tree}): the kernel cannot mount without it"))
                    .at("tree", tree),
            );
        }
    }
}
