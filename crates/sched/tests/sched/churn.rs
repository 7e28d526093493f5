//! Churn: long runs of adds and removals (one at a time and in bursts that
//! grow the list to dozens and drain it again), for every scheduler, the
//! packet-reading ones included, against the reference model. The caller
//! holds the `DestId` of every destination it added and removes, connects
//! and edits through those ids (and sometimes removes by list index), so
//! the service's storage is laid out afresh many times (when adds run out
//! of room at the head and when removals leave more holes than
//! destinations) while ids, list order, picks and every destination must
//! stay as the model has them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use proptest::prelude::*;
use sched::{DestId, Destination, Error, Packet, Scheduler, Service};

use crate::differential::dest;
use crate::reference::{RefDest, RefService};

#[derive(Debug, Clone)]
enum Op {
    /// Add these at fresh addresses, one after the other.
    Add(Vec<RefDest>),
    /// Add again at the address of the k-th id handed out (a removed one
    /// comes back from the trash, a listed one is refused).
    AddAgain(RefDest, usize),
    /// Remove through each k-th id handed out (live or stale).
    RemoveIds(Vec<usize>),
    /// Remove by list index (modulo the length).
    RemoveIndex(usize),
    Connect(usize),
    Disconnect(usize),
    SetWeight(usize, i32),
    Pick(Packet),
    PickConnect(Packet),
}

fn packet() -> impl Strategy<Value = Packet> {
    (0..6u8, 1000..1004u16, 0..8u8, any::<[u32; 2]>()).prop_map(|(c, port, d, random)| {
        Packet::new(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 64, 0, c)), port),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 3, 0, d)), 80),
        )
        .with_random(random)
    })
}

fn weight() -> impl Strategy<Value = i32> {
    prop_oneof![2 => Just(0), 5 => 1..=6i32, 1 => 0..=1000i32]
}

fn op() -> impl Strategy<Value = Op> {
    let held = || 0..200usize;
    prop_oneof![
        3 => prop::collection::vec(dest(), 1..4).prop_map(Op::Add),
        1 => prop::collection::vec(dest(), 8..40).prop_map(Op::Add),
        1 => (dest(), held()).prop_map(|(d, k)| Op::AddAgain(d, k)),
        3 => prop::collection::vec(held(), 1..3).prop_map(Op::RemoveIds),
        1 => prop::collection::vec(held(), 8..40).prop_map(Op::RemoveIds),
        1 => any::<usize>().prop_map(Op::RemoveIndex),
        2 => held().prop_map(Op::Connect),
        1 => held().prop_map(Op::Disconnect),
        2 => (held(), weight()).prop_map(|(k, w)| Op::SetWeight(k, w)),
        4 => packet().prop_map(Op::Pick),
        3 => packet().prop_map(Op::PickConnect),
    ]
}

fn addr_of(label: usize) -> SocketAddr {
    let [a, b] = u16::try_from(label).unwrap_or(u16::MAX).to_be_bytes();
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 1, a, b)), 80)
}

/// The reference destination at `addr`.
fn to_dest(r: &RefDest, addr: SocketAddr) -> Destination {
    crate::differential::to_dest(r).with_addr(addr)
}

/// What the caller holds.
struct Held {
    /// Each id handed out, with its address.
    ids: Vec<(DestId, SocketAddr)>,
    /// The addresses in the model's list order.
    order: Vec<SocketAddr>,
    next_label: usize,
}

impl Held {
    /// The k-th id handed out (modulo their number) and the model's index
    /// of its destination (`None` once removed).
    fn get(&self, k: usize) -> Option<(DestId, Option<usize>)> {
        if self.ids.is_empty() {
            return None;
        }
        let (id, addr) = self.ids[k % self.ids.len()];
        let latest = self.ids.iter().rev().find(|(_, a)| *a == addr)?.0;
        let index = self.order.iter().position(|&a| a == addr);
        Some((id, index.filter(|_| latest == id)))
    }

    fn add(
        &mut self,
        fast: &mut Service,
        model: &mut RefService,
        d: &RefDest,
        addr: SocketAddr,
    ) -> Result<(), TestCaseError> {
        let f = fast.add(to_dest(d, addr));
        let m = model.add_at(*d, Some(addr));
        prop_assert_eq!(f.is_ok(), m, "add {:?} at {}", d, addr);
        if let Ok(id) = f {
            prop_assert!(self.ids.iter().all(|(old, _)| *old != id), "{id} reused");
            self.ids.push((id, addr));
            self.order.insert(0, addr);
        }
        Ok(())
    }
}

fn step(
    fast: &mut Service,
    model: &mut RefService,
    held: &mut Held,
    op: &Op,
) -> Result<(), TestCaseError> {
    match op {
        Op::Add(ds) => {
            for d in ds {
                held.next_label += 1;
                let addr = addr_of(held.next_label);
                held.add(fast, model, d, addr)?;
            }
        }
        Op::AddAgain(d, k) => {
            if let Some(&(_, addr)) = held.ids.get(k % held.ids.len().max(1)) {
                held.add(fast, model, d, addr)?;
            }
        }
        Op::RemoveIds(ks) => {
            for &k in ks {
                let Some((id, index)) = held.get(k) else {
                    return Ok(());
                };
                match index {
                    Some(i) => {
                        let gone = fast.remove(id).map(|d| d.addr());
                        prop_assert_eq!(gone, Ok(Some(held.order[i])));
                        prop_assert!(model.remove(i).is_some());
                        held.order.remove(i);
                    }
                    None => prop_assert_eq!(fast.remove(id), Err(Error::StaleId { id })),
                }
            }
        }
        Op::RemoveIndex(i) => {
            if held.order.is_empty() {
                let len = fast.len();
                prop_assert_eq!(
                    fast.remove(*i),
                    Err(Error::IndexOutOfRange { index: *i, len })
                );
                return Ok(());
            }
            let i = i % held.order.len();
            let gone = fast.remove(i).map(|d| d.addr());
            prop_assert_eq!(gone, Ok(Some(held.order[i])));
            prop_assert!(model.remove(i).is_some());
            held.order.remove(i);
        }
        Op::Connect(k) | Op::Disconnect(k) | Op::SetWeight(k, _) => {
            let Some((id, index)) = held.get(*k) else {
                return Ok(());
            };
            let f = match op {
                Op::Connect(_) => fast.connect(id),
                Op::Disconnect(_) => fast.disconnect(id),
                Op::SetWeight(_, w) => fast.set_weight(id, *w),
                _ => return Ok(()),
            };
            match index {
                Some(i) => {
                    let m = match op {
                        Op::Connect(_) => model.connect(i),
                        Op::Disconnect(_) => model.disconnect(i),
                        Op::SetWeight(_, w) => model.set_weight(i, *w),
                        _ => return Ok(()),
                    };
                    prop_assert_eq!(f.is_ok(), m, "{:?} through {}", op, id);
                }
                None => prop_assert_eq!(f, Err(Error::StaleId { id })),
            }
        }
        Op::Pick(p) => prop_assert_eq!(fast.pick_packet(p), model.pick_packet(p)),
        Op::PickConnect(p) => {
            let f = fast.pick_packet_and_connect(p);
            let m = model.pick_packet(p);
            let mok = m.is_none_or(|i| model.connect(i));
            prop_assert_eq!(f.is_ok(), mok);
            if mok {
                prop_assert_eq!(f.ok().flatten(), m);
            }
        }
    }
    Ok(())
}

/// Every id names its destination at the model's index, or is refused;
/// the list is the model's.
fn check(fast: &Service, model: &RefService, held: &Held) -> Result<(), TestCaseError> {
    for k in 0..held.ids.len() {
        let (id, addr) = held.ids[k];
        match held.get(k).and_then(|(_, i)| i) {
            Some(i) => {
                prop_assert_eq!(fast.position(id), Ok(i), "{} at {}", id, addr);
                prop_assert_eq!(fast.destination(id).map(|d| d.addr()), Ok(Some(addr)));
                prop_assert_eq!(fast.id_at(i), Some(id));
            }
            None => prop_assert_eq!(fast.position(id), Err(Error::StaleId { id })),
        }
    }
    let list = fast.destinations();
    prop_assert_eq!(list.len(), model.dests.len());
    prop_assert_eq!(fast.ids().len(), list.len());
    for (i, ((f, r), id)) in list.iter().zip(&model.dests).zip(fast.ids()).enumerate() {
        prop_assert_eq!(
            (f.weight(), f.active(), f.inactive(), f.is_overloaded()),
            (r.weight, r.active, r.inactive, r.overloaded),
            "destination {}",
            i
        );
        prop_assert_eq!(f.addr(), Some(held.order[i]));
        prop_assert_eq!(list.get(i), Some(f));
        prop_assert_eq!(fast.position(id), Ok(i));
    }
    prop_assert_eq!(list.iter().rev().count(), list.len());
    Ok(())
}

fn run(scheduler: Scheduler, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut fast = Service::new(scheduler);
    let mut model = RefService::new(scheduler);
    let mut held = Held {
        ids: Vec::new(),
        order: Vec::new(),
        next_label: 0,
    };
    for (n, op) in ops.iter().enumerate() {
        step(&mut fast, &mut model, &mut held, op)
            .map_err(|e| TestCaseError::fail(format!("step {n} ({op:?}): {e}")))?;
        check(&fast, &model, &held)
            .map_err(|e| TestCaseError::fail(format!("after step {n} ({op:?}): {e}")))?;
    }
    Ok(())
}

fn scheduler() -> impl Strategy<Value = Scheduler> {
    prop::sample::select(Scheduler::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1_500,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    #[test]
    fn ids_order_and_picks_survive_long_add_and_remove_churn(
        scheduler in scheduler(),
        ops in prop::collection::vec(op(), 0..120),
    ) {
        run(scheduler, &ops)?;
    }
}

/// One service taken through growth and draining many times over, by id
/// only, with a pick between every change: the storage is laid out afresh
/// on the way up and down, and wrr's and rr's positions follow.
#[test]
fn a_list_grown_and_drained_repeatedly_keeps_the_models_picks() {
    for scheduler in [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Wlc,
        Scheduler::Lblcr,
    ] {
        let mut fast = Service::new(scheduler);
        let mut model = RefService::new(scheduler);
        let mut ids: Vec<DestId> = Vec::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rand = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut label = 0;
        for round in 0..6 {
            for _ in 0..(40 + round * 25) {
                label += 1;
                let w = i32::try_from(rand(7)).unwrap_or(0);
                let d = RefDest::new(w);
                let id = fast.add(to_dest(&d, addr_of(label))).expect("add");
                assert!(model.add_at(d, Some(addr_of(label))));
                ids.insert(0, id);
                assert_eq!(fast.pick(), model.pick(), "{scheduler} round {round}");
            }
            while ids.len() > 3 {
                let i = rand(ids.len());
                fast.remove(ids.remove(i)).expect("remove");
                assert!(model.remove(i).is_some());
                assert_eq!(fast.pick(), model.pick(), "{scheduler} round {round}");
                let c = rand(ids.len());
                assert_eq!(fast.connect(ids[c]).is_ok(), model.connect(c));
            }
            for (i, id) in ids.iter().enumerate() {
                assert_eq!(fast.position(*id), Ok(i));
            }
        }
    }
}
