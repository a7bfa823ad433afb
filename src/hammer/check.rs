//! HAMMER checks.

use crate::cli::check::CheckOptions;
use crate::findings::{Kind, Report};
use crate::image::DeviceSet;

/// Every HAMMER finding kind.
pub static KINDS: &[&Kind] = &[];

/// Checks a HAMMER volume set.
pub fn run(_set: &DeviceSet, _opts: &CheckOptions) -> crate::Result<Report> {
    Err(crate::Error::Unsupported("HAMMER check is not implemented yet".into()))
}
