//! Inodes and directories family: per subvolume tree (FS_TREE, subvolumes, snapshots, the data
//! reloc tree), every inode's INODE_ITEM against what the tree says about it — its names
//! (INODE_REF / INODE_EXTREF ↔ DIR_ITEM ↔ DIR_INDEX), its file extents (EXTENT_DATA), its
//! directory entries, its orphan item — following the rules of btrfs check's original mode
//! (`check/main.c`: `process_inode_item`, `process_dir_item`, `process_file_extent`,
//! `maybe_free_inode_rec`, `check_inode_recs`), reusing its wording for kind names.
//!
//! Memory is one subvolume at a time: items of an inode are adjacent in key order (INODE_ITEM,
//! refs, xattrs, dir entries, extents all have the inode number as objectid), so per-inode
//! accounting is streamed and closed when the objectid changes; only what crosses inodes is kept
//! until the tree ends: per inode its nlink and file type, per name a 32-byte record keyed by
//! (inode, directory, hash of the name) — names themselves are never stored.
//!
//! Also here, from the root tree: the v1 free space cache inodes must be regular files, and their
//! file extent items pass the same checks of an item on its own as a subvolume's.

use super::walker::{revisit_items, is_subvolume, Cx, Family, Revisit, TreeRoot};

mod summary;
use crate::btrfs::dump::key_record;
use crate::btrfs::fs::Block;
use crate::btrfs::node::Node;
use crate::btrfs::items::{dir_entries_checked, ref_entries};
use crate::findings::{Finding, Kind, Report};
use crate::record::{Record, Value};
// The layouts crate's constants, not copies: a copy once had IMMUTABLE and APPEND at the bits of
// NOCOMPRESS and PREALLOC, and called every symlink made under `compression none` odd.
use ondisk_layouts::btrfs::items::{
    FileExtentItem, FreeSpaceHeader, InodeItem, FILE_EXTENT_INLINE, FILE_EXTENT_INLINE_DATA_START, FILE_EXTENT_PREALLOC,
    FILE_EXTENT_REG, INODE_APPEND, INODE_IMMUTABLE, NAME_LEN,
};
use ondisk_layouts::btrfs::tree::HEADER_SIZE;
use ondisk_layouts::btrfs::*;
use std::collections::hash_map::Entry;
use super::fast_hash::{FastMap, FastSet};
use std::collections::{HashMap, HashSet};
use std::mem::offset_of;
use zerocopy::FromBytes;

crate::declare_kinds! {
    INODE_MISSING = "btrfs.no_inode_item", Error,
        "an inode has names, directory entries or file extents but no INODE_ITEM";
    LINK_COUNT = "btrfs.link_count_wrong", Error,
        "an inode's nlink differs from the number of names (directory entries / inode refs) it has";
    DIR_NLINK = "btrfs.dir_invalid_nlink", Error,
        "a directory has nlink 2 or more (btrfs directories have exactly one name)";
    NO_ORPHAN_ITEM = "btrfs.no_orphan_item", Error,
        "an inode with nlink 0 and no names has no ORPHAN_ITEM (it would never be freed)";
    ROOT_DIR = "btrfs.root_dir_bad", Error,
        "a subvolume's root directory (inode 256) is missing, not a directory, has nlink other than 1, lacks its \"..\" ref or has names, or its root item names another root_dirid";
    INODE_MODE = "btrfs.invalid_inode_mode", Error,
        "an inode's mode has no valid file type in S_IFMT or bits outside S_IFMT|07777";
    INODE_GENERATION = "btrfs.invalid_inode_generation", Error,
        "an inode's generation or transid is above the superblock generation + 1";
    ODD_INODE_FLAGS = "btrfs.odd_inode_flags", Error,
        "a symlink carries the IMMUTABLE or APPEND flag";
    NBYTES_WRONG = "btrfs.nbytes_wrong", Error,
        "a file's nbytes differs from the bytes its file extents account for (non-hole num_bytes, inline ram_bytes)";
    DIR_ISIZE_WRONG = "btrfs.dir_isize_wrong", Error,
        "a directory's size differs from the sum of the name lengths of its DIR_ITEM and DIR_INDEX entries";
    INLINE_RAM_BYTES = "btrfs.inline_ram_bytes_wrong", Error,
        "an uncompressed inline extent's ram_bytes differs from the inline data length";
    INLINE_TOO_LARGE = "btrfs.inline_extent_too_large", Error,
        "an inline extent holds more than a sector or more than fits in a leaf";
    BAD_FILE_EXTENT = "btrfs.bad_file_extent", Error,
        "a file extent item is malformed: unknown type, zero or unaligned num_bytes, offset+num_bytes beyond ram_bytes, compressed prealloc, inline not at offset 0, an unaligned file offset, generation above the superblock's + 1";
    FILE_EXTENT_OVERLAP = "btrfs.file_extent_overlap", Error,
        "a file extent starts before the previous one of the same file ends";
    FILE_EXTENT_DISCOUNT = "btrfs.file_extent_discount", Error,
        "without NO_HOLES, a file's extents leave a gap (or stop) before its size";
    ODD_DIR_ITEM = "btrfs.odd_dir_item", Error,
        "an inode that is not a directory owns directory entries";
    ODD_FILE_EXTENT = "btrfs.odd_file_extent", Error,
        "an inode that is not a regular file or symlink owns file extents";
    NO_DIR_ITEM = "btrfs.no_dir_item", Error,
        "a name (inode ref or dir index) has no matching DIR_ITEM";
    NO_DIR_INDEX = "btrfs.no_dir_index", Error,
        "a name (inode ref or dir item) has no matching DIR_INDEX";
    NO_INODE_REF = "btrfs.no_inode_ref", Error,
        "a directory entry has no matching INODE_REF / INODE_EXTREF in the target inode";
    INDEX_MISMATCH = "btrfs.dir_index_mismatch", Error,
        "a name's DIR_INDEX offset differs from the index in its inode ref";
    FILETYPE_MISMATCH = "btrfs.filetype_mismatch", Error,
        "a directory entry's type differs from its target inode's mode (or between DIR_ITEM and DIR_INDEX)";
    DUP_DIR_INDEX = "btrfs.dup_dir_index", Error,
        "one DIR_INDEX item holds more than one entry";
    DUP_FILENAME = "btrfs.dup_filename", Error,
        "a directory holds the same name twice";
    NAME_HASH = "btrfs.name_hash_mismatch", Error,
        "a DIR_ITEM or XATTR_ITEM key offset is not the crc32c hash of the name it holds";
    ITEM_MALFORMED = "btrfs.fs_item_malformed", Error,
        "an inode, ref, directory or file extent item is too short, an entry crosses the item end, a name is empty or longer than 255, or a location key has an unknown type";
    UNKNOWN_KEY = "btrfs.unknown_key", Error,
        "a subvolume tree holds a key type that does not belong there";
    FREE_SPACE_CACHE_MODE = "btrfs.free_space_cache_mode", Error,
        "a v1 free space cache inode (root tree) is not a regular file";
}

/// The root directory of every subvolume (`BTRFS_FIRST_FREE_OBJECTID`).
const ROOT_DIRID: u64 = 256;

const S_IFMT: u32 = 0o170000;
const S_IFSOCK: u32 = 0o140000;
const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100000;
const S_IFBLK: u32 = 0o060000;
const S_IFDIR: u32 = 0o040000;
const S_IFCHR: u32 = 0o020000;
const S_IFIFO: u32 = 0o010000;

/// `btrfs_name_hash`: crc32c seeded with (u32)~1, without the final inversion — the key offset
/// of DIR_ITEM and XATTR_ITEM items.
pub fn name_hash(name: &[u8]) -> u32 {
    // The crate inverts the seed on entry and the result on exit; seeding with 1 starts the
    // register at ~1 as the kernel does, and inverting the result undoes the final xor.
    !crc32c::crc32c_append(1, name)
}

/// Reads a leaf's item headers and item data, one byte per cache line, before its items are
/// delivered. The walk read and checksummed the block on another core a while ago, so its lines
/// are far from this one; read item by item, each miss waits for the work on the item before
/// it, while these reads do not depend on each other and their misses overlap.
fn warm_leaf(node: &Node) {
    let bytes = node.bytes();
    let items = node.items();
    let heads_end = (HEADER_SIZE + std::mem::size_of_val(items)).min(bytes.len());
    // Item data is packed down from the end of the block; the last item's is the lowest.
    let data_start = items.last().map_or(bytes.len(), |it| HEADER_SIZE.saturating_add(it.offset.get() as usize)).min(bytes.len());
    let mut x = 0u8;
    for line in bytes[..heads_end].chunks(64).chain(bytes[data_start..].chunks(64)) {
        x ^= line[0];
    }
    std::hint::black_box(x);
}

/// The directory entry type (`BTRFS_FT_*`) an inode mode calls for (`imode_to_type`).
fn mode_to_ftype(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFREG => 1,
        S_IFDIR => 2,
        S_IFCHR => 3,
        S_IFBLK => 4,
        S_IFIFO => 5,
        S_IFSOCK => 6,
        S_IFLNK => 7,
        _ => 0,
    }
}

fn valid_mode(mode: u32) -> bool {
    mode & !(S_IFMT | 0o7777) == 0 && mode_to_ftype(mode) != 0
}

/// A 64-bit digest of a name: names are matched across items by (inode, dir, digest), never
/// stored. XXH64 with a fixed seed: deterministic, and a collision between two different names
/// of one inode in one directory is not a practical concern (nor is it with any fixed-key
/// 64-bit hash: a birthday search finds one either way). It runs three times per name; for
/// the names of the benchmark image it takes a third of SipHash's instructions.
fn name_digest(name: &[u8]) -> u64 {
    xxhash_rust::xxh64::xxh64(name, 0)
}


/// What the INODE_ITEM said.
#[derive(Clone, Copy)]
struct InodeInfo {
    nlink: u32,
    mode: u32,
    isize: u64,
    nbytes: u64,
}

/// Streaming state of the inode whose items are being delivered.
struct Cur {
    ino: u64,
    item: Option<InodeInfo>,
    /// Anything at all besides the inode item (refs, dir entries, extents, xattrs).
    has_other: bool,
    found_dir_item: bool,
    /// Sum of name_len over DIR_ITEM and DIR_INDEX entries.
    dir_size: u64,
    found_file_extent: bool,
    extent_start: Option<u64>,
    extent_end: u64,
    /// Bytes the extents account for (nbytes).
    extent_bytes: u64,
    /// Start of the first gap between extents.
    first_gap: Option<u64>,
    /// The root directory's ("..", index 0) ref to itself.
    root_ref: bool,
    /// The parts of names this inode's items give, merged into the names map when it closes
    /// (see [`TreeState::add_name`]).
    parts: Vec<Part>,
    /// Per-inode kinds already raised (one finding per inode and kind).
    raised: Vec<&'static Kind>,
    /// The shared subtree being summarized when the inode's first item came (see `summary`).
    started_in: Option<u64>,
}

impl Cur {
    fn new(ino: u64, started_in: Option<u64>) -> Self {
        Cur {
            ino,
            item: None,
            has_other: false,
            found_dir_item: false,
            dir_size: 0,
            found_file_extent: false,
            extent_start: None,
            extent_end: 0,
            extent_bytes: 0,
            first_gap: None,
            root_ref: false,
            parts: Vec::new(),
            raised: Vec::new(),
            started_in,
        }
    }
}

/// The parts of a name seen so far.
const P_DIR_ITEM: u8 = 1;
const P_DIR_INDEX: u8 = 2;
const P_REF: u8 = 4;
/// Errors met while merging parts.
const E_INDEX: u8 = 1;
const E_FILETYPE: u8 = 2;
const E_DUP: u8 = 4;

/// One name: (target, dir, digest), and whether the target is a subvolume (a ROOT_ITEM location,
/// whose refs live in the root tree).
#[derive(Hash, PartialEq, Eq, Clone, Copy)]
struct NameKey {
    target: u64,
    dir: u64,
    digest: u64,
    subvol: bool,
}

#[derive(Clone, Copy)]
struct NameRec {
    index: u64,
    /// Where the target was to be kept when its ref was read ([`KeptInodes::next_slot`]).
    slot: u32,
    ftype: u8,
    parts: u8,
    errs: u8,
}

/// A [`NameRec::slot`] that names no slot: no ref seen yet.
const NO_SLOT: u32 = u32::MAX;

impl NameRec {
    /// One more part of the name, and what it disagrees with.
    fn merge(&mut self, part: u8, index: u64, ftype: u8, slot: u32) {
        if self.parts & part != 0 {
            self.errs |= E_DUP;
        }
        if part == P_DIR_INDEX || part == P_REF {
            let other = if part == P_REF { P_DIR_INDEX } else { P_REF };
            if self.parts & other != 0 && self.index != index {
                self.errs |= E_INDEX;
            }
            self.index = index;
        }
        if part == P_REF {
            self.slot = slot;
        } else {
            if self.parts & (P_DIR_ITEM | P_DIR_INDEX) != 0 && self.ftype != ftype {
                self.errs |= E_FILETYPE;
            }
            self.ftype = ftype;
        }
        self.parts |= part;
    }
}

/// One part of a name, as one item gives it.
#[derive(Clone, Copy)]
struct Part {
    key: NameKey,
    part: u8,
    index: u64,
    ftype: u8,
}

/// What is kept of a closed inode until its tree ends.
#[derive(Clone, Copy)]
struct Kept {
    nlink: u32,
    mode: u32,
    names: u32,
}

/// The closed inodes of a tree that have an INODE_ITEM, by inode number.
///
/// Key order closes inodes by ascending number, so nearly all of them are appended to a sorted
/// list: no hashing, no table growth, none of the cache misses of writes scattered over a table
/// of half a million inodes. An inode closing out of order (a damaged tree whose keys are not
/// sorted) goes to `late`, so a hostile order costs a map insert, not a shifted list. An inode
/// is in one of the two, never both: `late` only holds numbers below the list's last one.
#[derive(Default)]
struct KeptInodes {
    /// Ascending inode numbers and what is kept of each.
    sorted: Vec<(u64, Kept)>,
    late: FastMap<u64, Kept>,
}

impl KeptInodes {
    /// Records `ino`, replacing what an earlier close of the same number left; returns where it
    /// is, a hint for [`KeptInodes::get_mut_hinted`] ([`NO_SLOT`] when it went to `late`).
    fn insert(&mut self, ino: u64, kept: Kept) -> u32 {
        let slot = |i: usize| u32::try_from(i).unwrap_or(NO_SLOT);
        if self.sorted.last().is_none_or(|&(last, _)| last < ino) {
            self.sorted.push((ino, kept));
            return slot(self.sorted.len() - 1);
        }
        match self.sorted.binary_search_by_key(&ino, |e| e.0) {
            Ok(i) => {
                self.sorted[i].1 = kept;
                slot(i)
            }
            Err(_) => {
                self.late.insert(ino, kept);
                NO_SLOT
            }
        }
    }

    fn get_mut(&mut self, ino: u64) -> Option<&mut Kept> {
        match self.sorted.binary_search_by_key(&ino, |e| e.0) {
            Ok(i) => Some(&mut self.sorted[i].1),
            Err(_) => self.late.get_mut(&ino),
        }
    }

    /// [`KeptInodes::get_mut`], looking first at `slot`, where `ino` went when it closed: one
    /// read where a search would read across the list.
    fn get_mut_hinted(&mut self, ino: u64, slot: u32) -> Option<&mut Kept> {
        let slot = slot as usize;
        if self.sorted.get(slot).is_some_and(|e| e.0 == ino) {
            return Some(&mut self.sorted[slot].1);
        }
        self.get_mut(ino)
    }

    /// Every kept inode, in no particular order.
    fn iter(&self) -> impl Iterator<Item = (u64, &Kept)> {
        self.sorted.iter().map(|(ino, k)| (*ino, k)).chain(self.late.iter().map(|(&ino, k)| (ino, k)))
    }
}

/// Per-subvolume state, dropped at the end of each tree.
#[derive(Default)]
struct TreeState {
    /// Inodes with an INODE_ITEM: nlink, mode, and how many of their names were matched whole.
    inodes: KeptInodes,
    names: FastMap<NameKey, NameRec>,
    orphans: FastSet<u64>,
    /// Inodes already reported without an inode item.
    missing: FastSet<u64>,
    saw_items: bool,
    saw_root_dir: bool,
}

impl TreeState {
    /// Merges one part of a name into its record, and settles the name as soon as it is whole
    /// (item, index and ref, no disagreement) and its target's mode is known: the record is
    /// dropped, so the names map holds only names still waiting for a part — in the usual layout
    /// a directory's entries until its children's refs. One map probe per part: this runs for
    /// every name of every subvolume three times. `slot` is where a ref's inode is kept.
    ///
    /// Returns the record and the target's mode when the name settled with a file type the mode
    /// contradicts.
    fn add_name(&mut self, p: &Part, slot: u32) -> Option<(NameRec, u32)> {
        let key = p.key;
        let mut o = match self.names.entry(key) {
            Entry::Vacant(v) => {
                // One part alone is never whole.
                v.insert(NameRec { index: p.index, slot, ftype: p.ftype, parts: p.part, errs: 0 });
                return None;
            }
            Entry::Occupied(o) => o,
        };
        // Merged in a copy, written back whole, and read from the copy below.
        let mut r = *o.get();
        r.merge(p.part, p.index, p.ftype, slot);
        *o.get_mut() = r;
        if r.errs != 0 {
            return None;
        }
        if key.subvol {
            // A subvolume's ref lives in the root tree: item and index make it whole here.
            if r.parts & (P_DIR_ITEM | P_DIR_INDEX) == P_DIR_ITEM | P_DIR_INDEX {
                o.remove();
            }
            return None;
        }
        if r.parts != P_DIR_ITEM | P_DIR_INDEX | P_REF {
            return None;
        }
        let k = self.inodes.get_mut_hinted(key.target, r.slot)?;
        k.names = k.names.saturating_add(1);
        let mode = k.mode;
        o.remove();
        let ft = mode_to_ftype(mode);
        (ft != 0 && ft != r.ftype).then_some((r, mode))
    }
}

/// What a file extent item says on its own ([`Inodes::file_extent_faults`]).
#[derive(Default)]
struct FileExtentFaults {
    /// The `bad_file_extent` reasons.
    bad: Vec<String>,
    /// An inline extent too large: (inline length, ram_bytes).
    too_large: Option<(u64, u64)>,
    /// An uncompressed inline extent whose ram_bytes is not its length: (length, ram_bytes).
    ram_wrong: Option<(u64, u64)>,
    /// The file bytes it covers (an inline extent: ram_bytes rounded up to a sector).
    num_bytes: u64,
    /// What it adds to the inode's nbytes.
    counted: u64,
}

/// The inode and directory family.
#[derive(Default)]
pub struct Inodes {
    st: TreeState,
    /// The inode whose items are being delivered.
    cur: Option<Cur>,
    pending: Vec<Finding>,
    /// Root tree: inode item modes by objectid, and the inodes v1 cache headers name.
    root_modes: HashMap<u64, u32>,
    cache_inodes: Vec<(u64, u64)>,
    tree: u64,
    gen_limit: u64,
    no_holes: bool,
    sectorsize: u64,
    max_inline: u64,
    /// The leaf being delivered had its names hashed already: it is shared with a subvolume
    /// walked before, where every name hashed to its key (else it is hashed again, so that each
    /// snapshot sharing the leaf reports the misfiled name).
    hashed_before: bool,
    /// Leaves where a name did not hash to its key.
    misfiled: FastSet<u64>,
    /// Summaries of subtrees subvolumes share.
    shared: summary::Shared,
    /// The leaf being delivered lies inside a summary applied in its place.
    skip_leaf: bool,
}

impl Inodes {
    pub fn new() -> Self {
        Inodes::default()
    }

    fn finding(&self, kind: &'static Kind, ino: u64, msg: String) -> Finding {
        Finding::new(kind, format!("root {} inode {ino}: {msg}", self.tree)).at("tree", self.tree).at("inode", ino)
    }

    /// Raises a per-inode kind once for the current inode.
    fn raise(&mut self, kind: &'static Kind, key: &DiskKey, msg: String) {
        let Some(cur) = self.cur.as_mut() else { return };
        if cur.raised.iter().any(|k| std::ptr::eq(*k, kind)) {
            return;
        }
        cur.raised.push(kind);
        let ino = cur.ino;
        let f = self.finding(kind, ino, msg).at("key", key_record(key));
        self.pending.push(f);
    }

    fn switch_to(&mut self, ino: u64) {
        if self.cur.as_ref().is_some_and(|c| c.ino == ino) {
            return;
        }
        let interior = self.cur.as_ref().is_some_and(|c| self.shared.is_interior(c));
        self.close_inode(interior);
        self.cur = Some(Cur::new(ino, self.shared.building()));
    }

    /// The current inode's items are all seen: check what depends on all of them. An inode
    /// inside a shared subtree being summarized (`interior`) is kept in the summary's state,
    /// every other in the tree's.
    fn close_inode(&mut self, interior: bool) {
        let Some(c) = self.cur.take() else { return };
        let ino = c.ino;
        let raised = |k: &'static Kind| c.raised.iter().any(|r| std::ptr::eq(*r, k));
        let Some(it) = c.item else {
            if c.has_other && self.st.missing.insert(ino) {
                let f = self.finding(&INODE_MISSING, ino, "no inode item, yet refs, entries or extents".into());
                self.pending.push(f);
            }
            // Its names still meet their directory entries: one missing item is one finding.
            self.add_parts(&c.parts, NO_SLOT, interior);
            return;
        };
        let mut out = Vec::new();
        let ftype = it.mode & S_IFMT;
        if ino == ROOT_DIRID {
            self.state(interior).saw_root_dir = true;
            let mut why = Vec::new();
            if ftype != S_IFDIR {
                why.push(format!("mode {:o} is not a directory", it.mode));
            }
            if it.nlink != 1 {
                why.push(format!("nlink {} (expected 1)", it.nlink));
            }
            if !c.root_ref {
                why.push("no \"..\" inode ref with index 0".to_string());
            }
            if !why.is_empty() {
                out.push(self.finding(&ROOT_DIR, ino, format!("root dir: {}", why.join(", "))));
            }
        }
        if ftype == S_IFDIR {
            if c.dir_size != it.isize {
                out.push(
                    self.finding(&DIR_ISIZE_WRONG, ino, format!("dir isize wrong: {} but its entries sum to {}", it.isize, c.dir_size))
                        .ctx("expected", c.dir_size)
                        .ctx("found", it.isize),
                );
            }
            if c.found_file_extent {
                out.push(self.finding(&ODD_FILE_EXTENT, ino, "directory with file extents".into()));
            }
        } else if ftype == S_IFREG || ftype == S_IFLNK {
            if c.found_dir_item {
                out.push(self.finding(&ODD_DIR_ITEM, ino, "file with directory entries".into()));
            }
            // Orphans (nlink 0) are being deleted: their extents and nbytes may be half gone.
            if it.nlink > 0 && c.extent_bytes != it.nbytes {
                out.push(
                    self.finding(&NBYTES_WRONG, ino, format!("nbytes wrong: {} but its extents hold {}", it.nbytes, c.extent_bytes))
                        .ctx("expected", c.extent_bytes)
                        .ctx("found", it.nbytes),
                );
            }
            if it.nlink > 0 && !self.no_holes && it.isize > 0 {
                let gap = c.first_gap.unwrap_or(u64::MAX);
                let discount = match c.extent_start {
                    None => Some((0, it.isize)),
                    Some(s) if s != 0 => Some((0, s)),
                    _ if gap < it.isize => Some((gap, 0)),
                    _ if c.extent_end < it.isize => Some((c.extent_end, it.isize - c.extent_end)),
                    _ => None,
                };
                if let Some((start, len)) = discount {
                    let what = if len > 0 { format!("{len} bytes at {start}") } else { format!("a hole at {start}") };
                    out.push(
                        self.finding(&FILE_EXTENT_DISCOUNT, ino, format!("file extent discount: no extent covers {what} (size {})", it.isize))
                            .ctx("hole_start", start)
                            .ctx("isize", it.isize),
                    );
                }
            }
        } else if valid_mode(it.mode) {
            // Devices, fifos and sockets own no data and no entries.
            if c.found_dir_item && !raised(&ODD_DIR_ITEM) {
                out.push(self.finding(&ODD_DIR_ITEM, ino, "special file with directory entries".into()));
            }
            if c.found_file_extent {
                out.push(self.finding(&ODD_FILE_EXTENT, ino, "special file with file extents".into()));
            }
        }
        self.pending.extend(out);
        let slot = self.state(interior).inodes.insert(ino, Kept { nlink: it.nlink, mode: it.mode, names: 0 });
        self.add_parts(&c.parts, slot, interior);
    }

    /// The tree's state, or the state of the shared subtree being summarized.
    fn state(&mut self, interior: bool) -> &mut TreeState {
        match self.shared.build_state(interior) {
            Some(st) => st,
            None => &mut self.st,
        }
    }

    /// Merges the parts of names a closing inode gave (`slot`: where it is kept) into the names
    /// map, reporting the names settled with a file type their inode's mode contradicts.
    fn add_parts(&mut self, parts: &[Part], slot: u32, interior: bool) {
        for p in parts {
            let slot = if p.part == P_REF { slot } else { NO_SLOT };
            if interior {
                self.shared.record_part(p);
            }
            if let Some((r, mode)) = self.state(interior).add_name(p, slot) {
                let ft = mode_to_ftype(mode);
                let f = self.name_finding(&FILETYPE_MISMATCH, &p.key, &r, format!("filetype mismatch: entry type {} but inode mode {mode:o}", r.ftype));
                self.pending.push(f.ctx("expected", ft).ctx("found", r.ftype));
            }
            if interior {
                self.shared.note_settled(p);
            }
        }
    }

    fn name_finding(&self, kind: &'static Kind, k: &NameKey, r: &NameRec, what: String) -> Finding {
        let tree = self.tree;
        let mut f = Finding::new(kind, format!("root {tree} inode {} dir {} index {}: {what}", k.target, k.dir, r.index))
            .at("tree", tree)
            .at("inode", k.target)
            .ctx("dir", k.dir)
            .ctx("index", r.index);
        // Where the name can be found: its DIR_INDEX, else its INODE_REF.
        let at = if r.parts & P_DIR_INDEX != 0 {
            Some((k.dir, DIR_INDEX_KEY, r.index))
        } else if r.parts & P_REF != 0 {
            Some((k.target, INODE_REF_KEY, k.dir))
        } else {
            None
        };
        if let Some((objectid, ty, offset)) = at {
            let mut key = Record::with_capacity(3);
            key.push("objectid", objectid).push("type", ty).push("offset", offset);
            f = f.at("key", Value::Record(key));
        }
        if k.subvol {
            f = f.ctx("subvolume", true);
        }
        f
    }

    /// One part of a name the current inode's items give, merged when it closes.
    fn add_part(&mut self, key: NameKey, part: u8, index: u64, ftype: u8) {
        if let Some(c) = self.cur.as_mut() {
            c.parts.push(Part { key, part, index, ftype });
        }
    }

    fn inode_item(&mut self, key: &DiskKey, data: &[u8]) {
        let Some((it, _)) = InodeItem::ref_from_prefix(data).ok() else {
            self.raise(&ITEM_MALFORMED, key, format!("inode item of {} bytes, expected 160", data.len()));
            return;
        };
        let info = InodeInfo { nlink: it.nlink.get(), mode: it.mode.get(), isize: it.size.get(), nbytes: it.nbytes.get() };
        if !valid_mode(info.mode) {
            self.raise(&INODE_MODE, key, format!("invalid inode mode {:o}", info.mode));
        }
        let (generation, transid) = (it.generation.get(), it.transid.get());
        if generation > self.gen_limit || transid > self.gen_limit {
            let msg = format!("invalid inode generation {generation} or transid {transid} (superblock generation + 1 is {})", self.gen_limit);
            let ino = key.objectid.get();
            let f = self
                .finding(&INODE_GENERATION, ino, msg)
                .at("key", key_record(key))
                .ctx("generation", generation)
                .ctx("transid", transid)
                .ctx("limit", self.gen_limit);
            self.pending.push(f);
        }
        if info.mode & S_IFMT == S_IFDIR && info.nlink >= 2 {
            self.raise(&DIR_NLINK, key, format!("directory has invalid nlink {}", info.nlink));
        }
        if info.mode & S_IFMT == S_IFLNK && it.flags.get() & (INODE_IMMUTABLE | INODE_APPEND) != 0 {
            self.raise(&ODD_INODE_FLAGS, key, format!("symlink with flags {:#x}", it.flags.get()));
        }
        if let Some(c) = self.cur.as_mut() {
            c.item = Some(info);
        }
    }

    fn inode_refs(&mut self, key: &DiskKey, data: &[u8], ext: bool) {
        let ino = key.objectid.get();
        for e in ref_entries(data, ext) {
            let (parent, index, name) = match e {
                Ok((parent, index, name)) => (parent.unwrap_or(key.offset.get()), index, name),
                Err(err) => {
                    self.raise(&ITEM_MALFORMED, key, format!("inode ref entry: {err}"));
                    return;
                }
            };
            if name.is_empty() || name.len() > NAME_LEN {
                self.raise(&ITEM_MALFORMED, key, format!("inode ref name of {} bytes", name.len()));
            }
            if ino == ROOT_DIRID && parent == ROOT_DIRID && !ext {
                // The root directory names itself "..", index 0; it has no directory entry.
                if name == b".." && index == 0 {
                    if let Some(c) = self.cur.as_mut() {
                        c.root_ref = true;
                    }
                } else {
                    self.raise(&ROOT_DIR, key, format!("root dir self ref with index {index} and a name of {} bytes", name.len()));
                }
            } else {
                self.add_part(NameKey { target: ino, dir: parent, digest: name_digest(name), subvol: false }, P_REF, index, 0);
            }
        }
    }

    fn dir_entries(&mut self, b: &Block, key: &DiskKey, data: &[u8]) {
        let dir = key.objectid.get();
        let is_index = key.type_ == DIR_INDEX_KEY;
        let is_xattr = key.type_ == XATTR_ITEM_KEY;
        let mut count = 0usize;
        // Names met so far in this item, for duplicates; most items hold one entry, so the
        // first is kept aside and only collisions allocate. A set, not a list: a hostile leaf
        // packs hundreds of one-byte names into one item.
        let mut first: Option<&[u8]> = None;
        let mut more: HashSet<&[u8]> = HashSet::new();
        for e in dir_entries_checked(data) {
            let (d, name) = match e {
                Ok((d, name, _)) => (d, name),
                Err(err) => {
                    self.raise(&ITEM_MALFORMED, key, format!("directory entry: {err}"));
                    return;
                }
            };
            let name_len = name.len();
            count += 1;
            if !is_xattr {
                if let Some(c) = self.cur.as_mut() {
                    c.found_dir_item = true;
                    c.dir_size += name_len as u64;
                }
            }
            if name.is_empty() || (!is_xattr && name_len > NAME_LEN) {
                self.raise(&ITEM_MALFORMED, key, format!("entry name of {name_len} bytes"));
            }
            if !is_index {
                let h = if self.hashed_before { key.offset.get() } else { name_hash(name) as u64 };
                if h != key.offset.get() {
                    self.misfiled.insert(b.bytenr);
                    let what = if is_xattr { "xattr" } else { "dir item" };
                    let f = self
                        .finding(
                            &NAME_HASH,
                            dir,
                            format!("{what} name {:?} hashes to {h:#x}, key offset is {:#x}", String::from_utf8_lossy(name), key.offset.get()),
                        )
                        .at("key", key_record(key))
                        .ctx("name", Value::Name(name.to_vec().into()))
                        .ctx("expected", h)
                        .ctx("found", key.offset.get());
                    // The entry is still a name of its target (only misfiled): matched below so
                    // one wrong hash is one finding.
                    self.pending.push(f);
                }
                let dup = match first {
                    None => {
                        first = Some(name);
                        false
                    }
                    Some(f) => f == name || !more.insert(name),
                };
                if dup {
                    let f = self
                        .finding(&DUP_FILENAME, dir, format!("dup filename {:?} in one dir item", String::from_utf8_lossy(name)))
                        .at("key", key_record(key))
                        .ctx("name", Value::Name(name.to_vec().into()));
                    // Still a name of its target: recorded below so its own parts match up.
                    self.pending.push(f);
                }
            }
            if is_xattr {
                continue;
            }
            let loc = d.location;
            let subvol = match loc.type_ {
                INODE_ITEM_KEY => false,
                ROOT_ITEM_KEY => true,
                t => {
                    self.raise(&ITEM_MALFORMED, key, format!("directory entry location has key type {t}"));
                    continue;
                }
            };
            let nk = NameKey { target: loc.objectid.get(), dir, digest: name_digest(name), subvol };
            let (part, index) = if is_index { (P_DIR_INDEX, key.offset.get()) } else { (P_DIR_ITEM, 0) };
            self.add_part(nk, part, index, d.type_);
        }
        if is_index && count > 1 {
            self.raise(&DUP_DIR_INDEX, key, format!("dir index holds {count} entries"));
        }
    }

    fn file_extent(&mut self, key: &DiskKey, data: &[u8]) {
        let Some(c) = self.cur.as_mut() else { return };
        c.found_file_extent = true;
        let offset = key.offset.get();
        if c.extent_start.is_none() {
            c.extent_start = Some(offset);
            c.extent_end = offset;
        }
        let mut overlap = false;
        if c.extent_end > offset {
            overlap = true;
        } else if c.extent_end < offset && c.first_gap.is_none() {
            c.first_gap = Some(c.extent_end);
        }
        let prev_end = c.extent_end;
        let fe = match self.file_extent_faults(offset, data) {
            Ok(fe) => fe,
            Err(msg) => {
                self.raise(&ITEM_MALFORMED, key, msg);
                return;
            }
        };
        if let Some(c) = self.cur.as_mut() {
            c.extent_bytes = c.extent_bytes.saturating_add(fe.counted);
            c.extent_end = offset.saturating_add(fe.num_bytes);
        }
        if overlap {
            self.raise(&FILE_EXTENT_OVERLAP, key, format!("file extent overlap: extent at {offset} starts before the previous one ends at {prev_end}"));
        }
        for (kind, msg) in self.file_extent_findings(fe) {
            self.raise(kind, key, msg);
        }
    }

    /// What one file extent item says on its own, wherever it lives: the checks of the
    /// tree-checker's `check_extent_data_item` and of btrfs check. `Err` when the item is too
    /// short to hold its fields.
    fn file_extent_faults(&self, offset: u64, data: &[u8]) -> Result<FileExtentFaults, String> {
        // The fields before the inline data, which every file extent item has (an inline one is
        // shorter than the whole struct).
        let field = |at: usize| data.get(at).copied();
        let head = (
            crate::le::u64_at(data, offset_of!(FileExtentItem, generation)),
            crate::le::u64_at(data, offset_of!(FileExtentItem, ram_bytes)),
            field(offset_of!(FileExtentItem, compression)),
            field(offset_of!(FileExtentItem, type_)),
        );
        let (Some(generation), Some(ram_bytes), Some(compression), Some(ftype)) = head else {
            return Err(format!("file extent item of {} bytes", data.len()));
        };
        let mut fe = FileExtentFaults::default();
        let mask = self.sectorsize.saturating_sub(1);
        if offset & mask != 0 {
            fe.bad.push(format!("file offset {offset} is not sector aligned"));
        }
        // No transaction has written past the superblock's (+1 for one committing). btrfs
        // check's extent records take the generation of the file extents that point at them
        // and fail it ("invalid generation for extent"); the kernel's tree-checker does not
        // look at it.
        if generation > self.gen_limit {
            fe.bad.push(format!("generation {generation} is above the superblock generation + 1 ({})", self.gen_limit));
        }
        fe.num_bytes = match ftype {
            FILE_EXTENT_INLINE => {
                let inline_len = (data.len() - FILE_EXTENT_INLINE_DATA_START) as u64;
                if ram_bytes == 0 {
                    fe.bad.push("inline extent with ram_bytes 0".into());
                }
                if offset != 0 {
                    fe.bad.push(format!("inline extent at file offset {offset}"));
                }
                if compression != 0 {
                    if inline_len > self.max_inline || ram_bytes > self.sectorsize {
                        fe.too_large = Some((inline_len, ram_bytes));
                    }
                } else {
                    if ram_bytes > self.max_inline {
                        fe.too_large = Some((inline_len, ram_bytes));
                    }
                    if inline_len != ram_bytes {
                        fe.ram_wrong = Some((inline_len, ram_bytes));
                    }
                }
                fe.counted = ram_bytes;
                ram_bytes.saturating_add(mask) & !mask
            }
            FILE_EXTENT_REG | FILE_EXTENT_PREALLOC => {
                let Ok((item, _)) = FileExtentItem::ref_from_prefix(data) else {
                    return Err(format!("file extent item of {} bytes, expected 53", data.len()));
                };
                let num = item.num_bytes.get();
                if num == 0 || num & mask != 0 {
                    fe.bad.push(format!("num_bytes {num} is zero or not sector aligned"));
                }
                if num.saturating_add(item.offset.get()) > ram_bytes {
                    fe.bad.push(format!("offset {} + num_bytes {num} beyond ram_bytes {ram_bytes}", item.offset.get()));
                }
                if ftype == FILE_EXTENT_PREALLOC && (compression != 0 || item.encryption != 0 || item.other_encoding.get() != 0) {
                    fe.bad.push("prealloc extent with compression or encoding".into());
                }
                if item.disk_bytenr.get() != 0 {
                    fe.counted = num;
                }
                num
            }
            t => {
                fe.bad.push(format!("unknown file extent type {t}"));
                0
            }
        };
        Ok(fe)
    }

    /// The findings [`Inodes::file_extent_faults`] amounts to.
    fn file_extent_findings(&self, fe: FileExtentFaults) -> Vec<(&'static Kind, String)> {
        let mut out = Vec::new();
        if !fe.bad.is_empty() {
            out.push((&BAD_FILE_EXTENT, format!("bad file extent: {}", fe.bad.join(", "))));
        }
        if let Some((len, ram)) = fe.too_large {
            out.push((&INLINE_TOO_LARGE, format!("inline file extent too large: {len} bytes inline, ram_bytes {ram}, limit {}", self.max_inline)));
        }
        if let Some((len, ram)) = fe.ram_wrong {
            out.push((&INLINE_RAM_BYTES, format!("invalid inline ram bytes: ram_bytes {ram} but {len} bytes inline")));
        }
        out
    }

    /// A file extent of a root tree inode (a v1 free space cache file): the same checks of the
    /// item on its own as in a subvolume; the cache family reads what the file holds.
    fn root_file_extent(&mut self, b: &Block, key: &DiskKey, data: &[u8]) {
        let ino = key.objectid.get();
        let found = match self.file_extent_faults(key.offset.get(), data) {
            Ok(fe) => self.file_extent_findings(fe),
            Err(msg) => vec![(&ITEM_MALFORMED, msg)],
        };
        for (kind, msg) in found {
            let f = self.finding(kind, ino, msg).at("logical", b.bytenr).at("key", key_record(key));
            self.pending.push(f);
        }
    }

    fn subvol_item(&mut self, b: &Block, key: &DiskKey, data: &[u8]) {
        if let summary::ItemRoute::Skip = self.shared_item(key) {
            return;
        }
        let objectid = key.objectid.get();
        if objectid == FREE_SPACE_OBJECTID || objectid == FREE_INO_OBJECTID {
            // The deprecated inode number cache and its free space items: nothing to check here.
            return;
        }
        if key.type_ == ORPHAN_ITEM_KEY {
            self.st.orphans.insert(key.offset.get());
            self.shared.note_orphan(key.offset.get());
            return;
        }
        self.st.saw_items = true;
        self.shared.note_item();
        match key.type_ {
            INODE_ITEM_KEY | INODE_REF_KEY | INODE_EXTREF_KEY | XATTR_ITEM_KEY | VERITY_DESC_ITEM_KEY
            | VERITY_MERKLE_ITEM_KEY | DIR_ITEM_KEY | DIR_INDEX_KEY | EXTENT_DATA_KEY => {}
            t => {
                let f = Finding::new(
                    &UNKNOWN_KEY,
                    format!("unknown key ({} {t} {}) found in leaf {} of tree {}", objectid, key.offset.get(), b.bytenr, self.tree),
                )
                .at("logical", b.bytenr)
                .at("tree", self.tree)
                .at("key", key_record(key));
                self.pending.push(f);
                return;
            }
        }
        self.switch_to(objectid);
        if key.type_ != INODE_ITEM_KEY {
            if let Some(c) = self.cur.as_mut() {
                c.has_other = true;
            }
        }
        match key.type_ {
            INODE_ITEM_KEY => self.inode_item(key, data),
            INODE_REF_KEY => self.inode_refs(key, data, false),
            INODE_EXTREF_KEY => self.inode_refs(key, data, true),
            DIR_ITEM_KEY | DIR_INDEX_KEY | XATTR_ITEM_KEY => self.dir_entries(b, key, data),
            EXTENT_DATA_KEY => self.file_extent(key, data),
            _ => {}
        }
    }

    /// End of a subvolume tree: the names still unsettled against inodes, nlink against names,
    /// orphans.
    fn close_tree(&mut self, report: &mut Report) {
        self.finish_shared();
        self.close_inode(false);
        let mut st = std::mem::take(&mut self.st);
        let tree = self.tree;
        // Findings of the end of a tree, sorted by (inode, dir, index) for a stable report.
        let mut out: Vec<((u64, u64, u64), Finding)> = Vec::new();
        // The names in a fixed order, not the map's (its hasher is seeded per process): which
        // of two names of one missing inode reports it, and the order of findings that tie on
        // (inode, dir, index), must not change from run to run.
        let mut names: Vec<(NameKey, NameRec)> = std::mem::take(&mut st.names).into_iter().collect();
        names.sort_unstable_by_key(|(k, r)| (k.target, k.dir, r.index, k.digest, k.subvol));
        for (k, r) in &names {
            let mut push = |kind: &'static Kind, what: String| {
                out.push(((k.target, k.dir, r.index), self.name_finding(kind, k, r, what)));
            };
            if r.parts & P_DIR_ITEM == 0 {
                push(&NO_DIR_ITEM, "name without its DIR_ITEM".into());
            }
            if r.parts & P_DIR_INDEX == 0 {
                push(&NO_DIR_INDEX, "name without its DIR_INDEX".into());
            }
            if r.errs & E_DUP != 0 {
                push(&DUP_FILENAME, "dup filename: the same name is recorded twice".into());
            }
            if r.errs & E_INDEX != 0 {
                push(&INDEX_MISMATCH, "index mismatch between DIR_INDEX and inode ref".into());
            }
            if k.subvol {
                continue;
            }
            if r.parts & P_REF == 0 {
                push(&NO_INODE_REF, "directory entry without its inode ref".into());
            }
            match st.inodes.get_mut(k.target) {
                None => {
                    if st.missing.insert(k.target) {
                        push(&INODE_MISSING, "no inode item for a named inode".into());
                    }
                }
                Some(kept) => {
                    // A name counts toward nlink when the inode's side has it (its ref) or the
                    // directory's side has it whole (item and index): one lost part is one
                    // finding, not also a link count error.
                    if r.parts & P_REF != 0 || r.parts & (P_DIR_ITEM | P_DIR_INDEX) == P_DIR_ITEM | P_DIR_INDEX {
                        kept.names = kept.names.saturating_add(1);
                    }
                    let has_entry = r.parts & (P_DIR_ITEM | P_DIR_INDEX) != 0;
                    let ft = mode_to_ftype(kept.mode);
                    if r.errs & E_FILETYPE != 0 || (has_entry && ft != 0 && ft != r.ftype) {
                        let what = format!("filetype mismatch: entry type {} but inode mode {:o}", r.ftype, kept.mode);
                        out.push(((k.target, k.dir, r.index), self.name_finding(&FILETYPE_MISMATCH, k, r, what).ctx("expected", ft).ctx("found", r.ftype)));
                    }
                }
            }
        }
        drop(names);
        for (ino, kept) in st.inodes.iter() {
            let (nlink, n) = (kept.nlink, kept.names);
            let f = |kind, msg: String| ((ino, 0, 0), Finding::new(kind, format!("root {tree} inode {ino}: {msg}")).at("tree", tree).at("inode", ino));
            if ino == ROOT_DIRID {
                if n != 0 {
                    out.push(f(&ROOT_DIR, format!("root dir has {n} names")));
                }
                continue;
            }
            if nlink == 0 && n == 0 {
                if !st.orphans.contains(&ino) {
                    out.push(f(&NO_ORPHAN_ITEM, "nlink 0, no names and no orphan item".into()));
                }
                continue;
            }
            // A directory with nlink >= 2 is already reported when its names agree.
            if nlink != n && !(kept.mode & S_IFMT == S_IFDIR && nlink >= 2 && n == nlink) {
                let (k, f) = f(&LINK_COUNT, format!("link count wrong: nlink {nlink}, {n} names"));
                out.push((k, f.ctx("expected", u64::from(n)).ctx("found", u64::from(nlink))));
            }
        }
        if st.saw_items && !st.saw_root_dir {
            out.push((
                (ROOT_DIRID, 0, 0),
                Finding::new(&ROOT_DIR, format!("root {tree}: root dir {ROOT_DIRID} not found")).at("tree", tree).at("inode", ROOT_DIRID),
            ));
        }
        out.sort_by_key(|(k, _)| *k);
        for f in self.pending.drain(..) {
            report.push(f);
        }
        for (_, f) in out {
            report.push(f);
        }
    }
}

impl Family for Inodes {
    fn revisits(&self) -> Revisit {
        Revisit::Items
    }

    fn begin_tree(&mut self, cx: &Cx, root: &TreeRoot) {
        self.tree = root.tree;
        self.st = TreeState::default();
        self.cur = None;
        self.shared.begin_tree();
        let sb = cx.fs.sb.sb();
        self.gen_limit = sb.generation.get().saturating_add(1);
        self.no_holes = sb.incompat_flags.get() & FEATURE_INCOMPAT_NO_HOLES != 0;
        self.sectorsize = u64::from(cx.fs.sectorsize.max(1));
        // BTRFS_MAX_INLINE_DATA_SIZE: a leaf's data area minus one item header and the extent
        // header; uncompressed inline data is below a sector (check's min(sectorsize - 1, ..)).
        let max_data = u64::from(cx.fs.nodesize).saturating_sub(101 + 25 + FILE_EXTENT_INLINE_DATA_START as u64);
        self.max_inline = max_data.min(self.sectorsize - 1);
    }

    fn reach(&mut self, _cx: &Cx, root: &TreeRoot, b: &Block, first_visit: bool) {
        self.skip_leaf = false;
        if !(is_subvolume(root.tree) && root.drop.is_none()) {
            return;
        }
        if b.node.is_leaf() {
            self.shared_leaf(b);
            self.skip_leaf = self.splice_skips_leaf(b);
            if self.skip_leaf {
                return;
            }
            warm_leaf(&b.node);
            self.hashed_before = !first_visit && !self.misfiled.contains(&b.bytenr);
        } else {
            self.shared_node(b, first_visit);
        }
    }

    fn revisit(&mut self, cx: &Cx, root: &TreeRoot, b: &Block, from: usize) {
        if self.skip_leaf {
            return;
        }
        revisit_items(self, cx, root, b, from);
    }

    fn item(&mut self, _cx: &Cx, root: &TreeRoot, b: &Block, _slot: usize, key: &DiskKey, data: &[u8], _first_visit: bool) {
        if is_subvolume(root.tree) && root.drop.is_none() {
            self.subvol_item(b, key, data);
        } else if root.tree == ROOT_TREE_OBJECTID {
            let objectid = key.objectid.get();
            if key.type_ == INODE_ITEM_KEY {
                if let Ok((it, _)) = InodeItem::ref_from_prefix(data) {
                    self.root_modes.insert(objectid, it.mode.get());
                }
            } else if objectid == FREE_SPACE_OBJECTID && key.type_ == 0 {
                if let Ok((h, _)) = FreeSpaceHeader::ref_from_prefix(data) {
                    self.cache_inodes.push((key.offset.get(), h.location.objectid.get()));
                }
            } else if key.type_ == EXTENT_DATA_KEY {
                self.root_file_extent(b, key, data);
            }
        }
    }

    fn finish(&mut self, _cx: &Cx, _report: &mut Report) {
        self.shared.trace();
    }

    fn end_tree(&mut self, _cx: &Cx, root: &TreeRoot, report: &mut Report) {
        // A subvolume being dropped is deleted and only partly there: its inodes are checked
        // by nobody, the kernel included; its blocks and extents still are (the walk, extents).
        if is_subvolume(root.tree) && root.drop.is_none() {
            self.close_tree(report);
        } else if root.tree == ROOT_TREE_OBJECTID {
            for (bg, ino) in std::mem::take(&mut self.cache_inodes) {
                if let Some(&mode) = self.root_modes.get(&ino) {
                    if mode & S_IFMT != S_IFREG {
                        report.push(
                            Finding::new(
                                &FREE_SPACE_CACHE_MODE,
                                format!("free space cache inode {ino} (block group {bg}) has invalid mode {mode:o}, expected a regular file"),
                            )
                            .at("tree", ROOT_TREE_OBJECTID)
                            .at("inode", ino)
                            .ctx("block_group", bg)
                            .ctx("found", mode as u64),
                        );
                    }
                }
            }
            self.root_modes = HashMap::new();
        }
        for f in self.pending.drain(..) {
            report.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_hash_matches_btrfs() {
        // From a dump-tree of a real filesystem: (256 DIR_ITEM 2507850652) holds "foo".
        assert_eq!(name_hash(b"foo"), 2507850652);
    }

    #[test]
    fn kept_inodes_in_and_out_of_order() {
        let k = |nlink| Kept { nlink, mode: S_IFREG, names: 0 };
        let mut kept = KeptInodes::default();
        let slot = kept.insert(300, k(1));
        assert_eq!(slot, 0);
        assert_eq!(kept.insert(260, k(2)), NO_SLOT); // out of order: kept aside
        assert_eq!(kept.insert(400, k(3)), 1);
        assert_eq!(kept.insert(300, k(4)), slot); // closed again: replaces
        assert_eq!(kept.sorted.len(), 2);
        assert_eq!(kept.get_mut(260).map(|k| k.nlink), Some(2));
        assert_eq!(kept.get_mut(300).map(|k| k.nlink), Some(4));
        assert_eq!(kept.get_mut_hinted(300, slot).map(|k| k.nlink), Some(4));
        // A hint that points elsewhere, or nowhere, still finds the inode.
        assert_eq!(kept.get_mut_hinted(400, slot).map(|k| k.nlink), Some(3));
        assert_eq!(kept.get_mut_hinted(260, NO_SLOT).map(|k| k.nlink), Some(2));
        assert!(kept.get_mut_hinted(270, slot).is_none());
        let mut all: Vec<u64> = kept.iter().map(|(ino, _)| ino).collect();
        all.sort_unstable();
        assert_eq!(all, [260, 300, 400]);
    }

    #[test]
    fn modes() {
        assert!(valid_mode(0o100644));
        assert!(valid_mode(0o40755));
        assert!(!valid_mode(0));
        assert!(!valid_mode(0o37027610000));
        assert_eq!(mode_to_ftype(0o120777), 7);
    }
}
