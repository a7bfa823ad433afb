//! Zero-copy views of one tree block: header, leaf items, node pointers.
//!
//! Every count and offset in a block is untrusted: the views clamp `nritems` to what fits in
//! the block and hand out item data only when it lies inside it, reporting the rest.

use ondisk_layouts::btrfs::tree::HEADER_SIZE;
use ondisk_layouts::btrfs::{DiskKey, Header, Item, KeyPtr};
use std::borrow::Cow;
use zerocopy::FromBytes;

/// One tree block as read (borrowed from the image's mapping where possible).
#[derive(Clone)]
pub struct Node<'a> {
    bytes: Cow<'a, [u8]>,
}

/// Where a leaf item's data lies, or why it cannot be had.
pub type ItemData<'b> = Result<&'b [u8], ItemDataError>;

/// An item whose offset/size point outside the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemDataError {
    pub offset: u32,
    pub size: u32,
}

impl<'a> Node<'a> {
    /// Wraps block bytes; `None` if they cannot even hold a header.
    pub fn new(bytes: Cow<'a, [u8]>) -> Option<Self> {
        (bytes.len() >= HEADER_SIZE).then_some(Node { bytes })
    }

    /// The raw block.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The header.
    pub fn header(&self) -> &Header {
        Header::ref_from_prefix(&self.bytes).expect("length checked in new").0
    }

    pub fn level(&self) -> u8 {
        self.header().level
    }

    pub fn is_leaf(&self) -> bool {
        self.level() == 0
    }

    /// `nritems` as stored.
    pub fn nritems(&self) -> u32 {
        self.header().nritems.get()
    }

    fn slot_size(&self) -> usize {
        if self.is_leaf() {
            core::mem::size_of::<Item>()
        } else {
            core::mem::size_of::<KeyPtr>()
        }
    }

    /// How many slots fit in the block after the header.
    pub fn max_slots(&self) -> usize {
        (self.bytes.len() - HEADER_SIZE) / self.slot_size()
    }

    /// The number of slots we can read: `nritems` clamped to what fits.
    pub fn slots(&self) -> usize {
        (self.nritems() as usize).min(self.max_slots())
    }

    /// Leaf items (empty for an internal node).
    pub fn items(&self) -> &[Item] {
        if !self.is_leaf() {
            return &[];
        }
        let end = HEADER_SIZE + self.slots() * core::mem::size_of::<Item>();
        <[Item]>::ref_from_bytes(&self.bytes[HEADER_SIZE..end]).expect("Item is unaligned and sized")
    }

    /// Node pointers (empty for a leaf).
    pub fn ptrs(&self) -> &[KeyPtr] {
        if self.is_leaf() {
            return &[];
        }
        let end = HEADER_SIZE + self.slots() * core::mem::size_of::<KeyPtr>();
        <[KeyPtr]>::ref_from_bytes(&self.bytes[HEADER_SIZE..end]).expect("KeyPtr is unaligned and sized")
    }

    /// The data of a leaf item, if it lies inside the block.
    pub fn item_data(&self, item: &Item) -> ItemData<'_> {
        let (off, size) = (item.offset.get(), item.size.get());
        let start = HEADER_SIZE as u64 + u64::from(off);
        let end = start + u64::from(size);
        if end > self.bytes.len() as u64 {
            return Err(ItemDataError { offset: off, size });
        }
        Ok(&self.bytes[start as usize..end as usize])
    }

    /// The first key of the block (for parent/child agreement).
    pub fn first_key(&self) -> Option<&DiskKey> {
        if self.is_leaf() {
            self.items().first().map(|i| &i.key)
        } else {
            self.ptrs().first().map(|p| &p.key)
        }
    }

    /// Free space as btrfs-progs computes it: for a leaf, the gap between the item array and
    /// the lowest item data; for a node, the number of unused pointer slots.
    pub fn free_space(&self) -> i64 {
        let data_size = (self.bytes.len() - HEADER_SIZE) as i64;
        if self.is_leaf() {
            // btrfs_leaf_free_space / leaf_space_used, over the slots we can read.
            let items = self.items();
            let used = match (items.first(), items.last()) {
                (Some(first), Some(last)) => {
                    i64::from(first.offset.get()) + i64::from(first.size.get()) - i64::from(last.offset.get())
                        + std::mem::size_of_val(items) as i64
                }
                _ => 0,
            };
            data_size - used
        } else {
            // BTRFS_NODEPTRS_PER_BLOCK - nritems: btrfs-progs counts free pointer slots here.
            self.max_slots() as i64 - self.nritems() as i64
        }
    }
}
