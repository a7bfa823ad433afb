//! `ondisk kinds`: every finding kind with its meaning.

use super::output::{finish, Out};
use super::{KindsArgs, EXIT_OK};
use crate::findings::Kind;
use crate::record::Record;
use std::io::Write;

/// Every kind of every filesystem, in id order.
pub fn all_kinds() -> Vec<&'static Kind> {
    let mut v: Vec<&'static Kind> =
        crate::btrfs::kinds().into_iter().chain(crate::hammer::KINDS.iter().copied()).collect();
    v.sort_by_key(|k| k.id);
    v
}

pub fn run(a: &KindsArgs) -> crate::Result<i32> {
    let mut out = Out::new();
    let r = (|| {
        for k in all_kinds() {
            if a.json {
                let mut r = Record::new();
                r.push("type", "kind").push("kind", k.id).push("severity", k.severity.name()).push("meaning", k.meaning);
                out.json(&r)?;
            } else {
                writeln!(out.w(), "{:<40} {:<8} {}", k.id, k.severity.name(), k.meaning)?;
            }
        }
        out.flush()
    })();
    finish(r)?;
    Ok(EXIT_OK)
}
