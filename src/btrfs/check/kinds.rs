//! btrfs finding kinds. Names follow `btrfs check`'s own wording where it has one, so users
//! recognise them ("parent transid verify failed" → `transid_mismatch`).


crate::declare_kinds! {
    // Superblock.
    SUPER_CSUM_MISMATCH = "btrfs.super_csum_mismatch", Error,
        "a superblock copy's checksum does not match its contents, or its bytenr is not its offset (a warning for a mirror when another copy is good; the primary is the one the kernel mounts from)";
    SUPER_BAD_MAGIC = "btrfs.super_bad_magic", Warning,
        "a superblock mirror location that fits on the device holds no btrfs magic";
    SUPER_MIRROR_STALE = "btrfs.super_mirror_stale", Warning,
        "a valid superblock mirror has an older generation than the copy in use";
    SUPER_MIRROR_MISMATCH = "btrfs.super_mirror_mismatch", Warning,
        "valid superblock copies of the same generation differ in a field that matters";
    SUPER_ROOT_GENERATION = "btrfs.super_root_generation", Warning,
        "the chunk root or UUID tree generation in the superblock is newer than the superblock's generation (the kernel mounts; a real mismatch shows as transid_mismatch)";
    SUPER_BAD_GEOMETRY = "btrfs.super_bad_geometry", Error,
        "sectorsize, nodesize, leafsize, stripesize or total_bytes is invalid, or a root's level or alignment (the kernel refuses to mount; a warning for a power-of-two stripesize other than 4096 and the sectorsize, which only btrfs check refuses)";
    SUPER_FLAGS = "btrfs.super_flags", Error,
        "superblock flags or features the kernel refuses: unknown bits, an interrupted btrfstune or fsid change, a feature without the ones it requires (the ERROR flag and unknown compat_ro bits: warnings)";
    SYS_CHUNK_ARRAY = "btrfs.sys_chunk_array", Error,
        "the superblock's sys_chunk_array holds an entry that cannot be mapped";
    // Chunk map.
    CHUNK_BAD = "btrfs.chunk_bad", Error,
        "a chunk item is malformed or overlaps another chunk";
    DEVICE_MISSING = "btrfs.device_missing", Warning,
        "a device named by chunk stripes is not among the paths given";
    DEVICE_REMOVED = "btrfs.device_removed", Warning,
        "a path holds a device the filesystem no longer lists (no device item, an older superblock): one removed or replaced while it was absent, its superblock never wiped; the kernel ignores it";
    // Tree blocks.
    TREE_BLOCK_UNREADABLE = "btrfs.tree_block_unreadable", Error,
        "no copy of a tree block could be read (unmapped address, missing device, short image)";
    TREE_BLOCK_CSUM = "btrfs.tree_block_csum", Error,
        "a tree block's checksum does not match (a warning when another copy is good)";
    TREE_BLOCK_BYTENR = "btrfs.tree_block_bytenr", Error,
        "a tree block's header bytenr is not the address it was read from";
    TREE_BLOCK_FSID = "btrfs.tree_block_fsid", Error,
        "a tree block's fsid is not the filesystem's (or its metadata_uuid)";
    TREE_BLOCK_CHUNK_UUID = "btrfs.tree_block_chunk_uuid", Warning,
        "a tree block's chunk_tree_uuid differs from the chunk tree's (neither the kernel nor btrfs check reads it back: a sign of a foreign or misdirected block, not a fault on its own)";
    TREE_BLOCK_BACKREF_REV = "btrfs.tree_block_backref_rev", Error,
        "a tree block's header backref revision is not MIXED_BACKREF_REV (1): revision 0 is the pre-2.6.31 format (btrfs check then expects full backrefs for it); above 1 (a warning) nothing writes, and readers take it for 1";
    TREE_BLOCK_LEVEL = "btrfs.tree_block_level", Error,
        "a tree block's level is out of range or not one below its parent's";
    TREE_BLOCK_NRITEMS = "btrfs.tree_block_nritems", Error,
        "a tree block's nritems is zero where it must not be, or more than fit";
    KEY_ORDER = "btrfs.key_order", Error,
        "keys in a tree block are not in strictly increasing order";
    ITEM_OFFSET = "btrfs.item_offset", Error,
        "a leaf item's data lies outside the block or overlaps another item's";
    // Parent/child.
    TRANSID_MISMATCH = "btrfs.transid_mismatch", Error,
        "parent transid verify failed: a child's generation differs from its parent pointer's (a warning when the pointer says 0, which readers take for \"do not verify\")";
    FIRST_KEY_MISMATCH = "btrfs.first_key_mismatch", Error,
        "a child's first key differs from the key in its parent pointer";
    OWNER_MISMATCH = "btrfs.owner_mismatch", Error,
        "a tree block's owner is not the tree it was reached from (a warning in a log tree, whose block owners the kernel does not verify)";
    ROOT_ITEM_MISMATCH = "btrfs.root_item_mismatch", Error,
        "a root item's generation or level disagrees with the block it points to";
    ROOT_MISSING = "btrfs.root_missing", Error,
        "the root tree has no root item for a tree the kernel cannot mount without: extent, device, csum, FS_TREE, data relocation, and the free space or block group tree when the superblock says they exist";
    ROOT_ITEM_OFFSET = "btrfs.root_item_offset", Error,
        "the root item of a tree the kernel looks up once by (objectid, ROOT_ITEM, 0) — extent, device, csum, quota, UUID, free space, block group, stripe tree — has another key offset: the kernel does not find that tree (btrfs check: \"global root with too large of an offset\"); a warning for the quota and UUID trees, which the kernel does without (quotas off, a new UUID tree)";
    TREE_CYCLE = "btrfs.tree_cycle", Error,
        "a tree block is reached twice within one tree (a cycle or a cross-linked pointer)";
    LOST_SUBTREE_ECHOES = "btrfs.lost_subtree_echoes", Info,
        "findings inside a subtree that could not be walked were left out — inode findings of a subvolume tree, csum gaps of the csum tree, csum orphans of the extent tree: they echo that loss";
    SUBVOLUME_DROPPING = "btrfs.subvolume_dropping", Info,
        "a deleted subvolume is part way through being dropped by the cleaner: only what lies past its drop_progress key is walked, its inodes are not checked";
    // Log tree.
    LOG_REPLAY_PENDING = "btrfs.log_replay_pending", Info,
        "the filesystem has an unreplayed log tree (log_root != 0): the next mount replays it";
}
