//! Names btrfs-progs prints for objectids, key types and trees (print-tree.c), so that our text
//! output reads — and diffs — like `btrfs inspect-internal dump-tree`.

use ondisk_layouts::btrfs::*;

/// `print_key_type`: the name of a key type; `UNKNOWN.<n>` for others.
pub fn key_type_name(objectid: u64, t: u8) -> Option<&'static str> {
    // A few types are printed by a different name in special trees.
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

/// `print_objectid`: the well-known name of an objectid in the context of a key type.
pub fn objectid_name(objectid: u64, key_type: u8) -> Option<&'static str> {
    if key_type == DEV_EXTENT_KEY {
        return None;
    }
    if key_type == PERSISTENT_ITEM_KEY && objectid == DEV_STATS_OBJECTID {
        return Some("DEV_STATS");
    }
    if key_type == DEV_ITEM_KEY && objectid == DEV_ITEMS_OBJECTID {
        return Some("DEV_ITEMS");
    }
    if key_type == CHUNK_ITEM_KEY && objectid == FIRST_CHUNK_TREE_OBJECTID {
        return Some("FIRST_CHUNK_TREE");
    }
    Some(match objectid {
        ROOT_TREE_OBJECTID => {
            if key_type == DEV_ITEM_KEY {
                "DEV_ITEMS"
            } else {
                "ROOT_TREE"
            }
        }
        EXTENT_TREE_OBJECTID => "EXTENT_TREE",
        CHUNK_TREE_OBJECTID => "CHUNK_TREE",
        DEV_TREE_OBJECTID => "DEV_TREE",
        FS_TREE_OBJECTID => "FS_TREE",
        ROOT_TREE_DIR_OBJECTID => "ROOT_TREE_DIR",
        CSUM_TREE_OBJECTID => "CSUM_TREE",
        QUOTA_TREE_OBJECTID => "QUOTA_TREE",
        UUID_TREE_OBJECTID => "UUID_TREE",
        FREE_SPACE_TREE_OBJECTID => "FREE_SPACE_TREE",
        BLOCK_GROUP_TREE_OBJECTID => "BLOCK_GROUP_TREE",
        RAID_STRIPE_TREE_OBJECTID => "RAID_STRIPE_TREE",
        BALANCE_OBJECTID => "BALANCE",
        ORPHAN_OBJECTID => "ORPHAN",
        TREE_LOG_OBJECTID => "TREE_LOG",
        TREE_LOG_FIXUP_OBJECTID => "TREE_LOG_FIXUP",
        TREE_RELOC_OBJECTID => "TREE_RELOC",
        DATA_RELOC_TREE_OBJECTID => "DATA_RELOC_TREE",
        EXTENT_CSUM_OBJECTID => "EXTENT_CSUM",
        FREE_SPACE_OBJECTID => "FREE_SPACE",
        FREE_INO_OBJECTID => "FREE_INO",
        MULTIPLE_OBJECTIDS => "MULTIPLE",
        u64::MAX => "-1",
        _ => return None,
    })
}

/// An objectid as `print_objectid` writes it: a name or the number.
pub fn objectid_text(objectid: u64, key_type: u8) -> String {
    match objectid_name(objectid, key_type) {
        Some(n) => n.to_string(),
        None => objectid.to_string(),
    }
}

/// A key type as `print_key_type` writes it.
pub fn key_type_text(objectid: u64, t: u8) -> String {
    match key_type_name(objectid, t) {
        Some(n) => n.to_string(),
        None => format!("UNKNOWN.{t}"),
    }
}

/// `btrfs_print_key`: `key (OBJECTID TYPE OFFSET)`.
pub fn key_text(k: &DiskKey) -> String {
    let (o, t, off) = k.triple();
    let offset = match t {
        QGROUP_RELATION_KEY | QGROUP_INFO_KEY | QGROUP_LIMIT_KEY => format!("{}/{}", off >> 48, off & ((1 << 48) - 1)),
        UUID_KEY_SUBVOL | UUID_KEY_RECEIVED_SUBVOL => format!("0x{off:016x}"),
        _ if off == u64::MAX => "-1".to_string(),
        _ => off.to_string(),
    };
    format!("key ({} {} {offset})", objectid_text(o, t), key_type_text(o, t))
}

/// The name dump-tree gives a tree in its "<name> tree key (...)" headers; `None` for trees it
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
