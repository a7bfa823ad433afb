//! EXTENT_DATA: inline, regular and preallocated file extents.

use super::{view, DecodeError};
use crate::btrfs::names::{compression_name, file_extent_type_name};
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::items::{FILE_EXTENT_INLINE, FILE_EXTENT_INLINE_DATA_START, FILE_EXTENT_PREALLOC};
use ondisk_layouts::btrfs::FileExtentItem;
use super::put::{Out, Put};
use std::io::{self};

pub(super) enum FileExtent<'d> {
    /// The header up to the type byte, and the inline data after it.
    Inline { generation: u64, ram_bytes: u64, compression: u8, encryption: u8, other_encoding: u16, data: &'d [u8] },
    /// Regular (type 1), preallocated (2) or unknown types, all with the full structure.
    Extent(&'d FileExtentItem),
}

pub(super) fn parse(data: &[u8]) -> Result<FileExtent<'_>, DecodeError> {
    let short = || DecodeError::Short { what: "btrfs_file_extent_item", need: FILE_EXTENT_INLINE_DATA_START, have: data.len() };
    let head = data.get(..FILE_EXTENT_INLINE_DATA_START).ok_or_else(short)?;
    if head[20] == FILE_EXTENT_INLINE {
        let u64_at = |o: usize| crate::le::u64_at(head, o).ok_or_else(short);
        return Ok(FileExtent::Inline {
            generation: u64_at(0)?,
            ram_bytes: u64_at(8)?,
            compression: head[16],
            encryption: head[17],
            other_encoding: crate::le::u16_at(head, 18).ok_or_else(short)?,
            data: &data[FILE_EXTENT_INLINE_DATA_START..],
        });
    }
    Ok(FileExtent::Extent(view(data, "btrfs_file_extent_item")?))
}

fn put_compression(o: &mut Out<'_>, c: u8) {
    o.u(u64::from(c)).s(" (");
    match compression_name(c) {
        Some(n) => o.s(n),
        None => o.s("UNKNOWN.").u(u64::from(c)),
    };
    o.s(")\n");
}

impl<'d> FileExtent<'d> {
    /// `print_file_extent_item`
    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        match self {
            FileExtent::Inline { generation, ram_bytes, compression, data, .. } => {
                o.s("\t\tgeneration ").u(*generation).s(" type 0 (inline)\n");
                o.s("\t\tinline extent data size ").u(data.len() as u64).s(" ram_bytes ").u(*ram_bytes);
                o.s(" compression ");
                put_compression(o, *compression);
            }
            FileExtent::Extent(f) => {
                let t = f.type_;
                o.s("\t\tgeneration ").u(f.generation.get()).s(" type ").u(u64::from(t));
                o.s(" (").s(file_extent_type_name(t)).s(")\n");
                let (disk, nr) = (f.disk_bytenr.get(), f.disk_num_bytes.get());
                if t == FILE_EXTENT_PREALLOC {
                    o.s("\t\tprealloc data disk byte ").u(disk).s(" nr ").u(nr);
                    o.s("\n\t\tprealloc data offset ").u(f.offset.get()).s(" nr ").u(f.num_bytes.get()).s("\n");
                    return Ok(());
                }
                o.s("\t\textent data disk byte ").u(disk).s(" nr ").u(nr);
                o.s("\n\t\textent data offset ").u(f.offset.get()).s(" nr ").u(f.num_bytes.get());
                o.s(" ram ").u(f.ram_bytes.get()).s("\n\t\textent compression ");
                put_compression(o, f.compression);
            }
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        let comp = |r: &mut Record<'d>, c: u8| {
            r.push("compression", c);
            if let Some(n) = compression_name(c) {
                r.push("compression_text", n);
            }
        };
        match self {
            FileExtent::Inline { generation, ram_bytes, compression, encryption, other_encoding, data } => {
                r.push("generation", *generation).push("extent_type", FILE_EXTENT_INLINE).push("extent_type_text", "inline");
                r.push("inline_size", data.len() as u64).push("ram_bytes", *ram_bytes);
                comp(r, *compression);
                r.push("encryption", *encryption).push("other_encoding", *other_encoding);
                r.push("data", Value::Bytes((*data).into()));
            }
            FileExtent::Extent(f) => {
                r.push("generation", f.generation.get())
                    .push("extent_type", f.type_)
                    .push("extent_type_text", file_extent_type_name(f.type_))
                    .push("disk_bytenr", f.disk_bytenr.get())
                    .push("disk_num_bytes", f.disk_num_bytes.get())
                    .push("offset", f.offset.get())
                    .push("num_bytes", f.num_bytes.get())
                    .push("ram_bytes", f.ram_bytes.get());
                comp(r, f.compression);
                r.push("encryption", f.encryption).push("other_encoding", f.other_encoding.get());
            }
        }
    }
}
