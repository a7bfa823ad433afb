//! Helpers shared by the integration tests: where things are, running the binary and the
//! reference tools with a time limit, reading compressed goldens, parsing btrfs-progs text, and a
//! line diff that stays readable when whole blocks of lines are missing.

// Each test file includes this module and uses a different part of it.
#![allow(dead_code)]

pub mod corrupt;
pub mod dump_tree;
pub mod hammer;
pub mod mutate;
pub mod textdiff;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `ondisk` binary cargo built for this test run.
pub fn ondisk() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ondisk"))
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The project's read-only inputs: `$ONDISK_SHARED` if set, else `<repo>/../shared`, else
/// `<repo>/../../shared` (a worktree under `/work/wt/NAME`), if one of them is there.
pub fn shared() -> Option<PathBuf> {
    let env = std::env::var_os("ONDISK_SHARED").map(PathBuf::from);
    env.into_iter().chain([repo().join("../shared"), repo().join("../../shared")]).find(|p| p.join("images").is_dir())
}

/// Whether every input a test could skip on must be there: CI sets `ONDISK_REQUIRE_SHARED`,
/// and there a missing `../shared` or reference tool is a failure, not a skip.
pub fn required() -> bool {
    std::env::var_os("ONDISK_REQUIRE_SHARED").is_some()
}

/// `../shared`, or `None` after a visible `SKIP:` line (a failure in CI).
pub fn shared_or_skip() -> Option<PathBuf> {
    let found = shared();
    if found.is_none() {
        assert!(!required(), "../shared is required here (ONDISK_REQUIRE_SHARED) but missing");
        eprintln!("SKIP: ../shared is not present");
    }
    found
}

/// Where `../shared` is, or would be: for tests that look for one file in it and skip when it is
/// not there. In CI its absence fails at once.
pub fn shared_path() -> PathBuf {
    match shared() {
        Some(p) => p,
        None => {
            assert!(!required(), "../shared is required here (ONDISK_REQUIRE_SHARED) but missing");
            repo().join("../shared")
        }
    }
}

/// Whether an external program is on PATH. In CI a missing one is a failure: every reference
/// tool a test compares with is installed there.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(!required(), "{tool} is required here (ONDISK_REQUIRE_SHARED) but missing");
        eprintln!("SKIP: {tool} is not installed");
    }
    found
}

/// Whether an external program runs (`prog --version` succeeds); a failure in CI when not.
pub fn have_tool(prog: &str) -> bool {
    let ok = Command::new(prog).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        assert!(!required(), "{prog} is required here (ONDISK_REQUIRE_SHARED) but missing");
    }
    ok
}

/// A btrfs-progs newer than the distribution's 6.2, unpacked and not installed: the folder named
/// by `$ONDISK_BTRFS_NEWER`, holding `bin/btrfs` and `sbin/mkfs.btrfs` (.ci/run unpacks
/// bookworm-backports' 6.14 there). `None` after a visible `SKIP:` line; a failure in CI.
pub fn newer_progs() -> Option<PathBuf> {
    const VAR: &str = "ONDISK_BTRFS_NEWER";
    let root = std::env::var_os(VAR).map(PathBuf::from).filter(|r| r.join("bin/btrfs").is_file());
    if root.is_none() {
        assert!(!required(), "{VAR} names no unpacked btrfs-progs (ONDISK_REQUIRE_SHARED)");
        eprintln!("SKIP: {VAR} names no unpacked btrfs-progs newer than 6.2 (see .ci/run)");
    }
    root
}

/// What a command did.
pub struct Run {
    /// Exit code; `None` when killed (by us on timeout, or by a signal).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Run {
    /// Panics with the command's stderr unless it exited 0.
    pub fn ok(self, what: &str) -> Run {
        assert!(!self.timed_out, "{what}: timed out after {:?}", self.elapsed);
        assert_eq!(self.code, Some(0), "{what}: exit {:?}\nstderr:\n{}", self.code, self.stderr);
        self
    }
}

/// Runs `cmd` to completion or until `limit`, then kills it. stdout and stderr are drained on
/// threads so a chatty child cannot block on a full pipe.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Run {
    let start = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut out = child.stdout.take().expect("stdout was piped");
    let mut err = child.stderr.take().expect("stderr was piped");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > limit => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    Run { code: status.and_then(|s| s.code()), stdout, stderr, timed_out, elapsed: start.elapsed() }
}

/// Runs `ondisk ARGS...` with a generous limit (debug build, images decompressed on the fly).
pub fn ondisk_run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    run_with_timeout(Command::new(ondisk()).args(args), Duration::from_secs(300))
}

/// A file's bytes, zstd-decompressed when the name ends in `.zst`.
pub fn read_maybe_zst(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "zst") {
        let mut dec = ruzstd::decoding::StreamingDecoder::new(&raw[..]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut v = Vec::new();
        dec.read_to_end(&mut v).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        v
    } else {
        raw
    }
}

/// Splits text into lines on `\n` without assuming UTF-8: btrfs-progs prints names and xattr
/// values as raw bytes.
pub fn byte_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if v.last().is_some_and(|l| l.is_empty()) {
        v.pop();
    }
    v
}

/// A raw copy of a `.zst` image, decompressed once (sparse) under cargo's target tmpdir and
/// reused while it is newer than the compressed file; other paths are returned as they are.
///
/// Decompressing 300 MiB members on every `ondisk` run costs seconds in a debug build; the
/// tests run ondisk several times per image, so they share one raw copy.
pub fn raw_image(path: &Path) -> PathBuf {
    if path.extension().is_none_or(|e| e != "zst") {
        return path.to_path_buf();
    }
    let abs = std::fs::canonicalize(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // One folder per source path, named by a hash so different folders' `x.img` do not meet.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in abs.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("raw-images").join(format!("{h:016x}"));
    let name = abs.file_stem().expect("a file name").to_os_string();
    let dest = dir.join(&name);
    let src_time = std::fs::metadata(&abs).and_then(|m| m.modified()).ok();
    let fresh = std::fs::metadata(&dest).and_then(|m| m.modified()).ok();
    if let (Some(s), Some(d)) = (src_time, fresh) {
        if d >= s {
            return dest;
        }
    }
    std::fs::create_dir_all(&dir).expect("target tmpdir is writable");
    // Parallel tests may race on the same image: each writes its own temporary, the rename is
    // atomic and both contents are equal.
    let tmp = dir.join(format!("{}.{}.{:?}", name.to_string_lossy(), std::process::id(), std::thread::current().id()));
    {
        use std::io::{Seek, SeekFrom, Write};
        let raw = std::fs::read(&abs).expect("readable image");
        let mut dec = ruzstd::decoding::StreamingDecoder::new(&raw[..]).unwrap_or_else(|e| panic!("{}: {e}", abs.display()));
        let mut out = std::fs::File::create(&tmp).expect("writable tmpdir");
        const CHUNK: usize = 1 << 16;
        let zeros = vec![0u8; CHUNK];
        let mut buf = vec![0u8; CHUNK];
        let mut total: u64 = 0;
        loop {
            // Fill a whole chunk (the decoder may return less) so holes stay aligned.
            let mut n = 0;
            while n < CHUNK {
                match dec.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => panic!("{}: {e}", abs.display()),
                }
            }
            if n == 0 {
                break;
            }
            // Slice equality is a memcmp: quick even in a debug build.
            if buf[..n] == zeros[..n] {
                out.seek(SeekFrom::Current(n as i64)).expect("seek");
            } else {
                out.write_all(&buf[..n]).expect("write");
            }
            total += n as u64;
            if n < CHUNK {
                break;
            }
        }
        out.set_len(total).expect("set_len");
    }
    std::fs::rename(&tmp, &dest).expect("rename into place");
    dest
}

/// The image files of one folder, sorted (device order: `x.dev1.img.zst`, `x.dev2.img.zst`, ...).
pub fn images_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".img.zst") || n.ends_with(".img.xz") || n.ends_with(".img")));
    v.sort();
    v
}

/// xorshift64*: the tests' own seeded generator, so that a failing round can be replayed from
/// its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
