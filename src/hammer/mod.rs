//! HAMMER (DragonFly BSD): volumes, zone offsets, freemap, B-Tree, UNDO/REDO FIFO, checks.

pub mod check;
pub mod cmd;

/// Every HAMMER finding kind.
pub static KINDS: &[&crate::findings::Kind] = &[];
