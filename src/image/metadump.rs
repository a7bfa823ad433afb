//! btrfs-image metadumps, read in place: no restore step.
//!
//! A metadump is a sequence of clusters. Each cluster starts with a 1024-byte block holding a
//! header (`magic`, the cluster's own file offset, item count, compression) and up to 83 items
//! (`bytenr`, `size`); the items' payloads follow, each its own zlib stream when compressed, and
//! the next cluster starts at the next 1024-byte boundary. Items are addressed by btrfs LOGICAL
//! address (the superblock by its byte offset, 65536), so a reader needs no chunk map.
//!
//! Payloads are inflated once, at open, into an unlinked temporary file, and read from there by
//! a sorted index: bounded memory whatever the dump's size.

use super::{Device, OpenOptions, ReadError};
use crate::error::{Error, Result};
use crate::le::{u32_at, u64_at};
use std::borrow::Cow;
use std::io::{Read, Write};
use std::path::Path;

/// Cluster magic of dump version 0 (`btrfs-image` default).
pub const MAGIC_V0: u64 = 0xbd5c_25e2_7295_668b;
/// Cluster magic of dump version 1 (`btrfs-image -d`, data included, larger items).
pub const MAGIC_V1: u64 = 0xbd5c_25e2_7295_668c;
const BLOCK: u64 = 1024;
const HEADER_SIZE: usize = 21;
const ITEM_SIZE: usize = 12;
const ITEMS_PER_CLUSTER: usize = (BLOCK as usize - HEADER_SIZE) / ITEM_SIZE;

/// Whether the device starts with a metadump cluster header.
pub fn is_metadump(dev: &Device) -> bool {
    dev.read_upto(0, 8)
        .ok()
        .and_then(|b| u64_at(&b, 0))
        .is_some_and(|m| m == MAGIC_V0 || m == MAGIC_V1)
}

/// One inflated item: `len` bytes of logical address space starting at `logical`.
#[derive(Debug, Clone, Copy)]
struct Extent {
    logical: u64,
    len: u64,
    /// Where the inflated bytes sit in the store.
    store_offset: u64,
}

/// A btrfs-image metadump, opened.
pub struct Metadump {
    path: std::path::PathBuf,
    store: Device,
    index: Vec<Extent>,
    /// Problems met while indexing (a truncated cluster, a bad zlib stream): the dump is read as
    /// far as it goes and these are reported.
    pub damage: Vec<String>,
}

impl Metadump {
    /// Indexes and inflates every cluster of `dev`.
    pub fn new(dev: Device) -> Result<Self> {
        let path = dev.path().to_path_buf();
        let max_item: u64 = if dev.read_upto(0, 8).is_ok_and(|b| b.len() == 8 && b[..8] == MAGIC_V1.to_le_bytes()) {
            256 << 20
        } else {
            256 << 10
        };
        let temp = tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let mut writer = std::io::BufWriter::new(temp.try_clone().map_err(|e| Error::io(&path, e))?);
        let mut index = Vec::new();
        let mut damage = Vec::new();
        let mut stored: u64 = 0;
        let mut pos: u64 = 0;
        let size = dev.size();
        while pos < size {
            let Ok(head) = dev.read(pos, BLOCK as usize) else {
                damage.push(format!("truncated cluster header at {pos}"));
                break;
            };
            let magic = u64_at(&head, 0).unwrap_or(0);
            if magic != MAGIC_V0 && magic != MAGIC_V1 {
                // Zero padding after the last cluster ends the dump.
                if head.iter().any(|&b| b != 0) {
                    damage.push(format!("bad cluster magic {magic:#x} at {pos}"));
                }
                break;
            }
            let nritems = u32_at(&head, 16).unwrap_or(0) as usize;
            let compress = head[20];
            if nritems > ITEMS_PER_CLUSTER {
                damage.push(format!("cluster at {pos} claims {nritems} items (max {ITEMS_PER_CLUSTER})"));
                break;
            }
            let mut data_pos = pos + BLOCK;
            for i in 0..nritems {
                let at = HEADER_SIZE + i * ITEM_SIZE;
                let (Some(logical), Some(csize)) = (u64_at(&head, at), u32_at(&head, at + 8)) else { break };
                let Ok(payload) = dev.read(data_pos, csize as usize) else {
                    damage.push(format!("item {i} of cluster at {pos} runs past the end of the dump"));
                    break;
                };
                data_pos += u64::from(csize);
                let inflated = match compress {
                    0 => Ok(payload.len() as u64),
                    1 => inflate_into(&payload, &mut writer, max_item),
                    c => Err(format!("unknown compression {c}")),
                };
                let inflated = match inflated {
                    Ok(n) => n,
                    Err(e) => {
                        damage.push(format!("item at logical {logical}: {e}"));
                        continue;
                    }
                };
                if compress == 0 {
                    writer.write_all(&payload).map_err(|e| Error::io(&path, e))?;
                }
                index.push(Extent { logical, len: inflated, store_offset: stored });
                stored += inflated;
            }
            pos = data_pos.div_ceil(BLOCK) * BLOCK;
        }
        writer.flush().map_err(|e| Error::io(&path, e))?;
        drop(writer);
        index.sort_by_key(|e| e.logical);
        let handle = temp.try_clone().map_err(|e| Error::io(&path, e))?;
        let store = Device::from_file(path.clone(), handle, OpenOptions::default(), Some(temp))?;
        if index.is_empty() {
            return Err(Error::Corrupt(format!("{}: metadump holds no items", path.display())));
        }
        Ok(Metadump { path, store, index, damage })
    }

    /// The path the user gave.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `len` bytes of logical address space, which must lie inside one dumped item.
    pub fn read_logical(&self, logical: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadError> {
        let i = self.index.partition_point(|e| e.logical <= logical);
        let hit = i.checked_sub(1).map(|i| self.index[i]).filter(|e| {
            logical
                .checked_add(len as u64)
                .is_some_and(|end| end <= e.logical.saturating_add(e.len))
        });
        match hit {
            Some(e) => self.store.read(e.store_offset + (logical - e.logical), len),
            None => Err(ReadError::Absent(format!(
                "logical {logical} (+{len}) is not in the metadump"
            ))),
        }
    }

    /// The dumped logical ranges, in address order.
    pub fn extents(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.index.iter().map(|e| (e.logical, e.len))
    }
}

/// Inflates one zlib stream into `out`, refusing more than `max` bytes (a zlib bomb).
fn inflate_into(payload: &[u8], out: &mut impl Write, max: u64) -> Result<u64, String> {
    let mut dec = flate2::read::ZlibDecoder::new(payload).take(max + 1);
    let mut buf = Vec::new();
    dec.read_to_end(&mut buf).map_err(|e| format!("zlib: {e}"))?;
    if buf.len() as u64 > max {
        return Err(format!("inflates past {max} bytes"));
    }
    out.write_all(&buf).map_err(|e| e.to_string())?;
    Ok(buf.len() as u64)
}
