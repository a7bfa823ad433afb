//! Seeded mutations shared by the fuzz and differential tests: which bytes of a tree block or
//! a superblock to overwrite, and with what.

use super::Rng;

/// `ONDISK_FUZZ_SEED` (hex, mixed into each test's seed) and `ONDISK_FUZZ_ROUNDS` override the
/// defaults, for longer campaigns.
pub fn campaign(seed: u64, rounds: usize) -> (u64, usize) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    let seed = env("ONDISK_FUZZ_SEED").map_or(seed, |s| s ^ seed);
    let rounds = std::env::var("ONDISK_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(rounds);
    (seed, rounds)
}

/// 1-8 edits of a tree block past its checksum: mostly the first kilobyte (header, item
/// headers, key pointers), where one byte moves the most; sometimes anywhere.
pub fn block_edits(rng: &mut Rng, nodesize: usize, max: u64) -> Vec<(usize, u8)> {
    (0..1 + rng.below(max))
        .map(|_| {
            let at = if rng.below(4) == 0 { 32 + rng.below(nodesize as u64 - 32) } else { 32 + rng.below(1024) };
            let v = match rng.below(4) {
                0 => 0,
                1 => 0xff,
                _ => rng.below(256),
            } as u8;
            (at as usize, v)
        })
        .collect()
}

/// Superblock fields the reader trusts before it has read one tree block, each at its offset in
/// `struct btrfs_super_block`, with its width: root pointers and levels, generations, sizes,
/// device counts, feature flags, the checksum type and the embedded device item.
pub const SUPER_FIELDS: &[(u64, u64)] = &[
    (0x30, 8),  // bytenr
    (0x48, 8),  // generation
    (0x50, 8),  // root
    (0x58, 8),  // chunk_root
    (0x60, 8),  // log_root
    (0x70, 8),  // total_bytes
    (0x78, 8),  // bytes_used
    (0x80, 8),  // root_dir_objectid
    (0x88, 8),  // num_devices
    (0x90, 4),  // sectorsize
    (0x94, 4),  // nodesize
    (0x98, 4),  // __unused_leafsize
    (0x9c, 4),  // stripesize
    (0xa0, 4),  // sys_chunk_array_size
    (0xa4, 8),  // chunk_root_generation
    (0xac, 8),  // compat_flags
    (0xb4, 8),  // compat_ro_flags
    (0xbc, 8),  // incompat_flags
    (0xc4, 2),  // csum_type
    (0xc6, 1),  // root_level
    (0xc7, 1),  // chunk_root_level
    (0xc8, 1),  // log_root_level
    (0xc9, 8),  // dev_item.devid
    (0xd1, 8),  // dev_item.total_bytes
    (0xd9, 8),  // dev_item.bytes_used
    (0x22b, 8), // cache_generation
    (0x233, 8), // uuid_tree_generation
];

/// 1-3 edits of a superblock: a field above, the system chunk array (the first chunk map,
/// parsed before any tree block), the backup roots, or any byte past the checksum.
pub fn super_edits(rng: &mut Rng) -> Vec<(usize, u8)> {
    (0..1 + rng.below(3))
        .map(|_| {
            let at = match rng.below(8) {
                0..=3 => {
                    let (off, width) = SUPER_FIELDS[rng.below(SUPER_FIELDS.len() as u64) as usize];
                    off + rng.below(width)
                }
                4 | 5 => 0x32b + rng.below(0x180), // sys_chunk_array: key, chunk, stripes
                6 => 0xb2b + rng.below(4 * 168),    // super_roots
                _ => 0x20 + rng.below(4096 - 0x20),
            } as usize;
            let v = match rng.below(5) {
                0 => 0,
                1 => 0xff,
                2 => 1 + rng.below(4),
                _ => rng.below(256),
            } as u8;
            (at, v)
        })
        .collect()
}
