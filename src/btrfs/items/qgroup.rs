//! QGROUP_STATUS, QGROUP_INFO and QGROUP_LIMIT (QGROUP_RELATION has no body).

use super::{view, DecodeError};
use crate::btrfs::names::FlagsText;
use crate::record::Record;
use ondisk_layouts::btrfs::items::QGROUP_STATUS_FLAG_SIMPLE_MODE;
use ondisk_layouts::btrfs::{QgroupInfoItem, QgroupLimitItem, QgroupStatusItem};
use super::put::Out;
use std::io::{self, Write};

pub(super) struct Status<'d> {
    item: &'d QgroupStatusItem,
    /// Simple quotas' `enable_gen`, when the item is long enough to hold it.
    enable_gen: Option<u64>,
}

pub(super) fn parse_status(data: &[u8]) -> Result<Status<'_>, DecodeError> {
    let item = view(data, "btrfs_qgroup_status_item")?;
    let enable_gen = crate::le::u64_at(data, 32);
    Ok(Status { item, enable_gen })
}

impl Status<'_> {
    /// `print_qgroup_status`. `enable_gen` and SIMPLE_MODE exist only with simple quotas, which
    /// 6.2 cannot open: for them we print what later progs print.
    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        let s = self.item;
        write!(
            o,
            "\t\tversion {} generation {} flags {} scan {}",
            s.version.get(),
            s.generation.get(),
            FlagsText::QgroupStatus(s.flags.get()),
            s.rescan.get()
        )?;
        // Later progs print enable_gen only in simple quota mode (kernels write it always).
        if let Some(g) = self.enable_gen.filter(|_| s.flags.get() & QGROUP_STATUS_FLAG_SIMPLE_MODE != 0) {
            write!(o, " enable_gen {g}")?;
        }
        o.write_all(b"\n")
    }

    pub(super) fn fields(&self, r: &mut Record<'_>) {
        let s = self.item;
        let flags = s.flags.get();
        r.push("version", s.version.get())
            .push("generation", s.generation.get())
            .push("flags", flags)
            .push("flags_text", FlagsText::QgroupStatus(flags).to_string())
            .push("scan", s.rescan.get());
        if let Some(g) = self.enable_gen {
            r.push("enable_gen", g);
        }
    }
}

/// `print_qgroup_info`
pub(super) fn info_text(o: &mut Out<'_>, i: &QgroupInfoItem) -> io::Result<()> {
    write!(
        o,
        "\t\tgeneration {}\n\t\treferenced {} referenced_compressed {}\n\t\texclusive {} exclusive_compressed {}\n",
        i.generation.get(),
        i.rfer.get(),
        i.rfer_cmpr.get(),
        i.excl.get(),
        i.excl_cmpr.get()
    )
}

pub(super) fn info_fields(r: &mut Record<'_>, i: &QgroupInfoItem) {
    r.push("generation", i.generation.get())
        .push("referenced", i.rfer.get())
        .push("referenced_compressed", i.rfer_cmpr.get())
        .push("exclusive", i.excl.get())
        .push("exclusive_compressed", i.excl_cmpr.get());
}

/// `print_qgroup_limit`: flags in hex without `0x`, limits signed.
pub(super) fn limit_text(o: &mut Out<'_>, l: &QgroupLimitItem) -> io::Result<()> {
    write!(
        o,
        "\t\tflags {:x}\n\t\tmax_referenced {} max_exclusive {}\n\t\trsv_referenced {} rsv_exclusive {}\n",
        l.flags.get(),
        l.max_rfer.get() as i64,
        l.max_excl.get() as i64,
        l.rsv_rfer.get() as i64,
        l.rsv_excl.get() as i64
    )
}

pub(super) fn limit_fields(r: &mut Record<'_>, l: &QgroupLimitItem) {
    r.push("flags", l.flags.get())
        .push("max_referenced", l.max_rfer.get() as i64)
        .push("max_exclusive", l.max_excl.get() as i64)
        .push("rsv_referenced", l.rsv_rfer.get() as i64)
        .push("rsv_exclusive", l.rsv_excl.get() as i64);
}
