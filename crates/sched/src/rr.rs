//! Round robin (`rr`) and the notebook's N-of-N round robin.
//!
//! Both keep a cursor that is either the list head or a destination, like
//! `svc->sched_data` in `ip_vs_rr.c`, and find the next destination with a
//! positive weight that is not overloaded through a bit set of the eligible
//! ones, in word steps instead of one step per destination. The bit set is
//! over the list's positions (`crate::list`): in list order, with holes and
//! free positions never eligible, so an add or a removal sets one bit.

use crate::bitset::Bitset;
use crate::dest::Destination;

/// The N-of-N counters of the notebook's patch (`int i = 1, n = 1;` there,
/// global; per instance and saturating here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    /// Picks made in the current run.
    i: u64,
    /// Length of the current run.
    n: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RoundRobin {
    /// `None`: the list head; `Some(p)`: the destination at position `p`.
    cursor: Option<usize>,
    eligible: Bitset,
    len: usize,
    /// N-of-N counters; `None` for plain `rr`.
    run: Option<Run>,
}

fn eligible(d: &Destination) -> bool {
    !d.overloaded && d.weight > 0
}

impl RoundRobin {
    /// Plain `rr`, bound to this list (`ip_vs_rr_init_svc`: cursor at head).
    pub(crate) fn rr(dests: &[Destination]) -> Self {
        let mut s = RoundRobin {
            cursor: None,
            eligible: Bitset::default(),
            len: 0,
            run: None,
        };
        s.rebuild(dests);
        s
    }

    /// N-of-N; `seed` selects the notebook patch's exact counters (start
    /// `i = n = 1`: runs 2, 3, 4, ...) instead of the intended ones (start
    /// `i = n = 0`: runs 1, 2, 3, ...).
    pub(crate) fn nofn(dests: &[Destination], seed: bool) -> Self {
        let start = if seed {
            Run { i: 1, n: 1 }
        } else {
            Run { i: 0, n: 0 }
        };
        let mut s = RoundRobin::rr(dests);
        s.run = Some(start);
        s
    }

    fn rebuild(&mut self, dests: &[Destination]) {
        self.len = dests.len();
        self.eligible.reset(dests.len());
        for (i, d) in dests.iter().enumerate() {
            self.eligible.set(i, eligible(d));
        }
    }

    /// A destination was put at position `pos`, the head. `rr` has no
    /// `add_dest` hook: the cursor stays on the destination it was on.
    pub(crate) fn added(&mut self, dests: &[Destination], pos: usize) {
        self.changed(dests, pos);
    }

    /// The destination at `pos` was unlinked (`ip_vs_rr_del_dest`): a
    /// cursor on it moves to its predecessor `pred` (or the head), so the
    /// next pick continues with its successor.
    pub(crate) fn removed(&mut self, dests: &[Destination], pos: usize, pred: Option<usize>) {
        if self.cursor == Some(pos) {
            self.cursor = pred;
        }
        self.changed(dests, pos);
    }

    /// The list was laid out afresh: `moved[p]` is the new position of
    /// position `p`.
    pub(crate) fn relayout(&mut self, dests: &[Destination], moved: &[u32]) {
        self.cursor = self
            .cursor
            .and_then(|c| moved.get(c))
            .filter(|&&p| p != crate::list::NO_ID)
            .map(|&p| p as usize);
        self.rebuild(dests);
    }

    /// The destination at position `pos` changed (weight, flag or
    /// counters), came or went.
    pub(crate) fn changed(&mut self, dests: &[Destination], pos: usize) {
        if let Some(d) = dests.get(pos) {
            self.eligible.set(pos, eligible(d));
        }
    }

    /// The first eligible destination at or after `from`, wrapping around
    /// once to stop just before `from`.
    fn scan_from(&self, from: usize) -> Option<usize> {
        self.eligible
            .next_in(from, self.len)
            .or_else(|| self.eligible.next_in(0, from.min(self.len)))
    }

    pub(crate) fn pick(&mut self) -> Option<usize> {
        match self.run {
            None => self.pick_rr(),
            Some(_) => self.pick_nofn(),
        }
    }

    /// `ip_vs_rr_schedule`: from the destination after the cursor to the end,
    /// then (unless the cursor is the head) from the head up to the cursor's
    /// own destination.
    fn pick_rr(&mut self) -> Option<usize> {
        let found = match self.cursor {
            None => self.eligible.next_in(0, self.len),
            Some(c) => self
                .eligible
                .next_in(c + 1, self.len)
                .or_else(|| self.eligible.next_in(0, (c + 1).min(self.len))),
        };
        if found.is_some() {
            self.cursor = found;
        }
        found
    }

    /// The notebook's `ip_vs_rr_schedule`: move on only when `i == n`, then
    /// scan every destination once starting at the (possibly unmoved) cursor;
    /// after a hit, `if (i == n) { n++; i = 0; } i++;`.
    fn pick_nofn(&mut self) -> Option<usize> {
        let mut run = self.run?;
        let advance = run.i == run.n;
        let from = match (self.cursor, advance) {
            (None, _) => 0,
            (Some(c), true) => c + 1,
            (Some(c), false) => c,
        };
        let found = if from >= self.len {
            self.eligible.next_in(0, self.len)
        } else {
            self.scan_from(from)
        }?;
        self.cursor = Some(found);
        if advance {
            run.n = run.n.saturating_add(1);
            run.i = 0;
        }
        run.i += 1;
        self.run = Some(run);
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nofn_counters_saturate_instead_of_overflowing() {
        let dests = [Destination::new(1), Destination::new(1)];
        let mut s = RoundRobin::nofn(&dests, false);
        s.run = Some(Run {
            i: u64::MAX - 1,
            n: u64::MAX - 1,
        });
        // i == n: move on; n becomes u64::MAX, then the run never ends.
        assert_eq!(s.pick(), Some(0));
        assert_eq!(s.run, Some(Run { i: 1, n: u64::MAX }));
        for _ in 0..5 {
            assert_eq!(s.pick(), Some(0));
        }
        // At i == n == u64::MAX the next run starts and n stays saturated.
        s.run = Some(Run {
            i: u64::MAX,
            n: u64::MAX,
        });
        assert_eq!(s.pick(), Some(1));
        assert_eq!(s.run, Some(Run { i: 1, n: u64::MAX }));
    }
}
