//! Field tables: the xfs_db-style description of a structure that generic printers walk.

/// How a field's bytes are best shown to a person.
#[derive(Debug, Clone, Copy)]
pub enum Render {
    /// Unsigned little-endian integer, decimal.
    Dec,
    /// Signed little-endian integer, decimal.
    SignedDec,
    /// Unsigned little-endian integer, hexadecimal (flags, masks, magics).
    Hex,
    /// 16-byte UUID in the RFC 4122 byte order (as btrfs stores it).
    Uuid,
    /// 16-byte UUID in DCE (little-endian first three groups) layout, as HAMMER stores it.
    UuidLe,
    /// NUL-padded text.
    Text,
    /// Raw bytes, shown as hex.
    Bytes,
    /// An embedded structure with its own table.
    Struct(&'static [Field]),
    /// An array of embedded structures of the given element size.
    Array(&'static [Field], usize),
}

/// One field of an on-disk structure.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The field's on-disk name, as the filesystem's own header spells it.
    pub name: &'static str,
    /// Byte offset from the start of the structure.
    pub offset: usize,
    /// Width in bytes.
    pub size: usize,
    /// How to render it.
    pub render: Render,
}

/// A structure with a field table.
pub trait Layout {
    /// The structure's on-disk name.
    const NAME: &'static str;
    /// Its fields, in on-disk order.
    const FIELDS: &'static [Field];
}

/// Declares a `#[repr(C)]` zerocopy structure and its [`Layout`] field table in one place.
///
/// ```ignore
/// layout! {
///     /// `struct btrfs_disk_key`
///     pub struct DiskKey = "btrfs_disk_key" {
///         objectid: U64 => Dec,
///         type_: u8 as "type" => Dec,
///         offset: U64 => Dec,
///     }
/// }
/// ```
/// Each field carries the [`Render`] to use; `as "name"` overrides the on-disk name where the Rust
/// identifier cannot be the same (`type`).
#[macro_export]
macro_rules! layout {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $disk:literal {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty $(as $rename:literal)? => $render:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(
            Clone, Copy, Debug,
            zerocopy::FromBytes, zerocopy::KnownLayout, zerocopy::Immutable, zerocopy::Unaligned,
        )]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::Layout for $name {
            const NAME: &'static str = $disk;
            const FIELDS: &'static [$crate::Field] = &[
                $( $crate::Field {
                    name: $crate::layout!(@name $field $($rename)?),
                    offset: core::mem::offset_of!($name, $field),
                    size: core::mem::size_of::<$ty>(),
                    render: { #[allow(unused_imports)] use $crate::Render::*; $render },
                }, )*
            ];
        }
    };
    (@name $field:ident $rename:literal) => { $rename };
    (@name $field:ident) => { stringify!($field) };
}

/// Pins a structure's size to the one in the filesystem's own header, at compile time.
#[macro_export]
macro_rules! assert_size {
    ($ty:ty, $size:expr) => {
        const _: () = assert!(core::mem::size_of::<$ty>() == $size);
    };
}
