//! The btrfs side of `super`, `dump` and `map`.

use super::dump::Dumper;
use super::fs::Filesystem;
use super::names::parse_tree;
use super::{super_print, superblock};
use crate::cli::output::{finish, Out};
use crate::cli::{DumpArgs, SuperArgs, EXIT_ERRORS, EXIT_OK};
use crate::image::{DeviceSet, Member};
use crate::{Error, Result};
use std::io::Write;

/// `ondisk super`: per device, the superblock copy in use printed like `dump-super -f`; with
/// `--all` every copy, each verified, and which one is used and why.
pub fn super_(set: &DeviceSet, a: &SuperArgs, out: &mut Out) -> Result<i32> {
    let mut bad = false;
    let mut res = Ok(());
    // (generation, device, mirror) of the newest valid copy over all devices: what a mount uses.
    let mut newest: Option<(u64, String, usize)> = None;
    for m in &set.members {
        let path = m.path().display().to_string();
        let copies = match m {
            Member::Raw(dev) => superblock::read_copies(dev),
            Member::Metadump(md) => superblock::read_metadump_copy(md).into_iter().collect(),
        };
        let choice = superblock::choose(&copies);
        // With no valid copy, show the primary as it is (that is what needs looking at).
        let used = choice.index.or(if copies.is_empty() { None } else { Some(0) });
        if choice.index.is_none() {
            bad = true;
            eprintln!("ondisk: {path}: {}", choice.reason);
        }
        let shown: Vec<usize> = if a.all { (0..copies.len()).collect() } else { used.into_iter().collect() };
        if let Some(i) = choice.index {
            let g = copies[i].sb().generation.get();
            if newest.as_ref().is_none_or(|(ng, _, _)| g > *ng) {
                newest = Some((g, path.clone(), copies[i].mirror));
            }
        }
        if copies.is_empty() {
            eprintln!("ondisk: {path}: no superblock copy fits on the device");
            bad = true;
        }
        for i in shown {
            let c = &copies[i];
            bad |= !c.is_valid();
            res = res.and_then(|()| {
                if a.common.json {
                    let mut r = super_print::record(&path, c, Some(i) == used);
                    if Some(i) == used {
                        r.push("choice", choice.reason.clone());
                    }
                    out.json(&r)
                } else {
                    super_print::print_text(out.w(), &mut std::io::stderr(), &path, c)
                }
            });
        }
        if !a.common.json {
            if a.all {
                res = res.and_then(|()| writeln!(out.w(), "superblock in use on {path}: {}", choice.reason));
            } else if choice.index.is_some_and(|i| copies[i].mirror != 0 || copies.iter().any(|c| !c.is_valid())) {
                // Something is off among the copies: say which one is shown and why, out of band
                // so that stdout still reads like dump-super.
                eprintln!("ondisk: {path}: {}", choice.reason);
            }
        }
    }
    if a.all && !a.common.json && set.members.len() > 1 {
        if let Some((g, path, mirror)) = &newest {
            res = res.and_then(|()| {
                writeln!(
                    out.w(),
                    "superblock in use for the filesystem: {path} mirror {mirror} (generation {g}, the newest valid copy over {} devices)",
                    set.members.len()
                )
            });
        }
    }
    finish(res)?;
    Ok(if bad { EXIT_ERRORS } else { EXIT_OK })
}

/// `ondisk dump`: every tree, one tree, one block (and below), from the superblock's roots, a
/// given root block or a backup root.
pub fn dump(set: &DeviceSet, a: &DumpArgs, out: &mut Out) -> Result<i32> {
    let mut fs = Filesystem::open(set)?;
    for p in &fs.problems {
        eprintln!("ondisk: warning: {p}");
    }
    if let Some(b) = a.backup.and_then(|n| fs.sb.sb().super_roots.get(n).copied()) {
        // A backup's trees may lie in chunks the current chunk tree no longer has.
        if b.chunk_root.get() != fs.sb.sb().chunk_root.get() {
            let (added, problems) = fs.add_older_chunk_tree(b.chunk_root.get(), b.chunk_root_level);
            for p in problems {
                eprintln!("ondisk: warning: backup chunk tree: {p}");
            }
            if added > 0 {
                eprintln!("ondisk: {added} chunks added from the backup's chunk tree at {}", b.chunk_root.get());
            }
        }
    }
    let root_override = match (a.root, a.backup) {
        (Some(r), _) => Some((r, None)),
        (None, Some(n)) => {
            let b = fs.sb.sb().super_roots.get(n).ok_or_else(|| Error::Usage(format!("--backup {n}: there are 4 backup roots (0-3)")))?;
            Some((b.tree_root.get(), Some(b.tree_root_level)))
        }
        (None, None) => None,
    };
    let text = super::items::TextOpts { csum_items: a.csum_items, hide_names: a.hide_names };
    let mut d = Dumper { fs: &fs, out, json: a.common.json, errors: 0, text };
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

/// `ondisk map`: every copy of a logical address.
pub fn map(set: &DeviceSet, addr: u64, json: bool, out: &mut Out) -> Result<i32> {
    let fs = Filesystem::open(set)?;
    super::map::run(&fs, addr, json, out)
}
