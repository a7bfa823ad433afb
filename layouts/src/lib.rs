//! On-disk structures of btrfs, bcachefs and HAMMER.
//!
//! Every structure is a `#[repr(C)]` zerocopy view with endian-explicit fields, declared once with
//! [`layout!`] so that the same declaration also yields a field table ([`Field`]) that generic
//! printers (JSON dump, the browser) walk. No I/O and no policy live here: a view of bad bytes is
//! still a view, and deciding what the bytes mean is the engine's job.
#![forbid(unsafe_code)]

pub mod bcachefs;
pub mod btrfs;
mod fields;
pub mod hammer;

pub use fields::{Field, Layout, Render};

/// Little-endian integer types used by every on-disk structure here.
pub mod le {
    pub use zerocopy::little_endian::{I16, I32, I64, U16, U32, U64};
}
