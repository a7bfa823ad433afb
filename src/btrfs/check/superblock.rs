//! Superblock family: every copy on every device, verified and compared with the one in use.

use super::kinds::*;
use crate::btrfs::fs::Filesystem;
use crate::btrfs::superblock::CsumStatus;
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::tree::MAX_LEVEL;
use ondisk_layouts::btrfs::*;

pub fn check(fs: &Filesystem, report: &mut Report) {
    let used = fs.sb.sb();
    let gen = used.generation.get();
    for d in fs.devices.values() {
        // A seed device's copies are compared with the copy chosen on it: they are its seed
        // filesystem's, older than the sprout's by construction.
        let reference = match d.chosen_copy() {
            Some(own) if d.seed => own.sb(),
            _ => used,
        };
        let reference_gen = reference.generation.get();
        let path = d.dev.path().display().to_string();
        // A device removed (`btrfs device remove missing`) or replaced while it was absent keeps
        // its superblock: this fsid, a devid no device item names, an older generation. The
        // kernel registers it when it scans and drops it at mount (btrfs_free_extra_devids);
        // its copies are not the filesystem's.
        let listed = fs.dev_items.iter().any(|i| i.0 == d.devid);
        let older = d.chosen_copy().map(|c| c.sb().generation.get()).filter(|&g| g < gen);
        if let Some(g) = older.filter(|_| fs.chunk_tree_whole && !d.seed && !listed) {
            report.push(
                Finding::new(&DEVICE_REMOVED, format!("{path}: devid {} has no device item and its superblock is older (generation {g} < {gen}): a removed device, ignored", d.devid))
                    .at("device", path.clone())
                    .at("devid", d.devid)
                    .ctx("generation", g),
            );
            continue;
        }
        // Every copy that fits on the device, as read when the filesystem was opened.
        let copies = &d.copies;
        let any_good = copies.iter().any(|c| c.is_valid());
        for c in copies {
            let at = |f: Finding| f.at("device", path.clone()).at("devid", d.devid).at("mirror", c.mirror as u64).at("physical", c.offset);
            if !c.magic_ok {
                // Mirrors are written wherever they fit; a primary without magic is fatal earlier.
                report.push(at(Finding::new(&SUPER_BAD_MAGIC, format!("no btrfs magic in superblock mirror {} at {}", c.mirror, c.offset))));
                continue;
            }
            // The kernel mounts from the primary copy only: with it damaged the filesystem needs
            // `btrfs rescue super-recover` first, however good the mirrors are.
            let sev = if any_good && c.mirror != 0 { Severity::Warning } else { Severity::Error };
            match c.csum {
                CsumStatus::Mismatch => {
                    report.push(at(Finding::new(&SUPER_CSUM_MISMATCH, format!("superblock copy {} at {} has a bad checksum", c.mirror, c.offset)).severity(sev)));
                    continue;
                }
                CsumStatus::UnknownType(t) => {
                    report.push(at(Finding::new(&SUPER_CSUM_MISMATCH, format!("superblock copy {} has unknown csum_type {t}", c.mirror)).ctx("csum_type", t)));
                    continue;
                }
                CsumStatus::Match => {}
            }
            if !c.bytenr_ok() {
                report.push(at(Finding::new(&SUPER_CSUM_MISMATCH, format!(
                    "superblock copy {} at {} says it is at {} (the kernel: \"super offset mismatch\")", c.mirror, c.offset, c.sb().bytenr.get()))
                    .severity(sev).ctx("expected", c.offset).ctx("found", c.sb().bytenr.get())));
                continue;
            }
            let g = c.sb().generation.get();
            if g < reference_gen {
                report.push(at(Finding::new(&SUPER_MIRROR_STALE, format!("superblock copy {} has generation {g}, the copy in use {reference_gen}", c.mirror))
                    .ctx("expected", reference_gen).ctx("found", g).ctx("generation", g)));
            } else if g == reference_gen {
                let s = c.sb();
                let same = s.fsid == reference.fsid && s.root.get() == reference.root.get() && s.chunk_root.get() == reference.chunk_root.get()
                    && s.bytes_used.get() == reference.bytes_used.get();
                // log_root is left out: a log sync (fsync) rewrites only the primary copy
                // (write_all_supers with max_mirrors 1), so mirrors of the same generation
                // legitimately lack it.
                if !same {
                    report.push(at(Finding::new(&SUPER_MIRROR_MISMATCH, format!("superblock copy {} has generation {g} but different roots or usage", c.mirror))
                        .ctx("generation", g)));
                }
            }
        }
    }
    geometry(used, report);
    flags(used, report);
    for (name, g) in [("chunk_root_generation", used.chunk_root_generation.get()), ("uuid_tree_generation", used.uuid_tree_generation.get())] {
        if g > gen {
            // Both only warn (the kind's severity): the kernel calls a chunk root generation ahead of the
            // superblock's "suspicious" and mounts (a real mismatch with the chunk root block
            // is a transid_mismatch), and rescans the UUID tree whenever uuid_tree_generation
            // is not the superblock's generation.
            report.push(Finding::new(&SUPER_ROOT_GENERATION, format!("superblock {name} {g} is newer than its generation {gen}"))
                .ctx("field", name).ctx("found", g).ctx("expected_max", gen));
        }
    }
}

/// Sizes, root levels and alignment, as the kernel validates them before it mounts
/// (`btrfs_validate_super`): each failure there refuses the mount.
fn geometry(sb: &SuperBlock, report: &mut Report) {
    let sector = sb.sectorsize.get();
    let node = sb.nodesize.get();
    let mut bad = Vec::new();
    let sizes_ok = sector.is_power_of_two() && (4096..=65536).contains(&sector) && node.is_power_of_two() && node >= sector && node <= 65536;
    if !sizes_ok {
        bad.push(format!("sectorsize {sector}, nodesize {node} are not a valid pair"));
    }
    if sb.total_bytes.get() == 0 {
        bad.push("total_bytes is 0".to_string());
    }
    // The unused leafsize must still repeat nodesize; btrfs check 6.2 does not look.
    if sb.leafsize.get() != node {
        bad.push(format!("leafsize {} is not nodesize {node}", sb.leafsize.get()));
    }
    let stripe = sb.stripesize.get();
    if !stripe.is_power_of_two() {
        bad.push(format!("stripesize {stripe} is not a power of two"));
    } else if stripe != 4096 && stripe != sector {
        // The kernel mounts any power of two (the field is unused); btrfs check refuses.
        report.push(Finding::new(&SUPER_BAD_GEOMETRY, format!(
            "superblock stripesize {stripe} is neither 4096 nor the sectorsize: the kernel mounts it, btrfs check refuses (\"invalid stripesize\")"))
            .severity(Severity::Warning).ctx("stripesize", stripe).ctx("sectorsize", sector));
    }
    for (name, level, root) in [
        ("root", sb.root_level, sb.root.get()),
        ("chunk_root", sb.chunk_root_level, sb.chunk_root.get()),
        ("log_root", sb.log_root_level, sb.log_root.get()),
    ] {
        if level >= MAX_LEVEL {
            bad.push(format!("{name} level {level} is not below {MAX_LEVEL}"));
        }
        if sizes_ok && root % u64::from(sector) != 0 {
            bad.push(format!("{name} {root} is not aligned to the sectorsize"));
        }
    }
    for what in bad {
        report.push(Finding::new(&SUPER_BAD_GEOMETRY, format!("superblock {what}")).ctx("sectorsize", sector).ctx("nodesize", node));
    }
}

/// The superblock flags the kernel mounts with (`BTRFS_SUPER_FLAG_SUPP`); btrfs-progs' own
/// conversion flags are not among them.
const KERNEL_SUPER_FLAGS: u64 =
    SUPER_FLAG_WRITTEN | SUPER_FLAG_RELOC | SUPER_FLAG_ERROR | SUPER_FLAG_SEEDING | SUPER_FLAG_METADUMP | SUPER_FLAG_METADUMP_V2;

/// The incompat and compat_ro features this version knows the on-disk format of.
const KNOWN_INCOMPAT: u64 = FEATURE_INCOMPAT_MIXED_BACKREF
    | FEATURE_INCOMPAT_DEFAULT_SUBVOL
    | FEATURE_INCOMPAT_MIXED_GROUPS
    | FEATURE_INCOMPAT_COMPRESS_LZO
    | FEATURE_INCOMPAT_COMPRESS_ZSTD
    | FEATURE_INCOMPAT_BIG_METADATA
    | FEATURE_INCOMPAT_EXTENDED_IREF
    | FEATURE_INCOMPAT_RAID56
    | FEATURE_INCOMPAT_SKINNY_METADATA
    | FEATURE_INCOMPAT_NO_HOLES
    | FEATURE_INCOMPAT_METADATA_UUID
    | FEATURE_INCOMPAT_RAID1C34
    | FEATURE_INCOMPAT_ZONED
    | FEATURE_INCOMPAT_EXTENT_TREE_V2
    | FEATURE_INCOMPAT_RAID_STRIPE_TREE
    | FEATURE_INCOMPAT_SIMPLE_QUOTA;
const KNOWN_COMPAT_RO: u64 =
    FEATURE_COMPAT_RO_FREE_SPACE_TREE | FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID | FEATURE_COMPAT_RO_VERITY | FEATURE_COMPAT_RO_BLOCK_GROUP_TREE;

/// Flags and feature bits that stop the kernel mounting, and ones that say a tool was cut off
/// half way through rewriting the filesystem. Current kernels refuse every flag outside
/// [`KERNEL_SUPER_FLAGS`] in `btrfs_validate_super` (older ones warned), and have rejected
/// devices with CHANGING_FSID_V2 since 6.7; btrfs check 6.2 refuses CHANGING_FSID but opens
/// CHANGING_FSID_V2.
fn flags(sb: &SuperBlock, report: &mut Report) {
    let flags = sb.flags.get();
    let incompat = sb.incompat_flags.get();
    let compat_ro = sb.compat_ro_flags.get();
    let mut push = |sev: Severity, what: String| {
        report.push(Finding::new(&SUPER_FLAGS, what).severity(sev).ctx("flags", flags).ctx("incompat_flags", incompat).ctx("compat_ro_flags", compat_ro));
    };
    for (bit, what) in [
        (SUPER_FLAG_CHANGING_FSID, "an fsid change (btrfstune -u) was interrupted"),
        (SUPER_FLAG_CHANGING_FSID_V2, "a metadata_uuid change (btrfstune -m/-M) was interrupted"),
        (SUPER_FLAG_CHANGING_BG_TREE, "a block group tree conversion (btrfstune) was interrupted"),
        (SUPER_FLAG_CHANGING_DATA_CSUM, "a data checksum conversion (btrfstune --csum) was interrupted"),
        (SUPER_FLAG_CHANGING_META_CSUM, "a metadata checksum conversion (btrfstune --csum) was interrupted"),
    ] {
        if flags & bit != 0 {
            push(Severity::Error, format!("superblock flag {bit:#x}: {what}; the kernel refuses to mount it (rescue=ignoresuperflags overrides)"));
        }
    }
    let known = KERNEL_SUPER_FLAGS
        | SUPER_FLAG_CHANGING_FSID
        | SUPER_FLAG_CHANGING_FSID_V2
        | SUPER_FLAG_CHANGING_BG_TREE
        | SUPER_FLAG_CHANGING_DATA_CSUM
        | SUPER_FLAG_CHANGING_META_CSUM;
    if flags & !known != 0 {
        push(Severity::Error, format!("unrecognized superblock flags {:#x}: the kernel refuses to mount (rescue=ignoresuperflags overrides)", flags & !known));
    }
    if flags & SUPER_FLAG_ERROR != 0 {
        push(Severity::Warning, "superblock flag ERROR: the kernel recorded a filesystem error".to_string());
    }
    if incompat & !KNOWN_INCOMPAT != 0 {
        push(Severity::Error, format!("unknown incompat features {:#x}: the kernel refuses to mount and this check cannot read them", incompat & !KNOWN_INCOMPAT));
    }
    if compat_ro & !KNOWN_COMPAT_RO != 0 {
        push(Severity::Warning, format!("unknown compat_ro features {:#x}: the kernel mounts read-only only", compat_ro & !KNOWN_COMPAT_RO));
    }
    // An artificial rule of the kernel's, to keep its test matrix small.
    if compat_ro & FEATURE_COMPAT_RO_BLOCK_GROUP_TREE != 0
        && (compat_ro & FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID == 0 || incompat & FEATURE_INCOMPAT_NO_HOLES == 0)
    {
        push(Severity::Error, "the block group tree feature without free-space-tree and no-holes: the kernel refuses to mount".to_string());
    }
}
