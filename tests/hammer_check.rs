//! `ondisk check` on the shared HAMMER images: zero errors on the clean ones, exactly the fault
//! on each corrupt one, recovery (not damage) on the dirty UNDO image.

mod common;
use common::hammer as hammer_util;
use hammer_util::{check_summary, raw, run, shared};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Error and warning kinds of a summary (infos are advisory: stale blockmap CRCs, ...).
fn loud_kinds(lines: &[serde_json::Value]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for f in lines.iter().filter(|l| l["type"] == "finding" && l["severity"] != "info") {
        *m.entry(f["kind"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    m
}

#[test]
fn clean_images_have_no_errors() {
    let Some(d) = shared() else { return };
    let cases: &[(&str, &[&str])] = &[
        ("v1-empty", &["v1_empty_256M.img.zst"]),
        ("v4-empty", &["v4_empty_256M.img.zst"]),
        ("v6-empty", &["v6_empty_256M.img.zst"]),
        ("v7-empty", &["v7_empty_256M.img.zst"]),
        ("v7-small", &["v7_small_64M.img.zst"]),
        ("v7-2vol", &["v7_2vol_vol0.img.zst", "v7_2vol_vol1.img.zst"]),
        ("v7-populated", &["v7_populated_synthetic.img.zst"]),
        ("corrupt-volhdr-crc-set", &["volhdr_crc_set.img.zst"]),
    ];
    for (dir, imgs) in cases {
        let paths: Vec<PathBuf> = imgs.iter().map(|i| raw(&d.join(dir).join(i))).collect();
        let (s, lines) = check_summary(&paths);
        assert_eq!(s["errors"], 0, "{dir}: {lines:#?}");
        assert_eq!(s["warnings"], 0, "{dir}: {lines:#?}");
    }
}

#[test]
fn corrupt_images_report_their_fault() {
    let Some(d) = shared() else { return };
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, u64)]);
    let cases: &[Case] = &[
        ("corrupt-layer2-wrong-zone", "layer2_wrong_zone.img.zst", &[("hammer.layer2_zone", 1)]),
        ("corrupt-layer2-wrong-free", "layer2_wrong_free.img.zst", &[("hammer.layer2_bytes_free", 1)]),
        (
            "corrupt-layer1-wrong-free",
            "layer1_wrong_free.img.zst",
            &[("hammer.layer1_blocks_free", 1), ("hammer.stat_freebigblocks", 1)],
        ),
        ("corrupt-node-bad-crc", "node_bad_crc.img.zst", &[("hammer.node_crc", 1)]),
        ("corrupt-leaf-bad-datacrc", "leaf_bad_datacrc.img.zst", &[("hammer.data_crc", 1)]),
        // checkmap reports the same BM: the PFS data is no longer referenced where it lies.
        (
            "corrupt-dangling-volume",
            "dangling_volume.img.zst",
            &[("hammer.dangling_volume", 1), ("hammer.layer2_bytes_free", 1)],
        ),
        ("corrupt-dirty-undo", "dirty_undo.img.zst", &[("hammer.undo_recovery_needed", 1)]),
    ];
    for (dir, img, want) in cases {
        let (s, lines) = check_summary(&[raw(&d.join(dir).join(img))]);
        let want: BTreeMap<String, u64> = want.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        assert_eq!(loud_kinds(&lines), want, "{dir}: {lines:#?}");
        if *dir == "corrupt-dirty-undo" {
            assert_eq!(s["errors"], 0, "recovery needed is not damage");
        }
    }
}

#[test]
fn checkmap_blocks_agree() {
    let Some(d) = shared() else { return };
    // The BZ/BM block of checkmap's output is in our finding's location.
    for (dir, img, oracle) in [
        ("corrupt-layer2-wrong-zone", "layer2_wrong_zone.img.zst", "corrupt_layer2_wrong_zone.checkmap.txt"),
        ("corrupt-layer2-wrong-free", "layer2_wrong_free.img.zst", "corrupt_layer2_wrong_free.checkmap.txt"),
    ] {
        let text = std::fs::read_to_string(d.join(dir).join(oracle)).unwrap();
        let blocks: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("BZ") || l.starts_with("BM"))
            .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("block=")))
            .map(|h| u64::from_str_radix(h, 16).unwrap())
            .collect();
        let (_, lines) = check_summary(&[raw(&d.join(dir).join(img))]);
        let ours: Vec<u64> = lines
            .iter()
            .filter(|l| l["kind"] == "hammer.layer2_zone" || l["kind"] == "hammer.layer2_bytes_free")
            .map(|l| l["location"]["bigblock"].as_u64().unwrap())
            .collect();
        assert_eq!(ours, blocks, "{dir}");
    }
}

#[test]
fn record_findings_carry_ctime_and_tid_and_group() {
    let Some(d) = shared() else { return };
    let p = vec![raw(&d.join("corrupt-leaf-bad-datacrc/leaf_bad_datacrc.img.zst"))];
    let (_, lines) = check_summary(&p);
    let f = lines.iter().find(|l| l["kind"] == "hammer.data_crc").expect("data_crc");
    assert!(f["context"]["ctime"].as_u64().is_some(), "{f}");
    assert_eq!(f["context"]["create_tid"], 0x1_0000_0001u64);
    let out = run(&["check", "--group-by", "ctime"], &p);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("by ctime:") && text.contains(" UTC: 1"), "{text}");
    let out = run(&["check", "--group-by", "tid"], &p);
    assert!(String::from_utf8_lossy(&out.stdout).contains("4294967297: 1"));
    // --expect turns it into an assertion.
    let out = run(&["check", "--expect", "hammer.data_crc=1"], &p);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn volume_sets() {
    let Some(d) = shared() else { return };
    let v0 = raw(&d.join("v7-2vol/v7_2vol_vol0.img.zst"));
    let v1 = raw(&d.join("v7-2vol/v7_2vol_vol1.img.zst"));
    // Volume 0 alone: the missing volume is reported, nothing else is an error.
    let (_, lines) = check_summary(std::slice::from_ref(&v0));
    assert_eq!(loud_kinds(&lines), BTreeMap::from([("hammer.vol_missing".to_string(), 1)]));
    // Given in any order, both volumes make a clean set.
    let (s, _) = check_summary(&[v1.clone(), v0.clone()]);
    assert_eq!(s["errors"], 0);
    // Without volume 0 there is no filesystem to check: an operational error.
    let out = run(&["check"], std::slice::from_ref(&v1));
    assert_eq!(out.status.code(), Some(8));
    // A second volume whose header lost its signature: reported, and counted as missing.
    let mut b1 = std::fs::read(&v1).expect("read volume 1");
    b1[0] ^= 0xFF;
    let bad = hammer_util::temp_image(&b1);
    // (The command line refuses a path it cannot detect; the library still checks the set.)
    let set = ondisk::image::DeviceSet::open(&[v0.clone(), bad.path().to_path_buf()], Default::default()).expect("open");
    let rep = ondisk::hammer::check::run(&set, &Default::default()).expect("check");
    let k = rep.kinds();
    assert!(k.contains_key("hammer.vol_signature") && k.contains_key("hammer.vol_missing"), "{k:?}");
    // The same volume twice.
    let (_, lines) = check_summary(&[v0.clone(), v0]);
    assert!(loud_kinds(&lines).contains_key("hammer.vol_set"));
}
