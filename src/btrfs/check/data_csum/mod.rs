//! `--check-data-csum`: every checksummed data sector read from every copy and verified against
//! the csum tree with the filesystem's csum type.
//!
//! The walk only notes the csum tree's leaves (one u64 each); at `finish` they are read again in
//! key order — logical, i.e. disk order within a chunk — and their items are cut into units of a
//! few megabytes that worker threads verify (`verify.rs`), the data of the units queued ahead
//! announced to the kernel. A sector with one bad copy and a good mirror is a warning (the
//! kernel repairs it on read); so is a bad RAID5/6 data sector that the P parity and the other
//! data stripes of its row rebuild, and with `--all-copies` a good one they do not rebuild
//! (stale parity, which scrub repairs); every copy bad is an error. Runs of consecutive sectors in
//! the same state make one finding. Metadumps hold no data: skipped with an info.

mod verify;

use super::walker::{Cx, Family, TreeRoot};
use crate::btrfs::fs::Block;
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

/// A run of consecutive sectors in one non-good state, with the same bad copies.
struct Run {
    state: State,
    start: u64,
    end: u64,
    bad_copies: Vec<usize>,
}

/// The runs of a stretch of sectors met in logical order: what one worker finds in its unit,
/// and the whole check once the units are joined in order.
#[derive(Default)]
struct Runs {
    closed: Vec<Run>,
    open: Option<Run>,
}

impl Runs {
    /// One sector's state. A good sector, a gap, or another state ends the open run.
    fn note(&mut self, sector: u64, ss: u64, state: State, bad_copies: Vec<usize>) {
        if state == State::Good {
            self.close();
            return;
        }
        self.extend(Run { state, start: sector, end: sector + ss, bad_copies });
    }

    /// Appends a run that starts at or after the open one's end, merging the two when they
    /// touch: a run cut by a unit boundary is one finding, as if one thread had met it.
    fn extend(&mut self, run: Run) {
        match &mut self.open {
            Some(r) if r.state == run.state && r.end == run.start && r.bad_copies == run.bad_copies => r.end = run.end,
            _ => {
                self.close();
                self.open = Some(run);
            }
        }
    }

    fn close(&mut self) {
        self.closed.extend(self.open.take());
    }

    /// The runs of the next stretch of sectors, which follows these in logical order.
    fn join(&mut self, next: Runs) {
        for run in next.closed.into_iter().chain(next.open) {
            self.extend(run);
        }
    }

    fn report(mut self, report: &mut Report) {
        self.close();
        for r in self.closed {
            let (kind, sev, what) = match r.state {
                State::Good => continue,
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
    }
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
        let ss = u64::from(fs.sectorsize.max(1));
        if !ss.is_power_of_two() || !(4096..=65536).contains(&ss) {
            report.push(Finding::new(&DATA_CSUM_SKIPPED, format!("sectorsize {ss} is not one btrfs uses: data not verified")));
            return;
        }
        verify::verify_all(fs, csum, ss, &self.leaves, cx.all_copies).report(report);
    }
}
