//! A deleted subvolume the cleaner is part way through dropping (btrfs-progs'
//! fsck-tests/021-partially-dropped-snapshot-case): root 258 has refs 0 and drop_progress
//! (257 EXTENT_DATA 405504) at drop_level 1. Everything left of that key has been dropped — the
//! leaf at slot 0 of its root node is already freed (zeros in the image) — and the rest still
//! holds references in the extent tree. btrfs check 6.2 and 6.19 both pass the image.
//!
//! ondisk walks what is left of the tree (from the slot holding drop_progress on), so the extent
//! tree's references must match exactly — no "fewer refs are fine while something is being
//! dropped" leniency — and moving drop_progress must be caught.

mod common;

use serde_json::Value;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const IMAGE: &str = "corpus/btrfs-progs/fsck-tests/021-partially-dropped-snapshot-case/dropped-snapshot.img";

fn json_lines(args: &[&str]) -> Vec<Value> {
    let out = common::ondisk_run(args);
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Errors and warnings by kind, plus the infos, from `ondisk check --json`.
fn kinds(img: &Path) -> Vec<(String, String)> {
    let mut k: Vec<(String, String)> = json_lines(&["check", "--json", img.to_str().unwrap()])
        .into_iter()
        .filter(|v| v["type"] == "finding")
        .map(|v| (v["kind"].as_str().unwrap().to_string(), v["severity"].as_str().unwrap().to_string()))
        .collect();
    k.sort();
    k.dedup();
    k
}

/// The metadump restored to a raw image we may edit, or None after a SKIP line.
fn restored(name: &str) -> Option<PathBuf> {
    let shared = common::shared_or_skip()?;
    if !common::have("btrfs-image") {
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("drop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join("dropped.raw");
    let st = Command::new("btrfs-image").arg("-r").arg(shared.join(IMAGE)).arg(&raw).output().unwrap();
    assert!(st.status.success(), "btrfs-image -r: {}", String::from_utf8_lossy(&st.stderr));
    Some(raw)
}

/// Rewrites the drop_progress key of root 258's ROOT_ITEM in every copy of its root tree leaf,
/// re-checksummed (crc32c) so that only the moved key is wrong.
fn set_drop_progress(img: &Path, key: (u64, u8, u64)) {
    let p = img.to_str().unwrap();
    let item = json_lines(&["dump", "--json", "--tree", "root", p])
        .into_iter()
        .find(|v| v["item_type"] == "ROOT_ITEM" && v["key"]["objectid"] == 258)
        .expect("root 258's ROOT_ITEM");
    let (block, slot) = (item["block"].as_u64().unwrap(), item["slot"].as_u64().unwrap() as usize);
    let map = json_lines(&["map", "--json", p, &block.to_string()]);
    let f = std::fs::OpenOptions::new().read(true).write(true).open(img).unwrap();
    let nodesize = 16384;
    for copy in map[0]["copies"].as_array().unwrap() {
        let phys = copy["physical"].as_u64().unwrap();
        let mut b = vec![0u8; nodesize];
        f.read_exact_at(&mut b, phys).unwrap();
        let it = 101 + slot * 25;
        let off = u32::from_le_bytes(b[it + 17..it + 21].try_into().unwrap()) as usize;
        let d = 101 + off;
        // btrfs_root_item: drop_progress (a disk key) at 220, drop_level at 237.
        b[d + 220..d + 228].copy_from_slice(&key.0.to_le_bytes());
        b[d + 228] = key.1;
        b[d + 229..d + 237].copy_from_slice(&key.2.to_le_bytes());
        let c = crc32c::crc32c(&b[32..]);
        b[..4].copy_from_slice(&c.to_le_bytes());
        f.write_all_at(&b, phys).unwrap();
    }
}

#[test]
fn partly_dropped_snapshot_is_walked_from_drop_progress() {
    let Some(raw) = restored("clean") else { return };
    // `btrfs-image -r` writes the primary superblock only: the mirror at 64 MiB, inside this
    // 128 MiB image, reads as zeros (a warning, as btrfs check's scan of mirrors would say).
    assert_eq!(
        kinds(&raw),
        [("btrfs.subvolume_dropping", "info"), ("btrfs.super_bad_magic", "warning")].map(|(k, s)| (k.to_string(), s.to_string()))
    );
}

#[test]
fn drop_progress_moved_back_reaches_a_freed_block() {
    // One slot to the left: the walk would resume at a leaf the cleaner already freed (its
    // bytes are zeros, as btrfs-image leaves unused blocks), which reads as a broken tree block
    // with no extent item behind it.
    let Some(raw) = restored("back") else { return };
    set_drop_progress(&raw, (256, 1, 0));
    let k = kinds(&raw);
    let errors: Vec<&str> = k.iter().filter(|(_, s)| s == "error").map(|(k, _)| k.as_str()).collect();
    assert_eq!(errors, ["btrfs.extent_item_missing", "btrfs.tree_block_bytenr", "btrfs.tree_block_csum"], "{k:?}");
}

#[test]
fn drop_progress_moved_forward_leaves_references_unfound() {
    // One slot to the right: the leaf at (257 EXTENT_DATA 405504), shared with FS_TREE, is no
    // longer reached from root 258, so its extent item claims one reference more than the walk
    // finds and its backref for root 258 is referenced by nothing.
    let Some(raw) = restored("forward") else { return };
    set_drop_progress(&raw, (257, 108, 827392));
    let k = kinds(&raw);
    let errors: Vec<&str> = k.iter().filter(|(_, s)| s == "error").map(|(k, _)| k.as_str()).collect();
    assert_eq!(errors, ["btrfs.backref_unreferenced", "btrfs.extent_ref_mismatch"], "{k:?}");
}
