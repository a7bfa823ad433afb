//! `ondisk stats`: a metadata-space view for post-mortems — tree blocks per tree, per level and
//! per generation, and block-group usage by type and profile: what you want when a filesystem
//! hit ENOSPC with space free. It rides the check's one walk (a [`Family`] that only counts).

use super::check::walker::{walk_with_read_ahead, Cx, Family, TreeRoot};
use super::fs::{Block, Filesystem};
use super::names::objectid_text;
use crate::cli::output::Out;
use crate::findings::Report;
use crate::record::Record;
use ondisk_layouts::btrfs::items::BlockGroupItem;
use ondisk_layouts::btrfs::*;
use std::collections::BTreeMap;
use std::io::{self, Write};
use zerocopy::FromBytes;

/// Tree blocks counted per (tree, level), and per generation.
#[derive(Default)]
struct Counts {
    per_tree_level: BTreeMap<(u64, u8), u64>,
    per_generation: BTreeMap<u64, u64>,
    /// (logical, length, used, flags) of every block group.
    block_groups: Vec<(u64, u64, u64, u64)>,
    /// (devid, total_bytes, bytes_used) of every DEV_ITEM.
    devices: Vec<(u64, u64, u64)>,
}

impl Family for Counts {
    fn block(&mut self, _cx: &Cx, root: &TreeRoot, b: &Block) {
        *self.per_tree_level.entry((root.tree, b.node.level())).or_default() += 1;
        *self.per_generation.entry(b.node.header().generation.get()).or_default() += 1;
    }

    fn item(&mut self, _cx: &Cx, _root: &TreeRoot, _b: &Block, _slot: usize, key: &DiskKey, data: &[u8], first: bool) {
        if !first {
            return;
        }
        match key.type_ {
            BLOCK_GROUP_ITEM_KEY => {
                if let Ok((bg, _)) = BlockGroupItem::ref_from_prefix(data) {
                    self.block_groups.push((key.objectid.get(), key.offset.get(), bg.used.get(), bg.flags.get()));
                }
            }
            DEV_ITEM_KEY => {
                if let Ok((d, _)) = DevItem::ref_from_prefix(data) {
                    self.devices.push((d.devid.get(), d.total_bytes.get(), d.bytes_used.get()));
                }
            }
            _ => {}
        }
    }
}

/// "DATA", "METADATA|DUP", ...: the block group type and profile.
fn bg_type(flags: u64) -> String {
    let t = match flags & BLOCK_GROUP_TYPE_MASK {
        BLOCK_GROUP_DATA => "DATA",
        BLOCK_GROUP_METADATA => "METADATA",
        BLOCK_GROUP_SYSTEM => "SYSTEM",
        x if x == BLOCK_GROUP_DATA | BLOCK_GROUP_METADATA => "DATA+METADATA",
        _ => "UNKNOWN",
    };
    let p = match flags & BLOCK_GROUP_PROFILE_MASK {
        0 => "single",
        BLOCK_GROUP_RAID0 => "RAID0",
        BLOCK_GROUP_RAID1 => "RAID1",
        BLOCK_GROUP_DUP => "DUP",
        BLOCK_GROUP_RAID10 => "RAID10",
        BLOCK_GROUP_RAID5 => "RAID5",
        BLOCK_GROUP_RAID6 => "RAID6",
        BLOCK_GROUP_RAID1C3 => "RAID1C3",
        BLOCK_GROUP_RAID1C4 => "RAID1C4",
        _ => "mixed-profile",
    };
    format!("{t}|{p}")
}

/// Walks the filesystem and prints the statistics.
pub fn run(fs: &Filesystem, json: bool, out: &mut Out) -> io::Result<()> {
    let mut c = Counts::default();
    // The walk's structural findings are check's business; stats only counts.
    let mut ignored = Report::new();
    walk_with_read_ahead(fs, false, vec![vec![&mut c]], &mut ignored);
    let nodesize = u64::from(fs.nodesize);
    let mut per_tree: BTreeMap<u64, (u64, BTreeMap<u8, u64>)> = BTreeMap::new();
    for (&(tree, level), &n) in &c.per_tree_level {
        let e = per_tree.entry(tree).or_default();
        e.0 += n;
        e.1.insert(level, n);
    }
    let mut by_type: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for &(_, len, used, flags) in &c.block_groups {
        let e = by_type.entry(bg_type(flags)).or_default();
        e.0 += 1;
        e.1 += len;
        e.2 += used;
    }
    if json {
        for (tree, (n, levels)) in &per_tree {
            let mut lv = Record::new();
            let names = ["0", "1", "2", "3", "4", "5", "6", "7"];
            for (l, k) in levels {
                lv.push(names[usize::from(*l).min(7)], *k);
            }
            let mut r = Record::new();
            r.push("type", "tree").push("tree", *tree).push("name", objectid_text(*tree, 0).to_string()).push("blocks", *n).push("bytes", n * nodesize).push("levels", lv);
            out.json(&r)?;
        }
        for (g, n) in &c.per_generation {
            let mut r = Record::new();
            r.push("type", "generation").push("generation", *g).push("blocks", *n);
            out.json(&r)?;
        }
        for &(start, len, used, flags) in &c.block_groups {
            let mut r = Record::new();
            r.push("type", "block_group").push("logical", start).push("length", len).push("used", used).push("flags", flags).push("flags_text", bg_type(flags));
            out.json(&r)?;
        }
        for (t, (n, len, used)) in &by_type {
            let mut r = Record::new();
            r.push("type", "space").push("flags_text", t.clone()).push("block_groups", *n).push("total", *len).push("used", *used);
            out.json(&r)?;
        }
        for &(devid, total, used) in &c.devices {
            let mut r = Record::new();
            r.push("type", "device").push("devid", devid).push("total_bytes", total).push("bytes_used", used).push("unallocated", total.saturating_sub(used));
            out.json(&r)?;
        }
        return Ok(());
    }
    let w = out.w();
    writeln!(w, "tree blocks ({nodesize} bytes each):")?;
    writeln!(w, "  {:<22} {:>10} {:>14}  per level (0 = leaves)", "tree", "blocks", "bytes")?;
    for (tree, (n, levels)) in &per_tree {
        let lv: Vec<String> = levels.iter().map(|(l, k)| format!("{l}:{k}")).collect();
        writeln!(w, "  {:<22} {:>10} {:>14}  {}", objectid_text(*tree, 0).to_string(), n, n * nodesize, lv.join(" "))?;
    }
    let total: u64 = per_tree.values().map(|v| v.0).sum();
    writeln!(w, "  {:<22} {:>10} {:>14}", "total", total, total * nodesize)?;
    writeln!(w, "tree blocks by generation (newest 10):")?;
    for (g, n) in c.per_generation.iter().rev().take(10) {
        writeln!(w, "  generation {g:<12} {n:>10}")?;
    }
    writeln!(w, "block groups:")?;
    writeln!(w, "  {:<22} {:>6} {:>16} {:>16} {:>7}", "type", "count", "total", "used", "used%")?;
    for (t, (n, len, used)) in &by_type {
        let pct = if *len > 0 { *used as f64 * 100.0 / *len as f64 } else { 0.0 };
        writeln!(w, "  {t:<22} {n:>6} {len:>16} {used:>16} {pct:>6.1}%")?;
    }
    writeln!(w, "devices:")?;
    for &(devid, total, used) in &c.devices {
        writeln!(w, "  devid {devid:<4} total {total:>16} allocated {used:>16} unallocated {:>16}", total.saturating_sub(used))?;
    }
    Ok(())
}
