//! Free space: the free space tree (and a v1 space cache) against what the extent tree leaves
//! free in each block group.
//!
//! What is free in a block group: its range minus every extent item (EXTENT_ITEM: key offset
//! bytes; METADATA_ITEM: nodesize) minus the superblock mirror stripes that fall inside it, which
//! the kernel never hands out (`exclude_super_stripes`: the 64KiB stripe holding each mirror,
//! the full stripe for RAID5/6). Those stripes are treated as "either way": neither their
//! absence from the free space tree nor their presence is a finding — the kernel records a new
//! block group's whole range as free in the tree and drops the stripes only when it loads the
//! tree into memory, while mkfs leaves them out; both are correct.
//!
//! The free space tree: one FREE_SPACE_INFO per block group (extent_count, flags with
//! USING_BITMAPS), then FREE_SPACE_EXTENT items (key = free range) or FREE_SPACE_BITMAP items
//! (key = range covered, one bit per sector, LSB first). Checked: a block group without info;
//! info without block group; items outside their info's range or of the kind the flags do not
//! say; overlapping items; extent_count against the extents present (bitmap runs merged across
//! items); free ranges that are allocated; allocatable ranges missing.
//!
//! An info with no block group ("Space key ... has no corresponding block group", btrfs-progs
//! 6.19) is a warning, not an error: mkfs.btrfs up to 6.x left the free space tree entries of
//! its temporary bootstrap chunks (1MiB+4MiB, 5MiB+8MiB) behind when it removed them; the
//! kernel looks free space up by block group only, and new chunks are allocated past the
//! highest chunk end, so those entries are never read. 6.2 calls such images clean, 6.19 prints
//! the line; nothing in them can hand out allocated space.
//!
//! The v1 space cache (FREE_SPACE_OBJECTID items in the root tree naming cache inodes): the
//! kernel trusts a cache only when the superblock's cache_generation is the filesystem
//! generation, the header's generation is the inode's, and the page checksums and the page-0
//! generation match; otherwise it discards the cache (an info finding here, no harm done). A
//! cache must also hold as many free bytes as the block group item leaves (length - used -
//! superblock stripes), or the kernel drops it as "wrong amount of free space" (info too; a
//! warning when it holds more, which btrfs check calls an error). A
//! cache it would trust must list exactly the free ranges: a cached free range that is
//! allocated or allocatable space missing from it is an error (the kernel would hand out used
//! space, or never use free space).

use super::ranges::{self, Range};
use super::walker::{Cx, Family, TreeRoot};
use crate::btrfs::dump::key_record;
use crate::btrfs::fs::{Block, Filesystem};
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::items::{BlockGroupItem, FileExtentItem, FreeSpaceHeader, FreeSpaceInfo, InodeItem};
use ondisk_layouts::btrfs::*;
use std::collections::HashMap;
use zerocopy::FromBytes;
use crate::le::{u32_at, u64_at};

crate::declare_kinds! {
    FREE_SPACE_INFO_MISSING = "btrfs.free_space_info_missing", Error,
        "a block group has no FREE_SPACE_INFO in the free space tree";
    FREE_SPACE_ORPHAN = "btrfs.free_space_orphan", Info,
        "free space tree entries for a range that is no block group (Space key ... has no corresponding block group): mkfs leaves them, the kernel never reads them";
    FREE_SPACE_OUTSIDE = "btrfs.free_space_outside", Error,
        "a free space extent or bitmap lies outside the block group its FREE_SPACE_INFO describes";
    FREE_SPACE_OVERLAP = "btrfs.free_space_overlap", Error,
        "free space extents or bitmaps overlap";
    FREE_SPACE_FLAGS = "btrfs.free_space_flags", Error,
        "a block group's free space items are not the kind its info's USING_BITMAPS flag says, or an item is malformed";
    FREE_SPACE_EXTENT_COUNT = "btrfs.free_space_extent_count", Error,
        "FREE_SPACE_INFO extent_count differs from the free extents present (incorrect extent count)";
    FREE_SPACE_ALLOCATED = "btrfs.free_space_allocated", Error,
        "a range recorded as free (free space tree or a trusted v1 cache) is allocated in the extent tree";
    FREE_SPACE_MISSING = "btrfs.free_space_missing", Error,
        "a range the extent tree leaves free is not recorded as free (there is no free space entry)";
    SPACE_CACHE_INVALID = "btrfs.space_cache_invalid", Info,
        "a v1 space cache the kernel will discard (generation mismatch, bad page crc, wrong amount of free space, unreadable): rebuilt on mount";
    SPACE_CACHE_BAD = "btrfs.space_cache_bad", Error,
        "a v1 space cache header or entry is malformed (no such block group, entry outside it, overlapping entries; a warning for what the kernel never reads: a header of no block group, a bitmap count above the bitmaps present)";
}

/// What is wrong in a v1 cache the kernel would still use, each with its severity.
type CacheProblems = Vec<(String, Severity)>;

/// `BTRFS_FREE_SPACE_USING_BITMAPS`.
const USING_BITMAPS: u32 = 1 << 0;
/// v1 cache entry types (`BTRFS_FREE_SPACE_EXTENT` / `_BITMAP`).
const CACHE_EXTENT: u8 = 1;
const CACHE_BITMAP: u8 = 2;
/// v1 cache page size (PAGE_SIZE of the writing kernel; 4KiB on the platforms we read).
const PAGE: usize = 4096;
/// Bound on cache pages read per block group (a 1GiB data block group's cache is a few pages).
const MAX_CACHE_PAGES: u64 = 1 << 16;

/// One FREE_SPACE_INFO.
struct Info {
    start: u64,
    len: u64,
    extent_count: u32,
    flags: u32,
    leaf: u64,
}

/// A v1 cache header: the block group, the cache inode, its claims.
struct CacheHeader {
    bg: u64,
    ino: u64,
    generation: u64,
    num_entries: u64,
    num_bitmaps: u64,
}

/// A file extent of a cache inode: file offset, logical start of the data, length.
struct CacheExtent {
    ino: u64,
    file_off: u64,
    logical: u64,
    len: u64,
}

/// The free space family.
#[derive(Default)]
pub struct FreeSpace {
    /// Block groups: (start, end).
    bgs: Vec<Range>,
    /// Block group `used`, by start (what the kernel checks a v1 cache's total against).
    bg_used: HashMap<u64, u64>,
    /// Allocated ranges: extent items.
    allocated: Vec<Range>,
    infos: Vec<Info>,
    /// FREE_SPACE_EXTENT items: the range.
    extents: Vec<Range>,
    /// FREE_SPACE_BITMAP items: the range the key covers.
    bitmap_items: Vec<Range>,
    /// Runs of set bits of the bitmaps.
    bitmap_runs: Vec<Range>,
    /// Malformed free space items: (leaf, key).
    bad_items: Vec<(u64, DiskKey)>,
    cache_headers: Vec<CacheHeader>,
    /// Root tree inodes: generation, size.
    cache_inodes: HashMap<u64, (u64, u64)>,
    cache_extents: Vec<CacheExtent>,
}

impl FreeSpace {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Family for FreeSpace {
    fn item(&mut self, cx: &Cx, root: &TreeRoot, b: &Block, _slot: usize, key: &DiskKey, data: &[u8], _first_visit: bool) {
        let (s, off) = (key.objectid.get(), key.offset.get());
        let end = s.saturating_add(off);
        match (root.tree, key.type_) {
            (EXTENT_TREE_OBJECTID | BLOCK_GROUP_TREE_OBJECTID, BLOCK_GROUP_ITEM_KEY) => {
                if let Ok((bg, _)) = BlockGroupItem::ref_from_prefix(data) {
                    self.bgs.push((s, end));
                    self.bg_used.insert(s, bg.used.get());
                }
            }
            (EXTENT_TREE_OBJECTID, EXTENT_ITEM_KEY) => self.allocated.push((s, end)),
            (EXTENT_TREE_OBJECTID, METADATA_ITEM_KEY) => self.allocated.push((s, s.saturating_add(u64::from(cx.fs.nodesize)))),
            (FREE_SPACE_TREE_OBJECTID, FREE_SPACE_INFO_KEY) => match FreeSpaceInfo::ref_from_prefix(data) {
                Ok((i, _)) => self.infos.push(Info { start: s, len: off, extent_count: i.extent_count.get(), flags: i.flags.get(), leaf: b.bytenr }),
                Err(_) => self.bad_items.push((b.bytenr, *key)),
            },
            (FREE_SPACE_TREE_OBJECTID, FREE_SPACE_EXTENT_KEY) => self.extents.push((s, end)),
            (FREE_SPACE_TREE_OBJECTID, FREE_SPACE_BITMAP_KEY) => {
                let ss = u64::from(cx.fs.sectorsize.max(1));
                let bits = off / ss;
                if off % ss != 0 || (data.len() as u64) < bits.div_ceil(8) {
                    self.bad_items.push((b.bytenr, *key));
                    return;
                }
                self.bitmap_items.push((s, end));
                bitmap_runs(data, s, ss, bits, &mut self.bitmap_runs);
            }
            (ROOT_TREE_OBJECTID, _) => self.root_tree_item(key, data),
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Cx, report: &mut Report) {
        ranges::merge(&mut self.allocated);
        self.bgs.sort_unstable();
        self.bgs.dedup();
        let ignore = super_stripes(cx.fs);
        let sb = cx.fs.sb.sb();
        let ro = sb.compat_ro_flags.get();
        if ro & FEATURE_COMPAT_RO_FREE_SPACE_TREE != 0 && ro & FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID != 0 {
            self.check_tree(&ignore, report);
        }
        // A metadump holds no file data, so no cache pages.
        if !self.cache_headers.is_empty() && cx.fs.metadump.is_none() {
            self.check_cache(cx.fs, &ignore, report);
        }
    }
}

/// Appends the runs of set bits of a free space bitmap (bit i = sector `start + i * ss`).
fn bitmap_runs(data: &[u8], start: u64, ss: u64, bits: u64, out: &mut Vec<Range>) {
    let mut run: Option<u64> = None;
    for i in 0..bits {
        let set = data.get((i / 8) as usize).is_some_and(|b| b & (1 << (i % 8)) != 0);
        match (set, run) {
            (true, None) => run = Some(i),
            (false, Some(r)) => {
                out.push((start.saturating_add(r * ss), start.saturating_add(i * ss)));
                run = None;
            }
            _ => {}
        }
    }
    if let Some(r) = run {
        out.push((start.saturating_add(r * ss), start.saturating_add(bits * ss)));
    }
}

/// The logical ranges of every superblock mirror stripe (see the module doc), merged.
fn super_stripes(fs: &Filesystem) -> Vec<Range> {
    // Below the first mirror nothing is ever handed out either.
    let mut v: Vec<Range> = vec![(0, 64 * 1024)];
    for i in 0..3u32 {
        let p: u64 = if i == 0 { 64 * 1024 } else { (16 * 1024u64) << (12 * i) };
        for c in fs.chunks.chunks() {
            let ssize = c.stripe_size();
            let slen = c.stripe_len.max(4096);
            let n = c.stripes.len() as u64;
            let profile = c.type_ & BLOCK_GROUP_PROFILE_MASK;
            for (idx, st) in c.stripes.iter().enumerate() {
                if p < st.offset || p - st.offset >= ssize {
                    continue;
                }
                let nr = (p - st.offset) / slen;
                let idx = idx as u64;
                let (row, len) = match profile {
                    BLOCK_GROUP_RAID0 => (nr * n + idx, slen),
                    BLOCK_GROUP_RAID10 => (nr * (n / u64::from(c.sub_stripes.max(1))).max(1) + idx / u64::from(c.sub_stripes.max(1)), slen),
                    BLOCK_GROUP_RAID5 | BLOCK_GROUP_RAID6 => {
                        let parity = if profile == BLOCK_GROUP_RAID5 { 1 } else { 2 };
                        let full = slen.saturating_mul(n.saturating_sub(parity).max(1));
                        let s = c.logical.saturating_add(nr.saturating_mul(full));
                        v.push((s, s.saturating_add(full)));
                        continue;
                    }
                    _ => (nr, slen),
                };
                let s = c.logical.saturating_add(row.saturating_mul(slen));
                v.push((s, s.saturating_add(len)));
            }
        }
    }
    ranges::merge(&mut v);
    v
}

impl FreeSpace {
    fn root_tree_item(&mut self, key: &DiskKey, data: &[u8]) {
        let oid = key.objectid.get();
        match key.type_ {
            _ if oid == FREE_SPACE_OBJECTID => {
                if let Ok((h, _)) = FreeSpaceHeader::ref_from_prefix(data) {
                    self.cache_headers.push(CacheHeader {
                        bg: key.offset.get(),
                        ino: h.location.objectid.get(),
                        generation: h.generation.get(),
                        num_entries: h.num_entries.get(),
                        num_bitmaps: h.num_bitmaps.get(),
                    });
                }
            }
            INODE_ITEM_KEY => {
                if let Ok((ii, _)) = InodeItem::ref_from_prefix(data) {
                    self.cache_inodes.insert(oid, (ii.generation.get(), ii.size.get()));
                }
            }
            EXTENT_DATA_KEY => {
                if let Ok((fe, _)) = FileExtentItem::ref_from_prefix(data) {
                    // Cache inodes are written uncompressed into preallocated regular extents.
                    if fe.type_ != 0 && fe.disk_bytenr.get() != 0 && fe.compression == 0 {
                        self.cache_extents.push(CacheExtent {
                            ino: oid,
                            file_off: key.offset.get(),
                            logical: fe.disk_bytenr.get().saturating_add(fe.offset.get()),
                            len: fe.num_bytes.get(),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    /// Compares one block group's recorded free ranges (merged) with what the extent tree
    /// leaves free; `what` names the record for messages.
    fn compare(&self, bg: Range, recorded: &[Range], ignore: &[Range], what: &str, report: &mut Report) {
        let alloc = ranges::clip(&self.allocated, bg.0, bg.1);
        let expected = ranges::subtract(&ranges::subtract(&[bg], &alloc), ignore);
        let rec = ranges::subtract(recorded, ignore);
        for (s, e) in ranges::intersect(&rec, &alloc) {
            report.push(
                Finding::new(&FREE_SPACE_ALLOCATED, format!("{what} lists {s}-{e} as free but it is allocated"))
                    .at("logical", s)
                    .ctx("length", e - s)
                    .ctx("block_group", bg.0),
            );
        }
        for (s, e) in ranges::subtract(&expected, &rec) {
            report.push(
                Finding::new(&FREE_SPACE_MISSING, format!("there is no free space entry for {s}-{e} in {what}"))
                    .at("logical", s)
                    .ctx("length", e - s)
                    .ctx("block_group", bg.0),
            );
        }
    }

    fn check_tree(&mut self, ignore: &[Range], report: &mut Report) {
        let tree = FREE_SPACE_TREE_OBJECTID;
        for (leaf, key) in &self.bad_items {
            report.push(
                Finding::new(&FREE_SPACE_FLAGS, format!("malformed free space item {}", key.objectid.get()))
                    .at("logical", *leaf)
                    .at("tree", tree)
                    .at("key", key_record(key)),
            );
        }
        self.infos.sort_unstable_by_key(|i| (i.start, i.len));
        // Items: each against the one before it in start order. (Against the furthest end
        // seen, one item with a wild length would make every later item an overlap.)
        let mut items: Vec<(Range, bool)> = self.extents.iter().map(|r| (*r, false)).chain(self.bitmap_items.iter().map(|r| (*r, true))).collect();
        items.sort_unstable();
        for pair in items.windows(2) {
            let (((_, prev_end), _), ((s, e), _)) = (pair[0], pair[1]);
            if s < prev_end {
                report.push(
                    Finding::new(&FREE_SPACE_OVERLAP, format!("free space item {s}-{e} overlaps the one before (ending at {prev_end})"))
                        .at("logical", s)
                        .at("tree", tree),
                );
            }
        }
        ranges::merge(&mut self.bitmap_runs);
        let mut with_info = vec![false; self.bgs.len()];
        for (n, info) in self.infos.iter().enumerate() {
            let (s, e) = (info.start, info.start.saturating_add(info.len));
            if n > 0 && self.infos[n - 1].start.saturating_add(self.infos[n - 1].len) > s {
                report.push(
                    Finding::new(&FREE_SPACE_OVERLAP, format!("free space info {s} overlaps the one before"))
                        .at("logical", s)
                        .at("tree", tree),
                );
            }
            let bg = self.bgs.binary_search(&(s, e));
            match bg {
                Ok(i) => with_info[i] = true,
                Err(_) => {
                    report.push(
                        Finding::new(&FREE_SPACE_ORPHAN, format!("Space key logical {s} length {} has no corresponding block group", info.len))
                            .at("logical", s)
                            .at("tree", tree)
                            .ctx("length", info.len),
                    );
                    continue;
                }
            }
            // This info's items: those starting inside it.
            let lo = items.partition_point(|x| x.0 .0 < s);
            let hi = items.partition_point(|x| x.0 .0 < e);
            let bitmaps = info.flags & USING_BITMAPS != 0;
            let mut wrong_kind = 0;
            let mut outside = false;
            for &((is, ie), is_bitmap) in &items[lo..hi] {
                if is_bitmap != bitmaps {
                    wrong_kind += 1;
                }
                if ie > e {
                    outside = true;
                    report.push(
                        Finding::new(&FREE_SPACE_OUTSIDE, format!("free space item {is}-{ie} runs past its block group {s}-{e}"))
                            .at("logical", is)
                            .at("tree", tree)
                            .ctx("block_group", s),
                    );
                }
            }
            if wrong_kind > 0 {
                report.push(
                    Finding::new(
                        &FREE_SPACE_FLAGS,
                        format!("block group {s}: {wrong_kind} free space {} while its info flags are {:#x}", if bitmaps { "extents" } else { "bitmaps" }, info.flags),
                    )
                    .at("logical", s)
                    .at("tree", tree)
                    .ctx("found", wrong_kind as u64),
                );
            }
            // The extents this info owns (starting inside it), cut at its end: one running past it
            // is reported above and must not count as free space of the next group.
            let mut ext: Vec<Range> = items[lo..hi].iter().filter(|x| !x.1).map(|x| (x.0 .0, x.0 .1.min(e))).collect();
            ranges::merge(&mut ext);
            let runs = ranges::clip(&self.bitmap_runs, s, e);
            let counted = if bitmaps { runs.len() } else { items[lo..hi].iter().filter(|x| !x.1).count() };
            // With items of the wrong kind or outside the group the count means nothing more.
            if !outside && wrong_kind == 0 && counted as u64 != u64::from(info.extent_count) {
                report.push(
                    Finding::new(&FREE_SPACE_EXTENT_COUNT, format!("incorrect extent count for {s}; counted {counted}, expected {}", info.extent_count))
                        .at("logical", s)
                        .at("tree", tree)
                        .ctx("leaf", info.leaf)
                        .ctx("expected", u64::from(info.extent_count))
                        .ctx("found", counted as u64),
                );
            }
            let mut recorded = ext;
            recorded.extend(runs);
            ranges::merge(&mut recorded);
            self.compare((s, e), &recorded, ignore, "the free space tree", report);
        }
        // Items in no info's range at all.
        for &((is, ie), _) in &items {
            let i = self.infos.partition_point(|x| x.start <= is);
            let inside = i > 0 && is < self.infos[i - 1].start.saturating_add(self.infos[i - 1].len);
            if !inside {
                report.push(
                    Finding::new(&FREE_SPACE_OUTSIDE, format!("free space item {is}-{ie} has no free space info"))
                        .at("logical", is)
                        .at("tree", tree),
                );
            }
        }
        for (i, bg) in self.bgs.iter().enumerate() {
            if !with_info[i] {
                report.push(
                    Finding::new(&FREE_SPACE_INFO_MISSING, format!("block group {} has no free space info", bg.0))
                        .at("logical", bg.0)
                        .ctx("length", bg.1 - bg.0),
                );
            }
        }
    }

    fn check_cache(&mut self, fs: &Filesystem, ignore: &[Range], report: &mut Report) {
        let sb = fs.sb.sb();
        let ro = sb.compat_ro_flags.get();
        // The kernel clears every v1 cache when the superblock's cache_generation is stale.
        if ro & FEATURE_COMPAT_RO_FREE_SPACE_TREE != 0 {
            return; // with the free space tree the kernel never reads v1 caches.
        }
        if sb.cache_generation.get() != sb.generation.get() {
            report.push(
                Finding::new(
                    &SPACE_CACHE_INVALID,
                    format!(
                        "{} v1 space caches will be discarded: superblock cache_generation {} is not generation {}",
                        self.cache_headers.len(),
                        sb.cache_generation.get(),
                        sb.generation.get()
                    ),
                )
                .ctx("generation", sb.generation.get()),
            );
            return;
        }
        self.cache_extents.sort_unstable_by_key(|x| (x.ino, x.file_off));
        let headers = std::mem::take(&mut self.cache_headers);
        for h in &headers {
            let bg = self.bgs.get(self.bgs.partition_point(|b| b.0 < h.bg)).copied().filter(|b| b.0 == h.bg);
            let Some(bg) = bg else {
                // Never read (the kernel looks caches up by block group), so only a warning:
                // btrfs check does not look for these at all.
                report.push(
                    Finding::new(&SPACE_CACHE_BAD, format!("space cache header for {} names no block group", h.bg))
                        .severity(Severity::Warning)
                        .at("logical", h.bg)
                        .at("inode", h.ino),
                );
                continue;
            };
            let invalid = |why: String| {
                Finding::new(&SPACE_CACHE_INVALID, format!("space cache of block group {}: {why}", h.bg)).at("logical", h.bg).at("inode", h.ino)
            };
            let Some(&(igen, isize)) = self.cache_inodes.get(&h.ino) else {
                report.push(invalid("its inode does not exist".into()));
                continue;
            };
            if isize == 0 || h.num_entries == 0 {
                continue; // empty: the kernel builds the block group's free space itself.
            }
            if igen != h.generation {
                report.push(invalid(format!("inode generation {igen} does not match cache generation {}", h.generation)));
                continue;
            }
            match self.read_cache(fs, h, isize, bg) {
                Err(why) => report.push(invalid(why)),
                Ok((recorded, problems)) => {
                    let malformed = problems.iter().any(|(_, sev)| *sev == Severity::Error);
                    for (p, sev) in problems {
                        report.push(Finding::new(&SPACE_CACHE_BAD, format!("space cache of block group {}: {p}", h.bg)).severity(sev).at("logical", h.bg).at("inode", h.ino));
                    }
                    // The kernel drops a cache whose free bytes are not the block group's
                    // length - used - superblock stripes ("has wrong amount of free space",
                    // __load_free_space_cache) and rebuilds it: a crash between the commit
                    // that wrote it and the one that would have rewritten it leaves such caches.
                    let cached: u64 = recorded.iter().map(|r| r.1 - r.0).sum();
                    let used = self.bg_used.get(&bg.0).copied().unwrap_or(0);
                    let bytes_super: u64 = ranges::clip(ignore, bg.0, bg.1).iter().map(|r| r.1 - r.0).sum();
                    let free = (bg.1 - bg.0).saturating_sub(used).saturating_sub(bytes_super);
                    if !malformed && cached != free {
                        let f = invalid(format!(
                            "it records {cached} bytes free, the block group has {free} (length - used - superblock stripes): the kernel drops it as having the wrong amount of free space"
                        ));
                        // Less is what a crash leaves; more means whoever wrote it listed used
                        // space as free. The kernel drops both, but btrfs check calls more an
                        // error ("could lead to serious corruption"): a warning.
                        report.push(if cached > free { f.severity(Severity::Warning) } else { f });
                        continue;
                    }
                    self.compare(bg, &recorded, ignore, &format!("the space cache of block group {}", h.bg), report);
                }
            }
        }
    }

    /// Reads one page of a cache inode's data.
    fn cache_page(&self, fs: &Filesystem, ino: u64, index: u64) -> Result<Vec<u8>, String> {
        let off = index * PAGE as u64;
        let i = self.cache_extents.partition_point(|x| (x.ino, x.file_off) <= (ino, off));
        let x = i.checked_sub(1).map(|i| &self.cache_extents[i]).filter(|x| x.ino == ino && off < x.file_off.saturating_add(x.len) && off + PAGE as u64 <= x.file_off.saturating_add(x.len));
        let Some(x) = x else { return Err(format!("page {index} is not in a file extent")) };
        let logical = x.logical.saturating_add(off - x.file_off);
        let copies = fs.read_logical_copies(logical, PAGE).map_err(|e| format!("page {index}: {e}"))?;
        let mut last = format!("page {index}: no copy");
        for c in copies {
            match c {
                Ok(b) if b.len() == PAGE => return Ok(b.into_owned()),
                Ok(_) => last = format!("page {index}: short read"),
                Err(e) => last = format!("page {index}: {e}"),
            }
        }
        Err(last)
    }

    /// Reads a trusted cache: its free ranges (merged) and malformed entries; Err when the
    /// kernel would discard it (crc, generation, unreadable).
    fn read_cache(&self, fs: &Filesystem, h: &CacheHeader, isize: u64, bg: Range) -> Result<(Vec<Range>, CacheProblems), String> {
        let num_pages = isize.div_ceil(PAGE as u64);
        if num_pages > MAX_CACHE_PAGES || num_pages * 4 + 8 > PAGE as u64 {
            return Err(format!("{num_pages} pages is more than a cache can have"));
        }
        let crc_area = num_pages as usize * 4;
        let page0 = self.cache_page(fs, h.ino, 0)?;
        let crc_of = |page: &[u8], index: u64| -> Result<(), String> {
            let skip = if index == 0 { crc_area } else { 0 };
            let at = index as usize * 4;
            let stored = u32_at(&page0, at).ok_or_else(|| format!("page {index} has no crc slot"))?;
            let found = crc32c::crc32c(&page[skip..]);
            if stored != found {
                return Err(format!("page {index} crc {found:#x} does not match the stored {stored:#x}"));
            }
            Ok(())
        };
        crc_of(&page0, 0)?;
        let gen = u64_at(&page0, crc_area).ok_or("page 0 has no generation")?;
        if gen != h.generation {
            return Err(format!("page generation {gen} does not match the header's {}", h.generation));
        }
        let mut problems = Vec::new();
        let mut free = Vec::new();
        let mut bitmap_starts = Vec::new();
        let (mut index, mut pos) = (0u64, crc_area + 8);
        let mut page = page0.clone();
        const ENTRY: usize = 17;
        for _ in 0..h.num_entries {
            if pos + ENTRY > PAGE {
                index += 1;
                if index >= num_pages {
                    return Err("entries run past the cache's pages".into());
                }
                page = self.cache_page(fs, h.ino, index)?;
                crc_of(&page, index)?;
                pos = 0;
            }
            let e = page.get(pos..pos + ENTRY).ok_or("an entry runs past its page")?;
            let (Some(off), Some(bytes)) = (u64_at(e, 0), u64_at(e, 8)) else { return Err("an entry runs past its page".into()) };
            pos += ENTRY;
            match e[16] {
                CACHE_EXTENT => {
                    let end = off.saturating_add(bytes);
                    if bytes == 0 || off < bg.0 || end > bg.1 {
                        problems.push((format!("entry {off}+{bytes} is not inside the block group"), Severity::Error));
                    }
                    free.push((off, end));
                }
                CACHE_BITMAP => bitmap_starts.push(off),
                t => problems.push((format!("entry {off}+{bytes} has unknown type {t}"), Severity::Error)),
            }
        }
        // The kernel counts the header's num_bitmaps down as it meets bitmap entries: one entry
        // too many trips its ASSERT (btrfs-progs: a BUG_ON), a count too high it never notices.
        if bitmap_starts.len() as u64 != h.num_bitmaps {
            let sev = if (bitmap_starts.len() as u64) < h.num_bitmaps { Severity::Warning } else { Severity::Error };
            problems.push((format!("{} bitmap entries but the header says {}", bitmap_starts.len(), h.num_bitmaps), sev));
        }
        if pos != 0 {
            index += 1;
        }
        let ss = u64::from(fs.sectorsize.max(1));
        for start in bitmap_starts {
            if index >= num_pages {
                return Err("bitmaps run past the cache's pages".into());
            }
            let p = self.cache_page(fs, h.ino, index)?;
            crc_of(&p, index)?;
            let bits = (PAGE * 8) as u64;
            if start < bg.0 || start >= bg.1 {
                problems.push((format!("bitmap at {start} is not inside the block group"), Severity::Error));
            }
            bitmap_runs(&p, start, ss, bits, &mut free);
            index += 1;
        }
        // Overlapping entries before merging.
        free.sort_unstable();
        let mut prev_end = 0;
        for &(s, e) in &free {
            if s < prev_end {
                problems.push((format!("free range {s}-{e} overlaps the one before"), Severity::Error));
            }
            prev_end = prev_end.max(e);
        }
        ranges::merge(&mut free);
        Ok((free, problems))
    }
}
