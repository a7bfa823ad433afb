//! The btrfs side of `super`, `dump` and `map`.

use super::dump::Dumper;
use super::fs::Filesystem;
use super::names::parse_tree;
use crate::cli::output::{finish, Out};
use crate::cli::{DumpArgs, SuperArgs, EXIT_ERRORS, EXIT_OK};
use crate::image::DeviceSet;
use crate::{Error, Result};

pub fn super_(_set: &DeviceSet, _a: &SuperArgs, _out: &mut Out) -> Result<i32> {
    Err(Error::Unsupported("btrfs super: not yet".into()))
}

pub fn dump(set: &DeviceSet, a: &DumpArgs, out: &mut Out) -> Result<i32> {
    let fs = Filesystem::open(set)?;
    for p in &fs.problems {
        eprintln!("ondisk: warning: {p}");
    }
    let root_override = match (a.root, a.backup) {
        (Some(r), _) => Some((r, None)),
        (None, Some(n)) => {
            let b = fs.sb.sb().super_roots.get(n).ok_or_else(|| Error::Usage(format!("--backup {n}: there are 4 backup roots (0-3)")))?;
            Some((b.tree_root.get(), Some(b.tree_root_level)))
        }
        (None, None) => None,
    };
    let mut d = Dumper { fs: &fs, out, json: a.common.json, errors: 0 };
    let r = if let Some(b) = a.block {
        d.dump_block(b, a.follow)
    } else if let Some(t) = &a.tree {
        let id = parse_tree(t).ok_or_else(|| Error::Usage(format!("--tree {t}: unknown tree name")))?;
        d.dump_one(id, root_override)
    } else {
        d.dump_all(root_override)
    };
    let errors = d.errors;
    finish(r)?;
    Ok(if errors > 0 { EXIT_ERRORS } else { EXIT_OK })
}

pub fn map(_set: &DeviceSet, _addr: u64, _json: bool, _out: &mut Out) -> Result<i32> {
    Err(Error::Unsupported("btrfs map: not yet".into()))
}
