//! A deleted subvolume the cleaner is part way through dropping (btrfs-progs'
//! fsck-tests/021-partially-dropped-snapshot-case, the matrix's base `021-dropped-snapshot`:
//! the metadump restored with `btrfs-image -r`): root 258 has refs 0 and drop_progress
//! (257 EXTENT_DATA 405504) at drop_level 1. Everything left of that key has been dropped — the
//! leaf at slot 0 of its root node is already freed (zeros in the image) — and the rest still
//! holds references in the extent tree. btrfs check 6.2 and 6.19 both pass the image.
//!
//! ondisk walks what is left of the tree (from the slot holding drop_progress on), so the extent
//! tree's references must match exactly — no "fewer refs are fine while something is being
//! dropped" leniency. That moving drop_progress is caught is the corruption matrix's "dropped
//! subvolume" rows (`test-images/src/btrfs_corrupt/dropping.rs`).

mod common;

use common::corrupt::{check_base, clean_base};
use ondisk_test_images::btrfs_corrupt::Base;

#[test]
fn partly_dropped_snapshot_is_walked_from_drop_progress() {
    let Some((_dir, base)) = clean_base(Base::Dropped021) else { return };
    let found = check_base(&base, &[]);
    let kinds: Vec<(&str, &str)> = found.kinds.iter().map(|(k, (_, s))| (k.as_str(), s.as_str())).collect();
    // `btrfs-image -t 1 -r` writes the primary superblock only: the mirror at 64 MiB, inside
    // this 15 GiB sparse image, reads as zeros (a warning, as btrfs check's scan of mirrors
    // would say). With more restore threads the mirror is written now and then, a race in
    // btrfs-image (test-images' restore_metadump says which), and the warning is rightly gone.
    assert_eq!(kinds, [("btrfs.subvolume_dropping", "info"), ("btrfs.super_bad_magic", "warning")]);
}

/// Hostile root items: refs, drop_progress, drop_level, level and bytenr of k-rich's subvolume
/// roots set at random (seeded, re-checksummed so the walk believes them). Whatever they say, the
/// check must end on its own — no panic, no signal, no hang — with exit 0 or 4.
#[test]
fn hostile_drop_progress_never_panics_or_hangs() {
    use ondisk_test_images::btrfs_corrupt::image::{put32, put64, Get};
    let Some((dir, base)) = clean_base(Base::KRich) else { return };
    // Subvolume root items, from the clean base's dump.
    let roots: Vec<serde_json::Value> = base
        .records
        .iter()
        .filter(|v| v["tree"] == 1 && v["item_type"] == "ROOT_ITEM")
        .filter(|v| v.u("key.objectid").is_ok_and(|id| id == 5 || id >= 256))
        .cloned()
        .collect();
    assert!(roots.len() >= 3, "k-rich has subvolumes and snapshots");
    let mut rng = common::Rng(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next();
    let mut dropping = 0;
    for round in 0..40 {
        let rdir = dir.path().join(format!("round{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        let img = base.copy_to(&rdir).expect("a copy");
        let root = &roots[next() as usize % roots.len()];
        let pick = next();
        img.edit_item(root, |d| {
            // btrfs_root_item: bytenr 176, refs 216, drop_progress 220 (objectid, type,
            // offset), drop_level 237, level 238.
            if pick & 1 != 0 {
                put32(d, 216, 0);
            }
            let k = next();
            put64(d, 220, [0, 256, 257, k % 4096, u64::MAX][(k >> 20) as usize % 5]);
            d[228] = (next() % 256) as u8;
            put64(d, 229, next() % (1 << 20));
            d[237] = (next() % 10) as u8;
            if pick & 2 != 0 {
                d[238] = (next() % 10) as u8;
            }
            if pick & 4 != 0 {
                put64(d, 176, (next() % (1 << 32)) & !0xfff);
            }
        })
        .expect("edit the root item");
        let run = common::run_with_timeout(
            std::process::Command::new(common::ondisk()).arg("check").args(&img.paths),
            std::time::Duration::from_secs(120),
        );
        assert!(!run.timed_out, "round {round}: check hung");
        assert!(matches!(run.code, Some(0) | Some(4)), "round {round}: exit {:?}\n{}", run.code, run.stderr);
        dropping += usize::from(String::from_utf8_lossy(&run.stdout).contains("btrfs.subvolume_dropping"));
        let _ = std::fs::remove_dir_all(&rdir);
    }
    // The seed makes some rounds a drop in progress (refs 0 and a drop key): the path tested.
    assert!(dropping >= 8, "only {dropping} rounds walked a root being dropped");
}
