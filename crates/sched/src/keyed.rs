//! The schedulers that read the packet (`sh`, `dh`, `mh`, `lblc`,
//! `lblcr`) or a random draw (`twos`): one state type with the hooks the
//! service runs.

use crate::dest::{Dest, Overhead};
use crate::hashing::{Hashing, Kind};
use crate::locality::{Locality, Which};
use crate::packet::{Packet, SchedFlags};
use crate::scheduler::Scheduler;

#[derive(Debug, Clone)]
pub(crate) enum Keyed {
    Hashing(Hashing),
    Locality(Locality),
    Twos,
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
    pub(crate) fn bind(scheduler: Scheduler, dests: &[Dest], ctx: &Context) -> Option<Self> {
        let locality = |w| Keyed::Locality(Locality::new(w, ctx.overhead, dests, ctx.now));
        Some(match scheduler {
            Scheduler::Sh => Keyed::Hashing(Hashing::new(Kind::Sh, dests)),
            Scheduler::Dh => Keyed::Hashing(Hashing::new(Kind::Dh, dests)),
            Scheduler::Mh => Keyed::Hashing(Hashing::new(Kind::Mh, dests)),
            Scheduler::Lblc => locality(Which::Lblc),
            Scheduler::Lblcr => locality(Which::Lblcr),
            Scheduler::Twos => Keyed::Twos,
            _ => return None,
        })
    }

    pub(crate) fn pick(&mut self, dests: &[Dest], packet: &Packet, ctx: &Context) -> Option<usize> {
        match self {
            Keyed::Hashing(h) => h.pick(dests, packet, ctx.flags),
            Keyed::Locality(l) => {
                l.advance(ctx.now, ctx.expiration);
                l.pick(dests, packet.destination.ip(), ctx.now, ctx.expiration)
            }
            Keyed::Twos => twos(dests, packet.random, ctx.overhead),
        }
    }

    /// `add_dest`: a destination went to the head of the list.
    pub(crate) fn added(&mut self, dests: &[Dest]) {
        match self {
            Keyed::Hashing(h) => h.rebuild(dests),
            Keyed::Locality(l) => l.added(dests),
            Keyed::Twos => {}
        }
    }

    /// `del_dest`: the destination at `index`, `gone`, left the list.
    pub(crate) fn removed(&mut self, dests: &[Dest], index: usize, gone: Dest) {
        match self {
            Keyed::Hashing(h) => h.rebuild(dests),
            Keyed::Locality(l) => l.removed(dests, index, gone),
            Keyed::Twos => {}
        }
    }

    /// `upd_dest`: an edit (weight, thresholds).
    pub(crate) fn edited(&mut self, dests: &[Dest], index: usize) {
        match self {
            Keyed::Hashing(h) => h.rebuild(dests),
            Keyed::Locality(l) => l.changed(dests, index),
            Keyed::Twos => {}
        }
    }

    /// Counters or flag changed (no kernel hook).
    pub(crate) fn changed(&mut self, dests: &[Dest], index: usize) {
        if let Keyed::Locality(l) = self {
            l.changed(dests, index);
        }
    }

    pub(crate) fn set_overhead(&mut self, overhead: Overhead, dests: &[Dest]) {
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

/// `ip_vs_twos_schedule()` (upstream since 6.7): two destinations drawn by
/// weight with the caller's random values (each modulo the total weight
/// plus one, as the kernel reduces `prandom_u32()`), the one with the lower
/// overhead per weight wins, the first draw on a tie. Sums and products are
/// computed without the kernel's 32-bit `int` wrap.
fn twos(dests: &[Dest], random: [u32; 2], overhead: Overhead) -> Option<usize> {
    let eligible = |d: &Dest| !d.overloaded && d.weight > 0;
    let mut total: i64 = 0;
    let mut any = false;
    for d in dests.iter().filter(|d| eligible(d)) {
        total += i64::from(d.weight);
        any = true;
    }
    if !any {
        return None;
    }
    total += 1;
    let mut r1 = i64::from(random[0]) % total;
    let mut r2 = i64::from(random[1]) % total;
    let mut c1: Option<(usize, i64, u64)> = None;
    let mut c2: Option<(usize, i64, u64)> = None;
    for (i, d) in dests.iter().enumerate() {
        if !eligible(d) {
            continue;
        }
        let w = i64::from(d.weight);
        r1 -= w;
        r2 -= w;
        if r1 <= 0 && c1.is_none() {
            c1 = Some((i, w, overhead.of(d.active, d.inactive)));
        }
        if r2 <= 0 && c2.is_none() {
            c2 = Some((i, w, overhead.of(d.active, d.inactive)));
        }
        if c1.is_some() && c2.is_some() {
            break;
        }
    }
    // Both draws are below the total, so both find a destination.
    let (i1, w1, oh1) = c1?;
    let (i2, w2, oh2) = c2?;
    if i128::from(w2) * i128::from(oh1) > i128::from(w1) * i128::from(oh2) {
        Some(i2)
    } else {
        Some(i1)
    }
}
