//! The csum tree: EXTENT_CSUM items (key offset = logical start of the first sector, one csum of
//! `csum_size` bytes per sector) against the data they cover.
//!
//! What the walk gathers (compact `(start, end)` ranges, compared at `finish`):
//! - the csum items of the csum tree, in key order;
//! - the data extents of the extent tree (EXTENT_ITEM with the DATA flag): csums may only cover
//!   bytes some data extent holds;
//! - the referenced ranges of regular file extents of inodes that checksum their data, outside
//!   the data relocation tree (see `item`): these need csums. An uncompressed extent needs
//!   csums for the bytes the file uses, `[disk_bytenr + offset, + num_bytes)` (the rest of a
//!   partially overwritten extent may keep or lose its csums); a compressed extent is
//!   checksummed as stored, the whole `[disk_bytenr, + disk_num_bytes)`. Inline extents and
//!   holes have none;
//! - the referenced ranges of prealloc extents and of NODATASUM inodes: these must have none
//!   (unless another reference needs them).
//!
//! Comparing ranges rather than items is what finds a gap at the start of an extent (csums that
//! begin after the extent's first sector), which `btrfs check` misses because it looks up the
//! csum item at or before the extent start and counts from there.
//!
//! The log trees: a regular file extent logged for fsync must find its csums in the log (the
//! replay copies them into the csum tree) or already in the csum tree ("csum missing in log").

use super::kinds::LOST_SUBTREE_ECHOES;
use super::ranges::{self, Range};
use super::walker::{is_subvolume, Cx, Family, Revisit, KeyBounds, TreeRoot};
use crate::btrfs::dump::key_record;
use crate::btrfs::fs::Block;
use crate::findings::{Finding, Report};
use ondisk_layouts::btrfs::items::{ExtentItem, FileExtentItem, InodeItem, EXTENT_FLAG_DATA, FILE_EXTENT_PREALLOC, FILE_EXTENT_REG, INODE_NODATASUM};
use ondisk_layouts::btrfs::*;
use std::collections::{HashMap, HashSet};
use zerocopy::FromBytes;

crate::declare_kinds! {
    CSUM_OVERLAP = "btrfs.csum_overlap", Error,
        "two csum items cover the same sectors (csum overlap)";
    CSUM_ITEM_SIZE = "btrfs.csum_item_size", Error,
        "a csum item's size is not a multiple of the csum size, or its start is not sector aligned";
    CSUM_NO_EXTENT = "btrfs.csum_no_extent", Error,
        "csums cover bytes no data extent holds (there are no extents for csum range)";
    CSUM_MISSING = "btrfs.csum_missing", Error,
        "bytes a regular file extent of a checksummed inode uses have no csum (some csum missing), including a gap at the start of an extent";
    CSUM_UNEXPECTED = "btrfs.csum_unexpected", Error,
        "csums cover a prealloc extent or an extent of a NODATASUM inode (odd csum item)";
    LOG_CSUM_MISSING = "btrfs.log_csum_missing", Error,
        "a file extent in a log tree has csums neither in the log nor in the csum tree (csum missing in log)";
}

/// One logged extent that needs csums: its range and where it was logged.
struct LoggedExtent {
    range: Range,
    subvol: u64,
    inode: u64,
    file_offset: u64,
}

/// The csum tree family.
#[derive(Default)]
pub struct Csum {
    /// Csum items of the csum tree: covered range and the leaf holding them.
    items: Vec<(Range, u64)>,
    /// Data extents of the extent tree.
    data_extents: Vec<Range>,
    /// Ranges regular file extents of checksummed inodes use.
    needs: Vec<Range>,
    /// Ranges prealloc extents and NODATASUM inodes use.
    no_csum: Vec<Range>,
    /// NODATASUM inodes of the tree being walked.
    nodatasum: HashSet<u64>,
    /// The NODATASUM inodes of each subvolume leaf that has any.
    nodatasum_leaves: HashMap<u64, Vec<u64>>,
    /// Csum items of the log trees.
    log_csums: Vec<Range>,
    /// Logged extents that need csums.
    logged: Vec<LoggedExtent>,
    /// Disk extents logged file extents name (extent items appear when the log is replayed).
    log_extents: Vec<Range>,
    /// Malformed csum items, reported at the end.
    bad_items: Vec<(u64, DiskKey, usize)>,
    /// Logical ranges of the csum tree's subtrees the walk lost (by key offset), and of the
    /// extent tree's (by bytenr): gaps and orphans inside them only echo that loss.
    lost_csums: Vec<Range>,
    lost_extents: Vec<Range>,
}

impl Csum {
    pub fn new() -> Self {
        Self::default()
    }
}

/// What a file extent item asks of the csum tree.
enum Use {
    Needs(Range),
    NoCsum(Range),
    Nothing,
}

fn file_extent_use(data: &[u8], nodatasum: bool) -> Use {
    let Ok((fe, _)) = FileExtentItem::ref_from_prefix(data) else { return Use::Nothing };
    let disk = fe.disk_bytenr.get();
    if disk == 0 || (fe.type_ != FILE_EXTENT_REG && fe.type_ != FILE_EXTENT_PREALLOC) {
        return Use::Nothing;
    }
    let range = if fe.compression != 0 {
        (disk, disk.saturating_add(fe.disk_num_bytes.get()))
    } else {
        let s = disk.saturating_add(fe.offset.get());
        (s, s.saturating_add(fe.num_bytes.get()))
    };
    if fe.type_ == FILE_EXTENT_PREALLOC || nodatasum {
        Use::NoCsum(range)
    } else {
        Use::Needs(range)
    }
}

impl Csum {
    fn inode_item(&mut self, leaf: u64, key: &DiskKey, data: &[u8]) {
        if let Ok((ii, _)) = InodeItem::ref_from_prefix(data) {
            if ii.flags.get() & INODE_NODATASUM != 0 {
                self.nodatasum.insert(key.objectid.get());
                self.nodatasum_leaves.entry(leaf).or_default().push(key.objectid.get());
            }
        }
    }
}

impl Family for Csum {
    fn revisits(&self) -> Revisit {
        Revisit::Blocks
    }

    fn begin_tree(&mut self, _cx: &Cx, _root: &TreeRoot) {
        self.nodatasum.clear();
    }

    /// A leaf a snapshot shares with a tree walked before: its file extents were counted there,
    /// but its last inode's extents may go on in this tree's own next leaf, and whether they
    /// need csums is that inode's INODE_ITEM's to say: the leaf's NODATASUM inodes, noted at its
    /// first visit, are this tree's too.
    fn reach(&mut self, _cx: &Cx, _root: &TreeRoot, b: &Block, first_visit: bool) {
        if first_visit {
            return;
        }
        if let Some(inodes) = self.nodatasum_leaves.get(&b.bytenr) {
            self.nodatasum.extend(inodes.iter().copied());
        }
    }

    fn lost_subtrees(&mut self, _cx: &Cx, root: &TreeRoot, lost: &[KeyBounds]) {
        for (lo, hi) in lost {
            match root.tree {
                // Csum items are keyed by the logical start of what they cover, and the next
                // subtree's first item starts where the lost one's end.
                CSUM_TREE_OBJECTID => self.lost_csums.push((lo.map_or(0, |k| k.offset.get()), hi.map_or(u64::MAX, |k| k.offset.get()))),
                // Extent items are keyed by bytenr, and the next subtree may start among the
                // backrefs of the last extent the lost one held: that bytenr is lost too.
                EXTENT_TREE_OBJECTID => self
                    .lost_extents
                    .push((lo.map_or(0, |k| k.objectid.get()), hi.map_or(u64::MAX, |k| k.objectid.get().saturating_add(1)))),
                _ => {}
            }
        }
    }

    fn item(&mut self, cx: &Cx, root: &TreeRoot, b: &Block, _slot: usize, key: &DiskKey, data: &[u8], first_visit: bool) {
        let tree = root.tree;
        match key.type_ {
            EXTENT_CSUM_KEY if key.objectid.get() == EXTENT_CSUM_OBJECTID && (tree == CSUM_TREE_OBJECTID || tree == TREE_LOG_OBJECTID) => {
                let Some(csum) = cx.fs.csum else { return };
                let (cs, ss) = (csum.size(), u64::from(cx.fs.sectorsize.max(1)));
                let start = key.offset.get();
                if data.len() % cs != 0 || start % ss != 0 {
                    if tree == CSUM_TREE_OBJECTID {
                        self.bad_items.push((b.bytenr, *key, data.len()));
                    }
                    return;
                }
                let end = start.saturating_add((data.len() / cs) as u64 * ss);
                if tree == CSUM_TREE_OBJECTID {
                    self.items.push(((start, end), b.bytenr));
                } else {
                    self.log_csums.push((start, end));
                }
            }
            EXTENT_ITEM_KEY if tree == EXTENT_TREE_OBJECTID => {
                // A v0 extent item (shorter than btrfs_extent_item) does not say whether it
                // holds data: count it as data, so csums over it are not called orphans.
                let data_flag = ExtentItem::ref_from_prefix(data).map_or(true, |(ei, _)| ei.flags.get() & EXTENT_FLAG_DATA != 0);
                if data_flag {
                    let s = key.objectid.get();
                    self.data_extents.push((s, s.saturating_add(key.offset.get())));
                }
            }
            // A shared leaf's only on its first visit: see `reach`.
            INODE_ITEM_KEY if first_visit && (is_subvolume(tree) || tree == TREE_LOG_OBJECTID) => self.inode_item(b.bytenr, key, data),
            EXTENT_DATA_KEY if is_subvolume(tree) && first_visit => {
                match file_extent_use(data, self.nodatasum.contains(&key.objectid.get())) {
                    // The data relocation tree's extents are copies balance is making: their
                    // csums are cloned from the source, which has none where it was prealloc
                    // or NODATASUM, and the kernel reads such holes as NODATASUM
                    // (btrfs_lookup_bio_sums: "so that balance won't report false csum
                    // error"). A crash mid-balance leaves them; the next mount drops the tree.
                    Use::Needs(_) if tree == DATA_RELOC_TREE_OBJECTID => {}
                    Use::Needs(r) => self.needs.push(r),
                    Use::NoCsum(r) => self.no_csum.push(r),
                    Use::Nothing => {}
                }
            }
            EXTENT_DATA_KEY if tree == TREE_LOG_OBJECTID => {
                // Replay inserts the extent items of logged extents: until then their bytes
                // may carry csums without an extent item (065-valid-log-tree/already-present).
                if let Ok((fe, _)) = FileExtentItem::ref_from_prefix(data) {
                    let d = fe.disk_bytenr.get();
                    if fe.type_ != 0 && d != 0 {
                        self.log_extents.push((d, d.saturating_add(fe.disk_num_bytes.get())));
                    }
                }
                if let Use::Needs(range) = file_extent_use(data, self.nodatasum.contains(&key.objectid.get())) {
                    self.logged.push(LoggedExtent {
                        range,
                        subvol: root.key.map(|k| k.offset.get()).unwrap_or(0),
                        inode: key.objectid.get(),
                        file_offset: key.offset.get(),
                    });
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, _cx: &Cx, report: &mut Report) {
        for (leaf, key, size) in self.bad_items.drain(..) {
            report.push(
                Finding::new(&CSUM_ITEM_SIZE, format!("csum item at {} has size {size}", key.offset.get()))
                    .at("logical", leaf)
                    .at("tree", CSUM_TREE_OBJECTID)
                    .at("key", key_record(&key)),
            );
        }
        // Overlaps: items in start order, each against the furthest end so far.
        self.items.sort_unstable();
        let mut prev_end = 0u64;
        for &((s, e), leaf) in &self.items {
            if s < prev_end {
                report.push(
                    Finding::new(&CSUM_OVERLAP, format!("csum overlap, current bytenr={s} prev_end={prev_end}"))
                        .at("logical", s)
                        .at("tree", CSUM_TREE_OBJECTID)
                        .ctx("leaf", leaf)
                        .ctx("end", e),
                );
            }
            prev_end = prev_end.max(e);
        }
        let mut covered: Vec<Range> = self.items.iter().map(|x| x.0).collect();
        self.items = Vec::new();
        ranges::merge(&mut covered);
        let mut holders = self.data_extents.clone();
        holders.append(&mut self.log_extents);
        ranges::merge(&mut holders);
        // Unmerged, in start order: findings name the one extent a gap lies in.
        self.data_extents.sort_unstable();
        ranges::merge(&mut self.lost_extents);
        let (orphans, orphans_left_out) = ranges::outside(ranges::subtract(&covered, &holders), &self.lost_extents);
        for (s, e) in orphans {
            report.push(
                Finding::new(&CSUM_NO_EXTENT, format!("there are no extents for csum range {s}-{e}"))
                    .at("logical", s)
                    .at("tree", CSUM_TREE_OBJECTID)
                    .ctx("length", e - s),
            );
        }
        ranges::merge(&mut self.needs);
        ranges::merge(&mut self.lost_csums);
        let (gaps, gaps_left_out) = ranges::outside(ranges::subtract(&self.needs, &covered), &self.lost_csums);
        for (s, e) in gaps {
            // Name the data extent the gap lies in, so a gap at an extent's start reads as such.
            let i = self.data_extents.partition_point(|r| r.0 <= s);
            let ext = i.checked_sub(1).and_then(|i| self.data_extents.get(i)).filter(|r| s < r.1);
            let mut f = Finding::new(
                &CSUM_MISSING,
                match ext {
                    Some(x) if x.0 == s => format!("csum missing for {s}-{e} ({} bytes at the start of the data extent at {})", e - s, x.0),
                    Some(x) => format!("csum missing for {s}-{e} (inside the data extent at {})", x.0),
                    None => format!("csum missing for {s}-{e}"),
                },
            )
            .at("logical", s)
            .ctx("length", e - s);
            if let Some(x) = ext {
                f = f.ctx("extent", x.0);
            }
            report.push(f);
        }
        for (tree, n, what) in [(EXTENT_TREE_OBJECTID, orphans_left_out, "csum_no_extent"), (CSUM_TREE_OBJECTID, gaps_left_out, "csum_missing")] {
            if n > 0 {
                report.push(
                    Finding::new(&LOST_SUBTREE_ECHOES, format!("tree {tree}: {n} {what} findings inside subtrees that could not be walked left out"))
                        .at("tree", tree)
                        .ctx("left_out", n),
                );
            }
        }
        ranges::merge(&mut self.no_csum);
        let odd = ranges::intersect(&ranges::subtract(&self.no_csum, &self.needs), &covered);
        for (s, e) in odd {
            report.push(
                Finding::new(&CSUM_UNEXPECTED, format!("csums cover {s}-{e}, used only by prealloc extents or NODATASUM inodes"))
                    .at("logical", s)
                    .ctx("length", e - s),
            );
        }
        // The log: a logged extent's csums in the log, or already in the csum tree.
        ranges::merge(&mut self.log_csums);
        let mut have = std::mem::take(&mut self.log_csums);
        have.extend_from_slice(&covered);
        ranges::merge(&mut have);
        for l in &self.logged {
            for (s, e) in ranges::subtract(&[l.range], &have) {
                report.push(
                    Finding::new(
                        &LOG_CSUM_MISSING,
                        format!(
                            "csum missing in log (root {} inode {} offset {} address {s:#x} length {})",
                            l.subvol,
                            l.inode,
                            l.file_offset,
                            e - s
                        ),
                    )
                    .at("logical", s)
                    .at("tree", TREE_LOG_OBJECTID)
                    .at("inode", l.inode)
                    .ctx("root", l.subvol)
                    .ctx("length", e - s),
                );
            }
        }
    }
}
