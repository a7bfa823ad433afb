//! Names btrfs-progs prints for objectids, key types, trees and flags (print-tree.c of
//! btrfs-progs 6.2), so that our text output reads — and diffs — like
//! `btrfs inspect-internal dump-tree`.
//!
//! The text helpers are `Display` values rather than `String`s: the dump writes millions of keys
//! and must not allocate for each.

use ondisk_layouts::btrfs::items::*;
use ondisk_layouts::btrfs::*;
use super::items::put::{Put, Scratch};
use std::fmt;

/// `print_key_type`: the name of a key type; `None` where progs prints `UNKNOWN.<n>`.
///
/// EXTENT_OWNER_REF and RAID_STRIPE are newer than 6.2 (which prints `UNKNOWN.172/230`); they
/// only occur in filesystems 6.2 cannot open, so we name them as later progs do.
pub fn key_type_name(objectid: u64, t: u8) -> Option<&'static str> {
    if t == 0 && objectid == FREE_SPACE_OBJECTID {
        return Some("UNTYPED");
    }
    Some(match t {
        INODE_ITEM_KEY => "INODE_ITEM",
        INODE_REF_KEY => "INODE_REF",
        INODE_EXTREF_KEY => "INODE_EXTREF",
        XATTR_ITEM_KEY => "XATTR_ITEM",
        VERITY_DESC_ITEM_KEY => "VERITY_DESC_ITEM",
        VERITY_MERKLE_ITEM_KEY => "VERITY_MERKLE_ITEM",
        ORPHAN_ITEM_KEY => "ORPHAN_ITEM",
        DIR_LOG_ITEM_KEY => "DIR_LOG_ITEM",
        DIR_LOG_INDEX_KEY => "DIR_LOG_INDEX",
        DIR_ITEM_KEY => "DIR_ITEM",
        DIR_INDEX_KEY => "DIR_INDEX",
        EXTENT_DATA_KEY => "EXTENT_DATA",
        CSUM_ITEM_KEY => "CSUM_ITEM",
        EXTENT_CSUM_KEY => "EXTENT_CSUM",
        ROOT_ITEM_KEY => "ROOT_ITEM",
        ROOT_BACKREF_KEY => "ROOT_BACKREF",
        ROOT_REF_KEY => "ROOT_REF",
        EXTENT_ITEM_KEY => "EXTENT_ITEM",
        METADATA_ITEM_KEY => "METADATA_ITEM",
        EXTENT_OWNER_REF_KEY => "EXTENT_OWNER_REF",
        TREE_BLOCK_REF_KEY => "TREE_BLOCK_REF",
        EXTENT_DATA_REF_KEY => "EXTENT_DATA_REF",
        EXTENT_REF_V0_KEY => "EXTENT_REF_V0",
        SHARED_BLOCK_REF_KEY => "SHARED_BLOCK_REF",
        SHARED_DATA_REF_KEY => "SHARED_DATA_REF",
        BLOCK_GROUP_ITEM_KEY => "BLOCK_GROUP_ITEM",
        FREE_SPACE_INFO_KEY => "FREE_SPACE_INFO",
        FREE_SPACE_EXTENT_KEY => "FREE_SPACE_EXTENT",
        FREE_SPACE_BITMAP_KEY => "FREE_SPACE_BITMAP",
        DEV_EXTENT_KEY => "DEV_EXTENT",
        DEV_ITEM_KEY => "DEV_ITEM",
        CHUNK_ITEM_KEY => "CHUNK_ITEM",
        RAID_STRIPE_KEY => "RAID_STRIPE",
        QGROUP_STATUS_KEY => "QGROUP_STATUS",
        QGROUP_INFO_KEY => "QGROUP_INFO",
        QGROUP_LIMIT_KEY => "QGROUP_LIMIT",
        QGROUP_RELATION_KEY => "QGROUP_RELATION",
        TEMPORARY_ITEM_KEY => "TEMPORARY_ITEM",
        PERSISTENT_ITEM_KEY => "PERSISTENT_ITEM",
        DEV_REPLACE_KEY => "DEV_REPLACE",
        UUID_KEY_SUBVOL => "UUID_KEY_SUBVOL",
        UUID_KEY_RECEIVED_SUBVOL => "UUID_KEY_RECEIVED_SUBVOL",
        STRING_ITEM_KEY => "STRING_ITEM",
        _ => return None,
    })
}

/// The well-known name `print_objectid` gives an objectid in the context of a key type; `None`
/// where it prints a number (or, for qgroup relations and uuid keys, a special number format:
/// see [`objectid_text`]).
pub fn objectid_name(objectid: u64, key_type: u8) -> Option<&'static str> {
    match key_type {
        PERSISTENT_ITEM_KEY => return (objectid == DEV_STATS_OBJECTID).then_some("DEV_STATS"),
        DEV_EXTENT_KEY | QGROUP_RELATION_KEY | UUID_KEY_SUBVOL | UUID_KEY_RECEIVED_SUBVOL => return None,
        _ => {}
    }
    Some(match objectid {
        // ROOT_TREE_OBJECTID and DEV_ITEMS_OBJECTID are both 1.
        ROOT_TREE_OBJECTID if key_type == DEV_ITEM_KEY => "DEV_ITEMS",
        ROOT_TREE_OBJECTID => "ROOT_TREE",
        EXTENT_TREE_OBJECTID => "EXTENT_TREE",
        CHUNK_TREE_OBJECTID => "CHUNK_TREE",
        DEV_TREE_OBJECTID => "DEV_TREE",
        FS_TREE_OBJECTID => "FS_TREE",
        ROOT_TREE_DIR_OBJECTID => "ROOT_TREE_DIR",
        CSUM_TREE_OBJECTID => "CSUM_TREE",
        BALANCE_OBJECTID => "BALANCE",
        ORPHAN_OBJECTID => "ORPHAN",
        TREE_LOG_OBJECTID => "TREE_LOG",
        // Sic: progs drops the TREE_ prefix here.
        TREE_LOG_FIXUP_OBJECTID => "LOG_FIXUP",
        TREE_RELOC_OBJECTID => "TREE_RELOC",
        DATA_RELOC_TREE_OBJECTID => "DATA_RELOC_TREE",
        EXTENT_CSUM_OBJECTID => "EXTENT_CSUM",
        FREE_SPACE_OBJECTID => "FREE_SPACE",
        FREE_INO_OBJECTID => "FREE_INO",
        QUOTA_TREE_OBJECTID => "QUOTA_TREE",
        UUID_TREE_OBJECTID => "UUID_TREE",
        FREE_SPACE_TREE_OBJECTID => "FREE_SPACE_TREE",
        MULTIPLE_OBJECTIDS => "MULTIPLE",
        BLOCK_GROUP_TREE_OBJECTID => "BLOCK_GROUP_TREE",
        // Newer than 6.2 (which prints 12); only present where 6.2 cannot open the filesystem.
        RAID_STRIPE_TREE_OBJECTID => "RAID_STRIPE_TREE",
        u64::MAX => "-1",
        FIRST_CHUNK_TREE_OBJECTID if key_type == CHUNK_ITEM_KEY => "FIRST_CHUNK_TREE",
        _ => return None,
    })
}

/// An objectid as `print_objectid` writes it: a name, `level/subvolid` for qgroup relations,
/// `0x%016llx` for uuid keys, else the number.
#[derive(Clone, Copy)]
pub struct ObjectidText(pub u64, pub u8);

impl ObjectidText {
    /// Appends the text without going through `fmt`.
    pub fn put<P: Put + ?Sized>(self, p: &mut P) {
        let ObjectidText(o, t) = self;
        match t {
            QGROUP_RELATION_KEY => put_qgroup(p, o),
            UUID_KEY_SUBVOL | UUID_KEY_RECEIVED_SUBVOL => put_hex16(p, o),
            _ => match objectid_name(o, t) {
                Some(n) => p.b(n.as_bytes()),
                None => {
                    p.u(o);
                }
            },
        }
    }
}

fn put_qgroup<P: Put + ?Sized>(p: &mut P, id: u64) {
    p.u(id >> QGROUP_LEVEL_SHIFT).s("/").u(id & ((1 << QGROUP_LEVEL_SHIFT) - 1));
}

/// `0x%016llx`
fn put_hex16<P: Put + ?Sized>(p: &mut P, v: u64) {
    p.s("0x");
    let mut digits = 1;
    while digits < 16 && v >> (4 * digits) != 0 {
        digits += 1;
    }
    for _ in digits..16 {
        p.b(b"0");
    }
    p.hex(v);
}

impl fmt::Display for ObjectidText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = Scratch::new();
        self.put(&mut s);
        f.write_str(s.as_str())
    }
}

/// An objectid as `print_objectid` writes it.
pub fn objectid_text(objectid: u64, key_type: u8) -> ObjectidText {
    ObjectidText(objectid, key_type)
}

/// A qgroup id as `level/subvolid`.
#[derive(Clone, Copy)]
pub struct QgroupId(pub u64);

impl fmt::Display for QgroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0 >> QGROUP_LEVEL_SHIFT, self.0 & ((1 << QGROUP_LEVEL_SHIFT) - 1))
    }
}

/// A key type as `print_key_type` writes it.
pub fn key_type_text(objectid: u64, t: u8) -> String {
    KeyTypeText(objectid, t).to_string()
}

/// A key type as `print_key_type` writes it, without allocating.
#[derive(Clone, Copy)]
pub struct KeyTypeText(pub u64, pub u8);

impl fmt::Display for KeyTypeText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match key_type_name(self.0, self.1) {
            Some(n) => f.write_str(n),
            None => write!(f, "UNKNOWN.{}", self.1),
        }
    }
}

/// `btrfs_print_key`: `key (OBJECTID TYPE OFFSET)`.
#[derive(Clone, Copy)]
pub struct KeyText<'k>(pub &'k DiskKey);

impl KeyText<'_> {
    /// Appends the text without going through `fmt`.
    pub fn put<P: Put + ?Sized>(self, p: &mut P) {
        let (o, t, off) = self.0.triple();
        p.s("key (");
        ObjectidText(o, t).put(p);
        p.s(" ");
        match key_type_name(o, t) {
            Some(n) => p.b(n.as_bytes()),
            None => {
                p.s("UNKNOWN.").u(u64::from(t));
            }
        }
        p.s(" ");
        match t {
            QGROUP_RELATION_KEY | QGROUP_INFO_KEY | QGROUP_LIMIT_KEY => put_qgroup(p, off),
            UUID_KEY_SUBVOL | UUID_KEY_RECEIVED_SUBVOL => put_hex16(p, off),
            // A ROOT_ITEM's offset is a generation (never shortened to -1), except for reloc
            // trees where it names the source subvolume.
            ROOT_ITEM_KEY if o == TREE_RELOC_OBJECTID => ObjectidText(off, t).put(p),
            ROOT_ITEM_KEY => {
                p.u(off);
            }
            _ if off == u64::MAX => p.b(b"-1"),
            _ => {
                p.u(off);
            }
        }
        p.s(")");
    }
}

impl fmt::Display for KeyText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = Scratch::new();
        self.put(&mut s);
        f.write_str(s.as_str())
    }
}

/// `btrfs_print_key`: `key (OBJECTID TYPE OFFSET)`.
pub fn key_text(k: &DiskKey) -> KeyText<'_> {
    KeyText(k)
}

/// A uuid in RFC 4122 form (`uuid_unparse`).
#[derive(Clone, Copy)]
pub struct UuidText<'u>(pub &'u [u8; 16]);

impl fmt::Display for UuidText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 36];
        let mut j = 0;
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                buf[j] = b'-';
                j += 1;
            }
            buf[j] = HEX[usize::from(b >> 4)];
            buf[j + 1] = HEX[usize::from(b & 15)];
            j += 2;
        }
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

/// Flags rendered the way one of print-tree.c's `*_flags_to_str` helpers does.
#[derive(Clone, Copy)]
pub enum FlagsText {
    /// `inode_flags_to_str`: names joined by `|`, `none` when empty.
    Inode(u64),
    /// `bg_flags_to_str`: block group / chunk type and profile.
    BlockGroup(u64),
    /// `extent_flags_to_str`
    Extent(u64),
    /// `root_flags_to_str`
    Root(u64),
    /// `qgroup_flags_to_str`
    QgroupStatus(u64),
    /// `header_flags_to_str` (tree block header, low bits)
    Header(u64),
}

const INODE_FLAG_NAMES: &[(u64, &str)] = &[
    (INODE_NODATASUM, "NODATASUM"),
    (INODE_NODATACOW, "NODATACOW"),
    (INODE_READONLY, "READONLY"),
    (INODE_NOCOMPRESS, "NOCOMPRESS"),
    (INODE_PREALLOC, "PREALLOC"),
    (INODE_SYNC, "SYNC"),
    (INODE_IMMUTABLE, "IMMUTABLE"),
    (INODE_APPEND, "APPEND"),
    (INODE_NODUMP, "NODUMP"),
    (INODE_NOATIME, "NOATIME"),
    (INODE_DIRSYNC, "DIRSYNC"),
    (INODE_COMPRESS, "COMPRESS"),
];

/// `btrfs_bg_type_to_raid_name` as 6.2 prints it: the first matching profile in the kernel's
/// `btrfs_bg_flags_to_raid_index` order; `None` for single.
pub fn profile_name(flags: u64) -> Option<&'static str> {
    const ORDER: &[(u64, &str)] = &[
        (BLOCK_GROUP_RAID10, "RAID10"),
        (BLOCK_GROUP_RAID1, "RAID1"),
        (BLOCK_GROUP_RAID1C3, "RAID1C3"),
        (BLOCK_GROUP_RAID1C4, "RAID1C4"),
        (BLOCK_GROUP_DUP, "DUP"),
        (BLOCK_GROUP_RAID0, "RAID0"),
        (BLOCK_GROUP_RAID5, "RAID5"),
        (BLOCK_GROUP_RAID6, "RAID6"),
    ];
    ORDER.iter().find(|(bit, _)| flags & bit != 0).map(|(_, n)| *n)
}

impl FlagsText {
    /// Appends the text without going through `fmt`.
    pub fn put<P: Put + ?Sized>(self, f: &mut P) {
        match self {
            FlagsText::Inode(flags) => {
                let mut empty = true;
                for (bit, name) in INODE_FLAG_NAMES {
                    if flags & bit != 0 {
                        if !empty {
                            f.s("|");
                        }
                        f.s(name);
                        empty = false;
                    }
                }
                if empty {
                    f.s("none");
                }
            }
            FlagsText::BlockGroup(flags) => {
                // Quirk kept from progs: only DATA clears "empty", so METADATA|SYSTEM prints
                // without a separator.
                let data = flags & BLOCK_GROUP_DATA != 0;
                if data {
                    f.s("DATA");
                }
                if flags & BLOCK_GROUP_METADATA != 0 {
                    f.s(if data { "|METADATA" } else { "METADATA" });
                }
                if flags & BLOCK_GROUP_SYSTEM != 0 {
                    f.s(if data { "|SYSTEM" } else { "SYSTEM" });
                }
                // Quirk kept from progs 6.2: the raid table spells single in lower case, so the
                // "don't print SINGLE" test misses it and "|single" is printed.
                f.s("|");
                f.s(profile_name(flags).unwrap_or("single"));
            }
            FlagsText::Extent(flags) => {
                let data = flags & EXTENT_FLAG_DATA != 0;
                if data {
                    f.s("DATA");
                }
                if flags & EXTENT_FLAG_TREE_BLOCK != 0 {
                    f.s(if data { "|TREE_BLOCK" } else { "TREE_BLOCK" });
                }
                if flags & BLOCK_FLAG_FULL_BACKREF != 0 {
                    f.s("|FULL_BACKREF");
                }
            }
            FlagsText::Root(flags) => {
                f.s(if flags & ROOT_SUBVOL_RDONLY != 0 { "RDONLY" } else { "none" });
            }
            FlagsText::QgroupStatus(flags) => {
                f.s(if flags & QGROUP_STATUS_FLAG_ON != 0 { "ON" } else { "OFF" });
                if flags & QGROUP_STATUS_FLAG_RESCAN != 0 {
                    f.s("|SCANNING");
                }
                if flags & QGROUP_STATUS_FLAG_INCONSISTENT != 0 {
                    f.s("|INCONSISTENT");
                }
                // Newer than 6.2 (simple quotas, which 6.2 cannot open); named as later progs do.
                if flags & QGROUP_STATUS_FLAG_SIMPLE_MODE != 0 {
                    f.s("|SIMPLE_MODE");
                }
            }
            FlagsText::Header(flags) => {
                let written = flags & tree::HEADER_FLAG_WRITTEN != 0;
                if written {
                    f.s("WRITTEN");
                }
                if flags & tree::HEADER_FLAG_RELOC != 0 {
                    f.s(if written { "|RELOC" } else { "RELOC" });
                }
            }
        }
    }
}

impl fmt::Display for FlagsText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = Scratch::new();
        self.put(&mut s);
        f.write_str(s.as_str())
    }
}

/// `print_dir_item_type`: the name of a directory entry type, `None` for `DIR_ITEM.<n>`.
pub fn dir_type_name(t: u8) -> Option<&'static str> {
    Some(match t {
        FT_REG_FILE => "FILE",
        FT_DIR => "DIR",
        FT_CHRDEV => "CHRDEV",
        FT_BLKDEV => "BLKDEV",
        FT_FIFO => "FIFO",
        FT_SOCK => "SOCK",
        FT_SYMLINK => "SYMLINK",
        FT_XATTR => "XATTR",
        _ => return None,
    })
}

/// `compress_type_to_str`, `None` for `UNKNOWN.<n>`.
pub fn compression_name(c: u8) -> Option<&'static str> {
    Some(match c {
        COMPRESS_NONE => "none",
        COMPRESS_ZLIB => "zlib",
        COMPRESS_LZO => "lzo",
        COMPRESS_ZSTD => "zstd",
        _ => return None,
    })
}

/// `file_extent_type_to_str`
pub fn file_extent_type_name(t: u8) -> &'static str {
    match t {
        FILE_EXTENT_INLINE => "inline",
        FILE_EXTENT_PREALLOC => "prealloc",
        FILE_EXTENT_REG => "regular",
        _ => "unknown",
    }
}

/// The name dump-tree gives a tree in its "`<name> tree key (...)`" headers; `None` for trees it
/// does not print a header for.
pub fn tree_header_name(objectid: u64) -> Option<&'static str> {
    Some(match objectid {
        ROOT_TREE_OBJECTID => "root",
        EXTENT_TREE_OBJECTID => "extent",
        CHUNK_TREE_OBJECTID => "chunk",
        DEV_TREE_OBJECTID => "device",
        FS_TREE_OBJECTID => "fs",
        ROOT_TREE_DIR_OBJECTID => "directory",
        CSUM_TREE_OBJECTID => "checksum",
        ORPHAN_OBJECTID => "orphan",
        TREE_LOG_OBJECTID => "log",
        TREE_LOG_FIXUP_OBJECTID => "log fixup",
        TREE_RELOC_OBJECTID => "reloc",
        DATA_RELOC_TREE_OBJECTID => "data reloc",
        EXTENT_CSUM_OBJECTID => "extent checksum",
        QUOTA_TREE_OBJECTID => "quota",
        UUID_TREE_OBJECTID => "uuid",
        FREE_SPACE_TREE_OBJECTID => "free space",
        BLOCK_GROUP_TREE_OBJECTID => "block group",
        RAID_STRIPE_TREE_OBJECTID => "raid stripe",
        MULTIPLE_OBJECTIDS => "multiple",
        o if (FIRST_FREE_OBJECTID..=LAST_FREE_OBJECTID).contains(&o) => "file",
        _ => return None,
    })
}

/// Parses a `--tree` argument: a dump-tree style name (`root`, `extent`, `chunk`, `dev`, `fs`,
/// `csum`, `quota`, `uuid`, `free-space`, `block-group`, `log`, `data-reloc`, ...), a constant
/// name (`FS_TREE`), or a number.
pub fn parse_tree(s: &str) -> Option<u64> {
    if let Ok(n) = crate::cli::parse_u64(s) {
        return Some(n);
    }
    let t = s.to_ascii_lowercase().replace(['-', ' '], "_");
    let t = t.strip_suffix("_tree").unwrap_or(&t);
    Some(match t {
        "root" => ROOT_TREE_OBJECTID,
        "extent" => EXTENT_TREE_OBJECTID,
        "chunk" => CHUNK_TREE_OBJECTID,
        "dev" | "device" => DEV_TREE_OBJECTID,
        "fs" => FS_TREE_OBJECTID,
        "root_tree_dir" | "directory" => ROOT_TREE_DIR_OBJECTID,
        "csum" | "checksum" => CSUM_TREE_OBJECTID,
        "quota" => QUOTA_TREE_OBJECTID,
        "uuid" => UUID_TREE_OBJECTID,
        "free_space" => FREE_SPACE_TREE_OBJECTID,
        "block_group" => BLOCK_GROUP_TREE_OBJECTID,
        "raid_stripe" => RAID_STRIPE_TREE_OBJECTID,
        "log" | "tree_log" => TREE_LOG_OBJECTID,
        "tree_log_fixup" => TREE_LOG_FIXUP_OBJECTID,
        "tree_reloc" | "reloc" => TREE_RELOC_OBJECTID,
        "data_reloc" => DATA_RELOC_TREE_OBJECTID,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::little_endian::U64;

    fn key(o: u64, t: u8, off: u64) -> DiskKey {
        DiskKey { objectid: U64::new(o), type_: t, offset: U64::new(off) }
    }

    #[test]
    fn keys_print_like_btrfs_print_key() {
        let k = |o, t, off| key_text(&key(o, t, off)).to_string();
        assert_eq!(k(5, ROOT_ITEM_KEY, u64::MAX), "key (FS_TREE ROOT_ITEM 18446744073709551615)");
        assert_eq!(k(TREE_RELOC_OBJECTID, ROOT_ITEM_KEY, 5), "key (TREE_RELOC ROOT_ITEM FS_TREE)");
        assert_eq!(k(256, INODE_ITEM_KEY, u64::MAX), "key (256 INODE_ITEM -1)");
        assert_eq!(k((1 << 48) | 100, QGROUP_RELATION_KEY, 256), "key (1/100 QGROUP_RELATION 0/256)");
        assert_eq!(k(0x1234, UUID_KEY_SUBVOL, 0xab), "key (0x0000000000001234 UUID_KEY_SUBVOL 0x00000000000000ab)");
        assert_eq!(k(1, DEV_ITEM_KEY, 1), "key (DEV_ITEMS DEV_ITEM 1)");
        assert_eq!(k(256, CHUNK_ITEM_KEY, 0), "key (FIRST_CHUNK_TREE CHUNK_ITEM 0)");
        assert_eq!(k(1, DEV_EXTENT_KEY, 0), "key (1 DEV_EXTENT 0)");
        assert_eq!(k(5, PERSISTENT_ITEM_KEY, 1), "key (5 PERSISTENT_ITEM 1)");
        assert_eq!(k(0, PERSISTENT_ITEM_KEY, 1), "key (DEV_STATS PERSISTENT_ITEM 1)");
        assert_eq!(k(FREE_SPACE_OBJECTID, 0, 0), "key (FREE_SPACE UNTYPED 0)");
        assert_eq!(k(TREE_LOG_FIXUP_OBJECTID, 7, 0), "key (LOG_FIXUP UNKNOWN.7 0)");
    }

    #[test]
    fn flags_print_like_progs() {
        let f = |x: FlagsText| x.to_string();
        assert_eq!(f(FlagsText::BlockGroup(BLOCK_GROUP_DATA)), "DATA|single");
        assert_eq!(f(FlagsText::BlockGroup(BLOCK_GROUP_METADATA | BLOCK_GROUP_DUP)), "METADATA|DUP");
        // progs' missing separator when DATA is absent.
        assert_eq!(f(FlagsText::BlockGroup(BLOCK_GROUP_METADATA | BLOCK_GROUP_SYSTEM)), "METADATASYSTEM|single");
        assert_eq!(f(FlagsText::BlockGroup(BLOCK_GROUP_DATA | BLOCK_GROUP_RAID1C3)), "DATA|RAID1C3");
        assert_eq!(f(FlagsText::Inode(0)), "none");
        assert_eq!(f(FlagsText::Inode(INODE_NODATASUM | INODE_NODATACOW)), "NODATASUM|NODATACOW");
        assert_eq!(f(FlagsText::Extent(EXTENT_FLAG_TREE_BLOCK | BLOCK_FLAG_FULL_BACKREF)), "TREE_BLOCK|FULL_BACKREF");
        assert_eq!(f(FlagsText::QgroupStatus(QGROUP_STATUS_FLAG_ON | QGROUP_STATUS_FLAG_RESCAN)), "ON|SCANNING");
        assert_eq!(UuidText(&[0xab; 16]).to_string(), "abababab-abab-abab-abab-abababababab");
    }
}
