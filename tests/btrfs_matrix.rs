//! The differential test: `ondisk` against btrfs-progs 6.2 on the mkfs matrix
//! (`test-images/btrfs/<name>/`, built by `make-btrfs-matrix`) and on the kernel-written images
//! in `../shared/images/btrfs/`.
//!
//! (a) `ondisk dump` text vs the committed `dump-tree` golden, line by line; and the same
//!     restricted to the lines that are not item bodies (headers, key lines, tree titles) on the
//!     matrix and on `../shared`, a narrower signal while item bodies are being written;
//! (b) `ondisk dump --json` vs the golden's structure: every block's tree, bytenr, level, nritems,
//!     free space, generation, owner and every slot's key (plus blockptr/generation of node
//!     pointers, itemoff/itemsize of items), in order — matrix and `../shared` images;
//! (c) `ondisk super` vs `dump-super -f` (first line normalised: it names the device path);
//! (d) live, when btrfs-progs is installed: rebuild a few matrix images into a temporary
//!     directory and compare ondisk with btrfs-progs on them directly, and the rebuilt fs tree's
//!     shape with the committed golden's (proves the goldens are current).
//!
//! `../shared` is found as `$ONDISK_SHARED`, `<repo>/../shared` or `<repo>/../../shared`; tests
//! that need it or btrfs-progs print `SKIP:` and pass without them. Compressed images are
//! decompressed once into cargo's target tmpdir and reused across runs.
//!
//! Each comparison prints the image, how many lines/records were compared and the differences.
//! Differences we know and accept are listed in [`KNOWN`] with their reason; anything else fails.

mod common;

use common::dump_tree::{self, Block};
use common::textdiff::{self, Change};
use common::{byte_lines, have_tool, images_in, ondisk_run, raw_image, read_maybe_zst, run_with_timeout, shared};
use ondisk_test_images::btrfs_matrix::{self, Content, MATRIX};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A difference we accept, and why.
struct Known {
    /// Which comparison: "dump" (text) or "super".
    what: &'static str,
    /// Line number on the expected side (0: any).
    line_no: usize,
    /// The expected-side line starts with this.
    starts_with: &'static str,
    reason: &'static str,
}

const KNOWN: &[Known] = &[Known {
    what: "dump",
    line_no: 1,
    starts_with: "btrfs-progs v",
    reason: "dump-tree prints its own version banner first; ondisk prints no banner",
}];

fn is_known(what: &str, c: &Change) -> bool {
    c.sign == '-' && KNOWN.iter().any(|k| k.what == what && (k.line_no == 0 || k.line_no == c.line_no) && c.line.starts_with(k.starts_with))
}

/// How many differences each failing comparison prints.
const SHOW: usize = 12;

fn golden_dir() -> PathBuf {
    ondisk_test_images::btrfs_golden_dir()
}

/// The member images of one matrix folder, in device order, decompressed (see [`raw_image`]).
fn matrix_members(name: &str) -> Vec<PathBuf> {
    let m = images_in(&golden_dir().join(name));
    assert!(!m.is_empty(), "no images in {}", golden_dir().join(name).display());
    m.iter().map(|p| raw_image(p)).collect()
}

/// Text comparison (a)/(c) of one image; returns the unexpected differences as report lines.
fn compare_text(label: &str, what: &str, expected: &[u8], actual: &[u8]) -> Vec<String> {
    let d = textdiff::diff(expected, actual);
    let (known, unexpected): (Vec<&Change>, Vec<&Change>) = d.changes.iter().partition(|c| is_known(what, c));
    // Body lines (two tabs) are item bodies; head lines are block headers, key lines and the
    // like: reporting them apart shows which half of the output a difference is in.
    let body = unexpected.iter().filter(|c| c.line.starts_with("\t\t")).count();
    println!(
        "{label}: {what}: {} lines compared, {} differences ({} in item bodies, {} elsewhere; {} known)",
        d.compared,
        unexpected.len(),
        body,
        unexpected.len() - body,
        known.len()
    );
    // The head-line differences first: they are the rarer and the more telling.
    let mut unexpected = unexpected;
    unexpected.sort_by_key(|c| c.line.starts_with("\t\t"));
    for c in &known {
        let reason = KNOWN.iter().find(|k| c.line.starts_with(k.starts_with)).map_or("", |k| k.reason);
        println!("    known: {c}  -- {reason}");
    }
    for c in unexpected.iter().take(SHOW) {
        println!("    {c}");
    }
    if unexpected.len() > SHOW {
        println!("    ... {} more", unexpected.len() - SHOW);
    }
    if unexpected.is_empty() {
        Vec::new()
    } else {
        vec![format!("{label}: {what}: {} unexpected differences", unexpected.len())]
    }
}

/// Structural comparison (b) of one image.
fn compare_structure(label: &str, expected: &[Block], json: &[u8]) -> Vec<String> {
    let (actual, other) = match dump_tree::parse_json(json) {
        Ok(x) => x,
        Err(e) => return vec![format!("{label}: json: {e}")],
    };
    let d = dump_tree::compare(expected, &actual);
    let items: usize = expected.iter().map(|b| b.slots.len()).sum();
    println!(
        "{label}: json: {} blocks, {items} slots expected; {} records compared, {} differences",
        expected.len(),
        d.compared,
        d.differences.len() + other.len()
    );
    let mut failures = Vec::new();
    for o in other.iter().take(SHOW) {
        println!("    unexpected record: {o}");
    }
    for x in d.differences.iter().take(SHOW) {
        println!("    {x}");
    }
    if d.differences.len() > SHOW {
        println!("    ... {} more", d.differences.len() - SHOW);
    }
    if !d.differences.is_empty() || !other.is_empty() {
        failures.push(format!("{label}: json: {} differences", d.differences.len() + other.len()));
    }
    if expected.is_empty() {
        failures.push(format!("{label}: the golden holds no blocks"));
    }
    failures
}

/// `ondisk ARGS...` stdout, or a failure line.
fn ondisk_stdout(label: &str, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>, String> {
    let r = ondisk_run(args);
    if r.timed_out || r.code != Some(0) {
        let first = r.stderr.lines().next().unwrap_or("").to_string();
        println!("{label}: ondisk {:?} exit {:?}{}: {first}", args, r.code, if r.timed_out { " (timed out)" } else { "" });
        return Err(format!("{label}: ondisk exit {:?}: {first}", r.code));
    }
    Ok(r.stdout)
}

fn os(p: &[PathBuf]) -> Vec<&std::ffi::OsStr> {
    p.iter().map(|p| p.as_os_str()).collect()
}

fn finish(test: &str, failures: Vec<String>) {
    if !failures.is_empty() {
        panic!("{test}: {} comparisons differ:\n  {}", failures.len(), failures.join("\n  "));
    }
}

/// The first line of dump-super names the device it read; normalise it on both sides.
fn normalise_super(text: &[u8]) -> Vec<u8> {
    let lines = byte_lines(text);
    let mut out = Vec::with_capacity(text.len());
    for (i, l) in lines.iter().enumerate() {
        if i == 0 && l.starts_with(b"superblock: bytenr=") {
            let s = String::from_utf8_lossy(l);
            let cut = s.find("device=").map_or(s.len(), |p| p + "device=".len());
            out.extend_from_slice(s[..cut].as_bytes());
            out.extend_from_slice(b"<dev>");
        } else {
            out.extend_from_slice(l);
        }
        out.push(b'\n');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// (a) text

#[test]
fn matrix_dump_text_matches_dump_tree() {
    let mut failures = Vec::new();
    for spec in MATRIX {
        let members = matrix_members(spec.name);
        let golden = read_maybe_zst(&golden_dir().join(spec.name).join("dump-tree.txt.zst"));
        let mut args = vec![std::ffi::OsStr::new("dump")];
        args.extend(os(&members));
        match ondisk_stdout(spec.name, &args) {
            Ok(out) => failures.extend(compare_text(spec.name, "dump", &golden, &out)),
            Err(e) => failures.push(e),
        }
    }
    finish("(a) ondisk dump vs dump-tree", failures);
}

/// Keeps the lines that are not item bodies: block headers, key pointer and item key lines, tree
/// titles and totals. They are picked by shape rather than by dropping two-tab lines, because
/// dump-tree prints xattr values raw and a value holding a newline continues on a line of its own.
fn head_lines(text: &[u8]) -> Vec<u8> {
    const HEADS: &[&[u8]] = &[b"leaf ", b"node ", b"fs uuid ", b"chunk uuid ", b"total bytes ", b"bytes used ", b"uuid ", b"btrfs-progs v"];
    let is_head = |l: &&[u8]| {
        l.starts_with(b"\titem ")
            || l.starts_with(b"\tkey (")
            || HEADS.iter().any(|h| l.starts_with(h))
            || l.ends_with(b" tree")
            || l.windows(11).any(|w| w == b" tree key (")
    };
    let mut out = Vec::with_capacity(text.len() / 2);
    for l in byte_lines(text).into_iter().filter(is_head) {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

/// (a) restricted to what is not an item body: the block headers, key pointer and item key
/// lines, tree titles and totals. A narrower signal than the full text while bodies are being
/// written, and a guard on the key and header formats afterwards.
#[test]
fn matrix_dump_head_lines_match_dump_tree() {
    let mut failures = Vec::new();
    for spec in MATRIX {
        let members = matrix_members(spec.name);
        let golden = read_maybe_zst(&golden_dir().join(spec.name).join("dump-tree.txt.zst"));
        let mut args = vec![std::ffi::OsStr::new("dump")];
        args.extend(os(&members));
        match ondisk_stdout(spec.name, &args) {
            Ok(out) => failures.extend(compare_text(spec.name, "dump", &head_lines(&golden), &head_lines(&out))),
            Err(e) => failures.push(e),
        }
    }
    finish("(a) ondisk dump vs dump-tree, head lines only", failures);
}

/// The same on the kernel-written images of `../shared` (subvolumes, qgroups, log tree keys).
#[test]
fn shared_dump_head_lines_match_dump_tree() {
    let mut failures = Vec::new();
    for (name, golden, members) in shared_with_dump_tree() {
        let mut args = vec![std::ffi::OsStr::new("dump")];
        args.extend(os(&members));
        match ondisk_stdout(&name, &args) {
            Ok(out) => failures.extend(compare_text(&name, "dump", &head_lines(&golden), &head_lines(&out))),
            Err(e) => failures.push(e),
        }
    }
    finish("(a) ondisk dump vs dump-tree, head lines only (../shared)", failures);
}

/// The `../shared` btrfs folders with a dump-tree text to compare against: (label, text, raw
/// members). The text is btrfs-progs 6.2's committed `dump-tree.out.zst`; where there is none,
/// 6.2 run here on the members when it is installed; where 6.2 cannot open the image (simple
/// quotas), 6.19's `dump-tree-devel.out.zst`. Empty, with a SKIP line, without `../shared`.
fn shared_with_dump_tree() -> Vec<(String, Vec<u8>, Vec<PathBuf>)> {
    let Some(shared) = shared() else {
        eprintln!("SKIP: ../shared is absent: the kernel-written btrfs images are not compared");
        return Vec::new();
    };
    let dir = shared.join("images/btrfs");
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect()).unwrap_or_default();
    folders.sort();
    let progs = have_tool("btrfs");
    let mut v = Vec::new();
    for f in folders {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let members: Vec<PathBuf> = images_in(&f).iter().map(|p| raw_image(p)).collect();
        let golden = f.join("dump-tree.out.zst");
        if golden.exists() {
            v.push((name, read_maybe_zst(&golden), members));
            continue;
        }
        if progs {
            let r = run_with_timeout(Command::new("btrfs").args(["inspect-internal", "dump-tree", "--noscan"]).args(&members), Duration::from_secs(120));
            // 6.2 exits 0 after "unable to open" on images it does not support: look for blocks.
            let dumped = r.stdout.windows(6).any(|w| w == b"\nleaf " || w == b"\nnode ");
            if r.code == Some(0) && !r.timed_out && dumped {
                v.push((format!("{name} (btrfs-progs run here)"), r.stdout, members));
                continue;
            }
            println!("{name}: the installed btrfs-progs cannot dump it: {}", r.stderr.trim().replace('\n', " / "));
        }
        let devel = f.join("dump-tree-devel.out.zst");
        if devel.exists() {
            v.push((format!("{name} (6.19 golden)"), read_maybe_zst(&devel), members));
        } else {
            println!("{name}: no dump-tree output to compare with{}", if progs { "" } else { " (btrfs-progs not installed)" });
        }
    }
    v
}

// ---------------------------------------------------------------------------------------------
// (b) structure

fn structure_of(label: &str, golden_text: &[u8], members: &[PathBuf]) -> Vec<String> {
    let expected = match dump_tree::parse_text(golden_text) {
        Ok(b) => b,
        Err(e) => return vec![format!("{label}: golden: {e}")],
    };
    let mut args = vec![std::ffi::OsStr::new("dump"), std::ffi::OsStr::new("--json")];
    args.extend(os(members));
    match ondisk_stdout(label, &args) {
        Ok(json) => compare_structure(label, &expected, &json),
        Err(e) => vec![e],
    }
}

#[test]
fn matrix_dump_json_matches_dump_tree_structure() {
    let mut failures = Vec::new();
    for spec in MATRIX {
        let golden = read_maybe_zst(&golden_dir().join(spec.name).join("dump-tree.txt.zst"));
        failures.extend(structure_of(spec.name, &golden, &matrix_members(spec.name)));
    }
    finish("(b) ondisk dump --json vs dump-tree structure (matrix)", failures);
}

#[test]
fn shared_dump_json_matches_dump_tree_structure() {
    let mut failures = Vec::new();
    for (name, golden, members) in shared_with_dump_tree() {
        failures.extend(structure_of(&name, &golden, &members));
    }
    finish("(b) ondisk dump --json vs dump-tree structure (../shared)", failures);
}

// ---------------------------------------------------------------------------------------------
// (c) superblock

#[test]
fn matrix_super_matches_dump_super() {
    let mut failures = Vec::new();
    for spec in MATRIX {
        // The golden is the first member's superblock; ask ondisk about that member alone.
        let first = matrix_members(spec.name).remove(0);
        let golden = std::fs::read(golden_dir().join(spec.name).join("dump-super.txt")).expect("dump-super.txt is committed");
        match ondisk_stdout(spec.name, &[std::ffi::OsStr::new("super"), first.as_os_str()]) {
            Ok(out) => failures.extend(compare_text(spec.name, "super", &normalise_super(&golden), &normalise_super(&out))),
            Err(e) => failures.push(e),
        }
    }
    finish("(c) ondisk super vs dump-super -f", failures);
}

// ---------------------------------------------------------------------------------------------
// (d) live: rebuild with the installed btrfs-progs

/// The images rebuilt live: one populated single-device image and one parity RAID set.
const LIVE: &[&str] = &["demo", "raid5"];

/// Rebuilt images in a temporary directory (kept alive by the returned guard).
struct Rebuilt {
    _dir: tempfile::TempDir,
    images: Vec<(&'static str, Vec<PathBuf>)>,
}

fn rebuild(test: &str) -> Option<Rebuilt> {
    for tool in ["mkfs.btrfs", "btrfs"] {
        if !have_tool(tool) {
            eprintln!("SKIP: {test}: {tool} is not on PATH");
            return None;
        }
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tree = dir.path().join("tree");
    if let Err(e) = ondisk_test_images::tree_gen::generate(&tree) {
        // trusted.* xattrs need CAP_SYS_ADMIN.
        eprintln!("SKIP: {test}: cannot generate the source tree: {e}");
        return None;
    }
    let mut images = Vec::new();
    for name in LIVE {
        let spec = btrfs_matrix::spec(name).expect("LIVE names matrix images");
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).expect("a fresh directory");
        let members = btrfs_matrix::build(spec, &sub, &tree).unwrap_or_else(|e| panic!("{name}: {e}"));
        images.push((spec.name, members));
    }
    Some(Rebuilt { _dir: dir, images })
}

fn progs_dump_tree(members: &[PathBuf]) -> Vec<u8> {
    let r = run_with_timeout(Command::new("btrfs").args(["inspect-internal", "dump-tree", "--noscan"]).args(members), Duration::from_secs(120));
    r.ok("btrfs inspect-internal dump-tree").stdout
}

#[test]
fn live_rebuild_structure_matches_btrfs_progs_and_goldens() {
    let Some(rb) = rebuild("live structure") else { return };
    let mut failures = Vec::new();
    for (name, members) in &rb.images {
        let label = format!("live {name}");
        let fresh = progs_dump_tree(members);
        failures.extend(structure_of(&label, &fresh, members));

        // The committed golden came from the same builder: the rebuilt image must have the same
        // shape. Inode numbers and block placement may differ between builds (mkfs copies the
        // source tree's inode numbers), item counts per type in the fs tree may not.
        let golden = read_maybe_zst(&golden_dir().join(name).join("dump-tree.txt.zst"));
        let (g, f) = (dump_tree::parse_text(&golden), dump_tree::parse_text(&fresh));
        match (g, f) {
            (Ok(g), Ok(f)) => {
                let (hg, hf) = (dump_tree::item_type_histogram(&g, 5), dump_tree::item_type_histogram(&f, 5));
                let same = hg == hf;
                println!("{label}: fs tree item types, golden {hg:?} rebuilt {hf:?}: {}", if same { "same" } else { "DIFFERENT" });
                if !same {
                    failures.push(format!("{label}: the committed golden is stale (fs tree shape differs); rerun make-btrfs-matrix"));
                }
            }
            (Err(e), _) | (_, Err(e)) => failures.push(format!("{label}: {e}")),
        }
    }
    finish("(d) live structure", failures);
}

#[test]
fn live_rebuild_text_and_super_match_btrfs_progs() {
    let Some(rb) = rebuild("live text") else { return };
    let mut failures = Vec::new();
    for (name, members) in &rb.images {
        let label = format!("live {name}");
        let fresh = progs_dump_tree(members);
        let mut args = vec![std::ffi::OsStr::new("dump")];
        args.extend(os(members));
        match ondisk_stdout(&label, &args) {
            Ok(out) => failures.extend(compare_text(&label, "dump", &fresh, &out)),
            Err(e) => failures.push(e),
        }
        let sup = btrfs_matrix::progs_dump_super(&members[0]).expect("dump-super runs");
        match ondisk_stdout(&label, &[std::ffi::OsStr::new("super"), members[0].as_os_str()]) {
            Ok(out) => failures.extend(compare_text(&label, "super", &normalise_super(&sup), &normalise_super(&out))),
            Err(e) => failures.push(e),
        }
    }
    finish("(d) live text and super", failures);
}

/// The matrix on disk and the specs agree: every spec has its folder with every member, the
/// goldens and HOW.txt, and nothing else is there.
#[test]
fn matrix_goldens_are_complete() {
    let mut total = 0u64;
    for spec in MATRIX {
        let dir = golden_dir().join(spec.name);
        for f in ["dump-tree.txt.zst", "dump-super.txt", "HOW.txt"] {
            assert!(dir.join(f).is_file(), "{} is missing", dir.join(f).display());
        }
        let members = images_in(&dir);
        let want: Vec<String> = spec.member_names().iter().map(|n| format!("{n}.zst")).collect();
        let have: Vec<String> = members.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(have, want, "{}: member images", spec.name);
        let how = std::fs::read_to_string(dir.join("HOW.txt")).unwrap();
        assert!(how.contains(&spec.mkfs_command_text()), "{}: HOW.txt does not hold the mkfs command", spec.name);
        if let Content::Empty { devices } = spec.content {
            assert!((2..=4).contains(&devices));
        }
        total += std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum::<u64>();
    }
    let mut folders: Vec<String> = std::fs::read_dir(golden_dir()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    folders.sort();
    let mut names: Vec<String> = MATRIX.iter().map(|s| s.name.to_string()).collect();
    names.sort();
    assert_eq!(folders, names, "folders under {} vs MATRIX", golden_dir().display());
    println!("{} images, {total} bytes committed", MATRIX.len());
    assert!(total < 3 << 20, "the committed matrix should stay under 3 MiB, it is {total} bytes");
}

