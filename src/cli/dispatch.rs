//! Open the device set, detect the filesystem, hand over to that filesystem's printer.

use super::output::{finish, Out};
use super::{DumpArgs, MapArgs, SuperArgs};
use crate::detect::FsKind;
use crate::image::OpenOptions;
use crate::{Error, Result};

pub use crate::check::open;

fn unsupported(kind: FsKind, what: &str) -> Error {
    Error::Unsupported(format!("{what} is not implemented for {} yet", kind.name()))
}

pub fn super_(a: &SuperArgs, opts: OpenOptions) -> Result<i32> {
    let (set, kind) = open(&a.common.paths, opts)?;
    let mut out = Out::new();
    let code = match kind {
        FsKind::Btrfs => crate::btrfs::cmd::super_(&set, a, &mut out),
        FsKind::Hammer => crate::hammer::cmd::super_(&set, a, &mut out),
        k => return Err(unsupported(k, "super")),
    };
    finish(out.flush())?;
    code
}

pub fn dump(a: &DumpArgs, opts: OpenOptions) -> Result<i32> {
    let (set, kind) = open(&a.common.paths, opts)?;
    let mut out = Out::new();
    let code = match kind {
        FsKind::Btrfs => crate::btrfs::cmd::dump(&set, a, &mut out),
        FsKind::Hammer => crate::hammer::cmd::dump(&set, a, &mut out),
        k => return Err(unsupported(k, "dump")),
    };
    finish(out.flush())?;
    code
}

pub fn map(a: &MapArgs, opts: OpenOptions) -> Result<i32> {
    let (paths, addr) = a.split()?;
    let (set, kind) = open(&paths, opts)?;
    let mut out = Out::new();
    let code = match kind {
        FsKind::Btrfs => crate::btrfs::cmd::map(&set, addr, a.json, &mut out),
        FsKind::Hammer => crate::hammer::cmd::map(&set, addr, a.json, &mut out),
        k => return Err(unsupported(k, "map")),
    };
    finish(out.flush())?;
    code
}

pub fn stats(c: &super::Common, opts: OpenOptions) -> Result<i32> {
    let (set, kind) = open(&c.paths, opts)?;
    if kind != FsKind::Btrfs {
        return Err(unsupported(kind, "stats"));
    }
    let fs = crate::btrfs::fs::Filesystem::open(&set)?;
    let mut out = Out::new();
    finish(crate::btrfs::stats::run(&fs, c.json, &mut out).and_then(|_| out.flush()))?;
    Ok(super::EXIT_OK)
}
