//! Corruption matrix for the extent tree, block group and device families: a clean image made
//! by `mkfs.btrfs --rootdir` (single profiles, so each block has one copy), one thing damaged
//! the way a real bug would, the block (or superblock) re-checksummed so only the intended fault
//! remains, and the exact set of kinds `ondisk check --json` reports asserted.
//!
//! Items are found with our own `ondisk dump --json` and `ondisk map --json`; skips with a
//! visible message when mkfs.btrfs is absent (fails instead under ONDISK_REQUIRE_SHARED).

use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const SUPER_OFFSETS: [u64; 3] = [0x1_0000, 0x400_0000, 0x40_0000_0000];
const HEADER_SIZE: usize = 101;
const ITEM_SIZE: usize = 25;

fn ondisk(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ondisk")).args(args).output().expect("run ondisk");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A fresh clean image in its own temp dir, or None (after a SKIP message) without mkfs.btrfs.
fn mkfs(name: &str) -> Option<(PathBuf, PathBuf)> {
    let dir = std::env::temp_dir().join(format!("ondisk-chk-extent-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("root/d")).unwrap();
    // Files big enough for regular extents, one small enough to be inline.
    for (i, n) in [20000usize, 70000, 9000].iter().enumerate() {
        let data: Vec<u8> = (0..*n).map(|j| (j * 31 + i * 7) as u8).collect();
        std::fs::write(dir.join(format!("root/f{i}")), data).unwrap();
    }
    std::fs::write(dir.join("root/d/small"), b"hi\n").unwrap();
    let img = dir.join("fs.img");
    std::fs::File::create(&img).unwrap().set_len(256 << 20).unwrap();
    let st = Command::new("mkfs.btrfs")
        .args(["-q", "-f", "-m", "single", "-d", "single", "--rootdir"])
        .arg(dir.join("root"))
        .arg(&img)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    match st {
        Ok(s) if s.success() => Some((dir, img)),
        _ => {
            assert!(std::env::var_os("ONDISK_REQUIRE_SHARED").is_none(), "mkfs.btrfs is required here");
            eprintln!("SKIP: mkfs.btrfs is not available");
            None
        }
    }
}

fn nodesize(img: &Path) -> usize {
    let f = std::fs::File::open(img).unwrap();
    let mut b = [0u8; 4];
    f.read_exact_at(&mut b, SUPER_OFFSETS[0] + 148).unwrap();
    u32::from_le_bytes(b) as usize
}

/// Every leaf item of every tree, as `dump --json` gives it.
fn items(img: &Path) -> Vec<Value> {
    ondisk(&["dump", "--json", img.to_str().unwrap()])
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("item_type").is_some())
        .collect()
}

fn find(img: &Path, pred: impl Fn(&Value) -> bool) -> Value {
    items(img).into_iter().find(|v| pred(v)).expect("the item to corrupt")
}

fn physical(img: &Path, logical: u64) -> u64 {
    let out = ondisk(&["map", "--json", img.to_str().unwrap(), &logical.to_string()]);
    let v: Value = serde_json::from_str(out.lines().next().expect("map output")).unwrap();
    v["copies"][0]["physical"].as_u64().expect("physical")
}

/// Reads the block holding `item`, lets `f` edit it (block bytes, slot), re-checksums, writes.
fn edit_block(img: &Path, item: &Value, f: impl FnOnce(&mut [u8], usize)) {
    let ns = nodesize(img);
    let phys = physical(img, item["block"].as_u64().unwrap());
    let file = std::fs::OpenOptions::new().read(true).write(true).open(img).unwrap();
    let mut b = vec![0u8; ns];
    file.read_exact_at(&mut b, phys).unwrap();
    f(&mut b, item["slot"].as_u64().unwrap() as usize);
    let c = crc32c::crc32c(&b[32..]);
    b[..32].fill(0);
    b[..4].copy_from_slice(&c.to_le_bytes());
    file.write_all_at(&b, phys).unwrap();
}

/// Edits an item's data in place.
fn edit_item(img: &Path, item: &Value, f: impl FnOnce(&mut [u8])) {
    let off = HEADER_SIZE + item["itemoff"].as_u64().unwrap() as usize;
    let size = item["itemsize"].as_u64().unwrap() as usize;
    edit_block(img, item, |b, _| f(&mut b[off..off + size]));
}

/// Edits an item's key (objectid, type, offset) in place.
fn edit_key(img: &Path, item: &Value, objectid: u64, type_: u8, offset: u64) {
    edit_block(img, item, |b, slot| {
        let at = HEADER_SIZE + slot * ITEM_SIZE;
        b[at..at + 8].copy_from_slice(&objectid.to_le_bytes());
        b[at + 8] = type_;
        b[at + 9..at + 17].copy_from_slice(&offset.to_le_bytes());
    });
}

/// Removes an item from its leaf the way the kernel does: later headers move down one slot,
/// the data of later items (stored below) moves up by the removed item's size.
fn delete_item(img: &Path, item: &Value) {
    edit_block(img, item, |b, slot| {
        let nritems = u32::from_le_bytes(b[96..100].try_into().unwrap()) as usize;
        let hdr = |i: usize| HEADER_SIZE + i * ITEM_SIZE;
        let off_of = |b: &[u8], i: usize| u32::from_le_bytes(b[hdr(i) + 17..hdr(i) + 21].try_into().unwrap()) as usize;
        let size_of = |b: &[u8], i: usize| u32::from_le_bytes(b[hdr(i) + 21..hdr(i) + 25].try_into().unwrap()) as usize;
        let (off, size) = (off_of(b, slot), size_of(b, slot));
        let last = nritems - 1;
        let low = off_of(b, last);
        // Data of later items: [low, off) moves up to [low + size, off + size).
        b.copy_within(HEADER_SIZE + low..HEADER_SIZE + off, HEADER_SIZE + low + size);
        for i in slot + 1..nritems {
            let o = off_of(b, i) + size;
            b[hdr(i) + 17..hdr(i) + 21].copy_from_slice(&(o as u32).to_le_bytes());
        }
        b.copy_within(hdr(slot + 1)..hdr(nritems), hdr(slot));
        b[96..100].copy_from_slice(&(last as u32).to_le_bytes());
    });
}

/// Edits every superblock copy that fits in the image, re-checksumming each.
fn edit_super(img: &Path, f: impl Fn(&mut [u8])) {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(img).unwrap();
    let len = file.metadata().unwrap().len();
    for off in SUPER_OFFSETS.iter().filter(|&&o| o + 4096 <= len) {
        let mut b = vec![0u8; 4096];
        file.read_exact_at(&mut b, *off).unwrap();
        if &b[64..72] != b"_BHRfS_M" {
            continue;
        }
        f(&mut b);
        let c = crc32c::crc32c(&b[32..]);
        b[..32].fill(0);
        b[..4].copy_from_slice(&c.to_le_bytes());
        file.write_all_at(&b, *off).unwrap();
    }
}

fn put_u64(d: &mut [u8], at: usize, v: u64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}

/// k-rich's own finding: free-space-tree leftovers of mkfs's temporary chunks, a warning (see
/// tests/btrfs_check_csum.rs for why it is not an error).
const K_RICH_WARNING: &str = "btrfs.free_space_orphan";

/// The kinds `ondisk check --json` reports (every severity).
fn kinds(img: &Path) -> BTreeSet<String> {
    let out = ondisk(&["check", "--json", img.to_str().unwrap()]);
    let summary: Value = out.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| v["type"] == "summary").expect("summary");
    summary["kinds"].as_object().unwrap().keys().cloned().collect()
}

fn assert_kinds(dir: &Path, img: &Path, want: &[&str]) {
    let got = kinds(img);
    let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want, "kinds reported for {}", img.display());
    let _ = std::fs::remove_dir_all(dir);
}

fn is_type(v: &Value, tree: u64, t: &str) -> bool {
    v["tree"] == tree && v["item_type"] == t
}

/// The METADATA_ITEM of the FS_TREE root leaf (a block nothing else shares).
fn fs_leaf_item(img: &Path) -> Value {
    find(img, |v| is_type(v, 2, "METADATA_ITEM") && v["inline_refs"][0]["root"] == 5)
}

fn data_extent_item(img: &Path) -> Value {
    find(img, |v| is_type(v, 2, "EXTENT_ITEM") && v["inline_refs"][0]["type"] == "EXTENT_DATA_REF")
}

#[test]
fn clean_mkfs_image() {
    let Some((dir, img)) = mkfs("clean") else { return };
    assert_kinds(&dir, &img, &[]);
}

#[test]
fn extent_refs_too_high() {
    let Some((dir, img)) = mkfs("refs-high") else { return };
    let it = fs_leaf_item(&img);
    edit_item(&img, &it, |d| put_u64(d, 0, 2));
    assert_kinds(&dir, &img, &["btrfs.extent_ref_mismatch"]);
}

#[test]
fn data_backref_missing() {
    // The inline EXTENT_DATA_REF names another inode: the file extent's backref is missing and
    // the one listed is referenced by nothing.
    let Some((dir, img)) = mkfs("backref-missing") else { return };
    let it = data_extent_item(&img);
    // extent item 24 bytes, then type(1) root(8) objectid(8) offset(8) count(4).
    edit_item(&img, &it, |d| {
        let o = get_u64(d, 24 + 9);
        put_u64(d, 24 + 9, o + 1000);
    });
    assert_kinds(&dir, &img, &["btrfs.backref_missing", "btrfs.backref_unreferenced"]);
}

#[test]
fn data_backref_count_wrong() {
    // The inline data ref's count and the item's refs both say 2; one file extent exists.
    let Some((dir, img)) = mkfs("backref-count") else { return };
    let it = data_extent_item(&img);
    edit_item(&img, &it, |d| {
        put_u64(d, 0, 2);
        d[24 + 25..24 + 29].copy_from_slice(&2u32.to_le_bytes());
    });
    assert_kinds(&dir, &img, &["btrfs.backref_count_mismatch", "btrfs.extent_ref_mismatch"]);
}

#[test]
fn tree_block_without_extent_item() {
    // The extent item of a tree block is gone (block group used still counts the block).
    let Some((dir, img)) = mkfs("no-extent-item") else { return };
    let it = fs_leaf_item(&img);
    delete_item(&img, &it);
    // The block's range is now neither allocated nor recorded free.
    assert_kinds(&dir, &img, &["btrfs.extent_item_missing", "btrfs.block_group_used", "btrfs.free_space_missing"]);
}

#[test]
fn metadata_item_wrong_level() {
    let Some((dir, img)) = mkfs("meta-level") else { return };
    let it = fs_leaf_item(&img);
    edit_key(&img, &it, it["key"]["objectid"].as_u64().unwrap(), 169, 1);
    assert_kinds(&dir, &img, &["btrfs.metadata_level"]);
}

#[test]
fn metadata_item_level_out_of_range() {
    // corpus 053's fault: a METADATA_ITEM offset (level) above 7.
    let Some((dir, img)) = mkfs("meta-level-256") else { return };
    let it = fs_leaf_item(&img);
    edit_key(&img, &it, it["key"]["objectid"].as_u64().unwrap(), 169, 256);
    assert_kinds(&dir, &img, &["btrfs.metadata_level"]);
}

#[test]
fn extent_generation_in_the_future() {
    let Some((dir, img)) = mkfs("ext-gen") else { return };
    let it = fs_leaf_item(&img);
    edit_item(&img, &it, |d| put_u64(d, 8, 1000));
    assert_kinds(&dir, &img, &["btrfs.extent_generation"]);
}

#[test]
fn inline_backref_bad_type() {
    let Some((dir, img)) = mkfs("inline-type") else { return };
    let it = fs_leaf_item(&img);
    // The one inline ref (TREE_BLOCK_REF) becomes an unknown type 100: the tree backref the
    // walk finds is then missing from the item too.
    edit_item(&img, &it, |d| d[24] = 100);
    assert_kinds(&dir, &img, &["btrfs.inline_ref_bad", "btrfs.backref_missing"]);
}

#[test]
fn file_extent_disk_num_bytes_wrong() {
    let Some((dir, img)) = mkfs("fe-len") else { return };
    let it = find(&img, |v| v["item_type"] == "EXTENT_DATA" && v["extent_type"] == 1 && v["disk_bytenr"].as_u64() != Some(0));
    edit_item(&img, &it, |d| {
        let n = get_u64(d, 29);
        put_u64(d, 29, n + 4096);
    });
    assert_kinds(&dir, &img, &["btrfs.file_extent_mismatch"]);
}

#[test]
fn block_group_used_wrong() {
    let Some((dir, img)) = mkfs("bg-used") else { return };
    let it = find(&img, |v| is_type(v, 2, "BLOCK_GROUP_ITEM") && v["flags"] == 1);
    edit_item(&img, &it, |d| {
        let u = get_u64(d, 0);
        put_u64(d, 0, u + 4096);
    });
    // The superblock's bytes_used (the sum of used) no longer matches either.
    assert_kinds(&dir, &img, &["btrfs.block_group_used", "btrfs.super_bytes_used"]);
}

#[test]
fn block_group_flags_wrong() {
    let Some((dir, img)) = mkfs("bg-flags") else { return };
    let it = find(&img, |v| is_type(v, 2, "BLOCK_GROUP_ITEM") && v["flags"] == 1);
    // DATA becomes DATA|METADATA (mixed), which its single DATA chunk is not.
    edit_item(&img, &it, |d| put_u64(d, 16, 5));
    assert_kinds(&dir, &img, &["btrfs.block_group_flags"]);
}

#[test]
fn super_bytes_used_wrong() {
    let Some((dir, img)) = mkfs("sb-used") else { return };
    edit_super(&img, |b| {
        let u = get_u64(b, 120);
        put_u64(b, 120, u + 65536);
    });
    assert_kinds(&dir, &img, &["btrfs.super_bytes_used"]);
}

#[test]
fn super_num_devices_wrong() {
    let Some((dir, img)) = mkfs("sb-ndev") else { return };
    edit_super(&img, |b| put_u64(b, 136, 2));
    assert_kinds(&dir, &img, &["btrfs.super_num_devices"]);
}

#[test]
fn dev_extent_missing() {
    // The data chunk's dev extent is gone: its stripe has none, and the device item's
    // bytes_used no longer adds up.
    let Some((dir, img)) = mkfs("devext-missing") else { return };
    let data_chunk = find(&img, |v| is_type(v, 3, "CHUNK_ITEM") && v["chunk_type"] == 1);
    let start = data_chunk["key"]["offset"].as_u64().unwrap();
    let it = find(&img, |v| is_type(v, 4, "DEV_EXTENT") && v["chunk_offset"].as_u64() == Some(start));
    delete_item(&img, &it);
    assert_kinds(&dir, &img, &["btrfs.dev_extent_missing", "btrfs.dev_bytes_used"]);
}

#[test]
fn dev_extent_overlapping() {
    // The system chunk's dev extent grows over the next one.
    let Some((dir, img)) = mkfs("devext-overlap") else { return };
    let exts: Vec<Value> = items(&img).into_iter().filter(|v| is_type(v, 4, "DEV_EXTENT")).collect();
    let first = &exts[0];
    let next_start = exts[1]["key"]["offset"].as_u64().unwrap();
    let new_len = next_start - first["key"]["offset"].as_u64().unwrap() + 65536;
    edit_item(&img, first, |d| put_u64(d, 24, new_len));
    assert_kinds(&dir, &img, &["btrfs.dev_extent_overlap", "btrfs.dev_extent_mismatch", "btrfs.dev_bytes_used"]);
}

#[test]
fn dev_extent_past_device_end() {
    // The device shrinks (device item and the superblock's copy of it) below its last extent.
    let Some((dir, img)) = mkfs("devext-end") else { return };
    let last_end = items(&img)
        .into_iter()
        .filter(|v| is_type(v, 4, "DEV_EXTENT"))
        .map(|v| v["key"]["offset"].as_u64().unwrap() + v["length"].as_u64().unwrap())
        .max()
        .unwrap();
    let total = last_end - 4096;
    let dev = find(&img, |v| is_type(v, 3, "DEV_ITEM"));
    edit_item(&img, &dev, |d| put_u64(d, 8, total));
    edit_super(&img, |b| put_u64(b, 201 + 8, total));
    assert_kinds(&dir, &img, &["btrfs.dev_extent_past_end"]);
}

#[test]
fn dangling_devid_in_chunk_stripe() {
    // The data chunk's stripe names devid 7, which has no device item: btrfs check 6.2 prints
    // it and exits 0; here it is an error. The stripe then has no dev extent and the devid 1
    // dev extent no chunk; device 7 was not given (a warning).
    let Some((dir, img)) = mkfs("dangling") else { return };
    let it = find(&img, |v| is_type(v, 3, "CHUNK_ITEM") && v["chunk_type"] == 1);
    edit_item(&img, &it, |d| put_u64(d, 48, 7));
    assert_kinds(
        &dir,
        &img,
        &["btrfs.dangling_devid", "btrfs.dev_extent_missing", "btrfs.dev_extent_orphan", "btrfs.device_missing"],
    );
}

/// A single-device kernel image of ../shared decompressed to a temp dir, or None after a SKIP.
fn shared_image(folder: &str, name: &str) -> Option<(PathBuf, PathBuf)> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/images/btrfs/{folder}/{folder}.img.zst"));
    if !src.exists() {
        assert!(std::env::var_os("ONDISK_REQUIRE_SHARED").is_none(), "../shared is required here but missing");
        eprintln!("SKIP: ../shared is not present");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("ondisk-chk-extent-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let img = dir.join(format!("{folder}.img"));
    let ok = Command::new("zstd").args(["-q", "-d", "-f"]).arg(&src).arg("-o").arg(&img).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("ONDISK_REQUIRE_SHARED").is_none(), "zstd is required here");
        eprintln!("SKIP: zstd is not available");
        return None;
    }
    Some((dir, img))
}

#[test]
fn shared_data_backref_wrong_parent() {
    // A data extent shared by a snapshot through a FULL_BACKREF leaf: its SHARED_DATA_REF
    // names another block. The leaf's reference is then missing, the listed one unreferenced.
    let Some((dir, img)) = shared_image("k-rich", "shared-parent") else { return };
    let it = find(&img, |v| {
        is_type(v, 2, "EXTENT_ITEM") && v["inline_refs"].as_array().is_some_and(|a| a.iter().any(|r| r["type"] == "SHARED_DATA_REF"))
    });
    edit_item(&img, &it, |d| {
        // Inline refs start after the 24-byte extent item (data extents have no block info).
        let mut at = 24;
        while at < d.len() {
            match d[at] {
                178 => at += 29,
                184 => {
                    let p = get_u64(d, at + 1);
                    put_u64(d, at + 1, p + 16384);
                    return;
                }
                _ => at += 9,
            }
        }
    });
    assert_kinds(&dir, &img, &["btrfs.backref_missing", "btrfs.backref_unreferenced", K_RICH_WARNING]);
}

#[test]
fn k_rich_is_clean() {
    // Snapshots, reflinks, compressed extents, prealloc, FULL_BACKREF leaves: no findings but k-rich's own warning.
    let Some((dir, img)) = shared_image("k-rich", "clean") else { return };
    assert_kinds(&dir, &img, &[K_RICH_WARNING]);
}

#[test]
fn file_extent_points_at_free_space() {
    // corpus 001's fault: a file extent's disk_bytenr moved to free space in the data block
    // group. The place it names has no extent item; the extent it had is referenced by nothing.
    let Some((dir, img)) = mkfs("fe-bytenr") else { return };
    let all = items(&img);
    let bg = all.iter().find(|v| is_type(v, 2, "BLOCK_GROUP_ITEM") && v["flags"] == 1).expect("data block group");
    let bg_end = bg["key"]["objectid"].as_u64().unwrap() + bg["key"]["offset"].as_u64().unwrap();
    let it = all.iter().find(|v| v["item_type"] == "EXTENT_DATA" && v["extent_type"] == 1 && v["disk_bytenr"].as_u64() != Some(0)).expect("a regular file extent");
    let len = it["disk_num_bytes"].as_u64().unwrap();
    let free = bg_end - len - (1 << 20);
    edit_item(&img, it, |d| put_u64(d, 21, free));
    // The new location holds no csums either.
    assert_kinds(&dir, &img, &["btrfs.extent_item_missing", "btrfs.extent_item_unreferenced", "btrfs.csum_missing"]);
}

#[test]
fn fs_leaf_owner_wrong() {
    // The FS_TREE root leaf says it is owned by tree 7: its extent item lists no tree backref
    // for 7 (owner ref check failed), and its file extents' data backrefs, which name the
    // leaf's owner, are for root 5 — missing for 7, unreferenced for 5.
    let Some((dir, img)) = mkfs("owner") else { return };
    let leaf = find(&img, |v| v["tree"] == 5);
    // Header: csum 32, fsid 16, bytenr 8, flags 8, chunk_tree_uuid 16, generation 8, owner.
    edit_block(&img, &leaf, |b, _| put_u64(b, 88, 7));
    assert_kinds(&dir, &img, &["btrfs.owner_ref_mismatch", "btrfs.backref_missing", "btrfs.backref_unreferenced"]);
}

#[test]
fn block_group_length_wrong() {
    // The metadata block group item claims half its chunk: no chunk has its start and length,
    // and the chunk has no block group of its own.
    let Some((dir, img)) = mkfs("bg-len") else { return };
    let it = find(&img, |v| is_type(v, 2, "BLOCK_GROUP_ITEM") && v["flags"] == 4);
    let (start, len) = (it["key"]["objectid"].as_u64().unwrap(), it["key"]["offset"].as_u64().unwrap());
    edit_key(&img, &it, start, 192, len / 2);
    // The free space tree keys its info by the block group's real range.
    assert_kinds(
        &dir,
        &img,
        &["btrfs.block_group_no_chunk", "btrfs.chunk_no_block_group", "btrfs.free_space_info_missing", "btrfs.free_space_orphan"],
    );
}

#[test]
fn block_group_tree_used_wrong() {
    // k-bgt keeps block group items in the block group tree: its data block group's used is
    // off by a sector (and so is the superblock's sum).
    let Some((dir, img)) = shared_image("k-bgt", "bgt-used") else { return };
    let it = find(&img, |v| is_type(v, 11, "BLOCK_GROUP_ITEM") && v["flags"] == 1);
    edit_item(&img, &it, |d| {
        let u = get_u64(d, 0);
        put_u64(d, 0, u + 4096);
    });
    assert_kinds(&dir, &img, &["btrfs.block_group_used", "btrfs.super_bytes_used"]);
}

#[test]
fn k_bgt_snapshot_block_refs_too_few() {
    // A tree block shared by a snapshot (two tree backrefs): its extent item says refs 1.
    let Some((dir, img)) = shared_image("k-bgt", "bgt-refs") else { return };
    let it = find(&img, |v| {
        is_type(v, 2, "METADATA_ITEM") && v["refs"] == 2 && v["inline_refs"].as_array().is_some_and(|a| a.iter().all(|r| r["type"] == "TREE_BLOCK_REF"))
    });
    edit_item(&img, &it, |d| put_u64(d, 0, 1));
    assert_kinds(&dir, &img, &["btrfs.extent_ref_mismatch"]);
}

/// The corpus FAIL images these families catch, with the kinds each must include (other
/// families may add theirs: 001's moved file extent also leaves csums without an extent).
///
/// 061: btrfs-progs 6.2 exits 0 on it, 6.19 reports "inline extent refs out of order". We
/// decide from the format: the kernel inserts inline refs sorted by type, then by offset (or
/// the data ref hash) descending (`lookup_inline_extent_backref` stops at the first smaller
/// one), and its tree-checker rejects any other order, so an out-of-order item is an error.
#[test]
fn corpus_images_caught() {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/btrfs-progs/fsck-tests");
    if !corpus.is_dir() {
        assert!(std::env::var_os("ONDISK_REQUIRE_SHARED").is_none(), "../shared is required here but missing");
        eprintln!("SKIP: ../shared is not present");
        return;
    }
    let cases: &[(&str, &[&str])] = &[
        ("001-bad-file-extent-bytenr/default_case.img", &["btrfs.extent_item_missing", "btrfs.extent_item_unreferenced"]),
        ("027-bad-extent-inline-ref-type/bad-extent-inline-ref-type.raw.xz", &["btrfs.inline_ref_bad"]),
        ("041-invalid-root-generation/default_case.img", &["btrfs.extent_generation"]),
        ("047-dev-bytes-used/default_case.img.xz", &["btrfs.dev_bytes_used"]),
        ("051-invalid-super-bytes-used/default.img.xz", &["btrfs.super_bytes_used"]),
        ("053-bad-metadata-level/default.img.xz", &["btrfs.metadata_level"]),
        ("055-super-num-devs-mismatch/default.raw.xz", &["btrfs.super_num_devices"]),
        ("061-out-of-order-inline-backref/btrfs_image.img.xz", &["btrfs.inline_ref_order"]),
    ];
    let mut bad = Vec::new();
    for (name, want) in cases {
        let got = kinds(&corpus.join(name));
        eprintln!("{name:<70} {got:?}");
        if !want.iter().all(|k| got.contains(*k)) {
            bad.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn block_group_chunk_objectid_wrong() {
    // The kernel's tree-checker rejects a block group whose chunk_objectid is not 256.
    let Some((dir, img)) = mkfs("bg-objectid") else { return };
    let it = find(&img, |v| is_type(v, 2, "BLOCK_GROUP_ITEM") && v["flags"] == 1);
    edit_item(&img, &it, |d| put_u64(d, 8, 257));
    assert_kinds(&dir, &img, &["btrfs.block_group_bad"]);
}

#[test]
fn inline_data_refs_out_of_order() {
    // corpus 061's fault on a kernel image: two inline EXTENT_DATA_REFs of a reflinked extent
    // swapped, so they are no longer in descending hash order. Same refs, wrong order.
    let Some((dir, img)) = shared_image("k-rich", "inline-order") else { return };
    let it = find(&img, |v| {
        is_type(v, 2, "EXTENT_ITEM")
            && v["inline_refs"].as_array().is_some_and(|a| a.len() >= 2 && a[0]["type"] == "EXTENT_DATA_REF" && a[1]["type"] == "EXTENT_DATA_REF")
    });
    edit_item(&img, &it, |d| {
        // Data extents: 24-byte extent item, then inline refs of 29 bytes each.
        let (a, b) = (24, 24 + 29);
        let first: Vec<u8> = d[a..a + 29].to_vec();
        d.copy_within(b..b + 29, a);
        d[b..b + 29].copy_from_slice(&first);
    });
    assert_kinds(&dir, &img, &["btrfs.inline_ref_order", K_RICH_WARNING]);
}

#[test]
fn metadata_block_group_says_data() {
    // The metadata block group's flags say DATA: its chunk disagrees, and every tree block in
    // it now lies in a block group that cannot hold tree blocks.
    let Some((dir, img)) = mkfs("bg-type") else { return };
    let it = find(&img, |v| is_type(v, 2, "BLOCK_GROUP_ITEM") && v["flags"] == 4);
    edit_item(&img, &it, |d| put_u64(d, 16, 1));
    assert_kinds(&dir, &img, &["btrfs.block_group_flags", "btrfs.extent_block_group_type"]);
}
