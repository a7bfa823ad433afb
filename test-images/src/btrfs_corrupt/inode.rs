//! Inode and directory rows, on [`Base::MkfsTree`]: its FS tree is one leaf, rewritten from its
//! item list (offsets kept contiguous, keys sorted, as the kernel's tree checker wants).

use super::image::{add64, le32, le64, missing, put32, put64, Img, Key, LeafItem};
use super::{row, Base, Corruption, Error, Family};

use ondisk_layouts::btrfs::consts::{
    DIR_INDEX_KEY as DIR_INDEX, DIR_ITEM_KEY as DIR_ITEM, EXTENT_DATA_KEY as EXTENT_DATA, FREE_SPACE_OBJECTID, INODE_ITEM_KEY as INODE_ITEM,
    INODE_REF_KEY as INODE_REF, XATTR_ITEM_KEY as XATTR_ITEM,
};

use ondisk_layouts::btrfs::items::{DirItem, FileExtentItem, FreeSpaceHeader, InodeItem, INODE_IMMUTABLE, INODE_NOCOMPRESS, INODE_PREALLOC};
use std::mem::{offset_of, size_of};

/// `struct btrfs_inode_item` fields.
const I_GENERATION: usize = offset_of!(InodeItem, generation);
const I_SIZE: usize = offset_of!(InodeItem, size);
const I_NBYTES: usize = offset_of!(InodeItem, nbytes);
const I_NLINK: usize = offset_of!(InodeItem, nlink);
const I_MODE: usize = offset_of!(InodeItem, mode);
const I_FLAGS: usize = offset_of!(InodeItem, flags);
/// A directory entry's name follows its `struct btrfs_dir_item`.
const NAME: usize = size_of::<DirItem>();
const NAME_LEN: usize = offset_of!(DirItem, name_len);
/// `struct btrfs_file_extent_item` fields.
const FE_RAM_BYTES: usize = offset_of!(FileExtentItem, ram_bytes);
const FE_DISK_BYTENR: usize = offset_of!(FileExtentItem, disk_bytenr);
const FE_NUM_BYTES: usize = offset_of!(FileExtentItem, num_bytes);

/// The items of a one-leaf tree being edited.
pub(super) struct Leaf<'a>(&'a mut Vec<LeafItem>);

impl Leaf<'_> {
    /// The inode a name in the tree stands for (found through its DIR_INDEX entry).
    fn ino(&self, name: &str) -> Result<u64, Error> {
        self.0
            .iter()
            .filter(|it| it.key.ty == DIR_INDEX)
            .find(|it| it.data.get(NAME..NAME + usize::from(u16::from_le_bytes([it.data[NAME_LEN], it.data[NAME_LEN + 1]]))) == Some(name.as_bytes()))
            .map(|it| le64(&it.data, 0))
            .ok_or_else(|| Error::Missing(format!("the name {name}")))
    }

    fn pos(&self, objectid: u64, ty: u8) -> Result<usize, Error> {
        self.0.iter().position(|it| it.key.objectid == objectid && it.key.ty == ty).ok_or_else(|| Error::Missing(format!("item ({objectid} {ty})")))
    }

    fn data(&mut self, objectid: u64, ty: u8) -> Result<&mut Vec<u8>, Error> {
        let i = self.pos(objectid, ty)?;
        Ok(&mut self.0[i].data)
    }

    /// The DIR_ITEM / DIR_INDEX of `dir` that holds `name`.
    fn entry(&self, dir: u64, ty: u8, name: &str) -> Result<usize, Error> {
        self.0
            .iter()
            .position(|it| it.key.objectid == dir && it.key.ty == ty && it.data.get(NAME..) == Some(name.as_bytes()))
            .ok_or_else(|| Error::Missing(format!("the entry {name}")))
    }

    fn remove(&mut self, i: usize) -> LeafItem {
        self.0.remove(i)
    }

    /// Removes the item of type `ty` of the inode `name` stands for.
    fn remove_of(&mut self, name: &str, ty: u8) -> Result<(), Error> {
        let i = self.pos(self.ino(name)?, ty)?;
        self.0.remove(i);
        Ok(())
    }

    /// Adds to a u64 field of `name`'s INODE_ITEM.
    fn inode_add(&mut self, name: &str, field: usize, v: u64) -> Result<(), Error> {
        let ino = self.ino(name)?;
        add64(self.data(ino, INODE_ITEM)?, field, v);
        Ok(())
    }
}

/// Rewrites the one leaf of `tree`.
fn one_leaf(i: &Img, tree: u64, f: impl FnOnce(&mut Leaf) -> Result<(), Error>) -> Result<(), Error> {
    let (bytenr, level) = *i.nodes_of(tree).first().ok_or_else(|| missing("the tree's root"))?;
    if level != 0 {
        return Err(Error::Unsupported(format!("tree {tree} is more than one leaf")));
    }
    let mut result = Ok(());
    i.edit_leaf(bytenr, |items| {
        result = f(&mut Leaf(items));
        items.sort_by_key(|it| it.key);
    })?;
    result
}

fn fs(i: &mut Img, f: impl FnOnce(&mut Leaf) -> Result<(), Error>) -> Result<(), Error> {
    one_leaf(i, 5, f)
}

pub(super) fn rows() -> Vec<Corruption> {
    use Family::InodeDir;
    vec![
        row("nlink-wrong", InodeDir, Base::MkfsTree, &["btrfs.link_count_wrong"], |i| fs(i, |l| l.inode_add("a", I_NLINK, 1))),
        row("nbytes-wrong", InodeDir, Base::MkfsTree, &["btrfs.nbytes_wrong"], |i| fs(i, |l| l.inode_add("big", I_NBYTES, 4096))),
        row("dir-isize-wrong", InodeDir, Base::MkfsTree, &["btrfs.dir_isize_wrong"], |i| fs(i, |l| l.inode_add("d", I_SIZE, 2))),
        row("bad-mode", InodeDir, Base::MkfsTree, &["btrfs.invalid_inode_mode"], |i| {
            fs(i, |l| {
                let a = l.ino("a")?;
                let d = l.data(a, INODE_ITEM)?;
                // A stray bit above S_IFMT: the type is still a regular file.
                let mode = le32(d, I_MODE) | 1 << 20;
                put32(d, I_MODE, mode);
                Ok(())
            })
        }),
        row("missing-dir-index", InodeDir, Base::MkfsTree, &["btrfs.no_dir_index", "btrfs.dir_isize_wrong"], |i| {
            fs(i, |l| {
                let i = l.entry(l.ino("d")?, DIR_INDEX, "a")?;
                l.remove(i);
                Ok(())
            })
        })
        .why("a lost DIR_INDEX: the name lacks a part and the directory's size counts a name twice less"),
        row("missing-inode-ref", InodeDir, Base::MkfsTree, &["btrfs.no_inode_ref"], |i| {
            fs(i, |l| l.remove_of("a", INODE_REF))
        }),
        row(
            "wrong-name-hash",
            InodeDir,
            Base::MkfsTree,
            &["btrfs.name_hash_mismatch", "btrfs.no_dir_item", "btrfs.no_dir_index", "btrfs.no_inode_ref"],
            |i| {
                fs(i, |l| {
                    let i = l.entry(l.ino("d")?, DIR_ITEM, "sub")?;
                    if let Some(last) = l.0[i].data.last_mut() {
                        *last = b'c';
                    }
                    Ok(())
                })
            },
        )
        .why("one byte of a DIR_ITEM's name flipped: the key offset no longer is the name's hash, and the name no longer matches its DIR_INDEX and inode ref"),
        row("wrong-name-hash-key", InodeDir, Base::MkfsTree, &["btrfs.name_hash_mismatch"], |i| {
            fs(i, |l| {
                let i = l.entry(l.ino("d")?, DIR_ITEM, "a")?;
                l.0[i].key.offset += 1;
                Ok(())
            })
        })
        .why("the DIR_ITEM's key offset off by one (its order among the keys unchanged): only the hash"),
        row("duplicate-name", InodeDir, Base::MkfsTree, &["btrfs.dup_filename"], |i| {
            fs(i, |l| {
                let (d, b) = (l.ino("d")?, l.ino("b")?);
                let rename = |it: &mut LeafItem| {
                    if let Some(last) = it.data.last_mut() {
                        *last = b'a';
                    }
                };
                let idx = l.entry(d, DIR_INDEX, "b")?;
                rename(&mut l.0[idx]);
                let r = l.pos(b, INODE_REF)?;
                rename(&mut l.0[r]);
                let bi = l.entry(d, DIR_ITEM, "b")?;
                let mut entry = l.remove(bi);
                rename(&mut entry);
                let ai = l.entry(d, DIR_ITEM, "a")?;
                l.0[ai].data.extend_from_slice(&entry.data);
                Ok(())
            })
        })
        .why("\"b\" renamed \"a\" in its inode ref and DIR_INDEX, its DIR_ITEM entry moved into the DIR_ITEM of \"a\" (same hash): two inodes under one name — btrfs-progs fsck-tests 067's shape"),
        row("generation-in-future", InodeDir, Base::MkfsTree, &["btrfs.invalid_inode_generation"], |i| fs(i, |l| l.inode_add("a", I_GENERATION, 1000))),
        row("symlink-immutable", InodeDir, Base::MkfsTree, &["btrfs.odd_inode_flags"], |i| fs(i, |l| l.inode_add("link", I_FLAGS, INODE_IMMUTABLE)))
            .why("a symlink marked IMMUTABLE: chattr cannot set it on a symlink, and btrfs check fails it (\"odd inode flags\")"),
        row("symlink-nocompress-prealloc", InodeDir, Base::MkfsTree, &[], |i| {
            fs(i, |l| l.inode_add("link", I_FLAGS, INODE_NOCOMPRESS | INODE_PREALLOC))
        })
        .why("a symlink with NOCOMPRESS and PREALLOC, which the kernel gives one made in a directory under `btrfs property set compression none` (btrfs_inherit_iflags): clean. ondisk once read IMMUTABLE and APPEND at these two bits and called such symlinks odd (found by random kernel workloads)"),
        row("overlapping-file-extents", InodeDir, Base::MkfsTree, &["btrfs.file_extent_overlap"], |i| {
            fs(i, |l| {
                let p = l.pos(l.ino("big")?, EXTENT_DATA)?;
                let mut hole = l.0[p].clone();
                let d = &mut hole.data;
                d[FE_DISK_BYTENR..FE_NUM_BYTES].fill(0); // disk_bytenr, disk_num_bytes, offset
                put64(d, FE_NUM_BYTES, 65536 - 4096);
                put64(d, FE_RAM_BYTES, 65536 - 4096);
                hole.key.offset = 4096;
                l.0.push(hole);
                Ok(())
            })
        })
        .why("a hole extent inserted at 4 KiB inside the 64 KiB extent, ending where the file does: only the overlap is wrong"),
        row("file-extent-discount", InodeDir, Base::MkfsTreeHoles, &["btrfs.file_extent_discount"], |i| fs(i, |l| l.inode_add("big", I_SIZE, 8192)))
            .why("without NO_HOLES, a file whose size grew past its last extent with no hole extent written"),
        row("inline-ram-bytes-wrong", InodeDir, Base::MkfsTree, &["btrfs.inline_ram_bytes_wrong", "btrfs.nbytes_wrong"], |i| {
            fs(i, |l| {
                let a = l.ino("a")?;
                add64(l.data(a, EXTENT_DATA)?, FE_RAM_BYTES, 1);
                Ok(())
            })
        })
        .why("btrfs-progs fsck-tests 035's fault: an inline extent's ram_bytes one more than its data, which also makes nbytes disagree"),
        row("missing-inode-item", InodeDir, Base::MkfsTree, &["btrfs.no_inode_item"], |i| {
            fs(i, |l| l.remove_of("b", INODE_ITEM))
        })
        .why("its ref and extent remain, its directory entries point at nothing"),
        row("directory-hard-link", InodeDir, Base::MkfsTree, &["btrfs.dir_invalid_nlink", "btrfs.link_count_wrong"], |i| fs(i, |l| l.inode_add("e", I_NLINK, 1)))
            .why("btrfs-progs fsck-tests 049's fault: a directory with nlink 2"),
        row("unknown-key-type", InodeDir, Base::MkfsTree, &["btrfs.unknown_key"], |i| {
            fs(i, |l| {
                let a = l.ino("a")?;
                l.0.push(LeafItem { key: Key { objectid: a, ty: 8, offset: 256 }, data: Vec::new() });
                Ok(())
            })
        })
        .why("btrfs-progs fsck-tests 069's fault: an item of key type 8 in a subvolume tree"),
        row("filetype-mismatch", InodeDir, Base::MkfsTree, &["btrfs.filetype_mismatch"], |i| {
            fs(i, |l| {
                let i = l.entry(l.ino("d")?, DIR_INDEX, "a")?;
                l.0[i].data[offset_of!(DirItem, type_)] = 2; // BTRFS_FT_DIR
                Ok(())
            })
        })
        .why("the DIR_INDEX of \"a\" says directory: it disagrees with its DIR_ITEM and with the inode"),
        row("orphan-without-orphan-item", InodeDir, Base::MkfsTree, &["btrfs.no_orphan_item"], |i| {
            fs(i, |l| {
                let (d, b) = (l.ino("d")?, l.ino("b")?);
                for ty in [DIR_INDEX, DIR_ITEM] {
                    let i = l.entry(d, ty, "b")?;
                    l.remove(i);
                }
                let r = l.pos(b, INODE_REF)?;
                l.remove(r);
                put32(l.data(b, INODE_ITEM)?, I_NLINK, 0);
                // The directory lost a one-byte name twice.
                add64(l.data(d, INODE_ITEM)?, I_SIZE, (-2i64) as u64);
                Ok(())
            })
        })
        .why("an unlinked file (nlink 0, no names) with no ORPHAN_ITEM would never be freed"),
        row("wrong-xattr-hash", InodeDir, Base::MkfsTree, &["btrfs.name_hash_mismatch"], |i| {
            fs(i, |l| {
                let at = match l.0.iter().position(|it| it.key.ty == XATTR_ITEM) {
                    Some(at) => at,
                    // The temp filesystem refused user xattrs: the DIR_ITEM hash instead.
                    None => l.entry(l.ino("d")?, DIR_ITEM, "b")?,
                };
                l.0[at].key.offset += 1;
                Ok(())
            })
        })
        .why("the XATTR_ITEM's key offset off by one: the name no longer hashes to it. The kernel's tree-checker (check_dir_item covers XATTR_ITEM) refuses the leaf; btrfs check 6.2 does not hash xattr names and exits 0 (found by the differential fuzz against it)"),
        row("free-space-cache-inode-mode", InodeDir, Base::KSpacecacheV1, &["btrfs.free_space_cache_mode"], |i| {
            one_leaf(i, 1, |l| {
                let h = l.0.iter().find(|it| it.key.objectid == FREE_SPACE_OBJECTID && it.key.ty == 0).ok_or_else(|| missing("a v1 cache header"))?;
                let ino = le64(&h.data, offset_of!(FreeSpaceHeader, location));
                put32(l.data(ino, INODE_ITEM)?, I_MODE, 0);
                Ok(())
            })
        })
        .why("btrfs-progs fsck-tests 039's fault on a kernel-written v1 space cache: a cache inode whose mode lost its file type"),
        row("free-space-cache-file-extent-generation", InodeDir, Base::KSpacecacheV1, &["btrfs.bad_file_extent=1:error"], |i| {
            let fe = i.find("a v1 cache file's extent", |v| v["tree"] == 1 && v["item_type"] == "EXTENT_DATA")?;
            i.edit_item(&fe, |d| put64(d, offset_of!(FileExtentItem, generation), 1 << 20))
        })
        .exact()
        .why("a v1 cache file's extent item (in the root tree) says it was written in a transaction far past the superblock's: btrfs check 6.2 fails it (\"invalid generation for extent\"), as it does a subvolume's; ondisk checked file extent items in subvolumes only (found by the differential fuzz on k-spacecache-v1)"),
    ]
}

