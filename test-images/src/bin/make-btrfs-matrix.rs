//! Builds the btrfs mkfs matrix and writes its goldens.
//!
//! usage: make-btrfs-matrix [--out DIR] [--work DIR] [NAME...]
//!
//! For each image (all of them, or the NAMEs given): makes it with `mkfs.btrfs` from a generated
//! source tree, checks it with `btrfs check --readonly` (single-device ones), and writes under
//! `DIR/<name>/` (default: this crate's `btrfs/`): the member images compressed with `zstd -19`,
//! `dump-tree.txt.zst`, `dump-super.txt` (first member) and `HOW.txt`. Needs btrfs-progs and the
//! zstd CLI. The working directory (default: a fresh one under /tmp) holds the raw images.

use ondisk_test_images::btrfs_matrix::{self, Content, Spec, MATRIX};
use ondisk_test_images::tree_gen;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make-btrfs-matrix: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> io::Result<()> {
    let mut out = ondisk_test_images::btrfs_golden_dir();
    let mut work: Option<PathBuf> = None;
    let mut names = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from).ok_or_else(|| io::Error::other("--out needs a directory"))?,
            "--work" => work = Some(args.next().map(PathBuf::from).ok_or_else(|| io::Error::other("--work needs a directory"))?),
            "-h" | "--help" => {
                println!("usage: make-btrfs-matrix [--out DIR] [--work DIR] [NAME...]");
                for s in MATRIX {
                    println!("  {:<24} {}", s.name, s.why);
                }
                return Ok(());
            }
            _ => names.push(a),
        }
    }
    for tool in ["mkfs.btrfs", "btrfs", "zstd"] {
        if !btrfs_matrix::have_tool(tool) {
            return Err(io::Error::other(format!("needs {tool} on PATH")));
        }
    }
    let specs: Vec<&Spec> = if names.is_empty() {
        MATRIX.iter().collect()
    } else {
        names.iter().map(|n| btrfs_matrix::spec(n).ok_or_else(|| io::Error::other(format!("no image named {n}")))).collect::<io::Result<_>>()?
    };
    let work = match work {
        Some(w) => w,
        None => std::env::temp_dir().join(format!("btrfs-matrix.{}", std::process::id())),
    };
    fs::create_dir_all(&work)?;
    let tree = work.join("tree");
    if !tree.exists() {
        tree_gen::generate(&tree)?;
    }
    let version = tool_version("mkfs.btrfs")?;
    for spec in specs {
        build_one(spec, &work, &tree, &out, &version)?;
    }
    eprintln!("raw images left in {}", work.display());
    Ok(())
}

fn tool_version(prog: &str) -> io::Result<String> {
    let o = Command::new(prog).arg("--version").output()?;
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn zstd19(input: &Path, output: &Path) -> io::Result<()> {
    let st = Command::new("zstd").args(["-19", "-q", "-f", "-o"]).arg(output).arg(input).stdin(Stdio::null()).status()?;
    if !st.success() {
        return Err(io::Error::other(format!("zstd {} failed", input.display())));
    }
    Ok(())
}

fn build_one(spec: &Spec, work: &Path, tree: &Path, out: &Path, version: &str) -> io::Result<()> {
    eprintln!("== {}: {}", spec.name, spec.mkfs_command_text());
    let dir = work.join(spec.name);
    fs::create_dir_all(&dir)?;
    let members = btrfs_matrix::build(spec, &dir, tree)?;
    if spec.content == Content::Populated {
        btrfs_matrix::progs_check(&members[0])?;
    }
    let dest = out.join(spec.name);
    if dest.exists() {
        fs::remove_dir_all(&dest)?;
    }
    fs::create_dir_all(&dest)?;

    let dump = btrfs_matrix::progs_dump_tree(&members)?;
    let dump_path = dir.join("dump-tree.txt");
    fs::write(&dump_path, &dump)?;
    zstd19(&dump_path, &dest.join("dump-tree.txt.zst"))?;
    fs::write(dest.join("dump-super.txt"), btrfs_matrix::progs_dump_super(&members[0])?)?;
    for m in &members {
        let name = m.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        zstd19(m, &dest.join(format!("{name}.zst")))?;
    }

    let mut how = fs::File::create(dest.join("HOW.txt"))?;
    writeln!(how, "{}", spec.why)?;
    writeln!(how)?;
    writeln!(how, "Made by `cargo run -p ondisk-test-images --bin make-btrfs-matrix -- {}` with {version}:", spec.name)?;
    match spec.content {
        Content::Populated => {
            writeln!(how, "  TREE = ondisk_test_images::tree_gen::generate(TREE)")?;
            writeln!(how, "  truncate -s {} {}", btrfs_matrix::POPULATED_START_SIZE, spec.member_names().join(" "))?;
        }
        Content::Empty { .. } => writeln!(how, "  truncate -s {} {}", btrfs_matrix::MEMBER_SIZE, spec.member_names().join(" "))?,
    }
    writeln!(how, "  {}", spec.mkfs_command_text())?;
    if spec.content == Content::Populated {
        writeln!(how, "  btrfs check --readonly {}   # clean", spec.member_names()[0])?;
    }
    writeln!(how, "  btrfs inspect-internal dump-tree --noscan {} > dump-tree.txt", spec.member_names().join(" "))?;
    writeln!(how, "  btrfs inspect-internal dump-super -f {} > dump-super.txt   # device path shortened to the file name", spec.member_names()[0])?;
    writeln!(how, "  zstd -19 each image and dump-tree.txt")?;
    writeln!(how)?;
    writeln!(how, "Device uuids, the chunk tree uuid, inode numbers (copied from the source tree) and ctimes are not")?;
    writeln!(how, "reproducible: a rebuild has the same shape, not the same bytes. The goldens belong to these images.")?;

    let total: u64 = fs::read_dir(&dest)?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    eprintln!("   {} bytes committed in {}", total, dest.display());
    Ok(())
}
