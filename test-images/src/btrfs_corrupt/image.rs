//! The corruption toolkit: base images, locating what to damage, editing it in every copy with
//! the checksums redone, and running `ondisk check --json`.
//!
//! Items and blocks are found through `ondisk dump --json` (run once per base image, the rows
//! share its records); logical addresses are mapped through the chunk items of that dump. Only
//! crc32c is re-checksummed: every base (mkfs recipes, shared kernel images, the restored
//! metadump) uses it, and an edit of another csum type fails with [`Error::Unsupported`] rather
//! than leave a bad block.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use ondisk_layouts::btrfs::consts::{BLOCK_GROUP_RAID0, BLOCK_GROUP_RAID10, BLOCK_GROUP_RAID5, BLOCK_GROUP_RAID6};
use ondisk_layouts::btrfs::superblock::{DevItem, SuperBlock};
pub use ondisk_layouts::btrfs::superblock::SUPER_OFFSETS;
use ondisk_layouts::btrfs::tree::{DiskKey, Header, Item, KeyPtr};
use std::mem::{offset_of, size_of};

/// `struct btrfs_header`.
pub const HEADER: usize = size_of::<Header>();
/// `struct btrfs_item` in a leaf, `struct btrfs_key_ptr` in a node.
pub const ITEM: usize = size_of::<Item>();
pub const KEY_PTR: usize = size_of::<KeyPtr>();
/// The sector size of every base.
pub const SECTOR: u64 = 4096;
/// Header fields every leaf edit needs.
pub const NRITEMS: usize = offset_of!(Header, nritems);
pub const LEVEL: usize = offset_of!(Header, level);
/// `btrfs_item.offset` and `.size` within a leaf slot.
const ITEM_OFFSET: usize = offset_of!(Item, offset);
const ITEM_SIZE: usize = offset_of!(Item, size);
/// Chunk type bits of the striped profiles (one stripe is not one copy).
const STRIPED: u64 = BLOCK_GROUP_RAID0 | BLOCK_GROUP_RAID10 | BLOCK_GROUP_RAID5 | BLOCK_GROUP_RAID6;

/// Why a base could not be built or a row not applied.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing an image or its folder.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// `mkfs.btrfs` or `ondisk` failed.
    #[error("{0}")]
    Tool(String),
    /// What the row damages is not in its base (the base changed under the manifest).
    #[error("not in the base image: {0}")]
    Missing(String),
    /// An edit the toolkit cannot make faithfully (another csum type, a striped chunk, a leaf
    /// that would overflow or change its first key).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An input is absent here (mkfs.btrfs, `../shared`): the caller skips.
    #[error("skipped: {0}")]
    Skip(String),
}

fn io<T>(what: impl std::fmt::Display, r: std::io::Result<T>) -> Result<T, Error> {
    r.map_err(|e| Error::Io(what.to_string(), e))
}

/// A `Missing` error for `ok_or`.
pub fn missing(what: &str) -> Error {
    Error::Missing(what.to_string())
}

/// Where the tools and inputs are.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The `ondisk` binary.
    pub ondisk: PathBuf,
    /// The shared inputs (`images/btrfs/...`), if present.
    pub shared: Option<PathBuf>,
    /// A raw copy of a compressed shared member that is kept between runs (the tests' cache
    /// under the target dir): bases are never written, so they may be used in place. Without
    /// it, members are decompressed into the base's folder.
    pub unpacked: Option<fn(&Path) -> PathBuf>,
}

/// The clean image a corruption starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Base {
    /// mkfs, single profiles: files of 20000, 70000 and 9000 bytes, `d/small` inline.
    MkfsFiles,
    /// mkfs, single profiles, the FS tree in one leaf: `d/{a,b,sub}` (b with a user xattr),
    /// `e/`, a 64 KiB `big`, a symlink.
    MkfsTree,
    /// [`Base::MkfsTree`] without NO_HOLES.
    MkfsTreeHoles,
    /// mkfs, single profiles: `b` (70000 bytes), `a` (300000), `big` (20 MiB: two csum items),
    /// `d/small` (inline).
    MkfsCsum,
    /// mkfs `-R quota` (traditional qgroups), single profiles: files of 300000, 70000 and 9000
    /// bytes, `d/small` inline.
    MkfsQuota,
    /// mkfs `-O zoned` (zones emulated on the image file, 256 MiB each), single profiles, no
    /// files (mkfs cannot fill a zoned filesystem from a directory), 3 GiB sparse.
    MkfsZoned,
    /// Shared kernel images.
    KBgt,
    KRich,
    /// Simple quotas (btrfs-progs 6.2 cannot open it).
    KSquota,
    KRaid1,
    KRaid5,
    KLogtree,
    KSpacecacheV1,
    /// The btrfs-image metadump of btrfs-progs' fsck-tests/021-partially-dropped-snapshot-case
    /// restored with `btrfs-image -t 1 -r`: root 258 deleted and part way dropped. Metadata only
    /// (the data reads as zeros) and only the primary superblock written.
    Dropped021,
}

/// The shared metadump behind [`Base::Dropped021`].
const DROPPED_021: &str = "corpus/btrfs-progs/fsck-tests/021-partially-dropped-snapshot-case/dropped-snapshot.img";

impl Base {
    /// The mkfs recipe's name, or the shared image folder's.
    pub fn name(self) -> &'static str {
        match self {
            Base::MkfsFiles => "mkfs-files",
            Base::MkfsTree => "mkfs-tree",
            Base::MkfsTreeHoles => "mkfs-tree-holes",
            Base::MkfsCsum => "mkfs-csum",
            Base::MkfsQuota => "mkfs-quota",
            Base::MkfsZoned => "mkfs-zoned",
            Base::KBgt => "k-bgt",
            Base::KRich => "k-rich",
            Base::KSquota => "k-squota",
            Base::KRaid1 => "k-raid1",
            Base::KRaid5 => "k-raid5",
            Base::KLogtree => "k-logtree",
            Base::KSpacecacheV1 => "k-spacecache-v1",
            Base::Dropped021 => "021-dropped-snapshot",
        }
    }

    /// How the clean base is checked: `--check-data-csum`, except on a metadump (no data).
    pub fn clean_args(self) -> &'static [&'static str] {
        match self {
            Base::Dropped021 => &[],
            _ => &["--check-data-csum"],
        }
    }

    /// The kinds `ondisk check` with [`Base::clean_args`] reports on the clean base: infos, or
    /// `KIND:warning` for a warning the base is known for.
    pub fn clean_kinds(self) -> &'static [&'static str] {
        match self {
            // mkfs's temporary bootstrap chunks left free space tree entries behind (see
            // tests/btrfs_check_csum.rs for why that is an info).
            Base::KRich | Base::KRaid1 | Base::KRaid5 => &["btrfs.free_space_orphan"],
            // An unreplayed log: "log replay pending" is an info, not a fault.
            Base::KLogtree => &["btrfs.free_space_orphan", "btrfs.log_replay_pending"],
            // `btrfs-image -t 1 -r` writes the primary superblock only (see restore_metadump):
            // the mirror at 64 MiB reads as zeros (a warning, as btrfs check's scan of mirrors
            // would say); root 258 is being dropped (an info).
            Base::Dropped021 => &["btrfs.subvolume_dropping", "btrfs.super_bad_magic:warning"],
            _ => &[],
        }
    }

    /// Builds the clean base into `dir` (which must exist) and reads its dump.
    pub fn build(self, tools: &Tools, dir: &Path) -> Result<BaseImage, Error> {
        let paths = match self {
            Base::MkfsFiles => vec![mkfs(Some(&files(dir, [20000, 70000, 9000])?), &dir.join("fs.img"), 256 << 20, &["-m", "single", "-d", "single"])?],
            Base::MkfsQuota => {
                let root = files(dir, [300_000, 70000, 9000])?;
                vec![mkfs(Some(&root), &dir.join("fs.img"), 256 << 20, &["-R", "quota", "-m", "single", "-d", "single"])?]
            }
            Base::MkfsZoned => vec![mkfs(None, &dir.join("fs.img"), 3 << 30, &["-O", "zoned", "-m", "single", "-d", "single"])?],
            Base::Dropped021 => vec![restore_metadump(tools, DROPPED_021, &dir.join("fs.img"))?],
            Base::MkfsTree | Base::MkfsTreeHoles => {
                let root = dir.join("root");
                io("root", std::fs::create_dir_all(root.join("d/sub")))?;
                io("root", std::fs::create_dir_all(root.join("e")))?;
                io("file", std::fs::write(root.join("d/a"), vec![b'a'; 100]))?;
                io("file", std::fs::write(root.join("d/b"), vec![b'b'; 100]))?;
                // Where the temp filesystem takes user xattrs, mkfs copies this one into an
                // XATTR_ITEM (the xattr hash row falls back to a DIR_ITEM without it).
                let _ = set_xattr(&root.join("d/b"), "user.ondisk", b"value");
                io("file", std::fs::write(root.join("big"), (0..65536u32).map(|i| (i * 7) as u8).collect::<Vec<_>>()))?;
                io("symlink", std::os::unix::fs::symlink("d/a", root.join("link")))?;
                let mut args = vec!["-m", "single", "-d", "single"];
                if self == Base::MkfsTreeHoles {
                    args.extend(["-O", "^no-holes"]);
                }
                vec![mkfs(Some(&root), &dir.join("fs.img"), 128 << 20, &args)?]
            }
            Base::MkfsCsum => {
                let root = dir.join("root");
                io("root", std::fs::create_dir_all(root.join("d")))?;
                for (name, len, seed) in [("b", 70000, 1), ("a", 300000, 2), ("big", 20 << 20, 3), ("d/small", 1000, 4)] {
                    io("file", std::fs::write(root.join(name), noise(len, seed)))?;
                }
                vec![mkfs(Some(&root), &dir.join("fs.img"), 256 << 20, &["-m", "single", "-d", "single"])?]
            }
            _ => {
                let shared = tools.shared.as_ref().ok_or_else(|| Error::Skip("../shared is not present".into()))?;
                let folder = shared.join("images/btrfs").join(self.name());
                let mut members: Vec<PathBuf> = io(folder.display(), std::fs::read_dir(&folder))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.to_string_lossy().ends_with(".img.zst"))
                    .collect();
                members.sort();
                let mut paths = Vec::new();
                for src in members {
                    if let Some(unpacked) = tools.unpacked {
                        paths.push(unpacked(&src));
                        continue;
                    }
                    let name = src.file_name().map(|n| n.to_string_lossy().trim_end_matches(".zst").to_string()).unwrap_or_default();
                    let dst = dir.join(name);
                    unzstd(&src, &dst)?;
                    paths.push(dst);
                }
                paths
            }
        };
        BaseImage::open(tools, paths)
    }
}

/// `dir/root` with `f0`, `f1`, `f2` of these sizes (big enough for regular extents, or small
/// enough to be inline) and an inline `d/small`.
fn files(dir: &Path, sizes: [usize; 3]) -> Result<PathBuf, Error> {
    let root = dir.join("root");
    io("root", std::fs::create_dir_all(root.join("d")))?;
    for (i, n) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..*n).map(|j| (j * 31 + i * 7) as u8).collect();
        io("file", std::fs::write(root.join(format!("f{i}")), data))?;
    }
    io("file", std::fs::write(root.join("d/small"), b"hi\n"))?;
    Ok(root)
}

/// `btrfs-image -r` of a shared metadump into `img`, with one restore thread.
///
/// btrfs-image writes the superblock mirrors only where the output file already reaches when
/// the worker restoring the superblock gets to them (`write_backup_supers`). The superblock is
/// the dump's first item, so one worker restores it into a file that reaches no mirror; with a
/// worker per core another may have grown the file past 64 MiB first, and the mirror there was
/// written in 2 restores of 40 (btrfs-progs 6.2; a CI run failed on it). One thread makes the
/// image the same every time.
fn restore_metadump(tools: &Tools, rel: &str, img: &Path) -> Result<PathBuf, Error> {
    let shared = tools.shared.as_ref().ok_or_else(|| Error::Skip("../shared is not present".into()))?;
    let src = shared.join(rel);
    if !src.exists() {
        return Err(Error::Skip(format!("{} is not present", src.display())));
    }
    match Command::new("btrfs-image").args(["-t", "1", "-r"]).arg(&src).arg(img).output() {
        Ok(o) if o.status.success() => Ok(img.to_path_buf()),
        Ok(o) => Err(Error::Tool(format!("btrfs-image -r: {}", String::from_utf8_lossy(&o.stderr).trim()))),
        Err(e) => Err(Error::Skip(format!("btrfs-image is not available ({e})"))),
    }
}

/// Deterministic pseudo-random bytes (so csums differ from sector to sector).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(p), Ok(n)) = (std::ffi::CString::new(path.as_os_str().as_bytes()), std::ffi::CString::new(name)) else {
        return false;
    };
    // SAFETY: both strings are NUL-terminated and live across the call; value is a valid slice.
    unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) == 0 }
}

/// `mkfs.btrfs -q -f [--rootdir ROOT] ARGS IMG` on a sparse file of `size` bytes.
fn mkfs(root: Option<&Path>, img: &Path, size: u64, args: &[&str]) -> Result<PathBuf, Error> {
    io(img.display(), File::create(img).and_then(|f| f.set_len(size)))?;
    let mut cmd = Command::new("mkfs.btrfs");
    cmd.args(["-q", "-f"]);
    if let Some(root) = root {
        cmd.arg("--rootdir").arg(root);
    }
    let out = cmd.args(args).arg(img).output();
    match out {
        Ok(o) if o.status.success() => Ok(img.to_path_buf()),
        Ok(o) => Err(Error::Tool(format!("mkfs.btrfs: {}", String::from_utf8_lossy(&o.stderr).trim()))),
        Err(e) => Err(Error::Skip(format!("mkfs.btrfs is not available ({e})"))),
    }
}

/// Decompresses a `.zst` image, leaving runs of zeros as holes: with the zstd tool where it is
/// installed (several times quicker on the mostly empty 4 GiB members), else in process.
fn unzstd(src: &Path, dst: &Path) -> Result<(), Error> {
    use std::io::Read;
    let tool = Command::new("zstd").args(["-q", "-d", "-f", "--sparse"]).arg(src).arg("-o").arg(dst).stderr(Stdio::null()).status();
    if tool.is_ok_and(|s| s.success()) {
        return Ok(());
    }
    let f = io(src.display(), File::open(src))?;
    let mut dec = ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(f)).map_err(|e| Error::Tool(format!("{}: {e}", src.display())))?;
    let out = io(dst.display(), File::create(dst))?;
    let mut buf = vec![0u8; 1 << 16];
    let zeros = vec![0u8; buf.len()];
    let mut pos = 0u64;
    loop {
        let mut got = 0;
        while got < buf.len() {
            match io(src.display(), dec.read(&mut buf[got..]))? {
                0 => break,
                n => got += n,
            }
        }
        if got == 0 {
            break;
        }
        // Slice equality is a memcmp: quick even in a debug build.
        if buf[..got] != zeros[..got] {
            io(dst.display(), out.write_all_at(&buf[..got], pos))?;
        }
        pos += got as u64;
    }
    io(dst.display(), out.set_len(pos))
}

/// Copies an image keeping its holes (only the data extents are read and written).
fn sparse_copy(src: &Path, dst: &Path) -> Result<(), Error> {
    use std::os::fd::AsRawFd;
    let from = io(src.display(), File::open(src))?;
    let to = io(dst.display(), File::create(dst))?;
    let len = io(src.display(), from.metadata())?.len();
    let fd = from.as_raw_fd();
    let mut pos = 0i64;
    let mut buf = vec![0u8; 1 << 20];
    while (pos as u64) < len {
        // SAFETY: plain lseek calls on a descriptor this function owns.
        let data = unsafe { libc::lseek(fd, pos, libc::SEEK_DATA) };
        if data < 0 {
            break;
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        let end = if hole < 0 { len as i64 } else { hole };
        let mut at = data;
        while at < end {
            let n = buf.len().min((end - at) as usize);
            io(src.display(), from.read_exact_at(&mut buf[..n], at as u64))?;
            io(dst.display(), to.write_all_at(&buf[..n], at as u64))?;
            at += n as i64;
        }
        pos = end;
    }
    io(dst.display(), to.set_len(len))
}

/// An image: its member files, and the `ondisk dump --json` records of its clean base (a row's
/// damage is found through them, before any damage).
#[derive(Clone)]
pub struct BaseImage {
    pub paths: Vec<PathBuf>,
    pub records: Arc<Vec<Value>>,
    pub nodesize: usize,
    pub csum_type: u16,
    /// Devid of each member, in path order.
    pub devids: Vec<u64>,
}

impl BaseImage {
    /// An image as it is (its members, in device order), read through `ondisk dump --json`.
    pub fn open(tools: &Tools, paths: Vec<PathBuf>) -> Result<BaseImage, Error> {
        let out = io("ondisk dump", Command::new(&tools.ondisk).arg("dump").arg("--json").args(&paths).stderr(Stdio::null()).output())?;
        let records: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let sb = |p: &Path, at: u64, len: usize| -> Result<Vec<u8>, Error> {
            let f = io(p.display(), File::open(p))?;
            let mut b = vec![0u8; len];
            io(p.display(), f.read_exact_at(&mut b, SUPER_OFFSETS[0] + at))?;
            Ok(b)
        };
        let first = paths.first().ok_or_else(|| missing("an image member"))?;
        let nodesize = le32(&sb(first, offset_of!(SuperBlock, nodesize) as u64, 4)?, 0) as usize;
        let c = sb(first, offset_of!(SuperBlock, csum_type) as u64, 2)?;
        let csum_type = u16::from_le_bytes([c[0], c[1]]);
        let devid = (offset_of!(SuperBlock, dev_item) + offset_of!(DevItem, devid)) as u64;
        let devids = paths.iter().map(|p| sb(p, devid, 8).map(|b| le64(&b, 0))).collect::<Result<_, _>>()?;
        Ok(BaseImage { paths, records: Arc::new(records), nodesize, csum_type, devids })
    }

    /// A writable copy of this base in `dir` (member file names kept).
    pub fn copy_to(&self, dir: &Path) -> Result<Img, Error> {
        let mut paths = Vec::new();
        for p in &self.paths {
            let dst = dir.join(p.file_name().ok_or_else(|| missing("a member file name"))?);
            sparse_copy(p, &dst)?;
            paths.push(dst);
        }
        Ok(Img { image: BaseImage { paths, ..self.clone() }, fields: Vec::new() })
    }
}

/// Reading numbers out of dump records: `v.u("key.offset")`.
pub trait Get {
    /// The number at a dotted path (array indices as numbers).
    fn u(&self, path: &str) -> Result<u64, Error>;
}

impl Get for Value {
    fn u(&self, path: &str) -> Result<u64, Error> {
        at(self, path).as_u64().ok_or_else(|| Error::Missing(format!("field {path}")))
    }
}

/// The value at a dotted path (`Null` where there is none).
fn at<'v>(mut v: &'v Value, path: &str) -> &'v Value {
    for part in path.split('.') {
        v = match part.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[part],
        };
    }
    v
}

pub fn le64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
pub fn le32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}
pub fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
pub fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
/// Adds (wrapping) to a u64 field.
pub fn add64(b: &mut [u8], at: usize, v: u64) {
    let x = le64(b, at).wrapping_add(v);
    put64(b, at, x);
}

/// `struct btrfs_disk_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub objectid: u64,
    pub ty: u8,
    pub offset: u64,
}

/// The `btrfs_disk_key` at `at`.
pub fn get_key(b: &[u8], at: usize) -> Key {
    Key { objectid: le64(b, at + offset_of!(DiskKey, objectid)), ty: b[at + offset_of!(DiskKey, type_)], offset: le64(b, at + offset_of!(DiskKey, offset)) }
}

/// Writes a `btrfs_disk_key` at `at`.
pub fn put_key(b: &mut [u8], at: usize, key: Key) {
    put64(b, at + offset_of!(DiskKey, objectid), key.objectid);
    b[at + offset_of!(DiskKey, type_)] = key.ty;
    put64(b, at + offset_of!(DiskKey, offset), key.offset);
}

/// One item of a leaf being rewritten.
#[derive(Debug, Clone)]
pub struct LeafItem {
    pub key: Key,
    pub data: Vec<u8>,
}

/// Where bytes are in the image: (member index, physical offset).
pub type Place = (usize, u64);

/// Which copies of a tree block an edit goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copies {
    All,
    Only(usize),
}

/// A field a finding of some kind must carry: the first finding of that kind, or every one.
#[derive(Debug, Clone)]
pub struct FieldWant {
    pub kind: String,
    /// `location.logical`, `context.length`, ...
    pub path: String,
    pub value: Value,
    pub every: bool,
}

/// A writable copy of a base image being damaged.
pub struct Img {
    pub image: BaseImage,
    /// Finding fields the row expects besides its kinds.
    pub fields: Vec<FieldWant>,
}

impl std::ops::Deref for Img {
    type Target = BaseImage;
    fn deref(&self) -> &BaseImage {
        &self.image
    }
}

impl Img {
    /// Every leaf item record.
    pub fn items(&self) -> impl Iterator<Item = &Value> + '_ {
        // Not `"type" == "item"`: items with a `type` field of their own (EXTENT_DATA,
        // CHUNK_ITEM) print it after the record's, and a JSON reader keeps the last.
        self.records.iter().filter(|v| v.get("item_type").is_some())
    }

    /// The items of one tree of one type.
    pub fn items_of<'s>(&'s self, tree: u64, item_type: &'s str) -> impl Iterator<Item = &'s Value> + 's {
        self.items().filter(move |v| v["tree"] == tree && v["item_type"] == item_type)
    }

    /// The first item matching `pred`.
    pub fn find(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Result<Value, Error> {
        self.items().find(|v| pred(v)).cloned().ok_or_else(|| missing(what))
    }

    /// The blocks of one tree, in dump order: (bytenr, level).
    pub fn nodes_of(&self, tree: u64) -> Vec<(u64, u64)> {
        self.records
            .iter()
            .filter(|v| v["type"] == "node" && v["tree"] == tree)
            .filter_map(|v| Some((v["bytenr"].as_u64()?, v["level"].as_u64()?)))
            .collect()
    }

    /// Every copy of a logical address: (member index, physical), for profiles whose stripes
    /// are whole copies (SINGLE, DUP, RAID1*).
    pub fn copies(&self, logical: u64) -> Result<Vec<Place>, Error> {
        let c = self.chunk_of(logical)?;
        if c.u("chunk_type")? & STRIPED != 0 {
            return Err(Error::Unsupported(format!("logical {logical} is in a striped chunk")));
        }
        let start = c.u("key.offset")?;
        let stripes = c["stripes"].as_array().ok_or_else(|| missing("chunk stripes"))?;
        stripes.iter().map(|s| Ok((self.member(s.u("devid")?)?, s.u("offset")? + (logical - start)))).collect()
    }

    fn chunk_of(&self, logical: u64) -> Result<&Value, Error> {
        self.items_of(3, "CHUNK_ITEM")
            .find(|c| {
                let (Ok(s), Ok(l)) = (c.u("key.offset"), c.u("length")) else { return false };
                (s..s + l).contains(&logical)
            })
            .ok_or_else(|| Error::Missing(format!("a chunk holding {logical}")))
    }

    fn member(&self, devid: u64) -> Result<usize, Error> {
        self.devids.iter().position(|d| *d == devid).ok_or_else(|| Error::Missing(format!("devid {devid}")))
    }

    /// RAID5: (member, physical) of the data stripe holding `logical` and of its row's parity.
    pub fn raid5(&self, logical: u64) -> Result<(Place, Place), Error> {
        let c = self.chunk_of(logical)?;
        if c.u("chunk_type")? & BLOCK_GROUP_RAID5 == 0 {
            return Err(Error::Unsupported("not a RAID5 chunk".into()));
        }
        let stripes = c["stripes"].as_array().ok_or_else(|| missing("chunk stripes"))?;
        let (n, slen) = (stripes.len() as u64, c.u("stripe_len")?);
        let off = logical - c.u("key.offset")?;
        let data = n - 1;
        let (nr, in_stripe) = (off / slen, off % slen);
        let (row, col) = (nr / data, nr % data);
        let at = |idx: u64| -> Result<Place, Error> {
            let st = &stripes[idx as usize];
            Ok((self.member(st.u("devid")?)?, st.u("offset")? + row * slen + in_stripe))
        };
        // Parity rotates: row r keeps P on stripe (data + r) % n, data from (col + r) % n.
        Ok((at((col + row) % n)?, at((data + row) % n)?))
    }

    pub fn read(&self, dev: usize, phys: u64, len: usize) -> Result<Vec<u8>, Error> {
        let p = &self.paths[dev];
        let f = io(p.display(), File::open(p))?;
        let mut b = vec![0; len];
        io(p.display(), f.read_exact_at(&mut b, phys))?;
        Ok(b)
    }

    pub fn write(&self, dev: usize, phys: u64, data: &[u8]) -> Result<(), Error> {
        let p = &self.paths[dev];
        let f = io(p.display(), OpenOptions::new().write(true).open(p))?;
        io(p.display(), f.write_all_at(data, phys))
    }

    /// XORs one byte at `logical` with 0x5a in the first copy only, or in every copy.
    pub fn flip(&self, logical: u64, all: bool) -> Result<(), Error> {
        for (n, (dev, p)) in self.copies(logical)?.into_iter().enumerate() {
            if n > 0 && !all {
                break;
            }
            self.flip_at(dev, p)?;
        }
        Ok(())
    }

    /// XORs one byte of a member with 0x5a.
    pub fn flip_at(&self, dev: usize, phys: u64) -> Result<(), Error> {
        let mut b = self.read(dev, phys, 1)?;
        b[0] ^= 0x5a;
        self.write(dev, phys, &b)
    }

    /// Redoes a tree block's checksum (bytes 32.. into the first 32).
    pub fn recsum(&self, b: &mut [u8]) -> Result<(), Error> {
        let c = self.csum(&b[32..])?;
        b[..32].fill(0);
        b[..c.len()].copy_from_slice(&c);
        Ok(())
    }

    /// The checksum of the superblock's csum_type, as stored: crc32c and xxhash64 little-endian,
    /// sha256 and blake2b-256 digests.
    fn csum(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        use blake2::Digest;
        match self.csum_type {
            0 => Ok(crc32c::crc32c(data).to_le_bytes().to_vec()),
            1 => Ok(xxhash_rust::xxh64::xxh64(data, 0).to_le_bytes().to_vec()),
            2 => Ok(sha2::Sha256::digest(data).to_vec()),
            3 => Ok(blake2::Blake2b::<blake2::digest::consts::U32>::digest(data).to_vec()),
            t => Err(Error::Unsupported(format!("re-checksumming csum type {t}"))),
        }
    }

    /// Edits the tree block at `logical`: `f` changes the first selected copy, which is then
    /// re-checksummed if `recsum` and written to every selected copy.
    pub fn edit_block(&self, logical: u64, which: Copies, recsum: bool, f: impl FnOnce(&mut [u8])) -> Result<(), Error> {
        let copies: Vec<Place> =
            self.copies(logical)?.into_iter().enumerate().filter(|(i, _)| which == Copies::All || which == Copies::Only(*i)).map(|(_, c)| c).collect();
        let &(dev, p) = copies.first().ok_or_else(|| Error::Missing(format!("copy {which:?} of {logical}")))?;
        let mut b = self.read(dev, p, self.nodesize)?;
        f(&mut b);
        if recsum {
            self.recsum(&mut b)?;
        }
        for (dev, p) in copies {
            self.write(dev, p, &b)?;
        }
        Ok(())
    }

    /// Edits the block holding a dump `item` (block bytes, slot), re-checksummed, every copy.
    pub fn edit_item_block(&self, item: &Value, f: impl FnOnce(&mut [u8], usize)) -> Result<(), Error> {
        let slot = item.u("slot")? as usize;
        self.edit_block(item.u("block")?, Copies::All, true, |b| f(b, slot))
    }

    /// Edits an item's data in place.
    pub fn edit_item(&self, item: &Value, f: impl FnOnce(&mut [u8])) -> Result<(), Error> {
        let off = HEADER + item.u("itemoff")? as usize;
        let size = item.u("itemsize")? as usize;
        self.edit_item_block(item, |b, _| f(&mut b[off..off + size]))
    }

    /// Rewrites an item's key in place.
    pub fn edit_key(&self, item: &Value, key: Key) -> Result<(), Error> {
        self.edit_item_block(item, |b, slot| put_key(b, HEADER + slot * ITEM, key))
    }

    /// Removes an item the way the kernel does: later headers move down one slot, the data of
    /// later items (stored below) moves up by the removed item's size.
    pub fn delete_item(&self, item: &Value) -> Result<(), Error> {
        self.edit_item_block(item, |b, slot| {
            let nritems = le32(b, NRITEMS) as usize;
            let hdr = |i: usize| HEADER + i * ITEM;
            let (off, size) = (le32(b, hdr(slot) + ITEM_OFFSET) as usize, le32(b, hdr(slot) + ITEM_SIZE) as usize);
            let low = le32(b, hdr(nritems - 1) + ITEM_OFFSET) as usize;
            b.copy_within(HEADER + low..HEADER + off, HEADER + low + size);
            for i in slot + 1..nritems {
                let o = le32(b, hdr(i) + ITEM_OFFSET) + size as u32;
                put32(b, hdr(i) + ITEM_OFFSET, o);
            }
            b.copy_within(hdr(slot + 1)..hdr(nritems), hdr(slot));
            put32(b, NRITEMS, (nritems - 1) as u32);
        })
    }

    /// Rewrites the leaf at `logical`: `f` edits its item list, which is packed again from the
    /// end of the block (as btrfs lays items out), re-checksummed and written to every copy.
    /// The first key must stay (the parent's pointer names it) and the items must fit.
    pub fn edit_leaf(&self, logical: u64, f: impl FnOnce(&mut Vec<LeafItem>)) -> Result<(), Error> {
        let mut result = Ok(());
        let n = self.nodesize;
        self.edit_block(logical, Copies::All, true, |b| {
            if b[LEVEL] != 0 {
                result = Err(Error::Unsupported(format!("block {logical} is not a leaf")));
                return;
            }
            let nritems = le32(b, NRITEMS) as usize;
            let mut items: Vec<LeafItem> = (0..nritems)
                .map(|i| {
                    let h = HEADER + i * ITEM;
                    let key = get_key(b, h);
                    let (off, size) = (le32(b, h + ITEM_OFFSET) as usize, le32(b, h + ITEM_SIZE) as usize);
                    LeafItem { key, data: b[HEADER + off..HEADER + off + size].to_vec() }
                })
                .collect();
            let first = items.first().map(|it| it.key);
            f(&mut items);
            let data: usize = items.iter().map(|it| it.data.len()).sum();
            if HEADER + ITEM * items.len() + data > n {
                result = Err(Error::Unsupported("the items no longer fit the leaf".into()));
                return;
            }
            if items.first().map(|it| it.key) != first {
                // Its parent names it: that would be a second fault.
                result = Err(Error::Unsupported("the first key of a leaf must not change".into()));
                return;
            }
            b[HEADER..].fill(0);
            let mut end = n - HEADER;
            for (i, it) in items.iter().enumerate() {
                end -= it.data.len();
                let h = HEADER + i * ITEM;
                put_key(b, h, it.key);
                put32(b, h + ITEM_OFFSET, end as u32);
                put32(b, h + ITEM_SIZE, it.data.len() as u32);
                b[HEADER + end..HEADER + end + it.data.len()].copy_from_slice(&it.data);
            }
            put32(b, NRITEMS, items.len() as u32);
        })?;
        result
    }

    /// Edits every superblock copy that fits in every member, re-checksumming each.
    pub fn edit_super(&self, f: impl Fn(&mut [u8])) -> Result<(), Error> {
        for dev in 0..self.paths.len() {
            let len = io("image", std::fs::metadata(&self.paths[dev]))?.len();
            for off in SUPER_OFFSETS.iter().filter(|&&o| o + 4096 <= len) {
                let mut b = self.read(dev, *off, 4096)?;
                if &b[64..72] != b"_BHRfS_M" {
                    continue;
                }
                f(&mut b);
                self.recsum(&mut b)?;
                self.write(dev, *off, &b)?;
            }
        }
        Ok(())
    }

    /// The first finding of `kind` must carry `value` at `path`.
    pub fn expect_field(&mut self, kind: &str, path: &str, value: impl Into<Value>) {
        self.fields.push(FieldWant { kind: kind.into(), path: path.into(), value: value.into(), every: false });
    }

    /// Every finding of `kind` must carry `value` at `path`.
    pub fn expect_every(&mut self, kind: &str, path: &str, value: impl Into<Value>) {
        self.fields.push(FieldWant { kind: kind.into(), path: path.into(), value: value.into(), every: true });
    }

    /// `ondisk check --json ARGS` on this image, with the row's finding fields compared.
    pub fn check(&self, tools: &Tools, args: &[&str]) -> Result<Found, Error> {
        check(tools, &self.paths, args, &self.fields)
    }
}

/// `ondisk check --json ARGS PATHS`: what it reported, and how the first finding of each kind
/// in `fields` differs from what is expected of it.
pub fn check(tools: &Tools, paths: &[PathBuf], args: &[&str], fields: &[FieldWant]) -> Result<Found, Error> {
    let out = io("ondisk check", Command::new(&tools.ondisk).arg("check").arg("--json").args(args).args(paths).output())?;
    let mut found = Found { code: out.status.code(), ..Found::default() };
    let mut by_kind: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut summary = None;
    for v in String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if v["type"] == "finding" {
            let (Some(kind), Some(sev)) = (v["kind"].as_str(), v["severity"].as_str()) else { continue };
            let e = found.kinds.entry(kind.to_string()).or_insert((0, "info".into()));
            e.0 += 1;
            if rank(sev) < rank(&e.1) {
                e.1 = sev.to_string();
            }
            by_kind.entry(kind.to_string()).or_default().push(v);
        } else if v["type"] == "summary" {
            summary = Some(v);
        }
    }
    let summary = summary.ok_or_else(|| Error::Tool(format!("ondisk check printed no summary: {}", String::from_utf8_lossy(&out.stderr).trim())))?;
    found.errors = summary["errors"].as_u64().unwrap_or_default();
    found.warnings = summary["warnings"].as_u64().unwrap_or_default();
    for w in fields {
        let all = by_kind.get(&w.kind).map_or(&[][..], Vec::as_slice);
        let checked = if w.every { all } else { all.get(..1).unwrap_or_default() };
        if checked.is_empty() {
            found.field_mismatches.push(format!("{}: no finding to carry {} = {}", w.kind, w.path, w.value));
        }
        for (n, f) in checked.iter().enumerate() {
            let got = at(f, &w.path);
            if *got != w.value {
                found.field_mismatches.push(format!("{} #{n}: {} is {got}, {} expected", w.kind, w.path, w.value));
            }
        }
    }
    Ok(found)
}

fn rank(s: &str) -> u8 {
    match s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    }
}

/// What `ondisk check` reported.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub code: Option<i32>,
    pub errors: u64,
    pub warnings: u64,
    /// kind → (count, worst severity).
    pub kinds: BTreeMap<String, (u64, String)>,
    /// Expected finding fields that differ.
    pub field_mismatches: Vec<String>,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v: Vec<String> = self.kinds.iter().map(|(k, (n, s))| format!("{}={n}:{s}", super::short(k))).collect();
        if v.is_empty() {
            f.write_str("-")
        } else {
            f.write_str(&v.join(" "))
        }
    }
}
