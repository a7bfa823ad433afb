//! Which filesystem is on each path, by magic, for all three filesystems — before any decoder runs.

use crate::btrfs::superblock as btrfs_sb;
use crate::image::{Device, Member};
use crate::record::{Record, Value};
use crate::le::{u16_at, u32_at, u64_at};
use ondisk_layouts::{bcachefs as bch, hammer};
use std::borrow::Cow;

/// A filesystem ondisk knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FsKind {
    Btrfs,
    Bcachefs,
    Hammer,
}

impl FsKind {
    /// Its lowercase name, as used in finding kinds (`btrfs.`, `bcachefs.`, `hammer.`).
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Btrfs => "btrfs",
            FsKind::Bcachefs => "bcachefs",
            FsKind::Hammer => "hammer",
        }
    }
}

/// What one device says about itself.
#[derive(Debug, Clone)]
pub struct Detected {
    pub kind: FsKind,
    /// The filesystem's uuid as users see it (btrfs fsid, bcachefs user_uuid, HAMMER vol_fsid).
    pub uuid: [u8; 16],
    /// Human form of the uuid.
    pub uuid_text: String,
    pub label: Vec<u8>,
    /// On-disk format version, where the filesystem has one.
    pub version: Option<String>,
    /// This device's id in its set: btrfs devid, bcachefs dev_idx, HAMMER vol_no.
    pub member_id: u64,
    /// How many members the set has: btrfs num_devices, bcachefs nr_devices, HAMMER vol_count.
    pub members: u64,
    /// Details worth showing (checksum type, sizes, container format).
    pub details: Record<'static>,
    /// The device's own uuid where the format has one apart from the filesystem's (btrfs
    /// dev_item.uuid): what a sprout's chunk tree names its seed devices by.
    pub device_uuid: Option<[u8; 16]>,
}

/// Formats 16 bytes in RFC 4122 order (btrfs, bcachefs).
pub fn uuid_text(u: &[u8; 16]) -> String {
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Formats a DCE uuid (first three groups little-endian), as HAMMER stores `uuid_t`.
pub fn uuid_text_le(u: &[u8; 16]) -> String {
    let mut b = *u;
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    uuid_text(&b)
}

fn trim_nul(b: &[u8]) -> Vec<u8> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b[..end].to_vec()
}

fn uuid_at(b: &[u8], at: usize) -> Option<[u8; 16]> {
    b.get(at..at + 16)?.try_into().ok()
}

/// Detects the filesystem on one opened member; `None` when it is none we know.
pub fn detect(member: &Member) -> Option<Detected> {
    match member {
        Member::Metadump(md) => {
            let copy = btrfs_sb::read_metadump_copy(md)?;
            let mut d = btrfs_detected(&copy)?;
            d.details.push("container", "btrfs-image metadump");
            Some(d)
        }
        Member::Raw(dev) => {
            // Ask for the few kilobytes probed first: a cold page fault on its own reads
            // megabytes around it (the device's read-ahead). The btrfs superblock copies are
            // asked for by `read_copies`.
            dev.will_need(0, bch::SB_SECTOR_OFFSET + 752);
            detect_btrfs(dev).or_else(|| detect_bcachefs(dev)).or_else(|| detect_hammer(dev))
        }
    }
}

fn detect_btrfs(dev: &Device) -> Option<Detected> {
    let copies = btrfs_sb::read_copies(dev);
    let choice = btrfs_sb::choose(&copies);
    // A device whose copies all fail verification is still btrfs if the primary has the magic:
    // say so, so that `super` and `check` can be pointed at it.
    let copy = match choice.index {
        Some(i) => &copies[i],
        None => copies.iter().find(|c| c.magic_ok)?,
    };
    let mut d = btrfs_detected(copy)?;
    d.details.push("superblock", choice.reason);
    Some(d)
}

fn btrfs_detected(copy: &btrfs_sb::SuperCopy) -> Option<Detected> {
    if !copy.magic_ok {
        return None;
    }
    let sb = copy.sb();
    let mut details = Record::new();
    details
        .push("csum_type", copy.csum_type().map_or("unknown", |t| t.name()))
        .push("nodesize", sb.nodesize.get())
        .push("sectorsize", sb.sectorsize.get())
        .push("generation", sb.generation.get())
        .push("total_bytes", sb.total_bytes.get())
        .push("valid", copy.is_valid());
    Some(Detected {
        kind: FsKind::Btrfs,
        uuid: sb.fsid,
        uuid_text: uuid_text(&sb.fsid),
        label: trim_nul(&sb.label),
        version: None,
        member_id: sb.dev_item.devid.get(),
        members: sb.num_devices.get(),
        details,
        device_uuid: Some(sb.dev_item.uuid),
    })
}

fn detect_bcachefs(dev: &Device) -> Option<Detected> {
    let b = dev.read(bch::SB_SECTOR_OFFSET, 752).ok()?;
    let magic = uuid_at(&b, 24)?;
    if magic != bch::BCHFS_MAGIC && magic != bch::BCACHE_MAGIC {
        return None;
    }
    let version = u16_at(&b, 16)?;
    let user_uuid = uuid_at(&b, 56)?;
    let mut details = Record::new();
    details
        .push("internal_uuid", uuid_text(&uuid_at(&b, 40)?))
        .push("seq", u64_at(&b, 112)?)
        .push("block_size", u64::from(u16_at(&b, 120)?) * 512);
    Some(Detected {
        kind: FsKind::Bcachefs,
        uuid: user_uuid,
        uuid_text: uuid_text(&user_uuid),
        label: trim_nul(b.get(72..104)?),
        // BCH_VERSION(major, minor) = major << 10 | minor.
        version: Some(format!("{}.{}", version >> 10, version & 0x3ff)),
        member_id: u64::from(*b.get(122)?),
        members: u64::from(*b.get(123)?),
        details,
        device_uuid: None,
    })
}

fn detect_hammer(dev: &Device) -> Option<Detected> {
    let b = dev.read(0, 1928).ok()?;
    let sig = u64_at(&b, 0)?;
    if sig != hammer::VOL_SIGNATURE {
        return None;
    }
    let fsid = uuid_at(&b, 48)?;
    let mut details = Record::new();
    details
        .push("vol_rootvol", u32_at(&b, 164)?)
        .push("vol_buf_beg", u64_at(&b, 24)?)
        .push("vol_buf_end", u64_at(&b, 32)?);
    Some(Detected {
        kind: FsKind::Hammer,
        uuid: fsid,
        uuid_text: uuid_text_le(&fsid),
        label: trim_nul(b.get(80..144)?),
        version: Some(u32_at(&b, 152)?.to_string()),
        member_id: u64::from(u32_at(&b, 144)?),
        members: u64::from(u32_at(&b, 148)?),
        details,
        device_uuid: None,
    })
}

impl Detected {
    /// The JSON Lines object for this device.
    pub fn to_record(&self, path: &std::path::Path) -> Record<'static> {
        let mut r = Record::new();
        r.push("type", "device")
            .push("path", path)
            .push("fs", self.kind.name())
            .push("uuid", self.uuid_text.clone())
            .push("label", Value::Name(Cow::Owned(self.label.clone())))
            .push("member_id", self.member_id)
            .push("members", self.members);
        if let Some(v) = &self.version {
            r.push("version", v.clone());
        }
        r.push("details", self.details.clone());
        r
    }
}
