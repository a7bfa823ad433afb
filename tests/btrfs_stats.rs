//! `ondisk stats` against the figures `btrfs check` prints ("total tree bytes", "total fs tree
//! bytes", "total extent tree bytes") for every kernel-written image.

mod common;
use common::shared_or_skip as shared;

use std::path::PathBuf;
use std::process::Command;


fn figure(check_out: &str, label: &str) -> Option<u64> {
    check_out.lines().find_map(|l| l.strip_prefix(label)?.trim().parse().ok())
}

#[test]
fn tree_bytes_match_btrfs_check() {
    let Some(shared) = shared() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(shared.join("images/btrfs")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for d in dirs {
        // btrfs check 6.2 cannot open k-squota; its 6.19 output has the figures.
        let check = ["check-ro.out", "check-devel.out"]
            .iter()
            .map(|f| std::fs::read_to_string(d.join(f)).unwrap_or_default())
            .find(|s| s.contains("total tree bytes"))
            .expect("a check output with figures");
        let mut members: Vec<PathBuf> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(".img.zst")).collect();
        members.sort();
        let o = Command::new(env!("CARGO_BIN_EXE_ondisk")).arg("stats").arg("--json").args(&members).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let (mut all, mut fs, mut extent) = (0, 0, 0);
        for l in String::from_utf8(o.stdout).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["type"] != "tree" {
                continue;
            }
            let (tree, bytes) = (v["tree"].as_u64().unwrap(), v["bytes"].as_u64().unwrap());
            // btrfs check leaves log trees out of its figures (they are not yet part of the
            // filesystem until replayed).
            if tree != u64::MAX - 5 {
                all += bytes;
            }
            // FS_TREE, subvolumes and snapshots, and the data reloc tree (-9) are "fs trees".
            if tree == 5 || (256..=u64::MAX - 255).contains(&tree) || tree == u64::MAX - 8 {
                fs += bytes;
            }
            if tree == 2 {
                extent += bytes;
            }
        }
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        eprintln!("{name:<20} tree {all} fs {fs} extent {extent}");
        assert_eq!(Some(all), figure(&check, "total tree bytes:"), "{name}: total tree bytes");
        assert_eq!(Some(fs), figure(&check, "total fs tree bytes:"), "{name}: total fs tree bytes");
        assert_eq!(Some(extent), figure(&check, "total extent tree bytes:"), "{name}: total extent tree bytes");
    }
}
