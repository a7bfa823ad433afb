//! Constants from `btrfs_tree.h`: key types, well-known objectids, flags, checksum types.

// Key types (`BTRFS_*_KEY`).
pub const INODE_ITEM_KEY: u8 = 1;
pub const INODE_REF_KEY: u8 = 12;
pub const INODE_EXTREF_KEY: u8 = 13;
pub const XATTR_ITEM_KEY: u8 = 24;
pub const VERITY_DESC_ITEM_KEY: u8 = 36;
pub const VERITY_MERKLE_ITEM_KEY: u8 = 37;
pub const ORPHAN_ITEM_KEY: u8 = 48;
pub const DIR_LOG_ITEM_KEY: u8 = 60;
pub const DIR_LOG_INDEX_KEY: u8 = 72;
pub const DIR_ITEM_KEY: u8 = 84;
pub const DIR_INDEX_KEY: u8 = 96;
pub const EXTENT_DATA_KEY: u8 = 108;
pub const EXTENT_CSUM_KEY: u8 = 128;
pub const ROOT_ITEM_KEY: u8 = 132;
pub const ROOT_BACKREF_KEY: u8 = 144;
pub const ROOT_REF_KEY: u8 = 156;
pub const EXTENT_ITEM_KEY: u8 = 168;
pub const METADATA_ITEM_KEY: u8 = 169;
pub const EXTENT_OWNER_REF_KEY: u8 = 172;
pub const TREE_BLOCK_REF_KEY: u8 = 176;
pub const EXTENT_DATA_REF_KEY: u8 = 178;
pub const EXTENT_REF_V0_KEY: u8 = 180;
pub const SHARED_BLOCK_REF_KEY: u8 = 182;
pub const SHARED_DATA_REF_KEY: u8 = 184;
pub const BLOCK_GROUP_ITEM_KEY: u8 = 192;
pub const FREE_SPACE_INFO_KEY: u8 = 198;
pub const FREE_SPACE_EXTENT_KEY: u8 = 199;
pub const FREE_SPACE_BITMAP_KEY: u8 = 200;
pub const DEV_EXTENT_KEY: u8 = 204;
pub const DEV_ITEM_KEY: u8 = 216;
pub const CHUNK_ITEM_KEY: u8 = 228;
pub const RAID_STRIPE_KEY: u8 = 230;
pub const QGROUP_STATUS_KEY: u8 = 240;
pub const QGROUP_INFO_KEY: u8 = 242;
pub const QGROUP_LIMIT_KEY: u8 = 244;
pub const QGROUP_RELATION_KEY: u8 = 246;
/// Also `BTRFS_BALANCE_ITEM_KEY`.
pub const TEMPORARY_ITEM_KEY: u8 = 248;
/// Also `BTRFS_DEV_STATS_KEY`.
pub const PERSISTENT_ITEM_KEY: u8 = 249;
pub const DEV_REPLACE_KEY: u8 = 250;
pub const UUID_KEY_SUBVOL: u8 = 251;
pub const UUID_KEY_RECEIVED_SUBVOL: u8 = 252;
pub const STRING_ITEM_KEY: u8 = 253;

// Well-known objectids (`BTRFS_*_OBJECTID`).
pub const ROOT_TREE_OBJECTID: u64 = 1;
pub const EXTENT_TREE_OBJECTID: u64 = 2;
pub const CHUNK_TREE_OBJECTID: u64 = 3;
pub const DEV_TREE_OBJECTID: u64 = 4;
pub const FS_TREE_OBJECTID: u64 = 5;
pub const ROOT_TREE_DIR_OBJECTID: u64 = 6;
pub const CSUM_TREE_OBJECTID: u64 = 7;
pub const QUOTA_TREE_OBJECTID: u64 = 8;
pub const UUID_TREE_OBJECTID: u64 = 9;
pub const FREE_SPACE_TREE_OBJECTID: u64 = 10;
pub const BLOCK_GROUP_TREE_OBJECTID: u64 = 11;
pub const RAID_STRIPE_TREE_OBJECTID: u64 = 12;
pub const DEV_STATS_OBJECTID: u64 = 0;
pub const BALANCE_OBJECTID: u64 = (-4i64) as u64;
pub const ORPHAN_OBJECTID: u64 = (-5i64) as u64;
pub const TREE_LOG_OBJECTID: u64 = (-6i64) as u64;
pub const TREE_LOG_FIXUP_OBJECTID: u64 = (-7i64) as u64;
pub const TREE_RELOC_OBJECTID: u64 = (-8i64) as u64;
pub const DATA_RELOC_TREE_OBJECTID: u64 = (-9i64) as u64;
pub const EXTENT_CSUM_OBJECTID: u64 = (-10i64) as u64;
pub const FREE_SPACE_OBJECTID: u64 = (-11i64) as u64;
pub const FREE_INO_OBJECTID: u64 = (-12i64) as u64;
pub const MULTIPLE_OBJECTIDS: u64 = (-255i64) as u64;
pub const FIRST_FREE_OBJECTID: u64 = 256;
pub const LAST_FREE_OBJECTID: u64 = (-256i64) as u64;
pub const FIRST_CHUNK_TREE_OBJECTID: u64 = 256;
pub const DEV_ITEMS_OBJECTID: u64 = 1;

// Block group / chunk type flags (`BTRFS_BLOCK_GROUP_*`).
pub const BLOCK_GROUP_DATA: u64 = 1 << 0;
pub const BLOCK_GROUP_SYSTEM: u64 = 1 << 1;
pub const BLOCK_GROUP_METADATA: u64 = 1 << 2;
pub const BLOCK_GROUP_RAID0: u64 = 1 << 3;
pub const BLOCK_GROUP_RAID1: u64 = 1 << 4;
pub const BLOCK_GROUP_DUP: u64 = 1 << 5;
pub const BLOCK_GROUP_RAID10: u64 = 1 << 6;
pub const BLOCK_GROUP_RAID5: u64 = 1 << 7;
pub const BLOCK_GROUP_RAID6: u64 = 1 << 8;
pub const BLOCK_GROUP_RAID1C3: u64 = 1 << 9;
pub const BLOCK_GROUP_RAID1C4: u64 = 1 << 10;
pub const BLOCK_GROUP_TYPE_MASK: u64 = BLOCK_GROUP_DATA | BLOCK_GROUP_SYSTEM | BLOCK_GROUP_METADATA;
pub const BLOCK_GROUP_PROFILE_MASK: u64 = BLOCK_GROUP_RAID0
    | BLOCK_GROUP_RAID1
    | BLOCK_GROUP_DUP
    | BLOCK_GROUP_RAID10
    | BLOCK_GROUP_RAID5
    | BLOCK_GROUP_RAID6
    | BLOCK_GROUP_RAID1C3
    | BLOCK_GROUP_RAID1C4;
/// `BTRFS_AVAIL_ALLOC_BIT_SINGLE`: "single" spelled out in the extended profile bits.
pub const AVAIL_ALLOC_BIT_SINGLE: u64 = 1 << 48;

// Superblock flags.
pub const SUPER_FLAG_WRITTEN: u64 = 1 << 0;
pub const SUPER_FLAG_RELOC: u64 = 1 << 1;
pub const SUPER_FLAG_ERROR: u64 = 1 << 2;
pub const SUPER_FLAG_SEEDING: u64 = 1 << 32;
pub const SUPER_FLAG_METADUMP: u64 = 1 << 33;
pub const SUPER_FLAG_METADUMP_V2: u64 = 1 << 34;
pub const SUPER_FLAG_CHANGING_FSID: u64 = 1 << 35;
pub const SUPER_FLAG_CHANGING_FSID_V2: u64 = 1 << 36;
pub const SUPER_FLAG_CHANGING_BG_TREE: u64 = 1 << 38;
pub const SUPER_FLAG_CHANGING_DATA_CSUM: u64 = 1 << 39;
pub const SUPER_FLAG_CHANGING_META_CSUM: u64 = 1 << 40;

// compat_ro flags.
pub const FEATURE_COMPAT_RO_FREE_SPACE_TREE: u64 = 1 << 0;
pub const FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID: u64 = 1 << 1;
pub const FEATURE_COMPAT_RO_VERITY: u64 = 1 << 2;
pub const FEATURE_COMPAT_RO_BLOCK_GROUP_TREE: u64 = 1 << 3;

// incompat flags.
pub const FEATURE_INCOMPAT_MIXED_BACKREF: u64 = 1 << 0;
pub const FEATURE_INCOMPAT_DEFAULT_SUBVOL: u64 = 1 << 1;
pub const FEATURE_INCOMPAT_MIXED_GROUPS: u64 = 1 << 2;
pub const FEATURE_INCOMPAT_COMPRESS_LZO: u64 = 1 << 3;
pub const FEATURE_INCOMPAT_COMPRESS_ZSTD: u64 = 1 << 4;
pub const FEATURE_INCOMPAT_BIG_METADATA: u64 = 1 << 5;
pub const FEATURE_INCOMPAT_EXTENDED_IREF: u64 = 1 << 6;
pub const FEATURE_INCOMPAT_RAID56: u64 = 1 << 7;
pub const FEATURE_INCOMPAT_SKINNY_METADATA: u64 = 1 << 8;
pub const FEATURE_INCOMPAT_NO_HOLES: u64 = 1 << 9;
pub const FEATURE_INCOMPAT_METADATA_UUID: u64 = 1 << 10;
pub const FEATURE_INCOMPAT_RAID1C34: u64 = 1 << 11;
pub const FEATURE_INCOMPAT_ZONED: u64 = 1 << 12;
pub const FEATURE_INCOMPAT_EXTENT_TREE_V2: u64 = 1 << 13;
pub const FEATURE_INCOMPAT_RAID_STRIPE_TREE: u64 = 1 << 14;
pub const FEATURE_INCOMPAT_SIMPLE_QUOTA: u64 = 1 << 16;

// Checksum types (`btrfs_csum_type`).
pub const CSUM_TYPE_CRC32: u16 = 0;
pub const CSUM_TYPE_XXHASH: u16 = 1;
pub const CSUM_TYPE_SHA256: u16 = 2;
pub const CSUM_TYPE_BLAKE2: u16 = 3;

/// `BTRFS_STRIPE_LEN`: the default stripe length (64 KiB).
pub const STRIPE_LEN: u64 = 64 << 10;
