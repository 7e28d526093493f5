//! Stable handles on the destinations of a service.
//!
//! The list position of a destination moves whenever another one is added
//! (new ones go to the head) or removed before it. A [`DestId`] does not:
//! [`Service::add`](crate::Service::add) returns one, and it names that
//! destination until it is removed. After the removal the id is refused
//! ([`Error::StaleId`]), even when a destination with the same address
//! comes back: that one gets a new id.

use alloc::vec::Vec;
use core::fmt;

use crate::error::Error;

/// A stable handle on one destination of a [`Service`](crate::Service),
/// returned by [`Service::add`](crate::Service::add) (and listed by
/// [`Service::ids`](crate::Service::ids)).
///
/// It names the same destination, whatever is added or removed around it,
/// until that destination is removed; then every operation given it fails
/// with [`Error::StaleId`]. An id carries a generation, so a slot reused by
/// a later destination does not make an old id name the newcomer. Ids are
/// per service: one service's id means nothing to another.
///
/// ```
/// use sched::{Destination, Error, Scheduler, Service};
///
/// let mut svc = Service::new(Scheduler::Wlc);
/// let a = svc.add(Destination::new(1))?;
/// let b = svc.add(Destination::new(2))?; // the new head: `a` moves to index 1
/// assert_eq!(svc.position(a)?, 1);
/// svc.connect(a)?; // still `a`
/// assert_eq!(svc.destination(a)?.active(), 1);
/// svc.remove(b)?;
/// assert_eq!(svc.position(a)?, 0);
/// assert_eq!(svc.connect(b), Err(Error::StaleId { id: b }));
/// # Ok::<(), sched::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestId {
    slot: u32,
    generation: u32,
}

impl DestId {
    /// Its slot in the id table.
    pub(crate) fn slot(self) -> u32 {
        self.slot
    }
}

impl fmt::Display for DestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.slot, self.generation)
    }
}

/// A destination named by its list position (`usize`, index 0 = head) or
/// by its [`DestId`]: what every [`Service`](crate::Service) operation on
/// one destination takes (`svc.connect(0)` and `svc.connect(id)` both work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DestRef {
    /// The destination at this list position now.
    Index(usize),
    /// The destination this id was handed out for.
    Id(DestId),
}

impl From<usize> for DestRef {
    fn from(index: usize) -> Self {
        DestRef::Index(index)
    }
}

impl From<DestId> for DestRef {
    fn from(id: DestId) -> Self {
        DestRef::Id(id)
    }
}

/// A slot that holds no destination.
const FREE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Slot {
    generation: u32,
    /// The destination's position in the service's list storage
    /// (`crate::list::List`), which adds and removals of others leave
    /// alone; `FREE` when the slot is empty.
    pos: u32,
}

/// The id table of one service: id -> position in the list storage. The
/// storage keeps the id slot of each position, for position -> id.
///
/// Handing out an id, resolving one and retiring one cost O(1).
#[derive(Debug, Clone, Default)]
pub(crate) struct Ids {
    slots: Vec<Slot>,
    /// Empty slots, reused last in first out.
    free: Vec<u32>,
}

impl Ids {
    /// A new id for the destination at `pos`.
    pub(crate) fn alloc(&mut self, pos: usize, len: usize) -> Result<DestId, Error> {
        let too_many = Error::TooManyDestinations { len: len + 1 };
        let pos = u32::try_from(pos)
            .ok()
            .filter(|&p| p != FREE)
            .ok_or(too_many)?;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&s| s != FREE)
                    .ok_or(too_many)?;
                self.slots.push(Slot {
                    generation: 0,
                    pos: FREE,
                });
                s
            }
        };
        let entry = &mut self.slots[slot as usize];
        entry.pos = pos;
        Ok(DestId {
            slot,
            generation: entry.generation,
        })
    }

    /// The id handed out for `slot` (live).
    pub(crate) fn id(&self, slot: u32) -> Option<DestId> {
        self.slots.get(slot as usize).map(|s| DestId {
            slot,
            generation: s.generation,
        })
    }

    /// The id handed out for `slot`, as [`Ids::id`] (a slot outside the
    /// table gives an id that every lookup refuses).
    pub(crate) fn id_of(&self, slot: u32) -> DestId {
        DestId {
            slot,
            generation: self.slots.get(slot as usize).map_or(0, |s| s.generation),
        }
    }

    /// The destination of `slot` moved to `pos` (a re-layout).
    pub(crate) fn moved(&mut self, slot: u32, pos: u32) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            s.pos = pos;
        }
    }

    /// The destination of `slot` left the list: its id is refused from
    /// now on.
    pub(crate) fn retire(&mut self, slot: u32) {
        let Some(entry) = self.slots.get_mut(slot as usize) else {
            return;
        };
        entry.pos = FREE;
        // A slot whose generations are used up is retired, never reused,
        // so that no old id can name a newcomer.
        if let Some(next) = entry.generation.checked_add(1) {
            entry.generation = next;
            self.free.push(slot);
        }
    }

    /// The position of the destination `id` names now.
    #[inline]
    pub(crate) fn resolve(&self, id: DestId) -> Result<usize, Error> {
        match self.slots.get(id.slot as usize) {
            Some(s) if s.generation == id.generation && s.pos != FREE => Ok(s.pos as usize),
            _ => Err(Error::StaleId { id }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_out_of_generations_is_retired_not_reused() {
        let mut ids = Ids::default();
        let a = ids.alloc(7, 0).unwrap();
        ids.slots[a.slot as usize].generation = u32::MAX;
        let old = DestId {
            slot: a.slot,
            generation: u32::MAX,
        };
        ids.retire(a.slot);
        assert!(ids.free.is_empty());
        let b = ids.alloc(7, 0).unwrap();
        assert_ne!(b.slot, old.slot);
        assert_eq!(ids.resolve(old), Err(Error::StaleId { id: old }));
        assert_eq!(ids.resolve(b), Ok(7));
    }

    #[test]
    fn a_retired_slot_comes_back_with_a_new_generation() {
        let mut ids = Ids::default();
        let a = ids.alloc(3, 0).unwrap();
        ids.retire(a.slot);
        let b = ids.alloc(4, 0).unwrap();
        assert_eq!(b.slot, a.slot);
        assert_ne!(a, b);
        assert_eq!(ids.resolve(a), Err(Error::StaleId { id: a }));
        ids.moved(b.slot, 9);
        assert_eq!(ids.resolve(b), Ok(9));
        assert_eq!(ids.id(b.slot), Some(b));
    }
}
