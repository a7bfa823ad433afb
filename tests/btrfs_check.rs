//! `ondisk check` on btrfs: zero errors on every image the kernel and btrfs-progs call clean,
//! and over btrfs-progs' own corpus a detected/expected table per suite.
//!
//! The corpus part is a ratchet while the check families are being written: FAIL images that
//! are not detected yet are listed below with the family that will catch them; the test fails
//! when an unlisted FAIL image goes undetected, when a PASS image gets an error, when anything
//! crashes, and when a listed image starts being detected (so the list only shrinks).

mod common;
use common::shared_or_skip as shared;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};


struct Run {
    code: Option<i32>,
    errors: u64,
    kinds: Vec<String>,
    secs: f64,
}

/// Runs `ondisk check --json` with a time limit; a hang is a failure, not a wait.
fn check(paths: &[PathBuf], limit: Duration) -> Run {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ondisk"))
        .arg("check")
        .arg("--json")
        .args(paths)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn ondisk");
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let code = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ondisk check {paths:?} did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    let mut errors = 0;
    let mut kinds = Vec::new();
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
        if v["type"] == "summary" {
            errors = v["errors"].as_u64().unwrap_or(0);
            kinds = v["kinds"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        }
    }
    Run { code, errors, kinds, secs: start.elapsed().as_secs_f64() }
}

fn members(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".img.zst"))
        .collect();
    v.sort();
    v
}

#[test]
fn kernel_images_are_clean() {
    let Some(shared) = shared() else { return };
    let root = shared.join("images/btrfs");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let mut bad = Vec::new();
    for d in &dirs {
        let r = check(&members(d), Duration::from_secs(120));
        eprintln!("{:<24} exit {:?} errors {} kinds {:?} ({:.1}s)", d.file_name().unwrap().to_string_lossy(), r.code, r.errors, r.kinds, r.secs);
        if r.code != Some(0) || r.errors != 0 {
            bad.push(d.display().to_string());
        }
    }
    assert!(bad.is_empty(), "clean images reported with errors: {bad:?}");
}

/// FAIL images of the corpus the checks do not catch yet, with the family that will.
const NOT_YET: &[(&str, &str)] = &[
];

#[test]
fn progs_corpus_table() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus/btrfs-progs");
    let tsv = std::fs::read_to_string(corpus.join("EXPECTED.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut table: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (suite, test, file, expect) = (f[0], f[1], f[2], f[4]);
        let name = format!("{test}/{file}");
        let r = check(&[corpus.join(suite).join(test).join(file)], Duration::from_secs(120));
        let crashed = !matches!(r.code, Some(0 | 4 | 8));
        let detected = r.code == Some(4) || r.code == Some(8);
        eprintln!("{suite:<11} {expect:<7} exit {:<4} {:>5.1}s {name} {:?}", format!("{:?}", r.code), r.secs, r.kinds);
        let row = table.entry(format!("{suite} {expect}")).or_default();
        row.1 += 1;
        if detected {
            row.0 += 1;
        }
        if crashed {
            failures.push(format!("{name}: crashed or unexpected exit {:?}", r.code));
        }
        let listed = NOT_YET.iter().any(|(n, _)| *n == name);
        match expect {
            "FAIL" if !detected && !listed => failures.push(format!("{name}: FAIL image reported clean")),
            "FAIL" if detected && listed => failures.push(format!("{name}: now detected: remove it from NOT_YET")),
            "PASS" if r.errors > 0 => failures.push(format!("{name}: PASS image reported with errors {:?}", r.kinds)),
            _ => {}
        }
    }
    eprintln!("\nsuite       expect  detected/images");
    for (k, (d, n)) in &table {
        eprintln!("{k:<20} {d}/{n}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every image of the committed mkfs matrix (4 checksum types, 4k/16k/64k nodes, single/DUP,
/// mixed block groups, free space tree on and off, no-holes off, seven RAID profiles) is clean
/// even under `--strict`: what a CI loop asserts after mkfs.
#[test]
fn mkfs_matrix_images_are_clean_strictly() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test-images/btrfs");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(dirs.len() >= 20, "the matrix is committed");
    let mut bad = Vec::new();
    for d in &dirs {
        let o = Command::new(env!("CARGO_BIN_EXE_ondisk")).arg("check").arg("--strict").args(members(d)).output().unwrap();
        if o.status.code() != Some(0) {
            bad.push(format!("{}: exit {:?}\n{}", d.display(), o.status.code(), String::from_utf8_lossy(&o.stdout)));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// A devid claimed by two members: the same file named twice is a usage error (16); two
/// different members whose superblocks name one devid are a set that cannot be read (8).
#[test]
fn a_devid_claimed_twice() {
    use ondisk_test_images::btrfs_corrupt::Base;
    let Some((dir, base)) = common::corrupt::clean_base(Base::KRaid1) else { return };
    let first = &base.paths[0];
    let run = check(&[first.clone(), first.clone()], Duration::from_secs(60));
    assert_eq!(run.code, Some(16), "the same member twice");

    let img = base.copy_to(dir.path()).expect("a copy");
    let devid = base.devids[0];
    // Every member's superblock now says it is the first device (re-checksummed).
    img.edit_super(|b| b[0xc9..0xd1].copy_from_slice(&devid.to_le_bytes())).expect("edit");
    let out = Command::new(env!("CARGO_BIN_EXE_ondisk")).arg("check").args(&img.paths).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(stderr.contains(&format!("both claim devid {devid}")), "{stderr}");
}
