//! The reconcile diff as a pure function: applied to any table by a model of
//! the kernel, it yields the configured table, touches nothing else, never
//! sends a change that changes nothing, and a second diff is empty.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use ipvs_proto::{Connections, Destination, Forwarding, Service, ServiceFlags, ServiceKey, Stats};
use lvs_director::diff::{Change, Desired, TableService, diff};
use proptest::prelude::*;

fn key(i: u8) -> ServiceKey {
    if i < 4 {
        ServiceKey::tcp(SocketAddr::from(([10, 0, 0, 1 + i], 80)))
    } else {
        ServiceKey::fwmark(ipvs_proto::AddressFamily::Inet, u32::from(i))
    }
}

fn real(i: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 1, 2 + i], 80))
}

fn arb_service(i: u8) -> impl Strategy<Value = Service> {
    (prop::bool::ANY, prop::bool::ANY).prop_map(move |(wrr, persistent)| {
        let mut s = Service::new(key(i), if wrr { "wrr" } else { "rr" });
        if persistent {
            s = s.with_persistence(Duration::from_secs(300));
        }
        s
    })
}

fn arb_destinations() -> impl Strategy<Value = Vec<Destination>> {
    prop::collection::btree_map(0u8..6, (0u32..4, 0u8..2, 0u32..3, 0u32..2), 0..5).prop_map(|m| {
        m.into_iter()
            .map(|(i, (weight, fwd, active, threshold))| {
                let fwd = if fwd == 0 {
                    Forwarding::Masq
                } else {
                    Forwarding::DirectRoute
                };
                let mut d = Destination::new(real(i), fwd, weight);
                d.upper_threshold = threshold * 10;
                d.connections = Some(Connections {
                    active,
                    inactive: 0,
                    persistent: 0,
                });
                d.stats = Some(Stats {
                    connections: u64::from(i) * 7,
                    ..Stats::default()
                });
                d
            })
            .collect()
    })
}

fn arb_table(kernel: bool) -> impl Strategy<Value = Vec<TableService>> {
    prop::collection::btree_set(0u8..6, 0..5).prop_flat_map(move |keys| {
        keys.into_iter()
            .map(|i| {
                (arb_service(i), arb_destinations()).prop_map(move |(mut service, destinations)| {
                    if kernel {
                        // The kernel shows HASHED and counters: both ignored.
                        service.flags |= ServiceFlags::HASHED;
                        service.stats = Some(Stats::default());
                    }
                    TableService {
                        service,
                        destinations,
                    }
                })
            })
            .collect::<Vec<_>>()
    })
}

fn arb_case() -> impl Strategy<Value = (Vec<TableService>, Desired)> {
    (
        arb_table(true),
        arb_table(false),
        prop::collection::btree_set(0u8..6, 0..3),
    )
        .prop_map(|(current, wanted, retired)| {
            let desired = Desired {
                services: wanted,
                retired: retired.into_iter().map(key).collect(),
            };
            (current, desired)
        })
}

/// The settings the diff must keep equal, compared here on their own (not
/// through the crate's comparison).
fn same_service(a: &Service, b: &Service) -> bool {
    let settings = |s: &Service| {
        (
            s.scheduler.clone(),
            s.flags.contains(ServiceFlags::PERSISTENT),
            s.timeout,
            s.netmask,
        )
    };
    settings(a) == settings(b)
}

fn same_destination(a: &Destination, b: &Destination) -> bool {
    let settings = |d: &Destination| {
        (
            d.socket_addr(),
            d.forwarding,
            d.weight,
            d.upper_threshold,
            d.lower_threshold,
        )
    };
    settings(a) == settings(b)
}

/// A model of the kernel's table that refuses what the kernel refuses and
/// flags changes that change nothing.
type Model = BTreeMap<String, (Service, BTreeMap<SocketAddr, Destination>)>;

fn model(table: &[TableService]) -> Model {
    table
        .iter()
        .map(|s| {
            (
                s.service.key.to_string(),
                (
                    s.service.clone(),
                    s.destinations
                        .iter()
                        .map(|d| (d.socket_addr(), d.clone()))
                        .collect(),
                ),
            )
        })
        .collect()
}

fn apply(model: &mut Model, change: &Change) -> Result<(), String> {
    match change {
        Change::AddService(s) => {
            if model.contains_key(&s.key.to_string()) {
                return Err(format!("{change}: exists"));
            }
            model.insert(s.key.to_string(), (s.clone(), BTreeMap::new()));
        }
        Change::EditService(s) => {
            let (have, _) = model
                .get_mut(&s.key.to_string())
                .ok_or(format!("{change}: no service"))?;
            if same_service(have, s) {
                return Err(format!("{change}: changes nothing"));
            }
            let stats = have.stats;
            *have = s.clone();
            have.stats = stats;
        }
        Change::DeleteService(k) => {
            model
                .remove(&k.to_string())
                .ok_or(format!("{change}: no service"))?;
        }
        Change::AddDestination(k, d) => {
            let (_, ds) = model
                .get_mut(&k.to_string())
                .ok_or(format!("{change}: no service"))?;
            if ds.insert(d.socket_addr(), d.clone()).is_some() {
                return Err(format!("{change}: exists"));
            }
        }
        Change::EditDestination(k, d) | Change::DrainDestination(k, d) => {
            let (_, ds) = model
                .get_mut(&k.to_string())
                .ok_or(format!("{change}: no service"))?;
            let have = ds
                .get_mut(&d.socket_addr())
                .ok_or(format!("{change}: no destination"))?;
            if same_destination(have, d) {
                return Err(format!("{change}: changes nothing"));
            }
            // Connections and counters stay with the destination.
            let (connections, stats) = (have.connections, have.stats);
            *have = d.clone();
            have.connections = connections;
            have.stats = stats;
        }
        Change::DeleteDestination(k, a) => {
            let (_, ds) = model
                .get_mut(&k.to_string())
                .ok_or(format!("{change}: no service"))?;
            ds.remove(a).ok_or(format!("{change}: no destination"))?;
        }
    }
    Ok(())
}

fn to_table(model: &Model) -> Vec<TableService> {
    model
        .values()
        .map(|(service, ds)| TableService {
            service: service.clone(),
            destinations: ds.values().cloned().collect(),
        })
        .collect()
}

fn idle(_: &ServiceKey, d: &Destination) -> bool {
    d.connections.is_none_or(|c| c.active == 0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn applying_the_diff_yields_the_configured_table_and_nothing_else((current, desired) in arb_case()) {
        let plan = diff(&desired, &current, &idle);
        let mut after = model(&current);
        for change in &plan.changes {
            apply(&mut after, change).map_err(TestCaseError::fail)?;
        }
        let wanted: BTreeMap<String, &TableService> =
            desired.services.iter().map(|s| (s.service.key.to_string(), s)).collect();
        let before = model(&current);
        for (name, (service, ds)) in &before {
            let retired = desired.retired.contains(&service.key);
            if !wanted.contains_key(name) && !retired {
                // Foreign: byte for byte as it was, listed, never named by a change.
                prop_assert_eq!(after.get(name), Some(&(service.clone(), ds.clone())));
                prop_assert!(plan.foreign.contains(&service.key));
                prop_assert!(!plan.changes.iter().any(|c| change_key(c) == service.key));
            } else if !wanted.contains_key(name) {
                // Retired: gone once nothing drains, else only draining ones at weight 0.
                match after.get(name) {
                    None => prop_assert!(ds.values().all(|d| idle(&service.key, d))),
                    Some((_, left)) => {
                        for d in left.values() {
                            prop_assert_eq!(d.weight, 0);
                            prop_assert!(!idle(&service.key, d));
                        }
                    }
                }
            }
        }
        for (name, want) in &wanted {
            let (service, ds) = after.get(name).expect("wanted service present");
            prop_assert!(same_service(service, &want.service));
            for d in &want.destinations {
                let have = ds.get(&d.socket_addr()).expect("wanted destination present");
                prop_assert!(same_destination(have, d));
            }
            for (addr, d) in ds {
                if !want.destinations.iter().any(|w| w.socket_addr() == *addr) {
                    // Unwanted and still there: draining, at weight 0, with connections.
                    prop_assert_eq!(d.weight, 0);
                    prop_assert!(!idle(&want.service.key, d));
                    prop_assert!(plan.draining.contains(&(want.service.key, *addr)));
                }
            }
            // A destination kept keeps its counters (never deleted and re-added).
            if let Some((_, old)) = before.get(name) {
                for (addr, d) in ds {
                    if let Some(o) = old.get(addr) {
                        prop_assert_eq!(d.stats, o.stats);
                    }
                }
            }
        }
        // Nothing is left to do.
        let again = diff(&desired, &to_table(&after), &idle);
        prop_assert!(again.changes.is_empty(), "second diff: {:?}", again.changes);
    }
}

fn change_key(change: &Change) -> ServiceKey {
    match change {
        Change::AddService(s) | Change::EditService(s) => s.key,
        Change::DeleteService(k)
        | Change::AddDestination(k, _)
        | Change::EditDestination(k, _)
        | Change::DrainDestination(k, _)
        | Change::DeleteDestination(k, _) => *k,
    }
}

#[test]
fn a_drained_destination_is_edited_once_then_waits() {
    let k = key(0);
    let mut d = Destination::new(real(0), Forwarding::Masq, 3);
    d.connections = Some(Connections {
        active: 1,
        inactive: 0,
        persistent: 0,
    });
    let current = vec![TableService {
        service: Service::new(k, "rr"),
        destinations: vec![d.clone()],
    }];
    let desired = Desired {
        services: vec![TableService {
            service: Service::new(k, "rr"),
            destinations: vec![],
        }],
        retired: vec![],
    };
    let plan = diff(&desired, &current, &idle);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        plan.changes[0].to_string(),
        "drain real server 10.0.1.2:80 of TCP 10.0.0.1:80 (weight 0)"
    );
    d.weight = 0;
    let current = vec![TableService {
        service: Service::new(k, "rr"),
        destinations: vec![d],
    }];
    let plan = diff(&desired, &current, &idle);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.draining, [(k, real(0))]);
    let plan = diff(&desired, &current, &|_, _| true);
    assert_eq!(
        plan.changes,
        [Change::DeleteDestination(k, real(0))],
        "deleted once the drain is over"
    );
}
