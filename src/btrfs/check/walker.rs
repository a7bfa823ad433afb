//! The one walk of a check: the chunk tree, the root tree, the log tree, and every tree a root
//! item points to, each block read and checked once. A block shared between trees (snapshots)
//! is checked once and not descended into again; a block met twice within one tree is a cycle.

use super::kinds::*;
use super::tree_block::{self, Expect};
use crate::btrfs::dump::root_item_location;
use crate::btrfs::fs::Filesystem;
use crate::findings::{Finding, Report};
use ondisk_layouts::btrfs::*;
use std::collections::{HashSet, VecDeque};

/// A tree to walk and what its root must look like.
struct TreeRoot {
    tree: u64,
    bytenr: u64,
    level: Option<u8>,
    generation: Option<u64>,
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

pub fn walk_all(fs: &Filesystem, report: &mut Report) {
    let sb = fs.sb.sb();
    let mut visited = HashSet::new();
    // The chunk tree first: its root's chunk_tree_uuid is what every block must carry.
    let chunk_root = TreeRoot {
        tree: CHUNK_TREE_OBJECTID,
        bytenr: sb.chunk_root.get(),
        level: Some(sb.chunk_root_level),
        generation: Some(sb.chunk_root_generation.get()),
    };
    let chunk_uuid = fs.read_block(chunk_root.bytenr).ok().map(|b| b.node.header().chunk_tree_uuid);
    walk_tree(fs, &chunk_root, chunk_uuid.as_ref(), &mut visited, report, &mut Vec::new());

    let mut roots = Vec::new();
    let root = TreeRoot { tree: ROOT_TREE_OBJECTID, bytenr: sb.root.get(), level: Some(sb.root_level), generation: Some(sb.generation.get()) };
    walk_tree(fs, &root, chunk_uuid.as_ref(), &mut visited, report, &mut roots);

    if sb.log_root.get() != 0 {
        report.push(
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
        };
        walk_tree(fs, &log, chunk_uuid.as_ref(), &mut visited, report, &mut roots);
    }
    // Trees found through root items (the log root tree's point at per-subvolume log trees).
    for r in std::mem::take(&mut roots) {
        walk_tree(fs, &r, chunk_uuid.as_ref(), &mut visited, report, &mut Vec::new());
    }
}

/// Walks one tree breadth-first, checking every block; collects the trees its root items name.
fn walk_tree(
    fs: &Filesystem,
    root: &TreeRoot,
    chunk_uuid: Option<&[u8; 16]>,
    visited: &mut HashSet<u64>,
    report: &mut Report,
    roots: &mut Vec<TreeRoot>,
) {
    let mut in_tree = HashSet::new();
    let mut queue = VecDeque::new();
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
        },
    ));
    while let Some((bytenr, expect)) = queue.pop_front() {
        if !in_tree.insert(bytenr) {
            report.push(
                Finding::new(&TREE_CYCLE, format!("block {bytenr} is reached twice in tree {}", root.tree))
                    .at("logical", bytenr)
                    .at("tree", root.tree),
            );
            continue;
        }
        if !visited.insert(bytenr) {
            // Shared with a tree walked before (a snapshot): checked there already.
            continue;
        }
        let block = match fs.read_block(bytenr) {
            Ok(b) => b,
            Err(e) => {
                let mut f = Finding::new(&TREE_BLOCK_UNREADABLE, e.to_string()).at("logical", bytenr).at("tree", root.tree);
                if let Some(p) = expect.parent {
                    f = f.at("parent", p);
                }
                report.push(f);
                continue;
            }
        };
        if !tree_block::check(fs, &block, &expect, chunk_uuid, report) {
            continue;
        }
        let level = block.node.level();
        for p in block.node.ptrs() {
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
                },
            ));
        }
        if root.tree != ROOT_TREE_OBJECTID && root.tree != TREE_LOG_OBJECTID {
            continue;
        }
        for item in block.node.items() {
            if item.key.type_ != ROOT_ITEM_KEY {
                continue;
            }
            let Ok(data) = block.node.item_data(item) else { continue };
            let Some((bytenr, level)) = root_item_location(data) else { continue };
            // A root being dropped (drop_progress set) or with no references may point at
            // blocks already freed: btrfs check walks only what is left; we skip it for now.
            let refs = data.get(216..220).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
            let drop_objectid = data.get(220..228).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
            if refs == Some(0) || drop_objectid.is_some_and(|o| o != 0) {
                continue;
            }
            let generation = data.get(160..168).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
            let tree = if root.tree == TREE_LOG_OBJECTID { TREE_LOG_OBJECTID } else { item.key.objectid.get() };
            roots.push(TreeRoot { tree, bytenr, level: Some(level), generation });
        }
    }
}
