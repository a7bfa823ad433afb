//! Named corruptions for the tree-block, parent/child and superblock families: each damages one
//! thing in a copy of a clean kernel-written image (k-bgt: DUP metadata, a two-level FS_TREE)
//! the way a real bug would, re-checksums where the fault is meant to be "valid but wrong", and
//! asserts the exact set of finding kinds (with severities) `ondisk check` reports.

mod common;
use common::shared_or_skip as shared;

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;


fn ondisk_json(args: &[&str]) -> Vec<serde_json::Value> {
    let o = Command::new(env!("CARGO_BIN_EXE_ondisk")).args(args).output().unwrap();
    String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A writable copy of a shared image, decompressed.
struct Img {
    path: PathBuf,
}

impl Img {
    fn new(shared: &Path, rel: &str, name: &str) -> Img {
        let dir = std::env::temp_dir().join(format!("ondisk-tree-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.img"));
        let f = std::fs::File::open(shared.join("images").join(rel)).unwrap();
        let mut dec = ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(f)).unwrap();
        let mut out = std::fs::File::create(&path).unwrap();
        std::io::copy(&mut dec, &mut out).unwrap();
        Img { path }
    }

    fn p(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// Physical offsets of every copy of a logical address.
    fn copies(&self, logical: u64) -> Vec<u64> {
        let m = &ondisk_json(&["map", "--json", self.p(), &logical.to_string()])[0];
        m["copies"].as_array().unwrap().iter().map(|c| c["physical"].as_u64().unwrap()).collect()
    }

    fn read(&self, at: u64, len: usize) -> Vec<u8> {
        let mut f = std::fs::File::open(&self.path).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        let mut b = vec![0; len];
        f.read_exact(&mut b).unwrap();
        b
    }

    fn write(&self, at: u64, b: &[u8]) {
        let mut f = std::fs::OpenOptions::new().write(true).open(&self.path).unwrap();
        f.seek(SeekFrom::Start(at)).unwrap();
        f.write_all(b).unwrap();
    }

    /// Edits a tree block; `copies` selects which of its copies (None: all); `recsum` redoes the
    /// crc32c so that only the intended fault remains.
    fn edit_block(&self, logical: u64, only_copy: Option<usize>, recsum: bool, edit: impl Fn(&mut [u8])) {
        for (i, phys) in self.copies(logical).into_iter().enumerate() {
            if only_copy.is_some_and(|c| c != i) {
                continue;
            }
            let mut b = self.read(phys, NODESIZE);
            edit(&mut b);
            if recsum {
                let c = crc32c(&b[32..]);
                b[..4].copy_from_slice(&c.to_le_bytes());
            }
            self.write(phys, &b);
        }
    }

    /// kind → (count, worst severity), with `--all-copies` when the case reads every mirror.
    fn check(&self, all_copies: bool) -> BTreeMap<String, (u64, String)> {
        let mut m: BTreeMap<String, (u64, String)> = BTreeMap::new();
        let mut args = vec!["check", "--json", self.p()];
        if all_copies {
            args.push("--all-copies");
        }
        for f in ondisk_json(&args) {
            if f["type"] == "finding" {
                let e = m.entry(f["kind"].as_str().unwrap().to_string()).or_insert((0, "info".into()));
                e.0 += 1;
                let s = f["severity"].as_str().unwrap().to_string();
                if rank(&s) < rank(&e.1) {
                    e.1 = s;
                }
            }
        }
        m
    }
}

impl Drop for Img {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn rank(s: &str) -> u8 {
    match s {
        "error" => 0,
        "warning" => 1,
        _ => 2,
    }
}

const NODESIZE: usize = 16384;
const HDR: usize = 101;

/// CRC-32C (Castagnoli), bitwise: a test has no business sharing the code under test.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

fn kinds(list: &[(&str, u64, &str)]) -> BTreeMap<String, (u64, String)> {
    list.iter().map(|(k, n, s)| (k.to_string(), (*n, s.to_string()))).collect()
}

/// The FS_TREE of k-bgt: its level-1 root and its leaves.
struct FsTree {
    root: u64,
    leaves: Vec<u64>,
    extent_leaf: u64,
}

fn layout(img: &Img) -> FsTree {
    let nodes = ondisk_json(&["dump", "--json", "--tree", "fs", img.p()]);
    let root = nodes.iter().find(|n| n["type"] == "node" && n["level"] == 1).unwrap()["bytenr"].as_u64().unwrap();
    let leaves = nodes.iter().filter(|n| n["type"] == "node" && n["level"] == 0).map(|n| n["bytenr"].as_u64().unwrap()).collect();
    let ext = ondisk_json(&["dump", "--json", "--tree", "extent", img.p()]);
    let extent_leaf = ext.iter().find(|n| n["type"] == "node" && n["level"] == 0).unwrap()["bytenr"].as_u64().unwrap();
    FsTree { root, leaves, extent_leaf }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Changes one byte of a root tree item's data, found by its key, in every copy, re-checksummed.
fn edit_root_tree_item(i: &Img, key: (u64, u64, u64), at: usize, f: impl Fn(u8) -> u8) {
    let items = ondisk_json(&["dump", "--json", "--tree", "root", i.p()]);
    let it = items
        .iter()
        .find(|v| v["type"] == "item" && v["key"]["objectid"] == key.0 && v["key"]["type"] == key.1 && v["key"]["offset"] == key.2)
        .expect("the root tree item");
    let pos = HDR + it["itemoff"].as_u64().unwrap() as usize + at;
    i.edit_block(it["block"].as_u64().unwrap(), None, true, |b| b[pos] = f(b[pos]));
}

/// Runs one named corruption on a fresh copy and compares the kinds.
fn case(shared: &Path, name: &str, damage: impl Fn(&Img, &FsTree), want: &[(&str, u64, &str)]) -> Option<String> {
    let img = Img::new(shared, "btrfs/k-bgt/k-bgt.img.zst", name);
    let t = layout(&img);
    damage(&img, &t);
    // A case whose name says so reads every mirror; the others read like btrfs check does.
    let got = img.check(name.ends_with("_all_copies"));
    let want = kinds(want);
    eprintln!("{name:<28} {got:?}");
    (got != want).then(|| format!("{name}: expected {want:?}, found {got:?}"))
}

#[test]
fn named_tree_corruptions() {
    let Some(shared) = shared() else { return };
    let mut failures = Vec::new();
    // Free space inside a leaf (between the item array and the data) holds nothing: flipping a
    // byte there changes only the checksum.
    let flip_gap = |b: &mut [u8]| b[HDR + 25 * u32_at(b, 96) as usize + 8] ^= 0xff;
    type Damage = Box<dyn Fn(&Img, &FsTree)>;
    type Want = Vec<(&'static str, u64, &'static str)>;
    let cases: Vec<(&str, Damage, Want)> = vec![
        ("clean", Box::new(|_, _| {}), vec![]),
        // The first copy bad: the read falls back to the mirror, the block is fine, redundancy
        // is lost.
        ("csum_first_dup_copy", Box::new(move |i, t| i.edit_block(t.leaves[0], Some(0), false, flip_gap)),
            vec![("btrfs.tree_block_csum", 1, "warning")]),
        // The second copy bad: only a check that reads every copy sees it.
        ("csum_second_dup_copy", Box::new(move |i, t| i.edit_block(t.leaves[0], Some(1), false, flip_gap)),
            vec![]),
        ("csum_second_dup_copy_all_copies", Box::new(move |i, t| i.edit_block(t.leaves[0], Some(1), false, flip_gap)),
            vec![("btrfs.tree_block_csum", 1, "warning")]),
        ("csum_every_copy", Box::new(move |i, t| i.edit_block(t.leaves[0], None, false, flip_gap)),
            vec![("btrfs.tree_block_csum", 1, "error")]),
        ("transid_in_child", Box::new(|i, t| i.edit_block(t.leaves[1], None, true, |b| b[80] = b[80].wrapping_add(1))),
            vec![("btrfs.transid_mismatch", 1, "error")]),
        ("fsid", Box::new(|i, t| i.edit_block(t.leaves[1], None, true, |b| b[32] ^= 1)),
            vec![("btrfs.tree_block_fsid", 1, "error")]),
        ("chunk_tree_uuid", Box::new(|i, t| i.edit_block(t.leaves[1], None, true, |b| b[64] ^= 1)),
            vec![("btrfs.tree_block_chunk_uuid", 1, "error")]),
        ("owner_of_extent_leaf", Box::new(|i, t| i.edit_block(t.extent_leaf, None, true, |b| b[88] = 7)),
            // The extent tree's backref names the real owner, so the claimed one has none.
            vec![("btrfs.owner_mismatch", 1, "error"), ("btrfs.owner_ref_mismatch", 1, "error")]),
        ("item_offset_shifted", Box::new(|i, t| i.edit_block(t.leaves[1], None, true, |b| {
                let at = HDR + 25 * 2 + 17;
                let v = u32_at(b, at) + 1;
                b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            })),
            // The item is read where the leaf now says it is: the file extent found there is
            // garbage, and its inode's nbytes no longer adds up.
            vec![("btrfs.item_offset", 1, "error"), ("btrfs.bad_file_extent", 1, "error"), ("btrfs.nbytes_wrong", 1, "error")]),
        ("parent_key_wrong", Box::new(|i, t| i.edit_block(t.root, None, true, |b| {
                // The second pointer's key offset: the child starts with another key.
                let at = HDR + 33 + 9;
                b[at] = b[at].wrapping_add(1);
            })),
            vec![("btrfs.first_key_mismatch", 1, "error")]),
        ("pointer_cycle", Box::new(|i, t| i.edit_block(t.root, None, true, |b| {
                // Pointer 2 names the same child as pointer 1.
                let (p1, p2) = (HDR + 33 + 17, HDR + 2 * 33 + 17);
                let src = b[p1..p1 + 16].to_vec();
                b[p2..p2 + 16].copy_from_slice(&src);
            })),
            // The child pointer 2 named is lost: its extent item and the data extents its
            // file extents held lose a reference each; child 1 gains one.
            vec![
                ("btrfs.tree_cycle", 1, "error"),
                ("btrfs.lost_subtree_echoes", 1, "info"),
                ("btrfs.backref_count_mismatch", 1, "error"),
                ("btrfs.backref_unreferenced", 1, "error"),
                ("btrfs.extent_ref_mismatch", 2, "error"),
            ]),
        ("pointer_unmapped", Box::new(|i, t| i.edit_block(t.root, None, true, |b| {
                let p = HDR + 33 + 17;
                b[p..p + 8].copy_from_slice(&(1u64 << 50).to_le_bytes());
            })),
            // The pointer now leads nowhere: nothing references the block it named (nor the data
            // its leaf pointed at), and the new address has no extent item.
            vec![
                ("btrfs.tree_block_unreadable", 1, "error"),
                ("btrfs.lost_subtree_echoes", 1, "info"),
                ("btrfs.backref_unreferenced", 4, "error"),
                ("btrfs.extent_item_missing", 1, "error"),
                ("btrfs.extent_item_unreferenced", 1, "error"),
                ("btrfs.extent_ref_mismatch", 4, "error"),
            ]),
        ("root_item_generation", Box::new(|i, _| {
                let items = ondisk_json(&["dump", "--json", "--tree", "root", i.p()]);
                let it = items.iter().find(|v| v["type"] == "item" && v["key"]["objectid"] == 5 && v["key"]["type"] == 132).unwrap();
                let at = HDR + it["itemoff"].as_u64().unwrap() as usize + 160;
                i.edit_block(it["block"].as_u64().unwrap(), None, true, |b| b[at] = b[at].wrapping_add(1));
            }),
            vec![("btrfs.root_item_mismatch", 1, "error")]),
        // The snapshot's two root tree links disagree on its name: each side lacks its mirror.
        ("root_backref_name", Box::new(|i, _| edit_root_tree_item(i, (256, 144, 5), 18, |b| b ^ 1)),
            vec![("btrfs.root_ref_mismatch", 2, "error")]),
        // The ROOT_REF's sequence no longer names the parent's DIR_INDEX for the snapshot.
        ("root_ref_sequence", Box::new(|i, _| edit_root_tree_item(i, (5, 156, 256), 8, |b| b.wrapping_add(1))),
            vec![("btrfs.root_ref_mismatch", 2, "error"), ("btrfs.root_ref_no_dir_entry", 1, "error")]),
        ("super_mirror_csum", Box::new(|i, _| {
                let mut s = i.read(64 << 20, 4096);
                s[200] ^= 0xff;
                i.write(64 << 20, &s);
            }),
            vec![("btrfs.super_csum_mismatch", 1, "warning")]),
        ("super_primary_csum", Box::new(|i, _| {
                let mut s = i.read(64 << 10, 4096);
                s[1000] ^= 0xff;
                i.write(64 << 10, &s);
            }),
            vec![("btrfs.super_csum_mismatch", 1, "warning")]),
    ];
    for (name, damage, want) in &cases {
        if let Some(f) = case(&shared, name, damage, want) {
            failures.push(f);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
