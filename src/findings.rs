//! Findings: what a check says about an image. Data, not errors: a corrupt image yields findings
//! and the run goes on; only an image that cannot be read at all is an [`Error`](crate::Error).
//!
//! Shared by all three filesystems. Each filesystem declares its kinds as `static` [`Kind`]s
//! (id `<fs>.<name>`, default severity, meaning) and lists them in its `KINDS` table, which
//! `ondisk kinds` and the README print.

use crate::record::{Record, Value};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A kind of finding: a stable id users assert on.
#[derive(Debug)]
pub struct Kind {
    /// `<fs>.<name>`, reusing the anchor tool's own name where it has one.
    pub id: &'static str,
    /// The severity findings of this kind usually carry (a check may raise or lower one).
    pub severity: Severity,
    /// One line: what it means.
    pub meaning: &'static str,
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: &'static Kind,
    pub severity: Severity,
    /// One line for a person.
    pub message: String,
    /// Where: device, physical offset, logical address, tree/btree, level, key — what applies.
    pub location: Record<'static>,
    /// Values compared (expected vs found) and anything that helps group findings.
    pub context: Record<'static>,
}

impl Finding {
    /// A finding of `kind` with its default severity.
    pub fn new(kind: &'static Kind, message: impl Into<String>) -> Self {
        Finding {
            kind,
            severity: kind.severity,
            message: message.into(),
            location: Record::new(),
            context: Record::new(),
        }
    }

    /// Overrides the severity (one bad DUP copy with a good mirror is a warning, say).
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }

    /// Adds a location field.
    pub fn at(mut self, name: &'static str, v: impl Into<Value<'static>>) -> Self {
        self.location.push(name, v);
        self
    }

    /// Adds a context field.
    pub fn ctx(mut self, name: &'static str, v: impl Into<Value<'static>>) -> Self {
        self.context.push(name, v);
        self
    }

    /// The value of a location or context field, for grouping.
    pub fn field(&self, name: &str) -> Option<&Value<'static>> {
        self.location.get(name).or_else(|| self.context.get(name))
    }
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("type", "finding")?;
        m.serialize_entry("kind", self.kind.id)?;
        m.serialize_entry("severity", self.severity.name())?;
        m.serialize_entry("message", &self.message)?;
        m.serialize_entry("location", &self.location)?;
        m.serialize_entry("context", &self.context)?;
        m.end()
    }
}

/// Where checks put their findings.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn new() -> Self {
        Report::default()
    }

    /// Records a finding.
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Moves another report's findings into this one (per-thread reports merged at the end).
    pub fn merge(&mut self, other: Report) {
        self.findings.extend(other.findings);
    }

    /// Number of findings of a severity.
    pub fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// Findings per kind id.
    pub fn kinds(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.kind.id).or_insert(0) += 1;
        }
        m
    }

    /// The summary object that closes `check --json`.
    pub fn summary(&self) -> Record<'static> {
        let mut kinds = Record::new();
        for (k, n) in self.kinds() {
            // Kind ids are 'static; the record holds them as field names.
            kinds.push(k, n as u64);
        }
        let mut r = Record::new();
        r.push("type", "summary")
            .push("errors", self.count(Severity::Error) as u64)
            .push("warnings", self.count(Severity::Warning) as u64)
            .push("infos", self.count(Severity::Info) as u64)
            .push("kinds", kinds);
        r
    }
}

/// Declares finding kinds as statics, and `ALL`, the list of them:
///
/// ```ignore
/// crate::declare_kinds! {
///     TRANSID_MISMATCH = "btrfs.transid_mismatch", Error, "parent transid verify failed";
/// }
/// ```
#[macro_export]
macro_rules! declare_kinds {
    ($($name:ident = $id:literal, $sev:ident, $meaning:literal;)*) => {
        $(
            #[doc = $meaning]
            pub static $name: $crate::findings::Kind = $crate::findings::Kind {
                id: $id,
                severity: $crate::findings::Severity::$sev,
                meaning: $meaning,
            };
        )*
        /// Every kind declared here.
        pub static ALL: &[&$crate::findings::Kind] = &[$(&$name),*];
    };
}
