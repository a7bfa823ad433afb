//! `ondisk check`: run a filesystem's checks, print findings, turn them into an exit code or an
//! assertion (`--expect`/`--allow`).

use super::dispatch::open;
use super::output::{finish, Out};
use super::{CheckArgs, GroupBy, EXIT_ASSERT, EXIT_ERRORS, EXIT_OK};
use crate::detect::FsKind;
use crate::findings::{Finding, Report, Severity};
use crate::image::OpenOptions;
use crate::record::Value;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::io::Write;

/// How many findings of each kind the human output shows without `--all`.
const FIRST_FEW: usize = 5;

/// What a check run is asked to do, filesystem-independent.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    pub check_data_csum: bool,
}

pub fn run(a: &CheckArgs, opts: OpenOptions) -> Result<i32> {
    let expect = parse_expect(&a.expect)?;
    let (set, kind) = open(&a.common.paths, opts)?;
    let copts = CheckOptions { check_data_csum: a.check_data_csum };
    let report = match kind {
        FsKind::Btrfs => crate::btrfs::check::run(&set, &copts)?,
        FsKind::Hammer => crate::hammer::check::run(&set, &copts)?,
        k => return Err(Error::Unsupported(format!("check is not implemented for {} yet", k.name()))),
    };
    let mut out = Out::new();
    finish(print(&mut out, a, &report).and_then(|_| out.flush()))?;
    if !a.expect.is_empty() || !a.allow.is_empty() {
        let diff = assertion_diff(&report, &expect, &a.allow);
        if diff.is_empty() {
            return Ok(EXIT_OK);
        }
        eprintln!("ondisk: findings do not match the expectation:");
        for line in diff {
            eprintln!("  {line}");
        }
        return Ok(EXIT_ASSERT);
    }
    let errors = report.count(Severity::Error) + if a.strict { report.count(Severity::Warning) } else { 0 };
    Ok(if errors > 0 { EXIT_ERRORS } else { EXIT_OK })
}

/// `KIND[=COUNT]` → (kind, Some(count)).
fn parse_expect(v: &[String]) -> Result<Vec<(String, Option<usize>)>> {
    v.iter()
        .map(|s| match s.split_once('=') {
            Some((k, n)) => n
                .parse()
                .map(|n| (k.to_string(), Some(n)))
                .map_err(|_| Error::Usage(format!("--expect {s}: COUNT must be a number"))),
            None => Ok((s.clone(), None)),
        })
        .collect()
}

/// The lines of the expected-vs-found diff; empty when the assertion holds.
///
/// Every expected kind must occur (exactly COUNT times when given); every error or warning kind
/// found must be expected or allowed. Info findings (a pending log replay, an unset advisory
/// checksum) only take part when expected.
pub fn assertion_diff(report: &Report, expect: &[(String, Option<usize>)], allow: &[String]) -> Vec<String> {
    let mut found: BTreeMap<&str, (usize, Severity)> = BTreeMap::new();
    for f in &report.findings {
        let e = found.entry(f.kind.id).or_insert((0, f.severity));
        e.0 += 1;
        e.1 = e.1.min(f.severity);
    }
    let mut diff = Vec::new();
    for (k, n) in expect {
        let got = found.get(k.as_str()).map_or(0, |e| e.0);
        match n {
            Some(n) if got != *n => diff.push(format!("{k}: expected {n}, found {got}")),
            None if got == 0 => diff.push(format!("{k}: expected at least one, found none")),
            _ => {}
        }
    }
    for (k, (n, sev)) in &found {
        let named = expect.iter().any(|(e, _)| e == k) || allow.iter().any(|a| a == k);
        if !named && *sev != Severity::Info {
            diff.push(format!("{k}: not expected, found {n}"));
        }
    }
    diff
}

fn print(out: &mut Out, a: &CheckArgs, report: &Report) -> std::io::Result<()> {
    if a.common.json {
        for f in &report.findings {
            out.json(f)?;
        }
        return out.json(&report.summary());
    }
    let w = out.w();
    let mut by_kind: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_kind.entry(f.kind.id).or_default().push(f);
    }
    for (kind, list) in &by_kind {
        writeln!(w, "{kind} ({}, {}): {}", list[0].severity.name(), list.len(), list[0].kind.meaning)?;
        let shown = if a.all { list.len() } else { FIRST_FEW.min(list.len()) };
        for f in &list[..shown] {
            write!(w, "  {}", f.message)?;
            let loc = serde_json::to_string(&f.location).unwrap_or_default();
            if !f.location.fields.is_empty() {
                write!(w, " at {loc}")?;
            }
            if !f.context.fields.is_empty() {
                write!(w, " {}", serde_json::to_string(&f.context).unwrap_or_default())?;
            }
            writeln!(w)?;
        }
        if shown < list.len() {
            writeln!(w, "  ... and {} more (--all shows every one)", list.len() - shown)?;
        }
    }
    if let Some(g) = a.group_by {
        writeln!(w, "by {g:?}:").map(|_| ())?;
        for (key, n) in group(report, g) {
            writeln!(w, "  {key}: {n}")?;
        }
    }
    writeln!(
        w,
        "{} errors, {} warnings, {} infos",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info)
    )
}

/// Counts findings per value of the grouping field ("-" where a finding has none).
pub fn group(report: &Report, g: GroupBy) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in &report.findings {
        let key = match g {
            GroupBy::Kind => f.kind.id.to_string(),
            GroupBy::Tree => text(f.field("tree")),
            GroupBy::Device => text(f.field("device")),
            GroupBy::Generation => text(f.field("generation")),
            GroupBy::Tid => text(f.field("create_tid").or_else(|| f.field("tid"))),
            GroupBy::Ctime => match f.field("ctime") {
                // µs since the epoch → the hour it falls in.
                Some(Value::U64(us)) => hour_bucket(*us / 1_000_000),
                other => text(other),
            },
        };
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

fn text(v: Option<&Value>) -> String {
    match v {
        None => "-".into(),
        Some(Value::Str(s)) => s.to_string(),
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// "YYYY-MM-DD HH:00 UTC" for a time in seconds since the epoch.
pub fn hour_bucket(secs: u64) -> String {
    let (y, mo, d, h, _, _) = crate::record::civil_time(secs as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:00 UTC")
}
