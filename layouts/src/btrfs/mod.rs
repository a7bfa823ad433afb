//! btrfs on-disk structures (`include/uapi/linux/btrfs_tree.h`, btrfs-progs `kernel-shared/`).

pub mod consts;
pub mod items;
pub mod superblock;
pub mod tree;
pub mod volumes;

pub use consts::*;
pub use items::{
    BalanceItem, BlockGroupItem, DevReplaceItem, DevStatsItem, DirItem, DirLogItem, DiskBalanceArgs, ExtentDataRef,
    ExtentInlineRef, ExtentItem, ExtentOwnerRef, ExtentRefV0, FileExtentItem, FreeSpaceHeader, FreeSpaceInfo,
    InodeExtref, InodeItem, InodeRef, QgroupInfoItem, QgroupLimitItem, QgroupStatusItem, RaidStride, RootItem, RootRef,
    SharedDataRef, Timespec, TreeBlockInfo, VerityDescriptorItem,
};
pub use superblock::{DevItem, RootBackup, SuperBlock};
pub use tree::{DiskKey, Header, Item, KeyPtr};
pub use volumes::{Chunk, DevExtent, Stripe};
