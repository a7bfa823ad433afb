//! `ondisk dump` for btrfs: trees in dump-tree's order and text format, or JSON Lines.

use super::fs::{Block, Filesystem};
use super::items::{self, ItemCtx};
use super::names::{key_text, key_type_text, objectid_text, tree_header_name};
use super::walk::{walk_tree, Event};
use crate::cli::output::Out;
use crate::detect::uuid_text;
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::tree::{BACKREF_REV_SHIFT, HEADER_FLAG_RELOC, HEADER_FLAG_WRITTEN};
use ondisk_layouts::btrfs::*;
use std::io::{self, Write};

/// Prints trees of one filesystem.
pub struct Dumper<'o, 'f, 'a> {
    pub fs: &'f Filesystem<'a>,
    pub out: &'o mut Out,
    pub json: bool,
    /// Blocks that could not be read, for the exit code.
    pub errors: usize,
    /// dump-tree's `--csum-items` / `--hide-names`.
    pub text: items::TextOpts,
}

/// A root item's (bytenr, level).
pub fn root_item_location(data: &[u8]) -> Option<(u64, u8)> {
    items::root_item(data).map(|r| (r.bytenr.get(), r.level))
}

impl<'o, 'f, 'a> Dumper<'o, 'f, 'a> {
    fn ctx(&self, owner: u64) -> ItemCtx {
        ItemCtx {
            csum_size: self.fs.csum.map_or(4, |c| c.size()),
            sectorsize: self.fs.sectorsize,
            nodesize: self.fs.nodesize,
            owner,
        }
    }

    /// Every tree, the way `btrfs inspect-internal dump-tree` orders them.
    pub fn dump_all(&mut self, root_override: Option<(u64, Option<u8>)>) -> io::Result<()> {
        let sb = self.fs.sb.sb();
        let (root, root_level) = root_override.unwrap_or((sb.root.get(), Some(sb.root_level)));
        if !self.json {
            writeln!(self.out.w(), "root tree")?;
        }
        self.dump_tree(ROOT_TREE_OBJECTID, root, root_level)?;
        if !self.json {
            writeln!(self.out.w(), "chunk tree")?;
        }
        self.dump_tree(CHUNK_TREE_OBJECTID, sb.chunk_root.get(), Some(sb.chunk_root_level))?;
        let log_root = sb.log_root.get();
        if log_root != 0 {
            if !self.json {
                writeln!(self.out.w(), "log root tree")?;
            }
            self.dump_tree(TREE_LOG_OBJECTID, log_root, Some(sb.log_root_level))?;
        }
        self.dump_root_items(root, root_level, None)?;
        if log_root != 0 {
            self.dump_root_items(log_root, Some(sb.log_root_level), None)?;
        }
        self.trailer()
    }

    /// `total bytes / bytes used / uuid`, the lines dump-tree ends a listing of root items with.
    fn trailer(&mut self) -> io::Result<()> {
        if self.json {
            return Ok(());
        }
        let sb = self.fs.sb.sb();
        let w = self.out.w();
        writeln!(w, "total bytes {}", sb.total_bytes.get())?;
        writeln!(w, "bytes used {}", sb.bytes_used.get())?;
        writeln!(w, "uuid {}", uuid_text(&sb.fsid))
    }

    fn heading(&mut self, text: &str) -> io::Result<()> {
        if self.json {
            return Ok(());
        }
        writeln!(self.out.w(), "{text}")
    }

    /// One tree by objectid, as `dump-tree -t` (6.2) prints it: the root, chunk and log root
    /// trees come from the superblock, the block-group tree from its root item, each under a
    /// bare heading and no trailer; other trees under `<name> tree key (...)`, then the `total
    /// bytes` trailer, as in 6.2.
    pub fn dump_one(&mut self, tree: u64, root_override: Option<(u64, Option<u8>)>) -> io::Result<()> {
        let sb = self.fs.sb.sb();
        let (root, root_level) = root_override.unwrap_or((sb.root.get(), Some(sb.root_level)));
        match tree {
            ROOT_TREE_OBJECTID => {
                self.heading("root tree")?;
                self.dump_tree(tree, root, root_level)
            }
            CHUNK_TREE_OBJECTID => {
                self.heading("chunk tree")?;
                self.dump_tree(tree, sb.chunk_root.get(), Some(sb.chunk_root_level))
            }
            TREE_LOG_OBJECTID => {
                if sb.log_root.get() != 0 {
                    self.heading("log root tree")?;
                    self.dump_tree(tree, sb.log_root.get(), Some(sb.log_root_level))?;
                }
                Ok(())
            }
            BLOCK_GROUP_TREE_OBJECTID => {
                let found = self.find_root_items(root, root_level, tree);
                if let Some((_, (bytenr, lvl))) = found.into_iter().next() {
                    self.heading("block group tree")?;
                    self.dump_tree(tree, bytenr, Some(lvl))?;
                }
                Ok(())
            }
            _ => {
                self.dump_root_items(root, root_level, Some(tree))?;
                self.trailer()
            }
        }
    }

    /// The ROOT_ITEMs of tree `id` in the tree of root items at `root`.
    fn find_root_items(&self, root: u64, level: Option<u8>, id: u64) -> Vec<(DiskKey, (u64, u8))> {
        let mut roots = Vec::new();
        walk_tree(self.fs, root, level, &mut |ev| {
            if let Event::Block(b, _) = ev {
                for item in b.node.items() {
                    if item.key.type_ == ROOT_ITEM_KEY && item.key.objectid.get() == id {
                        if let Some(loc) = b.node.item_data(item).ok().and_then(root_item_location) {
                            roots.push((item.key, loc));
                        }
                    }
                }
            }
        });
        roots
    }

    /// Walks a tree of root items and dumps each tree they point to (only `only` if given).
    fn dump_root_items(&mut self, root: u64, level: Option<u8>, only: Option<u64>) -> io::Result<()> {
        let mut roots = Vec::new();
        walk_tree(self.fs, root, level, &mut |ev| {
            if let Event::Block(b, _) = ev {
                for item in b.node.items() {
                    if item.key.type_ != ROOT_ITEM_KEY {
                        continue;
                    }
                    if let Some(loc) = b.node.item_data(item).ok().and_then(root_item_location) {
                        roots.push((item.key, loc));
                    }
                }
            }
        });
        for (key, (bytenr, lvl)) in roots {
            let id = key.objectid.get();
            if only.is_some_and(|o| o != id) {
                continue;
            }
            if !self.json {
                let name = tree_header_name(id).unwrap_or("unknown");
                writeln!(self.out.w(), "{name} tree {} ", key_text(&key))?;
            }
            self.dump_tree(id, bytenr, Some(lvl))?;
        }
        Ok(())
    }

    /// Dumps every block of one tree, breadth-first.
    pub fn dump_tree(&mut self, tree: u64, root: u64, level: Option<u8>) -> io::Result<()> {
        let mut res = Ok(());
        let mut errors = 0;
        // The walk borrows the filesystem; printing borrows self.out: split the borrows.
        let fs = self.fs;
        let json = self.json;
        let text = self.text;
        let out = &mut *self.out;
        let ctx_base = ItemCtx { csum_size: fs.csum.map_or(4, |c| c.size()), sectorsize: fs.sectorsize, nodesize: fs.nodesize, owner: tree };
        walk_tree(fs, root, level, &mut |ev| {
            if res.is_err() {
                return;
            }
            res = match ev {
                Event::Block(b, _) => print_block(out, json, tree, b, ItemCtx { owner: b.node.header().owner.get(), ..ctx_base }, &text),
                Event::Error { bytenr, parent, error } => {
                    errors += 1;
                    eprintln!("ondisk: tree {tree}: block {bytenr}{}: {error}", parent.map(|p| format!(" (child of {p})")).unwrap_or_default());
                    if json {
                        let mut r = Record::new();
                        r.push("type", "error").push("tree", tree).push("bytenr", bytenr).push("error", error.to_string());
                        out.json(&r)
                    } else {
                        writeln!(out.w(), "ERROR: block {bytenr}: {error}")
                    }
                }
            };
        });
        self.errors += errors;
        let _ = self.ctx(tree);
        res
    }

    /// One block, and with `follow` everything below it.
    pub fn dump_block(&mut self, bytenr: u64, follow: bool) -> io::Result<()> {
        if follow {
            // The tree is the block's owner, as far as its header can be read.
            let owner = self.fs.read_block(bytenr).map_or(0, |b| b.node.header().owner.get());
            return self.dump_tree(owner, bytenr, None);
        }
        match self.fs.read_block(bytenr) {
            Ok(b) => {
                let ctx = self.ctx(b.node.header().owner.get());
                print_block(self.out, self.json, b.node.header().owner.get(), &b, ctx, &self.text)
            }
            Err(e) => {
                self.errors += 1;
                eprintln!("ondisk: {e}");
                Ok(())
            }
        }
    }
}

/// `print_readable_tree_block_flag`
fn block_flags_text(flags: u64) -> String {
    let mut names = Vec::new();
    if flags & HEADER_FLAG_WRITTEN != 0 {
        names.push("WRITTEN");
    }
    if flags & HEADER_FLAG_RELOC != 0 {
        names.push("RELOC");
    }
    names.join("|")
}

fn print_block(out: &mut Out, json: bool, tree: u64, b: &Block, ctx: ItemCtx, text: &items::TextOpts) -> io::Result<()> {
    let node = &b.node;
    let h = node.header();
    let (bytenr, owner, level, gen, nritems) = (b.bytenr, h.owner.get(), h.level, h.generation.get(), h.nritems.get());
    if json {
        let mut r = Record::new();
        r.push("type", "node")
            .push("tree", tree)
            .push("bytenr", bytenr)
            .push("owner", owner)
            .push("level", level)
            .push("generation", gen)
            .push("nritems", nritems)
            .push("flags", h.flags.get() & ((1 << BACKREF_REV_SHIFT) - 1))
            .push("backref_rev", h.flags.get() >> BACKREF_REV_SHIFT)
            .push("fsid", uuid_text(&h.fsid))
            .push("chunk_tree_uuid", uuid_text(&h.chunk_tree_uuid))
            .push("free_space", node.free_space())
            .push("csum_ok", b.csum_ok)
            .push("mirror", b.mirror as u64);
        out.json(&r)?;
        for (slot, p) in node.ptrs().iter().enumerate() {
            let mut r = Record::new();
            r.push("type", "ptr")
                .push("tree", tree)
                .push("block", bytenr)
                .push("slot", slot as u64)
                .push("key", key_record(&p.key))
                .push("blockptr", p.blockptr.get())
                .push("generation", p.generation.get());
            out.json(&r)?;
        }
        for (slot, item) in node.items().iter().enumerate() {
            let mut r = Record::new();
            r.push("type", "item")
                .push("tree", tree)
                .push("block", bytenr)
                .push("slot", slot as u64)
                .push("key", key_record(&item.key))
                .push("item_type", key_type_text(item.key.objectid.get(), item.key.type_))
                .push("itemoff", item.offset.get())
                .push("itemsize", item.size.get());
            match node.item_data(item) {
                Ok(data) => r.fields.extend(items::decode(&item.key, data, &ctx).fields),
                Err(e) => {
                    r.push("error", format!("item data at offset {} size {} lies outside the block", e.offset, e.size));
                }
            }
            out.json(&r)?;
        }
        return Ok(());
    }
    let w = out.w();
    let owner_text = objectid_text(owner, 0);
    if node.is_leaf() {
        writeln!(w, "leaf {bytenr} items {nritems} free space {} generation {gen} owner {owner_text}", node.free_space())?;
    } else {
        writeln!(w, "node {bytenr} level {level} items {nritems} free space {} generation {gen} owner {owner_text}", node.free_space())?;
    }
    let flags = h.flags.get();
    writeln!(
        w,
        "{} {bytenr} flags 0x{:x}({}) backref revision {}",
        if node.is_leaf() { "leaf" } else { "node" },
        flags & ((1 << BACKREF_REV_SHIFT) - 1),
        block_flags_text(flags),
        flags >> BACKREF_REV_SHIFT
    )?;
    writeln!(w, "fs uuid {}", uuid_text(&h.fsid))?;
    writeln!(w, "chunk uuid {}", uuid_text(&h.chunk_tree_uuid))?;
    if !b.csum_ok {
        writeln!(w, "ERROR: checksum mismatch on block {bytenr} (copy {})", b.mirror)?;
    }
    for p in node.ptrs() {
        writeln!(w, "\t{} block {} gen {}", key_text(&p.key), p.blockptr.get(), p.generation.get())?;
    }
    for (slot, item) in node.items().iter().enumerate() {
        items::print_item_line(w, slot, &item.key, item.offset.get(), item.size.get())?;
        match node.item_data(item) {
            Ok(data) => items::print_body_opts(w, &item.key, data, &ctx, text)?,
            Err(e) => writeln!(w, "\t\tERROR: item data at offset {} size {} lies outside the block", e.offset, e.size)?,
        }
    }
    Ok(())
}

/// A key as a JSON object.
pub fn key_record(k: &DiskKey) -> Value<'static> {
    let mut r = Record::with_capacity(3);
    r.push("objectid", k.objectid.get()).push("type", k.type_).push("offset", k.offset.get());
    Value::Record(r)
}
