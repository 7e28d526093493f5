//! Differential property tests of the schedulers that read the packet
//! (`sh`, `dh`, `mh`, `lblc`, `lblcr`, `twos`): the fast `Service` against
//! the literal reference model, through random lists of addressed
//! destinations and random operations: packets from a few IPv4 and IPv6
//! clients and ports to a few destination addresses, connections, weight
//! (to 0 and back) and threshold edits, adds (removed addresses coming back
//! from the trash), removals, re-binds, flags, the clock moving by
//! milliseconds to days, and expirations from a second to a day. After
//! every operation both agree on the answer, on every destination and on
//! the size of the `lblc`/`lblcr` table.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;
use sched::{Destination, Overhead, Packet, SchedFlags, Scheduler, Service};

use crate::reference::{RefDest, RefService};

#[derive(Debug, Clone)]
enum Op {
    Pick(Packet),
    PickConnect(Packet),
    Connect(usize),
    Disconnect(usize),
    ConnectInactive(usize),
    Expire(usize),
    SetWeight(usize, i32),
    SetThresholds(usize, u32, u32),
    SetOverloaded(usize, bool),
    Add(RefDest, usize),
    Remove(usize),
    Rebind,
    Advance(u64),
    Expiration(u64),
    Flags(u8),
    Overhead(bool),
}

/// Real server addresses: some IPv4 on two ports, some IPv6.
fn real(k: usize) -> SocketAddr {
    let s = match k % 12 {
        0..=6 => format!("10.1.0.{}:80", 10 + k),
        7 | 8 => format!("10.1.0.{}:8080", 10 + k),
        _ => format!("[2001:db8::{}]:80", k),
    };
    s.parse().expect("address")
}

fn client() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        4 => (0..6u8).prop_map(|x| IpAddr::from([10, 64, 0, x])),
        1 => any::<[u8; 4]>().prop_map(IpAddr::from),
        1 => (0..3u16).prop_map(|x| IpAddr::from([0x2001, 0xdb8, 1, 0, 0, 0, 0, x])),
    ]
}

fn destination() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        4 => (0..8u8).prop_map(|x| IpAddr::from([10, 3, 0, x])),
        1 => (0..2u16).prop_map(|x| IpAddr::from([0x2001, 0xdb8, 3, 0, 0, 0, 0, x])),
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        client(),
        prop_oneof![3 => 1000..1004u16, 1 => any::<u16>()],
        destination(),
        any::<[u32; 2]>(),
    )
        .prop_map(|(c, port, d, random)| {
            Packet::new(SocketAddr::new(c, port), SocketAddr::new(d, 80)).with_random(random)
        })
}

fn weight() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => Just(0),
        5 => 1..=4i32,
        2 => 0..=65535i32,
        1 => prop::sample::select(vec![64, 128, 640, 5000]),
    ]
}

fn count() -> impl Strategy<Value = u32> {
    prop_oneof![6 => 0..4u32, 2 => 0..300u32]
}

fn thresholds() -> impl Strategy<Value = (u32, u32)> {
    prop_oneof![
        6 => Just((0, 0)),
        3 => (1..12u32).prop_flat_map(|u| (Just(u), 0..=u)),
    ]
}

fn dest() -> impl Strategy<Value = RefDest> {
    (
        weight(),
        count(),
        count(),
        prop::bool::weighted(0.1),
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
    0..10usize
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        14 => packet().prop_map(Op::Pick),
        14 => packet().prop_map(Op::PickConnect),
        2 => index().prop_map(Op::Connect),
        2 => index().prop_map(Op::Disconnect),
        1 => index().prop_map(Op::ConnectInactive),
        1 => index().prop_map(Op::Expire),
        3 => (index(), weight()).prop_map(|(i, w)| Op::SetWeight(i, w)),
        1 => (index(), thresholds()).prop_map(|(i, (u, l))| Op::SetThresholds(i, u, l)),
        1 => (index(), any::<bool>()).prop_map(|(i, b)| Op::SetOverloaded(i, b)),
        3 => (dest(), 0..12usize).prop_map(|(d, k)| Op::Add(d, k)),
        2 => index().prop_map(Op::Remove),
        1 => Just(Op::Rebind),
        4 => prop_oneof![
            4 => 0..2_000u64,
            3 => 2_000..400_000u64,
            1 => 1_700_000..2_000_000u64,
            1 => 80_000_000..100_000_000u64,
        ]
        .prop_map(Op::Advance),
        1 => prop_oneof![1_000..10_000u64, 100_000..3_000_000u64].prop_map(Op::Expiration),
        1 => (0..4u8).prop_map(Op::Flags),
        1 => any::<bool>().prop_map(Op::Overhead),
    ]
}

/// The reference destination at `addr`.
fn to_dest(r: &RefDest, addr: SocketAddr) -> Destination {
    crate::differential::to_dest(r).with_addr(addr)
}

fn same(fast: &Service, model: &RefService) -> bool {
    fast.destinations().len() == model.dests.len()
        && fast
            .destinations()
            .iter()
            .zip(model.dests.iter().zip(&model.meta))
            .all(|(f, (r, m))| {
                (f.weight(), f.active(), f.inactive(), f.is_overloaded())
                    == (r.weight, r.active, r.inactive, r.overloaded)
                    && (f.upper_threshold(), f.lower_threshold()) == (r.upper, r.lower)
                    && (f.addr(), f.last_weight()) == (m.addr, m.last_weight)
            })
        && fast.table_entries() == model.table_entries()
}

/// One operation on both: (fast pick, fast ok, model pick, model ok).
fn apply(
    fast: &mut Service,
    model: &mut RefService,
    op: &Op,
) -> (Option<usize>, bool, Option<usize>, bool) {
    match *op {
        Op::Pick(p) => (fast.pick_packet(&p), true, model.pick_packet(&p), true),
        Op::PickConnect(p) => {
            let (f, fok) = match fast.pick_packet_and_connect(&p) {
                Ok(x) => (x, true),
                Err(_) => (None, false),
            };
            let m = model.pick_packet(&p);
            let mok = m.is_none_or(|i| model.connect(i));
            (f, fok, if mok { m } else { None }, mok)
        }
        Op::Connect(i) => (None, fast.connect(i).is_ok(), None, model.connect(i)),
        Op::Disconnect(i) => (None, fast.disconnect(i).is_ok(), None, model.disconnect(i)),
        Op::ConnectInactive(i) => (
            None,
            fast.connect_inactive(i).is_ok(),
            None,
            model.connect_inactive(i),
        ),
        Op::Expire(i) => (
            None,
            fast.expire_inactive(i).is_ok(),
            None,
            model.expire_inactive(i),
        ),
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
        Op::Add(d, k) => (
            None,
            fast.add(to_dest(&d, real(k))).is_ok(),
            None,
            model.add_at(d, Some(real(k))),
        ),
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
        Op::Advance(d) => {
            let t = fast.now() + d;
            fast.advance_clock(t);
            model.advance(t);
            (None, true, None, true)
        }
        Op::Expiration(e) => {
            fast.set_expiration(e);
            model.expiration = e;
            (None, true, None, true)
        }
        Op::Flags(f) => {
            fast.set_flags(SchedFlags::from_service_flags(u32::from(f) << 3));
            model.flags = f;
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
    }
}

fn run(
    scheduler: Scheduler,
    initial: Vec<RefDest>,
    incremental: bool,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut fast = Service::new(scheduler);
    let mut model = RefService::new(scheduler);
    for (k, d) in initial.iter().enumerate().rev() {
        let f = fast.add(to_dest(d, real(k))).is_ok();
        let m = model.add_at(*d, Some(real(k)));
        prop_assert_eq!(f, m, "add {:?}", d);
    }
    if !incremental {
        fast.rebind(scheduler);
        model.rebind(scheduler);
    }
    prop_assert!(same(&fast, &model));
    for (step, op) in ops.iter().enumerate() {
        let (fp, fok, mp, mok) = apply(&mut fast, &mut model, op);
        prop_assert_eq!(fp, mp, "pick at step {} ({:?})", step, op);
        prop_assert_eq!(fok, mok, "result at step {} ({:?})", step, op);
        prop_assert!(
            same(&fast, &model),
            "state differs after step {} ({:?}): {:?} ({} entries) vs {:?} {:?} ({} entries)",
            step,
            op,
            fast.destinations(),
            fast.table_entries(),
            model.dests,
            model.meta,
            model.table_entries()
        );
    }
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

fn case() -> impl Strategy<Value = (Vec<RefDest>, bool, Vec<Op>)> {
    (
        prop::collection::vec(dest(), 0..8),
        any::<bool>(),
        prop::collection::vec(op(), 0..60),
    )
}

/// For `lblcr`'s sets: few destination addresses, small weights, many
/// connections, expirations of seconds and clock steps around them, so
/// that sets grow and lose their most loaded member.
fn replication_case() -> impl Strategy<Value = (Vec<RefDest>, bool, Vec<Op>)> {
    let dest = (1..=3i32, 0..3u32).prop_map(|(w, a)| RefDest {
        active: a,
        ..RefDest::new(w)
    });
    let packet = (0..2u8, 1000..1100u16).prop_map(|(d, port)| {
        Packet::new(
            SocketAddr::new(IpAddr::from([10, 64, 0, 1]), port),
            SocketAddr::new(IpAddr::from([10, 3, 0, d]), 80),
        )
    });
    let op = prop_oneof![
        8 => packet.prop_map(Op::PickConnect),
        3 => index().prop_map(Op::Disconnect),
        3 => (0..5_000u64).prop_map(Op::Advance),
        1 => (1_000..3_000u64).prop_map(Op::Expiration),
        1 => (index(), 0..=3i32).prop_map(|(i, w)| Op::SetWeight(i, w)),
        1 => (dest.clone(), 0..12usize).prop_map(|(d, k)| Op::Add(d, k)),
        1 => index().prop_map(Op::Remove),
    ];
    (
        prop::collection::vec(dest, 1..6),
        any::<bool>(),
        prop::collection::vec(op, 0..80),
    )
}

macro_rules! differential {
    ($name:ident, $sched:expr, $cases:expr) => {
        differential!($name, $sched, $cases, case());
    };
    ($name:ident, $sched:expr, $cases:expr, $case:expr) => {
        proptest! {
            #![proptest_config(config($cases))]
            #[test]
            fn $name((initial, incremental, ops) in $case) {
                run($sched, initial, incremental, ops)?;
            }
        }
    };
}

differential!(sh_matches_reference, Scheduler::Sh, 2_500);
differential!(dh_matches_reference, Scheduler::Dh, 2_500);
differential!(mh_matches_reference, Scheduler::Mh, 600);
differential!(lblc_matches_reference, Scheduler::Lblc, 2_500);
differential!(lblcr_matches_reference, Scheduler::Lblcr, 2_500);
differential!(
    lblcr_sets_match_reference,
    Scheduler::Lblcr,
    2_000,
    replication_case()
);
differential!(
    lblc_replacements_match_reference,
    Scheduler::Lblc,
    1_000,
    replication_case()
);
differential!(twos_matches_reference, Scheduler::Twos, 2_500);

/// Past 16,384 entries the timer collects entries unused for 6 minutes,
/// bucket by bucket from its rover, until 4/3 of the excess is gone: both
/// agree on which, over several rounds.
#[test]
fn a_full_table_is_collected_as_in_the_kernel() {
    for scheduler in [Scheduler::Lblc, Scheduler::Lblcr] {
        let dests: Vec<RefDest> = (0..4).map(|_| RefDest::new(1)).collect();
        let mut fast = Service::new(scheduler);
        let mut model = RefService::new(scheduler);
        fast.set_expiration(600_000);
        model.expiration = 600_000;
        for (k, d) in dests.iter().enumerate() {
            assert!(fast.add(to_dest(d, real(k))).is_ok());
            assert!(model.add_at(*d, Some(real(k))));
        }
        let src: SocketAddr = "10.64.0.1:1000".parse().unwrap();
        let mut t = 0;
        // 20,000 destination addresses over 8 minutes, some used again.
        for n in 0..20_000u32 {
            if n % 2_500 == 0 {
                t += 60_000;
                fast.advance_clock(t);
                model.advance(t);
            }
            if n % 1_000 == 0 {
                // Quiesce one destination, bring back the one before: the
                // entries of the quiesced one move (lblc replaces them
                // without counting the old ones out; lblcr's sets grow).
                let k = (n / 1_000) as usize % 4;
                let back = (k + 3) % 4;
                assert!(fast.set_weight(k, 0).is_ok() && model.set_weight(k, 0));
                assert!(fast.set_weight(back, 1).is_ok() && model.set_weight(back, 1));
            }
            let x = if n % 7 == 0 { n / 7 } else { n };
            let dst = SocketAddr::new(IpAddr::from((0x0b00_0000 + x).to_be_bytes()), 80);
            let p = Packet::new(src, dst);
            assert_eq!(
                fast.pick_packet(&p),
                model.pick_packet(&p),
                "{scheduler} {n}"
            );
        }
        assert!(fast.table_entries() > 16_384, "{}", fast.table_entries());
        for minute in 1..=70 {
            t += 60_000;
            fast.advance_clock(t);
            model.advance(t);
            assert_eq!(
                fast.table_entries(),
                model.table_entries(),
                "{scheduler} minute {minute}"
            );
        }
        // A full check, 30 minutes after the table shrank below the limit,
        // dropped what was unused for the 10-minute expiration: everything.
        assert_eq!(fast.table_entries(), 0, "{scheduler}");
    }
}
