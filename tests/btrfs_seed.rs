//! Seed devices and sprouts: a filesystem grown with `btrfs device add` on a mounted seed keeps
//! the seed's blocks, which carry the seed's fsid, on the seed's device. The images are the
//! committed chain of `test-images/btrfs-seed/` (made by its `make.sh` through the kernel), with
//! btrfs-progs 6.2's `check` and `dump-tree` outputs beside them.
//!
//! The paths may come in any order: the newest superblock names the filesystem, and every other
//! path must be a seed its chunk tree names (devid, device uuid, fsid).

mod common;
use common::{ondisk_run, read_maybe_zst, repo};

use std::collections::BTreeMap;
use std::path::PathBuf;

fn seed_dir() -> PathBuf {
    repo().join("test-images/btrfs-seed")
}

fn members(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| common::raw_image(&seed_dir().join(format!("{n}.img.zst")))).collect()
}

/// `ondisk check --json [EXTRA] MEMBERS`: exit code and the summary's kinds with their counts.
fn check(extra: &[&str], names: &[&str]) -> (Option<i32>, BTreeMap<String, u64>, String) {
    let mut args: Vec<std::ffi::OsString> = vec!["check".into(), "--json".into()];
    args.extend(extra.iter().map(Into::into));
    args.extend(members(names).into_iter().map(Into::into));
    let r = ondisk_run(&args);
    let summary = String::from_utf8_lossy(&r.stdout).lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|v| v["type"] == "summary");
    let kinds = summary
        .and_then(|s| s["kinds"].as_object().cloned())
        .map(|m| m.into_iter().map(|(k, v)| (k, v.as_u64().unwrap_or(0))).collect())
        .unwrap_or_default();
    (r.code, kinds, r.stderr)
}

/// mkfs's free space tree keeps entries for its temporary chunks; they are info findings on every
/// mkfs image, and the seed is one.
const MKFS_INFO: &str = "btrfs.free_space_orphan";

fn only_mkfs_info(kinds: &BTreeMap<String, u64>) -> bool {
    kinds.keys().all(|k| k == MKFS_INFO)
}

#[test]
fn btrfs_check_calls_the_sprouts_clean() {
    // The oracle these tests hold ondisk to: both sprouts, checked with their seeds present.
    for golden in ["check-sprout.txt", "check-sprout2.txt"] {
        let text = String::from_utf8(read_maybe_zst(&seed_dir().join(golden))).expect("utf-8");
        assert!(text.contains("no error found"), "{golden}: btrfs check did not call it clean:\n{text}");
    }
    let alone = String::from_utf8(read_maybe_zst(&seed_dir().join("check-sprout-alone.txt"))).expect("utf-8");
    assert!(alone.contains("error(s) found"), "btrfs check on the sprout without its seed:\n{alone}");
}

#[test]
fn a_sprout_with_its_seed_is_clean_in_any_order() {
    for order in [["sprout", "seed"], ["seed", "sprout"]] {
        for extra in [&[][..], &["--check-data-csum"][..]] {
            let (code, kinds, stderr) = check(extra, &order);
            assert_eq!(code, Some(0), "{order:?} {extra:?}: {kinds:?} {stderr}");
            assert!(only_mkfs_info(&kinds), "{order:?} {extra:?}: findings beyond mkfs's info: {kinds:?}");
        }
    }
}

#[test]
fn a_chain_of_two_seeds_is_clean() {
    for order in [["sprout2", "sprout", "seed"], ["seed", "sprout2", "sprout"]] {
        let (code, kinds, stderr) = check(&["--check-data-csum", "--strict"], &order);
        assert_eq!(code, Some(0), "{order:?}: {kinds:?} {stderr}");
        assert!(only_mkfs_info(&kinds), "{order:?}: {kinds:?}");
    }
}

#[test]
fn a_sprout_without_its_seed_reports_the_missing_seed() {
    // btrfs check: "bad tree block ... error(s) found" (check-sprout-alone.txt); the kernel cannot
    // mount it either. The device item names the seed's fsid, the seed's devid is absent, and the
    // blocks still on it cannot be read.
    let (code, kinds, _) = check(&[], &["sprout"]);
    assert_eq!(code, Some(4));
    let want: BTreeMap<String, u64> = [
        ("btrfs.dev_item_fsid", 1),
        ("btrfs.device_missing", 1),
        ("btrfs.tree_block_unreadable", 1),
        (MKFS_INFO, 2),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(kinds, want);
    // The second sprout given only its first seed: the seed's own seed is missing.
    let (code, kinds, _) = check(&[], &["sprout2", "sprout"]);
    assert_eq!(code, Some(4));
    assert_eq!(kinds.get("btrfs.dev_item_fsid"), Some(&1), "{kinds:?}");
    assert_eq!(kinds.get("btrfs.device_missing"), Some(&1), "{kinds:?}");
}

#[test]
fn a_seed_alone_is_a_filesystem_of_its_own() {
    let (code, kinds, stderr) = check(&["--strict"], &["seed"]);
    assert_eq!(code, Some(0), "{kinds:?} {stderr}");
    assert!(only_mkfs_info(&kinds), "{kinds:?}");
}

#[test]
fn a_seed_of_another_filesystem_is_refused() {
    // Seeding, but not named by the sprout's chunk tree: a usage error, as for any path of
    // another filesystem.
    let (code, _, stderr) = check(&[], &["sprout", "seed", "other-seed"]);
    assert_eq!(code, Some(16), "{stderr}");
    assert!(stderr.contains("other-seed") && stderr.contains("belongs to another filesystem"), "{stderr}");
    // Not seeding at all: refused before the chunk tree is read.
    let demo = common::raw_image(&repo().join("test-images/btrfs/demo/demo.img.zst"));
    let r = ondisk_run([std::ffi::OsString::from("check"), members(&["sprout"])[0].clone().into(), demo.into()]);
    assert_eq!(r.code, Some(16), "{}", r.stderr);
    assert!(r.stderr.contains("belongs to another filesystem"), "{}", r.stderr);
}

#[test]
fn the_sprouts_dump_as_dump_tree_does() {
    for (golden, names) in [("dump-tree-sprout.txt.zst", &["sprout", "seed"][..]), ("dump-tree-sprout2.txt.zst", &["sprout2", "sprout", "seed"][..])] {
        let want = read_maybe_zst(&seed_dir().join(golden));
        // dump-tree's first line is its version banner; ondisk prints none.
        let want = want.splitn(2, |&b| b == b'\n').nth(1).unwrap_or_default();
        let mut args: Vec<std::ffi::OsString> = vec!["dump".into()];
        args.extend(members(names).into_iter().map(Into::into));
        let r = ondisk_run(&args);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let diff = common::textdiff::diff(want, &r.stdout);
        let first: Vec<String> = diff.changes.iter().take(20).map(|c| c.to_string()).collect();
        assert!(diff.changes.is_empty(), "{golden}: ondisk dump differs in {} lines:\n{}", diff.changes.len(), first.join("\n"));
    }
}
