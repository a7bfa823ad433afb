//! CHUNK_ITEM (also embedded in the superblock's sys_chunk_array), DEV_ITEM, DEV_EXTENT and
//! BLOCK_GROUP_ITEM: the allocation map.

use super::{uuid_value, view, DecodeError};
use crate::btrfs::names::{FlagsText, UuidText};
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::*;
use super::put::Out;
use std::io::{self, Write};
use zerocopy::FromBytes;

/// `btrfs_chunk_item_size`: a chunk with `num_stripes` stripes.
pub fn chunk_item_size(num_stripes: u16) -> usize {
    core::mem::size_of::<Chunk>() + usize::from(num_stripes) * core::mem::size_of::<Stripe>()
}

/// A chunk and its stripes; `stripes` is empty when the item is too short for `num_stripes`.
pub(super) struct ChunkView<'d> {
    chunk: &'d Chunk,
    stripes: &'d [Stripe],
}

pub(super) fn parse(data: &[u8]) -> Result<ChunkView<'_>, DecodeError> {
    let chunk: &Chunk = view(data, "btrfs_chunk")?;
    let n = chunk.num_stripes.get();
    let stripes = data
        .get(48..chunk_item_size(n))
        .and_then(|s| <[Stripe]>::ref_from_bytes(s).ok())
        .unwrap_or(&[]);
    Ok(ChunkView { chunk, stripes })
}

impl<'d> ChunkView<'d> {
    fn complete(&self) -> bool {
        self.stripes.len() == usize::from(self.chunk.num_stripes.get())
    }

    /// `print_chunk_item`
    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        let c = self.chunk;
        let n = c.num_stripes.get();
        if n < 1 {
            return writeln!(o, "invalid num_stripes: {n}");
        }
        if !self.complete() {
            return writeln!(o, "\t\tchunk item invalid");
        }
        writeln!(
            o,
            "\t\tlength {} owner {} stripe_len {} type {}",
            c.length.get(),
            c.owner.get(),
            c.stripe_len.get(),
            FlagsText::BlockGroup(c.type_.get())
        )?;
        writeln!(o, "\t\tio_align {} io_width {} sector_size {}", c.io_align.get(), c.io_width.get(), c.sector_size.get())?;
        writeln!(o, "\t\tnum_stripes {n} sub_stripes {}", c.sub_stripes.get())?;
        for (i, s) in self.stripes.iter().enumerate() {
            writeln!(o, "\t\t\tstripe {i} devid {} offset {}", s.devid.get(), s.offset.get())?;
            writeln!(o, "\t\t\tdev_uuid {}", UuidText(&s.dev_uuid))?;
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        let c = self.chunk;
        let t = c.type_.get();
        r.push("length", c.length.get())
            .push("owner", c.owner.get())
            .push("stripe_len", c.stripe_len.get())
            .push("chunk_type", t)
            .push("chunk_type_text", FlagsText::BlockGroup(t).to_string())
            .push("io_align", c.io_align.get())
            .push("io_width", c.io_width.get())
            .push("sector_size", c.sector_size.get())
            .push("num_stripes", c.num_stripes.get())
            .push("sub_stripes", c.sub_stripes.get());
        if !self.complete() {
            let need = chunk_item_size(c.num_stripes.get());
            r.push("error", DecodeError::Short { what: "btrfs_chunk stripes", need, have: 48 + self.stripes.len() * 32 }.to_string());
        }
        let list: Vec<Value> = self
            .stripes
            .iter()
            .map(|s| {
                let mut x = Record::with_capacity(3);
                x.push("devid", s.devid.get()).push("offset", s.offset.get()).push("dev_uuid", uuid_value(&s.dev_uuid));
                Value::Record(x)
            })
            .collect();
        r.push("stripes", list);
    }
}

/// Prints a chunk the way dump-tree prints a CHUNK_ITEM body (and dump-super the chunks of the
/// sys_chunk_array): `data` starts at the `btrfs_chunk`; it may extend past the chunk.
/// Returns the chunk's size (`btrfs_chunk_item_size(num_stripes)`), or `None` when `data` is
/// too short for the fixed part (an `ERROR:` line is printed then).
pub fn print_chunk(w: &mut dyn Write, data: &[u8]) -> io::Result<Option<usize>> {
    let mut o = Out::new(w);
    let r = match parse(data) {
        Ok(c) => {
            c.text(&mut o)?;
            Some(chunk_item_size(c.chunk.num_stripes.get()))
        }
        Err(e) => {
            e.print(&mut o)?;
            None
        }
    };
    o.finish()?;
    Ok(r)
}

/// The JSON fields of a chunk (as in a CHUNK_ITEM's item object), for the superblock printer.
pub fn chunk_fields<'d>(r: &mut Record<'d>, data: &'d [u8]) {
    match parse(data) {
        Ok(c) => c.fields(r),
        Err(e) => {
            r.push("error", e.to_string());
        }
    }
}

/// `print_dev_item`
pub(super) fn dev_item_text(o: &mut Out<'_>, d: &DevItem) -> io::Result<()> {
    write!(
        o,
        "\t\tdevid {} total_bytes {} bytes_used {}\n\t\tio_align {} io_width {} sector_size {} type {}\n\t\tgeneration {} start_offset {} dev_group {}\n\t\tseek_speed {} bandwidth {}\n\t\tuuid {}\n\t\tfsid {}\n",
        d.devid.get(),
        d.total_bytes.get(),
        d.bytes_used.get(),
        d.io_align.get(),
        d.io_width.get(),
        d.sector_size.get(),
        d.type_.get(),
        d.generation.get(),
        d.start_offset.get(),
        d.dev_group.get(),
        d.seek_speed,
        d.bandwidth,
        UuidText(&d.uuid),
        UuidText(&d.fsid)
    )
}

pub(super) fn dev_item_fields(r: &mut Record<'_>, d: &DevItem) {
    r.push("devid", d.devid.get())
        .push("total_bytes", d.total_bytes.get())
        .push("bytes_used", d.bytes_used.get())
        .push("io_align", d.io_align.get())
        .push("io_width", d.io_width.get())
        .push("sector_size", d.sector_size.get())
        .push("dev_type", d.type_.get())
        .push("generation", d.generation.get())
        .push("start_offset", d.start_offset.get())
        .push("dev_group", d.dev_group.get())
        .push("seek_speed", d.seek_speed)
        .push("bandwidth", d.bandwidth)
        .push("uuid", uuid_value(&d.uuid))
        .push("fsid", uuid_value(&d.fsid));
}

/// `print_dev_extent`
pub(super) fn dev_extent_text(o: &mut Out<'_>, d: &DevExtent) -> io::Result<()> {
    write!(
        o,
        "\t\tdev extent chunk_tree {}\n\t\tchunk_objectid {} chunk_offset {} length {}\n\t\tchunk_tree_uuid {}\n",
        d.chunk_tree.get(),
        d.chunk_objectid.get(),
        d.chunk_offset.get(),
        d.length.get(),
        UuidText(&d.chunk_tree_uuid)
    )
}

pub(super) fn dev_extent_fields(r: &mut Record<'_>, d: &DevExtent) {
    r.push("chunk_tree", d.chunk_tree.get())
        .push("chunk_objectid", d.chunk_objectid.get())
        .push("chunk_offset", d.chunk_offset.get())
        .push("length", d.length.get())
        .push("chunk_tree_uuid", uuid_value(&d.chunk_tree_uuid));
}

/// `print_block_group_item`
pub(super) fn block_group_text(o: &mut Out<'_>, b: &BlockGroupItem) -> io::Result<()> {
    writeln!(
        o,
        "\t\tblock group used {} chunk_objectid {} flags {}",
        b.used.get(),
        b.chunk_objectid.get(),
        FlagsText::BlockGroup(b.flags.get())
    )
}

pub(super) fn block_group_fields(r: &mut Record<'_>, b: &BlockGroupItem) {
    let flags = b.flags.get();
    r.push("used", b.used.get())
        .push("chunk_objectid", b.chunk_objectid.get())
        .push("flags", flags)
        .push("flags_text", FlagsText::BlockGroup(flags).to_string());
}
