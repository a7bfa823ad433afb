//! Helpers shared by the HAMMER integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `../shared/images/hammer` beside the repository root; a git worktree under `wt/` finds it one
/// level further up. `None` (with a visible SKIP) when absent, so a fresh clone's tests pass.
pub fn shared() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for d in [root.join("../shared/images/hammer"), root.join("../../shared/images/hammer")] {
        if d.is_dir() {
            return Some(d);
        }
    }
    eprintln!("SKIP: {} is absent", root.join("../shared/images/hammer").display());
    None
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
