//! `ondisk detect`: the filesystem on each path, and for a set, which members are there.

use super::output::{finish, Out};
use super::{Common, EXIT_OK, EXIT_OPERATIONAL};
use crate::detect::{detect, Detected, FsKind};
use crate::image::{open_member, OpenOptions};
use crate::record::Record;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

pub fn run(c: &Common, opts: OpenOptions) -> crate::Result<i32> {
    let mut out = Out::new();
    let mut found: Vec<(PathBuf, Detected)> = Vec::new();
    let mut failed = false;
    for path in &c.paths {
        let member = match open_member(path, opts) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("ondisk: {e}");
                failed = true;
                continue;
            }
        };
        match detect(&member) {
            Some(d) => found.push((path.clone(), d)),
            None => {
                eprintln!("ondisk: {}", crate::Error::NotAFilesystem(path.clone()));
                failed = true;
            }
        }
    }
    finish(print(&mut out, c.json, &found).and_then(|_| out.flush()))?;
    Ok(if failed { EXIT_OPERATIONAL } else { EXIT_OK })
}

fn print(out: &mut Out, json: bool, found: &[(PathBuf, Detected)]) -> std::io::Result<()> {
    for (path, d) in found {
        if json {
            out.json(&d.to_record(path))?;
        } else {
            let w = out.w();
            write!(w, "{}: {} uuid {}", path.display(), d.kind.name(), d.uuid_text)?;
            if let Some(v) = &d.version {
                write!(w, " version {v}")?;
            }
            write!(w, " label \"{}\" member {} of {}", d.label.escape_ascii(), d.member_id, d.members)?;
            for (k, v) in &d.details.fields {
                write!(w, " {k} {}", serde_json::to_string(v).unwrap_or_default())?;
            }
            writeln!(w)?;
        }
    }
    // Sets: group by filesystem and uuid, say which members are present and which are missing.
    type SetKey = (FsKind, [u8; 16]);
    let mut sets: BTreeMap<SetKey, Vec<(&PathBuf, &Detected)>> = BTreeMap::new();
    for (p, d) in found {
        sets.entry((d.kind, d.uuid)).or_default().push((p, d));
    }
    for ((kind, _), members) in sets {
        let first = members[0].1;
        let present: Vec<u64> = members.iter().map(|(_, d)| d.member_id).collect();
        let missing = missing_members(kind, first.members, &present);
        if json {
            let mut r = Record::new();
            r.push("type", "set")
                .push("fs", kind.name())
                .push("uuid", first.uuid_text.clone())
                .push("members", first.members)
                .push("present", present.iter().map(|&m| m.into()).collect::<Vec<_>>())
                .push("missing", missing.iter().map(|&m| m.into()).collect::<Vec<_>>());
            out.json(&r)?;
        } else {
            let list = |v: &[u64]| v.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ");
            writeln!(
                out.w(),
                "set {} {}: {} of {} members present ({}); missing: {}",
                kind.name(),
                first.uuid_text,
                present.len(),
                first.members,
                list(&present),
                if missing.is_empty() { "none".to_string() } else { list(&missing) },
            )?;
        }
    }
    Ok(())
}

/// Member ids of a set that are not present. btrfs devids start at 1, bcachefs device indexes
/// and HAMMER volume numbers at 0. btrfs devids need not be dense (after a device removal), so
/// only a count is certain there: the ids listed are the lowest ones not seen.
fn missing_members(kind: FsKind, total: u64, present: &[u64]) -> Vec<u64> {
    let first = if kind == FsKind::Btrfs { 1 } else { 0 };
    let need = (total as usize).saturating_sub(present.len());
    (first..)
        .filter(|id| !present.contains(id))
        .take(need.min(256))
        .collect()
}
