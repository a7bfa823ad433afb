//! Tree walks: lazy about nothing but bounded in everything. A walk visits each block of one
//! tree once (a visited set makes it cycle-safe), only descends to strictly lower levels (so it
//! is depth-bounded by construction), and reports unreadable blocks as events, never stopping.
//!
//! The order is breadth-first within each tree — the order `btrfs inspect-internal dump-tree`
//! prints in (btrfs-progs 5.3+ default) — so dumps compare line for line.

use super::fs::{Block, BlockError, Filesystem};
use ondisk_layouts::btrfs::tree::MAX_LEVEL;
use ondisk_layouts::btrfs::KeyPtr;
use std::collections::{HashSet, VecDeque};

/// What a walk reports.
pub enum Event<'a, 'b> {
    /// A block that could be read (possibly with a bad checksum: see `Block::csum_ok`).
    /// The second field is the parent pointer it was reached through (None for the root).
    Block(&'b Block<'a>, Option<&'b KeyPtr>),
    /// A block that could not be read or does not belong where it was found.
    Error { bytenr: u64, parent: Option<u64>, error: WalkError },
}

/// Why a walk did not descend into a block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    #[error(transparent)]
    Read(#[from] BlockError),
    #[error("block already visited in this tree (a cycle or a shared pointer)")]
    Revisited,
    #[error("level {found} below a level-{parent} node (expected {})", parent.saturating_sub(1))]
    BadLevel { parent: u8, found: u8 },
    #[error("root block has level {found}, its root item says {expected}")]
    RootLevel { expected: u8, found: u8 },
    #[error("level {0} is above the maximum {MAX_LEVEL}")]
    LevelTooHigh(u8),
}

/// How a block was reached: the parent's bytenr and level, and the pointer followed.
type Parent = (u64, u8, KeyPtr);

/// Walks the tree rooted at `root`, breadth-first, calling `visit` for every block and error.
/// `root_level`, when known (from a root item), is checked against the root block.
pub fn walk_tree<'a>(fs: &Filesystem<'a>, root: u64, root_level: Option<u8>, visit: &mut dyn FnMut(Event<'a, '_>)) {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<(u64, Option<Parent>)> = VecDeque::new();
    queue.push_back((root, None));
    // Each block is asked for before it is read, the root now and children with their parent,
    // so that reads queue up together instead of each cold block faulting in megabytes of
    // read-around on its own.
    fs.will_need_blocks(&[root], false);
    while let Some((bytenr, parent)) = queue.pop_front() {
        let pbytenr = parent.as_ref().map(|p| p.0);
        if !seen.insert(bytenr) {
            visit(Event::Error { bytenr, parent: pbytenr, error: WalkError::Revisited });
            continue;
        }
        let block = match fs.read_block(bytenr) {
            Ok(b) => b,
            Err(e) => {
                visit(Event::Error { bytenr, parent: pbytenr, error: e.into() });
                continue;
            }
        };
        let level = block.node.level();
        if level >= MAX_LEVEL {
            visit(Event::Error { bytenr, parent: pbytenr, error: WalkError::LevelTooHigh(level) });
            continue;
        }
        match (parent.as_ref(), root_level) {
            (Some(p), _) if level != p.1.saturating_sub(1) => {
                visit(Event::Error { bytenr, parent: pbytenr, error: WalkError::BadLevel { parent: p.1, found: level } });
                continue;
            }
            // A root whose level differs from its root item's is still shown (it is the only
            // way in), but the mismatch is reported.
            (None, Some(want)) if level != want => {
                visit(Event::Error { bytenr, parent: None, error: WalkError::RootLevel { expected: want, found: level } });
            }
            _ => {}
        }
        visit(Event::Block(&block, parent.as_ref().map(|p| &p.2)));
        let children: Vec<u64> = block.node.ptrs().iter().map(|p| p.blockptr.get()).filter(|b| !seen.contains(b)).collect();
        fs.will_need_blocks(&children, false);
        for ptr in block.node.ptrs() {
            queue.push_back((ptr.blockptr.get(), Some((bytenr, level, *ptr))));
        }
    }
}
