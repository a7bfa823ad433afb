//! The csum tree, free space and `--check-data-csum` families on clean images. Their named
//! corruptions are rows of the corruption matrix (`test-images/src/btrfs_corrupt/csum.rs`, run
//! by `tests/btrfs_corruptions.rs`).

mod common;

use ondisk_test_images::btrfs_corrupt::Base;
use serde_json::Value;

/// btrfs-progs 6.19 prints "Space key logical 1048576 length 4194304 has no corresponding block
/// group" for these kernel-made images, 6.2 calls them clean. The entries are mkfs's: its
/// temporary bootstrap chunks were removed but their free space tree entries left behind. The
/// kernel reads free space per existing block group and allocates new chunks past the highest
/// chunk end, so the entries are never used: worth knowing (info), not a fault — every image
/// mkfs.btrfs 6.2 makes has them, and `check --strict` in a CI loop must pass on those.
#[test]
fn fst_leftovers_of_mkfs_bootstrap_chunks_are_info() {
    let Some((_dir, base)) = common::corrupt::clean_base(Base::KRich) else { return };
    let found = common::corrupt::check_base(&base, &[]);
    let kinds: Vec<&str> = found.kinds.keys().map(String::as_str).collect();
    assert_eq!((found.errors, found.warnings, kinds), (0, 0, vec!["btrfs.free_space_orphan"]));
    // misc-tests/051's metadump (made by mkfs 6.x, the image 6.19 prints the line for).
    let Some(s) = common::shared_or_skip() else { return };
    let md = s.join("corpus/btrfs-progs/misc-tests/051-warning-rw-subvol-received-uuid/subvol-rw-recv.img");
    let run = common::ondisk_run(["check".as_ref(), "--json".as_ref(), md.as_os_str()]);
    let sum: Value = String::from_utf8_lossy(&run.stdout).lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| v["type"] == "summary").expect("summary");
    assert_eq!((sum["errors"].as_u64(), sum["warnings"].as_u64(), sum["kinds"]["btrfs.free_space_orphan"].as_u64()), (Some(0), Some(0), Some(2)));
}
