//! Devices family: chunk stripes ↔ dev extents, dev extents vs their device (overlap, past the
//! end, bytes_used), device items vs the superblock (num_devices, each device's own dev_item),
//! and chunk stripes naming a devid with no device item (a dangling device pointer: btrfs
//! check 6.2 prints it and exits 0; it is an error here, since nothing can read that stripe).

use super::key_value;
use super::zoned;
use super::walker::{Cx, Family, TreeRoot};
use crate::btrfs::fs::{metadata_uuid_of, Block};
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::superblock::DevItem;
use ondisk_layouts::btrfs::volumes::DevExtent;
use ondisk_layouts::btrfs::*;
use zerocopy::FromBytes;
use std::collections::BTreeMap;

crate::declare_kinds! {
    DEV_EXTENT_MISSING = "btrfs.dev_extent_missing", Error,
        "a chunk stripe has no dev extent at its devid and physical offset";
    DEV_EXTENT_MISMATCH = "btrfs.dev_extent_mismatch", Error,
        "a dev extent's length or chunk_offset differs from the chunk stripe at its place, or it names a chunk tree/objectid other than 3/256";
    DEV_EXTENT_ORPHAN = "btrfs.dev_extent_orphan", Error,
        "a dev extent belongs to no chunk stripe";
    DEV_EXTENT_OVERLAP = "btrfs.dev_extent_overlap", Error,
        "two dev extents on one device overlap";
    DEV_EXTENT_PAST_END = "btrfs.dev_extent_past_end", Error,
        "a dev extent runs past its device's total_bytes";
    DEV_BYTES_USED = "btrfs.dev_bytes_used", Error,
        "a device item's bytes_used is not the sum of its dev extents";
    DANGLING_DEVID = "btrfs.dangling_devid", Error,
        "a chunk stripe or dev extent names a devid with no device item (btrfs check 6.2 exits 0 on it)";
    STRIPE_DEV_UUID = "btrfs.stripe_dev_uuid", Error,
        "a chunk stripe's dev_uuid is not the uuid of the device item with its devid: the kernel takes that device as missing (btrfs check: \"device is missing\")";
    DEV_ITEM_KEY_BAD = "btrfs.dev_item_key", Error,
        "a device item keyed under an objectid other than DEV_ITEMS (1), or whose key offset is not the devid it holds: the kernel's tree-checker refuses the leaf";
    SEED_GENERATION = "btrfs.seed_generation", Error,
        "a seed device's superblock generation is not the one the sprout's device item recorded for it: the kernel refuses to mount (a seed changed or replaced since the sprout grew)";
    DEV_ITEM_FSID = "btrfs.dev_item_fsid", Error,
        "a device item's fsid is neither the filesystem's nor that of a seed given beside it: the device of a seed filesystem that was not given, which the kernel cannot mount without";
    SUPER_NUM_DEVICES = "btrfs.super_num_devices", Error,
        "super num devices mismatch: the superblock's num_devices is not the number of device items";
    SUPER_DEV_ITEM = "btrfs.super_dev_item", Error,
        "a device's superblock dev_item disagrees with its device item in the chunk tree (uuid: error; sizes: warning), or names another filesystem (fsid)";
    SUPER_TOTAL_BYTES = "btrfs.super_total_bytes", Error,
        "the superblock's total_bytes is below the sum of its devices' sizes (the kernel refuses to mount; btrfs rescue fix-device-size mends it)";
}

/// A device replace's target carries devid 0 until the replace finishes; the kernel leaves it
/// out of the filesystem's size.
const REPLACE_TARGET_DEVID: u64 = 0;

#[derive(Debug, Clone, Copy)]
struct DevRec {
    total_bytes: u64,
    bytes_used: u64,
    uuid: [u8; 16],
    fsid: [u8; 16],
    /// For a seed filesystem's device: its superblock generation when the sprout grew from it.
    generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct DevExt {
    devid: u64,
    physical: u64,
    length: u64,
    chunk_offset: u64,
    /// chunk_tree == 3 and chunk_objectid == 256.
    owner_ok: bool,
}

/// The devices family's state.
#[derive(Default)]
pub struct Devices {
    devs: BTreeMap<u64, DevRec>,
    /// Device items seen (duplicates count: num_devices is compared with this).
    dev_items: u64,
    exts: Vec<DevExt>,
    /// DEV_ITEM keys the tree-checker refuses: under another objectid than DEV_ITEMS_OBJECTID
    /// (None), or keyed as another devid than the item holds (Some(the devid held)).
    bad_keys: Vec<(DiskKey, Option<u64>)>,
}

impl Devices {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Family for Devices {
    fn item(&mut self, _cx: &Cx, root: &TreeRoot, _b: &Block, _slot: usize, key: &DiskKey, data: &[u8], first_visit: bool) {
        if !first_visit {
            return;
        }
        match (root.tree, key.type_) {
            (CHUNK_TREE_OBJECTID, DEV_ITEM_KEY) => {
                // The tree-checker refuses a device item under any other objectid; it is still
                // the device's item for every other check, so the one fault is reported once.
                if key.objectid.get() != DEV_ITEMS_OBJECTID {
                    self.bad_keys.push((*key, None));
                }
                self.dev_items += 1;
                if let Ok((d, _)) = DevItem::ref_from_prefix(data) {
                    // The tree-checker's "devid mismatch". The key decides for every other
                    // check here, so the one fault is one finding (btrfs check 6.2 takes the
                    // devid the item holds, and then misses the keyed device).
                    if d.devid.get() != key.offset.get() {
                        self.bad_keys.push((*key, Some(d.devid.get())));
                    }
                    let rec = DevRec {
                        total_bytes: d.total_bytes.get(),
                        bytes_used: d.bytes_used.get(),
                        uuid: d.uuid,
                        fsid: d.fsid,
                        generation: d.generation.get(),
                    };
                    self.devs.entry(key.offset.get()).or_insert(rec);
                }
            }
            (DEV_TREE_OBJECTID, DEV_EXTENT_KEY) => {
                if let Ok((d, _)) = DevExtent::ref_from_prefix(data) {
                    // Every dev extent belongs to the chunk tree's chunk objectid 256.
                    let owner_ok = d.chunk_tree.get() == CHUNK_TREE_OBJECTID && d.chunk_objectid.get() == FIRST_CHUNK_TREE_OBJECTID;
                    let (length, chunk_offset) = (d.length.get(), d.chunk_offset.get());
                    self.exts.push(DevExt { devid: key.objectid.get(), physical: key.offset.get(), length, chunk_offset, owner_ok });
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, cx: &Cx, report: &mut Report) {
        for (k, held) in &self.bad_keys {
            let msg = match held {
                None => format!(
                    "device item of devid {} under objectid {}, not {DEV_ITEMS_OBJECTID}: the kernel's tree-checker refuses the leaf",
                    k.offset.get(),
                    k.objectid.get()
                ),
                Some(devid) => format!(
                    "device item keyed as devid {} holds devid {devid}: the kernel's tree-checker refuses the leaf (\"devid mismatch\")",
                    k.offset.get()
                ),
            };
            let mut f = Finding::new(&DEV_ITEM_KEY_BAD, msg)
                .at("tree", CHUNK_TREE_OBJECTID)
                .at("key", key_value(k.objectid.get(), DEV_ITEM_KEY, k.offset.get()));
            if let Some(devid) = held {
                f = f.ctx("expected", k.offset.get()).ctx("found", *devid);
            }
            report.push(f);
        }
        let mut exts = std::mem::take(&mut self.exts);
        exts.sort_unstable_by_key(|e| (e.devid, e.physical));
        let ext_key = |e: &DevExt| key_value(e.devid, DEV_EXTENT_KEY, e.physical);
        let mut matched = vec![false; exts.len()];
        let mut dangling = std::collections::BTreeSet::new();
        for c in cx.fs.chunks.chunks() {
            let size = c.stripe_size();
            for (i, s) in c.stripes.iter().enumerate() {
                match self.devs.get(&s.devid) {
                    None => {
                        if dangling.insert(s.devid) {
                            report.push(Finding::new(&DANGLING_DEVID, format!("chunk [{} {}] stripe {i} names devid {} which has no device item", c.logical, c.length, s.devid))
                                .at("logical", c.logical)
                                .at("devid", s.devid));
                        }
                    }
                    // The kernel finds a stripe's device by devid and uuid together
                    // (read_one_chunk): another uuid is a device it takes as missing.
                    Some(d) if d.uuid != s.dev_uuid => {
                        report.push(Finding::new(&STRIPE_DEV_UUID, format!(
                            "chunk [{} {}] stripe {i} names devid {} with dev_uuid {}, the device's uuid is {}",
                            c.logical, c.length, s.devid, crate::detect::uuid_text(&s.dev_uuid), crate::detect::uuid_text(&d.uuid)))
                            .at("logical", c.logical)
                            .at("devid", s.devid));
                    }
                    Some(_) => {}
                }
                match exts.binary_search_by_key(&(s.devid, s.offset), |e| (e.devid, e.physical)) {
                    Ok(n) => {
                        matched[n] = true;
                        let e = &exts[n];
                        if e.length != size || e.chunk_offset != c.logical || !e.owner_ok {
                            report.push(Finding::new(&DEV_EXTENT_MISMATCH, format!(
                                "dev extent [{} {}] has length {} chunk_offset {}{}, chunk [{} {}] stripe {i} expects {size} and {}",
                                e.devid, e.physical, e.length, e.chunk_offset,
                                if e.owner_ok { "" } else { " and a chunk_tree/chunk_objectid other than 3/256" },
                                c.logical, c.length, c.logical))
                                .at("devid", e.devid).at("physical", e.physical).at("tree", DEV_TREE_OBJECTID).at("key", ext_key(e))
                                .ctx("logical", c.logical).ctx("expected", size).ctx("found", e.length));
                        }
                    }
                    Err(_) => report.push(Finding::new(&DEV_EXTENT_MISSING, format!("chunk [{} {}] stripe {i} on devid {} at {} has no dev extent", c.logical, c.length, s.devid, s.offset))
                        .at("logical", c.logical)
                        .at("devid", s.devid)
                        .at("physical", s.offset)),
                }
            }
        }
        let layout = exts.iter().map(|e| (e.devid, e.physical, e.length));
        zoned::check(cx.fs.sb.sb().incompat_flags.get(), layout, cx.fs.chunks.chunks().map(|c| (c.logical, c.length)), report);
        let mut used: BTreeMap<u64, u64> = BTreeMap::new();
        let mut prev: Option<DevExt> = None;
        for (e, &m) in exts.iter().zip(&matched) {
            let at = |f: Finding| f.at("devid", e.devid).at("physical", e.physical).at("tree", DEV_TREE_OBJECTID).at("key", ext_key(e));
            if !m {
                report.push(at(Finding::new(&DEV_EXTENT_ORPHAN, format!("dev extent [{} {}] length {} (chunk_offset {}) belongs to no chunk stripe", e.devid, e.physical, e.length, e.chunk_offset))
                    .ctx("chunk_offset", e.chunk_offset)));
            }
            *used.entry(e.devid).or_insert(0) = used.get(&e.devid).copied().unwrap_or(0).saturating_add(e.length);
            let end = e.physical.saturating_add(e.length);
            if let Some(p) = prev.filter(|p| p.devid == e.devid) {
                if e.physical < p.physical.saturating_add(p.length) {
                    report.push(at(Finding::new(&DEV_EXTENT_OVERLAP, format!("dev extent [{} {}] overlaps [{} {}] length {}", e.devid, e.physical, p.devid, p.physical, p.length))
                        .ctx("other", p.physical)));
                }
            }
            if prev.is_none_or(|p| p.devid != e.devid || end > p.physical.saturating_add(p.length)) {
                prev = Some(*e);
            }
            match self.devs.get(&e.devid) {
                Some(d) if end > d.total_bytes => report.push(at(Finding::new(&DEV_EXTENT_PAST_END, format!(
                    "dev extent [{} {}] length {} ends at {end}, past the device's total_bytes {}", e.devid, e.physical, e.length, d.total_bytes))
                    .ctx("expected_max", d.total_bytes)
                    .ctx("found", end))),
                Some(_) => {}
                None => {
                    if dangling.insert(e.devid) {
                        report.push(at(Finding::new(&DANGLING_DEVID, format!("dev extent [{} {}] is on devid {} which has no device item", e.devid, e.physical, e.devid))));
                    }
                }
            }
        }
        for (&devid, d) in &self.devs {
            let u = used.get(&devid).copied().unwrap_or(0);
            if u != d.bytes_used {
                report.push(Finding::new(&DEV_BYTES_USED, format!("dev extent's total-byte({u}) is not equal to byte-used({}) in dev[1, 216, {devid}]", d.bytes_used))
                    .at("devid", devid)
                    .at("tree", CHUNK_TREE_OBJECTID)
                    .at("key", key_value(DEV_ITEMS_OBJECTID, DEV_ITEM_KEY, devid))
                    .ctx("expected", u)
                    .ctx("found", d.bytes_used));
            }
        }
        let sb = cx.fs.sb.sb();
        if self.dev_items > 0 && sb.num_devices.get() != self.dev_items {
            report.push(Finding::new(&SUPER_NUM_DEVICES, format!("super num devices mismatch, have {} expect {}", sb.num_devices.get(), self.dev_items))
                .ctx("expected", self.dev_items)
                .ctx("found", sb.num_devices.get()));
        }
        // The kernel sums the devices' sizes as it reads the chunk tree and refuses a
        // superblock claiming less (btrfs_read_chunk_tree); more is allowed.
        let devices_total = self.devs.iter().filter(|(&devid, _)| devid != REPLACE_TARGET_DEVID).fold(0u64, |a, (_, d)| a.saturating_add(d.total_bytes));
        if !self.devs.is_empty() && sb.total_bytes.get() < devices_total {
            report.push(Finding::new(&SUPER_TOTAL_BYTES, format!(
                "super total bytes {} smaller than real device(s) size {devices_total}", sb.total_bytes.get()))
                .ctx("expected_min", devices_total)
                .ctx("found", sb.total_bytes.get()));
        }
        // Each device's superblock says which filesystem it belongs to in dev_item.fsid: the
        // metadata uuid (the kernel refuses a mismatch, btrfs_validate_super).
        let metadata_uuid = cx.fs.metadata_uuid();
        // A device item naming another filesystem is a seed device's (read_one_dev opens the
        // seed filesystem by that fsid); a seed that is not there is a device the kernel cannot
        // find, as is any other fsid.
        for (&devid, d) in &self.devs {
            if d.fsid != metadata_uuid && !cx.fs.seed_fsids.contains(&d.fsid) {
                report.push(Finding::new(&DEV_ITEM_FSID, format!(
                    "device item of devid {devid} has fsid {}, not the filesystem's {}: a seed filesystem that was not given",
                    crate::detect::uuid_text(&d.fsid), crate::detect::uuid_text(&metadata_uuid)))
                    .at("devid", devid)
                    .at("tree", CHUNK_TREE_OBJECTID)
                    .at("key", key_value(DEV_ITEMS_OBJECTID, DEV_ITEM_KEY, devid)));
            }
        }
        for d in cx.fs.devices.values() {
            let Some(copy) = d.chosen_copy() else { continue };
            // A seed device's superblock is its seed filesystem's own.
            let own = if d.seed { metadata_uuid_of(copy.sb()) } else { metadata_uuid };
            if copy.sb().dev_item.fsid != own {
                report.push(Finding::new(&SUPER_DEV_ITEM, format!(
                    "dev_item fsid {} of devid {} does not match the metadata fsid {}",
                    crate::detect::uuid_text(&copy.sb().dev_item.fsid), d.devid, crate::detect::uuid_text(&own)))
                    .at("device", d.dev.path().display().to_string())
                    .at("devid", d.devid));
            }
        }
        // A seed device's superblock generation is frozen with its filesystem, and the sprout's
        // device item records it: the kernel refuses to mount a sprout whose seed device says
        // otherwise (read_one_dev: -EINVAL), a seed changed or replaced since the sprout grew.
        for d in cx.fs.devices.values().filter(|d| d.seed) {
            let Some(copy) = d.chosen_copy() else { continue };
            let Some(rec) = self.devs.get(&d.devid).filter(|r| r.fsid == copy.sb().fsid) else { continue };
            if copy.sb().generation.get() != rec.generation {
                report.push(Finding::new(&SEED_GENERATION, format!(
                    "seed device {} (devid {}) has superblock generation {}, the sprout's device item recorded {}",
                    d.dev.path().display(), d.devid, copy.sb().generation.get(), rec.generation))
                    .at("device", d.dev.path().display().to_string())
                    .at("devid", d.devid)
                    .at("tree", CHUNK_TREE_OBJECTID)
                    .at("key", key_value(DEV_ITEMS_OBJECTID, DEV_ITEM_KEY, d.devid))
                    .ctx("expected", rec.generation)
                    .ctx("found", copy.sb().generation.get()));
            }
        }
        // Each device's own superblock (the copy chosen for it) against its device item.
        let gen = sb.generation.get();
        for d in cx.fs.devices.values() {
            let Some(copy) = d.chosen_copy() else { continue };
            let s = copy.sb();
            if s.generation.get() != gen {
                continue;
            }
            let di = &s.dev_item;
            let devid = di.devid.get();
            let Some(rec) = self.devs.get(&devid) else { continue };
            let mut diffs = Vec::new();
            if di.total_bytes.get() != rec.total_bytes {
                diffs.push(format!("total_bytes {} vs {}", di.total_bytes.get(), rec.total_bytes));
            }
            if di.bytes_used.get() != rec.bytes_used {
                diffs.push(format!("bytes_used {} vs {}", di.bytes_used.get(), rec.bytes_used));
            }
            if di.uuid != rec.uuid {
                diffs.push("uuid".to_string());
            }
            if !diffs.is_empty() {
                // Mount takes sizes from the chunk tree's device items (the superblock copy
                // only identifies the device), and the kernel writes the superblock's sizes
                // from its in-memory device, which runs ahead of the device item while a
                // chunk allocation is half done (corpus 039 has 8 MiB more in the
                // superblock): a size difference is a warning, a uuid difference an error.
                let sev = if di.uuid != rec.uuid { Severity::Error } else { Severity::Warning };
                report.push(Finding::new(&SUPER_DEV_ITEM, format!("superblock dev_item of devid {devid} differs from its device item: {}", diffs.join(", ")))
                    .severity(sev)
                    .at("device", d.dev.path().display().to_string())
                    .at("devid", devid));
            }
        }
    }
}
