//! Quota groups family (btrfs check's "checking quota groups"): when the quota tree exists, the
//! referenced and exclusive byte counts of every qgroup are computed from the walk and compared
//! with its QGROUP_INFO item, and the quota tree's own items are checked for agreement.
//!
//! Traditional qgroups (btrfs-progs `check/qgroup-verify.c`, the kernel's rescan): an extent —
//! a data extent (its disk_num_bytes) or a tree block (nodesize) — counts in `rfer` of every
//! subvolume that reaches it, through a file extent item in a leaf the subvolume reaches (shared
//! leaves included) or, for a tree block, by being reachable from the subvolume's root; and in
//! `excl` of a subvolume only when no other subvolume reaches it. A higher-level qgroup counts
//! an extent in `rfer` when any of the subvolumes reaching it is below it, in `excl` when all
//! are. Only subvolume trees count (`is_fstree`: FS_TREE and ids from 256 with level 0, not the
//! data reloc tree). The kernel keeps `rfer_cmpr`/`excl_cmpr` equal to `rfer`/`excl`.
//!
//! Reachability is collected without a second pass, per tree block: a leaf's file extents are
//! noted once, at its first visit, and each subvolume that reaches the leaf (a snapshot reaches
//! it again) adds itself to the leaf alone. A data extent is reached by the subvolumes that reach
//! the leaves naming it, settled at `finish` once per distinct set of subvolumes: 200 snapshots
//! sharing 30,000 extents are 200 marks on each shared block, not 6 million on the extents.
//! The walker walks one tree at a time, so a subvolume already recorded for a block is always
//! the one most recently added, and the common case (one subvolume per block) needs no
//! allocation beyond the map entry.
//!
//! Simple quotas (SIMPLE_MODE, incompat SIMPLE_QUOTA; the kernel's `btrfs_record_squota_delta`):
//! an extent is charged once, to its owner — the EXTENT_OWNER_REF inline ref of a data extent,
//! the header owner of a tree block — and only when its generation is at least the status
//! item's `enable_gen` (older extents were never charged); `rfer` and `excl` grow together, the
//! compressed fields are not maintained (so not compared), and the charge goes up to every
//! qgroup above the owner.
//!
//! Like btrfs check, count mismatches are expected while the status says INCONSISTENT or a
//! rescan is running: one info finding replaces them.

use super::key_value;
use super::walker::{revisit_items, Cx, Family, Revisit, TreeRoot};
use crate::btrfs::fs::{Block, Filesystem};
use crate::btrfs::items::{parse_extent, root_item, InlineRef};
use crate::findings::{Finding, Report, Severity};
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::items::{
    EXTENT_FLAG_DATA, FILE_EXTENT_PREALLOC, FILE_EXTENT_REG, QGROUP_LEVEL_SHIFT, QGROUP_STATUS_FLAG_INCONSISTENT, QGROUP_STATUS_FLAG_RESCAN,
    QGROUP_STATUS_FLAG_SIMPLE_MODE,
};
use ondisk_layouts::btrfs::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

crate::declare_kinds! {
    QGROUP_COUNT_MISMATCH = "btrfs.qgroup_count_mismatch", Error,
        "a qgroup's referenced or exclusive byte counts differ from what the trees hold (btrfs check: counts for qgroup id are different)";
    QGROUP_ORPHAN = "btrfs.qgroup_orphan", Warning,
        "a level-0 qgroup names a subvolume that does not exist: a stale qgroup, which the kernel keeps (btrfs qgroup clear-stale removes it)";
    QGROUP_MISSING = "btrfs.qgroup_missing", Warning,
        "a subvolume has no qgroup while quotas are on: the kernel accounts nothing to it and no limit can apply";
    QGROUP_RELATION_UNPAIRED = "btrfs.qgroup_relation_unpaired", Error,
        "a QGROUP_RELATION item has no mirror item in the other direction (both are always stored)";
    QGROUP_RELATION_DANGLING = "btrfs.qgroup_relation_dangling", Warning,
        "a QGROUP_RELATION names a qgroup that has no QGROUP_INFO: the kernel warns of an orphan qgroup relation and ignores it";
    QGROUP_LIMIT_WITHOUT_INFO = "btrfs.qgroup_limit_without_info", Error,
        "a QGROUP_LIMIT item has no QGROUP_INFO item: the kernel calls the qgroup config inconsistent";
    QGROUP_STATUS_BAD = "btrfs.qgroup_status_bad", Error,
        "the quota tree has no QGROUP_STATUS item, or one too short or of an unknown version";
    QGROUP_RESCAN_NEEDED = "btrfs.qgroup_rescan_needed", Info,
        "the quota status says INCONSISTENT or a rescan is running: count differences are expected and not reported";
    QGROUP_NOT_VERIFIED = "btrfs.qgroup_not_verified", Info,
        "qgroup counts were not compared: a subvolume is being deleted or could not be walked whole";
}

/// Steps the higher-level qgroup arithmetic may take (parent links followed; sets of subvolumes
/// times groups matched): real filesystems need thousands; a hostile quota tree of many
/// thousands of groups and relations would otherwise take hours.
const WORK_BUDGET: usize = 50_000_000;

/// `BTRFS_QGROUP_STATUS_VERSION`
const STATUS_VERSION: u64 = 1;

/// A qgroup id as btrfs-progs prints it: "level/subvolume".
pub fn qgroup_text(id: u64) -> String {
    format!("{}/{}", id >> QGROUP_LEVEL_SHIFT, id & ((1u64 << QGROUP_LEVEL_SHIFT) - 1))
}

/// `is_fstree`: the trees whose extents qgroups account (not the data reloc tree, whose id is
/// negative as a signed number, nor ids with a qgroup level).
pub fn is_fstree(id: u64) -> bool {
    id == FS_TREE_OBJECTID || (FIRST_FREE_OBJECTID..1u64 << QGROUP_LEVEL_SHIFT).contains(&id)
}

/// The four byte counts of a QGROUP_INFO item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub rfer: u64,
    pub rfer_cmpr: u64,
    pub excl: u64,
    pub excl_cmpr: u64,
}

impl Counts {
    fn record(&self) -> Value<'static> {
        let mut r = Record::with_capacity(4);
        r.push("rfer", self.rfer).push("rfer_cmpr", self.rfer_cmpr).push("excl", self.excl).push("excl_cmpr", self.excl_cmpr);
        Value::Record(r)
    }
}

/// The subvolumes reaching one block or extent: the first inline, more in `Qgroups::more` (a
/// chain, newest first).
struct Ext {
    num_bytes: u64,
    first: u64,
    /// 0: no more; else 1 + the index in `more` of the newest added subvolume.
    more: u32,
}

#[derive(Debug, Clone, Copy)]
struct Status {
    version: u64,
    flags: u64,
    enable_gen: Option<u64>,
}

/// Distinct sets of subvolumes, each with the bytes reached by exactly that set.
#[derive(Default)]
struct Sets {
    list: Vec<(Box<[u64]>, u64)>,
    index: HashMap<Box<[u64]>, usize>,
}

impl Sets {
    /// The id of a set of subvolumes (sorted and deduplicated here); `None` when it is empty: a
    /// block no counted subvolume reaches.
    fn intern(&mut self, roots: &mut Vec<u64>) -> Option<usize> {
        roots.sort_unstable();
        roots.dedup();
        if roots.is_empty() {
            return None;
        }
        if let Some(&id) = self.index.get(roots.as_slice()) {
            return Some(id);
        }
        let id = self.list.len();
        self.list.push((roots.as_slice().into(), 0));
        self.index.insert(roots.as_slice().into(), id);
        Some(id)
    }

    fn members(&self, id: usize) -> &[u64] {
        self.list.get(id).map_or(&[], |(set, _)| set)
    }

    fn add(&mut self, id: Option<usize>, bytes: u64) {
        if let Some((_, b)) = id.and_then(|id| self.list.get_mut(id)) {
            *b = b.saturating_add(bytes);
        }
    }
}

/// The quota groups family.
#[derive(Default)]
pub struct Qgroups {
    /// The root tree has a QUOTA_TREE root item: quotas are on and the family collects.
    on: bool,
    /// The superblock has the SIMPLE_QUOTA incompat bit: owners are collected, not reachability.
    simple: bool,
    /// The subvolume being walked, when its reachability is counted.
    current: Option<u64>,
    walked: HashSet<u64>,
    /// Subvolume ROOT_ITEMs: id → live (refs > 0, not being dropped).
    roots: BTreeMap<u64, bool>,
    /// Subvolumes reaching each tree block, and each data extent named by a leaf read again
    /// item by item (one in `partial`).
    reached: HashMap<u64, Ext>,
    more: Vec<(u64, u32)>,
    /// The file extents leaves name, noted at each leaf's first visit: (disk_bytenr, leaf,
    /// disk_num_bytes), in walk order.
    named: Vec<(u64, u64, u64)>,
    /// Leaves first visited in a tree being dropped, whose items left of drop_progress were not
    /// delivered: a subvolume reaching one reads its items again.
    partial: HashSet<u64>,
    /// Simple quotas: (owner, generation) → bytes.
    owned: BTreeMap<(u64, u64), u64>,
    quota_walked: bool,
    status: Vec<Result<Status, String>>,
    infos: BTreeMap<u64, Counts>,
    limits: BTreeSet<u64>,
    relations: BTreeSet<(u64, u64)>,
    /// The counts computed at `finish` (for every qgroup with an INFO item), when compared.
    computed: BTreeMap<u64, Counts>,
}

impl Qgroups {
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts computed for each qgroup with a QGROUP_INFO item, after the walk (empty when
    /// quotas are off or the counts could not be verified).
    pub fn computed(&self) -> &BTreeMap<u64, Counts> {
        &self.computed
    }

    /// Records that subvolume `root` reaches the block or extent at `bytenr`.
    fn reach_extent(&mut self, bytenr: u64, num_bytes: u64, root: u64) {
        match self.reached.get_mut(&bytenr) {
            None => {
                self.reached.insert(bytenr, Ext { num_bytes, first: root, more: 0 });
            }
            Some(e) => {
                let newest = match e.more.checked_sub(1).and_then(|i| self.more.get(i as usize)) {
                    Some(&(r, _)) => r,
                    None => e.first,
                };
                if newest == root {
                    return;
                }
                // More than u32::MAX (root, extent) pairs cannot be indexed: stop adding rather
                // than wrap (the counts then differ and are reported).
                let Ok(next) = u32::try_from(self.more.len() + 1) else { return };
                self.more.push((root, e.more));
                e.more = next;
            }
        }
    }

    fn quota_item(&mut self, key: &DiskKey, data: &[u8]) {
        let u = |o: usize| crate::le::u64_at(data, o);
        match key.type_ {
            QGROUP_STATUS_KEY => {
                let s = match (u(0), u(16)) {
                    (Some(version), Some(flags)) => Ok(Status { version, flags, enable_gen: u(32) }),
                    _ => Err(format!("QGROUP_STATUS item is {} bytes, shorter than btrfs_qgroup_status_item", data.len())),
                };
                self.status.push(s);
            }
            QGROUP_INFO_KEY => {
                let c = match (u(8), u(16), u(24), u(32)) {
                    (Some(rfer), Some(rfer_cmpr), Some(excl), Some(excl_cmpr)) => Counts { rfer, rfer_cmpr, excl, excl_cmpr },
                    // Too short to hold counts: compared as zero, so a mismatch says so.
                    _ => Counts::default(),
                };
                self.infos.insert(key.offset.get(), c);
            }
            QGROUP_LIMIT_KEY => {
                self.limits.insert(key.offset.get());
            }
            QGROUP_RELATION_KEY => {
                self.relations.insert((key.objectid.get(), key.offset.get()));
            }
            _ => {}
        }
    }

    /// Simple quotas: a data extent item charges its owner.
    fn extent_item(&mut self, key: &DiskKey, data: &[u8]) {
        let Ok(e) = parse_extent(key, data) else { return };
        let (Some(gen), Some(flags)) = (crate::le::u64_at(data, 8), crate::le::u64_at(data, 16)) else { return };
        if flags & EXTENT_FLAG_DATA == 0 {
            return;
        }
        let owner = e.inline_refs().map_while(Result::ok).find_map(|r| match r {
            InlineRef::Owner { root } => Some(root),
            _ => None,
        });
        if let Some(owner) = owner.filter(|&o| is_fstree(o)) {
            let b = self.owned.entry((owner, gen)).or_default();
            *b = b.saturating_add(key.offset.get());
        }
    }

    /// Level-0 qgroups below each higher-level qgroup, through member → parent relations
    /// between qgroups that have INFO items (what the kernel and btrfs check use).
    fn members(&self) -> Option<BTreeMap<u64, BTreeSet<u64>>> {
        let mut parents: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for &(member, parent) in &self.relations {
            if member < parent && self.infos.contains_key(&member) && self.infos.contains_key(&parent) {
                parents.entry(member).or_default().push(parent);
            }
        }
        let mut below: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let mut work = 0usize;
        for &id in self.infos.keys().filter(|&&id| id >> QGROUP_LEVEL_SHIFT == 0) {
            let mut seen = HashSet::new();
            let mut queue: VecDeque<u64> = parents.get(&id).into_iter().flatten().copied().collect();
            while let Some(g) = queue.pop_front() {
                work += 1;
                if work > WORK_BUDGET {
                    return None;
                }
                if seen.insert(g) {
                    below.entry(g).or_default().insert(id);
                    queue.extend(parents.get(&g).into_iter().flatten().copied());
                }
            }
        }
        Some(below)
    }

    /// The subvolumes in an entry's chain, newest first.
    fn chain(&self, e: &Ext, out: &mut Vec<u64>) {
        out.push(e.first);
        let mut at = e.more;
        while let Some(&(r, next)) = at.checked_sub(1).and_then(|i| self.more.get(i as usize)) {
            out.push(r);
            // Links always point to older entries: `next` < `at`, so this ends.
            if next >= at {
                break;
            }
            at = next;
        }
    }

    /// Every block and extent reached, summed per distinct set of subvolumes reaching it
    /// (sorted): snapshots make few distinct sets, so the arithmetic is paid per set. `None`
    /// past the work budget (hostile trees naming one extent from thousands of leaves).
    fn bytes_per_set(&self) -> Option<HashMap<Box<[u64]>, u64>> {
        let mut sets = Sets::default();
        let mut roots = Vec::new();
        // A leaf's set, once per leaf; the union of several leaves' sets, once per such group.
        let mut leaf_set: HashMap<u64, Option<usize>> = HashMap::new();
        let mut unions: HashMap<Vec<usize>, Option<usize>> = HashMap::new();
        let mut work = 0usize;
        let mut ids: Vec<Option<usize>> = Vec::new();
        // `named` is sorted by extent (see `count_traditional`).
        for group in self.named.chunk_by(|a, b| a.0 == b.0) {
            let (bytenr, _, num_bytes) = group[0];
            ids.clear();
            for &(_, leaf, _) in group {
                let id = *leaf_set.entry(leaf).or_insert_with(|| {
                    roots.clear();
                    if let Some(e) = self.reached.get(&leaf) {
                        self.chain(e, &mut roots);
                    }
                    sets.intern(&mut roots)
                });
                ids.push(id);
            }
            let direct = self.reached.get(&bytenr);
            if direct.is_none() && ids.iter().all(|&id| id == ids[0]) {
                // Named only by leaves the same subvolumes reach (most often, one leaf).
                sets.add(ids[0], num_bytes);
                continue;
            }
            let mut distinct: Vec<usize> = ids.iter().flatten().copied().collect();
            distinct.sort_unstable();
            distinct.dedup();
            if let (None, Some(&id)) = (direct, unions.get(&distinct)) {
                sets.add(id, num_bytes);
                continue;
            }
            roots.clear();
            for &id in &distinct {
                roots.extend_from_slice(sets.members(id));
            }
            if let Some(e) = direct {
                self.chain(e, &mut roots);
            }
            work = work.saturating_add(roots.len());
            if work > WORK_BUDGET {
                return None;
            }
            let id = sets.intern(&mut roots);
            if direct.is_none() {
                unions.insert(distinct, id);
            }
            sets.add(id, num_bytes);
        }
        // Tree blocks, and extents only a leaf read again named.
        for (bytenr, e) in &self.reached {
            if self.named.binary_search_by_key(bytenr, |&(b, _, _)| b).is_ok() {
                continue;
            }
            roots.clear();
            self.chain(e, &mut roots);
            let id = sets.intern(&mut roots);
            sets.add(id, e.num_bytes);
        }
        Some(sets.list.into_iter().filter(|(_, bytes)| *bytes > 0).collect())
    }

    /// Traditional accounting from the reachability collected during the walk.
    fn count_traditional(&mut self) -> Option<BTreeMap<u64, Counts>> {
        let below = self.members()?;
        // Stable: an extent's size is the first the walk met, as when it is named only once.
        self.named.sort_by_key(|&(bytenr, _, _)| bytenr);
        // Extents reached by one subvolume: that subvolume's exclusive bytes.
        let mut single: HashMap<u64, u64> = HashMap::new();
        let mut shared: HashMap<u64, u64> = HashMap::new();
        // Shared extents grouped by their set of subvolumes, so the higher-level qgroups are
        // matched once per set, not once per extent.
        let mut sets: HashMap<Box<[u64]>, u64> = HashMap::new();
        for (set, bytes) in self.bytes_per_set()? {
            if let [one] = *set {
                let s = single.entry(one).or_default();
                *s = s.saturating_add(bytes);
                continue;
            }
            for &r in set.iter() {
                let s = shared.entry(r).or_default();
                *s = s.saturating_add(bytes);
            }
            if !below.is_empty() {
                sets.insert(set, bytes);
            }
        }
        if sets.len().saturating_mul(below.len()) > WORK_BUDGET {
            return None;
        }
        let mut higher: BTreeMap<u64, Counts> = BTreeMap::new();
        for (set, &bytes) in &sets {
            for (g, members) in &below {
                let n = set.iter().filter(|r| members.contains(r)).count();
                if n > 0 {
                    let c = higher.entry(*g).or_default();
                    c.rfer = c.rfer.saturating_add(bytes);
                    if n == set.len() {
                        c.excl = c.excl.saturating_add(bytes);
                    }
                }
            }
        }
        let mut out = BTreeMap::new();
        for &id in self.infos.keys() {
            let (rfer, excl) = if id >> QGROUP_LEVEL_SHIFT == 0 {
                let s = single.get(&id).copied().unwrap_or(0);
                (s.saturating_add(shared.get(&id).copied().unwrap_or(0)), s)
            } else {
                let c = higher.get(&id).copied().unwrap_or_default();
                let s: u64 = below.get(&id).into_iter().flatten().map(|r| single.get(r).copied().unwrap_or(0)).fold(0, u64::saturating_add);
                (c.rfer.saturating_add(s), c.excl.saturating_add(s))
            };
            out.insert(id, Counts { rfer, rfer_cmpr: rfer, excl, excl_cmpr: excl });
        }
        Some(out)
    }

    /// Simple-quota accounting: owners' charges from `enable_gen` on, up the relations. The
    /// compressed fields are not maintained by the kernel: they are taken from the item.
    fn count_simple(&self, enable_gen: u64) -> Option<BTreeMap<u64, Counts>> {
        let mut owned: HashMap<u64, u64> = HashMap::new();
        for (&(owner, gen), &bytes) in &self.owned {
            if gen >= enable_gen {
                let b = owned.entry(owner).or_default();
                *b = b.saturating_add(bytes);
            }
        }
        let below = self.members()?;
        let mut out = BTreeMap::new();
        for (&id, disk) in &self.infos {
            let n = if id >> QGROUP_LEVEL_SHIFT == 0 {
                owned.get(&id).copied().unwrap_or(0)
            } else {
                below.get(&id).into_iter().flatten().map(|r| owned.get(r).copied().unwrap_or(0)).fold(0, u64::saturating_add)
            };
            out.insert(id, Counts { rfer: n, rfer_cmpr: disk.rfer_cmpr, excl: n, excl_cmpr: disk.excl_cmpr });
        }
        Some(out)
    }

    /// The quota tree's own items: status, limits, relations, qgroups vs subvolumes.
    fn check_items(&self, report: &mut Report) -> Option<Status> {
        let quota_finding = |kind, msg: String, type_: u8, objectid: u64, offset: u64| {
            Finding::new(kind, msg).at("tree", QUOTA_TREE_OBJECTID).at("key", key_value(objectid, type_, offset))
        };
        let status = match self.status.first() {
            None => {
                report.push(Finding::new(&QGROUP_STATUS_BAD, "quota tree has no QGROUP_STATUS item".to_string()).at("tree", QUOTA_TREE_OBJECTID));
                None
            }
            Some(Err(m)) => {
                report.push(quota_finding(&QGROUP_STATUS_BAD, m.clone(), QGROUP_STATUS_KEY, 0, 0));
                None
            }
            Some(Ok(s)) if s.version != STATUS_VERSION => {
                report.push(
                    quota_finding(&QGROUP_STATUS_BAD, format!("QGROUP_STATUS has version {}, only {STATUS_VERSION} is known (the kernel disables quotas)", s.version), QGROUP_STATUS_KEY, 0, 0)
                        .ctx("expected", STATUS_VERSION)
                        .ctx("found", s.version),
                );
                None
            }
            Some(Ok(s)) if s.flags & QGROUP_STATUS_FLAG_SIMPLE_MODE != 0 && s.enable_gen.is_none() => {
                report.push(quota_finding(&QGROUP_STATUS_BAD, "QGROUP_STATUS says SIMPLE_MODE but has no enable_gen".to_string(), QGROUP_STATUS_KEY, 0, 0).ctx("flags", s.flags));
                None
            }
            Some(Ok(s)) => Some(*s),
        };
        for &id in self.limits.difference(&self.infos.keys().copied().collect()) {
            report.push(
                quota_finding(&QGROUP_LIMIT_WITHOUT_INFO, format!("qgroup {} has a QGROUP_LIMIT item but no QGROUP_INFO item", qgroup_text(id)), QGROUP_LIMIT_KEY, 0, id)
                    .ctx("qgroup", qgroup_text(id)),
            );
        }
        for &(a, b) in &self.relations {
            let f = |kind, msg| quota_finding(kind, msg, QGROUP_RELATION_KEY, a, b).ctx("qgroup", qgroup_text(a)).ctx("other", qgroup_text(b));
            if !self.relations.contains(&(b, a)) {
                report.push(f(&QGROUP_RELATION_UNPAIRED, format!("QGROUP_RELATION {} -> {} has no mirror {} -> {}", qgroup_text(a), qgroup_text(b), qgroup_text(b), qgroup_text(a))));
            }
            for id in [a, b].into_iter().filter(|id| !self.infos.contains_key(id)) {
                report.push(f(&QGROUP_RELATION_DANGLING, format!("QGROUP_RELATION {} -> {} names qgroup {}, which has no QGROUP_INFO", qgroup_text(a), qgroup_text(b), qgroup_text(id))));
            }
        }
        let simple = status.is_some_and(|s| s.flags & QGROUP_STATUS_FLAG_SIMPLE_MODE != 0);
        for (&id, _) in self.infos.range(..1u64 << QGROUP_LEVEL_SHIFT) {
            if !self.roots.contains_key(&id) {
                // Simple quotas keep a deleted subvolume's qgroup while extents it owns live on.
                let sev = if simple { Severity::Info } else { Severity::Warning };
                report.push(
                    quota_finding(&QGROUP_ORPHAN, format!("qgroup {} has no subvolume", qgroup_text(id)), QGROUP_INFO_KEY, 0, id)
                        .ctx("qgroup", qgroup_text(id))
                        .severity(sev),
                );
            }
        }
        for (&id, &live) in &self.roots {
            if live && !self.infos.contains_key(&id) {
                report.push(
                    Finding::new(&QGROUP_MISSING, format!("subvolume {id} has no qgroup {} while quotas are on", qgroup_text(id)))
                        .at("tree", id)
                        .ctx("qgroup", qgroup_text(id)),
                );
            }
        }
        status
    }
}

impl Family for Qgroups {
    fn revisits(&self) -> Revisit {
        Revisit::Items
    }

    fn begin_tree(&mut self, cx: &Cx, root: &TreeRoot) {
        if root.tree == ROOT_TREE_OBJECTID {
            self.simple = cx.fs.sb.sb().incompat_flags.get() & FEATURE_INCOMPAT_SIMPLE_QUOTA != 0;
        }
        if root.tree == QUOTA_TREE_OBJECTID {
            self.quota_walked = true;
        }
        self.current = None;
        if root.drop.is_some() {
            // Being dropped: only part of it is walked, so it stays "not walked" for `finish`.
            return;
        }
        if self.on && !self.simple && is_fstree(root.tree) && self.walked.insert(root.tree) {
            self.current = Some(root.tree);
        } else if is_fstree(root.tree) {
            self.walked.insert(root.tree);
        }
    }

    fn revisit(&mut self, cx: &Cx, root: &TreeRoot, b: &Block, from: usize) {
        // `reach` marked the block for this subvolume, and the file extents of a leaf are
        // known from its first visit: only one first seen in part is read again.
        if self.current.is_some() && self.partial.contains(&b.bytenr) {
            revisit_items(self, cx, root, b, from);
        }
    }

    fn reach(&mut self, cx: &Cx, _root: &TreeRoot, b: &Block, _first_visit: bool) {
        if let Some(r) = self.current {
            self.reach_extent(b.bytenr, u64::from(cx.fs.nodesize), r);
        }
    }

    fn block(&mut self, cx: &Cx, root: &TreeRoot, b: &Block) {
        if self.on && !self.simple && root.drop.is_some() && b.node.level() == 0 {
            self.partial.insert(b.bytenr);
        }
        if self.on && self.simple {
            let h = b.node.header();
            let owner = h.owner.get();
            if is_fstree(owner) {
                let n = self.owned.entry((owner, h.generation.get())).or_default();
                *n = n.saturating_add(u64::from(cx.fs.nodesize));
            }
        }
    }

    fn item(&mut self, _cx: &Cx, root: &TreeRoot, b: &Block, _slot: usize, key: &DiskKey, data: &[u8], first_visit: bool) {
        if root.tree == ROOT_TREE_OBJECTID {
            if key.type_ == ROOT_ITEM_KEY && first_visit {
                let id = key.objectid.get();
                if id == QUOTA_TREE_OBJECTID {
                    self.on = true;
                } else if is_fstree(id) {
                    // A deleted subvolume (refs 0) or one being dropped: the kernel settles its
                    // qgroups only as the cleaner frees its extents, so counts are not verified.
                    let live = root_item(data).is_some_and(|r| r.refs.get() > 0 && r.drop_progress.objectid.get() == 0);
                    self.roots.insert(id, live);
                }
            }
            return;
        }
        if !self.on {
            return;
        }
        if key.type_ == EXTENT_DATA_KEY && !self.simple {
            let Some((disk_bytenr, disk_num_bytes)) = disk_extent(data) else { return };
            if first_visit {
                // Whatever tree this leaf is first met in, every subvolume reaching it reaches
                // the extent.
                self.named.push((disk_bytenr, b.bytenr, disk_num_bytes));
            } else if let Some(r) = self.current {
                // A leaf first seen in part, read again.
                self.reach_extent(disk_bytenr, disk_num_bytes, r);
            }
            return;
        }
        if self.current.is_some() {
            return;
        }
        match root.tree {
            QUOTA_TREE_OBJECTID if first_visit => self.quota_item(key, data),
            EXTENT_TREE_OBJECTID if self.simple && first_visit && key.type_ == EXTENT_ITEM_KEY => self.extent_item(key, data),
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Cx, report: &mut Report) {
        if !self.on || !self.quota_walked {
            return;
        }
        let status = self.check_items(report);
        let flags = status.map_or(0, |s| s.flags);
        if flags & QGROUP_STATUS_FLAG_SIMPLE_MODE != 0 && !self.simple {
            // Left by `quota enable --simple` on kernels before 6.13, which committed the status
            // before setting the bit: such a kernel mounts it in simple mode (one with assertions
            // stops on it), a kernel without simple quotas counts as full qgroups and goes wrong.
            report.push(
                Finding::new(&super::features::FEATURE_UNDECLARED, "the quota status is in SIMPLE_MODE, but the superblock lacks incompat SIMPLE_QUOTA".to_string())
                    .severity(Severity::Warning)
                    .at("tree", QUOTA_TREE_OBJECTID)
                    .ctx("feature", "incompat SIMPLE_QUOTA")
                    .ctx("flags", flags),
            );
        }
        if flags & (QGROUP_STATUS_FLAG_INCONSISTENT | QGROUP_STATUS_FLAG_RESCAN) != 0 {
            let why = if flags & QGROUP_STATUS_FLAG_RESCAN != 0 {
                "a qgroup rescan is running"
            } else {
                "the qgroup status is INCONSISTENT and no rescan has run"
            };
            report.push(
                Finding::new(&QGROUP_RESCAN_NEEDED, format!("qgroup rescan needed: {why}, a difference in qgroup counts is expected"))
                    .at("tree", QUOTA_TREE_OBJECTID)
                    .ctx("flags", flags),
            );
            return;
        }
        // Subvolumes not walked (being deleted, or their root unreadable) hold extents the
        // counts include: without them no comparison is fair.
        let unwalked: Vec<u64> = self.roots.keys().filter(|id| !self.walked.contains(id)).copied().collect();
        let walk_errors = cx.walk_had_errors();
        let simple_mode = flags & QGROUP_STATUS_FLAG_SIMPLE_MODE != 0;
        let reason = if !unwalked.is_empty() {
            Some(format!("subvolumes {unwalked:?} are being deleted or could not be walked"))
        } else if walk_errors {
            Some("tree blocks could not be read or checked".to_string())
        } else if simple_mode != self.simple {
            Some("the status item's SIMPLE_MODE and the superblock's SIMPLE_QUOTA bit disagree".to_string())
        } else if simple_mode && status.is_none() {
            Some("simple quotas without a usable status item (no enable_gen)".to_string())
        } else {
            None
        };
        let not_verified = |report: &mut Report, why: String| {
            report.push(Finding::new(&QGROUP_NOT_VERIFIED, format!("qgroup counts not verified: {why}")).at("tree", QUOTA_TREE_OBJECTID));
        };
        if let Some(r) = reason {
            return not_verified(report, r);
        }
        let computed = match status.and_then(|s| s.enable_gen.filter(|_| simple_mode)) {
            Some(gen) => self.count_simple(gen),
            None => self.count_traditional(),
        };
        let Some(computed) = computed else {
            let n = self.infos.len();
            return not_verified(report, format!("{n} qgroups and their relations are more than a check should count through"));
        };
        for (&id, found) in &self.infos {
            let Some(expected) = computed.get(&id) else { continue };
            if expected != found {
                report.push(
                    Finding::new(&QGROUP_COUNT_MISMATCH, format!(
                        "counts for qgroup id {} are different: referenced {} (item {}), exclusive {} (item {})",
                        qgroup_text(id),
                        expected.rfer,
                        found.rfer,
                        expected.excl,
                        found.excl
                    ))
                    .at("tree", QUOTA_TREE_OBJECTID)
                    .at("key", key_value(0, QGROUP_INFO_KEY, id))
                    .ctx("qgroup", qgroup_text(id))
                    .ctx("expected", expected.record())
                    .ctx("found", found.record()),
                );
            }
        }
        self.computed = computed;
        self.reached = HashMap::new();
        self.more = Vec::new();
        self.named = Vec::new();
    }
}

/// The extent a regular or preallocated file extent item points to: (disk_bytenr,
/// disk_num_bytes); `None` for inline extents, holes and items too short.
fn disk_extent(data: &[u8]) -> Option<(u64, u64)> {
    let t = data.get(20).copied();
    if t != Some(FILE_EXTENT_REG) && t != Some(FILE_EXTENT_PREALLOC) {
        return None;
    }
    let (disk_bytenr, disk_num_bytes) = (crate::le::u64_at(data, 21)?, crate::le::u64_at(data, 29)?);
    (disk_bytenr != 0).then_some((disk_bytenr, disk_num_bytes))
}

/// Runs only this family over a filesystem and returns its computed counts (for tests and
/// comparisons with `btrfs check --qgroup-report`).
pub fn computed_counts(fs: &Filesystem) -> (BTreeMap<u64, Counts>, Report) {
    let mut q = Qgroups::new();
    let mut report = Report::new();
    super::walker::walk_with_read_ahead(fs, false, vec![vec![&mut q]], &mut report);
    (q.computed, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_counts_follow_the_subvolumes_reaching_each_extent() {
        let mut q = Qgroups::new();
        let g = (1u64 << QGROUP_LEVEL_SHIFT) | 100;
        for id in [5, 256, 257, g] {
            q.infos.insert(id, Counts::default());
        }
        q.relations.extend([(256, g), (g, 256), (257, g), (g, 257)]);
        // Trees walked one after another, each reaching some extents, some more than once.
        for (root, extents) in [(5u64, &[1u64, 2, 2][..]), (256, &[2, 3, 3, 4]), (257, &[4, 5])] {
            for &e in extents {
                q.reach_extent(e * 4096, 4096 * e, root);
            }
        }
        let c = q.count_traditional().expect("within the work budget");
        let rf = |id: u64| (c[&id].rfer, c[&id].excl);
        // 1: {5}; 2: {5,256}; 3: {256}; 4: {256,257}; 5: {257} (sizes 4096 × n).
        assert_eq!(rf(5), (4096 * 3, 4096));
        assert_eq!(rf(256), (4096 * 9, 4096 * 3));
        assert_eq!(rf(257), (4096 * 9, 4096 * 5));
        // The group holds 256 and 257: extents 2..=5 referenced, 3..=5 exclusive.
        assert_eq!(rf(g), (4096 * 14, 4096 * 12));
        assert_eq!(c[&g].rfer_cmpr, c[&g].rfer);
    }

    #[test]
    fn a_leaf_s_extents_are_reached_by_the_subvolumes_reaching_the_leaf() {
        let mut q = Qgroups::new();
        for id in [5, 256, 257] {
            q.infos.insert(id, Counts::default());
        }
        let (l1, l2, l3) = (1 << 20, 2 << 20, 3 << 20);
        // l1 holds extent A and B, l2 holds B (a reflink) and C twice, l3 holds D.
        q.named.extend([(0xa000, l1, 4096), (0xb000, l1, 8192), (0xb000, l2, 8192), (0xc000, l2, 4096), (0xc000, l2, 4096), (0xd000, l3, 4096)]);
        // 5 reaches l1 and l3; the snapshot 256 reaches l1 again; 257 reaches l2. l3 is shared
        // by 5 and 256 through a node, so both mark it too.
        for (root, blocks) in [(5u64, &[l1, l3][..]), (256, &[l1, l3]), (257, &[l2])] {
            for &b in blocks {
                q.reach_extent(b, 16384, root);
            }
        }
        // Extent E was in a leaf first seen in part (a tree being dropped) and read again by 257.
        q.reach_extent(0xe000, 4096, 257);
        let c = q.count_traditional().expect("within the work budget");
        let rf = |id: u64| (c[&id].rfer, c[&id].excl);
        // A {5,256} 4096; B {5,256,257} 8192; C {257} 4096; D {5,256} 4096; E {257} 4096;
        // blocks l1 {5,256}, l2 {257}, l3 {5,256}.
        assert_eq!(rf(5), (4096 + 8192 + 4096 + 2 * 16384, 0));
        assert_eq!(rf(256), rf(5));
        assert_eq!(rf(257), (8192 + 4096 + 4096 + 16384, 4096 + 4096 + 16384));
    }

    #[test]
    fn qgroup_ids_print_as_level_slash_subvolume() {
        assert_eq!(qgroup_text(257), "0/257");
        assert_eq!(qgroup_text((1 << QGROUP_LEVEL_SHIFT) | 100), "1/100");
        assert!(is_fstree(5) && is_fstree(256) && !is_fstree(DATA_RELOC_TREE_OBJECTID) && !is_fstree(1 << QGROUP_LEVEL_SHIFT));
    }
}
