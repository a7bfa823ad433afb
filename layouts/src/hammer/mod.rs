//! HAMMER (DragonFly BSD) on-disk structures (`sys/vfs/hammer/hammer_disk.h`).

/// `HAMMER_FSBUF_VOLUME`: the volume header signature, "HAMMER01" read as a little-endian u64.
pub const VOL_SIGNATURE: u64 = 0xC841_4D4D_C552_3031;
/// The same signature from a volume of the other endianness (unsupported, but recognisable).
pub const VOL_SIGNATURE_REV: u64 = 0x3130_52C5_4D4D_41C8;
