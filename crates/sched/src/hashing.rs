//! The table-driven hashing schedulers: `sh` (source hashing), `dh`
//! (destination hashing) and `mh` (Maglev hashing), as
//! `net/netfilter/ipvs/ip_vs_{sh,dh,mh}.c` of Linux 6.1 build and read
//! their tables.
//!
//! Each keeps a table of destination indices that the kernel's hooks
//! rebuild on every destination add, removal and (for `sh` and `mh`) edit;
//! a pick hashes the packet's address (and port, with the port flag) and
//! reads one slot: O(1), plus the kernel's own probe sequence when the
//! fallback flag finds that slot's destination unavailable.

use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

use crate::dest::Destination;
use crate::hash::{fold, gcd, hash_32, hsiphash_u32};
use crate::list::List;
use crate::packet::{Packet, SchedFlags};

/// An empty slot.
const NONE: u32 = u32::MAX;

/// `sh` and `dh`: `IP_VS_SH_TAB_BITS` / `IP_VS_DH_TAB_BITS` (Debian's
/// 6.1 config: 8).
const SH_BITS: u32 = 8;
const SH_SIZE: usize = 1 << SH_BITS;

/// `mh`: `primes[CONFIG_IP_VS_MH_TAB_INDEX - 8]` with the index 12
/// (Debian's and the default), and `IP_VS_MH_TAB_BITS` = 12 / 2.
pub(crate) const MH_SIZE: u32 = 4093;
const MH_BITS: u32 = 6;
/// `generate_hash_secret()`: fixed keys, the same for every service.
const MH_KEY1: [u64; 2] = [2_654_435_761, 2_654_435_761];
const MH_KEY2: [u64; 2] = [2_654_446_892, 2_654_446_892];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sh,
    Dh,
    Mh,
}

#[derive(Debug, Clone)]
pub(crate) struct Hashing {
    kind: Kind,
    /// Slot -> destination position (`NONE` when the list is empty or, for
    /// `mh`, when no destination has a positive last weight).
    table: Vec<u32>,
    /// The positions a rebuild reads, kept to reuse its memory.
    live: Vec<u32>,
}

/// `sh` and `mh`'s `is_unavailable()` negated (`dh` adds the
/// `IP_VS_DEST_F_AVAILABLE` test, always true for a listed destination).
fn available(d: &Destination) -> bool {
    d.weight > 0 && !d.overloaded
}

/// `ip_vs_mh_hashkey()`: `hsiphash` of `offset + port + address`.
fn mh_hashkey(addr: u32, port: u16, key: [u64; 2], offset: u32) -> u32 {
    hsiphash_u32(offset.wrapping_add(u32::from(port)).wrapping_add(addr), key)
}

/// `fls()`: the 1-based position of the highest set bit, 0 for 0.
fn fls(x: u32) -> u32 {
    32 - x.leading_zeros()
}

impl Hashing {
    pub(crate) fn new(kind: Kind, list: &List) -> Self {
        let mut s = Hashing {
            kind,
            table: Vec::new(),
            live: Vec::new(),
        };
        s.rebuild(list);
        s
    }

    /// The `add_dest` / `del_dest` / `upd_dest` hooks: the table is
    /// rebuilt from the list (`dh` has no `upd_dest`, but its table does
    /// not depend on weights, so rebuilding it changes nothing). The table
    /// holds the destinations' positions in the list storage; a re-layout
    /// of the list rebuilds it too (to the same destinations).
    pub(crate) fn rebuild(&mut self, list: &List) {
        // sh and dh give each of their 256 buckets one destination at
        // least, in list order: they never read past the 256th (the list
        // wraps only when it is shorter), so the refill costs O(256)
        // whatever the list's length. mh reads every destination.
        let take = match self.kind {
            Kind::Sh | Kind::Dh => SH_SIZE,
            Kind::Mh => usize::MAX,
        };
        let mut live = core::mem::take(&mut self.live);
        live.clear();
        // Positions fit in u32: a list holds fewer than u32::MAX.
        live.extend(list.positions().take(take).map(|p| p as u32));
        let dests = list.slots();
        match self.kind {
            Kind::Sh => self.sh_reassign(dests, &live, true),
            Kind::Dh => self.sh_reassign(dests, &live, false),
            Kind::Mh => self.mh_reassign(dests, &live),
        }
        self.live = live;
    }

    /// `ip_vs_sh_reassign()` (`by_weight`) and `ip_vs_dh_reassign()`:
    /// the 256 buckets take the destinations in list order, cycling; `sh`
    /// gives each as many consecutive buckets as its weight (at least one),
    /// `dh` one each.
    fn sh_reassign(&mut self, dests: &[Destination], live: &[u32], by_weight: bool) {
        self.table.clear();
        self.table.resize(SH_SIZE, NONE);
        let weight = |p: u32| dests.get(p as usize).map_or(0, |d| d.weight);
        let Some(&first) = live.first() else { return };
        let (mut k, mut p, mut w, mut count) = (0usize, first, weight(first), 0i32);
        for slot in &mut self.table {
            *slot = p;
            count += 1;
            if !by_weight || count >= w {
                k += 1;
                if k == live.len() {
                    k = 0;
                }
                p = live.get(k).copied().unwrap_or(first);
                w = weight(p);
                count = 0;
            }
        }
    }

    /// `ip_vs_mh_reassign()`: the gcd and shift of the last weights, each
    /// destination's offset and skip from its address, then the Maglev
    /// population of the 4093 slots. More destinations than slots: the
    /// kernel refuses (`-EINVAL`) and keeps its old table; here the table
    /// is emptied (see the README).
    fn mh_reassign(&mut self, slots: &[Destination], live: &[u32]) {
        self.table.clear();
        self.table.resize(MH_SIZE as usize, NONE);
        if live.len() > MH_SIZE as usize {
            return;
        }
        let dests: Vec<&Destination> = live.iter().filter_map(|&p| slots.get(p as usize)).collect();
        // ip_vs_mh_gcd_weight()
        let mut g = 0;
        for d in &dests {
            let w = d.last_weight;
            if w > 0 {
                g = if g > 0 { gcd(w, g) } else { w };
            }
        }
        if g < 1 {
            return;
        }
        // ip_vs_mh_shift_weight()
        let max = dests.iter().map(|d| d.last_weight).max().unwrap_or(0);
        let mw = u32::try_from(max / g).unwrap_or(0);
        let rshift = fls(mw).saturating_sub(MH_BITS);
        // ip_vs_mh_permutate()
        struct Setup {
            perm: u32,
            skip: u32,
            turns: i32,
        }
        let unspecified = (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0u16);
        let setup: Vec<Setup> = dests
            .iter()
            .map(|d| {
                let (ip, port) = d.addr.map_or(unspecified, |a| (a.ip(), a.port()));
                let addr = fold(ip);
                let offset = mh_hashkey(addr, port, MH_KEY1, 0) % MH_SIZE;
                let skip = mh_hashkey(addr, port, MH_KEY2, 0) % (MH_SIZE - 1) + 1;
                let lw = d.last_weight;
                let turns = (lw / g) >> rshift;
                Setup {
                    perm: offset,
                    skip,
                    turns: if turns != 0 {
                        turns
                    } else {
                        i32::from(lw != 0)
                    },
                }
            })
            .collect();
        // ip_vs_mh_populate()
        let mut setup = setup;
        let mut taken = vec![false; MH_SIZE as usize];
        let mut n = 0u32;
        loop {
            for (i, ds) in setup.iter_mut().enumerate() {
                if ds.turns < 1 {
                    continue;
                }
                let mut placed = 0;
                loop {
                    while taken[ds.perm as usize] {
                        ds.perm += ds.skip;
                        if ds.perm >= MH_SIZE {
                            ds.perm -= MH_SIZE;
                        }
                    }
                    taken[ds.perm as usize] = true;
                    self.table[ds.perm as usize] = live[i];
                    n += 1;
                    if n == MH_SIZE {
                        return;
                    }
                    placed += 1;
                    if placed >= ds.turns {
                        break;
                    }
                }
            }
        }
    }

    /// The list was laid out afresh: the table keeps its destinations,
    /// now at their new positions (`moved[p]` is position `p`'s). O(table).
    pub(crate) fn relayout(&mut self, moved: &[u32]) {
        for slot in &mut self.table {
            if *slot != NONE {
                *slot = moved.get(*slot as usize).copied().unwrap_or(NONE);
            }
        }
    }

    /// The destination the packet goes to, if any.
    pub(crate) fn pick(
        &self,
        dests: &[Destination],
        packet: &Packet,
        flags: SchedFlags,
    ) -> Option<usize> {
        match self.kind {
            Kind::Sh => self.sh_pick(dests, packet, flags),
            Kind::Dh => {
                // ip_vs_dh_schedule(): the destination address's bucket.
                let slot = hash_32(fold(packet.destination.ip()), SH_BITS) as usize;
                let d = *self.table.get(slot)? as usize;
                dests.get(d).filter(|x| available(x)).map(|_| d)
            }
            Kind::Mh => self.mh_pick(dests, packet, flags),
        }
    }

    /// `ip_vs_sh_schedule()`: `ip_vs_sh_get()`, or with flag 1
    /// `ip_vs_sh_get_fallback()`'s probe of up to 256 more buckets.
    fn sh_pick(&self, dests: &[Destination], packet: &Packet, flags: SchedFlags) -> Option<usize> {
        let port = if flags.port() {
            packet.source.port()
        } else {
            0
        };
        let key = u32::from(port).wrapping_add(fold(packet.source.ip()));
        let h = hash_32(key, SH_BITS);
        let slot = |offset: u32| (offset.wrapping_add(h) as usize) & (SH_SIZE - 1);
        let at = |i: usize| -> Option<(usize, bool)> {
            let d = *self.table.get(i)?;
            let dest = dests.get(d as usize)?;
            Some((d as usize, available(dest)))
        };
        let ihash = slot(0);
        let (d, ok) = at(ihash)?;
        if ok {
            return Some(d);
        }
        if !flags.fallback() {
            return None;
        }
        for offset in 0..SH_SIZE {
            let roffset = (offset + ihash) % SH_SIZE;
            let (d, ok) = at(slot(roffset as u32))?;
            if ok {
                return Some(d);
            }
        }
        None
    }

    /// `ip_vs_mh_schedule()`: `ip_vs_mh_get()`, or with flag 1
    /// `ip_vs_mh_get_fallback()`'s probe of up to 4093 more slots.
    fn mh_pick(&self, dests: &[Destination], packet: &Packet, flags: SchedFlags) -> Option<usize> {
        let port = if flags.port() {
            packet.source.port()
        } else {
            0
        };
        let addr = fold(packet.source.ip());
        let at = |offset: u32| -> Option<(usize, bool)> {
            let slot = mh_hashkey(addr, port, MH_KEY1, offset) % MH_SIZE;
            let d = *self.table.get(slot as usize)?;
            let dest = dests.get(d as usize)?;
            Some((d as usize, available(dest)))
        };
        let ihash = mh_hashkey(addr, port, MH_KEY1, 0) % MH_SIZE;
        let (d, ok) = at(0)?;
        if ok {
            return Some(d);
        }
        if !flags.fallback() {
            return None;
        }
        for offset in 0..MH_SIZE {
            let (d, ok) = at((offset + ihash) % MH_SIZE)?;
            if ok {
                return Some(d);
            }
        }
        None
    }

    /// How many slots each destination holds (for tests and docs).
    #[cfg(test)]
    pub(crate) fn slots(&self, list: &List, n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &d in &self.table {
            if let Some(x) = c.get_mut(list.index_of(d as usize)) {
                *x += 1;
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_fills_buckets_by_weight_and_dh_one_each() {
        let dests = [
            Destination::new(3),
            Destination::new(0),
            Destination::new(1),
        ];
        let list = List::from_list(dests.map(|d| (d, 0)));
        let sh = Hashing::new(Kind::Sh, &list);
        // Cycles of 3 + 1 + 1 = 5 buckets: 256 = 51 * 5 + 1.
        assert_eq!(sh.slots(&list, 3), [154, 51, 51]);
        let first: Vec<usize> = sh.table[..6]
            .iter()
            .map(|&p| list.index_of(p as usize))
            .collect();
        assert_eq!(first, [0, 0, 0, 1, 2, 0]);
        let dh = Hashing::new(Kind::Dh, &list);
        assert_eq!(dh.slots(&list, 3), [86, 85, 85]);
    }

    #[test]
    fn mh_fills_every_slot_by_last_weight() {
        let dests: Vec<Destination> = (0..4)
            .map(|i| {
                Destination::new([1, 2, 1, 0][i]).with_addr(core::net::SocketAddr::new(
                    IpAddr::V4(Ipv4Addr::new(10, 0, 0, i as u8 + 2)),
                    80,
                ))
            })
            .collect();
        let list = List::from_list(dests.into_iter().map(|d| (d, 0)));
        let mh = Hashing::new(Kind::Mh, &list);
        let slots = mh.slots(&list, 4);
        assert_eq!(slots.iter().sum::<usize>(), MH_SIZE as usize);
        assert_eq!(slots[3], 0);
        // Weights 1:2:1 -> turns 1, 2, 1 per round.
        assert!((1020..=1025).contains(&slots[0]), "{slots:?}");
        assert!((2044..=2048).contains(&slots[1]), "{slots:?}");
    }
}
