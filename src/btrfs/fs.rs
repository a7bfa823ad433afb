//! An opened btrfs filesystem: the chosen superblock, the devices by devid, the chunk map, and
//! reading tree blocks by logical address with mirror fallback.

use super::chunk_map::{ChunkInfo, ChunkMap, PhysPiece};
use super::csum::CsumType;
use super::node::Node;
use super::superblock::{self, SuperCopy};
use crate::image::{Device, DeviceSet, Member, Metadump, ReadError};
use crate::{Error, Result};
use ondisk_layouts::btrfs::*;
use std::borrow::Cow;
use zerocopy::FromBytes;
use std::collections::{BTreeMap, HashSet};

/// One device of the filesystem as found among the paths.
pub struct FsDevice<'a> {
    pub devid: u64,
    pub dev: &'a Device,
    /// Every superblock copy read from it.
    pub copies: Vec<SuperCopy>,
    /// The copy chosen on this device, and why.
    pub chosen: Option<usize>,
    pub reason: String,
    /// A seed device: its superblock is its own read-only seed filesystem's (another fsid,
    /// an older generation), and the filesystem checked is a sprout of it.
    pub seed: bool,
}

/// An opened btrfs filesystem.
pub struct Filesystem<'a> {
    /// Devices present, by devid.
    pub devices: BTreeMap<u64, FsDevice<'a>>,
    /// The metadump the filesystem came from, when it did.
    pub metadump: Option<&'a Metadump>,
    /// The superblock in use (newest valid copy over all devices).
    pub sb: SuperCopy,
    /// Why that copy.
    pub sb_reason: String,
    pub csum: Option<CsumType>,
    pub nodesize: u32,
    pub sectorsize: u32,
    pub chunks: ChunkMap,
    /// Problems met while bootstrapping (bad sys_chunk_array entries, unreadable chunk tree).
    pub problems: Vec<String>,
    /// The fsids of the seed filesystems given beside a sprout: their blocks carry these.
    pub seed_fsids: Vec<[u8; 16]>,
    /// Who the chunk tree's DEV_ITEMs say the devices are, present or not (a sprout's name its
    /// seed devices with the seeds' fsids).
    pub dev_items: Vec<DevItemId>,
    /// Whether every chunk tree block was read, so that `dev_items` names every device.
    pub chunk_tree_whole: bool,
}

/// One copy of a logical range: its bytes, or why they could not be read.
pub type CopyRead<'a> = Result<Cow<'a, [u8]>, ReadError>;

/// A tree block as read, with what its verification said.
pub struct Block<'a> {
    pub node: Node<'a>,
    pub bytenr: u64,
    /// Which copy it came from.
    pub mirror: usize,
    /// Checksum good on this copy.
    pub csum_ok: bool,
    /// Copies tried before this one, with why each was passed over.
    pub rejected: Vec<Rejected>,
}

/// Why one copy of a block was passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The copy could not be read (missing device, past the end, I/O error).
    Read(ReadError),
    /// Fewer bytes than a block header.
    Short,
    /// Its checksum does not match.
    Checksum,
    /// It says it is another block.
    Bytenr,
}

/// A copy passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub mirror: usize,
    pub why: Rejection,
    /// The copy was rebuilt from RAID5/6 parity, not read as stored.
    pub rebuilt: bool,
}

impl Rejected {
    /// The copy was read but its contents are wrong (as opposed to unreadable).
    pub fn is_bad_copy(&self) -> bool {
        matches!(self.why, Rejection::Checksum | Rejection::Bytenr)
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.rebuilt {
            f.write_str("rebuilt from parity: ")?;
        }
        match &self.why {
            Rejection::Read(e) => write!(f, "{e}"),
            Rejection::Short => f.write_str("short read"),
            Rejection::Checksum => f.write_str("checksum mismatch"),
            Rejection::Bytenr => f.write_str("bytenr mismatch"),
        }
    }
}

/// Why a block could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("logical {0} is not mapped by any chunk")]
    Unmapped(u64),
    #[error("block {bytenr}: no copy could be read: {why}")]
    Unreadable { bytenr: u64, why: String },
}

impl<'a> Filesystem<'a> {
    /// Opens the filesystem on a device set: picks the superblock, builds the chunk map.
    ///
    /// Paths of several filesystems are a sprout with its seeds. The sprout is the filesystem
    /// whose chunk tree names every other path as one of its seed devices; the candidates are
    /// tried in order of likelihood (see `rank`), so the order of the paths never decides, and
    /// a damaged superblock field cannot make a seed pass for its sprout.
    pub fn open(set: &'a DeviceSet) -> Result<Self> {
        let read: Vec<(&Member, Vec<SuperCopy>, superblock::Choice)> = set
            .members
            .iter()
            .map(|m| {
                let copies = match m {
                    Member::Metadump(md) => superblock::read_metadump_copy(md).into_iter().collect::<Vec<_>>(),
                    Member::Raw(dev) => superblock::read_copies(dev),
                };
                let choice = superblock::choose(&copies);
                (m, copies, choice)
            })
            .collect();
        // Per filesystem, its best chosen copy (the first of equals), and why; the filesystems
        // in order of rank: one that is not a seed first (a sprout is written to, its seeds
        // are not), then the newest (a sprout carries on its seed's generation count, and a
        // sprout made a seed in turn is newer than its own seeds), then the one with more
        // devices (a sprout counts its seeds'), then the greater fsid.
        let rank = |c: &SuperCopy| {
            let sb = c.sb();
            (sb.flags.get() & SUPER_FLAG_SEEDING == 0, sb.generation.get(), sb.num_devices.get(), sb.fsid)
        };
        let mut candidates: Vec<(SuperCopy, String)> = Vec::new();
        for (m, copies, choice) in &read {
            let Some(c) = choice.index.and_then(|i| copies.get(i)) else { continue };
            let reason = format!("{}: {}", m.path().display(), choice.reason);
            match candidates.iter_mut().find(|(b, _)| b.sb().fsid == c.sb().fsid) {
                Some(b) if rank(c) > rank(&b.0) => *b = (c.clone(), reason),
                Some(_) => {}
                None => candidates.push((c.clone(), reason)),
            }
        }
        candidates.sort_by_key(|(c, _)| std::cmp::Reverse(rank(c)));
        let mut first_error = None;
        for best in candidates {
            match Self::open_as(&read, Some(best)) {
                Ok(fs) => return Ok(fs),
                // Another path that is not this candidate's seed: perhaps it is the sprout.
                Err(e @ Error::Usage(_)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => return Err(first_error.unwrap_or(e)),
            }
        }
        match first_error {
            Some(e) => Err(e),
            // No member has a valid superblock: say which.
            None => Self::open_as(&read, None),
        }
    }

    /// Opens the set as the filesystem of superblock `best`: every path of another fsid must
    /// be one of its seed devices.
    fn open_as(read: &[(&'a Member, Vec<SuperCopy>, superblock::Choice)], best: Option<(SuperCopy, String)>) -> Result<Self> {
        let mut devices: BTreeMap<u64, FsDevice> = BTreeMap::new();
        let mut metadump = None;
        let newest = best.as_ref().map(|(b, _)| b.sb().fsid);
        let mut read: Vec<&(&'a Member, Vec<SuperCopy>, superblock::Choice)> = read.iter().collect();
        // The filesystem's own paths first, so that a seed path claiming one of their devids is
        // the one set aside.
        read.sort_by_key(|(_, copies, choice)| choice.index.and_then(|i| copies.get(i)).map(|c| c.sb().fsid) != newest);
        // Seed paths whose devid another path of another fsid holds already: the chunk tree names
        // one device per devid, so at most one of them can be a seed of this filesystem.
        let mut set_aside = Vec::new();
        for &(m, ref copies, ref choice) in read {
            if let Member::Metadump(md) = m {
                metadump = Some(md);
            }
            let Some(i) = choice.index else {
                return Err(Error::Corrupt(format!("{}: {}", m.path().display(), choice.reason)));
            };
            let copy = copies[i].clone();
            let seed = Some(copy.sb().fsid) != newest;
            if seed && (copy.sb().flags.get() & SUPER_FLAG_SEEDING == 0 || metadump.is_some()) {
                return Err(another_filesystem(m.path(), &copy.sb().fsid));
            }
            if let Member::Raw(dev) = m {
                let devid = copy.sb().dev_item.devid.get();
                if let Some(other) = devices.get(&devid) {
                    if (other.seed || seed) && other.chosen_copy().map(|c| c.sb().fsid) != Some(copy.sb().fsid) {
                        set_aside.push(another_filesystem(m.path(), &copy.sb().fsid));
                        continue;
                    }
                    return Err(twice(devid, other.dev.path(), m.path()));
                }
                devices.insert(devid, FsDevice { devid, dev, copies: copies.clone(), chosen: Some(i), reason: choice.reason.clone(), seed });
            }
        }
        let (sb, sb_reason) = best.ok_or_else(|| Error::Usage("no device given".into()))?;
        let s = sb.sb();
        let nodesize = s.nodesize.get();
        let sectorsize = s.sectorsize.get();
        if !(4096..=65536).contains(&nodesize) || !nodesize.is_power_of_two() {
            return Err(Error::Corrupt(format!("superblock nodesize {nodesize} is not a power of two in 4K..64K")));
        }
        let mut fs = Filesystem {
            devices,
            metadump,
            csum: sb.csum_type(),
            nodesize,
            sectorsize,
            sb_reason,
            sb,
            chunks: ChunkMap::default(),
            problems: Vec::new(),
            seed_fsids: Vec::new(),
            dev_items: Vec::new(),
            chunk_tree_whole: false,
        };
        let sys_len = (fs.sb.sb().sys_chunk_array_size.get() as usize).min(superblock_sys_array_max());
        let array = fs.sb.sb().sys_chunk_array[..sys_len].to_vec();
        fs.problems = fs.chunks.load_sys_array(&array);
        let (dev_items, whole) = fs.load_chunk_tree();
        fs.check_chunk_geometry();
        fs.confirm_seeds(&dev_items, whole)?;
        fs.dev_items = dev_items;
        fs.chunk_tree_whole = whole;
        match set_aside.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(fs),
        }
    }

    /// Every seed path given must be a device the sprout's chunk tree names, by devid, device
    /// uuid and fsid (the kernel opens seeds that way, `open_seed_devices`); anything else is a
    /// path of another filesystem.
    ///
    /// Only a chunk tree read `whole` (every block found, with a good checksum, at its address)
    /// can say that a seeding path is not one of its devices. When it could not be read, the
    /// device items that would name the seeds are lost or untrustworthy: the filesystem is
    /// damaged, not the set of paths, and its seeds are taken on their SEEDING flag so that the
    /// check reports the damage (a sprout given alone with the same chunk tree does).
    fn confirm_seeds(&mut self, dev_items: &[DevItemId], whole: bool) -> Result<()> {
        for d in self.devices.values().filter(|d| d.seed) {
            let Some(copy) = d.chosen_copy() else { continue };
            let di = &copy.sb().dev_item;
            let named = (d.devid, di.uuid, copy.sb().fsid);
            if whole && !dev_items.contains(&named) {
                return Err(another_filesystem(d.dev.path(), &copy.sb().fsid));
            }
            if !self.seed_fsids.contains(&named.2) {
                self.seed_fsids.push(named.2);
            }
        }
        Ok(())
    }

    /// What the kernel's tree-checker demands of every chunk beyond what mapping needs
    /// (`btrfs_check_chunk_valid`): the filesystem's sector size, the fixed 64 KiB stripe
    /// length, and a type of known bits with one of DATA, METADATA, SYSTEM (SYSTEM alone). Such
    /// a chunk is still mapped, so that one bad field does not hide the chunk's contents.
    fn check_chunk_geometry(&mut self) {
        let sectorsize = self.sb.sb().sectorsize.get();
        let mut problems = Vec::new();
        for c in self.chunks.chunks() {
            if c.sector_size != sectorsize {
                problems.push(format!("chunk at {}: sector_size {} is not the filesystem's {sectorsize} (btrfs check: \"invalid chunk sectorsize\")", c.logical, c.sector_size));
            }
            if c.stripe_len != STRIPE_LEN {
                problems.push(format!("chunk at {}: stripe_len {} is not {STRIPE_LEN}", c.logical, c.stripe_len));
            }
            let unknown = c.type_ & !(BLOCK_GROUP_TYPE_MASK | BLOCK_GROUP_PROFILE_MASK);
            if unknown != 0 {
                problems.push(format!("chunk at {}: type {:#x} has bits {unknown:#x} no chunk type has (btrfs check: \"unrecognized chunk type\")", c.logical, c.type_));
            }
            if c.type_ & BLOCK_GROUP_TYPE_MASK == 0 {
                problems.push(format!("chunk at {}: type {:#x} is none of DATA, METADATA, SYSTEM", c.logical, c.type_));
            } else if c.type_ & BLOCK_GROUP_SYSTEM != 0 && c.type_ & (BLOCK_GROUP_DATA | BLOCK_GROUP_METADATA) != 0 {
                problems.push(format!("chunk at {}: type {:#x} is SYSTEM and DATA or METADATA", c.logical, c.type_));
            }
        }
        self.problems.extend(problems);
    }

    /// Adds every CHUNK_ITEM of the chunk tree to the map (the sys array only maps SYSTEM
    /// chunks), and returns who its device items say the devices are, and whether the tree was
    /// read whole (see [`Filesystem::confirm_seeds`]).
    fn load_chunk_tree(&mut self) -> (Vec<DevItemId>, bool) {
        let sb = self.sb.sb();
        let (found, dev_items, mut problems, whole) = self.chunks_of_tree(sb.chunk_root.get(), sb.chunk_root_level);
        for c in found {
            if let Err(e) = self.chunks.insert(c) {
                // The same chunk in both the sys array and the tree is normal; only real clashes.
                problems.push(format!("chunk tree: {}", e.0));
            }
        }
        self.problems.extend(problems);
        (dev_items, whole)
    }

    /// Every CHUNK_ITEM of the chunk tree rooted at `root`, who its device items name, the
    /// problems met reading it, and whether every block of it was read and verified.
    fn chunks_of_tree(&self, root: u64, level: u8) -> (Vec<ChunkInfo>, Vec<DevItemId>, Vec<String>, bool) {
        let mut found = Vec::new();
        let mut dev_items = Vec::new();
        let mut problems = Vec::new();
        let mut whole = true;
        super::walk::walk_tree(self, root, Some(level), &mut |ev| match ev {
            super::walk::Event::Block(b, _) => {
                whole &= b.csum_ok && b.node.header().bytenr.get() == b.bytenr;
                for item in b.node.items() {
                    if item.key.type_ == DEV_ITEM_KEY {
                        let data = b.node.item_data(item).ok();
                        if let Some((d, _)) = data.and_then(|data| DevItem::ref_from_prefix(data).ok()) {
                            dev_items.push((d.devid.get(), d.uuid, d.fsid));
                        }
                        continue;
                    }
                    if item.key.type_ != CHUNK_ITEM_KEY {
                        continue;
                    }
                    match b.node.item_data(item) {
                        Ok(data) => match ChunkInfo::parse(item.key.offset.get(), data) {
                            Ok((c, _)) => found.push(c),
                            Err(e) => problems.push(format!("chunk tree: {}", e.0)),
                        },
                        Err(_) => problems.push(format!("chunk tree: item data of chunk {} outside its block", item.key.offset.get())),
                    }
                }
            }
            super::walk::Event::Error { bytenr, error, .. } => {
                whole = false;
                problems.push(format!("chunk tree block {bytenr}: {error}"));
            }
        });
        (found, dev_items, problems, whole)
    }

    /// Adds the chunks of an older chunk tree (a backup root's) where the current map has none:
    /// the way in to trees written before a chunk was removed, or past a damaged chunk tree.
    /// Returns how many chunks were added and the problems met reading that tree.
    pub fn add_older_chunk_tree(&mut self, root: u64, level: u8) -> (usize, Vec<String>) {
        let (found, _, problems, _) = self.chunks_of_tree(root, level);
        // Overlaps are expected (the current map wins): only chunks filling a hole are added.
        let added = found.into_iter().filter(|c| self.chunks.insert(c.clone()).is_ok()).count();
        (added, problems)
    }

    /// Reads the bytes of one copy of a logical range.
    fn read_copy(&self, pieces: &[PhysPiece]) -> Result<Cow<'a, [u8]>, ReadError> {
        let read_piece = |p: &PhysPiece| -> Result<Cow<'a, [u8]>, ReadError> {
            let d = self
                .devices
                .get(&p.devid)
                .ok_or_else(|| ReadError::Absent(format!("device {} is missing", p.devid)))?;
            d.dev.read(p.physical, p.len as usize)
        };
        match pieces {
            [one] => read_piece(one),
            many => {
                let mut buf = Vec::new();
                for p in many {
                    buf.extend_from_slice(&read_piece(p)?);
                }
                Ok(Cow::Owned(buf))
            }
        }
    }

    /// Every copy of a logical range, read (or why not).
    pub fn read_logical_copies(&self, logical: u64, len: usize) -> Result<Vec<CopyRead<'a>>, BlockError> {
        if let Some(md) = self.metadump {
            return Ok(vec![md.read_logical(logical, len)]);
        }
        let copies = self.chunks.map(logical, len as u64).ok_or(BlockError::Unmapped(logical))?;
        Ok(copies.iter().map(|c| self.read_copy(c)).collect())
    }

    /// A block [`Filesystem::read_block`] returned before, read again from the copy it chose
    /// (`mirror`, `csum_ok` as it said) without checksumming it again: a snapshot's walk meets
    /// each shared block once per snapshot, and the bytes of an image opened read-only do not
    /// change. A copy rebuilt from parity is rebuilt (and verified) again.
    pub fn read_block_again(&self, bytenr: u64, mirror: usize, csum_ok: bool) -> Result<Block<'a>, BlockError> {
        let n = self.nodesize as usize;
        let mut copies = self.read_logical_copies(bytenr, n)?;
        if mirror >= copies.len() {
            return self.read_block(bytenr);
        }
        let bytes = copies.swap_remove(mirror).map_err(|e| BlockError::Unreadable { bytenr, why: format!("copy {mirror}: {e}") })?;
        let node = Node::new(bytes).ok_or(BlockError::Unreadable { bytenr, why: format!("copy {mirror}: short") })?;
        Ok(Block { node, bytenr, mirror, csum_ok, rejected: Vec::new() })
    }

    /// Reads and verifies one tree block: the first copy whose checksum and bytenr are good,
    /// else the first copy that could be read at all (marked bad), else an error.
    pub fn read_block(&self, bytenr: u64) -> Result<Block<'a>, BlockError> {
        let n = self.nodesize as usize;
        let copies = self.read_logical_copies(bytenr, n)?;
        let rebuilt = copies.len();
        // RAID5/6 store one copy: when it is unreadable or bad, it is rebuilt from the row's other
        // data stripes and P, as the kernel does for a degraded array. `once_with` keeps that
        // lazy: the whole row is read only when every stored copy has failed.
        let rebuild = std::iter::once_with(|| self.rebuild_from_parity(bytenr, n)).flatten();
        let mut rejected = Vec::new();
        let mut fallback = None;
        for (mirror, c) in copies.into_iter().chain(rebuild).enumerate() {
            let bytes = match c {
                Ok(b) => b,
                Err(e) => {
                    rejected.push(Rejected { mirror, why: Rejection::Read(e), rebuilt: mirror == rebuilt });
                    continue;
                }
            };
            let Some(node) = Node::new(bytes) else {
                rejected.push(Rejected { mirror, why: Rejection::Short, rebuilt: mirror == rebuilt });
                continue;
            };
            let csum_ok = self.csum.is_some_and(|t| t.verify(&node.header().csum, &node.bytes()[32..]));
            let bytenr_ok = node.header().bytenr.get() == bytenr;
            if csum_ok && bytenr_ok {
                return Ok(Block { node, bytenr, mirror, csum_ok, rejected });
            }
            let why = if !csum_ok { Rejection::Checksum } else { Rejection::Bytenr };
            rejected.push(Rejected { mirror, why, rebuilt: mirror == rebuilt });
            if fallback.is_none() {
                fallback = Some((node, mirror, csum_ok));
            }
        }
        match fallback {
            Some((node, mirror, csum_ok)) => Ok(Block { node, bytenr, mirror, csum_ok, rejected }),
            None => Err(BlockError::Unreadable {
                bytenr,
                why: rejected.iter().map(|r| format!("copy {}: {r}", r.mirror)).collect::<Vec<_>>().join("; "),
            }),
        }
    }

    /// For a range in a RAID5/6 chunk: its bytes rebuilt from the rest of each row — XOR of the
    /// other data stripes and P; for RAID6 also from Q when P or a second data stripe is
    /// unreadable too. `None` for other profiles or a range outside one chunk.
    pub fn rebuild_from_parity(&self, logical: u64, len: usize) -> Option<CopyRead<'a>> {
        if self.metadump.is_some() {
            return None;
        }
        let chunk = self.chunks.lookup(logical)?;
        let rows = chunk.row_pieces(logical, len as u64)?;
        let mut out = Vec::with_capacity(len);
        for row in rows {
            match self.rebuild_piece(&row) {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(Cow::Owned(out)))
    }

    /// Rebuilds `row.data[row.col]` from what of the row can be read.
    fn rebuild_piece(&self, row: &super::chunk_map::RowPieces) -> Result<Vec<u8>, ReadError> {
        let read = |p: &PhysPiece| self.read_copy(std::slice::from_ref(p));
        let take = row.p.len as usize;
        // The data columns other than the target, read (or why not).
        let others: Vec<(usize, CopyRead<'a>)> =
            row.data.iter().enumerate().filter(|(j, _)| *j != row.col).map(|(j, p)| (j, read(p))).collect();
        let p = read(&row.p);
        let failed: Vec<usize> = others.iter().filter(|(_, r)| r.is_err()).map(|(j, _)| *j).collect();
        if failed.is_empty() {
            if let Ok(pb) = &p {
                // RAID5 and RAID6 alike: D = P ^ (xor of the other data).
                let mut acc = pb.to_vec();
                for (_, r) in &others {
                    if let Ok(b) = r {
                        xor_into(&mut acc, b);
                    }
                }
                return Ok(acc);
            }
        }
        let first_error = || {
            others.iter().find_map(|(_, r)| r.as_ref().err().cloned()).or_else(|| p.as_ref().err().cloned())
        };
        let Some(qp) = &row.q else {
            return Err(first_error().unwrap_or_else(|| ReadError::Absent("parity unreadable".into())));
        };
        let q = read(qp)?;
        let x = row.col;
        // Q minus the readable data columns: what the missing columns contribute.
        let mut qx = q.to_vec();
        for (j, r) in &others {
            if let Ok(b) = r {
                gf::mul_xor_into(&mut qx, b, gf::pow2(*j));
            }
        }
        match (failed.as_slice(), &p) {
            // Target and P missing: Q' = g^x·Dx.
            ([], Err(_)) => {
                let inv = gf::inv(gf::pow2(x));
                Ok(qx.iter().map(|&b| gf::mul(b, inv)).collect())
            }
            // Target and one more data column y missing: solve with P and Q.
            ([y], Ok(pb)) => {
                let y = *y;
                let mut pxy = pb.to_vec();
                for (_, r) in &others {
                    if let Ok(b) = r {
                        xor_into(&mut pxy, b);
                    }
                }
                // Dx ^ Dy = Pxy, g^x·Dx ^ g^y·Dy = Qxy  =>  Dx = (g^y·Pxy ^ Qxy) / (g^x ^ g^y).
                let (gx, gy) = (gf::pow2(x), gf::pow2(y));
                let denom = gf::inv(gx ^ gy);
                Ok((0..take).map(|i| gf::mul(gf::mul(gy, pxy[i]) ^ qx[i], denom)).collect())
            }
            _ => Err(first_error().unwrap_or_else(|| ReadError::Absent("too many stripes of the row unreadable".into()))),
        }
    }

    /// The uuid every tree block header and device's dev_item carry: metadata_uuid with the
    /// METADATA_UUID feature (an fsid changed without rewriting the metadata), else the fsid.
    pub fn metadata_uuid(&self) -> [u8; 16] {
        metadata_uuid_of(self.sb.sb())
    }

    /// Devids named by chunk stripes that are not among the devices given.
    pub fn missing_devids(&self) -> Vec<u64> {
        if self.metadump.is_some() {
            return Vec::new();
        }
        let mut seen = HashSet::new();
        let mut missing: Vec<u64> = self
            .chunks
            .chunks()
            .flat_map(|c| c.stripes.iter().map(|s| s.devid))
            .filter(|d| !self.devices.contains_key(d) && seen.insert(*d))
            .collect();
        missing.sort_unstable();
        missing
    }
}

fn xor_into(acc: &mut [u8], b: &[u8]) {
    for (a, x) in acc.iter_mut().zip(b) {
        *a ^= x;
    }
}

/// GF(2^8) with the RAID6 polynomial x^8+x^4+x^3+x^2+1 (0x11d) and generator 2, as the
/// kernel's lib/raid6 computes Q = sum of g^i·D_i over the data columns i.
mod gf {
    const fn tables() -> ([u8; 256], [u8; 256]) {
        let mut exp = [0u8; 256];
        let mut log = [0u8; 256];
        let mut x: u16 = 1;
        let mut i = 0;
        while i < 255 {
            exp[i] = x as u8;
            log[x as usize] = i as u8;
            x <<= 1;
            if x & 0x100 != 0 {
                x ^= 0x11d;
            }
            i += 1;
        }
        exp[255] = exp[0];
        (exp, log)
    }
    const T: ([u8; 256], [u8; 256]) = tables();

    pub fn mul(a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            return 0;
        }
        T.0[(T.1[a as usize] as usize + T.1[b as usize] as usize) % 255]
    }

    /// 2^i.
    pub fn pow2(i: usize) -> u8 {
        T.0[i % 255]
    }

    /// The inverse of a non-zero element (0 maps to 0, never used as a divisor here: g^x ^ g^y
    /// is non-zero for x != y < 255).
    pub fn inv(a: u8) -> u8 {
        if a == 0 {
            return 0;
        }
        T.0[(255 - T.1[a as usize] as usize) % 255]
    }

    /// acc ^= c·b, bytewise.
    pub fn mul_xor_into(acc: &mut [u8], b: &[u8], c: u8) {
        for (a, x) in acc.iter_mut().zip(b) {
            *a ^= mul(*x, c);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn field_laws() {
            for a in 1..=255u8 {
                assert_eq!(mul(a, inv(a)), 1);
            }
            assert_eq!(mul(2, 0x80), 0x1d);
            assert_eq!(pow2(8), 0x1d);
        }
    }
}

fn superblock_sys_array_max() -> usize {
    ondisk_layouts::btrfs::superblock::SYSTEM_CHUNK_ARRAY_SIZE
}

impl Filesystem<'_> {
    /// Unmaps the image pages the walk mapped (see [`Device::release_pages`]).
    pub fn release_pages(&self) {
        for d in self.devices.values() {
            d.dev.release_pages();
        }
    }

    /// Asks the kernel to read the first copy of these tree blocks ahead (every copy with
    /// `every_copy`, for `--all-copies`), in disk order, adjacent blocks merged into one request.
    /// The walk announces a node's children when it reads the node, long before it visits them
    /// (breadth first); handing the device what has been announced sorted by position, rather
    /// than in the walk's key order, lets it stream.
    pub fn will_need_blocks(&self, bytenrs: &[u64], every_copy: bool) {
        let n = u64::from(self.nodesize);
        let copies = if every_copy { usize::MAX } else { 1 };
        let mut pieces: Vec<(u64, u64, u64)> = bytenrs
            .iter()
            .filter_map(|&b| self.chunks.map(b, n))
            .flat_map(|c| c.into_iter().take(copies).filter_map(|copy| copy.into_iter().next()))
            .map(|p| (p.devid, p.physical, p.len))
            .collect();
        pieces.sort_unstable();
        let mut run: Option<(u64, u64, u64)> = None; // (devid, physical, len)
        let flush = |r: (u64, u64, u64)| {
            if let Some(d) = self.devices.get(&r.0) {
                d.dev.will_need(r.1, r.2);
            }
        };
        for (devid, physical, piece) in pieces {
            match &mut run {
                Some((dev, phys, len)) if *dev == devid && *phys + *len == physical && *len < READ_AHEAD_RUN => *len += piece,
                _ => {
                    if let Some(r) = run.take() {
                        flush(r);
                    }
                    run = Some((devid, physical, piece));
                }
            }
        }
        if let Some(r) = run {
            flush(r);
        }
    }

    /// Asks the kernel to read every copy of a logical range ahead (file data about to be
    /// verified against its csums). A hint only: unmapped ranges and missing devices are skipped.
    pub fn will_need_logical(&self, logical: u64, len: u64) {
        if self.metadump.is_some() {
            return;
        }
        for piece in self.chunks.map(logical, len).into_iter().flatten().flatten() {
            if let Some(d) = self.devices.get(&piece.devid) {
                d.dev.will_need(piece.physical, piece.len);
            }
        }
    }
}

/// The longest run of adjacent blocks announced at once (the device hands it to the kernel in
/// smaller pieces, see [`crate::image::Device::will_need`]).
const READ_AHEAD_RUN: u64 = 2 << 20;

/// The uuid a superblock's tree blocks and dev_item carry: metadata_uuid with the
/// METADATA_UUID feature, else the fsid.
pub fn metadata_uuid_of(sb: &SuperBlock) -> [u8; 16] {
    if sb.incompat_flags.get() & FEATURE_INCOMPAT_METADATA_UUID != 0 { sb.metadata_uuid } else { sb.fsid }
}

impl FsDevice<'_> {
    /// The superblock copy chosen on this device.
    pub fn chosen_copy(&self) -> Option<&SuperCopy> {
        self.chosen.and_then(|i| self.copies.get(i))
    }
}

/// A device as a DEV_ITEM names it: (devid, device uuid, fsid).
pub type DevItemId = (u64, [u8; 16], [u8; 16]);

fn another_filesystem(path: &std::path::Path, fsid: &[u8; 16]) -> Error {
    Error::Usage(format!("{}: belongs to another filesystem (fsid {})", path.display(), crate::detect::uuid_text(fsid)))
}

/// Two members claiming one devid: the same file named twice is the caller's mistake; two
/// different files (an image copied, or a devid overwritten) are a set the filesystem cannot be
/// read from.
fn twice(devid: u64, first: &std::path::Path, second: &std::path::Path) -> Error {
    use std::os::unix::fs::MetadataExt;
    let id = |p: &std::path::Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    if id(first).is_some() && id(first) == id(second) {
        Error::Usage(format!("{}: given twice", second.display()))
    } else {
        Error::Corrupt(format!("{} and {} both claim devid {devid}", first.display(), second.display()))
    }
}
