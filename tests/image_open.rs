//! Opening images: `.zst` and `.xz` read like their decompressed form with small peak memory,
//! `--no-mmap` prints the same as mmap, a block device (loop) gets its length by seeking, and
//! paths that hold no filesystem fail with one clear line and exit 8.

mod common;
use common::{have, shared_path as shared};

use std::path::Path;
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ondisk")
}

/// `<manifest>/../shared` (or `../../shared` from a worktree under `wt/`, or `$ONDISK_SHARED`).
fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(bin()).args(args).output().expect("run ondisk");
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// Output with the device path of `superblock:` lines taken out.
fn without_paths(s: &str, path: &str) -> String {
    s.replace(path, "PATH")
}

/// Peak resident set of one run, in KiB, measured by GNU time (None when it is absent).
fn peak_rss_kib(args: &[&str]) -> Option<u64> {
    if !Path::new("/usr/bin/time").exists() {
        return None;
    }
    let o = Command::new("/usr/bin/time").args(["-f", "RSS=%M"]).arg(bin()).args(args).output().ok()?;
    let err = String::from_utf8_lossy(&o.stderr);
    err.lines().rev().find_map(|l| l.strip_prefix("RSS=")?.trim().parse().ok())
}

#[test]
fn zst_image_reads_like_its_decompressed_form_in_little_memory() {
    let zst = shared().join("images/btrfs/k-rich/k-rich.img.zst");
    if !zst.is_file() || !have("zstd") {
        eprintln!("SKIP: {} or zstd absent", zst.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("k-rich.img");
    assert!(Command::new("zstd").args(["-q", "-d", "-f", "-o"]).arg(&raw).arg(&zst).status().unwrap().success());
    let (zp, rp) = (zst.to_str().unwrap(), raw.to_str().unwrap());
    for cmd in ["super", "dump"] {
        let (c1, a, _) = run(&[cmd, zp]);
        let (c2, b, _) = run(&[cmd, rp]);
        assert_eq!((c1, c2), (0, 0), "{cmd}");
        assert_eq!(without_paths(&a, zp), without_paths(&b, rp), "{cmd}: .zst and raw differ");
        // --no-mmap reads with pread: same bytes, same output.
        let (c3, n, _) = run(&["--no-mmap", cmd, rp]);
        assert_eq!(c3, 0);
        assert_eq!(n, b, "{cmd}: --no-mmap differs");
    }
    // k-rich is 1 GiB apparent: the decompressed copy lives in a sparse temporary file, not in
    // memory, so the peak RSS stays far below the image size.
    if let Some(kib) = peak_rss_kib(&["dump", zp]) {
        eprintln!("peak RSS dumping k-rich.img.zst: {kib} KiB");
        assert!(kib < 128 << 10, "peak RSS {kib} KiB for a 1 GiB image");
    } else {
        eprintln!("SKIP: /usr/bin/time absent, RSS not measured");
    }
}

#[test]
fn xz_image_reads_like_its_decompressed_form() {
    let xz = shared().join("corpus/btrfs-progs/fuzz-tests/images/sys-array-num-stripes-0.raw.xz");
    let md = shared().join("corpus/btrfs-progs/fsck-tests/065-valid-log-tree/hole.img.xz");
    if !xz.is_file() || !have("xz") {
        eprintln!("SKIP: {} or xz absent", xz.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for src in [xz, md] {
        let raw = tmp.path().join("x.img");
        let f = std::fs::File::create(&raw).unwrap();
        assert!(Command::new("xz").arg("-dc").arg(&src).stdout(f).status().unwrap().success());
        let (sp, rp) = (src.to_str().unwrap(), raw.to_str().unwrap());
        for cmd in ["super", "dump"] {
            let (c1, a, _) = run(&[cmd, sp]);
            let (c2, b, _) = run(&[cmd, rp]);
            assert_eq!(c1, c2, "{cmd} {sp}");
            assert_eq!(without_paths(&a, sp), without_paths(&b, rp), "{cmd}: {sp} and its decompressed form differ");
            let (c3, n, _) = run(&["--no-mmap", cmd, sp]);
            assert_eq!((c3, &n), (c1, &a), "{cmd} {sp}: --no-mmap differs");
            // The pure-Rust decoder (used when no xz tool is installed) gives the same bytes.
            let o = Command::new(bin()).env("ONDISK_XZ", "builtin").args([cmd, sp]).output().unwrap();
            assert_eq!((o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned()), (Some(c1), a), "{cmd} {sp}: lzma-rs differs");
        }
    }
}

#[test]
fn block_device_length_comes_from_seeking() {
    if !have("losetup") || !have("mkfs.btrfs") {
        eprintln!("SKIP: losetup or mkfs.btrfs absent");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let img = tmp.path().join("bd.img");
    std::fs::File::create(&img).and_then(|f| f.set_len(300 << 20)).unwrap();
    assert!(Command::new("mkfs.btrfs").args(["-q", "-f"]).arg(&img).output().unwrap().status.success());
    let o = Command::new("losetup").args(["-f", "--show", "-r"]).arg(&img).output().unwrap();
    if !o.status.success() {
        eprintln!("SKIP: no loop device: {}", String::from_utf8_lossy(&o.stderr).trim());
        return;
    }
    let dev = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let result = std::panic::catch_unwind(|| {
        let ip = img.to_str().unwrap();
        // --all lists the 64 MiB mirror only if the device length (a seek on a block device,
        // whose metadata length is 0) is right.
        for args in [vec!["super", "--all"], vec!["dump"], vec!["--no-mmap", "super", "--all"]] {
            let mut a = args.clone();
            a.push(&dev);
            let (c1, x, e) = run(&a);
            let mut b = args.clone();
            b.push(ip);
            let (c2, y, _) = run(&b);
            assert_eq!((c1, c2), (0, 0), "{args:?} on {dev}: {e}");
            assert_eq!(without_paths(&x, &dev), without_paths(&y, ip), "{args:?}: block device and file differ");
        }
        let (_, out, _) = run(&["super", "--all", &dev]);
        assert!(out.contains("superblock: bytenr=67108864"), "{out}");
    });
    let _ = Command::new("losetup").arg("-d").arg(&dev).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn unusable_paths_fail_with_one_line_and_exit_8() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.img");
    std::fs::write(&empty, b"").unwrap();
    let zeros = tmp.path().join("zeros.img");
    std::fs::File::create(&zeros).and_then(|f| f.set_len(1 << 20)).unwrap();
    let badzst = tmp.path().join("bad.zst");
    std::fs::write(&badzst, [0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    let missing = tmp.path().join("no-such-file.img");
    let cases: [(&Path, &str); 5] = [
        (&missing, "No such file"),
        (tmp.path(), "is a directory"),
        (&empty, "not a btrfs, bcachefs or HAMMER filesystem"),
        (&zeros, "not a btrfs, bcachefs or HAMMER filesystem"),
        (&badzst, "cannot decompress"),
    ];
    for (p, want) in cases {
        for cmd in ["super", "dump", "detect"] {
            let (code, out, err) = run(&[cmd, p.to_str().unwrap()]);
            if cmd == "detect" && code != 8 {
                // detect may report "unknown" for a readable non-filesystem: not an error there.
                continue;
            }
            assert_eq!(code, 8, "{cmd} {}: {err}", p.display());
            assert!(out.is_empty(), "{cmd} {}: nothing on stdout", p.display());
            let lines: Vec<&str> = err.lines().collect();
            assert_eq!(lines.len(), 1, "{cmd} {}: one line: {err}", p.display());
            assert!(lines[0].starts_with("ondisk: ") && lines[0].contains(want), "{cmd} {}: {err}", p.display());
            assert!(lines[0].contains(&*p.to_string_lossy()), "the line names the path: {err}");
        }
    }
}
