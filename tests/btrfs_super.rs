//! `ondisk super` against `btrfs inspect-internal dump-super -f` (6.2): the shared images' saved
//! outputs must diff empty; every checksum type (images made with mkfs.btrfs --csum); `--all`
//! with a damaged and a stale mirror; JSON. Also the other ways into the trees that start from
//! the superblock: `dump --backup N`, `--root`, `--block B --follow` in dump-tree's order.

mod common;
use common::{have, shared_path as shared};

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

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect()
}

/// Replaces the device path of `superblock:` lines, the one thing that differs by design.
fn normalise(text: &str) -> String {
    text.lines()
        .map(|l| match l.split_once(", device=") {
            Some((head, _)) if l.starts_with("superblock: ") => format!("{head}, device=X"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn shared_images_match_dump_super_f() {
    let base = shared().join("images/btrfs");
    let Ok(dirs) = std::fs::read_dir(&base) else {
        eprintln!("SKIP: {} absent", base.display());
        return;
    };
    if !have("zstd") {
        eprintln!("SKIP: zstd absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs: Vec<PathBuf> = dirs.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.join("dump-super-f.out").is_file()).collect();
    dirs.sort();
    let mut checked = 0;
    for d in dirs {
        // dump-super-f.out was made on the first device of each set.
        let mut members: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".img.zst"))
            .collect();
        members.sort();
        let Some(first) = members.first() else { continue };
        let img = tmp.path().join("dev.img");
        assert!(Command::new("zstd").args(["-q", "-d", "-f", "-o"]).arg(&img).arg(first).status().unwrap().success());
        let (code, out, err) = run(&["super", img.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {err}", d.display());
        let want = std::fs::read_to_string(d.join("dump-super-f.out")).unwrap();
        assert_eq!(normalise(&out), normalise(&want), "{}", d.display());
        checked += 1;
        let _ = std::fs::remove_file(&img);
    }
    eprintln!("{checked} shared images: dump-super -f output identical");
    assert!(checked > 0);
}

/// Makes a 300 MiB single-device filesystem with the given checksum (superblock at 64 KiB and a
/// mirror at 64 MiB).
fn mkfs_csum(dir: &Path, csum: &str) -> PathBuf {
    let img = dir.join(format!("{csum}.img"));
    std::fs::File::create(&img).and_then(|f| f.set_len(300 << 20)).unwrap();
    let o = Command::new("mkfs.btrfs").args(["-q", "-f", "--csum", csum]).arg(&img).output().unwrap();
    assert!(o.status.success(), "mkfs --csum {csum}: {}", String::from_utf8_lossy(&o.stderr));
    img
}

#[test]
fn every_csum_type_and_every_copy() {
    if !have("mkfs.btrfs") {
        eprintln!("SKIP: mkfs.btrfs absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (csum, name) in [("crc32c", "crc32c"), ("xxhash", "xxhash64"), ("sha256", "sha256"), ("blake2", "blake2")] {
        let img = mkfs_csum(tmp.path(), csum);
        let p = img.to_str().unwrap();
        let (code, out, err) = run(&["super", "--all", "--json", p]);
        assert_eq!(code, 0, "{csum}: {err}");
        let copies = json_lines(&out);
        assert_eq!(copies.len(), 2, "{csum}: primary and the 64 MiB mirror");
        for (i, c) in copies.iter().enumerate() {
            assert_eq!(c["type"], "superblock");
            assert_eq!(c["mirror"], i as u64);
            assert_eq!(c["bytenr"], [65536u64, 64 << 20][i]);
            assert_eq!(c["csum_ok"], true, "{csum} copy {i}");
            assert_eq!(c["used"], i == 0);
            assert_eq!(c["csum_type_name"], name);
            assert_eq!(c["dev_item"]["devid"], 1);
            assert_eq!(c["super_roots"].as_array().unwrap().len(), 4);
            assert!(!c["sys_chunk_array"].as_array().unwrap().is_empty());
        }
        // Text: identical to dump-super -f -a where btrfs is installed.
        if have("btrfs") {
            let want = Command::new("btrfs").args(["inspect-internal", "dump-super", "-f", "-a", p]).output().unwrap();
            let (_, got, _) = run(&["super", "--all", p]);
            let got: String = got.lines().filter(|l| !l.starts_with("superblock in use")).map(|l| format!("{l}\n")).collect();
            // dump-super -a also prints a blank line for the 256 GiB mirror that does not fit.
            let want = String::from_utf8_lossy(&want.stdout);
            assert_eq!(got.trim_end(), want.trim_end(), "{csum}: dump-super -f -a");
        }
    }
}

/// Rewrites a copy's checksum (crc32c) after a change, as a writer would.
fn fix_crc(buf: &mut [u8], at: usize) {
    let c = ondisk::btrfs::csum::CsumType::Crc32c.compute(&buf[at + 32..at + 4096]);
    buf[at..at + 32].copy_from_slice(&c);
}

#[test]
fn copy_choice_names_bad_and_stale_mirrors() {
    if !have("mkfs.btrfs") {
        eprintln!("SKIP: mkfs.btrfs absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs_csum(tmp.path(), "crc32c");
    let p = img.to_str().unwrap();
    let mut bytes = std::fs::read(&img).unwrap();
    let (primary, mirror) = (65536usize, 64usize << 20);
    // A stale mirror: an older generation, properly checksummed.
    let gen_at = 72;
    let g = u64::from_le_bytes(bytes[primary + gen_at..primary + gen_at + 8].try_into().unwrap());
    bytes[mirror + gen_at..mirror + gen_at + 8].copy_from_slice(&(g - 1).to_le_bytes());
    fix_crc(&mut bytes, mirror);
    std::fs::write(&img, &bytes).unwrap();
    let (code, out, _) = run(&["super", "--all", p]);
    assert_eq!(code, 0, "a stale mirror is not an error");
    assert!(out.contains("using mirror 0 at 65536"), "{out}");
    assert!(out.contains(&format!("mirror 1 at 67108864: valid but stale (generation {})", g - 1)), "{out}");
    // A damaged primary: its checksum no longer matches; the mirror is used.
    bytes[primary + 300] ^= 0xff;
    std::fs::write(&img, &bytes).unwrap();
    let (code, out, _) = run(&["super", "--all", p]);
    assert_eq!(code, 4, "a bad copy is an error with --all");
    assert!(out.contains("[DON'T MATCH]"), "{out}");
    assert!(out.contains("using mirror 1 at 67108864") && out.contains("mirror 0 at 65536: bad checksum"), "{out}");
    let (code, out, err) = run(&["super", p]);
    assert_eq!(code, 0);
    assert!(out.starts_with("superblock: bytenr=67108864,"), "{out}");
    assert!(err.contains("using mirror 1"), "{err}");
    let (_, out, _) = run(&["super", "--json", p]);
    let v = json_lines(&out);
    assert_eq!((v.len(), v[0]["mirror"].as_u64(), v[0]["used"].as_bool()), (1, Some(1), Some(true)));
}

#[test]
fn backup_roots_and_root_override_are_ways_in() {
    if !have("mkfs.btrfs") {
        eprintln!("SKIP: mkfs.btrfs absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = mkfs_csum(tmp.path(), "crc32c");
    let p = img.to_str().unwrap();
    let sb = json_lines(&run(&["super", "--json", p]).1).remove(0);
    let mut good = 0;
    for (n, b) in sb["super_roots"].as_array().unwrap().iter().enumerate() {
        let tree_root = b["tree_root"].as_u64().unwrap();
        if tree_root == 0 {
            continue;
        }
        let (code, out, err) = run(&["dump", "--backup", &n.to_string(), "--tree", "root", p]);
        if code == 4 {
            // mkfs's first transactions used temporary chunks that are gone: such a backup
            // points at an unmapped address, which must be said plainly.
            assert!(err.contains(&format!("block {tree_root}: logical {tree_root} is not mapped")), "backup {n}: {err}");
            continue;
        }
        assert_eq!(code, 0, "backup {n}: {err}");
        good += 1;
        assert!(out.lines().nth(1).is_some_and(|l| l.starts_with(&format!("leaf {tree_root} "))), "backup {n}: {out}");
        let (code, out2, _) = run(&["dump", "--root", &tree_root.to_string(), "--tree", "root", p]);
        assert_eq!(code, 0);
        assert_eq!(out, out2, "--root of backup {n}'s tree root");
    }
    assert!(good >= 1, "at least one backup root leads into the trees");
    let (code, _, _) = run(&["dump", "--backup", "4", p]);
    assert_eq!(code, 16, "there are four backup roots");
}

/// Block headers of a dump (`leaf N items ...` / `node N level ...`), in order.
fn headers(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| (l.starts_with("leaf ") && l.contains(" items ")) || (l.starts_with("node ") && l.contains(" level ")))
        .map(str::to_string)
        .collect()
}

#[test]
fn block_follow_visits_in_dump_tree_order_on_a_three_level_tree() {
    if !have("mkfs.btrfs") || !have("btrfs") {
        eprintln!("SKIP: mkfs.btrfs or btrfs absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for d in 0..20 {
        let dir = root.join(format!("d{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..1000 {
            std::fs::File::create(dir.join(format!("file-with-a-longish-name-{i:05}"))).unwrap();
        }
    }
    let img = tmp.path().join("deep.img");
    std::fs::File::create(&img).and_then(|f| f.set_len(512 << 20)).unwrap();
    let o = Command::new("mkfs.btrfs").args(["-q", "-f", "-n", "4096", "--rootdir"]).arg(&root).arg(&img).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = img.to_str().unwrap();
    let (_, fs, _) = run(&["dump", "--tree", "fs", p]);
    let top = headers(&fs)[0].clone();
    assert!(top.contains(" level 2 "), "a tree of level >= 2: {top}");
    let bytenr = top.split_whitespace().nth(1).unwrap();
    let want = Command::new("btrfs").args(["inspect-internal", "dump-tree", "-b", bytenr, "--follow", p]).output().unwrap();
    let want = String::from_utf8_lossy(&want.stdout);
    let (code, got, err) = run(&["dump", "--block", bytenr, "--follow", p]);
    assert_eq!(code, 0, "{err}");
    let (hw, hg) = (headers(&want), headers(&got));
    assert!(hw.len() > 100);
    assert_eq!(hg, hw, "--follow visits blocks in dump-tree -b --follow's order");
    // One block alone, headers and keys as dump-tree -b prints them.
    let want = Command::new("btrfs").args(["inspect-internal", "dump-tree", "-b", bytenr, p]).output().unwrap();
    let want: String = String::from_utf8_lossy(&want.stdout).lines().filter(|l| !l.starts_with("btrfs-progs")).map(|l| format!("{l}\n")).collect();
    let (_, got, _) = run(&["dump", "--block", bytenr, p]);
    assert_eq!(got, want);
}

/// Lines of a text dump that do not depend on item bodies (which come from the item decoders):
/// headings, block headers, pointers and item keys. UUID and qgroup keys are left out: their
/// key text (hex objectid, `0/256`) belongs to the item/name printers.
fn tree_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("\t\t") && !l.starts_with("btrfs-progs"))
        .filter(|l| !l.contains("UUID_KEY_") && !l.contains(" QGROUP_"))
        .map(str::to_string)
        .collect()
}

#[test]
fn log_tree_and_block_group_tree_in_dump_tree_order() {
    let base = shared().join("images/btrfs");
    if !base.is_dir() || !have("zstd") || !have("btrfs") {
        eprintln!("SKIP: shared images, zstd or btrfs absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for (name, trees) in [
        ("k-logtree", &["root", "chunk", "tree_log", "fs", "extent", "5", "free_space"][..]),
        ("k-bgt", &["root", "chunk", "11", "extent", "dev", "256", "data_reloc", "12345"][..]),
    ] {
        let img = tmp.path().join(format!("{name}.img"));
        let zst = base.join(name).join(format!("{name}.img.zst"));
        assert!(Command::new("zstd").args(["-q", "-d", "-f", "-o"]).arg(&img).arg(&zst).status().unwrap().success());
        let p = img.to_str().unwrap();
        let want = Command::new("btrfs").args(["inspect-internal", "dump-tree", p]).output().unwrap();
        let (code, got, err) = run(&["dump", p]);
        assert_eq!(code, 0, "{name}: {err}");
        let (w, g) = (tree_lines(&String::from_utf8_lossy(&want.stdout)), tree_lines(&got));
        assert!(w.len() > 50);
        assert_eq!(g, w, "{name}: every tree, in dump-tree's order");
        for t in trees {
            let want = Command::new("btrfs").args(["inspect-internal", "dump-tree", "-t", t, p]).output().unwrap();
            let (_, got, _) = run(&["dump", "--tree", t, p]);
            assert_eq!(tree_lines(&got), tree_lines(&String::from_utf8_lossy(&want.stdout)), "{name}: -t {t}");
        }
    }
}

#[test]
fn third_mirror_at_256_gib_on_a_large_device() {
    if !have("mkfs.btrfs") {
        eprintln!("SKIP: mkfs.btrfs absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("big.img");
    // Sparse: 257 GiB apparent, a few MiB written (-K: no discard pass over the file).
    std::fs::File::create(&img).and_then(|f| f.set_len(257 << 30)).unwrap();
    let o = Command::new("mkfs.btrfs").args(["-q", "-f", "-K"]).arg(&img).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = img.to_str().unwrap();
    let (code, out, _) = run(&["super", "--all", "--json", p]);
    assert_eq!(code, 0);
    let offsets: Vec<u64> = json_lines(&out).iter().map(|c| c["offset"].as_u64().unwrap()).collect();
    assert_eq!(offsets, vec![64 << 10, 64 << 20, 256 << 30]);
    if have("btrfs") {
        let want = Command::new("btrfs").args(["inspect-internal", "dump-super", "-f", "-a", p]).output().unwrap();
        let (_, got, _) = run(&["super", "--all", p]);
        let got: String = got.lines().filter(|l| !l.starts_with("superblock in use")).map(|l| format!("{l}\n")).collect();
        assert_eq!(got, String::from_utf8_lossy(&want.stdout), "dump-super -f -a with three copies");
    }
}
