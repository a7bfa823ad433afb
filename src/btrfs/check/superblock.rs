//! Superblock family: every copy on every device, verified and compared with the one in use.

use super::kinds::*;
use crate::btrfs::fs::Filesystem;
use crate::btrfs::superblock::CsumStatus;
use crate::findings::{Finding, Report, Severity};

pub fn check(fs: &Filesystem, report: &mut Report) {
    let used = fs.sb.sb();
    let gen = used.generation.get();
    for d in fs.devices.values() {
        let path = d.dev.path().display().to_string();
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
            match c.csum {
                CsumStatus::Mismatch => {
                    let sev = if any_good { Severity::Warning } else { Severity::Error };
                    report.push(at(Finding::new(&SUPER_CSUM_MISMATCH, format!("superblock copy {} at {} has a bad checksum", c.mirror, c.offset)).severity(sev)));
                    continue;
                }
                CsumStatus::UnknownType(t) => {
                    report.push(at(Finding::new(&SUPER_CSUM_MISMATCH, format!("superblock copy {} has unknown csum_type {t}", c.mirror)).ctx("csum_type", t)));
                    continue;
                }
                CsumStatus::Match => {}
            }
            let g = c.sb().generation.get();
            if g < gen {
                report.push(at(Finding::new(&SUPER_MIRROR_STALE, format!("superblock copy {} has generation {g}, the copy in use {gen}", c.mirror))
                    .ctx("expected", gen).ctx("found", g).ctx("generation", g)));
            } else if g == gen {
                let s = c.sb();
                let same = s.fsid == used.fsid && s.root.get() == used.root.get() && s.chunk_root.get() == used.chunk_root.get()
                    && s.bytes_used.get() == used.bytes_used.get();
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
    let sector = used.sectorsize.get();
    let node = used.nodesize.get();
    let geometry_ok = sector.is_power_of_two()
        && (4096..=65536).contains(&sector)
        && node.is_power_of_two()
        && node >= sector
        && node <= 65536
        && used.total_bytes.get() > 0;
    if !geometry_ok {
        report.push(Finding::new(&SUPER_BAD_GEOMETRY, format!(
            "sectorsize {sector}, nodesize {node}, total_bytes {} are not a valid geometry", used.total_bytes.get()))
            .ctx("sectorsize", sector).ctx("nodesize", node));
    }
    for (name, g) in [("chunk_root_generation", used.chunk_root_generation.get()), ("uuid_tree_generation", used.uuid_tree_generation.get())] {
        if g > gen {
            report.push(Finding::new(&SUPER_ROOT_GENERATION, format!("superblock {name} {g} is newer than its generation {gen}"))
                .ctx("field", name).ctx("found", g).ctx("expected_max", gen));
        }
    }
}
