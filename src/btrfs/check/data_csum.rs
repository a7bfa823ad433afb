//! `--check-data-csum`: every checksummed data sector read from every copy and verified against
//! the csum tree with the filesystem's csum type.
//!
//! The walk only notes the csum tree's leaves (one u64 each); at `finish` they are read again in
//! key order — logical, i.e. disk order within a chunk — and each csum item's sectors are read in
//! bounded pieces (at most `PIECE` bytes per copy at a time). A sector with one bad copy and a
//! good mirror is a warning (the kernel repairs it on read); so is a bad RAID5/6 data sector that
//! the P parity and the other data stripes of its row rebuild; every copy bad is an error. Runs
//! of consecutive sectors in the same state make one finding. Metadumps hold no data: skipped
//! with an info.

use super::walker::{Cx, Family, TreeRoot};
use crate::btrfs::fs::{Block, Filesystem};
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::*;

crate::declare_kinds! {
    DATA_CSUM_MISMATCH = "btrfs.data_csum_mismatch", Error,
        "a data sector does not match its csum (a warning when another copy is good)";
    DATA_UNREADABLE = "btrfs.data_unreadable", Error,
        "a checksummed data sector cannot be read from any copy (unmapped, missing device, short image)";
    DATA_CSUM_SKIPPED = "btrfs.data_csum_skipped", Info,
        "--check-data-csum could not verify data: the image holds no file data (metadump), the csum type is unknown, or a csum conversion is in progress";
}

/// Bytes read per copy at a time.
const PIECE: u64 = 1 << 20;

/// The `--check-data-csum` family.
pub struct DataCsum {
    enabled: bool,
    /// Leaves of the csum tree, in walk (key) order.
    leaves: Vec<u64>,
}

impl DataCsum {
    pub fn new(enabled: bool) -> Self {
        DataCsum { enabled, leaves: Vec::new() }
    }
}

/// The state of one sector.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Good,
    /// Some copies bad, at least one good.
    MirrorBad,
    /// Every readable copy bad.
    Bad,
    /// No copy readable.
    Unreadable,
}

/// A run of sectors in one non-good state, being grown.
struct Run {
    state: State,
    start: u64,
    end: u64,
    bad_copies: Vec<usize>,
}

fn flush(run: &mut Option<Run>, report: &mut Report) {
    let Some(r) = run.take() else { return };
    let (kind, sev, what) = match r.state {
        State::Good => return,
        State::MirrorBad => (&DATA_CSUM_MISMATCH, Severity::Warning, "csum mismatch on some copies (a good mirror or the RAID5/6 parity has it)"),
        State::Bad => (&DATA_CSUM_MISMATCH, Severity::Error, "csum mismatch on every copy"),
        State::Unreadable => (&DATA_UNREADABLE, Severity::Error, "no copy readable"),
    };
    let copies: Vec<crate::record::Value<'static>> = r.bad_copies.iter().map(|&c| (c as u64).into()).collect();
    report.push(
        Finding::new(kind, format!("data {}-{}: {what}", r.start, r.end))
            .severity(sev)
            .at("logical", r.start)
            .ctx("length", r.end - r.start)
            .ctx("copies", copies),
    );
}

impl Family for DataCsum {
    fn block(&mut self, _cx: &Cx, root: &TreeRoot, b: &Block) {
        if self.enabled && root.tree == CSUM_TREE_OBJECTID && b.node.level() == 0 {
            self.leaves.push(b.bytenr);
        }
    }

    fn finish(&mut self, cx: &Cx, report: &mut Report) {
        if !self.enabled {
            return;
        }
        let fs = cx.fs;
        let Some(csum) = fs.csum else {
            report.push(Finding::new(&DATA_CSUM_SKIPPED, "unknown csum type: data not verified"));
            return;
        };
        // btrfstune rewriting data csums: the tree holds old and new csums side by side.
        if fs.sb.sb().flags.get() & SUPER_FLAG_CHANGING_DATA_CSUM != 0 {
            report.push(Finding::new(&DATA_CSUM_SKIPPED, "a data csum conversion is in progress: data not verified"));
            return;
        }
        if fs.metadump.is_some() {
            report.push(Finding::new(&DATA_CSUM_SKIPPED, "a metadump holds no file data: data not verified"));
            return;
        }
        let cs = csum.size();
        let ss = u64::from(fs.sectorsize.max(1));
        if !ss.is_power_of_two() || !(4096..=65536).contains(&ss) {
            report.push(Finding::new(&DATA_CSUM_SKIPPED, format!("sectorsize {ss} is not one btrfs uses: data not verified")));
            return;
        }
        let mut run: Option<Run> = None;
        for &leaf in &self.leaves {
            // Unreadable leaves were reported by the walk.
            let Ok(b) = fs.read_block(leaf) else { continue };
            for item in b.node.items() {
                let k = item.key;
                if k.objectid.get() != EXTENT_CSUM_OBJECTID || k.type_ != EXTENT_CSUM_KEY {
                    continue;
                }
                let Ok(sums) = b.node.item_data(item) else { continue };
                if sums.len() % cs != 0 || k.offset.get() % ss != 0 {
                    continue; // malformed: the csum family reports it.
                }
                verify_item(fs, csum, k.offset.get(), sums, ss, &mut run, report);
            }
        }
        flush(&mut run, report);
    }
}

/// Verifies the sectors of one csum item starting at `start`.
fn verify_item(fs: &Filesystem, csum: crate::btrfs::csum::CsumType, start: u64, sums: &[u8], ss: u64, run: &mut Option<Run>, report: &mut Report) {
    let cs = csum.size();
    let sectors = (sums.len() / cs) as u64;
    // A hostile key at the top of the address space: nothing there can be read.
    if start.checked_add(sectors.saturating_mul(ss)).is_none() {
        return;
    }
    let mut i = 0u64;
    while i < sectors {
        let logical = start.saturating_add(i * ss);
        // A piece never crosses a chunk end.
        let chunk_end = fs.chunks.lookup(logical).map(|c| c.logical.saturating_add(c.length)).unwrap_or(logical.saturating_add(ss));
        let room = (chunk_end.saturating_sub(logical) / ss).max(1);
        let n = (sectors - i).min(PIECE / ss).min(room).max(1);
        let copies = fs.read_logical_copies(logical, (n * ss) as usize).unwrap_or_default();
        for j in 0..n {
            let sector = logical + j * ss;
            let stored = &sums[((i + j) as usize) * cs..((i + j) as usize + 1) * cs];
            let mut good = 0u32;
            let mut bad = Vec::new();
            for (m, c) in copies.iter().enumerate() {
                let off = (j * ss) as usize;
                match c.as_ref().ok().and_then(|d| d.get(off..off + ss as usize)) {
                    Some(d) if csum.verify(stored, d) => good += 1,
                    Some(_) => bad.push(m),
                    None => {}
                }
            }
            // RAID5/6: a bad data stripe the P parity and the row's other data rebuild is
            // repaired by the kernel on read, like a bad mirror.
            if good == 0 && !bad.is_empty() && rebuild_raid56(fs, sector, ss).is_some_and(|d| csum.verify(stored, &d)) {
                good += 1;
            }
            let state = match (good, bad.is_empty()) {
                (0, true) => State::Unreadable,
                (0, false) => State::Bad,
                (_, false) => State::MirrorBad,
                (_, true) => State::Good,
            };
            match run {
                Some(r) if r.state == state && r.end == sector && r.bad_copies == bad => r.end = sector + ss,
                _ => {
                    flush(run, report);
                    if state != State::Good {
                        *run = Some(Run { state, start: sector, end: sector + ss, bad_copies: bad });
                    }
                }
            }
        }
        i += n;
    }
}

/// The sector at `logical` of a RAID5/6 chunk rebuilt from the P parity and the other data
/// stripes of its row (`None` when not RAID5/6 or something cannot be read).
fn rebuild_raid56(fs: &Filesystem, logical: u64, ss: u64) -> Option<Vec<u8>> {
    let chunk = fs.chunks.lookup(logical)?;
    let pos = chunk.raid56_position(logical)?;
    let (_, _, devid, phys) = *pos.parity.first()?;
    let len = usize::try_from(ss).ok()?;
    let mut out = fs.devices.get(&devid)?.dev.read(phys, len).ok()?.into_owned();
    if out.len() != len {
        return None;
    }
    let nparity: u64 = if chunk.type_ & BLOCK_GROUP_RAID5 != 0 { 1 } else { 2 };
    let data = (chunk.stripes.len() as u64).checked_sub(nparity)?.max(1);
    let slen = chunk.stripe_len.max(1);
    let in_stripe = (logical - chunk.logical) % slen;
    for j in (0..data).filter(|&j| j != pos.data_index) {
        let other = chunk.logical.checked_add((pos.row.checked_mul(data)?.checked_add(j)?).checked_mul(slen)?.checked_add(in_stripe)?)?;
        let copies = fs.read_logical_copies(other, len).ok()?;
        let bytes = copies.into_iter().find_map(|c| c.ok())?;
        if bytes.len() != len {
            return None;
        }
        for (o, b) in out.iter_mut().zip(bytes.iter()) {
            *o ^= b;
        }
    }
    Some(out)
}
