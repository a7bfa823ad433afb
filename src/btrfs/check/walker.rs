//! The one walk of a check: the chunk tree, the root tree, the log tree, and every tree a root
//! item points to. Each block is read and structurally checked once; the check families
//! ([`Family`]) see every block, every parent pointer and every leaf item from this one walk
//! and accumulate what they need, comparing at the end.
//!
//! A block shared between trees (snapshots) is checked once. For subvolume trees the walk still
//! descends into shared blocks, so that per-tree families (inodes, directories) see each
//! subvolume whole; those deliveries are marked `first_visit == false` so that reference
//! counting families count each block once. A block met twice within one tree is a cycle.

use super::kinds::*;
use super::tree_block::{self, Expect};
use crate::btrfs::fs::{Block, Filesystem};
use crate::findings::{Finding, Report};
use ondisk_layouts::btrfs::*;
use std::collections::{HashSet, VecDeque};

/// A tree to walk and what its root must look like.
#[derive(Debug, Clone)]
pub struct TreeRoot {
    /// The tree id (root item objectid; TREE_LOG for log trees).
    pub tree: u64,
    pub bytenr: u64,
    pub level: Option<u8>,
    pub generation: Option<u64>,
    /// The root item's key, for trees found through one.
    pub key: Option<DiskKey>,
}

/// What every family can see of the filesystem while the walk runs.
pub struct Cx<'f, 'a> {
    pub fs: &'f Filesystem<'a>,
    /// The chunk tree root's chunk_tree_uuid, which every block must carry.
    pub chunk_uuid: Option<[u8; 16]>,
    /// Verify every copy of every block (`--all-copies`).
    pub all_copies: bool,
}

/// One family of checks, fed by the walk.
pub trait Family {
    /// A tree is about to be walked.
    fn begin_tree(&mut self, _cx: &Cx, _root: &TreeRoot) {}
    /// A block seen for the first time (shared blocks once overall), after its structural checks.
    fn block(&mut self, _cx: &Cx, _root: &TreeRoot, _b: &Block) {}
    /// A block reached from `root`, after its checks, every time a tree reaches it: once per
    /// subvolume that shares it (`first_visit` false after the first), once for other trees.
    fn reach(&mut self, _cx: &Cx, _root: &TreeRoot, _b: &Block, _first_visit: bool) {}
    /// A pointer from a node to a child, each counted once (from the parent's first visit).
    fn ptr(&mut self, _cx: &Cx, _root: &TreeRoot, _parent: &Block, _slot: usize, _p: &KeyPtr) {}
    /// A leaf item whose data lies inside its block. `first_visit` is false when the leaf is
    /// shared with a subvolume walked before.
    #[allow(clippy::too_many_arguments)]
    fn item(&mut self, _cx: &Cx, _root: &TreeRoot, _b: &Block, _slot: usize, _key: &DiskKey, _data: &[u8], _first_visit: bool) {}
    /// The tree has been walked.
    fn end_tree(&mut self, _cx: &Cx, _root: &TreeRoot, _report: &mut Report) {}
    /// Every tree has been walked: compare and report.
    fn finish(&mut self, _cx: &Cx, _report: &mut Report) {}
}

/// Trees whose blocks are never shared, so every block's owner must be the tree itself.
fn unshared_owner(tree: u64) -> Option<u64> {
    match tree {
        ROOT_TREE_OBJECTID | EXTENT_TREE_OBJECTID | CHUNK_TREE_OBJECTID | DEV_TREE_OBJECTID | CSUM_TREE_OBJECTID
        | QUOTA_TREE_OBJECTID | UUID_TREE_OBJECTID | FREE_SPACE_TREE_OBJECTID | BLOCK_GROUP_TREE_OBJECTID
        | RAID_STRIPE_TREE_OBJECTID | TREE_LOG_OBJECTID => Some(tree),
        _ => None,
    }
}

/// Subvolume trees (the top-level FS_TREE, subvolumes and snapshots, the data reloc tree).
pub fn is_subvolume(tree: u64) -> bool {
    tree == FS_TREE_OBJECTID || tree == DATA_RELOC_TREE_OBJECTID || (FIRST_FREE_OBJECTID..=LAST_FREE_OBJECTID).contains(&tree)
}

/// Walks every tree once, feeding the families, then lets them finish.
pub fn walk_all(fs: &Filesystem, all_copies: bool, families: &mut [&mut dyn Family], report: &mut Report) {
    let sb = fs.sb.sb();
    let chunk_uuid = fs.read_block(sb.chunk_root.get()).ok().map(|b| b.node.header().chunk_tree_uuid);
    let cx = Cx { fs, chunk_uuid, all_copies };
    let mut w = Walker { cx: &cx, visited: HashSet::new(), families, report, progress: crate::progress::Progress::new() };
    let mut roots = Vec::new();
    // The chunk tree first: its root's chunk_tree_uuid is what every block must carry.
    let chunk = TreeRoot {
        tree: CHUNK_TREE_OBJECTID,
        bytenr: sb.chunk_root.get(),
        level: Some(sb.chunk_root_level),
        generation: Some(sb.chunk_root_generation.get()),
        key: None,
    };
    w.walk_tree(&chunk, &mut roots);
    let root = TreeRoot {
        tree: ROOT_TREE_OBJECTID,
        bytenr: sb.root.get(),
        level: Some(sb.root_level),
        generation: Some(sb.generation.get()),
        key: None,
    };
    w.walk_tree(&root, &mut roots);
    if sb.log_root.get() != 0 {
        w.report.push(
            Finding::new(&LOG_REPLAY_PENDING, format!("log tree at {} has not been replayed", sb.log_root.get()))
                .at("logical", sb.log_root.get())
                .ctx("generation", sb.generation.get()),
        );
        // The log root is written in the transaction after the superblock's generation.
        let log = TreeRoot {
            tree: TREE_LOG_OBJECTID,
            bytenr: sb.log_root.get(),
            level: Some(sb.log_root_level),
            generation: Some(sb.generation.get() + 1),
            key: None,
        };
        w.walk_tree(&log, &mut roots);
    }
    // Trees found through root items (the log root tree's point at per-subvolume log trees).
    for r in std::mem::take(&mut roots) {
        w.walk_tree(&r, &mut Vec::new());
    }
    w.progress.done();
    for f in w.families.iter_mut() {
        f.finish(&cx, w.report);
    }
}

struct Walker<'c, 'f, 'a, 'm, 'd, 'r> {
    cx: &'c Cx<'f, 'a>,
    visited: HashSet<u64>,
    families: &'m mut [&'d mut dyn Family],
    report: &'r mut Report,
    progress: crate::progress::Progress,
}

impl Walker<'_, '_, '_, '_, '_, '_> {
    /// Walks one tree breadth-first; collects the trees its root items name.
    fn walk_tree(&mut self, root: &TreeRoot, roots: &mut Vec<TreeRoot>) {
        let cx = self.cx;
        for f in self.families.iter_mut() {
            f.begin_tree(cx, root);
        }
        let per_tree = is_subvolume(root.tree);
        let findings_before = self.report.findings.len();
        // Objectid ranges of subtrees not walked (unreadable, a cycle, too damaged): what lies
        // there is unknown, so per-inode findings in them would only echo the one loss.
        let mut lost: Vec<(u64, u64)> = Vec::new();
        let mut in_tree = HashSet::new();
        let mut queue = VecDeque::new();
        // (bytenr, what the pointer expects, the exclusive upper key bound of the subtree)
        queue.push_back((
            root.bytenr,
            Expect {
                tree: root.tree,
                level: root.level,
                generation: root.generation,
                first_key: None,
                owner: unshared_owner(root.tree),
                parent: None,
                is_root: true,
                root_item: root.key.is_some(),
            },
            None::<DiskKey>,
        ));
        while let Some((bytenr, expect, high)) = queue.pop_front() {
            let range = (expect.first_key.map_or(0, |k| k.objectid.get()), high.map_or(u64::MAX, |k| k.objectid.get()));
            if !in_tree.insert(bytenr) {
                lost.push(range);
                self.report.push(
                    Finding::new(&TREE_CYCLE, format!("block {bytenr} is reached twice in tree {}", root.tree))
                        .at("logical", bytenr)
                        .at("tree", root.tree),
                );
                continue;
            }
            let first_visit = self.visited.insert(bytenr);
            let seen = self.visited.len();
            self.progress.tick(|| format!("checking tree {}: {seen} blocks", root.tree));
            if !first_visit && !per_tree {
                // Shared with a tree walked before: checked and counted there already.
                continue;
            }
            let block = match cx.fs.read_block(bytenr) {
                Ok(b) => b,
                Err(e) => {
                    lost.push(range);
                    if first_visit {
                        let mut f = Finding::new(&TREE_BLOCK_UNREADABLE, e.to_string()).at("logical", bytenr).at("tree", root.tree);
                        if let Some(p) = expect.parent {
                            f = f.at("parent", p);
                        }
                        self.report.push(f);
                    }
                    continue;
                }
            };
            if first_visit {
                if !tree_block::check(cx, &block, &expect, self.report) {
                    lost.push(range);
                    continue;
                }
                for f in self.families.iter_mut() {
                    f.block(cx, root, &block);
                }
            }
            for f in self.families.iter_mut() {
                f.reach(cx, root, &block, first_visit);
            }
            let level = block.node.level();
            let ptrs = block.node.ptrs();
            for (slot, p) in ptrs.iter().enumerate() {
                if first_visit {
                    for f in self.families.iter_mut() {
                        f.ptr(cx, root, &block, slot, p);
                    }
                }
                queue.push_back((
                    p.blockptr.get(),
                    Expect {
                        tree: root.tree,
                        level: Some(level.saturating_sub(1)),
                        generation: Some(p.generation.get()),
                        first_key: Some(p.key),
                        owner: expect.owner,
                        parent: Some(bytenr),
                        is_root: false,
                        root_item: false,
                    },
                    ptrs.get(slot + 1).map(|n| n.key).or(high),
                ));
            }
            for (slot, item) in block.node.items().iter().enumerate() {
                let Ok(data) = block.node.item_data(item) else { continue };
                for f in self.families.iter_mut() {
                    f.item(cx, root, &block, slot, &item.key, data, first_visit);
                }
                if first_visit && (root.tree == ROOT_TREE_OBJECTID || root.tree == TREE_LOG_OBJECTID) && item.key.type_ == ROOT_ITEM_KEY {
                    if let Some(r) = tree_of_root_item(root.tree, &item.key, data) {
                        roots.push(r);
                    }
                }
            }
        }
        for f in self.families.iter_mut() {
            f.end_tree(cx, root, self.report);
        }
        if per_tree && !lost.is_empty() {
            self.leave_out_echoes(root, findings_before, &lost);
        }
    }

    /// Removes the per-inode findings of this tree that fall in a lost subtree's objectid range
    /// and says, in one info finding, how many were left out and why.
    fn leave_out_echoes(&mut self, root: &TreeRoot, from: usize, lost: &[(u64, u64)]) {
        let in_lost = |f: &Finding| {
            let tree = matches!(f.location.get("tree"), Some(crate::record::Value::U64(t)) if *t == root.tree);
            // A name lives with both its directory and its inode: either side lost loses it.
            let ids = [f.location.get("inode"), f.context.get("dir")];
            tree && ids.iter().flatten().any(|v| match v {
                crate::record::Value::U64(id) => lost.iter().any(|&(lo, hi)| (lo..=hi).contains(id)),
                _ => false,
            })
        };
        let tail = self.report.findings.split_off(from);
        let before = tail.len();
        self.report.findings.extend(tail.into_iter().filter(|f| !in_lost(f)));
        let left_out = before - (self.report.findings.len() - from);
        if left_out > 0 {
            let ranges: Vec<String> = lost.iter().map(|(lo, hi)| format!("{lo}..={hi}")).collect();
            self.report.push(
                Finding::new(&LOST_SUBTREE_ECHOES, format!(
                    "tree {}: {left_out} inode findings inside subtrees that could not be walked (objectids {}) left out",
                    root.tree,
                    ranges.join(", ")
                ))
                .at("tree", root.tree)
                .ctx("left_out", left_out as u64),
            );
        }
    }
}

/// The tree a root item points to, unless it is being dropped.
fn tree_of_root_item(in_tree: u64, key: &DiskKey, data: &[u8]) -> Option<TreeRoot> {
    let r = crate::btrfs::items::root_item(data)?;
    let (bytenr, level, generation, refs, drop_objectid) =
        (r.bytenr.get(), r.level, r.generation.get(), r.refs.get(), r.drop_progress.objectid.get());
    let is_log = in_tree == TREE_LOG_OBJECTID;
    // A root being dropped (drop_progress set), or a deleted subvolume (refs 0) waiting for the
    // cleaner, may point at blocks already freed: btrfs check walks only what is left of it; we
    // do not walk it yet. Only subvolumes count references: log trees and the quota tree (as
    // kernel 6.18 writes it) have refs 0 by design.
    if (refs == 0 && !is_log && is_subvolume(key.objectid.get())) || drop_objectid != 0 {
        return None;
    }
    let tree = if is_log { TREE_LOG_OBJECTID } else { key.objectid.get() };
    Some(TreeRoot { tree, bytenr, level: Some(level), generation: Some(generation), key: Some(*key) })
}
