//! A device removed while it was absent, given beside its filesystem
//! (test-images/btrfs-removed: a three-device RAID1 that lost its third device, mounted
//! degraded, `btrfs device remove missing`, written to). The third image keeps a superblock of
//! the filesystem's fsid, devid 3 and an older generation, and no device item names it.
//!
//! The kernel drops such a device at mount (btrfs_free_extra_devids: it mounts the pair and
//! shows two devices). btrfs check 6.2, given it by scanning, counts its size and fails ("super
//! total bytes 536870912 smaller than real device(s) size 805306368"); without it, "no error
//! found" (check.txt). ondisk warns that the path is a removed device and checks the rest.

mod common;

use common::{raw_image, repo};
use ondisk_test_images::btrfs_corrupt::image::check;
use std::path::PathBuf;

fn dev(n: u32) -> PathBuf {
    raw_image(&repo().join(format!("test-images/btrfs-removed/dev{n}.img.zst")))
}

fn kinds(paths: &[PathBuf], args: &[&str]) -> (Option<i32>, Vec<(String, String)>) {
    let found = check(&common::corrupt::tools(), paths, args, &[]).expect("ondisk check");
    (found.code, found.kinds.into_iter().map(|(k, (_, sev))| (k, sev)).collect())
}

/// The first JSON Lines record of `ondisk ARGS` that `pick` accepts.
fn record(args: Vec<std::ffi::OsString>, pick: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let out = common::ondisk_run(args);
    assert_eq!(out.code, Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|v| pick(v)).expect("such a record")
}

#[test]
fn the_pair_alone_is_clean() {
    let (code, found) = kinds(&[dev(1), dev(2)], &[]);
    assert_eq!(code, Some(0));
    // mkfs's leftover free space entries (an info, as on every mkfs image of 6.2).
    assert_eq!(found, [("btrfs.free_space_orphan".into(), "info".into())]);
}

#[test]
fn a_removed_device_beside_it_is_a_warning_in_any_order() {
    for order in [[1, 2, 3], [3, 1, 2], [2, 3, 1]] {
        let paths: Vec<PathBuf> = order.iter().map(|&n| dev(n)).collect();
        let (code, found) = kinds(&paths, &[]);
        assert_eq!(code, Some(0), "{order:?}");
        assert_eq!(
            found,
            [("btrfs.device_removed".into(), "warning".into()), ("btrfs.free_space_orphan".into(), "info".into())],
            "{order:?}: nothing else, no total_bytes or stale-mirror complaint about the removed device"
        );
        let (strict, _) = kinds(&paths, &["--strict"]);
        assert_eq!(strict, Some(4), "{order:?}: --strict counts the warning");
    }
}

#[test]
fn the_warning_names_the_removed_path() {
    let args = vec!["check".into(), "--json".into(), dev(1).into(), dev(2).into(), dev(3).into()];
    let f = record(args, |v| v["kind"] == "btrfs.device_removed");
    assert_eq!(f["location"]["devid"], 3);
    assert!(f["location"]["device"].as_str().is_some_and(|d| d.ends_with("dev3.img")), "{f}");
    assert!(f["message"].as_str().is_some_and(|m| m.contains("generation 7 < 32")), "{f}");
}

#[test]
fn detect_names_the_removed_device_in_any_order() {
    for order in [[1, 2, 3], [3, 1, 2]] {
        let mut args = vec![std::ffi::OsString::from("detect"), "--json".into()];
        args.extend(order.iter().map(|&n| dev(n).into_os_string()));
        let set = record(args, |v| v["type"] == "set");
        // The members the newest superblock counts, not the removed device's own count of 3.
        assert_eq!(set["members"], 2, "{order:?}: {set}");
        assert_eq!(set["missing"], serde_json::json!([]), "{order:?}: {set}");
        let mut present: Vec<u64> = set["present"].as_array().expect("present").iter().filter_map(|v| v.as_u64()).collect();
        present.sort_unstable();
        assert_eq!(present, [1, 2], "{order:?}: {set}");
        assert_eq!(set["removed"][0]["devid"], 3, "{order:?}: {set}");
        assert!(set["removed"][0]["path"].as_str().is_some_and(|p| p.ends_with("dev3.img")), "{order:?}: {set}");
    }
}
