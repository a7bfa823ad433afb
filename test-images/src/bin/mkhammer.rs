//! `mkhammer OUT [FILES] [--version N] [--size BYTES] [--volume BYTES]... [--empty]`: writes a
//! builder HAMMER image (volume 0 to OUT, volume N to OUT.N).

use ondisk_test_images::hammer::{populated, Builder, Options};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: mkhammer OUT [FILES] [--version N] [--size BYTES] [--volume BYTES]... [--empty]");
        std::process::exit(16);
    };
    let mut o = Options::default();
    let mut files = 0usize;
    let mut empty = false;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--version" => o.version = it.next().and_then(|v| v.parse().ok()).unwrap_or(7),
            "--size" => o.size = it.next().and_then(|v| v.parse().ok()).unwrap_or(o.size),
            "--empty" => empty = true,
            "--volume" => o.extra_volumes.push(it.next().and_then(|v| v.parse().ok()).unwrap_or(64 << 20)),
            n => files = n.parse().unwrap_or(0),
        }
    }
    let b = if empty { Builder::newfs(o) } else { populated(o, files) };
    let img = match b.and_then(|b| b.finish()) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("mkhammer: {e}");
            std::process::exit(8);
        }
    };
    if let Err(e) = std::fs::write(out, &img.bytes) {
        eprintln!("mkhammer: {out}: {e}");
        std::process::exit(8);
    }
    for (i, v) in img.volumes.iter().enumerate() {
        let p = format!("{out}.{}", i + 1);
        if let Err(e) = std::fs::write(&p, v) {
            eprintln!("mkhammer: {p}: {e}");
            std::process::exit(8);
        }
    }
    eprintln!("mkhammer: {out}: {} records, {} nodes", img.layout.recs.len(), img.layout.nodes.len());
}
