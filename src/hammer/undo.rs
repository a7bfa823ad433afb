//! The UNDO/REDO FIFO: record iteration (like `hammer show-undo`), the active range the kernel
//! would replay after a crash, and the replay itself into in-memory patches.

use super::crc::{self, CrcAlg};
use super::fs::{AddrError, Fs, Patch};
use ondisk_layouts::hammer::{self as h, FifoHead, FifoTail, RedoBody, UndoBody};
use zerocopy::FromBytes;

/// Zone-3 offset of FIFO position `pos`.
pub fn zone3(pos: u64) -> u64 {
    (3u64 << 60) | pos
}

/// One FIFO record as found.
#[derive(Debug, Clone)]
pub struct FifoRec {
    /// Position in the FIFO (short offset of the zone-3 address).
    pub pos: u64,
    pub head: FifoHead,
    /// Bytes this record occupies (hdr_size when valid, else the skip to the next boundary).
    pub size: u64,
    /// What is wrong with its head or tail, if anything (the walk then skips ahead).
    pub problem: Option<String>,
    /// The CRC variant that matched; `None` for PAD or a bad CRC (see `crc_bad`).
    pub crc: Option<CrcAlg>,
    pub crc_bad: bool,
    pub undo: Option<UndoBody>,
    pub redo: Option<RedoBody>,
}

/// Alignment of record heads: 512 bytes from version 4, 16 KiB before.
pub fn align(version: u32) -> u64 {
    if version >= 4 {
        h::UNDO_ALIGN
    } else {
        h::BUFSIZE
    }
}

/// Reads and validates the record at `pos`.
pub fn record_at(fs: &Fs, pos: u64, fifo_size: u64) -> Result<FifoRec, AddrError> {
    let off = zone3(pos);
    let hb = fs.read(off, h::FIFO_HEAD_SIZE)?;
    let head = FifoHead::read_from_bytes(&hb).map_err(|_| AddrError::Undo { off })?;
    let al = align(fs.version);
    let skip = (al - pos % al).max(h::HEAD_ALIGN as u64);
    let mut rec = FifoRec { pos, head, size: skip, problem: None, crc: None, crc_bad: false, undo: None, redo: None };
    let size = head.hdr_size.get() as u64;
    let typ = head.hdr_type.get();
    let room = h::BUFSIZE - pos % h::BUFSIZE;
    if head.hdr_signature.get() != h::HEAD_SIGNATURE {
        rec.problem = Some(format!("hdr_signature {:04x} is not {:04x}", head.hdr_signature.get(), h::HEAD_SIGNATURE));
        return Ok(rec);
    }
    let min = if typ == h::HEAD_TYPE_PAD { h::FIFO_HEAD_SIZE as u64 / 2 } else { (h::FIFO_HEAD_SIZE + h::FIFO_TAIL_SIZE) as u64 };
    if size < min || size % h::HEAD_ALIGN as u64 != 0 || size > room || pos + size > fifo_size {
        rec.problem = Some(format!("hdr_size {size} is not a multiple of 8 fitting its 16 KiB buffer"));
        return Ok(rec);
    }
    // Version 4+ keeps a record head on every 512-byte boundary.
    if fs.version >= 4 && (pos % al) + size > al {
        rec.problem = Some(format!("record of {size} bytes crosses a 512-byte boundary"));
        return Ok(rec);
    }
    rec.size = size;
    if typ == h::HEAD_TYPE_PAD {
        return Ok(rec);
    }
    let b = fs.read(off, size as usize)?;
    let stored = head.hdr_crc.get();
    rec.crc = crc::matches(fs.version, stored, |a| crc::split(a, &b[..12], &b[16..]));
    rec.crc_bad = rec.crc.is_none();
    let tail = FifoTail::read_from_bytes(&b[b.len() - h::FIFO_TAIL_SIZE..]).map_err(|_| AddrError::Undo { off })?;
    if tail.tail_signature.get() != h::TAIL_SIGNATURE || tail.tail_type.get() != typ || tail.tail_size.get() as u64 != size {
        rec.problem = Some("tail does not match the head".into());
    }
    match typ {
        h::HEAD_TYPE_UNDO => rec.undo = b.get(16..32).and_then(|s| UndoBody::read_from_bytes(s).ok()),
        h::HEAD_TYPE_REDO => rec.redo = b.get(16..56).and_then(|s| RedoBody::read_from_bytes(s).ok()),
        _ => {}
    }
    Ok(rec)
}

/// Walks the FIFO from 0 to its size, like `hammer show-undo`; a bad record skips to the next
/// alignment boundary. `f` returns false to stop.
pub fn scan(fs: &Fs, mut f: impl FnMut(Result<FifoRec, (u64, AddrError)>) -> bool) {
    let size = fs.undo_size();
    let mut pos = 0u64;
    while pos < size {
        match record_at(fs, pos, size) {
            Ok(r) => {
                let step = r.size.max(h::HEAD_ALIGN as u64);
                if !f(Ok(r)) {
                    return;
                }
                pos += step;
            }
            Err(e) => {
                if !f(Err((pos, e))) {
                    return;
                }
                pos += align(fs.version);
                pos -= pos % align(fs.version);
            }
        }
    }
}

/// The range of the FIFO recovery would replay.
#[derive(Debug, Clone, Default)]
pub struct ActiveRange {
    /// FIFO position where it starts (first_offset).
    pub first: u64,
    /// The records in it, oldest first.
    pub records: Vec<FifoRec>,
    /// The sequence number found before first_offset (v4+).
    pub prev_seq: Option<u32>,
    /// Why the range could not be computed, if it could not.
    pub problem: Option<String>,
}

fn valid(r: &FifoRec) -> bool {
    r.problem.is_none() && !r.crc_bad
}

/// Computes the active range: for v4+, the run of records from first_offset whose sequence
/// numbers continue the one before it; before v4, first_offset..next_offset.
pub fn active_range(fs: &Fs) -> ActiveRange {
    let size = fs.undo_size();
    let bm = &fs.root.vol0_blockmap[h::ZONE_UNDO as usize];
    let first = bm.first_offset.get() & h::OFF_SHORT_MASK;
    let next = bm.next_offset.get() & h::OFF_SHORT_MASK;
    let mut ar = ActiveRange { first, ..Default::default() };
    if size == 0 {
        return ar;
    }
    if first >= size || next >= size.saturating_add(1) {
        ar.problem = Some(format!("first_offset {first:#x} / next_offset {next:#x} outside the {size:#x}-byte FIFO"));
        return ar;
    }
    let limit = size / 8 + 1;
    if fs.version < 4 {
        let mut pos = first;
        for _ in 0..limit {
            if pos == next {
                break;
            }
            match record_at(fs, pos, size) {
                Ok(r) if valid(&r) => {
                    pos = (pos + r.size) % size;
                    ar.records.push(r);
                }
                _ => {
                    ar.problem = Some(format!("bad record at {:016x} inside first..next", zone3(pos)));
                    break;
                }
            }
        }
        return ar;
    }
    // Backwards from first_offset, through tails, to the first non-PAD record.
    let mut end = first;
    for _ in 0..limit {
        let e = if end == 0 { size } else { end };
        if e < h::FIFO_TAIL_SIZE as u64 {
            break;
        }
        let Ok(tb) = fs.read(zone3(e - h::FIFO_TAIL_SIZE as u64), h::FIFO_TAIL_SIZE) else { break };
        let Ok(tail) = FifoTail::read_from_bytes(&tb) else { break };
        let ts = tail.tail_size.get() as u64;
        if tail.tail_signature.get() != h::TAIL_SIGNATURE || ts < 8 || ts > e || ts % 8 != 0 {
            break;
        }
        let start = e - ts;
        match record_at(fs, start, size) {
            Ok(r) if valid(&r) && r.head.hdr_type.get() != h::HEAD_TYPE_PAD => {
                ar.prev_seq = Some(r.head.hdr_seq.get());
                break;
            }
            Ok(r) if r.head.hdr_type.get() == h::HEAD_TYPE_PAD => end = start,
            _ => break,
        }
        if end == first {
            break;
        }
    }
    let Some(prev) = ar.prev_seq else {
        ar.problem = Some("no valid record before first_offset to take the sequence from".into());
        return ar;
    };
    let mut expect = prev.wrapping_add(1);
    let mut pos = first;
    for _ in 0..limit {
        let Ok(r) = record_at(fs, pos, size) else { break };
        if !valid(&r) {
            break;
        }
        let step = r.size;
        if r.head.hdr_type.get() != h::HEAD_TYPE_PAD {
            if r.head.hdr_seq.get() != expect {
                break;
            }
            expect = expect.wrapping_add(1);
            ar.records.push(r);
        }
        pos = (pos + step) % size;
        if pos == first {
            break;
        }
    }
    ar
}

/// The patches replaying the range's UNDO records would make, newest record first (so the
/// oldest, pushed last, wins where they overlap), plus the records that could not be applied.
pub fn replay(fs: &Fs, ar: &ActiveRange) -> (Vec<Patch>, Vec<(u64, AddrError)>) {
    let mut patches = Vec::new();
    let mut bad = Vec::new();
    for r in ar.records.iter().rev() {
        let Some(u) = &r.undo else { continue };
        let n = u.undo_data_bytes.get() as u64;
        let room = r.size.saturating_sub(32 + h::FIFO_TAIL_SIZE as u64);
        if n > room {
            bad.push((zone3(r.pos), AddrError::Undo { off: zone3(r.pos) }));
            continue;
        }
        let target = u.undo_offset.get();
        match (fs.to_phys(target, n), fs.read(zone3(r.pos + 32), n as usize)) {
            (Ok((vol, phys)), Ok(data)) => patches.push(Patch { vol, phys, data: data.into_owned() }),
            (Err(e), _) | (_, Err(e)) => bad.push((target, e)),
        }
    }
    (patches, bad)
}

#[cfg(test)]
mod tests {
    #[test]
    fn zone3_and_alignment() {
        assert_eq!(super::zone3(0x200), 0x3000_0000_0000_0200);
        assert_eq!(super::align(4), 512);
        assert_eq!(super::align(3), 16384);
    }
}
