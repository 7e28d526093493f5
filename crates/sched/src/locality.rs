//! The locality-based schedulers `lblc` and `lblcr`, as
//! `net/netfilter/ipvs/ip_vs_lblc.c` and `ip_vs_lblcr.c` of Linux 6.1 run
//! them: a table from a packet's destination address to a destination
//! (`lblc`) or a set of destinations (`lblcr`), filled by weighted least
//! connection, with the kernel's expiry timer driven by the caller's clock.
//!
//! The kernel's entries point at `struct ip_vs_dest`s; a removed
//! destination stays in the kernel's trash while an entry holds it, and a
//! destination added again with the same address and port is that same
//! struct again. Here a destination is known by its address and port (or,
//! without one, by a number of its own), and a removed one is remembered as
//! it was when it left.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use crate::bitset::Bitset;
use crate::dest::{Destination, Overhead};
use crate::hash::{fold, hash_32};
use crate::least::{Least, Rule};
use crate::list::List;

/// `IP_VS_LBLC_TAB_BITS` / `IP_VS_LBLCR_TAB_BITS` (10 in Debian's 6.1).
const TAB_BITS: u32 = 10;
const TAB_SIZE: usize = 1 << TAB_BITS;
const TAB_MASK: usize = TAB_SIZE - 1;
/// `max_size`: 16 entries per bucket before the timer collects.
const MAX_SIZE: i64 = (TAB_SIZE * 16) as i64;
/// `CHECK_EXPIRE_INTERVAL`: 60 s.
pub(crate) const CHECK_EXPIRE_INTERVAL: u64 = 60_000;
/// `ENTRY_TIMEOUT`: 6 minutes.
pub(crate) const ENTRY_TIMEOUT: u64 = 6 * 60_000;
/// `DEFAULT_EXPIRATION` (the sysctls' default): 24 hours.
pub(crate) const DEFAULT_EXPIRATION: u64 = 24 * 60 * 60_000;
/// `COUNT_FOR_FULL_EXPIRATION`: every 30th tick is a full check.
const COUNT_FOR_FULL_EXPIRATION: i32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    Lblc,
    Lblcr,
}

/// Who a table entry points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Addr(SocketAddr),
    Anon(u64),
}

#[derive(Debug, Clone)]
struct Entry {
    addr: IpAddr,
    lastuse: u64,
    /// `lblc`: one destination. `lblcr`: the set, most recently inserted
    /// first (`list_add_rcu`).
    set: Vec<Ident>,
    /// `lblcr`: the set's `lastmod`.
    lastmod: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Locality {
    which: Which,
    /// Identity of the destination at each position of the list storage
    /// (`None` for a hole or a free position).
    idents: Vec<Option<Ident>>,
    /// Identity -> position.
    index: BTreeMap<Ident, usize>,
    /// Removed destinations as they were when removed (the kernel's trash).
    trash: BTreeMap<Ident, Destination>,
    next_anon: u64,
    /// `__ip_vs_lblc_schedule()`: weighted least connection.
    least: Least,
    overhead: Overhead,
    /// Destinations with `active * 2 < weight`, and how many.
    under_half: Bitset,
    under_half_count: usize,
    buckets: Vec<Vec<Entry>>,
    /// The kernel's `tbl->entries`. `lblc` replaces an entry without
    /// counting the old one out, so this can exceed the real number.
    entries: i64,
    /// Entries really in the table.
    live: usize,
    rover: usize,
    counter: i32,
    /// When the periodic timer fires next.
    next_timer: u64,
}

fn bucket_of(addr: IpAddr) -> usize {
    hash_32(fold(addr), TAB_BITS) as usize
}

fn under_half(d: &Destination) -> bool {
    u64::from(d.active) * 2 < u64::try_from(d.weight).unwrap_or(0)
}

impl Locality {
    /// `init_service`: an empty table, the timer due a minute from `now`.
    pub(crate) fn new(which: Which, overhead: Overhead, list: &List, now: u64) -> Self {
        let dests = list.slots();
        let mut s = Locality {
            which,
            idents: Vec::new(),
            index: BTreeMap::new(),
            trash: BTreeMap::new(),
            next_anon: 0,
            least: Least::new(Rule::Wlc, overhead, dests),
            overhead,
            under_half: Bitset::default(),
            under_half_count: 0,
            buckets: (0..TAB_SIZE).map(|_| Vec::new()).collect(),
            entries: 0,
            live: 0,
            rover: 0,
            counter: 1,
            next_timer: now.saturating_add(CHECK_EXPIRE_INTERVAL),
        };
        s.idents = alloc::vec![None; dests.len()];
        for p in list.positions() {
            s.idents[p] = Some(s.ident_for(&dests[p]));
        }
        s.reindex(dests);
        s
    }

    fn ident_for(&mut self, d: &Destination) -> Ident {
        match d.addr {
            Some(a) => Ident::Addr(a),
            None => {
                self.next_anon += 1;
                Ident::Anon(self.next_anon)
            }
        }
    }

    fn reindex(&mut self, dests: &[Destination]) {
        self.index = self
            .idents
            .iter()
            .enumerate()
            .filter_map(|(p, &x)| Some((x?, p)))
            .collect();
        self.least.rebuild(dests);
        self.under_half.reset(dests.len());
        self.under_half_count = 0;
        for (i, d) in dests.iter().enumerate() {
            let u = under_half(d);
            self.under_half.set(i, u);
            self.under_half_count += usize::from(u);
        }
    }

    /// A destination was added at the head of the list, at position `pos`.
    pub(crate) fn added(&mut self, dests: &[Destination], pos: usize) {
        let Some(d) = dests.get(pos) else { return };
        let id = self.ident_for(d);
        self.trash.remove(&id);
        if let Some(slot) = self.idents.get_mut(pos) {
            *slot = Some(id);
            self.index.insert(id, pos);
        }
        self.changed(dests, pos);
    }

    /// The destination at position `pos` was removed; it was `gone`.
    pub(crate) fn removed(&mut self, dests: &[Destination], pos: usize, gone: Destination) {
        if let Some(id) = self.idents.get_mut(pos).and_then(Option::take) {
            self.index.remove(&id);
            self.trash.insert(id, gone);
        }
        self.changed(dests, pos);
    }

    /// The list was laid out afresh: `moved[p]` is the new position of
    /// position `p`.
    pub(crate) fn relayout(&mut self, dests: &[Destination], moved: &[u32]) {
        let mut idents = alloc::vec![None; dests.len()];
        for (p, id) in self.idents.iter().enumerate() {
            if let (Some(id), Some(&to)) = (id, moved.get(p))
                && let Some(slot) = idents.get_mut(to as usize)
            {
                *slot = Some(*id);
            }
        }
        self.idents = idents;
        self.reindex(dests);
    }

    /// A destination's weight, counters or flag changed.
    pub(crate) fn changed(&mut self, dests: &[Destination], index: usize) {
        self.least.changed(dests, index);
        if let Some(d) = dests.get(index) {
            let was = self.under_half.get(index);
            let now = under_half(d);
            if was != now {
                self.under_half.set(index, now);
                if now {
                    self.under_half_count += 1;
                } else {
                    self.under_half_count -= 1;
                }
            }
        }
    }

    pub(crate) fn set_overhead(&mut self, overhead: Overhead, dests: &[Destination]) {
        self.overhead = overhead;
        self.least.set_overhead(overhead, dests);
    }

    /// `is_overloaded()`: more active connections than weight while some
    /// destination has fewer than half its weight.
    fn is_overloaded(&self, d: &Destination) -> bool {
        i64::from(d.active) > i64::from(d.weight) && self.under_half_count > 0
    }

    /// A destination as the kernel would read it through an entry: listed
    /// (available) or in the trash.
    fn lookup<'a>(
        &'a self,
        dests: &'a [Destination],
        id: Ident,
    ) -> Option<(Option<usize>, &'a Destination)> {
        match self.index.get(&id) {
            Some(&i) => dests.get(i).map(|d| (Some(i), d)),
            None => self.trash.get(&id).map(|d| (None, d)),
        }
    }

    fn find(&mut self, addr: IpAddr) -> Option<&mut Entry> {
        self.buckets[bucket_of(addr)]
            .iter_mut()
            .find(|e| e.addr == addr)
    }

    fn insert(&mut self, e: Entry) {
        self.buckets[bucket_of(e.addr)].push(e);
        self.entries += 1;
        self.live += 1;
    }

    /// Schedule a packet to `daddr` at time `now`.
    pub(crate) fn pick(
        &mut self,
        dests: &[Destination],
        daddr: IpAddr,
        now: u64,
        expiration: u64,
    ) -> Option<usize> {
        match self.which {
            Which::Lblc => self.lblc_pick(dests, daddr, now),
            Which::Lblcr => self.lblcr_pick(dests, daddr, now, expiration),
        }
    }

    /// `ip_vs_lblc_schedule()`.
    fn lblc_pick(&mut self, dests: &[Destination], daddr: IpAddr, now: u64) -> Option<usize> {
        let cached = self.find(daddr).map(|en| {
            en.lastuse = now;
            en.set[0]
        });
        if let Some(id) = cached
            && let Some(&i) = self.index.get(&id)
            && let Some(d) = dests.get(i)
            && d.weight > 0
            && !self.is_overloaded(d)
        {
            return Some(i);
        }
        let i = self.least.pick()?;
        let id = self.idents.get(i).copied().flatten()?;
        // ip_vs_lblc_new(): an entry for another destination is dropped
        // (without counting it out) and a new one made.
        let b = bucket_of(daddr);
        if let Some(pos) = self.buckets[b].iter().position(|e| e.addr == daddr) {
            if self.buckets[b][pos].set[0] == id {
                return Some(i);
            }
            self.buckets[b].swap_remove(pos);
            self.live -= 1;
        }
        self.insert(Entry {
            addr: daddr,
            lastuse: now,
            set: alloc::vec![id],
            lastmod: now,
        });
        Some(i)
    }

    /// `ip_vs_dest_set_min()`: the weighted least-connection member that is
    /// listed and not overloaded.
    fn set_min(&self, dests: &[Destination], set: &[Ident]) -> Option<usize> {
        let mut it = set.iter();
        let (mut least, mut lw, mut loh) = loop {
            let id = *it.next()?;
            let Some((at, d)) = self.lookup(dests, id) else {
                continue;
            };
            if d.overloaded {
                continue;
            }
            if d.weight > 0
                && let Some(i) = at
            {
                break (i, d.weight, self.overhead.of(d.active, d.inactive));
            }
        };
        for &id in it {
            let Some((at, d)) = self.lookup(dests, id) else {
                continue;
            };
            if d.overloaded {
                continue;
            }
            let doh = self.overhead.of(d.active, d.inactive);
            if i128::from(loh) * i128::from(d.weight) > i128::from(doh) * i128::from(lw)
                && let Some(i) = at
            {
                least = i;
                lw = d.weight;
                loh = doh;
            }
        }
        Some(least)
    }

    /// `ip_vs_dest_set_max()`: the weighted most-connection member with a
    /// positive weight, listed or not.
    fn set_max(&self, dests: &[Destination], set: &[Ident]) -> Option<Ident> {
        let mut it = set.iter();
        let (mut most, mut mw, mut moh) = loop {
            let id = *it.next()?;
            let Some((_, d)) = self.lookup(dests, id) else {
                continue;
            };
            if d.weight > 0 {
                break (id, d.weight, self.overhead.of(d.active, d.inactive));
            }
        };
        for &id in it {
            let Some((_, d)) = self.lookup(dests, id) else {
                continue;
            };
            let doh = self.overhead.of(d.active, d.inactive);
            if i128::from(moh) * i128::from(d.weight) < i128::from(doh) * i128::from(mw)
                && d.weight > 0
            {
                most = id;
                mw = d.weight;
                moh = doh;
            }
        }
        Some(most)
    }

    /// `ip_vs_lblcr_schedule()`.
    fn lblcr_pick(
        &mut self,
        dests: &[Destination],
        daddr: IpAddr,
        now: u64,
        expiration: u64,
    ) -> Option<usize> {
        let b = bucket_of(daddr);
        let Some(pos) = self.buckets[b].iter().position(|e| e.addr == daddr) else {
            let i = self.least.pick()?;
            let id = self.idents.get(i).copied().flatten()?;
            self.insert(Entry {
                addr: daddr,
                lastuse: now,
                set: alloc::vec![id],
                lastmod: now,
            });
            return Some(i);
        };
        self.buckets[b][pos].lastuse = now;
        let set = core::mem::take(&mut self.buckets[b][pos].set);
        let mut lastmod = self.buckets[b][pos].lastmod;
        let dest = self.set_min(dests, &set);
        let mut set = set;
        // More than one member and unchanged for longer than the
        // expiration: the most loaded member leaves.
        if set.len() > 1
            && now > lastmod.saturating_add(expiration)
            && let Some(m) = self.set_max(dests, &set)
            && let Some(k) = set.iter().position(|&x| x == m)
        {
            set.remove(k);
            lastmod = now;
        }
        let result = match dest {
            Some(i) if !self.is_overloaded(&dests[i]) => Some(i),
            _ => match self.least.pick() {
                None => None,
                Some(i) => {
                    if let Some(id) = self.idents.get(i).copied().flatten()
                        && !set.contains(&id)
                    {
                        set.insert(0, id);
                        lastmod = now;
                    }
                    Some(i)
                }
            },
        };
        let en = &mut self.buckets[b][pos];
        en.set = set;
        en.lastmod = lastmod;
        result
    }

    /// Run every expiry timer due by `now` (`ip_vs_lblc{,r}_check_expire`),
    /// each at its own due time.
    pub(crate) fn advance(&mut self, now: u64, expiration: u64) {
        while self.next_timer <= now {
            if self.live == 0 {
                // Nothing to collect: only the counter moves (or, with a
                // stale count above the limit, nothing at all after a
                // pending full check).
                if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
                    self.counter = 1;
                    self.next_timer += CHECK_EXPIRE_INTERVAL;
                    continue;
                }
                let ticks = (now - self.next_timer) / CHECK_EXPIRE_INTERVAL + 1;
                if self.entries <= MAX_SIZE {
                    let c = i64::from(self.counter - 1) + (ticks % 30) as i64;
                    self.counter = (c % i64::from(COUNT_FOR_FULL_EXPIRATION)) as i32 + 1;
                }
                self.next_timer += ticks * CHECK_EXPIRE_INTERVAL;
                return;
            }
            let at = self.next_timer;
            self.check_expire(at, expiration);
            self.next_timer = at + CHECK_EXPIRE_INTERVAL;
        }
    }

    fn check_expire(&mut self, now: u64, expiration: u64) {
        if self.counter % COUNT_FOR_FULL_EXPIRATION == 0 {
            // Full check: every entry unused for the expiration goes.
            let mut gone = 0usize;
            for bucket in &mut self.buckets {
                let before = bucket.len();
                bucket.retain(|e| now < e.lastuse.saturating_add(expiration));
                gone += before - bucket.len();
            }
            self.live -= gone;
            self.entries -= gone as i64;
            self.counter = 1;
            return;
        }
        if self.entries <= MAX_SIZE {
            self.counter += 1;
            return;
        }
        let mut goal = (self.entries - MAX_SIZE) * 4 / 3;
        if goal > MAX_SIZE / 2 {
            goal = MAX_SIZE / 2;
        }
        let mut j = self.rover;
        for _ in 0..TAB_SIZE {
            j = (j + 1) & TAB_MASK;
            let bucket = &mut self.buckets[j];
            let before = bucket.len();
            bucket.retain(|e| now < e.lastuse.saturating_add(ENTRY_TIMEOUT));
            let gone = before - bucket.len();
            self.live -= gone;
            self.entries -= gone as i64;
            goal -= gone as i64;
            if goal <= 0 {
                break;
            }
        }
        self.rover = j;
    }

    /// The number of entries in the table.
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}
