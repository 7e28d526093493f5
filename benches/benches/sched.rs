//! ns per pick of `sched` against (a) the literal port of the kernel's list
//! walks (the reference model of `crates/sched/tests`) and (b) nginx-style
//! smooth weighted round robin, at 8, 64 and 1024 destinations with weights
//! 1..=100. For lc, wlc, sed and nq every pick also opens a connection on the
//! picked destination (`--connect` in the `simulate` example), so the
//! counter update is part of the cost. Two more groups repeat rr and wrr
//! with nine destinations in ten overloaded, where the kernel's walks grow.
//!
//! The schedulers that read the packet (`sh`, `dh`, `mh`, `lblc`, `lblcr`,
//! `twos`) are timed per packet from a fixed cycle of 4096 packets (clients
//! from a /16, destinations from a /20, random draws), against the same
//! reference model's port of `ip_vs_{sh,dh,mh,lblc,lblcr,twos}.c`; `lblc`
//! and `lblcr` also open a connection per pick.
//!
//! A last group times adding and removing destinations (`*-churn`): one
//! removal at the tail and one add at the head per iteration, at the sizes
//! above and (except mh, whose table holds 4093) at 16,384 destinations.
//!
//! cargo bench -p benches --bench sched

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::net::{IpAddr, SocketAddr};

use sched::{Destination, Packet, SchedFlags, Scheduler, Service};

#[path = "../../crates/sched/tests/sched/reference.rs"]
mod reference;

use reference::{RefDest, RefService};

const SIZES: [usize; 3] = [8, 64, 1024];

/// Weights 1..=100 from a fixed xorshift sequence (same list every run).
fn weights(n: usize) -> Vec<i32> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 100) as i32 + 1
        })
        .collect()
}

/// nginx's smooth weighted round robin (`ngx_http_upstream_get_peer`);
/// peers marked down are skipped.
struct SmoothWrr {
    peers: Vec<(i64, i64, bool)>, // (weight, current, down)
}

impl SmoothWrr {
    fn new(weights: &[i32], down: impl Fn(usize) -> bool) -> Self {
        SmoothWrr {
            peers: weights
                .iter()
                .enumerate()
                .map(|(i, &w)| (i64::from(w), 0, down(i)))
                .collect(),
        }
    }

    /// Every peer's current weight grows by its weight; the largest
    /// current wins (the first on ties) and gives back the total.
    fn pick(&mut self) -> Option<usize> {
        let mut total = 0;
        let mut best: Option<(usize, i64)> = None;
        for (i, (w, cur, down)) in self.peers.iter_mut().enumerate() {
            if *down {
                continue;
            }
            *cur += *w;
            total += *w;
            if best.is_none_or(|(_, b)| *cur > b) {
                best = Some((i, *cur));
            }
        }
        let (b, _) = best?;
        self.peers[b].1 -= total;
        Some(b)
    }
}

/// Every tenth destination eligible, the others overloaded (`sparse`).
fn overloaded(sparse: bool, i: usize) -> bool {
    sparse && !i.is_multiple_of(10)
}

fn bench_scheduler(c: &mut Criterion, scheduler: Scheduler, connect: bool, sparse: bool) {
    let name = match (connect, sparse) {
        (true, _) => format!("sched/{scheduler}+connect"),
        (false, true) => format!("sched/{scheduler}-90pc-overloaded"),
        (false, false) => format!("sched/{scheduler}"),
    };
    let mut group = c.benchmark_group(name);
    for n in SIZES {
        let w = weights(n);
        let mut fast = Service::with_destinations(
            scheduler,
            w.iter()
                .enumerate()
                .map(|(i, &w)| Destination::new(w).with_overloaded(overloaded(sparse, i))),
        )
        .unwrap();
        let mut model = RefService::with_destinations(
            scheduler,
            w.iter()
                .enumerate()
                .map(|(i, &w)| RefDest {
                    overloaded: overloaded(sparse, i),
                    ..RefDest::new(w)
                })
                .collect(),
        );
        // Same decisions before timing anything.
        let mut check_fast = fast.clone();
        let mut check_model = model.clone();
        for _ in 0..4 * n {
            let f = check_fast.pick();
            let m = check_model.pick();
            assert_eq!(f, m, "{scheduler} n={n}");
            if let (true, Some(i)) = (connect, f) {
                check_fast.connect(i).unwrap();
                check_model.connect(i);
            }
        }
        group.bench_function(BenchmarkId::new("sched", n), |b| {
            if connect {
                b.iter(|| black_box(fast.pick_and_connect().unwrap()))
            } else {
                b.iter(|| black_box(fast.pick()))
            }
        });
        group.bench_function(BenchmarkId::new("kernel-port", n), |b| {
            if connect {
                b.iter(|| {
                    let p = model.pick();
                    if let Some(i) = p {
                        model.connect(i);
                    }
                    black_box(p)
                })
            } else {
                b.iter(|| black_box(model.pick()))
            }
        });
        let mut swrr = SmoothWrr::new(&w, |i| overloaded(sparse, i));
        group.bench_function(BenchmarkId::new("nginx-swrr", n), |b| {
            b.iter(|| black_box(swrr.pick()))
        });
    }
    group.finish();
}

fn schedulers(c: &mut Criterion) {
    bench_scheduler(c, Scheduler::Rr, false, false);
    bench_scheduler(c, Scheduler::Wrr, false, false);
    bench_scheduler(c, Scheduler::NofN, false, false);
    bench_scheduler(c, Scheduler::Lc, true, false);
    bench_scheduler(c, Scheduler::Wlc, true, false);
    bench_scheduler(c, Scheduler::Sed, true, false);
    bench_scheduler(c, Scheduler::Nq, true, false);
    // Where the kernel's walks get long: most destinations ineligible.
    bench_scheduler(c, Scheduler::Rr, false, true);
    bench_scheduler(c, Scheduler::Wrr, false, true);
}

/// 4096 packets: clients from 10.64/16, destinations from 10.3.0/20 on port
/// 80, source ports and random draws from a fixed xorshift sequence.
fn packets() -> Vec<Packet> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..4096)
        .map(|_| {
            let r = next();
            let src = SocketAddr::new(
                IpAddr::from([10, 64, (r >> 8) as u8, r as u8]),
                1024 + (r >> 16) as u16 % 60000,
            );
            let dst = SocketAddr::new(
                IpAddr::from([10, 3, (r >> 40) as u8 & 0x0f, (r >> 32) as u8]),
                80,
            );
            Packet::new(src, dst).with_random([(r >> 32) as u32, r as u32])
        })
        .collect()
}

fn real(i: usize) -> SocketAddr {
    SocketAddr::new(IpAddr::from([10, 1, (i >> 8) as u8, i as u8]), 80)
}

fn bench_packet_scheduler(c: &mut Criterion, scheduler: Scheduler, flags: u8, connect: bool) {
    let name = match (connect, flags) {
        (true, _) => format!("sched/{scheduler}+connect"),
        (false, 0) => format!("sched/{scheduler}"),
        (false, _) => format!("sched/{scheduler}-fallback-port"),
    };
    let packets = packets();
    let mut group = c.benchmark_group(name);
    for n in SIZES {
        let w = weights(n);
        let mut fast = Service::new(scheduler)
            .with_flags(SchedFlags::from_service_flags(u32::from(flags) << 3));
        let mut model = RefService::new(scheduler);
        model.flags = flags;
        for (i, &w) in w.iter().enumerate().rev() {
            fast.add(Destination::new(w).with_addr(real(i))).unwrap();
            assert!(model.add_at(RefDest::new(w), Some(real(i))));
        }
        // Same decisions before timing anything.
        let mut check_fast = fast.clone();
        let mut check_model = model.clone();
        for p in packets.iter().take(2 * n) {
            let f = check_fast.pick_packet(p);
            assert_eq!(f, check_model.pick_packet(p), "{scheduler} n={n}");
            if let (true, Some(i)) = (connect, f) {
                check_fast.connect(i).unwrap();
                check_model.connect(i);
            }
        }
        let mut k = 0;
        group.bench_function(BenchmarkId::new("sched", n), |b| {
            b.iter(|| {
                k = (k + 1) & 4095;
                if connect {
                    black_box(fast.pick_packet_and_connect(&packets[k]).unwrap())
                } else {
                    black_box(fast.pick_packet(&packets[k]))
                }
            })
        });
        let mut k = 0;
        group.bench_function(BenchmarkId::new("kernel-port", n), |b| {
            b.iter(|| {
                k = (k + 1) & 4095;
                let p = model.pick_packet(&packets[k]);
                if let (true, Some(i)) = (connect, p) {
                    model.connect(i);
                }
                black_box(p)
            })
        });
    }
    group.finish();
}

fn packet_schedulers(c: &mut Criterion) {
    bench_packet_scheduler(c, Scheduler::Sh, 0, false);
    bench_packet_scheduler(c, Scheduler::Dh, 0, false);
    bench_packet_scheduler(c, Scheduler::Mh, 0, false);
    bench_packet_scheduler(c, Scheduler::Mh, 3, false);
    bench_packet_scheduler(c, Scheduler::Twos, 0, false);
    bench_packet_scheduler(c, Scheduler::Lblc, 0, true);
    bench_packet_scheduler(c, Scheduler::Lblcr, 0, true);
}

/// Adding and removing destinations: each iteration removes the list's
/// tail (the oldest destination) and adds one at the head, so the list
/// keeps its size and every scheduler's add and remove hooks run once.
fn bench_churn(c: &mut Criterion, scheduler: Scheduler) {
    let mut group = c.benchmark_group(format!("sched/{scheduler}-churn"));
    // mh's table has 4093 slots: more destinations empty it (README).
    let large: &[usize] = if scheduler == Scheduler::Mh {
        &[]
    } else {
        &[CHURN_LARGE]
    };
    for &n in SIZES.iter().chain(large) {
        let ws = weights(n);
        let mut svc =
            Service::with_destinations(scheduler, ws.iter().map(|&w| Destination::new(w)))
                .expect("valid destinations");
        let mut next = 0;
        group.bench_function(BenchmarkId::new("sched", n), |b| {
            b.iter(|| {
                svc.remove(svc.len() - 1).expect("a tail");
                next = (next + 1) % n;
                let _ = black_box(svc.add(Destination::new(ws[next])));
            });
        });
    }
    group.finish();
}

/// A larger list for the churn groups, where an O(n) add or removal shows.
const CHURN_LARGE: usize = 16_384;

fn churn(c: &mut Criterion) {
    for scheduler in [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Wlc,
        Scheduler::Sh,
        Scheduler::Mh,
        Scheduler::Dh,
        Scheduler::Lblc,
        Scheduler::Twos,
    ] {
        bench_churn(c, scheduler);
    }
}

criterion_group!(benches, schedulers, packet_schedulers, churn);
criterion_main!(benches);
