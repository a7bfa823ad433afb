//! Features family: what the filesystem uses against the feature bits its superblock declares.
//!
//! An incompat or compat_ro bit is the promise that tells a kernel how to read the format. A
//! structure in use without its bit is read wrongly: without BLOCK_GROUP_TREE the kernel looks
//! for block groups in the extent tree and finds none; without SKINNY_METADATA it looks up tree
//! blocks' extent items by EXTENT_ITEM key and misses the METADATA_ITEMs; a DATA|METADATA chunk
//! without MIXED_GROUPS fails the tree-checker; an owner ref (simple quotas) without SIMPLE_QUOTA
//! is an invalid inline ref to the kernel, which aborts the transaction that frees the extent.
//! Those are errors. RAID5/6 and RAID1C3/4 chunks, extended inode refs, LZO/ZSTD extents and
//! verity items without their bit are read correctly by a current kernel (which sets the missing
//! RAID bits itself), but a kernel that predates the feature would mount the filesystem and
//! misread it: warnings. So is a quota status in simple mode without SIMPLE_QUOTA (reported by
//! the quota group family, which reads the status item).

use super::walker::{Cx, Family, TreeRoot};
use crate::btrfs::fs::Block;
use crate::findings::{Finding, Report, Severity};
use ondisk_layouts::btrfs::items::{ExtentItem, FileExtentItem, COMPRESS_LZO, COMPRESS_ZSTD, EXTENT_FLAG_DATA};
use ondisk_layouts::btrfs::*;
use zerocopy::FromBytes;

crate::declare_kinds! {
    FEATURE_UNDECLARED = "btrfs.feature_undeclared", Error,
        "the filesystem uses a feature its superblock does not declare: a block group tree, skinny metadata items, mixed block groups or simple quotas' owner refs (errors: the kernel misreads them); RAID5/6, RAID1C3/4, extended inode refs, LZO/ZSTD extents, verity items or a quota status in simple mode (warnings: an older kernel would misread them)";
}

/// The compression byte of a file extent item (inline ones too, which are shorter than the
/// whole struct).
const FILE_EXTENT_COMPRESSION: usize = std::mem::offset_of!(FileExtentItem, compression);

/// A feature the walk can see in use, the superblock field and bit that declare it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Use {
    BlockGroupTree,
    SkinnyMetadata,
    ExtendedIref,
    Lzo,
    Zstd,
    Verity,
    OwnerRef,
}

impl Use {
    const ALL: [Use; 7] = [Use::BlockGroupTree, Use::SkinnyMetadata, Use::ExtendedIref, Use::Lzo, Use::Zstd, Use::Verity, Use::OwnerRef];

    /// (what, flag name, declared, severity when undeclared)
    fn declared(self, incompat: u64, compat_ro: u64) -> (&'static str, &'static str, bool, Severity) {
        let i = |bit: u64| incompat & bit != 0;
        match self {
            Use::BlockGroupTree => ("block group items in the block group tree", "compat_ro BLOCK_GROUP_TREE", compat_ro & FEATURE_COMPAT_RO_BLOCK_GROUP_TREE != 0, Severity::Error),
            Use::SkinnyMetadata => ("METADATA_ITEMs in the extent tree", "incompat SKINNY_METADATA", i(FEATURE_INCOMPAT_SKINNY_METADATA), Severity::Error),
            Use::ExtendedIref => ("INODE_EXTREF items", "incompat EXTENDED_IREF", i(FEATURE_INCOMPAT_EXTENDED_IREF), Severity::Warning),
            Use::Lzo => ("LZO-compressed file extents", "incompat COMPRESS_LZO", i(FEATURE_INCOMPAT_COMPRESS_LZO), Severity::Warning),
            Use::Zstd => ("ZSTD-compressed file extents", "incompat COMPRESS_ZSTD", i(FEATURE_INCOMPAT_COMPRESS_ZSTD), Severity::Warning),
            Use::Verity => ("verity items", "compat_ro VERITY", compat_ro & FEATURE_COMPAT_RO_VERITY != 0, Severity::Warning),
            Use::OwnerRef => ("data extents with an owner ref (simple quotas)", "incompat SIMPLE_QUOTA", i(FEATURE_INCOMPAT_SIMPLE_QUOTA), Severity::Error),
        }
    }
}

/// The features family's state: how many items of each feature the walk met.
#[derive(Default)]
pub struct Features {
    seen: [u64; Use::ALL.len()],
}

impl Features {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Family for Features {
    fn item(&mut self, _cx: &Cx, root: &TreeRoot, _b: &Block, _slot: usize, key: &DiskKey, data: &[u8], first_visit: bool) {
        if !first_visit {
            return;
        }
        let used = match (root.tree, key.type_) {
            (BLOCK_GROUP_TREE_OBJECTID, BLOCK_GROUP_ITEM_KEY) => Use::BlockGroupTree,
            (EXTENT_TREE_OBJECTID, METADATA_ITEM_KEY) => Use::SkinnyMetadata,
            // Simple quotas put the owner ref first, before the data ref (a tree block's extent
            // item has its key there instead).
            (EXTENT_TREE_OBJECTID, EXTENT_ITEM_KEY) => match ExtentItem::ref_from_prefix(data) {
                Ok((ei, refs)) if ei.flags.get() & EXTENT_FLAG_DATA != 0 && refs.first() == Some(&EXTENT_OWNER_REF_KEY) => Use::OwnerRef,
                _ => return,
            },
            (_, INODE_EXTREF_KEY) => Use::ExtendedIref,
            (_, VERITY_DESC_ITEM_KEY | VERITY_MERKLE_ITEM_KEY) => Use::Verity,
            (_, EXTENT_DATA_KEY) => match data.get(FILE_EXTENT_COMPRESSION) {
                Some(&COMPRESS_LZO) => Use::Lzo,
                Some(&COMPRESS_ZSTD) => Use::Zstd,
                _ => return,
            },
            _ => return,
        };
        self.seen[used as usize] += 1;
    }

    fn finish(&mut self, cx: &Cx, report: &mut Report) {
        let sb = cx.fs.sb.sb();
        let (incompat, compat_ro) = (sb.incompat_flags.get(), sb.compat_ro_flags.get());
        let mut undeclared = |n: u64, what: &str, flag: &'static str, sev: Severity| {
            if n > 0 {
                report.push(Finding::new(&FEATURE_UNDECLARED, format!("{n} {what}, but the superblock lacks {flag}")).severity(sev).ctx("feature", flag).ctx("count", n));
            }
        };
        for u in Use::ALL {
            let (what, flag, declared, sev) = u.declared(incompat, compat_ro);
            if !declared {
                undeclared(self.seen[u as usize], what, flag, sev);
            }
        }
        // Chunk profiles and types, from the chunk map the filesystem was opened with.
        let count = |f: &dyn Fn(u64) -> bool| cx.fs.chunks.chunks().filter(|c| f(c.type_)).count() as u64;
        if incompat & FEATURE_INCOMPAT_RAID56 == 0 {
            undeclared(count(&|t| t & (BLOCK_GROUP_RAID5 | BLOCK_GROUP_RAID6) != 0), "RAID5/6 chunks", "incompat RAID56", Severity::Warning);
        }
        if incompat & FEATURE_INCOMPAT_RAID1C34 == 0 {
            undeclared(count(&|t| t & (BLOCK_GROUP_RAID1C3 | BLOCK_GROUP_RAID1C4) != 0), "RAID1C3/4 chunks", "incompat RAID1C34", Severity::Warning);
        }
        if incompat & FEATURE_INCOMPAT_MIXED_GROUPS == 0 {
            let mixed = count(&|t| t & BLOCK_GROUP_DATA != 0 && t & BLOCK_GROUP_METADATA != 0);
            undeclared(mixed, "DATA|METADATA chunks", "incompat MIXED_GROUPS", Severity::Error);
        }
    }
}
