//! btrfs checks: one walk over every tree feeds every family (one file each); the families
//! accumulate what they need and compare at the end.
//!
//! Families: the superblock copies (`superblock.rs`) and the chunk map bootstrap before the
//! walk; during it (`walker.rs`), tree blocks and parent/child agreement (`tree_block.rs`),
//! extents, block groups, devices, inodes and directories, csums, free space, data csums,
//! root refs, quota groups, and the features in use against the superblock's feature bits.

mod block_group;
pub mod csum;
pub mod data_csum;
mod devices;
mod extent;
mod fast_hash;
mod features;
pub mod free_space;
pub mod inode;
pub mod root_refs;
pub mod qgroup;
pub mod kinds;
mod ranges;
mod root_items;
mod superblock;
mod tree_block;
mod zoned;
pub mod walker;

use super::fs::Filesystem;
use crate::cli::check::CheckOptions;
use crate::findings::{Finding, Report};
use crate::findings::Kind;
use crate::image::DeviceSet;

/// Every btrfs finding kind: the walk's own, then each family's.
pub fn all_kinds() -> Vec<&'static Kind> {
    kinds::ALL
        .iter()
        .chain(extent::ALL)
        .chain(block_group::ALL)
        .chain(devices::ALL)
        .chain(zoned::ALL)
        .chain(inode::ALL)
        .chain(csum::ALL)
        .chain(free_space::ALL)
        .chain(data_csum::ALL)
        .chain(root_refs::ALL)
        .chain(qgroup::ALL)
        .chain(features::ALL)
        .copied()
        .collect()
}

/// Checks a btrfs device set.
pub fn run(set: &DeviceSet, opts: &CheckOptions) -> crate::Result<Report> {
    let fs = Filesystem::open(set)?;
    let mut report = Report::new();
    superblock::check(&fs, &mut report);
    for p in &fs.problems {
        let kind = if p.starts_with("sys_chunk_array") { &kinds::SYS_CHUNK_ARRAY } else { &kinds::CHUNK_BAD };
        report.push(Finding::new(kind, p.clone()));
    }
    for devid in fs.missing_devids() {
        report.push(
            Finding::new(&kinds::DEVICE_MISSING, format!("device {devid} is named by chunk stripes but was not given"))
                .at("device", devid),
        );
    }
    // The families fed by the one walk.
    let mut extent = extent::ExtentTree::new();
    let mut block_groups = block_group::BlockGroups::new();
    let mut devices = devices::Devices::new();
    let mut inodes = inode::Inodes::new();
    let mut csum = csum::Csum::new();
    let mut free_space = free_space::FreeSpace::new();
    let mut data_csum = data_csum::DataCsum::new(opts.check_data_csum);
    let mut root_refs = root_refs::RootRefs::new();
    let mut qgroups = qgroup::Qgroups::new();
    let mut features = features::Features::new();
    // Two groups of about equal work, each on its own thread beside the walk: the inode and
    // directory family is the heaviest, the space accounting families make the other.
    let groups: Vec<walker::Group> = vec![
        vec![&mut inodes, &mut root_refs, &mut qgroups],
        vec![&mut extent, &mut block_groups, &mut devices, &mut csum, &mut free_space, &mut data_csum, &mut features],
    ];
    walker::walk_with_read_ahead(&fs, opts.all_copies, groups, &mut report);
    Ok(report)
}

/// A key as `dump::key_record` shows it, for families that keep only its numbers.
pub(crate) fn key_value(objectid: u64, type_: u8, offset: u64) -> crate::record::Value<'static> {
    let mut r = crate::record::Record::with_capacity(3);
    r.push("objectid", objectid).push("type", type_).push("offset", offset);
    crate::record::Value::Record(r)
}

