//! EXTENT_DATA: inline, regular and preallocated file extents.

use super::{view, DecodeError};
use crate::btrfs::names::{compression_name, file_extent_type_name};
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::items::{FILE_EXTENT_INLINE, FILE_EXTENT_INLINE_DATA_START, FILE_EXTENT_PREALLOC};
use ondisk_layouts::btrfs::FileExtentItem;
use std::io::{self, Write};

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
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[o..o + 8]);
            u64::from_le_bytes(b)
        };
        return Ok(FileExtent::Inline {
            generation: u64_at(0),
            ram_bytes: u64_at(8),
            compression: head[16],
            encryption: head[17],
            other_encoding: u16::from_le_bytes([head[18], head[19]]),
            data: &data[FILE_EXTENT_INLINE_DATA_START..],
        });
    }
    Ok(FileExtent::Extent(view(data, "btrfs_file_extent_item")?))
}

fn write_compression(w: &mut dyn Write, c: u8) -> io::Result<()> {
    match compression_name(c) {
        Some(n) => write!(w, "{c} ({n})"),
        None => write!(w, "{c} (UNKNOWN.{c})"),
    }
}

impl<'d> FileExtent<'d> {
    /// `print_file_extent_item`
    pub(super) fn text(&self, w: &mut dyn Write) -> io::Result<()> {
        match self {
            FileExtent::Inline { generation, ram_bytes, compression, data, .. } => {
                writeln!(w, "\t\tgeneration {generation} type 0 (inline)")?;
                write!(w, "\t\tinline extent data size {} ram_bytes {ram_bytes} compression ", data.len())?;
                write_compression(w, *compression)?;
                w.write_all(b"\n")
            }
            FileExtent::Extent(f) => {
                let t = f.type_;
                writeln!(w, "\t\tgeneration {} type {t} ({})", f.generation.get(), file_extent_type_name(t))?;
                if t == FILE_EXTENT_PREALLOC {
                    writeln!(w, "\t\tprealloc data disk byte {} nr {}", f.disk_bytenr.get(), f.disk_num_bytes.get())?;
                    return writeln!(w, "\t\tprealloc data offset {} nr {}", f.offset.get(), f.num_bytes.get());
                }
                writeln!(w, "\t\textent data disk byte {} nr {}", f.disk_bytenr.get(), f.disk_num_bytes.get())?;
                writeln!(w, "\t\textent data offset {} nr {} ram {}", f.offset.get(), f.num_bytes.get(), f.ram_bytes.get())?;
                w.write_all(b"\t\textent compression ")?;
                write_compression(w, f.compression)?;
                w.write_all(b"\n")
            }
        }
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
                r.push("generation", *generation).push("type", FILE_EXTENT_INLINE).push("type_text", "inline");
                r.push("inline_size", data.len() as u64).push("ram_bytes", *ram_bytes);
                comp(r, *compression);
                r.push("encryption", *encryption).push("other_encoding", *other_encoding);
                r.push("data", Value::Bytes((*data).into()));
            }
            FileExtent::Extent(f) => {
                r.push("generation", f.generation.get())
                    .push("type", f.type_)
                    .push("type_text", file_extent_type_name(f.type_))
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
