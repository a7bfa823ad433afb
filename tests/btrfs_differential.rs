//! Differential test against btrfs check: seeded mutations of one tree block, re-checksummed
//! so both readers take the block as written, then `ondisk check` and `btrfs check --readonly`
//! on the same image.
//!
//! - Where btrfs check finds errors, ondisk must find errors too: no misses, but for the
//!   [`PROGS_STRICTER`] cases, where the kernel mounts and ondisk warns.
//! - Where ondisk finds errors and btrfs check exits 0, at least one of ondisk's error kinds must
//!   be one of [`ONDISK_ALONE`] (or, in a round that damaged a log tree block, which btrfs check
//!   6.2 does not read, of [`ONDISK_ALONE_IN_LOG`]; in a round that damaged a node pointing to a
//!   block another tree shares, of [`ONDISK_ALONE_IN_SHARING_NODE`]), each listed with why ondisk
//!   is right there. The others in such a round follow from that one.
//!   Failing that, btrfs check's lowmem mode must fail the round (and pass the clean image): its
//!   original mode passes over the inodes of a deleted subvolume not yet dropped.
//! - A round where btrfs check crashes, hangs or refuses a feature newer than itself says nothing
//!   about ondisk and is only counted.
//!
//! The test prints a table of the outcomes and fails listing every round that breaks a rule, with
//! the block and the edits to reproduce it. `ONDISK_FUZZ_SEED` / `ONDISK_FUZZ_ROUNDS` as in
//! tests/btrfs_fuzz.rs run a longer campaign. The `btrfs` found first in PATH is the one compared;
//! the `_newer_` tests compare with the one `ONDISK_BTRFS_NEWER` names as well. The rules hold for
//! btrfs-progs 6.14 (12,000 rounds, seed 6140, with bookworm-backports' build first in PATH) and
//! 7.3 (`--ignored` with `ONDISK_DIFF_IMAGE`, 1,500 rounds each, seed 7300, on k-bgt, k-squota,
//! k-devel-defaults and k-spacecache-v1: 7.3 calls k-rich and k-logtree corrupt for the free
//! space entries mkfs 6.2 leaves, `btrfs.free_space_orphan`).

mod common;

use common::corrupt::{clean_base, tools};
use common::mutate;
use ondisk_layouts::btrfs::consts::TREE_LOG_OBJECTID;
use ondisk_test_images::btrfs_corrupt::image::{check, BaseImage, Copies};
use ondisk_test_images::btrfs_corrupt::{Base, Found};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Error kinds ondisk reports where btrfs check 6.2 exits 0, each with why ondisk is right. Most
/// are faults the kernel refuses (its tree-checker rejects the leaf, or the mount fails); the
/// rest are inconsistencies btrfs check prints without failing, or does not look for.
const ONDISK_ALONE: &[(&str, &str)] = &[
    ("btrfs.name_hash_mismatch", "an XATTR_ITEM whose key offset is not its name's hash: the tree-checker (check_dir_item) refuses the leaf; btrfs check 6.2 hashes only directory names"),
    ("btrfs.fs_item_malformed", "a dir entry whose name or data runs past its item: the tree-checker refuses the leaf (\"dir item data length too large\")"),
    ("btrfs.bad_file_extent", "an inline extent at a file offset other than 0, and similar: the tree-checker (check_extent_data_item) refuses the leaf"),
    ("btrfs.csum_item_size", "a csum item whose size is not a multiple of the csum size: the tree-checker refuses the leaf (\"unaligned item size for csum item\")"),
    ("btrfs.item_offset", "item data overlapping the item headers or another item's data: the tree-checker refuses the leaf"),
    ("btrfs.key_order", "keys out of order: the tree-checker refuses the leaf"),
    ("btrfs.root_item_mismatch", "a tree root block whose generation is not its root item's: btrfs check 6.2 prints \"parent transid verify failed\", then \"Ignoring transid failure\" and exits 0; the kernel refuses the block (EIO)"),
    ("btrfs.dangling_devid", "a chunk stripe naming a devid with no device item: btrfs check 6.2 prints it and exits 0 (issue 3 makes it an error)"),
    ("btrfs.block_group_no_chunk", "btrfs check 6.2 prints \"didn't find the relative chunk\" and exits 0"),
    ("btrfs.chunk_no_block_group", "btrfs check 6.2 prints \"Chunk ... mismatch with block group\" and exits 0; the kernel refuses to mount (a chunk without its block group)"),
    ("btrfs.qgroup_status_bad", "a QGROUP_STATUS of an unknown version: the kernel disables quotas at mount; btrfs check 6.2 does not read the version"),
    ("btrfs.qgroup_limit_without_info", "a QGROUP_LIMIT without its QGROUP_INFO: the kernel says \"inconsistent qgroup config\" at mount; btrfs check 6.2 does not pair them"),
    ("btrfs.qgroup_relation_unpaired", "a qgroup relation item without its mirror: the kernel adds and deletes the two in one transaction; btrfs check 6.2 does not pair them"),
    ("btrfs.root_missing", "a root tree that lost the data relocation tree's root item: the kernel cannot mount (btrfs_read_roots); btrfs check 6.2 exits 0"),
    ("btrfs.root_item_offset", "the device tree's root item at a key offset other than 0: the kernel looks it up at (4, ROOT_ITEM, 0) exactly and fails the mount; btrfs check 6.2 takes the last root item of the objectid, whatever its offset"),
    ("btrfs.chunk_bad", "overlapping chunks: the kernel refuses to map them (the mount fails); btrfs check 6.2 prints \"Chunk ... mismatch with block group\" and exits 0"),
    ("btrfs.dev_extent_missing", "a chunk stripe without its dev extent: the kernel's mount-time check (btrfs_verify_dev_extents) fails the mount; btrfs check 6.2 prints \"mismatch dev extent\" and exits 0"),
    ("btrfs.dev_extent_orphan", "a dev extent of no chunk: the kernel fails the mount (\"doesn't have corresponding chunk\"); btrfs check 6.2 prints \"didn't find the relative chunk\" and exits 0"),
    ("btrfs.first_key_mismatch", "a child whose first key is not its parent pointer's: the kernel verifies it on every read and refuses the block; btrfs check 6.2 exits 0"),
    ("btrfs.tree_block_backref_rev", "a non-root block of backref revision 0: the kernel takes it for a full-backref block when it COWs it, against its extent item; btrfs check 6.2 looks at the revision of tree roots only"),
    ("btrfs.metadata_level", "a METADATA_ITEM keyed with another level than its block's: the kernel looks tree blocks up by (bytenr, METADATA_ITEM, level), misses it and aborts the first transaction that COWs the block; btrfs check 6.2 exits 0"),
    ("btrfs.super_bad_geometry", "a superblock leafsize other than its nodesize: the kernel refuses to mount (\"invalid leafsize\"); btrfs check 6.2 does not compare them"),
    ("btrfs.super_flags", "superblock flags the kernel does not know, or a compat_ro feature without those it requires: the kernel refuses to mount; btrfs check 6.2 opens it"),
    ("btrfs.dev_extent_mismatch", "a dev extent naming another chunk_offset than its stripe's chunk: the kernel's mount-time check (btrfs_verify_dev_extents) finds no chunk for it and fails the mount; btrfs check 6.2 exits 0"),
    ("btrfs.free_space_overlap", "free space tree extents overlapping (a length gone wild): the kernel would hand the same space out twice; btrfs check 6.2 exits 0"),
    ("btrfs.block_group_bad", "a block group item breaking the tree-checker's rules (a chunk_objectid other than 256, and the like): the kernel refuses the leaf; btrfs check 6.2 exits 0"),
    ("btrfs.root_dir_bad", "the data relocation tree's root directory with a broken \"..\" ref: btrfs check 6.2 does not check that directory"),
];

/// Error kinds ondisk reports where btrfs check 6.2 exits 0, excused only in rounds that damage a
/// log tree block: btrfs check 6.2 reads the log root tree's root block to open the filesystem and
/// nothing below it (later releases check the log: 6.19's "[1/8] checking log"), while the
/// kernel replays every log tree at the next mount. Each with what the kernel does there.
const ONDISK_ALONE_IN_LOG: &[(&str, &str)] = &[
    ("btrfs.tree_block_bytenr", "a log tree block whose bytenr is not its address: the kernel refuses it at replay (\"bad tree block start\") and the mount fails"),
    ("btrfs.tree_block_fsid", "a log tree block of another fsid: the kernel refuses it at replay (\"bad fsid on logical\") and the mount fails"),
    ("btrfs.tree_block_unreadable", "a log root item pointing at an address no chunk maps: the replay cannot read that log tree and the mount fails"),
    ("btrfs.tree_block_level", "a log tree block whose level is not its root item's (or is past the maximum): the kernel refuses it at replay (\"tree level mismatch detected\") and the mount fails"),
    ("btrfs.log_csum_missing", "a logged file extent whose csums are neither in the log nor in the csum tree: the replay inserts the extent without csums, and reads of its data fail (\"csum hole found\"); btrfs check 6.19 says \"csum missing in log\""),
];

/// Warnings ondisk gives where btrfs check 6.2 fails and the kernel mounts, with why.
const PROGS_STRICTER: &[(&str, &str)] = &[
    (
        "btrfs.space_cache_invalid",
        "a v1 space cache holding more free bytes than its block group can have: the kernel compares the totals and drops the cache (\"has wrong amount of free space\"); btrfs check calls it an error (\"could leads to serious corruption\")",
    ),
    (
        "btrfs.super_bad_geometry",
        "a power-of-two stripesize other than 4096 and the sectorsize: the kernel checks only that it is a power of two and never uses it; btrfs check refuses (\"invalid stripesize\")",
    ),
    (
        "btrfs.transid_mismatch",
        "a node pointer generation of 0: the kernel reads the child without verifying it (verify_parent_transid skips 0; the tree-checker does not look at pointer generations); btrfs check's fs-root walk compares them anyway (check_child_node: \"Wrong generation of child node/leaf\") and drops the child",
    ),
    (
        "btrfs.full_backref_bad",
        "FULL_BACKREF on a block of a tree never shared (the UUID tree): the kernel neither sets nor reads the flag outside subvolume and relocation trees (btrfs_block_can_be_shared); btrfs check's calc_extent_flag expects it clear (\"bad full backref\")",
    ),
    (
        "btrfs.extent_generation",
        "a tree block's extent item naming another generation than the block's: the kernel writes it when it allocates the block and never reads it; btrfs check's root item scan takes it for a root block's (\"has a root item with a more recent gen\")",
    ),
];

/// Error kinds ondisk reports where btrfs check exits 0, excused only in rounds that damage a node
/// one of whose children another node points to as well (a block a snapshot shares). btrfs check
/// reads each tree block once, through the first pointer it meets, while the kernel verifies
/// every pointer it reads through.
const ONDISK_ALONE_IN_SHARING_NODE: &[(&str, &str)] = &[(
    "btrfs.transid_mismatch",
    "the generation of a pointer to a shared block, changed: the kernel verifies it whenever it reads the block through that pointer (verify_parent_transid) and refuses the block; btrfs check 6.2 and 6.14 read a shared block once, through the other tree's good pointer, and never compare this one",
)];

/// Whether ondisk may report `kind` alone, in a round that damaged a log tree block or not, a
/// node pointing to a shared block or not.
fn known(kind: &str, in_log: bool, sharing: bool) -> bool {
    ONDISK_ALONE
        .iter()
        .chain(if in_log { ONDISK_ALONE_IN_LOG } else { &[] })
        .chain(if sharing { ONDISK_ALONE_IN_SHARING_NODE } else { &[] })
        .any(|(k, _)| *k == kind)
}

/// Whether `btrfs check --mode=lowmem` fails the image (`None`: it crashed or hung).
fn lowmem_fails(btrfs: &Path, paths: &[PathBuf]) -> Option<bool> {
    let run = common::run_with_timeout(Command::new(btrfs).args(["check", "--readonly", "--mode=lowmem"]).args(paths), Duration::from_secs(60));
    match run.code {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    }
}

/// The nodes of a dump with a child that another node points to as well (the dump lists a
/// shared block's pointers once per tree that reaches it).
fn sharing_nodes(records: &[serde_json::Value]) -> HashSet<u64> {
    let mut parents: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for v in records.iter().filter(|v| v["type"] == "ptr") {
        if let (Some(parent), Some(child)) = (v["block"].as_u64(), v["blockptr"].as_u64()) {
            parents.entry(child).or_default().insert(parent);
        }
    }
    parents.into_values().filter(|p| p.len() > 1).flatten().collect()
}

/// Where the superblock's magic lies.
const MAGIC_AT: usize = 0x40;

/// What a round overwrites.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    /// A random tree block, re-checksummed in every copy.
    Block,
    /// Superblock fields, the same edits in every copy, each re-checksummed.
    Super,
}

fn differential(base: Base, target: Target, seed: u64, rounds: usize) {
    if !common::have_tool("btrfs") {
        eprintln!("SKIP: btrfs-progs is not installed");
        return;
    }
    if let Some((_dir, clean)) = clean_base(base) {
        differential_with("btrfs".into(), base.name(), &clean, target, seed, rounds);
    }
}

/// The same against a newer btrfs check ([`common::newer_progs`]): 6.14 reads log trees, which
/// 6.2 does not, and fails damage there that 6.2 passes; where it does, ondisk must find errors
/// too.
fn differential_newer(base: Base, target: Target, seed: u64, rounds: usize) {
    if let Some(root) = common::newer_progs() {
        if let Some((_dir, clean)) = clean_base(base) {
            differential_with(root.join("bin/btrfs"), base.name(), &clean, target, seed, rounds);
        }
    }
}

/// A campaign on an image of your own, which btrfs check must pass (one device):
/// `ONDISK_DIFF_IMAGE=IMG cargo test --release --test btrfs_differential -- --ignored`, against
/// the `btrfs` first in PATH, or the one in `ONDISK_BTRFS_NEWER`'s folder when that is set. The
/// images of test-images/btrfs-workloads/run.sh (`KEEP=1`) are kernel-written ones.
#[test]
#[ignore = "a campaign on the image ONDISK_DIFF_IMAGE names"]
fn mutated_image_of_your_own_agrees_with_btrfs_check() {
    let img = PathBuf::from(std::env::var_os("ONDISK_DIFF_IMAGE").expect("ONDISK_DIFF_IMAGE names an image"));
    let btrfs = std::env::var_os("ONDISK_BTRFS_NEWER").filter(|r| !r.is_empty()).map_or("btrfs".into(), |r| PathBuf::from(r).join("bin/btrfs"));
    let clean = BaseImage::open(&tools(), vec![img.clone()]).expect("the image");
    differential_with(btrfs, &img.display().to_string(), &clean, Target::Block, 0xd1ff_00ff, 300);
}

fn differential_with(btrfs: PathBuf, name: &str, clean: &BaseImage, target: Target, seed: u64, rounds: usize) {
    let (seed, rounds) = mutate::campaign(seed, rounds);
    let dir = tempfile::tempdir().expect("tempdir");
    let blocks: Vec<u64> = clean.records.iter().filter(|v| v["type"] == "node").filter_map(|v| v["bytenr"].as_u64()).collect();
    let log_blocks: Vec<u64> = clean.records.iter().filter(|v| v["type"] == "node" && v["tree"] == TREE_LOG_OBJECTID).filter_map(|v| v["bytenr"].as_u64()).collect();
    let sharing = sharing_nodes(&clean.records);
    let lowmem_passes_base = std::cell::OnceCell::new();
    let mut rng = common::Rng(seed);
    let mut table: BTreeMap<&str, usize> = BTreeMap::new();
    // The error kinds of the rounds where ondisk alone finds errors, for the table.
    let mut alone: BTreeMap<String, usize> = BTreeMap::new();
    let mut broken = Vec::new();
    for round in 0..rounds {
        let rdir = dir.path().join(format!("d{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        let img = clean.copy_to(&rdir).expect("a copy");
        let mut no_magic = false;
        let mut in_log = false;
        let mut in_sharing_node = false;
        let what = if target == Target::Block {
            let block = blocks[rng.below(blocks.len() as u64) as usize];
            in_log = log_blocks.contains(&block);
            in_sharing_node = sharing.contains(&block);
            let edits = mutate::block_edits(&mut rng, clean.nodesize, 3);
            img.edit_block(block, Copies::All, true, |b| {
                for &(at, v) in &edits {
                    b[at] = v;
                }
            })
            .unwrap_or_else(|e| panic!("edit block {block}: {e:?}"));
            format!("{name} seed {seed:#x} round {round}: block {block} edits {edits:?}")
        } else {
            let edits = mutate::super_edits(&mut rng);
            img.edit_super(|b| {
                for &(at, v) in &edits {
                    b[at] = v;
                }
            })
            .unwrap_or_else(|e| panic!("edit the superblock: {e:?}"));
            // Without its magic in every copy the image is no btrfs to the kernel or blkid;
            // btrfs check 6.2 reads it anyway, ondisk does not.
            no_magic = edits.iter().any(|(at, _)| (MAGIC_AT..MAGIC_AT + 8).contains(at));
            format!("{name} seed {seed:#x} round {round}: superblock edits {edits:?}")
        };

        // No summary: ondisk could not read the filesystem at all; its exit code says how.
        let ours = check(&tools(), &img.paths, &[], &[]).unwrap_or_else(|_| Found {
            code: Command::new(common::ondisk()).arg("check").args(&img.paths).output().ok().and_then(|o| o.status.code()),
            ..Found::default()
        });
        let ours_errors: Vec<&str> = ours.kinds.iter().filter(|(_, (_, sev))| sev == "error").map(|(k, _)| k.as_str()).collect();
        let theirs = common::run_with_timeout(Command::new(&btrfs).args(["check", "--readonly"]).args(&img.paths), Duration::from_secs(60));
        // btrfs check 6.2 refuses incompat features newer than itself (simple quotas): it says
        // nothing about the image then.
        let unsupported = theirs.stderr.contains("unsupported option features");
        let outcome = match (ours.code, theirs.code) {
            (_, None) => "btrfs check crashed or hung",
            (_, Some(1)) if unsupported => "a feature btrfs check does not support",
            (Some(4), Some(1)) => "both errors",
            (Some(0), Some(0)) => "both clean",
            (Some(8), Some(1)) => "ondisk cannot read, btrfs check errors",
            (Some(4), Some(0)) if !ours_errors.iter().any(|k| known(k, in_log, in_sharing_node)) => {
                // btrfs check's other mode, where it passes the clean image, may see what the
                // original mode passes over: the original mode does not check the inodes of a
                // deleted subvolume the cleaner has not begun to drop (refs 0, no
                // drop_progress), which lowmem mode and ondisk do, and which is whole.
                if *lowmem_passes_base.get_or_init(|| lowmem_fails(&btrfs, &clean.paths) == Some(false)) && lowmem_fails(&btrfs, &img.paths) == Some(true) {
                    "ondisk errors, btrfs check clean but in lowmem mode"
                } else {
                    broken.push(format!("{what}: ondisk errors {ours_errors:?}, btrfs check exits 0 (lowmem mode too)"));
                    "ondisk errors, btrfs check clean in both modes"
                }
            }
            (Some(4), Some(0)) => {
                for k in &ours_errors {
                    *alone.entry(k.to_string()).or_default() += 1;
                }
                "ondisk errors, btrfs check clean"
            }
            (_, Some(1)) if ours.kinds.iter().any(|(k, (_, sev))| sev == "warning" && PROGS_STRICTER.iter().any(|(p, _)| p == k)) => {
                "btrfs check stricter than the kernel: ondisk warns"
            }
            (_, Some(1)) => {
                let said: Vec<&str> = theirs.stderr.lines().filter(|l| !l.starts_with('[') && !l.starts_with("Opening") && !l.starts_with("Checking")).take(6).collect();
                broken.push(format!("{what}: btrfs check finds errors, ondisk exits {:?}:\n    {}", ours.code, said.join("\n    ")));
                "missed"
            }
            (Some(8), Some(0)) if no_magic => "no magic: ondisk cannot read, btrfs check clean",
            (Some(8), Some(0)) => {
                broken.push(format!("{what}: ondisk cannot read what btrfs check calls clean"));
                "ondisk cannot read, btrfs check clean"
            }
            _ => {
                broken.push(format!("{what}: ondisk exit {:?}, btrfs check exit {:?}", ours.code, theirs.code));
                "other"
            }
        };
        *table.entry(outcome).or_default() += 1;
        // ONDISK_DIFF_KEEP=DIR keeps the images of rounds that break a rule, for a look by hand,
        // in DIR/BASE-ROUND/: sparse copies (k-spacecache-v1 is a 4 GiB file of 160 KiB data).
        if let (Some(keep), true) = (std::env::var("ONDISK_DIFF_KEEP").ok(), broken.last().is_some_and(|b| b.starts_with(&what))) {
            let to = Path::new(&keep).join(format!("{}-{round}", name.trim_start_matches('/').replace('/', "_")));
            std::fs::create_dir_all(&to).unwrap_or_else(|e| panic!("keep {}: {e}", to.display()));
            img.copy_to(&to).unwrap_or_else(|e| panic!("keep {}: {e}", to.display()));
        }
        let _ = std::fs::remove_dir_all(&rdir);
    }
    eprintln!("{name}: {rounds} rounds against {} check", btrfs.display());
    for (outcome, n) in &table {
        eprintln!("  {outcome:<40} {n}");
    }
    for (kind, n) in &alone {
        eprintln!("    ondisk alone: {kind:<34} {n}");
    }
    assert!(broken.is_empty(), "{} rounds break a rule:\n{}", broken.len(), broken.join("\n"));
    // The mutations reach both checkers: many rounds are damage both report (the rest fall in
    // a block's free space or in fields neither reads, such as timestamps).
    assert!(table.get("both errors").copied().unwrap_or(0) * 5 > rounds, "{}: too few rounds damaged anything", name);
}

#[test]
fn mutated_k_rich_agrees_with_btrfs_check() {
    differential(Base::KRich, Target::Block, 0xd1ff_0001, 300);
}

#[test]
fn mutated_quota_image_agrees_with_btrfs_check() {
    differential(Base::MkfsQuota, Target::Block, 0xd1ff_0002, 300);
}

#[test]
fn mutated_superblocks_agree_with_btrfs_check() {
    differential(Base::MkfsQuota, Target::Super, 0xd1ff_0003, 300);
}

#[test]
fn mutated_log_tree_image_agrees_with_btrfs_check() {
    differential(Base::KLogtree, Target::Block, 0xd1ff_0004, 300);
}

#[test]
fn mutated_space_cache_v1_image_agrees_with_btrfs_check() {
    differential(Base::KSpacecacheV1, Target::Block, 0xd1ff_0005, 300);
}

/// btrfs-progs 6.2 opens a block group tree (its compat_ro bit came in 6.1).
#[test]
fn mutated_block_group_tree_image_agrees_with_btrfs_check() {
    differential(Base::KBgt, Target::Block, 0xd1ff_0006, 300);
}

#[test]
fn mutated_log_tree_image_agrees_with_newer_btrfs_check() {
    differential_newer(Base::KLogtree, Target::Block, 0xd1ff_0014, 300);
}

#[test]
fn mutated_k_rich_agrees_with_newer_btrfs_check() {
    differential_newer(Base::KRich, Target::Block, 0xd1ff_0011, 300);
}

// No k-raid1: the differential hands btrfs check every member's path, and btrfs check 6.2 takes
// exactly one device; it finds the others only among scanned block devices (loop devices), which
// this test does not set up.
