//! ondisk: read, decode, check and browse raw images of btrfs, bcachefs and HAMMER.
//!
//! The library is the tool: `main.rs` only parses the command line. Open a device set with
//! [`image::DeviceSet::open`], find out what it holds with [`detect::detect`], then use the
//! filesystem's module ([`btrfs`]).

pub mod btrfs;
pub mod check;
pub mod cli;
pub mod detect;
pub mod error;
pub mod findings;
pub mod hammer;
pub mod image;
pub mod le;
pub mod progress;
pub mod record;

pub use error::{Error, Result};
