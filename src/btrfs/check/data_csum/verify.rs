//! Verifying the data sectors the csum tree covers, in parallel and read ahead.
//!
//! The calling thread reads the csum leaves in key order and cuts their items into units of
//! about `UNIT` bytes of data, in logical order. As it queues a unit, it announces the unit's
//! data (every copy) to the kernel; the queue holds `QUEUED` units, so reads are in flight that
//! far ahead of the workers, which take units as they come and verify them. The walk has told
//! the kernel the image is read at random by now (`Filesystem::release_pages`), so without the
//! announcements every data page would be read alone when it faults. Each unit's runs come back
//! with its index and are joined in order: the findings are those of one thread reading the
//! sectors in logical order.

use super::{Runs, State};
use crate::btrfs::csum::CsumType;
use crate::btrfs::fs::Filesystem;
use ondisk_layouts::btrfs::*;
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, sync_channel, Receiver};
use std::sync::{Arc, Mutex};

/// Data bytes per unit of work.
const UNIT: u64 = 4 << 20;
/// Bytes read per copy at a time (and the most a piece of a unit covers).
const PIECE: u64 = 1 << 20;
/// Units queued ahead of the workers: their data is being read while earlier units are verified.
const QUEUED: usize = 8;
/// Workers at most: beyond a few, the device, not the checksumming, sets the pace.
const MAX_WORKERS: usize = 4;

/// Sectors of one csum item inside one chunk, at most `PIECE` bytes: one read per copy.
struct Piece {
    logical: u64,
    /// The stored csums, one per sector.
    sums: Vec<u8>,
}

struct Unit {
    index: usize,
    pieces: Vec<Piece>,
}

/// Verifies every sector the csum items of these leaves cover.
pub(super) fn verify_all(fs: &Filesystem, csum: CsumType, ss: u64, leaves: &[u64], all_copies: bool) -> Runs {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, MAX_WORKERS);
    std::thread::scope(|s| {
        let (unit_tx, unit_rx) = sync_channel::<Unit>(QUEUED);
        // Shared by the workers alone: should they all end early, the queue closes and the
        // cutter stops instead of waiting for room forever.
        let unit_rx = Arc::new(Mutex::new(unit_rx));
        let (runs_tx, runs_rx) = channel::<(usize, Runs)>();
        for _ in 0..workers {
            let (unit_rx, runs_tx) = (Arc::clone(&unit_rx), runs_tx.clone());
            s.spawn(move || {
                while let Some(unit) = next_unit(&unit_rx) {
                    if runs_tx.send((unit.index, verify_unit(fs, csum, ss, &unit, all_copies))).is_err() {
                        return;
                    }
                }
            });
        }
        drop((runs_tx, unit_rx));
        let mut cutter = Cutter { fs, ss, cs: csum.size(), unit_tx, unit: Unit { index: 0, pieces: Vec::new() }, bytes: 0 };
        let mut progress = crate::progress::Progress::new();
        for (i, &leaf) in leaves.iter().enumerate() {
            progress.tick(|| format!("verifying data csums: leaf {} of {}", i + 1, leaves.len()));
            if !cutter.leaf(leaf) {
                break;
            }
        }
        cutter.finish();
        progress.done();
        // Every unit is queued; the workers end when the queue is empty and closed.
        let mut waiting = BTreeMap::new();
        let mut all = Runs::default();
        let mut next = 0;
        for (index, runs) in runs_rx {
            waiting.insert(index, runs);
            while let Some(runs) = waiting.remove(&next) {
                all.join(runs);
                next += 1;
            }
        }
        all
    })
}

/// The next unit from the shared queue; `None` when it is closed and empty.
fn next_unit(rx: &Mutex<Receiver<Unit>>) -> Option<Unit> {
    // A worker that panicked while holding the lock left the receiver whole: go on with it.
    let rx = rx.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    rx.recv().ok()
}

/// Cuts csum items into pieces and units, and queues each unit with its data announced.
struct Cutter<'f, 'a> {
    fs: &'f Filesystem<'a>,
    ss: u64,
    cs: usize,
    unit_tx: std::sync::mpsc::SyncSender<Unit>,
    unit: Unit,
    bytes: u64,
}

impl Cutter<'_, '_> {
    /// Cuts one leaf's items; `false` once the workers are gone.
    fn leaf(&mut self, leaf: u64) -> bool {
        // Unreadable leaves were reported by the walk.
        let Ok(b) = self.fs.read_block(leaf) else { return true };
        for item in b.node.items() {
            let k = item.key;
            if k.objectid.get() != EXTENT_CSUM_OBJECTID || k.type_ != EXTENT_CSUM_KEY {
                continue;
            }
            let Ok(sums) = b.node.item_data(item) else { continue };
            if sums.len() % self.cs != 0 || k.offset.get() % self.ss != 0 {
                continue; // malformed: the csum family reports it.
            }
            if !self.item(k.offset.get(), sums) {
                return false;
            }
        }
        true
    }

    /// One csum item: its sectors in pieces that never cross a chunk end or exceed `PIECE`.
    fn item(&mut self, start: u64, sums: &[u8]) -> bool {
        let (ss, cs) = (self.ss, self.cs);
        let sectors = (sums.len() / cs) as u64;
        // A hostile key at the top of the address space: nothing there can be read.
        if start.checked_add(sectors.saturating_mul(ss)).is_none() {
            return true;
        }
        let mut i = 0u64;
        while i < sectors {
            let logical = start + i * ss;
            let chunk_end = self.fs.chunks.lookup(logical).map(|c| c.logical.saturating_add(c.length)).unwrap_or(logical.saturating_add(ss));
            let room = (chunk_end.saturating_sub(logical) / ss).max(1);
            let n = (sectors - i).min(PIECE / ss).min(room).max(1);
            let piece_sums = sums[(i as usize) * cs..((i + n) as usize) * cs].to_vec();
            self.unit.pieces.push(Piece { logical, sums: piece_sums });
            self.bytes += n * ss;
            if self.bytes >= UNIT && !self.queue() {
                return false;
            }
            i += n;
        }
        true
    }

    /// Announces the unit's data and queues it (waiting while `QUEUED` units are ahead of the
    /// workers); `false` when the workers are gone.
    fn queue(&mut self) -> bool {
        for p in &self.unit.pieces {
            self.fs.will_need_logical(p.logical, (p.sums.len() / self.cs) as u64 * self.ss);
        }
        let index = self.unit.index;
        let unit = std::mem::replace(&mut self.unit, Unit { index: index + 1, pieces: Vec::new() });
        self.bytes = 0;
        self.unit_tx.send(unit).is_ok()
    }

    fn finish(mut self) {
        if !self.unit.pieces.is_empty() {
            self.queue();
        }
        // Dropping the sender closes the queue: the workers end once it is empty.
    }
}

/// Verifies one unit's sectors against every copy, and with `all_copies` a RAID5/6 data sector's
/// rebuild from its row's parity too, as scrub does: stale parity loses the sector to the next
/// failure of its device. A bad rebuild counts as the copy after the stored ones.
fn verify_unit(fs: &Filesystem, csum: CsumType, ss: u64, unit: &Unit, all_copies: bool) -> Runs {
    let cs = csum.size();
    let mut runs = Runs::default();
    for p in &unit.pieces {
        let n = (p.sums.len() / cs) as u64;
        let copies = fs.read_logical_copies(p.logical, (n * ss) as usize).unwrap_or_default();
        for (j, stored) in p.sums.chunks_exact(cs).enumerate() {
            let sector = p.logical + j as u64 * ss;
            let off = j * ss as usize;
            let mut good = 0u32;
            let mut bad = Vec::new();
            for (m, c) in copies.iter().enumerate() {
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
            } else if all_copies && good > 0 && rebuild_raid56(fs, sector, ss).is_some_and(|d| !csum.verify(stored, &d)) {
                bad.push(copies.len());
            }
            let state = match (good, bad.is_empty()) {
                (0, true) => State::Unreadable,
                (0, false) => State::Bad,
                (_, false) => State::MirrorBad,
                (_, true) => State::Good,
            };
            runs.note(sector, ss, state, bad);
        }
    }
    runs
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
