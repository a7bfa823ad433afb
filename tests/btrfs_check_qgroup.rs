//! The quota groups family: the counts we compute equal `btrfs check --qgroup-report`'s on the
//! shared images that have qgroups, and each named corruption of the quota tree reports exactly
//! the kinds it should.
//!
//! Images: ../shared/images/btrfs/k-rich (traditional qgroups, snapshots, reflinks, compression,
//! a level-1 qgroup), k-squota (simple quotas: btrfs-progs 6.2 cannot open it; 6.19's check
//! found no qgroup difference, so its own INFO items are the oracle), the corpus PASS image
//! fsck-tests/023-qgroup-stack-overflow, and a `mkfs.btrfs -R quota --rootdir` image. Each is
//! decompressed (sparse) to a temp dir; corruptions edit one item of the quota tree leaf and
//! re-checksum the block so only the intended fault remains.

mod common;

use common::shared_or_skip;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const HEADER_SIZE: usize = 101;
const ITEM_SIZE: usize = 25;
const QUOTA_TREE: u64 = 8;
const LEVEL1: u64 = 1 << 48;

fn ondisk(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ondisk")).args(args).output().expect("run ondisk");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A per-test temp dir.
fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ondisk-chk-qgroup-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Decompresses a shared image (sparse) into `dir`, or None after a SKIP line.
fn unpack(rel: &str, dir: &Path) -> Option<PathBuf> {
    let shared = shared_or_skip()?;
    let src = shared.join(rel);
    if !src.exists() {
        assert!(!common::required(), "{} is required here", src.display());
        eprintln!("SKIP: {} is not present", src.display());
        return None;
    }
    let dst = dir.join("fs.img");
    let ok = if rel.ends_with(".zst") {
        common::have("zstd")
            && Command::new("zstd").args(["-q", "-d", "-f", "--sparse"]).arg(&src).arg("-o").arg(&dst).status().is_ok_and(|s| s.success())
    } else {
        common::have("xz")
            && Command::new("xz")
                .args(["-d", "-c"])
                .arg(&src)
                .stdout(std::fs::File::create(&dst).unwrap())
                .status()
                .is_ok_and(|s| s.success())
    };
    if !ok {
        eprintln!("SKIP: could not decompress {}", src.display());
        return None;
    }
    Some(dst)
}

/// A small image with traditional quotas made by `mkfs.btrfs -R quota --rootdir`, or None.
fn mkfs_quota(dir: &Path) -> Option<PathBuf> {
    if !common::have("mkfs.btrfs") {
        return None;
    }
    std::fs::create_dir_all(dir.join("root/d")).unwrap();
    for (i, n) in [300_000usize, 70_000, 9_000].iter().enumerate() {
        let data: Vec<u8> = (0..*n).map(|j| (j * 31 + i * 7) as u8).collect();
        std::fs::write(dir.join(format!("root/f{i}")), data).unwrap();
    }
    std::fs::write(dir.join("root/d/small"), b"hi\n").unwrap();
    let img = dir.join("fs.img");
    std::fs::File::create(&img).unwrap().set_len(256 << 20).unwrap();
    let ok = Command::new("mkfs.btrfs")
        .args(["-q", "-f", "-R", "quota", "-m", "single", "-d", "single", "--rootdir"])
        .arg(dir.join("root"))
        .arg(&img)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(!common::required(), "mkfs.btrfs -R quota failed");
        eprintln!("SKIP: mkfs.btrfs -R quota failed");
        return None;
    }
    Some(img)
}

/// (rfer, rfer_cmpr, excl, excl_cmpr) per qgroup id.
type Table = BTreeMap<u64, [u64; 4]>;

fn ours(img: &Path) -> Table {
    let set = ondisk::image::DeviceSet::open(&[img.to_path_buf()], Default::default()).expect("open");
    let fs = ondisk::btrfs::fs::Filesystem::open(&set).expect("filesystem");
    let (counts, _) = ondisk::btrfs::check::qgroup::computed_counts(&fs);
    counts.iter().map(|(&id, c)| (id, [c.rfer, c.rfer_cmpr, c.excl, c.excl_cmpr])).collect()
}

/// The "our:" counts `btrfs check --readonly --qgroup-report` prints for each qgroup.
fn progs(img: &Path) -> Table {
    let out = Command::new("btrfs").args(["check", "--readonly", "--qgroup-report"]).arg(img).output().expect("btrfs check");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut t = Table::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Counts for qgroup id: ") {
            let q = rest.split_whitespace().next().unwrap();
            let (l, s) = q.split_once('/').unwrap();
            id = Some((l.parse::<u64>().unwrap() << 48) | s.parse::<u64>().unwrap());
        } else if let (Some(id), Some(rest)) = (id, line.strip_prefix("our:")) {
            let n: Vec<u64> = rest.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            let e = t.entry(id).or_insert([0; 4]);
            if rest.contains("referenced") {
                e[0] = n[0];
                e[1] = n[1];
            } else {
                e[2] = n[0];
                e[3] = n[1];
            }
        }
    }
    t
}

fn show(name: &str, t: &Table) {
    for (id, c) in t {
        eprintln!("{name}: qgroup {}/{}: rfer {} rfer_cmpr {} excl {} excl_cmpr {}", id >> 48, id & (LEVEL1 - 1), c[0], c[1], c[2], c[3]);
    }
}

fn compare_with_progs(name: &str, img: &Path) {
    let ours = ours(img);
    show(&format!("{name} ours"), &ours);
    assert!(!ours.is_empty(), "{name}: no counts computed");
    if !common::have("btrfs") {
        return;
    }
    let theirs = progs(img);
    show(&format!("{name} btrfs check"), &theirs);
    assert_eq!(ours, theirs, "{name}: our counts vs btrfs check --qgroup-report");
}

#[test]
fn counts_equal_btrfs_check_qgroup_report() {
    let dir = tmp("oracle");
    for (name, rel) in [
        ("k-rich", "images/btrfs/k-rich/k-rich.img.zst"),
        ("023", "corpus/btrfs-progs/fsck-tests/023-qgroup-stack-overflow/quota_balance_loop_backref.raw.xz"),
    ] {
        let Some(img) = unpack(rel, &dir) else { return };
        compare_with_progs(name, &img);
        let _ = std::fs::remove_file(&img);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Needs only mkfs.btrfs (not ../shared): a fresh clone runs it too.
#[test]
fn mkfs_quota_image_counts_and_a_wrong_info() {
    let dir = tmp("mkfs");
    let Some(img) = mkfs_quota(&dir) else { return };
    compare_with_progs("mkfs -R quota", &img);
    assert!(qgroup_kinds(&img).is_empty(), "mkfs -R quota image: no qgroup findings");
    let v = find(&img, |v| is_info(v, 5));
    edit_item(&img, &v, |d| add(d, 24, 4096));
    assert_eq!(qgroup_kinds(&img), set(&["btrfs.qgroup_count_mismatch"]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The INFO items of the quota tree, per qgroup id.
fn info_items(img: &Path) -> Table {
    quota_items(img)
        .iter()
        .filter(|v| v["item_type"] == "QGROUP_INFO")
        .map(|v| {
            let f = |n: &str| v[n].as_u64().unwrap();
            (v["key"]["offset"].as_u64().unwrap(), [f("referenced"), f("referenced_compressed"), f("exclusive"), f("exclusive_compressed")])
        })
        .collect()
}

#[test]
fn simple_quota_counts_equal_the_items() {
    let dir = tmp("squota");
    let Some(img) = unpack("images/btrfs/k-squota/k-squota.img.zst", &dir) else { return };
    let ours = ours(&img);
    show("k-squota ours", &ours);
    // btrfs-progs 6.19 found no qgroup difference on this image, so the items are the oracle.
    // Simple quotas do not maintain the compressed fields: only rfer and excl are computed.
    let items = info_items(&img);
    assert_eq!(ours.keys().collect::<Vec<_>>(), items.keys().collect::<Vec<_>>());
    for (id, c) in &ours {
        let i = items[id];
        assert_eq!((c[0], c[2]), (i[0], i[2]), "k-squota qgroup {id:#x} rfer/excl");
        assert!(c[0] > 0, "k-squota qgroup {id:#x} charged nothing");
    }
    assert!(qgroup_kinds(&img).is_empty());
    // A charge off by one sector is found.
    let info = find(&img, |v| v["item_type"] == "QGROUP_INFO" && v["key"]["offset"] == 256);
    edit_item(&img, &info, |d| add(d, 8, 4096));
    assert_eq!(qgroup_kinds(&img), set(&["btrfs.qgroup_count_mismatch"]));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- corruption helpers (own copy: the shared corruption manifest is being built elsewhere) ----

fn quota_items(img: &Path) -> Vec<Value> {
    ondisk(&["dump", "--json", "--tree", "quota", img.to_str().unwrap()])
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "item" && v["tree"] == QUOTA_TREE)
        .collect()
}

fn find(img: &Path, pred: impl Fn(&Value) -> bool) -> Value {
    quota_items(img).into_iter().find(|v| pred(v)).expect("the item to corrupt")
}

fn nodesize(img: &Path) -> usize {
    let f = std::fs::File::open(img).unwrap();
    let mut b = [0u8; 4];
    f.read_exact_at(&mut b, 0x1_0000 + 148).unwrap();
    u32::from_le_bytes(b) as usize
}

fn physical(img: &Path, logical: u64) -> u64 {
    let out = ondisk(&["map", "--json", img.to_str().unwrap(), &logical.to_string()]);
    let v: Value = serde_json::from_str(out.lines().next().expect("map output")).unwrap();
    v["copies"][0]["physical"].as_u64().expect("physical")
}

/// Reads the block holding `item`, lets `f` edit it (block bytes, slot), re-checksums (crc32c)
/// and writes it back to every copy.
fn edit_block(img: &Path, item: &Value, f: impl FnOnce(&mut [u8], usize)) {
    let ns = nodesize(img);
    let logical = item["block"].as_u64().unwrap();
    let out = ondisk(&["map", "--json", img.to_str().unwrap(), &logical.to_string()]);
    let v: Value = serde_json::from_str(out.lines().next().expect("map output")).unwrap();
    let phys: Vec<u64> = v["copies"].as_array().unwrap().iter().map(|c| c["physical"].as_u64().unwrap()).collect();
    let file = std::fs::OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut b = vec![0u8; ns];
    file.read_exact_at(&mut b, physical(img, logical)).unwrap();
    f(&mut b, item["slot"].as_u64().unwrap() as usize);
    let c = crc32c::crc32c(&b[32..]);
    b[..32].fill(0);
    b[..4].copy_from_slice(&c.to_le_bytes());
    for p in phys {
        file.write_all_at(&b, p).unwrap();
    }
}

fn edit_item(img: &Path, item: &Value, f: impl FnOnce(&mut [u8])) {
    let off = HEADER_SIZE + item["itemoff"].as_u64().unwrap() as usize;
    let size = item["itemsize"].as_u64().unwrap() as usize;
    edit_block(img, item, |b, _| f(&mut b[off..off + size]));
}

fn edit_key(img: &Path, item: &Value, objectid: u64, type_: u8, offset: u64) {
    edit_block(img, item, |b, slot| {
        let at = HEADER_SIZE + slot * ITEM_SIZE;
        b[at..at + 8].copy_from_slice(&objectid.to_le_bytes());
        b[at + 8] = type_;
        b[at + 9..at + 17].copy_from_slice(&offset.to_le_bytes());
    });
}

/// Removes an item from its leaf as the kernel does (later headers move down a slot, the data
/// of later items moves up by the removed size).
fn delete_item(img: &Path, item: &Value) {
    edit_block(img, item, |b, slot| {
        let nritems = u32::from_le_bytes(b[96..100].try_into().unwrap()) as usize;
        let hdr = |i: usize| HEADER_SIZE + i * ITEM_SIZE;
        let off_of = |b: &[u8], i: usize| u32::from_le_bytes(b[hdr(i) + 17..hdr(i) + 21].try_into().unwrap()) as usize;
        let size_of = |b: &[u8], i: usize| u32::from_le_bytes(b[hdr(i) + 21..hdr(i) + 25].try_into().unwrap()) as usize;
        let (off, size) = (off_of(b, slot), size_of(b, slot));
        let last = nritems - 1;
        let low = off_of(b, last);
        b.copy_within(HEADER_SIZE + low..HEADER_SIZE + off, HEADER_SIZE + low + size);
        for i in slot + 1..nritems {
            let o = off_of(b, i) + size;
            b[hdr(i) + 17..hdr(i) + 21].copy_from_slice(&(o as u32).to_le_bytes());
        }
        b.copy_within(hdr(slot + 1)..hdr(nritems), hdr(slot));
        b[96..100].copy_from_slice(&(last as u32).to_le_bytes());
    });
}

/// Adds `n` to the little-endian u64 at `at`.
fn add(d: &mut [u8], at: usize, n: u64) {
    let v = u64::from_le_bytes(d[at..at + 8].try_into().unwrap());
    d[at..at + 8].copy_from_slice(&(v.wrapping_add(n)).to_le_bytes());
}

fn kinds(img: &Path) -> BTreeSet<String> {
    let out = ondisk(&["check", "--json", img.to_str().unwrap()]);
    let summary: Value = out.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| v["type"] == "summary").expect("summary");
    summary["kinds"].as_object().unwrap().keys().cloned().collect()
}

/// The kinds reported, with k-rich's own baseline (free space entries mkfs left outside any
/// block group, info) required and taken out, so the set is what the corruption caused.
fn qgroup_kinds(img: &Path) -> BTreeSet<String> {
    let mut k = kinds(img);
    k.remove("btrfs.free_space_orphan");
    k
}

fn set(k: &[&str]) -> BTreeSet<String> {
    k.iter().map(|s| s.to_string()).collect()
}

fn is_info(v: &Value, id: u64) -> bool {
    v["item_type"] == "QGROUP_INFO" && v["key"]["offset"] == id
}

/// One named corruption of k-rich's quota tree and the exact kinds it must produce.
fn rich_case(name: &str, want: &[&str], corrupt: impl FnOnce(&Path)) {
    let dir = tmp(name);
    let Some(img) = unpack("images/btrfs/k-rich/k-rich.img.zst", &dir) else { return };
    assert!(qgroup_kinds(&img).is_empty(), "{name}: the clean image has findings");
    corrupt(&img);
    let got = qgroup_kinds(&img);
    eprintln!("{name}: {got:?}");
    assert_eq!(got, set(want), "{name}: kinds reported");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn info_rfer_off_by_a_sector() {
    rich_case("info-rfer", &["btrfs.qgroup_count_mismatch"], |img| {
        let v = find(img, |v| is_info(v, 257));
        edit_item(img, &v, |d| add(d, 8, 4096));
    });
}

#[test]
fn info_excl_off_by_a_sector() {
    rich_case("info-excl", &["btrfs.qgroup_count_mismatch"], |img| {
        let v = find(img, |v| is_info(v, 5));
        edit_item(img, &v, |d| add(d, 24, 4096));
    });
}

#[test]
fn level1_info_wrong() {
    rich_case("info-level1", &["btrfs.qgroup_count_mismatch"], |img| {
        let v = find(img, |v| is_info(v, LEVEL1 | 100));
        edit_item(img, &v, |d| add(d, 24, 16384));
    });
}

#[test]
fn relation_mirror_points_elsewhere() {
    // 1/100 -> 0/256 becomes 1/100 -> 0/257: neither item has its mirror now (key order kept).
    rich_case("relation-unpaired", &["btrfs.qgroup_relation_unpaired"], |img| {
        let v = find(img, |v| v["item_type"] == "QGROUP_RELATION" && v["key"]["objectid"] == LEVEL1 | 100);
        edit_key(img, &v, LEVEL1 | 100, 246, 257);
    });
}

#[test]
fn relation_to_a_qgroup_that_does_not_exist() {
    rich_case("relation-dangling", &["btrfs.qgroup_relation_unpaired", "btrfs.qgroup_relation_dangling"], |img| {
        let v = find(img, |v| v["item_type"] == "QGROUP_RELATION" && v["key"]["objectid"] == LEVEL1 | 100);
        edit_key(img, &v, LEVEL1 | 100, 246, 300);
    });
}

#[test]
fn inconsistent_flag_with_wrong_counts_is_only_info() {
    rich_case("inconsistent", &["btrfs.qgroup_rescan_needed"], |img| {
        let v = find(img, |v| is_info(v, 257));
        edit_item(img, &v, |d| add(d, 8, 4096));
        let s = find(img, |v| v["item_type"] == "QGROUP_STATUS");
        edit_item(img, &s, |d| d[16] |= 4);
    });
}

#[test]
fn status_unknown_version() {
    rich_case("status-version", &["btrfs.qgroup_status_bad"], |img| {
        let s = find(img, |v| v["item_type"] == "QGROUP_STATUS");
        edit_item(img, &s, |d| d[0] = 2);
    });
}

#[test]
fn status_missing() {
    rich_case("status-missing", &["btrfs.qgroup_status_bad"], |img| {
        let s = find(img, |v| v["item_type"] == "QGROUP_STATUS");
        delete_item(img, &s);
    });
}

#[test]
fn limit_without_info() {
    // The level-1 qgroup's INFO goes: its LIMIT has no INFO, its relations name a missing qgroup.
    rich_case("limit-no-info", &["btrfs.qgroup_limit_without_info", "btrfs.qgroup_relation_dangling"], |img| {
        let v = find(img, |v| is_info(v, LEVEL1 | 100));
        delete_item(img, &v);
    });
}

#[test]
fn subvolume_without_qgroup() {
    rich_case("qgroup-missing", &["btrfs.qgroup_missing"], |img| {
        let v = find(img, |v| v["item_type"] == "QGROUP_LIMIT" && v["key"]["offset"] == 257);
        delete_item(img, &v);
        let v = find(img, |v| is_info(v, 257));
        delete_item(img, &v);
    });
}

#[test]
fn qgroup_without_subvolume() {
    // 0/259's INFO and LIMIT renamed 0/260 (no such subvolume; key order kept): an orphan
    // qgroup whose counts are now wrong (nothing reaches 260), and subvolume 259 without one.
    rich_case("orphan", &["btrfs.qgroup_orphan", "btrfs.qgroup_count_mismatch", "btrfs.qgroup_missing"], |img| {
        let v = find(img, |v| v["item_type"] == "QGROUP_LIMIT" && v["key"]["offset"] == 259);
        edit_key(img, &v, 0, 244, 260);
        let v = find(img, |v| is_info(v, 259));
        edit_key(img, &v, 0, 242, 260);
    });
}

#[test]
fn deleted_subvolume_waiting_for_the_cleaner_still_counts() {
    // Subvolume 259's ROOT_ITEM with refs 0: deleted, waiting for the cleaner. Its tree is
    // whole until the cleaner starts, and is walked whole, so the counts (which the kernel
    // changes only as the cleaner frees extents) are compared — and agree.
    rich_case("deleted-subvolume", &[], |img| {
        let v = root_item_of(img, 259);
        edit_item(img, &v, |d| d[216..220].fill(0));
    });
}

#[test]
fn subvolume_being_dropped_leaves_counts_unverified() {
    // The same, with the cleaner started (drop_progress at the tree's first key, level 0):
    // only part of a tree being dropped is walked, so the counts of every qgroup sharing with
    // it cannot be computed: one info.
    rich_case("dropping-subvolume", &["btrfs.qgroup_not_verified", "btrfs.subvolume_dropping"], |img| {
        let v = root_item_of(img, 259);
        edit_item(img, &v, |d| {
            d[216..220].fill(0);
            // drop_progress = (256 INODE_ITEM 0), drop_level 0.
            d[220..228].copy_from_slice(&256u64.to_le_bytes());
            d[228] = 1;
            d[229..237].fill(0);
            d[237] = 0;
        });
    });
}

fn root_item_of(img: &Path, id: u64) -> Value {
    let items = ondisk(&["dump", "--json", "--tree", "root", img.to_str().unwrap()]);
    items
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["item_type"] == "ROOT_ITEM" && v["key"]["objectid"] == id)
        .expect("the root item")
}

#[test]
fn simple_quota_enable_gen_after_every_extent() {
    // enable_gen moved past the last transaction (13): no extent was charged, every count is
    // wrong — the charges computed depend on the enable generation.
    let dir = tmp("squota-gen");
    let Some(img) = unpack("images/btrfs/k-squota/k-squota.img.zst", &dir) else { return };
    let s = find(&img, |v| v["item_type"] == "QGROUP_STATUS");
    assert_eq!(s["enable_gen"], 9);
    edit_item(&img, &s, |d| d[32..40].copy_from_slice(&14u64.to_le_bytes()));
    assert_eq!(qgroup_kinds(&img), set(&["btrfs.qgroup_count_mismatch"]));
    let ours = ours(&img);
    assert!(ours.values().all(|c| c[0] == 0 && c[2] == 0), "{ours:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simple_quota_orphan_is_info() {
    // Simple quotas keep a deleted subvolume's qgroup while extents it owns live on, so an
    // orphan qgroup is only info there. 0/256's items renamed 0/257 (key order kept): the
    // orphan (info), subvolume 256 without a qgroup, and 0/257's charge (nothing owned) wrong.
    let dir = tmp("squota-orphan");
    let Some(img) = unpack("images/btrfs/k-squota/k-squota.img.zst", &dir) else { return };
    let v = find(&img, |v| v["item_type"] == "QGROUP_LIMIT" && v["key"]["offset"] == 256);
    edit_key(&img, &v, 0, 244, 257);
    let v = find(&img, |v| is_info(v, 256));
    edit_key(&img, &v, 0, 242, 257);
    assert_eq!(qgroup_kinds(&img), set(&["btrfs.qgroup_orphan", "btrfs.qgroup_missing", "btrfs.qgroup_count_mismatch"]));
    let out = ondisk(&["check", "--json", img.to_str().unwrap()]);
    let orphan: Value = out.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| v["kind"] == "btrfs.qgroup_orphan").unwrap();
    assert_eq!(orphan["severity"], "info");
    assert_eq!(orphan["context"]["qgroup"], "0/257");
    let _ = std::fs::remove_dir_all(&dir);
}
