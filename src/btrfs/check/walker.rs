//! The one walk of a check: the chunk tree, the root tree, the log tree, and every tree a root
//! item points to. Each block is read and structurally checked once; the check families
//! ([`Family`]) see every block, every parent pointer and every leaf item from this one walk
//! and accumulate what they need, comparing at the end.
//!
//! A block shared between trees (snapshots) is checked once. For subvolume trees the walk still
//! descends into shared blocks when a family asks for them ([`Family::revisits`]), so that
//! per-tree families (inodes, directories, qgroups) see each subvolume whole; those deliveries
//! are marked `first_visit == false` so that reference counting families count each block once,
//! and go only to the families that asked (the inode family summarizes shared subtrees, see
//! `inode/summary.rs`). What a pointer says of its child (level, transid, first key) is checked
//! for every pointer met for the first time, also when the child was visited before; a pointer
//! to a block of another level leads nowhere, in every tree that shares it. A block met twice
//! within one tree is a cycle.
//!
//! A deleted subvolume the cleaner is part way through dropping is walked from its root item's
//! drop_progress key on: left of it, at drop_level, blocks may be freed already.
//!
//! Threads: the walk runs on the caller's thread, the families in groups on threads of their
//! own (see [`walk_all`]), and [`walk_with_read_ahead`] adds one that tells the kernel which
//! blocks come next.

use super::kinds::*;
use super::root_items;
use super::tree_block::{self, Expect};
use crate::btrfs::fs::{Block, Filesystem};
use crate::findings::{Finding, Report};
use ondisk_layouts::btrfs::items::RootItem;
use ondisk_layouts::btrfs::*;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// A deleted subvolume the cleaner is part way through dropping: its root item's
    /// drop_progress key and drop_level. Everything left of that key at that level has been
    /// dropped already (its blocks may be freed and reused); only the rest is walked.
    pub drop: Option<(DiskKey, u8)>,
}

/// What every family can see of the filesystem while the walk runs.
pub struct Cx<'f, 'a> {
    pub fs: &'f Filesystem<'a>,
    /// The chunk tree root's chunk_tree_uuid, which every block must carry.
    pub chunk_uuid: Option<[u8; 16]>,
    /// Verify every copy of every block (`--all-copies`).
    pub all_copies: bool,
    /// Set when the walk is over if it reported errors of its own (blocks unreadable or
    /// damaged): families whose totals need every block see it at `finish`.
    walk_errors: AtomicBool,
}

impl Cx<'_, '_> {
    /// Whether the walk itself found errors (meaningful at `finish`).
    pub fn walk_had_errors(&self) -> bool {
        self.walk_errors.load(Ordering::SeqCst)
    }
}

/// What a family wants of a block a subvolume walk meets again ([`Family::revisits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revisit {
    No,
    /// `reach` only.
    Blocks,
    /// `reach` and an `item` per item.
    Items,
}

/// One family of checks, fed by the walk.
pub trait Family {
    /// What the family wants of a subvolume's blocks that an earlier tree shares with it (a
    /// snapshot's): per-subvolume families (inodes, subvolume entries, qgroups) want their items
    /// again. When no family wants them, the walk does not enter shared blocks again, and a
    /// group none of whose families wants them skips them: with hundreds of snapshots, those
    /// visits are nearly all of them.
    fn revisits(&self) -> Revisit {
        Revisit::No
    }
    /// A block met again, with [`Revisit::Items`], after `reach`: by default its items from
    /// slot `from` on, one `item` each. A family may pass over what it summarized before.
    fn revisit(&mut self, cx: &Cx, root: &TreeRoot, b: &Block, from: usize) {
        revisit_items(self, cx, root, b, from);
    }
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
    /// Subtrees of the tree the walk could not descend into (unreadable, too damaged, a cycle),
    /// once per tree before `end_tree`, when there are any. What a family would conclude about
    /// the keys in them only echoes that loss.
    fn lost_subtrees(&mut self, _cx: &Cx, _root: &TreeRoot, _lost: &[KeyBounds]) {}
    /// The tree has been walked.
    fn end_tree(&mut self, _cx: &Cx, _root: &TreeRoot, _report: &mut Report) {}
    /// Every tree has been walked: compare and report.
    fn finish(&mut self, _cx: &Cx, _report: &mut Report) {}
}

/// A block met again, to one family: its items from slot `from` on, each an `item` with
/// `first_visit` false ([`Family::revisit`]'s default).
pub fn revisit_items<F: Family + ?Sized>(f: &mut F, cx: &Cx, root: &TreeRoot, b: &Block, from: usize) {
    for (slot, item) in b.node.items().iter().enumerate().skip(from) {
        let Ok(data) = b.node.item_data(item) else { continue };
        f.item(cx, root, b, slot, &item.key, data, false);
    }
}

/// The keys a subtree can hold: from its pointer's key (`None`: the start of the tree) up to
/// the next pointer's key, exclusive (`None`: the end of the tree).
pub type KeyBounds = (Option<DiskKey>, Option<DiskKey>);

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

/// [`walk_all`] with a read-ahead thread: the kernel is told about each node's children when
/// the node is read, so their reads are queued long before the breadth-first walk reaches them,
/// and cold I/O overlaps the checking. The thread takes every announcement waiting for it (up
/// to a window) at once, so the kernel gets them sorted by position and merged.
pub fn walk_with_read_ahead(fs: &Filesystem, all_copies: bool, groups: Vec<Group>, report: &mut Report) {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u64>>();
        s.spawn(move || {
            let mut window = Vec::new();
            while let Ok(first) = rx.recv() {
                window.extend(first);
                while window.len() < READ_AHEAD_WINDOW {
                    match rx.try_recv() {
                        Ok(more) => window.extend(more),
                        Err(_) => break,
                    }
                }
                fs.will_need_blocks(&window, all_copies);
                window.clear();
            }
        });
        walk_all(fs, all_copies, groups, report, Some(tx));
    });
}

/// The most blocks the read-ahead thread sorts together (16 MiB of 16 KiB nodes): enough to
/// find the neighbours among the children of many nodes, few enough that the first reads of a
/// flood of announcements (a tree's level-1 nodes name all its leaves) start soon.
const READ_AHEAD_WINDOW: usize = 1024;

/// Families that run on one thread, in this order.
pub type Group<'g> = Vec<&'g mut (dyn Family + Send)>;

/// What the walk tells the families, in walk order.
enum Event<'a> {
    Begin(TreeRoot),
    /// A block to deliver, whether this is its first visit, and the first slot still live (0
    /// but on the drop path of a tree being dropped): a first visit gets `block`, a `ptr` per
    /// live pointer and an `item` per live item; a subvolume walk re-entering a shared block gets
    /// only the items.
    Block(Block<'a>, bool, usize),
    /// The tree is done, with the key bounds of the subtrees that could not be walked.
    End(TreeRoot, Vec<KeyBounds>),
}

/// Events travel in batches, so that a channel operation is paid per batch, not per block.
type Batch<'a> = Arc<Vec<Event<'a>>>;
const BATCH: usize = 64;
/// Batches in flight per group: bounds the memory of blocks read but not yet delivered (they
/// are owned buffers when the image is read with pread).
const IN_FLIGHT: usize = 16;

/// Walks every tree once, feeding the families, then lets them finish.
///
/// The walk itself (reads, checksums, structural checks) runs on the calling thread; each group
/// of families runs on a thread of its own, fed the same events in the same order, so a family
/// sees exactly what a single-threaded walk would show it, while the walk runs ahead of the
/// slowest group by up to `IN_FLIGHT` batches.
/// Each group's findings follow the walk's in the report, in group order.
///
/// `ahead`, when given, receives the bytenrs of each node's children not read yet as the node is
/// read, for a read-ahead thread to hand to the kernel ([`Filesystem::will_need_blocks`]).
pub fn walk_all(fs: &Filesystem, all_copies: bool, groups: Vec<Group>, report: &mut Report, ahead: Option<Sender<Vec<u64>>>) {
    let sb = fs.sb.sb();
    let chunk_uuid = fs.read_block(sb.chunk_root.get()).ok().map(|b| b.node.header().chunk_tree_uuid);
    let cx = Cx { fs, chunk_uuid, all_copies, walk_errors: AtomicBool::new(false) };
    let cx = &cx;
    let revisits = groups.iter().flatten().any(|f| f.revisits() != Revisit::No);
    let reports = std::thread::scope(|s| {
        let mut out = Vec::new();
        let mut consumers = Vec::new();
        for group in groups {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(IN_FLIGHT);
            out.push(tx);
            consumers.push(s.spawn(move || deliver_all(cx, group, rx)));
        }
        let mut w = Walker {
            cx,
            visited: HashMap::new(),
            bad_pointers: HashSet::new(),
            revisits,
            out,
            pending: Vec::with_capacity(BATCH),
            report: &mut *report,
            progress: crate::progress::Progress::new(),
            ahead,
        };
        w.walk_every_tree();
        w.progress.done();
        // Before the channels close, so every group's `finish` sees it.
        let errors = w
            .report
            .findings
            .iter()
            .any(|f| f.severity == crate::findings::Severity::Error && ALL.iter().any(|k| std::ptr::eq(*k, f.kind)));
        cx.walk_errors.store(errors, Ordering::SeqCst);
        w.flush();
        drop(w);
        // Every block has been read: unmapping them now overlaps the families' last work
        // (a block still being delivered is simply mapped again).
        fs.release_pages();
        consumers.into_iter().map(|c| c.join().expect("a check family panicked")).collect::<Vec<_>>()
    });
    // Findings the lost subtrees made unreliable, summed over the groups: one info per tree.
    let mut left_out: Vec<Echoes> = Vec::new();
    for (r, echoes) in reports {
        report.findings.extend(r.findings);
        for e in echoes {
            match left_out.iter_mut().find(|x| x.tree == e.tree) {
                Some(x) => x.left_out += e.left_out,
                None => left_out.push(e),
            }
        }
    }
    for Echoes { tree, left_out: n, lost } in left_out {
        let ranges: Vec<String> = lost.iter().map(|(lo, hi)| format!("{lo}..={hi}")).collect();
        report.push(
            Finding::new(&LOST_SUBTREE_ECHOES, format!(
                "tree {tree}: {n} inode findings inside subtrees that could not be walked (objectids {}) left out",
                ranges.join(", ")
            ))
            .at("tree", tree)
            .ctx("left_out", n),
        );
    }
}

/// Per-inode findings left out of a tree because they fall in subtrees it lost.
struct Echoes {
    tree: u64,
    left_out: u64,
    /// The objectid ranges of the lost subtrees.
    lost: Vec<(u64, u64)>,
}

/// One group's thread: hands every event to its families, then lets them finish.
fn deliver_all(cx: &Cx, mut families: Group, rx: Receiver<Batch>) -> (Report, Vec<Echoes>) {
    let mut report = Report::new();
    let revisits = families.iter().any(|f| f.revisits() != Revisit::No);
    let mut echoes = Vec::new();
    let mut root: Option<TreeRoot> = None;
    for batch in rx {
        for ev in batch.iter() {
            match ev {
                Event::Begin(r) => {
                    for f in families.iter_mut() {
                        f.begin_tree(cx, r);
                    }
                    root = Some(r.clone());
                }
                Event::Block(b, first_visit, from) => {
                    if !first_visit && !revisits {
                        continue;
                    }
                    if let Some(r) = &root {
                        deliver_block(cx, &mut families, r, b, *first_visit, *from);
                    }
                }
                Event::End(r, lost) => {
                    let before = report.findings.len();
                    for f in families.iter_mut() {
                        if !lost.is_empty() {
                            f.lost_subtrees(cx, r, lost);
                        }
                        f.end_tree(cx, r, &mut report);
                    }
                    if is_subvolume(r.tree) && !lost.is_empty() {
                        // Per-inode findings: a lost subtree's objectids, its upper bound's
                        // included (the next subtree may start inside that objectid).
                        let ids: Vec<(u64, u64)> =
                            lost.iter().map(|(lo, hi)| (lo.map_or(0, |k| k.objectid.get()), hi.map_or(u64::MAX, |k| k.objectid.get()))).collect();
                        let n = leave_out_echoes(&mut report, r.tree, before, &ids);
                        if n > 0 {
                            echoes.push(Echoes { tree: r.tree, left_out: n, lost: ids });
                        }
                    }
                }
            }
        }
    }
    for f in families.iter_mut() {
        f.finish(cx, &mut report);
    }
    (report, echoes)
}

fn deliver_block(cx: &Cx, families: &mut Group, root: &TreeRoot, block: &Block, first_visit: bool, from: usize) {
    if !first_visit {
        // A shared block again: only to the families that asked for it.
        for f in families.iter_mut() {
            let want = f.revisits();
            if want != Revisit::No {
                f.reach(cx, root, block, false);
            }
            if want == Revisit::Items {
                f.revisit(cx, root, block, from);
            }
        }
        return;
    }
    for f in families.iter_mut() {
        f.block(cx, root, block);
    }
    for f in families.iter_mut() {
        f.reach(cx, root, block, true);
    }
    for (slot, p) in block.node.ptrs().iter().enumerate().skip(from) {
        for f in families.iter_mut() {
            f.ptr(cx, root, block, slot, p);
        }
    }
    for (slot, item) in block.node.items().iter().enumerate().skip(from) {
        let Ok(data) = block.node.item_data(item) else { continue };
        for f in families.iter_mut() {
            f.item(cx, root, block, slot, &item.key, data, true);
        }
    }
}

/// Removes the per-inode findings of this tree, pushed since `from`, that fall in a lost
/// subtree's objectid range; returns how many. What lies in a subtree that could not be walked
/// is unknown, so per-inode findings there would only echo the one loss.
fn leave_out_echoes(report: &mut Report, tree: u64, from: usize, lost: &[(u64, u64)]) -> u64 {
    let lost = merge_inclusive(lost);
    let in_lost = |f: &Finding| {
        let same_tree = matches!(f.location.get("tree"), Some(crate::record::Value::U64(t)) if *t == tree);
        // A name lives with both its directory and its inode: either side lost loses it.
        let ids = [f.location.get("inode"), f.context.get("dir")];
        same_tree
            && ids.iter().flatten().any(|v| match v {
                crate::record::Value::U64(id) => covers(&lost, *id),
                _ => false,
            })
    };
    let tail = report.findings.split_off(from);
    let before = tail.len();
    report.findings.extend(tail.into_iter().filter(|f| !in_lost(f)));
    (before - (report.findings.len() - from)) as u64
}

/// Inclusive ranges sorted and merged (empty ones, `lo > hi`, dropped), so that [`covers`] is
/// one binary search: a hostile tree can lose thousands of subtrees and keep thousands of
/// findings.
fn merge_inclusive(ranges: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = ranges.iter().copied().filter(|r| r.0 <= r.1).collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Whether `id` lies in one of the ranges of [`merge_inclusive`].
fn covers(merged: &[(u64, u64)], id: u64) -> bool {
    let i = merged.partition_point(|&(_, hi)| hi < id);
    merged.get(i).is_some_and(|&(lo, _)| lo <= id)
}

/// What the first visit of a block found.
#[derive(Clone, Copy)]
enum Seen {
    /// Not read yet, or no copy could be read.
    NotRead,
    /// Read, and too damaged to walk.
    Damaged,
    /// Read from this copy, with its checksum good or not.
    Walked { mirror: usize, csum_ok: bool },
}

struct Walker<'c, 'f, 'a, 'r> {
    cx: &'c Cx<'f, 'a>,
    /// Every block reached so far, and what its first visit found.
    visited: HashMap<u64, Seen>,
    /// (node, child) pointers that lead to a block of another level than the pointer says.
    bad_pointers: HashSet<(u64, u64)>,
    /// Some family wants shared subvolume blocks delivered again ([`Family::revisits`]).
    revisits: bool,
    /// One channel per family group.
    out: Vec<SyncSender<Batch<'a>>>,
    pending: Vec<Event<'a>>,
    report: &'r mut Report,
    progress: crate::progress::Progress,
    ahead: Option<Sender<Vec<u64>>>,
}

impl<'a> Walker<'_, '_, 'a, '_> {
    fn walk_every_tree(&mut self) {
        let sb = self.cx.fs.sb.sb();
        // The roots the superblock names are asked for now, the trees' roots named by root
        // items when the root tree has been walked: a root is read as soon as it is reached,
        // before any read-ahead could ask for it, and a cold page fault on its own would read
        // megabytes around it.
        self.cx.fs.will_need_blocks(&[sb.chunk_root.get(), sb.root.get(), sb.log_root.get()], self.cx.all_copies);
        let mut roots = Vec::new();
        // The chunk tree first: its root's chunk_tree_uuid is what every block must carry.
        let chunk = TreeRoot {
            tree: CHUNK_TREE_OBJECTID,
            bytenr: sb.chunk_root.get(),
            level: Some(sb.chunk_root_level),
            generation: Some(sb.chunk_root_generation.get()),
            key: None,
            drop: None,
        };
        self.walk_tree(&chunk, &mut roots);
        let root = TreeRoot {
            tree: ROOT_TREE_OBJECTID,
            bytenr: sb.root.get(),
            level: Some(sb.root_level),
            generation: Some(sb.generation.get()),
            key: None,
            drop: None,
        };
        let errors_before = self.errors();
        self.walk_tree(&root, &mut roots);
        // Only a root tree walked without damage shows which root items are missing.
        if self.errors() == errors_before {
            root_items::check_required(sb, &roots, self.report);
        }
        if sb.log_root.get() != 0 {
            self.report.push(
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
                drop: None,
            };
            self.walk_tree(&log, &mut roots);
        }
        // Trees found through root items (the log root tree's point at per-subvolume log trees).
        self.cx.fs.will_need_blocks(&roots.iter().map(|r| r.bytenr).collect::<Vec<_>>(), self.cx.all_copies);
        for r in std::mem::take(&mut roots) {
            self.walk_tree(&r, &mut Vec::new());
        }
    }

    /// Error findings so far.
    fn errors(&self) -> usize {
        self.report.findings.iter().filter(|f| f.severity == crate::findings::Severity::Error).count()
    }

    fn emit(&mut self, ev: Event<'a>) {
        self.pending.push(ev);
        if self.pending.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let batch: Batch = Arc::new(std::mem::replace(&mut self.pending, Vec::with_capacity(BATCH)));
        for tx in &self.out {
            // A group that stopped receiving has panicked; the join reports it.
            let _ = tx.send(Arc::clone(&batch));
        }
    }

    /// Walks one tree breadth-first; collects the trees its root items name.
    fn walk_tree(&mut self, root: &TreeRoot, roots: &mut Vec<TreeRoot>) {
        let cx = self.cx;
        if let Some((k, level)) = root.drop {
            self.report.push(
                Finding::new(&SUBVOLUME_DROPPING, format!(
                    "subvolume {} is being dropped: resumes at ({} {} {}) level {level}",
                    root.tree,
                    k.objectid.get(),
                    k.type_,
                    k.offset.get()
                ))
                .at("tree", root.tree)
                .at("key", crate::btrfs::dump::key_record(&k))
                .at("level", level),
            );
        }
        self.emit(Event::Begin(root.clone()));
        let per_tree = is_subvolume(root.tree) && self.revisits;
        // Key bounds of subtrees not walked (unreadable, a cycle, too damaged).
        let mut lost: Vec<KeyBounds> = Vec::new();
        let mut in_tree = HashSet::new();
        let mut queue = VecDeque::new();
        // (bytenr, what the pointer expects, the exclusive upper key bound of the subtree, for a
        // block on the drop path of a tree being dropped the drop_progress key, and whether the
        // pointer is new: a root's, or in a node on its first visit)
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
            root.drop.map(|d| d.0),
            true,
        ));
        while let Some((bytenr, expect, high, on_drop_path, new_pointer)) = queue.pop_front() {
            let range = (expect.first_key, high);
            if expect.parent.is_some_and(|p| self.bad_pointers.contains(&(p, bytenr))) {
                // A pointer of a shared node, to a block of another level: reported where the
                // node was first met; it leads nowhere in this tree either.
                lost.push(range);
                continue;
            }
            if !in_tree.insert(bytenr) {
                lost.push(range);
                self.report.push(
                    Finding::new(&TREE_CYCLE, format!("block {bytenr} is reached twice in tree {}", root.tree))
                        .at("logical", bytenr)
                        .at("tree", root.tree),
                );
                continue;
            }
            let before = self.visited.get(&bytenr).copied();
            let first_visit = before.is_none();
            if first_visit {
                self.visited.insert(bytenr, Seen::NotRead);
            }
            let seen = self.visited.len();
            self.progress.tick(|| format!("checking tree {}: {seen} blocks", root.tree));
            if !first_visit && !per_tree {
                // Shared with a tree walked before: checked and counted there already.
                continue;
            }
            let read = match before {
                Some(Seen::Walked { mirror, csum_ok }) => cx.fs.read_block_again(bytenr, mirror, csum_ok),
                Some(Seen::Damaged) => {
                    // Reported at its first visit; here too its subtree is lost.
                    lost.push(range);
                    continue;
                }
                Some(Seen::NotRead) | None => cx.fs.read_block(bytenr),
            };
            let block = match read {
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
            let outcome = if first_visit {
                tree_block::check(cx, &block, &expect, self.report)
            } else if new_pointer && !tree_block::check_new_pointer(&block, &expect, self.report) {
                tree_block::Outcome::WrongLevel
            } else {
                tree_block::Outcome::Walk
            };
            match outcome {
                tree_block::Outcome::Walk => {}
                tree_block::Outcome::Damaged => {
                    self.visited.insert(bytenr, Seen::Damaged);
                    lost.push(range);
                    continue;
                }
                tree_block::Outcome::WrongLevel => {
                    // Only this pointer is wrong: a pointer of the right level (a tree sharing
                    // the block) gives it its first visit.
                    if first_visit {
                        self.visited.remove(&bytenr);
                    }
                    if let Some(p) = expect.parent {
                        self.bad_pointers.insert((p, bytenr));
                    }
                    lost.push(range);
                    continue;
                }
            }
            self.visited.insert(bytenr, Seen::Walked { mirror: block.mirror, csum_ok: block.csum_ok });
            let level = block.node.level();
            let ptrs = block.node.ptrs();
            // On the drop path, the slots left of drop_progress are dropped: the one covering
            // it (the last key not above it, as a search finds it) is where the drop resumes.
            let from = on_drop_path.map_or(0, |k| {
                let keys: Vec<DiskKey> =
                    if level == 0 { block.node.items().iter().map(|i| i.key).collect() } else { ptrs.iter().map(|p| p.key).collect() };
                keys.iter().rposition(|x| key_le(x, &k)).unwrap_or(0)
            });
            let drop_level = root.drop.map_or(0, |d| d.1);
            if let Some(tx) = &self.ahead {
                let new: Vec<u64> = ptrs.iter().skip(from).map(|p| p.blockptr.get()).filter(|b| !self.visited.contains_key(b)).collect();
                if !new.is_empty() {
                    // The read-ahead thread may have quit; reading ahead is only a hint.
                    let _ = tx.send(new);
                }
            }
            for (slot, p) in ptrs.iter().enumerate().skip(from) {
                // Below drop_level the subtree at the resume slot is whole; above it, the path
                // goes on down.
                let child_on_path = if slot == from && level > drop_level { on_drop_path } else { None };
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
                    child_on_path,
                    first_visit,
                ));
            }
            if first_visit && (root.tree == ROOT_TREE_OBJECTID || root.tree == TREE_LOG_OBJECTID) {
                for item in block.node.items().iter().skip(from) {
                    if item.key.type_ != ROOT_ITEM_KEY {
                        continue;
                    }
                    let Ok(data) = block.node.item_data(item) else { continue };
                    let r = crate::btrfs::items::root_item(data);
                    if root.tree == ROOT_TREE_OBJECTID {
                        root_items::check(self.cx.fs.sb.sb(), bytenr, &item.key, r.as_ref(), self.report);
                    }
                    if let Some(r) = r {
                        roots.push(tree_of_root_item(root.tree, &item.key, &r));
                    }
                }
            }
            self.emit(Event::Block(block, first_visit, from));
        }
        self.emit(Event::End(root.clone(), lost));
    }
}

/// `a <= b` in key order (objectid, type, offset).
fn key_le(a: &DiskKey, b: &DiskKey) -> bool {
    (a.objectid.get(), a.type_, a.offset.get()) <= (b.objectid.get(), b.type_, b.offset.get())
}

/// The tree a root item points to, with what is left of it when it is being dropped.
fn tree_of_root_item(in_tree: u64, key: &DiskKey, r: &RootItem) -> TreeRoot {
    let (bytenr, level, generation, refs) = (r.bytenr.get(), r.level, r.generation.get(), r.refs.get());
    let is_log = in_tree == TREE_LOG_OBJECTID;
    // A deleted subvolume (refs 0) whose drop has begun (drop_progress set) holds only what
    // lies right of drop_progress; one with refs is whole whatever drop_progress says, as
    // btrfs check reads it. Only subvolumes count references: log trees and the quota tree
    // (as kernel 6.18 writes it) have refs 0 by design. A relocation tree is dropped the same
    // way once balance has merged it (refs 0); while it merges (refs 1), drop_progress is how
    // far the merge got (merge_reloc_root) and the whole tree still holds its references.
    let id = key.objectid.get();
    let dropping = refs == 0 && !is_log && (is_subvolume(id) || id == TREE_RELOC_OBJECTID) && r.drop_progress.objectid.get() != 0;
    let drop = dropping.then_some((r.drop_progress, r.drop_level));
    let tree = if is_log { TREE_LOG_OBJECTID } else { key.objectid.get() };
    TreeRoot { tree, bytenr, level: Some(level), generation: Some(generation), key: Some(*key), drop }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_ranges_cover_what_the_ranges_cover() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for _ in 0..200 {
            let ranges: Vec<(u64, u64)> = (0..next(12)).map(|_| (next(100), next(100))).collect();
            let merged = merge_inclusive(&ranges);
            for id in 0..110 {
                let naive = ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&id));
                assert_eq!(covers(&merged, id), naive, "{ranges:?} {id}");
            }
        }
        assert!(covers(&merge_inclusive(&[(5, u64::MAX)]), u64::MAX));
        assert!(!covers(&merge_inclusive(&[(9, 3)]), 5));
    }
}
