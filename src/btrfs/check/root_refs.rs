//! Root refs family (btrfs check's "checking root refs"): every subvolume is named in its parent
//! exactly as the root tree says. A ROOT_REF (parent → child) needs its mirror ROOT_BACKREF
//! (child → parent) with the same directory, sequence and name, a DIR_ITEM and a DIR_INDEX in the
//! parent's tree that name the child's ROOT_ITEM, and the child's ROOT_ITEM itself; and a live
//! subvolume needs a backref, or nothing can reach it.
//!
//! Only that direction is checked: a snapshot of a subvolume that contains another one keeps the
//! nested subvolume's directory entry without a ROOT_REF (it shows as an empty directory), which
//! is how the kernel makes snapshots, not damage.

use super::walker::{is_subvolume, Cx, Family, Revisit, TreeRoot};
use super::key_value;
use crate::btrfs::fs::Block;
use crate::findings::{Finding, Report};
use crate::record::Value;
use crate::btrfs::items::{dir_entries, root_item};
use ondisk_layouts::btrfs::items::RootRef;
use ondisk_layouts::btrfs::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use zerocopy::FromBytes;

crate::declare_kinds! {
    ROOT_REF_MISMATCH = "btrfs.root_ref_mismatch", Error,
        "a ROOT_REF has no ROOT_BACKREF with the same directory, sequence and name, or the other way round";
    ROOT_REF_NO_DIR_ENTRY = "btrfs.root_ref_no_dir_entry", Error,
        "a ROOT_REF's parent tree has no DIR_ITEM or DIR_INDEX naming the child subvolume";
    ROOT_REF_DANGLING = "btrfs.root_ref_dangling", Error,
        "a ROOT_REF or ROOT_BACKREF names a subvolume that has no ROOT_ITEM";
    ROOT_UNREFERENCED = "btrfs.root_unreferenced", Error,
        "a live subvolume (refs > 0) has no ROOT_BACKREF: no directory leads to it";
}

/// (parent, child, dirid, sequence, name) — one side of a subvolume link.
type Link = (u64, u64, u64, u64, Vec<u8>);

/// The root refs family.
#[derive(Default)]
pub struct RootRefs {
    refs: BTreeSet<Link>,
    backrefs: BTreeSet<Link>,
    /// Root item objectids, with their refs.
    roots: BTreeMap<u64, u32>,
    /// Subvolume trees walked (their directory entries are known).
    walked: HashSet<u64>,
    /// (tree, dirid, name, child) of DIR_ITEMs and (tree, dirid, index, child) of DIR_INDEXes
    /// that name a ROOT_ITEM.
    dir_items: HashSet<(u64, u64, Vec<u8>, u64)>,
    dir_indexes: HashSet<(u64, u64, u64, u64)>,
    /// Subvolume leaves with entries naming a ROOT_ITEM: of a leaf a snapshot shares, only
    /// these are read again.
    leaves_naming_roots: HashSet<u64>,
}

impl RootRefs {
    pub fn new() -> Self {
        Self::default()
    }

    fn link(&mut self, key: &DiskKey, data: &[u8]) {
        let Ok((r, rest)) = RootRef::ref_from_prefix(data) else { return };
        let Some(name) = rest.get(..usize::from(r.name_len.get())) else { return };
        let (a, b) = (key.objectid.get(), key.offset.get());
        let (parent, child, set) = if key.type_ == ROOT_REF_KEY { (a, b, &mut self.refs) } else { (b, a, &mut self.backrefs) };
        set.insert((parent, child, r.dirid.get(), r.sequence.get(), name.to_vec()));
    }

    fn dir_entries(&mut self, tree: u64, leaf: u64, key: &DiskKey, data: &[u8]) {
        for (d, name, _) in dir_entries(data) {
            if d.location.type_ != ROOT_ITEM_KEY {
                continue;
            }
            self.leaves_naming_roots.insert(leaf);
            let child = d.location.objectid.get();
            if key.type_ == DIR_ITEM_KEY {
                self.dir_items.insert((tree, key.objectid.get(), name.to_vec(), child));
            } else {
                self.dir_indexes.insert((tree, key.objectid.get(), key.offset.get(), child));
            }
        }
    }
}

fn finding(kind: &'static crate::findings::Kind, l: &Link, msg: String) -> Finding {
    let (parent, child, dirid, sequence, name) = l;
    Finding::new(kind, msg)
        .at("tree", *parent)
        .at("key", key_value(*parent, ROOT_REF_KEY, *child))
        .ctx("child", *child)
        .ctx("dirid", *dirid)
        .ctx("sequence", *sequence)
        .ctx("name", Value::Name(name.clone().into()))
}

impl Family for RootRefs {
    fn revisits(&self) -> Revisit {
        Revisit::Items
    }

    fn begin_tree(&mut self, _cx: &Cx, root: &TreeRoot) {
        if is_subvolume(root.tree) {
            self.walked.insert(root.tree);
        }
    }

    fn revisit(&mut self, _cx: &Cx, root: &TreeRoot, b: &Block, from: usize) {
        if !self.leaves_naming_roots.contains(&b.bytenr) {
            return;
        }
        for item in b.node.items().iter().skip(from) {
            if matches!(item.key.type_, DIR_ITEM_KEY | DIR_INDEX_KEY) {
                if let Ok(data) = b.node.item_data(item) {
                    self.dir_entries(root.tree, b.bytenr, &item.key, data);
                }
            }
        }
    }

    fn item(&mut self, _cx: &Cx, root: &TreeRoot, b: &Block, _slot: usize, key: &DiskKey, data: &[u8], _first_visit: bool) {
        if root.tree == ROOT_TREE_OBJECTID {
            match key.type_ {
                ROOT_REF_KEY | ROOT_BACKREF_KEY => self.link(key, data),
                ROOT_ITEM_KEY => {
                    let refs = root_item(data).map_or(0, |r| r.refs.get());
                    self.roots.insert(key.objectid.get(), refs);
                }
                _ => {}
            }
        } else if is_subvolume(root.tree) && matches!(key.type_, DIR_ITEM_KEY | DIR_INDEX_KEY) {
            self.dir_entries(root.tree, b.bytenr, key, data);
        }
    }

    fn finish(&mut self, _cx: &Cx, report: &mut Report) {
        for l in self.refs.difference(&self.backrefs) {
            report.push(finding(&ROOT_REF_MISMATCH, l, format!("ROOT_REF {} -> {} has no matching ROOT_BACKREF", l.0, l.1)));
        }
        for l in self.backrefs.difference(&self.refs) {
            report.push(finding(&ROOT_REF_MISMATCH, l, format!("ROOT_BACKREF {} -> {} has no matching ROOT_REF", l.1, l.0)));
        }
        for l in self.refs.union(&self.backrefs) {
            let (parent, child) = (l.0, l.1);
            if !self.roots.contains_key(&child) || !self.roots.contains_key(&parent) {
                let missing = if self.roots.contains_key(&child) { parent } else { child };
                report.push(finding(&ROOT_REF_DANGLING, l, format!("link {parent} -> {child} names subvolume {missing}, which has no ROOT_ITEM")));
            }
        }
        for l in &self.refs {
            let (parent, child, dirid, sequence, name) = l;
            if !self.walked.contains(parent) {
                continue;
            }
            let item = self.dir_items.contains(&(*parent, *dirid, name.clone(), *child));
            let index = self.dir_indexes.contains(&(*parent, *dirid, *sequence, *child));
            if !item || !index {
                let what = match (item, index) {
                    (false, false) => "DIR_ITEM and DIR_INDEX",
                    (false, true) => "DIR_ITEM",
                    _ => "DIR_INDEX",
                };
                report.push(finding(&ROOT_REF_NO_DIR_ENTRY, l, format!(
                    "subvolume {child} is named {:?} in directory {dirid} of tree {parent}, which has no {what} for it",
                    String::from_utf8_lossy(name)
                )));
            }
        }
        let reached: HashSet<u64> = self.backrefs.iter().map(|l| l.1).collect();
        for (&root, &refs) in &self.roots {
            if (FIRST_FREE_OBJECTID..=LAST_FREE_OBJECTID).contains(&root) && refs > 0 && !reached.contains(&root) {
                report.push(
                    Finding::new(&ROOT_UNREFERENCED, format!("subvolume {root} has refs {refs} but no ROOT_BACKREF: no directory leads to it"))
                        .at("tree", root)
                        .ctx("refs", refs),
                );
            }
        }
    }
}
