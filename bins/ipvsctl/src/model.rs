//! The kernel's table as a value, and what a batch of requests would do to
//! it: the pre-check of `-R` and `apply`, and the difference `apply` and
//! `diff` compute.
//!
//! [`check`] plays a batch against a snapshot of the live table with the
//! kernel's own rules, request by request, as the batch would change the
//! table: a service exists or does not, a destination exists or does not,
//! the scheduler and persistence engine are loadable, thresholds are in
//! order, a sync daemon runs or does not. Each refusal carries the
//! [`KernelError`] the kernel would answer, so its text is the one the real
//! run would print. What it cannot see is left to the kernel (and to the
//! rollback): checks that depend on the namespace's routes (a destination
//! address that is not unicast or local), memory, and changes other
//! programs make between the snapshot and the batch.
//!
//! [`diff`] is pure: the requests that turn one table into another,
//! editing in place wherever the kernel allows, so that entries present in
//! both keep their counters and connections.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;

use ipvs_proto::{
    Connections, Daemon, DaemonState, Destination, Forwarding, IpvsCmd, KernelError, Request,
    Service, ServiceFlags, ServiceKey, Stats, TunnelType,
};

use crate::format::Entry;

/// Which scheduler and persistence-engine modules the kernel can use.
#[derive(Debug, Default)]
pub enum Modules {
    /// Every name counts as available (tests, and a system whose modules
    /// cannot be inspected).
    #[default]
    Any,
    /// Exactly these module names (`ip_vs_rr`, `ip_vs_pe_sip`): the unit
    /// tests' kernels.
    #[cfg(test)]
    Only(HashSet<String>),
    /// The running system, asked once per name: loaded
    /// (`/sys/module/NAME`), built in (`modules.builtin`) or loadable
    /// (`modules.dep`, unless `kernel.modules_disabled` is set).
    System(RefCell<HashMap<String, bool>>),
}

impl Modules {
    /// The running system's modules; [`Modules::Any`] when `/sys/module`
    /// cannot be read.
    pub fn system() -> Self {
        if Path::new("/sys/module").is_dir() {
            Self::System(RefCell::default())
        } else {
            Self::Any
        }
    }

    /// Whether module `name` (`ip_vs_wrr`) is available.
    pub fn has(&self, name: &str) -> bool {
        match self {
            Self::Any => true,
            #[cfg(test)]
            Self::Only(names) => names.contains(name),
            Self::System(cache) => *cache
                .borrow_mut()
                .entry(name.to_string())
                .or_insert_with(|| system_has(name)),
        }
    }
}

fn system_has(name: &str) -> bool {
    if Path::new("/sys/module").join(name).exists() {
        return true;
    }
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = Path::new("/lib/modules").join(release.trim());
    let listed = |file: &str| {
        std::fs::read_to_string(dir.join(file)).is_ok_and(|text| {
            text.lines().any(|line| {
                let path = line.split(':').next().unwrap_or("");
                let base = path.rsplit('/').next().unwrap_or("");
                let stem = base.split(".ko").next().unwrap_or("");
                base.contains(".ko") && stem.replace('-', "_") == name
            })
        })
    };
    if listed("modules.builtin") {
        return true;
    }
    let disabled =
        std::fs::read_to_string("/proc/sys/kernel/modules_disabled").is_ok_and(|v| v.trim() == "1");
    !disabled && listed("modules.dep")
}

/// A request the kernel would refuse: its index in the batch and the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub index: usize,
    pub error: KernelError,
}

impl Refusal {
    /// The kernel's text, as ipvsadm words it.
    pub fn message(&self) -> String {
        self.error.message()
    }
}

/// A service as it is compared and re-sent: configuration only.
pub fn service_config(s: &Service) -> Service {
    let mut s = s.clone();
    s.stats = None;
    s.flags.remove(ServiceFlags::HASHED);
    s.flags_mask = ServiceFlags::ALL_BITS;
    s
}

/// A destination as it is compared and re-sent: configuration only.
pub fn dest_config(d: &Destination) -> Destination {
    let mut d = d.clone();
    d.stats = None;
    d.connections = None;
    d
}

/// The live table a batch is checked against.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub table: Vec<Entry>,
    /// The running sync daemons, when the batch starts or stops one.
    pub daemons: Option<Vec<Daemon>>,
}

fn refuse(index: usize, command: IpvsCmd, errno: i32) -> Refusal {
    Refusal {
        index,
        error: KernelError { errno, command },
    }
}

/// Plays `requests` against `snapshot` as the kernel would run them one
/// after the other (a refused request changes nothing, the next ones still
/// run), zeroing last as `-R` sends it. Returns the table it leaves and
/// every refusal, in batch order.
pub fn check(
    snapshot: &Snapshot,
    requests: &[Request],
    modules: &Modules,
) -> (Vec<Entry>, Vec<Refusal>) {
    let mut work = Work {
        entries: snapshot.table.iter().cloned().map(Some).collect(),
        index: HashMap::new(),
        in_use: HashSet::new(),
        daemons: snapshot
            .daemons
            .as_ref()
            .map(|d| d.iter().map(|d| d.state).collect()),
        modules,
    };
    for (i, e) in snapshot.table.iter().enumerate() {
        work.index.insert(e.service.key, i);
        work.note_modules(&e.service);
    }
    let mut refusals = Vec::new();
    let is_zero = |i: &usize| matches!(requests[*i], Request::Zero(_));
    let order = (0..requests.len())
        .filter(|i| !is_zero(i))
        .chain((0..requests.len()).filter(is_zero));
    for index in order {
        if let Err(errno) = work.step(&requests[index]) {
            refusals.push(refuse(index, requests[index].command(), errno));
        }
    }
    refusals.sort_by_key(|r| r.index);
    (work.entries.into_iter().flatten().collect(), refusals)
}

/// The table while a batch is played: entries by service key, the
/// schedulers and engines known to be registered, the running daemons.
struct Work<'a> {
    entries: Vec<Option<Entry>>,
    index: HashMap<ServiceKey, usize>,
    in_use: HashSet<String>,
    daemons: Option<Vec<DaemonState>>,
    modules: &'a Modules,
}

impl Work<'_> {
    /// A scheduler or engine that a service uses is registered (and stays
    /// so: modules are not unloaded when the service goes).
    fn note_modules(&mut self, s: &Service) {
        self.in_use.insert(format!("ip_vs_{}", s.scheduler));
        if let Some(pe) = s.persistence_engine.as_deref().filter(|p| !p.is_empty()) {
            self.in_use.insert(format!("ip_vs_pe_{pe}"));
        }
    }

    fn available(&self, module: String) -> bool {
        self.in_use.contains(&module) || self.modules.has(&module)
    }

    /// Whether the scheduler and engine of `s` are registered or loadable.
    fn modules_ok(&self, s: &Service) -> bool {
        let sched_ok = s.scheduler == "none" || self.available(format!("ip_vs_{}", s.scheduler));
        let pe_ok = match s.persistence_engine.as_deref() {
            None | Some("") => true,
            Some(pe) => self.available(format!("ip_vs_pe_{pe}")),
        };
        sched_ok && pe_ok
    }

    fn entry(&mut self, key: &ServiceKey) -> Result<&mut Entry, i32> {
        let i = *self.index.get(key).ok_or(libc::ESRCH)?;
        self.entries[i].as_mut().ok_or(libc::ESRCH)
    }

    fn step(&mut self, request: &Request) -> Result<(), i32> {
        match request {
            Request::NewService(s) => self.new_service(s)?,
            Request::SetService(s) => self.set_service(s)?,
            Request::DelService(s) => {
                let i = self.index.remove(&s.key).ok_or(libc::ESRCH)?;
                self.entries[i] = None;
            }
            Request::NewDestination(s, d) => {
                let entry = self.entry(&s.key)?;
                dest_values(d)?;
                if entry
                    .dests
                    .iter()
                    .any(|x| x.socket_addr() == d.socket_addr())
                {
                    return Err(libc::EEXIST);
                }
                entry.dests.push(fresh_dest(d));
            }
            Request::SetDestination(s, d) => self.set_destination(s, d)?,
            Request::DelDestination(s, d) => {
                let entry = self.entry(&s.key)?;
                let j = entry
                    .dests
                    .iter()
                    .position(|x| x.socket_addr() == d.socket_addr())
                    .ok_or(libc::ENOENT)?;
                entry.dests.remove(j);
            }
            Request::Flush => {
                self.entries.clear();
                self.index.clear();
            }
            Request::Zero(Some(s)) => zero(self.entry(&s.key)?),
            Request::Zero(None) => self.entries.iter_mut().flatten().for_each(zero),
            Request::NewDaemon(d) => self.new_daemon(d)?,
            Request::DelDaemon(d) => self.del_daemon(d)?,
            _ => {}
        }
        Ok(())
    }

    /// `-A`: refused when the service exists or its modules are missing.
    fn new_service(&mut self, s: &Service) -> Result<(), i32> {
        if self.index.contains_key(&s.key) {
            return Err(libc::EEXIST);
        }
        if !self.modules_ok(s) {
            return Err(libc::ENOENT);
        }
        self.note_modules(s);
        let mut service = service_config(s);
        service.stats = Some(Stats::default());
        self.index.insert(s.key, self.entries.len());
        self.entries.push(Some(Entry {
            service,
            dests: Vec::new(),
        }));
        Ok(())
    }

    /// `-E`: the new configuration, the counters kept.
    fn set_service(&mut self, s: &Service) -> Result<(), i32> {
        self.entry(&s.key)?;
        if !self.modules_ok(s) {
            return Err(libc::ENOENT);
        }
        self.note_modules(s);
        let entry = self.entry(&s.key)?;
        let stats = entry.service.stats;
        entry.service = service_config(s);
        entry.service.stats = stats;
        Ok(())
    }

    /// `-e`: the new configuration, counters and connections kept.
    fn set_destination(&mut self, s: &Service, d: &Destination) -> Result<(), i32> {
        let entry = self.entry(&s.key)?;
        dest_values(d)?;
        let dest = entry
            .dests
            .iter_mut()
            .find(|x| x.socket_addr() == d.socket_addr())
            .ok_or(libc::ENOENT)?;
        let (stats, connections) = (dest.stats, dest.connections);
        *dest = dest_config(d);
        dest.stats = stats;
        dest.connections = connections;
        Ok(())
    }

    /// `--start-daemon`: one daemon per state.
    fn new_daemon(&mut self, d: &Daemon) -> Result<(), i32> {
        if let Some(running) = &mut self.daemons {
            if running.contains(&d.state) {
                return Err(libc::EEXIST);
            }
            running.push(d.state);
        }
        Ok(())
    }

    /// `--stop-daemon`: refused when no daemon of that state runs.
    fn del_daemon(&mut self, d: &Daemon) -> Result<(), i32> {
        if let Some(running) = &mut self.daemons {
            let i = running
                .iter()
                .position(|s| *s == d.state)
                .ok_or(libc::ESRCH)?;
            running.remove(i);
        }
        Ok(())
    }
}

/// The kernel's checks of a destination's values (`ip_vs_add_dest`,
/// `ip_vs_edit_dest`): lower threshold above the upper one, GUE without a
/// port.
fn dest_values(d: &Destination) -> Result<(), i32> {
    if d.lower_threshold > d.upper_threshold {
        return Err(libc::ERANGE);
    }
    if d.tunnel.kind == TunnelType::Gue && d.tunnel.port == 0 {
        return Err(libc::EINVAL);
    }
    Ok(())
}

fn fresh_dest(d: &Destination) -> Destination {
    let mut d = dest_config(d);
    d.stats = Some(Stats::default());
    d.connections = Some(Connections::default());
    d
}

fn zero(entry: &mut Entry) {
    entry.service.stats = entry.service.stats.map(|_| Stats::default());
    for d in &mut entry.dests {
        d.stats = d.stats.map(|_| Stats::default());
    }
}

/// The requests that make `current` equal to `desired`: services in both
/// are edited in place (`-E`), their destinations edited (`-e`), added or
/// deleted one by one; services only in `desired` are added with their
/// destinations; services only in `current` are deleted when `prune` is
/// set and left alone otherwise. Entries equal in both are not named by any
/// request. Deletions come first, so a batch never holds two versions of
/// one entry.
pub fn diff(current: &[Entry], desired: &[Entry], prune: bool) -> Vec<Request> {
    let mut requests = Vec::new();
    let wanted: HashSet<ServiceKey> = desired.iter().map(|e| e.service.key).collect();
    if prune {
        for entry in current {
            if !wanted.contains(&entry.service.key) {
                requests.push(Request::DelService(Service::reference(entry.service.key)));
            }
        }
    }
    for entry in desired {
        let key = entry.service.key;
        let reference = Service::reference(key);
        let Some(now) = current.iter().find(|e| e.service.key == key) else {
            requests.push(Request::NewService(service_config(&entry.service)));
            for d in &entry.dests {
                requests.push(Request::NewDestination(reference.clone(), dest_config(d)));
            }
            continue;
        };
        if service_config(&now.service) != service_config(&entry.service) {
            requests.push(Request::SetService(service_config(&entry.service)));
        }
        let want: HashMap<SocketAddr, &Destination> =
            entry.dests.iter().map(|d| (d.socket_addr(), d)).collect();
        for d in &now.dests {
            if !want.contains_key(&d.socket_addr()) {
                requests.push(Request::DelDestination(
                    reference.clone(),
                    dest_reference(d),
                ));
            }
        }
        for d in &entry.dests {
            match now
                .dests
                .iter()
                .find(|x| x.socket_addr() == d.socket_addr())
            {
                None => requests.push(Request::NewDestination(reference.clone(), dest_config(d))),
                Some(x) if dest_config(x) != dest_config(d) => {
                    requests.push(Request::SetDestination(reference.clone(), dest_config(d)))
                }
                Some(_) => {}
            }
        }
    }
    requests
}

/// A destination as ipvsadm names one it deletes (`-d`): the address and
/// port, everything else at its defaults.
pub fn dest_reference(d: &Destination) -> Destination {
    Destination::new(d.socket_addr(), Forwarding::DirectRoute, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr};

    /// A table as a value to compare: configuration only, order ignored.
    fn canonical(
        table: &[Entry],
    ) -> HashMap<ServiceKey, (Service, HashMap<SocketAddr, Destination>)> {
        table
            .iter()
            .map(|e| {
                let dests = e
                    .dests
                    .iter()
                    .map(|d| (d.socket_addr(), dest_config(d)))
                    .collect();
                (e.service.key, (service_config(&e.service), dests))
            })
            .collect()
    }

    fn key(i: u8) -> ServiceKey {
        ServiceKey::tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)), 80))
    }

    fn dest(i: u8, weight: u32, masq: bool) -> Destination {
        let fwd = if masq {
            Forwarding::Masq
        } else {
            Forwarding::DirectRoute
        };
        Destination::new(
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 1, 0, i)), 80),
            fwd,
            weight,
        )
    }

    fn stats(n: u64) -> Stats {
        Stats {
            connections: n,
            ..Stats::default()
        }
    }

    /// A table as the kernel lists it: counters on every entry.
    fn arb_table() -> impl Strategy<Value = Vec<Entry>> {
        let dests =
            proptest::collection::btree_map(0u8..4, (0u32..3, any::<bool>(), 1u64..99), 0..4);
        let service = (
            0u8..4,
            prop_oneof![Just("rr"), Just("wlc")],
            any::<bool>(),
            1u64..99,
            dests,
        );
        proptest::collection::vec(service, 0..4).prop_map(|services| {
            let mut seen = HashSet::new();
            services
                .into_iter()
                .filter(|(k, ..)| seen.insert(*k))
                .map(|(k, sched, persistent, n, dests)| {
                    let mut service = Service::new(key(k), sched);
                    if persistent {
                        service = service.with_persistence(std::time::Duration::from_secs(300));
                    }
                    service.stats = Some(stats(n));
                    let dests = dests
                        .into_iter()
                        .map(|(a, (w, m, n))| {
                            let mut d = dest(a, w, m);
                            d.stats = Some(stats(n));
                            d.connections = Some(Connections::default());
                            d
                        })
                        .collect();
                    Entry { service, dests }
                })
                .collect()
        })
    }

    fn named_service(r: &Request) -> Option<ServiceKey> {
        match r {
            Request::NewService(s) | Request::SetService(s) | Request::DelService(s) => Some(s.key),
            _ => None,
        }
    }

    fn named_dest(r: &Request) -> Option<(ServiceKey, SocketAddr)> {
        match r {
            Request::NewDestination(s, d)
            | Request::SetDestination(s, d)
            | Request::DelDestination(s, d) => Some((s.key, d.socket_addr())),
            _ => None,
        }
    }

    proptest! {
        /// Applying the difference to any table yields the wanted table
        /// (plus, without prune, the services the file does not name), is
        /// accepted request by request, and names nothing that is the same
        /// in both: unchanged entries keep their counters, and entries in
        /// both are edited in place, never recreated.
        #[test]
        fn applying_the_diff_yields_the_file_and_touches_nothing_else(
            current in arb_table(),
            desired in arb_table(),
            prune in any::<bool>(),
        ) {
            let requests = diff(&current, &desired, prune);
            let snapshot = Snapshot { table: current.clone(), daemons: None };
            let (after, refusals) = check(&snapshot, &requests, &Modules::Any);
            prop_assert!(refusals.is_empty(), "{refusals:?} for {requests:?}");
            let mut expected = desired.clone();
            if !prune {
                expected.extend(current.iter().filter(|e| !desired.iter().any(|d| d.service.key == e.service.key)).cloned());
            }
            prop_assert_eq!(canonical(&after), canonical(&expected));
            for now in &current {
                let key = now.service.key;
                let Some(want) = desired.iter().find(|e| e.service.key == key) else {
                    // Not in the file: deleted with prune, untouched without.
                    if !prune {
                        prop_assert!(requests.iter().all(|r| named_service(r) != Some(key) && named_dest(r).map(|x| x.0) != Some(key)));
                    }
                    continue;
                };
                let kept = after.iter().find(|e| e.service.key == key).unwrap();
                prop_assert_eq!(kept.service.stats, now.service.stats, "service recreated");
                let same_service = service_config(&want.service) == service_config(&now.service);
                prop_assert_eq!(same_service, !requests.iter().any(|r| named_service(r) == Some(key)));
                for d in &now.dests {
                    let id = (key, d.socket_addr());
                    let Some(w) = want.dests.iter().find(|x| x.socket_addr() == d.socket_addr()) else { continue };
                    let k = kept.dests.iter().find(|x| x.socket_addr() == d.socket_addr()).unwrap();
                    prop_assert_eq!(k.stats, d.stats, "destination recreated");
                    prop_assert_eq!(dest_config(w) == dest_config(d), !requests.iter().any(|r| named_dest(r) == Some(id)));
                }
            }
            // Applying it again changes nothing.
            prop_assert!(diff(&after, &desired, prune).is_empty());
        }
    }

    fn entry(k: u8, sched: &str, dests: Vec<Destination>) -> Entry {
        Entry {
            service: Service::new(key(k), sched),
            dests,
        }
    }

    fn messages(
        snapshot: &Snapshot,
        requests: &[Request],
        modules: &Modules,
    ) -> Vec<(usize, String)> {
        check(snapshot, requests, modules)
            .1
            .iter()
            .map(|r| (r.index, r.message()))
            .collect()
    }

    #[test]
    fn the_kernel_existence_rules_line_by_line() {
        let snapshot = Snapshot {
            table: vec![entry(1, "rr", vec![dest(1, 1, true)])],
            daemons: None,
        };
        let svc = |k| Service::reference(key(k));
        let requests = vec![
            Request::NewService(Service::new(key(1), "rr")),
            Request::DelService(svc(1)),
            Request::NewService(Service::new(key(1), "nosuch")),
            Request::NewService(Service::new(key(1), "rr")),
            Request::NewDestination(svc(1), dest(1, 1, true)),
            Request::NewDestination(svc(1), dest(1, 1, true)),
            Request::SetDestination(svc(1), dest(2, 1, true)),
            Request::DelDestination(svc(2), dest(1, 1, true)),
            Request::Zero(Some(svc(3))),
            Request::NewDestination(svc(1), {
                let mut d = dest(3, 1, true);
                d.lower_threshold = 5;
                d
            }),
        ];
        let only_rr = Modules::Only(["ip_vs_rr".to_string()].into());
        assert_eq!(
            messages(&snapshot, &requests, &only_rr),
            vec![
                (0, "Service already exists".to_string()),
                (2, "Scheduler or persistence engine not found".to_string()),
                (5, "Destination already exists".to_string()),
                (6, "No such destination".to_string()),
                (7, "Service not defined".to_string()),
                (8, "No such service".to_string()),
                (9, "Numerical result out of range".to_string()),
            ]
        );
        // A scheduler in use by a service is registered: no module needed.
        let wlc = vec![Request::NewService(Service::new(key(5), "rr"))];
        assert!(messages(&snapshot, &wlc, &Modules::Only(HashSet::new())).is_empty());
    }

    #[test]
    fn zeroing_is_checked_after_everything_else() {
        let snapshot = Snapshot::default();
        let svc = Service::reference(key(1));
        let requests = vec![
            Request::Zero(Some(svc)),
            Request::NewService(Service::new(key(1), "rr")),
        ];
        assert!(messages(&snapshot, &requests, &Modules::Any).is_empty());
        let requests = vec![
            Request::NewService(Service::new(key(1), "rr")),
            Request::Zero(Some(Service::reference(key(1)))),
            Request::DelService(Service::reference(key(1))),
        ];
        assert_eq!(
            messages(&snapshot, &requests, &Modules::Any),
            vec![(1, "No such service".to_string())]
        );
    }

    #[test]
    fn daemons_are_checked_when_known() {
        let snapshot = Snapshot {
            table: Vec::new(),
            daemons: Some(vec![Daemon::new(DaemonState::Master, "lo", 1)]),
        };
        let requests = vec![
            Request::NewDaemon(Daemon::new(DaemonState::Master, "lo", 1)),
            Request::DelDaemon(Daemon::new(DaemonState::Backup, "", 0)),
            Request::DelDaemon(Daemon::new(DaemonState::Master, "", 0)),
        ];
        assert_eq!(
            messages(&snapshot, &requests, &Modules::Any),
            vec![
                (0, "Daemon has already run".to_string()),
                (1, "No daemon is running".to_string()),
            ]
        );
    }
}
