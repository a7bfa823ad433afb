//! Seed devices and sprouts: a filesystem grown with `btrfs device add` on a mounted seed keeps
//! the seed's blocks, which carry the seed's fsid, on the seed's device. The images are the
//! committed chain of `test-images/btrfs-seed/` (made by its `make.sh` through the kernel), with
//! btrfs-progs 6.2's `check` and `dump-tree` outputs beside them.
//!
//! The paths may come in any order: the newest superblock names the filesystem, and every other
//! path must be a seed its chunk tree names (devid, device uuid, fsid).
//!
//! `test-images/btrfs-seed-more/` adds a seed of two devices (RAID1 data and metadata) and its
//! sprout, made the same way by its own `make.sh`.

mod common;
use common::{ondisk_run, read_maybe_zst, repo};

use std::collections::BTreeMap;
use std::path::PathBuf;

fn seed_dir() -> PathBuf {
    repo().join("test-images/btrfs-seed")
}

fn more_dir() -> PathBuf {
    repo().join("test-images/btrfs-seed-more")
}

fn members(names: &[&str]) -> Vec<PathBuf> {
    members_in(&seed_dir(), names)
}

fn members_in(dir: &std::path::Path, names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| common::raw_image(&dir.join(format!("{n}.img.zst")))).collect()
}

/// `ondisk check --json [EXTRA] MEMBERS`: exit code and the summary's kinds with their counts.
fn check(extra: &[&str], names: &[&str]) -> (Option<i32>, BTreeMap<String, u64>, String) {
    let (code, kinds, _, stderr) = check_in(&seed_dir(), extra, names);
    (code, kinds, stderr)
}

/// `check` on the members of another folder, with the findings' JSON objects too.
fn check_in(dir: &std::path::Path, extra: &[&str], names: &[&str]) -> (Option<i32>, BTreeMap<String, u64>, Vec<serde_json::Value>, String) {
    let mut args: Vec<std::ffi::OsString> = vec!["check".into(), "--json".into()];
    args.extend(extra.iter().map(Into::into));
    args.extend(members_in(dir, names).into_iter().map(Into::into));
    let r = ondisk_run(&args);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&r.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let kinds = lines
        .iter()
        .find(|v| v["type"] == "summary")
        .and_then(|s| s["kinds"].as_object().cloned())
        .map(|m| m.into_iter().map(|(k, v)| (k, v.as_u64().unwrap_or(0))).collect())
        .unwrap_or_default();
    let findings = lines.into_iter().filter(|v| v["type"] == "finding").collect();
    (r.code, kinds, findings, r.stderr)
}

fn kinds_of(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
    list.iter().map(|&(k, n)| (k.to_string(), n)).collect()
}

/// Every order of a few paths.
fn permutations<'n>(names: &[&'n str]) -> Vec<Vec<&'n str>> {
    if names.len() <= 1 {
        return vec![names.to_vec()];
    }
    let mut all = Vec::new();
    for (i, first) in names.iter().enumerate() {
        let mut rest = names.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

/// `ondisk dump MEMBERS` against a dump-tree golden, line for line after its version banner.
fn assert_dumps_as(golden: &std::path::Path, members: Vec<PathBuf>) {
    let want = read_maybe_zst(golden);
    // dump-tree's first line is its version banner; ondisk prints none.
    let want = want.splitn(2, |&b| b == b'\n').nth(1).unwrap_or_default();
    let mut args: Vec<std::ffi::OsString> = vec!["dump".into()];
    args.extend(members.into_iter().map(Into::into));
    let r = ondisk_run(&args);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let diff = common::textdiff::diff(want, &r.stdout);
    let first: Vec<String> = diff.changes.iter().take(20).map(|c| c.to_string()).collect();
    assert!(diff.changes.is_empty(), "{}: ondisk dump differs in {} lines:\n{}", golden.display(), diff.changes.len(), first.join("\n"));
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
        assert_dumps_as(&seed_dir().join(golden), members(names));
    }
}

// A seed of two devices: filesystem R, made by mkfs with `-d raid1 -m raid1` on two devices,
// written to, then `btrfstune -S 1`; its sprout S is R mounted with both devices and grown onto a
// third (devid 3), written to: new chunks are single on devid 3, R's RAID1 chunks stay on devids 1
// and 2 and still hold data and the UUID tree's leaf S reads.
const RAID1_SEED: [&str; 2] = ["raid1-seed.dev1", "raid1-seed.dev2"];
const RAID1_SPROUT: &str = "raid1-sprout";

#[test]
fn btrfs_check_calls_the_raid1_sprout_clean() {
    let golden = |name: &str| String::from_utf8(read_maybe_zst(&more_dir().join(name))).expect("utf-8");
    // The oracle: btrfs check 6.2 with both seed devices present as loop devices.
    let text = golden("check-raid1-sprout.txt");
    assert!(text.contains("no error found"), "btrfs check did not call it clean:\n{text}");
    // With either seed device absent it reads every block from the other mirror and says nothing
    // of the absent device: its only ERROR line is about scanning the detached loop device.
    for name in ["check-raid1-sprout-without-dev1.txt", "check-raid1-sprout-without-dev2.txt"] {
        let text = golden(name);
        assert!(text.contains("no error found"), "{name}:\n{text}");
        let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("ERROR")).collect();
        assert_eq!(errors, ["ERROR: cannot scan LOOP: Input/output error"], "{name}");
    }
    // The kernel (6.18 when the images were made) mounts that sprout neither plainly nor degraded.
    let mount = golden("mount-raid1-sprout-without-dev2.txt");
    assert_eq!(mount.matches("(exit 32)").count(), 2, "{mount}");
    // The METADATA_UUID seed asked for beside it cannot be made: btrfstune refuses every order.
    let tune = golden("btrfstune-metadata-uuid.txt");
    for refusal in ["SEED flag cannot be changed on a metadata-uuid changed fs", "cannot set metadata UUID on a seed device", "not allowed to set both seeding flag and uuid metadata"] {
        assert!(tune.contains(refusal), "{refusal}:\n{tune}");
    }
}

#[test]
fn a_raid1_seed_sprout_is_clean_in_every_order() {
    let names = [RAID1_SPROUT, RAID1_SEED[0], RAID1_SEED[1]];
    let orders = permutations(&names);
    assert_eq!(orders.len(), 6);
    for order in &orders {
        for extra in [&[][..], &["--check-data-csum"][..]] {
            let (code, kinds, _, stderr) = check_in(&more_dir(), extra, order);
            assert_eq!(code, Some(0), "{order:?} {extra:?}: {kinds:?} {stderr}");
            assert!(only_mkfs_info(&kinds), "{order:?} {extra:?}: findings beyond mkfs's info: {kinds:?}");
        }
    }
    // Every copy of every tree block, the seed's two mirrors included, and strict.
    let (code, kinds, _, stderr) = check_in(&more_dir(), &["--all-copies", "--check-data-csum", "--strict"], &names);
    assert_eq!(code, Some(0), "{kinds:?} {stderr}");
    assert!(only_mkfs_info(&kinds), "{kinds:?}");
    // The seed alone is a clean two-device filesystem of its own.
    let (code, kinds, _, stderr) = check_in(&more_dir(), &["--check-data-csum", "--strict"], &RAID1_SEED);
    assert_eq!(code, Some(0), "{kinds:?} {stderr}");
    assert!(only_mkfs_info(&kinds), "{kinds:?}");
}

#[test]
fn the_raid1_sprout_dumps_as_dump_tree_does() {
    let golden = more_dir().join("dump-tree-raid1-sprout.txt.zst");
    for order in [[RAID1_SPROUT, RAID1_SEED[0], RAID1_SEED[1]], [RAID1_SEED[1], RAID1_SEED[0], RAID1_SPROUT]] {
        assert_dumps_as(&golden, members_in(&more_dir(), &order));
    }
    // One mirror is enough to read every block the dump prints.
    for seed in RAID1_SEED {
        assert_dumps_as(&golden, members_in(&more_dir(), &[RAID1_SPROUT, seed]));
    }
}

/// The RAID1 sprout with one of its two seed devices absent.
///
/// From the format: every chunk of the seed is RAID1 with one stripe on each seed device, so every
/// tree block and data sector the sprout uses on the seed has a copy on the device given, and the
/// device item of the absent device names the seed's fsid, which the device given carries. Nothing
/// on disk is wrong and nothing is unreadable; what is wrong is the set of paths: one device the
/// chunk stripes name was not given. That is `btrfs.device_missing` (a warning) and nothing else,
/// as for any RAID1 filesystem missing one member (`test-images/btrfs/raid1` with one device);
/// `--check-data-csum` verifies the seed's data from the mirror present and adds nothing.
///
/// btrfs check 6.2 on the same input (check-raid1-sprout-without-dev{1,2}.txt): "no error found",
/// and no word about the absent device. They agree: no errors; ondisk also warns of the device.
///
/// The kernel (6.18, mount-raid1-sprout-without-dev2.txt) mounts it neither way: plainly, "devid 2
/// uuid ... is missing" and ENOENT, as for any filesystem missing a device; with `-o degraded`,
/// the same line as a warning, then "failed to read chunk tree: -22". Our reading of read_one_dev:
/// for a device of a seed filesystem it compares the device item's generation with the device's
/// own, and the placeholder made for a missing device has generation 0. That is the kernel's
/// limit with missing seed devices, not a fault of these bytes: given both seed devices it mounts.
#[test]
fn a_raid1_sprout_missing_one_seed_device_only_warns() {
    let want = kinds_of(&[("btrfs.device_missing", 1), (MKFS_INFO, 3)]);
    for (present, absent_devid) in [(RAID1_SEED[0], 2), (RAID1_SEED[1], 1)] {
        for order in [[RAID1_SPROUT, present], [present, RAID1_SPROUT]] {
            for extra in [&[][..], &["--check-data-csum"][..], &["--all-copies"][..]] {
                let (code, kinds, findings, stderr) = check_in(&more_dir(), extra, &order);
                assert_eq!(code, Some(0), "{order:?} {extra:?}: {kinds:?} {stderr}");
                assert_eq!(kinds, want, "{order:?} {extra:?}");
                let missing: Vec<&serde_json::Value> = findings.iter().filter(|f| f["kind"] == "btrfs.device_missing").collect();
                assert_eq!(missing.len(), 1);
                assert_eq!(missing[0]["location"]["device"], absent_devid, "{order:?}: {}", missing[0]);
            }
        }
    }
    // Both seed devices absent: as for the one-device seed, their device items name a seed that
    // was not given, and the block only the seed holds (the UUID tree's leaf) cannot be read.
    let (code, kinds, _, _) = check_in(&more_dir(), &[], &[RAID1_SPROUT]);
    assert_eq!(code, Some(4));
    assert_eq!(
        kinds,
        kinds_of(&[("btrfs.dev_item_fsid", 2), ("btrfs.device_missing", 2), ("btrfs.tree_block_unreadable", 1), (MKFS_INFO, 3)])
    );
}
