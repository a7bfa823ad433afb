//! The UNDO/REDO FIFO (zone 3): record head, tail and bodies.

use crate::le::{I64, U16, U32, U64};
use crate::{assert_size, layout};

layout! {
    /// `struct hammer_fifo_head`: 16 bytes at the start of every FIFO record.
    pub struct FifoHead = "hammer_fifo_head" {
        /// `HAMMER_HEAD_SIGNATURE` 0xC84E.
        hdr_signature: U16 => Hex,
        hdr_type: U16 => Hex,
        /// Whole record, tail included.
        hdr_size: U32 => Dec,
        /// Sequence number (v4+).
        hdr_seq: U32 => Hex,
        /// crc(rec[0..12]) ^ crc(rec[16..hdr_size]).
        hdr_crc: U32 => Hex,
    }
}
assert_size!(FifoHead, 16);

layout! {
    /// `struct hammer_fifo_tail`: the last 8 bytes of a record.
    pub struct FifoTail = "hammer_fifo_tail" {
        tail_signature: U16 => Hex,
        tail_type: U16 => Hex,
        tail_size: U32 => Dec,
    }
}
assert_size!(FifoTail, 8);

layout! {
    /// The body of `struct hammer_fifo_undo` after the head; the old data follows.
    pub struct UndoBody = "hammer_fifo_undo" {
        /// Zone 1 or 2 offset to restore.
        undo_offset: U64 => Hex,
        undo_data_bytes: U32 => Dec,
        undo_reserved01: U32 => Hex,
    }
}
assert_size!(UndoBody, 16);

layout! {
    /// The body of `struct hammer_fifo_redo` after the head; the data follows.
    pub struct RedoBody = "hammer_fifo_redo" {
        redo_objid: I64 => Hex,
        redo_offset: U64 => Hex,
        redo_data_bytes: U32 => Dec,
        /// WRITE 1, TRUNC 2, TERM_WRITE 4, TERM_TRUNC 8, SYNC 0x10.
        redo_flags: U32 => Hex,
        redo_localization: U32 => Hex,
        redo_reserved01: U32 => Hex,
        redo_reserved02: U64 => Hex,
    }
}
assert_size!(RedoBody, 40);
