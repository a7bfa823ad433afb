//! Helpers shared by the HAMMER integration tests.

use std::path::PathBuf;
use std::process::{Command, Output};

/// `../shared/images/hammer`, or `None` after a visible SKIP (a failure in CI).
pub fn shared() -> Option<PathBuf> {
    super::shared_or_skip().map(|p| p.join("images/hammer"))
}

/// Runs the real binary.
pub fn run(args: &[&str], paths: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ondisk")).args(args).args(paths).output().expect("run ondisk")
}

/// Runs the binary and returns stdout, asserting success.
pub fn ondisk(args: &[&str], paths: &[PathBuf]) -> String {
    let out = run(args, paths);
    assert!(out.status.success(), "ondisk {args:?} {paths:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The summary object of `check --json`.
pub fn check_summary(paths: &[PathBuf]) -> (serde_json::Value, Vec<serde_json::Value>) {
    let out = run(&["check", "--json"], paths);
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(4)), "check {paths:?}: exit {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let summary = lines.last().cloned().expect("summary");
    assert_eq!(summary["type"], "summary");
    (summary, lines)
}

/// Writes an image to a new temporary file, skipping all-zero 64 KiB chunks (a sparse file:
/// images are mostly empty, and the tests write many of them).
pub fn temp_image(bytes: &[u8]) -> tempfile::NamedTempFile {
    use std::os::unix::fs::FileExt;
    let f = tempfile::NamedTempFile::new().expect("temp file");
    f.as_file().set_len(bytes.len() as u64).expect("size");
    for (i, c) in bytes.chunks(1 << 16).enumerate() {
        if c.iter().any(|&b| b != 0) {
            f.as_file().write_all_at(c, (i as u64) << 16).expect("write image");
        }
    }
    f
}

/// A shared `.zst` image decompressed into the target's scratch folder (see
/// [`raw_image`](super::raw_image)): once, not per run of the binary. (Temporary files held in a
/// static here were never deleted, since statics are not dropped: every test run left its
/// decompressed HAMMER images behind in /tmp.)
pub fn raw(zst: &std::path::Path) -> PathBuf {
    super::raw_image(zst)
}
