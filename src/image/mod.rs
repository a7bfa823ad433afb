//! Bytes in: raw files and block devices, compressed images, btrfs-image metadumps.
//!
//! Every path of a device set is opened read-only. Raw files and block devices are mmapped (one
//! `unsafe`, in `device.rs`); `--no-mmap` reads with pread instead, for devices that may change
//! underneath. `.zst` and `.xz` images are decompressed once into a sparse, already-unlinked
//! temporary file, so a multi-GB image never sits in RAM.

mod decompress;
mod device;
pub mod metadump;

pub use device::{Device, ReadError};
pub use metadump::Metadump;

use crate::error::Result;
use std::path::{Path, PathBuf};

/// How to open images.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Read with pread instead of mmap.
    pub no_mmap: bool,
}

/// One member of a device set as opened.
pub enum Member {
    /// A raw image or block device (possibly decompressed from `.zst`/`.xz`).
    Raw(Device),
    /// A btrfs-image metadump: tree blocks addressed by logical address.
    Metadump(Metadump),
}

impl Member {
    /// The path the user gave.
    pub fn path(&self) -> &Path {
        match self {
            Member::Raw(d) => d.path(),
            Member::Metadump(m) => m.path(),
        }
    }
}

/// The devices of one filesystem, in the order given.
pub struct DeviceSet {
    pub members: Vec<Member>,
}

impl DeviceSet {
    /// Opens every path read-only, decompressing and recognising metadumps as needed.
    pub fn open(paths: &[PathBuf], opts: OpenOptions) -> Result<Self> {
        let members = paths
            .iter()
            .map(|p| open_member(p, opts))
            .collect::<Result<Vec<_>>>()?;
        Ok(DeviceSet { members })
    }
}

/// Opens one path: decompresses `.zst`/`.xz`, then tells a metadump from a raw image by content.
pub fn open_member(path: &Path, opts: OpenOptions) -> Result<Member> {
    let dev = match decompress::Codec::from_path(path)? {
        Some(codec) => decompress::to_sparse_temp(path, codec, opts)?,
        None => Device::open(path, opts)?,
    };
    if metadump::is_metadump(&dev) {
        return Ok(Member::Metadump(Metadump::new(dev)?));
    }
    Ok(Member::Raw(dev))
}
