//! INODE_ITEM, INODE_REF and INODE_EXTREF.

use super::{bytes_at, c_str, packed, push_entries, push_time, view_at, DecodeError, TimeText};
use crate::btrfs::names::FlagsText;
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::items::NAME_LEN;
use ondisk_layouts::btrfs::{InodeExtref, InodeItem, InodeRef};
use super::put::{Out, Put};
use std::io::{self};

/// `print_inode_item`
pub(super) fn text(o: &mut Out<'_>, i: &InodeItem) -> io::Result<()> {
    let flags = i.flags.get();
    o.s("\t\tgeneration ").u(i.generation.get()).s(" transid ").u(i.transid.get());
    o.s(" size ").u(i.size.get()).s(" nbytes ").u(i.nbytes.get());
    o.s("\n\t\tblock group ").u(i.block_group.get()).s(" mode ").oct(u64::from(i.mode.get()));
    o.s(" links ").u(u64::from(i.nlink.get())).s(" uid ").u(u64::from(i.uid.get()));
    o.s(" gid ").u(u64::from(i.gid.get())).s(" rdev ").u(i.rdev.get());
    o.s("\n\t\tsequence ").u(i.sequence.get()).s(" flags 0x").hex(flags).s("(");
    FlagsText::Inode(flags).put(o);
    o.s(")\n\t\tatime ");
    TimeText(&i.atime).put(o);
    o.s("\n\t\tctime ");
    TimeText(&i.ctime).put(o);
    o.s("\n\t\tmtime ");
    TimeText(&i.mtime).put(o);
    o.s("\n\t\totime ");
    TimeText(&i.otime).put(o);
    o.s("\n");
    Ok(())
}

pub(super) fn fields(r: &mut Record<'_>, i: &InodeItem) {
    let flags = i.flags.get();
    r.push("generation", i.generation.get())
        .push("transid", i.transid.get())
        .push("size", i.size.get())
        .push("nbytes", i.nbytes.get())
        .push("block_group", i.block_group.get())
        .push("mode", i.mode.get())
        .push("links", i.nlink.get())
        .push("uid", i.uid.get())
        .push("gid", i.gid.get())
        .push("rdev", i.rdev.get())
        .push("sequence", i.sequence.get())
        .push("flags", flags)
        .push("flags_text", FlagsText::Inode(flags).to_string());
    push_time(r, "atime", "atime_nsec", &i.atime);
    push_time(r, "ctime", "ctime_nsec", &i.ctime);
    push_time(r, "mtime", "mtime_nsec", &i.mtime);
    push_time(r, "otime", "otime_nsec", &i.otime);
}

/// `name: NAME\n` as progs prints it (`%.*s` of at most BTRFS_NAME_LEN bytes), or `HIDDEN`.
fn put_name(o: &mut Out<'_>, name: &[u8], hide: bool) {
    o.s("name: ");
    if hide {
        o.s("HIDDEN");
    } else {
        o.b(c_str(name, NAME_LEN));
    }
    o.s("\n");
}

/// The entries of an INODE_REF (`ext` false: the parent is the key's offset, so `None`) or an
/// INODE_EXTREF: (parent, index, name), the first that does not fit as an error, then the end.
pub(crate) fn ref_entries(data: &[u8], ext: bool) -> impl Iterator<Item = Result<(Option<u64>, u64, &[u8]), DecodeError>> {
    let refs = (!ext).then(|| Refs(data).entries().map(|e| e.map(|e| (None, e.index, e.name))));
    let extrefs = ext.then(|| Extrefs(data).entries().map(|e| e.map(|e| (Some(e.parent), e.index, e.name))));
    refs.into_iter().flatten().chain(extrefs.into_iter().flatten())
}

/// One `btrfs_inode_ref` with its name.
struct RefEntry<'d> {
    index: u64,
    name_len: u16,
    name: &'d [u8],
}

/// INODE_REF: back references from an inode to the directories naming it (one per name).
pub(super) struct Refs<'d>(pub &'d [u8]);

impl<'d> Refs<'d> {
    /// The entries in order; stops after the first that does not fit.
    fn entries(&self) -> impl Iterator<Item = Result<RefEntry<'d>, DecodeError>> + 'd {
        packed(self.0, |data, at| {
            let h: &InodeRef = view_at(data, at, "btrfs_inode_ref")?;
            let name_len = h.name_len.get();
            let name = bytes_at(data, at + 10, usize::from(name_len), "inode ref name")?;
            Ok((RefEntry { index: h.index.get(), name_len, name }, Some(10 + usize::from(name_len))))
        })
    }

    /// `print_inode_ref_item`
    pub(super) fn text(&self, o: &mut Out<'_>, hide_names: bool) -> io::Result<()> {
        for e in self.entries() {
            match e {
                Ok(e) => {
                    o.s("\t\tindex ").u(e.index).s(" namelen ").u(u64::from(e.name_len)).s(" ");
                    put_name(o, e.name, hide_names);
                }
                Err(err) => err.print(o)?,
            }
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        push_entries(r, "refs", self.entries(), |e| {
            let mut x = Record::with_capacity(3);
            x.push("index", e.index).push("namelen", e.name_len).push("name", Value::Name(e.name.into()));
            x
        });
    }
}

/// One `btrfs_inode_extref` with its name.
struct ExtrefEntry<'d> {
    parent: u64,
    index: u64,
    name_len: u16,
    name: &'d [u8],
}

/// INODE_EXTREF: extended back references (hashed by parent and name).
pub(super) struct Extrefs<'d>(pub &'d [u8]);

impl<'d> Extrefs<'d> {
    fn entries(&self) -> impl Iterator<Item = Result<ExtrefEntry<'d>, DecodeError>> + 'd {
        packed(self.0, |data, at| {
            let h: &InodeExtref = view_at(data, at, "btrfs_inode_extref")?;
            let name_len = h.name_len.get();
            let name = bytes_at(data, at + 18, usize::from(name_len), "inode extref name")?;
            let e = ExtrefEntry { parent: h.parent_objectid.get(), index: h.index.get(), name_len, name };
            Ok((e, Some(18 + usize::from(name_len))))
        })
    }

    /// `print_inode_extref_item`
    pub(super) fn text(&self, o: &mut Out<'_>, hide_names: bool) -> io::Result<()> {
        for e in self.entries() {
            match e {
                Ok(e) => {
                    o.s("\t\tindex ").u(e.index).s(" parent ").u(e.parent);
                    o.s(" namelen ").u(u64::from(e.name_len)).s(" ");
                    put_name(o, e.name, hide_names);
                }
                Err(err) => err.print(o)?,
            }
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        push_entries(r, "refs", self.entries(), |e| {
            let mut x = Record::with_capacity(4);
            x.push("index", e.index).push("parent", e.parent).push("namelen", e.name_len).push("name", Value::Name(e.name.into()));
            x
        });
    }
}
