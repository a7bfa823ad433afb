//! Summaries of subtrees that subvolumes share, so that a snapshot's inodes cost what the
//! snapshot changed, not what it holds.
//!
//! The inode family checks every subvolume whole, and a snapshot shares nearly all of its
//! blocks with the subvolume it was taken of: with hundreds of snapshots, the same items would
//! be checked hundreds of times (btrfs check's original mode caches inode records of shared
//! nodes for the same reason). The items of one inode number are adjacent in key order, so
//! within a subtree every inode but its first and its last one (whose items may go on outside
//! it) has all of its items inside. What those *interior* inodes leave behind once closed is
//! the same in every tree that contains the subtree:
//! - what is kept of each until the tree ends (nlink, mode, names matched whole);
//! - the parts of names that could not be matched inside the subtree, because the other part
//!   lives with an inode outside it, in the order they came;
//! - orphan items, and whether the tree has items and a root directory.
//!
//! The second time a subvolume walk enters a shared node (the top of a shared subtree), the
//! interior inodes are closed into a state of their own instead of the tree's, and what they
//! left is applied to the tree's state once the subtree's leaves have passed: a *summary*. The
//! third time and later, the summary is applied without reading the interior items at all; the
//! first and last inodes are read item by item as everywhere else.
//!
//! Why this is exact: an interior inode's items are all inside the subtree, and so is every
//! item that names it from the same side (a name's parts are keyed by directory and inode, and
//! an item's objectid is one of the two), as long as the tree's keys are in order, which the
//! walk checks. A name matched whole inside the subtree therefore meets no part from outside in
//! any tree; a name left open is replayed part by part, in order, where the tree's own parts
//! meet it as they would have. A subtree whose interior gave any finding, or whose keys are out
//! of order, is not summarized: every tree sharing it reads it item by item and reports it with
//! its own tree id. (Keys out of order elsewhere in a tree — a block's own, `key_order`, or a
//! pointer to a block that starts elsewhere, `first_key_mismatch`, both reported by the walk —
//! can put an interior inode's items outside its subtree too; there, findings about that inode
//! may differ from an item-by-item reading. The kernel refuses such blocks.)
//!
//! `ONDISK_SHARED_SUMMARIES=off` turns summaries off, for comparing the two; `=trace` prints
//! how many were made and used to stderr.

use super::{Cur, Inodes, Kept, NameKey, Part, TreeState};
use crate::btrfs::check::fast_hash::{FastMap, FastSet};
use crate::btrfs::fs::Block;
use ondisk_layouts::btrfs::DiskKey;

/// The most entries (kept inodes and name parts) all summaries hold together: about 32 bytes
/// each. Past it, shared subtrees are read item by item again.
const MAX_ENTRIES: usize = 4 << 20;

/// What the interior inodes of a shared subtree leave behind (see the module docs).
struct Summary {
    /// The objectids of the subtree's first and last items: the interior lies strictly between.
    first_oid: u64,
    last_oid: u64,
    kept: Vec<(u64, Kept)>,
    parts: Vec<Part>,
    orphans: Vec<u64>,
    saw_items: bool,
    saw_root_dir: bool,
}

/// A summary being made: the interior inodes' state, beside the tree's.
struct Build {
    top: u64,
    st: TreeState,
    first_oid: Option<u64>,
    last_oid: u64,
    /// Every part merged into `st`, in order, and for each name how many parts had come when
    /// it was last matched whole: the parts after that are the ones still open.
    parts: Vec<Part>,
    settled_at: FastMap<NameKey, usize>,
    orphans: Vec<u64>,
    saw_items: bool,
    /// Findings before the subtree's leaves: any more, and the summary is not kept.
    findings_before: usize,
    /// The last key seen, and whether a key did not follow the one before it: a subtree whose
    /// keys are out of order (which the walk reports) is not summarized either.
    last_key: Option<(u64, u8, u64)>,
    disordered: bool,
}

enum Active {
    Build(Box<Build>),
    /// A summary being applied in place of the subtree's interior items.
    Splice { top: u64, applied: bool },
}

/// The summaries, and which shared subtree the walk is in.
pub(super) struct Shared {
    enabled: bool,
    trace: bool,
    /// Summaries made, subtrees read item by item because their interior gave findings,
    /// summaries applied in place of a subtree, leaves not read for it.
    made: u64,
    refused: u64,
    spliced: u64,
    leaves_skipped: u64,
    summaries: FastMap<u64, Summary>,
    /// Tops whose interior gave findings: read item by item in every tree.
    unsummarized: FastSet<u64>,
    entries: usize,
    /// In the tree being walked: each block under a shared top, and that top.
    top_of: FastMap<u64, u64>,
    active: Option<Active>,
}

impl Default for Shared {
    fn default() -> Self {
        let env = std::env::var("ONDISK_SHARED_SUMMARIES").unwrap_or_default();
        Shared {
            enabled: env != "off",
            trace: env == "trace",
            made: 0,
            refused: 0,
            spliced: 0,
            leaves_skipped: 0,
            summaries: FastMap::default(),
            unsummarized: FastSet::default(),
            entries: 0,
            top_of: FastMap::default(),
            active: None,
        }
    }
}

impl Shared {
    /// A new subvolume tree.
    pub(super) fn begin_tree(&mut self) {
        self.top_of.clear();
        self.active = None;
    }

    /// The end of the check: with `ONDISK_SHARED_SUMMARIES=trace`, what the summaries did.
    pub(super) fn trace(&self) {
        if self.trace {
            eprintln!(
                "shared subtrees: {} summarized, {} with findings read item by item, {} summaries applied, {} leaves not read",
                self.made, self.refused, self.spliced, self.leaves_skipped
            );
        }
    }

    /// The top being summarized, when a leaf of it is being delivered.
    pub(super) fn building(&self) -> Option<u64> {
        match &self.active {
            Some(Active::Build(b)) => Some(b.top),
            _ => None,
        }
    }

    /// Whether `c`, closing now, is an interior inode of the subtree being summarized: it began
    /// inside the subtree, after its first objectid, and something after it inside closes it.
    pub(super) fn is_interior(&self, c: &Cur) -> bool {
        match &self.active {
            Some(Active::Build(b)) => c.started_in == Some(b.top) && b.first_oid != Some(c.ino),
            _ => false,
        }
    }

    pub(super) fn build_state(&mut self, interior: bool) -> Option<&mut TreeState> {
        match &mut self.active {
            Some(Active::Build(b)) if interior => Some(&mut b.st),
            _ => None,
        }
    }

    /// An orphan item, and an item of an inode, as the tree's state took them: the subtree
    /// being summarized (if any) keeps them too.
    pub(super) fn note_orphan(&mut self, ino: u64) {
        if let Some(Active::Build(b)) = &mut self.active {
            b.orphans.push(ino);
        }
    }

    pub(super) fn note_item(&mut self) {
        if let Some(Active::Build(b)) = &mut self.active {
            b.saw_items = true;
        }
    }

    pub(super) fn record_part(&mut self, p: &Part) {
        if let Some(Active::Build(b)) = &mut self.active {
            b.parts.push(*p);
        }
    }

    /// After `p` was merged into the summary's state: if that matched its name whole, the
    /// name's parts so far are settled.
    pub(super) fn note_settled(&mut self, p: &Part) {
        if let Some(Active::Build(b)) = &mut self.active {
            if !b.st.names.contains_key(&p.key) {
                b.settled_at.insert(p.key, b.parts.len());
            }
        }
    }
}

/// What [`Inodes::shared_item`] says to do with an item.
pub(super) enum ItemRoute {
    /// Check it as usual.
    Check,
    /// Inside a summary already applied: nothing to do.
    Skip,
}

impl Inodes {
    /// A node of a subvolume tree: on a second or later visit at the top of a shared subtree,
    /// its subtree is summarized or spliced; below such a top, the top is passed on.
    pub(super) fn shared_node(&mut self, b: &Block, first_visit: bool) {
        let sh = &mut self.shared;
        let top = match sh.top_of.get(&b.bytenr) {
            Some(&t) => t,
            None if !first_visit && sh.enabled && !sh.unsummarized.contains(&b.bytenr) => {
                if !sh.summaries.contains_key(&b.bytenr) && sh.entries >= MAX_ENTRIES {
                    return;
                }
                b.bytenr
            }
            None => return,
        };
        for p in b.node.ptrs() {
            sh.top_of.insert(p.blockptr.get(), top);
        }
    }

    /// A leaf of a subvolume tree is about to be delivered: leaving a shared subtree finishes
    /// its summary; entering one starts making or applying it.
    pub(super) fn shared_leaf(&mut self, b: &Block) {
        let top = self.shared.top_of.get(&b.bytenr).copied();
        let active = match &self.shared.active {
            Some(Active::Build(x)) => Some(x.top),
            Some(Active::Splice { top, .. }) => Some(*top),
            None => None,
        };
        if active == top {
            return;
        }
        self.finish_shared();
        let Some(top) = top else { return };
        self.shared.active = Some(if self.shared.summaries.contains_key(&top) {
            Active::Splice { top, applied: false }
        } else {
            Active::Build(Box::new(Build {
                top,
                st: TreeState::default(),
                first_oid: None,
                last_oid: 0,
                parts: Vec::new(),
                settled_at: FastMap::default(),
                orphans: Vec::new(),
                saw_items: false,
                findings_before: self.pending.len(),
                last_key: None,
                disordered: false,
            }))
        });
    }

    /// Whether a leaf being spliced lies wholly inside the summary's interior: then its items
    /// are not read at all (the summary is applied first if it was not yet).
    pub(super) fn splice_skips_leaf(&mut self, b: &Block) -> bool {
        let Some(Active::Splice { top, .. }) = &self.shared.active else { return false };
        let Some(s) = self.shared.summaries.get(top) else { return false };
        let items = b.node.items();
        let (Some(first), Some(last)) = (items.first(), items.last()) else { return false };
        let inside = |k: &DiskKey| k.objectid.get() > s.first_oid && k.objectid.get() < s.last_oid;
        if !(inside(&first.key) && inside(&last.key)) {
            return false;
        }
        self.apply_splice();
        self.shared.leaves_skipped += 1;
        true
    }

    /// Every item of a subvolume tree passes here first: a subtree being summarized learns its
    /// first and last objectids and whether its keys are in order; one being spliced skips its
    /// interior.
    pub(super) fn shared_item(&mut self, key: &DiskKey) -> ItemRoute {
        let oid = key.objectid.get();
        match &mut self.shared.active {
            None => ItemRoute::Check,
            Some(Active::Build(b)) => {
                b.first_oid.get_or_insert(oid);
                b.last_oid = oid;
                let k = (oid, key.type_, key.offset.get());
                b.disordered |= b.last_key.is_some_and(|last| k <= last);
                b.last_key = Some(k);
                ItemRoute::Check
            }
            Some(Active::Splice { top, .. }) => {
                let Some(s) = self.shared.summaries.get(top) else { return ItemRoute::Check };
                if oid <= s.first_oid {
                    return ItemRoute::Check;
                }
                let interior = oid < s.last_oid;
                self.apply_splice();
                if interior {
                    ItemRoute::Skip
                } else {
                    ItemRoute::Check
                }
            }
        }
    }

    /// Applies the summary being spliced, once: the first inode closes first, as the first
    /// interior item would have closed it.
    fn apply_splice(&mut self) {
        let Some(Active::Splice { top, applied }) = &mut self.shared.active else { return };
        if *applied {
            return;
        }
        *applied = true;
        let top = *top;
        self.shared.spliced += 1;
        self.close_inode(false);
        if let Some(s) = self.shared.summaries.remove(&top) {
            self.apply(&s);
            self.shared.summaries.insert(top, s);
        }
    }

    /// Leaves the shared subtree being delivered: a summary made is applied to the tree (and
    /// kept when its interior gave no finding).
    pub(super) fn finish_shared(&mut self) {
        let Some(Active::Build(b)) = self.shared.active.take() else { return };
        let Build { top, st, first_oid, last_oid, parts, settled_at, orphans, saw_items, findings_before, disordered, .. } = *b;
        let Some(first_oid) = first_oid else { return };
        let clean = self.pending.len() == findings_before && !disordered;
        let open: Vec<Part> = parts
            .iter()
            .enumerate()
            .filter(|(i, p)| st.names.contains_key(&p.key) && settled_at.get(&p.key).is_none_or(|&at| *i >= at))
            .map(|(_, p)| *p)
            .collect();
        let kept: Vec<(u64, Kept)> = {
            let mut k: Vec<(u64, Kept)> = st.inodes.iter().map(|(i, k)| (i, *k)).collect();
            k.sort_unstable_by_key(|e| e.0);
            k
        };
        let s = Summary { first_oid, last_oid, kept, parts: open, orphans, saw_items, saw_root_dir: st.saw_root_dir };
        self.apply(&s);
        let size = s.kept.len() + s.parts.len() + s.orphans.len();
        if clean && self.shared.entries.saturating_add(size) <= MAX_ENTRIES {
            self.shared.entries += size;
            self.shared.summaries.insert(top, s);
            self.shared.made += 1;
        } else {
            self.shared.unsummarized.insert(top);
            self.shared.refused += u64::from(!clean);
        }
    }

    /// What a summary's interior inodes left, into the tree's state: their kept records, then
    /// their open name parts in order, as if each had closed here.
    fn apply(&mut self, s: &Summary) {
        for &(ino, k) in &s.kept {
            self.st.inodes.insert(ino, k);
        }
        self.add_parts(&s.parts, super::NO_SLOT, false);
        self.st.orphans.extend(s.orphans.iter().copied());
        self.st.saw_items |= s.saw_items;
        self.st.saw_root_dir |= s.saw_root_dir;
    }
}
