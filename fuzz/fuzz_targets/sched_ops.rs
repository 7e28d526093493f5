//! Random operations on a `sched::Service`, mirrored on the literal reference
//! model of the kernel's list walks: no panic, and after every operation the
//! same answer, the same destinations, and a pick that the scheduler's own
//! rules allow (in range, weight above 0, not overloaded but for lblc's cached
//! destination, as in the kernel).
//!
//! Input: byte 0 picks the scheduler, byte 1 the build (bit 0: one add at
//! a time, bit 1: classic overhead), then 4 bytes per operation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sched::{Destination, Overhead, Scheduler, Service};

#[path = "../../crates/sched/tests/sched/reference.rs"]
mod reference;

use reference::{RefDest, RefService};

fn dest(a: u8, b: u8, c: u8) -> RefDest {
    // Weights: small ones often (ties, zeros), sometimes anything to 65535.
    let weight = if a & 0x80 == 0 {
        i32::from(a & 0x07)
    } else {
        i32::from(u16::from_le_bytes([b, a & 0x7f])) * 2
    };
    RefDest {
        weight,
        active: u32::from(b & 0x0f),
        inactive: u32::from(b >> 4),
        overloaded: c & 1 != 0,
        upper: u32::from((c >> 1) & 0x0f),
        lower: u32::from(c >> 5),
    }
}

fn to_dest(r: &RefDest) -> Destination {
    Destination::new(r.weight)
        .with_counts(r.active, r.inactive)
        .with_overloaded(r.overloaded)
        .with_thresholds(r.upper, r.lower)
}

fn same(fast: &Service, model: &RefService) -> bool {
    fast.destinations().len() == model.dests.len()
        && fast.destinations().iter().zip(&model.dests).all(|(f, r)| {
            (f.weight(), f.active(), f.inactive(), f.is_overloaded())
                == (r.weight, r.active, r.inactive, r.overloaded)
                && (f.upper_threshold(), f.lower_threshold()) == (r.upper, r.lower)
        })
}

fuzz_target!(|data: &[u8]| {
    let [s, build, rest @ ..] = data else { return };
    let scheduler = Scheduler::ALL[usize::from(*s) % Scheduler::ALL.len()];
    let mut fast = Service::new(scheduler);
    let mut model = RefService::new(scheduler);
    if build & 2 != 0 {
        fast.set_overhead(Overhead::Classic);
        model.classic = true;
    }
    let mut ops = rest.chunks_exact(4);
    // Up to 8 initial destinations, added one at a time or bound after.
    let initial: Vec<RefDest> = ops
        .by_ref()
        .take(usize::from(build >> 5))
        .map(|c| dest(c[0], c[1], c[2]))
        .collect();
    if build & 1 != 0 {
        for d in initial.iter().rev() {
            assert_eq!(fast.add(to_dest(d)).is_ok(), model.add(*d));
        }
    } else if let Ok(f) = Service::with_destinations(scheduler, initial.iter().map(to_dest)) {
        fast = f.with_overhead(fast.overhead());
        model = RefService::with_destinations(scheduler, Vec::new());
        model.classic = build & 2 != 0;
        for d in initial.iter().rev() {
            assert!(model.add(*d));
        }
        model.rebind(scheduler);
    }
    assert!(same(&fast, &model));
    for c in ops {
        let (kind, i, a, b) = (c[0] % 12, usize::from(c[1] % 12), c[2], c[3]);
        match kind {
            0..=3 => {
                let f = fast.pick();
                let m = model.pick();
                assert_eq!(f, m, "pick");
                if let Some(p) = f {
                    let d = fast.destinations()[p];
                    // lblc keeps a client's cached destination while its
                    // weight is above 0, unless its active connections exceed
                    // its weight while another has fewer than half of its own
                    // (ip_vs_lblc.c, is_overloaded): the thresholds' overload
                    // flag is not looked at on that path.
                    let flag_applies = scheduler != Scheduler::Lblc;
                    assert!(d.weight() > 0 && !(flag_applies && d.is_overloaded()), "{d:?}");
                    if kind >= 2 {
                        assert_eq!(fast.connect(p).is_ok(), model.connect(p));
                    }
                }
            }
            4 => assert_eq!(fast.connect(i).is_ok(), model.connect(i)),
            5 => assert_eq!(fast.disconnect(i).is_ok(), model.disconnect(i)),
            6 => assert_eq!(fast.connect_inactive(i).is_ok(), model.connect_inactive(i)),
            7 => assert_eq!(fast.expire_inactive(i).is_ok(), model.expire_inactive(i)),
            8 => {
                let w = dest(a, b, 0).weight;
                assert_eq!(fast.set_weight(i, w).is_ok(), model.set_weight(i, w));
            }
            9 => {
                let (u, l) = (u32::from(a % 16), u32::from(b % 16));
                assert_eq!(
                    fast.set_thresholds(i, u, l).is_ok(),
                    model.set_thresholds(i, u, l)
                );
            }
            10 => {
                let d = dest(a, b, c[1]);
                assert_eq!(fast.add(to_dest(&d)).is_ok(), model.add(d));
            }
            _ => {
                if a & 1 == 0 {
                    assert_eq!(fast.remove(i).is_ok(), model.remove(i).is_some());
                } else {
                    let on = b & 1 != 0;
                    let ok = fast.set_overloaded(i, on).is_ok();
                    if let Some(d) = model.dests.get_mut(i) {
                        d.overloaded = on;
                    }
                    assert_eq!(ok, i < model.dests.len());
                }
            }
        }
        assert!(
            same(&fast, &model),
            "{:?} vs {:?}",
            fast.destinations(),
            model.dests
        );
    }
});
