//! EXTENT_ITEM and METADATA_ITEM with their inline backrefs, and the keyed backref items.

use super::{key_value, push_entries, view, view_at, DecodeError};
use crate::btrfs::names::{FlagsText, KeyText, ObjectidText};
use crate::record::Record;
use ondisk_layouts::btrfs::items::EXTENT_FLAG_TREE_BLOCK;
use ondisk_layouts::btrfs::*;
use super::put::{Out, Put};
use std::io::{self};

/// An extent item: the fixed part, the tree block key/level, and the inline refs' bytes.
pub(crate) struct Extent<'d> {
    item: &'d ExtentItem,
    /// Non-skinny tree blocks carry the first key and level of the block.
    info: Option<&'d TreeBlockInfo>,
    /// METADATA_ITEM: the level is the key offset.
    skinny_level: Option<u64>,
    /// The inline refs, and their offset inside the item (for error messages).
    refs: &'d [u8],
    refs_at: usize,
    /// A tree block extent too short for its tree block info (the fixed part still prints).
    info_err: Option<DecodeError>,
}

pub(crate) fn parse<'d>(key: &DiskKey, data: &'d [u8]) -> Result<Extent<'d>, DecodeError> {
    let item: &ExtentItem = view(data, "btrfs_extent_item")?;
    let metadata = key.type_ == METADATA_ITEM_KEY;
    if item.flags.get() & EXTENT_FLAG_TREE_BLOCK != 0 && !metadata {
        return Ok(match view_at::<TreeBlockInfo>(data, 24, "btrfs_tree_block_info") {
            Ok(info) => Extent { item, info: Some(info), skinny_level: None, refs: &data[42..], refs_at: 42, info_err: None },
            Err(e) => Extent { item, info: None, skinny_level: None, refs: &[], refs_at: 24, info_err: Some(e) },
        });
    }
    let skinny_level = metadata.then(|| key.offset.get());
    Ok(Extent { item, info: None, skinny_level, refs: &data[24..], refs_at: 24, info_err: None })
}

/// One inline backref.
pub(crate) enum InlineRef<'d> {
    TreeBlock { root: u64 },
    SharedBlock { parent: u64 },
    ExtentData(&'d ExtentDataRef),
    SharedData { parent: u64, count: u32 },
    /// Simple quotas' owner (newer than progs 6.2, which stops at it).
    Owner { root: u64 },
}

/// `btrfs_extent_inline_ref_size`: bytes taken by an inline ref of this type.
fn inline_ref_size(t: u8) -> Option<usize> {
    Some(match t {
        TREE_BLOCK_REF_KEY | SHARED_BLOCK_REF_KEY | EXTENT_OWNER_REF_KEY => 9,
        EXTENT_DATA_REF_KEY => 1 + 28,
        SHARED_DATA_REF_KEY => 9 + 4,
        _ => return None,
    })
}

impl<'d> Extent<'d> {
    pub(crate) fn inline_refs(&self) -> impl Iterator<Item = Result<InlineRef<'d>, DecodeError>> + 'd {
        let (data, base) = (self.refs, self.refs_at);
        let mut at = 0usize;
        let mut done = false;
        std::iter::from_fn(move || {
            if done || at >= data.len() {
                return None;
            }
            let r = (|| {
                let t = data[at];
                let size = inline_ref_size(t).ok_or(DecodeError::Invalid { what: "inline backref type", value: u64::from(t) })?;
                let overrun = DecodeError::Overrun { what: "inline backref", at: base + at, need: size, have: base + data.len() };
                let body = data.get(at + 1..at + size).ok_or(overrun)?;
                let u64_at = |o: usize| crate::le::u64_at(body, o).ok_or(overrun);
                Ok(match t {
                    TREE_BLOCK_REF_KEY => InlineRef::TreeBlock { root: u64_at(0)? },
                    SHARED_BLOCK_REF_KEY => InlineRef::SharedBlock { parent: u64_at(0)? },
                    EXTENT_OWNER_REF_KEY => InlineRef::Owner { root: u64_at(0)? },
                    EXTENT_DATA_REF_KEY => InlineRef::ExtentData(view(body, "btrfs_extent_data_ref")?),
                    _ => InlineRef::SharedData {
                        parent: u64_at(0)?,
                        count: crate::le::u32_at(body, 8).ok_or(overrun)?,
                    },
                })
            })();
            match &r {
                Ok(_) => at += inline_ref_size(data[at]).unwrap_or(data.len()),
                Err(_) => done = true,
            }
            Some(r)
        })
    }

    /// `print_extent_item`
    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        let i = self.item;
        o.s("\t\trefs ").u(i.refs.get()).s(" gen ").u(i.generation.get()).s(" flags ");
        FlagsText::Extent(i.flags.get()).put(o);
        o.s("\n");
        if let Some(info) = self.info {
            o.s("\t\ttree block ");
            KeyText(&info.key).put(o);
            o.s(" level ").u(u64::from(info.level)).s("\n");
        } else if let Some(e) = &self.info_err {
            e.print(o)?;
        } else if let Some(level) = self.skinny_level {
            // progs casts the key offset to int.
            o.s("\t\ttree block skinny level ").i(i64::from(level as i32)).s("\n");
        }
        for r in self.inline_refs() {
            match r {
                Ok(InlineRef::TreeBlock { root }) => {
                    o.s("\t\ttree block backref root ");
                    ObjectidText(root, 0).put(o);
                    o.s("\n");
                }
                Ok(InlineRef::SharedBlock { parent }) => {
                    o.s("\t\tshared block backref parent ").u(parent).s("\n");
                }
                Ok(InlineRef::ExtentData(d)) => data_ref_text(o, d)?,
                Ok(InlineRef::SharedData { parent, count }) => {
                    o.s("\t\tshared data backref parent ").u(parent).s(" count ").u(u64::from(count)).s("\n");
                }
                Ok(InlineRef::Owner { root }) => {
                    o.s("\t\textent owner root ").u(root).s("\n");
                }
                Err(e) => e.print(o)?,
            }
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        let i = self.item;
        let flags = i.flags.get();
        r.push("refs", i.refs.get())
            .push("gen", i.generation.get())
            .push("flags", flags)
            .push("flags_text", FlagsText::Extent(flags).to_string());
        if let Some(info) = self.info {
            r.push("tree_block_key", key_value(&info.key)).push("level", info.level);
        } else if let Some(e) = &self.info_err {
            r.push("error", e.to_string());
        } else if let Some(level) = self.skinny_level {
            r.push("level", level);
        }
        push_entries(r, "inline_refs", self.inline_refs(), |x| {
            let mut e = Record::with_capacity(5);
            match x {
                InlineRef::TreeBlock { root } => {
                    e.push("type", "TREE_BLOCK_REF").push("root", root);
                }
                InlineRef::SharedBlock { parent } => {
                    e.push("type", "SHARED_BLOCK_REF").push("parent", parent);
                }
                InlineRef::ExtentData(d) => {
                    e.push("type", "EXTENT_DATA_REF");
                    data_ref_fields(&mut e, d);
                }
                InlineRef::SharedData { parent, count } => {
                    e.push("type", "SHARED_DATA_REF").push("parent", parent).push("count", count);
                }
                InlineRef::Owner { root } => {
                    e.push("type", "EXTENT_OWNER_REF").push("root", root);
                }
            }
            e
        });
    }
}

/// `print_extent_data_ref` (keyed) and the inline EXTENT_DATA_REF line: the same text.
pub(super) fn data_ref_text(o: &mut Out<'_>, d: &ExtentDataRef) -> io::Result<()> {
    o.s("\t\textent data backref root ");
    ObjectidText(d.root.get(), 0).put(o);
    o.s(" objectid ").u(d.objectid.get()).s(" offset ").u(d.offset.get());
    o.s(" count ").u(u64::from(d.count.get())).s("\n");
    Ok(())
}

pub(super) fn data_ref_fields(r: &mut Record<'_>, d: &ExtentDataRef) {
    r.push("root", d.root.get()).push("objectid", d.objectid.get()).push("offset", d.offset.get()).push("count", d.count.get());
}
