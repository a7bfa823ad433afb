//! The hasher of the check's per-subvolume maps (inode numbers, name keys): cheaper than
//! SipHash, and still safe against a hostile image.
//!
//! A plain multiply hasher (FxHash) is fast but lets an image choose its keys to collide:
//! inode numbers `base + j * 2^24` all land in one bucket run, and a subvolume of half a
//! million such inodes turns every insert into a scan of all the others — a check that never
//! ends. Here every word is mixed by a folded 64×64→128-bit multiply with keys drawn at random
//! per process, so which keys collide cannot be known in advance, as with SipHash's
//! `RandomState`, at the cost of one wide multiply per word.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// The product's high half folded into its low half: every input bit reaches the low bits the
/// table picks buckets by.
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Random keys, drawn once per process from the standard library's own random source.
fn keys() -> (u64, u64) {
    static KEYS: OnceLock<(u64, u64)> = OnceLock::new();
    *KEYS.get_or_init(|| {
        let draw = |salt: u64| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(salt);
            h.finish()
        };
        // The multiplier must be odd, or it would drop the low bit of every product.
        (draw(1), draw(2) | 1)
    })
}

/// Builds [`FastHasher`]s with the process's keys.
#[derive(Clone, Copy)]
pub struct FastState {
    seed: u64,
    mul: u64,
}

impl Default for FastState {
    fn default() -> Self {
        let (seed, mul) = keys();
        FastState { seed, mul }
    }
}

impl BuildHasher for FastState {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher { acc: self.seed, mul: self.mul }
    }
}

pub struct FastHasher {
    acc: u64,
    mul: u64,
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        fold_mul(self.acc, self.mul)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.acc = fold_mul(self.acc ^ i, self.mul);
    }
}

pub type FastMap<K, V> = HashMap<K, V, FastState>;
pub type FastSet<K> = HashSet<K, FastState>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys chosen to collide under a plain multiply hasher (same low 24 bits, so the same low
    /// bits after any odd multiplier) spread over the buckets here.
    #[test]
    fn chosen_keys_spread() {
        let state = FastState::default();
        let buckets: HashSet<u64> = (0..4096u64).map(|j| state.hash_one(257 + (j << 24)) & 0xffff).collect();
        // 4096 keys into 65536 buckets at random leave about 3970 distinct ones; a multiply
        // hasher leaves 1.
        assert!(buckets.len() > 3800, "{} distinct buckets", buckets.len());
        let plain: HashSet<u64> = (0..4096u64).map(|j| (257 + (j << 24)).wrapping_mul(0x517c_c1b7_2722_0a95) & 0xffff).collect();
        assert_eq!(plain.len(), 1);
    }

    #[test]
    fn same_key_same_hash() {
        let state = FastState::default();
        assert_eq!(state.hash_one((5u64, 7u64, true)), state.hash_one((5u64, 7u64, true)));
        assert_ne!(state.hash_one(5u64), state.hash_one(6u64));
    }
}
