//! The key ranges of the subtrees a tree lost: a child pointer whose block was never delivered
//! (unreadable, damaged past descending, a cycle) leaves a hole from its key up to the next
//! pointer's key (or the parent's own upper bound). Comparisons over ranges of such a tree are
//! unreliable inside its holes: what they would report there only echoes the loss, which the
//! walk has reported already.

use super::ranges::{self, Range};
use super::walker::TreeRoot;
use crate::btrfs::fs::Block;
use ondisk_layouts::btrfs::{DiskKey, KeyPtr};
use std::collections::HashMap;

/// Follows one tree's pointers; `position` turns a key into the coordinate the ranges are in.
pub struct LostSubtrees {
    tree: u64,
    position: fn(&DiskKey) -> u64,
    /// Children pointed at and not delivered yet: their `[lo, hi)`.
    pending: HashMap<u64, Range>,
    /// Upper bounds of the nodes delivered, for their children's.
    upper: HashMap<u64, u64>,
}

impl LostSubtrees {
    pub fn new(tree: u64, position: fn(&DiskKey) -> u64) -> Self {
        LostSubtrees { tree, position, pending: HashMap::new(), upper: HashMap::new() }
    }

    /// The walk starts on a tree: an unreadable root loses all of it.
    pub fn begin_tree(&mut self, root: &TreeRoot) {
        if root.tree == self.tree {
            self.pending.insert(root.bytenr, (0, u64::MAX));
        }
    }

    /// A block of the tree was delivered (before its pointers are).
    pub fn block(&mut self, root: &TreeRoot, b: &Block) {
        if root.tree != self.tree {
            return;
        }
        let hi = self.pending.remove(&b.bytenr).map_or(u64::MAX, |r| r.1);
        if b.node.level() > 0 {
            self.upper.insert(b.bytenr, hi);
        }
    }

    /// A pointer of a delivered node.
    pub fn ptr(&mut self, root: &TreeRoot, parent: &Block, slot: usize, p: &KeyPtr) {
        if root.tree != self.tree {
            return;
        }
        let lo = (self.position)(&p.key);
        let hi = match parent.node.ptrs().get(slot + 1) {
            Some(next) => (self.position)(&next.key),
            None => self.upper.get(&parent.bytenr).copied().unwrap_or(u64::MAX),
        };
        self.pending.insert(p.blockptr.get(), (lo, hi.max(lo)));
    }

    /// The holes, merged. Call once the walk is over.
    pub fn holes(&self) -> Vec<Range> {
        let mut v: Vec<Range> = self.pending.values().copied().collect();
        ranges::merge(&mut v);
        v
    }
}

/// Splits `found` into what lies outside the holes (to report) and how many of its ranges
/// reached into a hole (left out, wholly or in part).
pub fn outside_holes(found: Vec<Range>, holes: &[Range]) -> (Vec<Range>, u64) {
    if holes.is_empty() {
        return (found, 0);
    }
    let mut left_out = 0;
    let mut keep = Vec::new();
    for r in found {
        let rest = ranges::subtract(&[r], holes);
        if rest.len() != 1 || rest[0] != r {
            left_out += 1;
        }
        keep.extend(rest);
    }
    (keep, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_reaching_into_holes_are_cut_and_counted() {
        let holes = [(100, 200)];
        let (keep, n) = outside_holes(vec![(0, 50), (150, 160), (180, 250)], &holes);
        assert_eq!(keep, vec![(0, 50), (200, 250)]);
        assert_eq!(n, 2);
        assert_eq!(outside_holes(vec![(1, 2)], &[]), (vec![(1, 2)], 0));
    }
}
