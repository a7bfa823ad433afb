//! `ondisk detect`: the filesystem on each path, and for a set, which members are there.

use super::output::{finish, Out};
use super::{Common, EXIT_OK, EXIT_OPERATIONAL};
use crate::btrfs::fs::Filesystem;
use crate::detect::{detect, uuid_text, Detected, FsKind};
use crate::image::{open_member, DeviceSet, Member, OpenOptions};
use crate::record::{Record, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

pub fn run(c: &Common, opts: OpenOptions) -> crate::Result<i32> {
    let mut out = Out::new();
    let mut found: Vec<Found> = Vec::new();
    let mut failed = false;
    for path in &c.paths {
        let member = match open_member(path, opts) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("ondisk: {e}");
                failed = true;
                continue;
            }
        };
        match detect(&member) {
            Some(d) => {
                // Only a btrfs set of several devices may need its chunk tree read; other
                // members are closed now (a decompressed image holds a temporary file).
                let member = (d.kind == FsKind::Btrfs && d.members > 1).then_some(member);
                found.push(Found { path: path.clone(), member, d })
            }
            None => {
                eprintln!("ondisk: {}", crate::Error::NotAFilesystem(path.clone()));
                failed = true;
            }
        }
    }
    let sets = sets(&mut found);
    finish(print(&mut out, c.json, &found, &sets).and_then(|_| out.flush()))?;
    Ok(if failed { EXIT_OPERATIONAL } else { EXIT_OK })
}

/// A path and what it holds.
struct Found {
    path: PathBuf,
    /// Kept open until its set has been looked at, where that may need it.
    member: Option<Member>,
    d: Detected,
}

/// One filesystem's members among the paths given.
struct SetView {
    kind: FsKind,
    uuid_text: String,
    members: u64,
    present: Vec<u64>,
    missing: Vec<u64>,
    /// A sprout's devices that belong to its seed filesystems.
    seeds: Vec<SeedDevice>,
    /// Paths given that carry this filesystem's superblock but no device item names: devices
    /// removed while they were absent (devid, path).
    removed: Vec<(u64, PathBuf)>,
}

/// A device of a seed filesystem that a sprout's chunk tree names.
struct SeedDevice {
    devid: u64,
    fsid: [u8; 16],
    /// The path given for it, if one was.
    path: Option<PathBuf>,
}

/// Groups the paths by filesystem and uuid, and works out which members are present.
fn sets(found: &mut [Found]) -> Vec<SetView> {
    let mut groups: BTreeMap<(FsKind, [u8; 16]), Vec<usize>> = BTreeMap::new();
    for (i, f) in found.iter().enumerate() {
        groups.entry((f.d.kind, f.d.uuid)).or_default().push(i);
    }
    let mut views = Vec::new();
    for ((kind, uuid), idx) in groups {
        let first = &found[idx[0]].d;
        let mut view = SetView {
            kind,
            uuid_text: first.uuid_text.clone(),
            members: first.members,
            present: idx.iter().map(|&i| found[i].d.member_id).collect(),
            missing: Vec::new(),
            seeds: Vec::new(),
            removed: Vec::new(),
        };
        // A btrfs set short of members may be a sprout whose other members are its seeds'
        // devices, given under their own fsids; one given as several paths may hold a device
        // removed while it was away, whose superblock still counts itself in: the chunk tree
        // says which devices the filesystem has.
        let resolved = kind == FsKind::Btrfs
            && (view.present.len() != view.members as usize || idx.len() > 1)
            && resolve_btrfs(found, &idx, uuid, &mut view);
        if !resolved {
            view.missing = missing_members(kind, view.members, &view.present);
        }
        views.push(view);
    }
    views
}

/// Fills in a btrfs set's members from its chunk tree's device items: devices of seed
/// filesystems (present when a path given is that device, by devid, device uuid and fsid, as
/// the kernel opens seeds) and exactly which devids are missing. False when the chunk tree
/// cannot be read from the members given.
fn resolve_btrfs(found: &mut [Found], idx: &[usize], fsid: [u8; 16], view: &mut SetView) -> bool {
    let set = DeviceSet { members: idx.iter().filter_map(|&i| found[i].member.take()).collect() };
    let Ok(fs) = Filesystem::open(&set) else { return false };
    if fs.dev_items.is_empty() {
        return false;
    }
    // The superblock in use is the newest one given; a removed device's is older.
    view.members = fs.sb.sb().num_devices.get();
    let listed = |devid: u64| fs.dev_items.iter().any(|&(d, _, f)| d == devid && f == fsid);
    if fs.chunk_tree_whole {
        for f in found.iter().filter(|f| f.d.kind == FsKind::Btrfs && f.d.uuid == fsid && !listed(f.d.member_id)) {
            view.removed.push((f.d.member_id, f.path.clone()));
        }
        view.present.retain(|&d| listed(d));
    }
    for &(devid, device_uuid, item_fsid) in &fs.dev_items {
        if item_fsid == fsid {
            if !view.present.contains(&devid) {
                view.missing.push(devid);
            }
            continue;
        }
        let given = found.iter().find(|f| {
            f.d.kind == FsKind::Btrfs && f.d.uuid == item_fsid && f.d.member_id == devid && f.d.device_uuid == Some(device_uuid)
        });
        match given {
            Some(_) => view.present.push(devid),
            None => view.missing.push(devid),
        }
        view.seeds.push(SeedDevice { devid, fsid: item_fsid, path: given.map(|f| f.path.clone()) });
    }
    view.missing.sort_unstable();
    view.missing.dedup();
    true
}

fn print(out: &mut Out, json: bool, found: &[Found], sets: &[SetView]) -> std::io::Result<()> {
    for Found { path, d, .. } in found {
        if json {
            out.json(&d.to_record(path))?;
        } else {
            let w = out.w();
            write!(w, "{}: {} uuid {}", path.display(), d.kind.name(), d.uuid_text)?;
            if let Some(v) = &d.version {
                write!(w, " version {v}")?;
            }
            write!(w, " label \"{}\" member {} of {}", d.label.escape_ascii(), d.member_id, d.members)?;
            for (k, v) in &d.details.fields {
                write!(w, " {k} {}", serde_json::to_string(v).unwrap_or_default())?;
            }
            writeln!(w)?;
        }
    }
    for set in sets {
        if json {
            let mut r = Record::new();
            r.push("type", "set")
                .push("fs", set.kind.name())
                .push("uuid", set.uuid_text.clone())
                .push("members", set.members)
                .push("present", set.present.iter().map(|&m| m.into()).collect::<Vec<_>>())
                .push("missing", set.missing.iter().map(|&m| m.into()).collect::<Vec<_>>());
            if !set.seeds.is_empty() {
                let seeds = set.seeds.iter().map(|s| {
                    let mut r = Record::new();
                    r.push("devid", s.devid).push("fsid", uuid_text(&s.fsid));
                    // No path: the seed device was not given.
                    if let Some(p) = &s.path {
                        r.push("path", p.as_path());
                    }
                    Value::Record(r)
                });
                r.push("seeds", seeds.collect::<Vec<_>>());
            }
            if !set.removed.is_empty() {
                let removed = set.removed.iter().map(|(devid, path)| {
                    let mut r = Record::new();
                    r.push("devid", *devid).push("path", path.as_path());
                    Value::Record(r)
                });
                r.push("removed", removed.collect::<Vec<_>>());
            }
            out.json(&r)?;
        } else {
            let list = |v: &[u64]| v.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ");
            write!(
                out.w(),
                "set {} {}: {} of {} members present ({}); missing: {}",
                set.kind.name(),
                set.uuid_text,
                set.present.len(),
                set.members,
                list(&set.present),
                if set.missing.is_empty() { "none".to_string() } else { list(&set.missing) },
            )?;
            for s in &set.seeds {
                let at = s.path.as_ref().map_or("not given".to_string(), |p| p.display().to_string());
                write!(out.w(), "; devid {} is on seed {} ({at})", s.devid, uuid_text(&s.fsid))?;
            }
            for (devid, path) in &set.removed {
                write!(out.w(), "; {} (devid {devid}) was removed from it", path.display())?;
            }
            writeln!(out.w())?;
        }
    }
    Ok(())
}

/// Member ids of a set that are not present. btrfs devids start at 1, bcachefs device indexes
/// and HAMMER volume numbers at 0. btrfs devids need not be dense (after a device removal), so
/// only a count is certain there: the ids listed are the lowest ones not seen.
fn missing_members(kind: FsKind, total: u64, present: &[u64]) -> Vec<u64> {
    let first = if kind == FsKind::Btrfs { 1 } else { 0 };
    let need = (total as usize).saturating_sub(present.len());
    (first..)
        .filter(|id| !present.contains(id))
        .take(need.min(256))
        .collect()
}
