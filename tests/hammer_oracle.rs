//! `ondisk dump` against DragonFly's own `hammer show`, `blockmap` and `show-undo` outputs in
//! ../shared/images/hammer: record by record, and as whole text modulo trailing blanks.

mod common;
use common::hammer as hammer_util;
use hammer_util::{ondisk, raw, shared};
use std::path::PathBuf;

fn trimmed(s: &str) -> Vec<String> {
    s.lines().map(|l| l.trim_end().to_string()).collect()
}

/// (lo, obj_id, rec_type, key, create_tid, delete_tid, data_offset, data_len) of every leaf
/// element in a `hammer show` listing.
/// (lo, obj_id, rec_type, key, create_tid, delete_tid, data_offset, data_len)
type Rec8 = (u64, u64, u64, u64, u64, u64, u64, u64);

fn show_records(text: &str) -> Vec<Rec8> {
    let hexf = |l: &str, k: &str| -> Option<u64> {
        let s = l.split_whitespace().find_map(|w| w.strip_prefix(k))?;
        u64::from_str_radix(s.split('/').next()?, 16).ok()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut v = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if !l.contains(" ELM ") {
            continue;
        }
        let Some(next) = lines.get(i + 1) else { continue };
        let Some(d) = next.split_whitespace().find_map(|w| w.strip_prefix("dataoff=")) else { continue };
        let (off, len) = d.split_once('/').expect("dataoff=X/len");
        v.push((
            hexf(l, "lo=").unwrap(),
            hexf(l, "objid=").unwrap(),
            hexf(l, "rt=").unwrap(),
            hexf(l, "key=").unwrap(),
            hexf(l, "tid=").unwrap(),
            hexf(next, "del=").unwrap(),
            u64::from_str_radix(off, 16).unwrap(),
            len.parse().unwrap(),
        ));
    }
    v
}

fn json_records(text: &str) -> Vec<Rec8> {
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .filter(|j| j["type"] == "record")
        .map(|j| {
            let u = |k: &str| j[k].as_u64().or_else(|| j[k].as_i64().map(|x| x as u64)).unwrap_or_else(|| panic!("{k} in {j}"));
            (u("localization"), u("obj_id"), u("rec_type"), u("key"), u("create_tid"), u("delete_tid"), u("data_offset"), u("data_len"))
        })
        .collect()
}

const SHOWS: &[(&str, &str, &str)] = &[
    ("v7-empty", "v7_empty_256M.img.zst", "v7_empty.show.txt"),
    ("v6-empty", "v6_empty_256M.img.zst", "v6_empty.show.txt"),
    ("v1-empty", "v1_empty_256M.img.zst", "v1_empty.show.txt"),
    ("v7-populated", "v7_populated_synthetic.img.zst", "populated.show.txt"),
];

#[test]
fn dump_matches_hammer_show_record_by_record() {
    let Some(d) = shared() else { return };
    for (dir, img, show) in SHOWS {
        let img = raw(&d.join(dir).join(img));
        let oracle = std::fs::read_to_string(d.join(dir).join(show)).expect("oracle");
        let want = show_records(&oracle);
        assert!(!want.is_empty(), "{show}: no records parsed");
        let got = json_records(&ondisk(&["dump", "--json"], std::slice::from_ref(&img)));
        assert_eq!(got, want, "{dir}: records differ from {show}");
        // The human output is hammer show's, line for line.
        let text = ondisk(&["dump"], &[img]);
        assert_eq!(trimmed(&text), trimmed(&oracle), "{dir}: text differs from {show}");
    }
}

#[test]
fn dump_blockmap_matches_hammer_blockmap() {
    let Some(d) = shared() else { return };
    let cases: &[(&str, &[&str], &str)] = &[
        ("v7-empty", &["v7_empty_256M.img.zst"], "v7_empty.blockmap.txt"),
        ("v7-populated", &["v7_populated_synthetic.img.zst"], "populated.blockmap.txt"),
        ("v7-2vol", &["v7_2vol_vol0.img.zst", "v7_2vol_vol1.img.zst"], "v7_2vol.blockmap.txt"),
    ];
    for (dir, imgs, oracle) in cases {
        let paths: Vec<PathBuf> = imgs.iter().map(|i| raw(&d.join(dir).join(i))).collect();
        let want = std::fs::read_to_string(d.join(dir).join(oracle)).expect("oracle");
        let got = ondisk(&["dump", "--blockmap"], &paths);
        assert_eq!(trimmed(&got), trimmed(&want), "{dir}: differs from {oracle}");
        // JSON: one layer2 object per listed entry, same zone/app/free.
        let js = ondisk(&["dump", "--blockmap", "--json"], &paths);
        let n_json = js.lines().filter(|l| l.contains("\"type\":\"layer2\"")).count();
        let n_txt = want.lines().filter(|l| l.contains(" zone=") && l.contains(" app=")).count();
        assert_eq!(n_json, n_txt, "{dir}: layer2 entries");
    }
}

#[test]
fn dump_undo_matches_hammer_show_undo() {
    let Some(d) = shared() else { return };
    let img = raw(&d.join("v7-empty/v7_empty_256M.img.zst"));
    let want = std::fs::read_to_string(d.join("v7-empty/v7_empty.show-undo.txt")).expect("oracle");
    let got = ondisk(&["dump", "--undo"], std::slice::from_ref(&img));
    assert_eq!(trimmed(&got), trimmed(&want));
    let js = ondisk(&["dump", "--undo", "--json"], &[img]);
    let recs: Vec<serde_json::Value> = js.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(recs.len(), 32768);
    assert!(recs.iter().enumerate().all(|(i, r)| r["hdr_seq"] == i as u64 && r["hdr_type_name"] == "DUMMY" && r["crc_match"] == "crc32c"));
}

#[test]
fn super_and_map_on_two_volumes() {
    let Some(d) = shared() else { return };
    let paths = vec![raw(&d.join("v7-2vol/v7_2vol_vol0.img.zst")), raw(&d.join("v7-2vol/v7_2vol_vol1.img.zst"))];
    let js = ondisk(&["super", "--json"], &paths);
    let vols: Vec<serde_json::Value> = js.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(vols.len(), 2);
    assert_eq!(vols[0]["vol_no"], 0);
    assert_eq!(vols[1]["vol_no"], 1);
    assert_eq!(vols[0]["vol0_stat_bigblocks"], 49);
    assert_eq!(vols[0]["vol0_stat_freebigblocks"], 47);
    assert_eq!(vols[0]["vol_fsid"], vols[1]["vol_fsid"]);
    // Volume 1's layer2 big-block: zone-2 offset 0 of volume 1, after its 0x88000 header area.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ondisk"))
        .args(["map", "--json"])
        .args(&paths)
        .arg("0x2010000000000000")
        .output()
        .expect("run");
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).expect("map JSON");
    assert_eq!(m["volume"], 1);
    assert_eq!(m["physical"], 0x88000);
    assert_eq!(m["layer1_index"], 1024);
    assert_eq!(m["layer2"]["zone"], 4);
    let map = |addr: &str| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ondisk")).args(["map", "--json"]).args(&paths).arg(addr).output().expect("run");
        serde_json::from_slice(&out.stdout).expect("map JSON")
    };
    // Zone 3 goes through vol0_undo_array: the second UNDO big-block is zone-2 big-block 3.
    let m = map("0x3000000000800200");
    assert_eq!(m["zone2"], 0x2000_0000_0180_0200u64);
    assert_eq!(m["physical"], 0x88000 + 0x180_0200u64);
    assert_eq!(m["layer2"]["zone"], 3);
    // Zone 9 is direct; a volume that does not exist is reported, not followed.
    assert_eq!(map("0x9000000002800080")["layer2"]["zone"], 9);
    let m = map("0x9050000002800080");
    assert!(m["error"].as_str().unwrap_or("").contains("volume 5"), "{m}");
}

#[test]
fn dump_one_node() {
    let Some(d) = shared() else { return };
    let img = raw(&d.join("v7-populated/v7_populated_synthetic.img.zst"));
    let js = ondisk(&["dump", "--json", "--block", "0x8000000002002000"], std::slice::from_ref(&img));
    let all = ondisk(&["dump", "--json"], &[img]);
    let pick = |t: &str| -> Vec<String> { t.lines().filter(|l| l.contains("\"node\":9223372036888338432")).map(String::from).collect() };
    assert_eq!(pick(&js).len(), 5);
    assert_eq!(pick(&js), pick(&all));
}

#[test]
fn super_says_which_crc_matched() {
    let Some(d) = shared() else { return };
    let js = ondisk(&["super", "--json"], &[raw(&d.join("corrupt-volhdr-crc-set/volhdr_crc_set.img.zst"))]);
    let v: serde_json::Value = serde_json::from_str(js.lines().next().unwrap()).unwrap();
    assert_eq!(v["vol_crc_match"], "crc32c");
    assert!(v["vol0_blockmap"].as_array().unwrap().iter().all(|b| b["entry_crc_match"] != "mismatch"), "{v}");
    let js = ondisk(&["super", "--json"], &[raw(&d.join("v6-empty/v6_empty_256M.img.zst"))]);
    let v: serde_json::Value = serde_json::from_str(js.lines().next().unwrap()).unwrap();
    assert_eq!(v["vol_crc"], 0, "newfs leaves vol_crc 0");
    assert_eq!(v["vol0_blockmap"][3]["entry_crc_match"], "crc32", "version 6 writes CRC-32");
}
