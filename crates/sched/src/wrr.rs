//! Weighted round robin (`wrr`), decision for decision `ip_vs_wrr.c`.
//!
//! The kernel keeps `cl` (current destination or the list head), `cw` (the
//! weight a destination needs in the current pass), `mw` (the maximum weight
//! less `di - 1`) and `di` (the gcd of the positive weights), and scans the
//! list for the next destination with `weight >= cw` that is not overloaded.
//! Here the destinations that pass the current `cw` are kept in a bit set,
//! grown as `cw` falls (from the positive weights sorted once per list
//! change), so a pick is a word-step search instead of a walk; runs of passes
//! that cannot find anything are skipped arithmetically, with the same
//! bookkeeping as the kernel's loop.

use alloc::vec::Vec;

use crate::bitset::Bitset;
use crate::dest::Destination;

#[derive(Debug, Clone)]
pub(crate) struct Wrr {
    /// `mark->cl`: `None` = the list head.
    cl: Option<usize>,
    cw: i32,
    mw: i32,
    di: i32,
    /// Indices of the destinations with a positive weight, heaviest first.
    order: Vec<u32>,
    /// `order[..added]` are the destinations with `weight >= threshold`.
    added: usize,
    /// The `cw` that `bits` stands for (`i64::MAX`: none yet).
    threshold: i64,
    /// Destinations with `weight >= threshold` that are not overloaded.
    bits: Bitset,
    /// Number of bits set.
    count: usize,
    len: usize,
}

fn gcd(mut a: i32, mut b: i32) -> i32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn weight_at(dests: &[Destination], i: u32) -> i32 {
    dests.get(i as usize).map_or(0, |d| d.weight)
}

impl Wrr {
    /// `ip_vs_wrr_init_svc`: bound to this list, `cw = mw`.
    pub(crate) fn new(dests: &[Destination]) -> Self {
        let mut s = Wrr {
            cl: None,
            cw: 0,
            mw: 0,
            di: 1,
            order: Vec::new(),
            added: 0,
            threshold: i64::MAX,
            bits: Bitset::default(),
            count: 0,
            len: 0,
        };
        s.recompute(dests);
        s.cw = s.mw;
        s
    }

    /// `di` and `mw` from the list (`ip_vs_wrr_gcd_weight`,
    /// `ip_vs_wrr_max_weight`), the cursor back to the head, and the index
    /// rebuilt.
    fn recompute(&mut self, dests: &[Destination]) {
        let mut g = 0;
        let mut max = 0;
        for d in dests {
            if d.weight > 0 {
                g = if g > 0 { gcd(d.weight, g) } else { d.weight };
            }
            max = max.max(d.weight);
        }
        self.di = if g > 0 { g } else { 1 };
        self.mw = max - (self.di - 1);
        self.cl = None;
        self.len = dests.len();
        self.order.clear();
        self.order.extend(
            dests
                .iter()
                .enumerate()
                .filter(|(_, d)| d.weight > 0)
                .map(|(i, _)| i as u32),
        );
        self.order
            .sort_unstable_by_key(|&i| core::cmp::Reverse(weight_at(dests, i)));
        self.added = 0;
        self.threshold = i64::MAX;
        self.bits.reset(dests.len());
        self.count = 0;
    }

    /// `ip_vs_wrr_dest_changed`, the hook run on every destination add,
    /// removal and edit.
    pub(crate) fn dest_changed(&mut self, dests: &[Destination]) {
        self.recompute(dests);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    /// The destination at `index` changed its flag or counters (not a
    /// kernel hook: only the index follows).
    pub(crate) fn changed(&mut self, dests: &[Destination], index: usize) {
        let Some(d) = dests.get(index) else { return };
        if i64::from(d.weight) >= self.threshold {
            let was = self.bits.get(index);
            let now = !d.overloaded;
            if was != now {
                self.bits.set(index, now);
                if now {
                    self.count += 1;
                } else {
                    self.count -= 1;
                }
            }
        }
    }

    /// Make `bits` stand for `weight >= cw`.
    fn sync(&mut self, dests: &[Destination]) {
        let cw = i64::from(self.cw);
        while self.added > 0 {
            let i = self.order[self.added - 1];
            if i64::from(weight_at(dests, i)) >= cw {
                break;
            }
            if self.bits.get(i as usize) {
                self.bits.set(i as usize, false);
                self.count -= 1;
            }
            self.added -= 1;
        }
        while let Some(&i) = self.order.get(self.added) {
            if i64::from(weight_at(dests, i)) < cw {
                break;
            }
            if dests.get(i as usize).is_some_and(|d| !d.overloaded) {
                self.bits.set(i as usize, true);
                self.count += 1;
            }
            self.added += 1;
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
                self.skip_empty_passes(dests);
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
    fn skip_empty_passes(&mut self, dests: &[Destination]) {
        let next = self
            .order
            .get(self.added)
            .map_or(0, |&i| i64::from(weight_at(dests, i)));
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
