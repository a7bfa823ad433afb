//! Constants of `hammer_disk.h`, with their on-disk names.

/// `HAMMER_FSBUF_VOLUME`: the volume header signature, "HAMMER01" read as a little-endian u64.
pub const VOL_SIGNATURE: u64 = 0xC841_4D4D_C552_3031;
/// The same signature from a volume of the other endianness (unsupported, but recognisable).
pub const VOL_SIGNATURE_REV: u64 = 0x3130_52C5_4D4D_41C8;
/// `HAMMER_FSTYPE_STRING` as stored: uuid 61dc63ac-6e38-11dc-8513-01301bb8a9f5 in DCE layout.
pub const FSTYPE_UUID: [u8; 16] = [
    0xac, 0x63, 0xdc, 0x61, 0x38, 0x6e, 0xdc, 0x11, 0x85, 0x13, 0x01, 0x30, 0x1b, 0xb8, 0xa9, 0xf5,
];

/// `HAMMER_BUFSIZE`: the I/O buffer.
pub const BUFSIZE: u64 = 16384;
/// `HAMMER_XBUFSIZE`: the buffer used for file data at or past 1 MiB.
pub const XBUFSIZE: u64 = 65536;
/// `HAMMER_BIGBLOCK_SIZE`: 8 MiB.
pub const BIGBLOCK_SIZE: u64 = 1 << 23;
/// `HAMMER_BIGBLOCK_MASK64`
pub const BIGBLOCK_MASK: u64 = BIGBLOCK_SIZE - 1;
/// `HAMMER_VOL_JUNK_SIZE`: header plus junk reserved at the start of each volume.
pub const VOL_JUNK_SIZE: u64 = 16 * BUFSIZE;
/// `HAMMER_MAX_VOLUMES`
pub const MAX_VOLUMES: u32 = 256;
/// `HAMMER_VOL_VERSION_MIN` .. `HAMMER_VOL_VERSION_WIP` (exclusive): versions the kernel mounts.
pub const VOL_VERSION_MIN: u32 = 1;
/// Highest version the kernel accepts.
pub const VOL_VERSION_MAX: u32 = 7;
/// Size of `struct hammer_volume_ondisk`.
pub const VOLUME_ONDISK_SIZE: usize = 1928;
/// `HAMMER_DATA_DOALIGN`: data allocations are 16-byte aligned.
pub const DATA_ALIGN: u64 = 16;

/// `HAMMER_OFF_ZONE_MASK`
pub const OFF_ZONE_MASK: u64 = 0xF000_0000_0000_0000;
/// `HAMMER_OFF_VOL_MASK`
pub const OFF_VOL_MASK: u64 = 0x0FF0_0000_0000_0000;
/// `HAMMER_OFF_SHORT_MASK`
pub const OFF_SHORT_MASK: u64 = 0x000F_FFFF_FFFF_FFFF;
/// `HAMMER_OFF_LONG_MASK`
pub const OFF_LONG_MASK: u64 = 0x0FFF_FFFF_FFFF_FFFF;
/// `HAMMER_BLOCKMAP_UNAVAIL`
pub const BLOCKMAP_UNAVAIL: u64 = 0xFFFF_FFFF_FFFF_FFFF;

/// Zone numbers (`HAMMER_ZONE_*_INDEX`).
pub const ZONE_FREE: u8 = 0;
/// `HAMMER_ZONE_RAW_VOLUME_INDEX`
pub const ZONE_RAW_VOLUME: u8 = 1;
/// `HAMMER_ZONE_RAW_BUFFER_INDEX`
pub const ZONE_RAW_BUFFER: u8 = 2;
/// `HAMMER_ZONE_UNDO_INDEX`
pub const ZONE_UNDO: u8 = 3;
/// `HAMMER_ZONE_FREEMAP_INDEX`
pub const ZONE_FREEMAP: u8 = 4;
/// `HAMMER_ZONE_BTREE_INDEX`
pub const ZONE_BTREE: u8 = 8;
/// `HAMMER_ZONE_META_INDEX`
pub const ZONE_META: u8 = 9;
/// `HAMMER_ZONE_LARGE_DATA_INDEX`
pub const ZONE_LARGE_DATA: u8 = 10;
/// `HAMMER_ZONE_SMALL_DATA_INDEX`
pub const ZONE_SMALL_DATA: u8 = 11;
/// `HAMMER_ZONE_UNAVAIL_INDEX`
pub const ZONE_UNAVAIL: u8 = 15;
/// `HAMMER_MAX_ZONES`
pub const MAX_ZONES: usize = 16;

/// Layer1 entries in one big-block (`HAMMER_BLOCKMAP_RADIX1`).
pub const BLOCKMAP_RADIX1: u64 = 262_144;
/// Layer2 entries in one big-block (`HAMMER_BLOCKMAP_RADIX2`).
pub const BLOCKMAP_RADIX2: u64 = 524_288;
/// Bytes covered by one layer1 entry (`HAMMER_BLOCKMAP_LAYER2`): 4 TiB.
pub const BLOCKMAP_LAYER2: u64 = BLOCKMAP_RADIX2 * BIGBLOCK_SIZE;
/// Layer1 entries per volume: a volume spans 2^52 bytes, 4 TiB each.
pub const LAYER1_PER_VOLUME: u64 = 1024;
/// Size of `struct hammer_blockmap_layer1`.
pub const LAYER1_SIZE: u64 = 32;
/// Size of `struct hammer_blockmap_layer2`.
pub const LAYER2_SIZE: u64 = 16;

/// `HAMMER_BTREE_TYPE_INTERNAL`
pub const BTREE_TYPE_INTERNAL: u8 = b'I';
/// `HAMMER_BTREE_TYPE_LEAF`
pub const BTREE_TYPE_LEAF: u8 = b'L';
/// `HAMMER_BTREE_TYPE_RECORD`: btype of a leaf element.
pub const BTREE_TYPE_RECORD: u8 = b'R';
/// `HAMMER_BTREE_TYPE_DELETED`: a freed node seen in raw scans.
pub const BTREE_TYPE_DELETED: u8 = b'D';
/// Size of `struct hammer_node_ondisk`.
pub const NODE_BYTES: usize = 4096;
/// `HAMMER_BTREE_CRCSIZE`: the node CRC covers bytes 4..4096.
pub const BTREE_CRCSIZE: usize = NODE_BYTES - 4;
/// `HAMMER_BTREE_LEAF_ELMS`
pub const BTREE_LEAF_ELMS: usize = 63;
/// `HAMMER_BTREE_INT_ELMS`: the right boundary is not counted.
pub const BTREE_INT_ELMS: usize = 62;
/// Size of the node header before `elms[]`.
pub const NODE_HEADER_SIZE: usize = 64;
/// Size of one `hammer_btree_elm`.
pub const BTREE_ELM_SIZE: usize = 64;

/// `HAMMER_RECTYPE_INODE`
pub const RECTYPE_INODE: u16 = 0x0001;
/// `HAMMER_RECTYPE_DATA`
pub const RECTYPE_DATA: u16 = 0x0010;
/// `HAMMER_RECTYPE_DIRENTRY`
pub const RECTYPE_DIRENTRY: u16 = 0x0011;
/// `HAMMER_RECTYPE_DB`
pub const RECTYPE_DB: u16 = 0x0012;
/// `HAMMER_RECTYPE_EXT`
pub const RECTYPE_EXT: u16 = 0x0013;
/// `HAMMER_RECTYPE_FIX`
pub const RECTYPE_FIX: u16 = 0x0014;
/// `HAMMER_RECTYPE_PFS`
pub const RECTYPE_PFS: u16 = 0x0015;
/// `HAMMER_RECTYPE_SNAPSHOT`
pub const RECTYPE_SNAPSHOT: u16 = 0x0016;
/// `HAMMER_RECTYPE_CONFIG`
pub const RECTYPE_CONFIG: u16 = 0x0017;
/// `HAMMER_FIXKEY_SYMLINK`
pub const FIXKEY_SYMLINK: i64 = 1;

/// `HAMMER_LOCALIZE_INODE`
pub const LOCALIZE_INODE: u32 = 0x0001;
/// `HAMMER_LOCALIZE_MISC`
pub const LOCALIZE_MISC: u32 = 0x0002;
/// `HAMMER_LOCALIZE_MASK`: the type half of a localization.
pub const LOCALIZE_MASK: u32 = 0x0000_FFFF;

/// Object types (`HAMMER_OBJTYPE_*`).
pub const OBJTYPE_DIRECTORY: u8 = 1;
/// `HAMMER_OBJTYPE_REGFILE`
pub const OBJTYPE_REGFILE: u8 = 2;
/// `HAMMER_OBJTYPE_SOFTLINK`
pub const OBJTYPE_SOFTLINK: u8 = 7;
/// `HAMMER_OBJTYPE_PSEUDOFS`
pub const OBJTYPE_PSEUDOFS: u8 = 8;

/// `HAMMER_INODE_CAP_DIRHASH_MASK`
pub const INODE_CAP_DIRHASH_MASK: u8 = 0x03;
/// `HAMMER_INODE_CAP_DIRHASH_ALG1`
pub const INODE_CAP_DIRHASH_ALG1: u8 = 0x01;
/// `HAMMER_INODE_CAP_DIR_LOCAL_INO`
pub const INODE_CAP_DIR_LOCAL_INO: u8 = 0x04;
/// Bytes of `hammer_inode_data` the leaf data_crc covers (`HAMMER_INODE_CRCSIZE`).
pub const INODE_CRCSIZE: usize = 112;
/// Size of `hammer_inode_data`.
pub const INODE_DATA_SIZE: usize = 128;
/// Size of the `__packed` `hammer_pseudofs_data`.
pub const PFS_DATA_SIZE: usize = 292;
/// Size of `hammer_pseudofs_data` as a pre-2010 64-bit build wrote it.
pub const PFS_DATA_SIZE_OLD: usize = 296;
/// Offset of the name in `hammer_direntry_data`.
pub const DIRENTRY_NAME_OFFSET: usize = 16;
/// `HAMMER_INODE_BASESYMLEN`: symlinks up to this length live in the inode.
pub const INODE_BASESYMLEN: usize = 24;

/// `HAMMER_HEAD_SIGNATURE` of a FIFO record.
pub const HEAD_SIGNATURE: u16 = 0xC84E;
/// `HAMMER_TAIL_SIGNATURE` of a FIFO record.
pub const TAIL_SIGNATURE: u16 = 0xC74F;
/// `HAMMER_HEAD_TYPE_PAD`
pub const HEAD_TYPE_PAD: u16 = 0x8040;
/// `HAMMER_HEAD_TYPE_DUMMY`
pub const HEAD_TYPE_DUMMY: u16 = 0x0041;
/// `HAMMER_HEAD_TYPE_UNDO`
pub const HEAD_TYPE_UNDO: u16 = 0x0043;
/// `HAMMER_HEAD_TYPE_REDO`
pub const HEAD_TYPE_REDO: u16 = 0x0044;
/// `HAMMER_HEAD_ALIGN`: record sizes are multiples of 8.
pub const HEAD_ALIGN: u32 = 8;
/// `HAMMER_UNDO_ALIGN`: a record head at every 512-byte boundary (v4+).
pub const UNDO_ALIGN: u64 = 512;
/// Size of `struct hammer_fifo_head`.
pub const FIFO_HEAD_SIZE: usize = 16;
/// Size of `struct hammer_fifo_tail`.
pub const FIFO_TAIL_SIZE: usize = 8;
/// `HAMMER_MAX_UNDO_BIGBLOCKS`
pub const MAX_UNDO_BIGBLOCKS: usize = 128;
/// `HAMMER_REDO_WRITE` .. `HAMMER_REDO_SYNC`
pub const REDO_SYNC: u32 = 0x10;

/// The TID newfs starts at (`HAMMER_MIN_TID` for new filesystems).
pub const NEWFS_NEXT_TID: u64 = 0x1_0000_0000;

/// Name of a zone, as `hammer blockmap` prints it (empty for the reserved ones).
pub fn zone_name(zone: u8) -> &'static str {
    match zone {
        1 => "raw_volume",
        2 => "raw_buffer",
        3 => "undo",
        4 => "freemap",
        8 => "btree",
        9 => "meta",
        10 => "large_data",
        11 => "small_data",
        15 => "unavail",
        _ => "",
    }
}

/// Name of a record type (`HAMMER_RECTYPE_*` without the prefix).
pub fn rectype_name(rt: u16) -> &'static str {
    match rt {
        RECTYPE_INODE => "INODE",
        RECTYPE_DATA => "DATA",
        RECTYPE_DIRENTRY => "DIRENTRY",
        RECTYPE_DB => "DB",
        RECTYPE_EXT => "EXT",
        RECTYPE_FIX => "FIX",
        RECTYPE_PFS => "PFS",
        RECTYPE_SNAPSHOT => "SNAPSHOT",
        RECTYPE_CONFIG => "CONFIG",
        _ => "UNKNOWN",
    }
}

/// Name of a FIFO record type, as `hammer show-undo` prints it.
pub fn head_type_name(t: u16) -> &'static str {
    match t {
        HEAD_TYPE_PAD => "PAD",
        HEAD_TYPE_DUMMY => "DUMMY",
        HEAD_TYPE_UNDO => "UNDO",
        HEAD_TYPE_REDO => "REDO",
        _ => "UNKNOWN",
    }
}
