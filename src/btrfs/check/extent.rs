//! Extent tree family: every tree block and every data extent is referenced exactly as its
//! extent item says.
//!
//! The walk gives us the references that exist: each node's pointers to its children, each
//! root (superblock field or root item) to its root block, each regular/prealloc file extent
//! to its data extent. The extent tree gives us what the extent items claim: `refs`, and the
//! inline and keyed backrefs. Like btrfs check's original mode, a reference found is typed by
//! the referencing block: a parent (or leaf) whose own extent item carries FULL_BACKREF makes a
//! SHARED_BLOCK_REF / SHARED_DATA_REF naming it; any other makes a TREE_BLOCK_REF /
//! EXTENT_DATA_REF naming its header owner. Each block contributes its references once, however
//! many snapshots share it.
//!
//! Log trees are left out on both sides: the kernel allocates log tree blocks without extent
//! items (`btrfs_alloc_tree_block` skips the delayed ref for TREE_LOG_OBJECTID), and file
//! extents in a log only get their references when the log is replayed.
//!
//! State is compact: fixed-size records in Vecs, sorted and merge-joined at `finish`.

use crate::le::{u32_at, u64_at};
use super::walker::{Cx, Family, TreeRoot};
use crate::btrfs::dump::key_record;
use crate::btrfs::fs::Block;
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::items::{BLOCK_FLAG_FULL_BACKREF, EXTENT_FLAG_DATA, EXTENT_FLAG_TREE_BLOCK, FILE_EXTENT_PREALLOC, FILE_EXTENT_REG};
use ondisk_layouts::btrfs::tree::{HEADER_FLAG_RELOC, MAX_LEVEL};
use ondisk_layouts::btrfs::*;

crate::declare_kinds! {
    EXTENT_REF_MISMATCH = "btrfs.extent_ref_mismatch", Error,
        "ref mismatch: an extent item's refs differ from the references found to the extent";
    EXTENT_ITEM_MISSING = "btrfs.extent_item_missing", Error,
        "a tree block or data extent is referenced but no extent item describes it";
    EXTENT_ITEM_UNREFERENCED = "btrfs.extent_item_unreferenced", Error,
        "an extent item describes a tree block or data extent that nothing references";
    BACKREF_MISSING = "btrfs.backref_missing", Error,
        "a reference found (pointer, root, file extent) has no matching backref in the extent item";
    BACKREF_UNREFERENCED = "btrfs.backref_unreferenced", Error,
        "a backref listed by an extent item is not referenced back by any block or file extent";
    BACKREF_COUNT_MISMATCH = "btrfs.backref_count_mismatch", Error,
        "a data backref's count differs from the number of file extents found for it";
    FILE_EXTENT_MISMATCH = "btrfs.file_extent_mismatch", Error,
        "a file extent's disk_bytenr/disk_num_bytes do not match the extent item it lands in";
    METADATA_LEVEL = "btrfs.metadata_level", Error,
        "bad backref level: a tree block's extent item level is above 7 or not the block's level";
    INLINE_REF_BAD = "btrfs.inline_ref_bad", Error,
        "corrupt extent record: an inline backref has an unknown type, a type wrong for the extent, or overruns the item";
    INLINE_REF_ORDER = "btrfs.inline_ref_order", Error,
        "inline extent refs out of order: not sorted by type, then by offset/hash descending as the kernel keeps them";
    EXTENT_GENERATION = "btrfs.extent_generation", Error,
        "invalid generation for extent: a tree block's or extent item's generation is newer than the superblock's (+1); a warning when a tree block's extent item names another generation than the block's (written once, never read by the kernel)";
    EXTENT_ITEM_BAD = "btrfs.extent_item_bad", Error,
        "an extent or backref item is malformed: too short, wrong flags for its key, wrong length for a tree block, unaligned, a keyed data ref whose key offset is not its hash";
    EXTENT_OVERLAP = "btrfs.extent_overlap", Error,
        "two extent items cover overlapping ranges";
    OWNER_REF_MISMATCH = "btrfs.owner_ref_mismatch", Error,
        "owner ref check failed: a tree block without FULL_BACKREF has no TREE_BLOCK_REF for its header owner";
    FULL_BACKREF_BAD = "btrfs.full_backref_bad", Error,
        "bad full backref: a tree block made by relocation (header flag RELOC) whose extent item lacks FULL_BACKREF; a warning for FULL_BACKREF on a block of a tree never shared (not a subvolume or relocation tree), where the kernel ignores it";
}

/// A reference, as a backref names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum RefKey {
    /// TREE_BLOCK_REF: the root (tree id) holding the block.
    Tree(u64),
    /// SHARED_BLOCK_REF: the parent block.
    SharedBlock(u64),
    /// EXTENT_DATA_REF: root, inode, file offset minus extent offset.
    Data { root: u64, objectid: u64, offset: u64 },
    /// SHARED_DATA_REF: the leaf holding the file extent.
    SharedData(u64),
}

impl RefKey {
    fn text(&self) -> String {
        match *self {
            RefKey::Tree(r) => format!("tree backref root {r}"),
            RefKey::SharedBlock(p) => format!("shared block backref parent {p}"),
            RefKey::Data { root, objectid, offset } => format!("data backref root {root} owner {objectid} offset {offset}"),
            RefKey::SharedData(p) => format!("shared data backref parent {p}"),
        }
    }
}

/// A backref an extent item lists (inline or keyed).
#[derive(Debug, Clone, Copy)]
struct Backref {
    bytenr: u64,
    key: RefKey,
    count: u64,
}

/// An extent item (EXTENT_ITEM or METADATA_ITEM).
#[derive(Debug, Clone, Copy)]
struct ExtItem {
    bytenr: u64,
    /// Bytes covered: the key offset for EXTENT_ITEM, nodesize for METADATA_ITEM.
    len: u64,
    refs: u64,
    /// The transaction that allocated the extent.
    generation: u64,
    flags: u64,
    /// The tree block level the item claims (METADATA_ITEM offset, or tree block info).
    level: Option<u64>,
    key: DiskKey,
    /// The extent tree leaf holding it, for locations.
    leaf: u64,
}

/// A reference found by the walk, not yet typed (that needs the referrer's extent flags).
#[derive(Debug, Clone, Copy)]
struct Found {
    /// The extent referenced.
    bytenr: u64,
    /// The referring block (0 for a root pointer from the superblock or a root item).
    from: u64,
    /// The referring block's header owner, or the tree id for a root pointer.
    owner: u64,
    /// For data: the inode and file offset minus extent offset; `u64::MAX` objectid for blocks.
    objectid: u64,
    /// For data: the file offset minus extent offset. For a tree block: the generation its
    /// pointer says (a root item's or the superblock's for a root block; 0 when none does).
    offset: u64,
    /// For data: disk_num_bytes of the file extent (checked against the extent item).
    len: u64,
    /// Set at `finish`: the referrer's extent item has FULL_BACKREF, so the backref names it.
    shared: bool,
}

impl Found {
    fn is_data(&self) -> bool {
        self.objectid != u64::MAX
    }

    /// The backref this reference needs (valid once `shared` is set).
    fn key(&self) -> RefKey {
        match (self.is_data(), self.shared) {
            (false, true) => RefKey::SharedBlock(self.from),
            (false, false) => RefKey::Tree(self.owner),
            (true, true) => RefKey::SharedData(self.from),
            (true, false) => RefKey::Data { root: self.owner, objectid: self.objectid, offset: self.offset },
        }
    }
}

/// A tree block the walk read.
#[derive(Debug, Clone, Copy)]
struct BlockRec {
    bytenr: u64,
    owner: u64,
    level: u8,
    /// Its header generation.
    generation: u64,
    tree: u64,
    /// Made by relocation (header flag RELOC): its extent item must carry FULL_BACKREF.
    reloc: bool,
}

/// The extent tree family's state.
#[derive(Default)]
pub struct ExtentTree {
    items: Vec<ExtItem>,
    backrefs: Vec<Backref>,
    found: Vec<Found>,
    blocks: Vec<BlockRec>,
    /// Extents with pre-2.6.31 EXTENT_REF_V0 backrefs, which name neither root nor parent in a
    /// way we can match: their refs are not compared.
    v0: Vec<u64>,
    /// Findings about items, made while reading them (pushed at `finish`).
    early: Vec<Finding>,
}

impl ExtentTree {
    pub fn new() -> Self {
        Self::default()
    }
}

/// `hash_extent_data_ref`: the keyed EXTENT_DATA_REF offset and the inline ordering value.
/// The kernel's crc32c here is the raw one (seed ~0, no final inversion).
pub(crate) fn hash_extent_data_ref(root: u64, objectid: u64, offset: u64) -> u64 {
    let high = !crc32c::crc32c(&root.to_le_bytes());
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&objectid.to_le_bytes());
    b[8..].copy_from_slice(&offset.to_le_bytes());
    let low = !crc32c::crc32c(&b);
    (u64::from(high) << 31) ^ u64::from(low)
}

impl ExtentTree {
    fn item_finding(&self, kind: &'static crate::findings::Kind, leaf: u64, key: &DiskKey, msg: String) -> Finding {
        Finding::new(kind, msg).at("logical", key.objectid.get()).at("tree", EXTENT_TREE_OBJECTID).at("key", key_record(key)).ctx("leaf", leaf)
    }

    /// EXTENT_ITEM / METADATA_ITEM: the fixed part, then the inline refs.
    fn extent_item(&mut self, cx: &Cx, leaf: u64, key: &DiskKey, data: &[u8]) {
        let bytenr = key.objectid.get();
        let metadata = key.type_ == METADATA_ITEM_KEY;
        let (Some(refs), Some(gen), Some(flags)) = (u64_at(data, 0), u64_at(data, 8), u64_at(data, 16)) else {
            let f = self.item_finding(&EXTENT_ITEM_BAD, leaf, key, format!("extent item {bytenr} is {} bytes, shorter than btrfs_extent_item", data.len()));
            self.early.push(f);
            return;
        };
        // btrfs check allows one past the superblock's generation (a log tree's transaction).
        let sb_gen = cx.fs.sb.sb().generation.get().saturating_add(1);
        if gen > sb_gen {
            let f = self
                .item_finding(&EXTENT_GENERATION, leaf, key, format!("invalid generation for extent {bytenr}, have {gen} expect (0, {sb_gen}]"))
                .ctx("expected_max", sb_gen)
                .ctx("found", gen)
                .ctx("generation", gen);
            self.early.push(f);
        }
        let tree_block = flags & EXTENT_FLAG_TREE_BLOCK != 0;
        let is_data = flags & EXTENT_FLAG_DATA != 0;
        let nodesize = u64::from(cx.fs.nodesize);
        let mut bad = None;
        if tree_block == is_data {
            bad = Some(format!("extent item {bytenr} has flags {flags:#x}: exactly one of DATA and TREE_BLOCK must be set"));
        } else if metadata && !tree_block {
            bad = Some(format!("metadata item {bytenr} has flags {flags:#x} without TREE_BLOCK"));
        } else if tree_block && !metadata && key.offset.get() != nodesize {
            bad = Some(format!("tree block extent item {bytenr} has length {}, nodesize is {nodesize}", key.offset.get()));
        } else if !metadata && key.offset.get() == 0 {
            bad = Some(format!("extent item {bytenr} has length 0"));
        } else if bytenr % u64::from(cx.fs.sectorsize.max(1)) != 0 || (!metadata && key.offset.get() % u64::from(cx.fs.sectorsize.max(1)) != 0) {
            // Extents are allocated in whole sectors ("unaligned extent rec").
            bad = Some(format!("extent item [{bytenr} {}] is not aligned to the sector size {}", key.offset.get(), cx.fs.sectorsize));
        }
        if let Some(m) = bad {
            let f = self.item_finding(&EXTENT_ITEM_BAD, leaf, key, m).ctx("flags", flags);
            self.early.push(f);
        }
        let mut at = 24usize;
        let mut level = None;
        if metadata {
            let l = key.offset.get();
            level = Some(l);
            if l >= u64::from(MAX_LEVEL) {
                let f = self
                    .item_finding(&METADATA_LEVEL, leaf, key, format!("tree block {bytenr} has bad backref level, has {l} expect [0, {}]", MAX_LEVEL - 1))
                    .ctx("found", l);
                self.early.push(f);
            }
        } else if tree_block {
            // Non-skinny: a btrfs_tree_block_info (first key, level) precedes the inline refs.
            match data.get(24 + 17) {
                Some(&l) => {
                    level = Some(u64::from(l));
                    if l >= MAX_LEVEL {
                        let f = self
                            .item_finding(&METADATA_LEVEL, leaf, key, format!("tree block {bytenr} has bad backref level, has {l} expect [0, {}]", MAX_LEVEL - 1))
                            .ctx("found", l);
                        self.early.push(f);
                    }
                }
                None => {
                    let f = self.item_finding(&EXTENT_ITEM_BAD, leaf, key, format!("tree block extent item {bytenr} is too short for its tree block info"));
                    self.early.push(f);
                }
            }
            at = 24 + 18;
        }
        let len = if metadata { nodesize } else { key.offset.get() };
        self.items.push(ExtItem { bytenr, len, refs, generation: gen, flags, level, key: *key, leaf });
        // Inline refs: sorted by type, then (within a type) by offset/hash descending, the
        // order `lookup_inline_extent_backref` inserts them in.
        let mut last: Option<(u8, u64)> = None;
        while at < data.len() {
            let t = data[at];
            let size = match t {
                TREE_BLOCK_REF_KEY | SHARED_BLOCK_REF_KEY | EXTENT_OWNER_REF_KEY => 9,
                EXTENT_DATA_REF_KEY => 1 + 28,
                SHARED_DATA_REF_KEY => 9 + 4,
                _ => {
                    let f = self
                        .item_finding(&INLINE_REF_BAD, leaf, key, format!("corrupt extent record: key [{bytenr},{},{}]: inline backref type {t} at {at} is unknown", key.type_, key.offset.get()))
                        .ctx("found", t);
                    self.early.push(f);
                    return;
                }
            };
            let Some(body) = data.get(at + 1..at + size) else {
                let f = self.item_finding(&INLINE_REF_BAD, leaf, key, format!("corrupt extent record: key [{bytenr},{},{}]: inline backref at {at} runs past the item", key.type_, key.offset.get()));
                self.early.push(f);
                return;
            };
            let off = u64_at(body, 0).unwrap_or(0);
            let (rk, count, seq) = match t {
                TREE_BLOCK_REF_KEY => (Some(RefKey::Tree(off)), 1, off),
                SHARED_BLOCK_REF_KEY => (Some(RefKey::SharedBlock(off)), 1, off),
                EXTENT_OWNER_REF_KEY => (None, 0, off),
                EXTENT_DATA_REF_KEY => {
                    let (o, of) = (u64_at(body, 8).unwrap_or(0), u64_at(body, 16).unwrap_or(0));
                    let c = u32_at(body, 24).unwrap_or(0);
                    (Some(RefKey::Data { root: off, objectid: o, offset: of }), u64::from(c), hash_extent_data_ref(off, o, of))
                }
                _ => (Some(RefKey::SharedData(off)), u64::from(u32_at(body, 8).unwrap_or(0)), off),
            };
            let data_type = matches!(t, EXTENT_DATA_REF_KEY | SHARED_DATA_REF_KEY | EXTENT_OWNER_REF_KEY);
            if data_type != is_data && tree_block != is_data {
                let f = self
                    .item_finding(&INLINE_REF_BAD, leaf, key, format!("corrupt extent record: key [{bytenr},{},{}]: inline backref type {t} does not fit a {} extent", key.type_, key.offset.get(), if is_data { "data" } else { "tree block" }))
                    .ctx("found", t);
                self.early.push(f);
            }
            if let Some((lt, ls)) = last {
                if t < lt || (t == lt && seq > ls) {
                    let f = self
                        .item_finding(&INLINE_REF_ORDER, leaf, key, format!("inline extent refs out of order: key [{bytenr},{},{}]: type {t} seq {seq:#x} after type {lt} seq {ls:#x}", key.type_, key.offset.get()));
                    self.early.push(f);
                }
            }
            last = Some((t, seq));
            if let Some(rk) = rk {
                self.backrefs.push(Backref { bytenr, key: rk, count });
            }
            at += size;
        }
    }

    /// Keyed backrefs: TREE_BLOCK_REF, SHARED_BLOCK_REF, EXTENT_DATA_REF, SHARED_DATA_REF.
    fn keyed_backref(&mut self, leaf: u64, key: &DiskKey, data: &[u8]) {
        let bytenr = key.objectid.get();
        let off = key.offset.get();
        let (rk, count) = match key.type_ {
            TREE_BLOCK_REF_KEY => (RefKey::Tree(off), 1),
            SHARED_BLOCK_REF_KEY => (RefKey::SharedBlock(off), 1),
            SHARED_DATA_REF_KEY => match u32_at(data, 0) {
                Some(c) => (RefKey::SharedData(off), u64::from(c)),
                None => return self.short_ref(leaf, key),
            },
            _ => match (u64_at(data, 0), u64_at(data, 8), u64_at(data, 16), u32_at(data, 24)) {
                (Some(root), Some(objectid), Some(offset), Some(c)) => {
                    // The key offset is the hash of the ref: lookups by hash miss it otherwise.
                    let h = hash_extent_data_ref(root, objectid, offset);
                    if h != off {
                        let f = self
                            .item_finding(&EXTENT_ITEM_BAD, leaf, key, format!("extent data ref of {bytenr} has key offset {off:#x}, its hash is {h:#x}"))
                            .ctx("expected", h)
                            .ctx("found", off);
                        self.early.push(f);
                    }
                    (RefKey::Data { root, objectid, offset }, u64::from(c))
                }
                _ => return self.short_ref(leaf, key),
            },
        };
        self.backrefs.push(Backref { bytenr, key: rk, count });
    }

    fn short_ref(&mut self, leaf: u64, key: &DiskKey) {
        let f = self.item_finding(&EXTENT_ITEM_BAD, leaf, key, format!("backref item for {} is too short", key.objectid.get()));
        self.early.push(f);
    }
}

impl Family for ExtentTree {
    fn begin_tree(&mut self, _cx: &Cx, root: &TreeRoot) {
        if root.tree == TREE_LOG_OBJECTID {
            return;
        }
        // The superblock or a root item points at the root block: a TREE_BLOCK_REF for the tree.
        let gen = root.generation.unwrap_or(0);
        self.found.push(Found { bytenr: root.bytenr, from: 0, owner: root.tree, objectid: u64::MAX, offset: gen, len: 0, shared: false });
    }

    fn block(&mut self, cx: &Cx, root: &TreeRoot, b: &Block) {
        if root.tree == TREE_LOG_OBJECTID {
            return;
        }
        let h = b.node.header();
        let gen = h.generation.get();
        let sb_gen = cx.fs.sb.sb().generation.get().saturating_add(1);
        if gen > sb_gen {
            self.early.push(
                Finding::new(&EXTENT_GENERATION, format!("invalid generation for extent {}, have {gen} expect (0, {sb_gen}]", b.bytenr))
                    .at("logical", b.bytenr)
                    .at("tree", root.tree)
                    .at("level", h.level)
                    .ctx("expected_max", sb_gen)
                    .ctx("found", gen)
                    .ctx("generation", gen),
            );
        }
        // Only relocation trees COW blocks with the RELOC header flag, always with FULL_BACKREF
        // extent items, and merging swaps such blocks into subvolumes as they are; every other
        // COW clears the flag. btrfs check (`calc_extent_flag`) expects FULL_BACKREF of them.
        let reloc = h.flags.get() & HEADER_FLAG_RELOC != 0;
        self.blocks.push(BlockRec { bytenr: b.bytenr, owner: h.owner.get(), level: h.level, generation: gen, tree: root.tree, reloc });
    }

    fn ptr(&mut self, _cx: &Cx, root: &TreeRoot, parent: &Block, _slot: usize, p: &KeyPtr) {
        if root.tree == TREE_LOG_OBJECTID {
            return;
        }
        let owner = parent.node.header().owner.get();
        self.found.push(Found { bytenr: p.blockptr.get(), from: parent.bytenr, owner, objectid: u64::MAX, offset: p.generation.get(), len: 0, shared: false });
    }

    fn item(&mut self, cx: &Cx, root: &TreeRoot, b: &Block, _slot: usize, key: &DiskKey, data: &[u8], first_visit: bool) {
        if !first_visit || root.tree == TREE_LOG_OBJECTID {
            return;
        }
        match key.type_ {
            EXTENT_DATA_KEY => {
                // Regular and prealloc extents with a disk location reference a data extent.
                let t = data.get(20).copied();
                if t != Some(FILE_EXTENT_REG) && t != Some(FILE_EXTENT_PREALLOC) {
                    return;
                }
                let (Some(disk_bytenr), Some(disk_num_bytes), Some(ext_off)) = (u64_at(data, 21), u64_at(data, 29), u64_at(data, 37)) else {
                    return;
                };
                if disk_bytenr == 0 {
                    return;
                }
                self.found.push(Found {
                    bytenr: disk_bytenr,
                    from: b.bytenr,
                    owner: b.node.header().owner.get(),
                    objectid: key.objectid.get(),
                    offset: key.offset.get().wrapping_sub(ext_off),
                    len: disk_num_bytes,
                    shared: false,
                });
            }
            EXTENT_ITEM_KEY | METADATA_ITEM_KEY if root.tree == EXTENT_TREE_OBJECTID => self.extent_item(cx, b.bytenr, key, data),
            EXTENT_REF_V0_KEY if root.tree == EXTENT_TREE_OBJECTID => self.v0.push(key.objectid.get()),
            TREE_BLOCK_REF_KEY | SHARED_BLOCK_REF_KEY | EXTENT_DATA_REF_KEY | SHARED_DATA_REF_KEY if root.tree == EXTENT_TREE_OBJECTID => {
                self.keyed_backref(b.bytenr, key, data)
            }
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Cx, report: &mut Report) {
        for f in self.early.drain(..) {
            report.push(f);
        }
        let items = std::mem::take(&mut self.items);
        let mut items = items;
        items.sort_by_key(|i| (i.bytenr, i.key.type_, i.key.offset.get()));
        // Overlapping extent items (a METADATA_ITEM and an EXTENT_ITEM for the same block too).
        let mut end = 0u64;
        let mut prev: Option<&ExtItem> = None;
        for i in &items {
            if let Some(p) = prev {
                if i.bytenr < end {
                    report.push(
                        Finding::new(&EXTENT_OVERLAP, format!("extent item [{} {}] overlaps [{} {}]", i.bytenr, i.len, p.bytenr, p.len))
                            .at("logical", i.bytenr)
                            .at("tree", EXTENT_TREE_OBJECTID)
                            .at("key", key_record(&i.key))
                            .ctx("other", p.bytenr),
                    );
                }
            }
            let e = i.bytenr.saturating_add(i.len);
            if e > end || prev.is_none() {
                end = e;
                prev = Some(i);
            }
        }
        // The first extent item per bytenr decides (duplicates were reported as overlaps).
        let first_at = |bytenr: u64| {
            let n = items.partition_point(|x| x.bytenr < bytenr);
            items.get(n).filter(|x| x.bytenr == bytenr).map(|_| n)
        };
        let full_backref = |bytenr: u64| first_at(bytenr).is_some_and(|n| items[n].flags & BLOCK_FLAG_FULL_BACKREF != 0);

        // Type the references found, in place (they are the bulk of the state).
        self.v0.sort_unstable();
        let mut found = std::mem::take(&mut self.found);
        for f in found.iter_mut() {
            // A relocation tree's root block is allocated with FULL_BACKREF and a shared
            // backref naming itself (`btrfs_alloc_tree_block`: parent = the block for
            // TREE_RELOC_OBJECTID).
            if f.from == 0 && f.owner == TREE_RELOC_OBJECTID {
                f.from = f.bytenr;
                f.shared = true;
            } else {
                f.shared = f.from != 0 && full_backref(f.from);
            }
        }
        found.sort_unstable_by_key(|f| (f.bytenr, f.key()));
        let mut backrefs = std::mem::take(&mut self.backrefs);
        backrefs.sort_unstable_by_key(|b| (b.bytenr, b.key));
        let mut blocks = std::mem::take(&mut self.blocks);
        blocks.sort_unstable_by_key(|b| b.bytenr);
        let gen_limit = cx.fs.sb.sb().generation.get().saturating_add(1);

        // Referenced extents with no extent item at their start.
        let mut i = 0;
        while i < found.len() {
            let bytenr = found[i].bytenr;
            let mut j = i;
            while j < found.len() && found[j].bytenr == bytenr {
                j += 1;
            }
            if first_at(bytenr).is_none() {
                let f0 = &found[i];
                let is_data = f0.is_data();
                // Inside another extent item? Then the reference points into the middle of one.
                let inside = items.partition_point(|x| x.bytenr <= bytenr).checked_sub(1).map(|n| &items[n]).filter(|x| bytenr < x.bytenr.saturating_add(x.len));
                let what = if is_data { "data extent" } else { "tree block" };
                let mut f = match inside {
                    Some(x) if is_data => Finding::new(&FILE_EXTENT_MISMATCH, format!("file extent disk_bytenr {bytenr} points inside extent item [{} {}]", x.bytenr, x.len))
                        .ctx("extent", x.bytenr),
                    _ => Finding::new(&EXTENT_ITEM_MISSING, format!("{what} {bytenr} is referenced {} times but has no extent item", j - i)),
                };
                f = f.at("logical", bytenr).at("tree", f0.owner).ctx("referrer", f0.from).ctx("found", (j - i) as u64);
                if is_data {
                    f = f.at("inode", f0.objectid);
                }
                report.push(f);
            }
            i = j;
        }

        // Per extent item: refs vs found, backrefs vs found, level, owner. Items, references,
        // backrefs and blocks are all sorted by bytenr: one pass steps through the four together.
        let mut found_at = Runs::new(&found, |x| x.bytenr);
        let mut backrefs_at = Runs::new(&backrefs, |b| b.bytenr);
        let mut blocks_at = Runs::new(&blocks, |b| b.bytenr);
        for (n, it) in items.iter().enumerate() {
            let duplicate = n > 0 && items[n - 1].bytenr == it.bytenr;
            if duplicate || self.v0.binary_search(&it.bytenr).is_ok() {
                continue;
            }
            let fr = found_at.run(it.bytenr);
            let br = backrefs_at.run(it.bytenr);
            let found_total: u64 = fr.len() as u64;
            let loc = |f: Finding| f.at("logical", it.bytenr).at("tree", EXTENT_TREE_OBJECTID).at("key", key_record(&it.key)).ctx("leaf", it.leaf);
            if found_total == 0 {
                report.push(loc(Finding::new(&EXTENT_ITEM_UNREFERENCED, format!("extent item [{} {}] with refs {} is referenced by nothing", it.bytenr, it.len, it.refs))
                    .ctx("expected", it.refs)
                    .ctx("found", 0u64)));
                continue;
            }
            if it.refs != found_total {
                report.push(loc(Finding::new(&EXTENT_REF_MISMATCH, format!("ref mismatch on [{} {}] extent item {}, found {found_total}", it.bytenr, it.len, it.refs))
                    .ctx("expected", found_total)
                    .ctx("found", it.refs)));
            }
            // Merge-join the declared backrefs with the found ones.
            let (mut a, mut b) = (0usize, 0usize);
            while a < br.len() || b < fr.len() {
                let bk = br.get(a).map(|x| x.key);
                let fk = fr.get(b).map(|x| x.key());
                let take_found = match (bk, fk) {
                    (Some(x), Some(y)) => y < x,
                    (None, Some(_)) => true,
                    _ => false,
                };
                if take_found {
                    let k = fr[b].key();
                    let mut c = 0u64;
                    while b < fr.len() && fr[b].key() == k {
                        c += 1;
                        b += 1;
                    }
                    let f0 = &fr[b - 1];
                    report.push(loc(Finding::new(&BACKREF_MISSING, format!("{} for [{} {}] found {c} times is not in the extent tree", k.text(), it.bytenr, it.len))
                        .ctx("referrer", f0.from)
                        .ctx("found", c)));
                    continue;
                }
                let k = br[a].key;
                let mut declared = 0u64;
                while a < br.len() && br[a].key == k {
                    declared = declared.saturating_add(br[a].count);
                    a += 1;
                }
                let mut c = 0u64;
                while b < fr.len() && fr[b].key() == k {
                    c += 1;
                    b += 1;
                }
                if c == 0 {
                    report.push(loc(Finding::new(&BACKREF_UNREFERENCED, format!("{} of [{} {}] is not referenced back", k.text(), it.bytenr, it.len))
                        .ctx("expected", declared)
                        .ctx("found", 0u64)));
                } else if c != declared {
                    report.push(loc(Finding::new(&BACKREF_COUNT_MISMATCH, format!("{} of [{} {}] has count {declared}, found {c}", k.text(), it.bytenr, it.len))
                        .ctx("expected", c)
                        .ctx("found", declared)));
                }
            }
            // Data: every file extent must cover the whole extent item.
            if it.flags & EXTENT_FLAG_DATA != 0 {
                if let Some(x) = fr.iter().find(|f| f.is_data() && f.len != it.len) {
                    report.push(loc(Finding::new(&FILE_EXTENT_MISMATCH, format!("file extent of inode {} of root {} has disk_num_bytes {}, extent item [{} {}]", x.objectid, x.owner, x.len, it.bytenr, it.len))
                        .at("inode", x.objectid)
                        .ctx("expected", it.len)
                        .ctx("found", x.len)));
                }
                if let Some(x) = fr.iter().find(|f| !f.is_data()) {
                    report.push(loc(Finding::new(&FILE_EXTENT_MISMATCH, format!("data extent [{} {}] is pointed to as a tree block by {}", it.bytenr, it.len, x.from))
                        .ctx("referrer", x.from)));
                }
                continue;
            }
            // Tree blocks: the level the item claims, the owner it must list.
            if let Some(blk) = blocks_at.run(it.bytenr).first() {
                if let Some(l) = it.level {
                    if l < u64::from(MAX_LEVEL) && l != u64::from(blk.level) {
                        report.push(loc(Finding::new(&METADATA_LEVEL, format!("tree block {} has level {}, its extent item says {l}", it.bytenr, blk.level))
                            .ctx("expected", blk.level)
                            .ctx("found", l)));
                    }
                }
                if blk.reloc && it.flags & BLOCK_FLAG_FULL_BACKREF == 0 {
                    report.push(loc(Finding::new(&FULL_BACKREF_BAD, format!("bad full backref, on [{}]: the block has the RELOC header flag, its extent item no FULL_BACKREF", it.bytenr))
                        .ctx("walked_in", blk.tree)));
                }
                // FULL_BACKREF only means something in trees whose blocks can be shared
                // (subvolumes, relocation trees): the kernel neither sets nor reads it in the
                // others (btrfs_block_can_be_shared), btrfs check expects it clear there.
                if it.flags & BLOCK_FLAG_FULL_BACKREF != 0 && !shareable(blk.tree) {
                    report.push(loc(Finding::new(&FULL_BACKREF_BAD, format!("bad full backref, on [{}]: FULL_BACKREF on a block of tree {}, whose blocks are never shared", it.bytenr, blk.tree))
                        .severity(Severity::Warning)
                        .ctx("walked_in", blk.tree)));
                }
                // The kernel writes the transaction that allocates a tree block into its extent
                // item, the same one as the block's header, and never reads it back; btrfs check
                // takes it for a root block's generation when it looks for tree roots. Compared
                // with the pointers' generation too, so that a damaged header or pointer is not
                // reported here again, nor a generation too new (an error of its own above).
                let g = it.generation;
                let tree_item = it.flags & EXTENT_FLAG_TREE_BLOCK != 0;
                if tree_item && g != blk.generation && g <= gen_limit && !fr.iter().any(|f| !f.is_data() && f.offset == g) {
                    report.push(loc(Finding::new(&EXTENT_GENERATION, format!("tree block {} has generation {}, its extent item says {g}", it.bytenr, blk.generation))
                        .severity(Severity::Warning)
                        .ctx("expected", blk.generation)
                        .ctx("found", g)));
                }
                let owner_listed = br.iter().any(|b| matches!(b.key, RefKey::Tree(r) if r == blk.owner));
                let any_shared = br.iter().any(|b| matches!(b.key, RefKey::SharedBlock(_)));
                if it.flags & BLOCK_FLAG_FULL_BACKREF == 0 && !owner_listed && !any_shared && !br.is_empty() {
                    report.push(loc(Finding::new(&OWNER_REF_MISMATCH, format!("owner ref check failed [{} {}]: owner {} has no tree backref", it.bytenr, it.len, blk.owner))
                        .ctx("owner", blk.owner)
                        .ctx("walked_in", blk.tree)));
                }
            }
            if fr.iter().any(|f| f.is_data()) {
                report.push(loc(Finding::new(&FILE_EXTENT_MISMATCH, format!("tree block [{} {}] is pointed to by a file extent", it.bytenr, it.len))));
            }
        }
    }
}

/// Trees whose blocks can be shared, where FULL_BACKREF has a meaning: subvolumes (FS_TREE and
/// ids from 256) and relocation trees; not the data relocation tree (`BTRFS_ROOT_SHAREABLE`).
fn shareable(tree: u64) -> bool {
    tree == FS_TREE_OBJECTID || (FIRST_FREE_OBJECTID..=LAST_FREE_OBJECTID).contains(&tree) || tree == TREE_RELOC_OBJECTID
}

/// Steps through a slice sorted by a `u64` key, asked for keys in ascending order: each run
/// of equal keys is found by moving forward, not by a search from scratch, so a pass over
/// every extent item costs one pass over each list.
struct Runs<'v, T, K: Fn(&T) -> u64> {
    v: &'v [T],
    at: usize,
    key: K,
}

impl<'v, T, K: Fn(&T) -> u64> Runs<'v, T, K> {
    fn new(v: &'v [T], key: K) -> Self {
        Runs { v, at: 0, key }
    }

    /// The elements whose key is `k` (empty if none); `k` must not be below the last one asked.
    fn run(&mut self, k: u64) -> &'v [T] {
        while self.v.get(self.at).is_some_and(|x| (self.key)(x) < k) {
            self.at += 1;
        }
        let len = self.v[self.at..].iter().take_while(|x| (self.key)(x) == k).count();
        &self.v[self.at..self.at + len]
    }
}
