//! The destination list of a service, in the kernel's order, with adds at
//! the head and removals anywhere in O(log n).
//!
//! The destinations sit in a buffer in list order (head first), with free
//! *positions* before the head: an add takes the position just before the
//! head, so no other destination moves. A removal leaves a hole. A position
//! is what the schedulers index by (a hole or a free position holds
//! [`HOLE`], a destination of weight 0 that no scheduler picks), and it
//! stays a destination's until the list is laid out afresh: when an add
//! finds no free position left, or when the holes outnumber the
//! destinations. That re-layout costs O(n) and happens at most once per
//! Ω(n) adds or removals (amortized O(1)), and the schedulers' indexes are
//! moved with it.
//!
//! A destination's list index is the number of destinations at positions
//! before it: the position less the head's while there is no hole, else a
//! prefix sum of a Fenwick tree of the occupied positions (O(log n)); the
//! position of an index is the Fenwick tree's search.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Index;

use crate::dest::Destination;

/// What a free position or a hole holds: weight 0, no counters, no flag,
/// no address. Every scheduler that reads positions skips it.
pub(crate) const HOLE: Destination = Destination::new(0);

/// An empty position in `ids_at`.
pub(crate) const NO_ID: u32 = u32::MAX;

/// At least this many free positions before the head after a re-layout.
const MIN_SLACK: usize = 4;

/// Counts of occupied positions, for index <-> position in O(log n).
#[derive(Debug, Clone, Default)]
struct Fenwick {
    /// 1-based; `tree[i]` counts the occupied positions in `(i - lowbit(i), i]`.
    tree: Vec<u32>,
}

impl Fenwick {
    /// A tree over `flags.len()` positions, occupied where the flag is set.
    fn build(flags: impl ExactSizeIterator<Item = bool>) -> Self {
        let n = flags.len();
        let mut tree = vec![0u32; n + 1];
        for (i, f) in flags.enumerate() {
            let i = i + 1;
            tree[i] += u32::from(f);
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                tree[parent] += tree[i];
            }
        }
        Fenwick { tree }
    }

    fn add(&mut self, pos: usize, occupied: bool) {
        let mut i = pos + 1;
        while i < self.tree.len() {
            if occupied {
                self.tree[i] += 1;
            } else {
                self.tree[i] -= 1;
            }
            i += i & i.wrapping_neg();
        }
    }

    /// The occupied positions before `pos`.
    fn before(&self, pos: usize) -> usize {
        let mut sum = 0usize;
        let mut i = pos.min(self.tree.len().saturating_sub(1));
        while i > 0 {
            sum += self.tree[i] as usize;
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// The position with exactly `k` occupied positions before it that is
    /// occupied itself (the `k`-th occupied position, from 0).
    fn select(&self, k: usize) -> usize {
        let n = self.tree.len().saturating_sub(1);
        let mut pos = 0;
        let mut rest = k + 1;
        let mut step = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n && (self.tree[next] as usize) < rest {
                pos = next;
                rest -= self.tree[next] as usize;
            }
            step >>= 1;
        }
        pos
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct List {
    /// Every position; `buf[head..]` holds the list with its holes.
    buf: Vec<Destination>,
    /// The id slot of the destination at each position, `NO_ID` where none.
    ids_at: Vec<u32>,
    /// The head's position (the first that may be occupied).
    head: usize,
    /// Number of destinations.
    len: usize,
    /// Number of holes in `buf[head..]`.
    holes: usize,
    /// The occupied positions.
    occupied: Fenwick,
}

impl List {
    /// A list of these destinations in this order (head first), each with
    /// its id slot.
    pub(crate) fn from_list(dests: impl IntoIterator<Item = (Destination, u32)>) -> Self {
        let mut l = List::default();
        let items: Vec<(Destination, u32)> = dests.into_iter().collect();
        l.lay_out(items);
        l
    }

    /// Lay `items` (in list order) out afresh with free positions before
    /// the head.
    fn lay_out(&mut self, items: Vec<(Destination, u32)>) {
        let len = items.len();
        let slack = len.max(MIN_SLACK);
        self.buf.clear();
        self.buf.resize(slack, HOLE);
        self.ids_at.clear();
        self.ids_at.resize(slack, NO_ID);
        for (d, id) in items {
            self.buf.push(d);
            self.ids_at.push(id);
        }
        self.head = slack;
        self.len = len;
        self.holes = 0;
        self.occupied = Fenwick::build(self.ids_at.iter().map(|&i| i != NO_ID));
    }

    /// Lay the list out afresh (no holes, free positions before the head):
    /// the new position of each old one (`NO_ID` for the empty ones).
    pub(crate) fn relayout(&mut self) -> Vec<u32> {
        let mut moved = vec![NO_ID; self.buf.len()];
        let items: Vec<(Destination, u32)> = self
            .positions()
            .map(|p| (self.buf[p], self.ids_at[p]))
            .collect();
        let slack = items.len().max(MIN_SLACK);
        for (k, p) in self.positions().enumerate() {
            // Positions fit in u32: a list holds fewer than u32::MAX.
            moved[p] = (slack + k) as u32;
        }
        self.lay_out(items);
        moved
    }

    /// Is there a free position before the head?
    pub(crate) fn has_room(&self) -> bool {
        self.head > 0
    }

    /// Should the list be laid out afresh after a removal?
    pub(crate) fn too_holey(&self) -> bool {
        self.holes > self.len.max(MIN_SLACK)
    }

    /// The position the next [`List::push_head`] takes.
    pub(crate) fn next_position(&self) -> Option<usize> {
        self.head.checked_sub(1)
    }

    /// Put `d` at the head, in the free position before it: that position.
    /// The caller makes room first ([`List::has_room`]).
    pub(crate) fn push_head(&mut self, d: Destination, id: u32) -> Option<usize> {
        let pos = self.head.checked_sub(1)?;
        self.head = pos;
        self.buf[pos] = d;
        self.ids_at[pos] = id;
        self.len += 1;
        self.occupied.add(pos, true);
        Some(pos)
    }

    /// Take the destination at `pos` out, leaving a hole (or, at the head,
    /// a free position).
    pub(crate) fn take(&mut self, pos: usize) -> Option<Destination> {
        if self.ids_at.get(pos).is_none_or(|&i| i == NO_ID) {
            return None;
        }
        let d = core::mem::replace(&mut self.buf[pos], HOLE);
        self.ids_at[pos] = NO_ID;
        self.len -= 1;
        self.holes += 1;
        self.occupied.add(pos, false);
        // Holes at the head become free positions again.
        while self.head < self.buf.len() && self.ids_at[self.head] == NO_ID {
            self.head += 1;
            self.holes -= 1;
        }
        if self.len == 0 {
            self.holes = 0;
        }
        Some(d)
    }

    /// Every position (the schedulers' view: holes and free positions hold
    /// [`HOLE`]).
    #[inline]
    pub(crate) fn slots(&self) -> &[Destination] {
        &self.buf
    }

    /// The destination at `pos`, mutable (the caller keeps the schedulers'
    /// indexes in step).
    pub(crate) fn get_mut(&mut self, pos: usize) -> Option<&mut Destination> {
        match self.ids_at.get(pos) {
            Some(&i) if i != NO_ID => self.buf.get_mut(pos),
            _ => None,
        }
    }

    /// The destination at `pos`.
    pub(crate) fn at(&self, pos: usize) -> Option<&Destination> {
        match self.ids_at.get(pos) {
            Some(&i) if i != NO_ID => self.buf.get(pos),
            _ => None,
        }
    }

    /// The id slot of the destination at `pos`.
    pub(crate) fn id_slot(&self, pos: usize) -> Option<u32> {
        self.ids_at.get(pos).copied().filter(|&i| i != NO_ID)
    }

    /// The occupied positions in list order.
    pub(crate) fn positions(&self) -> Positions<'_> {
        Positions {
            ids_at: &self.ids_at,
            front: self.head,
            back: self.ids_at.len(),
            left: self.len,
        }
    }

    /// Set the id slot of the destination at `pos` (a list built before
    /// its ids).
    pub(crate) fn set_id_slot(&mut self, pos: usize, id: u32) {
        if let Some(slot) = self.ids_at.get_mut(pos)
            && *slot != NO_ID
        {
            *slot = id;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The list index of the destination at `pos`.
    #[inline]
    pub(crate) fn index_of(&self, pos: usize) -> usize {
        if self.holes == 0 {
            pos.wrapping_sub(self.head)
        } else {
            self.index_among_holes(pos)
        }
    }

    /// [`List::index_of`] with holes: the tree (out of line, so that a
    /// pick's fast path stays small).
    #[inline(never)]
    fn index_among_holes(&self, pos: usize) -> usize {
        self.occupied.before(pos)
    }

    /// The position of list index `index`, if there is one.
    #[inline]
    pub(crate) fn position(&self, index: usize) -> Option<usize> {
        if index >= self.len {
            None
        } else if self.holes == 0 {
            Some(self.head + index)
        } else {
            Some(self.position_among_holes(index))
        }
    }

    /// [`List::position`] with holes: the tree's search.
    #[inline(never)]
    fn position_among_holes(&self, index: usize) -> usize {
        self.occupied.select(index)
    }
}

/// The destinations of a [`Service`](crate::Service) in the kernel's list
/// order (index 0 = head, the newest), as [`Service::destinations`](crate::Service::destinations)
/// shows them: indexable (`dests[i]`, O(1) while nothing was removed since
/// the list was last laid out, else O(log n)), iterable in order, and
/// printable as a list.
#[derive(Clone, Copy)]
pub struct Destinations<'a> {
    list: &'a List,
}

impl<'a> Destinations<'a> {
    pub(crate) fn new(list: &'a List) -> Self {
        Destinations { list }
    }

    /// The number of destinations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len
    }

    /// Whether there is none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.len == 0
    }

    /// The destination at list index `index`.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&'a Destination> {
        self.list.position(index).and_then(|p| self.list.buf.get(p))
    }

    /// The head of the list (the newest destination).
    #[must_use]
    pub fn first(&self) -> Option<&'a Destination> {
        self.get(0)
    }

    /// The tail of the list (the oldest destination).
    #[must_use]
    pub fn last(&self) -> Option<&'a Destination> {
        self.list.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// The destinations in list order.
    #[must_use]
    pub fn iter(&self) -> Iter<'a> {
        Iter {
            buf: &self.list.buf,
            positions: self.list.positions(),
        }
    }

    /// A copy in list order.
    #[must_use]
    pub fn to_vec(&self) -> Vec<Destination> {
        self.iter().copied().collect()
    }
}

impl Index<usize> for Destinations<'_> {
    type Output = Destination;

    /// The destination at list index `index`.
    ///
    /// # Panics
    /// When `index` is past the end, as a slice does; use
    /// [`Destinations::get`] to be told instead.
    fn index(&self, index: usize) -> &Destination {
        match self.get(index) {
            Some(d) => d,
            None => panic!(
                "destination index {index} out of range for a list of {}",
                self.len()
            ),
        }
    }
}

impl fmt::Debug for Destinations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Destinations<'a> {
    type Item = &'a Destination;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Destinations<'a> {
    type Item = &'a Destination;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The destinations of a service in list order ([`Destinations::iter`]).
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    buf: &'a [Destination],
    positions: Positions<'a>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Destination;

    fn next(&mut self) -> Option<&'a Destination> {
        self.positions.next().and_then(|p| self.buf.get(p))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.positions.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.positions.next_back().and_then(|p| self.buf.get(p))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl core::iter::FusedIterator for Iter<'_> {}

/// The occupied positions of a list in list order.
#[derive(Debug, Clone)]
pub(crate) struct Positions<'a> {
    ids_at: &'a [u32],
    /// The positions not visited yet: `front..back`.
    front: usize,
    back: usize,
    /// Occupied ones among them.
    left: usize,
}

impl Iterator for Positions<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.front < self.back {
            let p = self.front;
            self.front += 1;
            if self.ids_at.get(p).is_some_and(|&i| i != NO_ID) {
                self.left -= 1;
                return Some(p);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Positions<'_> {
    fn next_back(&mut self) -> Option<usize> {
        while self.front < self.back {
            self.back -= 1;
            let p = self.back;
            if self.ids_at.get(p).is_some_and(|&i| i != NO_ID) {
                self.left -= 1;
                return Some(p);
            }
        }
        None
    }
}

impl ExactSizeIterator for Positions<'_> {}

impl PartialEq<[Destination]> for Destinations<'_> {
    fn eq(&self, other: &[Destination]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(list: &List) -> Vec<i32> {
        Destinations::new(list).iter().map(|d| d.weight).collect()
    }

    #[test]
    fn adds_go_to_the_head_and_removals_leave_indexes_right() {
        let mut l = List::from_list([(Destination::new(1), 0), (Destination::new(2), 1)]);
        assert_eq!(w(&l), [1, 2]);
        for (id, weight) in (2..).zip(3..40) {
            if !l.has_room() {
                l.relayout();
            }
            l.push_head(Destination::new(weight), id);
        }
        assert_eq!(l.len(), 39);
        // Remove every third one, checking index <-> position each time.
        let mut expect: Vec<i32> = w(&l);
        let mut i = 0;
        while i < expect.len() {
            let p = l.position(i).unwrap();
            assert_eq!(l.index_of(p), i);
            assert_eq!(l.take(p).unwrap().weight, expect[i]);
            expect.remove(i);
            if l.too_holey() {
                l.relayout();
            }
            assert_eq!(w(&l), expect);
            for (k, p) in l.positions().enumerate() {
                assert_eq!(l.index_of(p), k);
                assert_eq!(l.position(k), Some(p));
            }
            i += 2;
        }
        assert_eq!(Destinations::new(&l).get(expect.len()), None);
    }
}
