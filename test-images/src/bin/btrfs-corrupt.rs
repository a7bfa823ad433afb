//! `btrfs-corrupt --list`: the btrfs corruption matrix (name, family, base, expected kinds).
//! `btrfs-corrupt NAME OUT.img`: writes that row's corrupted image (a multi-device base writes
//! `OUT.img`, `OUT.img.2`, ...) to reproduce it by hand with `ondisk check` and `btrfs check`.
//!
//! Needs `mkfs.btrfs` for the mkfs bases, the shared images (`$ONDISK_SHARED`, else `../shared`
//! of the repository) for the kernel ones, `btrfs-image` for a restored metadump, and the `ondisk` binary (`$ONDISK`, else the one next
//! to this program) to find what to damage.

use ondisk_test_images::btrfs_corrupt::{manifest, Tools};
use std::path::PathBuf;

fn tools() -> Tools {
    let ondisk = std::env::var_os("ONDISK").map(PathBuf::from).unwrap_or_else(|| {
        std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("ondisk"))).unwrap_or_else(|| PathBuf::from("ondisk"))
    });
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = std::env::var_os("ONDISK_SHARED")
        .map(PathBuf::from)
        .into_iter()
        .chain([repo.join("../shared"), repo.join("../../shared")])
        .find(|p| p.join("images").is_dir());
    Tools { ondisk, shared, unpacked: None }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows = manifest();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--list"] => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for c in &rows {
                let extra = if c.args.is_empty() { String::new() } else { format!(" [{}]", c.args.join(" ")) };
                // A closed pipe (`| head`) ends the listing.
                if writeln!(out, "{:<44} {:<17} {:<20} {}{extra}", c.name, c.family.name(), c.base.name(), c.want()).is_err() {
                    break;
                }
            }
        }
        [name, out] => {
            let Some(c) = rows.iter().find(|c| c.name == name) else {
                eprintln!("btrfs-corrupt: no corruption named {name} (see --list)");
                std::process::exit(16);
            };
            let tools = tools();
            let out = PathBuf::from(out);
            let work = std::env::temp_dir().join(format!("btrfs-corrupt-{}", std::process::id()));
            let result = (|| {
                std::fs::create_dir_all(work.join("base")).map_err(|e| e.to_string())?;
                std::fs::create_dir_all(work.join("row")).map_err(|e| e.to_string())?;
                let base = c.base.build(&tools, &work.join("base")).map_err(|e| e.to_string())?;
                let mut img = base.copy_to(&work.join("row")).map_err(|e| e.to_string())?;
                (c.apply)(&mut img).map_err(|e| e.to_string())?;
                let mut written = Vec::new();
                for (n, p) in img.paths.iter().enumerate() {
                    let dst = if n == 0 { out.clone() } else { PathBuf::from(format!("{}.{}", out.display(), n + 1)) };
                    std::fs::rename(p, &dst).or_else(|_| std::fs::copy(p, &dst).map(|_| ())).map_err(|e| format!("{}: {e}", dst.display()))?;
                    written.push(dst.display().to_string());
                }
                Ok::<_, String>(written)
            })();
            let _ = std::fs::remove_dir_all(&work);
            match result {
                Ok(written) => {
                    let files = written.join(" ");
                    let why = if c.why.is_empty() { String::new() } else { format!(" — {}", c.why) };
                    println!("{} ({} on {}){why}", c.name, c.family.name(), c.base.name());
                    println!("expected: {}", c.want());
                    println!("reproduce: ondisk check {}{files}", c.args.iter().map(|a| format!("{a} ")).collect::<String>());
                    println!("           btrfs check --readonly {files}");
                }
                Err(e) => {
                    eprintln!("btrfs-corrupt: {name}: {e}");
                    std::process::exit(8);
                }
            }
        }
        _ => {
            eprintln!("usage: btrfs-corrupt --list | btrfs-corrupt NAME OUT.img");
            std::process::exit(16);
        }
    }
}
