//! The command line: one file per subcommand, exit codes as fsck(8).

mod detect;
mod output;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Exit code: no errors.
pub const EXIT_OK: i32 = 0;
/// Exit code: the filesystem has errors.
pub const EXIT_ERRORS: i32 = 4;
/// Exit code: operational error (cannot read, not a filesystem).
pub const EXIT_OPERATIONAL: i32 = 8;
/// Exit code: usage error.
pub const EXIT_USAGE: i32 = 16;

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
#[derive(clap::Args, Debug)]
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
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    let opts = crate::image::OpenOptions { no_mmap: cli.no_mmap };
    let result = match &cli.command {
        Command::Detect(c) => detect::run(c, opts),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ondisk: {e}");
            match e {
                crate::Error::Usage(_) => EXIT_USAGE,
                _ => EXIT_OPERATIONAL,
            }
        }
    }
}
