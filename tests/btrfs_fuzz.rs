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

/// `ONDISK_FUZZ_SEED` (hex, mixed into each test's seed) and `ONDISK_FUZZ_ROUNDS` override the
/// defaults, for longer campaigns.
fn campaign(seed: u64, rounds: usize) -> (u64, usize) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    let seed = env("ONDISK_FUZZ_SEED").map_or(seed, |s| s ^ seed);
    let rounds = std::env::var("ONDISK_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(rounds);
    (seed, rounds)
}

fn fuzz(base: Base, seed: u64, rounds: usize) {
    let (seed, rounds) = campaign(seed, rounds);
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
        found_errors += usize::from(survives(&img.paths, &what) == Some(4));
        let _ = std::fs::remove_dir_all(&rdir);
    }
    // The mutations reach the parsers: many rounds are damage the check must report (the rest
    // fall in a block's free space or in fields no check reads, such as timestamps).
    eprintln!("{}: check found errors in {found_errors} of {rounds} rounds", base.name());
    assert!(found_errors * 3 > rounds, "{}: only {found_errors} of {rounds} rounds reported errors", base.name());
}

/// `check --check-data-csum`, `dump` and `stats` on `paths`: each must end on its own, in time,
/// with an exit code it documents. Returns the check's exit code.
fn survives(paths: &[std::path::PathBuf], what: &str) -> Option<i32> {
    let mut check = None;
    for args in [&["check", "--check-data-csum"][..], &["dump"][..], &["stats"][..]] {
        let run = common::run_with_timeout(Command::new(common::ondisk()).args(args).args(paths), Duration::from_secs(120));
        assert!(!run.timed_out, "{what}: {args:?} hung");
        assert!(run.code.is_some_and(|c| [0, 4, 8].contains(&c)), "{what}: {args:?} exit {:?}\n{}", run.code, run.stderr);
        if args[0] == "check" {
            check = run.code;
        }
    }
    check
}

#[test]
fn mutated_blocks_of_a_quota_image_never_crash() {
    fuzz(Base::MkfsQuota, 0x5eed_0001, 200);
}

#[test]
fn mutated_blocks_of_k_rich_never_crash() {
    fuzz(Base::KRich, 0x5eed_0002, 100);
}

/// Superblock fields the reader trusts before it has read one tree block, each at its offset in
/// `struct btrfs_super_block`, with its width: root pointers and levels, generations, sizes,
/// device counts, feature flags, the checksum type and the embedded device item.
const SUPER_FIELDS: &[(u64, u64)] = &[
    (0x30, 8),  // bytenr
    (0x48, 8),  // generation
    (0x50, 8),  // root
    (0x58, 8),  // chunk_root
    (0x60, 8),  // log_root
    (0x70, 8),  // total_bytes
    (0x78, 8),  // bytes_used
    (0x80, 8),  // root_dir_objectid
    (0x88, 8),  // num_devices
    (0x90, 4),  // sectorsize
    (0x94, 4),  // nodesize
    (0x98, 4),  // __unused_leafsize
    (0x9c, 4),  // stripesize
    (0xa0, 4),  // sys_chunk_array_size
    (0xa4, 8),  // chunk_root_generation
    (0xac, 8),  // compat_flags
    (0xb4, 8),  // compat_ro_flags
    (0xbc, 8),  // incompat_flags
    (0xc4, 2),  // csum_type
    (0xc6, 1),  // root_level
    (0xc7, 1),  // chunk_root_level
    (0xc8, 1),  // log_root_level
    (0xc9, 8),  // dev_item.devid
    (0xd1, 8),  // dev_item.total_bytes
    (0xd9, 8),  // dev_item.bytes_used
    (0x22b, 8), // cache_generation
    (0x233, 8), // uuid_tree_generation
];

/// Seeded mutations of the superblock, the same edits in every copy and every copy
/// re-checksummed, so that no good mirror hides them: a field above, the system chunk array (the
/// first chunk map, parsed before any tree block), the backup roots, or any byte. Then the image
/// cut short at a random length. The three commands must end as in [`fuzz`].
fn fuzz_super(base: Base, seed: u64, rounds: usize) {
    let (seed, rounds) = campaign(seed, rounds);
    let Some((dir, clean)) = clean_base(base) else { return };
    let mut rng = common::Rng(seed);
    let mut failed = 0;
    for round in 0..rounds {
        let rdir = dir.path().join(format!("s{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        let img = clean.copy_to(&rdir).expect("a copy");
        let mut edits = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let at = match rng.below(8) {
                0..=3 => {
                    let (off, width) = SUPER_FIELDS[rng.below(SUPER_FIELDS.len() as u64) as usize];
                    off + rng.below(width)
                }
                4 | 5 => 0x32b + rng.below(0x180),   // sys_chunk_array: key, chunk, stripes
                6 => 0xb2b + rng.below(4 * 168),      // super_roots
                _ => 0x20 + rng.below(4096 - 0x20),
            } as usize;
            let v = match rng.below(5) {
                0 => 0,
                1 => 0xff,
                2 => 1 + rng.below(4),
                _ => rng.below(256),
            } as u8;
            edits.push((at, v));
        }
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
