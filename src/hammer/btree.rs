//! The B-Tree walk: every node reachable from `vol0_btree_root`, once, depth-limited, with the
//! linkage flags `hammer show` prints computed on the way.

use super::crc::{self, CrcAlg};
use super::fs::{zone_of, AddrError, Fs};
use ondisk_layouts::hammer::{self as h, BtreeElm, InternalElm, LeafElm, NodeHeader};
use std::cmp::Ordering;
use std::collections::HashSet;
use zerocopy::FromBytes;

/// Deepest tree we follow; real trees are a handful of levels deep.
pub const MAX_DEPTH: u32 = 64;

/// `hammer_btree_cmp`: localization, obj_id, rec_type, key, then create_tid with 0 as +infinity.
pub fn btree_cmp(a: &BtreeElm, b: &BtreeElm) -> Ordering {
    let tid = |t: u64| if t == 0 { u64::MAX } else { t };
    a.localization
        .get()
        .cmp(&b.localization.get())
        .then(a.obj_id.get().cmp(&b.obj_id.get()))
        .then(a.rec_type.get().cmp(&b.rec_type.get()))
        .then(a.key.get().cmp(&b.key.get()))
        .then(tid(a.create_tid.get()).cmp(&tid(b.create_tid.get())))
}

/// Whether an element is the left root-split boundary (`>` in `hammer show`).
pub fn is_left_boundary(e: &BtreeElm) -> bool {
    e.localization.get() == 0
        && e.obj_id.get() == i64::MIN
        && e.key.get() == i64::MIN
        && e.create_tid.get() == 1
        && e.delete_tid.get() == 1
        && e.rec_type.get() == 0
}

/// Whether an element is the right root-split boundary (`<` in `hammer show`).
pub fn is_right_boundary(e: &BtreeElm) -> bool {
    e.localization.get() == 0xFFFF_FFFF
        && e.obj_id.get() == i64::MAX
        && e.key.get() == i64::MAX
        && e.create_tid.get() == u64::MAX
        && e.delete_tid.get() == 0
        && e.rec_type.get() == 0xFFFF
}

/// Node-level flags, as `hammer show`'s first columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeFlags {
    /// `B`: the CRC matches no accepted algorithm.
    pub bad_crc: bool,
    /// `M`: mirror_tid above the parent element's.
    pub mirror: bool,
    /// `C`: count out of range (or 0 where it may not be).
    pub count: bool,
    /// `U`: type is neither 'I' nor 'L'.
    pub bad_type: bool,
}

/// Element-level flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct ElmFlags {
    /// `L`: sorts before the parent's left bound.
    pub left: bool,
    /// `R`: sorts at or after the parent's right bound.
    pub right: bool,
    /// `T`: wrong btype.
    pub btype: bool,
    /// `C`: the child's parent pointer is wrong, subtree_offset is 0, or leaf data is missing.
    pub child: bool,
    /// `M`: a mirror_tid rule is broken.
    pub mirror: bool,
}

impl ElmFlags {
    /// Any flag set.
    pub fn any(&self) -> bool {
        self.left || self.right || self.btype || self.child || self.mirror
    }
    /// The 7 flag columns `hammer show` prints.
    pub fn text(&self) -> String {
        let c = |b: bool, ch: char| if b { ch } else { '-' };
        format!(
            "{}-{}{}{}{}-",
            if self.any() { 'B' } else { 'G' },
            c(self.left, 'L'),
            c(self.right, 'R'),
            if self.child { 'C' } else { c(self.btype, 'T') },
            c(self.mirror, 'M'),
        )
    }
}

/// One node as visited.
pub struct NodeVisit<'b> {
    pub off: u64,
    pub depth: u32,
    /// Zone-8 offset of the node that points here (0 for the root).
    pub expected_parent: u64,
    pub hdr: NodeHeader,
    pub raw: &'b [u8],
    pub crc: Option<CrcAlg>,
    pub flags: NodeFlags,
    /// Elements to show: count (+1 right boundary for internal nodes), clamped to the node.
    pub shown: usize,
}

impl NodeVisit<'_> {
    /// Element `i` as raw 64 bytes.
    pub fn elm_bytes(&self, i: usize) -> &[u8] {
        let s = h::NODE_HEADER_SIZE + i * h::BTREE_ELM_SIZE;
        self.raw.get(s..s + h::BTREE_ELM_SIZE).unwrap_or(&[])
    }
    /// Whether this is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.hdr.type_ == h::BTREE_TYPE_LEAF
    }
}

/// One element as visited.
pub enum ElmVisit {
    Internal { idx: usize, rbn: bool, elm: InternalElm, flags: ElmFlags },
    Leaf { idx: usize, elm: LeafElm, flags: ElmFlags },
}

impl ElmVisit {
    /// The `hammer_base_elm` every element starts with.
    pub fn base(&self) -> &BtreeElm {
        match self {
            ElmVisit::Internal { elm, .. } => &elm.base,
            ElmVisit::Leaf { elm, .. } => &elm.base,
        }
    }
    /// The `hammer show` flags computed for it.
    pub fn flags(&self) -> ElmFlags {
        match self {
            ElmVisit::Internal { flags, .. } | ElmVisit::Leaf { flags, .. } => *flags,
        }
    }
}

/// What the walk reports.
pub trait Visitor {
    /// A node was read (its elements follow, then `node_end`).
    fn node(&mut self, n: &NodeVisit);
    /// An element of the current node.
    fn elm(&mut self, n: &NodeVisit, e: &ElmVisit);
    /// The node's elements are done; its children follow.
    fn node_end(&mut self, _n: &NodeVisit) {}
    /// A node pointer that cannot be followed: unreadable, not zone 8, seen before, too deep.
    fn bad_link(&mut self, from: u64, idx: usize, target: u64, why: LinkError);
}

/// Why a node pointer was not followed.
#[derive(Debug, Clone)]
pub enum LinkError {
    Addr(AddrError),
    NotBtreeZone,
    Cycle,
    TooDeep,
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Addr(e) => write!(f, "{e}"),
            LinkError::NotBtreeZone => write!(f, "not a zone-8 (B-Tree) offset"),
            LinkError::Cycle => write!(f, "node already visited (cycle or shared child)"),
            LinkError::TooDeep => write!(f, "deeper than {MAX_DEPTH} levels"),
        }
    }
}

/// Reads a node header and flags from raw bytes.
fn node_header(raw: &[u8]) -> Option<NodeHeader> {
    NodeHeader::read_from_bytes(raw.get(..h::NODE_HEADER_SIZE)?).ok()
}

/// Walks the tree from `vol0_btree_root`.
pub fn walk(fs: &Fs, v: &mut dyn Visitor) {
    let root = fs.root.vol0_btree_root.get();
    let mut seen = HashSet::new();
    let mut w = Walker { fs, v, seen: &mut seen, follow: true };
    w.node(root, 0, 0, u64::MAX, None, None, 0, None);
}

/// Visits the node at `off` (and, with `follow`, everything below it). Its parent pointer is
/// taken as given, and it has no bounds to be checked against.
pub fn walk_from(fs: &Fs, off: u64, follow: bool, v: &mut dyn Visitor) {
    let parent = fs.read(off, h::NODE_HEADER_SIZE).ok().and_then(|b| node_header(&b)).map_or(0, |n| n.parent.get());
    let mut seen = HashSet::new();
    let mut w = Walker { fs, v, seen: &mut seen, follow };
    w.node(off, 0, parent, u64::MAX, None, None, 0, None);
}

struct Walker<'f, 'a, 'v> {
    fs: &'f Fs<'a>,
    v: &'v mut dyn Visitor,
    seen: &'v mut HashSet<u64>,
    follow: bool,
}

impl Walker<'_, '_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        off: u64,
        depth: u32,
        parent: u64,
        parent_mirror: u64,
        left: Option<BtreeElm>,
        right: Option<BtreeElm>,
        parent_count: i32,
        from: Option<(u64, usize)>,
    ) {
        let (from_off, from_idx) = from.unwrap_or((0, 0));
        if zone_of(off) != h::ZONE_BTREE {
            return self.v.bad_link(from_off, from_idx, off, LinkError::NotBtreeZone);
        }
        if depth >= MAX_DEPTH {
            return self.v.bad_link(from_off, from_idx, off, LinkError::TooDeep);
        }
        if !self.seen.insert(off) {
            return self.v.bad_link(from_off, from_idx, off, LinkError::Cycle);
        }
        let raw = match self.fs.read(off, h::NODE_BYTES) {
            Ok(r) => r,
            Err(e) => return self.v.bad_link(from_off, from_idx, off, LinkError::Addr(e)),
        };
        let Some(hdr) = node_header(&raw) else { return };
        let version = self.fs.version;
        let crc = crc::matches(version, hdr.crc.get(), |a| a.crc(&raw[4..]));
        let count = hdr.count.get();
        let is_int = hdr.type_ == h::BTREE_TYPE_INTERNAL;
        let is_leaf = hdr.type_ == h::BTREE_TYPE_LEAF;
        let max = if is_int { h::BTREE_INT_ELMS } else { h::BTREE_LEAF_ELMS } as i32;
        let flags = NodeFlags {
            bad_crc: crc.is_none(),
            // Above the parent element's mirror_tid; or a leaf without one, which only the lone
            // root leaf newfs writes (parent 0, count 2) may be.
            mirror: (parent != 0 && hdr.mirror_tid.get() > parent_mirror)
                || (is_leaf && hdr.mirror_tid.get() == 0 && !(parent == 0 && count <= 2)),
            count: count < 0 || count > max || (count == 0 && parent != 0 && parent_count != 1),
            bad_type: !is_int && !is_leaf,
        };
        let n = count.clamp(0, max) as usize;
        let shown = if flags.bad_type { 0 } else if is_int { n + 1 } else { n };
        let visit = NodeVisit { off, depth, expected_parent: parent, hdr, raw: &raw, crc, flags, shown };
        self.v.node(&visit);
        let node_mirror = hdr.mirror_tid.get();
        let mut children = Vec::new();
        for i in 0..shown {
            let b = visit.elm_bytes(i);
            let rbn = is_int && i == n;
            if is_int {
                let Ok(elm) = InternalElm::read_from_bytes(b) else { continue };
                let mut f = ElmFlags::default();
                if !rbn {
                    if elm.base.btype != h::BTREE_TYPE_INTERNAL && elm.base.btype != h::BTREE_TYPE_LEAF {
                        f.btype = true;
                    }
                    let sub = elm.subtree_offset.get();
                    if sub == 0 {
                        f.child = true;
                    } else if let Ok(c) = self.fs.read(sub, h::NODE_HEADER_SIZE) {
                        if node_header(&c).is_some_and(|ch| ch.parent.get() != off) {
                            f.child = true;
                        }
                    }
                    if node_mirror != 0 && elm.mirror_tid.get() > node_mirror {
                        f.mirror = true;
                    }
                    children.push((i, sub, elm.mirror_tid.get()));
                }
                if let Some(l) = &left {
                    f.left = btree_cmp(&elm.base, l) == Ordering::Less;
                }
                if let Some(r) = &right {
                    f.right = btree_cmp(&elm.base, r) == Ordering::Greater;
                }
                self.v.elm(&visit, &ElmVisit::Internal { idx: i, rbn, elm, flags: f });
            } else {
                let Ok(elm) = LeafElm::read_from_bytes(b) else { continue };
                let mut f = ElmFlags {
                    btype: elm.base.btype != h::BTREE_TYPE_RECORD,
                    child: elm.data_offset.get() == 0 || elm.data_len.get() == 0,
                    ..Default::default()
                };
                // A mirror_tid of 0 predates mirroring (and is what newfs writes): no rule then.
                if node_mirror != 0 && (elm.base.create_tid.get() > node_mirror || elm.base.delete_tid.get() > node_mirror) {
                    f.mirror = true;
                }
                if let Some(l) = &left {
                    f.left = btree_cmp(&elm.base, l) == Ordering::Less;
                }
                if let Some(r) = &right {
                    f.right = btree_cmp(&elm.base, r) != Ordering::Less;
                }
                self.v.elm(&visit, &ElmVisit::Leaf { idx: i, elm, flags: f });
            }
        }
        self.v.node_end(&visit);
        let elms: Vec<Option<BtreeElm>> =
            (0..shown).map(|i| BtreeElm::read_from_bytes(visit.elm_bytes(i).get(..40).unwrap_or(&[])).ok()).collect();
        for (i, sub, mirror) in children {
            if sub == 0 || !self.follow {
                continue;
            }
            let l = elms.get(i).copied().flatten();
            let r = elms.get(i + 1).copied().flatten();
            self.node(sub, depth + 1, off, mirror, l, r, count, Some((off, i)));
        }
    }
}
