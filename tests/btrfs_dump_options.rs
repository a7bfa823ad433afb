//! dump-tree's `--csum-items` and `--hide-names`, live against btrfs-progs on the demo image.

mod common;

use std::process::Command;

#[test]
fn csum_items_and_hide_names_match_dump_tree() {
    if !common::have("btrfs") {
        return;
    }
    let img = common::raw_image(&common::repo().join("test-images/btrfs/demo/demo.img.zst"));
    for (flag, tree) in [("--csum-items", "csum"), ("--hide-names", "fs")] {
        let progs = Command::new("btrfs").args(["inspect-internal", "dump-tree", flag, "-t", tree]).arg(&img).output().unwrap();
        let ours = Command::new(common::ondisk()).args(["dump", flag, "--tree", tree]).arg(&img).output().unwrap();
        assert_eq!(ours.status.code(), Some(0));
        // dump-tree's first line is its version banner.
        let progs: Vec<&[u8]> = progs.stdout.split(|&b| b == b'\n').skip(1).collect();
        let ours: Vec<&[u8]> = ours.stdout.split(|&b| b == b'\n').collect();
        assert!(progs.len() > 10, "{flag}: dump-tree printed little");
        assert_eq!(ours, progs, "{flag} --tree {tree}");
    }
}
