//! HAMMER (DragonFly BSD): volumes, zone offsets, freemap, B-Tree, UNDO/REDO FIFO, checks.

pub mod btree;
pub mod check;
pub mod cmd;
pub mod crc;
pub mod fs;
pub mod records;
pub mod undo;

pub use check::KINDS;
