//! The command line: one file per subcommand, exit codes as fsck(8).
//!
//! Each subcommand opens the device set, detects the filesystem, and hands over to that
//! filesystem's printer (`crate::<fs>::cmd`). Results go to stdout, diagnostics to stderr.

mod args;
pub mod check;
mod detect;
mod dispatch;
mod kinds;
pub mod output;

pub use args::*;
use clap::Parser;

/// Exit code: no errors.
pub const EXIT_OK: i32 = 0;
/// Exit code: an assertion (`--expect`/`--allow`) did not hold.
pub const EXIT_ASSERT: i32 = 1;
/// Exit code: the filesystem has errors.
pub const EXIT_ERRORS: i32 = 4;
/// Exit code: operational error (cannot read, not a filesystem).
pub const EXIT_OPERATIONAL: i32 = 8;
/// Exit code: usage error.
pub const EXIT_USAGE: i32 = 16;

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
        Command::Super(a) => dispatch::super_(a, opts),
        Command::Dump(a) => dispatch::dump(a, opts),
        Command::Map(a) => dispatch::map(a, opts),
        Command::Check(a) => check::run(a, opts),
        Command::Kinds(a) => kinds::run(a),
        Command::Stats(c) => dispatch::stats(c, opts),
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
