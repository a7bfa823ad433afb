//! Quota group rows: the quota tree of k-rich (traditional qgroups, snapshots, a level-1 qgroup
//! 1/100 holding 0/256), of k-squota (simple quotas: btrfs-progs 6.2 cannot open it; 6.19's
//! check found no qgroup difference on it) and of a `mkfs.btrfs -R quota` image. Each edits
//! items of the quota tree (or a subvolume's ROOT_ITEM), key order kept, the block re-checksummed.

use super::image::{add64, le64, missing, put32, put64, put_key, Get, Img, Key};
use super::{row, Base, Corruption, Error, Family};
use ondisk_layouts::btrfs::consts::{FEATURE_INCOMPAT_SIMPLE_QUOTA, INODE_ITEM_KEY, QGROUP_INFO_KEY, QGROUP_LIMIT_KEY, QGROUP_RELATION_KEY};
use ondisk_layouts::btrfs::superblock::SuperBlock;
use ondisk_layouts::btrfs::items::{QgroupInfoItem, QgroupStatusItem, RootItem, QGROUP_LEVEL_SHIFT, QGROUP_STATUS_FLAG_INCONSISTENT};
use serde_json::Value;
use std::mem::{offset_of, size_of};

const QUOTA_TREE: u64 = 8;
const ROOT_TREE: u64 = 1;
/// Qgroup 1/100 of k-rich.
const L1_100: u64 = (1 << QGROUP_LEVEL_SHIFT) | 100;
const RFER: usize = offset_of!(QgroupInfoItem, rfer);
const EXCL: usize = offset_of!(QgroupInfoItem, excl);
/// Simple quotas' `enable_gen` follows the status item's older fields.
const ENABLE_GEN: usize = size_of::<QgroupStatusItem>();
/// The last transaction of k-squota is 13: an enable generation past every extent.
const SQUOTA_ENABLE_GEN: u64 = 9;

const MISMATCH: &str = "btrfs.qgroup_count_mismatch=1:error";

/// The quota tree item of one type whose key offset is `id` (INFO and LIMIT: the qgroup).
fn quota_item(i: &Img, item_type: &str, id: u64) -> Result<Value, Error> {
    i.find(item_type, |v| v["tree"] == QUOTA_TREE && v["item_type"] == item_type && v["key"]["offset"] == id)
}

fn status(i: &Img) -> Result<Value, Error> {
    i.find("the QGROUP_STATUS item", |v| v["tree"] == QUOTA_TREE && v["item_type"] == "QGROUP_STATUS")
}

/// The QGROUP_RELATION item from 1/100 (to 0/256).
fn relation(i: &Img) -> Result<Value, Error> {
    i.find("1/100's QGROUP_RELATION", |v| v["tree"] == QUOTA_TREE && v["item_type"] == "QGROUP_RELATION" && v["key"]["objectid"] == L1_100)
}

/// Adds `n` to a counter of a qgroup's INFO item.
fn info_add(i: &Img, id: u64, at: usize, n: u64) -> Result<(), Error> {
    i.edit_item(&quota_item(i, "QGROUP_INFO", id)?, |d| add64(d, at, n))
}

/// Renames qgroup 0/`from` (its INFO and LIMIT items) 0/`to`: `to` must sort where `from` did.
fn rename(i: &Img, from: u64, to: u64) -> Result<(), Error> {
    let limit = quota_item(i, "QGROUP_LIMIT", from)?;
    i.edit_key(&limit, Key { objectid: 0, ty: QGROUP_LIMIT_KEY, offset: to })?;
    let info = quota_item(i, "QGROUP_INFO", from)?;
    i.edit_key(&info, Key { objectid: 0, ty: QGROUP_INFO_KEY, offset: to })
}

/// Edits the data of a subvolume's ROOT_ITEM.
fn root_item(i: &Img, id: u64, f: impl FnOnce(&mut [u8])) -> Result<(), Error> {
    let it = i.find("the subvolume's ROOT_ITEM", |v| v["tree"] == ROOT_TREE && v["item_type"] == "ROOT_ITEM" && v["key"]["objectid"] == id)?;
    i.edit_item(&it, f)
}

/// refs 0: deleted, waiting for the cleaner.
fn deleted(d: &mut [u8]) {
    put32(d, offset_of!(RootItem, refs), 0);
}

/// Every row: exactly the kinds listed, infos too (beyond the base's own).
pub(super) fn rows() -> Vec<Corruption> {
    use Family::Qgroup;
    let rows = vec![
        row("qgroup-info-rfer", Qgroup, Base::KRich, &[MISMATCH], |i| info_add(i, 257, RFER, 4096)).why("0/257's referenced count is a sector off"),
        row("qgroup-info-excl", Qgroup, Base::KRich, &[MISMATCH], |i| info_add(i, 5, EXCL, 4096)),
        row("qgroup-info-level1", Qgroup, Base::KRich, &[MISMATCH], |i| info_add(i, L1_100, EXCL, 16384))
            .why("a level-1 qgroup's count is the sum over its members: it is computed too"),
        row("qgroup-relation-unpaired", Qgroup, Base::KRich, &["btrfs.qgroup_relation_unpaired=2:error"], |i| {
            i.edit_key(&relation(i)?, Key { objectid: L1_100, ty: QGROUP_RELATION_KEY, offset: 257 })
        })
        .why("1/100 -> 0/256 becomes 1/100 -> 0/257: neither item has its mirror now"),
        row("qgroup-relation-dangling", Qgroup, Base::KRich, &["btrfs.qgroup_relation_unpaired=2:error", "btrfs.qgroup_relation_dangling=1:warning"], |i| {
            i.edit_key(&relation(i)?, Key { objectid: L1_100, ty: QGROUP_RELATION_KEY, offset: 300 })
        })
        .why("1/100 -> 0/300: no mirror, and no qgroup 0/300"),
        row("qgroup-inconsistent-flag", Qgroup, Base::KRich, &["btrfs.qgroup_rescan_needed=1:info"], |i| {
            info_add(i, 257, RFER, 4096)?;
            let flags = offset_of!(QgroupStatusItem, flags);
            i.edit_item(&status(i)?, |d| put64(d, flags, le64(d, flags) | QGROUP_STATUS_FLAG_INCONSISTENT))
        })
        .why("a count is wrong, but the status says INCONSISTENT: the kernel knows, a rescan is due"),
        row("qgroup-status-version", Qgroup, Base::KRich, &["btrfs.qgroup_status_bad=1:error"], |i| {
            i.edit_item(&status(i)?, |d| put64(d, offset_of!(QgroupStatusItem, version), 2))
        }),
        row("qgroup-status-missing", Qgroup, Base::KRich, &["btrfs.qgroup_status_bad=1:error"], |i| i.delete_item(&status(i)?)),
        row("qgroup-limit-without-info", Qgroup, Base::KRich, &["btrfs.qgroup_limit_without_info=1:error", "btrfs.qgroup_relation_dangling=2:warning"], |i| {
            i.delete_item(&quota_item(i, "QGROUP_INFO", L1_100)?)
        })
        .why("1/100's INFO goes: its LIMIT has no INFO, its relations name a missing qgroup"),
        row("qgroup-missing", Qgroup, Base::KRich, &["btrfs.qgroup_missing=1:warning"], |i| {
            // The later slot first: the earlier one's slot stays as the dump saw it.
            i.delete_item(&quota_item(i, "QGROUP_LIMIT", 257)?)?;
            i.delete_item(&quota_item(i, "QGROUP_INFO", 257)?)
        })
        .why("subvolume 257 has no qgroup"),
        row("qgroup-orphan", Qgroup, Base::KRich, &["btrfs.qgroup_orphan=1:warning", MISMATCH, "btrfs.qgroup_missing=1:warning"], |i| rename(i, 259, 260))
            .why("0/259 renamed 0/260: an orphan qgroup whose counts are now wrong (nothing reaches 260), and subvolume 259 without one"),
        row("qgroup-deleted-subvolume", Qgroup, Base::KRich, &[], |i| root_item(i, 259, deleted)).why(
            "259 deleted, waiting for the cleaner: its tree is whole until the cleaner starts and is walked whole, so the counts (which the kernel changes only as the cleaner frees extents) are compared, and agree",
        ),
        row("qgroup-dropping-subvolume", Qgroup, Base::KRich, &["btrfs.qgroup_not_verified=1:info", "btrfs.subvolume_dropping=1:info"], |i| {
            root_item(i, 259, |d| {
                deleted(d);
                put_key(d, offset_of!(RootItem, drop_progress), Key { objectid: 256, ty: INODE_ITEM_KEY, offset: 0 });
                d[offset_of!(RootItem, drop_level)] = 0;
            })
        })
        .why("the cleaner started (drop_progress at the tree's first key): only part of a tree being dropped is walked, so no count sharing with it can be computed"),
        row("qgroup-mkfs-info-excl", Qgroup, Base::MkfsQuota, &[MISMATCH], |i| info_add(i, 5, EXCL, 4096)),
        row("squota-info-rfer", Qgroup, Base::KSquota, &[MISMATCH], |i| info_add(i, 256, RFER, 4096)).why("simple quotas: a charge off by one sector"),
        row("squota-enable-gen-late", Qgroup, Base::KSquota, &["btrfs.qgroup_count_mismatch=2:error"], |i| {
            let s = status(i)?;
            if s.u("enable_gen")? != SQUOTA_ENABLE_GEN {
                return Err(missing("k-squota's enable_gen 9"));
            }
            i.edit_item(&s, |d| put64(d, ENABLE_GEN, 14))?;
            i.expect_every("btrfs.qgroup_count_mismatch", "context.expected.rfer", 0);
            i.expect_every("btrfs.qgroup_count_mismatch", "context.expected.excl", 0);
            Ok(())
        })
        .why("enable_gen moved past the last transaction (13): no extent is charged, every count is wrong"),
        row("squota-orphan-is-info", Qgroup, Base::KSquota, &["btrfs.qgroup_orphan=1:info", "btrfs.qgroup_missing=1:warning", MISMATCH], |i| {
            rename(i, 256, 257)?;
            i.expect_field("btrfs.qgroup_orphan", "context.qgroup", "0/257");
            Ok(())
        })
        .why("simple quotas keep a deleted subvolume's qgroup while extents it owns live on: an orphan is only info; subvolume 256 lacks a qgroup and 0/257 (owning nothing) is charged wrongly"),
        row("squota-incompat-bit-cleared", Qgroup, Base::KSquota, &["btrfs.feature_undeclared=2:error", "btrfs.qgroup_not_verified=1:info"], |i| {
            super::superblock::super64(i, offset_of!(SuperBlock, incompat_flags), |f| f & !FEATURE_INCOMPAT_SIMPLE_QUOTA)?;
            i.expect_every("btrfs.feature_undeclared", "context.feature", "incompat SIMPLE_QUOTA");
            Ok(())
        })
        .totals(1, 1)
        .why("without the SIMPLE_QUOTA bit the kernel takes the 94 data extents' owner refs for invalid inline refs and aborts the transaction that frees one (error); the status's SIMPLE_MODE without the bit is what `quota enable --simple` left before kernel 6.13, which committed the status first: a warning (that kernel mounts it in simple mode, one without simple quotas counts wrongly); the counts are not compared"),
    ];
    rows.into_iter().map(Corruption::exact).collect()
}
