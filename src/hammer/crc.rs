//! HAMMER's two CRCs and the version rule that picks between them.
//!
//! Versions 1-6 use CRC-32 (zlib's); version 7 writes CRC-32C but must still accept CRC-32,
//! because upgraded volumes keep their old CRCs (`hammer_crc_test_*`).

/// Which CRC algorithm matched a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrcAlg {
    /// CRC-32C (`iscsi_crc32`), what version 7 writes: `hammer show`'s `icrc`.
    Crc32c,
    /// CRC-32 (`crc32`), versions 1-6 and upgraded v7 structures: `hammer show`'s `ocrc`.
    Crc32,
}

impl CrcAlg {
    /// Name used in output.
    pub fn name(self) -> &'static str {
        match self {
            CrcAlg::Crc32c => "crc32c",
            CrcAlg::Crc32 => "crc32",
        }
    }

    /// The CRC of `b` with this algorithm.
    pub fn crc(self, b: &[u8]) -> u32 {
        match self {
            CrcAlg::Crc32c => crc32c::crc32c(b),
            CrcAlg::Crc32 => crc32fast::hash(b),
        }
    }
}

/// The algorithm `hammer_datacrc(version)` writes.
pub fn write_alg(version: u32) -> CrcAlg {
    if version >= 7 {
        CrcAlg::Crc32c
    } else {
        CrcAlg::Crc32
    }
}

/// The algorithms a reader accepts, in the order tried.
pub fn accepted(version: u32) -> &'static [CrcAlg] {
    if version >= 7 {
        &[CrcAlg::Crc32c, CrcAlg::Crc32]
    } else {
        &[CrcAlg::Crc32]
    }
}

/// Which accepted algorithm, if any, yields `stored` when `compute` runs with it.
pub fn matches(version: u32, stored: u32, compute: impl Fn(CrcAlg) -> u32) -> Option<CrcAlg> {
    accepted(version).iter().copied().find(|&a| compute(a) == stored)
}

/// `crc(a) ^ crc(b)`: the two-part CRC of the volume header and FIFO records, where the stored CRC
/// field itself is skipped by computing two independent CRCs.
pub fn split(alg: CrcAlg, a: &[u8], b: &[u8]) -> u32 {
    alg.crc(a) ^ alg.crc(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_from_formats_doc() {
        assert_eq!(CrcAlg::Crc32.crc(b"123456789"), 0xcbf43926);
        assert_eq!(CrcAlg::Crc32c.crc(b"123456789"), 0xe3069283);
        let mut l2 = [0u8; 12];
        l2[8..12].copy_from_slice(&0x80_0000u32.to_le_bytes());
        assert_eq!(CrcAlg::Crc32c.crc(&l2), 0xd0a34fa4);
        assert_eq!(CrcAlg::Crc32.crc(&l2), 0x40565e24);
        let mut l1 = [0u8; 28];
        l1[8..16].fill(0xff);
        assert_eq!(CrcAlg::Crc32c.crc(&l1), 0x097c0bbd);
        assert_eq!(CrcAlg::Crc32.crc(&l1), 0x631ea731);
    }

    #[test]
    fn v7_accepts_both_v6_only_old() {
        let b = b"abc";
        let old = CrcAlg::Crc32.crc(b);
        assert_eq!(matches(7, old, |a| a.crc(b)), Some(CrcAlg::Crc32));
        assert_eq!(matches(6, old, |a| a.crc(b)), Some(CrcAlg::Crc32));
        let new = CrcAlg::Crc32c.crc(b);
        assert_eq!(matches(6, new, |a| a.crc(b)), None);
        assert_eq!(matches(7, new, |a| a.crc(b)), Some(CrcAlg::Crc32c));
    }
}
