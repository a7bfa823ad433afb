//! Finding, verifying and choosing among the superblock copies of a btrfs device.

use super::csum::CsumType;
use crate::image::{Device, Metadump};
use ondisk_layouts::btrfs::superblock::{MAGIC, SUPER_INFO_SIZE, SUPER_OFFSETS};
use ondisk_layouts::btrfs::SuperBlock;
use zerocopy::FromBytes;

/// What the checksum of one superblock copy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsumStatus {
    Match,
    Mismatch,
    /// csum_type is not one btrfs defines: the copy cannot be verified.
    UnknownType(u16),
}

/// One superblock copy as read from a device.
#[derive(Clone)]
pub struct SuperCopy {
    /// 0 for the primary, 1 and 2 for the mirrors.
    pub mirror: usize,
    /// Byte offset on the device.
    pub offset: u64,
    bytes: Box<[u8; SUPER_INFO_SIZE]>,
    pub magic_ok: bool,
    pub csum: CsumStatus,
}

impl SuperCopy {
    /// Wraps 4096 bytes read at `offset` and verifies them.
    pub fn new(mirror: usize, offset: u64, raw: &[u8]) -> Option<SuperCopy> {
        let bytes: Box<[u8; SUPER_INFO_SIZE]> = Box::new(raw.get(..SUPER_INFO_SIZE)?.try_into().ok()?);
        let sb = SuperBlock::ref_from_bytes(&bytes[..]).ok()?;
        let magic_ok = sb.magic.get() == MAGIC;
        let csum = match CsumType::from_disk(sb.csum_type.get()) {
            Some(t) if t.verify(&sb.csum, &bytes[32..]) => CsumStatus::Match,
            Some(_) => CsumStatus::Mismatch,
            None => CsumStatus::UnknownType(sb.csum_type.get()),
        };
        Some(SuperCopy { mirror, offset, bytes, magic_ok, csum })
    }

    /// The decoded view.
    pub fn sb(&self) -> &SuperBlock {
        SuperBlock::ref_from_bytes(&self.bytes[..]).expect("4096 bytes always view as a superblock")
    }

    /// The raw 4096 bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..]
    }

    /// Whether the copy says it lives where it was read (a copy written elsewhere, or a stale
    /// image of another mirror, fails this as the kernel's `btrfs_validate_super` does).
    pub fn bytenr_ok(&self) -> bool {
        self.sb().bytenr.get() == self.offset
    }

    /// A copy we may trust: magic, checksum and bytenr good.
    pub fn is_valid(&self) -> bool {
        self.magic_ok && self.csum == CsumStatus::Match && self.bytenr_ok()
    }

    /// The checksum algorithm, if known.
    pub fn csum_type(&self) -> Option<CsumType> {
        CsumType::from_disk(self.sb().csum_type.get())
    }
}

/// Every superblock copy that fits on the device, good or not: mkfs and the kernel write every
/// mirror that fits, so a mirror without the magic is itself worth reporting.
pub fn read_copies(dev: &Device) -> Vec<SuperCopy> {
    // Every copy asked for at once: three small reads in parallel rather than, cold, megabytes
    // of read-around for each page fault in turn.
    for off in SUPER_OFFSETS {
        dev.will_need(off, SUPER_INFO_SIZE as u64);
    }
    SUPER_OFFSETS
        .iter()
        .enumerate()
        .filter_map(|(i, &off)| {
            let raw = dev.read(off, SUPER_INFO_SIZE).ok()?;
            SuperCopy::new(i, off, &raw)
        })
        .collect()
}

/// The superblock stored in a metadump (at its byte offset, as a logical item).
pub fn read_metadump_copy(md: &Metadump) -> Option<SuperCopy> {
    let raw = md.read_logical(SUPER_OFFSETS[0], SUPER_INFO_SIZE).ok()?;
    SuperCopy::new(0, SUPER_OFFSETS[0], &raw)
}

/// The choice among copies, with its reason in words.
pub struct Choice {
    /// Index into the copies, `None` when no copy is valid.
    pub index: Option<usize>,
    pub reason: String,
}

/// What is wrong with a copy, or how it compares with the chosen generation `gen`.
fn describe(c: &SuperCopy, gen: Option<u64>) -> String {
    if !c.magic_ok {
        return "bad magic".to_string();
    }
    match c.csum {
        CsumStatus::Mismatch => "bad checksum".to_string(),
        CsumStatus::UnknownType(t) => format!("unknown csum_type {t}"),
        CsumStatus::Match if !c.bytenr_ok() => format!("bytenr field {} does not match its offset", c.sb().bytenr.get()),
        CsumStatus::Match => {
            let g = c.sb().generation.get();
            match gen {
                Some(cur) if g == cur => "valid, same generation".to_string(),
                Some(cur) if g < cur => format!("valid but stale (generation {g})"),
                _ => format!("valid (generation {g})"),
            }
        }
    }
}

/// Picks the valid copy with the highest generation (the primary on ties), and says why.
pub fn choose(copies: &[SuperCopy]) -> Choice {
    let best = copies
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_valid())
        .max_by_key(|(_, c)| (c.sb().generation.get(), std::cmp::Reverse(c.mirror)));
    let Some((index, chosen)) = best else {
        let each: Vec<String> = copies.iter().map(|c| format!("mirror {} at {}: {}", c.mirror, c.offset, describe(c, None))).collect();
        let reason = if each.is_empty() {
            "no superblock copy fits on the device".to_string()
        } else {
            format!("no valid superblock copy ({})", each.join("; "))
        };
        return Choice { index: None, reason };
    };
    let gen = chosen.sb().generation.get();
    let notes: Vec<String> = copies
        .iter()
        .filter(|c| c.mirror != chosen.mirror)
        .map(|c| format!("mirror {} at {}: {}", c.mirror, c.offset, describe(c, Some(gen))))
        .collect();
    let mut reason = format!("using mirror {} at {} (generation {gen}, valid)", chosen.mirror, chosen.offset);
    if !notes.is_empty() {
        reason.push_str("; ");
        reason.push_str(&notes.join("; "));
    }
    Choice { index: Some(index), reason }
}
