//! The inode checks' shared-subtree summaries (src/btrfs/check/inode/summary.rs) may change the
//! time a check takes, never what it finds. On test-images/btrfs-snapshots (a subvolume of
//! three levels and 17 snapshots sharing level-1 nodes; btrfs check passes it), clean and with
//! seeded damage to its subvolume blocks, `ondisk check --json` prints the same findings, in
//! the same order, with summaries as with `ONDISK_SHARED_SUMMARIES=off`.
//!
//! But for one case, which the summaries' docs name: a tree whose keys the walk found out of
//! order (`key_order`, or a pointer to a block that starts elsewhere, `first_key_mismatch`) can
//! hold an inode's items both inside a shared subtree and outside it. There, the inode findings
//! may differ; everything else, and the exit code, may not.

mod common;

use common::corrupt::tools;
use common::mutate;
use ondisk_test_images::btrfs_corrupt::image::{BaseImage, Copies, HEADER, ITEM};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn image() -> BaseImage {
    let raw = common::raw_image(&common::repo().join("test-images/btrfs-snapshots/fs.img.zst"));
    BaseImage::open(&tools(), vec![raw]).expect("the snapshots image")
}

/// One check: exit code, stdout, and the trace line's four counts (made, read item by item,
/// applied, leaves not read) when summaries are on.
struct Checked {
    code: Option<i32>,
    stdout: String,
    trace: Option<[u64; 4]>,
}

fn check(paths: &[PathBuf], summaries: bool, what: &str) -> Checked {
    let mode = if summaries { "trace" } else { "off" };
    let run = common::run_with_timeout(
        Command::new(common::ondisk()).args(["check", "--json"]).args(paths).env("ONDISK_SHARED_SUMMARIES", mode),
        Duration::from_secs(120),
    );
    assert!(!run.timed_out, "{what}: check hung");
    assert!(run.code.is_some_and(|c| [0, 4, 8].contains(&c)), "{what}: exit {:?}\n{}", run.code, run.stderr);
    let trace = run.stderr.lines().find_map(|l| l.strip_prefix("shared subtrees: ")).map(|l| {
        let n: Vec<u64> = l.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
        [n[0], n[1], n[2], n[3]]
    });
    Checked { code: run.code, stdout: String::from_utf8_lossy(&run.stdout).into_owned(), trace }
}

/// The kinds of the inode and directory family, and the info that counts the inode findings
/// left out in lost subtrees.
const INODE_KINDS: &[&str] = &[
    "no_inode_item", "link_count_wrong", "dir_invalid_nlink", "no_orphan_item", "root_dir_bad", "invalid_inode_mode",
    "invalid_inode_generation", "odd_inode_flags", "nbytes_wrong", "dir_isize_wrong", "inline_ram_bytes_wrong",
    "inline_extent_too_large", "bad_file_extent", "file_extent_overlap", "file_extent_discount", "odd_dir_item",
    "odd_file_extent", "no_dir_item", "no_dir_index", "no_inode_ref", "dir_index_mismatch", "filetype_mismatch",
    "dup_dir_index", "dup_filename", "name_hash_mismatch", "fs_item_malformed", "unknown_key", "lost_subtree_echoes",
];

/// The finding lines of a check's output that are not inode findings (nor the summary line).
fn other_findings(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.contains("\"type\":\"finding\""))
        .filter(|l| !INODE_KINDS.iter().any(|k| l.contains(&format!("\"kind\":\"btrfs.{k}\""))))
        .collect()
}

/// The first line where two outputs differ, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let (mut x, mut y) = (a.lines(), b.lines());
    loop {
        match (x.next(), y.next()) {
            (Some(l), Some(r)) if l == r => continue,
            (l, r) => return format!("with summaries: {l:?}\nwithout:        {r:?}"),
        }
    }
}

#[test]
fn summaries_are_made_and_used_on_a_clean_image_and_change_nothing() {
    let img = image();
    let on = check(&img.paths, true, "clean");
    let off = check(&img.paths, false, "clean");
    assert_eq!(on.code, Some(0), "the image is clean (btrfs check passes it: check.txt)\n{}", on.stdout);
    assert_eq!(on.stdout, off.stdout, "{}", first_difference(&on.stdout, &off.stdout));
    let [made, refused, applied, skipped] = on.trace.expect("the trace line");
    assert!(made > 0 && applied > 0 && skipped > 0, "summaries made {made}, applied {applied}, leaves not read {skipped}");
    assert_eq!(refused, 0, "a clean image has no subtree with findings");
    assert!(off.trace.is_none());
}

/// Seeded damage to the blocks of subvolume trees — shared ones three times in four — then
/// both checks. Half the rounds overwrite bytes in a leaf's item data (inode fields, names,
/// refs, file extents: what the inode checks read), the rest anywhere in the first kilobyte
/// (headers, keys, pointers). Every block is re-checksummed so that the parsers see the edits.
#[test]
fn summaries_change_nothing_on_damaged_snapshots() {
    let (seed, rounds) = mutate::campaign(0x5eed_5a4e, 60);
    let img = image();
    // Subvolume blocks, and how many trees reach each.
    let mut trees: BTreeMap<u64, (u64, u64, u64)> = BTreeMap::new();
    for v in img.records.iter().filter(|v| v["type"] == "node" && v["tree"].as_u64().is_some_and(|t| (256..1 << 48).contains(&t))) {
        let (Some(bytenr), Some(level), Some(free)) = (v["bytenr"].as_u64(), v["level"].as_u64(), v["free_space"].as_u64()) else { continue };
        let e = trees.entry(bytenr).or_insert((0, level, free));
        e.0 += 1;
    }
    let shared: Vec<u64> = trees.iter().filter(|(_, e)| e.0 > 1).map(|(b, _)| *b).collect();
    let own: Vec<u64> = trees.iter().filter(|(_, e)| e.0 == 1).map(|(b, _)| *b).collect();
    assert!(shared.len() > 50 && !own.is_empty(), "{} shared and {} unshared subvolume blocks", shared.len(), own.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = common::Rng(seed);
    let (mut errors, mut refused, mut applied, mut inode_differs) = (0, 0, 0, 0);
    for round in 0..rounds {
        let rdir = dir.path().join(format!("r{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        let copy = img.copy_to(&rdir).expect("a copy");
        let pool = if rng.below(4) == 0 { &own } else { &shared };
        let block = pool[rng.below(pool.len() as u64) as usize];
        let (_, level, free) = trees[&block];
        let nodesize = img.nodesize;
        let edits: Vec<(usize, u8)> = if level == 0 && rng.below(2) == 0 {
            // Item data lies at the end of a leaf, after its free space.
            let nritems = (nodesize as u64 - HEADER as u64 - free) / ITEM as u64;
            let data_start = (HEADER as u64 + nritems * ITEM as u64 + free).min(nodesize as u64 - 1);
            (0..1 + rng.below(3)).map(|_| ((data_start + rng.below(nodesize as u64 - data_start)) as usize, rng.below(256) as u8)).collect()
        } else {
            mutate::block_edits(&mut rng, nodesize, 4)
        };
        copy.edit_block(block, Copies::All, true, |b| {
            for &(at, v) in &edits {
                b[at] = v;
            }
        })
        .expect("edit");
        let what = format!("seed {seed:#x} round {round}: block {block} (level {level}) edits {edits:?}");
        let on = check(&copy.paths, true, &what);
        let off = check(&copy.paths, false, &what);
        assert_eq!(on.code, off.code, "{what}: exit codes differ");
        if on.stdout != off.stdout {
            let disordered = ["btrfs.key_order", "btrfs.first_key_mismatch"].iter().any(|k| off.stdout.contains(&format!("\"kind\":\"{k}\"")));
            assert!(disordered, "{what}: the findings differ\n{}", first_difference(&on.stdout, &off.stdout));
            assert_eq!(other_findings(&on.stdout), other_findings(&off.stdout), "{what}: findings other than the inode checks' differ");
            inode_differs += 1;
        }
        errors += usize::from(on.code == Some(4));
        if let Some([_, r, a, _]) = on.trace {
            refused += usize::from(r > 0);
            applied += usize::from(a > 0);
        }
        let _ = std::fs::remove_dir_all(&rdir);
    }
    eprintln!(
        "{rounds} rounds: {errors} with errors, {refused} with a subtree read item by item for its findings, {applied} with summaries applied, \
         {inode_differs} with keys out of order and other inode findings"
    );
    // The damage reaches the inode checks, inside summarized subtrees and out of them.
    assert!(errors * 3 > rounds, "only {errors} of {rounds} rounds found errors");
    assert!(refused > 0 && applied > 0, "{refused} rounds refused a summary, {applied} applied one");
}
