//! The btrfs corruption matrix: every row of `ondisk_test_images::btrfs_corrupt::manifest()` —
//! a clean base image (built once, copied per row), one thing damaged the way a real bug would,
//! and the exact set of kinds `ondisk check --json` must report (errors and warnings exactly,
//! listed infos present, counts and severities where a row names them, exit 4 exactly when
//! there are errors). Prints `name | family | expected | found | ok` and fails listing every row
//! that differs. Reproduce one row by hand with `btrfs-corrupt NAME OUT.img`.
//!
//! Skips with a visible message when mkfs.btrfs or ../shared is absent (fails under
//! ONDISK_REQUIRE_SHARED).

mod common;

use ondisk_test_images::btrfs_corrupt::image::{check, BaseImage};
use ondisk_test_images::btrfs_corrupt::{manifest, Base, Corruption, Tools};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `f` on every element from a few threads (the work is mostly waiting for `ondisk`
/// child processes), results in input order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().expect("no thread panics holding the lock")[i] = Some(r);
            });
        }
    });
    out.into_inner().expect("threads joined").into_iter().map(|r| r.expect("every item ran")).collect()
}

/// One row on a fresh copy of its base: (expected, found, differences).
fn run_row(tools: &Tools, c: &Corruption, base: &BaseImage, dir: &Path) -> (String, String, Vec<String>) {
    let want = c.want();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<_, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut img = base.copy_to(dir).map_err(|e| e.to_string())?;
        (c.apply)(&mut img).map_err(|e| format!("damage: {e}"))?;
        img.check(tools, c.args).map_err(|e| e.to_string())
    }));
    let _ = std::fs::remove_dir_all(dir);
    match result {
        Ok(Ok(found)) => (want.to_string(), found.to_string(), want.compare(&found)),
        Ok(Err(e)) => (want.to_string(), "-".into(), vec![e]),
        Err(_) => (want.to_string(), "-".into(), vec!["panicked".into()]),
    }
}

#[test]
fn btrfs_corruption_matrix() {
    let rows = manifest();
    let Some(shared) = common::shared_or_skip() else { return };
    if !common::have("mkfs.btrfs") {
        return;
    }
    let tools = Tools { ondisk: common::ondisk(), shared: Some(shared), unpacked: Some(common::raw_image) };
    let work = tempfile::tempdir().expect("tempdir");

    // Every base once, checked clean (with --check-data-csum: no error, no warning, exactly the
    // infos it is known for).
    let bases: Vec<Base> = rows.iter().map(|c| c.base).collect::<BTreeSet<_>>().into_iter().collect();
    let built = par_map(&bases, |b| -> Result<BaseImage, String> {
        let dir = work.path().join(b.name());
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let t = std::time::Instant::now();
        let base = b.build(&tools, &dir).map_err(|e| format!("base {}: {e}", b.name()))?;
        let built = t.elapsed();
        let found = check(&tools, &base.paths, &["--check-data-csum"], &[]).map_err(|e| format!("base {}: {e}", b.name()))?;
        let kinds: BTreeSet<&str> = found.kinds.keys().map(String::as_str).collect();
        let want: BTreeSet<&str> = b.clean_kinds().iter().copied().collect();
        eprintln!("base {}: built in {built:.1?}, checked clean in {:.1?}", b.name(), t.elapsed() - built);
        if found.code == Some(0) && found.errors == 0 && found.warnings == 0 && kinds == want {
            Ok(base)
        } else {
            Err(format!("the clean base {} is not clean: exit {:?}, {found}", b.name(), found.code))
        }
    });
    let bases: BTreeMap<Base, Result<BaseImage, String>> = bases.into_iter().zip(built).collect();

    let t = std::time::Instant::now();
    let results = par_map(&rows, |c| match &bases[&c.base] {
        Ok(base) => run_row(&tools, c, base, &work.path().join("rows").join(c.name)),
        Err(e) => (c.want().to_string(), "-".into(), vec![e.clone()]),
    });

    eprintln!("rows in {:.1?}", t.elapsed());
    let mut table = vec![("name".to_string(), "family".to_string(), "expected".to_string(), "found".to_string(), "ok".to_string())];
    let mut failures = Vec::new();
    let mut families: BTreeMap<&str, usize> = BTreeMap::new();
    for (c, (want, found, bad)) in rows.iter().zip(&results) {
        *families.entry(c.family.name()).or_default() += 1;
        table.push((c.name.to_string(), c.family.name().to_string(), want.clone(), found.clone(), if bad.is_empty() { "ok" } else { "FAIL" }.to_string()));
        if !bad.is_empty() {
            failures.push(format!("{} ({} on {}): {}", c.name, c.family.name(), c.base.name(), bad.join("; ")));
        }
    }
    let w = |f: fn(&(String, String, String, String, String)) -> usize| table.iter().map(f).max().unwrap_or(0);
    let (w0, w1, w2) = (w(|r| r.0.len()), w(|r| r.1.len()), w(|r| r.2.len()));
    for r in &table {
        eprintln!("{:<w0$} | {:<w1$} | {:<w2$} | {} | {}", r.0, r.1, r.2, r.3, r.4);
    }
    let per_family: Vec<String> = families.iter().map(|(f, n)| format!("{f} {n}")).collect();
    eprintln!("{} corruptions ({}), {} failing", rows.len(), per_family.join(", "), failures.len());
    assert!(failures.is_empty(), "rows that differ from the manifest:\n{}", failures.join("\n"));
}
