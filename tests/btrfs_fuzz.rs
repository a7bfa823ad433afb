//! Seeded mutations of btrfs tree blocks, re-checksummed so that every parser behind the
//! checksum sees them: random bytes of a random block overwritten (header fields, item headers,
//! item data), then `ondisk check` (with `--check-data-csum`), `dump` and `stats` run on the
//! result. Whatever the bytes say, each must end on its own — no panic, no signal, no hang — with
//! an exit code it documents (0, 4 when it met errors, 8 when it could not read the filesystem).
//!
//! The bases are the corruption matrix's: a quota-enabled mkfs image (every check family,
//! qgroups included, has items to chew on) and k-rich (snapshots, reflinks, compression, DUP).

mod common;

use common::corrupt::clean_base;
use common::mutate;
use ondisk_test_images::btrfs_corrupt::image::Copies;
use ondisk_test_images::btrfs_corrupt::Base;
use std::process::Command;
use std::time::Duration;

fn fuzz(base: Base, seed: u64, rounds: usize) {
    let (seed, rounds) = mutate::campaign(seed, rounds);
    let Some((dir, clean)) = clean_base(base) else { return };
    // Every tree block of every tree, from the dump of the clean base.
    let blocks: Vec<u64> = clean.records.iter().filter(|v| v["type"] == "node").filter_map(|v| v["bytenr"].as_u64()).collect();
    assert!(blocks.len() > 5, "{}: the base has tree blocks", base.name());
    let mut rng = common::Rng(seed);
    let mut found_errors = 0;
    for round in 0..rounds {
        let rdir = dir.path().join(format!("r{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        let img = clean.copy_to(&rdir).expect("a copy");
        let block = blocks[rng.below(blocks.len() as u64) as usize];
        let edits = mutate::block_edits(&mut rng, clean.nodesize, 8);
        let recsum = rng.below(8) != 0;
        img.edit_block(block, Copies::All, recsum, |b| {
            for &(at, v) in &edits {
                b[at] = v;
            }
        })
        .unwrap_or_else(|e| panic!("edit block {block} of {}: {e:?}", base.name()));
        let what = format!("{} seed {seed:#x} round {round}: block {block} edits {edits:?} recsum {recsum}", base.name());
        found_errors += usize::from(survives(&img.paths, &what) == Some(4));
        let _ = std::fs::remove_dir_all(&rdir);
    }
    // The mutations reach the parsers: many rounds are damage the check must report (the rest
    // fall in a block's free space or in fields no check reads, such as timestamps).
    eprintln!("{}: check found errors in {found_errors} of {rounds} rounds", base.name());
    assert!(found_errors * 3 > rounds, "{}: only {found_errors} of {rounds} rounds reported errors", base.name());
}

/// `check --check-data-csum`, `dump` and `stats` on `paths`: each must end on its own, in time,
/// with an exit code it documents. The check runs twice and must print the same findings in the
/// same order both times: its hash maps are seeded anew in every process, and a CI assertion
/// or a diff between two runs must never see their order. Returns the check's exit code.
fn survives(paths: &[std::path::PathBuf], what: &str) -> Option<i32> {
    const CHECK: &[&str] = &["check", "--check-data-csum", "--json"];
    let mut check = None;
    for args in [CHECK, &["dump"][..], &["stats"][..], CHECK] {
        let run = common::run_with_timeout(Command::new(common::ondisk()).args(args).args(paths), Duration::from_secs(120));
        assert!(!run.timed_out, "{what}: {args:?} hung");
        assert!(run.code.is_some_and(|c| [0, 4, 8].contains(&c)), "{what}: {args:?} exit {:?}\n{}", run.code, run.stderr);
        if args[0] == "check" {
            if let Some((code, stdout)) = &check {
                assert_eq!((code, stdout), (&run.code, &run.stdout), "{what}: two runs of check differ");
            }
            check = Some((run.code, run.stdout));
        }
    }
    check.and_then(|(code, _)| code)
}

#[test]
fn mutated_blocks_of_a_quota_image_never_crash() {
    fuzz(Base::MkfsQuota, 0x5eed_0001, 200);
}

#[test]
fn mutated_blocks_of_k_rich_never_crash() {
    fuzz(Base::KRich, 0x5eed_0002, 100);
}


/// Seeded mutations of the superblock, the same edits in every copy and every copy
/// re-checksummed, so that no good mirror hides them: a field above, the system chunk array (the
/// first chunk map, parsed before any tree block), the backup roots, or any byte. Then the image
/// cut short at a random length. The three commands must end as in [`fuzz`].
fn fuzz_super(base: Base, seed: u64, rounds: usize) {
    let (seed, rounds) = mutate::campaign(seed, rounds);
    let Some((dir, clean)) = clean_base(base) else { return };
    let mut rng = common::Rng(seed);
    let mut failed = 0;
    for round in 0..rounds {
        let rdir = dir.path().join(format!("s{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        let img = clean.copy_to(&rdir).expect("a copy");
        let edits = mutate::super_edits(&mut rng);
        img.edit_super(|b| {
            for &(at, v) in &edits {
                b[at] = v;
            }
        })
        .unwrap_or_else(|e| panic!("edit the superblock of {}: {e:?}", base.name()));
        let what = format!("{} seed {seed:#x} round {round}: superblock edits {edits:?}", base.name());
        failed += usize::from(survives(&img.paths, &what) != Some(0));

        // The same image cut short: anywhere, most often inside the first 70 MiB (superblock
        // mirror, chunk tree, the first metadata chunk).
        let path = &img.paths[rng.below(img.paths.len() as u64) as usize];
        let len = std::fs::metadata(path).unwrap().len();
        let cut = if rng.below(2) == 0 { rng.below(len.min(70 << 20)) } else { rng.below(len) };
        std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(cut)).unwrap();
        survives(&img.paths, &format!("{what}, {} cut to {cut} bytes", path.display()));
        let _ = std::fs::remove_dir_all(&rdir);
    }
    // Most edits land in fields the reader or the check looks at.
    eprintln!("{}: {failed} of {rounds} superblock rounds did not pass clean", base.name());
    assert!(failed * 3 > rounds, "{}: only {failed} of {rounds} superblock rounds were noticed", base.name());
}

#[test]
fn mutated_superblocks_and_cut_images_never_crash() {
    fuzz_super(Base::MkfsQuota, 0x5eed_0003, 60);
    fuzz_super(Base::KRaid1, 0x5eed_0004, 30);
}
