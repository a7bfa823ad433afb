//! Csum tree, free space, `--check-data-csum` and log rows: mostly on [`Base::MkfsCsum`], the
//! mirror and cache ones on the shared kernel images (k-raid1, k-raid5, k-spacecache-v1, k-rich,
//! k-logtree).

use super::image::{le32, le64, missing, put32, put64, Copies, Get, Img, Key, LeafItem, SECTOR};
use ondisk_layouts::btrfs::tree::Header;
use super::{row, Base, Corruption, Error, Family};
use ondisk_layouts::btrfs::consts::{FREE_SPACE_INFO_KEY as FREE_SPACE_INFO, FREE_SPACE_OBJECTID, METADATA_ITEM_KEY, TREE_LOG_OBJECTID};
use ondisk_layouts::btrfs::items::{FreeSpaceHeader, FreeSpaceInfo, InodeItem};
use serde_json::Value;
use std::mem::offset_of;

/// Bytes of one crc32c.
const CS: usize = 4;
/// The kernel images' own finding: free space tree leftovers of mkfs's bootstrap chunks (info).
const ORPHAN: &str = "btrfs.free_space_orphan";
/// `a` of [`Base::MkfsCsum`]: 300000 bytes in one extent of 303104.
const A_LEN: u64 = 303104;
/// `b`: 70000 bytes in 73728.
const B_LEN: u64 = 73728;

/// The regular file extent of the file of `num_bytes` bytes: (disk_bytenr, inode).
fn file_extent(i: &Img, num_bytes: u64) -> Result<(u64, u64), Error> {
    let fe = i.find("the file extent", |v| v["tree"] == 5 && v["item_type"] == "EXTENT_DATA" && v["num_bytes"] == num_bytes && v["offset"] == 0)?;
    Ok((fe.u("disk_bytenr")?, fe.u("key.objectid")?))
}

/// Overwrites `len` bytes of data at `logical` (every copy) with a pattern no csum matches.
fn overwrite_data(i: &Img, logical: u64, len: u64) -> Result<(), Error> {
    let pattern = [0xa5u8; SECTOR as usize];
    for sector in (logical..logical + len).step_by(SECTOR as usize) {
        for (dev, p) in i.copies(sector)? {
            i.write(dev, p, &pattern)?;
        }
    }
    Ok(())
}

/// The root block of the subvolume log tree (k-logtree: one leaf), which the log root tree's
/// ROOT_ITEM names.
fn log_tree_root(i: &Img) -> Result<u64, Error> {
    i.items_of(TREE_LOG_OBJECTID, "ROOT_ITEM").next().ok_or_else(|| missing("a log tree's root item"))?.u("bytenr")
}

/// The csum item covering `logical`: (leaf, slot, start).
fn csum_item_of(i: &Img, logical: u64) -> Result<(u64, usize, u64), Error> {
    let it = i
        .items_of(7, "EXTENT_CSUM")
        .find(|v| v.u("start").is_ok_and(|s| s <= logical) && v.u("end").is_ok_and(|e| logical < e))
        .ok_or_else(|| missing("the csum item"))?;
    Ok((it.u("block")?, it.u("slot")? as usize, it.u("start")?))
}

/// Splits the csum item holding `logical` at the sector of `logical`: the first part ends there,
/// the second starts `skip` sectors later (0: split only; 1: one csum dropped; -1: one sector
/// earlier, repeating the last csum — an overlap).
fn split_csum(i: &Img, logical: u64, skip: i64) -> Result<(), Error> {
    let (leaf, slot, start) = csum_item_of(i, logical)?;
    let k = ((logical - start) / SECTOR) as usize;
    if k < 2 {
        return Err(Error::Unsupported("the split needs two sectors of csums before it".into()));
    }
    i.edit_leaf(leaf, |items| {
        let LeafItem { key, data } = items[slot].clone();
        let from = (k as i64 + skip) as usize;
        let second = LeafItem { key: Key { offset: start + from as u64 * SECTOR, ..key }, data: data[from * CS..].to_vec() };
        items[slot].data.truncate(k * CS);
        items.insert(slot + 1, second);
    })
}

/// The FREE_SPACE_EXTENT of the data block group after the files: (leaf, slot, start, length).
fn data_free_extent(i: &Img) -> Result<(u64, usize, u64, u64), Error> {
    let (a, _) = file_extent(i, A_LEN)?;
    let fe = i
        .items_of(10, "FREE_SPACE_EXTENT")
        .filter(|v| v.u("key.objectid").is_ok_and(|s| s > a))
        .min_by_key(|v| v.u("key.objectid").unwrap_or(u64::MAX))
        .ok_or_else(|| missing("a free extent after the data"))?;
    Ok((fe.u("block")?, fe.u("slot")? as usize, fe.u("key.objectid")?, fe.u("key.offset")?))
}

/// Moves the data block group's free extent to `start` with `len`.
fn move_free_extent(i: &Img, f: impl FnOnce(u64, u64) -> (u64, u64)) -> Result<(), Error> {
    let (leaf, slot, s, len) = data_free_extent(i)?;
    let (start, len) = f(s, len);
    i.edit_leaf(leaf, |items| {
        items[slot].key.objectid = start;
        items[slot].key.offset = len;
    })
}

/// Edits the data block group's FREE_SPACE_INFO (the last info before its free extent): `f`
/// gets the items and the info's slot.
fn free_space_info(i: &Img, f: impl FnOnce(&mut Vec<LeafItem>, usize)) -> Result<(), Error> {
    let (leaf, slot, _, _) = data_free_extent(i)?;
    let mut found = false;
    i.edit_leaf(leaf, |items| {
        if let Some(at) = (0..slot).rev().find(|&j| items[j].key.ty == FREE_SPACE_INFO) {
            found = true;
            f(items, at);
        }
    })?;
    if found {
        Ok(())
    } else {
        Err(missing("the data block group's free space info"))
    }
}

/// A data sector of an uncompressed regular extent that has a csum.
fn checksummed_sector(i: &Img) -> Result<u64, Error> {
    let csums: Vec<(u64, u64)> = i.items_of(7, "EXTENT_CSUM").filter_map(|v| Some((v.u("start").ok()?, v.u("end").ok()?))).collect();
    i.items_of(5, "EXTENT_DATA")
        .filter(|v| v["extent_type_text"] == "regular" && v["compression"] == 0 && v["disk_bytenr"].as_u64().unwrap_or(0) != 0)
        .filter_map(|v| Some(v.u("disk_bytenr").ok()? + v.u("offset").ok()?))
        .find(|l| csums.iter().any(|c| c.0 <= *l && *l < c.1))
        .ok_or_else(|| missing("a checksummed data sector"))
}

/// Flips a data byte of the first RAID1 mirror, or of both.
fn raid1_flip(i: &Img, both: bool) -> Result<(), Error> {
    let sector = checksummed_sector(i)?;
    if i.copies(sector)?.len() != 2 {
        return Err(Error::Unsupported("the sector is not on two mirrors".into()));
    }
    i.flip(sector + 100, both)
}

/// Flips a RAID5 data byte, and its row's parity too if `parity`.
fn raid5_flip(i: &Img, parity: bool) -> Result<(), Error> {
    let ((dev, p), (pdev, pp)) = i.raid5(checksummed_sector(i)? + 10)?;
    i.flip_at(dev, p)?;
    if parity {
        i.flip_at(pdev, pp)?;
    }
    Ok(())
}

/// Flips the parity byte of a checksummed RAID5 data byte, the data left as it was.
fn raid5_flip_parity(i: &Img) -> Result<(), Error> {
    let (_, (pdev, pp)) = i.raid5(checksummed_sector(i)? + 10)?;
    i.flip_at(pdev, pp)
}

/// Rewrites the first cache entry that follows allocated space as `f(offset, bytes)` says, and
/// the page's crc.
fn cache_entry_edit(i: &Img, f: impl Fn(u64, u64) -> (u64, u64)) -> Result<(), Error> {
    let (logical, pages) = cache_page0(i)?;
    let (dev, p) = *i.copies(logical)?.first().ok_or_else(|| missing("the cache page"))?;
    let mut page = i.read(dev, p, 4096)?;
    let crcs = CACHE_CRC * pages as usize;
    let e = (0..9).map(|k| crcs + CACHE_GENERATION + CACHE_ENTRY * k).find(|&e| allocated(i, le64(&page, e) - SECTOR)).ok_or_else(|| missing("an entry after allocated space"))?;
    let (off, bytes) = f(le64(&page, e), le64(&page, e + 8));
    put64(&mut page, e, off);
    put64(&mut page, e + 8, bytes);
    let crc = crc32c::crc32c(&page[crcs..]);
    put32(&mut page, 0, crc);
    i.write(dev, p, &page)
}

/// The first page of the v1 space cache of the first block group with a cache: (logical, pages).
fn cache_page0(i: &Img) -> Result<(u64, u64), Error> {
    let hdr = i.find("a v1 cache header", |v| v["tree"] == 1 && v["key"]["objectid"] == FREE_SPACE_OBJECTID)?;
    let ino = hdr.u("location.objectid")?;
    let fe = i.find("the cache inode's extent", |v| v["tree"] == 1 && v["item_type"] == "EXTENT_DATA" && v["key"]["objectid"] == ino && v["key"]["offset"] == 0)?;
    let size = i.find("the cache inode", |v| v["tree"] == 1 && v["item_type"] == "INODE_ITEM" && v["key"]["objectid"] == ino)?.u("size")?;
    Ok((fe.u("disk_bytenr")? + fe.u("offset")?, size.div_ceil(4096)))
}

/// The v1 space cache page layout (the kernel's `free-space-cache.c`, not an on-disk struct of
/// the headers): page 0 starts with one crc32c per page, then the 8-byte generation, then
/// entries of `btrfs_free_space_entry` (offset u64, bytes u64, type u8).
const CACHE_CRC: usize = 4;
const CACHE_GENERATION: usize = 8;
const CACHE_ENTRY: usize = 17;

/// Whether `l` lies in an allocated extent (extent tree items of the dump).
fn allocated(i: &Img, l: u64) -> bool {
    let ns = i.nodesize as u64;
    i.items_of(2, "METADATA_ITEM").chain(i.items_of(2, "EXTENT_ITEM")).any(|v| {
        let (Ok(s), Ok(off)) = (v.u("key.objectid"), v.u("key.offset")) else { return false };
        let len = if v["key"]["type"] == METADATA_ITEM_KEY { ns } else { off };
        s <= l && l < s + len
    })
}

fn is(v: &Value, tree: u64, t: &str) -> bool {
    v["tree"] == tree && v["item_type"] == t
}

pub(super) fn rows() -> Vec<Corruption> {
    use Family::*;
    vec![
        row("csum-overlapping-items", Csum, Base::MkfsCsum, &["btrfs.csum_overlap"], |i| split_csum(i, file_extent(i, A_LEN)?.0 + 8 * SECTOR, -1)),
        row("csum-for-no-extent", Csum, Base::MkfsCsum, &["btrfs.csum_no_extent"], |i| {
            // A csum item for free space of the data block group, 1 MiB past the last csum,
            // appended to the last csum leaf so keys stay in order.
            let last = i.items_of(7, "EXTENT_CSUM").max_by_key(|v| v.u("end").unwrap_or_default()).ok_or_else(|| missing("a csum item"))?;
            let (leaf, end) = (last.u("block")?, last.u("end")?);
            i.edit_leaf(leaf, |items| {
                if let Some(k) = items.last().map(|it| it.key) {
                    items.push(LeafItem { key: Key { offset: end + (1 << 20), ..k }, data: vec![0x11; 2 * CS] });
                }
            })
        }),
        row("csum-missing-at-extent-end", Csum, Base::MkfsCsum, &["btrfs.csum_missing"], |i| {
            // Drop the csum of b's last sector and move the rest of the item up by one sector.
            let (b, _) = file_extent(i, B_LEN)?;
            let (leaf, slot, start) = csum_item_of(i, b)?;
            let last = b + B_LEN - SECTOR;
            let k = ((last - start) / SECTOR) as usize;
            i.edit_leaf(leaf, |items| {
                let LeafItem { key, data } = items[slot].clone();
                let second = data[(k + 1) * CS..].to_vec();
                items[slot].data.truncate(k * CS);
                if !second.is_empty() {
                    items.insert(slot + 1, LeafItem { key: Key { offset: last + SECTOR, ..key }, data: second });
                }
            })
        }),
        row("csum-partial-gap-at-extent-start", Csum, Base::MkfsCsum, &["btrfs.csum_missing"], |i| {
            let (a, _) = file_extent(i, A_LEN)?;
            let (_, _, start) = csum_item_of(i, a)?;
            if a - start < 2 * SECTOR {
                return Err(Error::Unsupported("a's extent starts its csum item".into()));
            }
            split_csum(i, a, 1)?;
            // The finding names the gap and the extent it opens.
            i.expect_field("btrfs.csum_missing", "location.logical", a);
            i.expect_field("btrfs.csum_missing", "context.length", SECTOR);
            i.expect_field("btrfs.csum_missing", "context.extent", a);
            Ok(())
        })
        .why("the gap btrfs check misses: csums begin one sector after the extent's start; btrfs-progs 6.2 `check --readonly` exits 0 (it looks up the csum item at or before the extent start and counts from there), the kernel fails every read of that sector"),
        row("csum-leaf-lost", Csum, Base::MkfsCsum, &["btrfs.tree_block_bytenr=1:error", "btrfs.lost_subtree_echoes=1:info"], |i| {
            // Every copy of the csum tree's leaf says it is another block: the walk cannot
            // use it, and the csums it held are unknown.
            let (leaf, _, _) = csum_item_of(i, file_extent(i, A_LEN)?.0)?;
            i.edit_block(leaf, Copies::All, true, |b| {
                let at = offset_of!(Header, bytenr);
                let wrong = le64(b, at).wrapping_add(1 << 20);
                put64(b, at, wrong);
            })
        })
        .why("the file extents whose csums the lost leaf held are not called csum_missing: that would only echo the lost leaf (one info says how many were left out)"),
        row("csum-on-nodatasum-inode", Csum, Base::MkfsCsum, &["btrfs.csum_unexpected"], |i| {
            let (_, ino) = file_extent(i, A_LEN)?;
            let inode = i.find("the inode item", |v| is(v, 5, "INODE_ITEM") && v["key"]["objectid"] == ino)?;
            // NODATASUM | NODATACOW.
            i.edit_item(&inode, |d| d[offset_of!(InodeItem, flags)] |= 0x3)
        }),
        row("csum-item-bad-size", Csum, Base::MkfsCsum, &["btrfs.csum_item_size", "btrfs.csum_missing"], |i| {
            let (leaf, slot, _) = csum_item_of(i, file_extent(i, A_LEN)?.0)?;
            i.edit_leaf(leaf, |items| {
                items[slot].data.pop();
            })
        })
        .why("a csum item whose size is not a multiple of the csum size: its csums cannot be used, so the sectors it should cover have none"),
        row("csum-on-prealloc-extent", Csum, Base::KRich, &["btrfs.csum_unexpected", ORPHAN], |i| {
            let csums: Vec<(u64, u64, u64, usize)> = i
                .items_of(7, "EXTENT_CSUM")
                .filter_map(|v| Some((v.u("start").ok()?, v.u("end").ok()?, v.u("block").ok()?, v.u("slot").ok()? as usize)))
                .collect();
            let target = i
                .items_of(5, "EXTENT_DATA")
                .filter(|v| v["extent_type_text"] == "prealloc")
                .filter_map(|v| Some(v.u("disk_bytenr").ok()? + v.u("offset").ok()?))
                .find(|l| !csums.iter().any(|c| c.0 <= *l && *l < c.1 + SECTOR) && csums.iter().any(|c| c.1 < *l))
                .ok_or_else(|| missing("an unwritten prealloc sector after some csum"))?;
            // Inserted right after the last csum item before it, in that item's leaf.
            let before = *csums.iter().filter(|c| c.1 < target).max_by_key(|c| c.0).ok_or_else(|| missing("a csum item before"))?;
            i.edit_leaf(before.2, |items| {
                let key = Key { offset: target, ..items[before.3].key };
                items.insert(before.3 + 1, LeafItem { key, data: vec![0x22; CS] });
            })
        })
        .why("a csum for a sector of a prealloc extent nobody has written (k-rich: fallocated files)"),
        row("free-space-extent-is-allocated", FreeSpace, Base::MkfsCsum, &["btrfs.free_space_allocated"], |i| {
            move_free_extent(i, |s, len| (s - SECTOR, len + SECTOR))
        }),
        row("free-space-range-missing", FreeSpace, Base::MkfsCsum, &["btrfs.free_space_missing"], |i| move_free_extent(i, |s, len| (s + SECTOR, len - SECTOR))),
        row("free-space-extent-outside-block-group", FreeSpace, Base::MkfsCsum, &["btrfs.free_space_outside"], |i| {
            move_free_extent(i, |s, len| (s, len + SECTOR))
        })
        .why("the data block group's last free extent reaches past its end"),
        row("free-space-extent-count-wrong", FreeSpace, Base::MkfsCsum, &["btrfs.free_space_extent_count"], |i| {
            free_space_info(i, |items, at| {
                let at_count = offset_of!(FreeSpaceInfo, extent_count);
                let c = le32(&items[at].data, at_count) + 1;
                put32(&mut items[at].data, at_count, c);
            })
        }),
        row("free-space-info-missing", FreeSpace, Base::MkfsCsum, &["btrfs.free_space_info_missing"], |i| {
            // The data block group's info and every extent item after it, up to the next info.
            free_space_info(i, |items, at| {
                let end = (at + 1..items.len()).find(|&j| items[j].key.ty == FREE_SPACE_INFO).unwrap_or(items.len());
                items.drain(at..end);
            })
        }),
        row("free-space-flags-say-bitmaps", FreeSpace, Base::MkfsCsum, &["btrfs.free_space_flags"], |i| {
            free_space_info(i, |items, at| items[at].data[offset_of!(FreeSpaceInfo, flags)] |= 1) // USING_BITMAPS
        }),
        row("free-space-extents-overlap", FreeSpace, Base::MkfsCsum, &["btrfs.free_space_overlap", "btrfs.free_space_allocated"], |i| {
            let exts: Vec<&Value> = i.items_of(10, "FREE_SPACE_EXTENT").collect();
            let end = |v: &Value| v.u("key.objectid").unwrap_or_default() + v.u("key.offset").unwrap_or_default();
            let w = exts
                .windows(2)
                .find(|w| w[0]["block"] == w[1]["block"] && end(w[0]) < w[1].u("key.objectid").unwrap_or_default())
                .ok_or_else(|| missing("two free extents with allocated space between them"))?;
            let (block, slot, new_start, new_end) = (w[1].u("block")?, w[1].u("slot")? as usize, end(w[0]) - SECTOR, end(w[1]));
            i.edit_leaf(block, |items| {
                items[slot].key.objectid = new_start;
                items[slot].key.offset = new_end - new_start;
            })
        })
        .why("two free space extents of the metadata block group made to overlap: the second now also claims the allocated blocks between them"),
        row(
            "space-cache-v1-entry-covers-allocated-space",
            FreeSpace,
            Base::KSpacecacheV1,
            &["btrfs.free_space_allocated", "btrfs.free_space_missing"],
            |i| cache_entry_edit(i, |off, bytes| (off - SECTOR, bytes)),
        )
        .why("the entry slides one sector down into allocated space: the cache's total is unchanged, so the kernel trusts it and would hand that sector out, and the entry's last sector is no longer listed"),
        row("space-cache-v1-wrong-total-is-discarded", FreeSpace, Base::KSpacecacheV1, &["btrfs.space_cache_invalid"], |i| {
            cache_entry_edit(i, |off, bytes| (off - SECTOR, bytes + SECTOR))
        })
        .totals(0, 1)
        .why("the entry grows one sector into allocated space: the cache now holds more free bytes than the block group item leaves, which the kernel checks first (\"has wrong amount of free space\") and drops the cache. A warning: btrfs check calls more free space than the block group can have an error (\"could leads to serious corruption\"), less (what a crash leaves, tests/btrfs_crash.rs) it passes"),
        row("space-cache-v1-bitmap-count-high", FreeSpace, Base::KSpacecacheV1, &["btrfs.space_cache_bad=1:warning"], |i| {
            let h = i.find("a v1 cache header", |v| v["tree"] == 1 && v["key"]["objectid"] == FREE_SPACE_OBJECTID && v["key"]["type"] == 0)?;
            i.edit_item(&h, |d| put64(d, offset_of!(FreeSpaceHeader, num_bitmaps), 5))
        })
        .exact()
        .why("a v1 cache header counts 5 bitmaps its cache does not hold: the kernel counts num_bitmaps down as it meets bitmap entries and never looks at what is left, so it loads the cache; btrfs check 6.2 too. A warning (one bitmap more than the count would trip the kernel's ASSERT: an error; found by the differential fuzz on k-spacecache-v1)"),
        row("space-cache-v1-bad-crc-is-discarded", FreeSpace, Base::KSpacecacheV1, &["btrfs.space_cache_invalid"], |i| {
            let (logical, pages) = cache_page0(i)?;
            let (dev, p) = *i.copies(logical)?.first().ok_or_else(|| missing("the cache page"))?;
            i.flip_at(dev, p + CACHE_CRC as u64 * pages + CACHE_GENERATION as u64)
        })
        .totals(0, 0)
        .why("a v1 cache page whose crc fails is not used, as the kernel does: not an error"),
        row("data-sector-flipped", DataCsum, Base::MkfsCsum, &[], |i| i.flip(file_extent(i, A_LEN)?.0 + 5 * SECTOR + 17, true))
            .why("without --check-data-csum nothing reads data"),
        row("data-sector-flipped-check-data-csum", DataCsum, Base::MkfsCsum, &["btrfs.data_csum_mismatch"], |i| {
            i.flip(file_extent(i, A_LEN)?.0 + 5 * SECTOR + 17, true)
        })
        .data_csum(1, 0),
        row("data-damage-across-work-units", DataCsum, Base::MkfsCsum, &["btrfs.data_csum_mismatch=2"], |i| {
            let (start, end) = i
                .items_of(7, "EXTENT_CSUM")
                .filter_map(|v| Some((v.u("start").ok()?, v.u("end").ok()?)))
                .max_by_key(|(s, e)| e - s)
                .ok_or_else(|| missing("a csum item"))?;
            if end - start < 10 << 20 {
                return Err(missing("a csum item covering 10 MiB"));
            }
            overwrite_data(i, start + SECTOR, 9 << 20)?;
            overwrite_data(i, start + SECTOR + (9 << 20) + SECTOR, SECTOR)
        })
        .data_csum(2, 0)
        .why("9 MiB of data overwritten, verified by parallel workers in units of 4 MiB, is one finding; one good sector after it, so the next bad sector is another"),
        row("raid1-one-bad-mirror", DataCsum, Base::KRaid1, &["btrfs.data_csum_mismatch", ORPHAN], |i| raid1_flip(i, false))
            .data_csum(0, 1)
            .why("the other mirror is good: a warning"),
        row("raid1-both-mirrors-bad", DataCsum, Base::KRaid1, &["btrfs.data_csum_mismatch", ORPHAN], |i| raid1_flip(i, true))
            .data_csum(1, 0),
        row("raid5-bad-data-rebuilt-from-parity", DataCsum, Base::KRaid5, &["btrfs.data_csum_mismatch", ORPHAN], |i| raid5_flip(i, false))
            .data_csum(0, 1)
            .why("the parity rebuilds the sector (the kernel repairs it on read): a warning"),
        row("raid5-data-and-parity-bad", DataCsum, Base::KRaid5, &["btrfs.data_csum_mismatch", ORPHAN], |i| raid5_flip(i, true))
            .data_csum(1, 0),
        row("raid5-stale-parity", DataCsum, Base::KRaid5, &["btrfs.data_csum_mismatch", ORPHAN], |i| raid5_flip_parity(i))
            .data_csum(0, 2)
            .args(&["--check-data-csum", "--all-copies"])
            .why("one parity byte flipped, the data good, with --all-copies: the parity no longer rebuilds the sector at that offset of either data stripe of its row (k-raid5 has two per row), two warnings (scrub repairs parity; until then a failed device loses them)"),
        row("raid5-stale-parity-unread", DataCsum, Base::KRaid5, &[ORPHAN], |i| raid5_flip_parity(i))
            .data_csum(0, 0)
            .why("the same without --all-copies: parity is read only when the data is bad, as the kernel reads"),
        row("log-csum-missing", Log, Base::KLogtree, &["btrfs.log_csum_missing", "btrfs.log_replay_pending", ORPHAN], |i| {
            let it = i
                .items_of(TREE_LOG_OBJECTID, "EXTENT_CSUM")
                .find(|v| v.u("slot").is_ok_and(|s| s > 0))
                .ok_or_else(|| missing("a log csum item that is not the leaf's first"))?;
            let (block, slot) = (it.u("block")?, it.u("slot")? as usize);
            i.edit_leaf(block, |items| {
                items.remove(slot);
            })
        })
        .why("a logged extent whose csum item is dropped from the log (k-logtree: fsynced files)"),
        row("log-tree-owner", Log, Base::KLogtree, &["btrfs.owner_mismatch=1:warning"], |i| {
            i.edit_block(log_tree_root(i)?, Copies::All, true, |b| put64(b, offset_of!(Header, owner), 7))
        })
        .exact()
        .why("a log tree leaf whose header names the csum tree as its owner: the kernel verifies the owner of the blocks it reads but skips log trees (btrfs_check_eb_owner), and btrfs check 6.2 does not walk them; nothing reads it, a warning (found by the differential fuzz on k-logtree)"),
        row("log-tree-bytenr", Log, Base::KLogtree, &["btrfs.tree_block_bytenr=1:error"], |i| {
            let at = log_tree_root(i)?;
            i.edit_block(at, Copies::All, true, |b| put64(b, offset_of!(Header, bytenr), at + 65536))
        })
        .exact()
        .why("a log tree leaf that says it lives elsewhere: the kernel refuses the block when it replays the log (\"bad tree block start\") and the mount fails until btrfs rescue zero-log drops the log; btrfs check 6.2 reads only the log root tree's root and exits 0 (found by the differential fuzz on k-logtree)"),
    ]
}
