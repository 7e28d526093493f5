//! Weighted round robin (`wrr`), decision for decision `ip_vs_wrr.c`.
//!
//! The kernel keeps `cl` (current destination or the list head), `cw` (the
//! weight a destination needs in the current pass), `mw` (the maximum weight
//! less `di - 1`) and `di` (the gcd of the positive weights), and scans the
//! list for the next destination with `weight >= cw` that is not overloaded.
//! Here the destinations that pass the current `cw` are kept in a bit set
//! over the list's positions, grown as `cw` falls and shrunk when it starts
//! over (from the positive weights kept in weight order), so a pick is a
//! word-step search instead of a walk; runs of passes that cannot find
//! anything are skipped arithmetically, with the same bookkeeping as the
//! kernel's loop.
//!
//! The kernel's hook on every add, removal and edit walks the list for the
//! gcd and the maximum weight. Here a segment tree over the positions holds
//! both, so the hook updates one leaf and its path (O(log n)), moves the
//! destination in the weight order (O(log n)) and sets its one bit for the
//! current pass.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::ops::Bound;

use crate::bitset::Bitset;
use crate::dest::Destination;

#[derive(Debug, Clone)]
pub(crate) struct Wrr {
    /// `mark->cl`: `None` = the list head.
    cl: Option<usize>,
    cw: i32,
    mw: i32,
    di: i32,
    /// The positive weights and their positions, heaviest first.
    order: BTreeSet<(Reverse<i32>, u32)>,
    /// The weight each position has in `order` and `agg` (0: none).
    weights: Vec<i32>,
    /// Segment tree over the positions: the gcd of the positive weights (0
    /// for none) and the maximum weight; leaf `p` is `agg[size + p]`.
    agg: Vec<Agg>,
    size: usize,
    /// The `cw` that `bits` stands for (`i64::MAX`: none yet).
    threshold: i64,
    /// Destinations with `weight >= threshold` that are not overloaded.
    bits: Bitset,
    /// Number of bits set.
    count: usize,
    len: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct Agg {
    gcd: i32,
    max: i32,
}

impl Agg {
    fn leaf(weight: i32) -> Self {
        let w = weight.max(0);
        Agg { gcd: w, max: w }
    }

    fn join(self, other: Agg) -> Agg {
        Agg {
            gcd: gcd(self.gcd, other.gcd),
            max: self.max.max(other.max),
        }
    }
}

/// The gcd; `gcd(0, x) = x`.
fn gcd(mut a: i32, mut b: i32) -> i32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The entries of `order` with a weight in `lo..hi` (`lo <= hi`).
fn weights_in(
    order: &BTreeSet<(Reverse<i32>, u32)>,
    lo: i64,
    hi: i64,
) -> impl Iterator<Item = &(Reverse<i32>, u32)> {
    // Heaviest first: from the heaviest below `hi` down to `lo`.
    let hi = hi.saturating_sub(1).clamp(0, i64::from(i32::MAX));
    let lo = lo.clamp(0, i64::from(i32::MAX));
    let (hi, lo) = (hi as i32, lo as i32);
    let range = (
        Bound::Included((Reverse(hi), 0)),
        Bound::Included((Reverse(lo), u32::MAX)),
    );
    // An empty range is not asked for: `range` refuses start > end.
    (hi >= lo).then(|| order.range(range)).into_iter().flatten()
}

impl Wrr {
    /// `ip_vs_wrr_init_svc`: bound to this list, `cw = mw`.
    pub(crate) fn new(dests: &[Destination]) -> Self {
        let mut s = Wrr {
            cl: None,
            cw: 0,
            mw: 0,
            di: 1,
            order: BTreeSet::new(),
            weights: Vec::new(),
            agg: Vec::new(),
            size: 1,
            threshold: i64::MAX,
            bits: Bitset::default(),
            count: 0,
            len: 0,
        };
        s.reindex(dests);
        s.recompute();
        s.cw = s.mw;
        s
    }

    /// `di` and `mw` (`ip_vs_wrr_gcd_weight`, `ip_vs_wrr_max_weight`) from
    /// the tree's root.
    fn recompute(&mut self) {
        let root = self.agg.get(1).copied().unwrap_or_default();
        self.di = if root.gcd > 0 { root.gcd } else { 1 };
        self.mw = root.max - (self.di - 1);
    }

    /// The list was laid out afresh: `moved[p]` is the new position of
    /// position `p`. Not a kernel hook: the state stays.
    pub(crate) fn relayout(&mut self, dests: &[Destination], moved: &[u32]) {
        self.cl = self
            .cl
            .and_then(|c| moved.get(c))
            .filter(|&&p| p != crate::list::NO_ID)
            .map(|&p| p as usize);
        self.reindex(dests);
    }

    /// The weight order, the tree and the bit set anew (no pass yet).
    fn reindex(&mut self, dests: &[Destination]) {
        self.len = dests.len();
        self.weights = dests.iter().map(|d| d.weight.max(0)).collect();
        self.order = self
            .weights
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0)
            .map(|(p, &w)| (Reverse(w), p as u32))
            .collect();
        self.size = dests.len().next_power_of_two().max(1);
        self.agg.clear();
        self.agg.resize(2 * self.size, Agg::default());
        for (p, &w) in self.weights.iter().enumerate() {
            self.agg[self.size + p] = Agg::leaf(w);
        }
        for j in (1..self.size).rev() {
            self.agg[j] = self.agg[2 * j].join(self.agg[2 * j + 1]);
        }
        self.threshold = i64::MAX;
        self.bits.reset(dests.len());
        self.count = 0;
    }

    /// Set position `pos`'s bit for the current pass.
    fn set_bit(&mut self, pos: usize, on: bool) {
        if self.bits.get(pos) != on {
            self.bits.set(pos, on);
            if on {
                self.count += 1;
            } else {
                self.count -= 1;
            }
        }
    }

    /// `ip_vs_wrr_dest_changed`, the hook run on every destination add,
    /// removal and edit; `pos` is the position that changed.
    pub(crate) fn dest_changed(&mut self, dests: &[Destination], pos: usize) {
        if let (Some(d), Some(&old)) = (dests.get(pos), self.weights.get(pos)) {
            let new = d.weight.max(0);
            if new != old {
                // Positions fit in u32: a list holds fewer than u32::MAX.
                self.order.remove(&(Reverse(old), pos as u32));
                if new > 0 {
                    self.order.insert((Reverse(new), pos as u32));
                }
                self.weights[pos] = new;
                let mut j = self.size + pos;
                if let Some(leaf) = self.agg.get_mut(j) {
                    *leaf = Agg::leaf(new);
                    while j > 1 {
                        j >>= 1;
                        self.agg[j] = self.agg[2 * j].join(self.agg[2 * j + 1]);
                    }
                }
            }
            let on = new > 0 && i64::from(new) >= self.threshold && !d.overloaded;
            self.set_bit(pos, on);
        }
        self.recompute();
        self.cl = None;
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    /// The destination at position `pos` changed its flag or counters (not
    /// a kernel hook: only the index follows).
    pub(crate) fn changed(&mut self, dests: &[Destination], pos: usize) {
        let Some(d) = dests.get(pos) else { return };
        if d.weight > 0 && i64::from(d.weight) >= self.threshold {
            self.set_bit(pos, !d.overloaded);
        }
    }

    /// Make `bits` stand for `weight >= cw`. Once per pass, not per pick:
    /// kept out of line so that `pick`'s own loop needs few registers.
    #[inline(never)]
    fn sync(&mut self, dests: &[Destination]) {
        let cw = i64::from(self.cw);
        if cw > self.threshold {
            // Weights in threshold..cw leave.
            for &(_, p) in weights_in(&self.order, self.threshold, cw) {
                if self.bits.get(p as usize) {
                    self.bits.set(p as usize, false);
                    self.count -= 1;
                }
            }
        } else {
            // Weights in cw..threshold join.
            for &(_, p) in weights_in(&self.order, cw, self.threshold) {
                if dests.get(p as usize).is_some_and(|d| !d.overloaded)
                    && !self.bits.get(p as usize)
                {
                    self.bits.set(p as usize, true);
                    self.count += 1;
                }
            }
        }
        self.threshold = cw;
    }

    /// `ip_vs_wrr_schedule`.
    pub(crate) fn pick(&mut self, dests: &[Destination]) -> Option<usize> {
        if self.mw == 0 {
            return None;
        }
        let last = self.cl;
        let mut pos = self.cl;
        let mut last_pass = false;
        let mut restarted = false;
        let mut stop: Option<usize> = None;
        loop {
            if i64::from(self.cw) != self.threshold {
                self.sync(dests);
            }
            let start = pos.map_or(0, |p| p + 1);
            match stop {
                Some(s) if s >= start => {
                    if let Some(i) = self.bits.next_in(start, s + 1) {
                        self.cl = Some(i);
                        return Some(i);
                    }
                    // Reached `stop` without a hit: all overloaded.
                    self.cl = Some(s);
                    return None;
                }
                _ => {
                    if let Some(i) = self.bits.next_in(start, self.len) {
                        self.cl = Some(i);
                        return Some(i);
                    }
                }
            }
            pos = None;
            if stop.is_none() && self.count == 0 {
                self.skip_empty_passes();
            }
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }

    /// Nothing passes the current `cw`: the kernel would scan the whole list
    /// once per `di` step until the next heavier-than-`cw` weight (or the
    /// last pass) is reached. Take those steps at once; each of them finds
    /// nothing, keeps `cw > di` (so `last_pass` stays false and `stop`
    /// unset) and `cw > 0` (no restart).
    #[inline(never)]
    fn skip_empty_passes(&mut self) {
        // The heaviest weight below the current pass's.
        let next = weights_in(&self.order, 1, self.threshold)
            .next()
            .map_or(0, |(Reverse(w), _)| i64::from(*w));
        let di = i64::from(self.di);
        let floor = next.max(di);
        let cw = i64::from(self.cw);
        if cw > floor {
            let steps = (cw - floor - 1) / di;
            // cw - steps * di > floor >= 0, and it is at most cw: fits i32.
            self.cw = i32::try_from(cw - steps * di).unwrap_or(self.cw);
        }
    }
}
