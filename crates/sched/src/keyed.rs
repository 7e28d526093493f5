//! The schedulers that read the packet (`sh`, `dh`, `mh`, `lblc`,
//! `lblcr`) or a random draw (`twos`): one state type with the hooks the
//! service runs.

use alloc::vec::Vec;

use crate::dest::{Destination, Overhead};
use crate::hashing::{Hashing, Kind};
use crate::list::List;
use crate::locality::{Locality, Which};
use crate::packet::{Packet, SchedFlags};
use crate::scheduler::Scheduler;

#[derive(Debug, Clone)]
pub(crate) enum Keyed {
    Hashing(Hashing),
    Locality(Locality),
    Twos(Twos),
}

/// What a pick needs besides the list and the packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    pub(crate) flags: SchedFlags,
    pub(crate) overhead: Overhead,
    pub(crate) now: u64,
    pub(crate) expiration: u64,
}

impl Keyed {
    /// `init_service`, or `None` for a scheduler that is not one of these.
    pub(crate) fn bind(scheduler: Scheduler, list: &List, ctx: &Context) -> Option<Self> {
        let locality = |w| Keyed::Locality(Locality::new(w, ctx.overhead, list, ctx.now));
        Some(match scheduler {
            Scheduler::Sh => Keyed::Hashing(Hashing::new(Kind::Sh, list)),
            Scheduler::Dh => Keyed::Hashing(Hashing::new(Kind::Dh, list)),
            Scheduler::Mh => Keyed::Hashing(Hashing::new(Kind::Mh, list)),
            Scheduler::Lblc => locality(Which::Lblc),
            Scheduler::Lblcr => locality(Which::Lblcr),
            Scheduler::Twos => Keyed::Twos(Twos::new(list.slots())),
            _ => return None,
        })
    }

    pub(crate) fn pick(
        &mut self,
        dests: &[Destination],
        packet: &Packet,
        ctx: &Context,
    ) -> Option<usize> {
        match self {
            Keyed::Hashing(h) => h.pick(dests, packet, ctx.flags),
            Keyed::Locality(l) => {
                l.advance(ctx.now, ctx.expiration);
                l.pick(dests, packet.destination.ip(), ctx.now, ctx.expiration)
            }
            Keyed::Twos(t) => t.pick(dests, packet.random, ctx.overhead),
        }
    }

    /// `add_dest`: a destination went to the head of the list, at
    /// position `pos`.
    pub(crate) fn added(&mut self, list: &List, pos: usize) {
        match self {
            Keyed::Hashing(h) => h.rebuild(list),
            Keyed::Locality(l) => l.added(list.slots(), pos),
            Keyed::Twos(t) => t.changed(list.slots(), pos),
        }
    }

    /// `del_dest`: the destination at position `pos`, `gone`, left the list.
    pub(crate) fn removed(&mut self, list: &List, pos: usize, gone: Destination) {
        match self {
            Keyed::Hashing(h) => h.rebuild(list),
            Keyed::Locality(l) => l.removed(list.slots(), pos, gone),
            Keyed::Twos(t) => t.changed(list.slots(), pos),
        }
    }

    /// `upd_dest`: an edit (weight, thresholds).
    pub(crate) fn edited(&mut self, list: &List, pos: usize) {
        match self {
            Keyed::Hashing(h) => h.rebuild(list),
            Keyed::Locality(l) => l.changed(list.slots(), pos),
            Keyed::Twos(t) => t.changed(list.slots(), pos),
        }
    }

    /// Counters or flag changed (no kernel hook).
    pub(crate) fn changed(&mut self, dests: &[Destination], pos: usize) {
        match self {
            Keyed::Locality(l) => l.changed(dests, pos),
            Keyed::Twos(t) => t.changed(dests, pos),
            Keyed::Hashing(_) => {}
        }
    }

    /// The list was laid out afresh (not a kernel hook): `moved[p]` is the
    /// new position of position `p`.
    pub(crate) fn relayout(&mut self, list: &List, moved: &[u32]) {
        match self {
            Keyed::Hashing(h) => h.relayout(moved),
            Keyed::Locality(l) => l.relayout(list.slots(), moved),
            Keyed::Twos(t) => t.rebuild(list.slots()),
        }
    }

    pub(crate) fn set_overhead(&mut self, overhead: Overhead, dests: &[Destination]) {
        if let Keyed::Locality(l) = self {
            l.set_overhead(overhead, dests);
        }
    }

    /// Run the expiry timers due by `now`.
    pub(crate) fn advance(&mut self, ctx: &Context) {
        if let Keyed::Locality(l) = self {
            l.advance(ctx.now, ctx.expiration);
        }
    }

    /// Entries in the `lblc` / `lblcr` table.
    pub(crate) fn entries(&self) -> usize {
        match self {
            Keyed::Locality(l) => l.len(),
            _ => 0,
        }
    }
}

/// `twos`' index: a Fenwick tree of the eligible weights (weight > 0, not
/// overloaded) over the list's positions (in list order; holes weigh 0), so that "the first destination whose running
/// weight sum reaches the draw" is found in O(log n) instead of the
/// kernel's walk.
#[derive(Debug, Clone)]
pub(crate) struct Twos {
    /// `tree[i]` (1-based) sums the eligible weights of `(i - lowbit(i), i]`.
    tree: Vec<u64>,
    /// Each destination's eligible weight, as entered.
    weights: Vec<u64>,
}

fn eligible_weight(d: &Destination) -> u64 {
    if d.overloaded {
        0
    } else {
        u64::try_from(d.weight).unwrap_or(0)
    }
}

impl Twos {
    fn new(dests: &[Destination]) -> Self {
        let mut t = Twos {
            tree: Vec::new(),
            weights: Vec::new(),
        };
        t.rebuild(dests);
        t
    }

    fn rebuild(&mut self, dests: &[Destination]) {
        self.weights = dests.iter().map(eligible_weight).collect();
        self.tree = alloc::vec![0; dests.len() + 1];
        for i in 1..=dests.len() {
            self.tree[i] += self.weights[i - 1];
            let parent = i + (i & i.wrapping_neg());
            if parent <= dests.len() {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    fn changed(&mut self, dests: &[Destination], index: usize) {
        let (Some(d), Some(old)) = (dests.get(index), self.weights.get(index).copied()) else {
            return;
        };
        let new = eligible_weight(d);
        if new == old {
            return;
        }
        self.weights[index] = new;
        let mut i = index + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add(new.wrapping_sub(old));
            i += i & i.wrapping_neg();
        }
    }

    fn total(&self) -> u64 {
        let mut sum = 0;
        let mut i = self.tree.len() - 1;
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// The first index whose running sum of eligible weights reaches
    /// `target` (at least 1, so always an eligible destination).
    fn lower_bound(&self, target: u64) -> usize {
        let n = self.tree.len() - 1;
        let mut pos = 0;
        let mut rest = target;
        let mut step = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.tree[next] < rest {
                pos = next;
                rest -= self.tree[next];
            }
            step >>= 1;
        }
        pos
    }

    /// `ip_vs_twos_schedule()` (upstream since 6.7): two destinations drawn
    /// by weight with the caller's random values (each modulo the total
    /// weight plus one, as the kernel reduces `prandom_u32()`), the one with
    /// the lower overhead per weight wins, the first draw on a tie. Sums and
    /// products are computed without the kernel's 32-bit `int` wrap.
    fn pick(&self, dests: &[Destination], random: [u32; 2], overhead: Overhead) -> Option<usize> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        // The kernel subtracts weights in list order and takes the first
        // destination where the draw is used up (`<= 0`): the first whose
        // running sum reaches the draw; a draw of 0 takes the first one.
        let choose = |r: u32| {
            let r = u64::from(r) % (total + 1);
            let i = self.lower_bound(r.max(1));
            let d = dests.get(i)?;
            Some((
                i,
                i128::from(d.weight),
                i128::from(overhead.of(d.active, d.inactive)),
            ))
        };
        let (i1, w1, oh1) = choose(random[0])?;
        let (i2, w2, oh2) = choose(random[1])?;
        if w2 * oh1 > w1 * oh2 {
            Some(i2)
        } else {
            Some(i1)
        }
    }
}
