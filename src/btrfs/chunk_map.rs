//! Logical → physical: the chunk map, bootstrapped from the superblock's sys_chunk_array and
//! completed from the chunk tree.
//!
//! Every profile is mapped: single, DUP, RAID0, RAID1, RAID1C3, RAID1C4, RAID10, RAID5, RAID6.
//! A logical range maps to one or more *copies* (mirrors); each copy is a list of physical pieces
//! (a range can cross a stripe boundary). RAID5/6 have one copy (the data stripe); parity is
//! reported separately where a caller wants it.

use ondisk_layouts::btrfs::*;
use std::collections::BTreeMap;
use zerocopy::FromBytes;

/// One stripe of a chunk: where on which device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripeInfo {
    pub devid: u64,
    pub offset: u64,
    pub dev_uuid: [u8; 16],
}

/// One chunk: a logical range and how it lies on the devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    pub logical: u64,
    pub length: u64,
    pub type_: u64,
    pub stripe_len: u64,
    pub sub_stripes: u16,
    /// The chunk's own idea of the sector size: the filesystem's, in every valid chunk.
    pub sector_size: u32,
    pub stripes: Vec<StripeInfo>,
}

/// A piece of one copy of a logical range on one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhysPiece {
    pub devid: u64,
    pub physical: u64,
    pub len: u64,
    /// Logical address this piece starts at.
    pub logical: u64,
}

/// Why a chunk item could not be taken into the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError(pub String);

impl ChunkInfo {
    /// Parses a `btrfs_chunk` with its stripes from item bytes; validates what mapping needs.
    pub fn parse(logical: u64, data: &[u8]) -> Result<(ChunkInfo, usize), ChunkError> {
        let (c, rest) = Chunk::ref_from_prefix(data)
            .map_err(|_| ChunkError(format!("chunk at {logical}: item too short")))?;
        let n = c.num_stripes.get() as usize;
        if n == 0 {
            return Err(ChunkError(format!("chunk at {logical}: num_stripes is 0")));
        }
        let need = n * core::mem::size_of::<Stripe>();
        let sbytes = rest
            .get(..need)
            .ok_or_else(|| ChunkError(format!("chunk at {logical}: {n} stripes do not fit the item")))?;
        let stripes = <[Stripe]>::ref_from_bytes(sbytes)
            .map_err(|_| ChunkError(format!("chunk at {logical}: bad stripe array")))?
            .iter()
            .map(|s| StripeInfo { devid: s.devid.get(), offset: s.offset.get(), dev_uuid: s.dev_uuid })
            .collect();
        let info = ChunkInfo {
            logical,
            length: c.length.get(),
            type_: c.type_.get(),
            stripe_len: c.stripe_len.get(),
            sub_stripes: c.sub_stripes.get(),
            sector_size: c.sector_size.get(),
            stripes,
        };
        info.validate()?;
        Ok((info, core::mem::size_of::<Chunk>() + need))
    }

    fn validate(&self) -> Result<(), ChunkError> {
        let bad = |m: &str| Err(ChunkError(format!("chunk at {}: {m}", self.logical)));
        if self.length == 0 {
            return bad("length is 0");
        }
        if self.logical.checked_add(self.length).is_none() {
            return bad("range overflows");
        }
        if self.stripe_len == 0 || !self.stripe_len.is_power_of_two() {
            return bad("stripe_len is not a power of two");
        }
        let n = self.stripes.len();
        let p = self.type_ & BLOCK_GROUP_PROFILE_MASK;
        let min = match p {
            BLOCK_GROUP_DUP | BLOCK_GROUP_RAID1 | BLOCK_GROUP_RAID5 => 2,
            BLOCK_GROUP_RAID1C3 | BLOCK_GROUP_RAID6 => 3,
            BLOCK_GROUP_RAID1C4 => 4,
            BLOCK_GROUP_RAID10 => 2,
            _ => 1,
        };
        if n < min {
            return bad("too few stripes for its profile");
        }
        if p == BLOCK_GROUP_RAID10 && (self.sub_stripes < 2 || n % self.sub_stripes as usize != 0) {
            return bad("RAID10 stripes do not divide into sub_stripes");
        }
        if !p.is_power_of_two() && p != 0 {
            return bad("more than one profile bit set");
        }
        Ok(())
    }

    /// Data stripes (those that hold distinct data in a full stripe row).
    fn data_stripes(&self) -> u64 {
        let n = self.stripes.len() as u64;
        match self.type_ & BLOCK_GROUP_PROFILE_MASK {
            BLOCK_GROUP_RAID0 => n,
            BLOCK_GROUP_RAID10 => n / u64::from(self.sub_stripes.max(1)),
            BLOCK_GROUP_RAID5 => n - 1,
            BLOCK_GROUP_RAID6 => n - 2,
            _ => 1,
        }
    }

    /// Length of the chunk's footprint on each device.
    pub fn stripe_size(&self) -> u64 {
        match self.type_ & BLOCK_GROUP_PROFILE_MASK {
            BLOCK_GROUP_RAID0 | BLOCK_GROUP_RAID10 | BLOCK_GROUP_RAID5 | BLOCK_GROUP_RAID6 => {
                self.length / self.data_stripes().max(1)
            }
            _ => self.length,
        }
    }

    /// Every copy of `[logical, logical+len)` (which must lie inside this chunk).
    pub fn map(&self, logical: u64, len: u64) -> Vec<Vec<PhysPiece>> {
        let profile = self.type_ & BLOCK_GROUP_PROFILE_MASK;
        let n = self.stripes.len() as u64;
        let off = logical - self.logical;
        match profile {
            0 | BLOCK_GROUP_DUP | BLOCK_GROUP_RAID1 | BLOCK_GROUP_RAID1C3 | BLOCK_GROUP_RAID1C4 => {
                let copies = if profile == 0 { 1 } else { n };
                (0..copies as usize)
                    .map(|i| {
                        let s = self.stripes[i];
                        vec![PhysPiece { devid: s.devid, physical: s.offset.saturating_add(off), len, logical }]
                    })
                    .collect()
            }
            _ => {
                let copies = if profile == BLOCK_GROUP_RAID10 { u64::from(self.sub_stripes) } else { 1 };
                (0..copies).map(|c| self.map_striped(logical, len, c)).collect()
            }
        }
    }

    /// Maps a range in a striped profile, copy `copy` (RAID10 mirror index).
    fn map_striped(&self, logical: u64, len: u64, copy: u64) -> Vec<PhysPiece> {
        let profile = self.type_ & BLOCK_GROUP_PROFILE_MASK;
        let n = self.stripes.len() as u64;
        let sl = self.stripe_len;
        let data = self.data_stripes().max(1);
        let mut pieces = Vec::new();
        let mut cur = logical - self.logical;
        let end = cur.saturating_add(len);
        while cur < end {
            let stripe_nr = cur / sl;
            let in_stripe = cur % sl;
            let take = (sl - in_stripe).min(end - cur);
            let row = stripe_nr / data;
            let col = stripe_nr % data;
            let index = match profile {
                BLOCK_GROUP_RAID0 => col,
                BLOCK_GROUP_RAID10 => col * u64::from(self.sub_stripes) + copy,
                // Parity rotates one device per full stripe: data column `col` of row `row` lives
                // on device (col + row) % n, the parity stripes after the last data stripe.
                _ => (col + row) % n,
            };
            let s = self.stripes[index as usize];
            pieces.push(PhysPiece {
                devid: s.devid,
                physical: s.offset.saturating_add(row * sl + in_stripe),
                len: take,
                logical: self.logical + cur,
            });
            cur += take;
        }
        pieces
    }
}

/// One piece of a RAID5/6 range and the same range on every stripe of its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowPieces {
    /// Which data column holds the piece.
    pub col: usize,
    /// Every data column of the row, in column order (`data[col]` is the piece itself).
    pub data: Vec<PhysPiece>,
    pub p: PhysPiece,
    /// RAID6 only.
    pub q: Option<PhysPiece>,
}

/// Where a logical address sits in a RAID5/6 chunk: its full-stripe row, which data stripe of
/// the row holds it, and the parity stripes of that row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raid56Position {
    /// Full-stripe number within the chunk.
    pub row: u64,
    /// Index of the data stripe within the row (0-based, before rotation).
    pub data_index: u64,
    /// Parity stripes of the row: ("P" or "Q", stripe index in the chunk, devid, physical start
    /// of the parity stripe plus the address's offset within its stripe).
    pub parity: Vec<(&'static str, usize, u64, u64)>,
}

impl ChunkInfo {
    /// For RAID5/6 chunks: the row, data column and parity stripes of `logical` (inside the chunk).
    pub fn raid56_position(&self, logical: u64) -> Option<Raid56Position> {
        let profile = self.type_ & BLOCK_GROUP_PROFILE_MASK;
        let nparity = match profile {
            BLOCK_GROUP_RAID5 => 1,
            BLOCK_GROUP_RAID6 => 2,
            _ => return None,
        };
        let off = logical.checked_sub(self.logical).filter(|&o| o < self.length)?;
        let n = self.stripes.len() as u64;
        let data = self.data_stripes().max(1);
        let stripe_nr = off / self.stripe_len;
        let in_stripe = off % self.stripe_len;
        let row = stripe_nr / data;
        let data_index = stripe_nr % data;
        // The row's stripes in order data0..dataN-1, P, Q sit on chunk stripes rotated by row.
        let parity = (0..nparity)
            .map(|p| {
                let idx = ((data + p + row) % n) as usize;
                let s = self.stripes[idx];
                let label = if p == 0 { "P" } else { "Q" };
                (label, idx, s.devid, s.offset.saturating_add(row * self.stripe_len + in_stripe))
            })
            .collect();
        Some(Raid56Position { row, data_index, parity })
    }

    /// For RAID5/6: `[logical, logical+len)` split at stripe boundaries, each piece with the
    /// same range of every stripe of its row (all data columns, P, and Q for RAID6), which is
    /// what rebuilding it needs. `None` for other profiles or a range outside the chunk.
    pub fn row_pieces(&self, logical: u64, len: u64) -> Option<Vec<RowPieces>> {
        let nparity = match self.type_ & BLOCK_GROUP_PROFILE_MASK {
            BLOCK_GROUP_RAID5 => 1,
            BLOCK_GROUP_RAID6 => 2,
            _ => return None,
        };
        let mut cur = logical.checked_sub(self.logical)?;
        let end = cur.checked_add(len).filter(|&e| e <= self.length)?;
        let n = self.stripes.len() as u64;
        let data = self.data_stripes().max(1);
        let sl = self.stripe_len;
        let mut out = Vec::new();
        while cur < end {
            let stripe_nr = cur / sl;
            let in_stripe = cur % sl;
            let take = (sl - in_stripe).min(end - cur);
            let (row, col) = (stripe_nr / data, stripe_nr % data);
            // Columns 0..data are the data stripes of the row, then P, then Q, rotated by row.
            let piece = |j: u64| {
                let s = self.stripes[((j + row) % n) as usize];
                PhysPiece { devid: s.devid, physical: s.offset.saturating_add(row * sl + in_stripe), len: take, logical: self.logical + cur }
            };
            out.push(RowPieces {
                col: col as usize,
                data: (0..data).map(piece).collect(),
                p: piece(data),
                q: (nparity == 2).then(|| piece(data + 1)),
            });
            cur += take;
        }
        Some(out)
    }

    /// Index into `stripes` of each copy of `logical` (the stripe a one-byte read would use).
    pub fn stripe_indexes(&self, logical: u64) -> Vec<usize> {
        let profile = self.type_ & BLOCK_GROUP_PROFILE_MASK;
        let n = self.stripes.len() as u64;
        let off = logical.saturating_sub(self.logical);
        match profile {
            0 => vec![0],
            BLOCK_GROUP_DUP | BLOCK_GROUP_RAID1 | BLOCK_GROUP_RAID1C3 | BLOCK_GROUP_RAID1C4 => (0..n as usize).collect(),
            _ => {
                let data = self.data_stripes().max(1);
                let stripe_nr = off / self.stripe_len;
                let (row, col) = (stripe_nr / data, stripe_nr % data);
                match profile {
                    BLOCK_GROUP_RAID0 => vec![col as usize],
                    BLOCK_GROUP_RAID10 => {
                        let sub = u64::from(self.sub_stripes);
                        (0..sub).map(|c| (col * sub + c) as usize).collect()
                    }
                    _ => vec![((col + row) % n) as usize],
                }
            }
        }
    }
}

/// The chunk map: chunks by logical start.
#[derive(Debug, Default, Clone)]
pub struct ChunkMap {
    chunks: BTreeMap<u64, ChunkInfo>,
}

impl ChunkMap {
    /// Adds a chunk; a chunk overlapping one already present is refused.
    pub fn insert(&mut self, c: ChunkInfo) -> Result<(), ChunkError> {
        if let Some(prev) = self.lookup(c.logical) {
            if prev.logical == c.logical && *prev == c {
                return Ok(());
            }
            return Err(ChunkError(format!("chunk at {} overlaps chunk at {}", c.logical, prev.logical)));
        }
        if let Some((&next, _)) = self.chunks.range(c.logical..).next() {
            if next < c.logical + c.length {
                return Err(ChunkError(format!("chunk at {} overlaps chunk at {next}", c.logical)));
            }
        }
        self.chunks.insert(c.logical, c);
        Ok(())
    }

    /// The chunk containing `logical`.
    pub fn lookup(&self, logical: u64) -> Option<&ChunkInfo> {
        let (_, c) = self.chunks.range(..=logical).next_back()?;
        (logical < c.logical + c.length).then_some(c)
    }

    /// Every copy of a range that lies inside one chunk; `None` when no chunk holds all of it.
    pub fn map(&self, logical: u64, len: u64) -> Option<Vec<Vec<PhysPiece>>> {
        let c = self.lookup(logical)?;
        let end = logical.checked_add(len)?;
        (end <= c.logical + c.length).then(|| c.map(logical, len))
    }

    /// All chunks in logical order.
    pub fn chunks(&self) -> impl Iterator<Item = &ChunkInfo> {
        self.chunks.values()
    }

    /// Parses the superblock's sys_chunk_array: (disk key, chunk) pairs. Returns the problems met.
    pub fn load_sys_array(&mut self, array: &[u8]) -> Vec<String> {
        let mut problems = Vec::new();
        let mut pos = 0usize;
        while pos < array.len() {
            let Ok((key, rest)) = DiskKey::ref_from_prefix(&array[pos..]) else {
                problems.push(format!("sys_chunk_array: truncated key at offset {pos}"));
                break;
            };
            if key.type_ != CHUNK_ITEM_KEY {
                problems.push(format!("sys_chunk_array: item type {} at offset {pos} is not a chunk", key.type_));
                break;
            }
            match ChunkInfo::parse(key.offset.get(), rest) {
                Ok((c, used)) => {
                    if let Err(e) = self.insert(c) {
                        problems.push(format!("sys_chunk_array: {}", e.0));
                    }
                    pos += core::mem::size_of::<DiskKey>() + used;
                }
                Err(e) => {
                    problems.push(format!("sys_chunk_array: {}", e.0));
                    break;
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(type_: u64, n: u64, sub: u16) -> ChunkInfo {
        ChunkInfo {
            logical: 1 << 30,
            length: 6 << 20,
            type_,
            stripe_len: 64 << 10,
            sub_stripes: sub,
            sector_size: 4096,
            stripes: (0..n).map(|i| StripeInfo { devid: i + 1, offset: (i + 1) << 20, dev_uuid: [0; 16] }).collect(),
        }
    }

    #[test]
    fn raid5_parity_rotates() {
        let c = chunk(BLOCK_GROUP_DATA | BLOCK_GROUP_RAID5, 3, 1);
        // Row 0: data on dev1, dev2 (parity dev3). Row 1: data on dev2, dev3.
        let m = c.map(c.logical, 64 << 10);
        assert_eq!(m[0][0].devid, 1);
        let m = c.map(c.logical + (128 << 10), 4096);
        assert_eq!((m[0][0].devid, m[0][0].physical), (2, (2 << 20) + (64 << 10)));
    }

    #[test]
    fn raid6_p_and_q_follow_the_data_stripes_of_their_row() {
        let c = chunk(BLOCK_GROUP_DATA | BLOCK_GROUP_RAID6, 4, 1);
        // Row 1 (logical offset 128K..256K): data on stripes 1, 2; P on 3, Q on 0.
        let p = c.raid56_position(c.logical + (192 << 10) + 100).unwrap();
        assert_eq!((p.row, p.data_index), (1, 1));
        let idx: Vec<usize> = p.parity.iter().map(|x| x.1).collect();
        assert_eq!(idx, vec![3, 0]);
        assert_eq!(p.parity[0].3, (4 << 20) + (64 << 10) + 100);
        assert_eq!(c.stripe_indexes(c.logical + (192 << 10)), vec![2]);
        assert!(c.raid56_position(c.logical + c.length).is_none());
    }

    #[test]
    fn raid10_has_two_copies_and_crosses_stripes() {
        let c = chunk(BLOCK_GROUP_DATA | BLOCK_GROUP_RAID10, 4, 2);
        let m = c.map(c.logical + (60 << 10), 8192);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].len(), 2);
        assert_eq!((m[0][0].devid, m[1][0].devid, m[0][1].devid, m[1][1].devid), (1, 2, 3, 4));
    }
}
