//! Leaf record data: decoding for output, the leaf data CRC, and directory namekeys.

pub use ondisk_layouts::hammer::dirhash::{namekey_alg0, namekey_alg1};
use super::crc::{self, CrcAlg};
use super::fs::trim_nul;
use crate::detect::uuid_text_le;
use crate::record::{Record, Value};
use ondisk_layouts::hammer::{self as h, DirentryHead, InodeData, LeafElm, PfsData, SnapshotData};
use std::borrow::Cow;
use zerocopy::FromBytes;

/// Largest data record we read: records are at most 64 KiB (`HAMMER_XBUFSIZE`); config is 1 KiB.
pub const MAX_DATA_LEN: usize = h::XBUFSIZE as usize;

/// Bytes of a record's data that its `data_crc` covers.
pub fn crc_len(rec_type: u16, data_len: usize) -> usize {
    if rec_type == h::RECTYPE_INODE {
        data_len.min(h::INODE_CRCSIZE)
    } else {
        data_len
    }
}

/// Which accepted CRC matches the leaf's data_crc (`None`: neither).
pub fn data_crc(version: u32, leaf: &LeafElm, data: &[u8]) -> Option<CrcAlg> {
    let n = crc_len(leaf.base.rec_type.get(), data.len());
    let covered = data.get(..n).unwrap_or(data);
    crc::matches(version, leaf.data_crc.get(), |a| if covered.is_empty() { 0 } else { a.crc(covered) })
}

/// Whether a stored namekey is the computed one plus a collision increment (the kernel bumps the
/// key on collisions: the low 32 bits for ALG0, the low 16 for ALG1).
pub fn namekey_ok(stored: i64, computed: i64, alg1: bool) -> bool {
    let span: i64 = if alg1 { 1 << 16 } else { 1 << 32 };
    stored.checked_sub(computed).is_some_and(|d| (0..span).contains(&d))
}

fn hex(v: u64) -> String {
    format!("{v:016x}")
}

/// Inode ctime and parent etc. from inode data (`None` when too short).
pub fn inode(data: &[u8]) -> Option<InodeData> {
    InodeData::read_from_bytes(data.get(..h::INODE_DATA_SIZE)?).ok()
}

/// Decodes a record's data: (JSON field name, record, human lines in `hammer show`'s form).
pub fn decode(leaf: &LeafElm, data: &[u8]) -> Option<(&'static str, Record<'static>, Vec<String>)> {
    let mut r = Record::new();
    let mut lines = Vec::new();
    let name = match leaf.base.rec_type.get() {
        h::RECTYPE_INODE => {
            let ino = inode(data)?;
            let link = if ino.obj_type == h::OBJTYPE_SOFTLINK && (ino.size.get() as usize) <= h::INODE_BASESYMLEN {
                Some(ino.ext[..ino.size.get() as usize].to_vec())
            } else {
                None
            };
            r.push("version", ino.version.get())
                .push("mode", ino.mode.get())
                .push("uflags", ino.uflags.get())
                .push("rmajor", ino.rmajor.get())
                .push("rminor", ino.rminor.get())
                .push("ctime", ino.ctime.get())
                .push("parent_obj_id", ino.parent_obj_id.get())
                .push("uid", uuid_text_le(&ino.uid))
                .push("gid", uuid_text_le(&ino.gid))
                .push("obj_type", ino.obj_type)
                .push("cap_flags", ino.cap_flags)
                .push("nlinks", ino.nlinks.get())
                .push("size", ino.size.get())
                .push("mtime", ino.mtime.get())
                .push("atime", ino.atime.get());
            lines.push(format!(
                "inode size={} nlinks={} mode={:05o} uflags={:08x} caps={:02x} pobjid={} ot={:02x}",
                ino.size.get(),
                ino.nlinks.get(),
                ino.mode.get(),
                ino.uflags.get(),
                ino.cap_flags,
                hex(ino.parent_obj_id.get() as u64),
                ino.obj_type
            ));
            let mut t = format!(
                "      ctime={} mtime={} atime={}",
                hex(ino.ctime.get()),
                hex(ino.mtime.get()),
                hex(ino.atime.get())
            );
            if let Some(l) = link {
                t.push_str(&format!(" symlink=\"{}\"", String::from_utf8_lossy(&l).escape_debug()));
                r.push("symlink", Value::Name(Cow::Owned(l)));
            }
            lines.push(t);
            "inode"
        }
        h::RECTYPE_DIRENTRY => {
            let d = DirentryHead::read_from_bytes(data.get(..h::DIRENTRY_NAME_OFFSET)?).ok()?;
            let nm = data.get(h::DIRENTRY_NAME_OFFSET..)?.to_vec();
            lines.push(format!(
                "dir-entry objid={} lo={:08x} name=\"{}\"",
                hex(d.obj_id.get() as u64),
                d.localization.get(),
                String::from_utf8_lossy(&nm).escape_debug()
            ));
            r.push("obj_id", d.obj_id.get()).push("localization", d.localization.get()).push("name", Value::Name(Cow::Owned(nm)));
            "dirent"
        }
        h::RECTYPE_PFS => {
            let p = PfsData::read_from_bytes(data.get(..h::PFS_DATA_SIZE)?).ok()?;
            r.push("sync_low_tid", p.sync_low_tid.get())
                .push("sync_beg_tid", p.sync_beg_tid.get())
                .push("sync_end_tid", p.sync_end_tid.get())
                .push("shared_uuid", uuid_text_le(&p.shared_uuid))
                .push("unique_uuid", uuid_text_le(&p.unique_uuid))
                .push("mirror_flags", p.mirror_flags.get())
                .push("label", Value::Name(Cow::Owned(trim_nul(&p.label).to_vec())))
                .push("prune_min", p.prune_min.get())
                .push("prune_max", p.prune_max.get());
            lines.push(format!("pfs sync_beg_tid={} sync_end_tid={}", hex(p.sync_beg_tid.get()), hex(p.sync_end_tid.get())));
            lines.push(format!("    shared_uuid={}", uuid_text_le(&p.shared_uuid)));
            lines.push(format!("    unique_uuid={}", uuid_text_le(&p.unique_uuid)));
            lines.push(format!(
                "    mirror_flags={:08x} label=\"{}\"",
                p.mirror_flags.get(),
                String::from_utf8_lossy(trim_nul(&p.label)).escape_debug()
            ));
            "pfs"
        }
        h::RECTYPE_SNAPSHOT => {
            let s = SnapshotData::read_from_bytes(data.get(..128)?).ok()?;
            r.push("tid", s.tid.get()).push("ts", s.ts.get()).push("label", Value::Name(Cow::Owned(trim_nul(&s.label).to_vec())));
            lines.push(format!(
                "snapshot tid={} ts={:016x} label=\"{}\"",
                hex(s.tid.get()),
                s.ts.get(),
                String::from_utf8_lossy(trim_nul(&s.label)).escape_debug()
            ));
            "snapshot"
        }
        h::RECTYPE_CONFIG => {
            let t = trim_nul(data).to_vec();
            lines.push(format!("config text=\"{}\"", String::from_utf8_lossy(&t).escape_debug()));
            r.push("text", Value::Name(Cow::Owned(t)));
            "config"
        }
        h::RECTYPE_FIX if leaf.base.key.get() == h::FIXKEY_SYMLINK => {
            lines.push(format!("symlink=\"{}\"", String::from_utf8_lossy(data).escape_debug()));
            r.push("symlink", Value::Name(Cow::Owned(data.to_vec())));
            "fix"
        }
        _ => return None,
    };
    Some((name, r, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namekeys_match_formats_doc() {
        assert_eq!(namekey_alg0(b"hello.txt") as u64, 0x1260cebb00000000);
        assert_eq!(namekey_alg1(b"hello.txt") as u64, 0x524805cbdcdb0000);
        assert!(namekey_ok(0x524805cbdcdb0001, 0x524805cbdcdb0000, true));
        assert!(!namekey_ok(0x524805cbdcdc0000, 0x524805cbdcdb0000, true));
    }
}
