//! The superblock as `btrfs inspect-internal dump-super -f` (btrfs-progs 6.2) prints it, line for
//! line, and as a JSON record rendered from the `layout!` field table.
//!
//! Text output must diff empty against dump-super, so every spelling, tab and flag-name table
//! below follows what 6.2 prints (checked against its output, including for flag bits it does not
//! know and for damaged sys_chunk_arrays).

use super::chunk_map::ChunkInfo;
use super::superblock::{CsumStatus, SuperCopy};
use crate::detect::uuid_text;
use crate::record::{Record, Value};
use ondisk_layouts::btrfs::superblock::{NUM_BACKUP_ROOTS, SYSTEM_CHUNK_ARRAY_SIZE};
use ondisk_layouts::btrfs::*;
use ondisk_layouts::{Field, Layout, Render};
use std::borrow::Cow;
use std::io::{self, Write};
use zerocopy::FromBytes;

/// The name dump-super prints for a csum_type (6.2 says `blake2`, not `blake2b`).
fn csum_type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        CSUM_TYPE_CRC32 => "crc32c",
        CSUM_TYPE_XXHASH => "xxhash64",
        CSUM_TYPE_SHA256 => "sha256",
        CSUM_TYPE_BLAKE2 => "blake2",
        _ => return None,
    })
}

/// Bytes of the csum field in use; 32 when the type is unknown (dump-super prints all of it).
fn csum_size(t: u16) -> usize {
    match t {
        CSUM_TYPE_CRC32 => 4,
        CSUM_TYPE_XXHASH => 8,
        _ => 32,
    }
}

/// Super flags dump-super names, in its order.
const SUPER_FLAG_NAMES: &[(u64, &str)] = &[
    (SUPER_FLAG_WRITTEN, "WRITTEN"),
    (SUPER_FLAG_RELOC, "RELOC"),
    (SUPER_FLAG_CHANGING_FSID, "CHANGING_FSID"),
    (SUPER_FLAG_SEEDING, "SEEDING"),
    (SUPER_FLAG_METADUMP, "METADUMP"),
    (SUPER_FLAG_METADUMP_V2, "METADUMP_V2"),
];
/// Bits 6.2 does not call unknown (the named ones).
const SUPER_FLAG_KNOWN: u64 = SUPER_FLAG_WRITTEN
    | SUPER_FLAG_RELOC
    | SUPER_FLAG_CHANGING_FSID
    | SUPER_FLAG_SEEDING
    | SUPER_FLAG_METADUMP
    | SUPER_FLAG_METADUMP_V2;

const COMPAT_RO_NAMES: &[(u64, &str)] = &[
    (FEATURE_COMPAT_RO_FREE_SPACE_TREE, "FREE_SPACE_TREE"),
    (FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID, "FREE_SPACE_TREE_VALID"),
    (FEATURE_COMPAT_RO_BLOCK_GROUP_TREE, "BLOCK_GROUP_TREE"),
];
/// 6.2 supports VERITY without naming it: it is neither named nor "unknown".
const COMPAT_RO_KNOWN: u64 = FEATURE_COMPAT_RO_FREE_SPACE_TREE
    | FEATURE_COMPAT_RO_FREE_SPACE_TREE_VALID
    | FEATURE_COMPAT_RO_VERITY
    | FEATURE_COMPAT_RO_BLOCK_GROUP_TREE;

const INCOMPAT_NAMES: &[(u64, &str)] = &[
    (FEATURE_INCOMPAT_MIXED_BACKREF, "MIXED_BACKREF"),
    (FEATURE_INCOMPAT_DEFAULT_SUBVOL, "DEFAULT_SUBVOL"),
    (FEATURE_INCOMPAT_MIXED_GROUPS, "MIXED_GROUPS"),
    (FEATURE_INCOMPAT_COMPRESS_LZO, "COMPRESS_LZO"),
    (FEATURE_INCOMPAT_COMPRESS_ZSTD, "COMPRESS_ZSTD"),
    (FEATURE_INCOMPAT_BIG_METADATA, "BIG_METADATA"),
    (FEATURE_INCOMPAT_EXTENDED_IREF, "EXTENDED_IREF"),
    (FEATURE_INCOMPAT_RAID56, "RAID56"),
    (FEATURE_INCOMPAT_SKINNY_METADATA, "SKINNY_METADATA"),
    (FEATURE_INCOMPAT_NO_HOLES, "NO_HOLES"),
    (FEATURE_INCOMPAT_METADATA_UUID, "METADATA_UUID"),
    (FEATURE_INCOMPAT_RAID1C34, "RAID1C34"),
    (FEATURE_INCOMPAT_ZONED, "ZONED"),
    (FEATURE_INCOMPAT_EXTENT_TREE_V2, "EXTENT_TREE_V2"),
];
/// 6.2 (non-experimental build) supports bits 0..=12: EXTENT_TREE_V2 is named *and* unknown.
const INCOMPAT_KNOWN: u64 = (1 << 13) - 1;

/// `__print_readable_flag`: nothing for 0, else `\t\t\t( A |\n\t\t\t  B )`.
fn print_flag_names(w: &mut dyn Write, flags: u64, names: &[(u64, &str)], known: u64) -> io::Result<()> {
    if flags == 0 {
        return Ok(());
    }
    let mut parts: Vec<String> = names.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, n)| (*n).to_string()).collect();
    let unknown = flags & !known;
    if unknown != 0 {
        parts.push(format!("unknown flag: 0x{unknown:x}"));
    }
    write!(w, "\t\t\t( ")?;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            write!(w, "|\n\t\t\t  ")?;
        }
        write!(w, "{p} ")?;
    }
    writeln!(w, ")")
}

/// Names of flags as a list, for JSON.
fn flag_list(flags: u64, names: &[(u64, &'static str)]) -> Value<'static> {
    Value::List(names.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, n)| Value::from(*n)).collect())
}

/// C `isprint` in the C locale, else '.'.
fn printable(b: u8) -> char {
    if (0x20..0x7f).contains(&b) {
        b as char
    } else {
        '.'
    }
}

/// `bg_flags_to_str` of btrfs-progs 6.2, quirks included: METADATA does not clear "empty", so a
/// METADATA|SYSTEM chunk prints as `METADATASYSTEM`; the profile is that of the first matching
/// bit in the kernel's raid-index order, uppercase except `single` (6.2 prints `DATA|single`).
pub fn chunk_type_text(flags: u64) -> String {
    crate::btrfs::names::FlagsText::BlockGroup(flags).to_string()
}

/// The profile name alone, lowercase as `btrfs` tools spell profiles (`single` included).
pub fn profile_name(flags: u64) -> &'static str {
    match crate::btrfs::names::profile_name(flags) {
        Some("RAID10") => "raid10",
        Some("RAID1") => "raid1",
        Some("RAID1C3") => "raid1c3",
        Some("RAID1C4") => "raid1c4",
        Some("DUP") => "dup",
        Some("RAID0") => "raid0",
        Some("RAID5") => "raid5",
        Some("RAID6") => "raid6",
        _ => "single",
    }
}

/// `print_chunk_item`: the lines under a CHUNK_ITEM key, as dump-tree and dump-super print them.
/// `data` starts at the chunk; it may run on past it.
fn print_chunk(w: &mut dyn Write, data: &[u8]) -> io::Result<()> {
    let Ok((c, rest)) = Chunk::ref_from_prefix(data) else {
        return writeln!(w, "\t\tchunk item invalid");
    };
    let n = c.num_stripes.get();
    if n < 1 {
        return writeln!(w, "invalid num_stripes: {n}");
    }
    let Some(stripes) = rest.get(..usize::from(n) * core::mem::size_of::<Stripe>()) else {
        return writeln!(w, "\t\tchunk item invalid");
    };
    writeln!(
        w,
        "\t\tlength {} owner {} stripe_len {} type {}",
        c.length.get(),
        c.owner.get(),
        c.stripe_len.get(),
        chunk_type_text(c.type_.get())
    )?;
    writeln!(w, "\t\tio_align {} io_width {} sector_size {}", c.io_align.get(), c.io_width.get(), c.sector_size.get())?;
    writeln!(w, "\t\tnum_stripes {} sub_stripes {}", n, c.sub_stripes.get())?;
    for (i, s) in stripes.chunks_exact(core::mem::size_of::<Stripe>()).enumerate() {
        let s = Stripe::ref_from_bytes(s).expect("32-byte chunk of a stripe array");
        writeln!(w, "\t\t\tstripe {i} devid {} offset {}", s.devid.get(), s.offset.get())?;
        writeln!(w, "\t\t\tdev_uuid {}", uuid_text(&s.dev_uuid))?;
    }
    Ok(())
}

/// One entry of the sys_chunk_array, as walked by `print_sys_chunk_array`.
enum SysEntry<'a> {
    Chunk { key: &'a DiskKey, chunk: &'a [u8] },
    /// The walk stops here with this message (dump-super prints it as `ERROR: ...` on stderr).
    Stop(String),
}

/// Walks the sys_chunk_array the way dump-super does (same stop conditions and messages).
fn sys_entries(sb: &SuperBlock) -> Vec<SysEntry<'_>> {
    let size = sb.sys_chunk_array_size.get();
    let mut out = Vec::new();
    if size as usize > SYSTEM_CHUNK_ARRAY_SIZE {
        out.push(SysEntry::Stop(format!(
            "sys_array_size {size} shouldn't exceed {SYSTEM_CHUNK_ARRAY_SIZE} bytes"
        )));
        return out;
    }
    let array = &sb.sys_chunk_array[..size as usize];
    let key_len = core::mem::size_of::<DiskKey>();
    let chunk_len = core::mem::size_of::<Chunk>();
    let stripe_len = core::mem::size_of::<Stripe>();
    let mut cur = 0usize;
    let short = |len: usize, cur: usize| SysEntry::Stop(format!("sys_array too short to read {len} bytes at offset {cur}"));
    while cur < array.len() {
        let Some(kb) = array.get(cur..cur + key_len) else {
            out.push(short(key_len, cur));
            break;
        };
        let key = DiskKey::ref_from_bytes(kb).expect("17 bytes view as a key");
        cur += key_len;
        if key.type_ != CHUNK_ITEM_KEY {
            // The key line is printed before the type is judged.
            out.push(SysEntry::Chunk { key, chunk: &[] });
            out.push(SysEntry::Stop(format!("unexpected item type {} in sys_array at offset {cur}", key.type_)));
            break;
        }
        let one = chunk_len + stripe_len;
        if cur + one > array.len() {
            out.push(SysEntry::Chunk { key, chunk: &[] });
            out.push(short(one, cur));
            break;
        }
        let c = Chunk::ref_from_prefix(&array[cur..]).expect("checked length").0;
        let n = c.num_stripes.get() as usize;
        if n == 0 {
            out.push(SysEntry::Chunk { key, chunk: &[] });
            out.push(SysEntry::Stop(format!("invalid number of stripes {n} in sys_array at offset {cur}")));
            break;
        }
        let len = chunk_len + n * stripe_len;
        if cur + len > array.len() {
            out.push(SysEntry::Chunk { key, chunk: &[] });
            out.push(short(len, cur));
            break;
        }
        out.push(SysEntry::Chunk { key, chunk: &array[cur..cur + len] });
        cur += len;
    }
    out
}

/// Prints one copy exactly as `dump-super -f` does, starting with the `superblock:` line and
/// ending with the blank line dump-super prints after each superblock. Sys array damage goes to
/// `err` as `ERROR:` lines, as dump-super does.
pub fn print_text(w: &mut dyn Write, err: &mut dyn Write, device: &str, copy: &SuperCopy) -> io::Result<()> {
    writeln!(w, "superblock: bytenr={}, device={device}", copy.offset)?;
    writeln!(w, "---------------------------------------------------------")?;
    if !copy.magic_ok {
        writeln!(err, "ERROR: bad magic on superblock on {device} at {}", copy.offset)?;
        return writeln!(w);
    }
    let sb = copy.sb();
    let ct = sb.csum_type.get();
    let name = csum_type_name(ct);
    writeln!(w, "csum_type\t\t{ct} ({})", name.unwrap_or("INVALID"))?;
    let cs = csum_size(ct);
    writeln!(w, "csum_size\t\t{cs}")?;
    let hex: String = sb.csum[..cs].iter().map(|b| format!("{b:02x}")).collect();
    let verdict = match copy.csum {
        CsumStatus::Match => "[match]",
        CsumStatus::Mismatch => "[DON'T MATCH]",
        CsumStatus::UnknownType(_) => "[UNKNOWN CSUM TYPE OR SIZE]",
    };
    writeln!(w, "csum\t\t\t0x{hex} {verdict}")?;
    writeln!(w, "bytenr\t\t\t{}", sb.bytenr.get())?;
    writeln!(w, "flags\t\t\t0x{:x}", sb.flags.get())?;
    print_flag_names(w, sb.flags.get(), SUPER_FLAG_NAMES, SUPER_FLAG_KNOWN)?;
    let magic: String = sb.magic.get().to_le_bytes().iter().map(|&b| printable(b)).collect();
    writeln!(w, "magic\t\t\t{magic} [match]")?;
    let metadata_uuid_present = sb.incompat_flags.get() & FEATURE_INCOMPAT_METADATA_UUID != 0;
    writeln!(w, "fsid\t\t\t{}", uuid_text(&sb.fsid))?;
    let meta = if metadata_uuid_present { &sb.metadata_uuid } else { &sb.fsid };
    writeln!(w, "metadata_uuid\t\t{}", uuid_text(meta))?;
    let label: String = sb.label.iter().take_while(|&&b| b != 0).map(|&b| printable(b)).collect();
    writeln!(w, "label\t\t\t{label}")?;
    writeln!(w, "generation\t\t{}", sb.generation.get())?;
    writeln!(w, "root\t\t\t{}", sb.root.get())?;
    writeln!(w, "sys_array_size\t\t{}", sb.sys_chunk_array_size.get())?;
    writeln!(w, "chunk_root_generation\t{}", sb.chunk_root_generation.get())?;
    writeln!(w, "root_level\t\t{}", sb.root_level)?;
    writeln!(w, "chunk_root\t\t{}", sb.chunk_root.get())?;
    writeln!(w, "chunk_root_level\t{}", sb.chunk_root_level)?;
    writeln!(w, "log_root\t\t{}", sb.log_root.get())?;
    writeln!(w, "log_root_transid (deprecated)\t{}", sb.log_root_transid.get())?;
    writeln!(w, "log_root_level\t\t{}", sb.log_root_level)?;
    writeln!(w, "total_bytes\t\t{}", sb.total_bytes.get())?;
    writeln!(w, "bytes_used\t\t{}", sb.bytes_used.get())?;
    writeln!(w, "sectorsize\t\t{}", sb.sectorsize.get())?;
    writeln!(w, "nodesize\t\t{}", sb.nodesize.get())?;
    writeln!(w, "leafsize (deprecated)\t{}", sb.leafsize.get())?;
    writeln!(w, "stripesize\t\t{}", sb.stripesize.get())?;
    writeln!(w, "root_dir\t\t{}", sb.root_dir_objectid.get())?;
    writeln!(w, "num_devices\t\t{}", sb.num_devices.get())?;
    writeln!(w, "compat_flags\t\t0x{:x}", sb.compat_flags.get())?;
    writeln!(w, "compat_ro_flags\t\t0x{:x}", sb.compat_ro_flags.get())?;
    print_flag_names(w, sb.compat_ro_flags.get(), COMPAT_RO_NAMES, COMPAT_RO_KNOWN)?;
    writeln!(w, "incompat_flags\t\t0x{:x}", sb.incompat_flags.get())?;
    print_flag_names(w, sb.incompat_flags.get(), INCOMPAT_NAMES, INCOMPAT_KNOWN)?;
    writeln!(w, "cache_generation\t{}", sb.cache_generation.get())?;
    writeln!(w, "uuid_tree_generation\t{}", sb.uuid_tree_generation.get())?;
    let d = &sb.dev_item;
    writeln!(w, "dev_item.uuid\t\t{}", uuid_text(&d.uuid))?;
    let fsid_match = d.fsid == *meta;
    writeln!(w, "dev_item.fsid\t\t{} {}", uuid_text(&d.fsid), if fsid_match { "[match]" } else { "[DON'T MATCH]" })?;
    writeln!(w, "dev_item.type\t\t{}", d.type_.get())?;
    writeln!(w, "dev_item.total_bytes\t{}", d.total_bytes.get())?;
    writeln!(w, "dev_item.bytes_used\t{}", d.bytes_used.get())?;
    writeln!(w, "dev_item.io_align\t{}", d.io_align.get())?;
    writeln!(w, "dev_item.io_width\t{}", d.io_width.get())?;
    writeln!(w, "dev_item.sector_size\t{}", d.sector_size.get())?;
    writeln!(w, "dev_item.devid\t\t{}", d.devid.get())?;
    writeln!(w, "dev_item.dev_group\t{}", d.dev_group.get())?;
    writeln!(w, "dev_item.seek_speed\t{}", d.seek_speed)?;
    writeln!(w, "dev_item.bandwidth\t{}", d.bandwidth)?;
    writeln!(w, "dev_item.generation\t{}", d.generation.get())?;
    writeln!(w, "sys_chunk_array[{SYSTEM_CHUNK_ARRAY_SIZE}]:")?;
    let mut item = 0;
    for e in sys_entries(sb) {
        match e {
            SysEntry::Chunk { key, chunk } => {
                writeln!(w, "\titem {item} {}", super::names::key_text(key))?;
                if !chunk.is_empty() {
                    print_chunk(w, chunk)?;
                }
                item += 1;
            }
            SysEntry::Stop(m) => {
                // Our stdout and the error stream are separate buffers: flush so that an
                // interleaved terminal shows the error where dump-super would.
                w.flush()?;
                writeln!(err, "ERROR: {m}")?;
            }
        }
    }
    writeln!(w, "backup_roots[{NUM_BACKUP_ROOTS}]:")?;
    for (i, b) in sb.super_roots.iter().enumerate() {
        if b.tree_root.get() == 0 && b.tree_root_gen.get() == 0 {
            continue;
        }
        writeln!(w, "\tbackup {i}:")?;
        writeln!(w, "\t\tbackup_tree_root:\t{}\tgen: {}\tlevel: {}", b.tree_root.get(), b.tree_root_gen.get(), b.tree_root_level)?;
        writeln!(w, "\t\tbackup_chunk_root:\t{}\tgen: {}\tlevel: {}", b.chunk_root.get(), b.chunk_root_gen.get(), b.chunk_root_level)?;
        writeln!(w, "\t\tbackup_extent_root:\t{}\tgen: {}\tlevel: {}", b.extent_root.get(), b.extent_root_gen.get(), b.extent_root_level)?;
        writeln!(w, "\t\tbackup_fs_root:\t\t{}\tgen: {}\tlevel: {}", b.fs_root.get(), b.fs_root_gen.get(), b.fs_root_level)?;
        writeln!(w, "\t\tbackup_dev_root:\t{}\tgen: {}\tlevel: {}", b.dev_root.get(), b.dev_root_gen.get(), b.dev_root_level)?;
        writeln!(w, "\t\tcsum_root:\t{}\tgen: {}\tlevel: {}", b.csum_root.get(), b.csum_root_gen.get(), b.csum_root_level)?;
        writeln!(w, "\t\tbackup_total_bytes:\t{}", b.total_bytes.get())?;
        writeln!(w, "\t\tbackup_bytes_used:\t{}", b.bytes_used.get())?;
        writeln!(w, "\t\tbackup_num_devices:\t{}", b.num_devices.get())?;
        writeln!(w)?;
    }
    writeln!(w)
}

/// Reads an unsigned little-endian integer of 1, 2, 4 or 8 bytes.
fn le_uint(b: &[u8]) -> Option<u64> {
    let mut buf = [0u8; 8];
    buf.get_mut(..b.len())?.copy_from_slice(b);
    (b.len() <= 8).then(|| u64::from_le_bytes(buf))
}

/// Renders a structure generically from its field table: integers as numbers, uuids and text as
/// strings, embedded structures nested. Reserved/padding/unused fields are left out; other raw
/// byte fields become `{"bytes": base64}`.
pub fn fields_record(fields: &'static [Field], bytes: &[u8]) -> Record<'static> {
    let mut r = Record::with_capacity(fields.len());
    for f in fields {
        let Some(b) = bytes.get(f.offset..f.offset + f.size) else { continue };
        if f.name.starts_with("reserved") || f.name.starts_with("padding") || f.name.starts_with("unused") {
            continue;
        }
        let v = match f.render {
            Render::Dec | Render::Hex => match le_uint(b) {
                Some(v) => Value::U64(v),
                None => continue,
            },
            Render::SignedDec => match le_uint(b) {
                Some(v) => {
                    let shift = 64 - 8 * b.len() as u32;
                    Value::I64(((v << shift) as i64) >> shift)
                }
                None => continue,
            },
            Render::Uuid => match <[u8; 16]>::try_from(b) {
                Ok(u) => Value::Str(Cow::Owned(uuid_text(&u))),
                Err(_) => continue,
            },
            Render::UuidLe => match <[u8; 16]>::try_from(b) {
                Ok(u) => Value::Str(Cow::Owned(crate::detect::uuid_text_le(&u))),
                Err(_) => continue,
            },
            Render::Text => {
                let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                Value::Name(Cow::Owned(b[..end].to_vec()))
            }
            Render::Bytes => Value::Bytes(Cow::Owned(b.to_vec())),
            Render::Struct(sub) => Value::Record(fields_record(sub, b)),
            Render::Array(sub, elem) if elem > 0 => {
                Value::List(b.chunks_exact(elem).map(|e| Value::Record(fields_record(sub, e))).collect())
            }
            Render::Array(..) => continue,
        };
        r.push(f.name, v);
    }
    r
}

/// A chunk of the sys array (or tree) as JSON.
pub fn chunk_record(c: &ChunkInfo) -> Record<'static> {
    let mut r = Record::new();
    r.push("logical", c.logical)
        .push("length", c.length)
        .push("stripe_len", c.stripe_len)
        .push("type", c.type_)
        .push("type_text", chunk_type_text(c.type_))
        .push("profile", profile_name(c.type_))
        .push("num_stripes", c.stripes.len() as u64)
        .push("sub_stripes", c.sub_stripes);
    let stripes = c
        .stripes
        .iter()
        .map(|s| {
            let mut sr = Record::new();
            sr.push("devid", s.devid).push("offset", s.offset).push("dev_uuid", uuid_text(&s.dev_uuid));
            Value::Record(sr)
        })
        .collect::<Vec<_>>();
    r.push("stripes", stripes);
    r
}

/// One copy as a JSON record: `{"type":"superblock","device":..,"mirror":N,"bytenr":N,
/// "csum_ok":bool,"used":bool, ...every field by its kernel name}`.
pub fn record(device: &str, copy: &SuperCopy, used: bool) -> Record<'static> {
    let sb = copy.sb();
    let mut r = Record::new();
    r.push("type", "superblock")
        .push("device", device.to_string())
        .push("mirror", copy.mirror as u64)
        .push("offset", copy.offset)
        .push("csum_ok", copy.csum == CsumStatus::Match)
        .push("magic_ok", copy.magic_ok)
        .push("used", used);
    let ct = sb.csum_type.get();
    r.push("csum_type_name", csum_type_name(ct).unwrap_or("INVALID"));
    let mut fields = fields_record(<SuperBlock as Layout>::FIELDS, copy.bytes());
    // The generic form of two fields is not what a reader wants: the checksum in the bytes its
    // type uses (hex, as dump-super prints it) and the sys array decoded.
    for (name, v) in fields.fields.iter_mut() {
        if *name == "csum" {
            *v = Value::Str(Cow::Owned(sb.csum[..csum_size(ct)].iter().map(|b| format!("{b:02x}")).collect()));
        }
    }
    r.fields.extend(fields.fields.into_iter().filter(|(n, _)| *n != "sys_chunk_array"));
    r.push("flags_names", flag_list(sb.flags.get(), SUPER_FLAG_NAMES))
        .push("compat_ro_flags_names", flag_list(sb.compat_ro_flags.get(), COMPAT_RO_NAMES))
        .push("incompat_flags_names", flag_list(sb.incompat_flags.get(), INCOMPAT_NAMES));
    let mut chunks = Vec::new();
    let mut errors = Vec::new();
    for e in sys_entries(sb) {
        match e {
            SysEntry::Chunk { key, chunk } if !chunk.is_empty() => match ChunkInfo::parse(key.offset.get(), chunk) {
                Ok((c, _)) => chunks.push(Value::Record(chunk_record(&c))),
                Err(e) => errors.push(Value::from(e.0)),
            },
            SysEntry::Chunk { .. } => {}
            SysEntry::Stop(m) => errors.push(Value::from(m)),
        }
    }
    r.push("sys_chunk_array", chunks);
    if !errors.is_empty() {
        r.push("sys_chunk_array_errors", errors);
    }
    r
}
