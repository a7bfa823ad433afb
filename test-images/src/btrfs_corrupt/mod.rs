//! The btrfs corruption matrix: named corruptions of clean images, each with its check family,
//! its base image, the damage, and the exact set of finding kinds `ondisk check` must report.
//!
//! - [`image`]: the toolkit — base images (`mkfs.btrfs --rootdir` recipes, decompressed shared
//!   kernel images), locating items and blocks through `ondisk dump --json`, editing a tree block,
//!   leaf or superblock in every copy and re-checksumming it, running `ondisk check --json`;
//! - `tree.rs`, `extent.rs`, `inode.rs`, `csum.rs`, `qgroup.rs`, `dropping.rs`: the manifest rows,
//!   one file per group of families;
//! - [`manifest`]: every row; [`Want::compare`]: expected against found.
//!
//! The runner is `tests/btrfs_corruptions.rs`; `btrfs-corrupt NAME OUT.img` writes one row's
//! image so it can be checked by hand (`ondisk check`, `btrfs check --readonly`).

mod csum;
mod dropping;
mod extent;
pub mod image;
mod inode;
mod qgroup;
mod superblock;
mod tree;

pub use image::{Base, Error, Found, Img, Tools};

use std::collections::BTreeMap;
use std::fmt;

/// The check families of `src/btrfs/check/` a corruption is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Superblock,
    TreeBlock,
    ParentChild,
    RootRefs,
    Extent,
    BlockGroup,
    Devices,
    FreeSpace,
    Csum,
    InodeDir,
    Log,
    DataCsum,
    Qgroup,
    DroppedSubvolume,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Superblock => "superblock",
            Family::TreeBlock => "tree block",
            Family::ParentChild => "parent/child",
            Family::RootRefs => "root refs",
            Family::Extent => "extent",
            Family::BlockGroup => "block group",
            Family::Devices => "devices",
            Family::FreeSpace => "free space",
            Family::Csum => "csum",
            Family::InodeDir => "inode/dir",
            Family::Log => "log",
            Family::DataCsum => "data csum",
            Family::Qgroup => "qgroup",
            Family::DroppedSubvolume => "dropped subvolume",
        }
    }
}

/// The damage: edits a writable copy of the base image.
pub type Apply = fn(&mut Img) -> Result<(), Error>;

/// One named corruption.
pub struct Corruption {
    pub name: &'static str,
    pub family: Family,
    pub base: Base,
    /// Extra `ondisk check` arguments (`--check-data-csum`, `--all-copies`).
    pub args: &'static [&'static str],
    /// Expected kinds, each `KIND`, `KIND=COUNT`, `KIND:SEVERITY` or `KIND=COUNT:SEVERITY`
    /// (severity: the worst one reported for the kind). Errors and warnings exactly; infos
    /// listed here must occur, others may unless the row is `exact`.
    pub expect: &'static [&'static str],
    /// The summary's (errors, warnings), where the old test asserted them.
    pub totals: Option<(u64, u64)>,
    /// No info beyond those listed and the base's own ([`Base::clean_kinds`]).
    pub exact: bool,
    pub apply: Apply,
    /// Why the expected kinds are these (what a real bug would leave behind).
    pub why: &'static str,
}

/// A row of the manifest, built with [`row`] and adjusted with the methods below.
const fn row(name: &'static str, family: Family, base: Base, expect: &'static [&'static str], apply: Apply) -> Corruption {
    Corruption { name, family, base, args: &[], expect, totals: None, exact: false, apply, why: "" }
}

impl Corruption {
    const fn args(mut self, args: &'static [&'static str]) -> Self {
        self.args = args;
        self
    }
    const fn totals(mut self, errors: u64, warnings: u64) -> Self {
        self.totals = Some((errors, warnings));
        self
    }
    /// Run with `--check-data-csum`, expecting these (errors, warnings).
    const fn data_csum(self, errors: u64, warnings: u64) -> Self {
        self.args(&["--check-data-csum"]).totals(errors, warnings)
    }
    /// Infos too exactly: a row whose point is what is not reported.
    const fn exact(mut self) -> Self {
        self.exact = true;
        self
    }
    const fn why(mut self, why: &'static str) -> Self {
        self.why = why;
        self
    }

    /// The expectation, parsed.
    pub fn want(&self) -> Want {
        let kinds = parse_kinds(self.expect);
        let infos = self.exact.then(|| kinds.keys().cloned().chain(parse_kinds(self.base.clean_kinds()).into_keys()).collect());
        Want { kinds, totals: self.totals, infos }
    }
}

/// Parses `KIND`, `KIND=COUNT`, `KIND:SEVERITY`, `KIND=COUNT:SEVERITY` (rows' expectations,
/// [`Base::clean_kinds`]).
pub fn parse_kinds(expect: &[&str]) -> BTreeMap<String, KindWant> {
    let mut kinds = BTreeMap::new();
    for e in expect {
        let (rest, severity) = match e.split_once(':') {
            Some((k, s)) => (k, Some(s.to_string())),
            None => (*e, None),
        };
        let (kind, count) = match rest.split_once('=') {
            Some((k, n)) => (k, n.parse().ok()),
            None => (rest, None),
        };
        kinds.insert(kind.to_string(), KindWant { count, severity });
    }
    kinds
}

/// What is expected of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindWant {
    pub count: Option<u64>,
    pub severity: Option<String>,
}

/// The parsed expectation of a row.
#[derive(Debug, Clone)]
pub struct Want {
    pub kinds: BTreeMap<String, KindWant>,
    pub totals: Option<(u64, u64)>,
    /// Every kind an exact row may report (its own and its base's); `None`: any info.
    pub infos: Option<std::collections::BTreeSet<String>>,
}

impl Want {
    /// Every way `found` differs from this expectation (empty: the row passes).
    pub fn compare(&self, found: &Found) -> Vec<String> {
        let mut bad = Vec::new();
        for (kind, w) in &self.kinds {
            let Some((count, sev)) = found.kinds.get(kind) else {
                bad.push(format!("{kind} missing"));
                continue;
            };
            if w.count.is_some_and(|c| c != *count) {
                bad.push(format!("{kind}: {count} found, {} expected", w.count.unwrap_or_default()));
            }
            if w.severity.as_ref().is_some_and(|s| s != sev) {
                bad.push(format!("{kind}: {sev}, {} expected", w.severity.as_deref().unwrap_or_default()));
            }
        }
        for (kind, (_, sev)) in &found.kinds {
            let allowed = if sev == "info" { self.infos.as_ref().is_none_or(|i| i.contains(kind)) } else { self.kinds.contains_key(kind) };
            if !allowed {
                bad.push(format!("{kind} ({sev}) not expected"));
            }
        }
        if let Some((e, w)) = self.totals {
            if (found.errors, found.warnings) != (e, w) {
                bad.push(format!("{} errors, {} warnings; {e}, {w} expected", found.errors, found.warnings));
            }
        }
        // fsck(8) exit codes: 4 exactly when errors remain.
        if (found.code == Some(4)) != (found.errors > 0) {
            bad.push(format!("exit code {:?} with {} errors", found.code, found.errors));
        }
        for f in &found.field_mismatches {
            bad.push(f.clone());
        }
        bad
    }
}

impl fmt::Display for Want {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v: Vec<String> = self
            .kinds
            .iter()
            .map(|(k, w)| {
                let mut s = short(k).to_string();
                if let Some(c) = w.count {
                    s += &format!("={c}");
                }
                if let Some(sev) = &w.severity {
                    s += &format!(":{sev}");
                }
                s
            })
            .collect();
        f.write_str(if v.is_empty() { "-".into() } else { v.join(" ") }.as_str())?;
        // No other info may occur.
        f.write_str(if self.infos.is_some() { " (exact)" } else { "" })
    }
}

/// A kind without its `btrfs.` prefix, for tables.
pub fn short(kind: &str) -> &str {
    kind.strip_prefix("btrfs.").unwrap_or(kind)
}

/// Every btrfs corruption, in family order within each group.
pub fn manifest() -> Vec<Corruption> {
    let mut v = tree::rows();
    v.extend(extent::rows());
    v.extend(inode::rows());
    v.extend(csum::rows());
    v.extend(qgroup::rows());
    v.extend(dropping::rows());
    v.extend(superblock::rows());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(kinds: &[(&str, u64, &str)], errors: u64, warnings: u64) -> Found {
        Found {
            code: Some(if errors > 0 { 4 } else { 0 }),
            errors,
            warnings,
            kinds: kinds.iter().map(|(k, n, s)| (k.to_string(), (*n, s.to_string()))).collect(),
            field_mismatches: Vec::new(),
        }
    }

    fn want(expect: &'static [&'static str]) -> Want {
        row("t", Family::Csum, Base::MkfsCsum, expect, |_| Ok(())).want()
    }

    #[test]
    fn errors_and_warnings_exactly_listed_infos_present() {
        let w = want(&["btrfs.a=2:error", "btrfs.i:info"]);
        assert!(w.compare(&found(&[("btrfs.a", 2, "error"), ("btrfs.i", 1, "info"), ("btrfs.other", 3, "info")], 2, 0)).is_empty());
        // A count, a severity, a missing info, an unexpected warning, a wrong exit code.
        assert_eq!(w.compare(&found(&[("btrfs.a", 1, "error"), ("btrfs.i", 1, "info")], 1, 0)).len(), 1);
        assert_eq!(w.compare(&found(&[("btrfs.a", 2, "warning"), ("btrfs.i", 1, "info")], 0, 2)).len(), 1);
        assert_eq!(w.compare(&found(&[("btrfs.a", 2, "error")], 2, 0)).len(), 1);
        assert_eq!(w.compare(&found(&[("btrfs.a", 2, "error"), ("btrfs.i", 1, "info"), ("btrfs.w", 1, "warning")], 2, 1)).len(), 1);
        let mut f = found(&[("btrfs.a", 2, "error"), ("btrfs.i", 1, "info")], 2, 0);
        f.code = Some(0);
        assert_eq!(w.compare(&f).len(), 1);
        // An exact row: the other info is one too many; its base's own are not.
        let exact = row("t", Family::Csum, Base::KRich, &["btrfs.a=2:error", "btrfs.i:info"], |_| Ok(())).exact().want();
        assert_eq!(exact.compare(&found(&[("btrfs.a", 2, "error"), ("btrfs.i", 1, "info"), ("btrfs.other", 3, "info")], 2, 0)).len(), 1);
        assert!(exact.compare(&found(&[("btrfs.a", 2, "error"), ("btrfs.i", 1, "info"), ("btrfs.free_space_orphan", 2, "info")], 2, 0)).is_empty());
    }

    #[test]
    fn the_manifest_names_rows_once_and_covers_every_family() {
        let rows = manifest();
        let names: std::collections::BTreeSet<&str> = rows.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), rows.len(), "a name is used twice");
        let families: std::collections::BTreeSet<Family> = rows.iter().map(|c| c.family).collect();
        assert_eq!(families.len(), 14, "a family has no row: {families:?}");
        for c in &rows {
            assert!(c.expect.iter().all(|k| k.starts_with("btrfs.")), "{}: {:?}", c.name, c.expect);
        }
    }
}
