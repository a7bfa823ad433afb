//! The btrfs corruption matrix: every row of `ondisk_test_images::btrfs_corrupt::manifest()` —
//! a clean base image (built once, copied per row), one thing damaged the way a real bug would,
//! and the exact set of kinds `ondisk check --json` must report (errors and warnings exactly,
//! listed infos present, counts and severities where a row names them, exit 4 exactly when
//! there are errors). Prints `name | family | expected | found | ok` and fails listing every row
//! that differs. Reproduce one row by hand with `btrfs-corrupt NAME OUT.img`.
//!
//! Skips with a visible message when mkfs.btrfs or ../shared is absent, and skips the rows of a
//! base whose tool is absent (btrfs-image for a restored metadump); each fails under
//! ONDISK_REQUIRE_SHARED.

mod common;

use ondisk_test_images::btrfs_corrupt::image::{check, BaseImage};
use ondisk_test_images::btrfs_corrupt::{manifest, parse_kinds, Base, Corruption, Error, Found, Tools};
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

/// Whether a clean base reports exactly the kinds it is known for, each at its severity
/// (infos unless marked), and no error.
fn is_clean(b: Base, found: &Found) -> bool {
    let want = parse_kinds(b.clean_kinds());
    let same_kinds = found.kinds.keys().eq(want.keys());
    let severities = found.kinds.iter().all(|(k, (_, sev))| want.get(k).is_some_and(|w| w.severity.as_deref().unwrap_or("info") == sev));
    let warnings_known = found.warnings == 0 || want.values().any(|w| w.severity.as_deref() == Some("warning"));
    found.code == Some(0) && found.errors == 0 && same_kinds && severities && warnings_known
}

/// A base: built and clean, its tool absent (its rows are skipped), or broken.
enum Built {
    Ok(BaseImage),
    Skip(String),
    Fail(String),
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
    let built = par_map(&bases, |b| {
        let dir = work.path().join(b.name());
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return Built::Fail(e.to_string());
        }
        let t = std::time::Instant::now();
        let base = match b.build(&tools, &dir) {
            Ok(base) => base,
            Err(Error::Skip(why)) => return Built::Skip(why),
            Err(e) => return Built::Fail(format!("base {}: {e}", b.name())),
        };
        let built = t.elapsed();
        let found = match check(&tools, &base.paths, b.clean_args(), &[]) {
            Ok(found) => found,
            Err(e) => return Built::Fail(format!("base {}: {e}", b.name())),
        };
        eprintln!("base {}: built in {built:.1?}, checked clean in {:.1?}", b.name(), t.elapsed() - built);
        if is_clean(*b, &found) {
            Built::Ok(base)
        } else {
            Built::Fail(format!("the clean base {} is not clean: exit {:?}, {found}", b.name(), found.code))
        }
    });
    let bases: BTreeMap<Base, Built> = bases.into_iter().zip(built).collect();
    for (b, built) in &bases {
        if let Built::Skip(why) = built {
            assert!(!common::required(), "base {}: {why} (ONDISK_REQUIRE_SHARED)", b.name());
            eprintln!("SKIP: the rows on {}: {why}", b.name());
        }
    }
    let rows: Vec<Corruption> = rows.into_iter().filter(|c| !matches!(bases[&c.base], Built::Skip(_))).collect();

    let t = std::time::Instant::now();
    let results = par_map(&rows, |c| match &bases[&c.base] {
        Built::Ok(base) => run_row(&tools, c, base, &work.path().join("rows").join(c.name)),
        Built::Fail(e) | Built::Skip(e) => (c.want().to_string(), "-".into(), vec![e.clone()]),
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
