//! `ondisk dump` against `btrfs inspect-internal dump-tree` (btrfs-progs 6.2) on the kernel-made
//! images in `../shared/images/btrfs`: the text must match the reference line for line, and the
//! JSON must say what the text says. k-squota, which 6.2 cannot open, is compared with the
//! btrfs-progs 6.19 dump stored beside it, with 6.19's inline backref prefixes as the one named
//! exception.
//!
//! Needs `../shared` (skipped with a message when absent). The live comparisons for images
//! without a stored reference also need `btrfs` on PATH.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `<CARGO_MANIFEST_DIR>/../shared` (a worktree one level deeper is also looked through, and
/// `ONDISK_SHARED` overrides both).
fn shared_images() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("ONDISK_SHARED").map(PathBuf::from),
        Some(manifest.join("../shared")),
        Some(manifest.join("../../shared")),
    ];
    let found = candidates.iter().flatten().map(|s| s.join("images/btrfs")).find(|d| d.is_dir());
    if found.is_none() {
        eprintln!("SKIP: {} not found", manifest.join("../shared/images/btrfs").display());
    }
    found
}

/// The devices of one filesystem: every `*.img.zst` of its folder, in name order.
fn members(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read image folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".img.zst"))
        .collect();
    v.sort();
    v
}

fn zstd_on_path() -> bool {
    Command::new("zstd").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// What to hand ondisk for one filesystem. ondisk opens `.zst` members itself, but its pure-Rust
/// decompression of these multi-GiB sparse images costs seconds of CPU per run; when the `zstd`
/// tool is there (and `raw` is asked for), members are decompressed once into `tmp` instead.
fn inputs(dir: &Path, tmp: &Path, raw: bool) -> Vec<PathBuf> {
    let ms = members(dir);
    if !raw || !zstd_on_path() {
        return ms;
    }
    ms.iter()
        .map(|m| {
            let p = tmp.join(m.file_name().expect("name").to_string_lossy().trim_end_matches(".zst"));
            unzstd_sparse(m, &p);
            p
        })
        .collect()
}

struct Run {
    stdout: Vec<u8>,
    stderr: String,
    code: Option<i32>,
}

fn ondisk(args: &[&str], paths: &[PathBuf]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ondisk")).args(args).args(paths).output().expect("run ondisk");
    Run { stdout: out.stdout, stderr: String::from_utf8_lossy(&out.stderr).into_owned(), code: out.status.code() }
}

fn unzstd(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).expect("open zst");
    let mut d = ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(f)).expect("zstd header");
    let mut v = Vec::new();
    d.read_to_end(&mut v).expect("zstd data");
    v
}

/// Decompresses a `.zst` image into a sparse file: with the `zstd` tool when there is one
/// (much faster on multi-GiB images of zeros), else streaming through ruzstd, seeking over
/// zero blocks.
fn unzstd_sparse(src: &Path, dst: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let tool = Command::new("zstd").args(["-q", "-d", "-f", "--sparse", "-o"]).arg(dst).arg(src).status();
    if tool.is_ok_and(|s| s.success()) {
        return;
    }
    let f = std::fs::File::open(src).expect("open zst");
    let mut d = ruzstd::decoding::StreamingDecoder::new(std::io::BufReader::new(f)).expect("zstd header");
    let mut out = std::fs::File::create(dst).expect("create raw image");
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = d.read(&mut buf).expect("zstd data");
        if n == 0 {
            break;
        }
        if buf[..n].iter().all(|&b| b == 0) {
            out.seek(SeekFrom::Current(n as i64)).expect("seek");
        } else {
            out.write_all(&buf[..n]).expect("write raw image");
        }
        len += n as u64;
    }
    out.set_len(len).expect("set image length");
}

/// Lines as bytes (progs prints names and xattr values raw, so the text need not be UTF-8),
/// without the reference's `btrfs-progs vX.Y` banner.
fn lines(text: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    if v.first().is_some_and(|l| l.starts_with(b"btrfs-progs v")) {
        v.remove(0);
    }
    v
}

/// Compares line by line: the number of differences and a report (summary line first, then
/// the first differences).
fn compare(name: &str, ours: &[u8], reference: &[u8]) -> (usize, String) {
    let (a, b) = (lines(ours), lines(reference));
    let mut diffs = 0;
    let mut detail = String::new();
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        if x != y {
            if diffs < 10 {
                detail += &format!("  {name}:{}: ours  {:?}\n", i + 1, String::from_utf8_lossy(x));
                detail += &format!("  {name}:{}: progs {:?}\n", i + 1, String::from_utf8_lossy(y));
            }
            diffs += 1;
        }
    }
    diffs += a.len().abs_diff(b.len());
    let summary =
        format!("{name}: {} lines compared ({} ours, {} progs), {diffs} differences\n", a.len().min(b.len()), a.len(), b.len());
    (diffs, summary + &detail)
}

#[test]
fn dump_text_matches_progs_references() {
    let Some(root) = shared_images() else { return };
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("read images")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.join("dump-tree.out.zst").is_file())
        .collect();
    folders.sort();
    assert!(!folders.is_empty(), "no image folder with dump-tree.out.zst under {}", root.display());
    // One thread per image: each run is independent and mostly waits on the child process.
    let tmp = tempfile::tempdir().expect("temp dir");
    let tmp = tmp.path();
    let results: Vec<(String, usize, String)> = std::thread::scope(|sc| {
        let handles: Vec<_> = folders
            .iter()
            .map(|dir| {
                sc.spawn(move || {
                    let name = dir.file_name().expect("folder name").to_string_lossy().into_owned();
                    // k-raid5 always goes in compressed: one multi-device set through ondisk's
                    // own .zst reading.
                    let run = ondisk(&["dump"], &inputs(dir, tmp, name != "k-raid5"));
                    assert!(!run.stderr.contains("panicked"), "{name}: ondisk panicked: {}", run.stderr);
                    assert_eq!(run.code, Some(0), "{name}: exit status; stderr: {}", run.stderr);
                    let reference = unzstd(&dir.join("dump-tree.out.zst"));
                    // No exceptions are needed today: every line matches. A progs printing quirk
                    // we chose not to copy would be listed here by name, with the reason.
                    let (diffs, report) = compare(&name, &run.stdout, &reference);
                    (name, diffs, report)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("image thread")).collect()
    });
    let mut failed = Vec::new();
    for (name, diffs, report) in results {
        eprint!("{report}");
        if diffs != 0 {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "text differs from dump-tree for {failed:?}");
}

/// Named exception for the k-squota comparison with btrfs-progs 6.19 (6.2 cannot open simple
/// quota filesystems, so 6.19's dump is the only reference): 6.19 prefixes every inline backref
/// with its raw `(type 0xoffset)` and prints the owner ref as `\t(172 0x5) textent owner root 5`
/// (a tab lost into the text). We print 6.2's format for all inline refs, and the owner ref in
/// it. Returns the line with 6.19's prefix taken out.
fn without_devel_inline_ref_prefix(line: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    let strip = |rest: &str| rest.split_once(") ").map(|(_, r)| r.to_string());
    if let Some(rest) = text.strip_prefix("\t(172 ") {
        if let Some(r) = strip(rest).and_then(|r| r.strip_prefix('t').map(str::to_string)) {
            return format!("\t\t{r}").into_bytes();
        }
    }
    if let Some(rest) = text.strip_prefix("\t\t(") {
        if rest.starts_with(|c: char| c.is_ascii_digit()) && rest.contains(" 0x") {
            if let Some(r) = strip(rest) {
                return format!("\t\t{r}").into_bytes();
            }
        }
    }
    line.to_vec()
}

#[test]
fn squota_matches_progs_6_19_but_for_inline_ref_prefixes() {
    // btrfs-progs 6.2 cannot open simple-quota filesystems: compare with 6.19's dump instead.
    let Some(root) = shared_images() else { return };
    let dir = root.join("k-squota");
    if !dir.is_dir() {
        eprintln!("SKIP: {} not found", dir.display());
        return;
    }
    let run = ondisk(&["dump"], &members(&dir));
    assert!(!run.stderr.contains("panicked"), "ondisk panicked: {}", run.stderr);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(text.contains("\t\textent owner root 5\n"), "simple quota owner refs are decoded");
    assert!(!text.contains("ERROR:"), "no item failed to decode");
    let reference = dir.join("dump-tree-devel.out.zst");
    if !reference.is_file() {
        eprintln!("k-squota: {} lines, exit 0 (no 6.19 reference to compare)", text.lines().count());
        return;
    }
    let devel: Vec<u8> = lines(&unzstd(&reference))
        .into_iter()
        .flat_map(|l| {
            let mut v = without_devel_inline_ref_prefix(l);
            v.push(b'\n');
            v
        })
        .collect();
    let (diffs, report) = compare("k-squota (vs 6.19)", &run.stdout, &devel);
    eprint!("{report}");
    assert_eq!(diffs, 0, "k-squota differs from progs 6.19 beyond the inline ref prefixes");
}

fn btrfs_on_path() -> bool {
    Command::new("btrfs").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn dump_text_matches_live_progs_where_no_reference_is_stored() {
    let Some(root) = shared_images() else { return };
    if !btrfs_on_path() {
        eprintln!("SKIP: btrfs (btrfs-progs) not on PATH");
        return;
    }
    let mut failed = Vec::new();
    for name in ["k-logtree", "k-spacecache-v1"] {
        let dir = root.join(name);
        if !dir.is_dir() {
            eprintln!("SKIP: {} not found", dir.display());
            continue;
        }
        let ms = members(&dir);
        // progs wants raw images: decompress into a temporary directory (sparsely: these are
        // mostly-empty multi-GiB images), and let ondisk read the same files.
        let tmp = tempfile::tempdir().expect("temp dir");
        let raw: Vec<PathBuf> = ms
            .iter()
            .map(|m| {
                let p = tmp.path().join(m.file_name().expect("name").to_string_lossy().trim_end_matches(".zst"));
                unzstd_sparse(m, &p);
                p
            })
            .collect();
        let progs = Command::new("btrfs").args(["inspect-internal", "dump-tree"]).args(&raw).output().expect("run btrfs");
        if !progs.status.success() {
            eprintln!("SKIP: {name}: btrfs dump-tree failed: {}", String::from_utf8_lossy(&progs.stderr));
            continue;
        }
        let version = String::from_utf8_lossy(progs.stdout.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
        if version.trim() != "btrfs-progs v6.2" {
            eprintln!("note: {name}: comparing with {version}, the references are from btrfs-progs v6.2");
        }
        let run = ondisk(&["dump"], &raw);
        assert!(!run.stderr.contains("panicked"), "{name}: ondisk panicked: {}", run.stderr);
        assert_eq!(run.code, Some(0), "{name}: stderr: {}", run.stderr);
        let (diffs, report) = compare(name, &run.stdout, &progs.stdout);
        eprint!("{report}");
        if diffs != 0 {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "text differs from live dump-tree for {failed:?}");
}

/// What the progs text says about one item, for the JSON cross-check.
#[derive(Default, Debug)]
struct TextItem {
    item_type: String,
    size: Option<u64>,
    nbytes: Option<u64>,
    mode: Option<u64>,
    names: Vec<Vec<u8>>,
    disk_bytenr: Option<u64>,
    refs: Option<u64>,
}

fn field(line: &str, name: &str) -> Option<u64> {
    let mut it = line.split_whitespace();
    while let Some(w) = it.next() {
        if w == name {
            return it.next()?.parse().ok();
        }
    }
    None
}

/// Parses the reference text into (leaf bytenr, slot) → what it says.
fn parse_text(text: &[u8]) -> HashMap<(u64, u64), TextItem> {
    let mut map = HashMap::new();
    let mut leaf = 0u64;
    let mut cur: Option<(u64, u64)> = None;
    for raw in lines(text) {
        let line = String::from_utf8_lossy(raw);
        if let Some(rest) = line.strip_prefix("leaf ") {
            if line.contains(" items ") {
                leaf = rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
                cur = None;
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("\titem ") {
            let slot: u64 = rest.split(' ').next().and_then(|n| n.parse().ok()).expect("slot");
            // "key (OBJECTID TYPE OFFSET)"
            let inner = rest.split_once("key (").and_then(|(_, k)| k.split_once(')')).map(|(k, _)| k).expect("key");
            let item_type = inner.split(' ').nth(1).expect("type").to_string();
            map.insert((leaf, slot), TextItem { item_type, ..Default::default() });
            cur = Some((leaf, slot));
            continue;
        }
        let Some(k) = cur else { continue };
        let Some(it) = map.get_mut(&k) else { continue };
        if line.starts_with("\t\tgeneration ") && line.contains(" nbytes ") {
            it.size = field(&line, "size");
            it.nbytes = field(&line, "nbytes");
        } else if line.starts_with("\t\tblock group ") && line.contains(" mode ") {
            it.mode = line.split_whitespace().skip_while(|w| *w != "mode").nth(1).and_then(|m| u64::from_str_radix(m, 8).ok());
        } else if let Some(n) = raw.strip_prefix(b"\t\tname: ") {
            it.names.push(n.to_vec());
        } else if line.starts_with("\t\textent data disk byte ") || line.starts_with("\t\tprealloc data disk byte ") {
            it.disk_bytenr = field(&line, "byte");
        } else if line.starts_with("\t\trefs ") {
            it.refs = field(&line, "refs");
        }
    }
    map
}

#[test]
fn json_agrees_with_text_on_k_rich() {
    let Some(root) = shared_images() else { return };
    let dir = root.join("k-rich");
    if !dir.join("dump-tree.out.zst").is_file() {
        eprintln!("SKIP: {} has no dump-tree.out.zst", dir.display());
        return;
    }
    let text = parse_text(&unzstd(&dir.join("dump-tree.out.zst")));
    let tmp = tempfile::tempdir().expect("temp dir");
    let run = ondisk(&["dump", "--json"], &inputs(&dir, tmp.path(), true));
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    let (mut items, mut inodes, mut dirs, mut extents, mut extent_items) = (0, 0, 0, 0, 0);
    for line in run.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).expect("each line is JSON");
        if v["type"] != "item" {
            continue;
        }
        items += 1;
        assert!(v["key"].is_object(), "item without key: {v}");
        let t = v["item_type"].as_str().expect("item_type");
        assert!(v.get("error").is_none(), "decode error on a clean image: {v}");
        let block = v["block"].as_u64().expect("block");
        let slot = v["slot"].as_u64().expect("slot");
        let Some(ti) = text.get(&(block, slot)) else { panic!("item {block}/{slot} not in the text") };
        assert_eq!(ti.item_type, t, "{block}/{slot}");
        match t {
            "INODE_ITEM" => {
                assert_eq!(v["size"].as_u64(), ti.size, "{v}");
                assert_eq!(v["nbytes"].as_u64(), ti.nbytes, "{v}");
                assert_eq!(v["mode"].as_u64(), ti.mode, "{v}");
                assert!(v["flags"].is_u64() && v["flags_text"].is_string(), "{v}");
                inodes += 1;
            }
            "DIR_ITEM" | "DIR_INDEX" | "XATTR_ITEM" => {
                let names: Vec<Vec<u8>> = v["entries"]
                    .as_array()
                    .expect("entries")
                    .iter()
                    .filter_map(|e| e["name"].as_str())
                    .map(|n| {
                        // progs prints at most BTRFS_NAME_LEN bytes, up to a NUL.
                        let b = n.as_bytes();
                        let b = &b[..b.len().min(255)];
                        b.split(|&c| c == 0).next().unwrap_or_default().to_vec()
                    })
                    .collect();
                assert_eq!(names, ti.names, "{v}");
                dirs += 1;
            }
            "EXTENT_DATA" => {
                assert_eq!(v["disk_bytenr"].as_u64(), ti.disk_bytenr, "{v}");
                extents += 1;
            }
            "EXTENT_ITEM" | "METADATA_ITEM" => {
                assert_eq!(v["refs"].as_u64(), ti.refs, "{v}");
                assert!(v["inline_refs"].is_array(), "{v}");
                extent_items += 1;
            }
            _ => {}
        }
    }
    eprintln!(
        "k-rich JSON: {items} items; checked {inodes} inode items, {dirs} dir items, {extents} file extents, {extent_items} extent items against the text"
    );
    assert!(inodes > 100 && dirs > 100 && extents > 100 && extent_items > 100, "too few items compared");
}
