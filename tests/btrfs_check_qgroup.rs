//! The quota groups family against its oracles: the counts we compute equal `btrfs check
//! --qgroup-report`'s on the shared images that have qgroups, and the clean images report no
//! qgroup finding. The named corruptions of the quota tree are rows of the corruption matrix
//! (`test-images/src/btrfs_corrupt/qgroup.rs`, run by tests/btrfs_corruptions.rs).
//!
//! Images: k-rich (traditional qgroups, snapshots, reflinks, compression, a level-1 qgroup),
//! k-squota (simple quotas: btrfs-progs 6.2 cannot open it; 6.19's check found no qgroup
//! difference, so its own INFO items are the oracle) and the `mkfs.btrfs -R quota --rootdir`
//! image — the matrix's bases — and the corpus PASS image fsck-tests/023-qgroup-stack-overflow,
//! decompressed to a temp dir.

mod common;

use common::corrupt::{check_base, clean_base};
use ondisk_test_images::btrfs_corrupt::image::BaseImage;
use ondisk_test_images::btrfs_corrupt::Base;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const QUOTA_TREE: u64 = 8;
const LEVEL1: u64 = 1 << 48;

/// Decompresses a shared `.xz` image into `dir`, or None after a SKIP line.
fn unxz(rel: &str, dir: &Path) -> Option<PathBuf> {
    let src = common::shared_or_skip()?.join(rel);
    if !src.exists() {
        assert!(!common::required(), "{} is required here", src.display());
        eprintln!("SKIP: {} is not present", src.display());
        return None;
    }
    let dst = dir.join("fs.img");
    let ok = common::have("xz")
        && Command::new("xz").args(["-d", "-c"]).arg(&src).stdout(std::fs::File::create(&dst).unwrap()).status().is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP: could not decompress {}", src.display());
        return None;
    }
    Some(dst)
}

/// The kinds a clean base reports with its own baseline taken out (k-rich's free space entries
/// mkfs left outside any block group, an info): none may be left.
fn assert_no_qgroup_finding(name: &str, base: &BaseImage) {
    let found = check_base(base, &[]);
    let kinds: Vec<&String> = found.kinds.keys().filter(|k| *k != "btrfs.free_space_orphan").collect();
    assert!(kinds.is_empty(), "{name}: the clean image reports {kinds:?}");
}

/// (rfer, rfer_cmpr, excl, excl_cmpr) per qgroup id.
type Table = BTreeMap<u64, [u64; 4]>;

fn ours(img: &Path) -> Table {
    let set = ondisk::image::DeviceSet::open(&[img.to_path_buf()], Default::default()).expect("open");
    let fs = ondisk::btrfs::fs::Filesystem::open(&set).expect("filesystem");
    let (counts, _) = ondisk::btrfs::check::qgroup::computed_counts(&fs);
    counts.iter().map(|(&id, c)| (id, [c.rfer, c.rfer_cmpr, c.excl, c.excl_cmpr])).collect()
}

/// The "our:" counts `btrfs check --readonly --qgroup-report` prints for each qgroup.
fn progs(img: &Path) -> Table {
    let out = Command::new("btrfs").args(["check", "--readonly", "--qgroup-report"]).arg(img).output().expect("btrfs check");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut t = Table::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Counts for qgroup id: ") {
            let q = rest.split_whitespace().next().unwrap();
            let (l, s) = q.split_once('/').unwrap();
            id = Some((l.parse::<u64>().unwrap() << 48) | s.parse::<u64>().unwrap());
        } else if let (Some(id), Some(rest)) = (id, line.strip_prefix("our:")) {
            let n: Vec<u64> = rest.split_whitespace().filter_map(|w| w.parse().ok()).collect();
            let e = t.entry(id).or_insert([0; 4]);
            if rest.contains("referenced") {
                e[0] = n[0];
                e[1] = n[1];
            } else {
                e[2] = n[0];
                e[3] = n[1];
            }
        }
    }
    t
}

fn show(name: &str, t: &Table) {
    for (id, c) in t {
        eprintln!("{name}: qgroup {}/{}: rfer {} rfer_cmpr {} excl {} excl_cmpr {}", id >> 48, id & (LEVEL1 - 1), c[0], c[1], c[2], c[3]);
    }
}

fn compare_with_progs(name: &str, img: &Path) {
    let ours = ours(img);
    show(&format!("{name} ours"), &ours);
    assert!(!ours.is_empty(), "{name}: no counts computed");
    if !common::have("btrfs") {
        return;
    }
    let theirs = progs(img);
    show(&format!("{name} btrfs check"), &theirs);
    assert_eq!(ours, theirs, "{name}: our counts vs btrfs check --qgroup-report");
}

#[test]
fn counts_equal_btrfs_check_qgroup_report() {
    let Some((_dir, rich)) = clean_base(Base::KRich) else { return };
    compare_with_progs("k-rich", &rich.paths[0]);
    assert_no_qgroup_finding("k-rich", &rich);
    let dir = tempfile::tempdir().expect("tempdir");
    let rel = "corpus/btrfs-progs/fsck-tests/023-qgroup-stack-overflow/quota_balance_loop_backref.raw.xz";
    let Some(img) = unxz(rel, dir.path()) else { return };
    compare_with_progs("023", &img);
}

/// Needs only mkfs.btrfs (not ../shared): a fresh clone runs it too.
#[test]
fn mkfs_quota_image_counts_equal_btrfs_check() {
    let Some((_dir, base)) = clean_base(Base::MkfsQuota) else { return };
    compare_with_progs("mkfs -R quota", &base.paths[0]);
    assert_no_qgroup_finding("mkfs -R quota", &base);
}

/// The INFO items of the quota tree, per qgroup id.
fn info_items(base: &BaseImage) -> Table {
    base.records
        .iter()
        .filter(|v| v["tree"] == QUOTA_TREE && v["item_type"] == "QGROUP_INFO")
        .map(|v| {
            let f = |n: &str| v[n].as_u64().unwrap();
            (v["key"]["offset"].as_u64().unwrap(), [f("referenced"), f("referenced_compressed"), f("exclusive"), f("exclusive_compressed")])
        })
        .collect()
}

#[test]
fn simple_quota_counts_equal_the_items() {
    let Some((_dir, base)) = clean_base(Base::KSquota) else { return };
    let ours = ours(&base.paths[0]);
    show("k-squota ours", &ours);
    // btrfs-progs 6.19 found no qgroup difference on this image, so the items are the oracle.
    // Simple quotas do not maintain the compressed fields: only rfer and excl are computed.
    let items = info_items(&base);
    assert_eq!(ours.keys().collect::<Vec<_>>(), items.keys().collect::<Vec<_>>());
    for (id, c) in &ours {
        let i = items[id];
        assert_eq!((c[0], c[2]), (i[0], i[2]), "k-squota qgroup {id:#x} rfer/excl");
        assert!(c[0] > 0, "k-squota qgroup {id:#x} charged nothing");
    }
    assert_no_qgroup_finding("k-squota", &base);
}
