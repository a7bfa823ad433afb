//! DIR_ITEM, DIR_INDEX and XATTR_ITEM: one or more `btrfs_dir_item` entries, each followed by
//! its name and (xattrs) its value.

use super::{bytes_at, c_str, key_value, packed, push_entries, view_at, DecodeError};
use crate::btrfs::names::{dir_type_name, KeyText};
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::items::NAME_LEN;
use ondisk_layouts::btrfs::DirItem;
use super::put::{Out, Put};
use std::io::{self};

/// One entry: the fixed part, then name and data when they fit.
struct Entry<'d> {
    head: &'d DirItem,
    /// Name and data, or why they could not be had (the fixed part is still printed).
    body: Result<(&'d [u8], &'d [u8]), DecodeError>,
}

pub(super) struct Entries<'d>(pub &'d [u8]);

/// The entries of a DIR_ITEM, DIR_INDEX or XATTR_ITEM that decode whole: fixed part, name, value.
/// Ends at the first that does not fit (the dump shows that one as an error).
pub(crate) fn dir_entries(data: &[u8]) -> impl Iterator<Item = (&DirItem, &[u8], &[u8])> {
    dir_entries_checked(data).map_while(Result::ok)
}

/// [`dir_entries`], with the first entry that does not fit as an error (the last item).
pub(crate) fn dir_entries_checked(data: &[u8]) -> impl Iterator<Item = Result<(&DirItem, &[u8], &[u8]), DecodeError>> {
    Entries(data).entries().map(|e| {
        let e = e?;
        let (name, value) = e.body?;
        Ok((e.head, name, value))
    })
}

impl<'d> Entries<'d> {
    fn entries(&self) -> impl Iterator<Item = Result<Entry<'d>, DecodeError>> + 'd {
        packed(self.0, |data, at| {
            let head: &DirItem = view_at(data, at, "btrfs_dir_item")?;
            let (nl, dl) = (usize::from(head.name_len.get()), usize::from(head.data_len.get()));
            let body = bytes_at(data, at + 30, nl, "dir item name")
                .and_then(|name| Ok((name, bytes_at(data, at + 30 + nl, dl, "dir item data")?)));
            // A name or value that does not fit still shows the fixed part, then ends the walk.
            let next = body.is_ok().then_some(30 + nl + dl);
            Ok((Entry { head, body }, next))
        })
    }

    /// `print_dir_item`
    pub(super) fn text(&self, o: &mut Out<'_>, hide_names: bool) -> io::Result<()> {
        for e in self.entries() {
            let e = match e {
                Ok(e) => e,
                Err(err) => {
                    err.print(o)?;
                    continue;
                }
            };
            let h = e.head;
            let t = h.type_;
            o.s("\t\tlocation ");
            KeyText(&h.location).put(o);
            o.s(" type ");
            match dir_type_name(t) {
                Some(n) => o.b(n.as_bytes()),
                None => {
                    o.s("DIR_ITEM.").u(u64::from(t));
                }
            }
            o.s("\n\t\ttransid ").u(h.transid.get()).s(" data_len ").u(u64::from(h.data_len.get()));
            o.s(" name_len ").u(u64::from(h.name_len.get())).s("\n");
            match e.body {
                Ok((name, data)) => {
                    o.s("\t\tname: ");
                    o.b(if hide_names { b"HIDDEN" } else { c_str(name, NAME_LEN) });
                    o.s("\n");
                    if !data.is_empty() {
                        // progs writes the raw value bytes, binary or not.
                        o.s("\t\tdata ");
                        o.b(if hide_names { b"HIDDEN" } else { c_str(data, NAME_LEN) });
                        o.s("\n");
                    }
                }
                Err(err) => err.print(o)?,
            }
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        push_entries(r, "entries", self.entries(), |e| {
            let h = e.head;
            let mut x = Record::with_capacity(8);
            x.push("location", key_value(&h.location)).push("type", h.type_);
            if let Some(n) = dir_type_name(h.type_) {
                x.push("type_text", n);
            }
            x.push("transid", h.transid.get()).push("data_len", h.data_len.get()).push("name_len", h.name_len.get());
            match e.body {
                Ok((name, data)) => {
                    x.push("name", Value::Name(name.into()));
                    if !data.is_empty() {
                        x.push("data", Value::Name(data.into()));
                    }
                }
                Err(err) => {
                    x.push("error", err.to_string());
                }
            }
            x
        });
    }
}
