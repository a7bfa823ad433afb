//! btrfs on-disk structures (`include/uapi/linux/btrfs_tree.h`, btrfs-progs `kernel-shared/`).

pub mod consts;
pub mod superblock;
pub mod tree;
pub mod volumes;

pub use consts::*;
pub use superblock::{DevItem, RootBackup, SuperBlock};
pub use tree::{DiskKey, Header, Item, KeyPtr};
pub use volumes::{Chunk, DevExtent, Stripe};
