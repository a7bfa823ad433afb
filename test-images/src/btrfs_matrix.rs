//! The btrfs mkfs matrix: small images made by the distribution's `mkfs.btrfs` (btrfs-progs 6.2)
//! that cover every checksum type, node size, metadata profile, mixed block groups, free space
//! tree on/off, no-holes on/off, and every multi-device profile.
//!
//! `make-btrfs-matrix` builds them and commits, per image, under `btrfs/<name>/`: the member
//! images (`zstd -19`), `dump-tree.txt.zst`, `dump-super.txt` and `HOW.txt`. The differential
//! test (`tests/btrfs_matrix.rs`) compares `ondisk` with those goldens, and rebuilds a couple of
//! them with [`build`] when btrfs-progs is installed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What goes into an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// One device, populated with `--rootdir` from [`crate::tree_gen::generate`].
    Populated,
    /// `devices` empty members (6.2's `--rootdir` is single-device only).
    Empty { devices: usize },
}

/// One image of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Folder name under `btrfs/`, also the image file stem.
    pub name: &'static str,
    /// Fixed filesystem uuid (`-U`): the rest of the uuids mkfs picks at random.
    pub uuid: &'static str,
    /// mkfs options besides `-f -q -U` and `--rootdir`.
    pub args: &'static [&'static str],
    pub content: Content,
    /// What this image is there to cover.
    pub why: &'static str,
}

/// Apparent size a populated image starts with; mkfs 6.2 grows a `--rootdir` image as needed but
/// fails with "not enough free space to allocate chunk" for mixed DUP at 128 MiB.
pub const POPULATED_START_SIZE: u64 = 256 << 20;
/// Apparent size of each member of a multi-device set (sparse).
pub const MEMBER_SIZE: u64 = 300 << 20;

/// Every image of the matrix.
pub const MATRIX: &[Spec] = &[
    Spec { name: "demo", uuid: "00000000-0000-4000-8000-000000000101", args: &[], content: Content::Populated, why: "the defaults: crc32c, 16k nodes, DUP metadata, free space tree, no-holes; the README's demo image" },
    Spec { name: "csum-xxhash", uuid: "00000000-0000-4000-8000-000000000102", args: &["--csum", "xxhash"], content: Content::Populated, why: "xxhash64 checksums" },
    Spec { name: "csum-sha256", uuid: "00000000-0000-4000-8000-000000000103", args: &["--csum", "sha256"], content: Content::Populated, why: "sha256 checksums" },
    Spec { name: "csum-blake2", uuid: "00000000-0000-4000-8000-000000000104", args: &["--csum", "blake2"], content: Content::Populated, why: "blake2b-256 checksums" },
    Spec { name: "node4k", uuid: "00000000-0000-4000-8000-000000000105", args: &["-n", "4096"], content: Content::Populated, why: "4 KiB nodes: many leaves, multi-level fs tree" },
    Spec { name: "node64k", uuid: "00000000-0000-4000-8000-000000000106", args: &["-n", "65536"], content: Content::Populated, why: "64 KiB nodes" },
    Spec { name: "meta-single", uuid: "00000000-0000-4000-8000-000000000107", args: &["-m", "single"], content: Content::Populated, why: "SINGLE metadata (no DUP mirror)" },
    Spec { name: "mixed", uuid: "00000000-0000-4000-8000-000000000108", args: &["-M", "-n", "4096"], content: Content::Populated, why: "mixed data+metadata block groups (nodesize = sectorsize)" },
    Spec { name: "mixed-dup-blake2", uuid: "00000000-0000-4000-8000-000000000109", args: &["-M", "-n", "4096", "-m", "dup", "-d", "dup", "--csum", "blake2"], content: Content::Populated, why: "mixed block groups with DUP, blake2" },
    Spec { name: "no-fst", uuid: "00000000-0000-4000-8000-00000000010a", args: &["-R", "^free-space-tree"], content: Content::Populated, why: "no free space tree" },
    Spec { name: "holes", uuid: "00000000-0000-4000-8000-00000000010b", args: &["-O", "^no-holes"], content: Content::Populated, why: "no-holes off: explicit hole extents" },
    Spec { name: "xxhash-4k-single-nofst", uuid: "00000000-0000-4000-8000-00000000010c", args: &["--csum", "xxhash", "-n", "4096", "-m", "single", "-R", "^free-space-tree"], content: Content::Populated, why: "a cross: xxhash, 4k nodes, SINGLE metadata, no free space tree" },
    Spec { name: "sha256-64k-holes", uuid: "00000000-0000-4000-8000-00000000010d", args: &["--csum", "sha256", "-n", "65536", "-O", "^no-holes"], content: Content::Populated, why: "a cross: sha256, 64k nodes, no-holes off" },
    Spec { name: "raid0", uuid: "00000000-0000-4000-8000-000000000201", args: &["-m", "raid0", "-d", "raid0"], content: Content::Empty { devices: 2 }, why: "RAID0, 2 members" },
    Spec { name: "raid1", uuid: "00000000-0000-4000-8000-000000000202", args: &["-m", "raid1", "-d", "raid1"], content: Content::Empty { devices: 2 }, why: "RAID1, 2 members" },
    Spec { name: "raid10", uuid: "00000000-0000-4000-8000-000000000203", args: &["-m", "raid10", "-d", "raid10"], content: Content::Empty { devices: 4 }, why: "RAID10, 4 members (2 would degenerate to one stripe pair)" },
    Spec { name: "raid5", uuid: "00000000-0000-4000-8000-000000000204", args: &["-m", "raid5", "-d", "raid5"], content: Content::Empty { devices: 3 }, why: "RAID5, 3 members (parity rotates over 3)" },
    Spec { name: "raid6", uuid: "00000000-0000-4000-8000-000000000205", args: &["-m", "raid6", "-d", "raid6"], content: Content::Empty { devices: 4 }, why: "RAID6, 4 members (two data stripes, P and Q)" },
    Spec { name: "raid1c3", uuid: "00000000-0000-4000-8000-000000000206", args: &["-m", "raid1c3", "-d", "raid1c3"], content: Content::Empty { devices: 3 }, why: "RAID1C3, 3 members" },
    Spec { name: "raid1c4", uuid: "00000000-0000-4000-8000-000000000207", args: &["-m", "raid1c4", "-d", "raid1c4"], content: Content::Empty { devices: 4 }, why: "RAID1C4, 4 members" },
];

impl Spec {
    /// The image file names of the members, in device order.
    pub fn member_names(&self) -> Vec<String> {
        match self.content {
            Content::Populated => vec![format!("{}.img", self.name)],
            Content::Empty { devices } => (1..=devices).map(|i| format!("{}.dev{i}.img", self.name)).collect(),
        }
    }

    /// The mkfs command line, with `TREE` for the source tree and member names relative to the
    /// working directory: what `HOW.txt` records.
    pub fn mkfs_command_text(&self) -> String {
        let mut words = vec!["mkfs.btrfs".to_string(), "-f".into(), "-q".into(), "-U".into(), self.uuid.into()];
        words.extend(self.args.iter().map(|s| s.to_string()));
        if self.content == Content::Populated {
            words.push("--rootdir".into());
            words.push("TREE".into());
        }
        words.extend(self.member_names());
        words.join(" ")
    }
}

/// Finds a spec by name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    MATRIX.iter().find(|s| s.name == name)
}

/// Whether `prog` runs (e.g. `mkfs.btrfs`, `btrfs`, `zstd`).
pub fn have_tool(prog: &str) -> bool {
    Command::new(prog).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

fn run(cmd: &mut Command) -> io::Result<Vec<u8>> {
    let out = cmd.output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!("{cmd:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(out.stdout)
}

/// Makes the image(s) of `spec` in `dir` (which must exist) and returns the member paths.
/// `tree` is the source tree for populated images (made by the caller with
/// [`crate::tree_gen::generate`] and reusable across images).
pub fn build(spec: &Spec, dir: &Path, tree: &Path) -> io::Result<Vec<PathBuf>> {
    let members: Vec<PathBuf> = spec.member_names().iter().map(|n| dir.join(n)).collect();
    let size = match spec.content {
        Content::Populated => POPULATED_START_SIZE,
        Content::Empty { .. } => MEMBER_SIZE,
    };
    for m in &members {
        let _ = fs::remove_file(m);
        fs::File::create(m)?.set_len(size)?;
    }
    let mut cmd = Command::new("mkfs.btrfs");
    cmd.args(["-f", "-q", "-U", spec.uuid]).args(spec.args);
    if spec.content == Content::Populated {
        cmd.arg("--rootdir").arg(tree);
    }
    cmd.args(&members);
    run(&mut cmd)?;
    Ok(members)
}

/// `btrfs inspect-internal dump-tree --noscan MEMBERS...`: the whole text.
pub fn progs_dump_tree(members: &[PathBuf]) -> io::Result<Vec<u8>> {
    run(Command::new("btrfs").args(["inspect-internal", "dump-tree", "--noscan"]).args(members))
}

/// `btrfs inspect-internal dump-super -f MEMBER`, with the device path on the first line
/// replaced by the file name, so the golden does not depend on where it was built.
pub fn progs_dump_super(member: &Path) -> io::Result<Vec<u8>> {
    let out = run(Command::new("btrfs").args(["inspect-internal", "dump-super", "-f"]).arg(member))?;
    let text = String::from_utf8_lossy(&out);
    let name = member.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let full = member.display().to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().replace(&full, &name);
    let mut s = first;
    s.push('\n');
    for l in lines {
        s.push_str(l);
        s.push('\n');
    }
    Ok(s.into_bytes())
}

/// `btrfs check --readonly` on a single-device image: the matrix holds clean images only.
/// (check takes one device and finds the others only among scanned block devices, so sets of
/// plain files cannot be checked this way.)
pub fn progs_check(image: &Path) -> io::Result<()> {
    run(Command::new("btrfs").args(["check", "--readonly"]).arg(image)).map(|_| ())
}
