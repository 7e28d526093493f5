//! Stable destination ids: a caller holds the `DestId` of every destination
//! it added, through random adds (fresh addresses and addresses removed
//! before, which the kernel brings back from its trash) and removals, and
//! acts through those ids only. After every step each live id must name
//! the destination it was handed out for (its address, its place in the
//! reference model's list), every removed id must be refused, and the
//! service must agree with the reference model, driven by list index, on
//! every pick and every destination.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use proptest::prelude::*;
use sched::{DestId, Error, Scheduler, Service};

use crate::differential::{dest, same_dests, to_dest, weight};
use crate::reference::{RefDest, RefService};

#[derive(Debug, Clone)]
enum Op {
    /// Add a destination; `Some(k)`: at the address of the k-th id handed
    /// out so far (a removed one comes back from the trash, a live one is
    /// refused as a duplicate), `None`: at a fresh address.
    Add(RefDest, Option<usize>),
    /// Remove through the k-th id handed out (live or stale).
    Remove(usize),
    Connect(usize),
    Disconnect(usize),
    SetWeight(usize, i32),
    Pick,
    PickConnect,
}

fn op() -> impl Strategy<Value = Op> {
    let held = || 0..64usize;
    prop_oneof![
        4 => (dest(), prop::option::weighted(0.2, held())).prop_map(|(d, k)| Op::Add(d, k)),
        3 => held().prop_map(Op::Remove),
        3 => held().prop_map(Op::Connect),
        2 => held().prop_map(Op::Disconnect),
        2 => (held(), weight()).prop_map(|(k, w)| Op::SetWeight(k, w)),
        3 => Just(Op::Pick),
        3 => Just(Op::PickConnect),
    ]
}

fn addr_of(label: usize) -> SocketAddr {
    let label = u16::try_from(label).unwrap_or(u16::MAX);
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1000 + label))
}

/// What the caller holds: each id handed out, with the address it was
/// added at.
struct Held {
    ids: Vec<(DestId, SocketAddr)>,
    /// The addresses in the model's list order.
    model_order: Vec<SocketAddr>,
    next_label: usize,
}

impl Held {
    /// The model's index of the destination at `addr`, if in the list.
    fn model_index(&self, addr: SocketAddr) -> Option<usize> {
        self.model_order.iter().position(|&a| a == addr)
    }

    /// The k-th id handed out (modulo their number) and the model's index
    /// of its destination (`None` once removed).
    fn get(&self, k: usize) -> Option<(DestId, Option<usize>)> {
        if self.ids.is_empty() {
            return None;
        }
        let (id, addr) = self.ids[k % self.ids.len()];
        // An address can be added again after a removal; the id is live
        // only if it is the latest one handed out for that address.
        let latest = self.ids.iter().rev().find(|(_, a)| *a == addr)?.0;
        Some((id, self.model_index(addr).filter(|_| latest == id)))
    }
}

fn step(
    fast: &mut Service,
    model: &mut RefService,
    held: &mut Held,
    op: &Op,
) -> Result<(), TestCaseError> {
    match *op {
        Op::Add(d, reuse) => {
            let addr = match reuse.filter(|_| !held.ids.is_empty()) {
                Some(k) => held.ids[k % held.ids.len()].1,
                None => {
                    held.next_label += 1;
                    addr_of(held.next_label)
                }
            };
            let f = fast.add(to_dest(&d).with_addr(addr));
            let m = model.add_at(d, Some(addr));
            prop_assert_eq!(f.is_ok(), m, "add {:?} at {}", d, addr);
            if let Ok(id) = f {
                prop_assert!(held.ids.iter().all(|(old, _)| *old != id), "{id} reused");
                held.ids.push((id, addr));
                held.model_order.insert(0, addr);
            }
        }
        Op::Remove(k) => {
            let Some((id, index)) = held.get(k) else {
                return Ok(());
            };
            match index {
                Some(i) => {
                    let gone = fast.remove(id);
                    prop_assert_eq!(gone.ok().and_then(|d| d.addr()), Some(held.model_order[i]));
                    prop_assert!(model.remove(i).is_some());
                    held.model_order.remove(i);
                }
                None => prop_assert_eq!(fast.remove(id), Err(Error::StaleId { id })),
            }
        }
        Op::Connect(k) | Op::Disconnect(k) | Op::SetWeight(k, _) => {
            let Some((id, index)) = held.get(k) else {
                return Ok(());
            };
            let f = match *op {
                Op::Connect(_) => fast.connect(id),
                Op::Disconnect(_) => fast.disconnect(id),
                Op::SetWeight(_, w) => fast.set_weight(id, w),
                _ => unreachable!(),
            };
            match index {
                Some(i) => {
                    let m = match *op {
                        Op::Connect(_) => model.connect(i),
                        Op::Disconnect(_) => model.disconnect(i),
                        Op::SetWeight(_, w) => model.set_weight(i, w),
                        _ => unreachable!(),
                    };
                    prop_assert_eq!(f.is_ok(), m, "{:?} through {}", op, id);
                }
                None => prop_assert_eq!(f, Err(Error::StaleId { id })),
            }
        }
        Op::Pick => prop_assert_eq!(fast.pick(), model.pick()),
        Op::PickConnect => {
            let f = fast.pick_and_connect();
            let m = model.pick();
            let mok = m.is_none_or(|i| model.connect(i));
            prop_assert_eq!(f.is_ok(), mok);
            if mok {
                prop_assert_eq!(f.ok().flatten(), m);
            }
        }
    }
    Ok(())
}

/// Every id names what it was handed out for, or is refused.
fn check_ids(fast: &Service, held: &Held) -> Result<(), TestCaseError> {
    for k in 0..held.ids.len() {
        let (id, addr) = held.ids[k];
        match held.get(k).and_then(|(_, i)| i) {
            Some(i) => {
                prop_assert_eq!(fast.position(id), Ok(i), "{} at {}", id, addr);
                prop_assert_eq!(fast.destination(id).map(|d| d.addr()), Ok(Some(addr)));
                prop_assert_eq!(fast.id_at(i), Some(id));
            }
            None => {
                prop_assert_eq!(fast.position(id), Err(Error::StaleId { id }));
                prop_assert!(fast.destination(id).is_err());
            }
        }
    }
    prop_assert_eq!(fast.ids().len(), fast.len());
    for (i, id) in fast.ids().enumerate() {
        prop_assert_eq!(fast.position(id), Ok(i));
    }
    Ok(())
}

fn run(scheduler: Scheduler, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut fast = Service::new(scheduler);
    let mut model = RefService::new(scheduler);
    let mut held = Held {
        ids: Vec::new(),
        model_order: Vec::new(),
        next_label: 0,
    };
    for (n, op) in ops.iter().enumerate() {
        step(&mut fast, &mut model, &mut held, op)
            .map_err(|e| TestCaseError::fail(format!("step {n} ({op:?}): {e}")))?;
        check_ids(&fast, &held)?;
        prop_assert!(
            same_dests(&fast, &model),
            "destinations differ after step {} ({:?})",
            n,
            op
        );
    }
    Ok(())
}

fn scheduler() -> impl Strategy<Value = Scheduler> {
    prop::sample::select(vec![
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::NofN,
        Scheduler::NofNSeed,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2_000,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    #[test]
    fn held_ids_name_the_same_destination_through_adds_and_removals(
        scheduler in scheduler(),
        ops in prop::collection::vec(op(), 0..80),
    ) {
        run(scheduler, &ops)?;
    }
}

#[test]
fn an_id_is_refused_after_removal_even_when_its_address_comes_back() {
    let a = addr_of(1);
    let mut svc = Service::new(Scheduler::Rr);
    let first = svc
        .add(sched::Destination::new(1).with_addr(a))
        .expect("add");
    svc.connect(first).expect("connect");
    svc.remove(first).expect("remove");
    let again = svc
        .add(sched::Destination::new(1).with_addr(a))
        .expect("add again");
    assert_ne!(first, again);
    assert_eq!(svc.connect(first), Err(Error::StaleId { id: first }));
    // The kernel's trash gave the destination back its connection.
    assert_eq!(svc.destination(again).map(|d| d.active()), Ok(1));
    assert_eq!(
        svc.connect(first).unwrap_err().to_string(),
        format!(
            "destination id {first} names no destination of the service: expected the id of one not removed since"
        )
    );
}
