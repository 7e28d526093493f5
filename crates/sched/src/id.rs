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
    /// The destination's position counted from the tail of the list
    /// (`len - 1 - index`), which an add at the head leaves alone; `FREE`
    /// when the slot is empty.
    from_tail: u32,
}

/// The id table of one service: list position -> id, id -> position.
///
/// Adding at the head costs O(1) here (amortized: a push; positions counted
/// from the tail do not move); removing the destination at index `i`
/// renumbers the `i` destinations before it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ids {
    /// The ids from the tail of the list to its head (so an add is a push).
    by_tail: Vec<DestId>,
    slots: Vec<Slot>,
    /// Empty slots, reused last in first out.
    free: Vec<u32>,
}

impl Ids {
    /// Ids for a list of `len` destinations, in list order.
    pub(crate) fn for_list(len: usize) -> Result<Self, Error> {
        let mut ids = Ids::default();
        for _ in 0..len {
            ids.push_head()?;
        }
        Ok(ids)
    }

    /// The ids in list order (head first).
    pub(crate) fn iter(&self) -> core::iter::Rev<core::slice::Iter<'_, DestId>> {
        self.by_tail.iter().rev()
    }

    /// The id of the destination at list position `index`.
    pub(crate) fn at(&self, index: usize) -> Option<DestId> {
        let from_tail = self.by_tail.len().checked_sub(index + 1)?;
        self.by_tail.get(from_tail).copied()
    }

    /// A new destination at the head of the list: its id.
    pub(crate) fn push_head(&mut self) -> Result<DestId, Error> {
        let len = self.by_tail.len();
        let from_tail =
            u32::try_from(len).map_err(|_| Error::TooManyDestinations { len: len + 1 })?;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&s| s != FREE)
                    .ok_or(Error::TooManyDestinations { len: len + 1 })?;
                self.slots.push(Slot {
                    generation: 0,
                    from_tail: FREE,
                });
                s
            }
        };
        let entry = &mut self.slots[slot as usize];
        entry.from_tail = from_tail;
        let id = DestId {
            slot,
            generation: entry.generation,
        };
        self.by_tail.push(id);
        Ok(id)
    }

    /// The destination at `index` left the list.
    pub(crate) fn remove(&mut self, index: usize) {
        let Some(from_tail) = self.by_tail.len().checked_sub(index + 1) else {
            return;
        };
        let id = self.by_tail.remove(from_tail);
        // The ones before it in the list are one closer to the tail now.
        for before in &self.by_tail[from_tail..] {
            self.slots[before.slot as usize].from_tail -= 1;
        }
        let entry = &mut self.slots[id.slot as usize];
        entry.from_tail = FREE;
        // A slot whose generations are used up is retired, never reused,
        // so that no old id can name a newcomer.
        if let Some(next) = entry.generation.checked_add(1) {
            entry.generation = next;
            self.free.push(id.slot);
        }
    }

    /// The list position `dest` names now.
    #[inline]
    pub(crate) fn resolve(&self, dest: DestRef) -> Result<usize, Error> {
        let len = self.by_tail.len();
        match dest {
            DestRef::Index(index) if index < len => Ok(index),
            DestRef::Index(index) => Err(Error::IndexOutOfRange { index, len }),
            DestRef::Id(id) => match self.slots.get(id.slot as usize) {
                Some(s) if s.generation == id.generation && s.from_tail != FREE => {
                    Ok(len - 1 - s.from_tail as usize)
                }
                _ => Err(Error::StaleId { id }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_out_of_generations_is_retired_not_reused() {
        let mut ids = Ids::default();
        let a = ids.push_head().unwrap();
        ids.slots[a.slot as usize].generation = u32::MAX;
        let old = a;
        ids.remove(0);
        assert!(ids.free.is_empty());
        let b = ids.push_head().unwrap();
        assert_ne!(b.slot, old.slot);
        assert_eq!(ids.resolve(old.into()), Err(Error::StaleId { id: old }));
        assert_eq!(ids.resolve(b.into()), Ok(0));
    }

    #[test]
    fn for_list_numbers_in_list_order() {
        let ids = Ids::for_list(3).unwrap();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(ids.resolve((*id).into()), Ok(i));
            assert_eq!(ids.at(i), Some(*id));
        }
        assert_eq!(ids.at(3), None);
    }
}
