//! Superblock, tree block, parent/child and root ref rows, on k-bgt (a kernel image: DUP
//! metadata, a two-level FS_TREE, a snapshot).

use super::image::{le32, missing, put32, put64, Copies, Img, Key, HEADER, ITEM, KEY_PTR, NRITEMS, SUPER_OFFSETS};
use ondisk_layouts::btrfs::consts::{DATA_RELOC_TREE_OBJECTID, ROOT_BACKREF_KEY, ROOT_ITEM_KEY, ROOT_REF_KEY};
use ondisk_layouts::btrfs::items::{RootItem, RootRef};
use ondisk_layouts::btrfs::superblock::SuperBlock;
use ondisk_layouts::btrfs::tree::{DiskKey, Header, Item, KeyPtr};
use std::mem::{offset_of, size_of};
use super::{row, Base, Corruption, Error, Family};

/// The FS_TREE of k-bgt: its level-1 root and its leaves.
fn fs_root(i: &Img) -> Result<u64, Error> {
    i.nodes_of(5).into_iter().find(|n| n.1 == 1).map(|n| n.0).ok_or_else(|| missing("a level-1 FS_TREE root"))
}

fn fs_leaf(i: &Img, n: usize) -> Result<u64, Error> {
    i.nodes_of(5).into_iter().filter(|n| n.1 == 0).nth(n).map(|n| n.0).ok_or_else(|| missing("an FS_TREE leaf"))
}

/// Flips a byte of the free space inside a leaf (between the item array and the data): only the
/// checksum changes.
fn flip_gap(b: &mut [u8]) {
    let nritems = le32(b, NRITEMS) as usize;
    b[HEADER + ITEM * nritems + 8] ^= 0xff;
}

/// Damages the first leaf of the FS_TREE in some copies, the checksum left stale.
fn bad_csum(i: &Img, which: Copies) -> Result<(), Error> {
    i.edit_block(fs_leaf(i, 0)?, which, false, flip_gap)
}

/// Edits the header of the second FS_TREE leaf, re-checksummed.
fn leaf1_header(i: &Img, f: impl FnOnce(&mut [u8])) -> Result<(), Error> {
    i.edit_block(fs_leaf(i, 1)?, Copies::All, true, f)
}

/// Changes one byte of a root tree item's data, found by its key, in every copy.
fn root_tree_item(i: &Img, key: (u64, u8, u64), at: usize, f: impl FnOnce(u8) -> u8) -> Result<(), Error> {
    let it = i.find("the root tree item", |v| v["tree"] == 1 && v["key"]["objectid"] == key.0 && v["key"]["type"] == key.1 && v["key"]["offset"] == key.2)?;
    i.edit_item(&it, |d| d[at] = f(d[at]))
}

/// Flips a byte of one superblock copy, its checksum left stale.
fn super_copy(i: &Img, copy: usize, at: usize) -> Result<(), Error> {
    let mut s = i.read(0, SUPER_OFFSETS[copy], 4096)?;
    s[at] ^= 0xff;
    i.write(0, SUPER_OFFSETS[copy], &s)
}

pub(super) fn rows() -> Vec<Corruption> {
    use Family::*;
    vec![
        row("csum-first-dup-copy", TreeBlock, Base::KBgt, &["btrfs.tree_block_csum=1:warning"], |i| bad_csum(i, Copies::Only(0)))
            .why("the read falls back to the mirror: the block is fine, redundancy is lost"),
        row("csum-second-dup-copy", TreeBlock, Base::KBgt, &[], |i| bad_csum(i, Copies::Only(1)))
            .why("the second copy bad: only a check that reads every copy sees it"),
        row("csum-second-dup-copy-all-copies", TreeBlock, Base::KBgt, &["btrfs.tree_block_csum=1:warning"], |i| bad_csum(i, Copies::Only(1)))
            .args(&["--all-copies"]),
        row("csum-every-copy", TreeBlock, Base::KBgt, &["btrfs.tree_block_csum=1:error"], |i| bad_csum(i, Copies::All)),
        row("fsid", TreeBlock, Base::KBgt, &["btrfs.tree_block_fsid=1:error"], |i| leaf1_header(i, |b| b[offset_of!(Header, fsid)] ^= 1)),
        row("chunk-tree-uuid", TreeBlock, Base::KBgt, &["btrfs.tree_block_chunk_uuid=1:warning"], |i| leaf1_header(i, |b| b[offset_of!(Header, chunk_tree_uuid)] ^= 1))
            .why("the kernel writes chunk_tree_uuid into every header but only ever reads the chunk root's, and btrfs check 6.2 exits 0 (found by the differential fuzz against it): a warning"),
        row("backref-revision-zero", TreeBlock, Base::KBgt, &["btrfs.tree_block_backref_rev=1:error"], |i| leaf1_header(i, |b| b[offset_of!(Header, flags) + 7] = 0))
            .exact()
            .why("an FS_TREE leaf's header backref revision (top byte of flags) set to 0, the pre-2.6.31 format: the kernel takes such a block for a full-backref one when it COWs it, against its extent item. btrfs check 6.2 looks at the revision of tree roots only: here it exits 0; on a root block it expects a shared backref and reports a tree backref missing and a wrong global count (found by the differential fuzz)"),
        row("root-item-offset-extent-tree", RootRefs, Base::KBgt, &["btrfs.root_item_offset=1:error"], |i| {
            let it = i.find("the extent tree's root item", |v| v["tree"] == 1 && v["key"]["objectid"] == 2 && v["key"]["type"] == ROOT_ITEM_KEY)?;
            i.edit_key(&it, Key { objectid: 2, ty: ROOT_ITEM_KEY, offset: 7 })
        })
        .exact()
        .why("the kernel looks the extent tree up at (2, ROOT_ITEM, 0) and fails the mount; btrfs check: \"global root with too large of an offset\", cannot open the filesystem (found by the differential fuzz, which btrfs check caught and ondisk missed)"),
        row("root-item-root-dirid", RootRefs, Base::KBgt, &["btrfs.root_dir_bad=1:error"], |i| root_tree_item(i, (5, ROOT_ITEM_KEY, 0), offset_of!(RootItem, root_dirid) + 1, |b| b ^ 1))
            .exact()
            .why("FS_TREE's root item names root dir 0: btrfs check looks the root directory up by it (\"root dir 0 not found\"); found by the differential fuzz, in the data relocation tree"),
        row("root-item-missing-data-reloc", RootRefs, Base::KBgt, &["btrfs.root_missing=1:error", "btrfs.extent_item_unreferenced=1:error"], |i| {
            let it = i.find("the data reloc tree's root item", |v| v["tree"] == 1 && v["key"]["objectid"] == DATA_RELOC_TREE_OBJECTID && v["key"]["type"] == ROOT_ITEM_KEY)?;
            i.delete_item(&it)
        })
        .exact()
        .why("without the data relocation tree's root item the kernel cannot mount (btrfs_read_roots), and its root block's extent item is referenced by nothing; btrfs check 6.2 exits 0 (found by the differential fuzz)"),
        row("reloc-flag-without-full-backref", Extent, Base::KBgt, &["btrfs.full_backref_bad=1:error"], |i| leaf1_header(i, |b| b[offset_of!(Header, flags)] |= 2))
            .exact()
            .why("a FS_TREE leaf claims relocation made it (header flag RELOC) but its extent item has no FULL_BACKREF: btrfs check 6.2 says \"bad full backref\", then types the leaf's data refs as shared because of the flag and reports a referencer count mismatch for each of its file extents (the differential fuzz found this on k-rich); here the refs are typed by the extent item, as the kernel does, so the one finding stands alone"),
        row(
            "item-offset-shifted",
            TreeBlock,
            Base::KBgt,
            &["btrfs.item_offset=1:error", "btrfs.bad_file_extent=1:error", "btrfs.nbytes_wrong=1:error"],
            |i| {
                leaf1_header(i, |b| {
                    let at = HEADER + ITEM * 2 + offset_of!(Item, offset);
                    let v = le32(b, at) + 1;
                    put32(b, at, v);
                })
            },
        )
        .why("the item is read where the leaf now says it is: the file extent found there is garbage, and its inode's nbytes no longer adds up"),
        row("transid-in-child", ParentChild, Base::KBgt, &["btrfs.transid_mismatch=1:error"], |i| leaf1_header(i, |b| b[offset_of!(Header, generation)] = b[offset_of!(Header, generation)].wrapping_add(1))),
        row("pointer-generation-zero", ParentChild, Base::KBgt, &["btrfs.transid_mismatch=1:warning"], |i| {
            i.edit_block(fs_root(i)?, Copies::All, true, |b| put64(b, HEADER + KEY_PTR + offset_of!(KeyPtr, generation), 0))
        })
        .exact()
        .why("the FS_TREE root's second pointer says generation 0, which nothing writes: the kernel reads the child without verifying it (verify_parent_transid skips 0) and rewrites the pointer when it next COWs the path; btrfs check 6.2's fs-root walk compares it anyway (\"Wrong generation of child node/leaf\"), drops the leaf and fails on every inode in it. A warning (found by the differential fuzz on k-bgt)"),
        row("owner-of-extent-leaf", ParentChild, Base::KBgt, &["btrfs.owner_mismatch=1:error", "btrfs.owner_ref_mismatch=1:error"], |i| {
            let leaf = i.nodes_of(2).into_iter().find(|n| n.1 == 0).ok_or_else(|| missing("an extent tree leaf"))?;
            i.edit_block(leaf.0, Copies::All, true, |b| put64(b, offset_of!(Header, owner), 7))
        })
        .why("the extent tree's backref names the real owner, so the claimed one has none"),
        row("parent-key-wrong", ParentChild, Base::KBgt, &["btrfs.first_key_mismatch=1:error"], |i| {
            // The second pointer's key offset: the child starts with another key.
            i.edit_block(fs_root(i)?, Copies::All, true, |b| {
                let at = HEADER + KEY_PTR + offset_of!(KeyPtr, key) + offset_of!(DiskKey, offset);
                b[at] = b[at].wrapping_add(1);
            })
        }),
        row(
            "pointer-cycle",
            ParentChild,
            Base::KBgt,
            &[
                "btrfs.tree_cycle=1:error",
                "btrfs.lost_subtree_echoes=1:info",
                "btrfs.backref_count_mismatch=1:error",
                "btrfs.backref_unreferenced=1:error",
                "btrfs.extent_ref_mismatch=2:error",
            ],
            |i| {
                // Pointer 2 names the same child as pointer 1.
                i.edit_block(fs_root(i)?, Copies::All, true, |b| {
                    // blockptr and generation.
                    let (p1, p2) = (HEADER + KEY_PTR + offset_of!(KeyPtr, blockptr), HEADER + 2 * KEY_PTR + offset_of!(KeyPtr, blockptr));
                    b.copy_within(p1..p1 + 16, p2);
                })
            },
        )
        .why("the child pointer 2 named is lost: its extent item and the data extents its file extents held lose a reference each; child 1 gains one"),
        row(
            "pointer-unmapped",
            ParentChild,
            Base::KBgt,
            &[
                "btrfs.tree_block_unreadable=1:error",
                "btrfs.lost_subtree_echoes=1:info",
                "btrfs.backref_unreferenced=4:error",
                "btrfs.extent_item_missing=1:error",
                "btrfs.extent_item_unreferenced=1:error",
                "btrfs.extent_ref_mismatch=4:error",
            ],
            |i| i.edit_block(fs_root(i)?, Copies::All, true, |b| put64(b, HEADER + KEY_PTR + offset_of!(KeyPtr, blockptr), 1 << 50)),
        )
        .why("the pointer leads nowhere: nothing references the block it named (nor the data its leaf pointed at), and the new address has no extent item"),
        row("root-item-generation", ParentChild, Base::KBgt, &["btrfs.root_item_mismatch=1:error"], |i| root_tree_item(i, (5, ROOT_ITEM_KEY, 0), offset_of!(RootItem, generation), |b| b.wrapping_add(1))),
        row("root-backref-name", RootRefs, Base::KBgt, &["btrfs.root_ref_mismatch=2:error"], |i| root_tree_item(i, (256, ROOT_BACKREF_KEY, 5), size_of::<RootRef>(), |b| b ^ 1))
            .why("the snapshot's two root tree links disagree on its name: each side lacks its mirror"),
        row(
            "root-ref-sequence",
            RootRefs,
            Base::KBgt,
            &["btrfs.root_ref_mismatch=2:error", "btrfs.root_ref_no_dir_entry=1:error"],
            |i| root_tree_item(i, (5, ROOT_REF_KEY, 256), offset_of!(RootRef, sequence), |b| b.wrapping_add(1)),
        )
        .why("the ROOT_REF's sequence no longer names the parent's DIR_INDEX for the snapshot"),
        row("super-mirror-csum", Superblock, Base::KBgt, &["btrfs.super_csum_mismatch=1:warning"], |i| super_copy(i, 1, 200)),
        row("super-primary-csum", Superblock, Base::KBgt, &["btrfs.super_csum_mismatch=1:error"], |i| super_copy(i, 0, 1000))
            .why("the mirror is good and ondisk reads from it, but the kernel mounts from the primary only and refuses it until btrfs rescue super-recover rewrites it; btrfs check 6.2 reads the primary only and cannot open the filesystem"),
        row("super-primary-bytenr", Superblock, Base::KBgt, &["btrfs.super_csum_mismatch=1:error"], |i| {
            let mut s = i.read(0, SUPER_OFFSETS[0], 4096)?;
            put64(&mut s, offset_of!(SuperBlock, bytenr), SUPER_OFFSETS[1]);
            i.recsum(&mut s)?;
            i.write(0, SUPER_OFFSETS[0], &s)
        })
        .why("the primary copy, re-checksummed, says it lives at the mirror's offset: the kernel refuses it (\"super offset mismatch\"), btrfs check 6.2 finds no valid btrfs; ondisk reads the mirror (found by the differential fuzz)"),
    ]
}
