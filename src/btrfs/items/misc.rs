//! PERSISTENT_ITEM (device stats), TEMPORARY_ITEM (balance status, checksum conversion),
//! DEV_REPLACE, VERITY_DESC_ITEM and RAID_STRIPE.

use super::{view, DecodeError};
use crate::btrfs::names::ObjectidText;
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::items::{CSUM_CHANGE_OBJECTID, DEV_STAT_VALUES_MAX};
use ondisk_layouts::btrfs::*;
use super::put::Out;
use std::io::{self, Write};
use zerocopy::FromBytes;

/// Names of the device stats values, as progs prints them.
const DEV_STAT_NAMES: [&str; DEV_STAT_VALUES_MAX] = ["write_errs", "read_errs", "flush_errs", "corruption_errs", "generation"];

/// A persistent item: device stats (objectid 0) or an unknown kind.
pub(super) struct Persistent<'d> {
    objectid: u64,
    offset: u64,
    data: &'d [u8],
}

pub(super) fn parse_persistent<'d>(key: &DiskKey, data: &'d [u8]) -> Result<Persistent<'d>, DecodeError> {
    Ok(Persistent { objectid: key.objectid.get(), offset: key.offset.get(), data })
}


impl<'d> Persistent<'d> {
    /// Every whole 64-bit value of a device stats item (it may have grown past the five known).
    fn values(&self) -> impl Iterator<Item = u64> + 'd {
        self.data.chunks_exact(8).filter_map(|c| crate::le::u64_at(c, 0))
    }

    /// `print_persistent_item` / `print_dev_stats`
    pub(super) fn text(&self, o: &mut Out<'_>, _key: &DiskKey) -> io::Result<()> {
        writeln!(o, "\t\tpersistent item objectid {} offset {}", ObjectidText(self.objectid, PERSISTENT_ITEM_KEY), self.offset)?;
        if self.objectid != DEV_STATS_OBJECTID {
            return writeln!(o, "\t\tunknown persistent item objectid {}", self.objectid);
        }
        let known = DEV_STAT_VALUES_MAX * 8;
        if self.data.len() < known {
            return DecodeError::Short { what: "btrfs_dev_stats_item", need: known, have: self.data.len() }.print(o);
        }
        let mut it = self.values();
        let mut next = || it.next().unwrap_or(0);
        let (a, b, c, d, e) = (next(), next(), next(), next(), next());
        writeln!(o, "\t\tdevice stats")?;
        writeln!(o, "\t\twrite_errs {a} read_errs {b} flush_errs {c} corruption_errs {d} generation {e}")?;
        if self.data.len() > known {
            // Sic: no newline after the byte count in progs.
            write!(o, "\t\tunknown stats item bytes {}", self.data.len() - known)?;
            for (i, v) in self.values().enumerate().skip(DEV_STAT_VALUES_MAX) {
                writeln!(o, "\t\tunknown item {i} offset {} value {v}", i * 8)?;
            }
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        if self.objectid != DEV_STATS_OBJECTID {
            r.push("data", Value::Bytes(self.data.into()));
            return;
        }
        if self.data.len() < DEV_STAT_VALUES_MAX * 8 {
            let e = DecodeError::Short { what: "btrfs_dev_stats_item", need: DEV_STAT_VALUES_MAX * 8, have: self.data.len() };
            r.push("error", e.to_string());
        }
        let mut extra = Vec::new();
        for (i, v) in self.values().enumerate() {
            match DEV_STAT_NAMES.get(i) {
                Some(n) => {
                    r.push(n, v);
                }
                None => extra.push(Value::U64(v)),
            }
        }
        if !extra.is_empty() {
            r.push("unknown_values", extra);
        }
    }
}

/// A temporary item: the balance status, a checksum conversion marker, or unknown.
pub(super) struct Temporary<'d> {
    objectid: u64,
    offset: u64,
    balance: Option<Result<&'d BalanceItem, DecodeError>>,
}

pub(super) fn parse_temporary<'d>(key: &DiskKey, data: &'d [u8]) -> Result<Temporary<'d>, DecodeError> {
    let objectid = key.objectid.get();
    let balance = (objectid == BALANCE_OBJECTID).then(|| view(data, "btrfs_balance_item"));
    Ok(Temporary { objectid, offset: key.offset.get(), balance })
}

/// `print_disk_balance_args`
fn balance_args_text(o: &mut Out<'_>, a: &DiskBalanceArgs) -> io::Result<()> {
    write!(
        o,
        "\t\tprofiles {} devid {} target {} flags {}\n\t\tusage_min {} usage_max {} pstart {} pend {}\n\t\tvstart {} vend {} limit_min {} limit_max {}\n\t\tstripes_min {} stripes_max {}\n",
        a.profiles.get(),
        a.devid.get(),
        a.target.get(),
        a.flags.get(),
        a.usage_min.get(),
        a.usage_max.get(),
        a.pstart.get(),
        a.pend.get(),
        a.vstart.get(),
        a.vend.get(),
        a.limit_min.get(),
        a.limit_max.get(),
        a.stripes_min.get(),
        a.stripes_max.get()
    )
}

fn balance_args_value(a: &DiskBalanceArgs) -> Value<'static> {
    let mut r = Record::with_capacity(14);
    r.push("profiles", a.profiles.get())
        .push("devid", a.devid.get())
        .push("target", a.target.get())
        .push("flags", a.flags.get())
        .push("usage_min", a.usage_min.get())
        .push("usage_max", a.usage_max.get())
        .push("pstart", a.pstart.get())
        .push("pend", a.pend.get())
        .push("vstart", a.vstart.get())
        .push("vend", a.vend.get())
        .push("limit_min", a.limit_min.get())
        .push("limit_max", a.limit_max.get())
        .push("stripes_min", a.stripes_min.get())
        .push("stripes_max", a.stripes_max.get());
    Value::Record(r)
}

impl<'d> Temporary<'d> {
    /// `print_temporary_item`
    pub(super) fn text(&self, o: &mut Out<'_>, _key: &DiskKey) -> io::Result<()> {
        writeln!(o, "\t\ttemporary item objectid {} offset {}", ObjectidText(self.objectid, TEMPORARY_ITEM_KEY), self.offset)?;
        match &self.balance {
            Some(Ok(b)) => {
                writeln!(o, "\t\tbalance status flags {}", b.flags.get())?;
                writeln!(o, "\t\tDATA")?;
                balance_args_text(o, &b.data)?;
                writeln!(o, "\t\tMETADATA")?;
                balance_args_text(o, &b.meta)?;
                writeln!(o, "\t\tSYSTEM")?;
                balance_args_text(o, &b.sys)
            }
            Some(Err(e)) => e.print(o),
            None if self.objectid == CSUM_CHANGE_OBJECTID => writeln!(o, "\t\tcsum tree tmp root {}", self.offset),
            None => writeln!(o, "\t\tunknown temporary item objectid {}", self.objectid),
        }
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        match &self.balance {
            Some(Ok(b)) => {
                r.push("balance_flags", b.flags.get())
                    .push("data", balance_args_value(&b.data))
                    .push("metadata", balance_args_value(&b.meta))
                    .push("system", balance_args_value(&b.sys));
            }
            Some(Err(e)) => {
                r.push("error", e.to_string());
            }
            None if self.objectid == CSUM_CHANGE_OBJECTID => {
                r.push("csum_tree_tmp_root", self.offset);
            }
            None => {}
        }
    }
}

pub(super) fn dev_replace_fields(r: &mut Record<'_>, d: &DevReplaceItem) {
    r.push("src_devid", d.src_devid.get())
        .push("cursor_left", d.cursor_left.get())
        .push("cursor_right", d.cursor_right.get())
        .push("cont_reading_from_srcdev_mode", d.cont_reading_from_srcdev_mode.get())
        .push("replace_state", d.replace_state.get())
        .push("time_started", d.time_started.get())
        .push("time_stopped", d.time_stopped.get())
        .push("num_write_errors", d.num_write_errors.get())
        .push("num_uncorrectable_read_errors", d.num_uncorrectable_read_errors.get());
}

/// VERITY_DESC_ITEM: at offset 0 the descriptor item, at later offsets the descriptor bytes.
pub(super) enum Verity<'d> {
    Item(&'d VerityDescriptorItem),
    Bytes(&'d [u8]),
}

pub(super) fn parse_verity<'d>(key: &DiskKey, data: &'d [u8]) -> Result<Verity<'d>, DecodeError> {
    if key.offset.get() == 0 {
        Ok(Verity::Item(view(data, "btrfs_verity_descriptor_item")?))
    } else {
        Ok(Verity::Bytes(data))
    }
}

impl<'d> Verity<'d> {
    pub(super) fn fields(&self, r: &mut Record<'d>) {
        match self {
            Verity::Item(v) => {
                r.push("size", v.size.get()).push("encryption", v.encryption);
            }
            Verity::Bytes(b) => {
                r.push("data", Value::Bytes((*b).into()));
            }
        }
    }
}

/// RAID_STRIPE: one stride per device (raid stripe tree; newer than progs 6.2, printed the way
/// later progs do).
pub(super) struct RaidStripe<'d>(pub &'d [u8]);

impl<'d> RaidStripe<'d> {
    fn strides(&self) -> (&'d [RaidStride], usize) {
        let whole = self.0.len() / 16 * 16;
        let s = <[RaidStride]>::ref_from_bytes(&self.0[..whole]).unwrap_or(&[]);
        (s, self.0.len() - whole)
    }

    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        let (strides, rest) = self.strides();
        for (i, s) in strides.iter().enumerate() {
            writeln!(o, "\t\t\tstripe {i} devid {} physical {}", s.devid.get(), s.physical.get())?;
        }
        if rest != 0 {
            DecodeError::Overrun { what: "btrfs_raid_stride", at: self.0.len() - rest, need: 16, have: self.0.len() }.print(o)?;
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        let (strides, rest) = self.strides();
        let list: Vec<Value> = strides
            .iter()
            .map(|s| {
                let mut x = Record::with_capacity(2);
                x.push("devid", s.devid.get()).push("physical", s.physical.get());
                Value::Record(x)
            })
            .collect();
        r.push("strides", list);
        if rest != 0 {
            let e = DecodeError::Overrun { what: "btrfs_raid_stride", at: self.0.len() - rest, need: 16, have: self.0.len() };
            r.push("error", e.to_string());
        }
    }
}
