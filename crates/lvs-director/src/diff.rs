//! The reconcile diff: the table wanted against the kernel's table, as the
//! shortest list of changes. A pure function: no kernel, no clock.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;

use ipvs_proto::{Destination, Forwarding, Request, Service, ServiceFlags, ServiceKey};

/// One service and its destinations, as listed by the kernel or as wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableService {
    /// The service (counters ignored by the diff).
    pub service: Service,
    /// Its destinations (connections and counters ignored by the diff).
    pub destinations: Vec<Destination>,
}

/// What lvsd wants in the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// The services of the configuration with the destinations they should
    /// have now (health and sorry server applied).
    pub services: Vec<TableService>,
    /// Services lvsd managed earlier in this run but no longer in the file:
    /// their destinations are drained, then the service is deleted.
    pub retired: Vec<ServiceKey>,
}

/// One change to the kernel's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new service.
    AddService(Service),
    /// A service's scheduler or persistence changed.
    EditService(Service),
    /// A retired service whose destinations are all gone or deletable.
    DeleteService(ServiceKey),
    /// A new destination.
    AddDestination(ServiceKey, Destination),
    /// A destination's weight, forwarding or thresholds changed.
    EditDestination(ServiceKey, Destination),
    /// A destination not wanted any more goes to weight 0.
    DrainDestination(ServiceKey, Destination),
    /// A destination not wanted any more is deleted.
    DeleteDestination(ServiceKey, SocketAddr),
}

impl Change {
    /// The ipvs-proto request that makes the change.
    pub fn to_request(&self) -> Request {
        match self {
            Change::AddService(s) => Request::add_service(s),
            Change::EditService(s) => Request::edit_service(s),
            Change::DeleteService(k) => Request::delete_service(k),
            Change::AddDestination(k, d) => Request::add_destination(k, d),
            Change::EditDestination(k, d) | Change::DrainDestination(k, d) => {
                Request::edit_destination(k, d)
            }
            Change::DeleteDestination(k, a) => Request::delete_destination(k, *a),
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::AddService(s) => write!(f, "add service {} ({})", s.key, s.scheduler),
            Change::EditService(s) => write!(f, "edit service {} ({})", s.key, s.scheduler),
            Change::DeleteService(k) => write!(f, "delete service {k}"),
            Change::AddDestination(k, d) => write!(
                f,
                "add real server {} to {k} (weight {})",
                d.socket_addr(),
                d.weight
            ),
            Change::EditDestination(k, d) => write!(
                f,
                "edit real server {} of {k} (weight {})",
                d.socket_addr(),
                d.weight
            ),
            Change::DrainDestination(k, d) => {
                write!(f, "drain real server {} of {k} (weight 0)", d.socket_addr())
            }
            Change::DeleteDestination(k, a) => write!(f, "delete real server {a} of {k}"),
        }
    }
}

/// What [`diff`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The changes, in the order to send them.
    pub changes: Vec<Change>,
    /// Services in the kernel that the configuration does not name (left alone).
    pub foreign: Vec<ServiceKey>,
    /// Destinations not wanted that stay (at weight 0) until deletable.
    pub draining: Vec<(ServiceKey, SocketAddr)>,
}

/// The service flags lvsd manages; the kernel's `HASHED` and any others are
/// not compared.
const MANAGED_FLAGS: ServiceFlags = ServiceFlags::PERSISTENT
    .union(ServiceFlags::ONE_PACKET)
    .union(ServiceFlags::SCHED1)
    .union(ServiceFlags::SCHED2)
    .union(ServiceFlags::SCHED3);

/// Whether the kernel's service `current` already has the settings of `wanted`.
pub fn same_service(current: &Service, wanted: &Service) -> bool {
    current.scheduler == wanted.scheduler
        && current.flags & MANAGED_FLAGS == wanted.flags & MANAGED_FLAGS
        && current.timeout.as_secs() == wanted.timeout.as_secs()
        && current.netmask == wanted.netmask
        && current.persistence_engine == wanted.persistence_engine
}

/// Whether the kernel's destination `current` already has the settings of
/// `wanted` (address, forwarding, weight, thresholds, and the tunnel for
/// tunnelled ones).
pub fn same_destination(current: &Destination, wanted: &Destination) -> bool {
    current.socket_addr() == wanted.socket_addr()
        && current.forwarding == wanted.forwarding
        && current.weight == wanted.weight
        && current.upper_threshold == wanted.upper_threshold
        && current.lower_threshold == wanted.lower_threshold
        && (wanted.forwarding != Forwarding::Tunnel || current.tunnel == wanted.tunnel)
}

/// The changes that turn `current` into `desired`.
///
/// - Services of `current` that `desired` neither wants nor retires are
///   foreign: untouched, listed in [`Plan::foreign`].
/// - A wanted service that is missing is added with its destinations; one
///   whose settings differ is edited; destinations are added or edited only
///   where they differ.
/// - A destination of a managed service that is not wanted is deleted when
///   `deletable` says so (no active connection, drain time over, removal on
///   failure), else set to weight 0 (once) and listed in [`Plan::draining`].
/// - A retired service is deleted once none of its destinations is left
///   draining; until then its destinations drain like the others.
///
/// Changes come in the order services (add, edit), destinations (add, edit,
/// drain, delete), services (delete).
pub fn diff(
    desired: &Desired,
    current: &[TableService],
    deletable: &dyn Fn(&ServiceKey, &Destination) -> bool,
) -> Plan {
    let mut plan = Plan::default();
    let by_key: HashMap<ServiceKey, &TableService> =
        current.iter().map(|s| (s.service.key, s)).collect();
    let wanted: HashSet<ServiceKey> = desired.services.iter().map(|s| s.service.key).collect();
    let retired: HashSet<ServiceKey> = desired
        .retired
        .iter()
        .copied()
        .filter(|k| !wanted.contains(k))
        .collect();
    for s in current {
        if !wanted.contains(&s.service.key) && !retired.contains(&s.service.key) {
            plan.foreign.push(s.service.key);
        }
    }
    let mut service_changes = Vec::new();
    let mut destination_changes = Vec::new();
    let mut deletions = Vec::new();
    for want in &desired.services {
        let key = want.service.key;
        match by_key.get(&key) {
            None => {
                service_changes.push(Change::AddService(without_stats(&want.service)));
                for d in &want.destinations {
                    destination_changes.push(Change::AddDestination(key, plain(d)));
                }
            }
            Some(have) => {
                if !same_service(&have.service, &want.service) {
                    service_changes.push(Change::EditService(without_stats(&want.service)));
                }
                for d in &want.destinations {
                    match have
                        .destinations
                        .iter()
                        .find(|c| c.socket_addr() == d.socket_addr())
                    {
                        None => destination_changes.push(Change::AddDestination(key, plain(d))),
                        Some(c) if !same_destination(c, d) => {
                            destination_changes.push(Change::EditDestination(key, plain(d)))
                        }
                        Some(_) => {}
                    }
                }
                for c in &have.destinations {
                    if !want
                        .destinations
                        .iter()
                        .any(|d| d.socket_addr() == c.socket_addr())
                    {
                        unwanted(key, c, deletable, &mut destination_changes, &mut plan);
                    }
                }
            }
        }
    }
    for key in &desired.retired {
        if !retired.contains(key) {
            continue;
        }
        let Some(have) = by_key.get(key) else {
            continue;
        };
        if have.destinations.iter().all(|d| deletable(key, d)) {
            deletions.push(Change::DeleteService(*key));
        } else {
            for c in &have.destinations {
                unwanted(*key, c, deletable, &mut destination_changes, &mut plan);
            }
        }
    }
    plan.changes = service_changes;
    plan.changes.extend(destination_changes);
    plan.changes.extend(deletions);
    plan
}

fn unwanted(
    key: ServiceKey,
    have: &Destination,
    deletable: &dyn Fn(&ServiceKey, &Destination) -> bool,
    changes: &mut Vec<Change>,
    plan: &mut Plan,
) {
    if deletable(&key, have) {
        changes.push(Change::DeleteDestination(key, have.socket_addr()));
    } else {
        if have.weight != 0 {
            let mut drained = plain(have);
            drained.weight = 0;
            changes.push(Change::DrainDestination(key, drained));
        }
        plan.draining.push((key, have.socket_addr()));
    }
}

fn without_stats(service: &Service) -> Service {
    let mut s = service.clone();
    s.stats = None;
    s
}

fn plain(destination: &Destination) -> Destination {
    let mut d = destination.clone();
    d.connections = None;
    d.stats = None;
    d
}
