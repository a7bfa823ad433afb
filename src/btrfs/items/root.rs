//! ROOT_ITEM, ROOT_REF and ROOT_BACKREF.

use super::{c_str, key_value, push_time, uuid_value, view, DecodeError, TimeText};
use crate::btrfs::names::{FlagsText, KeyText, UuidText};
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::items::LEGACY_ROOT_ITEM_SIZE;
use ondisk_layouts::btrfs::*;
use super::put::Out;
use std::io::{self, Write};
use zerocopy::FromBytes;

/// A root item, copied into a zeroed full-size structure the way progs reads it (items written
/// by old kernels are shorter).
pub(super) struct Root(RootItem);

pub(super) fn parse(data: &[u8]) -> Result<Root, DecodeError> {
    if data.len() < LEGACY_ROOT_ITEM_SIZE {
        return Err(DecodeError::Short { what: "btrfs_root_item", need: LEGACY_ROOT_ITEM_SIZE, have: data.len() });
    }
    let mut buf = [0u8; core::mem::size_of::<RootItem>()];
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    let item = RootItem::read_from_bytes(&buf).map_err(|_| DecodeError::Short { what: "btrfs_root_item", need: 439, have: n })?;
    Ok(Root(item))
}

/// A ROOT_ITEM as a full-size structure (short legacy items zero-filled), for the code that
/// follows roots: the dump's tree order, the check's walk, the root refs family.
pub(crate) fn root_item(data: &[u8]) -> Option<RootItem> {
    parse(data).ok().map(|r| r.0)
}

impl Root {
    /// Whether the v2 fields (uuids, transids, times) are valid: progs' test.
    fn v2(&self) -> bool {
        self.0.generation.get() == self.0.generation_v2.get()
    }

    /// `print_root_item`
    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        let r = &self.0;
        writeln!(
            o,
            "\t\tgeneration {} root_dirid {} bytenr {} byte_limit {} bytes_used {}",
            r.generation.get(),
            r.root_dirid.get(),
            r.bytenr.get(),
            r.byte_limit.get(),
            r.bytes_used.get()
        )?;
        let flags = r.flags.get();
        writeln!(o, "\t\tlast_snapshot {} flags 0x{flags:x}({}) refs {}", r.last_snapshot.get(), FlagsText::Root(flags), r.refs.get())?;
        writeln!(o, "\t\tdrop_progress {} drop_level {}", KeyText(&r.drop_progress), r.drop_level)?;
        writeln!(o, "\t\tlevel {} generation_v2 {}", r.level, r.generation_v2.get())?;
        if self.v2() {
            writeln!(o, "\t\tuuid {}", UuidText(&r.uuid))?;
            writeln!(o, "\t\tparent_uuid {}", UuidText(&r.parent_uuid))?;
            writeln!(o, "\t\treceived_uuid {}", UuidText(&r.received_uuid))?;
            writeln!(
                o,
                "\t\tctransid {} otransid {} stransid {} rtransid {}",
                r.ctransid.get(),
                r.otransid.get(),
                r.stransid.get(),
                r.rtransid.get()
            )?;
            writeln!(o, "\t\tctime {}", TimeText(&r.ctime))?;
            writeln!(o, "\t\totime {}", TimeText(&r.otime))?;
            writeln!(o, "\t\tstime {}", TimeText(&r.stime))?;
            writeln!(o, "\t\trtime {}", TimeText(&r.rtime))?;
        }
        Ok(())
    }

    pub(super) fn fields(&self, out: &mut Record<'_>) {
        let r = &self.0;
        let flags = r.flags.get();
        out.push("generation", r.generation.get())
            .push("root_dirid", r.root_dirid.get())
            .push("bytenr", r.bytenr.get())
            .push("byte_limit", r.byte_limit.get())
            .push("bytes_used", r.bytes_used.get())
            .push("last_snapshot", r.last_snapshot.get())
            .push("flags", flags)
            .push("flags_text", FlagsText::Root(flags).to_string())
            .push("refs", r.refs.get())
            .push("drop_progress", key_value(&r.drop_progress))
            .push("drop_level", r.drop_level)
            .push("level", r.level)
            .push("generation_v2", r.generation_v2.get());
        if self.v2() {
            out.push("uuid", uuid_value(&r.uuid))
                .push("parent_uuid", uuid_value(&r.parent_uuid))
                .push("received_uuid", uuid_value(&r.received_uuid))
                .push("ctransid", r.ctransid.get())
                .push("otransid", r.otransid.get())
                .push("stransid", r.stransid.get())
                .push("rtransid", r.rtransid.get());
            push_time(out, "ctime", "ctime_nsec", &r.ctime);
            push_time(out, "otime", "otime_nsec", &r.otime);
            push_time(out, "stime", "stime_nsec", &r.stime);
            push_time(out, "rtime", "rtime_nsec", &r.rtime);
        }
    }
}

/// ROOT_REF / ROOT_BACKREF: a subvolume's name in its parent directory.
pub(super) struct RootRefView<'d> {
    backref: bool,
    head: &'d RootRef,
    name: &'d [u8],
}

pub(super) fn parse_ref<'d>(key: &DiskKey, data: &'d [u8]) -> Result<RootRefView<'d>, DecodeError> {
    let head: &RootRef = view(data, "btrfs_root_ref")?;
    let nl = usize::from(head.name_len.get());
    let name = data.get(18..18 + nl).ok_or(DecodeError::Overrun { what: "root ref name", at: 18, need: nl, have: data.len() })?;
    Ok(RootRefView { backref: key.type_ == ROOT_BACKREF_KEY, head, name })
}

impl<'d> RootRefView<'d> {
    /// `print_root_ref`
    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        write!(
            o,
            "\t\troot {} key dirid {} sequence {} name ",
            if self.backref { "backref" } else { "ref" },
            self.head.dirid.get(),
            self.head.sequence.get()
        )?;
        o.write_all(c_str(self.name, usize::MAX))?;
        o.write_all(b"\n")
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        r.push("dirid", self.head.dirid.get())
            .push("sequence", self.head.sequence.get())
            .push("name_len", self.head.name_len.get())
            .push("name", Value::Name(self.name.into()));
    }
}
