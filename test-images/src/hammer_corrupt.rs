//! Named corruptions of builder HAMMER images (filled in below).
