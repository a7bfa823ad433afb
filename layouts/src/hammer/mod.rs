//! HAMMER (DragonFly BSD) on-disk structures (`sys/vfs/hammer/hammer_disk.h`).
//!
//! Every field is little-endian. All structures are naturally aligned in C except
//! `hammer_pseudofs_data`, which is `__packed`; here every view is `Unaligned` anyway.

pub mod btree;
pub mod consts;
pub mod data;
pub mod dirhash;
pub mod freemap;
pub mod undo;
pub mod volume;

pub use btree::{BtreeElm, InternalElm, LeafElm, NodeHeader};
pub use consts::*;
pub use data::{DirentryHead, InodeData, PfsData, SnapshotData};
pub use freemap::{Blockmap, Layer1, Layer2};
pub use undo::{FifoHead, FifoTail, RedoBody, UndoBody};
pub use volume::VolumeOndisk;
