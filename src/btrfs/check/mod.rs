//! btrfs checks: one file per family, all fed by one walk.

use crate::cli::check::CheckOptions;
use crate::findings::Report;
use crate::image::DeviceSet;

/// Checks a btrfs device set.
pub fn run(_set: &DeviceSet, _opts: &CheckOptions) -> crate::Result<Report> {
    Err(crate::Error::Unsupported("btrfs check is not implemented yet".into()))
}
