//! Clean images of a newer mkfs.btrfs ([`common::newer_progs`]: bookworm-backports' 6.14, which
//! .ci/run unpacks), in layouts the distribution's 6.2 cannot make: compressed extents
//! (`--compress`), subvolumes made from directories (`--subvol`), simple quotas; across node
//! sizes, checksums and features. Each image holds the mkfs matrix's source tree
//! (`tree_gen`) and a few sparse files (6.14's `--rootdir` keeps holes).
//!
//! Each must be clean to ondisk, file data checksums included (`--check-data-csum`: compressed
//! extents are checksummed as stored), with no warning but those its configuration lists, and
//! clean to the newer `btrfs check`.
//!
//! The same 24 layouts, with the same warnings, are clean with btrfs-progs 7.3 (Debian sid's
//! build run through sid's own loader), whose mkfs makes a block group tree by default.

mod common;

use common::corrupt::tools;
use ondisk_test_images::btrfs_corrupt::image::check;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A configuration: a name, mkfs options besides `-f -q --rootdir`, and the warnings (kind and
/// count) ondisk must give, each with why.
struct Config {
    name: &'static str,
    args: &'static [&'static str],
    warnings: &'static [(&'static str, u64)],
}

/// mkfs 6.14 makes the subvolumes of `--subvol` without their level-0 qgroups when quotas are on:
/// a mounted kernel lists no qgroup for them (`btrfs qgroup show`) and accounts nothing to them.
/// btrfs check 6.14 says nothing of it.
const NO_QGROUPS_FOR_SUBVOLUMES: &str = "btrfs.qgroup_missing";

const CONFIGS: &[Config] = &[
    Config { name: "defaults", args: &[], warnings: &[] },
    Config { name: "zstd", args: &["--compress", "zstd"], warnings: &[] },
    Config { name: "lzo", args: &["--compress", "lzo"], warnings: &[] },
    Config { name: "zlib-9", args: &["--compress", "zlib:9"], warnings: &[] },
    Config { name: "node4k-zstd", args: &["-n", "4k", "--compress", "zstd"], warnings: &[] },
    Config { name: "node64k-lzo", args: &["-n", "64k", "--compress", "lzo"], warnings: &[] },
    Config { name: "xxhash-zstd", args: &["--csum", "xxhash", "--compress", "zstd"], warnings: &[] },
    Config { name: "sha256-node4k", args: &["--csum", "sha256", "-n", "4k"], warnings: &[] },
    Config { name: "blake2-node64k-zlib", args: &["--csum", "blake2", "-n", "64k", "--compress", "zlib"], warnings: &[] },
    Config { name: "holes", args: &["-O", "^no-holes"], warnings: &[] },
    Config { name: "holes-zstd", args: &["-O", "^no-holes", "--compress", "zstd"], warnings: &[] },
    Config { name: "no-free-space-tree", args: &["-O", "^free-space-tree"], warnings: &[] },
    Config { name: "not-skinny", args: &["-O", "^skinny-metadata"], warnings: &[] },
    Config { name: "bgt-zstd", args: &["-O", "block-group-tree", "--compress", "zstd"], warnings: &[] },
    Config { name: "quota", args: &["-O", "quota"], warnings: &[] },
    Config { name: "squota-zstd", args: &["-O", "squota", "--compress", "zstd"], warnings: &[] },
    Config {
        name: "subvolumes",
        args: &["-u", "rw:wide", "-u", "ro:deep", "-u", "default:xattrs", "-u", "rw:symlinks", "--compress", "zstd"],
        warnings: &[],
    },
    Config { name: "default-ro-subvolume", args: &["-u", "default-ro:deep"], warnings: &[] },
    Config { name: "quota-subvolumes", args: &["-O", "quota", "-u", "rw:wide", "-u", "ro:deep"], warnings: &[(NO_QGROUPS_FOR_SUBVOLUMES, 2)] },
    Config { name: "squota-subvolumes", args: &["-O", "squota", "-u", "rw:wide"], warnings: &[(NO_QGROUPS_FOR_SUBVOLUMES, 1)] },
    Config { name: "mixed-zstd", args: &["-M", "--compress", "zstd"], warnings: &[] },
    Config { name: "dup-data", args: &["-m", "dup", "-d", "dup", "--compress", "lzo"], warnings: &[] },
    Config { name: "single", args: &["-m", "single", "-d", "single"], warnings: &[] },
    Config { name: "shrink-zstd15", args: &["--shrink", "--compress", "zstd:15"], warnings: &[] },
];

/// The matrix's source tree, and sparse files: a hole before data, between data and after it,
/// and a file that is one hole.
fn source(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src");
    ondisk_test_images::tree_gen::generate(&src).expect("source tree");
    let sparse = src.join("sparse");
    std::fs::create_dir(&sparse).expect("sparse dir");
    let write_at = |name: &str, pieces: &[(u64, usize)], len: u64| {
        let f = File::create(sparse.join(name)).expect("sparse file");
        for &(at, n) in pieces {
            std::os::unix::fs::FileExt::write_all_at(&f, &vec![0x5a; n], at).expect("write");
        }
        f.set_len(len).expect("set_len");
    };
    write_at("hole-first", &[(200 << 10, 8192)], 208 << 10);
    write_at("hole-between", &[(0, 4096), (1 << 20, 12288)], (1 << 20) + 12288);
    write_at("hole-last", &[(0, 8192)], 3 << 20);
    write_at("all-hole", &[], 10 << 20);
    src
}

#[test]
fn newer_mkfs_images_are_clean() {
    let Some(progs) = common::newer_progs() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let src = source(dir.path());
    let mut failed = Vec::new();
    for c in CONFIGS {
        let img = dir.path().join(format!("{}.img", c.name));
        File::create(&img).and_then(|f| f.set_len(512 << 20)).expect("image file");
        let mkfs = common::run_with_timeout(
            Command::new(progs.join("sbin/mkfs.btrfs")).args(["-f", "-q", "--rootdir"]).arg(&src).args(c.args).arg(&img),
            Duration::from_secs(120),
        );
        assert_eq!(mkfs.code, Some(0), "{}: mkfs.btrfs {:?}: {}", c.name, c.args, mkfs.stderr);
        let ours = check(&tools(), std::slice::from_ref(&img), &["--check-data-csum"], &[]).expect("ondisk check");
        let theirs = common::run_with_timeout(Command::new(progs.join("bin/btrfs")).args(["check", "--readonly"]).arg(&img), Duration::from_secs(120));
        let warnings: Vec<(&str, u64)> = ours.kinds.iter().filter(|(_, (_, sev))| sev != "info").map(|(k, (n, _))| (k.as_str(), *n)).collect();
        eprintln!("{:<22} ondisk exit {:?} {ours}; btrfs check exit {:?}", c.name, ours.code, theirs.code);
        if ours.code != Some(0) || warnings != c.warnings {
            failed.push(format!("{} ({:?}): ondisk exit {:?}, {ours}; expected warnings {:?}", c.name, c.args, ours.code, c.warnings));
        }
        if theirs.code != Some(0) {
            failed.push(format!("{} ({:?}): btrfs check exit {:?}: {}", c.name, c.args, theirs.code, theirs.stderr.lines().take(5).collect::<Vec<_>>().join(" | ")));
        }
        let _ = std::fs::remove_file(&img);
    }
    assert!(failed.is_empty(), "{} configurations are not clean:\n{}", failed.len(), failed.join("\n"));
}
