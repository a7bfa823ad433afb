//! Superblock fields the kernel validates before it mounts (`btrfs_validate_super`), flags and
//! feature bits, and features in use that the superblock does not declare.

use super::image::{le64, put32, put64, Img};
use super::{row, Base, Corruption, Error, Family};
use ondisk_layouts::btrfs::consts::*;
use ondisk_layouts::btrfs::superblock::{DevItem, SuperBlock};
use std::mem::offset_of;

/// Sets `field` to `f(its value)` in every superblock copy.
pub(super) fn super64(i: &Img, field: usize, f: impl Fn(u64) -> u64) -> Result<(), Error> {
    i.edit_super(|b| {
        let v = f(le64(b, field));
        put64(b, field, v)
    })
}

pub(super) fn rows() -> Vec<Corruption> {
    use Family::Superblock;
    vec![
        row("super-stripesize-not-power-of-two", Superblock, Base::MkfsFiles, &["btrfs.super_bad_geometry=1"], |i| {
            i.edit_super(|b| put32(b, offset_of!(SuperBlock, stripesize), 4097))
        })
        .exact()
        .why("the kernel and btrfs check both refuse it (\"invalid stripesize\"); stripesize 8192 would be a power of two the kernel mounts, though btrfs check 6.2 wants 4096 or the sectorsize"),
        row("super-stripesize-8192", Superblock, Base::MkfsFiles, &["btrfs.super_bad_geometry=1:warning"], |i| {
            i.edit_super(|b| put32(b, offset_of!(SuperBlock, stripesize), 8192))
        })
        .exact()
        .why("a power of two, which is all the kernel asks of a field it never uses; btrfs check 6.2 refuses anything but 4096 or the sectorsize: a warning (found by the differential fuzz)"),
        row("super-leafsize-not-nodesize", Superblock, Base::MkfsFiles, &["btrfs.super_bad_geometry=1"], |i| {
            i.edit_super(|b| put32(b, offset_of!(SuperBlock, leafsize), 32768))
        })
        .exact()
        .why("the kernel refuses a leafsize other than the nodesize (\"invalid leafsize\"); btrfs check 6.2 does not compare them and exits 0"),
        row("super-log-root-level-too-big", Superblock, Base::MkfsFiles, &["btrfs.super_bad_geometry=1"], |i| {
            i.edit_super(|b| b[offset_of!(SuperBlock, log_root_level)] = 8)
        })
        .exact()
        .why("no log tree, but its level is 8 = BTRFS_MAX_LEVEL: the kernel and btrfs check refuse it (\"log_root level too big\")"),
        row("super-dev-item-fsid", Superblock, Base::MkfsFiles, &["btrfs.super_dev_item=1:error"], |i| {
            i.edit_super(|b| b[offset_of!(SuperBlock, dev_item) + offset_of!(DevItem, fsid)] ^= 1)
        })
        .exact()
        .why("the device's superblock names another filesystem in dev_item.fsid: the kernel and btrfs check refuse it (\"dev_item UUID does not match\")"),
        row("super-flag-changing-fsid", Superblock, Base::MkfsFiles, &["btrfs.super_flags=1:error"], |i| {
            super64(i, offset_of!(SuperBlock, flags), |f| f | SUPER_FLAG_CHANGING_FSID_V2)
        })
        .exact()
        .why("a metadata_uuid change cut off half way: the kernel refuses the flag (\"unrecognized or unsupported super flag\", rescue=ignoresuperflags overrides); btrfs check 6.2 opens it and exits 0, though it refuses the older CHANGING_FSID (\"Filesystem UUID change in progress\")"),
        row("super-flag-error", Superblock, Base::MkfsFiles, &["btrfs.super_flags=1:warning"], |i| {
            super64(i, offset_of!(SuperBlock, flags), |f| f | SUPER_FLAG_ERROR)
        })
        .exact()
        .why("the ERROR flag is one the kernel accepts: a warning that it once recorded an error"),
        row("super-unknown-incompat", Superblock, Base::MkfsFiles, &["btrfs.super_flags=1:error"], |i| {
            super64(i, offset_of!(SuperBlock, incompat_flags), |f| f | 1 << 20)
        })
        .exact()
        .why("an incompat bit nobody knows: the kernel refuses to mount, and no reader can trust its reading of the format"),
        row("super-unknown-compat-ro", Superblock, Base::MkfsFiles, &["btrfs.super_flags=1:warning"], |i| {
            super64(i, offset_of!(SuperBlock, compat_ro_flags), |f| f | 1 << 20)
        })
        .exact()
        .why("an unknown compat_ro bit: the kernel still mounts read-only, so a warning"),
        row("super-bgt-flag-cleared", Superblock, Base::KBgt, &["btrfs.feature_undeclared=1:error"], |i| {
            super64(i, offset_of!(SuperBlock, compat_ro_flags), |f| f & !FEATURE_COMPAT_RO_BLOCK_GROUP_TREE)
        })
        .exact()
        .why("block groups in the block group tree, but no BLOCK_GROUP_TREE bit: the kernel and btrfs check look in the extent tree and find no block group for any chunk"),
        row("super-bgt-without-no-holes", Superblock, Base::KBgt, &["btrfs.super_flags=1:error"], |i| {
            super64(i, offset_of!(SuperBlock, incompat_flags), |f| f & !FEATURE_INCOMPAT_NO_HOLES)
        })
        .exact()
        .why("the kernel requires free-space-tree and no-holes with the block group tree; the files of k-bgt have no holes, so nothing else changes"),
        row("super-skinny-flag-cleared", Superblock, Base::MkfsFiles, &["btrfs.feature_undeclared=1:error"], |i| {
            super64(i, offset_of!(SuperBlock, incompat_flags), |f| f & !FEATURE_INCOMPAT_SKINNY_METADATA)
        })
        .exact()
        .why("METADATA_ITEMs without SKINNY_METADATA: the kernel looks up tree blocks by EXTENT_ITEM key and misses every one"),
        row("super-total-bytes-small", Superblock, Base::MkfsFiles, &["btrfs.super_total_bytes=1"], |i| {
            super64(i, offset_of!(SuperBlock, total_bytes), |t| t - 4096)
        })
        .exact()
        .why("below the device's size: the kernel refuses to mount (\"super_total_bytes mismatch with fs_devices total_rw_bytes\"), btrfs check says \"super total bytes smaller than real device(s) size\""),
        row("super-uuid-tree-generation-ahead", Superblock, Base::MkfsFiles, &["btrfs.super_root_generation=1:warning"], |i| {
            i.edit_super(|b| {
                let g = le64(b, offset_of!(SuperBlock, generation));
                put64(b, offset_of!(SuperBlock, uuid_tree_generation), g + 1)
            })
        })
        .exact()
        .why("the kernel rescans the UUID tree whenever this differs from the generation and btrfs check exits 0: a warning, not an error"),
    ]
}
