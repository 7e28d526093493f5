//! A plain reference model of the kernel's schedulers: the list walks of
//! `net/netfilter/ipvs/ip_vs_{rr,wrr,lc,wlc,sed,nq,fo,ovf}.c` (Linux 6.x),
//! step by step, over a list with a head sentinel, plus the notebook's
//! N-of-N patch to `ip_vs_rr_schedule`, the scheduler hooks run by
//! `ip_vs_ctl.c` and the threshold rules of `ip_vs_dest_update_overload()`.
//!
//! Deliberately naive: every pick walks the list. It is the yardstick the
//! fast `sched::Service` is compared with (tests, fuzzing) and timed against
//! (benches, which include this file).
#![allow(dead_code)]

use sched::Scheduler;

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
        };
        s.init_service();
        s
    }

    /// A service with this list, scheduler bound afterwards.
    pub fn with_dests(scheduler: Scheduler, dests: Vec<RefDest>) -> Self {
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
    pub fn add(&mut self, mut d: RefDest) -> bool {
        if d.weight < 0 || d.upper > i32::MAX as u32 || d.lower > d.upper {
            return false;
        }
        if d.upper != 0 {
            d.update_overload();
        }
        self.dests.insert(0, d);
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
        let d = self.dests.remove(index);
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
            _ => None,
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
