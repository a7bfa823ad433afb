//! The volume set: headers of every volume, zone-offset translation, reads through the UNDO
//! replay overlay, and freemap (layer1/layer2) lookups.

use crate::image::{Device, DeviceSet, Member, ReadError};
use crate::{Error, Result};
use ondisk_layouts::hammer::{self as h, Layer1, Layer2, VolumeOndisk};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use zerocopy::FromBytes;

/// Zone of an offset (bits 63..60).
pub fn zone_of(off: u64) -> u8 {
    (off >> 60) as u8
}
/// Volume of an offset (bits 59..52).
pub fn vol_of(off: u64) -> u32 {
    ((off & h::OFF_VOL_MASK) >> 52) as u32
}
/// Zone-2 address of the 8 MiB big-block holding `off` (zone nibble replaced by 2).
pub fn bigblock_of(off: u64) -> u64 {
    (off & h::OFF_LONG_MASK & !h::BIGBLOCK_MASK) | (2u64 << 60)
}
/// Index of the layer1 entry covering `off`: vol×1024 + (short >> 42).
pub fn layer1_index(off: u64) -> u64 {
    (off & h::OFF_LONG_MASK) >> 42
}
/// Index of the layer2 entry inside its layer2 big-block.
pub fn layer2_index(off: u64) -> u64 {
    (off >> 23) & (h::BLOCKMAP_RADIX2 - 1)
}
/// Rounds a data length up to the 16-byte allocation unit.
pub fn align16(n: u64) -> u64 {
    n.saturating_add(15) & !15
}

/// Why an offset could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// The zone nibble does not name a translatable zone.
    Zone { off: u64, zone: u8 },
    /// The volume bits name a volume beyond `vol_count` or one not given on the command line.
    Volume { off: u64, vol: u32, exists: bool },
    /// A zone-3 offset past the UNDO array, or into an UNAVAIL slot.
    Undo { off: u64 },
    /// The offset lies outside its volume's buffer space.
    Range { off: u64 },
    /// The device could not serve the read.
    Read { off: u64, err: ReadError },
    /// The freemap has no layer2 big-block for this offset.
    NoLayer2 { off: u64 },
}

impl fmt::Display for AddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddrError::Zone { off, zone } => write!(f, "{off:016x}: zone {zone} cannot be translated"),
            AddrError::Volume { off, vol, exists: false } => {
                write!(f, "{off:016x}: volume {vol} does not exist in this filesystem")
            }
            AddrError::Volume { off, vol, exists: true } => write!(f, "{off:016x}: volume {vol} is not present"),
            AddrError::Undo { off } => write!(f, "{off:016x}: outside the UNDO array"),
            AddrError::Range { off } => write!(f, "{off:016x}: outside its volume's buffer space"),
            AddrError::Read { off, err } => write!(f, "{off:016x}: {err}"),
            AddrError::NoLayer2 { off } => write!(f, "{off:016x}: no layer2 big-block in the freemap"),
        }
    }
}

/// One volume of the set.
pub struct Volume<'a> {
    /// Index of the member (path) it was read from.
    pub member: usize,
    pub dev: &'a Device,
    /// Its header as read (through the overlay when the header itself was undone).
    pub hdr: VolumeOndisk,
    /// The same header's bytes, for its CRC and the field table.
    pub raw: Vec<u8>,
}

impl Volume<'_> {
    /// `vol_buf_beg`, clamped to non-negative.
    pub fn buf_beg(&self) -> u64 {
        self.hdr.vol_buf_beg.get().max(0) as u64
    }
    /// `vol_buf_end`, clamped to non-negative.
    pub fn buf_end(&self) -> u64 {
        self.hdr.vol_buf_end.get().max(0) as u64
    }
    /// Bytes of zone-2 space, never more than the device holds: a hostile vol_buf_end must not
    /// make freemap walks cover petabytes.
    pub fn buf_size(&self) -> u64 {
        self.buf_end().min(self.dev.size()).saturating_sub(self.buf_beg())
    }
}

/// Something wrong with the set itself, found while opening it.
#[derive(Debug, Clone)]
pub struct SetProblem {
    pub member: usize,
    /// `signature`, `fstype`, `fsid`, `duplicate`, `vol_no`, `vol_count`, `rootvol`, `version`.
    pub what: &'static str,
    pub message: String,
}

/// A patch of old bytes restored by UNDO replay: reads of (vol, phys..) see `data`.
#[derive(Debug, Clone)]
pub struct Patch {
    pub vol: u32,
    pub phys: u64,
    pub data: Vec<u8>,
}

/// An opened HAMMER filesystem.
pub struct Fs<'a> {
    /// Volumes by vol_no.
    pub vols: BTreeMap<u32, Volume<'a>>,
    /// Volume 0's header: the `vol0_*` fields.
    pub root: VolumeOndisk,
    pub version: u32,
    pub vol_count: u32,
    pub problems: Vec<SetProblem>,
    patches: Vec<Patch>,
}

/// Reads a volume header from a device, through the replay patches of volume `vol`.
fn read_header(dev: &Device, patches: &[Patch]) -> Option<(VolumeOndisk, Vec<u8>)> {
    let mut b = dev.read(0, h::VOLUME_ONDISK_SIZE).ok()?.into_owned();
    let hdr = VolumeOndisk::read_from_bytes(&b).ok()?;
    let no = hdr.vol_no.get();
    if !patches.is_empty() && (0..h::MAX_VOLUMES as i32).contains(&no) {
        apply_patches(patches, no as u32, 0, &mut b);
        let hdr = VolumeOndisk::read_from_bytes(&b).ok()?;
        return Some((hdr, b));
    }
    Some((hdr, b))
}

impl<'a> Fs<'a> {
    /// Opens every member as a HAMMER volume; `Err` only when there is no usable root volume.
    pub fn open(set: &'a DeviceSet) -> Result<Self> {
        Self::open_with(set, Vec::new())
    }

    /// Opens the set with UNDO-replay patches applied to every read, headers included.
    pub fn open_with(set: &'a DeviceSet, patches: Vec<Patch>) -> Result<Self> {
        let mut vols = BTreeMap::new();
        let mut problems = Vec::new();
        for (i, m) in set.members.iter().enumerate() {
            let Member::Raw(dev) = m else {
                return Err(Error::Unsupported(format!("{}: not a raw HAMMER volume", m.path().display())));
            };
            let Some((hdr, raw)) = read_header(dev, &patches) else {
                problems.push(SetProblem { member: i, what: "signature", message: "volume header unreadable".into() });
                continue;
            };
            if hdr.vol_signature.get() != h::VOL_SIGNATURE {
                problems.push(SetProblem {
                    member: i,
                    what: "signature",
                    message: format!("vol_signature {:016x} is not HAMMER01", hdr.vol_signature.get()),
                });
                continue;
            }
            let vol_no = hdr.vol_no.get();
            if !(0..h::MAX_VOLUMES as i32).contains(&vol_no) {
                problems.push(SetProblem { member: i, what: "vol_no", message: format!("vol_no {vol_no} out of 0..255") });
                continue;
            }
            if vols.contains_key(&(vol_no as u32)) {
                problems.push(SetProblem {
                    member: i,
                    what: "duplicate",
                    message: format!("vol_no {vol_no} given twice"),
                });
                continue;
            }
            vols.insert(vol_no as u32, Volume { member: i, dev, hdr, raw });
        }
        let root = match vols.get(&0) {
            Some(v) => v.hdr,
            None => return Err(Error::Corrupt("no HAMMER root volume (vol_no 0) among the paths given".into())),
        };
        let version = root.vol_version.get();
        let vol_count = root.vol_count.get().clamp(0, h::MAX_VOLUMES as i32) as u32;
        let root_member = vols.get(&0).map_or(0, |v| v.member);
        for (&no, v) in &vols {
            let hd = &v.hdr;
            if hd.vol_fsid != root.vol_fsid {
                problems.push(SetProblem { member: v.member, what: "fsid", message: format!("volume {no}: vol_fsid differs from volume 0's") });
            }
            if hd.vol_fstype != h::FSTYPE_UUID {
                problems.push(SetProblem { member: v.member, what: "fstype", message: format!("volume {no}: vol_fstype is not the HAMMER uuid") });
            }
            if hd.vol_rootvol.get() != 0 {
                problems.push(SetProblem { member: v.member, what: "rootvol", message: format!("volume {no}: vol_rootvol is {}, must be 0", hd.vol_rootvol.get()) });
            }
            if hd.vol_count.get() != root.vol_count.get() {
                problems.push(SetProblem { member: v.member, what: "vol_count", message: format!("volume {no}: vol_count {} differs from volume 0's {}", hd.vol_count.get(), root.vol_count.get()) });
            }
            if no >= vol_count {
                problems.push(SetProblem { member: v.member, what: "vol_no", message: format!("volume {no}: vol_no not below vol_count {vol_count}") });
            }
            if hd.vol_version.get() != version {
                problems.push(SetProblem { member: v.member, what: "version", message: format!("volume {no}: vol_version {} differs from volume 0's {version}", hd.vol_version.get()) });
            }
        }
        if !(h::VOL_VERSION_MIN..=h::VOL_VERSION_MAX).contains(&version) {
            problems.push(SetProblem { member: root_member, what: "version", message: format!("vol_version {version} outside 1..7") });
        }
        if (vols.len() as u32) < vol_count {
            let missing: Vec<String> = (0..vol_count).filter(|n| !vols.contains_key(n)).map(|n| n.to_string()).collect();
            problems.push(SetProblem {
                member: root_member,
                what: "vol_count",
                message: format!("vol_count is {vol_count}; volume(s) {} not given", missing.join(", ")),
            });
        }
        Ok(Fs { vols, root, version, vol_count, problems, patches })
    }

    /// Whether UNDO replay patched anything.
    pub fn patched(&self) -> bool {
        !self.patches.is_empty()
    }

    fn volume(&self, off: u64, vol: u32) -> Result<&Volume<'a>, AddrError> {
        self.vols.get(&vol).ok_or(AddrError::Volume { off, vol, exists: vol < self.vol_count })
    }

    /// The zone-2 address of a zone-2, 3, 4 or 8-15 offset.
    pub fn to_zone2(&self, off: u64) -> Result<u64, AddrError> {
        match zone_of(off) {
            2 | 4 | 8..=15 => Ok((off & !h::OFF_ZONE_MASK) | (2u64 << 60)),
            3 => {
                let idx = ((off & h::OFF_SHORT_MASK) >> 23) as usize;
                let base = self.root.vol0_undo_array.get(idx).map(|v| v.get()).ok_or(AddrError::Undo { off })?;
                if base == h::BLOCKMAP_UNAVAIL || zone_of(base) != 2 || off & h::OFF_VOL_MASK != 0 {
                    return Err(AddrError::Undo { off });
                }
                Ok(base.checked_add(off & h::BIGBLOCK_MASK).ok_or(AddrError::Undo { off })?)
            }
            zone => Err(AddrError::Zone { off, zone }),
        }
    }

    /// (volume, physical byte offset) of `len` bytes at `off`, bounds-checked against the volume.
    pub fn to_phys(&self, off: u64, len: u64) -> Result<(u32, u64), AddrError> {
        if zone_of(off) == 1 {
            let vol = vol_of(off);
            let v = self.volume(off, vol)?;
            let phys = off & h::OFF_SHORT_MASK;
            if phys.checked_add(len).is_none_or(|e| e > v.dev.size()) {
                return Err(AddrError::Range { off });
            }
            return Ok((vol, phys));
        }
        let z2 = self.to_zone2(off)?;
        let vol = vol_of(z2);
        let v = self.volume(off, vol)?;
        let short = z2 & h::OFF_SHORT_MASK;
        if short.checked_add(len).is_none_or(|e| e > v.buf_size()) {
            return Err(AddrError::Range { off });
        }
        Ok((vol, v.buf_beg() + short))
    }

    /// Reads `len` bytes at a zone-encoded offset, through the replay overlay.
    pub fn read(&self, off: u64, len: usize) -> Result<Cow<'a, [u8]>, AddrError> {
        let (vol, phys) = self.to_phys(off, len as u64)?;
        let dev = self.volume(off, vol)?.dev;
        let b = dev.read(phys, len).map_err(|err| AddrError::Read { off, err })?;
        if self.patches.iter().any(|p| p.vol == vol && overlaps(p, phys, len)) {
            let mut owned = b.into_owned();
            apply_patches(&self.patches, vol, phys, &mut owned);
            return Ok(Cow::Owned(owned));
        }
        Ok(b)
    }

    /// The layer1 entry covering `off`: (its zone-2 address, the entry).
    pub fn layer1(&self, off: u64) -> Result<(u64, Layer1), AddrError> {
        let base = self.root.vol0_blockmap[h::ZONE_FREEMAP as usize].phys_offset.get();
        let addr = base
            .checked_add(layer1_index(off) * h::LAYER1_SIZE)
            .ok_or(AddrError::Range { off: base })?;
        let b = self.read(addr, h::LAYER1_SIZE as usize)?;
        let l1 = Layer1::read_from_bytes(&b).map_err(|_| AddrError::Range { off: addr })?;
        Ok((addr, l1))
    }

    /// The layer2 entry of the big-block holding `off`: (its zone-2 address, layer1, layer2).
    pub fn layer2(&self, off: u64) -> Result<(u64, Layer1, Layer2), AddrError> {
        let (_, l1) = self.layer1(off)?;
        let base = l1.phys_offset.get();
        if base == h::BLOCKMAP_UNAVAIL {
            return Err(AddrError::NoLayer2 { off });
        }
        let addr = base
            .checked_add(layer2_index(off) * h::LAYER2_SIZE)
            .ok_or(AddrError::Range { off: base })?;
        let b = self.read(addr, h::LAYER2_SIZE as usize)?;
        let l2 = Layer2::read_from_bytes(&b).map_err(|_| AddrError::Range { off: addr })?;
        Ok((addr, l1, l2))
    }

    /// The UNDO FIFO's size: `alloc_offset`'s short part, bounded by the UNDO array.
    pub fn undo_size(&self) -> u64 {
        let bm = &self.root.vol0_blockmap[h::ZONE_UNDO as usize];
        (bm.alloc_offset.get() & h::OFF_SHORT_MASK).min(h::MAX_UNDO_BIGBLOCKS as u64 * h::BIGBLOCK_SIZE)
    }

    /// The label of volume 0, without NUL padding.
    pub fn label(&self) -> &[u8] {
        trim_nul(&self.root.vol_label)
    }

    /// Whether datacrc CRCs of this filesystem are CRC-32C.
    pub fn version(&self) -> u32 {
        self.version
    }
}

fn overlaps(p: &Patch, phys: u64, len: usize) -> bool {
    let pe = p.phys.saturating_add(p.data.len() as u64);
    let e = phys.saturating_add(len as u64);
    p.phys < e && phys < pe
}

/// Copies every patch of `vol` that overlaps `buf` (which starts at `phys`) into it, in order, so
/// that a later patch (an older UNDO record, replayed later) wins.
fn apply_patches(patches: &[Patch], vol: u32, phys: u64, buf: &mut [u8]) {
    let len = buf.len();
    for p in patches.iter().filter(|p| p.vol == vol && overlaps(p, phys, len)) {
        let start = p.phys.max(phys);
        let end = p.phys.saturating_add(p.data.len() as u64).min(phys.saturating_add(buf.len() as u64));
        // Both ranges contain [start, end): the subtractions cannot underflow.
        let (bs, ps) = ((start - phys) as usize, (start - p.phys) as usize);
        let n = (end - start) as usize;
        buf[bs..bs + n].copy_from_slice(&p.data[ps..ps + n]);
    }
}

/// Bytes up to the first NUL.
pub fn trim_nul(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    &b[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_fields() {
        let off = 0x9050_0000_0280_0080u64;
        assert_eq!(zone_of(off), 9);
        assert_eq!(vol_of(off), 5);
        assert_eq!(bigblock_of(off), 0x2050_0000_0280_0000);
        assert_eq!(layer1_index(0x2010_0000_0000_0000), 1024);
        assert_eq!(layer2_index(0x9000_0000_0280_0000), 5);
        assert_eq!(align16(292), 304);
    }

    #[test]
    fn patches_apply_in_order() {
        let ps = vec![
            Patch { vol: 0, phys: 10, data: vec![1; 4] },
            Patch { vol: 0, phys: 12, data: vec![2; 4] },
            Patch { vol: 1, phys: 0, data: vec![9; 100] },
        ];
        let mut b = vec![0u8; 8];
        apply_patches(&ps, 0, 8, &mut b);
        assert_eq!(b, [0, 0, 1, 1, 2, 2, 2, 2]);
    }
}
