//! Tree block family: what one block says about itself (checksum per copy, bytenr, fsid,
//! chunk tree uuid, level, nritems, key order, item offsets), and whether it agrees with the
//! pointer it was reached through (transid, first key, level, owner).

use super::kinds::*;
use super::walker::Cx;
use crate::btrfs::fs::{Block, Filesystem};
use crate::btrfs::names::key_text;
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::tree::{BACKREF_REV_SHIFT, HEADER_SIZE, MAX_LEVEL, MIXED_BACKREF_REV};
use ondisk_layouts::btrfs::{DiskKey, Item, TREE_LOG_OBJECTID};

/// What the pointer (or root item, or superblock field) leading to a block expects of it.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    pub tree: u64,
    pub level: Option<u8>,
    pub generation: Option<u64>,
    pub first_key: Option<DiskKey>,
    /// The owner the block must carry, for trees whose blocks are never shared.
    pub owner: Option<u64>,
    pub parent: Option<u64>,
    /// Whether this is the root of its tree (an empty leaf is allowed there only).
    pub is_root: bool,
    /// Whether the expectations come from a ROOT_ITEM (so a disagreement is the root item's).
    pub root_item: bool,
}

fn finding(kind: &'static crate::findings::Kind, b: &Block, e: &Expect, msg: String) -> Finding {
    let mut f = Finding::new(kind, msg)
        .at("logical", b.bytenr)
        .at("tree", e.tree)
        .at("level", b.node.level())
        .ctx("generation", b.node.header().generation.get());
    if let Some(p) = e.parent {
        f = f.at("parent", p);
    }
    f
}

/// Whether the walk descends into a block it checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Walk,
    /// Too damaged in itself to descend into, from any pointer.
    Damaged,
    /// Not the level its pointer expects: that pointer leads nowhere, while another (of a tree
    /// sharing the block) may well lead to it.
    WrongLevel,
}

/// Checks one block that could be read, on its first visit.
pub fn check(cx: &Cx, b: &Block, e: &Expect, report: &mut Report) -> Outcome {
    let (fs, chunk_uuid) = (cx.fs, cx.chunk_uuid.as_ref());
    let h = b.node.header();
    // Checksum per copy: a bad copy next to a good one is a warning; no good copy is one error
    // (the copy read was the last resort when it names another block too).
    let good_copy = b.csum_ok && h.bytenr.get() == b.bytenr;
    for r in b.rejected.iter().filter(|r| good_copy && r.is_bad_copy()) {
        report.push(
            finding(&TREE_BLOCK_CSUM, b, e, format!("copy {} of block {}: {r}", r.mirror, b.bytenr))
                .severity(Severity::Warning)
                .at("mirror", r.mirror as u64),
        );
    }
    if !b.csum_ok {
        report.push(finding(&TREE_BLOCK_CSUM, b, e, format!("block {}: checksum mismatch on every copy", b.bytenr)).at("mirror", b.mirror as u64));
    } else if cx.all_copies {
        check_other_copies(fs, b, e, report);
    }
    if h.bytenr.get() != b.bytenr {
        report.push(finding(&TREE_BLOCK_BYTENR, b, e, format!("block at {} says it is at {}", b.bytenr, h.bytenr.get()))
            .ctx("expected", b.bytenr).ctx("found", h.bytenr.get()));
        return Outcome::Damaged;
    }
    let fsid = fs.metadata_uuid();
    // Blocks a sprout still shares with its seed carry the seed's fsid (check_tree_block_fsid
    // accepts every seed's).
    if h.fsid != fsid && !fs.seed_fsids.contains(&h.fsid) {
        report.push(finding(&TREE_BLOCK_FSID, b, e, format!("block {} has fsid {}", b.bytenr, crate::detect::uuid_text(&h.fsid)))
            .ctx("expected", crate::detect::uuid_text(&fsid)).ctx("found", crate::detect::uuid_text(&h.fsid)));
        // Its checksum matched (or every copy is bad and this is the best there is): the
        // contents are still the block's own, so keep walking — losing the subtree would turn
        // one fault into a cascade of reference-count findings.
    }
    if let Some(cu) = chunk_uuid {
        if &h.chunk_tree_uuid != cu {
            report.push(finding(&TREE_BLOCK_CHUNK_UUID, b, e, format!("block {} has chunk_tree_uuid {}", b.bytenr, crate::detect::uuid_text(&h.chunk_tree_uuid)))
                .ctx("expected", crate::detect::uuid_text(cu)).ctx("found", crate::detect::uuid_text(&h.chunk_tree_uuid)));
        }
    }
    // Revision 0 is the pre-2.6.31 format, whose blocks are referenced by full backrefs only
    // (btrfs check types their refs so); nothing written since has it, and the kernel no longer
    // reads the extent items of that era.
    let rev = h.flags.get() >> BACKREF_REV_SHIFT;
    // Above it, the kernel and btrfs check read the block as the current revision (they only
    // test `< MIXED_BACKREF_REV`): a value nothing writes, but read as if it were 1.
    if rev != MIXED_BACKREF_REV {
        let sev = if rev < MIXED_BACKREF_REV { Severity::Error } else { Severity::Warning };
        report.push(finding(&TREE_BLOCK_BACKREF_REV, b, e, format!("block {} has backref revision {rev}, not {MIXED_BACKREF_REV}", b.bytenr))
            .severity(sev).ctx("expected", MIXED_BACKREF_REV).ctx("found", rev));
    }
    let level = h.level;
    if level >= MAX_LEVEL {
        report.push(finding(&TREE_BLOCK_LEVEL, b, e, format!("block {} has level {level}, above the maximum {}", b.bytenr, MAX_LEVEL - 1)));
        return Outcome::Damaged;
    }
    if !check_pointer(b, e, report) {
        return Outcome::WrongLevel;
    }
    let n = b.node.nritems() as usize;
    if n > b.node.max_slots() {
        report.push(finding(&TREE_BLOCK_NRITEMS, b, e, format!("block {} claims {n} items, at most {} fit", b.bytenr, b.node.max_slots()))
            .ctx("found", n as u64).ctx("max", b.node.max_slots() as u64));
    } else if n == 0 && !(e.is_root && b.node.is_leaf()) {
        report.push(finding(&TREE_BLOCK_NRITEMS, b, e, format!("block {} has no items", b.bytenr)));
    }
    check_first_key(b, e, report);
    check_key_order(b, e, report);
    if b.node.is_leaf() {
        check_item_offsets(fs, b, e, report);
    }
    Outcome::Walk
}

/// What a pointer says of the block it leads to — level, transid, owner — against the block.
/// Returns false when the level differs: the pointer leads nowhere.
fn check_pointer(b: &Block, e: &Expect, report: &mut Report) -> bool {
    let h = b.node.header();
    let level = h.level;
    if let Some(want) = e.level {
        if level != want {
            let kind = if e.root_item { &ROOT_ITEM_MISMATCH } else { &TREE_BLOCK_LEVEL };
            report.push(finding(kind, b, e, format!("block {} has level {level}, expected {want}", b.bytenr))
                .ctx("expected", want).ctx("found", level));
            return false;
        }
    }
    if let Some(g) = e.generation {
        if h.generation.get() != g {
            let kind = if e.root_item { &ROOT_ITEM_MISMATCH } else { &TRANSID_MISMATCH };
            // An expected generation of 0 is one nothing writes, and the one readers take for
            // "do not verify" (the kernel's and btrfs-progs' verify_parent_transid): the kernel
            // reads the block as it is, so the mismatch is a warning. btrfs check's fs-root walk
            // (check_child_node) compares a node pointer's generation with its child's even
            // when it is 0, and fails.
            let sev = if g == 0 { Severity::Warning } else { kind.severity };
            report.push(finding(kind, b, e, format!("parent transid verify failed on {} wanted {g} found {}", b.bytenr, h.generation.get()))
                .severity(sev).ctx("expected", g).ctx("found", h.generation.get()));
        }
    }
    if let Some(o) = e.owner {
        if h.owner.get() != o {
            // The kernel verifies the owner of every block it reads (btrfs_check_eb_owner)
            // except in log and reloc trees, which it skips; btrfs check 6.2 does not walk log
            // trees. A log block's owner is read by nobody: a warning, like a stray chunk uuid.
            let sev = if e.tree == TREE_LOG_OBJECTID { Severity::Warning } else { OWNER_MISMATCH.severity };
            report.push(finding(&OWNER_MISMATCH, b, e, format!("block {} has owner {}, reached from tree {o}", b.bytenr, h.owner.get()))
                .severity(sev).ctx("expected", o).ctx("found", h.owner.get()));
        }
    }
    true
}

fn check_first_key(b: &Block, e: &Expect, report: &mut Report) {
    if let (Some(want), Some(got)) = (e.first_key, b.node.first_key()) {
        if want.triple() != got.triple() {
            report.push(finding(&FIRST_KEY_MISMATCH, b, e, format!("block {} starts with {}, its parent says {}", b.bytenr, key_text(got), key_text(&want)))
                .ctx("expected", key_text(&want).to_string()).ctx("found", key_text(got).to_string()));
        }
    }
}

/// A block checked on an earlier visit, reached again through a pointer not seen before (of a
/// node on its first visit, or a root item): only what the pointer says is checked. Returns
/// false when the pointer leads nowhere.
pub fn check_new_pointer(b: &Block, e: &Expect, report: &mut Report) -> bool {
    if !check_pointer(b, e, report) {
        return false;
    }
    check_first_key(b, e, report);
    true
}

fn check_key_order(b: &Block, e: &Expect, report: &mut Report) {
    let keys: Vec<&DiskKey> = if b.node.is_leaf() {
        b.node.items().iter().map(|i| &i.key).collect()
    } else {
        b.node.ptrs().iter().map(|p| &p.key).collect()
    };
    for (slot, w) in keys.windows(2).enumerate() {
        if w[0].triple() >= w[1].triple() {
            report.push(finding(&KEY_ORDER, b, e, format!("block {} slot {}: {} is not below {}", b.bytenr, slot + 1, key_text(w[0]), key_text(w[1])))
                .at("slot", (slot + 1) as u64));
        }
    }
}

/// Leaf item data must be packed from the end of the block downwards, each item's data ending
/// where the previous one's starts, and stay clear of the item array. One finding per leaf,
/// naming the first slot out of place and how many are: a shifted offset shifts every later
/// item relative to it, and a person wants the leaf, not forty echoes.
fn check_item_offsets(fs: &Filesystem, b: &Block, e: &Expect, report: &mut Report) {
    let data_size = u64::from(fs.nodesize) - HEADER_SIZE as u64;
    let items: &[Item] = b.node.items();
    let array_end = core::mem::size_of_val(items) as u64;
    let mut expected_end = data_size;
    let mut first_bad: Option<(usize, u64, u64, u64)> = None;
    let mut bad = 0u64;
    for (slot, it) in items.iter().enumerate() {
        let (off, size) = (u64::from(it.offset.get()), u64::from(it.size.get()));
        let end = off + size;
        if end > data_size || off < array_end || end != expected_end {
            bad += 1;
            first_bad.get_or_insert((slot, off, size, expected_end));
        }
        expected_end = off.min(expected_end);
    }
    if let Some((slot, off, size, expected)) = first_bad {
        let key = &items[slot].key;
        report.push(
            finding(&ITEM_OFFSET, b, e, format!(
                "block {} slot {slot} ({}): data at {off}+{size} should end at {expected}; {bad} of {} items out of place",
                b.bytenr, key_text(key), items.len()))
            .at("slot", slot as u64)
            .at("key", crate::btrfs::dump::key_record(key))
            .ctx("offset", off)
            .ctx("size", size)
            .ctx("expected_end", expected)
            .ctx("items_out_of_place", bad),
        );
    }
}

/// Verifies the copies of a block other than the one the read settled on (DUP, RAID1*, RAID10
/// mirrors): a bad copy next to a good one is a warning — the filesystem still reads, but the
/// redundancy is gone.
fn check_other_copies(fs: &Filesystem, b: &Block, e: &Expect, report: &mut Report) {
    let Ok(copies) = fs.read_logical_copies(b.bytenr, fs.nodesize as usize) else { return };
    let Some(csum) = fs.csum else { return };
    for (mirror, c) in copies.iter().enumerate() {
        if mirror == b.mirror || b.rejected.iter().any(|r| r.mirror == mirror) {
            continue;
        }
        let why = match c {
            Ok(bytes) if bytes.len() < HEADER_SIZE => "short read".to_string(),
            Ok(bytes) if !csum.verify(&bytes[..32], &bytes[32..]) => "checksum mismatch".to_string(),
            Ok(bytes) if bytes[48..56] != b.bytenr.to_le_bytes() => "bytenr mismatch".to_string(),
            Ok(_) => continue,
            // A missing device is reported once for the set, not per block.
            Err(crate::image::ReadError::Absent(_)) => continue,
            Err(err) => err.to_string(),
        };
        report.push(
            finding(&TREE_BLOCK_CSUM, b, e, format!("copy {mirror} of block {}: {why}", b.bytenr))
                .severity(Severity::Warning)
                .at("mirror", mirror as u64),
        );
    }
}
