//! `ondisk map`: a logical address to every copy on the devices, like `btrfs-map-logical`, plus
//! what that tool does not say: the chunk it lies in, for RAID5/6 its row, data stripe and parity
//! stripes, and whether each copy can be read from the devices given.

use super::chunk_map::ChunkInfo;
use super::fs::Filesystem;
use super::super_print::{chunk_record, chunk_type_text, profile_name};
use crate::cli::output::{finish, Out};
use crate::cli::{EXIT_ERRORS, EXIT_OK};
use crate::record::{Record, Value};
use crate::{Error, Result};
use std::io::{self, Write};

/// One copy of the address.
struct CopyLoc {
    stripe: usize,
    devid: u64,
    physical: u64,
    /// The device path, or `None` when that devid is not among the paths given.
    path: Option<String>,
    /// Why one sector there cannot be read, if it cannot.
    unreadable: Option<String>,
}

fn device_path(fs: &Filesystem, devid: u64) -> Option<String> {
    fs.devices.get(&devid).map(|d| d.dev.path().display().to_string())
}

/// Tries to read one sector at `physical` on `devid`.
fn probe(fs: &Filesystem, devid: u64, physical: u64) -> Option<String> {
    if fs.metadump.is_some() {
        return Some(format!("device {devid} is not part of a metadump"));
    }
    match fs.devices.get(&devid) {
        None => Some(format!("device {devid} is missing")),
        Some(d) => d.dev.read(physical, fs.sectorsize.clamp(512, 65536) as usize).err().map(|e| e.to_string()),
    }
}

fn copies(fs: &Filesystem, c: &ChunkInfo, logical: u64) -> Vec<CopyLoc> {
    let pieces = c.map(logical, 1);
    c.stripe_indexes(logical)
        .into_iter()
        .zip(pieces)
        .filter_map(|(stripe, p)| {
            let p = p.first()?;
            Some(CopyLoc {
                stripe,
                devid: p.devid,
                physical: p.physical,
                path: device_path(fs, p.devid),
                unreadable: probe(fs, p.devid, p.physical),
            })
        })
        .collect()
}

/// Runs `map` on an opened filesystem.
pub fn run(fs: &Filesystem, logical: u64, json: bool, out: &mut Out) -> Result<i32> {
    if fs.metadump.is_some() {
        // The chunk tree is in the dump, the devices are not: the mapping is shown as recorded.
        eprintln!("ondisk: a btrfs-image metadump holds no devices: physical addresses are those of the dumped filesystem");
    }
    for p in &fs.problems {
        eprintln!("ondisk: warning: {p}");
    }
    let chunk = fs
        .chunks
        .lookup(logical)
        .ok_or_else(|| Error::Usage(format!("logical {logical} is not mapped by any chunk")))?;
    let locs = copies(fs, chunk, logical);
    let raid56 = chunk.raid56_position(logical);
    // RAID5/6 with the data stripe unreadable: can it be rebuilt from the rest of its row?
    let rebuild = match raid56.as_ref() {
        Some(_) if locs.iter().all(|l| l.unreadable.is_some()) && fs.metadump.is_none() => {
            fs.rebuild_from_parity(logical, fs.sectorsize.clamp(512, 65536) as usize).map(|r| r.map(|_| ()).map_err(|e| e.to_string()))
        }
        _ => None,
    };
    // A metadump never has the devices: that is not an error of the filesystem.
    let all_bad = fs.metadump.is_none() && locs.iter().all(|l| l.unreadable.is_some()) && !matches!(rebuild, Some(Ok(())));
    let r = if json {
        print_json(out, chunk, logical, &locs, raid56.as_ref(), fs, rebuild.as_ref())
    } else {
        print_text(out.w(), chunk, logical, &locs, raid56.as_ref(), fs).and_then(|()| match &rebuild {
            Some(Ok(())) => writeln!(out.w(), "data stripe unreadable: rebuilt from the rest of its row and the parity"),
            Some(Err(e)) => writeln!(out.w(), "data stripe unreadable: cannot rebuild from parity: {e}"),
            None => Ok(()),
        })
    };
    finish(r)?;
    Ok(if all_bad { EXIT_ERRORS } else { EXIT_OK })
}

fn print_text(
    w: &mut dyn Write,
    c: &ChunkInfo,
    logical: u64,
    locs: &[CopyLoc],
    raid56: Option<&super::chunk_map::Raid56Position>,
    fs: &Filesystem,
) -> io::Result<()> {
    writeln!(w, "logical {logical}")?;
    writeln!(
        w,
        "chunk {} length {} end {} type {} profile {} stripe_len {} num_stripes {} sub_stripes {}",
        c.logical,
        c.length,
        c.logical.saturating_add(c.length),
        chunk_type_text(c.type_),
        profile_name(c.type_),
        c.stripe_len,
        c.stripes.len(),
        c.sub_stripes
    )?;
    writeln!(w, "offset in chunk {}", logical - c.logical)?;
    if let Some(p) = raid56 {
        writeln!(w, "full stripe {} data stripe {} of {}", p.row, p.data_index, c.stripes.len() - p.parity.len())?;
    }
    for (i, l) in locs.iter().enumerate() {
        write!(
            w,
            "copy {} stripe {} devid {} physical {} device {}",
            i + 1,
            l.stripe,
            l.devid,
            l.physical,
            l.path.as_deref().unwrap_or("missing")
        )?;
        match &l.unreadable {
            None => writeln!(w)?,
            Some(why) => writeln!(w, " UNREADABLE: {why}")?,
        }
    }
    if let Some(p) = raid56 {
        for (label, idx, devid, physical) in &p.parity {
            let path = device_path(fs, *devid);
            writeln!(
                w,
                "parity {label} stripe {idx} devid {devid} physical {physical} device {}",
                path.as_deref().unwrap_or("missing")
            )?;
        }
    }
    Ok(())
}

fn print_json(
    out: &mut Out,
    c: &ChunkInfo,
    logical: u64,
    locs: &[CopyLoc],
    raid56: Option<&super::chunk_map::Raid56Position>,
    fs: &Filesystem,
    rebuild: Option<&std::result::Result<(), String>>,
) -> io::Result<()> {
    let mut r = Record::new();
    r.push("type", "map").push("logical", logical).push("chunk", chunk_record(c)).push("offset_in_chunk", logical - c.logical);
    let copies: Vec<Value> = locs
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut cr = Record::new();
            cr.push("mirror", i as u64 + 1).push("stripe", l.stripe as u64).push("devid", l.devid).push("physical", l.physical);
            match &l.path {
                Some(p) => cr.push("device", p.clone()),
                None => cr.push("device", Value::Str("missing".into())),
            };
            cr.push("readable", l.unreadable.is_none());
            if let Some(why) = &l.unreadable {
                cr.push("error", why.clone());
            }
            Value::Record(cr)
        })
        .collect();
    r.push("copies", copies);
    if let Some(p) = raid56 {
        r.push("full_stripe", p.row).push("data_stripe", p.data_index);
        let parity: Vec<Value> = p
            .parity
            .iter()
            .map(|(label, idx, devid, physical)| {
                let mut pr = Record::new();
                pr.push("kind", *label).push("stripe", *idx as u64).push("devid", *devid).push("physical", *physical);
                pr.push("device", device_path(fs, *devid).unwrap_or_else(|| "missing".into()));
                Value::Record(pr)
            })
            .collect();
        r.push("parity", parity);
        match rebuild {
            Some(Ok(())) => {
                r.push("rebuild_from_parity", true);
            }
            Some(Err(e)) => {
                r.push("rebuild_from_parity", false).push("rebuild_error", e.clone());
            }
            None => {}
        }
    }
    out.json(&r)
}
