//! The command line as a user meets it: exit codes, one-line errors, detection, assertions.

mod common;
use common::shared_or_skip as shared;

use std::path::PathBuf;
use std::process::{Command, Output};

fn ondisk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ondisk")).args(args).output().expect("run ondisk")
}


#[test]
fn usage_errors_exit_16() {
    assert_eq!(ondisk(&["dump"]).status.code(), Some(16));
    assert_eq!(ondisk(&["no-such-subcommand"]).status.code(), Some(16));
    assert_eq!(ondisk(&["--help"]).status.code(), Some(0));
}

#[test]
fn unreadable_paths_exit_8_with_one_line() {
    let o = ondisk(&["detect", "/nonexistent/image"]);
    assert_eq!(o.status.code(), Some(8));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/image"));

    let dir = tempfile_dir();
    let empty = dir.join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    let zeros = dir.join("zeros.img");
    std::fs::write(&zeros, vec![0u8; 1 << 20]).unwrap();
    for p in [&empty, &zeros, &dir] {
        let o = ondisk(&["super", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(8), "{}", p.display());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("ondisk-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn detect_names_all_three_filesystems_and_set_members() {
    let Some(shared) = shared() else { return };
    let img = |p: &str| shared.join("images").join(p).to_string_lossy().into_owned();
    let o = ondisk(&[
        "detect",
        "--json",
        &img("btrfs/k-raid5/k-raid5.dev1.img.zst"),
        &img("btrfs/k-raid5/k-raid5.dev3.img.zst"),
        &img("hammer/v7-2vol/v7_2vol_vol0.img.zst"),
        &img("bcachefs/a-empty/a.img.zst"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let devices: Vec<_> = lines.iter().filter(|l| l["type"] == "device").collect();
    assert_eq!(devices.iter().map(|d| d["fs"].as_str().unwrap()).collect::<Vec<_>>(), ["btrfs", "btrfs", "hammer", "bcachefs"]);
    assert_eq!(devices[0]["uuid"], "00000000-0000-4000-8000-000000000113");
    assert_eq!(devices[2]["label"], "TWOVOL");
    assert_eq!(devices[2]["version"], "7");
    assert_eq!(devices[3]["version"], "1.39");
    let raid5 = lines.iter().find(|l| l["type"] == "set" && l["fs"] == "btrfs").unwrap();
    assert_eq!(raid5["present"], serde_json::json!([1, 3]));
    assert_eq!(raid5["missing"], serde_json::json!([2]));
    let hammer = lines.iter().find(|l| l["type"] == "set" && l["fs"] == "hammer").unwrap();
    assert_eq!(hammer["missing"], serde_json::json!([1]));
}

/// A sprout's num_devices counts its seed filesystems' devices, which carry other fsids: detect
/// reads the sprout's chunk tree to find them among the paths given (before, a sprout given
/// with its seed was listed as missing a member).
#[test]
fn a_sprout_set_counts_its_seed_devices() {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-images/btrfs-seed");
    let p = |n: &str| seeds.join(format!("{n}.img.zst")).to_str().unwrap().to_string();
    let sets = |paths: &[String]| -> Vec<serde_json::Value> {
        let mut args = vec!["detect", "--json"];
        args.extend(paths.iter().map(String::as_str));
        let o = ondisk(&args);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap().lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|l| l["type"] == "set").collect()
    };
    let sprout2 = "b5696e67-05b0-46e4-bf27-868326df2001";
    let find = |v: &[serde_json::Value], uuid: &str| v.iter().find(|s| s["uuid"] == uuid).cloned().unwrap();

    // sprout2 grew from sprout (devid 2), which grew from seed (devid 1); only sprout given.
    let s = find(&sets(&[p("sprout2"), p("sprout")]), sprout2);
    assert_eq!(s["members"], 3);
    assert_eq!(s["present"], serde_json::json!([3, 2]));
    assert_eq!(s["missing"], serde_json::json!([1]));
    assert_eq!(s["seeds"][0]["devid"], 1);
    assert_eq!(s["seeds"][0]["fsid"], "5eed0000-0000-4000-8000-00000000000a");
    assert!(s["seeds"][0].get("path").is_none(), "{s}");
    assert_eq!(s["seeds"][1]["devid"], 2);
    assert_eq!(s["seeds"][1]["path"], p("sprout"));

    let s = find(&sets(&[p("seed"), p("sprout2"), p("sprout")]), sprout2);
    assert_eq!(s["missing"], serde_json::json!([]));
    assert_eq!(s["present"].as_array().unwrap().len(), 3);

    // A seed of another filesystem does not stand in for the sprout's seed device.
    let s = find(&sets(&[p("sprout"), p("other-seed")]), "61228c3d-017e-488a-bfb7-b8cf15f0dc37");
    assert_eq!(s["missing"], serde_json::json!([1]));

    // A RAID1 seed: two devices of one seed filesystem, one of them given.
    let more = seeds.with_file_name("btrfs-seed-more");
    let q = |n: &str| more.join(format!("{n}.img.zst")).to_str().unwrap().to_string();
    let s = find(&sets(&[q("raid1-sprout"), q("raid1-seed.dev1")]), "99a663cf-59a5-4537-b8c3-157b946b4592");
    assert_eq!(s["present"], serde_json::json!([3, 1]));
    assert_eq!(s["missing"], serde_json::json!([2]));
    assert_eq!(s["seeds"].as_array().unwrap().len(), 2);

    let o = ondisk(&["detect", &p("sprout"), &p("seed")]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("2 of 2 members present (2, 1); missing: none; devid 1 is on seed 5eed0000-0000-4000-8000-00000000000a"),
        "{text}"
    );
}

#[test]
fn metadumps_are_detected_in_place() {
    let Some(shared) = shared() else { return };
    let p = shared.join("corpus/btrfs-progs/fsck-tests/001-bad-file-extent-bytenr/default_case.img");
    let o = ondisk(&["detect", "--json", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8(o.stdout).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(v["fs"], "btrfs");
    assert_eq!(v["details"]["container"], "btrfs-image metadump");
}
