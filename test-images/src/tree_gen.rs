//! A small, deterministic source tree for `mkfs.btrfs --rootdir`.
//!
//! The tree exercises the item types a populated btrfs has without a kernel: inline and regular
//! extents (one file large enough for several 1 MiB extents, which is the most mkfs 6.2 writes in
//! one extent), an empty file, hard links, a set of long-named hard links in one directory (more
//! INODE_REF bytes than a 64 KiB leaf holds, so the rest go to INODE_EXTREF), symlinks (short,
//! long enough to be a large inline extent, dangling), a FIFO, xattrs on files and directories, a
//! directory with a few hundred entries and a chain a few levels deep.
//!
//! File contents repeat a short per-file pattern so images and their data checksums compress to
//! almost nothing, and every time is pinned. mkfs 6.2 copies the source's inode numbers and
//! ctimes, which no one can pin: images built from this tree are the same in shape (the same
//! items of the same types and sizes), not byte for byte.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;

/// atime and mtime of every entry: 2023-11-14T22:13:20Z.
pub const FIXED_TIME: i64 = 1_700_000_000;

/// How many long-named links the EXTREF inode gets. Each INODE_REF entry costs 10 bytes plus the
/// name; 300 × (10 + 250) bytes exceeds the ~65 KiB leaf data area of a 64 KiB node.
pub const EXTREF_LINKS: usize = 300;
/// Length of each of those names (the limit is 255).
pub const EXTREF_NAME_LEN: usize = 250;
/// Entries in the wide directory.
pub const WIDE_ENTRIES: usize = 300;

/// A tiny deterministic PRNG (splitmix64): the tree must not depend on a crate's algorithm
/// changing between versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `len` bytes of a repeated 8-byte pattern drawn from `rng`: different per file, compressible.
fn payload(rng: &mut Rng, len: usize) -> Vec<u8> {
    let pat = rng.next().to_le_bytes();
    pat.iter().copied().cycle().take(len).collect()
}

/// `len` printable bytes (dump-tree prints xattr values raw, up to 255 bytes: a newline in a
/// value would split its line and blur every diff of the text).
fn text_payload(rng: &mut Rng, len: usize) -> Vec<u8> {
    let pat: Vec<u8> = rng.next().to_le_bytes().iter().map(|b| b'!' + b % 94).collect();
    pat.iter().copied().cycle().take(len).collect()
}

/// Every byte value but `\n`, with a NUL early on: dump-tree prints a value with `%.*s`, which
/// stops at the NUL, and our text must do the same.
fn binary_value() -> Vec<u8> {
    let mut v: Vec<u8> = (1..=255u8).filter(|&b| b != b'\n').collect();
    v.insert(16, 0);
    v
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

fn setxattr(p: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    let path = cstr(p)?;
    let name = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: both strings are NUL-terminated and live across the call; value/len describe a
    // valid slice.
    let r = unsafe { libc::lsetxattr(path.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn mkfifo(p: &Path) -> io::Result<()> {
    let path = cstr(p)?;
    // SAFETY: a NUL-terminated path that lives across the call.
    if unsafe { libc::mkfifo(path.as_ptr(), 0o644) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Pins atime and mtime without following symlinks.
fn pin_time(p: &Path) -> io::Result<()> {
    let path = cstr(p)?;
    let t = libc::timespec { tv_sec: FIXED_TIME as libc::time_t, tv_nsec: 0 };
    let times = [t, t];
    // SAFETY: a NUL-terminated path and a two-element timespec array, both live across the call.
    let r = unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Pins times bottom-up (a directory's mtime changes when its entries are made).
fn pin_all(p: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(p)?;
    if meta.is_dir() {
        let mut names: Vec<_> = fs::read_dir(p)?.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
        names.sort();
        for n in names {
            pin_all(&n)?;
        }
    }
    pin_time(p)
}

/// Sizes of the regular files in `files/`: empty, inline-sized (≤ 2048 bytes with the default
/// max_inline), one sector, just over, and several sizes up to three 1 MiB extents.
pub const FILE_SIZES: &[usize] = &[0, 1, 100, 2000, 3000, 4096, 5000, 65_536, 300_000, 2_621_440];

/// Writes the tree under `dest`, which must not exist yet.
pub fn generate(dest: &Path) -> io::Result<()> {
    fs::create_dir(dest)?;
    let mut rng = Rng(0x6f6e_6469_736b);

    // Regular files of several sizes.
    let files = dest.join("files");
    fs::create_dir(&files)?;
    for (i, &size) in FILE_SIZES.iter().enumerate() {
        fs::write(files.join(format!("f{i:02}-{size}")), payload(&mut rng, size))?;
    }

    // Hard links across directories.
    let links = dest.join("links");
    fs::create_dir(&links)?;
    fs::write(links.join("target"), payload(&mut rng, 700))?;
    fs::hard_link(links.join("target"), links.join("second"))?;
    fs::hard_link(links.join("target"), files.join("third-link"))?;

    // Many long names for one inode in one directory: INODE_REF overflows into INODE_EXTREF.
    let extref = dest.join("extref");
    fs::create_dir(&extref)?;
    let first = extref.join(long_name(0));
    fs::write(&first, b"one inode, many long names\n")?;
    for i in 1..EXTREF_LINKS {
        fs::hard_link(&first, extref.join(long_name(i)))?;
    }

    // Symlinks: short, dangling, and one whose target makes a ~1000-byte inline extent.
    let sym = dest.join("symlinks");
    fs::create_dir(&sym)?;
    symlink("../files/f02-100", sym.join("short"))?;
    symlink("does/not/exist", sym.join("dangling"))?;
    let long_target: String = (0..100).map(|i| format!("dir{i:04}/")).collect::<String>() + "end";
    symlink(long_target, sym.join("long"))?;

    // Special files mkfs copies as bare inodes.
    mkfifo(&dest.join("fifo"))?;

    // Extended attributes: small and large, user. and trusted., on a file and a directory.
    let x = dest.join("xattrs");
    fs::create_dir(&x)?;
    let xf = x.join("with-xattrs");
    fs::write(&xf, b"xattrs live in XATTR_ITEMs keyed by name hash\n")?;
    setxattr(&xf, "user.small", b"v")?;
    setxattr(&xf, "user.medium", &text_payload(&mut rng, 300))?;
    setxattr(&xf, "user.large", &text_payload(&mut rng, 2000))?;
    setxattr(&xf, "user.binary", &binary_value())?;
    setxattr(&xf, "trusted.ondisk", b"trusted value")?;
    setxattr(&x, "user.on-directory", b"directory xattr")?;

    // A wide directory: hundreds of DIR_ITEM/DIR_INDEX pairs spread over several leaves.
    let wide = dest.join("wide");
    fs::create_dir(&wide)?;
    for i in 0..WIDE_ENTRIES {
        let size = (i * 37) % 120;
        fs::write(wide.join(format!("entry-{i:04}")), payload(&mut rng, size))?;
    }

    // A few levels deep, a file at each level.
    let mut d = dest.join("deep");
    for level in 0..6 {
        fs::create_dir(&d)?;
        fs::write(d.join(format!("at-level-{level}")), payload(&mut rng, 10 + level * 500))?;
        d = d.join(format!("level{}", level + 1));
    }

    pin_all(dest)
}

/// The `i`-th long link name: unique prefix, padded to [`EXTREF_NAME_LEN`].
fn long_name(i: usize) -> String {
    let mut s = format!("link-{i:04}-");
    while s.len() < EXTREF_NAME_LEN {
        s.push(char::from(b'a' + (s.len() % 26) as u8));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_and_are_unique() {
        let names: std::collections::BTreeSet<_> = (0..EXTREF_LINKS).map(long_name).collect();
        assert_eq!(names.len(), EXTREF_LINKS);
        assert!(names.iter().all(|n| n.len() == EXTREF_NAME_LEN && n.len() <= 255));
    }

    #[test]
    fn payload_is_deterministic() {
        let a = payload(&mut Rng(1), 20);
        let b = payload(&mut Rng(1), 20);
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
    }
}
