//! The library face of `ondisk check`, for test harnesses: open a device set, run the checks of
//! whatever filesystem it holds, and assert on the findings.
//!
//! ```no_run
//! let report = ondisk::check::check_paths(&["/tmp/fs.img".into()], &Default::default())?;
//! ondisk::check::assert_findings(&report, &[("btrfs.transid_mismatch", Some(1))], &[])
//!     .map_err(|diff| ondisk::Error::Corrupt(diff.join("\n")))?;
//! # Ok::<(), ondisk::Error>(())
//! ```

use crate::detect::{detect, FsKind};
use crate::findings::{Report, Severity};
use crate::image::{DeviceSet, OpenOptions};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a check run is asked to do, filesystem-independent.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Verify file data against the checksum tree (btrfs `--check-data-csum`).
    pub check_data_csum: bool,
    /// Verify every copy (DUP, RAID1*, RAID10 mirrors) of every tree block, not only the one a
    /// read settles on, and with `check_data_csum` each RAID5/6 data sector's rebuild from its
    /// row's parity. Off by default: like the kernel, a mirror or the parity is read when the
    /// first copy is bad, which keeps a check at one read per block.
    pub all_copies: bool,
    /// How to open the images.
    pub open: OpenOptions,
}

/// Opens the paths and finds the one filesystem they hold.
pub fn open(paths: &[PathBuf], opts: OpenOptions) -> Result<(DeviceSet, FsKind)> {
    let set = DeviceSet::open(paths, opts)?;
    let mut kind = None;
    for m in &set.members {
        let d = detect(m).ok_or_else(|| Error::NotAFilesystem(m.path().to_path_buf()))?;
        match kind {
            None => kind = Some(d.kind),
            Some(k) if k != d.kind => {
                return Err(Error::Usage(format!(
                    "{}: is {}, the other paths are {}: one filesystem at a time",
                    m.path().display(),
                    d.kind.name(),
                    k.name()
                )))
            }
            Some(_) => {}
        }
    }
    let kind = kind.ok_or_else(|| Error::Usage("no path given".into()))?;
    Ok((set, kind))
}

/// Runs the checks of the filesystem on an opened set.
pub fn check_set(set: &DeviceSet, kind: FsKind, opts: &CheckOptions) -> Result<Report> {
    match kind {
        FsKind::Btrfs => crate::btrfs::check::run(set, opts),
        FsKind::Hammer => crate::hammer::check::run(set, opts),
        k => Err(Error::Unsupported(format!("check is not implemented for {} yet", k.name()))),
    }
}

/// Opens `paths` and checks them.
pub fn check_paths(paths: &[PathBuf], opts: &CheckOptions) -> Result<Report> {
    let (set, kind) = open(paths, opts.open)?;
    check_set(&set, kind, opts)
}

/// Asserts that the findings are exactly the expected kinds (with exact counts where given),
/// plus any allowed ones. Returns the lines of an expected-vs-found diff when they are not.
///
/// Every expected kind must occur (exactly COUNT times when given); every error or warning kind
/// found must be expected or allowed. Info findings (a pending log replay, an unset advisory
/// checksum) only take part when expected.
pub fn assert_findings(report: &Report, expect: &[(&str, Option<usize>)], allow: &[&str]) -> Result<(), Vec<String>> {
    let mut found: BTreeMap<&str, (usize, Severity)> = BTreeMap::new();
    for f in &report.findings {
        let e = found.entry(f.kind.id).or_insert((0, f.severity));
        e.0 += 1;
        e.1 = e.1.min(f.severity);
    }
    let mut diff = Vec::new();
    for (k, n) in expect {
        let got = found.get(k).map_or(0, |e| e.0);
        match n {
            Some(n) if got != *n => diff.push(format!("{k}: expected {n}, found {got}")),
            None if got == 0 => diff.push(format!("{k}: expected at least one, found none")),
            _ => {}
        }
    }
    for (k, (n, sev)) in &found {
        let named = expect.iter().any(|(e, _)| e == k) || allow.contains(k);
        if !named && *sev != Severity::Info {
            diff.push(format!("{k}: not expected, found {n}"));
        }
    }
    if diff.is_empty() {
        Ok(())
    } else {
        Err(diff)
    }
}
