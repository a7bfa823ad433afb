//! Test image builders, named corruptions and the case manifest for ondisk.

pub mod hammer;
pub mod hammer_corrupt;
