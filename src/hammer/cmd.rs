//! The HAMMER side of `super`, `dump` and `map`: human output modelled on DragonFly's `hammer
//! show`, `blockmap` and `show-undo`; JSON Lines with `--json`.

use super::btree::{self, ElmVisit, NodeVisit, Visitor};
use super::crc::{self, CrcAlg};
use super::fs::{self, bigblock_of, layer1_index, layer2_index, vol_of, zone_of, Fs};
use super::{records, undo};
use crate::cli::output::Out;
use crate::cli::{DumpArgs, SuperArgs, EXIT_OK};
use crate::detect::uuid_text_le;
use crate::image::DeviceSet;
use crate::record::{Record, Value};
use crate::{Error, Result};
use ondisk_layouts::hammer::{self as h, Layer1, Layer2, VolumeOndisk};
use ondisk_layouts::Layout;
use std::borrow::Cow;
use std::io::Write;
use zerocopy::FromBytes;

fn io(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}

/// `hammer`'s sizetostr: "%6.2f" and a unit.
pub fn size_text(n: u64) -> String {
    let f = n as f64;
    if n < 1024 / 2 {
        format!("{f:6.2}B")
    } else if n < 1024 * 1024 / 2 {
        format!("{:6.2}KB", f / 1024.0)
    } else if n < 1024 * 1024 * 1024 / 2 {
        format!("{:6.2}MB", f / 1048576.0)
    } else {
        format!("{:6.2}GB", f / 1073741824.0)
    }
}

/// Which CRC the volume header's `vol_crc` matches: `crc(hdr[0..156]) ^ crc(hdr[160..1928])`.
pub fn vol_crc_match(v: &fs::Volume, version: u32) -> Option<CrcAlg> {
    let b = &v.raw;
    if b.len() < h::VOLUME_ONDISK_SIZE {
        return None;
    }
    crc::matches(version, v.hdr.vol_crc.get(), |a| crc::split(a, &b[..156], &b[160..h::VOLUME_ONDISK_SIZE]))
}

/// Which CRC a vol0_blockmap entry's `entry_crc` matches.
///
/// An all-zero entry (zones newfs never sets up) counts as matching: there is nothing to check.
pub fn blockmap_crc_match(v: &fs::Volume, zone: usize, version: u32) -> Option<CrcAlg> {
    let at = 264 + zone * 40;
    let b = v.raw.get(at..at + h::freemap::BLOCKMAP_CRCSIZE)?;
    if b.iter().all(|&x| x == 0) && v.raw.get(at + 36..at + 40).is_some_and(|c| c.iter().all(|&x| x == 0)) {
        return Some(crc::write_alg(version));
    }
    let bm = v.hdr.vol0_blockmap.get(zone)?;
    crc::matches(version, bm.entry_crc.get(), |a| a.crc(b))
}

/// A closed pipe (`| head`) ends output quietly, as `cli::output::finish` does.
fn quiet(r: Result<i32>) -> Result<i32> {
    match r {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        r => r,
    }
}

fn crc_name(m: Option<CrcAlg>) -> &'static str {
    m.map_or("mismatch", |a| a.name())
}

/// The header block every `hammer` command prints first (`print_blockmap`).
fn print_blockmap_header(fs: &Fs, w: &mut dyn Write) -> std::io::Result<()> {
    let r = &fs.root;
    let v0 = fs.vols.get(&0);
    writeln!(w, "vol_label\t{}", String::from_utf8_lossy(fs.label()))?;
    writeln!(w, "vol_count\t{}", r.vol_count.get())?;
    writeln!(w, "vol_fstype\t{} \"DragonFly HAMMER\"", uuid_text_le(&r.vol_fstype))?;
    writeln!(w, "vol_fsid\t{}", uuid_text_le(&r.vol_fsid))?;
    writeln!(w, "vol_bot_beg\t{}", size_text(r.vol_bot_beg.get().max(0) as u64))?;
    writeln!(w, "vol_mem_beg\t{}", size_text(r.vol_mem_beg.get().max(0) as u64))?;
    writeln!(w, "vol_buf_beg\t{}", size_text(v0.map_or(0, |v| v.buf_beg())))?;
    writeln!(w, "vol_buf_end\t{}", size_text(v0.map_or(0, |v| v.buf_end())))?;
    writeln!(w, "vol0_next_tid\t{:016x}", r.vol0_next_tid.get())?;
    let ub = &r.vol0_blockmap[h::ZONE_UNDO as usize];
    let size = fs.undo_size();
    let (first, next) = (ub.first_offset.get() & h::OFF_SHORT_MASK, ub.next_offset.get() & h::OFF_SHORT_MASK);
    let used = if next >= first { next - first } else { size.saturating_sub(first) + next };
    writeln!(w, "undo_size\t{}", size_text(size))?;
    writeln!(w, "undo_used\t{}", size_text(used))?;
    writeln!(w, "zone #             phys             first            next             alloc")?;
    for (z, bm) in r.vol0_blockmap.iter().enumerate() {
        writeln!(
            w,
            "zone {:<2} {:<10} {:016x} {:016x} {:016x} {:016x}",
            z,
            h::zone_name(z as u8),
            bm.phys_offset.get(),
            bm.first_offset.get(),
            bm.next_offset.get(),
            bm.alloc_offset.get()
        )?;
    }
    Ok(())
}

fn volume_record(fs: &Fs, no: u32, v: &fs::Volume, path: &std::path::Path) -> Record<'static> {
    let hd = &v.hdr;
    let mut r = Record::new();
    r.push("type", "volume")
        .push("path", path)
        .push("vol_no", no)
        .push("vol_count", hd.vol_count.get())
        .push("vol_version", hd.vol_version.get())
        .push("vol_label", Value::Name(Cow::Owned(fs::trim_nul(&hd.vol_label).to_vec())))
        .push("vol_fsid", uuid_text_le(&hd.vol_fsid))
        .push("vol_fstype", uuid_text_le(&hd.vol_fstype))
        .push("vol_rootvol", hd.vol_rootvol.get())
        .push("vol_bot_beg", hd.vol_bot_beg.get())
        .push("vol_mem_beg", hd.vol_mem_beg.get())
        .push("vol_buf_beg", hd.vol_buf_beg.get())
        .push("vol_buf_end", hd.vol_buf_end.get())
        .push("vol_flags", hd.vol_flags.get())
        .push("vol_crc", hd.vol_crc.get())
        .push("vol_crc_match", crc_name(vol_crc_match(v, fs.version)));
    if no == 0 {
        r.push("vol0_stat_bigblocks", hd.vol0_stat_bigblocks.get())
            .push("vol0_stat_freebigblocks", hd.vol0_stat_freebigblocks.get())
            .push("vol0_stat_inodes", hd.vol0_stat_inodes.get())
            .push("vol0_btree_root", hd.vol0_btree_root.get())
            .push("vol0_next_tid", hd.vol0_next_tid.get());
        let bms: Vec<Value> = hd
            .vol0_blockmap
            .iter()
            .enumerate()
            .map(|(z, bm)| {
                let mut e = Record::new();
                e.push("zone", z as u64)
                    .push("phys_offset", bm.phys_offset.get())
                    .push("first_offset", bm.first_offset.get())
                    .push("next_offset", bm.next_offset.get())
                    .push("alloc_offset", bm.alloc_offset.get())
                    .push("entry_crc", bm.entry_crc.get())
                    .push("entry_crc_match", crc_name(blockmap_crc_match(v, z, fs.version)));
                Value::Record(e)
            })
            .collect();
        r.push("vol0_blockmap", bms);
        let undo: Vec<Value> = hd
            .vol0_undo_array
            .iter()
            .map(|u| u.get())
            .take_while(|&u| u != h::BLOCKMAP_UNAVAIL)
            .map(Value::U64)
            .collect();
        r.push("vol0_undo_array", undo);
    }
    r
}

/// `ondisk super`: the header of every volume.
pub fn super_(set: &DeviceSet, a: &SuperArgs, out: &mut Out) -> Result<i32> {
    quiet(super_inner(set, a, out))
}

fn super_inner(set: &DeviceSet, a: &SuperArgs, out: &mut Out) -> Result<i32> {
    let fs = Fs::open(set)?;
    for p in &fs.problems {
        eprintln!("ondisk: {}: {}", set.members.get(p.member).map_or("?".into(), |m| m.path().display().to_string()), p.message);
    }
    for (&no, v) in &fs.vols {
        let path = set.members[v.member].path();
        if a.common.json {
            out.json(&volume_record(&fs, no, v, path)).map_err(io)?;
            continue;
        }
        let w = out.w();
        let hd = &v.hdr;
        writeln!(w, "volume {no}: {}", path.display()).map_err(io)?;
        if no == 0 {
            print_blockmap_header(&fs, w).map_err(io)?;
        }
        writeln!(w, "vol_no\t\t{} of {}", no, hd.vol_count.get()).map_err(io)?;
        writeln!(w, "vol_version\t{}", hd.vol_version.get()).map_err(io)?;
        writeln!(w, "vol_rootvol\t{}", hd.vol_rootvol.get()).map_err(io)?;
        writeln!(w, "vol_buf\t\t{:#x}..{:#x}", hd.vol_buf_beg.get(), hd.vol_buf_end.get()).map_err(io)?;
        writeln!(w, "vol_crc\t\t{:08x} ({}; advisory, DragonFly never checks it)", hd.vol_crc.get(), crc_name(vol_crc_match(v, fs.version)))
            .map_err(io)?;
        if no == 0 {
            writeln!(w, "vol0_stat_bigblocks\t{}", hd.vol0_stat_bigblocks.get()).map_err(io)?;
            writeln!(w, "vol0_stat_freebigblocks\t{}", hd.vol0_stat_freebigblocks.get()).map_err(io)?;
            writeln!(w, "vol0_stat_inodes\t{}", hd.vol0_stat_inodes.get()).map_err(io)?;
            writeln!(w, "vol0_btree_root\t{:016x}", hd.vol0_btree_root.get()).map_err(io)?;
            let bad: Vec<String> = hd
                .vol0_blockmap
                .iter()
                .enumerate()
                .filter(|(z, _)| blockmap_crc_match(v, *z, fs.version).is_none())
                .map(|(z, _)| z.to_string())
                .collect();
            writeln!(w, "blockmap entry_crc mismatch (advisory) in zones: {}", if bad.is_empty() { "none".into() } else { bad.join(",") })
                .map_err(io)?;
        }
        if a.all {
            writeln!(w, "fields of {}:", VolumeOndisk::NAME).map_err(io)?;
            for f in VolumeOndisk::FIELDS {
                let Some(b) = v.raw.get(f.offset..f.offset + f.size) else { continue };
                let t = if f.size <= 8 {
                    let mut x = [0u8; 8];
                    x[..f.size].copy_from_slice(b);
                    format!("{:#x}", u64::from_le_bytes(x))
                } else {
                    format!("{} bytes", f.size)
                };
                writeln!(w, "  @{:<4} {:<26} {}", f.offset, f.name, t).map_err(io)?;
            }
        }
        writeln!(w).map_err(io)?;
    }
    Ok(EXIT_OK)
}

/// `hammer show`-style fill: zone, volume, layer1 and layer2 indexes, offset, percent used.
fn fill_text(fs: &Fs, off: u64) -> String {
    let pct = match fs.layer2(off) {
        Ok((_, _, l2)) => format!("{}%", 100 - (i64::from(l2.bytes_free.get()) * 100 / h::BIGBLOCK_SIZE as i64)),
        Err(_) => "?".into(),
    };
    format!(
        "z{}:v{}:{}:{}:{}={}",
        zone_of(off),
        vol_of(off),
        (off & h::OFF_SHORT_MASK) >> 42,
        layer2_index(off),
        off & h::BIGBLOCK_MASK,
        pct
    )
}

struct ShowPrinter<'f, 'a, 'o> {
    fs: &'f Fs<'a>,
    out: &'o mut Out,
    json: bool,
    err: Option<std::io::Error>,
    bad_nodes: u64,
    bad_elms: u64,
}

impl ShowPrinter<'_, '_, '_> {
    fn put(&mut self, r: std::io::Result<()>) {
        if self.err.is_none() {
            if let Err(e) = r {
                self.err = Some(e);
            }
        }
    }
}

/// Reads a leaf's data when it has a sensible length.
pub fn leaf_data<'a>(fs: &Fs<'a>, leaf: &h::LeafElm) -> Option<std::result::Result<Cow<'a, [u8]>, fs::AddrError>> {
    let len = leaf.data_len.get();
    if leaf.data_offset.get() == 0 || len <= 0 || len as usize > records::MAX_DATA_LEN {
        return None;
    }
    Some(fs.read(leaf.data_offset.get(), len as usize))
}

/// The JSON record of one leaf element (the DESIGN.md contract) plus decoded data.
pub fn leaf_record(fs: &Fs, node: u64, idx: usize, leaf: &h::LeafElm) -> Record<'static> {
    let b = &leaf.base;
    let mut r = Record::new();
    r.push("type", "record")
        .push("localization", b.localization.get())
        .push("obj_id", b.obj_id.get())
        .push("rec_type", b.rec_type.get())
        .push("key", b.key.get())
        .push("create_tid", b.create_tid.get())
        .push("delete_tid", b.delete_tid.get())
        .push("data_offset", leaf.data_offset.get())
        .push("data_len", leaf.data_len.get())
        .push("pfs", b.localization.get() >> 16)
        .push("node", node)
        .push("elm", idx as u64)
        .push("rec_type_name", h::rectype_name(b.rec_type.get()))
        .push("obj_type", b.obj_type)
        .push("create_ts", leaf.create_ts.get())
        .push("delete_ts", leaf.delete_ts.get())
        .push("data_crc", leaf.data_crc.get());
    match leaf_data(fs, leaf) {
        Some(Ok(d)) => {
            r.push("data_crc_match", crc_name(records::data_crc(fs.version, leaf, &d)));
            if let Some((name, rec, _)) = records::decode(leaf, &d) {
                r.push(name, rec);
            }
        }
        Some(Err(e)) => {
            r.push("data_error", e.to_string());
        }
        None => {}
    }
    r
}

impl Visitor for ShowPrinter<'_, '_, '_> {
    fn node(&mut self, n: &NodeVisit) {
        let f = n.flags;
        if f.bad_crc || f.mirror || f.count || f.bad_type {
            self.bad_nodes += 1;
        }
        if self.json {
            let mut r = Record::new();
            r.push("type", "node")
                .push("offset", n.off)
                .push("parent", n.hdr.parent.get())
                .push("count", n.hdr.count.get())
                .push("node_type", format!("{}", n.hdr.type_ as char))
                .push("depth", n.depth)
                .push("mirror_tid", n.hdr.mirror_tid.get())
                .push("crc", n.hdr.crc.get())
                .push("crc_match", crc_name(n.crc));
            let res = self.out.json(&r);
            return self.put(res);
        }
        let c = |b: bool, ch: char| if b { ch } else { ' ' };
        let line = format!(
            "{}{}{}{} NODE {:016x} cnt={:02} p={:016x} type={} depth={} mirror={:016x} fill={} {{",
            c(f.bad_crc, 'B'),
            c(f.mirror, 'M'),
            c(f.count, 'C'),
            c(f.bad_type, 'U'),
            n.off,
            n.hdr.count.get(),
            n.hdr.parent.get(),
            if n.hdr.type_.is_ascii_graphic() { n.hdr.type_ as char } else { '?' },
            n.depth,
            n.hdr.mirror_tid.get(),
            fill_text(self.fs, n.off)
        );
        let res = writeln!(self.out.w(), "{line}");
        self.put(res);
    }

    fn elm(&mut self, n: &NodeVisit, e: &ElmVisit) {
        if e.flags().any() {
            self.bad_elms += 1;
        }
        if self.json {
            if let ElmVisit::Leaf { idx, elm, .. } = e {
                let r = leaf_record(self.fs, n.off, *idx, elm);
                let res = self.out.json(&r);
                self.put(res);
            }
            return;
        }
        let b = e.base();
        let (label, idx) = match e {
            ElmVisit::Internal { idx, rbn: true, .. } => ("RBN", *idx),
            ElmVisit::Internal { idx, .. } | ElmVisit::Leaf { idx, .. } => ("ELM", *idx),
        };
        let mark = if btree::is_left_boundary(b) {
            '>'
        } else if btree::is_right_boundary(b) {
            '<'
        } else if b.delete_tid.get() != 0 {
            'd'
        } else {
            ' '
        };
        let mut s = format!(
            "{} {} {:2} {} lo={:08x} objid={:016x} rt={:02x} key={:016x} tid={:016x}\n               {} del={:016x} ot={:02x} ",
            e.flags().text(),
            label,
            idx,
            if b.btype == 0 { '*' } else if b.btype.is_ascii_graphic() { b.btype as char } else { '?' },
            b.localization.get(),
            b.obj_id.get() as u64,
            b.rec_type.get(),
            b.key.get() as u64,
            b.create_tid.get(),
            mark,
            b.delete_tid.get(),
            b.obj_type
        );
        match e {
            ElmVisit::Internal { elm, .. } => {
                s.push_str(&format!("suboff={:016x} mirror={:016x}", elm.subtree_offset.get(), elm.mirror_tid.get()));
            }
            ElmVisit::Leaf { elm, .. } => {
                s.push_str(&format!("dataoff={:016x}/{}", elm.data_offset.get(), elm.data_len.get()));
                match leaf_data(self.fs, elm) {
                    Some(Ok(d)) => {
                        let crc = elm.data_crc.get();
                        s.push_str(&match records::data_crc(self.fs.version, elm, &d) {
                            Some(CrcAlg::Crc32c) => format!(" icrc={crc:08x}"),
                            Some(CrcAlg::Crc32) => format!(" ocrc={crc:08x}"),
                            None => format!(" crc={crc:08x} error=BX"),
                        });
                        s.push_str(&format!(" fill={}", fill_text(self.fs, elm.data_offset.get())));
                        if let Some((_, _, lines)) = records::decode(elm, &d) {
                            for l in lines {
                                s.push_str("\n                 ");
                                s.push_str(&l);
                            }
                        }
                    }
                    Some(Err(err)) => s.push_str(&format!(" error: {err}")),
                    None => {}
                }
            }
        }
        let res = writeln!(self.out.w(), "{s}");
        self.put(res);
    }

    fn node_end(&mut self, _n: &NodeVisit) {
        if !self.json {
            let res = writeln!(self.out.w(), "     }}");
            self.put(res);
        }
    }

    fn bad_link(&mut self, from: u64, idx: usize, target: u64, why: btree::LinkError) {
        if self.json {
            let mut r = Record::new();
            r.push("type", "bad_link").push("node", from).push("elm", idx as u64).push("target", target).push("error", why.to_string());
            let res = self.out.json(&r);
            return self.put(res);
        }
        let res = writeln!(self.out.w(), "     BAD NODE {target:016x} (from {from:016x} elm {idx}): {why}");
        self.put(res);
    }
}

/// `ondisk dump`: the B-Tree (`hammer show`), or `--blockmap`, or `--undo`.
pub fn dump(set: &DeviceSet, a: &DumpArgs, out: &mut Out) -> Result<i32> {
    quiet(dump_inner(set, a, out))
}

fn dump_inner(set: &DeviceSet, a: &DumpArgs, out: &mut Out) -> Result<i32> {
    let fs = Fs::open(set)?;
    for p in &fs.problems {
        eprintln!("ondisk: {}", p.message);
    }
    let ar = undo::active_range(&fs);
    if !ar.records.is_empty() {
        eprintln!(
            "ondisk: the UNDO FIFO has {} record(s) to replay (a crash left it dirty); dump shows the image as it is, `check` replays them",
            ar.records.len()
        );
    }
    if !a.common.json {
        print_blockmap_header(&fs, out.w()).map_err(io)?;
    }
    if a.blockmap {
        return dump_blockmap(&fs, a.common.json, out);
    }
    if a.undo {
        return dump_undo(&fs, a.common.json, out);
    }
    let mut p = ShowPrinter { fs: &fs, out, json: a.common.json, err: None, bad_nodes: 0, bad_elms: 0 };
    match a.block {
        // `--block OFFSET [--follow]`: one node (zone-8 offset), or the subtree under it.
        Some(off) => btree::walk_from(&fs, off, a.follow, &mut p),
        None => btree::walk(&fs, &mut p),
    }
    if let Some(e) = p.err {
        return Err(io(e));
    }
    let (bn, be) = (p.bad_nodes, p.bad_elms);
    if !a.common.json && (bn > 0 || be > 0) {
        writeln!(out.w(), "{bn} bad nodes\n{be} bad elms").map_err(io)?;
    }
    Ok(EXIT_OK)
}

/// Volumes' layer1 index ranges: the entries a volume's space can use.
pub fn layer1_range(v: &fs::Volume, no: u32) -> std::ops::Range<u64> {
    let first = u64::from(no) * h::LAYER1_PER_VOLUME;
    let n = v.buf_size().div_ceil(h::BLOCKMAP_LAYER2).clamp(1, h::LAYER1_PER_VOLUME);
    first..first + n
}

fn dump_blockmap(fs: &Fs, json: bool, out: &mut Out) -> Result<i32> {
    let base = fs.root.vol0_blockmap[h::ZONE_FREEMAP as usize].phys_offset.get();
    for (&no, v) in &fs.vols {
        for i in layer1_range(v, no) {
            let l1_addr = base.wrapping_add(i * h::LAYER1_SIZE);
            let Ok(b) = fs.read(l1_addr, h::LAYER1_SIZE as usize) else {
                writeln!(out.w(), "  layer1 #{i} at {l1_addr:016x}: unreadable").map_err(io)?;
                continue;
            };
            let Ok(l1) = Layer1::read_from_bytes(&b) else { continue };
            let l1_crc = crc::matches(fs.version, l1.layer1_crc.get(), |a| a.crc(&b[..h::freemap::LAYER1_CRCSIZE]));
            if l1.phys_offset.get() == h::BLOCKMAP_UNAVAIL && l1_crc.is_some() {
                continue;
            }
            let zone4 = (4u64 << 60) | (i << 42);
            if json {
                let mut r = Record::new();
                r.push("type", "layer1")
                    .push("index", i)
                    .push("offset", zone4)
                    .push("entry_offset", l1_addr)
                    .push("phys_offset", l1.phys_offset.get())
                    .push("blocks_free", l1.blocks_free.get())
                    .push("layer1_crc", l1.layer1_crc.get())
                    .push("crc_match", crc_name(l1_crc));
                out.json(&r).map_err(io)?;
            } else {
                writeln!(
                    out.w(),
                    "{} layer1 {zone4:016x} @{:016x} blocks-free {}",
                    if l1_crc.is_some() { ' ' } else { 'B' },
                    l1.phys_offset.get(),
                    l1.blocks_free.get()
                )
                .map_err(io)?;
            }
            if l1.phys_offset.get() == h::BLOCKMAP_UNAVAIL {
                continue;
            }
            for j in 0..h::BLOCKMAP_RADIX2 {
                let l2_addr = l1.phys_offset.get().wrapping_add(j * h::LAYER2_SIZE);
                let Ok(b2) = fs.read(l2_addr, h::LAYER2_SIZE as usize) else {
                    writeln!(out.w(), "        layer2 at {l2_addr:016x}: unreadable").map_err(io)?;
                    break;
                };
                let Ok(l2) = Layer2::read_from_bytes(&b2) else { break };
                if l2.zone == h::ZONE_UNAVAIL {
                    break;
                }
                let crc2 = crc::matches(fs.version, l2.entry_crc.get(), |a| a.crc(&b2[..h::freemap::LAYER2_CRCSIZE]));
                let addr = zone4 | (j << 23);
                if json {
                    let mut r = Record::new();
                    r.push("type", "layer2")
                        .push("offset", addr)
                        .push("entry_offset", l2_addr)
                        .push("zone", l2.zone)
                        .push("append_off", l2.append_off.get())
                        .push("bytes_free", l2.bytes_free.get())
                        .push("entry_crc", l2.entry_crc.get())
                        .push("crc_match", crc_name(crc2));
                    out.json(&r).map_err(io)?;
                } else {
                    let app = l2.append_off.get();
                    let free = l2.bytes_free.get();
                    writeln!(
                        out.w(),
                        "     {}{}{}{addr:016x} zone={:<2} app={:<7} free={:<7}",
                        if crc2.is_some() { ' ' } else { 'B' },
                        if u64::from(app) > h::BIGBLOCK_SIZE { 'A' } else { ' ' },
                        if free < 0 || free as u64 > h::BIGBLOCK_SIZE { 'F' } else { ' ' },
                        l2.zone,
                        app,
                        free
                    )
                    .map_err(io)?;
                }
            }
        }
    }
    Ok(EXIT_OK)
}

fn dump_undo(fs: &Fs, json: bool, out: &mut Out) -> Result<i32> {
    let bm = &fs.root.vol0_blockmap[h::ZONE_UNDO as usize];
    let first = bm.first_offset.get() & h::OFF_SHORT_MASK;
    let next = bm.next_offset.get() & h::OFF_SHORT_MASK;
    let mut err = None;
    undo::scan(fs, |r| {
        let res = match r {
            Ok(r) => {
                let typ = r.head.hdr_type.get();
                if json {
                    let mut j = Record::new();
                    j.push("type", "fifo")
                        .push("offset", undo::zone3(r.pos))
                        .push("hdr_type", typ)
                        .push("hdr_type_name", h::head_type_name(typ))
                        .push("hdr_size", r.head.hdr_size.get())
                        .push("hdr_seq", r.head.hdr_seq.get())
                        .push("hdr_crc", r.head.hdr_crc.get())
                        .push("crc_match", if r.crc_bad { "mismatch" } else { r.crc.map_or("none", |a| a.name()) });
                    if let Some(p) = &r.problem {
                        j.push("problem", p.clone());
                    }
                    if let Some(u) = &r.undo {
                        j.push("undo_offset", u.undo_offset.get()).push("undo_data_bytes", u.undo_data_bytes.get());
                    }
                    if let Some(d) = &r.redo {
                        j.push("redo_objid", d.redo_objid.get())
                            .push("redo_offset", d.redo_offset.get())
                            .push("redo_data_bytes", d.redo_data_bytes.get())
                            .push("redo_flags", d.redo_flags.get())
                            .push("redo_localization", d.redo_localization.get());
                    }
                    if r.pos == first {
                        j.push("first", true);
                    }
                    if r.pos == next {
                        j.push("next", true);
                    }
                    out.json(&j)
                } else {
                    let mut s = format!("{:016x} ", undo::zone3(r.pos));
                    if let Some(p) = &r.problem {
                        s.push_str(&format!("BAD({}) {p}", r.head.hdr_size.get()));
                    } else {
                        s.push_str(&format!("{}({})\tseq={:08x}", h::head_type_name(typ), r.head.hdr_size.get(), r.head.hdr_seq.get()));
                        if let Some(u) = &r.undo {
                            s.push_str(&format!(" zone_off={:016x} bytes={}", u.undo_offset.get(), u.undo_data_bytes.get()));
                        }
                        if let Some(d) = &r.redo {
                            s.push_str(&format!(
                                " objid={:016x} lo={:08x} offset={:016x} bytes={} flags={:08x}",
                                d.redo_objid.get() as u64,
                                d.redo_localization.get(),
                                d.redo_offset.get(),
                                d.redo_data_bytes.get(),
                                d.redo_flags.get()
                            ));
                        }
                        if r.crc_bad {
                            s.push_str(" crc=BAD");
                        }
                    }
                    if r.pos == first {
                        s.push_str(" >");
                    }
                    if r.pos == next {
                        s.push_str(" <");
                    }
                    writeln!(out.w(), "{s}")
                }
            }
            Err((pos, e)) => writeln!(out.w(), "{:016x} unreadable: {e}", undo::zone3(pos)),
        };
        match res {
            Ok(()) => true,
            Err(e) => {
                err = Some(e);
                false
            }
        }
    });
    match err {
        Some(e) => Err(io(e)),
        None => Ok(EXIT_OK),
    }
}

/// `ondisk map ADDR`: what a zone-encoded offset means and where its bytes are.
pub fn map(set: &DeviceSet, addr: u64, json: bool, out: &mut Out) -> Result<i32> {
    quiet(map_inner(set, addr, json, out))
}

fn map_inner(set: &DeviceSet, addr: u64, json: bool, out: &mut Out) -> Result<i32> {
    let fs = Fs::open(set)?;
    let zone = zone_of(addr);
    let mut r = Record::new();
    r.push("type", "map")
        .push("offset", addr)
        .push("zone", zone)
        .push("zone_name", h::zone_name(zone))
        .push("volume", vol_of(addr))
        .push("short_offset", addr & h::OFF_SHORT_MASK);
    if zone == h::ZONE_UNDO {
        r.push("undo_index", (addr & h::OFF_SHORT_MASK) >> 23);
    }
    if zone != h::ZONE_RAW_VOLUME {
        match fs.to_zone2(addr) {
            Ok(z2) => {
                r.push("zone2", z2).push("bigblock", bigblock_of(z2)).push("layer1_index", layer1_index(z2)).push("layer2_index", layer2_index(z2));
                match fs.layer1(z2) {
                    Ok((a1, l1)) => {
                        let mut e = Record::new();
                        e.push("entry_offset", a1).push("blocks_free", l1.blocks_free.get()).push("phys_offset", l1.phys_offset.get());
                        r.push("layer1", e);
                    }
                    Err(e) => {
                        r.push("layer1_error", e.to_string());
                    }
                }
                match fs.layer2(z2) {
                    Ok((a2, _, l2)) => {
                        let mut e = Record::new();
                        e.push("entry_offset", a2)
                            .push("zone", l2.zone)
                            .push("append_off", l2.append_off.get())
                            .push("bytes_free", l2.bytes_free.get());
                        r.push("layer2", e);
                    }
                    Err(e) => {
                        r.push("layer2_error", e.to_string());
                    }
                }
            }
            Err(e) => {
                r.push("error", e.to_string());
            }
        }
    }
    match fs.to_phys(addr, 0) {
        Ok((vol, phys)) => {
            let path = fs.vols.get(&vol).map(|v| set.members[v.member].path().display().to_string()).unwrap_or_default();
            r.push("device", path).push("physical", phys);
        }
        Err(e) => {
            if r.get("error").is_none() {
                r.push("error", e.to_string());
            }
        }
    }
    if json {
        out.json(&r).map_err(io)?;
    } else {
        let w = out.w();
        for (k, v) in &r.fields {
            if *k == "type" {
                continue;
            }
            let t = match v {
                Value::U64(n) if *k == "zone" || k.ends_with("index") || *k == "volume" => n.to_string(),
                Value::U64(n) if *k == "physical" => format!("{n:#x} ({n})"),
                Value::U64(n) => format!("{n:016x}"),
                Value::Record(rec) => rec
                    .fields
                    .iter()
                    .map(|(k2, v2)| match v2 {
                        Value::U64(n) if k2.ends_with("offset") => format!("{k2}={n:016x}"),
                        other => format!("{k2}={}", serde_json::to_string(other).unwrap_or_default()),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                Value::Str(s) => s.to_string(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            writeln!(w, "{k:<14} {t}").map_err(io)?;
        }
    }
    Ok(EXIT_OK)
}
