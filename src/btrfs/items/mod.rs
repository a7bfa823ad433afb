//! Leaf item decoding: every item type btrfs-progs 6.2's dump-tree decodes, with its field
//! names. `decode` gives the JSON fields, `print_body` the dump-tree text lines; both come from
//! the same decoding (`parse` into a typed view, then one renderer each) so that the text diff
//! against dump-tree also vouches for the JSON.
//!
//! Item data is untrusted: a view is only built over bytes that are there, multi-entry items
//! (directory entries, inode refs, inline backrefs) are walked with checked offsets, and an item
//! that does not fit its type yields a [`DecodeError`], printed as an `ERROR:` line while the
//! dump goes on. Text is written straight to the writer; nothing is allocated per item on that
//! path.

mod chunk;
mod csum;
mod dir;
mod extent;
mod file_extent;
pub mod put;
mod free_space;
mod inode;
mod misc;
mod qgroup;
mod root;
mod uuid;

pub use chunk::{chunk_fields, chunk_item_size, print_chunk};
pub(crate) use dir::{dir_entries, dir_entries_checked};
pub(crate) use inode::ref_entries;
pub(crate) use extent::{parse as parse_extent, InlineRef};
pub(crate) use root::root_item;

use crate::record::{civil_time, Record, Value};
use ondisk_layouts::btrfs::items::*;
use ondisk_layouts::btrfs::*;
use std::fmt;
use put::{Out, Put};
use std::io::{self, Write};
use zerocopy::{FromBytes, Immutable, KnownLayout};

/// What item decoding needs to know beyond the item itself.
#[derive(Debug, Clone, Copy)]
pub struct ItemCtx {
    /// Bytes per checksum (from the superblock's csum_type).
    pub csum_size: usize,
    pub sectorsize: u32,
    pub nodesize: u32,
    /// Owner of the leaf (the tree the item is in).
    pub owner: u64,
}

/// dump-tree's text options beyond the default output.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOpts {
    /// `--csum-items`: print every checksum of EXTENT_CSUM items.
    pub csum_items: bool,
    /// `--hide-names`: `HIDDEN` instead of file names and xattr names/values.
    pub hide_names: bool,
}

/// Why an item (or one entry of it) could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The item is shorter than the structure its type calls for.
    Short { what: &'static str, need: usize, have: usize },
    /// An entry inside the item runs past its end.
    Overrun { what: &'static str, at: usize, need: usize, have: usize },
    /// A field holds a value the format does not allow.
    Invalid { what: &'static str, value: u64 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Short { what, need, have } => {
                write!(f, "item too short for {what}: {have} bytes, need {need}")
            }
            DecodeError::Overrun { what, at, need, have } => {
                write!(f, "{what} at item offset {at} needs {need} bytes, item has {have}")
            }
            DecodeError::Invalid { what, value } => write!(f, "invalid {what} {value}"),
        }
    }
}

impl DecodeError {
    /// The `ERROR:` line the text dump prints in place of what could not be decoded.
    pub fn print(&self, o: &mut dyn Write) -> io::Result<()> {
        writeln!(o, "\t\tERROR: {self}")
    }
}

/// Reads one packed entry at an offset: the entry, and the bytes it took (`None`: stop after it).
pub(crate) type ParseEntry<'d, T> = fn(&'d [u8], usize) -> Result<(T, Option<usize>), DecodeError>;

/// The variable-length entries packed one after another in an item (inode refs, extrefs, directory
/// entries). `parse(data, at)` reads the entry at `at` and gives the bytes it took, or `None` to
/// stop after it (its tail did not fit); an error ends the walk too, after it is yielded — so a
/// hostile length can never make the walk loop or run past the item.
pub(crate) fn packed<'d, T: 'd>(data: &'d [u8], parse: ParseEntry<'d, T>) -> impl Iterator<Item = Result<T, DecodeError>> + 'd {
    let mut at = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done || at >= data.len() {
            return None;
        }
        Some(match parse(data, at) {
            Ok((e, Some(size))) => {
                at = at.saturating_add(size.max(1));
                Ok(e)
            }
            Ok((e, None)) => {
                done = true;
                Ok(e)
            }
            Err(err) => {
                done = true;
                Err(err)
            }
        })
    })
}

/// A zerocopy view of `T` at the start of `data`, or why not.
pub(crate) fn view<'d, T: FromBytes + KnownLayout + Immutable>(data: &'d [u8], what: &'static str) -> Result<&'d T, DecodeError> {
    T::ref_from_prefix(data)
        .map(|(t, _)| t)
        .map_err(|_| DecodeError::Short { what, need: core::mem::size_of::<T>(), have: data.len() })
}

/// A view of `T` at `at` inside an item of multiple entries, or an overrun error.
pub(crate) fn view_at<'d, T: FromBytes + KnownLayout + Immutable>(
    data: &'d [u8],
    at: usize,
    what: &'static str,
) -> Result<&'d T, DecodeError> {
    let need = core::mem::size_of::<T>();
    data.get(at..)
        .and_then(|d| T::ref_from_prefix(d).ok())
        .map(|(t, _)| t)
        .ok_or(DecodeError::Overrun { what, at, need, have: data.len() })
}

/// `len` bytes at `at`, or an overrun error.
pub(crate) fn bytes_at<'d>(data: &'d [u8], at: usize, len: usize, what: &'static str) -> Result<&'d [u8], DecodeError> {
    at.checked_add(len)
        .and_then(|end| data.get(at..end))
        .ok_or(DecodeError::Overrun { what, at, need: len, have: data.len() })
}

/// What C's `printf("%.*s", max, s)` prints of `s`: at most `max` bytes, up to the first NUL.
pub(crate) fn c_str(s: &[u8], max: usize) -> &[u8] {
    let s = &s[..s.len().min(max)];
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

/// `print_timespec`: `SEC.NSEC (YYYY-MM-DD HH:MM:SS)`. progs uses local time; we print UTC, which
/// is what the reference outputs were made with (TZ unset).
pub(crate) struct TimeText<'t>(pub &'t Timespec);

impl TimeText<'_> {
    /// Appends the text without going through `fmt`.
    pub(crate) fn put<P: Put + ?Sized>(&self, p: &mut P) {
        let sec = self.0.sec.get();
        // time_t is signed: a huge u64 is a date before 1970 to localtime.
        let (y, mo, d, h, mi, s) = civil_time(sec as i64);
        p.u(sec).s(".").u(u64::from(self.0.nsec.get())).s(" (");
        // glibc keeps the year as `int tm_year` (year - 1900), wrapping far-off years, and
        // strftime's %Y does not zero-pad: print what progs prints for fuzzed timestamps.
        let year = i64::from((y - 1900) as i32) + 1900;
        p.i(year).s("-").u_pad(u64::from(mo), 2).s("-").u_pad(u64::from(d), 2);
        p.s(" ").u_pad(u64::from(h), 2).s(":").u_pad(u64::from(mi), 2).s(":").u_pad(u64::from(s), 2).s(")");
    }
}

impl fmt::Display for TimeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = put::Scratch::new();
        self.put(&mut s);
        f.write_str(s.as_str())
    }
}

/// Adds `NAME` (seconds) and `NAME_nsec` for a timestamp.
/// Pushes the field `name`: one record per entry of a packed item; an entry that does not decode
/// (the iterators end with it) sets the item's own `error` field instead.
pub(crate) fn push_entries<'d, E>(
    r: &mut Record<'d>,
    name: &'static str,
    entries: impl Iterator<Item = Result<E, DecodeError>>,
    mut record: impl FnMut(E) -> Record<'d>,
) {
    let mut list = Vec::new();
    for e in entries {
        match e {
            Ok(e) => list.push(Value::Record(record(e))),
            Err(err) => {
                r.push("error", err.to_string());
            }
        }
    }
    r.push(name, list);
}

pub(crate) fn push_time<'d>(r: &mut Record<'d>, name: &'static str, nsec_name: &'static str, t: &Timespec) {
    r.push(name, t.sec.get()).push(nsec_name, t.nsec.get());
}

/// A uuid as a JSON string.
pub(crate) fn uuid_value(u: &[u8; 16]) -> Value<'static> {
    Value::Str(super::names::UuidText(u).to_string().into())
}

/// A key as a JSON object.
pub(crate) fn key_value(k: &DiskKey) -> Value<'static> {
    super::dump::key_record(k)
}

/// An item decoded into typed views over its bytes.
enum Decoded<'d> {
    Inode(&'d InodeItem),
    InodeRef(inode::Refs<'d>),
    InodeExtref(inode::Extrefs<'d>),
    Dir(dir::Entries<'d>),
    DirLog(&'d DirLogItem),
    Orphan,
    FileExtent(file_extent::FileExtent<'d>),
    ExtentCsum(csum::ExtentCsum<'d>),
    CsumItem,
    Root(Box<root::Root>),
    RootRef(root::RootRefView<'d>),
    Extent(extent::Extent<'d>),
    TreeBlockRef,
    SharedBlockRef,
    ExtentDataRef(&'d ExtentDataRef),
    SharedDataRef(&'d SharedDataRef),
    ExtentOwnerRef(&'d ExtentOwnerRef),
    ExtentRefV0(&'d ExtentRefV0),
    BlockGroup(&'d BlockGroupItem),
    FreeSpaceInfo(&'d FreeSpaceInfo),
    FreeSpaceExtent,
    FreeSpaceBitmap(&'d [u8]),
    Chunk(chunk::ChunkView<'d>),
    DevItem(&'d DevItem),
    DevExtent(&'d DevExtent),
    QgroupStatus(qgroup::Status<'d>),
    QgroupInfo(&'d QgroupInfoItem),
    QgroupLimit(&'d QgroupLimitItem),
    QgroupRelation,
    Uuid(uuid::SubvolIds<'d>),
    String(&'d [u8]),
    Persistent(misc::Persistent<'d>),
    Temporary(misc::Temporary<'d>),
    DevReplace(&'d DevReplaceItem),
    VerityDesc(misc::Verity<'d>),
    VerityMerkle(&'d [u8]),
    RaidStripe(misc::RaidStripe<'d>),
    /// A type progs does not decode: only the item line is printed.
    Other,
}

fn parse<'d>(key: &DiskKey, data: &'d [u8], ctx: &ItemCtx) -> Result<Decoded<'d>, DecodeError> {
    Ok(match key.type_ {
        INODE_ITEM_KEY => Decoded::Inode(view(data, "btrfs_inode_item")?),
        INODE_REF_KEY => Decoded::InodeRef(inode::Refs(data)),
        INODE_EXTREF_KEY => Decoded::InodeExtref(inode::Extrefs(data)),
        DIR_ITEM_KEY | DIR_INDEX_KEY | XATTR_ITEM_KEY => Decoded::Dir(dir::Entries(data)),
        DIR_LOG_ITEM_KEY | DIR_LOG_INDEX_KEY => Decoded::DirLog(view(data, "btrfs_dir_log_item")?),
        ORPHAN_ITEM_KEY => Decoded::Orphan,
        EXTENT_DATA_KEY => Decoded::FileExtent(file_extent::parse(data)?),
        EXTENT_CSUM_KEY => Decoded::ExtentCsum(csum::ExtentCsum::new(key, data, ctx)),
        CSUM_ITEM_KEY => Decoded::CsumItem,
        ROOT_ITEM_KEY => Decoded::Root(Box::new(root::parse(data)?)),
        ROOT_REF_KEY | ROOT_BACKREF_KEY => Decoded::RootRef(root::parse_ref(key, data)?),
        EXTENT_ITEM_KEY | METADATA_ITEM_KEY => Decoded::Extent(extent::parse(key, data)?),
        TREE_BLOCK_REF_KEY => Decoded::TreeBlockRef,
        SHARED_BLOCK_REF_KEY => Decoded::SharedBlockRef,
        EXTENT_DATA_REF_KEY => Decoded::ExtentDataRef(view(data, "btrfs_extent_data_ref")?),
        SHARED_DATA_REF_KEY => Decoded::SharedDataRef(view(data, "btrfs_shared_data_ref")?),
        EXTENT_OWNER_REF_KEY => Decoded::ExtentOwnerRef(view(data, "btrfs_extent_owner_ref")?),
        EXTENT_REF_V0_KEY => Decoded::ExtentRefV0(view(data, "btrfs_extent_ref_v0")?),
        BLOCK_GROUP_ITEM_KEY => Decoded::BlockGroup(view(data, "btrfs_block_group_item")?),
        FREE_SPACE_INFO_KEY => Decoded::FreeSpaceInfo(view(data, "btrfs_free_space_info")?),
        FREE_SPACE_EXTENT_KEY => Decoded::FreeSpaceExtent,
        FREE_SPACE_BITMAP_KEY => Decoded::FreeSpaceBitmap(data),
        CHUNK_ITEM_KEY => Decoded::Chunk(chunk::parse(data)?),
        DEV_ITEM_KEY => Decoded::DevItem(view(data, "btrfs_dev_item")?),
        DEV_EXTENT_KEY => Decoded::DevExtent(view(data, "btrfs_dev_extent")?),
        QGROUP_STATUS_KEY => Decoded::QgroupStatus(qgroup::parse_status(data)?),
        QGROUP_INFO_KEY => Decoded::QgroupInfo(view(data, "btrfs_qgroup_info_item")?),
        QGROUP_LIMIT_KEY => Decoded::QgroupLimit(view(data, "btrfs_qgroup_limit_item")?),
        QGROUP_RELATION_KEY => Decoded::QgroupRelation,
        UUID_KEY_SUBVOL | UUID_KEY_RECEIVED_SUBVOL => Decoded::Uuid(uuid::SubvolIds(data)),
        STRING_ITEM_KEY => Decoded::String(data),
        PERSISTENT_ITEM_KEY => Decoded::Persistent(misc::parse_persistent(key, data)?),
        TEMPORARY_ITEM_KEY => Decoded::Temporary(misc::parse_temporary(key, data)?),
        DEV_REPLACE_KEY => Decoded::DevReplace(view(data, "btrfs_dev_replace_item")?),
        VERITY_DESC_ITEM_KEY => Decoded::VerityDesc(misc::parse_verity(key, data)?),
        VERITY_MERKLE_ITEM_KEY => Decoded::VerityMerkle(data),
        RAID_STRIPE_KEY => Decoded::RaidStripe(misc::RaidStripe(data)),
        _ => Decoded::Other,
    })
}

impl<'d> Decoded<'d> {
    fn text(&self, o: &mut Out<'_>, key: &DiskKey, ctx: &ItemCtx, opts: &TextOpts) -> io::Result<()> {
        match self {
            Decoded::Inode(i) => inode::text(o, i),
            Decoded::InodeRef(r) => r.text(o, opts.hide_names),
            Decoded::InodeExtref(r) => r.text(o, opts.hide_names),
            Decoded::Dir(d) => d.text(o, opts.hide_names),
            Decoded::DirLog(d) => writeln!(o, "\t\tdir log end {}", d.end.get()),
            Decoded::Orphan => writeln!(o, "\t\torphan item"),
            Decoded::FileExtent(f) => f.text(o),
            Decoded::ExtentCsum(c) => c.text(o, opts.csum_items),
            Decoded::CsumItem => writeln!(o, "\t\tcsum item"),
            Decoded::Root(r) => r.text(o),
            Decoded::RootRef(r) => r.text(o),
            Decoded::Extent(e) => e.text(o),
            Decoded::TreeBlockRef => writeln!(o, "\t\ttree block backref"),
            Decoded::SharedBlockRef => writeln!(o, "\t\tshared block backref"),
            Decoded::ExtentDataRef(d) => extent::data_ref_text(o, d),
            Decoded::SharedDataRef(s) => writeln!(o, "\t\tshared data backref count {}", s.count.get()),
            Decoded::ExtentOwnerRef(x) => writeln!(o, "\t\textent owner root {}", x.root_id.get()),
            Decoded::ExtentRefV0(_) => writeln!(o, "\t\textent ref v0 (deprecated)"),
            Decoded::BlockGroup(b) => chunk::block_group_text(o, b),
            Decoded::FreeSpaceInfo(i) => {
                writeln!(o, "\t\tfree space info extent count {} flags {}", i.extent_count.get(), i.flags.get())
            }
            Decoded::FreeSpaceExtent => writeln!(o, "\t\tfree space extent"),
            Decoded::FreeSpaceBitmap(_) => writeln!(o, "\t\tfree space bitmap"),
            Decoded::Chunk(c) => c.text(o),
            Decoded::DevItem(d) => chunk::dev_item_text(o, d),
            Decoded::DevExtent(d) => chunk::dev_extent_text(o, d),
            Decoded::QgroupStatus(s) => s.text(o),
            Decoded::QgroupInfo(i) => qgroup::info_text(o, i),
            Decoded::QgroupLimit(l) => qgroup::limit_text(o, l),
            Decoded::QgroupRelation => Ok(()),
            Decoded::Uuid(u) => u.text(o),
            Decoded::String(s) => {
                o.write_all(b"\t\titem data ")?;
                o.write_all(c_str(s, usize::MAX))?;
                o.write_all(b"\n")
            }
            Decoded::Persistent(p) => p.text(o, key),
            Decoded::Temporary(t) => t.text(o, key),
            // progs (6.2 and later) print nothing for these.
            Decoded::DevReplace(_) | Decoded::VerityDesc(_) | Decoded::VerityMerkle(_) => Ok(()),
            Decoded::RaidStripe(r) => r.text(o),
            Decoded::Other => {
                let _ = ctx;
                Ok(())
            }
        }
    }

    fn fields(&self, r: &mut Record<'d>, key: &DiskKey, ctx: &ItemCtx) {
        match self {
            Decoded::Inode(i) => inode::fields(r, i),
            Decoded::InodeRef(x) => x.fields(r),
            Decoded::InodeExtref(x) => x.fields(r),
            Decoded::Dir(d) => d.fields(r),
            Decoded::DirLog(d) => {
                r.push("end", d.end.get());
            }
            Decoded::Orphan | Decoded::CsumItem | Decoded::QgroupRelation | Decoded::FreeSpaceExtent => {}
            Decoded::FileExtent(f) => f.fields(r),
            Decoded::ExtentCsum(c) => c.fields(r),
            Decoded::Root(x) => x.fields(r),
            Decoded::RootRef(x) => x.fields(r),
            Decoded::Extent(e) => e.fields(r),
            Decoded::TreeBlockRef => {
                r.push("root", key.offset.get());
            }
            Decoded::SharedBlockRef => {
                r.push("parent", key.offset.get());
            }
            Decoded::ExtentDataRef(d) => extent::data_ref_fields(r, d),
            Decoded::SharedDataRef(s) => {
                r.push("parent", key.offset.get()).push("count", s.count.get());
            }
            Decoded::ExtentOwnerRef(o) => {
                r.push("root", o.root_id.get());
            }
            Decoded::ExtentRefV0(v) => {
                r.push("root", v.root.get())
                    .push("generation", v.generation.get())
                    .push("objectid", v.objectid.get())
                    .push("count", v.count.get());
            }
            Decoded::BlockGroup(b) => chunk::block_group_fields(r, b),
            Decoded::FreeSpaceInfo(i) => {
                r.push("extent_count", i.extent_count.get()).push("flags", i.flags.get());
            }
            Decoded::FreeSpaceBitmap(b) => {
                r.push("bitmap", Value::Bytes((*b).into()));
            }
            Decoded::Chunk(c) => c.fields(r),
            Decoded::DevItem(d) => chunk::dev_item_fields(r, d),
            Decoded::DevExtent(d) => chunk::dev_extent_fields(r, d),
            Decoded::QgroupStatus(s) => s.fields(r),
            Decoded::QgroupInfo(i) => qgroup::info_fields(r, i),
            Decoded::QgroupLimit(l) => qgroup::limit_fields(r, l),
            Decoded::Uuid(u) => u.fields(r),
            Decoded::String(s) => {
                r.push("data", Value::Name((*s).into()));
            }
            Decoded::Persistent(p) => p.fields(r),
            Decoded::Temporary(t) => t.fields(r),
            Decoded::DevReplace(d) => misc::dev_replace_fields(r, d),
            Decoded::VerityDesc(v) => v.fields(r),
            Decoded::VerityMerkle(m) => {
                r.push("data", Value::Bytes((*m).into()));
            }
            Decoded::RaidStripe(s) => s.fields(r),
            Decoded::Other => {
                let _ = ctx;
            }
        }
    }
}

/// The decoded fields of one item (after the common `type/tree/block/slot/key/item_type`).
///
/// Field names follow what progs prints, with underscores; where progs says `type` for an item's
/// own field (file extent, chunk, device), the name is qualified (`extent_type`, `chunk_type`,
/// `dev_type`) so as not to collide with the object's `"type":"item"`.
pub fn decode<'d>(key: &DiskKey, data: &'d [u8], ctx: &ItemCtx) -> Record<'d> {
    let mut r = Record::with_capacity(16);
    if free_space::is_cache_header(key) {
        match free_space::parse_header(data) {
            Ok(h) => free_space::header_fields(&mut r, h),
            Err(e) => {
                r.push("error", e.to_string());
            }
        }
    }
    match parse(key, data, ctx) {
        Ok(Decoded::Other) => {
            r.push("data", Value::Bytes(data.into()));
        }
        Ok(d) => d.fields(&mut r, key, ctx),
        Err(e) => {
            r.push("error", e.to_string());
        }
    }
    r
}

/// The lines dump-tree prints under `item N key (...) itemoff N itemsize N`.
pub fn print_body(w: &mut dyn Write, key: &DiskKey, data: &[u8], ctx: &ItemCtx) -> io::Result<()> {
    print_body_opts(w, key, data, ctx, &TextOpts::default())
}

/// [`print_body`] with dump-tree's `--csum-items` / `--hide-names`.
pub fn print_body_opts(w: &mut dyn Write, key: &DiskKey, data: &[u8], ctx: &ItemCtx, opts: &TextOpts) -> io::Result<()> {
    let mut o = Out::new(w);
    body_text(&mut o, key, data, ctx, opts)?;
    o.finish()
}

fn body_text(o: &mut Out<'_>, key: &DiskKey, data: &[u8], ctx: &ItemCtx, opts: &TextOpts) -> io::Result<()> {
    // progs prints the v1 space cache header before (and besides) the per-type switch.
    if free_space::is_cache_header(key) {
        match free_space::parse_header(data) {
            Ok(h) => free_space::header_text(o, h)?,
            Err(e) => e.print(o)?,
        }
    }
    match parse(key, data, ctx) {
        Ok(d) => d.text(o, key, ctx, opts),
        Err(e) => e.print(o),
    }
}

/// dump-tree's `\titem N key (...) itemoff N itemsize N` line, without going through `fmt`
/// (it is printed once per item).
pub fn print_item_line(w: &mut dyn Write, slot: usize, key: &DiskKey, itemoff: u32, itemsize: u32) -> io::Result<()> {
    let mut o = Out::new(w);
    o.s("\titem ").u(slot as u64).s(" ");
    super::names::KeyText(key).put(&mut o);
    o.s(" itemoff ").u(u64::from(itemoff)).s(" itemsize ").u(u64::from(itemsize)).s("\n");
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::little_endian::{U32, U64};

    fn key(objectid: u64, t: u8, offset: u64) -> DiskKey {
        DiskKey { objectid: U64::new(objectid), type_: t, offset: U64::new(offset) }
    }

    const CTX: ItemCtx = ItemCtx { csum_size: 4, sectorsize: 4096, nodesize: 16384, owner: 5 };

    fn text(k: &DiskKey, data: &[u8]) -> String {
        let mut v = Vec::new();
        print_body(&mut v, k, data, &CTX).expect("write to a Vec");
        String::from_utf8_lossy(&v).into_owned()
    }

    /// Fields every item object already has (dump.rs), which decoded fields must not repeat.
    const RESERVED: &[&str] = &["type", "tree", "block", "slot", "key", "item_type", "itemoff", "itemsize"];

    fn check_record(k: &DiskKey, data: &[u8]) {
        let r = decode(k, data, &CTX);
        let mut names: Vec<&str> = r.fields.iter().map(|(n, _)| *n).collect();
        for n in &names {
            assert!(!RESERVED.contains(n), "type {} decodes a field named {n}", k.type_);
        }
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "type {} decodes a field twice: {:?}", k.type_, r.fields);
        serde_json::to_string(&r).expect("serialisable");
    }

    #[test]
    fn garbage_items_never_panic() {
        // xorshift: deterministic garbage of every length up to a few hundred bytes, for every
        // key type, with the objectids that select special decoders.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let objectids = [0, 1, 256, FREE_SPACE_OBJECTID, BALANCE_OBJECTID, CSUM_CHANGE_OBJECTID, u64::MAX];
        let mut buf = vec![0u8; 600];
        for t in 0..=255u8 {
            for &o in &objectids {
                for len in (0..80).chain([160, 239, 240, 439, 448, 500, 600]) {
                    for fill in 0..3 {
                        for b in buf.iter_mut() {
                            *b = match fill {
                                0 => 0,
                                1 => 0xff,
                                _ => rnd() as u8,
                            };
                        }
                        // Small lengths in the length fields keep multi-entry walks going.
                        if fill == 2 && len > 30 {
                            buf[27] = (rnd() % 8) as u8;
                            buf[28] = 0;
                        }
                        let k = key(o, t, rnd() % 4);
                        let _ = text(&k, &buf[..len]);
                        check_record(&k, &buf[..len]);
                    }
                }
            }
        }
    }

    #[test]
    fn short_items_print_an_error_line() {
        let t = text(&key(257, INODE_ITEM_KEY, 0), &[0u8; 100]);
        assert_eq!(t, "\t\tERROR: item too short for btrfs_inode_item: 100 bytes, need 160\n");
        let r = decode(&key(257, INODE_ITEM_KEY, 0), &[0u8; 100], &CTX);
        assert!(matches!(r.get("error"), Some(Value::Str(_))));
        // Legacy root items are fine, shorter ones are not.
        assert!(text(&key(5, ROOT_ITEM_KEY, 0), &[0u8; 239]).starts_with("\t\tgeneration 0 root_dirid 0"));
        assert!(text(&key(5, ROOT_ITEM_KEY, 0), &[0u8; 200]).starts_with("\t\tERROR: item too short for btrfs_root_item"));
    }

    #[test]
    fn dir_entry_overrunning_its_item_stops_with_an_error() {
        let mut d = vec![0u8; 30];
        d[0..8].copy_from_slice(&258u64.to_le_bytes());
        d[8] = INODE_ITEM_KEY;
        d[25..27].copy_from_slice(&0u16.to_le_bytes()); // data_len
        d[27..29].copy_from_slice(&40u16.to_le_bytes()); // name_len, past the end
        d[29] = FT_REG_FILE;
        d.extend_from_slice(b"short");
        let t = text(&key(256, DIR_ITEM_KEY, 1), &d);
        assert_eq!(
            t,
            "\t\tlocation key (258 INODE_ITEM 0) type FILE\n\t\ttransid 0 data_len 0 name_len 40\n\t\tERROR: dir item name at item offset 30 needs 40 bytes, item has 35\n"
        );
    }

    #[test]
    fn names_print_like_printf_precision() {
        // progs prints at most BTRFS_NAME_LEN bytes, and stops at a NUL.
        assert_eq!(c_str(b"ab\0cd", 255), b"ab");
        assert_eq!(c_str(&[b'x'; 300], 255).len(), 255);
        let mut d = vec![0u8; 10];
        d[0..8].copy_from_slice(&2u64.to_le_bytes());
        d[8..10].copy_from_slice(&4u16.to_le_bytes());
        d.extend_from_slice(b"a\0bc");
        assert_eq!(text(&key(257, INODE_REF_KEY, 256), &d), "\t\tindex 2 namelen 4 name: a\n");
        let r = decode(&key(257, INODE_REF_KEY, 256), &d, &CTX);
        let Some(Value::List(refs)) = r.get("refs") else { panic!("refs list") };
        let Value::Record(e) = &refs[0] else { panic!("ref record") };
        assert_eq!(e.get("name"), Some(&Value::Name(b"a\0bc"[..].into())), "JSON keeps the whole name");
    }

    #[test]
    fn extent_item_with_inline_refs() {
        let mut d = Vec::new();
        d.extend_from_slice(&1u64.to_le_bytes()); // refs
        d.extend_from_slice(&7u64.to_le_bytes()); // gen
        d.extend_from_slice(&1u64.to_le_bytes()); // DATA
        d.push(EXTENT_DATA_REF_KEY);
        d.extend_from_slice(&5u64.to_le_bytes());
        d.extend_from_slice(&257u64.to_le_bytes());
        d.extend_from_slice(&0u64.to_le_bytes());
        d.extend_from_slice(&1u32.to_le_bytes());
        d.push(SHARED_DATA_REF_KEY);
        d.extend_from_slice(&30408704u64.to_le_bytes());
        d.extend_from_slice(&2u32.to_le_bytes());
        d.push(99); // unknown type: progs stops here
        let t = text(&key(13631488, EXTENT_ITEM_KEY, 4096), &d);
        assert_eq!(
            t,
            "\t\trefs 1 gen 7 flags DATA\n\t\textent data backref root FS_TREE objectid 257 offset 0 count 1\n\t\tshared data backref parent 30408704 count 2\n\t\tERROR: invalid inline backref type 99\n"
        );
    }

    #[test]
    fn chunk_printer_for_the_superblock() {
        let mut d = vec![0u8; 48 + 32];
        d[0..8].copy_from_slice(&8388608u64.to_le_bytes());
        d[8..16].copy_from_slice(&2u64.to_le_bytes());
        d[16..24].copy_from_slice(&65536u64.to_le_bytes());
        d[24..32].copy_from_slice(&(BLOCK_GROUP_SYSTEM | BLOCK_GROUP_DUP).to_le_bytes());
        d[44..46].copy_from_slice(&1u16.to_le_bytes());
        d[48..56].copy_from_slice(&1u64.to_le_bytes());
        d.extend_from_slice(&[0xaa; 10]); // whatever follows in the sys_chunk_array
        let mut v = Vec::new();
        assert_eq!(print_chunk(&mut v, &d).unwrap(), Some(80));
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "\t\tlength 8388608 owner 2 stripe_len 65536 type SYSTEM|DUP\n\t\tio_align 0 io_width 0 sector_size 0\n\t\tnum_stripes 1 sub_stripes 0\n\t\t\tstripe 0 devid 1 offset 0\n\t\t\tdev_uuid 00000000-0000-0000-0000-000000000000\n"
        );
        d[44..46].copy_from_slice(&3u16.to_le_bytes());
        let mut v = Vec::new();
        assert_eq!(print_chunk(&mut v, &d[..80]).unwrap(), Some(144));
        assert_eq!(String::from_utf8(v).unwrap(), "\t\tchunk item invalid\n");
    }

    #[test]
    fn times_print_in_utc() {
        let t = Timespec { sec: U64::new(1_795_251_593), nsec: U32::new(12) };
        assert_eq!(TimeText(&t).to_string(), "1795251593.12 (2026-11-21 08:59:53)");
        // Far-off years as glibc's localtime/strftime print them (seen in progs' fuzz images):
        // the year wraps in an int. (On that overflow glibc leaves month and day unset and progs
        // prints stale ones from an earlier call; we print the real ones.)
        let t = Timespec { sec: U64::new(73024543218884962), nsec: U32::new(0) };
        assert!(TimeText(&t).to_string().starts_with("73024543218884962.0 (-1980909672-"));
        assert!(TimeText(&t).to_string().ends_with(" 19:09:22)"));
        let t = Timespec { sec: U64::new(18012701963040325632), nsec: U32::new(16382457) };
        assert!(TimeText(&t).to_string().starts_with("18012701963040325632.16382457 (-869343088-"));
        // Years before 1000 are not zero-padded by glibc's %Y.
        let t = Timespec { sec: U64::new((-62000000000i64) as u64), nsec: U32::new(0) };
        assert!(TimeText(&t).to_string().ends_with(" (5-04-19 09:46:40)"), "{}", TimeText(&t));
    }
}

#[cfg(test)]
mod opts_tests {
    use super::*;
    use zerocopy::little_endian::U64;

    #[test]
    fn csum_items_and_hidden_names() {
        let ctx = ItemCtx { csum_size: 4, sectorsize: 4096, nodesize: 16384, owner: 7 };
        let k = DiskKey { objectid: U64::new(EXTENT_CSUM_OBJECTID), type_: EXTENT_CSUM_KEY, offset: U64::new(0) };
        let data: Vec<u8> = (0u8..20).collect();
        let opts = TextOpts { csum_items: true, hide_names: false };
        let mut v = Vec::new();
        print_body_opts(&mut v, &k, &data, &ctx, &opts).unwrap();
        assert_eq!(
            String::from_utf8(v).unwrap(),
            "\t\trange start 0 end 20480 length 20480\n\t\t[0] 0x00010203 [4096] 0x04050607 [8192] 0x08090a0b [12288] 0x0c0d0e0f\n\t\t[16384] 0x10111213\n"
        );
        let k = DiskKey { objectid: U64::new(257), type_: INODE_REF_KEY, offset: U64::new(256) };
        let mut d = vec![0u8; 10];
        d[8] = 3;
        d.extend_from_slice(b"abc");
        let mut v = Vec::new();
        print_body_opts(&mut v, &k, &d, &ctx, &TextOpts { csum_items: false, hide_names: true }).unwrap();
        assert_eq!(String::from_utf8(v).unwrap(), "\t\tindex 0 namelen 3 name: HIDDEN\n");
    }
}
