//! Zoned layout, part of the devices family: a filesystem with the ZONED incompat bit places
//! every dev extent on whole zones, and the kernel refuses to mount one that does not.
//!
//! An image is a regular file, so the kernel emulates the zones (`btrfs_get_dev_zone_info` on a
//! device that is not zoned): the zone size is the length of the first dev extent from
//! (1, DEV_EXTENT, 0) on (`calculate_emulated_zone_size`). Against it, at mount:
//! - the zone size must lie in 4 MiB..=8 GiB (`BTRFS_MIN_ZONE_SIZE`, `BTRFS_MAX_ZONE_SIZE`;
//!   -EINVAL);
//! - every dev extent's offset and length must be multiples of it (`verify_one_dev_extent`:
//!   "zoned: dev extent ... is not aligned to device zone", -EUCLEAN);
//! - every block group's length must be one (`btrfs_load_block_group_zone_info`: "zoned: block
//!   group ... unaligned to zone size", -EIO). Block groups match their chunks exactly or other
//!   findings say so; the chunk lengths are checked.
//!
//! An image of a real zoned device read this way has the same zone size: zoned allocation
//! makes every dev extent exactly one zone (`init_alloc_chunk_ctl_policy_zoned`).
//!
//! All of this needs a kernel built with CONFIG_BLK_DEV_ZONED (distribution kernels are). One
//! built without it never learns a zone size and mounts the filesystem as a regular one: a
//! 6.18 kernel without it mounted the matrix's misaligned image read-only without a word.

use crate::findings::{Finding, Report};
use ondisk_layouts::btrfs::*;

crate::declare_kinds! {
    ZONED_UNALIGNED = "btrfs.zoned_unaligned", Error,
        "a zoned filesystem's dev extent or chunk is not made of whole zones, or its zone size (on an image, the length of the first dev extent, as the kernel emulates zones) lies outside 4 MiB..8 GiB: a kernel with zoned support refuses to mount it (one built without CONFIG_BLK_DEV_ZONED ignores zones and mounts it)";
}

const MIN_ZONE_SIZE: u64 = 4 << 20;
const MAX_ZONE_SIZE: u64 = 8 << 30;

/// One dev extent: devid, physical offset, length.
pub type Extent = (u64, u64, u64);

/// Reports the zoned layout faults of the dev extents `exts` (sorted by devid and offset) and of the chunks
/// (logical, length), when the superblock's incompat flags say ZONED.
pub fn check(incompat: u64, exts: impl Iterator<Item = Extent> + Clone, chunks: impl IntoIterator<Item = (u64, u64)>, report: &mut Report) {
    if incompat & FEATURE_INCOMPAT_ZONED == 0 {
        return;
    }
    // Dev extents of devid 0 (a replace target) sort before the search key.
    let Some((first_devid, first_at, zone)) = exts.clone().find(|e| e.0 >= 1) else {
        return;
    };
    if !(MIN_ZONE_SIZE..=MAX_ZONE_SIZE).contains(&zone) {
        report.push(
            Finding::new(&ZONED_UNALIGNED, format!(
                "zone size {zone} (the length of dev extent [{first_devid} {first_at}]) is outside {MIN_ZONE_SIZE}..={MAX_ZONE_SIZE}"))
            .at("devid", first_devid)
            .at("physical", first_at)
            .at("tree", DEV_TREE_OBJECTID)
            .ctx("zone_size", zone),
        );
        // Every alignment below would be measured against a size the kernel never gets to.
        return;
    }
    for (devid, physical, length) in exts {
        if physical % zone != 0 || length % zone != 0 {
            report.push(
                Finding::new(&ZONED_UNALIGNED, format!(
                    "dev extent [{devid} {physical}] length {length} is not aligned to the zone size {zone}"))
                .at("devid", devid)
                .at("physical", physical)
                .at("tree", DEV_TREE_OBJECTID)
                .at("key", super::key_value(devid, DEV_EXTENT_KEY, physical))
                .ctx("zone_size", zone),
            );
        }
    }
    for (logical, length) in chunks {
        if length % zone != 0 {
            report.push(
                Finding::new(&ZONED_UNALIGNED, format!("chunk [{logical} {length}] length is not a multiple of the zone size {zone}"))
                    .at("logical", logical)
                    .at("tree", CHUNK_TREE_OBJECTID)
                    .ctx("zone_size", zone),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(incompat: u64, exts: &[Extent], chunks: &[(u64, u64)]) -> Vec<String> {
        let mut r = Report::new();
        check(incompat, exts.iter().copied(), chunks.iter().copied(), &mut r);
        r.findings.iter().map(|f| f.message.clone()).collect()
    }

    const Z: u64 = 256 << 20;
    const ZONED: u64 = FEATURE_INCOMPAT_ZONED;

    #[test]
    fn whole_zones_are_clean_and_non_zoned_filesystems_are_not_looked_at() {
        assert!(messages(ZONED, &[(1, 2 * Z, Z), (1, 3 * Z, 2 * Z)], &[(2 * Z, Z), (3 * Z, 2 * Z)]).is_empty());
        assert!(messages(0, &[(1, 2 * Z + 4096, Z)], &[(Z, 4096)]).is_empty());
    }

    #[test]
    fn the_first_dev_extent_of_devid_one_on_sets_the_zone_size() {
        // Devid 0 sorts first and is skipped; devid 1's first extent says 256 MiB.
        let exts = [(0, 4096, 8192), (1, 2 * Z, Z), (1, 3 * Z + (1 << 20), Z)];
        let found = messages(ZONED, &exts, &[(2 * Z, Z), (5 * Z, Z + 4096)]);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("[0 4096]"), "{found:?}");
        assert!(found[1].contains(&format!("[1 {}]", 3 * Z + (1 << 20))), "{found:?}");
        assert!(found[2].starts_with(&format!("chunk [{} {}]", 5 * Z, Z + 4096)), "{found:?}");
    }

    #[test]
    fn a_zone_size_out_of_bounds_is_one_finding() {
        let found = messages(ZONED, &[(1, 1 << 20, 1 << 20), (1, 3 << 20, 5 << 20)], &[(0, 3 << 20)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("zone size 1048576"), "{found:?}");
        assert_eq!(messages(ZONED, &[(1, 16 << 30, 16 << 30)], &[]).len(), 1);
    }
}
