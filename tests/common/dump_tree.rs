//! The structure of a `btrfs inspect-internal dump-tree` text (btrfs-progs 6.2 and later) and of
//! an `ondisk dump --json` stream, in one shape so they can be compared field by field.
//!
//! Only what both print for every block is kept: which tree a block was printed under, its header
//! (bytenr, level, nritems, free space, generation, owner), and per slot the key pointers of a node
//! (key, blockptr, generation) or the item headers of a leaf (key, itemoff, itemsize). Item bodies
//! are the text comparison's business.
//!
//! The names are mapped back to numbers independently of `src/btrfs/names.rs`, from
//! btrfs-progs' `print_objectid`, `print_key_type` and `btrfs_print_key`: a test that reused the
//! code under test would agree with it by construction.

use serde_json::Value;

/// A key as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub objectid: u64,
    pub type_: u8,
    pub offset: u64,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({} {} {})", self.objectid, self.type_, self.offset)
    }
}

/// One slot of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A node's key pointer.
    Ptr { key: Key, blockptr: u64, generation: u64 },
    /// A leaf's item header.
    Item { slot: u64, key: Key, itemoff: u64, itemsize: u64 },
}

/// One tree block as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The tree it was printed under (root tree 1, chunk tree 3, log root tree -6, else the
    /// objectid of the ROOT_ITEM in the "<name> tree key (...)" header).
    pub tree: u64,
    pub bytenr: u64,
    pub level: u8,
    pub nritems: u64,
    pub free_space: u64,
    pub generation: u64,
    pub owner: u64,
    pub slots: Vec<Slot>,
}

const TREE_LOG: u64 = -6i64 as u64;

/// `print_key_type` names → key type.
fn key_type(name: &str) -> Option<u8> {
    if let Some(n) = name.strip_prefix("UNKNOWN.") {
        return n.parse().ok();
    }
    Some(match name {
        "UNTYPED" => 0,
        "INODE_ITEM" => 1,
        "INODE_REF" => 12,
        "INODE_EXTREF" => 13,
        "XATTR_ITEM" => 24,
        "VERITY_DESC_ITEM" => 36,
        "VERITY_MERKLE_ITEM" => 37,
        "ORPHAN_ITEM" => 48,
        "DIR_LOG_ITEM" => 60,
        "DIR_LOG_INDEX" => 72,
        "DIR_ITEM" => 84,
        "DIR_INDEX" => 96,
        "EXTENT_DATA" => 108,
        "EXTENT_CSUM" => 128,
        "ROOT_ITEM" => 132,
        "ROOT_BACKREF" => 144,
        "ROOT_REF" => 156,
        "EXTENT_ITEM" => 168,
        "METADATA_ITEM" => 169,
        "EXTENT_OWNER_REF" => 172,
        "TREE_BLOCK_REF" => 176,
        "EXTENT_DATA_REF" => 178,
        "EXTENT_REF_V0" => 180,
        "SHARED_BLOCK_REF" => 182,
        "SHARED_DATA_REF" => 184,
        "BLOCK_GROUP_ITEM" => 192,
        "FREE_SPACE_INFO" => 198,
        "FREE_SPACE_EXTENT" => 199,
        "FREE_SPACE_BITMAP" => 200,
        "DEV_EXTENT" => 204,
        "DEV_ITEM" => 216,
        "CHUNK_ITEM" => 228,
        "RAID_STRIPE" => 230,
        "QGROUP_STATUS" => 240,
        "QGROUP_INFO" => 242,
        "QGROUP_LIMIT" => 244,
        "QGROUP_RELATION" => 246,
        "TEMPORARY_ITEM" | "BALANCE_ITEM" => 248,
        "PERSISTENT_ITEM" | "DEV_STATS" => 249,
        "DEV_REPLACE" => 250,
        "UUID_KEY_SUBVOL" => 251,
        "UUID_KEY_RECEIVED_SUBVOL" => 252,
        "STRING_ITEM" => 253,
        _ => return None,
    })
}

/// `print_objectid` names → objectid.
fn objectid_name(name: &str) -> Option<u64> {
    Some(match name {
        "ROOT_TREE" | "DEV_ITEMS" => 1,
        "EXTENT_TREE" => 2,
        "CHUNK_TREE" => 3,
        "DEV_TREE" => 4,
        "FS_TREE" => 5,
        "ROOT_TREE_DIR" => 6,
        "CSUM_TREE" => 7,
        "QUOTA_TREE" => 8,
        "UUID_TREE" => 9,
        "FREE_SPACE_TREE" => 10,
        "BLOCK_GROUP_TREE" => 11,
        "RAID_STRIPE_TREE" => 12,
        "DEV_STATS" => 0,
        "BALANCE" => -4i64 as u64,
        "ORPHAN" => -5i64 as u64,
        "TREE_LOG" => TREE_LOG,
        "LOG_FIXUP" | "TREE_LOG_FIXUP" => -7i64 as u64,
        "TREE_RELOC" => -8i64 as u64,
        "DATA_RELOC_TREE" => -9i64 as u64,
        "EXTENT_CSUM" => -10i64 as u64,
        "FREE_SPACE" => -11i64 as u64,
        "FREE_INO" => -12i64 as u64,
        "MULTIPLE" => -255i64 as u64,
        "FIRST_CHUNK_TREE" => 256,
        "-1" => u64::MAX,
        _ => return None,
    })
}

/// A number as btrfs-progs prints one in a key: decimal, `0x` hex (uuid keys), `-1`, a qgroup id
/// `level/subvolid`, or a name.
fn key_number(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok();
    }
    if let Some((level, id)) = s.split_once('/') {
        let level: u64 = level.parse().ok()?;
        let id: u64 = id.parse().ok()?;
        return (level < (1 << 16) && id < (1 << 48)).then_some((level << 48) | id);
    }
    if let Ok(n) = s.parse::<u64>() {
        return Some(n);
    }
    objectid_name(s)
}

/// Parses the inside of `key (OBJECTID TYPE OFFSET)`.
pub fn parse_key(inner: &str) -> Option<Key> {
    let mut it = inner.split_whitespace();
    let (o, t, off) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let type_ = key_type(t)?;
    Some(Key { objectid: key_number(o)?, type_, offset: key_number(off)? })
}

/// Finds `key (...)` at the start of `s` and returns the key and the rest after `)`.
fn take_key(s: &str) -> Option<(Key, &str)> {
    let rest = s.strip_prefix("key (")?;
    let end = rest.find(')')?;
    Some((parse_key(&rest[..end])?, &rest[end + 1..]))
}

/// `word N` pairs of a header line, e.g. `items 18 free space 12283 generation 7 owner FS_TREE`.
fn field<'a>(words: &[&'a str], name: &str) -> Option<&'a str> {
    words.windows(2).find(|w| w[0] == name).map(|w| w[1])
}

/// Parses a whole dump-tree text. Errors name the line that could not be read.
pub fn parse_text(text: &[u8]) -> Result<Vec<Block>, String> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut tree: Option<u64> = None;
    for (no, raw) in super::byte_lines(text).into_iter().enumerate() {
        // Item bodies may hold any bytes (names, xattr values); we only read lines that are ours.
        if raw.starts_with(b"\t\t") {
            continue;
        }
        let line = String::from_utf8_lossy(raw);
        let line = line.as_ref();
        let bad = || format!("dump-tree line {}: cannot parse {line:?}", no + 1);
        if let Some(rest) = line.strip_prefix("\titem ") {
            // item N key (...) itemoff N itemsize N
            let (slot, rest) = rest.split_once(' ').ok_or_else(bad)?;
            let (key, rest) = take_key(rest).ok_or_else(bad)?;
            let words: Vec<&str> = rest.split_whitespace().collect();
            let itemoff = field(&words, "itemoff").and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let itemsize = field(&words, "itemsize").and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let b = blocks.last_mut().ok_or_else(bad)?;
            b.slots.push(Slot::Item { slot: slot.parse().map_err(|_| bad())?, key, itemoff, itemsize });
        } else if let Some(rest) = line.strip_prefix("\tkey (").map(|_| &line[1..]) {
            // key (...) block N gen N
            let (key, rest) = take_key(rest).ok_or_else(bad)?;
            let words: Vec<&str> = rest.split_whitespace().collect();
            let blockptr = field(&words, "block").and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let generation = field(&words, "gen").and_then(|v| v.parse().ok()).ok_or_else(bad)?;
            let b = blocks.last_mut().ok_or_else(bad)?;
            b.slots.push(Slot::Ptr { key, blockptr, generation });
        } else if line.starts_with("leaf ") || line.starts_with("node ") {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.get(2) == Some(&"flags") {
                continue; // the second header line: flags and backref revision
            }
            let leaf = words[0] == "leaf";
            let num = |name: &str| field(&words, name).and_then(|v| v.parse::<u64>().ok());
            let owner = field(&words, "owner").and_then(key_number).ok_or_else(bad)?;
            blocks.push(Block {
                tree: tree.ok_or_else(bad)?,
                bytenr: words.get(1).and_then(|v| v.parse().ok()).ok_or_else(bad)?,
                level: if leaf { 0 } else { num("level").and_then(|l| u8::try_from(l).ok()).ok_or_else(bad)? },
                nritems: num("items").ok_or_else(bad)?,
                free_space: field(&words, "space").and_then(|v| v.parse().ok()).ok_or_else(bad)?,
                generation: num("generation").ok_or_else(bad)?,
                owner,
                slots: Vec::new(),
            });
        } else if line == "root tree" {
            tree = Some(1);
        } else if line == "chunk tree" {
            tree = Some(3);
        } else if line == "log root tree" {
            tree = Some(TREE_LOG);
        } else if let Some(pos) = line.find(" tree key (") {
            let (key, _) = take_key(&line[pos + " tree ".len()..]).ok_or_else(bad)?;
            tree = Some(key.objectid);
        }
        // Everything else (version banner, fs/chunk uuid lines, totals, and body lines printed
        // with one tab such as 6.19's `\t(172 0x5) textent owner root 5`) carries no structure.
    }
    Ok(blocks)
}

fn u(v: &Value, name: &str) -> Result<u64, String> {
    v.get(name).and_then(Value::as_u64).ok_or_else(|| format!("JSON {v}: no integer {name:?}"))
}

fn json_key(v: &Value) -> Result<Key, String> {
    let k = v.get("key").ok_or_else(|| format!("JSON {v}: no key"))?;
    let type_ = u8::try_from(u(k, "type")?).map_err(|_| format!("JSON {v}: key type > 255"))?;
    Ok(Key { objectid: u(k, "objectid")?, type_, offset: u(k, "offset")? })
}

/// Parses `ondisk dump --json` output: `node` records open a block, `ptr`/`item` records fill
/// it. Records of other types (errors) and blocks reported with a bad checksum are returned
/// separately as text.
pub fn parse_json(text: &[u8]) -> Result<(Vec<Block>, Vec<String>), String> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut other = Vec::new();
    for (no, line) in super::byte_lines(text).into_iter().enumerate() {
        let v: Value = serde_json::from_slice(line).map_err(|e| format!("JSON line {}: {e}", no + 1))?;
        // Every image we compare is clean: a block that failed its checksum is a difference even
        // when its fields match.
        if v.get("csum_ok").and_then(Value::as_bool) == Some(false) {
            other.push(format!("bad checksum reported: {}", String::from_utf8_lossy(line)));
        }
        match v.get("type").and_then(Value::as_str) {
            Some("node") => blocks.push(Block {
                tree: u(&v, "tree")?,
                bytenr: u(&v, "bytenr")?,
                level: u8::try_from(u(&v, "level")?).map_err(|_| format!("JSON {v}: level > 255"))?,
                nritems: u(&v, "nritems")?,
                free_space: u(&v, "free_space")?,
                generation: u(&v, "generation")?,
                owner: u(&v, "owner")?,
                slots: Vec::new(),
            }),
            Some(t @ ("ptr" | "item")) => {
                let b = blocks.last_mut().ok_or_else(|| format!("JSON line {}: {t} before any node", no + 1))?;
                if u(&v, "block")? != b.bytenr {
                    return Err(format!("JSON line {}: {t} of block {} inside block {}", no + 1, u(&v, "block")?, b.bytenr));
                }
                let key = json_key(&v)?;
                b.slots.push(if t == "ptr" {
                    Slot::Ptr { key, blockptr: u(&v, "blockptr")?, generation: u(&v, "generation")? }
                } else {
                    Slot::Item { slot: u(&v, "slot")?, key, itemoff: u(&v, "itemoff")?, itemsize: u(&v, "itemsize")? }
                });
            }
            _ => other.push(String::from_utf8_lossy(line).into_owned()),
        }
    }
    Ok((blocks, other))
}

/// The outcome of a structural comparison.
#[derive(Debug, Default)]
pub struct StructDiff {
    /// Blocks + slots compared.
    pub compared: usize,
    /// Human-readable differences (all of them; callers print the first few).
    pub differences: Vec<String>,
}

/// Compares blocks in order: every header field and every slot.
pub fn compare(expected: &[Block], actual: &[Block]) -> StructDiff {
    let mut d = StructDiff::default();
    if expected.len() != actual.len() {
        d.differences.push(format!("{} blocks expected, {} printed", expected.len(), actual.len()));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        d.compared += 1;
        let hdr = |e: &Block| (e.tree, e.bytenr, e.level, e.nritems, e.free_space, e.generation, e.owner);
        if hdr(e) != hdr(a) {
            d.differences.push(format!(
                "block #{i}: expected tree {} bytenr {} level {} nritems {} free {} gen {} owner {}, got tree {} bytenr {} level {} nritems {} free {} gen {} owner {}",
                e.tree, e.bytenr, e.level, e.nritems, e.free_space, e.generation, e.owner, a.tree, a.bytenr, a.level, a.nritems, a.free_space, a.generation, a.owner
            ));
        }
        if e.slots.len() != a.slots.len() {
            d.differences.push(format!("block {}: {} slots expected, {} printed", e.bytenr, e.slots.len(), a.slots.len()));
        }
        for (j, (es, as_)) in e.slots.iter().zip(&a.slots).enumerate() {
            d.compared += 1;
            if es != as_ {
                d.differences.push(format!("block {} slot {j}: expected {es:?}, got {as_:?}", e.bytenr));
            }
        }
    }
    d
}

/// How many items of each key type a tree holds: the shape of a tree regardless of inode numbers.
pub fn item_type_histogram(blocks: &[Block], tree: u64) -> std::collections::BTreeMap<u8, usize> {
    let mut h = std::collections::BTreeMap::new();
    for b in blocks.iter().filter(|b| b.tree == tree) {
        for s in &b.slots {
            if let Slot::Item { key, .. } = s {
                *h.entry(key.type_).or_default() += 1;
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_every_spelling() {
        let k = |s| parse_key(s).unwrap();
        assert_eq!(k("FS_TREE ROOT_ITEM 0"), Key { objectid: 5, type_: 132, offset: 0 });
        assert_eq!(k("256 INODE_REF 18446744073709551615").offset, u64::MAX);
        assert_eq!(k("EXTENT_CSUM EXTENT_CSUM -1"), Key { objectid: -10i64 as u64, type_: 128, offset: u64::MAX });
        assert_eq!(k("0 QGROUP_INFO 1/256").offset, (1 << 48) | 256);
        assert_eq!(k("0x402fd0ebdf934b4e UUID_KEY_SUBVOL 0x66995f2ae6d67a86"), Key { objectid: 0x402f_d0eb_df93_4b4e, type_: 251, offset: 0x6699_5f2a_e6d6_7a86 });
        assert_eq!(k("DEV_ITEMS DEV_ITEM 1"), Key { objectid: 1, type_: 216, offset: 1 });
        assert_eq!(k("FIRST_CHUNK_TREE CHUNK_ITEM 22020096").objectid, 256);
        assert_eq!(k("FREE_SPACE UNTYPED 30408704").type_, 0);
        assert_eq!(k("0 UNKNOWN.0 0").type_, 0);
        assert_eq!(k("DEV_STATS PERSISTENT_ITEM 1").objectid, 0);
        assert!(parse_key("FS_TREE NO_SUCH_TYPE 0").is_none());
        assert!(parse_key("NO_SUCH_TREE ROOT_ITEM 0").is_none());
    }

    #[test]
    fn a_small_dump() {
        let text = b"btrfs-progs v6.2\nroot tree\nnode 100 level 1 items 1 free space 492 generation 7 owner ROOT_TREE\nnode 100 flags 0x1(WRITTEN) backref revision 1\nfs uuid x\nchunk uuid y\n\tkey (EXTENT_TREE ROOT_ITEM 0) block 200 gen 7\nleaf 200 items 1 free space 3000 generation 7 owner ROOT_TREE\nleaf 200 flags 0x1(WRITTEN) backref revision 1\n\titem 0 key (EXTENT_TREE ROOT_ITEM 0) itemoff 3556 itemsize 439\n\t\tgeneration 7 \xff raw bytes\n\t(172 0x5) textent owner root 5\nextent tree key (EXTENT_TREE ROOT_ITEM 0) \nleaf 300 items 0 free space 3995 generation 7 owner EXTENT_TREE\n";
        let b = parse_text(text).unwrap();
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].tree, b[0].level, b[0].nritems, b[0].free_space), (1, 1, 1, 492));
        assert_eq!(b[0].slots, vec![Slot::Ptr { key: Key { objectid: 2, type_: 132, offset: 0 }, blockptr: 200, generation: 7 }]);
        assert_eq!(b[1].slots.len(), 1);
        assert_eq!((b[2].tree, b[2].owner), (2, 2));
    }
}
