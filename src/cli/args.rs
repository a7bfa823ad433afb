//! Command-line arguments of every subcommand.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Read, decode, check and browse raw images of btrfs, bcachefs and HAMMER. Read-only, always.
#[derive(Parser, Debug)]
#[command(name = "ondisk", version, about)]
pub struct Cli {
    /// Read with pread instead of mmap (for devices that may change underneath).
    #[arg(long, global = true)]
    pub no_mmap: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Arguments every subcommand shares.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// The devices (or image files) of one filesystem.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// JSON Lines on stdout, one object per line with a "type".
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Which filesystem is on each path, and which members of a set are present.
    Detect(Common),
    /// The superblock (btrfs), volume headers (HAMMER): every copy with --all.
    Super(SuperArgs),
    /// Decode trees, nodes and items.
    Dump(DumpArgs),
    /// Translate an address: btrfs logical → device and physical (every copy); HAMMER zone offset.
    Map(MapArgs),
    /// Check the filesystem like an fsck; exit 0 clean, 4 errors found.
    Check(CheckArgs),
    /// List every finding kind with its meaning.
    Kinds(KindsArgs),
    /// Metadata-space view (btrfs): tree blocks per tree, level and generation; block-group usage.
    Stats(Common),
}

#[derive(clap::Args, Debug, Clone)]
pub struct SuperArgs {
    #[command(flatten)]
    pub common: Common,
    /// Every copy (mirrors, every volume), not just the one in use.
    #[arg(long)]
    pub all: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DumpArgs {
    #[command(flatten)]
    pub common: Common,
    /// Only this tree (btrfs: name such as `fs`, `extent`, `chunk`, or an objectid).
    #[arg(long, value_name = "NAME|ID")]
    pub tree: Option<String>,
    /// Only this block (btrfs: logical bytenr).
    #[arg(long, value_name = "BYTENR", value_parser = parse_u64)]
    pub block: Option<u64>,
    /// With --block: also every block below it.
    #[arg(long, requires = "block")]
    pub follow: bool,
    /// Start from this root tree block instead of the superblock's (btrfs).
    #[arg(long, value_name = "BYTENR", value_parser = parse_u64)]
    pub root: Option<u64>,
    /// Start from backup root N (0-3) of the superblock (btrfs).
    #[arg(long, value_name = "N")]
    pub backup: Option<usize>,
    /// The freemap, like `hammer blockmap` (HAMMER).
    #[arg(long)]
    pub blockmap: bool,
    /// The UNDO/REDO FIFO, like `hammer show-undo` (HAMMER).
    #[arg(long)]
    pub undo: bool,
    /// Print the checksums of EXTENT_CSUM items, as dump-tree --csum-items does (btrfs).
    #[arg(long)]
    pub csum_items: bool,
    /// Print HIDDEN for file and xattr names, as dump-tree --hide-names does (btrfs).
    #[arg(long)]
    pub hide_names: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct MapArgs {
    /// The devices of one filesystem, then the address (decimal or 0x-hex).
    #[arg(required = true, num_args = 2.., value_name = "PATH... ADDRESS")]
    pub args: Vec<String>,
    /// JSON Lines on stdout.
    #[arg(long)]
    pub json: bool,
}

impl MapArgs {
    /// The paths and the address, split.
    pub fn split(&self) -> crate::Result<(Vec<PathBuf>, u64)> {
        let (addr, paths) = self.args.split_last().ok_or_else(|| crate::Error::Usage("map needs PATH... ADDRESS".into()))?;
        let addr = parse_u64(addr).map_err(crate::Error::Usage)?;
        Ok((paths.iter().map(PathBuf::from).collect(), addr))
    }
}

/// How `check --group-by` summarises findings.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Kind,
    Tree,
    Device,
    Generation,
    /// Inode ctime, hour buckets (HAMMER).
    Ctime,
    /// Transaction id (HAMMER create_tid).
    Tid,
}

#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub common: Common,
    /// Print every finding, not only the first few of each kind.
    #[arg(long)]
    pub all: bool,
    /// Warnings count as errors for the exit code.
    #[arg(long)]
    pub strict: bool,
    /// Assert that findings of KIND occur (exactly COUNT times if given); repeatable.
    #[arg(long, value_name = "KIND[=COUNT]")]
    pub expect: Vec<String>,
    /// Allow findings of KIND without requiring them; repeatable.
    #[arg(long, value_name = "KIND")]
    pub allow: Vec<String>,
    /// Summarise findings by this field.
    #[arg(long, value_enum)]
    pub group_by: Option<GroupBy>,
    /// Verify file data against the checksums (btrfs).
    #[arg(long)]
    pub check_data_csum: bool,
    /// Verify every copy of every tree block (btrfs DUP/RAID mirrors), not only the first good one;
    /// with --check-data-csum, also RAID5/6 data rebuilt from its parity.
    #[arg(long)]
    pub all_copies: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct KindsArgs {
    /// JSON Lines on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Parses a decimal or `0x` hexadecimal u64.
pub fn parse_u64(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let r = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16),
        None => t.replace('_', "").parse(),
    };
    r.map_err(|e| format!("{s:?} is not a number: {e}"))
}
