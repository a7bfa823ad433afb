//! UUID_KEY_SUBVOL / UUID_KEY_RECEIVED_SUBVOL: the subvolume ids carrying a uuid.

use crate::record::{Record, Value};
use super::put::Out;
use std::io::{self, Write};

pub(super) struct SubvolIds<'d>(pub &'d [u8]);

impl<'d> SubvolIds<'d> {
    fn ids(&self) -> impl Iterator<Item = u64> + 'd {
        self.0.chunks_exact(8).filter_map(|c| crate::le::u64_at(c, 0))
    }

    /// `print_uuid_item`
    pub(super) fn text(&self, o: &mut Out<'_>) -> io::Result<()> {
        if self.0.len() % 8 != 0 {
            return writeln!(o, "btrfs: uuid item with illegal size {}!", self.0.len());
        }
        for id in self.ids() {
            writeln!(o, "\t\tsubvol_id {id}")?;
        }
        Ok(())
    }

    pub(super) fn fields(&self, r: &mut Record<'d>) {
        if self.0.len() % 8 != 0 {
            r.push("error", format!("uuid item with illegal size {}", self.0.len()));
            return;
        }
        r.push("subvol_ids", self.ids().map(Value::U64).collect::<Vec<_>>());
    }
}
