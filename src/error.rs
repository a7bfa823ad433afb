//! The crate's one error type: operational failures, not findings.
//!
//! A corrupt image yields findings and the run goes on; an `Error` means the image could not be
//! read at all (no such file, not a filesystem, a feature we do not read).

use std::path::PathBuf;

/// Why an operation could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused a read, an open or a mapping.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No filesystem we know was found.
    #[error("{0}: not a btrfs, bcachefs or HAMMER filesystem")]
    NotAFilesystem(PathBuf),
    /// The image uses something ondisk does not read (yet).
    #[error("{0}")]
    Unsupported(String),
    /// The image is too damaged to go on.
    #[error("{0}")]
    Corrupt(String),
    /// The request itself is wrong (bad tree name, address outside the filesystem, ...).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
