//! Test image builders, named corruptions and the case manifest for ondisk.
