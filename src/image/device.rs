//! One opened device: a mapped or pread-backed, read-only view of its bytes.

use super::OpenOptions;
use crate::error::{Error, Result};
use memmap2::Mmap;
use std::borrow::Cow;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A read that could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The range lies (partly) past the end of the device.
    #[error("read of {len} bytes at {offset} is past the end of the device ({size} bytes)")]
    OutOfRange { offset: u64, len: usize, size: u64 },
    /// The operating system failed the read.
    #[error("I/O error reading {len} bytes at {offset}: {message}")]
    Io { offset: u64, len: usize, message: String },
    /// The data is not in this image (a metadump holds metadata only; a device is missing).
    #[error("{0}")]
    Absent(String),
}

enum Backing {
    /// The mapping (it stays valid after the file is closed).
    Mmap(Mmap),
    Pread(File),
}

/// A read-only device or image file.
pub struct Device {
    path: PathBuf,
    backing: Backing,
    size: u64,
    /// Keeps a decompressed temporary file alive as long as its mapping.
    _temp: Option<File>,
}

impl Device {
    /// Opens `path` read-only. Block devices get their size by seeking to the end (their metadata
    /// length is 0).
    pub fn open(path: &Path, opts: OpenOptions) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Self::from_file(path.to_path_buf(), file, opts, None)
    }

    /// Wraps an already opened file (e.g. a decompressed temporary).
    pub(super) fn from_file(
        path: PathBuf,
        mut file: File,
        opts: OpenOptions,
        temp: Option<File>,
    ) -> Result<Self> {
        let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            // Not a usage error: the path exists but holds no image (fsck(8) exit 8).
            return Err(Error::io(&path, std::io::Error::other("is a directory, not an image or device")));
        }
        let size = if meta.is_file() {
            meta.len()
        } else {
            file.seek(SeekFrom::End(0)).map_err(|e| Error::io(&path, e))?
        };
        let backing = if opts.no_mmap || size == 0 || usize::try_from(size).is_err() {
            Backing::Pread(file)
        } else {
            // SAFETY: the mapping is read-only and private to this process. Another process may
            // change the file underneath (a live block device); that can only make us read
            // inconsistent bytes, which every parser must survive anyway, never write memory we
            // do not own. Users who need stable reads of a changing device pass --no-mmap.
            match unsafe { memmap2::MmapOptions::new().len(size as usize).map(&file) } {
                Ok(map) => Backing::Mmap(map),
                // No address space for the whole device (an address-space limit, a huge device
                // on a small machine): read it with pread instead, the output is the same.
                Err(_) => Backing::Pread(file),
            }
        };
        Ok(Device { path, backing, size, _temp: temp })
    }

    /// The path the user gave.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Tells the kernel a range will be read soon, so that its read is queued now, beside
    /// others, rather than when the page faults or the pread asks (a tree walk announces blocks
    /// it will visit). A hint only: errors are ignored.
    ///
    /// The kernel reads at most max(read_ahead_kb, max_sectors_kb) of one such request and
    /// silently drops the rest (`force_page_cache_ra`), so the range is handed over in pieces
    /// of `WILL_NEED_PIECE`. With read_ahead_kb and max_sectors_kb at 128, whole ranges left
    /// the check of the large benchmark image at 1.1-1.3 s cold instead of 0.4-0.7 s, and
    /// `--check-data-csum` at 10 s instead of 1-1.4 s; the I/O scheduler merges the pieces'
    /// reads again (about 400 KiB per request either way).
    pub fn will_need(&self, offset: u64, len: u64) {
        let end = offset.saturating_add(len).min(self.size);
        let mut at = offset;
        while at < end {
            let n = (end - at).min(WILL_NEED_PIECE);
            match &self.backing {
                Backing::Mmap(map) => {
                    let _ = map.advise_range(memmap2::Advice::WillNeed, at as usize, n as usize);
                }
                Backing::Pread(file) => fadvise_will_need(file, at, n),
            }
            at += n;
        }
    }

    /// Unmaps the pages of the image this process has mapped, keeping them in the page cache:
    /// a later read maps them again. A walk over a large image maps hundreds of megabytes
    /// page by page, and tearing that down costs tens of milliseconds wherever it happens (at
    /// the latest when the process exits); done here, it overlaps other work. A hint only.
    pub fn release_pages(&self) {
        if let Backing::Mmap(map) = &self.backing {
            // Random access from here on: besides turning off read-around for later faults, it
            // lets the unmapping skip marking every page accessed on the page LRU (the kernel's
            // `vma_has_recency`), which measured more than half of its cost.
            let _ = map.advise(memmap2::Advice::Random);
            // SAFETY: a read-only shared mapping of the file (memmap2's `map`) holds no
            // anonymous pages whose contents MADV_DONTNEED could drop: it only removes this
            // process's page table entries, the pages stay in the page cache, and the same file
            // bytes come back when they are read again. The mapping itself stays valid, so
            // slices borrowed from it stay sound.
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// Reads `len` bytes at `offset`: borrowed from the mapping, or read into a buffer.
    pub fn read(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadError> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|e| e > self.size) {
            return Err(ReadError::OutOfRange { offset, len, size: self.size });
        }
        match &self.backing {
            Backing::Mmap(map) => {
                let start = offset as usize;
                Ok(Cow::Borrowed(&map[start..start + len]))
            }
            Backing::Pread(file) => {
                let mut buf = vec![0u8; len];
                file.read_exact_at(&mut buf, offset).map_err(|e| ReadError::Io {
                    offset,
                    len,
                    message: e.to_string(),
                })?;
                Ok(Cow::Owned(buf))
            }
        }
    }

    /// Reads up to `len` bytes at `offset`, fewer at the end of the device; empty past it.
    pub fn read_upto(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>, ReadError> {
        let avail = self.size.saturating_sub(offset).min(len as u64) as usize;
        self.read(offset.min(self.size), avail)
    }
}

/// The most one read-ahead request asks for: the kernel's default read_ahead_kb, which
/// max(read_ahead_kb, max_sectors_kb) is at least on any device left at its defaults.
const WILL_NEED_PIECE: u64 = 128 << 10;

/// The page cache read-ahead a pread-backed device gets (`--no-mmap`): without it each pread of
/// a cold block waits alone for the disk, three times slower over a whole walk.
#[cfg(target_os = "linux")]
fn fadvise_will_need(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else { return };
    // SAFETY: posix_fadvise only reads its arguments and the descriptor is open for as long as
    // `file` lives; it changes nothing in the file, only what the page cache reads ahead.
    let _ = unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_WILLNEED) };
}

#[cfg(not(target_os = "linux"))]
fn fadvise_will_need(_file: &File, _offset: u64, _len: u64) {}
