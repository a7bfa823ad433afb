//! Extent tree, block group and device rows: mostly on [`Base::MkfsFiles`] (single profiles, so
//! each block has one copy), the shared-extent ones on k-rich and k-bgt.

use super::image::{add64, missing, put32, put64, Get, Img, Key};
use super::{row, Base, Corruption, Error, Family};
use ondisk_layouts::btrfs::consts::{BLOCK_GROUP_ITEM_KEY, DATA_RELOC_TREE_OBJECTID, DEV_EXTENT_KEY, DEV_ITEM_KEY, EXTENT_DATA_REF_KEY, METADATA_ITEM_KEY, SHARED_DATA_REF_KEY};
use ondisk_layouts::btrfs::items::{BlockGroupItem, ExtentDataRef, ExtentInlineRef, ExtentItem, FileExtentItem, BLOCK_FLAG_FULL_BACKREF};
use ondisk_layouts::btrfs::superblock::{DevItem, SuperBlock};
use ondisk_layouts::btrfs::tree::Header;
use ondisk_layouts::btrfs::volumes::{Chunk, DevExtent, Stripe};
use serde_json::Value;
use std::mem::{offset_of, size_of};

/// `btrfs_extent_item` fields, and where its inline refs start (metadata items and data
/// extents have no `btrfs_tree_block_info`).
const REFS: usize = offset_of!(ExtentItem, refs);
const GENERATION: usize = offset_of!(ExtentItem, generation);
const INLINE: usize = size_of::<ExtentItem>();
/// An inline ref: its type byte, then its offset or (EXTENT_DATA_REF) a whole data ref.
const INLINE_REF: usize = size_of::<ExtentInlineRef>();
const INLINE_DATA_REF: usize = offset_of!(ExtentInlineRef, offset) + size_of::<ExtentDataRef>();
/// Where the first inline ref's data ref starts.
const DATA_REF: usize = INLINE + offset_of!(ExtentInlineRef, offset);
const BG_USED: usize = offset_of!(BlockGroupItem, used);
const BG_FLAGS: usize = offset_of!(BlockGroupItem, flags);

/// k-rich's own finding: free-space-tree leftovers of mkfs's temporary chunks (an info).
const K_RICH: &str = "btrfs.free_space_orphan";

fn is_type(v: &Value, tree: u64, t: &str) -> bool {
    v["tree"] == tree && v["item_type"] == t
}

/// The METADATA_ITEM of the FS_TREE root leaf (a block nothing else shares).
fn fs_leaf_item(i: &Img) -> Result<Value, Error> {
    i.find("the FS_TREE leaf's METADATA_ITEM", |v| is_type(v, 2, "METADATA_ITEM") && v["inline_refs"][0]["root"] == 5)
}

fn data_extent_item(i: &Img) -> Result<Value, Error> {
    i.find("a data extent item", |v| is_type(v, 2, "EXTENT_ITEM") && v["inline_refs"][0]["type"] == "EXTENT_DATA_REF")
}

/// The block group item of one type (1 data, 4 metadata) in `tree` (2, or 11 with the block
/// group tree).
fn block_group(i: &Img, tree: u64, flags: u64) -> Result<Value, Error> {
    i.find("a block group item", |v| is_type(v, tree, "BLOCK_GROUP_ITEM") && v["flags"] == flags)
}

fn regular_file_extent(i: &Img) -> Result<Value, Error> {
    i.find("a regular file extent", |v| v["item_type"] == "EXTENT_DATA" && v["extent_type"] == 1 && v["disk_bytenr"].as_u64() != Some(0))
}

/// Re-keys the FS_TREE leaf's METADATA_ITEM with another level.
fn metadata_level(i: &mut Img, level: u64) -> Result<(), Error> {
    let it = fs_leaf_item(i)?;
    i.edit_key(&it, Key { objectid: it.u("key.objectid")?, ty: METADATA_ITEM_KEY, offset: level })
}

fn dev_extents(i: &Img) -> Vec<Value> {
    i.items().filter(|v| is_type(v, 4, "DEV_EXTENT")).cloned().collect()
}

pub(super) fn rows() -> Vec<Corruption> {
    use Family::*;
    vec![
        row("extent-refs-too-high", Extent, Base::MkfsFiles, &["btrfs.extent_ref_mismatch"], |i| {
            i.edit_item(&fs_leaf_item(i)?, |d| put64(d, REFS, 2))
        }),
        row("data-backref-missing", Extent, Base::MkfsFiles, &["btrfs.backref_missing", "btrfs.backref_unreferenced"], |i| {
            i.edit_item(&data_extent_item(i)?, |d| add64(d, DATA_REF + offset_of!(ExtentDataRef, objectid), 1000))
        })
        .why("the inline EXTENT_DATA_REF names another inode: the file extent's backref is missing and the one listed is referenced by nothing"),
        row("data-backref-count-wrong", Extent, Base::MkfsFiles, &["btrfs.backref_count_mismatch", "btrfs.extent_ref_mismatch"], |i| {
            i.edit_item(&data_extent_item(i)?, |d| {
                put64(d, REFS, 2);
                put32(d, DATA_REF + offset_of!(ExtentDataRef, count), 2);
            })
        })
        .why("the inline data ref's count and the item's refs both say 2; one file extent exists"),
        row(
            "tree-block-without-extent-item",
            Extent,
            Base::MkfsFiles,
            &["btrfs.extent_item_missing", "btrfs.block_group_used", "btrfs.free_space_missing"],
            |i| i.delete_item(&fs_leaf_item(i)?),
        )
        .why("block group used still counts the block; its range is now neither allocated nor recorded free"),
        row("metadata-item-wrong-level", Extent, Base::MkfsFiles, &["btrfs.metadata_level"], |i| metadata_level(i, 1)),
        row("metadata-item-level-out-of-range", Extent, Base::MkfsFiles, &["btrfs.metadata_level"], |i| metadata_level(i, 256))
            .why("corpus 053's fault: a METADATA_ITEM offset (level) above 7"),
        row("extent-generation-in-the-future", Extent, Base::MkfsFiles, &["btrfs.extent_generation"], |i| {
            i.edit_item(&fs_leaf_item(i)?, |d| put64(d, GENERATION, 1000))
        }),
        row("inline-backref-bad-type", Extent, Base::MkfsFiles, &["btrfs.inline_ref_bad", "btrfs.backref_missing"], |i| {
            i.edit_item(&fs_leaf_item(i)?, |d| d[INLINE] = 100)
        })
        .why("the one inline ref (TREE_BLOCK_REF) becomes an unknown type 100: the tree backref the walk finds is then missing from the item too"),
        row("file-extent-disk-num-bytes-wrong", Extent, Base::MkfsFiles, &["btrfs.file_extent_mismatch"], |i| {
            i.edit_item(&regular_file_extent(i)?, |d| add64(d, offset_of!(FileExtentItem, disk_num_bytes), 4096))
        }),
        row(
            "file-extent-points-at-free-space",
            Extent,
            Base::MkfsFiles,
            &["btrfs.extent_item_missing", "btrfs.extent_item_unreferenced", "btrfs.csum_missing"],
            |i| {
                let bg = block_group(i, 2, 1)?;
                let bg_end = bg.u("key.objectid")? + bg.u("key.offset")?;
                let it = regular_file_extent(i)?;
                let free = bg_end - it.u("disk_num_bytes")? - (1 << 20);
                i.edit_item(&it, |d| put64(d, offset_of!(FileExtentItem, disk_bytenr), free))
            },
        )
        .why("corpus 001's fault: the place the file extent names has no extent item (nor csums); the extent it had is referenced by nothing"),
        row(
            "fs-leaf-owner-wrong",
            Extent,
            Base::MkfsFiles,
            &["btrfs.owner_ref_mismatch", "btrfs.backref_missing", "btrfs.backref_unreferenced"],
            |i| {
                let leaf = i.find("an FS_TREE item", |v| v["tree"] == 5)?;
                i.edit_item_block(&leaf, |b, _| put64(b, offset_of!(Header, owner), 7))
            },
        )
        .why("the leaf's extent item lists no tree backref for 7, and its file extents' data backrefs are for root 5: missing for 7, unreferenced for 5"),
        row("shared-data-backref-wrong-parent", Extent, Base::KRich, &["btrfs.backref_missing", "btrfs.backref_unreferenced", K_RICH], |i| {
            let it = i.find("an extent with a SHARED_DATA_REF", |v| {
                is_type(v, 2, "EXTENT_ITEM") && v["inline_refs"].as_array().is_some_and(|a| a.iter().any(|r| r["type"] == "SHARED_DATA_REF"))
            })?;
            i.edit_item(&it, |d| {
                let mut at = INLINE;
                while at < d.len() {
                    match d[at] {
                        EXTENT_DATA_REF_KEY => at += INLINE_DATA_REF,
                        SHARED_DATA_REF_KEY => return add64(d, at + offset_of!(ExtentInlineRef, offset), 16384),
                        _ => at += INLINE_REF,
                    }
                }
            })
        })
        .why("a data extent shared by a snapshot through a FULL_BACKREF leaf names another parent block"),
        row("snapshot-block-refs-too-few", Extent, Base::KBgt, &["btrfs.extent_ref_mismatch"], |i| {
            let it = i.find("a tree block shared by a snapshot", |v| {
                is_type(v, 2, "METADATA_ITEM")
                    && v["refs"] == 2
                    && v["inline_refs"].as_array().is_some_and(|a| a.iter().all(|r| r["type"] == "TREE_BLOCK_REF"))
            })?;
            i.edit_item(&it, |d| put64(d, REFS, 1))
        })
        .why("a tree block with two tree backrefs whose extent item says refs 1"),
        row("inline-data-refs-out-of-order", Extent, Base::KRich, &["btrfs.inline_ref_order", K_RICH], |i| {
            let it = i.find("a reflinked extent", |v| {
                is_type(v, 2, "EXTENT_ITEM")
                    && v["inline_refs"].as_array().is_some_and(|a| a.len() >= 2 && a[0]["type"] == "EXTENT_DATA_REF" && a[1]["type"] == "EXTENT_DATA_REF")
            })?;
            i.edit_item(&it, |d| {
                let (a, b) = (INLINE, INLINE + INLINE_DATA_REF);
                let first = d[a..b].to_vec();
                d.copy_within(b..b + INLINE_DATA_REF, a);
                d[b..b + INLINE_DATA_REF].copy_from_slice(&first);
            })
        })
        .why("corpus 061's fault on a kernel image: two inline EXTENT_DATA_REFs swapped, no longer in descending hash order"),
        row("block-group-used-wrong", BlockGroup, Base::MkfsFiles, &["btrfs.block_group_used", "btrfs.super_bytes_used"], |i| {
            i.edit_item(&block_group(i, 2, 1)?, |d| add64(d, BG_USED, 4096))
        })
        .why("the superblock's bytes_used (the sum of used) no longer matches either"),
        row("block-group-flags-wrong", BlockGroup, Base::MkfsFiles, &["btrfs.block_group_flags"], |i| {
            // DATA becomes DATA|METADATA (mixed), which its single DATA chunk is not.
            i.edit_item(&block_group(i, 2, 1)?, |d| put64(d, BG_FLAGS, 5))
        }),
        row(
            "block-group-length-wrong",
            BlockGroup,
            Base::MkfsFiles,
            &["btrfs.block_group_no_chunk", "btrfs.chunk_no_block_group", "btrfs.free_space_info_missing", "btrfs.free_space_orphan"],
            |i| {
                let it = block_group(i, 2, 4)?;
                i.edit_key(&it, Key { objectid: it.u("key.objectid")?, ty: BLOCK_GROUP_ITEM_KEY, offset: it.u("key.offset")? / 2 })
            },
        )
        .why("the metadata block group item claims half its chunk; the free space tree keys its info by the real range"),
        row("block-group-tree-used-wrong", BlockGroup, Base::KBgt, &["btrfs.block_group_used", "btrfs.super_bytes_used"], |i| {
            i.edit_item(&block_group(i, 11, 1)?, |d| add64(d, BG_USED, 4096))
        })
        .why("k-bgt keeps block group items in the block group tree"),
        row("block-group-chunk-objectid-wrong", BlockGroup, Base::MkfsFiles, &["btrfs.block_group_bad"], |i| {
            i.edit_item(&block_group(i, 2, 1)?, |d| put64(d, offset_of!(BlockGroupItem, chunk_objectid), 257))
        })
        .why("the kernel's tree-checker rejects a block group whose chunk_objectid is not 256"),
        row("metadata-block-group-says-data", BlockGroup, Base::MkfsFiles, &["btrfs.block_group_flags", "btrfs.extent_block_group_type"], |i| {
            i.edit_item(&block_group(i, 2, 4)?, |d| put64(d, BG_FLAGS, 1))
        })
        .why("its chunk disagrees, and every tree block in it lies in a block group that cannot hold tree blocks"),
        row("block-group-flags-unknown-bits", BlockGroup, Base::MkfsFiles, &["btrfs.block_group_flags=1:warning"], |i| {
            i.edit_item(&block_group(i, 2, 1)?, |d| d[BG_FLAGS + 7] = 0xf8)
        })
        .exact()
        .why("the data block group's flags gain bits 59-63, which no kernel defines: the mount compares the type with the chunk's and the kernel masks flags wherever it reads them, so it mounts; btrfs check 6.2 prints \"mismatch with block group\" and exits 0. A warning (found by the differential fuzz on k-logtree)"),
        row("chunk-type-unknown-bits", Devices, Base::MkfsFiles, &["btrfs.chunk_bad=1:error", "btrfs.block_group_flags=1:warning"], |i| {
            i.edit_item(&i.find("the data chunk", |v| is_type(v, 3, "CHUNK_ITEM") && v["chunk_type"] == 1)?, |d| d[offset_of!(Chunk, type_) + 3] = 0xff)
        })
        .exact()
        .why("the data chunk's type gains bits 24-31: the kernel's tree-checker refuses the chunk tree leaf and btrfs check cannot read the chunk tree (\"unrecognized chunk type\"); its block group now differs from it only in those bits (found by the differential fuzz on k-spacecache-v1, which btrfs check caught and ondisk missed)"),
        row("uuid-tree-block-full-backref", Extent, Base::KBgt, &["btrfs.full_backref_bad=1:warning"], |i| {
            let it = i.find("the UUID tree leaf's extent item", |v| is_type(v, 2, "METADATA_ITEM") && v["inline_refs"][0]["root"] == 9)?;
            i.edit_item(&it, |d| add64(d, offset_of!(ExtentItem, flags), BLOCK_FLAG_FULL_BACKREF))
        })
        .exact()
        .why("the UUID tree leaf's extent item gains FULL_BACKREF, its one backref still the tree's: outside subvolume and relocation trees the kernel never sets the flag and never reads it (btrfs_block_can_be_shared is false there, so COW takes the flags as 0); btrfs check 6.2 fails it (\"bad full backref\"). A warning (found by the differential fuzz on k-logtree)"),
        row("tree-block-extent-generation", Extent, Base::KBgt, &["btrfs.extent_generation=1:warning"], |i| {
            let it = i.find("the data reloc tree root's extent item", |v| is_type(v, 2, "METADATA_ITEM") && v["inline_refs"][0]["root"] == DATA_RELOC_TREE_OBJECTID)?;
            i.edit_item(&it, |d| put64(d, offset_of!(ExtentItem, generation), 0))
        })
        .exact()
        .why("the data reloc tree root block's extent item says generation 0: the kernel writes the allocating transaction there, the block's own generation, and never reads it again; btrfs check 6.2 takes it for the root block's when it looks for tree roots and fails (\"has a root item with a more recent gen (5) compared to the found root node (0)\"). A warning (found by the differential fuzz on k-logtree)"),
        row("file-extent-generation-ahead", Extent, Base::MkfsFiles, &["btrfs.bad_file_extent=1:error"], |i| {
            i.edit_item(&regular_file_extent(i)?, |d| put64(d, offset_of!(FileExtentItem, generation), 1 << 40))
        })
        .exact()
        .why("a file extent written, it says, after the superblock's transaction: btrfs check says \"invalid generation for extent\" (the kernel's tree-checker does not look at file extent generations; found by the differential fuzz, which btrfs check caught and ondisk missed)"),
        row("super-bytes-used-wrong", Superblock, Base::MkfsFiles, &["btrfs.super_bytes_used"], |i| i.edit_super(|b| add64(b, offset_of!(SuperBlock, bytes_used), 65536))),
        row("super-num-devices-wrong", Superblock, Base::MkfsFiles, &["btrfs.super_num_devices"], |i| i.edit_super(|b| put64(b, offset_of!(SuperBlock, num_devices), 2))),
        row("dev-extent-missing", Devices, Base::MkfsFiles, &["btrfs.dev_extent_missing", "btrfs.dev_bytes_used"], |i| {
            let chunk = i.find("the data chunk", |v| is_type(v, 3, "CHUNK_ITEM") && v["chunk_type"] == 1)?;
            let start = chunk.u("key.offset")?;
            let it = i.find("its dev extent", |v| is_type(v, 4, "DEV_EXTENT") && v["chunk_offset"].as_u64() == Some(start))?;
            i.delete_item(&it)
        })
        .why("the data chunk's stripe has no dev extent, and the device item's bytes_used no longer adds up"),
        row(
            "dev-extent-overlapping",
            Devices,
            Base::MkfsFiles,
            &["btrfs.dev_extent_overlap", "btrfs.dev_extent_mismatch", "btrfs.dev_bytes_used"],
            |i| {
                // The system chunk's dev extent grows over the next one.
                let exts = dev_extents(i);
                let (first, next) = (exts.first().ok_or_else(|| missing("dev extents"))?, exts.get(1).ok_or_else(|| missing("two dev extents"))?);
                let new_len = next.u("key.offset")? - first.u("key.offset")? + 65536;
                i.edit_item(first, |d| put64(d, offset_of!(DevExtent, length), new_len))
            },
        ),
        row("dev-extent-past-device-end", Devices, Base::MkfsFiles, &["btrfs.dev_extent_past_end"], |i| {
            // The device shrinks (device item and the superblock's copy of it) below its last extent.
            let last_end = dev_extents(i).iter().filter_map(|v| Some(v.u("key.offset").ok()? + v.u("length").ok()?)).max().unwrap_or_default();
            let total = last_end - 4096;
            let dev = i.find("the device item", |v| is_type(v, 3, "DEV_ITEM"))?;
            i.edit_item(&dev, |d| put64(d, offset_of!(DevItem, total_bytes), total))?;
            i.edit_super(|b| put64(b, offset_of!(SuperBlock, dev_item) + offset_of!(DevItem, total_bytes), total))
        }),
        row("dev-item-objectid", Devices, Base::MkfsFiles, &["btrfs.dev_item_key=1:error"], |i| {
            let it = i.find("the device item", |v| is_type(v, 3, "DEV_ITEM"))?;
            let devid = it.u("key.offset")?;
            i.edit_key(&it, Key { objectid: 255, ty: DEV_ITEM_KEY, offset: devid })
        })
        .exact()
        .why("the device item keyed under objectid 255: the kernel's tree-checker refuses the chunk tree leaf, btrfs check no longer counts it as a device (\"super num devices mismatch, have 1 expect 0\"); here it still describes device 1 to the other checks, so the one fault is one finding (found by the differential fuzz)"),
        row("dev-item-devid", Devices, Base::MkfsFiles, &["btrfs.dev_item_key=1:error"], |i| {
            i.edit_item(&i.find("the device item", |v| is_type(v, 3, "DEV_ITEM"))?, |d| put64(d, offset_of!(DevItem, devid), 7))
        })
        .exact()
        .why("the device item keyed as devid 1 holds devid 7: the kernel's tree-checker refuses the chunk tree leaf (\"devid mismatch\"). btrfs check 6.2 takes the devid the item holds, so device 1 has no item (\"Device extent[1, ...] didn't find its device\"); here the key decides, as it does for every other device item check, and the one fault is one finding (found by the seed-set fuzz)"),
        row("dev-item-fsid", Devices, Base::MkfsFiles, &["btrfs.dev_item_fsid=1:error"], |i| {
            i.edit_item(&i.find("the device item", |v| is_type(v, 3, "DEV_ITEM"))?, |d| d[offset_of!(DevItem, fsid) + 4] ^= 0xff)
        })
        .exact()
        .why("the chunk tree's device item names another fsid, as a sprouted filesystem's seed device does: the kernel and btrfs check look for that seed filesystem, do not find it and cannot read the tree root (found by the differential fuzz, which btrfs check caught and ondisk missed)"),
        row("stripe-dev-uuid", Devices, Base::MkfsFiles, &["btrfs.stripe_dev_uuid=1:error"], |i| {
            i.edit_item(&i.find("the data chunk", |v| is_type(v, 3, "CHUNK_ITEM") && v["chunk_type"] == 1)?, |d| d[size_of::<Chunk>() + offset_of!(Stripe, dev_uuid)] ^= 1)
        })
        .exact()
        .why("the data chunk's stripe names devid 1 with another device's uuid: the kernel finds stripe devices by devid and uuid together and takes device 1 as missing, btrfs check 6.2 warns \"device 1 is missing\" and then finds the dev extents beyond a device of size 0 (the differential fuzz found it in the system chunk's stripe, where btrfs check cannot read the tree root at all; btrfs check caught it, ondisk missed it)"),
        row(
            "dangling-devid-in-chunk-stripe",
            Devices,
            Base::MkfsFiles,
            &["btrfs.dangling_devid", "btrfs.dev_extent_missing", "btrfs.dev_extent_orphan", "btrfs.device_missing"],
            |i| i.edit_item(&i.find("the data chunk", |v| is_type(v, 3, "CHUNK_ITEM") && v["chunk_type"] == 1)?, |d| {
                // The first stripe follows the chunk.
                put64(d, size_of::<Chunk>() + offset_of!(Stripe, devid), 7)
            }),
        )
        .why("a stripe names devid 7, which has no device item: btrfs check 6.2 prints it and exits 0, here it is an error; the stripe then has no dev extent, the devid 1 dev extent no chunk, and device 7 was not given (a warning)"),
        row("zoned-dev-extent-unaligned", Devices, Base::MkfsZoned, &["btrfs.zoned_unaligned=1:error"], |i| {
            // The data chunk moves 1 MiB up the device, its stripe and dev extent together: the
            // chunk is empty and the device free after it, so only the zone alignment breaks.
            let chunk = i.find("the data chunk", |v| is_type(v, 3, "CHUNK_ITEM") && v["chunk_type"] == 1)?;
            let start = chunk.u("key.offset")?;
            let ext = i.find("its dev extent", |v| is_type(v, 4, "DEV_EXTENT") && v["chunk_offset"].as_u64() == Some(start))?;
            let moved = ext.u("key.offset")? + (1 << 20);
            i.edit_item(&chunk, |d| put64(d, size_of::<Chunk>() + offset_of!(Stripe, offset), moved))?;
            i.edit_key(&ext, Key { objectid: ext.u("key.objectid")?, ty: DEV_EXTENT_KEY, offset: moved })
        })
        .exact()
        .why("a zoned filesystem whose data dev extent starts 1 MiB into a zone: a kernel with zoned support refuses to mount it (verify_one_dev_extent: \"zoned: dev extent ... is not aligned to device zone\"; a kernel built without CONFIG_BLK_DEV_ZONED mounts it as a regular filesystem), btrfs check 6.2 says nothing"),
    ]
}

