//! Named corruptions of builder HAMMER images: each damages one thing (fixing the CRCs that would
//! otherwise also fire, where the fault is meant to be "valid but inconsistent") and names the
//! finding kinds `ondisk check` must report — the HAMMER rows of the corruption matrix.

use crate::hammer::{crc, Image, BIGBLOCK};

/// One named corruption.
pub struct Corruption {
    pub name: &'static str,
    /// Kinds the checker must report (errors and warnings exactly; infos listed here must occur).
    pub expect: &'static [&'static str],
    pub apply: fn(&mut Image),
}

fn get32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn get64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn fix_node(img: &mut Image, phys: u64) {
    let p = phys as usize;
    let c = crc(img.layout.version, &img.bytes[p + 4..p + 4096]);
    put32(&mut img.bytes, p, c);
}
fn fix_l1(img: &mut Image, p: usize) {
    let c = crc(img.layout.version, &img.bytes[p..p + 28]);
    put32(&mut img.bytes, p + 28, c);
}
fn fix_l2(img: &mut Image, p: usize) {
    let c = crc(img.layout.version, &img.bytes[p..p + 12]);
    put32(&mut img.bytes, p + 12, c);
}
fn l2_entry(img: &Image, bigblock: u64) -> usize {
    (img.layout.layer2 + bigblock * 16) as usize
}

/// Index of the first record with this rec_type (and a predicate).
fn rec(img: &Image, rt: u16, f: impl Fn(&crate::hammer::Rec) -> bool) -> usize {
    img.layout.recs.iter().position(|r| r.rec_type == rt && f(r)).expect("the populated image has such a record")
}

/// Physical offset of record `i`'s leaf element.
fn elm(img: &Image, i: usize) -> (u64, usize) {
    let (node, idx, _) = img.layout.records[i];
    (node, (node as usize) + 64 + idx * 64)
}

/// A leaf that is not the root and not the first leaf (so its elements have a real left bound).
fn some_leaf(img: &Image) -> u64 {
    img.layout.nodes.iter().filter(|n| n.2).nth(1).map(|n| n.1).expect("a multi-leaf tree")
}

/// Writes one valid UNDO record at the FIFO start, continuing the newfs sequence, that restores
/// `old` at zone-2 offset `target`.
fn write_undo(img: &mut Image, target: u64, old: &[u8]) {
    let v = img.layout.version;
    let last_seq = (img.layout.undo_size / 512 - 1) as u32;
    let p = img.layout.undo as usize;
    let r = &mut img.bytes[p..p + 512];
    r.fill(0);
    r[0..2].copy_from_slice(&0xC84Eu16.to_le_bytes());
    r[2..4].copy_from_slice(&0x0043u16.to_le_bytes());
    put32(r, 4, 512);
    put32(r, 8, last_seq + 1);
    put64(r, 16, target);
    put32(r, 24, old.len() as u32);
    r[32..32 + old.len()].copy_from_slice(old);
    r[504..506].copy_from_slice(&0xC74Fu16.to_le_bytes());
    r[506..508].copy_from_slice(&0x0043u16.to_le_bytes());
    put32(r, 508, 512);
    let c = crc(v, &r[..12]) ^ crc(v, &r[16..]);
    put32(r, 12, c);
}

fn meta_l2(img: &Image) -> usize {
    l2_entry(img, img.layout.meta_bigblock)
}

/// Every HAMMER corruption, for a `populated` builder image with a few hundred files.
pub fn corruptions() -> Vec<Corruption> {
    vec![
        Corruption { name: "layer1-bad-crc", expect: &["hammer.layer1_crc"], apply: |img| {
            let p = img.layout.layer1 as usize;
            img.bytes[p + 16] ^= 1;
        }},
        Corruption { name: "layer2-bad-crc", expect: &["hammer.layer2_crc"], apply: |img| {
            let p = meta_l2(img);
            img.bytes[p + 1] ^= 1;
        }},
        Corruption { name: "layer1-wrong-free", expect: &["hammer.layer1_blocks_free", "hammer.stat_freebigblocks"], apply: |img| {
            let p = img.layout.layer1 as usize;
            let v = get64(&img.bytes, p) + 1;
            put64(&mut img.bytes, p, v);
            fix_l1(img, p);
        }},
        Corruption { name: "stat-freebigblocks", expect: &["hammer.stat_freebigblocks"], apply: |img| {
            let v = get64(&img.bytes, 208) + 3;
            put64(&mut img.bytes, 208, v);
        }},
        Corruption { name: "layer2-wrong-zone", expect: &["hammer.layer2_zone"], apply: |img| {
            let p = meta_l2(img);
            img.bytes[p] = 10;
            fix_l2(img, p);
        }},
        Corruption { name: "layer2-wrong-free", expect: &["hammer.layer2_bytes_free"], apply: |img| {
            let p = meta_l2(img);
            let v = get32(&img.bytes, p + 8) - 16;
            put32(&mut img.bytes, p + 8, v);
            fix_l2(img, p);
        }},
        Corruption { name: "layer2-append-off-low", expect: &["hammer.layer2_append_off"], apply: |img| {
            let p = meta_l2(img);
            put32(&mut img.bytes, p + 4, 16);
            fix_l2(img, p);
        }},
        Corruption { name: "layer2-free-not-free", expect: &["hammer.layer2_free_entry"], apply: |img| {
            let bb = img.layout.free_bigblock.expect("a free big-block");
            let p = l2_entry(img, bb);
            put32(&mut img.bytes, p + 4, 4096);
            fix_l2(img, p);
        }},
        Corruption { name: "node-bad-crc", expect: &["hammer.node_crc"], apply: |img| {
            let p = some_leaf(img) as usize;
            img.bytes[p + 24] ^= 0x40;
        }},
        Corruption { name: "node-bad-type", expect: &["hammer.node_type", "hammer.layer2_bytes_free"], apply: |img| {
            let p = some_leaf(img);
            img.bytes[p as usize + 20] = b'X';
            fix_node(img, p);
        }},
        Corruption { name: "node-bad-count", expect: &["hammer.node_count", "hammer.elm_btype", "hammer.elm_bounds", "hammer.elm_order", "hammer.data_missing"], apply: |img| {
            let p = some_leaf(img);
            put32(&mut img.bytes, p as usize + 16, 64);
            fix_node(img, p);
        }},
        Corruption { name: "node-bad-parent", expect: &["hammer.node_link"], apply: |img| {
            let p = some_leaf(img);
            put64(&mut img.bytes, p as usize + 8, 0x8000_0000_0000_1000);
            fix_node(img, p);
        }},
        Corruption { name: "elm-out-of-bounds", expect: &["hammer.elm_bounds"], apply: |img| {
            let p = some_leaf(img);
            let n = get32(&img.bytes, p as usize + 16) as usize;
            // The last element moves past everything: beyond its leaf's right bound.
            let e = p as usize + 64 + (n - 1) * 64;
            put32(&mut img.bytes, e + 36, 0xFFFF_0002);
            fix_node(img, p);
        }},
        Corruption { name: "elm-out-of-order", expect: &["hammer.elm_order"], apply: |img| {
            // Two neighbouring DATA records of one file swap their places (and keys stay valid).
            let i = (0..img.layout.recs.len() - 1)
                .find(|&i| {
                    let (a, b) = (&img.layout.records[i], &img.layout.records[i + 1]);
                    let (r, s) = (&img.layout.recs[i], &img.layout.recs[i + 1]);
                    a.0 == b.0 && a.1 > 0 && r.rec_type == 0x10 && s.rec_type == 0x10 && r.obj_id == s.obj_id
                })
                .expect("two DATA records side by side");
            let (node, e) = elm(img, i);
            let tmp: Vec<u8> = img.bytes[e..e + 64].to_vec();
            img.bytes.copy_within(e + 64..e + 128, e);
            img.bytes[e + 64..e + 128].copy_from_slice(&tmp);
            fix_node(img, node);
        }},
        Corruption { name: "elm-bad-btype", expect: &["hammer.elm_btype"], apply: |img| {
            let p = some_leaf(img);
            img.bytes[p as usize + 64 + 35] = b'X';
            fix_node(img, p);
        }},
        Corruption { name: "node-mirror-tid-low", expect: &["hammer.mirror_tid"], apply: |img| {
            let p = some_leaf(img);
            put64(&mut img.bytes, p as usize + 56, 1);
            fix_node(img, p);
        }},
        Corruption { name: "next-tid-behind", expect: &["hammer.tid_future"], apply: |img| {
            put64(&mut img.bytes, 248, 0x1_0000_0000);
        }},
        Corruption { name: "dangling-volume", expect: &["hammer.dangling_volume", "hammer.layer2_bytes_free"], apply: |img| {
            let i = rec(img, 0x15, |_| true);
            let (node, e) = elm(img, i);
            let v = get64(&img.bytes, e + 48) | (5 << 52);
            put64(&mut img.bytes, e + 48, v);
            fix_node(img, node);
        }},
        Corruption { name: "data-offset-outside", expect: &["hammer.bad_offset", "hammer.layer2_bytes_free"], apply: |img| {
            let i = rec(img, 0x15, |_| true);
            let (node, e) = elm(img, i);
            put64(&mut img.bytes, e + 48, 0x9000_00ff_0000_0000);
            fix_node(img, node);
        }},
        Corruption { name: "leaf-bad-datacrc", expect: &["hammer.data_crc"], apply: |img| {
            let i = rec(img, 0x11, |_| true);
            let (_, _, data) = img.layout.records[i];
            // reserved01 of the entry: covered by data_crc, not by the namekey.
            img.bytes[data as usize + 12] ^= 0x20;
        }},
        Corruption { name: "data-len-zero", expect: &["hammer.data_missing", "hammer.layer2_bytes_free"], apply: |img| {
            let i = rec(img, 0x10, |r| r.data_len == 16384 && r.delete_tid == 0);
            let (node, e) = elm(img, i);
            put32(&mut img.bytes, e + 56, 0);
            fix_node(img, node);
        }},
        Corruption { name: "data-wrong-zone", expect: &["hammer.data_zone", "hammer.layer2_zone"], apply: |img| {
            let i = rec(img, 0x01, |r| r.delete_tid == 0 && r.obj_id > 1);
            let (node, e) = elm(img, i);
            let v = (get64(&img.bytes, e + 48) & !(0xF << 60)) | (10 << 60);
            put64(&mut img.bytes, e + 48, v);
            fix_node(img, node);
        }},
        Corruption { name: "inode-bad-len", expect: &["hammer.data_len", "hammer.layer2_bytes_free"], apply: |img| {
            let i = rec(img, 0x01, |r| r.delete_tid == 0 && r.obj_id > 1);
            let (node, e) = elm(img, i);
            put32(&mut img.bytes, e + 56, 112);
            fix_node(img, node);
        }},
        Corruption { name: "dirent-bad-namekey", expect: &["hammer.dirent_namekey"], apply: |img| {
            // A directory entry in the middle of a leaf, so the new key stays inside its bounds.
            let i = (0..img.layout.recs.len())
                .find(|&i| {
                    let (node, idx, _) = img.layout.records[i];
                    let r = &img.layout.recs[i];
                    let next_same = img.layout.records.get(i + 1).is_some_and(|n| n.0 == node) && idx > 0;
                    r.rec_type == 0x11 && next_same && img.layout.recs[i + 1].rec_type == 0x11 && img.layout.recs[i + 1].obj_id == r.obj_id
                        && img.layout.recs[i + 1].key > r.key + 2
                })
                .expect("two directory entries side by side");
            let (node, e) = elm(img, i);
            let v = get64(&img.bytes, e + 8) + 1 + (1 << 16);
            let next = img.layout.recs[i + 1].key as u64;
            put64(&mut img.bytes, e + 8, v.min(next - 1));
            fix_node(img, node);
        }},
        Corruption { name: "undo-bad-signature", expect: &["hammer.undo_head"], apply: |img| {
            let p = (img.layout.undo + 4096) as usize;
            img.bytes[p] ^= 0xFF;
        }},
        Corruption { name: "undo-bad-crc", expect: &["hammer.undo_crc"], apply: |img| {
            let p = (img.layout.undo + 8192) as usize;
            img.bytes[p + 100] ^= 0xFF;
        }},
        Corruption { name: "dirty-undo", expect: &["hammer.undo_recovery_needed"], apply: |img| {
            // One valid UNDO record at first_offset continuing the sequence: it restores 64 bytes
            // of the meta big-block to what they already are, so recovery changes nothing.
            let target = img.layout.meta_bigblock * BIGBLOCK;
            let tphys = (img.layout.buf_beg + target) as usize;
            let old: Vec<u8> = img.bytes[tphys..tphys + 64].to_vec();
            write_undo(img, (2u64 << 60) | target, &old);
        }},
        Corruption { name: "dirty-undo-repairs-freemap", expect: &["hammer.undo_recovery_needed"], apply: |img| {
            // A crash between the freemap write and the UNDO flush: the layer2 entry on disk is
            // wrong, the FIFO holds its old (right) bytes. Replay must make the BM go away.
            let p = meta_l2(img);
            let old: Vec<u8> = img.bytes[p..p + 16].to_vec();
            let v = get32(&img.bytes, p + 8) - 4096;
            put32(&mut img.bytes, p + 8, v);
            fix_l2(img, p);
            let zone2 = (2u64 << 60) | (p as u64 - img.layout.buf_beg);
            write_undo(img, zone2, &old);
        }},
        Corruption { name: "undo-array-unavail", expect: &["hammer.undo_blockmap", "hammer.layer2_zone"], apply: |img| {
            put64(&mut img.bytes, 904, u64::MAX);
        }},
        Corruption { name: "vol-version", expect: &["hammer.vol_version"], apply: |img| {
            put32(&mut img.bytes, 152, 9);
        }},
        Corruption { name: "vol-buf-end", expect: &["hammer.vol_layout"], apply: |img| {
            let v = img.bytes.len() as u64 * 2;
            put64(&mut img.bytes, 32, v);
        }},
        Corruption { name: "vol-rootvol", expect: &["hammer.vol_set"], apply: |img| {
            put32(&mut img.bytes, 164, 1);
        }},
        Corruption { name: "vol-count", expect: &["hammer.vol_missing"], apply: |img| {
            put32(&mut img.bytes, 148, 2);
        }},
        Corruption { name: "vol-crc-stale", expect: &["hammer.vol_crc"], apply: |img| {
            put32(&mut img.bytes, 156, 0x1234_5678);
        }},
        Corruption { name: "blockmap-crc-stale", expect: &["hammer.blockmap_crc"], apply: |img| {
            img.bytes[264 + 8 * 40 + 36] ^= 1;
        }},
        Corruption { name: "layer1-no-layer2", expect: &["hammer.layer1_entry", "hammer.layer2_zone", "hammer.stat_freebigblocks"], apply: |img| {
            let p = img.layout.layer1 as usize;
            put64(&mut img.bytes, p + 8, u64::MAX);
            fix_l1(img, p);
        }},
    ]
}
