//! HAMMER checks: the volume set, the UNDO FIFO (and its replay), the B-Tree linkage as
//! `hammer show` flags it, every record's data, and the freemap as `hammer checkmap` rebuilds it —
//! plus the invariants no DragonFly tool checks (layer1 counts, namekeys, dangling volumes).
//!
//! One walk, many checks: the B-Tree walk collects nodes and leaf elements once; the record pass
//! reads each record's data once and accumulates per-big-block usage; the freemap pass compares.

use super::btree::{self, ElmFlags, ElmVisit, LinkError, NodeVisit, Visitor};
use super::cmd::{blockmap_crc_match, layer1_range, leaf_data, vol_crc_match};
use super::crc;
use super::fs::{align16, bigblock_of, zone_of, AddrError, Fs};
use super::{records, undo};
use crate::cli::check::CheckOptions;
use crate::findings::{Finding, Kind, Report, Severity};
use crate::image::DeviceSet;
use ondisk_layouts::hammer::{self as h, Layer1, Layer2, LeafElm};
use std::collections::{BTreeMap, HashMap};
use zerocopy::FromBytes;

macro_rules! kinds {
    ($( $(#[$m:meta])* $name:ident = $id:literal, $sev:ident, $meaning:literal; )*) => {
        $( $(#[$m])* pub static $name: Kind = Kind { id: $id, severity: Severity::$sev, meaning: $meaning }; )*
        /// Every HAMMER finding kind.
        pub static KINDS: &[&Kind] = &[ $( &$name, )* ];
    };
}

kinds! {
    /// A member's volume header is unreadable or lacks the HAMMER01 signature.
    VOL_SIGNATURE = "hammer.vol_signature", Error, "a volume header is unreadable or its vol_signature is not HAMMER01";
    /// The volumes do not form one set.
    VOL_SET = "hammer.vol_set", Error, "volumes disagree: fsid, fstype, vol_count, duplicate or out-of-range vol_no, rootvol not 0, version";
    /// A volume of vol_count was not given.
    VOL_MISSING = "hammer.vol_missing", Error, "a volume counted by vol_count is not among the paths given";
    /// vol_version outside 1..7.
    VOL_VERSION = "hammer.vol_version", Error, "vol_version is outside the 1..7 the kernel mounts";
    /// Buffer space bounds that cannot be right.
    VOL_LAYOUT = "hammer.vol_layout", Error, "vol_buf_beg/vol_buf_end are out of order or past the end of the device";
    /// vol_crc stale (advisory).
    VOL_CRC = "hammer.vol_crc", Info, "vol_crc is set but matches neither CRC (advisory: DragonFly never checks it)";
    /// vol0_blockmap entry_crc stale (advisory).
    BLOCKMAP_CRC = "hammer.blockmap_crc", Info, "a vol0_blockmap entry_crc does not match (advisory: newfs leaves zones 8/9 stale)";
    /// Bad layer1 CRC.
    LAYER1_CRC = "hammer.layer1_crc", Error, "a freemap layer1 entry's layer1_crc does not match";
    /// Bad layer2 CRC.
    LAYER2_CRC = "hammer.layer2_crc", Error, "a freemap layer2 entry's entry_crc does not match";
    /// Layer1 entry unusable for the volume space it covers.
    LAYER1_ENTRY = "hammer.layer1_entry", Error, "a layer1 entry covering volume space has no readable layer2 big-block";
    /// blocks_free vs layer2.
    LAYER1_BLOCKS_FREE = "hammer.layer1_blocks_free", Error, "layer1 blocks_free differs from the number of free (zone 0) layer2 entries under it";
    /// vol0_stat_freebigblocks vs the layer1 sum.
    STAT_FREEBIGBLOCKS = "hammer.stat_freebigblocks", Error, "vol0_stat_freebigblocks differs from the sum of layer1 blocks_free";
    /// checkmap BZ.
    LAYER2_ZONE = "hammer.layer2_zone", Error, "checkmap BZ: a big-block's layer2 zone differs from the zone of what references it";
    /// checkmap BM.
    LAYER2_BYTES_FREE = "hammer.layer2_bytes_free", Error, "checkmap BM: a big-block's layer2 bytes_free differs from the space its references use";
    /// append_off out of bounds.
    LAYER2_APPEND_OFF = "hammer.layer2_append_off", Error, "layer2 append_off is past 8 MiB or below data allocated in the big-block";
    /// Zone-0 entry not wholly free.
    LAYER2_FREE_ENTRY = "hammer.layer2_free_entry", Error, "a free (zone 0) layer2 entry does not have append_off 0 and bytes_free 8 MiB";
    /// Bad node CRC.
    NODE_CRC = "hammer.node_crc", Error, "a B-Tree node's crc does not match (hammer show B)";
    /// Node type.
    NODE_TYPE = "hammer.node_type", Error, "a B-Tree node's type is neither I nor L (hammer show U)";
    /// Node count.
    NODE_COUNT = "hammer.node_count", Error, "a B-Tree node's count is out of range (hammer show C)";
    /// Child linkage.
    NODE_LINK = "hammer.node_link", Error, "a B-Tree link is wrong: child's parent pointer, subtree_offset 0, not zone 8, unreadable, cycle";
    /// Order inside a node.
    ELM_ORDER = "hammer.elm_order", Error, "a B-Tree node's elements are not in hammer_btree_cmp order (no DragonFly tool checks this)";
    /// Bounds.
    ELM_BOUNDS = "hammer.elm_bounds", Error, "a B-Tree element sorts outside its parent's bounds (hammer show L/R)";
    /// btype.
    ELM_BTYPE = "hammer.elm_btype", Error, "a B-Tree element has the wrong btype (hammer show T)";
    /// mirror_tid rules.
    MIRROR_TID = "hammer.mirror_tid", Error, "a mirror_tid rule is broken (hammer show M)";
    /// TID in the future.
    TID_FUTURE = "hammer.tid_future", Error, "a record's create_tid or delete_tid is above vol0_next_tid + 1";
    /// Offset naming a volume that is not there.
    DANGLING_VOLUME = "hammer.dangling_volume", Error, "an offset names a volume that does not exist or is not present (DragonFly's tools segfault here)";
    /// Other untranslatable offset.
    BAD_OFFSET = "hammer.bad_offset", Error, "a data offset cannot be translated or read (bad zone, outside the volume)";
    /// Leaf data CRC.
    DATA_CRC = "hammer.data_crc", Error, "a record's data does not match its data_crc";
    /// Missing data.
    DATA_MISSING = "hammer.data_missing", Error, "a record has data_offset 0 or data_len 0 (hammer show C)";
    /// Data zone.
    DATA_ZONE = "hammer.data_zone", Error, "a record's data lies in a zone its rec_type and length do not allow";
    /// Data length.
    DATA_LEN = "hammer.data_len", Error, "a record's data_len is impossible for its rec_type";
    /// Namekey.
    DIRENT_NAMEKEY = "hammer.dirent_namekey", Error, "a directory entry's key is not the hash of its name (ALG0/ALG1 by the directory's cap_flags)";
    /// FIFO record head/tail.
    UNDO_HEAD = "hammer.undo_head", Error, "an UNDO/REDO FIFO record has a bad signature, size, alignment or tail";
    /// FIFO record CRC.
    UNDO_CRC = "hammer.undo_crc", Error, "an UNDO/REDO FIFO record's hdr_crc does not match";
    /// Zone-3 blockmap / undo array.
    UNDO_BLOCKMAP = "hammer.undo_blockmap", Error, "the UNDO blockmap or vol0_undo_array is inconsistent, or the active range cannot be determined";
    /// Crash recovery pending.
    UNDO_RECOVERY_NEEDED = "hammer.undo_recovery_needed", Warning, "the UNDO FIFO's active range is not empty: a crash left changes to undo (replayed in memory before checking)";
}

/// Who a record-level finding is about: its key, its inode's ctime and its TID.
#[derive(Debug, Clone)]
struct RecCtx {
    node: u64,
    elm: usize,
    localization: u32,
    obj_id: i64,
    rec_type: u16,
    key: i64,
    create_tid: u64,
    ctime: Option<u64>,
}

impl RecCtx {
    fn finding(&self, kind: &'static Kind, msg: impl Into<String>) -> Finding {
        let mut f = Finding::new(kind, msg)
            .at("node", self.node)
            .at("elm", self.elm as u64)
            .at("localization", self.localization)
            .at("obj_id", self.obj_id)
            .at("rec_type", self.rec_type)
            .at("key", self.key)
            .ctx("create_tid", self.create_tid);
        if let Some(c) = self.ctime {
            f = f.ctx("ctime", c);
        }
        f
    }
}

/// Expected usage of one big-block.
#[derive(Debug, Clone)]
struct Use {
    zone: u8,
    bytes: u64,
    /// Highest byte used inside the big-block (for append_off).
    end: u64,
    /// The first record that uses it, for grouping.
    by: Option<RecCtx>,
}

#[derive(Default)]
struct Usage {
    map: BTreeMap<u64, Use>,
}

impl Usage {
    fn add(&mut self, off: u64, zone: u8, bytes: u64, by: Option<&RecCtx>, rep: &mut Sink) {
        let bb = bigblock_of(off);
        let end = (off & h::BIGBLOCK_MASK).saturating_add(bytes);
        match self.map.get_mut(&bb) {
            Some(u) => {
                if u.zone != zone {
                    let msg = format!("big-block {bb:016x} is used by zone {} and by zone {zone}", u.zone);
                    rep.push(match by {
                        Some(c) => c.finding(&LAYER2_ZONE, msg),
                        None => Finding::new(&LAYER2_ZONE, msg),
                    }
                    .at("bigblock", bb));
                }
                u.bytes = u.bytes.saturating_add(bytes);
                u.end = u.end.max(end);
            }
            None => {
                self.map.insert(bb, Use { zone, bytes, end, by: by.cloned() });
            }
        }
    }
}

/// Most findings of one kind a report keeps: a wrecked image must not make the checker's memory
/// grow without bound. What is left out is counted in one closing finding of the kind.
pub const MAX_PER_KIND: usize = 10_000;

/// The report being built, with the per-kind cap.
#[derive(Default)]
struct Sink {
    rep: Report,
    counts: HashMap<&'static str, (usize, &'static Kind)>,
}

impl Sink {
    fn push(&mut self, f: Finding) {
        let e = self.counts.entry(f.kind.id).or_insert((0, f.kind));
        e.0 += 1;
        if e.0 <= MAX_PER_KIND {
            self.rep.push(f);
        }
    }

    fn finish(mut self) -> Report {
        let mut capped: Vec<_> = self.counts.values().filter(|(n, _)| *n > MAX_PER_KIND).copied().collect();
        capped.sort_by_key(|(_, k)| k.id);
        for (n, k) in capped {
            let more = (n - MAX_PER_KIND) as u64;
            self.rep.push(Finding::new(k, format!("... and {more} more {} findings, not listed", k.id)).ctx("suppressed", more));
        }
        self.rep
    }
}

/// Checks a HAMMER volume set.
pub fn run(set: &DeviceSet, _opts: &CheckOptions) -> crate::Result<Report> {
    let mut rep = Sink::default();
    let fs0 = Fs::open(set)?;
    let ar = undo::active_range(&fs0);
    let (patches, bad) = undo::replay(&fs0, &ar);
    if let Some(p) = &ar.problem {
        rep.push(Finding::new(&UNDO_BLOCKMAP, format!("UNDO active range: {p}")).at("first_offset", undo::zone3(ar.first)));
    }
    if !ar.records.is_empty() {
        let undos = ar.records.iter().filter(|r| r.undo.is_some()).count();
        rep.push(
            Finding::new(
                &UNDO_RECOVERY_NEEDED,
                format!(
                    "recovery needed: {} record(s) in the active UNDO range ({} UNDO) starting at {:016x}; replayed in memory, the checks below see the recovered image",
                    ar.records.len(),
                    undos,
                    undo::zone3(ar.first)
                ),
            )
            .at("first_offset", undo::zone3(ar.first))
            .ctx("records", ar.records.len() as u64)
            .ctx("seq_first", ar.records.first().map_or(0, |r| r.head.hdr_seq.get()))
            .ctx("seq_last", ar.records.last().map_or(0, |r| r.head.hdr_seq.get())),
        );
    }
    for (off, e) in bad {
        rep.push(Finding::new(&UNDO_BLOCKMAP, format!("UNDO record cannot be replayed: {e}")).at("offset", off));
    }
    let fs = if patches.is_empty() { fs0 } else { Fs::open_with(set, patches)? };
    check_set(&fs, set, &mut rep);
    let mut usage = Usage::default();
    check_undo(&fs, &mut rep, &mut usage);
    let mut tc = TreeCheck { rep: &mut rep, usage: &mut usage, leaves: Vec::new() };
    btree::walk(&fs, &mut tc);
    let leaves = std::mem::take(&mut tc.leaves);
    check_records(&fs, &leaves, &mut rep, &mut usage);
    check_freemap(&fs, &mut usage, &mut rep);
    Ok(rep.finish())
}

fn check_set(fs: &Fs, set: &DeviceSet, rep: &mut Sink) {
    for p in &fs.problems {
        let kind = match p.what {
            "signature" => &VOL_SIGNATURE,
            "version" => &VOL_VERSION,
            "vol_count" if p.message.contains("not given") => &VOL_MISSING,
            _ => &VOL_SET,
        };
        let path = set.members.get(p.member).map(|m| m.path().display().to_string()).unwrap_or_default();
        rep.push(Finding::new(kind, p.message.clone()).at("device", path).ctx("what", p.what));
    }
    for (&no, v) in &fs.vols {
        let (beg, end) = (v.hdr.vol_buf_beg.get(), v.hdr.vol_buf_end.get());
        if beg < 0 || end < beg || end as u64 > v.dev.size() {
            rep.push(
                Finding::new(&VOL_LAYOUT, format!("volume {no}: vol_buf_beg {beg:#x} .. vol_buf_end {end:#x} on a {}-byte device", v.dev.size()))
                    .at("volume", no),
            );
        }
        if v.hdr.vol_crc.get() != 0 && vol_crc_match(v, fs.version).is_none() {
            rep.push(Finding::new(&VOL_CRC, format!("volume {no}: vol_crc {:08x} is stale", v.hdr.vol_crc.get())).at("volume", no));
        }
    }
    if let Some(v0) = fs.vols.get(&0) {
        for z in 0..h::MAX_ZONES {
            if blockmap_crc_match(v0, z, fs.version).is_none() {
                rep.push(
                    Finding::new(&BLOCKMAP_CRC, format!("vol0_blockmap[{z}] entry_crc {:08x} is stale", fs.root.vol0_blockmap[z].entry_crc.get()))
                        .at("zone", z as u64),
                );
            }
        }
    }
}

fn check_undo(fs: &Fs, rep: &mut Sink, usage: &mut Usage) {
    let size = fs.undo_size();
    let bm = &fs.root.vol0_blockmap[h::ZONE_UNDO as usize];
    let nblocks = size.div_ceil(h::BIGBLOCK_SIZE) as usize;
    if size % h::BIGBLOCK_SIZE != 0 && size != 0 {
        rep.push(Finding::new(&UNDO_BLOCKMAP, format!("UNDO alloc_offset {:016x} is not a whole number of big-blocks", bm.alloc_offset.get())));
    }
    for i in 0..nblocks {
        let base = fs.root.vol0_undo_array[i].get();
        if base == h::BLOCKMAP_UNAVAIL || zone_of(base) != h::ZONE_RAW_BUFFER {
            rep.push(Finding::new(&UNDO_BLOCKMAP, format!("vol0_undo_array[{i}] = {base:016x} inside the FIFO's {size:#x} bytes")).at("index", i as u64));
            continue;
        }
        usage.add(base, h::ZONE_UNDO, h::BIGBLOCK_SIZE, None, rep);
    }
    let mut bad = 0u64;
    undo::scan(fs, |r| {
        match r {
            Ok(r) => {
                if let Some(p) = &r.problem {
                    rep.push(Finding::new(&UNDO_HEAD, format!("FIFO record at {:016x}: {p}", undo::zone3(r.pos))).at("offset", undo::zone3(r.pos)));
                    bad += 1;
                } else if r.crc_bad {
                    rep.push(
                        Finding::new(&UNDO_CRC, format!("FIFO record at {:016x}: hdr_crc {:08x} does not match", undo::zone3(r.pos), r.head.hdr_crc.get()))
                            .at("offset", undo::zone3(r.pos))
                            .ctx("hdr_seq", r.head.hdr_seq.get()),
                    );
                    bad += 1;
                }
            }
            Err((pos, e)) => {
                rep.push(Finding::new(&UNDO_BLOCKMAP, format!("FIFO at {:016x}: {e}", undo::zone3(pos))).at("offset", undo::zone3(pos)));
                bad += 1;
            }
        }
        // A wrecked FIFO says so soon enough; thousands of identical findings help nobody.
        bad < 10_000
    });
}

struct TreeCheck<'r> {
    rep: &'r mut Sink,
    usage: &'r mut Usage,
    leaves: Vec<(u64, usize, LeafElm, ElmFlags)>,
}

impl Visitor for TreeCheck<'_> {
    fn node(&mut self, n: &NodeVisit) {
        let at = |k: &'static Kind, m: String| Finding::new(k, m).at("node", n.off).at("depth", n.depth).ctx("mirror_tid", n.hdr.mirror_tid.get());
        if n.flags.bad_crc {
            self.rep.push(at(&NODE_CRC, format!("node {:016x}: crc {:08x} matches neither accepted CRC", n.off, n.hdr.crc.get())));
        }
        if n.flags.bad_type {
            self.rep.push(at(&NODE_TYPE, format!("node {:016x}: type {:#04x}", n.off, n.hdr.type_)));
        }
        if n.flags.count {
            self.rep.push(at(&NODE_COUNT, format!("node {:016x}: count {}", n.off, n.hdr.count.get())));
        }
        if n.flags.mirror {
            self.rep.push(at(&MIRROR_TID, format!("node {:016x}: mirror_tid {:016x} above its parent element's", n.off, n.hdr.mirror_tid.get())));
        }
        // Elements must ascend: strictly in leaves, and up to the right boundary in internal nodes.
        let mut prev: Option<h::BtreeElm> = None;
        for i in 0..n.shown {
            let Ok(e) = h::BtreeElm::read_from_bytes(n.elm_bytes(i).get(..40).unwrap_or(&[])) else { break };
            if let Some(p) = &prev {
                let c = btree::btree_cmp(p, &e);
                if c == std::cmp::Ordering::Greater || (n.is_leaf() && c == std::cmp::Ordering::Equal) {
                    self.rep.push(
                        at(&ELM_ORDER, format!("node {:016x}: element {i} sorts before element {}", n.off, i - 1))
                            .ctx("elm", i as u64)
                            .ctx("create_tid", e.create_tid.get()),
                    );
                }
            }
            prev = Some(e);
        }
        if n.depth == 0 && n.hdr.parent.get() != 0 {
            self.rep.push(at(&NODE_LINK, format!("root node {:016x} has parent {:016x}", n.off, n.hdr.parent.get())));
        }
        self.usage.add(n.off, h::ZONE_BTREE, h::NODE_BYTES as u64, None, self.rep);
    }

    fn elm(&mut self, n: &NodeVisit, e: &ElmVisit) {
        let f = e.flags();
        let b = e.base();
        let (idx, leaf) = match e {
            ElmVisit::Internal { idx, .. } => (*idx, None),
            ElmVisit::Leaf { idx, elm, .. } => (*idx, Some(*elm)),
        };
        if let Some(l) = leaf {
            // Record-level flags are reported by the record pass, with the inode's ctime.
            self.leaves.push((n.off, idx, l, f));
            return;
        }
        let at = |k: &'static Kind, m: String| {
            Finding::new(k, m)
                .at("node", n.off)
                .at("elm", idx as u64)
                .at("localization", b.localization.get())
                .at("obj_id", b.obj_id.get())
                .ctx("create_tid", b.create_tid.get())
        };
        if f.left || f.right {
            let side = if f.left { "left" } else { "right" };
            self.rep.push(at(&ELM_BOUNDS, format!("node {:016x} elm {idx}: outside the parent's {side} bound", n.off)));
        }
        if f.btype {
            self.rep.push(at(&ELM_BTYPE, format!("node {:016x} elm {idx}: btype {:#04x}", n.off, b.btype)));
        }
        if f.child {
            self.rep.push(at(&NODE_LINK, format!("node {:016x} elm {idx}: child's parent pointer is wrong or subtree_offset is 0", n.off)));
        }
        if f.mirror {
            self.rep.push(at(&MIRROR_TID, format!("node {:016x} elm {idx}: mirror_tid above the node's", n.off)));
        }
    }

    fn bad_link(&mut self, from: u64, idx: usize, target: u64, why: LinkError) {
        let kind = match &why {
            LinkError::Addr(AddrError::Volume { .. }) => &DANGLING_VOLUME,
            _ => &NODE_LINK,
        };
        self.rep.push(Finding::new(kind, format!("node {from:016x} elm {idx} -> {target:016x}: {why}")).at("node", from).at("elm", idx as u64).at("target", target));
    }
}

/// The zones a record's data may live in.
fn expected_zone(rec_type: u16, len: i32) -> Option<u8> {
    match rec_type {
        h::RECTYPE_DATA | h::RECTYPE_DB => Some(if len as u64 >= h::BUFSIZE { h::ZONE_LARGE_DATA } else { h::ZONE_SMALL_DATA }),
        h::RECTYPE_INODE | h::RECTYPE_DIRENTRY | h::RECTYPE_EXT | h::RECTYPE_FIX | h::RECTYPE_PFS | h::RECTYPE_SNAPSHOT | h::RECTYPE_CONFIG => {
            Some(h::ZONE_META)
        }
        _ => None,
    }
}

fn len_ok(rec_type: u16, len: i32) -> bool {
    let n = len as usize;
    match rec_type {
        h::RECTYPE_INODE => n == h::INODE_DATA_SIZE,
        h::RECTYPE_PFS => n == h::PFS_DATA_SIZE || n == h::PFS_DATA_SIZE_OLD,
        h::RECTYPE_SNAPSHOT => n == 128,
        h::RECTYPE_DIRENTRY => n > h::DIRENTRY_NAME_OFFSET,
        _ => true,
    }
}

fn check_records(fs: &Fs, leaves: &[(u64, usize, LeafElm, ElmFlags)], rep: &mut Sink, usage: &mut Usage) {
    // Inode ctime and cap_flags per (PFS, obj_id): the live inode, else the newest.
    let mut inodes: HashMap<(u32, i64), (u64, u8, bool, u64)> = HashMap::new();
    for (_, _, l, _) in leaves {
        if l.base.rec_type.get() != h::RECTYPE_INODE {
            continue;
        }
        let Some(Ok(d)) = leaf_data(fs, l) else { continue };
        let Some(ino) = records::inode(&d) else { continue };
        let key = (l.base.localization.get() >> 16, l.base.obj_id.get());
        let live = l.base.delete_tid.get() == 0;
        let tid = l.base.create_tid.get();
        let e = inodes.entry(key).or_insert((ino.ctime.get(), ino.cap_flags, live, tid));
        if (live && !e.2) || (live == e.2 && tid > e.3) {
            *e = (ino.ctime.get(), ino.cap_flags, live, tid);
        }
    }
    let next_tid = fs.root.vol0_next_tid.get();
    for (node, idx, l, flagged) in leaves {
        let b = &l.base;
        let pfs = b.localization.get() >> 16;
        let ino = inodes.get(&(pfs, b.obj_id.get()));
        let ctx = RecCtx {
            node: *node,
            elm: *idx,
            localization: b.localization.get(),
            obj_id: b.obj_id.get(),
            rec_type: b.rec_type.get(),
            key: b.key.get(),
            create_tid: b.create_tid.get(),
            ctime: ino.map(|i| i.0),
        };
        let rt = b.rec_type.get();
        let name = h::rectype_name(rt);
        check_leaf_flags(*node, l, flagged, &ctx, rep);
        for (what, tid) in [("create_tid", b.create_tid.get()), ("delete_tid", b.delete_tid.get())] {
            if tid > next_tid.saturating_add(1) {
                rep.push(ctx.finding(&TID_FUTURE, format!("{name} record obj {:016x}: {what} {tid:016x} above vol0_next_tid {next_tid:016x} + 1", b.obj_id.get())));
            }
        }
        let (off, len) = (l.data_offset.get(), l.data_len.get());
        if off == 0 || len == 0 {
            rep.push(ctx.finding(&DATA_MISSING, format!("{name} record obj {:016x}: data_offset {off:016x} data_len {len}", b.obj_id.get())));
            continue;
        }
        if len < 0 || len as usize > records::MAX_DATA_LEN || !len_ok(rt, len) {
            rep.push(ctx.finding(&DATA_LEN, format!("{name} record obj {:016x}: data_len {len}", b.obj_id.get())).ctx("data_len", len));
            if len < 0 || len as usize > records::MAX_DATA_LEN {
                continue;
            }
        }
        let zone = zone_of(off);
        if let Some(z) = expected_zone(rt, len) {
            if zone != z {
                rep.push(
                    ctx.finding(&DATA_ZONE, format!("{name} record obj {:016x}: {len} bytes of data at {off:016x} in zone {zone}, expected zone {z}", b.obj_id.get()))
                        .ctx("data_offset", off),
                );
            }
        }
        let data = match fs.read(off, len as usize) {
            Ok(d) => d,
            Err(e) => {
                let kind = if matches!(e, AddrError::Volume { .. }) { &DANGLING_VOLUME } else { &BAD_OFFSET };
                rep.push(ctx.finding(kind, format!("{name} record obj {:016x}: data {e}", b.obj_id.get())).ctx("data_offset", off));
                continue;
            }
        };
        // Data offsets must be zones 8-15 to be accounted: the others have no layer2 meaning.
        if zone >= h::ZONE_BTREE {
            usage.add(off, zone, align16(len as u64), Some(&ctx), rep);
        }
        if records::data_crc(fs.version, l, &data).is_none() {
            let alg = crc::write_alg(fs.version);
            let n = records::crc_len(rt, data.len());
            rep.push(
                ctx.finding(&DATA_CRC, format!("{name} record obj {:016x}: data_crc {:08x}, data has {:08x}", b.obj_id.get(), l.data_crc.get(), alg.crc(&data[..n])))
                    .ctx("data_offset", off),
            );
        }
        if rt == h::RECTYPE_DIRENTRY && data.len() > h::DIRENTRY_NAME_OFFSET {
            let nm = &data[h::DIRENTRY_NAME_OFFSET..];
            // The directory's own inode says which hash it uses.
            if let Some(&(_, cap, _, _)) = ino {
                let alg1 = cap & h::INODE_CAP_DIRHASH_MASK == h::INODE_CAP_DIRHASH_ALG1;
                let want = if alg1 { records::namekey_alg1(nm) } else { records::namekey_alg0(nm) };
                if !records::namekey_ok(b.key.get(), want, alg1) {
                    rep.push(
                        ctx.finding(
                            &DIRENT_NAMEKEY,
                            format!(
                                "dir-entry {:?} in directory {:016x}: key {:016x}, {} hash is {:016x}",
                                String::from_utf8_lossy(nm),
                                b.obj_id.get(),
                                b.key.get() as u64,
                                if alg1 { "ALG1" } else { "ALG0" },
                                want as u64
                            ),
                        )
                        .ctx("expected_key", want),
                    );
                }
            }
        }
    }
}

/// The `hammer show` flags of a leaf element, as findings with the record's context (data
/// missing, `C`, is the record pass's own check).
fn check_leaf_flags(node: u64, l: &LeafElm, f: &ElmFlags, ctx: &RecCtx, rep: &mut Sink) {
    let b = &l.base;
    if f.btype {
        rep.push(ctx.finding(&ELM_BTYPE, format!("leaf {node:016x} elm {}: btype {:#04x}", ctx.elm, b.btype)));
    }
    if f.mirror {
        rep.push(ctx.finding(&MIRROR_TID, format!("leaf {node:016x} elm {}: TID above the node's mirror_tid", ctx.elm)));
    }
    if f.left || f.right {
        let side = if f.left { "left" } else { "right" };
        rep.push(ctx.finding(&ELM_BOUNDS, format!("leaf {node:016x} elm {}: outside the parent's {side} bound", ctx.elm)));
    }
}

fn check_freemap(fs: &Fs, usage: &mut Usage, rep: &mut Sink) {
    let fm = &fs.root.vol0_blockmap[h::ZONE_FREEMAP as usize];
    let l1_base = fm.phys_offset.get();
    usage.add(l1_base, h::ZONE_FREEMAP, h::BIGBLOCK_SIZE, None, rep);
    let mut sum_free: i64 = 0;
    let all_present = (0..fs.vol_count).all(|n| fs.vols.contains_key(&n));
    // First pass: every layer2 big-block counts as freemap space.
    let mut l1s: Vec<(u64, u64, Layer1, u32)> = Vec::new();
    for (&no, v) in &fs.vols {
        for i in layer1_range(v, no) {
            let addr = l1_base.wrapping_add(i * h::LAYER1_SIZE);
            let b = match fs.read(addr, h::LAYER1_SIZE as usize) {
                Ok(b) => b,
                Err(e) => {
                    rep.push(Finding::new(&LAYER1_ENTRY, format!("layer1 entry {i} at {addr:016x}: {e}")).at("layer1_index", i));
                    continue;
                }
            };
            let Ok(l1) = Layer1::read_from_bytes(&b) else { continue };
            if crc::matches(fs.version, l1.layer1_crc.get(), |a| a.crc(&b[..h::freemap::LAYER1_CRCSIZE])).is_none() {
                rep.push(Finding::new(&LAYER1_CRC, format!("layer1 entry {i} at {addr:016x}: layer1_crc {:08x}", l1.layer1_crc.get())).at("layer1_index", i).at("offset", addr));
            }
            let p = l1.phys_offset.get();
            if p == h::BLOCKMAP_UNAVAIL || zone_of(p) != h::ZONE_RAW_BUFFER {
                rep.push(Finding::new(&LAYER1_ENTRY, format!("layer1 entry {i} covers volume {no} but its phys_offset is {p:016x}")).at("layer1_index", i));
                continue;
            }
            usage.add(p, h::ZONE_FREEMAP, h::BIGBLOCK_SIZE, None, rep);
            l1s.push((i, addr, l1, no));
        }
    }
    // Layer1 entries outside every present volume's space must be UNAVAIL (one 8 MiB read).
    let covered: Vec<std::ops::Range<u64>> = fs.vols.iter().map(|(&no, v)| layer1_range(v, no)).collect();
    if let Ok(all) = fs.read(l1_base, (h::BLOCKMAP_RADIX1 * h::LAYER1_SIZE) as usize) {
        for (i, e) in all.chunks_exact(h::LAYER1_SIZE as usize).enumerate() {
            let i = i as u64;
            let Ok(l1) = Layer1::read_from_bytes(e) else { continue };
            let vol = (i / h::LAYER1_PER_VOLUME) as u32;
            if l1.phys_offset.get() != h::BLOCKMAP_UNAVAIL && !covered.iter().any(|r| r.contains(&i)) && (fs.vols.contains_key(&vol) || vol >= fs.vol_count) {
                rep.push(
                    Finding::new(&LAYER1_ENTRY, format!("layer1 entry {i} is outside every volume but points at {:016x}", l1.phys_offset.get()))
                        .at("layer1_index", i),
                );
            }
        }
    }
    for (i, addr, l1, no) in l1s {
        let Some(v) = fs.vols.get(&no) else { continue };
        let p = l1.phys_offset.get();
        let mut free = 0i64;
        let mut unreadable = false;
        for j in 0..h::BLOCKMAP_RADIX2 {
            let bb = (2u64 << 60) | (i << 42) | (j << 23);
            let inside = (bb & h::OFF_SHORT_MASK).saturating_add(h::BIGBLOCK_SIZE) <= v.buf_size();
            let e_addr = p.wrapping_add(j * h::LAYER2_SIZE);
            let b2 = match fs.read(e_addr, h::LAYER2_SIZE as usize) {
                Ok(b) => b,
                Err(e) => {
                    rep.push(Finding::new(&LAYER1_ENTRY, format!("layer1 entry {i}: layer2 at {e_addr:016x}: {e}")).at("layer1_index", i));
                    unreadable = true;
                    break;
                }
            };
            let Ok(l2) = Layer2::read_from_bytes(&b2) else { break };
            if !inside && l2.zone == h::ZONE_UNAVAIL && !usage.map.contains_key(&bb) {
                // Past the end of the volume, as newfs marks it: only its CRC matters.
                if crc::matches(fs.version, l2.entry_crc.get(), |a| a.crc(&b2[..h::freemap::LAYER2_CRCSIZE])).is_none() {
                    rep.push(Finding::new(&LAYER2_CRC, format!("layer2 entry of {bb:016x}: entry_crc {:08x}", l2.entry_crc.get())).at("bigblock", bb));
                }
                continue;
            }
            if crc::matches(fs.version, l2.entry_crc.get(), |a| a.crc(&b2[..h::freemap::LAYER2_CRCSIZE])).is_none() {
                rep.push(Finding::new(&LAYER2_CRC, format!("layer2 entry of {bb:016x}: entry_crc {:08x}", l2.entry_crc.get())).at("bigblock", bb));
            }
            let app = u64::from(l2.append_off.get());
            let bfree = i64::from(l2.bytes_free.get());
            let l2f = |k: &'static Kind, m: String, by: Option<&RecCtx>| {
                let f = match by {
                    Some(c) => c.finding(k, m),
                    None => Finding::new(k, m),
                };
                f.at("bigblock", bb).ctx("zone", l2.zone).ctx("append_off", app).ctx("bytes_free", bfree)
            };
            if l2.zone == h::ZONE_FREE {
                free += 1;
                if app != 0 || bfree != h::BIGBLOCK_SIZE as i64 {
                    rep.push(l2f(&LAYER2_FREE_ENTRY, format!("free big-block {bb:016x}: app={app} free={bfree}"), None));
                }
            }
            if app > h::BIGBLOCK_SIZE {
                rep.push(l2f(&LAYER2_APPEND_OFF, format!("big-block {bb:016x}: append_off {app} past 8 MiB"), None));
            }
            match usage.map.remove(&bb) {
                Some(u) => {
                    if l2.zone != u.zone {
                        rep.push(l2f(&LAYER2_ZONE, format!("BZ block={bb:016x} calc zone={}, got zone={}", u.zone, l2.zone), u.by.as_ref()).ctx("calc_zone", u.zone));
                    } else {
                        let calc = h::BIGBLOCK_SIZE as i64 - u.bytes.min(h::BIGBLOCK_SIZE) as i64;
                        if calc != bfree {
                            rep.push(
                                l2f(&LAYER2_BYTES_FREE, format!("BM block={bb:016x} zone={} calc {calc} free, got {bfree}", l2.zone), u.by.as_ref())
                                    .ctx("calc_bytes_free", calc),
                            );
                        }
                        if u.end > app && u.zone >= h::ZONE_BTREE {
                            rep.push(l2f(&LAYER2_APPEND_OFF, format!("big-block {bb:016x}: data up to {} beyond append_off {app}", u.end), u.by.as_ref()));
                        }
                    }
                }
                None => {
                    if (h::ZONE_BTREE..h::ZONE_UNAVAIL).contains(&l2.zone) && bfree != h::BIGBLOCK_SIZE as i64 {
                        rep.push(
                            l2f(&LAYER2_BYTES_FREE, format!("BM block={bb:016x} zone={} calc {} free, got {bfree} (nothing references it)", l2.zone, h::BIGBLOCK_SIZE), None)
                                .ctx("calc_bytes_free", h::BIGBLOCK_SIZE),
                        );
                    } else if (h::ZONE_UNDO..=h::ZONE_FREEMAP).contains(&l2.zone) {
                        rep.push(l2f(&LAYER2_ZONE, format!("BZ block={bb:016x} calc zone=0, got zone={} (not a freemap or UNDO big-block)", l2.zone), None));
                    }
                }
            }
        }
        if !unreadable && free != l1.blocks_free.get() {
            rep.push(
                Finding::new(&LAYER1_BLOCKS_FREE, format!("layer1 entry {i}: blocks_free {}, its layer2 has {free} free big-blocks", l1.blocks_free.get()))
                    .at("layer1_index", i)
                    .at("offset", addr)
                    .ctx("blocks_free", l1.blocks_free.get())
                    .ctx("counted", free),
            );
        }
        sum_free = sum_free.saturating_add(l1.blocks_free.get());
    }
    if all_present && sum_free != fs.root.vol0_stat_freebigblocks.get() {
        rep.push(
            Finding::new(&STAT_FREEBIGBLOCKS, format!("vol0_stat_freebigblocks {}, layer1 entries sum to {sum_free}", fs.root.vol0_stat_freebigblocks.get()))
                .ctx("stat", fs.root.vol0_stat_freebigblocks.get())
                .ctx("sum", sum_free),
        );
    }
    // References to big-blocks no layer2 entry of a present volume describes.
    for (bb, u) in std::mem::take(&mut usage.map) {
        let msg = format!("BZ block={bb:016x} calc zone={}, no layer2 entry describes it", u.zone);
        rep.push(match &u.by {
            Some(c) => c.finding(&LAYER2_ZONE, msg),
            None => Finding::new(&LAYER2_ZONE, msg),
        }
        .at("bigblock", bb));
    }
}
