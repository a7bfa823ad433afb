//! Robustness over btrfs-progs' own test corpus (`../shared/corpus/btrfs-progs/EXPECTED.tsv`):
//! every image — raw.xz and btrfs-image metadumps — runs `ondisk dump` and `ondisk super` to the
//! end with no panic (no signal, no exit 101), no hang (a per-image timeout, killed on expiry)
//! and bounded memory (the child runs under `ulimit -v`). Damage must show as marked decode
//! errors, and an unreadable image must exit 8 with one clear line.
//!
//! Also: a couple of metadumps decode the same as their `btrfs-image -r` restored form.

mod common;
use common::{have, shared_path as shared};

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);
/// Address-space limit for the child, in KiB (2 GiB).
const AS_LIMIT_KIB: u64 = 2 << 20;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ondisk")
}

/// `<manifest>/../shared` (or `../../shared` from a worktree under `wt/`, or `$ONDISK_SHARED`).
/// How one run ended.
struct Outcome {
    code: Option<i32>,
    timed_out: bool,
    secs: f64,
    stdout: String,
    stderr: String,
}

/// Runs ondisk under an address-space limit and a timeout; output goes to files so that a
/// chatty child never blocks on a full pipe.
fn run_bounded(dir: &Path, args: &[&str], timeout: Duration) -> Outcome {
    let out_path = dir.join("stdout");
    let err_path = dir.join("stderr");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {AS_LIMIT_KIB}; exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn ondisk");
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = start.elapsed().as_secs_f64();
    let read = |p: &Path| {
        let mut s = Vec::new();
        File::open(p).and_then(|mut f| f.read_to_end(&mut s)).unwrap();
        String::from_utf8_lossy(&s).into_owned()
    };
    Outcome { code: status.and_then(|s| s.code()), timed_out, secs, stdout: read(&out_path), stderr: read(&err_path) }
}

struct Row {
    path: PathBuf,
    format: String,
}

fn corpus() -> Option<Vec<Row>> {
    let base = shared().join("corpus/btrfs-progs");
    let tsv = std::fs::read_to_string(base.join("EXPECTED.tsv")).ok()?;
    let mut rows = Vec::new();
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 4 {
            continue;
        }
        rows.push(Row { path: base.join(f[0]).join(f[1]).join(f[2]), format: f[3].to_string() });
    }
    Some(rows)
}

/// The time one run may take: 20 s, more where the image must first be decompressed (a few
/// corpus images are 2 GiB sparse once out of their .xz; the pure-Rust fallback decoder, used
/// when no xz tool is installed, needs ~40 s for those even on an idle machine).
fn timeout_for(row: &Row) -> Duration {
    if !row.format.ends_with("xz") {
        TIMEOUT
    } else if have("xz") {
        TIMEOUT * 3
    } else {
        TIMEOUT * 9
    }
}

fn error_lines(o: &Outcome) -> usize {
    o.stdout.lines().chain(o.stderr.lines()).filter(|l| l.contains("ERROR") || l.starts_with("ondisk:")).count()
}

#[test]
fn corpus_runs_to_the_end() {
    let Some(rows) = corpus() else {
        eprintln!("SKIP: {} absent", shared().join("corpus/btrfs-progs").display());
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut table = String::from("image                                                        cmd    exit   secs  errors\n");
    let (dump_dir, super_dir) = (tmp.path().join("dump"), tmp.path().join("super"));
    std::fs::create_dir_all(&dump_dir).unwrap();
    std::fs::create_dir_all(&super_dir).unwrap();
    for row in &rows {
        // Every image as it is stored: raw.xz and metadumps (plain or .xz) are opened directly.
        let img = row.path.to_str().unwrap();
        let name = row.path.strip_prefix(shared().join("corpus/btrfs-progs")).unwrap_or(&row.path).display().to_string();
        // Both commands at once: each decompresses the image on its own, which dominates.
        let (d, s) = std::thread::scope(|sc| {
            let d = sc.spawn(|| run_bounded(&dump_dir, &["dump", img], timeout_for(row)));
            let s = sc.spawn(|| run_bounded(&super_dir, &["super", img], timeout_for(row)));
            (d.join().unwrap(), s.join().unwrap())
        });
        for (cmd, o) in [("dump", d), ("super", s)] {
            let code = o.code.map_or("signal".to_string(), |c| c.to_string());
            let code = if o.timed_out { "TIMEOUT".to_string() } else { code };
            table.push_str(&format!("{name:<60} {cmd:<6} {code:>7} {:>6.2} {:>6}\n", o.secs, error_lines(&o)));
            if o.timed_out {
                failures.push(format!("{name} {cmd}: no result within {:?}", timeout_for(row)));
            } else if o.code.is_none() {
                failures.push(format!("{name} {cmd}: killed by a signal: {}", o.stderr.lines().last().unwrap_or("")));
            } else if o.code == Some(101) || o.stderr.contains("panicked") {
                failures.push(format!("{name} {cmd}: panic: {}", o.stderr));
            } else if o.code == Some(8) {
                let lines: Vec<&str> = o.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
                if lines.len() != 1 || !lines[0].starts_with("ondisk: ") {
                    failures.push(format!("{name} {cmd}: exit 8 without one clear line: {:?}", o.stderr));
                }
            } else if !matches!(o.code, Some(0) | Some(4)) {
                failures.push(format!("{name} {cmd}: unexpected exit {code}: {}", o.stderr));
            }
        }
    }
    eprintln!("{table}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Tree structure lines of a text dump: block headers and item keys, not item bodies (a
/// restored image has a rewritten single-device chunk map).
fn structure(dump: &str) -> Vec<&str> {
    dump.lines()
        .filter(|l| l.starts_with("leaf ") || l.starts_with("node ") || l.starts_with("\titem ") || l.contains(" tree key ") || l.ends_with(" tree"))
        .collect()
}

#[test]
fn metadumps_decode_like_their_restored_images() {
    if !have("btrfs-image") {
        eprintln!("SKIP: btrfs-image absent");
        return;
    }
    let base = shared().join("corpus/btrfs-progs");
    let dumps = [
        base.join("fsck-tests/003-shift-offsets/default_case.img"),
        base.join("misc-tests/051-warning-rw-subvol-received-uuid/subvol-rw-recv.img"),
        base.join("fsck-tests/065-valid-log-tree/compressed.img.xz"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for md in dumps.iter().filter(|p| p.is_file()) {
        let mut src = md.clone();
        if md.extension().is_some_and(|e| e == "xz") {
            if !have("xz") {
                continue;
            }
            src = tmp.path().join("md.img");
            let f = File::create(&src).unwrap();
            assert!(Command::new("xz").arg("-dc").arg(md).stdout(f).status().unwrap().success());
        }
        let raw = tmp.path().join("restored.raw");
        let st = Command::new("btrfs-image").arg("-r").arg(&src).arg(&raw).output().unwrap();
        if !st.status.success() {
            eprintln!("SKIP: btrfs-image -r {} failed", md.display());
            continue;
        }
        let a = run_bounded(tmp.path(), &["dump", md.to_str().unwrap()], TIMEOUT);
        let b = run_bounded(tmp.path(), &["dump", raw.to_str().unwrap()], TIMEOUT);
        assert_eq!(a.code, b.code, "{}", md.display());
        let (sa, sb) = (structure(&a.stdout), structure(&b.stdout));
        assert!(sa.len() > 10, "{}: too little output", md.display());
        assert_eq!(sa, sb, "{}: metadump and restored image differ", md.display());
        eprintln!("{}: {} structure lines equal", md.display(), sa.len());
        compared += 1;
        let _ = std::fs::remove_file(&raw);
    }
    assert!(compared >= 2 || !base.is_dir(), "at least two metadumps compared");
}
