//! The `ondisk` command: parse the command line, call the library, map the result to an exit code.

fn main() {
    std::process::exit(ondisk::cli::main());
}
