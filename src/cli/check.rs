//! `ondisk check`: run a filesystem's checks, print findings, turn them into an exit code or an
//! assertion (`--expect`/`--allow`).

use super::output::{finish, Out};
use super::{CheckArgs, GroupBy, EXIT_ASSERT, EXIT_ERRORS, EXIT_OK};
use crate::findings::{Finding, Report, Severity};
use crate::image::OpenOptions;
use crate::record::Value;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::io::Write;

/// How many findings of each kind the human output shows without `--all`.
const FIRST_FEW: usize = 5;

pub use crate::check::CheckOptions;

pub fn run(a: &CheckArgs, opts: OpenOptions) -> Result<i32> {
    let expect = parse_expect(&a.expect)?;
    let copts = CheckOptions { check_data_csum: a.check_data_csum, all_copies: a.all_copies, open: opts };
    let report = crate::check::check_paths(&a.common.paths, &copts)?;
    let mut out = Out::new();
    finish(print(&mut out, a, &report).and_then(|_| out.flush()))?;
    if !a.expect.is_empty() || !a.allow.is_empty() {
        let expect: Vec<(&str, Option<usize>)> = expect.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        let allow: Vec<&str> = a.allow.iter().map(String::as_str).collect();
        let Err(diff) = crate::check::assert_findings(&report, &expect, &allow) else {
            return Ok(EXIT_OK);
        };
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
        writeln!(w, "by {}:", format!("{g:?}").to_lowercase())?;
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
