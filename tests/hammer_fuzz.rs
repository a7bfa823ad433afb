//! Random byte mutations of HAMMER images (the shared reference image and a builder image):
//! findings, never a panic. Seeded and bounded so it runs in seconds; the seed of a failure is in
//! the message.

mod common;
use common::hammer as hammer_util;
use ondisk::cli::check::CheckOptions;
use ondisk::hammer::btree::{self, ElmVisit, LinkError, NodeVisit, Visitor};
use ondisk::hammer::fs::Fs;
use ondisk::hammer::{cmd, records, undo};
use ondisk::image::{DeviceSet, OpenOptions};
use ondisk_test_images::hammer::{populated, Options};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Decodes every record the way `dump` does.
struct Decode<'f, 'a>(&'f Fs<'a>);
impl Visitor for Decode<'_, '_> {
    fn node(&mut self, _n: &NodeVisit) {}
    fn elm(&mut self, n: &NodeVisit, e: &ElmVisit) {
        if let ElmVisit::Leaf { idx, elm, .. } = e {
            let _ = cmd::leaf_record(self.0, n.off, *idx, elm);
            if let Some(Ok(d)) = cmd::leaf_data(self.0, elm) {
                let _ = records::decode(elm, &d);
            }
        }
    }
    fn bad_link(&mut self, _: u64, _: usize, _: u64, _: LinkError) {}
}

fn exercise(path: &Path) {
    let set = DeviceSet::open(&[path.to_path_buf()], OpenOptions::default()).expect("open");
    let _ = ondisk::hammer::check::run(&set, &CheckOptions::default());
    if let Ok(fs) = Fs::open(&set) {
        btree::walk(&fs, &mut Decode(&fs));
        let mut n = 0;
        undo::scan(&fs, |_| {
            n += 1;
            n < 100_000
        });
        let _ = undo::active_range(&fs);
    }
}

/// Byte ranges worth mutating: the header, the start of the freemap, FIFO, B-Tree and data.
fn hot_ranges(img: &[u8]) -> Vec<(u64, u64)> {
    let g = |o: usize| u64::from_le_bytes(img[o..o + 8].try_into().unwrap());
    let buf_beg = g(24);
    let phys = |off: u64| buf_beg + (off & 0x000F_FFFF_FFFF_FFFF);
    let mut v = vec![(0, 1928)];
    let l1 = phys(g(264 + 4 * 40));
    v.push((l1, 64));
    let l2 = phys(u64::from_le_bytes(img[l1 as usize + 8..l1 as usize + 16].try_into().unwrap()));
    v.push((l2, 256));
    v.push((phys(g(904)), 16384));
    for z in [8usize, 9, 10, 11] {
        let next = g(264 + z * 40 + 16);
        let bb = phys(next) & !((1 << 23) - 1);
        v.push((bb, 65536));
    }
    v.retain(|&(o, n)| o + n <= img.len() as u64);
    v
}

fn mutate_and_check(name: &str, bytes: &[u8], seed: u64, iterations: usize) {
    let f = hammer_util::temp_image(bytes);
    let ranges = hot_ranges(bytes);
    // ONDISK_FUZZ_ITERS=N runs longer, by hand.
    let iterations = std::env::var("ONDISK_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(iterations);
    let seed = std::env::var("ONDISK_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(seed);
    let mut rng = common::Rng(seed);
    for it in 0..iterations {
        let n = 1 + rng.below(8) as usize;
        let mut saved = Vec::new();
        for _ in 0..n {
            let (o, len) = ranges[rng.below(ranges.len() as u64) as usize];
            let at = o + rng.below(len);
            let old = bytes[at as usize];
            let new = match rng.below(3) {
                0 => old ^ (1 << rng.below(8)),
                1 => rng.next() as u8,
                _ => 0xFF,
            };
            f.as_file().write_at(&[new], at).expect("mutate");
            saved.push((at, old));
        }
        let r = catch_unwind(AssertUnwindSafe(|| exercise(f.path())));
        assert!(r.is_ok(), "{name}: panic at iteration {it} (seed {seed:#x}), mutations {saved:?}");
        for (at, old) in saved.into_iter().rev() {
            f.as_file().write_at(&[old], at).expect("restore");
        }
    }
}

#[test]
fn mutations_of_a_builder_image_never_panic() {
    let img = populated(Options { size: 80 << 20, ..Default::default() }, 200).and_then(|b| b.finish()).expect("build");
    mutate_and_check("builder", &img.bytes, 0x5eed_0001, 40);
}

#[test]
fn mutations_of_the_shared_image_never_panic() {
    let Some(d) = hammer_util::shared() else { return };
    let mut z = std::fs::File::open(d.join("v7-populated/v7_populated_synthetic.img.zst")).expect("open");
    let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut z).expect("zstd");
    let mut bytes = Vec::new();
    dec.read_to_end(&mut bytes).expect("decompress");
    mutate_and_check("v7-populated", &bytes, 0x5eed_0002, 25);
}

/// Hand-made hostile pointers: the B-Tree root at the freemap or the FIFO, the UNDO array at
/// the B-Tree, a FIFO 1 GiB long, layer1 inside the B-Tree, buffer bounds past the device, a
/// node that is its own child. Each run ends, with findings.
#[test]
fn hostile_pointers_are_findings() {
    let img = populated(Options { size: 80 << 20, ..Default::default() }, 100).and_then(|b| b.finish()).expect("build");
    let g = |o: usize| u64::from_le_bytes(img.bytes[o..o + 8].try_into().unwrap());
    let root = g(240);
    let root_phys = 0x88000 + (root & 0x000F_FFFF_FFFF_FFFF) as usize;
    let cases: Vec<(&str, usize, Vec<u8>)> = vec![
        ("root-at-freemap", 240, 0x8000_0000_0000_0000u64.to_le_bytes().to_vec()),
        ("root-in-fifo", 240, 0x8000_0000_0100_0000u64.to_le_bytes().to_vec()),
        ("undo-array-at-btree", 904, 0x2000_0000_0180_0000u64.to_le_bytes().to_vec()),
        ("fifo-1gib", 264 + 3 * 40 + 24, (0x3000_0000_0000_0000u64 + (128 << 23)).to_le_bytes().to_vec()),
        ("layer1-in-btree", 264 + 4 * 40, 0x2000_0000_0180_0000u64.to_le_bytes().to_vec()),
        ("buf-end-huge", 32, (1u64 << 62).to_le_bytes().to_vec()),
        ("buf-beg-huge", 24, 0xFFFF_FFFF_FFFF_FFF0u64.to_le_bytes().to_vec()),
        ("vol-count-negative", 148, u32::MAX.to_le_bytes().to_vec()),
        ("node-own-child", root_phys + 64 + 48, root.to_le_bytes().to_vec()),
    ];
    for (name, at, patch) in cases {
        let mut b = img.bytes.clone();
        b[at..at + patch.len()].copy_from_slice(&patch);
        let f = hammer_util::temp_image(&b);
        let set = DeviceSet::open(&[f.path().to_path_buf()], OpenOptions::default()).expect("open");
        let rep = ondisk::hammer::check::run(&set, &CheckOptions::default()).expect("check runs");
        assert!(rep.count(ondisk::findings::Severity::Error) > 0, "{name}: no error found");
        assert!(rep.findings.len() <= 40 * (ondisk::hammer::check::MAX_PER_KIND + 1), "{name}: findings bounded");
        exercise(f.path());
    }
}
