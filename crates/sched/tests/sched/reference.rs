//! A plain reference model of the kernel's schedulers: the list walks of
//! `net/netfilter/ipvs/ip_vs_{rr,wrr,lc,wlc,sed,nq,fo,ovf}.c` (Linux 6.x),
//! step by step, over a list with a head sentinel, plus the notebook's
//! N-of-N patch to `ip_vs_rr_schedule`, the scheduler hooks run by
//! `ip_vs_ctl.c` and the threshold rules of `ip_vs_dest_update_overload()`;
//! and the schedulers that read the packet, `ip_vs_{sh,dh,mh,lblc,lblcr}.c`
//! of Linux 6.1 and upstream's `ip_vs_twos.c`, with the kernel's trash of
//! removed destinations.
//!
//! Deliberately naive: every pick walks the list. It is the yardstick the
//! fast `sched::Service` is compared with (tests, fuzzing) and timed against
//! (benches, which include this file).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use sched::{Packet, Scheduler};

/// `struct ip_vs_dest`, the fields the schedulers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefDest {
    pub weight: i32,
    pub active: u32,
    pub inactive: u32,
    pub overloaded: bool,
    pub upper: u32,
    pub lower: u32,
}

impl RefDest {
    pub fn new(weight: i32) -> Self {
        RefDest {
            weight,
            active: 0,
            inactive: 0,
            overloaded: false,
            upper: 0,
            lower: 0,
        }
    }

    /// `ip_vs_dest_totalconns()`.
    fn totalconns(&self) -> i64 {
        i64::from(self.active) + i64::from(self.inactive)
    }

    /// `ip_vs_dest_conn_overhead()` (without the 32-bit wrap).
    fn conn_overhead(&self, classic: bool) -> i64 {
        let active = i64::from(self.active);
        if classic {
            (active << 8) + i64::from(self.inactive)
        } else {
            (active << 8) + self.totalconns()
        }
    }

    /// `ip_vs_bind_dest()`'s overload step before 6.1.183: set at the upper
    /// threshold, never cleared here.
    fn bind_overload_classic(&mut self) {
        if self.upper != 0 && self.totalconns() >= i64::from(self.upper) {
            self.overloaded = true;
        }
    }

    /// `ip_vs_unbind_dest()`'s overload step before 6.1.183.
    fn unbind_overload_classic(&mut self) {
        if self.lower != 0 {
            if self.totalconns() < i64::from(self.lower) {
                self.overloaded = false;
            }
        } else if self.upper != 0 {
            if self.totalconns() * 4 < i64::from(self.upper) * 3 {
                self.overloaded = false;
            }
        } else if self.overloaded {
            self.overloaded = false;
        }
    }

    /// `ip_vs_dest_update_overload()`.
    fn update_overload(&mut self) {
        let u = self.upper;
        if u == 0 {
            self.overloaded = false;
            return;
        }
        let conns = self.totalconns();
        if conns >= i64::from(u) {
            self.overloaded = true;
            return;
        }
        let l = if self.lower != 0 {
            self.lower
        } else {
            u - (u >> 2)
        };
        if conns >= i64::from(l) {
            return;
        }
        self.overloaded = false;
    }
}

/// A list position: the head sentinel or a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pos {
    Head,
    At(usize),
}

/// `svc->sched_data`.
#[derive(Debug, Clone, Copy)]
enum Data {
    /// `rr`: the cursor.
    Rr { p: Pos },
    /// `wrr`: `struct ip_vs_wrr_mark`.
    Wrr { cl: Pos, cw: i32, mw: i32, di: i32 },
    /// The notebook's patch: the cursor and its `i`, `n`.
    NofN { p: Pos, i: u64, n: u64 },
    /// Schedulers without state.
    None,
}

/// A virtual service: `svc->destinations` (index 0 follows the head) and
/// its scheduler.
#[derive(Debug, Clone)]
pub struct RefService {
    pub dests: Vec<RefDest>,
    pub scheduler: Scheduler,
    pub classic: bool,
    /// The threshold rules before 6.1.183.
    pub classic_thresholds: bool,
    data: Data,
    /// Per destination: address, `last_weight`, and who entries point at.
    pub meta: Vec<RefMeta>,
    /// `svc->flags`' scheduler bits: 1 = `IP_VS_SVC_F_SCHED1` (fallback),
    /// 2 = `SCHED2` (port).
    pub flags: u8,
    /// `jiffies`, in milliseconds.
    pub now: u64,
    /// `sysctl_lblc{,r}_expiration`, in milliseconds.
    pub expiration: u64,
    /// The kernel's `dest_trash`: removed destinations with their meta.
    pub trash: Vec<(RefMeta, RefDest)>,
    next_id: u64,
    keyed: KeyedData,
}

fn gcd(a: i32, b: i32) -> i32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl RefService {
    /// `ipvsadm -A`: an empty service, scheduler bound.
    pub fn new(scheduler: Scheduler) -> Self {
        let mut s = RefService {
            dests: Vec::new(),
            scheduler,
            classic: false,
            classic_thresholds: false,
            data: Data::None,
            meta: Vec::new(),
            flags: 0,
            now: 0,
            expiration: 24 * 60 * 60 * 1000,
            trash: Vec::new(),
            next_id: 0,
            keyed: KeyedData::None,
        };
        s.init_service();
        s
    }

    /// A service with this list, scheduler bound afterwards.
    pub fn with_destinations(scheduler: Scheduler, dests: Vec<RefDest>) -> Self {
        let mut s = RefService::new(scheduler);
        s.dests = dests;
        s.init_service();
        s
    }

    /// `ipvsadm -E -s`: unbind, bind anew.
    pub fn rebind(&mut self, scheduler: Scheduler) {
        self.scheduler = scheduler;
        self.init_service();
    }

    fn next(&self, p: Pos) -> Pos {
        match p {
            Pos::Head if self.dests.is_empty() => Pos::Head,
            Pos::Head => Pos::At(0),
            Pos::At(i) if i + 1 < self.dests.len() => Pos::At(i + 1),
            Pos::At(_) => Pos::Head,
        }
    }

    fn dest(&self, p: Pos) -> &RefDest {
        match p {
            Pos::At(i) => &self.dests[i],
            Pos::Head => panic!("the head is no destination"),
        }
    }

    /// The scheduler's `init_service`.
    fn init_service(&mut self) {
        self.fix_meta();
        self.keyed_init();
        self.data = match self.scheduler {
            Scheduler::Rr => Data::Rr { p: Pos::Head },
            Scheduler::Wrr => {
                let di = self.wrr_gcd_weight();
                let mw = self.wrr_max_weight() - (di - 1);
                Data::Wrr {
                    cl: Pos::Head,
                    cw: mw,
                    mw,
                    di,
                }
            }
            Scheduler::NofN => Data::NofN {
                p: Pos::Head,
                i: 0,
                n: 0,
            },
            Scheduler::NofNSeed => Data::NofN {
                p: Pos::Head,
                i: 1,
                n: 1,
            },
            _ => Data::None,
        };
    }

    fn wrr_gcd_weight(&self) -> i32 {
        let mut g = 0;
        for d in &self.dests {
            let weight = d.weight;
            if weight > 0 {
                if g > 0 {
                    g = gcd(weight, g);
                } else {
                    g = weight;
                }
            }
        }
        if g != 0 { g } else { 1 }
    }

    fn wrr_max_weight(&self) -> i32 {
        let mut weight = 0;
        for d in &self.dests {
            if d.weight > weight {
                weight = d.weight;
            }
        }
        weight
    }

    /// `ip_vs_wrr_dest_changed`.
    fn wrr_dest_changed(&mut self) {
        let di = self.wrr_gcd_weight();
        let mw = self.wrr_max_weight() - (di - 1);
        if let Data::Wrr {
            cl,
            cw,
            mw: m,
            di: d,
        } = &mut self.data
        {
            *cl = Pos::Head;
            *d = di;
            *m = mw;
            if *cw > *m || *cw == 0 {
                *cw = *m;
            } else if *d > 1 {
                *cw = (*cw / *d) * *d + 1;
            }
        }
    }

    // ----- control path (ip_vs_ctl.c, ip_vs_conn.c) -----

    /// `ip_vs_add_dest`: checks, `list_add_rcu` at the head, `add_dest`.
    pub fn add(&mut self, d: RefDest) -> bool {
        self.add_at(d, None)
    }

    /// `ip_vs_add_dest` of a destination with this address: one in the
    /// trash (`ip_vs_trash_get_dest`) comes back with its counters, flag
    /// and identity, its thresholds edited to the new ones.
    pub fn add_at(&mut self, mut d: RefDest, addr: Option<SocketAddr>) -> bool {
        if d.weight < 0 || d.upper > i32::MAX as u32 || d.lower > d.upper {
            return false;
        }
        if addr.is_some() && self.meta.iter().any(|m| m.addr == addr) {
            return false;
        }
        self.fix_meta();
        let from_trash = addr.and_then(|a| self.trash.iter().position(|(m, _)| m.addr == Some(a)));
        let id = match from_trash {
            Some(t) => {
                let (m, old) = self.trash.remove(t);
                let (upper, lower) = (d.upper, d.lower);
                d.active = old.active;
                d.inactive = old.inactive;
                d.overloaded = old.overloaded;
                d.upper = old.upper;
                d.lower = old.lower;
                edit_thresholds(&mut d, self.classic_thresholds, upper, lower);
                m.id
            }
            None => {
                if d.upper != 0 {
                    d.update_overload();
                }
                self.next_id += 1;
                self.next_id
            }
        };
        self.meta.insert(
            0,
            RefMeta {
                addr,
                last_weight: d.weight,
                id,
            },
        );
        self.dests.insert(0, d);
        self.keyed_dest_changed();
        match &mut self.data {
            Data::Rr { p } | Data::NofN { p, .. } => {
                if let Pos::At(i) = *p {
                    *p = Pos::At(i + 1);
                }
            }
            Data::Wrr { .. } => self.wrr_dest_changed(),
            Data::None => {}
        }
        true
    }

    /// `ip_vs_del_dest`: unlink, then `del_dest`.
    pub fn remove(&mut self, index: usize) -> Option<RefDest> {
        if index >= self.dests.len() {
            return None;
        }
        self.fix_meta();
        let d = self.dests.remove(index);
        let m = self.meta.remove(index);
        self.trash.push((m, d));
        self.keyed_dest_changed();
        match &mut self.data {
            // `ip_vs_rr_del_dest`: a cursor on the unlinked entry goes to
            // `p->next->prev`, its predecessor (or the head).
            Data::Rr { p } | Data::NofN { p, .. } => {
                if let Pos::At(i) = *p {
                    *p = if i == index {
                        if index == 0 {
                            Pos::Head
                        } else {
                            Pos::At(index - 1)
                        }
                    } else if i > index {
                        Pos::At(i - 1)
                    } else {
                        Pos::At(i)
                    };
                }
            }
            Data::Wrr { .. } => self.wrr_dest_changed(),
            Data::None => {}
        }
        Some(d)
    }

    /// `ip_vs_edit_dest` with a new weight: `upd_dest` runs.
    pub fn set_weight(&mut self, index: usize, weight: i32) -> bool {
        if index >= self.dests.len() || weight < 0 {
            return false;
        }
        self.dests[index].weight = weight;
        self.fix_meta();
        if weight != 0 {
            self.meta[index].last_weight = weight;
        }
        self.upd_dest();
        true
    }

    /// `ip_vs_edit_dest` with new thresholds.
    pub fn set_thresholds(&mut self, index: usize, upper: u32, lower: u32) -> bool {
        if index >= self.dests.len() || upper > i32::MAX as u32 || lower > upper {
            return false;
        }
        let classic = self.classic_thresholds;
        let d = &mut self.dests[index];
        if classic {
            if upper == 0 || upper > d.upper {
                d.overloaded = false;
            }
            d.upper = upper;
            d.lower = lower;
        } else if d.upper != upper || d.lower != lower {
            d.upper = upper;
            d.lower = lower;
            d.update_overload();
        }
        self.upd_dest();
        true
    }

    fn upd_dest(&mut self) {
        if let Data::Wrr { .. } = self.data {
            self.wrr_dest_changed();
        }
        // dh has no upd_dest; sh and mh rebuild.
        if matches!(self.scheduler, Scheduler::Sh | Scheduler::Mh) {
            self.keyed_dest_changed();
        }
    }

    /// `ip_vs_bind_dest` of an active connection.
    pub fn connect(&mut self, index: usize) -> bool {
        let Some(d) = self.dests.get_mut(index) else {
            return false;
        };
        let Some(a) = d.active.checked_add(1) else {
            return false;
        };
        d.active = a;
        if self.classic_thresholds {
            d.bind_overload_classic();
        } else {
            d.update_overload();
        }
        true
    }

    /// `ip_vs_bind_dest` of an inactive connection.
    pub fn connect_inactive(&mut self, index: usize) -> bool {
        let Some(d) = self.dests.get_mut(index) else {
            return false;
        };
        let Some(n) = d.inactive.checked_add(1) else {
            return false;
        };
        d.inactive = n;
        if self.classic_thresholds {
            d.bind_overload_classic();
        } else {
            d.update_overload();
        }
        true
    }

    /// `ip_vs_unbind_dest` of an active connection.
    pub fn disconnect(&mut self, index: usize) -> bool {
        let Some(d) = self.dests.get_mut(index) else {
            return false;
        };
        if d.active == 0 {
            return false;
        }
        d.active -= 1;
        if self.classic_thresholds {
            d.unbind_overload_classic();
        } else if d.overloaded {
            d.update_overload();
        }
        true
    }

    /// `ip_vs_unbind_dest` of an inactive connection.
    pub fn expire_inactive(&mut self, index: usize) -> bool {
        let Some(d) = self.dests.get_mut(index) else {
            return false;
        };
        if d.inactive == 0 {
            return false;
        }
        d.inactive -= 1;
        if self.classic_thresholds {
            d.unbind_overload_classic();
        } else if d.overloaded {
            d.update_overload();
        }
        true
    }

    /// A state change active -> inactive.
    pub fn deactivate(&mut self, index: usize) -> bool {
        let Some(d) = self.dests.get_mut(index) else {
            return false;
        };
        if d.active == 0 || d.inactive == u32::MAX {
            return false;
        }
        d.active -= 1;
        d.inactive += 1;
        true
    }

    /// A state change inactive -> active.
    pub fn activate(&mut self, index: usize) -> bool {
        let Some(d) = self.dests.get_mut(index) else {
            return false;
        };
        if d.inactive == 0 || d.active == u32::MAX {
            return false;
        }
        d.inactive -= 1;
        d.active += 1;
        true
    }

    // ----- the schedulers -----

    pub fn pick(&mut self) -> Option<usize> {
        match self.scheduler {
            Scheduler::Rr => self.rr_schedule(),
            Scheduler::Wrr => self.wrr_schedule(),
            Scheduler::Lc => self.lc_schedule(),
            Scheduler::Wlc => self.wlc_schedule(false),
            Scheduler::Sed => self.wlc_schedule(true),
            Scheduler::Nq => self.nq_schedule(),
            Scheduler::Fo => self.fo_schedule(),
            Scheduler::Ovf => self.ovf_schedule(),
            Scheduler::NofN | Scheduler::NofNSeed => self.nofn_schedule(),
            _ => self.pick_packet(&Packet::UNSPECIFIED),
        }
    }

    /// `ip_vs_rr_schedule`.
    fn rr_schedule(&mut self) -> Option<usize> {
        let Data::Rr { p } = self.data else {
            return None;
        };
        let last = p;
        let mut dest = p;
        let mut pass = 0;
        loop {
            // list_for_each_entry_continue_rcu(dest, ...)
            dest = self.next(dest);
            while dest != Pos::Head {
                let d = self.dest(dest);
                if !d.overloaded && d.weight > 0 {
                    self.data = Data::Rr { p: dest };
                    return match dest {
                        Pos::At(i) => Some(i),
                        Pos::Head => None,
                    };
                }
                if dest == last {
                    return None;
                }
                dest = self.next(dest);
            }
            pass += 1;
            if !(pass < 2 && p != Pos::Head) {
                return None;
            }
        }
    }

    /// `ip_vs_wrr_schedule`.
    fn wrr_schedule(&mut self) -> Option<usize> {
        let Data::Wrr { cl, mut cw, mw, di } = self.data else {
            return None;
        };
        let mut dest = cl;
        let mut stop: Option<Pos> = None;
        let mut last_pass = false;
        let mut restarted = false;
        let save = |s: &mut Self, cl: Pos, cw: i32| {
            s.data = Data::Wrr { cl, cw, mw, di };
        };
        if mw == 0 {
            save(self, dest, cw);
            return None;
        }
        let last = dest;
        loop {
            dest = self.next(dest);
            while dest != Pos::Head {
                let d = self.dest(dest);
                if !d.overloaded && d.weight >= cw {
                    save(self, dest, cw);
                    return match dest {
                        Pos::At(i) => Some(i),
                        Pos::Head => None,
                    };
                }
                if Some(dest) == stop {
                    save(self, dest, cw);
                    return None;
                }
                dest = self.next(dest);
            }
            cw -= di;
            if cw <= 0 {
                cw = mw;
                if last_pass || last == Pos::Head {
                    save(self, dest, cw);
                    return None;
                }
                restarted = true;
            }
            last_pass = cw <= di;
            if last_pass && restarted && last != Pos::Head {
                stop = Some(last);
            }
        }
    }

    /// `ip_vs_lc_schedule`.
    fn lc_schedule(&self) -> Option<usize> {
        let mut least: Option<usize> = None;
        let mut loh: u64 = 0;
        for (i, d) in self.dests.iter().enumerate() {
            if d.overloaded || d.weight == 0 {
                continue;
            }
            let doh = d.conn_overhead(self.classic) as u64;
            if least.is_none() || doh < loh {
                least = Some(i);
                loh = doh;
            }
        }
        least
    }

    /// `ip_vs_wlc_schedule`, or `ip_vs_sed_schedule` (overhead active + 1).
    fn wlc_schedule(&self, sed: bool) -> Option<usize> {
        let overhead = |d: &RefDest| -> i64 {
            if sed {
                i64::from(d.active) + 1
            } else {
                d.conn_overhead(self.classic)
            }
        };
        let mut it = self.dests.iter().enumerate();
        let (mut least, mut loh) = loop {
            let (i, d) = it.next()?;
            if !d.overloaded && d.weight > 0 {
                break (i, overhead(d));
            }
        };
        for (i, d) in it {
            if d.overloaded {
                continue;
            }
            let doh = overhead(d);
            if i128::from(loh) * i128::from(d.weight)
                > i128::from(doh) * i128::from(self.dests[least].weight)
            {
                least = i;
                loh = doh;
            }
        }
        Some(least)
    }

    /// `ip_vs_nq_schedule`.
    fn nq_schedule(&self) -> Option<usize> {
        let mut least: Option<usize> = None;
        let mut loh: i64 = 0;
        for (i, d) in self.dests.iter().enumerate() {
            if d.overloaded || d.weight == 0 {
                continue;
            }
            let doh = i64::from(d.active) + 1;
            if d.active == 0 {
                return Some(i);
            }
            if least.is_none()
                || i128::from(loh) * i128::from(d.weight)
                    > i128::from(doh) * i128::from(self.dests[least.unwrap()].weight)
            {
                least = Some(i);
                loh = doh;
            }
        }
        least
    }

    /// `ip_vs_fo_schedule`.
    fn fo_schedule(&self) -> Option<usize> {
        let mut hweight = None;
        let mut hw = 0;
        for (i, d) in self.dests.iter().enumerate() {
            if !d.overloaded && d.weight > hw {
                hweight = Some(i);
                hw = d.weight;
            }
        }
        hweight
    }

    /// `ip_vs_ovf_schedule`.
    fn ovf_schedule(&self) -> Option<usize> {
        let mut h = None;
        let mut hw = 0;
        for (i, d) in self.dests.iter().enumerate() {
            let w = d.weight;
            if d.overloaded || i64::from(d.active) > i64::from(w) || w == 0 {
                continue;
            }
            if h.is_none() || w > hw {
                h = Some(i);
                hw = w;
            }
        }
        h
    }

    /// The notebook's patched `ip_vs_rr_schedule` (`int i = 1, n = 1;`
    /// globals there, `i = n = 0` for the intended 1, 2, 3, ... runs).
    fn nofn_schedule(&mut self) -> Option<usize> {
        let Data::NofN { p, mut i, mut n } = self.data else {
            return None;
        };
        let mut p = p;
        if i == n {
            p = self.next(p);
        }
        let mut q = p;
        let mut hit = None;
        loop {
            // do { ... } while (q != p);
            if q == Pos::Head {
                q = self.next(q);
            } else {
                let d = self.dest(q);
                if !d.overloaded && d.weight > 0 {
                    hit = Some(q);
                    break;
                }
                q = self.next(q);
            }
            if q == p {
                break;
            }
        }
        let q = hit?;
        if i == n {
            n = n.saturating_add(1);
            i = 0;
        }
        i += 1;
        self.data = Data::NofN { p: q, i, n };
        match q {
            Pos::At(x) => Some(x),
            Pos::Head => None,
        }
    }
}

// ----- the schedulers that read the packet -----

/// What the kernel's `struct ip_vs_dest` holds besides the counters: its
/// address, `last_weight`, and an identity (the struct's address) that
/// lblc/lblcr entries point at and the trash keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefMeta {
    pub addr: Option<SocketAddr>,
    pub last_weight: i32,
    id: u64,
}

/// `struct ip_vs_lblc_entry` / `ip_vs_lblcr_entry`.
#[derive(Debug, Clone)]
struct RefEntry {
    addr: IpAddr,
    /// lblc: the one destination; lblcr: the set, `list_add_rcu` order.
    set: Vec<u64>,
    lastmod: u64,
    lastuse: u64,
}

/// `struct ip_vs_lblc_table` / `ip_vs_lblcr_table`.
#[derive(Debug, Clone)]
struct RefTable {
    bucket: Vec<Vec<RefEntry>>,
    entries: i64,
    max_size: i64,
    rover: usize,
    counter: i32,
    timer: u64,
}

#[derive(Debug, Clone)]
enum KeyedData {
    /// sh, dh: 256 buckets; mh: 4093 lookup slots (destination ids).
    Table(Vec<Option<u64>>),
    Lblc(RefTable),
    None,
}

const LBLC_TAB_SIZE: usize = 1024;
const CHECK_EXPIRE_INTERVAL: u64 = 60 * 1000;
const ENTRY_TIMEOUT: u64 = 6 * 60 * 1000;
const MH_TAB_SIZE: u32 = 4093;
const MH_TAB_BITS: i32 = 6;

/// `hash_32()`.
fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(0x61C8_8647) >> (32 - bits)
}

/// The schedulers' `addr_fold`, after `ntohl()`.
fn addr_fold(a: IpAddr) -> u32 {
    match a {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let s = a.segments();
            let w = |i: usize| (u32::from(s[i]) << 16) | u32::from(s[i + 1]);
            w(0) ^ w(2) ^ w(4) ^ w(6)
        }
    }
}

/// lib/siphash.c's `hsiphash()` of 4 bytes on 64-bit: HPREAMBLE(4),
/// `b |= le32`, HPOSTAMBLE (SipHash-1-3).
fn hsiphash4(data: u32, key: [u64; 2]) -> u32 {
    let mut v0: u64 = 0x736f6d6570736575;
    let mut v1: u64 = 0x646f72616e646f6d;
    let mut v2: u64 = 0x6c7967656e657261;
    let mut v3: u64 = 0x7465646279746573;
    let mut b: u64 = 4u64 << 56;
    v3 ^= key[1];
    v2 ^= key[0];
    v1 ^= key[1];
    v0 ^= key[0];
    b |= u64::from(data);
    macro_rules! sipround {
        () => {
            v0 = v0.wrapping_add(v1);
            v1 = v1.rotate_left(13);
            v1 ^= v0;
            v0 = v0.rotate_left(32);
            v2 = v2.wrapping_add(v3);
            v3 = v3.rotate_left(16);
            v3 ^= v2;
            v0 = v0.wrapping_add(v3);
            v3 = v3.rotate_left(21);
            v3 ^= v0;
            v2 = v2.wrapping_add(v1);
            v1 = v1.rotate_left(17);
            v1 ^= v2;
            v2 = v2.rotate_left(32);
        };
    }
    v3 ^= b;
    sipround!();
    v0 ^= b;
    v2 ^= 0xff;
    sipround!();
    sipround!();
    sipround!();
    ((v0 ^ v1) ^ (v2 ^ v3)) as u32
}

const MH_HASH1: [u64; 2] = [2654435761, 2654435761];
const MH_HASH2: [u64; 2] = [2654446892, 2654446892];

fn mh_hashkey(addr: IpAddr, port: u16, key: [u64; 2], offset: u32) -> u32 {
    let v = offset
        .wrapping_add(u32::from(port))
        .wrapping_add(addr_fold(addr));
    hsiphash4(v, key)
}

/// `fls()`.
fn fls(x: i32) -> i32 {
    32 - (x as u32).leading_zeros() as i32
}

/// `__ip_vs_update_dest()`'s threshold step (as `set_thresholds`).
fn edit_thresholds(d: &mut RefDest, classic: bool, upper: u32, lower: u32) {
    if classic {
        if upper == 0 || upper > d.upper {
            d.overloaded = false;
        }
        d.upper = upper;
        d.lower = lower;
    } else if d.upper != upper || d.lower != lower {
        d.upper = upper;
        d.lower = lower;
        d.update_overload();
    }
}

impl RefService {
    /// Destinations put into `dests` directly get a meta entry each.
    fn fix_meta(&mut self) {
        while self.meta.len() < self.dests.len() {
            let i = self.meta.len();
            self.next_id += 1;
            self.meta.push(RefMeta {
                addr: None,
                last_weight: self.dests[i].weight,
                id: self.next_id,
            });
        }
        self.meta.truncate(self.dests.len());
    }

    /// `ipvsadm -E -s` of a hashing scheduler after `with_destinations`: every
    /// destination gets these addresses (and its weight as last weight).
    pub fn set_addrs(&mut self, addrs: &[Option<SocketAddr>]) {
        self.fix_meta();
        for (m, a) in self.meta.iter_mut().zip(addrs) {
            m.addr = *a;
        }
        self.keyed_init();
    }

    fn keyed_init(&mut self) {
        self.keyed = match self.scheduler {
            Scheduler::Sh | Scheduler::Dh | Scheduler::Mh => KeyedData::Table(Vec::new()),
            Scheduler::Lblc | Scheduler::Lblcr => KeyedData::Lblc(RefTable {
                bucket: vec![Vec::new(); LBLC_TAB_SIZE],
                entries: 0,
                max_size: (LBLC_TAB_SIZE * 16) as i64,
                rover: 0,
                counter: 1,
                timer: self.now + CHECK_EXPIRE_INTERVAL,
            }),
            _ => KeyedData::None,
        };
        self.keyed_dest_changed();
    }

    /// sh, dh, mh's `add_dest` / `del_dest` / `upd_dest`: reassign.
    fn keyed_dest_changed(&mut self) {
        self.fix_meta();
        let table = match self.scheduler {
            Scheduler::Sh => self.sh_reassign(true),
            Scheduler::Dh => self.sh_reassign(false),
            Scheduler::Mh => match self.mh_reassign() {
                Some(t) => t,
                None => vec![None; MH_TAB_SIZE as usize],
            },
            _ => return,
        };
        self.keyed = KeyedData::Table(table);
    }

    /// `ip_vs_sh_reassign()` (`by_weight`) / `ip_vs_dh_reassign()`.
    fn sh_reassign(&self, by_weight: bool) -> Vec<Option<u64>> {
        let mut b = vec![None; 256];
        let empty = self.dests.is_empty();
        let mut p = Pos::Head;
        let mut d_count = 0;
        for slot in b.iter_mut() {
            if empty {
                *slot = None;
            } else {
                if p == Pos::Head {
                    p = self.next(p);
                }
                let Pos::At(i) = p else { unreachable!() };
                *slot = Some(self.meta[i].id);
                if by_weight {
                    d_count += 1;
                    if d_count >= self.dests[i].weight {
                        p = self.next(p);
                        d_count = 0;
                    }
                } else {
                    p = self.next(p);
                }
            }
        }
        b
    }

    /// `ip_vs_mh_reassign()`: gcd, shift, permutate, populate.
    fn mh_reassign(&self) -> Option<Vec<Option<u64>>> {
        if self.dests.len() > MH_TAB_SIZE as usize {
            return None;
        }
        let mut g = 0;
        for m in &self.meta {
            let weight = m.last_weight;
            if weight > 0 {
                g = if g > 0 { gcd(weight, g) } else { weight };
            }
        }
        let mut lookup = vec![None; MH_TAB_SIZE as usize];
        if g < 1 {
            return Some(lookup);
        }
        let mut weight = 0;
        for m in &self.meta {
            if m.last_weight > weight {
                weight = m.last_weight;
            }
        }
        let mw = weight / g;
        let shift = fls(mw) - MH_TAB_BITS;
        let rshift = if shift >= 0 { shift } else { 0 };
        // (offset, skip, perm, turns)
        let mut ds: Vec<(u32, u32, u32, i32)> = Vec::new();
        for m in &self.meta {
            let (a, port) = match m.addr {
                Some(a) => (a.ip(), a.port()),
                None => (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            };
            let offset = mh_hashkey(a, port, MH_HASH1, 0) % MH_TAB_SIZE;
            let skip = mh_hashkey(a, port, MH_HASH2, 0) % (MH_TAB_SIZE - 1) + 1;
            let lw = m.last_weight;
            let t = (lw / g) >> rshift;
            let turns = if t != 0 { t } else { i32::from(lw != 0) };
            ds.push((offset, skip, offset, turns));
        }
        let mut table = vec![false; MH_TAB_SIZE as usize];
        let mut n = 0;
        let mut dt_count = 0;
        let mut p = Pos::Head;
        while n < MH_TAB_SIZE {
            if p == Pos::Head {
                p = self.next(p);
            }
            let mut d = 0usize;
            while p != Pos::Head {
                if ds[d].3 < 1 {
                    p = self.next(p);
                    d += 1;
                    continue;
                }
                let mut c = ds[d].2;
                while table[c as usize] {
                    ds[d].2 += ds[d].1;
                    if ds[d].2 >= MH_TAB_SIZE {
                        ds[d].2 -= MH_TAB_SIZE;
                    }
                    c = ds[d].2;
                }
                table[c as usize] = true;
                let Pos::At(i) = p else { unreachable!() };
                lookup[c as usize] = Some(self.meta[i].id);
                n += 1;
                if n == MH_TAB_SIZE {
                    return Some(lookup);
                }
                dt_count += 1;
                if dt_count >= ds[d].3 {
                    dt_count = 0;
                    p = self.next(p);
                    d += 1;
                }
            }
        }
        Some(lookup)
    }

    /// A destination by identity: listed (index, available) or in the trash.
    fn by_id(&self, id: u64) -> Option<(Option<usize>, RefDest)> {
        if let Some(i) = self.meta.iter().position(|m| m.id == id) {
            return Some((Some(i), self.dests[i]));
        }
        self.trash
            .iter()
            .find(|(m, _)| m.id == id)
            .map(|(_, d)| (None, *d))
    }

    /// `jiffies` moves on: the periodic timer runs at each due time.
    pub fn advance(&mut self, now: u64) {
        if now <= self.now {
            return;
        }
        loop {
            let due = match &self.keyed {
                KeyedData::Lblc(t) if t.timer <= now => t.timer,
                _ => break,
            };
            self.now = due;
            self.check_expire();
            if let KeyedData::Lblc(t) = &mut self.keyed {
                t.timer = due + CHECK_EXPIRE_INTERVAL;
            }
        }
        self.now = now;
    }

    /// `ip_vs_lblc_check_expire()` / `ip_vs_lblcr_check_expire()`.
    fn check_expire(&mut self) {
        let now = self.now;
        let expiration = self.expiration;
        let KeyedData::Lblc(tbl) = &mut self.keyed else {
            return;
        };
        if tbl.counter % 30 == 0 {
            // ip_vs_lblc_full_check()
            let mut j = tbl.rover;
            for _ in 0..LBLC_TAB_SIZE {
                j = (j + 1) & (LBLC_TAB_SIZE - 1);
                let mut k = 0;
                while k < tbl.bucket[j].len() {
                    if now < tbl.bucket[j][k].lastuse + expiration {
                        k += 1;
                        continue;
                    }
                    tbl.bucket[j].remove(k);
                    tbl.entries -= 1;
                }
            }
            tbl.rover = j;
            tbl.counter = 1;
            return;
        }
        if tbl.entries <= tbl.max_size {
            tbl.counter += 1;
            return;
        }
        let mut goal = (tbl.entries - tbl.max_size) * 4 / 3;
        if goal > tbl.max_size / 2 {
            goal = tbl.max_size / 2;
        }
        let mut j = tbl.rover;
        for _ in 0..LBLC_TAB_SIZE {
            j = (j + 1) & (LBLC_TAB_SIZE - 1);
            let mut k = 0;
            while k < tbl.bucket[j].len() {
                if now < tbl.bucket[j][k].lastuse + ENTRY_TIMEOUT {
                    k += 1;
                    continue;
                }
                tbl.bucket[j].remove(k);
                tbl.entries -= 1;
                goal -= 1;
            }
            if goal <= 0 {
                break;
            }
        }
        tbl.rover = j;
    }

    /// The entries in the lblc/lblcr table.
    pub fn table_entries(&self) -> usize {
        match &self.keyed {
            KeyedData::Lblc(t) => t.bucket.iter().map(Vec::len).sum(),
            _ => 0,
        }
    }

    /// The kernel's `ip_vs_schedule()` of the packet's scheduler.
    pub fn pick_packet(&mut self, packet: &Packet) -> Option<usize> {
        self.fix_meta();
        let id = match self.scheduler {
            Scheduler::Sh => self.sh_schedule(packet),
            Scheduler::Dh => self.dh_schedule(packet),
            Scheduler::Mh => self.mh_schedule(packet),
            Scheduler::Lblc => self.lblc_schedule(packet.destination.ip()),
            Scheduler::Lblcr => self.lblcr_schedule(packet.destination.ip()),
            Scheduler::Twos => return self.twos_schedule(packet.random),
            _ => return self.pick(),
        }?;
        self.meta.iter().position(|m| m.id == id)
    }

    fn table_id(&self, slot: u32) -> Option<u64> {
        match &self.keyed {
            KeyedData::Table(t) => t.get(slot as usize).copied().flatten(),
            _ => None,
        }
    }

    fn is_unavailable(&self, id: u64) -> bool {
        let (_, d) = self.by_id(id).expect("a table holds listed destinations");
        d.weight <= 0 || d.overloaded
    }

    /// `ip_vs_sh_schedule()`.
    fn sh_schedule(&self, p: &Packet) -> Option<u64> {
        let port = if self.flags & 2 != 0 {
            p.source.port()
        } else {
            0
        };
        let addr = p.source.ip();
        let hashkey = |offset: u32| {
            offset.wrapping_add(hash_32(u32::from(port).wrapping_add(addr_fold(addr)), 8)) & 255
        };
        if self.flags & 1 == 0 {
            let dest = self.table_id(hashkey(0))?;
            return (!self.is_unavailable(dest)).then_some(dest);
        }
        let ihash = hashkey(0);
        let dest = self.table_id(ihash)?;
        if !self.is_unavailable(dest) {
            return Some(dest);
        }
        for offset in 0..256 {
            let roffset = (offset + ihash) % 256;
            let hash = hashkey(roffset);
            let dest = self.table_id(hash)?;
            if !self.is_unavailable(dest) {
                return Some(dest);
            }
        }
        None
    }

    /// `ip_vs_dh_schedule()`.
    fn dh_schedule(&self, p: &Packet) -> Option<u64> {
        let dest = self.table_id(hash_32(addr_fold(p.destination.ip()), 8))?;
        (!self.is_unavailable(dest)).then_some(dest)
    }

    /// `ip_vs_mh_schedule()`.
    fn mh_schedule(&self, p: &Packet) -> Option<u64> {
        let port = if self.flags & 2 != 0 {
            p.source.port()
        } else {
            0
        };
        let addr = p.source.ip();
        let ihash = mh_hashkey(addr, port, MH_HASH1, 0) % MH_TAB_SIZE;
        let dest = self.table_id(ihash)?;
        if !self.is_unavailable(dest) {
            return Some(dest);
        }
        if self.flags & 1 == 0 {
            return None;
        }
        for offset in 0..MH_TAB_SIZE {
            let roffset = (offset + ihash) % MH_TAB_SIZE;
            let hash = mh_hashkey(addr, port, MH_HASH1, roffset) % MH_TAB_SIZE;
            let dest = self.table_id(hash)?;
            if !self.is_unavailable(dest) {
                return Some(dest);
            }
        }
        None
    }

    /// `is_overloaded()` of lblc and lblcr.
    fn lblc_is_overloaded(&self, d: &RefDest) -> bool {
        if i64::from(d.active) > i64::from(d.weight) {
            for x in &self.dests {
                if i64::from(x.active) * 2 < i64::from(x.weight) {
                    return true;
                }
            }
        }
        false
    }

    fn lblc_bucket(addr: IpAddr) -> usize {
        hash_32(addr_fold(addr), 10) as usize
    }

    /// `ip_vs_lblc_schedule()`.
    fn lblc_schedule(&mut self, daddr: IpAddr) -> Option<u64> {
        let now = self.now;
        let b = Self::lblc_bucket(daddr);
        let cached = match &mut self.keyed {
            KeyedData::Lblc(tbl) => tbl.bucket[b]
                .iter_mut()
                .find(|e| e.addr == daddr)
                .map(|en| {
                    en.lastuse = now;
                    en.set[0]
                }),
            _ => None,
        };
        if let Some(id) = cached
            && let Some((Some(_), d)) = self.by_id(id)
            && d.weight > 0
            && !self.lblc_is_overloaded(&d)
        {
            return Some(id);
        }
        // __ip_vs_lblc_schedule() is wlc's walk.
        let i = self.wlc_schedule(false)?;
        let id = self.meta[i].id;
        // ip_vs_lblc_new()
        let KeyedData::Lblc(tbl) = &mut self.keyed else {
            return Some(id);
        };
        if let Some(k) = tbl.bucket[b].iter().position(|e| e.addr == daddr) {
            if tbl.bucket[b][k].set[0] == id {
                return Some(id);
            }
            // ip_vs_lblc_del(): unhashed, not counted out.
            tbl.bucket[b].remove(k);
        }
        tbl.bucket[b].insert(
            0,
            RefEntry {
                addr: daddr,
                set: vec![id],
                lastmod: now,
                lastuse: now,
            },
        );
        tbl.entries += 1;
        Some(id)
    }

    fn overhead_of(&self, d: &RefDest) -> i64 {
        d.conn_overhead(self.classic)
    }

    /// `ip_vs_dest_set_min()`.
    fn dest_set_min(&self, set: &[u64]) -> Option<u64> {
        let mut least = None;
        let mut rest = 0;
        let mut loh = 0;
        for (k, &id) in set.iter().enumerate() {
            let Some((at, d)) = self.by_id(id) else {
                continue;
            };
            if d.overloaded {
                continue;
            }
            if d.weight > 0 && at.is_some() {
                least = Some((id, d));
                loh = self.overhead_of(&d);
                rest = k + 1;
                break;
            }
        }
        let (mut lid, mut ld) = least?;
        for &id in &set[rest..] {
            let Some((at, d)) = self.by_id(id) else {
                continue;
            };
            if d.overloaded {
                continue;
            }
            let doh = self.overhead_of(&d);
            if i128::from(loh) * i128::from(d.weight) > i128::from(doh) * i128::from(ld.weight)
                && at.is_some()
            {
                lid = id;
                ld = d;
                loh = doh;
            }
        }
        Some(lid)
    }

    /// `ip_vs_dest_set_max()`.
    fn dest_set_max(&self, set: &[u64]) -> Option<u64> {
        let mut most = None;
        let mut rest = 0;
        let mut moh = 0;
        for (k, &id) in set.iter().enumerate() {
            let Some((_, d)) = self.by_id(id) else {
                continue;
            };
            if d.weight > 0 {
                most = Some((id, d));
                moh = self.overhead_of(&d);
                rest = k + 1;
                break;
            }
        }
        let (mut mid, mut md) = most?;
        for &id in &set[rest..] {
            let Some((_, d)) = self.by_id(id) else {
                continue;
            };
            let doh = self.overhead_of(&d);
            if i128::from(moh) * i128::from(d.weight) < i128::from(doh) * i128::from(md.weight)
                && d.weight > 0
            {
                mid = id;
                md = d;
                moh = doh;
            }
        }
        Some(mid)
    }

    /// `ip_vs_lblcr_schedule()`.
    fn lblcr_schedule(&mut self, daddr: IpAddr) -> Option<u64> {
        let now = self.now;
        let expiration = self.expiration;
        let b = Self::lblc_bucket(daddr);
        let found = match &mut self.keyed {
            KeyedData::Lblc(tbl) => tbl.bucket[b].iter().position(|e| e.addr == daddr),
            _ => None,
        };
        if let Some(k) = found {
            let (set, lastmod) = {
                let KeyedData::Lblc(tbl) = &mut self.keyed else {
                    unreachable!()
                };
                let en = &mut tbl.bucket[b][k];
                en.lastuse = now;
                (en.set.clone(), en.lastmod)
            };
            let dest = self.dest_set_min(&set);
            let mut set = set;
            let mut lastmod = lastmod;
            // ip_vs_dest_set_max(), then ip_vs_dest_set_erase().
            if set.len() > 1
                && now > lastmod + expiration
                && let Some(m) = self.dest_set_max(&set)
                && let Some(x) = set.iter().position(|&e| e == m)
            {
                set.remove(x);
                lastmod = now;
            }
            let chosen = match dest {
                Some(id) if !self.lblc_is_overloaded(&self.by_id(id).expect("listed").1) => {
                    Some(id)
                }
                _ => match self.wlc_schedule(false) {
                    None => None,
                    Some(i) => {
                        let id = self.meta[i].id;
                        // ip_vs_dest_set_insert(check)
                        if !set.contains(&id) {
                            set.insert(0, id);
                            lastmod = now;
                        }
                        Some(id)
                    }
                },
            };
            let KeyedData::Lblc(tbl) = &mut self.keyed else {
                unreachable!()
            };
            let en = &mut tbl.bucket[b][k];
            en.set = set;
            en.lastmod = lastmod;
            return chosen;
        }
        let i = self.wlc_schedule(false)?;
        let id = self.meta[i].id;
        let KeyedData::Lblc(tbl) = &mut self.keyed else {
            return Some(id);
        };
        tbl.bucket[b].insert(
            0,
            RefEntry {
                addr: daddr,
                set: vec![id],
                lastmod: now,
                lastuse: now,
            },
        );
        tbl.entries += 1;
        Some(id)
    }

    /// `ip_vs_twos_schedule()`, random draws given, without the `int` wrap.
    fn twos_schedule(&self, random: [u32; 2]) -> Option<usize> {
        let mut choice1 = None;
        let mut choice2 = None;
        let mut total_weight: i64 = 0;
        let (mut weight1, mut weight2) = (-1i64, -1i64);
        let (mut overhead1, mut overhead2) = (0i64, 0i64);
        for (i, d) in self.dests.iter().enumerate() {
            if !d.overloaded && d.weight > 0 {
                total_weight += i64::from(d.weight);
                choice1 = Some(i);
            }
        }
        choice1?;
        total_weight += 1;
        let mut rweight1 = i64::from(random[0]) % total_weight;
        let mut rweight2 = i64::from(random[1]) % total_weight;
        for (i, d) in self.dests.iter().enumerate() {
            if d.overloaded {
                continue;
            }
            let weight = i64::from(d.weight);
            if weight <= 0 {
                continue;
            }
            rweight1 -= weight;
            rweight2 -= weight;
            if rweight1 <= 0 && weight1 == -1 {
                choice1 = Some(i);
                weight1 = weight;
                overhead1 = self.overhead_of(d);
            }
            if rweight2 <= 0 && weight2 == -1 {
                choice2 = Some(i);
                weight2 = weight;
                overhead2 = self.overhead_of(d);
            }
            if weight1 != -1 && weight2 != -1 {
                break;
            }
        }
        if choice2.is_some()
            && i128::from(weight2) * i128::from(overhead1)
                > i128::from(weight1) * i128::from(overhead2)
        {
            choice1 = choice2;
        }
        choice1
    }
}
