//! ns per pick of `sched` against (a) the literal port of the kernel's list
//! walks (the reference model of `crates/sched/tests`) and (b) nginx-style
//! smooth weighted round robin, at 8, 64 and 1024 destinations with weights
//! 1..=100. For lc, wlc, sed and nq every pick also opens a connection on the
//! picked destination (`--connect` in the `simulate` example), so the
//! counter update is part of the cost. Two more groups repeat rr and wrr
//! with nine destinations in ten overloaded, where the kernel's walks grow.
//!
//! cargo bench -p benches --bench sched

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sched::{Dest, Scheduler, Service};

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
        let mut fast = Service::with_dests(
            scheduler,
            w.iter()
                .enumerate()
                .map(|(i, &w)| Dest::new(w).with_overloaded(overloaded(sparse, i))),
        )
        .unwrap();
        let mut model = RefService::with_dests(
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

criterion_group!(benches, schedulers);
criterion_main!(benches);
