//! `ondisk map` against `btrfs-map-logical` (btrfs-progs) on every profile: single, DUP, RAID0,
//! RAID1, RAID1C3, RAID1C4, RAID10, RAID5, RAID6; and reads with a member missing.
//!
//! btrfs-map-logical only finds the other members of a set among block devices, so the sets are
//! attached read-only to loop devices when that is possible (root, /dev/loop-control); otherwise
//! the oracle comparison is skipped and only the self-consistency checks run.

mod common;
use common::{have, shared_path as shared};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ondisk")
}

/// `<manifest>/../shared` (or `../../shared` from a worktree under `wt/`, or `$ONDISK_SHARED`).
fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(bin()).args(args).output().expect("run ondisk");
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Loop devices attached read-only for the duration of a test; detached (only ours) on drop.
struct Loops(Vec<String>);

impl Loops {
    fn attach(files: &[PathBuf]) -> Option<Loops> {
        let mut l = Loops(Vec::new());
        for f in files {
            let o = Command::new("losetup").args(["-f", "--show", "-r"]).arg(f).output().ok()?;
            if !o.status.success() {
                return None;
            }
            l.0.push(String::from_utf8_lossy(&o.stdout).trim().to_string());
        }
        Some(l)
    }
}

impl Drop for Loops {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = Command::new("losetup").arg("-d").arg(d).status();
        }
    }
}

/// Decompresses the members of a shared set into `dir` (sparse, with the zstd tool).
fn shared_set(name: &str, dir: &Path) -> Option<Vec<PathBuf>> {
    let d = shared().join("images/btrfs").join(name);
    if !d.is_dir() || !have("zstd") {
        eprintln!("SKIP: {} or zstd absent", d.display());
        return None;
    }
    let mut members: Vec<PathBuf> = std::fs::read_dir(&d)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".img.zst"))
        .collect();
    members.sort();
    let mut out = Vec::new();
    for m in members {
        let name = m.file_name()?.to_string_lossy().trim_end_matches(".zst").to_string();
        let o = dir.join(name);
        let ok = Command::new("zstd").args(["-q", "-d", "-f", "-o"]).arg(&o).arg(&m).status().is_ok_and(|s| s.success());
        assert!(ok, "zstd -d {}", m.display());
        out.push(o);
    }
    Some(out)
}

/// Makes an empty multi-device filesystem with mkfs.btrfs (300 MiB sparse files).
fn mkfs_set(dir: &Path, profile: &str, n: usize) -> Option<Vec<PathBuf>> {
    if !have("mkfs.btrfs") {
        eprintln!("SKIP: mkfs.btrfs absent");
        return None;
    }
    let files: Vec<PathBuf> = (1..=n).map(|i| dir.join(format!("{profile}.{i}.img"))).collect();
    for f in &files {
        std::fs::File::create(f).and_then(|h| h.set_len(300 << 20)).expect("sparse file");
    }
    let st = Command::new("mkfs.btrfs").args(["-q", "-f", "-d", profile, "-m", profile]).args(&files).output().expect("mkfs");
    assert!(st.status.success(), "mkfs {profile}: {}", String::from_utf8_lossy(&st.stderr));
    Some(files)
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Addresses worth mapping: every tree block of the extent tree and every extent it records,
/// with points inside larger extents so that several stripes of each chunk are hit.
fn addresses(paths: &[String]) -> Vec<u64> {
    let mut args = vec!["dump", "--json", "--tree", "extent"];
    args.extend(paths.iter().map(String::as_str));
    let (_, out, _) = run(&args);
    let mut set = BTreeSet::new();
    for v in json_lines(&out) {
        match v["type"].as_str() {
            Some("node") => {
                set.insert(v["bytenr"].as_u64().unwrap());
            }
            Some("item") => {
                let k = &v["key"];
                let t = k["type"].as_u64().unwrap();
                if t == 168 || t == 169 {
                    let start = k["objectid"].as_u64().unwrap();
                    set.insert(start);
                    if t == 168 {
                        let len = k["offset"].as_u64().unwrap();
                        let mut off = 65536;
                        while off < len && off <= 8 * 65536 {
                            set.insert(start + off);
                            off += 65536 + 4096;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Keep the run short: an even sample.
    let all: Vec<u64> = set.into_iter().collect();
    let step = (all.len() / 24).max(1);
    all.into_iter().step_by(step).collect()
}

/// (physical, device) of each mirror btrfs-map-logical prints for the start of the range.
fn oracle(dev: &str, logical: u64) -> Option<Vec<(u64, String)>> {
    let o = Command::new("btrfs-map-logical").args(["-l", &logical.to_string(), dev]).output().ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    let mut v = Vec::new();
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() == 8 && w[0] == "mirror" && w[3] == logical.to_string() {
            v.push((w[5].parse().ok()?, w[7].to_string()));
        }
    }
    (!v.is_empty()).then_some(v)
}

/// Ours, in btrfs-map-logical's order: the copies, then for RAID5/6 P and Q.
fn ours(paths: &[String], logical: u64) -> (Vec<(u64, String)>, serde_json::Value) {
    let mut args = vec!["map", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let l = logical.to_string();
    args.push(&l);
    let (code, out, err) = run(&args);
    assert!(code == 0, "map {logical}: exit {code}: {err}");
    let v = json_lines(&out).pop().expect("one map line");
    let mut r: Vec<(u64, String)> =
        v["copies"].as_array().unwrap().iter().map(|c| (c["physical"].as_u64().unwrap(), c["device"].as_str().unwrap().to_string())).collect();
    if let Some(p) = v["parity"].as_array() {
        r.extend(p.iter().map(|c| (c["physical"].as_u64().unwrap(), c["device"].as_str().unwrap().to_string())));
    }
    (r, v)
}

/// Compares ours with btrfs-map-logical on every sampled address; returns (addresses compared,
/// profiles seen).
fn compare(files: &[PathBuf]) -> (usize, BTreeSet<String>) {
    let mut profiles = BTreeSet::new();
    let have_oracle = have("btrfs-map-logical") && have("losetup");
    let loops = if have_oracle { Loops::attach(files) } else { None };
    let paths: Vec<String> = match &loops {
        Some(l) => l.0.clone(),
        None => {
            eprintln!("SKIP: no loop devices or btrfs-map-logical: checking self-consistency only");
            files.iter().map(|f| f.display().to_string()).collect()
        }
    };
    let addrs = addresses(&paths);
    assert!(!addrs.is_empty(), "no addresses found");
    let mut compared = 0;
    for a in addrs {
        let (mine, v) = ours(&paths, a);
        profiles.insert(v["chunk"]["profile"].as_str().unwrap().to_string());
        assert!(!mine.is_empty());
        if loops.is_none() {
            continue;
        }
        let Some(theirs) = oracle(&paths[0], a) else { continue };
        // btrfs-map-logical prints every copy for mirrored profiles, the data stripe then the
        // parity stripes for RAID5/6.
        assert_eq!(mine, theirs, "logical {a} ({})", v["chunk"]["type_text"]);
        compared += 1;
    }
    (compared, profiles)
}

#[test]
fn every_profile_against_btrfs_map_logical() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for name in ["k-rich", "k-raid1", "k-raid1c3", "k-raid5", "k-raid0-m1"] {
        let d = tmp.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let Some(files) = shared_set(name, &d) else { continue };
        let (n, p) = compare(&files);
        eprintln!("{name}: {n} addresses compared with btrfs-map-logical, profiles {p:?}");
        total += n;
        seen.extend(p);
        let _ = std::fs::remove_dir_all(&d);
    }
    for (profile, n) in [("raid10", 4), ("raid6", 4), ("raid1c4", 4), ("raid0", 2)] {
        let d = tmp.path().join(profile);
        std::fs::create_dir_all(&d).unwrap();
        let Some(files) = mkfs_set(&d, profile, n) else { continue };
        let (c, p) = compare(&files);
        eprintln!("mkfs {profile}: {c} addresses compared with btrfs-map-logical, profiles {p:?}");
        total += c;
        seen.extend(p);
    }
    eprintln!("profiles seen: {seen:?}, {total} addresses compared");
}

#[test]
fn raid1_with_one_member_reads_the_other_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(files) = shared_set("k-raid1", tmp.path()) else { return };
    let both: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let one = &both[..1];
    let dump = |paths: &[String]| {
        let mut args = vec!["dump"];
        args.extend(paths.iter().map(String::as_str));
        run(&args)
    };
    let (c2, full, _) = dump(&both);
    let (c1, half, err) = dump(one);
    assert_eq!(c2, 0);
    assert_eq!(c1, 0, "dump with one RAID1 member: {err}");
    assert_eq!(full, half, "every tree block is read from the remaining copy");
    // A metadata address: one copy readable, the other on the missing device.
    let root = json_lines(&run(&["super", "--json", &both[0]]).1)[0]["root"].as_u64().unwrap();
    let (code, out, _) = run(&["map", &one[0], &root.to_string()]);
    assert_eq!(code, 0);
    assert!(out.contains("device missing UNREADABLE: device 2 is missing"), "{out}");
}

#[test]
fn raid0_with_one_member_fails_only_its_stripes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(files) = shared_set("k-raid0-m1", tmp.path()) else { return };
    let one = files[0].display().to_string();
    // Data is RAID0 over both devices: map the first stripes of every chunk.
    let (_, out, _) = run(&["super", "--json", &one]);
    let sb = &json_lines(&out)[0];
    let devid = sb["dev_item"]["devid"].as_u64().unwrap();
    let mut outcomes = BTreeSet::new();
    let mut probe = |logical: u64| {
        let (code, out, err) = run(&["map", "--json", &one, &logical.to_string()]);
        let v = json_lines(&out).pop().unwrap_or_default();
        if v["chunk"]["profile"] != "raid0" {
            return;
        }
        let c = &v["copies"][0];
        if c["devid"].as_u64() == Some(devid) {
            assert_eq!(code, 0, "{err}");
            assert_eq!(c["readable"], true);
        } else {
            assert_eq!(code, 4);
            let e = c["error"].as_str().unwrap();
            assert!(e.contains(&format!("device {} is missing", c["devid"])), "{e}");
        }
        outcomes.insert(c["readable"].as_bool().unwrap());
    };
    // Walk every chunk start + the first stripes: at least one RAID0 chunk is there.
    let (_, out, _) = run(&["dump", "--json", "--tree", "chunk", &one]);
    for v in json_lines(&out) {
        if v["type"] == "item" && v["key"]["type"] == 228 {
            let start = v["key"]["offset"].as_u64().unwrap();
            for k in 0..4 {
                probe(start + k * 65536);
            }
        }
    }
    assert_eq!(outcomes.len(), 2, "both readable and missing stripes seen: {outcomes:?}");
}

#[test]
fn raid5_and_raid6_with_members_missing_rebuild_from_parity() {
    let tmp = tempfile::tempdir().unwrap();
    let dump = |paths: &[&PathBuf]| {
        let mut args = vec!["dump".to_string()];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a)
    };
    let mut sets = Vec::new();
    let d5 = tmp.path().join("r5");
    std::fs::create_dir_all(&d5).unwrap();
    if let Some(f) = shared_set("k-raid5", &d5) {
        sets.push(("k-raid5", f));
    }
    let d6 = tmp.path().join("r6");
    std::fs::create_dir_all(&d6).unwrap();
    if let Some(f) = mkfs_set(&d6, "raid6", 4) {
        sets.push(("mkfs raid6", f));
    }
    for (name, files) in sets {
        let all: Vec<&PathBuf> = files.iter().collect();
        let (code, full, err) = dump(&all);
        assert_eq!(code, 0, "{name}: {err}");
        for missing in 0..files.len() {
            let some: Vec<&PathBuf> = files.iter().enumerate().filter(|(i, _)| *i != missing).map(|(_, f)| f).collect();
            let (code, out, err) = dump(&some);
            assert_eq!(code, 0, "{name} without member {}: {err}", missing + 1);
            assert_eq!(out, full, "{name} without member {}: every block rebuilt from P", missing + 1);
        }
        eprintln!("{name}: dump identical with each member missing in turn");
        if name.contains("raid6") {
            // Two members missing: the rest of each row plus P and Q still rebuild every block.
            for a in 0..files.len() {
                for b in a + 1..files.len() {
                    let some: Vec<&PathBuf> = files.iter().enumerate().filter(|(i, _)| *i != a && *i != b).map(|(_, f)| f).collect();
                    let (code, out, err) = dump(&some);
                    assert_eq!(code, 0, "{name} without members {} and {}: {err}", a + 1, b + 1);
                    assert_eq!(out, full, "{name} without members {} and {}: rebuilt from P and Q", a + 1, b + 1);
                }
            }
            eprintln!("{name}: dump identical with any two members missing");
        }
    }
}
