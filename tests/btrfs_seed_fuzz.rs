//! Seeded mutations of seed/sprout device sets: a sprout is opened together with its seed
//! devices (`Filesystem::open`, `confirm_seeds`), and `detect` reads a sprout's chunk tree to find
//! its seeds among the paths (`resolve_btrfs`). Both read who each device is from bytes a fuzzer
//! can write: the superblock of every member (fsid, SEEDING flag, dev_item, generation,
//! num_devices, metadata_uuid) and the DEV_ITEMs of the sprout's chunk tree.
//!
//! The sets are the committed ones of `test-images/btrfs-seed/` (a sprout with its seed, and a
//! chain of two seeds) and `test-images/btrfs-seed-more/` (a sprout of a two-device RAID1 seed).
//! Each round works on fresh copies of the members and makes one kind of damage:
//!
//! - [`Kind::Super`]: `mutate::super_edits` in every superblock copy of one member;
//! - [`Kind::SuperField`]: one field that says who a device is, in every copy of one member: the
//!   SEEDING flag, fsid, metadata_uuid (with the METADATA_UUID flag), dev_item devid / uuid /
//!   fsid / generation, num_devices, generation — often set to another member's value;
//! - [`Kind::Block`]: `mutate::block_edits` of a tree block, of the sprout or of a seed (its own
//!   trees too, which only the seed's own superblock points to);
//! - [`Kind::DevItem`]: the devid, uuid or fsid of a chunk tree DEV_ITEM (or its key), or the
//!   devid or dev_uuid of a chunk stripe, often set to another device's;
//! - [`Kind::Mixed`]: two or three of the last two kinds at once, on any members;
//! - [`Kind::Cut`]: one member cut short;
//! - [`Kind::Paths`]: no damage, only the way the paths are given (below), where check's exit
//!   code and detect's set are known exactly.
//!
//! Tree blocks are re-checksummed most of the time, superblocks always, and an edit that would
//! write what is there already is changed by one bit. The paths are then given in a random order,
//! and sometimes with a seed device left out, given twice (the same path, a usage error; or a
//! second copy of it, an unreadable set) or beside an unrelated seed (a path of another
//! filesystem, a usage error).
//!
//! On every round `check --check-data-csum --json` (twice: both runs must print the same),
//! `dump`, `stats` and `detect --json` must end in time, within a memory limit, with an exit code
//! they document: check 0, 4, 8 or 16; dump 0, 4, 8 or 16; stats 0, 8 or 16; detect 0 or 8. A 16
//! must say why (a path of another filesystem, a path given twice), and can only come of the way
//! the paths were given or of damage to what says who a device is: a superblock, or a block of
//! the checked filesystem's chunk tree that passes its checksum. Damage anywhere else is a
//! damaged filesystem, not a path of another one.
//!
//! `ONDISK_FUZZ_SEED` / `ONDISK_FUZZ_ROUNDS` (rounds per set) as in tests/btrfs_fuzz.rs run a
//! longer campaign; the test prints how each kind of round ended.

mod common;

use common::mutate;
use common::{repo, Rng};
use ondisk_layouts::btrfs::superblock::{DevItem, SuperBlock};
use ondisk_test_images::btrfs_corrupt::image::{le32, BaseImage, Copies, Get, Img, HEADER, ITEM, SUPER_OFFSETS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::mem::offset_of;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// A seed/sprout device set: its folder, its members (newest filesystem first), and the
/// filesystems in it, each as the members that open it (the first seed alone, ...).
struct SetSpec {
    name: &'static str,
    dir: &'static str,
    members: &'static [&'static str],
    filesystems: &'static [&'static [usize]],
}

const SPROUT: SetSpec = SetSpec { name: "sprout", dir: "btrfs-seed", members: &["sprout", "seed"], filesystems: &[&[1], &[0, 1]] };
const CHAIN: SetSpec =
    SetSpec { name: "chain", dir: "btrfs-seed", members: &["sprout2", "sprout", "seed"], filesystems: &[&[2], &[1, 2], &[0, 1, 2]] };
const RAID1: SetSpec = SetSpec {
    name: "raid1",
    dir: "btrfs-seed-more",
    members: &["raid1-sprout", "raid1-seed.dev1", "raid1-seed.dev2"],
    filesystems: &[&[1, 2], &[0, 1, 2]],
};

/// A seed of no filesystem here, given beside a set now and then.
const OTHER_SEED: &str = "other-seed";

/// What a round damages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Super,
    SuperField,
    Block,
    DevItem,
    Mixed,
    Cut,
    Paths,
}

/// How the paths are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Given {
    /// Every member once.
    All,
    /// One seed device left out.
    Missing(usize),
    /// A seed device's path twice.
    Twice(usize),
    /// A seed device and a second copy of it under another name.
    TwiceCopy(usize),
    /// Every member, and [`OTHER_SEED`].
    Other,
}

/// A set, decompressed once, with what the fuzzer aims at.
struct Prepared {
    spec: &'static SetSpec,
    base: BaseImage,
    other_seed: PathBuf,
    /// The unrelated seed's primary superblock.
    other_super: Vec<u8>,
    /// `ondisk dump --json` of each filesystem of the set (as `SetSpec::filesystems`): its
    /// blocks, its chunk items (which map them) and its device items.
    views: Vec<Arc<Vec<Value>>>,
    /// Each member's primary superblock, clean.
    supers: Vec<Vec<u8>>,
    /// Every tree block of every filesystem of the set: (view, bytenr).
    blocks: Vec<(usize, u64)>,
    /// The blocks of the chunk tree of the filesystem checked (the newest): the only tree
    /// blocks that say who the devices are.
    chunk_tree: Vec<u64>,
    /// Device items of every chunk tree: (view, block, slot, item offset).
    dev_items: Vec<(usize, u64, usize, usize)>,
    /// Chunk items: (view, block, item offset, number of stripes).
    chunks: Vec<(usize, u64, usize, usize)>,
}

fn dump_records(paths: &[PathBuf]) -> Vec<Value> {
    let run = common::run_with_timeout(Command::new(common::ondisk()).args(["dump", "--json"]).args(paths), Duration::from_secs(120));
    assert_eq!(run.code, Some(0), "dump of {paths:?}: {}", run.stderr);
    String::from_utf8_lossy(&run.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn sb_u64(sb: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(sb[at..at + 8].try_into().expect("8 bytes"))
}

const DEV_ITEM: usize = offset_of!(SuperBlock, dev_item);
const SB_FSID: usize = offset_of!(SuperBlock, fsid);
const SB_FLAGS: usize = offset_of!(SuperBlock, flags);
const SB_GENERATION: usize = offset_of!(SuperBlock, generation);
const SB_NUM_DEVICES: usize = offset_of!(SuperBlock, num_devices);
const SB_INCOMPAT: usize = offset_of!(SuperBlock, incompat_flags);
const SB_METADATA_UUID: usize = offset_of!(SuperBlock, metadata_uuid);
const DI_DEVID: usize = offset_of!(DevItem, devid);
const DI_GENERATION: usize = offset_of!(DevItem, generation);
const DI_UUID: usize = offset_of!(DevItem, uuid);
const DI_FSID: usize = offset_of!(DevItem, fsid);
/// `BTRFS_SUPER_FLAG_SEEDING` is bit 32 of the flags: bit 0 of their fifth byte.
const SEEDING_BYTE: usize = SB_FLAGS + 4;
/// `BTRFS_FEATURE_INCOMPAT_METADATA_UUID` (1 << 10): bit 2 of the second byte.
const METADATA_UUID_BYTE: usize = SB_INCOMPAT + 1;
/// `struct btrfs_chunk` up to its stripes, and one `struct btrfs_stripe`.
const CHUNK_HEAD: usize = 48;
const STRIPE: usize = 32;
/// `btrfs_disk_key.offset` within an item header (the devid of a DEV_ITEM's key).
const KEY_OFFSET: usize = 9;

fn prepare(spec: &'static SetSpec) -> Prepared {
    let dir = repo().join("test-images").join(spec.dir);
    let paths: Vec<PathBuf> = spec.members.iter().map(|m| common::raw_image(&dir.join(format!("{m}.img.zst")))).collect();
    let other_seed = common::raw_image(&repo().join("test-images/btrfs-seed").join(format!("{OTHER_SEED}.img.zst")));
    let supers: Vec<Vec<u8>> = paths.iter().map(|p| read_super(p)).collect();
    let devids: Vec<u64> = supers.iter().map(|s| sb_u64(s, DEV_ITEM + DI_DEVID)).collect();
    let views: Vec<Arc<Vec<Value>>> =
        spec.filesystems.iter().map(|fs| Arc::new(dump_records(&fs.iter().map(|&i| paths[i].clone()).collect::<Vec<_>>()))).collect();
    let full = views.last().expect("the whole set").clone();
    let nodesize = le32(&supers[0], offset_of!(SuperBlock, nodesize)) as usize;
    let base = BaseImage { paths, records: full, nodesize, csum_type: 0, devids };
    let mut blocks = Vec::new();
    let mut dev_items = Vec::new();
    let mut chunks = Vec::new();
    for (vi, v) in views.iter().enumerate() {
        for r in v.iter() {
            if r["type"] == "node" {
                let b = r.u("bytenr").expect("bytenr");
                if !blocks.iter().any(|&(_, x)| x == b) {
                    blocks.push((vi, b));
                }
            } else if r["tree"] == 3 && r["item_type"] == "DEV_ITEM" {
                dev_items.push((vi, r.u("block").unwrap(), r.u("slot").unwrap() as usize, r.u("itemoff").unwrap() as usize));
            } else if r["tree"] == 3 && r["item_type"] == "CHUNK_ITEM" {
                chunks.push((vi, r.u("block").unwrap(), r.u("itemoff").unwrap() as usize, r.u("num_stripes").unwrap() as usize));
            }
        }
    }
    assert!(blocks.len() > 5 && !dev_items.is_empty() && !chunks.is_empty(), "{}: blocks, device items and chunks to aim at", spec.name);
    let other_super = read_super(&other_seed);
    let chunk_tree = base.records.iter().filter(|r| r["type"] == "node" && r["tree"] == 3).filter_map(|r| r["bytenr"].as_u64()).collect();
    Prepared { spec, base, other_seed, other_super, views, chunk_tree, supers, blocks, dev_items, chunks }
}

impl Prepared {
    /// A round's copy of the members that maps blocks through the chunk items of filesystem
    /// `view` (a seed's own blocks are found through its own chunk tree).
    fn img(&self, copy: &Img, view: usize) -> Img {
        Img { image: BaseImage { records: self.views[view].clone(), ..copy.image.clone() }, fields: Vec::new() }
    }

    /// A field of another member's superblock than `not`'s, or of the unrelated seed's, for edits
    /// that make one device claim to be another.
    fn other_super(&self, rng: &mut Rng, at: usize, len: usize, not: usize) -> Vec<u8> {
        let others: Vec<&[u8]> = self.supers.iter().enumerate().filter(|&(i, _)| i != not).map(|(_, s)| &s[..]).chain([&self.other_super[..]]).collect();
        others[rng.below(others.len() as u64) as usize][at..at + len].to_vec()
    }

    /// The bytes of a tree block as the clean set has them (its first copy).
    fn clean_block(&self, view: usize, block: u64) -> Vec<u8> {
        let img = Img { image: BaseImage { records: self.views[view].clone(), ..self.base.clone() }, fields: Vec::new() };
        let (dev, phys) = img.copies(block).expect("a mapped block")[0];
        img.read(dev, phys, self.base.nodesize).expect("a readable block")
    }
}

/// Makes sure a list of edits changes something: when every byte it writes is already there
/// (another device's value that happens to be this one's), the last one is flipped.
fn ensure_change(edits: &mut [(usize, u8)], clean: &[u8]) {
    if edits.iter().all(|&(at, v)| clean[at] == v) {
        if let Some(last) = edits.last_mut() {
            last.1 ^= 1;
        }
    }
}

fn read_super(p: &Path) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let mut b = vec![0u8; 4096];
    std::fs::File::open(p).and_then(|f| f.read_exact_at(&mut b, SUPER_OFFSETS[0])).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    b
}

/// `len` bytes at `at` set to `bytes`.
fn put(edits: &mut Vec<(usize, u8)>, at: usize, bytes: &[u8]) {
    edits.extend(bytes.iter().enumerate().map(|(i, &b)| (at + i, b)));
}

/// A u64 a fuzzer likes: 0, 1-4, the value ± 1, all ones, anything.
fn number(rng: &mut Rng, now: u64) -> u64 {
    match rng.below(6) {
        0 => 0,
        1 => 1 + rng.below(4),
        2 => now.wrapping_add(1),
        3 => now.wrapping_sub(1),
        4 => u64::MAX,
        _ => rng.next(),
    }
}

/// One byte of a 16-byte id changed, or the whole id taken from `other`.
fn id_edit(rng: &mut Rng, edits: &mut Vec<(usize, u8)>, at: usize, other: &[u8]) {
    if rng.below(3) == 0 {
        edits.push((at + rng.below(16) as usize, rng.below(256) as u8));
    } else {
        put(edits, at, other);
    }
}

/// Edits of one field that says who a device is, for every superblock copy of member `m`.
fn super_field_edits(p: &Prepared, rng: &mut Rng, m: usize) -> (&'static str, Vec<(usize, u8)>) {
    let sb = &p.supers[m];
    let mut e = Vec::new();
    let field = match rng.below(9) {
        0 => {
            e.push((SEEDING_BYTE, sb[SEEDING_BYTE] ^ 1));
            "seeding flag"
        }
        1 => {
            let other = p.other_super(rng, SB_FSID, 16, m);
            id_edit(rng, &mut e, SB_FSID, &other);
            "fsid"
        }
        2 => {
            // METADATA_UUID: the blocks keep carrying metadata_uuid while the fsid changes, the
            // way `btrfstune -m` leaves a filesystem (which it refuses on a seed).
            e.push((METADATA_UUID_BYTE, sb[METADATA_UUID_BYTE] | 4));
            let uuid = if rng.below(2) == 0 { sb[SB_FSID..SB_FSID + 16].to_vec() } else { p.other_super(rng, SB_FSID, 16, m) };
            put(&mut e, SB_METADATA_UUID, &uuid);
            if rng.below(2) == 0 {
                let other = p.other_super(rng, SB_FSID, 16, m);
                id_edit(rng, &mut e, SB_FSID, &other);
            }
            "metadata_uuid"
        }
        3 => {
            let v = if rng.below(2) == 0 { sb_u64(&p.other_super(rng, DEV_ITEM + DI_DEVID, 8, m), 0) } else { number(rng, sb_u64(sb, DEV_ITEM + DI_DEVID)) };
            put(&mut e, DEV_ITEM + DI_DEVID, &v.to_le_bytes());
            "dev_item.devid"
        }
        4 => {
            let other = p.other_super(rng, DEV_ITEM + DI_UUID, 16, m);
            id_edit(rng, &mut e, DEV_ITEM + DI_UUID, &other);
            "dev_item.uuid"
        }
        5 => {
            let other = p.other_super(rng, DEV_ITEM + DI_FSID, 16, m);
            id_edit(rng, &mut e, DEV_ITEM + DI_FSID, &other);
            "dev_item.fsid"
        }
        6 => {
            let v = number(rng, sb_u64(sb, SB_NUM_DEVICES));
            put(&mut e, SB_NUM_DEVICES, &v.to_le_bytes());
            "num_devices"
        }
        7 => {
            let v = if rng.below(2) == 0 { sb_u64(&p.other_super(rng, SB_GENERATION, 8, m), 0) } else { number(rng, sb_u64(sb, SB_GENERATION)) };
            put(&mut e, SB_GENERATION, &v.to_le_bytes());
            "generation"
        }
        _ => {
            let v = number(rng, sb_u64(sb, DEV_ITEM + DI_GENERATION));
            put(&mut e, DEV_ITEM + DI_GENERATION, &v.to_le_bytes());
            "dev_item.generation"
        }
    };
    ensure_change(&mut e, sb);
    (field, e)
}

/// Edits of a chunk tree leaf: a DEV_ITEM's devid (in its data or its key), uuid or fsid, or a
/// chunk stripe's devid or dev_uuid. Returns (view, block, edits).
fn dev_item_edits(p: &Prepared, rng: &mut Rng) -> (usize, u64, Vec<(usize, u8)>) {
    let (view, block, mut e) = chunk_leaf_edits(p, rng);
    ensure_change(&mut e, &p.clean_block(view, block));
    (view, block, e)
}

fn chunk_leaf_edits(p: &Prepared, rng: &mut Rng) -> (usize, u64, Vec<(usize, u8)>) {
    // Any member's values: the item's own are ruled out by `ensure_change`.
    let m = usize::MAX;
    let mut e = Vec::new();
    // Who another device says it is: any member's superblock, or the unrelated seed's.
    let devid = |rng: &mut Rng, now: u64| if rng.below(2) == 0 { sb_u64(&p.other_super(rng, DEV_ITEM + DI_DEVID, 8, m), 0) } else { number(rng, now) };
    if rng.below(4) != 0 {
        let (view, block, slot, itemoff) = p.dev_items[rng.below(p.dev_items.len() as u64) as usize];
        let data = HEADER + itemoff;
        match rng.below(5) {
            0 => put(&mut e, data + DI_DEVID, &devid(rng, 0).to_le_bytes()),
            1 => put(&mut e, HEADER + slot * ITEM + KEY_OFFSET, &devid(rng, 0).to_le_bytes()),
            2 => {
                let other = p.other_super(rng, DEV_ITEM + DI_UUID, 16, m);
                id_edit(rng, &mut e, data + DI_UUID, &other);
            }
            3 => {
                let other = p.other_super(rng, SB_FSID, 16, m);
                id_edit(rng, &mut e, data + DI_FSID, &other);
            }
            _ => {
                // The devid in both the key and the data, as a device item of another devid.
                let d = devid(rng, 0).to_le_bytes();
                put(&mut e, data + DI_DEVID, &d);
                put(&mut e, HEADER + slot * ITEM + KEY_OFFSET, &d);
            }
        }
        (view, block, e)
    } else {
        let (view, block, itemoff, stripes) = p.chunks[rng.below(p.chunks.len() as u64) as usize];
        let stripe = HEADER + itemoff + CHUNK_HEAD + STRIPE * rng.below(stripes as u64) as usize;
        if rng.below(2) == 0 {
            put(&mut e, stripe, &devid(rng, 0).to_le_bytes());
        } else {
            let other = p.other_super(rng, DEV_ITEM + DI_UUID, 16, m);
            id_edit(rng, &mut e, stripe + 16, &other);
        }
        (view, block, e)
    }
}

/// Applies `edits` to every superblock copy of member `m` that fits and has the magic, each
/// re-checksummed.
fn edit_member_super(img: &Img, m: usize, edits: &[(usize, u8)]) {
    let len = std::fs::metadata(&img.paths[m]).expect("member").len();
    for &off in SUPER_OFFSETS.iter().filter(|&&o| o + 4096 <= len) {
        let mut b = img.read(m, off, 4096).expect("read superblock");
        if &b[64..72] != b"_BHRfS_M" {
            continue;
        }
        for &(at, v) in edits {
            b[at] = v;
        }
        img.recsum(&mut b).expect("crc32c");
        img.write(m, off, &b).expect("write superblock");
    }
}

/// The paths of a round, in a random order.
fn arrange(p: &Prepared, rng: &mut Rng, img: &Img, rdir: &Path, given: Given) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = match given {
        Given::Missing(m) => img.paths.iter().enumerate().filter(|&(i, _)| i != m).map(|(_, p)| p.clone()).collect(),
        Given::Twice(m) => img.paths.iter().cloned().chain([img.paths[m].clone()]).collect(),
        Given::TwiceCopy(m) => {
            let dup = rdir.join("dup");
            std::fs::create_dir_all(&dup).expect("dup dir");
            let one = BaseImage { paths: vec![img.paths[m].clone()], ..img.image.clone() };
            let copy = one.copy_to(&dup).expect("a second copy");
            img.paths.iter().cloned().chain(copy.paths.iter().cloned()).collect()
        }
        Given::Other => img.paths.iter().cloned().chain([p.other_seed.clone()]).collect(),
        Given::All => img.paths.clone(),
    };
    for i in (1..paths.len()).rev() {
        paths.swap(i, rng.below(i as u64 + 1) as usize);
    }
    paths
}

/// How the paths of a round are given: mostly all of them, else one of the variations, always
/// on a seed device (member 1 or later).
fn pick_given(p: &Prepared, rng: &mut Rng) -> Given {
    let seed = 1 + rng.below(p.spec.members.len() as u64 - 1) as usize;
    match rng.below(12) {
        0 | 1 => Given::Missing(seed),
        2 => Given::Twice(seed),
        3 => Given::TwiceCopy(seed),
        4 => Given::Other,
        _ => Given::All,
    }
}

/// What a command did, for the campaign's table.
#[derive(Default)]
struct Tally {
    /// (kind, check's exit code) → rounds.
    check: BTreeMap<(Kind, Option<i32>), usize>,
    rounds: BTreeMap<Kind, usize>,
}

/// Usage errors a seed set can meet, by what ondisk says.
const USAGE: &[&str] = &["belongs to another filesystem", "given twice"];

/// What the commands of a round printed that a round looks at.
struct Outcome {
    check: Option<i32>,
    detect: Vec<Value>,
}

/// Runs the commands of a round: each must end in time with an exit code it documents, a usage
/// error must say why, JSON output must be JSON, and two runs of check must print the same.
fn survives(paths: &[PathBuf], what: &str, renamed: bool, given: Given) -> Outcome {
    const CHECK: &[&str] = &["check", "--check-data-csum", "--json"];
    let mut check: Option<(Option<i32>, Vec<u8>)> = None;
    let mut detect = Vec::new();
    for args in [CHECK, &["dump"][..], &["stats"][..], &["detect", "--json"][..], CHECK] {
        let run = run_limited(args, paths);
        assert!(!run.timed_out, "{what}: {args:?} on {paths:?} hung");
        let allowed: &[i32] = match args[0] {
            "check" | "dump" => &[0, 4, 8, 16],
            "stats" => &[0, 8, 16],
            _ => &[0, 8],
        };
        assert!(run.code.is_some_and(|c| allowed.contains(&c)), "{what}: {args:?} on {paths:?} exit {:?}\n{}", run.code, run.stderr);
        if run.code == Some(16) {
            assert!(USAGE.iter().any(|u| run.stderr.contains(u)), "{what}: {args:?} on {paths:?}: a usage error, but why?\n{}", run.stderr);
            // Only a path given twice, an unrelated seed, or damage to what says who a device is
            // (a superblock, a device item that can be trusted) makes a path one of another
            // filesystem: a damaged filesystem given with its own seeds is not a usage error.
            assert!(
                renamed || matches!(given, Given::Twice(_) | Given::Other),
                "{what}: {args:?} on {paths:?}: a usage error where every path is one of the set\n{}",
                run.stderr
            );
        }
        if args.contains(&"--json") {
            let text = String::from_utf8_lossy(&run.stdout);
            let lines: Vec<Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {args:?} printed a line that is not JSON ({e}): {l}")))
                .collect();
            if args[0] == "check" && matches!(run.code, Some(0 | 4)) {
                assert!(lines.last().is_some_and(|v| v["type"] == "summary"), "{what}: check ended {:?} without a summary", run.code);
            }
            if args[0] == "detect" {
                detect = lines;
            }
        }
        if args[0] == "check" {
            if let Some((code, stdout)) = &check {
                assert_eq!((code, stdout), (&run.code, &run.stdout), "{what}: two runs of check differ");
            }
            check = Some((run.code, run.stdout));
        }
    }
    Outcome { check: check.and_then(|(code, _)| code), detect }
}

/// Address space a command may use: the members are mapped (128 MiB each, a few of them), the
/// rest must stay small whatever the bytes say.
const MEMORY_KIB: u64 = 2 << 20;

/// `ondisk ARGS PATHS` under [`MEMORY_KIB`] of address space and a time limit.
fn run_limited(args: &[&str], paths: &[PathBuf]) -> common::Run {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\"")).arg(common::ondisk()).args(args).args(paths);
    common::run_with_timeout(&mut cmd, Duration::from_secs(120))
}

/// The exit code of check on an undamaged set given as `given` says: exact.
fn clean_check_code(spec: &SetSpec, given: Given) -> i32 {
    match given {
        Given::All => 0,
        // A RAID1 seed has a copy of everything on either device (see tests/btrfs_seed.rs).
        Given::Missing(_) if spec.name == "raid1" => 0,
        Given::Missing(_) => 4,
        Given::Twice(_) | Given::Other => 16,
        Given::TwiceCopy(_) => 8,
    }
}

/// On an undamaged set, detect's set of the newest filesystem has every devid present but those
/// of a seed device left out, which are missing, and names every seed device the set has.
fn assert_detect_clean(p: &Prepared, given: Given, detect: &[Value], what: &str) {
    let fsid = ondisk::detect::uuid_text(&p.supers[0][SB_FSID..SB_FSID + 16].try_into().expect("16 bytes"));
    let set = detect.iter().find(|v| v["type"] == "set" && v["uuid"] == fsid.as_str()).unwrap_or_else(|| panic!("{what}: no set {fsid} in {detect:?}"));
    let devid = |m: usize| sb_u64(&p.supers[m], DEV_ITEM + DI_DEVID);
    let want_missing: Vec<u64> = match given {
        Given::Missing(m) => vec![devid(m)],
        _ => Vec::new(),
    };
    let mut want_present: Vec<u64> = (0..p.supers.len()).filter(|&m| given != Given::Missing(m)).map(devid).collect();
    want_present.sort_unstable();
    let num = |v: &Value| -> Vec<u64> {
        let mut n: Vec<u64> = v.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
        n.sort_unstable();
        n.dedup();
        n
    };
    assert_eq!(num(&set["missing"]), want_missing, "{what}: detect's missing devids: {set}");
    assert_eq!(num(&set["present"]), want_present, "{what}: detect's present devids: {set}");
    let seeds = set["seeds"].as_array().map_or(0, Vec::len);
    assert_eq!(seeds, p.supers.len() - 1, "{what}: detect's seed devices: {set}");
}

/// One damage of a round, described so that the round can be replayed by hand, and whether it
/// may change who a device says it is: a superblock, or a block of the checked filesystem's
/// chunk tree with a good checksum.
fn damage(p: &Prepared, rng: &mut Rng, img: &Img, kind: Kind) -> (String, bool) {
    let spec = p.spec;
    match kind {
        Kind::Super | Kind::SuperField => {
            let m = rng.below(spec.members.len() as u64) as usize;
            let (field, edits) = if kind == Kind::Super { ("any", mutate::super_edits(rng)) } else { super_field_edits(p, rng, m) };
            edit_member_super(img, m, &edits);
            (format!("superblock of {} ({field}) edits {edits:?}", spec.members[m]), true)
        }
        Kind::Block | Kind::DevItem => {
            let (view, block, edits) = if kind == Kind::Block {
                let (view, block) = p.blocks[rng.below(p.blocks.len() as u64) as usize];
                (view, block, mutate::block_edits(rng, p.base.nodesize, 8))
            } else {
                dev_item_edits(p, rng)
            };
            let recsum = rng.below(8) != 0;
            p.img(img, view)
                .edit_block(block, Copies::All, recsum, |b| {
                    for &(at, v) in &edits {
                        b[at] = v;
                    }
                })
                .unwrap_or_else(|e| panic!("{} block {block}: {e:?}", spec.name));
            (format!("block {block} (filesystem {view}) edits {edits:?} recsum {recsum}"), recsum && p.chunk_tree.contains(&block))
        }
        Kind::Mixed => {
            // Two or three identities changed at once: a device's superblock and the device items
            // that name it can agree with each other and disagree with the rest.
            let mut parts = Vec::new();
            let mut renamed = false;
            for _ in 0..2 + rng.below(2) {
                let kind = if rng.below(2) == 0 { Kind::SuperField } else { Kind::DevItem };
                let (what, r) = damage(p, rng, img, kind);
                parts.push(what);
                renamed |= r;
            }
            (parts.join("; "), renamed)
        }
        Kind::Cut => {
            // Anywhere, most often inside the first 70 MiB (superblock mirror, chunk tree, the
            // first metadata chunks).
            let m = rng.below(spec.members.len() as u64) as usize;
            let len = std::fs::metadata(&img.paths[m]).expect("member").len();
            let cut = if rng.below(2) == 0 { rng.below(len.min(70 << 20)) } else { rng.below(len) };
            std::fs::OpenOptions::new().write(true).open(&img.paths[m]).and_then(|f| f.set_len(cut)).expect("cut");
            (format!("{} cut to {cut} bytes", spec.members[m]), false)
        }
        Kind::Paths => ("no damage".to_string(), false),
    }
}

fn fuzz(spec: &'static SetSpec, seed: u64, rounds: usize) {
    let (seed, rounds) = mutate::campaign(seed, rounds);
    let p = prepare(spec);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    for round in 0..rounds {
        let rdir = dir.path().join(format!("r{round}"));
        std::fs::create_dir_all(&rdir).unwrap();
        let img = p.base.copy_to(&rdir).expect("a copy");
        let kind = match rng.below(20) {
            0..=2 => Kind::Super,
            3..=5 => Kind::SuperField,
            6..=10 => Kind::Block,
            11..=13 => Kind::DevItem,
            14 | 15 => Kind::Mixed,
            16 => Kind::Cut,
            _ => Kind::Paths,
        };
        let (damage, renamed) = damage(&p, &mut rng, &img, kind);
        let given = pick_given(&p, &mut rng);
        let paths = arrange(&p, &mut rng, &img, &rdir, given);
        let what = format!("{} seed {seed:#x} round {round}: {kind:?}: {damage}, given {given:?}", spec.name);
        let out = survives(&paths, &what, renamed, given);
        if kind == Kind::Paths {
            assert_eq!(out.check, Some(clean_check_code(spec, given)), "{what}: check on {paths:?}");
            assert_detect_clean(&p, given, &out.detect, &what);
        }
        *tally.rounds.entry(kind).or_default() += 1;
        *tally.check.entry((kind, out.check)).or_default() += 1;
        let _ = std::fs::remove_dir_all(&rdir);
    }
    let mut lines = Vec::new();
    for (kind, n) in &tally.rounds {
        let codes: Vec<String> = tally.check.iter().filter(|((k, _), _)| k == kind).map(|((_, c), m)| format!("{}: {m}", c.map_or("-".into(), |c| c.to_string()))).collect();
        lines.push(format!("  {kind:?}: {n} rounds, check exit {}", codes.join(", ")));
    }
    eprintln!("{} seed {seed:#x}: {rounds} rounds\n{}", spec.name, lines.join("\n"));
    // The damage reaches the readers: most rounds that change who a device is are reported (the
    // rest change a field the sprout never reads, such as a seed's own chunk tree).
    let identity = |k: &Kind| matches!(k, Kind::SuperField | Kind::DevItem | Kind::Mixed);
    let damaged: usize = tally.check.iter().filter(|((k, _), _)| identity(k)).map(|(_, n)| n).sum();
    let noticed: usize = tally.check.iter().filter(|((k, c), _)| identity(k) && *c != Some(0)).map(|(_, n)| n).sum();
    assert!(noticed * 2 >= damaged, "{}: only {noticed} of {damaged} rounds damaging device identities were noticed", spec.name);
}

#[test]
fn mutated_sprout_and_seed_never_crash() {
    fuzz(&SPROUT, 0x5eed_5001, 300);
}

#[test]
fn mutated_chain_of_seeds_never_crash() {
    fuzz(&CHAIN, 0x5eed_5002, 300);
}

#[test]
fn mutated_raid1_seed_and_sprout_never_crash() {
    fuzz(&RAID1, 0x5eed_5003, 300);
}

/// `check --json` on `paths`: exit code, the summary's kinds, stderr.
fn check_kinds(paths: &[PathBuf]) -> (Option<i32>, BTreeMap<String, u64>, String) {
    let run = run_limited(&["check", "--json"], paths);
    let kinds = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "summary")
        .and_then(|s| s["kinds"].as_object().map(|m| m.iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0))).collect()))
        .unwrap_or_default();
    (run.code, kinds, run.stderr)
}

/// Found by this campaign (chain seed 0x5eed5002 round 23, "sprout2 cut to 15743261 bytes"): a
/// sprout whose chunk tree cannot be read, given with its own seed, was a usage error blaming
/// the seed ("belongs to another filesystem"), while the same sprout alone is checked and its
/// damage reported. With no device items to read, nothing says the seed is not one: it is taken
/// on its SEEDING flag and the unreadable chunk tree is what the check reports.
#[test]
fn a_sprout_with_an_unreadable_chunk_tree_is_damaged_not_a_usage_error() {
    let p = prepare(&SPROUT);
    let dir = tempfile::tempdir().expect("tempdir");
    let img = p.base.copy_to(dir.path()).expect("a copy");
    // The sprout's SYSTEM chunk (both DUP copies of its chunk tree) lies past 40 MiB.
    std::fs::OpenOptions::new().write(true).open(&img.paths[0]).and_then(|f| f.set_len(40 << 20)).expect("cut");
    let (alone, alone_kinds, _) = check_kinds(&img.paths[..1]);
    assert_eq!(alone, Some(4), "{alone_kinds:?}");
    for order in [[0, 1], [1, 0]] {
        let paths: Vec<PathBuf> = order.iter().map(|&i| img.paths[i].clone()).collect();
        let (code, kinds, stderr) = check_kinds(&paths);
        assert_eq!(code, Some(4), "{order:?}: {kinds:?}\n{stderr}");
        assert!(kinds.contains_key("btrfs.tree_block_unreadable"), "{order:?}: {kinds:?}");
        for cmd in ["dump", "stats"] {
            let run = run_limited(&[cmd], &paths);
            assert!(run.code.is_some_and(|c| c != 16), "{cmd} {order:?}: exit {:?}\n{}", run.code, run.stderr);
        }
    }
}

/// The same for a chunk tree leaf whose checksum fails on every copy (raid1 seed 0x5eed5003
/// round 13: a byte of a DEV_ITEM's fsid changed, not re-checksummed): its device items cannot be
/// trusted to say the seeds given are not the filesystem's. Re-checksummed, the same leaf is the
/// filesystem's word, and a seed device it does not name is a path of another filesystem.
#[test]
fn a_chunk_tree_that_fails_its_checksum_does_not_disown_the_seeds() {
    let p = prepare(&RAID1);
    // Slot 0 of the sprout's chunk tree: the device item of devid 1, a seed device.
    let (view, block, _, itemoff) = *p.dev_items.iter().find(|&&(v, _, slot, _)| v == p.views.len() - 1 && slot == 0).expect("a device item of the sprout");
    for recsum in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = p.base.copy_to(dir.path()).expect("a copy");
        // The last byte of its fsid.
        let at = HEADER + itemoff + DI_FSID + 15;
        p.img(&img, view).edit_block(block, Copies::All, recsum, |b| b[at] ^= 0x5a).expect("edit the chunk tree leaf");
        let (code, kinds, stderr) = check_kinds(&img.paths);
        if recsum {
            assert_eq!(code, Some(16), "{kinds:?}\n{stderr}");
            assert!(stderr.contains("raid1-seed.dev1.img: belongs to another filesystem"), "{stderr}");
        } else {
            assert_eq!(code, Some(4), "{kinds:?}\n{stderr}");
            assert!(kinds.contains_key("btrfs.tree_block_csum"), "{kinds:?}");
        }
    }
}

/// A copy of the sprout+seed set with one member's superblock generation (every copy) set to
/// `generation` of the clean generations (sprout's, seed's).
fn set_with_generation(member: usize, generation: impl FnOnce(u64, u64) -> u64) -> (tempfile::TempDir, Img) {
    let p = prepare(&SPROUT);
    let dir = tempfile::tempdir().expect("tempdir");
    let img = p.base.copy_to(dir.path()).expect("a copy");
    let [sprout, seed] = [0, 1].map(|m| sb_u64(&read_super(&img.paths[m]), SB_GENERATION));
    let mut edits = Vec::new();
    put(&mut edits, SB_GENERATION, &generation(sprout, seed).to_le_bytes());
    edit_member_super(&img, member, &edits);
    (dir, img)
}

/// `check` of the two paths in both orders: each must exit 4; their finding counts.
fn check_in_both_orders(img: &Img) -> Vec<BTreeMap<String, u64>> {
    [[0, 1], [1, 0]]
        .iter()
        .map(|order| {
            let paths: Vec<PathBuf> = order.iter().map(|&i| img.paths[i].clone()).collect();
            let (code, kinds, stderr) = check_kinds(&paths);
            assert_eq!(code, Some(4), "{order:?}: {kinds:?}\n{stderr}");
            kinds
        })
        .collect()
}

/// A sprout whose superblock generation equals its seed's (only damage does that: a sprout
/// carries on its seed's count and commits at least once). Which filesystem the set is must
/// not depend on the order of the paths (found by the seed-set fuzz: `check sprout seed` exited
/// 4, `check seed sprout` 16): here both are seeds of one generation, and the sprout is the one
/// whose chunk tree names the other path.
#[test]
fn a_generation_tie_does_not_make_the_verdict_depend_on_path_order() {
    let (_dir, img) = set_with_generation(0, |_, seed| seed);
    let kinds = check_in_both_orders(&img);
    assert_eq!(kinds[0], kinds[1], "the same findings in both orders");
}

/// A seed whose superblock generation was changed since the sprout grew (here raised above the
/// sprout's own): the sprout's device item recorded the seed's generation, and the kernel
/// refuses to mount on a difference (read_one_dev). The sprout, not a seed, still names the set
/// in both orders, and the difference is the one error.
#[test]
fn a_seed_with_another_generation_than_its_sprout_recorded() {
    let (_dir, img) = set_with_generation(1, |sprout, _| sprout + 5);
    for (order, kinds) in check_in_both_orders(&img).iter().enumerate() {
        let errors: Vec<&String> = kinds.keys().filter(|k| *k != "btrfs.free_space_orphan").collect();
        assert_eq!(errors, ["btrfs.seed_generation"], "order {order}: {kinds:?}");
        assert_eq!(kinds["btrfs.seed_generation"], 1);
    }
}
