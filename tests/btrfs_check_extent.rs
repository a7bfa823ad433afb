//! The extent tree, block group and device families on clean images and on the btrfs-progs
//! corpus. Their named corruptions are rows of the corruption matrix
//! (`test-images/src/btrfs_corrupt/extent.rs`, run by `tests/btrfs_corruptions.rs`).

mod common;

use ondisk_test_images::btrfs_corrupt::Base;
use std::collections::BTreeSet;

/// k-rich's own finding: free-space-tree leftovers of mkfs's temporary chunks, an info (see
/// tests/btrfs_check_csum.rs for why it is not an error).
const K_RICH_INFO: &str = "btrfs.free_space_orphan";

/// The kinds `ondisk check --json` reports (every severity).
fn kinds(paths: &[impl AsRef<std::ffi::OsStr>]) -> BTreeSet<String> {
    let run = common::ondisk_run(["check".as_ref(), "--json".as_ref()].into_iter().chain(paths.iter().map(AsRef::as_ref)));
    let out = String::from_utf8_lossy(&run.stdout);
    let summary: serde_json::Value = out.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|v| v["type"] == "summary").expect("summary");
    summary["kinds"].as_object().expect("kinds").keys().cloned().collect()
}

#[test]
fn clean_mkfs_image() {
    let Some((_dir, base)) = common::corrupt::clean_base(Base::MkfsFiles) else { return };
    assert_eq!(kinds(&base.paths), BTreeSet::new());
}

#[test]
fn k_rich_is_clean() {
    // Snapshots, reflinks, compressed extents, prealloc, FULL_BACKREF leaves: no findings but
    // k-rich's own info.
    let Some((_dir, base)) = common::corrupt::clean_base(Base::KRich) else { return };
    assert_eq!(kinds(&base.paths), BTreeSet::from([K_RICH_INFO.to_string()]));
}

/// The corpus FAIL images these families catch, with the kinds each must include (other
/// families may add theirs: 001's moved file extent also leaves csums without an extent).
///
/// 061: btrfs-progs 6.2 exits 0 on it, 6.19 reports "inline extent refs out of order". We
/// decide from the format: the kernel inserts inline refs sorted by type, then by offset (or
/// the data ref hash) descending (`lookup_inline_extent_backref` stops at the first smaller
/// one), and its tree-checker rejects any other order, so an out-of-order item is an error.
#[test]
fn corpus_images_caught() {
    let Some(shared) = common::shared_or_skip() else { return };
    let corpus = shared.join("corpus/btrfs-progs/fsck-tests");
    let cases: &[(&str, &[&str])] = &[
        ("001-bad-file-extent-bytenr/default_case.img", &["btrfs.extent_item_missing", "btrfs.extent_item_unreferenced"]),
        ("027-bad-extent-inline-ref-type/bad-extent-inline-ref-type.raw.xz", &["btrfs.inline_ref_bad"]),
        ("041-invalid-root-generation/default_case.img", &["btrfs.extent_generation"]),
        ("047-dev-bytes-used/default_case.img.xz", &["btrfs.dev_bytes_used"]),
        ("051-invalid-super-bytes-used/default.img.xz", &["btrfs.super_bytes_used"]),
        ("053-bad-metadata-level/default.img.xz", &["btrfs.metadata_level"]),
        ("055-super-num-devs-mismatch/default.raw.xz", &["btrfs.super_num_devices"]),
        ("061-out-of-order-inline-backref/btrfs_image.img.xz", &["btrfs.inline_ref_order"]),
    ];
    let mut bad = Vec::new();
    for (name, want) in cases {
        let got = kinds(&[corpus.join(name)]);
        eprintln!("{name:<70} {got:?}");
        if !want.iter().all(|k| got.contains(*k)) {
            bad.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
