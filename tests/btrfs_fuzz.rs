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
use ondisk_test_images::btrfs_corrupt::image::Copies;
use ondisk_test_images::btrfs_corrupt::Base;
use std::process::Command;
use std::time::Duration;

/// `ONDISK_FUZZ_SEED` and `ONDISK_FUZZ_ROUNDS` override the defaults, for longer campaigns.
fn fuzz(base: Base, seed: u64, rounds: usize) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    let seed = env("ONDISK_FUZZ_SEED").map_or(seed, |s| s ^ seed);
    let rounds = std::env::var("ONDISK_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(rounds);
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
        let n = 1 + rng.below(8);
        let mut edits = Vec::new();
        for _ in 0..n {
            // Mostly the first kilobyte (header, item headers, key pointers), where one byte
            // moves the most; sometimes anywhere after the checksum.
            let at = if rng.below(4) == 0 { 32 + rng.below(clean.nodesize as u64 - 32) } else { 32 + rng.below(1024) };
            let v = match rng.below(4) {
                0 => 0,
                1 => 0xff,
                _ => rng.below(256),
            } as u8;
            edits.push((at as usize, v));
        }
        let recsum = rng.below(8) != 0;
        img.edit_block(block, Copies::All, recsum, |b| {
            for &(at, v) in &edits {
                b[at] = v;
            }
        })
        .unwrap_or_else(|e| panic!("edit block {block} of {}: {e:?}", base.name()));
        let what = format!("{} seed {seed:#x} round {round}: block {block} edits {edits:?} recsum {recsum}", base.name());
        for (args, codes) in [
            (&["check", "--check-data-csum"][..], &[0, 4, 8][..]),
            (&["dump"][..], &[0, 4, 8][..]),
            (&["stats"][..], &[0, 4, 8][..]),
        ] {
            let run = common::run_with_timeout(Command::new(common::ondisk()).args(args).args(&img.paths), Duration::from_secs(120));
            assert!(!run.timed_out, "{what}: {args:?} hung");
            assert!(run.code.is_some_and(|c| codes.contains(&c)), "{what}: {args:?} exit {:?}\n{}", run.code, run.stderr);
            found_errors += usize::from(args[0] == "check" && run.code == Some(4));
        }
        let _ = std::fs::remove_dir_all(&rdir);
    }
    // The mutations reach the parsers: many rounds are damage the check must report (the rest
    // fall in a block's free space or in fields no check reads, such as timestamps).
    eprintln!("{}: check found errors in {found_errors} of {rounds} rounds", base.name());
    assert!(found_errors * 3 > rounds, "{}: only {found_errors} of {rounds} rounds reported errors", base.name());
}

#[test]
fn mutated_blocks_of_a_quota_image_never_crash() {
    fuzz(Base::MkfsQuota, 0x5eed_0001, 200);
}

#[test]
fn mutated_blocks_of_k_rich_never_crash() {
    fuzz(Base::KRich, 0x5eed_0002, 100);
}
