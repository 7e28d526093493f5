//! Differential property tests: the fast `Service` against the literal
//! reference model, for every scheduler, through random lists (weights
//! 0..=65535 with many zeros and equal weights, overload flags, counters,
//! thresholds) and random operations between picks (connections coming and
//! going, weight and threshold edits, adds at the head, removals, re-binds,
//! overhead switches). After every operation both must agree on the result
//! and on every destination.

use proptest::prelude::*;
use sched::{Destination, Overhead, Scheduler, Service, ThresholdRule};

use crate::reference::{RefDest, RefService};

/// At least 10,000 cases per scheduler.
const CASES: u32 = 10_000;

#[derive(Debug, Clone)]
enum Op {
    Pick,
    PickConnect,
    Connect(usize),
    ConnectInactive(usize),
    Disconnect(usize),
    Expire(usize),
    Activate(usize),
    Deactivate(usize),
    SetWeight(usize, i32),
    SetThresholds(usize, u32, u32),
    SetOverloaded(usize, bool),
    SetCounts(usize, u32, u32),
    Add(RefDest),
    Remove(usize),
    Rebind,
    Overhead(bool),
    /// The threshold rules before 6.1.183 (true) or since.
    Thresholds(bool),
}

pub(crate) fn weight() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => Just(0),
        4 => 1..=4i32,
        2 => prop::sample::select(vec![6, 12, 100, 65535]),
        4 => 0..=65535i32,
        1 => -3..0i32,
    ]
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![6 => 0..4u32, 2 => 0..300u32, 1 => Just(u32::MAX - 1), 1 => any::<u32>()]
}

fn thresholds() -> impl Strategy<Value = (u32, u32)> {
    prop_oneof![
        6 => Just((0, 0)),
        3 => (1..12u32).prop_flat_map(|u| (Just(u), 0..=u)),
        1 => (any::<u32>(), any::<u32>()),
    ]
}

pub(crate) fn dest() -> impl Strategy<Value = RefDest> {
    (
        weight(),
        count(),
        count(),
        prop::bool::weighted(0.15),
        thresholds(),
    )
        .prop_map(
            |(weight, active, inactive, overloaded, (upper, lower))| RefDest {
                weight,
                active,
                inactive,
                overloaded,
                upper,
                lower,
            },
        )
}

fn index() -> impl Strategy<Value = usize> {
    0..14usize
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        16 => Just(Op::Pick),
        16 => Just(Op::PickConnect),
        3 => index().prop_map(Op::Connect),
        2 => index().prop_map(Op::ConnectInactive),
        3 => index().prop_map(Op::Disconnect),
        2 => index().prop_map(Op::Expire),
        1 => index().prop_map(Op::Activate),
        1 => index().prop_map(Op::Deactivate),
        2 => (index(), weight()).prop_map(|(i, w)| Op::SetWeight(i, w)),
        2 => (index(), thresholds()).prop_map(|(i, (u, l))| Op::SetThresholds(i, u, l)),
        2 => (index(), any::<bool>()).prop_map(|(i, b)| Op::SetOverloaded(i, b)),
        1 => (index(), count(), count()).prop_map(|(i, a, n)| Op::SetCounts(i, a, n)),
        2 => dest().prop_map(Op::Add),
        2 => index().prop_map(Op::Remove),
        1 => Just(Op::Rebind),
        1 => any::<bool>().prop_map(Op::Overhead),
        1 => any::<bool>().prop_map(Op::Thresholds),
    ]
}

pub(crate) fn to_dest(r: &RefDest) -> Destination {
    Destination::new(r.weight)
        .with_counts(r.active, r.inactive)
        .with_overloaded(r.overloaded)
        .with_thresholds(r.upper, r.lower)
}

pub(crate) fn same_dests(fast: &Service, model: &RefService) -> bool {
    fast.destinations().len() == model.dests.len()
        && fast.destinations().iter().zip(&model.dests).all(|(f, r)| {
            f.weight() == r.weight
                && f.active() == r.active
                && f.inactive() == r.inactive
                && f.is_overloaded() == r.overloaded
                && f.upper_threshold() == r.upper
                && f.lower_threshold() == r.lower
        })
}

/// Apply one operation to both; return both answers, as
/// `(Some(pick), ok)` shapes that must be equal.
fn apply(
    fast: &mut Service,
    model: &mut RefService,
    op: &Op,
) -> (Option<usize>, bool, Option<usize>, bool) {
    match *op {
        Op::Pick => (fast.pick(), true, model.pick(), true),
        Op::PickConnect => {
            let (f, fok) = match fast.pick_and_connect() {
                Ok(p) => (p, true),
                Err(_) => (None, false),
            };
            let m = model.pick();
            let mok = m.is_none_or(|i| model.connect(i));
            (f, fok, if mok { m } else { None }, mok)
        }
        Op::Connect(i) => (None, fast.connect(i).is_ok(), None, model.connect(i)),
        Op::ConnectInactive(i) => (
            None,
            fast.connect_inactive(i).is_ok(),
            None,
            model.connect_inactive(i),
        ),
        Op::Disconnect(i) => (None, fast.disconnect(i).is_ok(), None, model.disconnect(i)),
        Op::Expire(i) => (
            None,
            fast.expire_inactive(i).is_ok(),
            None,
            model.expire_inactive(i),
        ),
        Op::Activate(i) => (None, fast.activate(i).is_ok(), None, model.activate(i)),
        Op::Deactivate(i) => (None, fast.deactivate(i).is_ok(), None, model.deactivate(i)),
        Op::SetWeight(i, w) => (
            None,
            fast.set_weight(i, w).is_ok(),
            None,
            model.set_weight(i, w),
        ),
        Op::SetThresholds(i, u, l) => (
            None,
            fast.set_thresholds(i, u, l).is_ok(),
            None,
            model.set_thresholds(i, u, l),
        ),
        Op::SetOverloaded(i, b) => {
            let m = match model.dests.get_mut(i) {
                Some(d) => {
                    d.overloaded = b;
                    true
                }
                None => false,
            };
            (None, fast.set_overloaded(i, b).is_ok(), None, m)
        }
        Op::SetCounts(i, a, n) => {
            let m = match model.dests.get_mut(i) {
                Some(d) => {
                    d.active = a;
                    d.inactive = n;
                    true
                }
                None => false,
            };
            (None, fast.set_counts(i, a, n).is_ok(), None, m)
        }
        Op::Add(d) => (None, fast.add(to_dest(&d)).is_ok(), None, model.add(d)),
        Op::Remove(i) => (
            None,
            fast.remove(i).is_ok(),
            None,
            model.remove(i).is_some(),
        ),
        Op::Rebind => {
            let s = fast.scheduler();
            fast.rebind(s);
            model.rebind(s);
            (None, true, None, true)
        }
        Op::Overhead(classic) => {
            fast.set_overhead(if classic {
                Overhead::Classic
            } else {
                Overhead::Current
            });
            model.classic = classic;
            (None, true, None, true)
        }
        Op::Thresholds(classic) => {
            let mut facts = fast.kernel_facts();
            facts.thresholds = if classic {
                ThresholdRule::Classic
            } else {
                ThresholdRule::Current
            };
            fast.set_kernel_facts(facts);
            model.classic_thresholds = classic;
            (None, true, None, true)
        }
    }
}

/// Build both services, the fast one either bound after its list exists or
/// filled one destination at a time (like the model), then run the ops.
fn run(
    scheduler: Scheduler,
    initial: Vec<RefDest>,
    incremental: bool,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let (mut fast, mut model) = if incremental {
        let mut fast = Service::new(scheduler);
        let mut model = RefService::new(scheduler);
        for d in initial.iter().rev() {
            let f = fast.add(to_dest(d)).is_ok();
            let m = model.add(*d);
            prop_assert_eq!(f, m, "add {:?}", d);
        }
        (fast, model)
    } else {
        let valid = initial
            .iter()
            .all(|d| d.weight >= 0 && d.upper <= i32::MAX as u32 && d.lower <= d.upper);
        let fast = Service::with_destinations(scheduler, initial.iter().map(to_dest));
        prop_assert_eq!(fast.is_ok(), valid);
        let Ok(fast) = fast else { return Ok(()) };
        let mut model = RefService::new(scheduler);
        for d in initial.iter().rev() {
            prop_assert!(model.add(*d));
        }
        model.rebind(scheduler);
        (fast, model)
    };
    prop_assert!(same_dests(&fast, &model));
    for (step, op) in ops.iter().enumerate() {
        let (fp, fok, mp, mok) = apply(&mut fast, &mut model, op);
        prop_assert_eq!(fp, mp, "pick at step {} ({:?})", step, op);
        prop_assert_eq!(fok, mok, "result at step {} ({:?})", step, op);
        prop_assert!(
            same_dests(&fast, &model),
            "destinations differ after step {} ({:?}): {:?} vs {:?}",
            step,
            op,
            fast.destinations(),
            model.dests
        );
    }
    Ok(())
}

/// 10,000 cases; the XorShift generator, because ChaCha unoptimised (as
/// `cargo test` builds it) takes most of the run time otherwise.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

fn case() -> impl Strategy<Value = (Vec<RefDest>, bool, Vec<Op>)> {
    (
        prop::collection::vec(dest(), 0..10),
        any::<bool>(),
        prop::collection::vec(op(), 0..60),
    )
}

macro_rules! differential {
    ($name:ident, $sched:expr) => {
        proptest! {
            #![proptest_config(config())]
            #[test]
            fn $name((initial, incremental, ops) in case()) {
                run($sched, initial, incremental, ops)?;
            }
        }
    };
}

differential!(rr_matches_reference, Scheduler::Rr);
differential!(wrr_matches_reference, Scheduler::Wrr);
differential!(lc_matches_reference, Scheduler::Lc);
differential!(wlc_matches_reference, Scheduler::Wlc);
differential!(sed_matches_reference, Scheduler::Sed);
differential!(nq_matches_reference, Scheduler::Nq);
differential!(fo_matches_reference, Scheduler::Fo);
differential!(ovf_matches_reference, Scheduler::Ovf);
differential!(nofn_matches_reference, Scheduler::NofN);
differential!(nofn_seed_matches_reference, Scheduler::NofNSeed);
