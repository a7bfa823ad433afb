//! Block group family: each block group's `used` vs the extents in it, its flags vs its chunk's
//! type, chunk ↔ block group agreement, and the superblock's `bytes_used` vs the sum of `used`.
//!
//! Block group items live in the extent tree, or in the block group tree when the
//! BLOCK_GROUP_TREE compat_ro feature is on; both are read. A tree block counts nodesize
//! (skinny METADATA_ITEM or not), a data extent its length. Mixed block groups (DATA|METADATA)
//! hold both.

use super::key_value;
use crate::le::u64_at;
use super::walker::{Cx, Family, TreeRoot};
use crate::btrfs::dump::key_record;
use crate::btrfs::fs::Block;
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::items::EXTENT_FLAG_TREE_BLOCK;
use ondisk_layouts::btrfs::*;

crate::declare_kinds! {
    BLOCK_GROUP_USED = "btrfs.block_group_used", Error,
        "a block group's used differs from the sum of the extents in it";
    BLOCK_GROUP_NO_CHUNK = "btrfs.block_group_no_chunk", Error,
        "a block group item has no chunk of the same start and length";
    CHUNK_NO_BLOCK_GROUP = "btrfs.chunk_no_block_group", Error,
        "a chunk has no block group item of the same start and length";
    BLOCK_GROUP_FLAGS = "btrfs.block_group_flags", Error,
        "a block group's flags (type and profile) differ from its chunk's type (a warning when they differ only in bits no kernel defines, which it ignores)";
    EXTENT_OUTSIDE_BLOCK_GROUP = "btrfs.extent_outside_block_group", Error,
        "an extent item lies outside every block group, or crosses a block group's end";
    EXTENT_BLOCK_GROUP_TYPE = "btrfs.extent_block_group_type", Error,
        "a data extent lies in a block group without DATA, or a tree block in one without METADATA/SYSTEM";
    BLOCK_GROUP_BAD = "btrfs.block_group_bad", Error,
        "a block group item is malformed (the kernel's tree-checker rules): size, chunk_objectid, used above length, type or profile bits";
    SUPER_BYTES_USED = "btrfs.super_bytes_used", Error,
        "super bytes used mismatches actual used: the superblock's bytes_used is not the sum of block group used";
}

/// Block group flag bits with a meaning beyond type and profile: REMAPPED and METADATA_REMAP
/// (the remap tree, after Linux 6.18), and the two the kernel uses in memory
/// (BTRFS_AVAIL_ALLOC_BIT_SINGLE, BTRFS_SPACE_INFO_GLOBAL_RSV), which it would take for its own.
const BLOCK_GROUP_DEFINED_ELSEWHERE: u64 = (1 << 11) | (1 << 12) | (1 << 48) | (1 << 49);

#[derive(Debug, Clone, Copy)]
struct Bg {
    start: u64,
    len: u64,
    used: u64,
    flags: u64,
    key: DiskKey,
    tree: u64,
}

/// The block group family's state.
#[derive(Default)]
pub struct BlockGroups {
    bgs: Vec<Bg>,
    /// (start, key offset, key type, is tree block) of every extent item: 24 bytes each.
    extents: Vec<(u64, u64, u8, bool)>,
    /// Malformed block group items: key, tree, why.
    bad: Vec<(DiskKey, u64, String)>,
}

impl BlockGroups {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Family for BlockGroups {
    fn item(&mut self, _cx: &Cx, root: &TreeRoot, _b: &Block, _slot: usize, key: &DiskKey, data: &[u8], first_visit: bool) {
        if !first_visit {
            return;
        }
        match (root.tree, key.type_) {
            (EXTENT_TREE_OBJECTID | BLOCK_GROUP_TREE_OBJECTID, BLOCK_GROUP_ITEM_KEY) => {
                let (Some(used), Some(chunk_objectid), Some(flags)) = (u64_at(data, 0), u64_at(data, 8), u64_at(data, 16)) else {
                    self.bad.push((*key, root.tree, format!("block group item is {} bytes, not 24", data.len())));
                    return;
                };
                // `check_block_group_item` in the kernel's tree-checker.
                let type_ = flags & BLOCK_GROUP_TYPE_MASK;
                let profile = flags & BLOCK_GROUP_PROFILE_MASK;
                let why = if data.len() != 24 {
                    Some(format!("block group item is {} bytes, not 24", data.len()))
                } else if chunk_objectid != FIRST_CHUNK_TREE_OBJECTID {
                    Some(format!("block group chunk_objectid is {chunk_objectid}, not {FIRST_CHUNK_TREE_OBJECTID}"))
                } else if used > key.offset.get() {
                    Some(format!("block group used {used} is above its length {}", key.offset.get()))
                } else if profile.count_ones() > 1 {
                    Some(format!("block group flags {flags:#x} name more than one profile"))
                } else if type_ != BLOCK_GROUP_DATA && type_ != BLOCK_GROUP_METADATA && type_ != BLOCK_GROUP_SYSTEM && type_ != BLOCK_GROUP_DATA | BLOCK_GROUP_METADATA {
                    Some(format!("block group flags {flags:#x} have an invalid type"))
                } else {
                    None
                };
                if let Some(w) = why {
                    self.bad.push((*key, root.tree, w));
                }
                self.bgs.push(Bg { start: key.objectid.get(), len: key.offset.get(), used, flags, key: *key, tree: root.tree });
            }
            (EXTENT_TREE_OBJECTID, EXTENT_ITEM_KEY) => {
                let tree_block = u64_at(data, 16).is_some_and(|f| f & EXTENT_FLAG_TREE_BLOCK != 0);
                self.extents.push((key.objectid.get(), key.offset.get(), EXTENT_ITEM_KEY, tree_block));
            }
            (EXTENT_TREE_OBJECTID, METADATA_ITEM_KEY) => {
                self.extents.push((key.objectid.get(), key.offset.get(), METADATA_ITEM_KEY, true));
            }
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Cx, report: &mut Report) {
        for (key, tree, why) in self.bad.drain(..) {
            report.push(Finding::new(&BLOCK_GROUP_BAD, format!("block group [{} {}]: {why}", key.objectid.get(), key.offset.get()))
                .at("logical", key.objectid.get())
                .at("tree", tree)
                .at("key", key_record(&key)));
        }
        let mut bgs = std::mem::take(&mut self.bgs);
        bgs.sort_by_key(|b| (b.start, b.len));
        let loc = |f: Finding, b: &Bg| f.at("logical", b.start).at("tree", b.tree).at("key", key_record(&b.key));
        // Chunk ↔ block group.
        for b in &bgs {
            match cx.fs.chunks.lookup(b.start) {
                Some(c) if c.logical == b.start && c.length == b.len => {
                    // The type must match (the mount's check_chunk_block_group_mappings fails
                    // otherwise), and the profile too (the kernel accounts and allocates by
                    // the block group's). Bits no kernel defines nothing writes, and the
                    // kernel masks them away wherever it reads block group flags: a warning.
                    let known = BLOCK_GROUP_TYPE_MASK | BLOCK_GROUP_PROFILE_MASK | BLOCK_GROUP_DEFINED_ELSEWHERE;
                    if c.type_ != b.flags {
                        let sev = if (c.type_ ^ b.flags) & known == 0 { Severity::Warning } else { BLOCK_GROUP_FLAGS.severity };
                        report.push(loc(Finding::new(&BLOCK_GROUP_FLAGS, format!("block group [{} {}] has flags {:#x}, its chunk type {:#x}", b.start, b.len, b.flags, c.type_))
                            .severity(sev)
                            .ctx("expected", c.type_)
                            .ctx("found", b.flags), b));
                    }
                }
                _ => report.push(loc(Finding::new(&BLOCK_GROUP_NO_CHUNK, format!("block group [{} {}] has no chunk", b.start, b.len)), b)),
            }
        }
        for c in cx.fs.chunks.chunks() {
            let n = bgs.partition_point(|b| b.start < c.logical);
            if !bgs.get(n).is_some_and(|b| b.start == c.logical && b.len == c.length) {
                report.push(Finding::new(&CHUNK_NO_BLOCK_GROUP, format!("chunk [{} {}] has no block group", c.logical, c.length))
                    .at("logical", c.logical)
                    .ctx("length", c.length)
                    .ctx("type", c.type_));
            }
        }
        // Sum the extents per block group.
        let mut sums = vec![0u64; bgs.len()];
        let mut extents = std::mem::take(&mut self.extents);
        extents.sort_unstable_by_key(|e| e.0);
        let nodesize = u64::from(cx.fs.nodesize);
        for &(start, key_offset, type_, tree_block) in &extents {
            // A skinny METADATA_ITEM's offset is the level: it covers one node.
            let len = if type_ == METADATA_ITEM_KEY { nodesize } else { key_offset };
            let key = || key_value(start, type_, key_offset);
            let n = bgs.partition_point(|b| b.start <= start);
            let hit = n.checked_sub(1).filter(|&i| start < bgs[i].start.saturating_add(bgs[i].len));
            let Some(i) = hit else {
                report.push(Finding::new(&EXTENT_OUTSIDE_BLOCK_GROUP, format!("extent [{start} {len}] is in no block group"))
                    .at("logical", start).at("tree", EXTENT_TREE_OBJECTID).at("key", key()));
                continue;
            };
            let b = &bgs[i];
            sums[i] = sums[i].saturating_add(len);
            if start.saturating_add(len) > b.start.saturating_add(b.len) {
                report.push(Finding::new(&EXTENT_OUTSIDE_BLOCK_GROUP, format!("extent [{start} {len}] crosses the end of block group [{} {}]", b.start, b.len))
                    .at("logical", start).at("tree", EXTENT_TREE_OBJECTID).at("key", key()).ctx("block_group", b.start));
            }
            let ok = if tree_block { b.flags & (BLOCK_GROUP_METADATA | BLOCK_GROUP_SYSTEM) != 0 } else { b.flags & BLOCK_GROUP_DATA != 0 };
            if !ok {
                report.push(Finding::new(&EXTENT_BLOCK_GROUP_TYPE, format!("{} [{start} {len}] lies in block group [{} {}] of flags {:#x}",
                    if tree_block { "tree block" } else { "data extent" }, b.start, b.len, b.flags))
                    .at("logical", start).at("tree", EXTENT_TREE_OBJECTID).at("key", key()).ctx("block_group", b.start).ctx("flags", b.flags));
            }
        }
        let mut total = 0u64;
        for (b, &sum) in bgs.iter().zip(&sums) {
            total = total.saturating_add(b.used);
            if b.used != sum {
                report.push(loc(Finding::new(&BLOCK_GROUP_USED, format!("block group [{} {}] used {} but extent items total {sum}", b.start, b.len, b.used))
                    .ctx("expected", sum)
                    .ctx("found", b.used), b));
            }
        }
        let sb_used = cx.fs.sb.sb().bytes_used.get();
        if !bgs.is_empty() && sb_used != total {
            report.push(Finding::new(&SUPER_BYTES_USED, format!("super bytes used {sb_used} mismatches actual used {total}"))
                .ctx("expected", total)
                .ctx("found", sb_used));
        }
    }
}
