//! A HAMMER (DragonFly BSD) image builder: the layout `newfs_hammer` writes (formats/hammer.md
//! §3), then population — directories, files of every size class, symlinks short and long,
//! history (records with delete_tid), PFSs, snapshots, config — so tests and benchmarks can make
//! HAMMER images of any shape and size that a correct checker finds nothing wrong with.
//!
//! Everything is built in memory; `finish` sorts the records, builds the B-Tree bottom-up,
//! writes the freemap and the volume header, and returns the bytes and where things went.

use ondisk_layouts::hammer::dirhash::{namekey_alg0, namekey_alg1};
use std::collections::{BTreeMap, HashSet};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("volume of {0} bytes is too small for the layout")]
    TooSmall(u64),
    #[error("no free big-block left for zone {0}")]
    Full(u8),
    #[error("no such directory: object {0:#x}")]
    NotADir(i64),
    #[error("no such file: object {0:#x}")]
    NoFile(i64),
    #[error("version {0} outside 1..7")]
    Version(u32),
}

/// `HAMMER_BIGBLOCK_SIZE`
pub const BIGBLOCK: u64 = 1 << 23;
const BUFSIZE: u64 = 16384;
const ZONE2: u64 = 2 << 60;
const UNAVAIL: u64 = u64::MAX;
const VOL_BOT_BEG: u64 = 0x40000;
const VOL_MEM_BEG: u64 = 0x48000;
const VOL_BUF_BEG: u64 = 0x88000;
const LEAF_ELMS: usize = 63;
const INT_ELMS: usize = 62;

/// What `newfs` is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Volume size in bytes.
    pub size: u64,
    /// 1..7.
    pub version: u32,
    /// UNDO big-blocks (newfs `-u`, in 8 MiB units).
    pub undo_bigblocks: u64,
    pub label: String,
    /// The filesystem id (DCE uuid bytes as stored).
    pub fsid: [u8; 16],
    /// "Now", µs since the epoch: inode times; B-Tree create_ts is this in seconds.
    pub time_us: u64,
    /// Fill the volume header's vol_crc, as the kernel flusher would (newfs leaves it 0).
    pub set_vol_crc: bool,
    /// Records per leaf (1..=63): below 63 leaves room, as the kernel's splits do.
    pub leaf_fill: usize,
    /// Sizes of volumes 1, 2, ... (each gets its own layer2 big-block at its zone-2 offset 0).
    pub extra_volumes: Vec<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            size: 64 << 20,
            version: 7,
            undo_bigblocks: 1,
            label: "BUILDER".into(),
            fsid: *b"ondisk-hammer-01",
            time_us: 1_795_251_341_000_000,
            set_vol_crc: false,
            leaf_fill: 48,
            extra_volumes: Vec::new(),
        }
    }
}

/// `hammer_datacrc`: CRC-32C from version 7, CRC-32 before.
pub fn crc(version: u32, b: &[u8]) -> u32 {
    if version >= 7 {
        crc32c::crc32c(b)
    } else {
        crc32fast::hash(b)
    }
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
fn align16(n: u64) -> u64 {
    (n + 15) & !15
}

/// One leaf record as it will be written.
#[derive(Debug, Clone)]
pub struct Rec {
    pub localization: u32,
    pub obj_id: i64,
    pub rec_type: u16,
    pub key: i64,
    pub create_tid: u64,
    pub delete_tid: u64,
    pub obj_type: u8,
    pub create_ts: u32,
    pub delete_ts: u32,
    pub data_offset: u64,
    pub data_len: i32,
    pub data_crc: u32,
}

impl Rec {
    fn sort_key(&self) -> (u32, i64, u16, i64, u64) {
        let t = if self.create_tid == 0 { u64::MAX } else { self.create_tid };
        (self.localization, self.obj_id, self.rec_type, self.key, t)
    }
}

#[derive(Debug, Clone, Copy)]
struct L2 {
    zone: u8,
    app: u32,
    free: i32,
}

#[derive(Debug, Clone)]
struct Inode {
    obj_type: u8,
    cap: u8,
    size: u64,
    parent: i64,
    mode: u16,
    ctime: u64,
    /// Index of the live INODE record.
    rec: usize,
    /// Live DATA/FIX record indexes.
    data: Vec<usize>,
    /// Live dirent record in its parent.
    dirent: Option<usize>,
}

/// Where `finish` put things: what named corruptions need to find their target.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub version: u32,
    /// Physical byte offset of zone-2 offset 0.
    pub buf_beg: u64,
    /// Physical offset of layer1 entry 0 and of the layer2 entries (one per big-block).
    pub layer1: u64,
    pub layer2: u64,
    /// Physical offset of the UNDO FIFO start.
    pub undo: u64,
    pub undo_size: u64,
    /// Zone-8 offsets and physical offsets of every node, root first; leaf flags.
    pub nodes: Vec<(u64, u64, bool)>,
    /// Per record (sorted order): (node phys, elm index, data phys).
    pub records: Vec<(u64, usize, u64)>,
    /// The sorted records as written.
    pub recs: Vec<Rec>,
    /// Big-block index (zone-2 offset >> 23) of the first meta big-block.
    pub meta_bigblock: u64,
    /// A free big-block's index, if any.
    pub free_bigblock: Option<u64>,
}

/// A built image.
pub struct Image {
    /// Volume 0.
    pub bytes: Vec<u8>,
    /// Volumes 1, 2, ...
    pub volumes: Vec<Vec<u8>>,
    pub layout: Layout,
}

struct Vol {
    img: Vec<u8>,
    l2: Vec<L2>,
}

const SHORT: u64 = 0x000F_FFFF_FFFF_FFFF;

/// A HAMMER filesystem being built.
pub struct Builder {
    o: Options,
    img: Vec<u8>,
    l2: Vec<L2>,
    /// Volumes 1, 2, ...
    extra: Vec<Vol>,
    /// Current big-block (volume and short offset, no zone) per zone.
    cur: [Option<u64>; 16],
    recs: Vec<Rec>,
    inodes: BTreeMap<(u32, i64), Inode>,
    tid: u64,
    next_obj: i64,
    now_us: u64,
    undo_bigblocks: u64,
    stat_bigblocks: i64,
    pfs_ids: Vec<u32>,
    /// (localization, directory, key) of every live directory entry, for collisions.
    dirkeys: HashSet<(u32, i64, i64)>,
}

impl Builder {
    /// Formats a volume: freemap, UNDO FIFO, root directory and PFS 0, like newfs_hammer.
    pub fn newfs(o: Options) -> Result<Self, Error> {
        if !(1..=7).contains(&o.version) {
            return Err(Error::Version(o.version));
        }
        let vol_end = o.size & !(BUFSIZE - 1);
        let nbig = vol_end.saturating_sub(VOL_BUF_BEG) / BIGBLOCK;
        if nbig < 6 + o.undo_bigblocks || o.undo_bigblocks == 0 || o.undo_bigblocks > 128 {
            return Err(Error::TooSmall(o.size));
        }
        let mut extra = Vec::new();
        for &size in &o.extra_volumes {
            let n = (size & !(BUFSIZE - 1)).saturating_sub(VOL_BUF_BEG) / BIGBLOCK;
            if n < 2 || extra.len() >= 255 {
                return Err(Error::TooSmall(size));
            }
            let mut l2 = vec![L2 { zone: 0, app: 0, free: BIGBLOCK as i32 }; n as usize];
            // initialize_freemap: the volume's own layer2 big-block comes first.
            l2[0] = L2 { zone: 4, app: BIGBLOCK as u32, free: 0 };
            extra.push(Vol { img: vec![0u8; size as usize], l2 });
        }
        let mut b = Builder {
            img: vec![0u8; o.size as usize],
            l2: vec![L2 { zone: 0, app: 0, free: BIGBLOCK as i32 }; nbig as usize],
            extra,
            cur: [None; 16],
            recs: Vec::new(),
            inodes: BTreeMap::new(),
            tid: 0x1_0000_0000,
            next_obj: 0x1_0000_0010,
            now_us: o.time_us,
            undo_bigblocks: o.undo_bigblocks,
            stat_bigblocks: 0,
            pfs_ids: Vec::new(),
            dirkeys: HashSet::new(),
            o,
        };
        // Bootstrap big-blocks: layer1, layer2 (zone 4), then the UNDO (zone 3).
        for i in 0..2 {
            b.l2[i] = L2 { zone: 4, app: BIGBLOCK as u32, free: 0 };
        }
        for i in 0..b.undo_bigblocks as usize {
            b.l2[2 + i] = L2 { zone: 3, app: BIGBLOCK as u32, free: 0 };
        }
        b.stat_bigblocks = b.free_count();
        // newfs allocates the root B-Tree node before the root inode: zone 8 takes the first free
        // big-block, zone 9 the next.
        let bb = b.take_free(8)?;
        b.cur[8] = Some(bb);
        b.tid += 1;
        b.add_root(0, b"")?;
        Ok(b)
    }

    fn free_count(&self) -> i64 {
        self.l2.iter().chain(self.extra.iter().flat_map(|v| v.l2.iter())).filter(|e| e.zone == 0).count() as i64
    }

    fn l2_of(&mut self, addr: u64) -> &mut L2 {
        let (v, i) = ((addr >> 52) & 0xFF, ((addr & SHORT) >> 23) as usize);
        if v == 0 {
            &mut self.l2[i]
        } else {
            &mut self.extra[v as usize - 1].l2[i]
        }
    }

    /// The first free big-block, volume 0 first (as the kernel's iterator walks the space).
    fn take_free(&mut self, zone: u8) -> Result<u64, Error> {
        let found = match self.l2.iter().position(|e| e.zone == 0) {
            Some(i) => Some((0u64, i)),
            None => self.extra.iter().enumerate().find_map(|(v, vol)| vol.l2.iter().position(|e| e.zone == 0).map(|i| (v as u64 + 1, i))),
        };
        let (v, i) = found.ok_or(Error::Full(zone))?;
        let addr = (v << 52) | (i as u64 * BIGBLOCK);
        *self.l2_of(addr) = L2 { zone, app: 0, free: BIGBLOCK as i32 };
        Ok(addr)
    }

    /// Sets "now" for the next operations (inode ctime/mtime, create_ts).
    pub fn set_time(&mut self, us: u64) {
        self.now_us = us;
    }

    fn ts(&self) -> u32 {
        (self.now_us / 1_000_000) as u32
    }

    /// Allocates `len` bytes (16-aligned) in `zone`: never across a 16 KiB buffer when small,
    /// never across a big-block; a zone takes a new free big-block when its current one is full.
    fn alloc(&mut self, zone: u8, len: u64) -> Result<u64, Error> {
        let size = align16(len);
        loop {
            if let Some(bb) = self.cur[zone as usize] {
                let e = self.l2_of(bb);
                let mut off = u64::from(e.app);
                if size <= BUFSIZE && off % BUFSIZE + size > BUFSIZE {
                    off = (off + BUFSIZE - 1) & !(BUFSIZE - 1);
                }
                if off + size <= BIGBLOCK {
                    e.app = (off + size) as u32;
                    e.free -= size as i32;
                    return Ok((u64::from(zone) << 60) | (bb + off));
                }
            }
            let bb = self.take_free(zone)?;
            self.cur[zone as usize] = Some(bb);
        }
    }

    /// Byte offset inside its volume (see `buf`).
    fn phys(&self, off: u64) -> usize {
        (VOL_BUF_BEG + (off & SHORT)) as usize
    }

    /// The bytes of the volume an offset names.
    fn buf(&mut self, off: u64) -> &mut [u8] {
        match (off >> 52) & 0xFF {
            0 => &mut self.img,
            v => &mut self.extra[v as usize - 1].img,
        }
    }

    fn write_data(&mut self, zone: u8, data: &[u8], len: u64) -> Result<u64, Error> {
        let off = self.alloc(zone, len)?;
        let p = self.phys(off);
        self.buf(off)[p..p + data.len()].copy_from_slice(data);
        Ok(off)
    }

    fn next_tid(&mut self) -> u64 {
        self.tid += 1;
        self.tid
    }

    #[allow(clippy::too_many_arguments)]
    fn push_rec(&mut self, lo: u32, obj: i64, rt: u16, key: i64, ot: u8, zone: u8, data: &[u8], crc_len: usize, len: usize) -> Result<usize, Error> {
        let off = self.write_data(zone, data, len as u64)?;
        let data_crc = crc(self.o.version, &data[..crc_len.min(data.len())]);
        self.recs.push(Rec {
            localization: lo,
            obj_id: obj,
            rec_type: rt,
            key,
            create_tid: self.tid,
            delete_tid: 0,
            obj_type: ot,
            create_ts: self.ts(),
            delete_ts: 0,
            data_offset: off,
            data_len: len as i32,
            data_crc,
        });
        Ok(self.recs.len() - 1)
    }

    fn dir_cap(&self) -> u8 {
        (if self.o.version >= 2 { 0x04 } else { 0 }) | (if self.o.version >= 6 { 0x01 } else { 0 })
    }

    fn inode_bytes(&self, ino: &Inode, nlinks: u64, symlink: Option<&[u8]>) -> [u8; 128] {
        let mut d = [0u8; 128];
        put16(&mut d, 0, 1);
        put16(&mut d, 2, ino.mode);
        put64(&mut d, 16, ino.ctime);
        put64(&mut d, 24, ino.parent as u64);
        d[64] = ino.obj_type;
        d[65] = ino.cap;
        put64(&mut d, 72, nlinks);
        put64(&mut d, 80, ino.size);
        if let Some(s) = symlink {
            d[88..88 + s.len()].copy_from_slice(s);
        }
        put64(&mut d, 112, self.now_us);
        put64(&mut d, 120, self.now_us);
        d
    }

    fn write_inode(&mut self, key: (u32, i64), symlink: Option<&[u8]>) -> Result<usize, Error> {
        let ino = self.inodes.get(&key).cloned().ok_or(Error::NoFile(key.1))?;
        let d = self.inode_bytes(&ino, 1, symlink);
        self.push_rec(key.0 << 16 | 1, key.1, 0x0001, 0, ino.obj_type, 9, &d, 112, 128)
    }

    fn pfs_bytes(&self, id: u32) -> Vec<u8> {
        let mut p = vec![0u8; 292];
        put64(&mut p, 0, 1);
        p[40..56].copy_from_slice(&self.o.fsid);
        let mut u = self.o.fsid;
        u[15] ^= id as u8;
        u[14] ^= (id >> 8) as u8;
        p[56..72].copy_from_slice(&u);
        let label = if id == 0 { self.o.label.clone() } else { format!("pfs{id}") };
        let l = label.as_bytes();
        p[80..80 + l.len().min(63)].copy_from_slice(&l[..l.len().min(63)]);
        p
    }

    /// The root inode and PFS record of PFS `id` (newfs does PFS 0).
    fn add_root(&mut self, id: u32, _name: &[u8]) -> Result<(), Error> {
        let ino = Inode { obj_type: 1, cap: self.dir_cap(), size: 0, parent: 0, mode: 0o755, ctime: self.now_us, rec: 0, data: Vec::new(), dirent: None };
        self.inodes.insert((id, 1), ino);
        let r = self.write_inode((id, 1), None)?;
        if let Some(i) = self.inodes.get_mut(&(id, 1)) {
            i.rec = r;
        }
        let p = self.pfs_bytes(id);
        self.push_rec(0x0000_0002, 1, 0x0015, (id as i64) << 16, 1, 9, &p, 292, 292)?;
        self.pfs_ids.push(id);
        Ok(())
    }

    /// Adds PFS `id` (1..65535): its PFS record under PFS 0's root and its own root inode.
    pub fn add_pfs(&mut self, id: u32) -> Result<(), Error> {
        self.next_tid();
        self.add_root(id, b"")
    }

    fn add_dirent(&mut self, parent: (u32, i64), name: &[u8], child: i64, ot: u8) -> Result<usize, Error> {
        let dir = self.inodes.get(&parent).ok_or(Error::NotADir(parent.1))?;
        if dir.obj_type != 1 {
            return Err(Error::NotADir(parent.1));
        }
        let alg1 = dir.cap & 0x03 == 0x01;
        let lo = parent.0 << 16 | if dir.cap & 0x04 != 0 { 1 } else { 2 };
        let mut key = if alg1 { namekey_alg1(name) } else { namekey_alg0(name) };
        // Collisions: the kernel increments the key until it is free.
        while self.dirkeys.contains(&(lo, parent.1, key)) {
            key += 1;
        }
        self.dirkeys.insert((lo, parent.1, key));
        let mut d = vec![0u8; 16 + name.len()];
        put64(&mut d, 0, child as u64);
        put32(&mut d, 8, parent.0 << 16);
        d[16..].copy_from_slice(name);
        let n = d.len();
        self.push_rec(lo, parent.1, 0x0011, key, ot, 9, &d, n, n)
    }

    fn new_object(&mut self, pfs: u32, parent: i64, name: &[u8], ot: u8, mode: u16, size: u64) -> Result<i64, Error> {
        self.next_tid();
        let obj = self.next_obj;
        self.next_obj += 1;
        let cap = if ot == 1 { self.dir_cap() } else { 0 };
        let ino = Inode { obj_type: ot, cap, size, parent, mode, ctime: self.now_us, rec: 0, data: Vec::new(), dirent: None };
        self.inodes.insert((pfs, obj), ino);
        let de = self.add_dirent((pfs, parent), name, obj, ot)?;
        if let Some(i) = self.inodes.get_mut(&(pfs, obj)) {
            i.dirent = Some(de);
        }
        Ok(obj)
    }

    /// Creates a directory; returns its obj_id.
    pub fn mkdir(&mut self, pfs: u32, parent: i64, name: &[u8]) -> Result<i64, Error> {
        let obj = self.new_object(pfs, parent, name, 1, 0o755, 0)?;
        let r = self.write_inode((pfs, obj), None)?;
        self.set_rec(pfs, obj, r);
        Ok(obj)
    }

    fn set_rec(&mut self, pfs: u32, obj: i64, r: usize) {
        if let Some(i) = self.inodes.get_mut(&(pfs, obj)) {
            i.rec = r;
        }
    }

    fn write_file_data(&mut self, pfs: u32, obj: i64, data: &[u8]) -> Result<Vec<usize>, Error> {
        let lo = pfs << 16 | 2;
        let mut v = Vec::new();
        if data.is_empty() {
            return Ok(v);
        }
        if data.len() <= 8192 {
            // One small record of align16(size) bytes, zero-padded (zone 11).
            let n = align16(data.len() as u64) as usize;
            let mut d = data.to_vec();
            d.resize(n, 0);
            v.push(self.push_rec(lo, obj, 0x0010, n as i64, 2, 11, &d, n, n)?);
            return Ok(v);
        }
        let mut off = 0usize;
        while off < data.len() {
            let chunk = if off < (1 << 20) { 16384 } else { 65536 };
            let mut d = data[off..data.len().min(off + chunk)].to_vec();
            d.resize(chunk, 0);
            v.push(self.push_rec(lo, obj, 0x0010, (off + chunk) as i64, 2, 10, &d, chunk, chunk)?);
            off += chunk;
        }
        Ok(v)
    }

    /// Creates a regular file with these contents; returns its obj_id.
    pub fn create_file(&mut self, pfs: u32, parent: i64, name: &[u8], contents: &[u8]) -> Result<i64, Error> {
        let obj = self.new_object(pfs, parent, name, 2, 0o644, contents.len() as u64)?;
        let r = self.write_inode((pfs, obj), None)?;
        self.set_rec(pfs, obj, r);
        let d = self.write_file_data(pfs, obj, contents)?;
        if let Some(i) = self.inodes.get_mut(&(pfs, obj)) {
            i.data = d;
        }
        Ok(obj)
    }

    /// Creates a symlink: in the inode up to 24 bytes, else a FIX record with key 1.
    pub fn symlink(&mut self, pfs: u32, parent: i64, name: &[u8], target: &[u8]) -> Result<i64, Error> {
        let obj = self.new_object(pfs, parent, name, 7, 0o777, target.len() as u64)?;
        if target.len() <= 24 {
            let r = self.write_inode((pfs, obj), Some(target))?;
            self.set_rec(pfs, obj, r);
        } else {
            let r = self.write_inode((pfs, obj), None)?;
            self.set_rec(pfs, obj, r);
            let n = target.len();
            let f = self.push_rec(pfs << 16 | 2, obj, 0x0014, 1, 7, 9, target, n, n)?;
            if let Some(i) = self.inodes.get_mut(&(pfs, obj)) {
                i.data = vec![f];
            }
        }
        Ok(obj)
    }

    fn delete_rec(&mut self, r: usize) {
        let (tid, ts) = (self.tid, self.ts());
        if let Some(rec) = self.recs.get_mut(r) {
            rec.delete_tid = tid;
            rec.delete_ts = ts;
        }
    }

    /// Rewrites a file: the old inode and data records get delete_tid (history), new ones follow.
    pub fn overwrite(&mut self, pfs: u32, obj: i64, contents: &[u8]) -> Result<(), Error> {
        let ino = self.inodes.get(&(pfs, obj)).cloned().ok_or(Error::NoFile(obj))?;
        self.next_tid();
        self.delete_rec(ino.rec);
        for &d in &ino.data {
            self.delete_rec(d);
        }
        if let Some(i) = self.inodes.get_mut(&(pfs, obj)) {
            i.size = contents.len() as u64;
            i.ctime = self.now_us;
        }
        let r = self.write_inode((pfs, obj), None)?;
        let d = self.write_file_data(pfs, obj, contents)?;
        if let Some(i) = self.inodes.get_mut(&(pfs, obj)) {
            i.rec = r;
            i.data = d;
        }
        Ok(())
    }

    /// Removes a file: inode, data and its directory entry get delete_tid (history keeps them).
    pub fn remove(&mut self, pfs: u32, obj: i64) -> Result<(), Error> {
        let ino = self.inodes.remove(&(pfs, obj)).ok_or(Error::NoFile(obj))?;
        self.next_tid();
        self.delete_rec(ino.rec);
        for &d in &ino.data {
            self.delete_rec(d);
        }
        if let Some(de) = ino.dirent {
            self.delete_rec(de);
            if let Some(r) = self.recs.get(de) {
                self.dirkeys.remove(&(r.localization, r.obj_id, r.key));
            }
        }
        Ok(())
    }

    /// A snapshot record (v3+) under the PFS root.
    pub fn snapshot(&mut self, pfs: u32, label: &str) -> Result<(), Error> {
        let tid = self.tid;
        self.next_tid();
        let mut d = [0u8; 128];
        put64(&mut d, 0, tid);
        put64(&mut d, 8, self.now_us);
        let l = label.as_bytes();
        d[32..32 + l.len().min(63)].copy_from_slice(&l[..l.len().min(63)]);
        self.push_rec(pfs << 16 | 1, 1, 0x0016, tid as i64, 1, 9, &d, 128, 128)?;
        Ok(())
    }

    /// The config record (v3+) of a PFS: 1024 bytes of text.
    pub fn config(&mut self, pfs: u32, text: &str) -> Result<(), Error> {
        self.next_tid();
        let mut d = vec![0u8; 1024];
        let t = text.as_bytes();
        d[..t.len().min(1023)].copy_from_slice(&t[..t.len().min(1023)]);
        self.push_rec(pfs << 16 | 1, 1, 0x0017, 0, 1, 9, &d, 1024, 1024)?;
        Ok(())
    }

    /// Number of records so far.
    pub fn record_count(&self) -> usize {
        self.recs.len()
    }

    /// Builds the B-Tree, writes the freemap, the FIFO and the header.
    pub fn finish(mut self) -> Result<Image, Error> {
        let v = self.o.version;
        let mut recs = std::mem::take(&mut self.recs);
        recs.sort_by_key(|r| r.sort_key());
        let mut layout = Layout { version: v, buf_beg: VOL_BUF_BEG, ..Default::default() };

        // Leaves, then internal levels, each a list of (records or children) ranges.
        let fill = self.o.leaf_fill.clamp(1, LEAF_ELMS);
        let nleaves = recs.len().div_ceil(fill).max(1);
        let mut levels: Vec<Vec<(usize, usize)>> = Vec::new();
        let leaves: Vec<(usize, usize)> = (0..nleaves).map(|i| (i * fill, ((i + 1) * fill).min(recs.len()))).collect();
        levels.push(leaves);
        while levels.last().map_or(0, |l| l.len()) > 1 {
            let below = levels.last().map_or(0, |l| l.len());
            let n = below.div_ceil(INT_ELMS);
            // Spread children evenly so no internal node is nearly empty.
            let per = below.div_ceil(n);
            levels.push((0..n).map(|i| (i * per, ((i + 1) * per).min(below))).collect());
        }
        // Node offsets, root level first (so the root is the first node of zone 8).
        let mut offs: Vec<Vec<u64>> = vec![Vec::new(); levels.len()];
        for lv in (0..levels.len()).rev() {
            for _ in 0..levels[lv].len() {
                let o = self.alloc(8, 4096)?;
                offs[lv].push(o);
            }
        }
        // Bounds of every node: (left, right) as element bases; the root's are the split ones.
        let first_base = |r: &Rec| r.clone();
        let left_root = Rec {
            localization: 0,
            obj_id: i64::MIN,
            rec_type: 0,
            key: i64::MIN,
            create_tid: 1,
            delete_tid: 1,
            obj_type: 0,
            create_ts: 0,
            delete_ts: 0,
            data_offset: 0,
            data_len: 0,
            data_crc: 0,
        };
        let right_root = Rec { localization: 0xFFFF_FFFF, obj_id: i64::MAX, rec_type: 0xFFFF, key: i64::MAX, create_tid: u64::MAX, delete_tid: 0, ..left_root.clone() };
        // first record index of node i at level lv
        let first_rec = |lv: usize, mut i: usize| -> usize {
            let mut l = lv;
            while l > 0 {
                i = levels[l][i].0;
                l -= 1;
            }
            levels[0][i].0
        };
        let mut mirror: Vec<Vec<u64>> = vec![Vec::new(); levels.len()];
        let mut parents: Vec<Vec<u64>> = levels.iter().map(|l| vec![0u64; l.len()]).collect();
        for lv in 1..levels.len() {
            for (i, &(a, b)) in levels[lv].iter().enumerate() {
                let o = offs[lv][i];
                parents[lv - 1][a..b].iter_mut().for_each(|p| *p = o);
            }
        }
        let top = levels.len() - 1;
        for lv in 0..levels.len() {
            for (i, &(a, b)) in levels[lv].iter().enumerate() {
                let mut node = vec![0u8; 4096];
                put64(&mut node, 8, parents[lv][i]);
                put32(&mut node, 16, (b - a) as u32);
                let mut m = 0u64;
                if lv == 0 {
                    node[20] = b'L';
                    for (k, r) in recs[a..b].iter().enumerate() {
                        let e = &mut node[64 + k * 64..128 + k * 64];
                        write_base(e, r, b'R');
                        put32(e, 40, r.create_ts);
                        put32(e, 44, r.delete_ts);
                        put64(e, 48, r.data_offset);
                        put32(e, 56, r.data_len as u32);
                        put32(e, 60, r.data_crc);
                        m = m.max(r.create_tid).max(r.delete_tid);
                        layout.records.push((self.phys(offs[lv][i]) as u64, k, self.phys(r.data_offset) as u64));
                    }
                } else {
                    node[20] = b'I';
                    let child_type = if lv == 1 { b'L' } else { b'I' };
                    for (k, c) in (a..b).enumerate() {
                        let e = &mut node[64 + k * 64..128 + k * 64];
                        let sep = if k == 0 && lv == top {
                            left_root.clone()
                        } else if k == 0 {
                            first_base(&recs[first_rec(lv, i)])
                        } else {
                            first_base(&recs[first_rec(lv - 1, c)])
                        };
                        let mut sep = sep;
                        sep.obj_type = 0;
                        write_base(e, &sep, child_type);
                        let cm = mirror[lv - 1][c];
                        put64(e, 40, cm);
                        put64(e, 48, offs[lv - 1][c]);
                        m = m.max(cm);
                    }
                    // Right boundary: the parent's next separator, or the root's right bound.
                    let k = b - a;
                    let e = &mut node[64 + k * 64..128 + k * 64];
                    let right = if lv == top {
                        right_root.clone()
                    } else {
                        let p = &levels[lv + 1];
                        let pi = p.iter().position(|&(pa, pb)| (pa..pb).contains(&i)).unwrap_or(0);
                        if i + 1 < p[pi].1 || pi + 1 < p.len() {
                            first_base(&recs[first_rec(lv, i + 1)])
                        } else {
                            // The last node of its level: its right bound is the root's.
                            right_root.clone()
                        }
                    };
                    let mut right = right;
                    right.obj_type = 0;
                    write_base(e, &right, 0);
                }
                // newfs's lone root leaf has mirror_tid 0; built trees record the real TIDs.
                put64(&mut node, 56, if levels.len() == 1 && recs.len() <= 2 { 0 } else { m });
                mirror[lv].push(m);
                let c = crc(v, &node[4..]);
                put32(&mut node, 0, c);
                let p = self.phys(offs[lv][i]);
                self.buf(offs[lv][i])[p..p + 4096].copy_from_slice(&node);
                layout.nodes.push((offs[lv][i], p as u64, lv == 0));
            }
        }
        layout.nodes.sort_by_key(|n| n.0);
        let root = offs[top][0];
        let max_tid = recs.iter().map(|r| r.create_tid.max(r.delete_tid)).max().unwrap_or(self.tid).max(self.tid);
        layout.recs = recs;

        // UNDO FIFO: 512-byte DUMMY records, seq 0, 1, ...
        let undo_size = self.undo_bigblocks * BIGBLOCK;
        for pos in (0..undo_size).step_by(512) {
            let p = (VOL_BUF_BEG + 2 * BIGBLOCK + pos) as usize;
            let r = &mut self.img[p..p + 512];
            put16(r, 0, 0xC84E);
            put16(r, 2, 0x0041);
            put32(r, 4, 512);
            put32(r, 8, (pos / 512) as u32);
            put16(r, 504, 0xC74F);
            put16(r, 506, 0x0041);
            put32(r, 508, 512);
            let c = crc(v, &r[..12]) ^ crc(v, &r[16..]);
            put32(r, 12, c);
        }
        layout.undo = VOL_BUF_BEG + 2 * BIGBLOCK;
        layout.undo_size = undo_size;

        // Freemap: layer1 (volume 0, big-block 0); each volume's layer2 (volume 0: big-block 1,
        // others: their big-block 0); entries past a volume's end are zone 15.
        let l1p = VOL_BUF_BEG as usize;
        for i in 0..262_144usize {
            let e = &mut self.img[l1p + i * 32..l1p + i * 32 + 32];
            put64(e, 8, UNAVAIL);
        }
        let free = self.free_count();
        let nvols = 1 + self.extra.len();
        for vol in 0..nvols {
            let (l2p, entries) = if vol == 0 {
                ((VOL_BUF_BEG + BIGBLOCK) as usize, self.l2.clone())
            } else {
                (VOL_BUF_BEG as usize, self.extra[vol - 1].l2.clone())
            };
            let vfree = entries.iter().filter(|e| e.zone == 0).count() as u64;
            let e = &mut self.img[l1p + vol * 1024 * 32..l1p + vol * 1024 * 32 + 32];
            put64(e, 0, vfree);
            put64(e, 8, ZONE2 | ((vol as u64) << 52) | if vol == 0 { BIGBLOCK } else { 0 });
            let img = if vol == 0 { &mut self.img } else { &mut self.extra[vol - 1].img };
            for j in 0..524_288usize {
                let x = entries.get(j).copied().unwrap_or(L2 { zone: 15, app: BIGBLOCK as u32, free: 0 });
                let e = &mut img[l2p + j * 16..l2p + j * 16 + 16];
                e[0] = x.zone;
                put32(e, 4, x.app);
                put32(e, 8, x.free as u32);
                let c = crc(v, &e[..12]);
                put32(e, 12, c);
            }
        }
        for i in 0..262_144usize {
            let e = &mut self.img[l1p + i * 32..l1p + i * 32 + 32];
            let c = crc(v, &e[..28]);
            put32(e, 28, c);
        }
        layout.layer1 = l1p as u64;
        layout.layer2 = VOL_BUF_BEG + BIGBLOCK;
        layout.meta_bigblock = self.l2.iter().position(|e| e.zone == 9).unwrap_or(0) as u64;
        layout.free_bigblock = self.l2.iter().position(|e| e.zone == 0).map(|i| i as u64);

        let mut nexts = [0u64; 16];
        for (z, n) in nexts.iter_mut().enumerate() {
            if let Some(bb) = self.cur[z] {
                *n = bb + u64::from(self.l2_of(bb).app);
            }
        }
        // Volume headers: the common part on every volume, the vol0_* fields on volume 0 only
        // (the others keep them zero, undo array included, as newfs does).
        let o = self.o.clone();
        let stat_bigblocks = self.stat_bigblocks;
        let ninodes = self.inodes.len() as u64;
        let undo_bigblocks = self.undo_bigblocks;
        let mut imgs: Vec<&mut Vec<u8>> = vec![&mut self.img];
        imgs.extend(self.extra.iter_mut().map(|x| &mut x.img));
        for (vol, img) in imgs.into_iter().enumerate() {
            let size = img.len() as u64;
            let h = &mut img[..1928];
            put64(h, 0, 0xC841_4D4D_C552_3031);
            put64(h, 8, VOL_BOT_BEG);
            put64(h, 16, VOL_MEM_BEG);
            put64(h, 24, VOL_BUF_BEG);
            put64(h, 32, size & !(BUFSIZE - 1));
            h[48..64].copy_from_slice(&o.fsid);
            h[64..80].copy_from_slice(&[0xac, 0x63, 0xdc, 0x61, 0x38, 0x6e, 0xdc, 0x11, 0x85, 0x13, 0x01, 0x30, 0x1b, 0xb8, 0xa9, 0xf5]);
            let l = o.label.as_bytes();
            h[80..80 + l.len().min(63)].copy_from_slice(&l[..l.len().min(63)]);
            put32(h, 144, vol as u32);
            put32(h, 148, nvols as u32);
            put32(h, 152, v);
            if vol == 0 {
                put64(h, 200, stat_bigblocks as u64);
                put64(h, 208, free as u64);
                put64(h, 224, ninodes);
                put64(h, 240, root);
                put64(h, 248, max_tid);
                for z in 0..16u64 {
                    let e = &mut h[264 + z as usize * 40..264 + z as usize * 40 + 40];
                    let (phys, first, next, alloc) = match z {
                        3 => (UNAVAIL, 3 << 60, 3 << 60, (3 << 60) + undo_size),
                        4 => (ZONE2, 0, ZONE2, 0x2FFF_FFFF_FFFF_FFFF),
                        8..=15 => (0, z << 60, (z << 60) | nexts[z as usize], (z << 60) | 0x0FFF_FFFF_FFFF_FFFF),
                        _ => continue,
                    };
                    put64(e, 0, phys);
                    put64(e, 8, first);
                    put64(e, 16, next);
                    put64(e, 24, alloc);
                    let c = crc(v, &e[..36]);
                    put32(e, 36, c);
                }
                for i in 0..128u64 {
                    let val = if i < undo_bigblocks { ZONE2 | ((2 + i) * BIGBLOCK) } else { UNAVAIL };
                    put64(h, 904 + i as usize * 8, val);
                }
            }
            if o.set_vol_crc {
                let c = crc(v, &h[..156]) ^ crc(v, &h[160..1928]);
                put32(h, 156, c);
            }
        }
        let volumes = self.extra.into_iter().map(|x| x.img).collect();
        Ok(Image { bytes: self.img, volumes, layout })
    }
}

fn write_base(e: &mut [u8], r: &Rec, btype: u8) {
    put64(e, 0, r.obj_id as u64);
    put64(e, 8, r.key as u64);
    put64(e, 16, r.create_tid);
    put64(e, 24, r.delete_tid);
    put16(e, 32, r.rec_type);
    e[34] = r.obj_type;
    e[35] = btype;
    put32(e, 36, r.localization);
}

/// A populated filesystem of every shape: `files` regular files spread over directories, of
/// every size class (empty, small zone-11, 16 KiB blocks, 64 KiB blocks past 1 MiB), symlinks
/// short and long, history (rewritten and removed files), a second PFS, snapshots and config.
pub fn populated(o: Options, files: usize) -> Result<Builder, Error> {
    let v = o.version;
    let mut b = Builder::newfs(o)?;
    let t0 = b.now_us;
    let d1 = b.mkdir(0, 1, b"dir-one")?;
    let d2 = b.mkdir(0, d1, b"nested_dir")?;
    b.create_file(0, 1, b"hello.txt", b"hello, world\n")?;
    b.create_file(0, 1, b"empty", b"")?;
    let big: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    b.create_file(0, d1, b"big.bin", &big)?;
    let huge: Vec<u8> = (0..(1usize << 20) + 70_000).map(|i| (i % 253) as u8).collect();
    b.create_file(0, d2, b"huge.bin", &huge)?;
    b.symlink(0, 1, b"short-link", b"hello.txt")?;
    b.symlink(0, 1, b"long-link", b"dir-one/nested_dir/a-target-name-longer-than-24-bytes")?;
    // History: rewrite one file, remove another, an hour later.
    b.set_time(t0 + 3_600_000_000);
    let f = b.create_file(0, d1, b"rewritten.txt", b"first version")?;
    b.overwrite(0, f, b"second, longer version of the file")?;
    let g = b.create_file(0, d2, b"removed.txt", b"gone soon")?;
    b.remove(0, g)?;
    if v >= 3 {
        b.snapshot(0, "snap-1")?;
        b.config(0, "snapshots 1d 60d\nprune 1d 5m\n")?;
    }
    b.add_pfs(1)?;
    b.create_file(1, 1, b"in-pfs.txt", b"inside PFS 1")?;
    let mut dirs = vec![1i64, d1, d2];
    for i in 0..files {
        if i % 500 == 499 {
            let d = b.mkdir(0, 1, format!("d{i:07}").as_bytes())?;
            dirs.push(d);
        }
        let dir = dirs[i % dirs.len()];
        let len = match i % 10 {
            0 => 0,
            1..=7 => 1 + (i * 37) % 300,
            8 => 5000,
            _ => 20_000,
        };
        let data: Vec<u8> = (0..len).map(|k| (k + i) as u8).collect();
        b.create_file(0, dir, format!("f{i:07}.dat").as_bytes(), &data)?;
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namekeys() {
        assert_eq!(namekey_alg0(b"hello.txt") as u64, 0x1260cebb00000000);
        assert_eq!(namekey_alg1(b"hello.txt") as u64, 0x524805cbdcdb0000);
        assert_eq!(namekey_alg1(b"link") as u64, 0x36ac99f1af5d0000);
        assert_eq!(namekey_alg1(b"nested.txt") as u64, 0x4701222e7c930000);
    }

    #[test]
    fn newfs_layout_matches_newfs_hammer() {
        let img = Builder::newfs(Options { size: 256 << 20, undo_bigblocks: 2, ..Default::default() }).unwrap().finish().unwrap();
        let b = &img.bytes;
        let u64at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        assert_eq!(u64at(240), 0x8000000002000000, "btree root as newfs places it");
        assert_eq!(u64at(200), 27);
        assert_eq!(u64at(208), 25);
        assert_eq!(u64at(264 + 9 * 40 + 16), 0x90000000028001b0, "meta next_offset");
    }
}
