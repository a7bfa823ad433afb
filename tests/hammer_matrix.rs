//! The HAMMER corruption matrix: builder images, one named corruption per check, each asserting
//! the exact finding kinds; builder images of every version check clean.

mod common;
use common::hammer as hammer_util;
use hammer_util::run;
use ondisk_test_images::hammer::{populated, Builder, Options};
use ondisk_test_images::hammer_corrupt::corruptions;
use std::collections::BTreeSet;

fn severity(kind: &str) -> &'static str {
    ondisk::hammer::KINDS.iter().find(|k| k.id == kind).map_or("?", |k| k.severity.name())
}

fn findings(bytes: &[u8]) -> Vec<serde_json::Value> {
    let f = hammer_util::temp_image(bytes);
    let out = run(&["check", "--json"], &[f.path().to_path_buf()]);
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(4)), "exit {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .filter(|j| j["type"] == "finding")
        .collect()
}

fn opts(version: u32) -> Options {
    Options { size: 80 << 20, version, ..Default::default() }
}

#[test]
fn builder_images_are_clean() {
    for v in 1..=7 {
        let img = populated(opts(v), 150).and_then(|b| b.finish()).expect("build");
        let f = findings(&img.bytes);
        assert!(f.is_empty(), "version {v}: {f:#?}");
    }
    let img = Builder::newfs(Options { set_vol_crc: true, ..opts(7) }).and_then(|b| b.finish()).expect("newfs");
    let f = findings(&img.bytes);
    assert!(f.is_empty(), "newfs: {f:#?}");
}

#[test]
fn corruption_matrix() {
    let base = populated(opts(7), 300).and_then(|b| b.finish()).expect("build");
    let mut failures = Vec::new();
    for c in corruptions() {
        let mut img = ondisk_test_images::hammer::Image { bytes: base.bytes.clone(), volumes: Vec::new(), layout: base.layout.clone() };
        (c.apply)(&mut img);
        let f = findings(&img.bytes);
        let loud: BTreeSet<String> =
            f.iter().filter(|j| j["severity"] != "info").map(|j| j["kind"].as_str().unwrap_or("").to_string()).collect();
        let all: BTreeSet<String> = f.iter().map(|j| j["kind"].as_str().unwrap_or("").to_string()).collect();
        let want_loud: BTreeSet<String> = c.expect.iter().filter(|k| severity(k) != "info").map(|k| k.to_string()).collect();
        let infos_ok = c.expect.iter().filter(|k| severity(k) == "info").all(|k| all.contains(*k));
        if loud != want_loud || !infos_ok {
            failures.push(format!("{}: expected {:?}, found {:?}", c.name, c.expect, all));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dump_shows_what_the_builder_wrote() {
    let img = populated(opts(6), 120).and_then(|b| b.finish()).expect("build");
    let f = hammer_util::temp_image(&img.bytes);
    let out = hammer_util::ondisk(&["dump", "--json"], &[f.path().to_path_buf()]);
    let recs: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|j| j["type"] == "record").collect();
    assert_eq!(recs.len(), img.layout.recs.len());
    for (j, r) in recs.iter().zip(&img.layout.recs) {
        assert_eq!(j["localization"], r.localization);
        assert_eq!(j["obj_id"], r.obj_id);
        assert_eq!(j["rec_type"], r.rec_type);
        assert_eq!(j["key"], r.key);
        assert_eq!(j["create_tid"], r.create_tid);
        assert_eq!(j["delete_tid"], r.delete_tid);
        assert_eq!(j["data_offset"], r.data_offset);
        assert_eq!(j["data_len"], r.data_len);
        assert_eq!(j["data_crc_match"], "crc32", "version 6 writes CRC-32");
    }
    // Every record kind the builder writes is decoded.
    for k in ["inode", "dirent", "pfs", "snapshot", "config", "fix"] {
        assert!(recs.iter().any(|j| j.get(k).is_some()), "no decoded {k}");
    }
    assert!(recs.iter().any(|j| j["inode"]["symlink"] == "hello.txt"));
    assert!(recs.iter().any(|j| j["delete_tid"] != 0), "history");
    assert!(recs.iter().any(|j| j["localization"] == 0x0001_0001), "PFS 1");
}

#[test]
fn multi_volume_builder() {
    // Volume 0 fills up; zone-10 data spills into volume 1; volume 2 stays empty.
    let o = Options { size: 64 << 20, extra_volumes: vec![64 << 20, 48 << 20], ..Default::default() };
    let img = populated(o, 4000).and_then(|b| b.finish()).expect("build");
    let files: Vec<_> = std::iter::once(&img.bytes).chain(&img.volumes).map(|b| hammer_util::temp_image(b)).collect();
    let paths: Vec<_> = files.iter().map(|f| f.path().to_path_buf()).collect();
    let f = findings_of(&paths);
    assert!(f.is_empty(), "{f:#?}");
    assert!(img.layout.recs.iter().any(|r| (r.data_offset >> 52) & 0xFF == 1), "no data on volume 1");
    // Without volume 1: it is missing, and the records on it dangle.
    let f = findings_of(&[paths[0].clone(), paths[2].clone()]);
    let kinds: BTreeSet<&str> = f.iter().map(|j| j["kind"].as_str().unwrap_or("")).collect();
    assert_eq!(kinds, BTreeSet::from(["hammer.vol_missing", "hammer.dangling_volume"]));
}

fn findings_of(paths: &[std::path::PathBuf]) -> Vec<serde_json::Value> {
    let out = run(&["check", "--json"], paths);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
        .filter(|j| j["type"] == "finding")
        .collect()
}

#[test]
fn findings_cluster_by_ctime_hour() {
    // The populated image writes at t0 and at t0 + 1 hour; a TID rollback flags records of both,
    // and --group-by ctime puts them in two hour buckets (Dillon's 2008 way of finding the day).
    let base = populated(opts(7), 20).and_then(|b| b.finish()).expect("build");
    let mut img = ondisk_test_images::hammer::Image { bytes: base.bytes.clone(), volumes: Vec::new(), layout: base.layout.clone() };
    let c = corruptions().into_iter().find(|c| c.name == "next-tid-behind").expect("corruption");
    (c.apply)(&mut img);
    let f = hammer_util::temp_image(&img.bytes);
    let out = run(&["check", "--group-by", "ctime"], &[f.path().to_path_buf()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let buckets: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("by ctime")).skip(1).take_while(|l| l.starts_with("  ")).collect();
    let hours: Vec<&&str> = buckets.iter().filter(|l| l.contains(" UTC: ")).collect();
    assert!(hours.len() >= 2, "{text}");
}

#[test]
fn builder_newfs_matches_newfs_hammer() {
    // newfs_hammer -f -u 16M on 256 MiB, as the shared v7-empty image: the same zone table and
    // the same freemap, entry for entry (the fsid, label and times differ).
    let Some(d) = hammer_util::shared() else { return };
    let o = Options { size: 256 << 20, undo_bigblocks: 2, label: "TESTV7".into(), ..Default::default() };
    let img = Builder::newfs(o).and_then(|b| b.finish()).expect("newfs");
    let f = hammer_util::temp_image(&img.bytes);
    let ours = hammer_util::ondisk(&["dump", "--blockmap"], &[f.path().to_path_buf()]);
    let want = std::fs::read_to_string(d.join("v7-empty/v7_empty.blockmap.txt")).expect("oracle");
    let from_zones = |t: &str| -> Vec<String> {
        t.lines().skip_while(|l| !l.starts_with("zone #")).map(|l| l.trim_end().to_string()).collect()
    };
    assert_eq!(from_zones(&ours), from_zones(&want));
    let show = hammer_util::ondisk(&["dump", "--json"], &[f.path().to_path_buf()]);
    let recs: Vec<serde_json::Value> =
        show.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|j| j["type"] == "record").collect();
    let got: Vec<(u64, u64, u64)> = recs
        .iter()
        .map(|j| (j["localization"].as_u64().unwrap(), j["data_offset"].as_u64().unwrap(), j["data_len"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, vec![(1, 0x9000_0000_0280_0000, 128), (2, 0x9000_0000_0280_0080, 292)]);
}
