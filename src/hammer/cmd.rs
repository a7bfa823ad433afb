//! The HAMMER side of `super`, `dump` and `map`.

use crate::cli::output::Out;
use crate::cli::{DumpArgs, SuperArgs};
use crate::image::DeviceSet;
use crate::{Error, Result};

pub fn super_(_set: &DeviceSet, _a: &SuperArgs, _out: &mut Out) -> Result<i32> {
    Err(Error::Unsupported("HAMMER super: not yet".into()))
}

pub fn dump(_set: &DeviceSet, _a: &DumpArgs, _out: &mut Out) -> Result<i32> {
    Err(Error::Unsupported("HAMMER dump: not yet".into()))
}

pub fn map(_set: &DeviceSet, _addr: u64, _json: bool, _out: &mut Out) -> Result<i32> {
    Err(Error::Unsupported("HAMMER map: not yet".into()))
}
