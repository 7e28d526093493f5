//! The `ipvs-proto` client against a real Linux IPVS kernel, with the real
//! `ipvsadm` as the oracle.
//!
//! Every test needs a kernel with IPVS, root and `ipvsadm`, so it is
//! `#[ignore]`d on the host and run by `cargo xtask kernel-lab` in a qemu guest
//! (see `docs/kernel-lab.md`). Each test works in a fresh network namespace of
//! its own, ends by comparing `ipvsadm -S -n` in that namespace with the state
//! it expects, and leaves the table empty (service dumps are not isolated
//! between namespaces, so a table left behind could disturb the next test).
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use ipvs_proto::{
    AddressFamily, Client, Daemon, DaemonState, Destination, Error, Forwarding, NetNs, Netmask,
    Protocol, Request, Service, ServiceFlags, ServiceKey, Timeouts, TunnelFlags, TunnelType,
};

#[path = "support/netns.rs"]
mod netns;

use netns::{enter_fresh_netns, run};

// ---------------------------------------------------------------------------
// The lab: a namespace, a client, the oracle.

/// A fresh network namespace (entered by the calling thread) with `lo` up, and
/// a client in it. Dropping it flushes the table, also when a test panics.
struct Lab {
    client: Client,
}

impl Lab {
    fn new() -> Self {
        enter_fresh_netns();
        let client = Client::connect().expect("a client in the new namespace");
        Lab { client }
    }

    /// Adds every service of `table` and its destinations, one request each.
    fn add_all(&mut self, table: &[(Service, Vec<Destination>)]) {
        for (service, dests) in table {
            self.client.add_service(service).expect("add service");
            for dest in dests {
                self.client
                    .add_destination(&service.key, dest)
                    .expect("add destination");
            }
        }
    }

    /// The client's listings and `ipvsadm -S -n` both show `expected`.
    fn assert_state(&mut self, expected: &[(Service, Vec<Destination>)]) {
        assert_listed(&mut self.client, expected);
        self.assert_saved(expected);
    }

    /// Compares `ipvsadm -S -n` with the rules `expected` stands for. Order is
    /// ipvsadm's business (it sorts); the oracle compares the set of services,
    /// each with the set of its destinations.
    fn assert_saved(&self, expected: &[(Service, Vec<Destination>)]) {
        let saved = run("ipvsadm", &["-S", "-n"]);
        let mut want = String::new();
        for (service, dests) in expected {
            want.push_str(&save_service(service));
            for dest in dests {
                want.push_str(&save_destination(&service.key, dest));
            }
        }
        assert_eq!(
            save_blocks(&saved),
            save_blocks(&want),
            "ipvsadm -S -n shows another state:\n{saved}\nexpected (in any order):\n{want}"
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.client.flush();
    }
}

/// Runs `ipvsadm` expecting it to fail; returns its stderr.
fn ipvsadm_fails(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("could not run ipvsadm");
    assert!(!out.status.success(), "ipvsadm {args:?} succeeded");
    String::from_utf8(out.stderr).expect("UTF-8 output")
}

/// `ipvsadm -S -n` text as a set of blocks: a service line with the set of
/// its destination lines.
fn save_blocks(text: &str) -> BTreeSet<(String, BTreeSet<String>)> {
    let mut blocks = BTreeSet::new();
    let mut current: Option<(String, BTreeSet<String>)> = None;
    for line in text.lines() {
        if line.starts_with("-A ") {
            blocks.extend(current.take());
            current = Some((line.to_owned(), BTreeSet::new()));
        } else if let Some((_, dests)) = current.as_mut() {
            dests.insert(line.to_owned());
        } else {
            panic!("ipvsadm -S line outside a service: {line}");
        }
    }
    blocks.extend(current);
    blocks
}

/// ipvsadm's way of naming a service key in `-S` output.
fn key_args(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Tuple {
            protocol,
            address,
            port,
        } => {
            let option = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
                // Required while the enum is `#[non_exhaustive]`.
                #[allow(unreachable_patterns)]
                other => unreachable!("the lab adds no {other:?} service"),
            };
            format!("{option} {}", SocketAddr::new(address, port))
        }
        ServiceKey::Fwmark { family, mark } => match family {
            AddressFamily::Inet => format!("-f {mark}"),
            AddressFamily::Inet6 => format!("-f {mark} -6"),
            // Required while the enum is `#[non_exhaustive]`.
            #[allow(unreachable_patterns)]
            other => unreachable!("the lab adds no {other:?} service"),
        },
    }
}

/// The `-A` line `ipvsadm -S -n` writes for `service`.
fn save_service(service: &Service) -> String {
    let mut line = format!("-A {} -s {}", key_args(&service.key), service.scheduler);
    if service.flags.contains(ServiceFlags::PERSISTENT) {
        let _ = write!(line, " -p {}", service.timeout.as_secs());
        if service.netmask != Netmask::full(service.key.family()) {
            let _ = write!(line, " -M {}", service.netmask);
        }
    }
    if let Some(engine) = &service.persistence_engine {
        let _ = write!(line, " --pe {engine}");
    }
    if service.flags.contains(ServiceFlags::ONE_PACKET) {
        line.push_str(" -o");
    }
    let prefix = &service.scheduler;
    let names: Vec<String> = [
        (ServiceFlags::SCHED1, "fallback"),
        (ServiceFlags::SCHED2, "port"),
    ]
    .into_iter()
    .filter(|(flag, _)| service.flags.contains(*flag))
    .map(|(_, name)| format!("{prefix}-{name}"))
    .collect();
    if !names.is_empty() {
        let _ = write!(line, " -b {}", names.join(","));
    }
    line.push('\n');
    line
}

/// The `-a` line `ipvsadm -S -n` writes for `dest` of the service `key`.
fn save_destination(key: &ServiceKey, dest: &Destination) -> String {
    let method = match dest.forwarding {
        Forwarding::Masq => "-m",
        Forwarding::DirectRoute => "-g",
        Forwarding::Tunnel => "-i",
        // ipvsadm has no option for these two; 1.31 saves the local node as
        // `-g` and prints a null string for bypass.
        Forwarding::Local => "-g",
        Forwarding::Bypass => "(null)",
        // Required while the enum is `#[non_exhaustive]`.
        #[allow(unreachable_patterns)]
        other => unreachable!("the lab adds no {other:?} destination"),
    };
    let mut line = format!(
        "-a {} -r {} {method} -w {}",
        key_args(key),
        dest.socket_addr(),
        dest.weight
    );
    if dest.forwarding == Forwarding::Tunnel {
        let _ = write!(line, " --tun-type {}", dest.tunnel.kind);
        if dest.tunnel.kind == TunnelType::Gue {
            let _ = write!(line, " --tun-port {}", dest.tunnel.port);
        }
        if dest.tunnel.kind != TunnelType::Ipip {
            line.push_str(match dest.tunnel.flags {
                f if f.contains(TunnelFlags::REMCSUM) => " --tun-remcsum",
                f if f.contains(TunnelFlags::CSUM) => " --tun-csum",
                _ => " --tun-nocsum",
            });
        }
    }
    line.push('\n');
    line
}

// ---------------------------------------------------------------------------
// Comparing what was set with what the kernel gives back.

/// A service as the kernel lists it, reduced to what a request sets: no
/// counters, and without the `HASHED` flag the kernel adds.
fn settings(service: &Service) -> Service {
    let mut s = service.clone();
    s.stats = None;
    s.flags.remove(ServiceFlags::HASHED);
    s.flags_mask = ServiceFlags::ALL_BITS;
    s
}

/// A destination as the kernel lists it, reduced to what a request sets.
fn dest_settings(dest: &Destination) -> Destination {
    let mut d = dest.clone();
    d.connections = None;
    d.stats = None;
    d
}

/// Reads the whole table back through both listing paths (the dump and the
/// one-service get) and compares it with `expected`, in any order.
fn assert_listed(client: &mut Client, expected: &[(Service, Vec<Destination>)]) {
    let listed: Vec<Service> = client.services().expect("services dump");
    assert_eq!(
        listed.len(),
        expected.len(),
        "the dump has {} services, expected {}",
        listed.len(),
        expected.len()
    );
    for (service, dests) in expected {
        let got = listed
            .iter()
            .find(|s| s.key == service.key)
            .unwrap_or_else(|| panic!("{:?} is missing from the dump", service.key));
        assert_eq!(settings(got), *service, "dumped service");
        let one = client.service(&service.key).expect("get one service");
        assert_eq!(settings(&one), *service, "service got by key");
        let mut got_dests: Vec<Destination> = client
            .destinations(&service.key)
            .expect("destinations dump")
            .iter()
            .map(dest_settings)
            .collect();
        let mut want = dests.clone();
        got_dests.sort_by_key(Destination::socket_addr);
        want.sort_by_key(Destination::socket_addr);
        assert_eq!(got_dests, want, "destinations of {:?}", service.key);
    }
}

fn v4(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

fn tunnel(addr: &str, kind: TunnelType, port: u16, flags: TunnelFlags) -> Destination {
    let mut d = Destination::new(v4(addr), Forwarding::Tunnel, 1);
    d.tunnel.kind = kind;
    d.tunnel.port = port;
    d.tunnel.flags = flags;
    d
}

/// The scheduler modules the lab loaded (`KERNEL_LAB_SCHEDULERS`), i.e.
/// every scheduler this kernel has.
fn kernel_schedulers() -> Vec<String> {
    let list = std::env::var("KERNEL_LAB_SCHEDULERS")
        .expect("KERNEL_LAB_SCHEDULERS (set by cargo xtask kernel-lab)");
    let names: Vec<String> = list.split_whitespace().map(str::to_owned).collect();
    assert!(names.len() >= 6, "too few schedulers: {list}");
    names
}

/// What is tried, the client's result, the errno expected, and the ipvsadm
/// arguments that make the same request (`None`: ipvsadm never sends it).
type ErrorCase<'a> = (&'a str, Result<(), Error>, i32, Option<&'a [&'a str]>);

fn kernel_error(what: &str, result: Result<(), Error>) -> ipvs_proto::KernelError {
    match result {
        Err(Error::Kernel(e)) => e,
        other => panic!("{what}: expected a kernel error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Services and destinations.

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn services_of_every_protocol_family_and_fwmark_add_edit_delete() {
    let mut lab = Lab::new();
    let v6: IpAddr = "2001:db8::100".parse().unwrap();
    let keys = [
        ServiceKey::tcp(v4("10.0.0.1:80")),
        ServiceKey::udp(v4("10.0.0.1:53")),
        ServiceKey::sctp(v4("10.0.0.1:9000")),
        ServiceKey::fwmark(AddressFamily::Inet, 42),
        ServiceKey::tcp(SocketAddr::new(v6, 443)),
        ServiceKey::udp(SocketAddr::new(v6, 53)),
        ServiceKey::sctp(SocketAddr::new(v6, 9000)),
        ServiceKey::fwmark(AddressFamily::Inet6, 43),
    ];
    let mut table: Vec<(Service, Vec<Destination>)> = keys
        .iter()
        .map(|key| (Service::new(*key, "wlc"), Vec::new()))
        .collect();
    lab.add_all(&table);
    lab.assert_state(&table);

    // Edit every one: another scheduler, persistence with a netmask.
    for (i, (service, _)) in table.iter_mut().enumerate() {
        service.scheduler = ["rr", "wrr", "lc", "sed"][i % 4].to_owned();
        *service = service
            .clone()
            .with_persistence(Duration::from_secs(60 + i as u64));
        service.netmask = match service.key.family() {
            AddressFamily::Inet => Netmask::V4(Ipv4Addr::new(255, 255, 255, 0)),
            AddressFamily::Inet6 => Netmask::V6(64),
            // Required while the enum is `#[non_exhaustive]`.
            #[allow(unreachable_patterns)]
            other => unreachable!("the lab adds no {other:?} service"),
        };
        lab.client.edit_service(service).expect("edit service");
    }
    lab.assert_state(&table);

    // Delete every other one.
    let mut kept = Vec::new();
    for (i, entry) in table.into_iter().enumerate() {
        if i % 2 == 0 {
            lab.client.delete_service(&entry.0.key).expect("delete");
        } else {
            kept.push(entry);
        }
    }
    lab.assert_state(&kept);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn every_scheduler_the_kernel_has() {
    let mut lab = Lab::new();
    let table: Vec<(Service, Vec<Destination>)> = kernel_schedulers()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let port = 1000 + u16::try_from(i).unwrap();
            let service = Service::new(
                ServiceKey::tcp(SocketAddr::new([10, 0, 0, 1].into(), port)),
                name,
            );
            let dest = Destination::new(v4(&format!("10.0.1.{}:80", i + 1)), Forwarding::Masq, 2);
            (service, vec![dest])
        })
        .collect();
    lab.add_all(&table);
    lab.assert_state(&table);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn flags_persistence_netmask_and_persistence_engine() {
    let mut lab = Lab::new();
    let mut sh = Service::new(ServiceKey::tcp(v4("10.0.0.1:443")), "sh");
    sh.flags = ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT;
    let mut mh = Service::new(ServiceKey::sctp(v4("10.0.0.1:9000")), "mh");
    mh.flags = ServiceFlags::MH_FALLBACK | ServiceFlags::MH_PORT;
    let mut one_packet = Service::new(ServiceKey::udp(v4("10.0.0.1:53")), "rr");
    one_packet.flags = ServiceFlags::ONE_PACKET;
    let mut sip = Service::new(ServiceKey::udp(v4("10.0.0.1:5060")), "rr")
        .with_persistence(Duration::from_secs(60));
    sip.persistence_engine = Some("sip".to_owned());
    let mut masked = Service::new(ServiceKey::tcp(v4("10.0.0.1:0")), "wlc")
        .with_persistence(Duration::from_secs(2_678_400));
    masked.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 0, 0));
    let mut v6_masked = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 7), "lc")
        .with_persistence(Duration::from_secs(1));
    v6_masked.netmask = Netmask::V6(48);
    let table: Vec<(Service, Vec<Destination>)> = [sh, mh, one_packet, sip, masked, v6_masked]
        .into_iter()
        .map(|s| (s, Vec::new()))
        .collect();
    lab.add_all(&table);
    lab.assert_state(&table);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn destinations_of_every_forwarding_method_and_tunnel_type() {
    let mut lab = Lab::new();
    let service = Service::new(ServiceKey::tcp(v4("10.0.0.1:80")), "wrr");
    let mut masq = Destination::new(v4("10.0.0.2:8080"), Forwarding::Masq, 5);
    masq.upper_threshold = 100;
    masq.lower_threshold = 50;
    let mut dr = Destination::new(v4("10.0.0.3:80"), Forwarding::DirectRoute, 0);
    dr.upper_threshold = 7;
    let dests = vec![
        masq,
        dr,
        tunnel("10.0.0.4:80", TunnelType::Ipip, 0, TunnelFlags::empty()),
        tunnel("10.0.0.5:80", TunnelType::Gue, 6080, TunnelFlags::CSUM),
        tunnel("10.0.0.6:80", TunnelType::Gue, 6081, TunnelFlags::empty()),
        tunnel("10.0.0.7:80", TunnelType::Gue, 6082, TunnelFlags::REMCSUM),
        tunnel("10.0.0.8:80", TunnelType::Gre, 0, TunnelFlags::empty()),
        tunnel("10.0.0.9:80", TunnelType::Gre, 0, TunnelFlags::CSUM),
        Destination::new(v4("10.0.0.10:80"), Forwarding::Local, 1),
        Destination::new(v4("10.0.0.11:80"), Forwarding::Bypass, 1),
    ];
    lab.client.add_service(&service).expect("add service");
    for dest in &dests {
        lab.client
            .add_destination(&service.key, dest)
            .expect("add destination");
    }
    let mut table = vec![(service.clone(), dests)];
    lab.assert_state(&table);
    // Thresholds are not in `-S`: the listing with --thresholds shows them.
    let thresholds = run("ipvsadm", &["-Ln", "--thresholds"]);
    let row = |real: &str| -> Vec<String> {
        thresholds
            .lines()
            .map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|f| f.len() >= 4 && f[0] == "->" && f[1] == real)
            .unwrap_or_else(|| panic!("no row for {real} in\n{thresholds}"))
    };
    for dest in &table[0].1 {
        let f = row(&dest.socket_addr().to_string());
        assert_eq!(
            (f[2].as_str(), f[3].as_str()),
            (
                dest.upper_threshold.to_string().as_str(),
                dest.lower_threshold.to_string().as_str()
            ),
            "thresholds of {}",
            dest.socket_addr()
        );
    }

    // Edit: other weights, methods and tunnels; delete two.
    let dests = &mut table[0].1;
    dests[0].weight = 9;
    dests[0].forwarding = Forwarding::DirectRoute;
    dests[2].tunnel = tunnel("10.0.0.4:80", TunnelType::Gre, 0, TunnelFlags::CSUM).tunnel;
    dests[4].weight = 65535;
    for i in [0, 2, 4] {
        lab.client
            .edit_destination(&service.key, &dests[i])
            .expect("edit destination");
    }
    for addr in ["10.0.0.8:80", "10.0.0.3:80"] {
        lab.client
            .delete_destination(&service.key, v4(addr))
            .expect("delete destination");
        dests.retain(|d| d.socket_addr() != v4(addr));
    }
    lab.assert_state(&table);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn ipv6_and_fwmark_destinations() {
    let mut lab = Lab::new();
    let v6 = Service::new(ServiceKey::tcp("[2001:db8::1]:443".parse().unwrap()), "lc");
    let v6_dests = vec![
        Destination::new("[2001:db8::2]:443".parse().unwrap(), Forwarding::Masq, 2),
        Destination::new(
            "[2001:db8::3]:8443".parse().unwrap(),
            Forwarding::DirectRoute,
            1,
        ),
    ];
    let mark = Service::new(ServiceKey::fwmark(AddressFamily::Inet, 42), "rr");
    let mark_dests = vec![
        Destination::new(v4("10.0.0.2:0"), Forwarding::DirectRoute, 1),
        Destination::new(v4("10.0.0.3:80"), Forwarding::Masq, 3),
    ];
    let mark6 = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 43), "wlc");
    let mark6_dests = vec![Destination::new(
        SocketAddr::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5).into(), 0),
        Forwarding::Tunnel,
        4,
    )];
    let table = vec![(v6, v6_dests), (mark, mark_dests), (mark6, mark6_dests)];
    lab.add_all(&table);
    lab.assert_state(&table);
}

// ---------------------------------------------------------------------------
// Timeouts, info, zero, flush, daemons.

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn timeouts_set_and_get() {
    let mut lab = Lab::new();
    let set = Timeouts {
        tcp: Some(Duration::from_secs(1800)),
        tcp_fin: Some(Duration::from_secs(30)),
        udp: Some(Duration::from_secs(120)),
    };
    lab.client.set_timeouts(&set).expect("set timeouts");
    assert_eq!(lab.client.timeouts().expect("get timeouts"), set);
    assert_eq!(
        run("ipvsadm", &["-L", "--timeout"]),
        "Timeout (tcp tcpfin udp): 1800 30 120\n"
    );
    // An absent value leaves that timeout as it is.
    let only_udp = Timeouts {
        udp: Some(Duration::from_secs(5)),
        ..Timeouts::default()
    };
    lab.client.set_timeouts(&only_udp).expect("set udp");
    assert_eq!(
        lab.client.timeouts().expect("get timeouts"),
        Timeouts {
            udp: Some(Duration::from_secs(5)),
            ..set
        }
    );
    lab.assert_saved(&[]);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn info_matches_ipvsadm() {
    let mut lab = Lab::new();
    let info = lab.client.info().expect("info");
    let listing = run("ipvsadm", &["-Ln"]);
    let header = listing.lines().next().expect("a header line");
    assert_eq!(
        header,
        format!(
            "IP Virtual Server version {} (size={})",
            info.version, info.connection_table_size
        )
    );
    lab.assert_saved(&[]);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn zero_clears_the_counters_of_one_service_or_all() {
    let mut lab = Lab::new();
    run("ip", &["addr", "add", "10.0.0.1/8", "dev", "lo"]);
    let keys = [
        ServiceKey::tcp(v4("10.0.0.100:80")),
        ServiceKey::tcp(v4("10.0.0.101:80")),
    ];
    let mut table = Vec::new();
    let mut listeners = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let real = v4(&format!("10.0.0.{}:80", 2 + i));
        listeners.push(std::net::TcpListener::bind(real).expect("listener"));
        let service = Service::new(*key, "rr");
        let dest = Destination::new(real, Forwarding::Masq, 1);
        lab.client.add_service(&service).expect("add");
        lab.client.add_destination(key, &dest).expect("add dest");
        table.push((service, vec![dest]));
    }
    let connections_of = |client: &mut Client, key: &ServiceKey| {
        client
            .service(key)
            .expect("get")
            .stats
            .expect("listed services have stats")
            .connections
    };
    let mut streams = Vec::new();
    for key in &keys {
        let ServiceKey::Tuple { address, port, .. } = *key else {
            unreachable!()
        };
        for _ in 0..3 {
            streams.push(std::net::TcpStream::connect((address, port)).expect("connect"));
        }
    }
    // The kernel folds its per-CPU counters into what it reports every 2 s.
    for key in &keys {
        let start = std::time::Instant::now();
        while connections_of(&mut lab.client, key) != 3 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{key:?} never showed its 3 connections"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    lab.client.zero(Some(&keys[0])).expect("zero one");
    assert_eq!(connections_of(&mut lab.client, &keys[0]), 0);
    assert_eq!(connections_of(&mut lab.client, &keys[1]), 3);
    lab.client.zero(None).expect("zero all");
    assert_eq!(connections_of(&mut lab.client, &keys[1]), 0);
    let stats = run("ipvsadm", &["-Ln", "--stats"]);
    assert!(
        stats
            .lines()
            .filter(|l| l.starts_with("TCP"))
            .all(|l| l.split_whitespace().nth(2) == Some("0")),
        "{stats}"
    );
    drop(streams);
    lab.assert_saved(&table);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn flush_deletes_every_service() {
    let mut lab = Lab::new();
    for port in 1..=20 {
        let key = ServiceKey::tcp(SocketAddr::new([10, 0, 0, 1].into(), port));
        lab.client
            .add_service(&Service::new(key, "rr"))
            .expect("add");
        lab.client
            .add_destination(
                &key,
                &Destination::new(v4("10.0.0.2:80"), Forwarding::Masq, 1),
            )
            .expect("add dest");
    }
    assert_eq!(lab.client.services().expect("dump").len(), 20);
    lab.client.flush().expect("flush");
    assert!(lab.client.services().expect("dump").is_empty());
    lab.assert_saved(&[]);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn sync_daemons_start_list_stop_on_lo() {
    let mut lab = Lab::new();
    let master = Daemon::new(DaemonState::Master, "lo", 5);
    let mut backup = Daemon::new(DaemonState::Backup, "lo", 6);
    backup.port = Some(8849);
    lab.client.start_daemon(&master).expect("start master");
    lab.client.start_daemon(&backup).expect("start backup");
    let listed = lab.client.daemons().expect("daemons");
    assert_eq!(listed.len(), 2, "{listed:?}");
    let find = |state| {
        listed
            .iter()
            .find(|d| d.state == state)
            .unwrap_or_else(|| panic!("no {state:?} daemon in {listed:?}"))
    };
    for (want, got) in [
        (&master, find(DaemonState::Master)),
        (&backup, find(DaemonState::Backup)),
    ] {
        assert_eq!(
            (&got.interface, got.sync_id),
            (&want.interface, want.sync_id)
        );
    }
    assert_eq!(find(DaemonState::Backup).port, Some(8849));
    // ipvsadm shows the kernel's values, defaults included: the client must
    // have read the same ones.
    let text = run("ipvsadm", &["-L", "--daemon"]);
    let mut shown: Vec<String> = listed
        .iter()
        .map(|d| {
            let state = match d.state {
                DaemonState::Master => "master",
                DaemonState::Backup => "backup",
                // Required while the enum is `#[non_exhaustive]`.
                #[allow(unreachable_patterns)]
                other => unreachable!("the lab starts no {other:?} daemon"),
            };
            format!(
                "{state} sync daemon (mcast={}, syncid={}, maxlen={}, group={}, port={}, ttl={})",
                d.interface,
                d.sync_id,
                d.max_length.expect("listed maxlen"),
                d.group.expect("listed group"),
                d.port.expect("listed port"),
                d.ttl.expect("listed ttl")
            )
        })
        .collect();
    shown.sort();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(shown, lines);
    // Starting one again is refused; stopping works once.
    let again = kernel_error("start a running daemon", lab.client.start_daemon(&master));
    assert_eq!(again.errno, libc::EEXIST, "{again}");
    lab.client
        .stop_daemon(DaemonState::Master)
        .expect("stop master");
    lab.client
        .stop_daemon(DaemonState::Backup)
        .expect("stop backup");
    assert!(lab.client.daemons().expect("daemons").is_empty());
    assert_eq!(run("ipvsadm", &["-L", "--daemon"]), "");
    lab.assert_saved(&[]);
}

/// Stopping a sync thread the moment after it was started can make the
/// kernel answer nothing at all (`kthread_stop` returns -EINTR, for which
/// netlink sends no ACK): neither a single request nor a batch ending with
/// one may wait for that answer. Without the client's guard this hung the
/// lab (a restore's rollback did exactly this); with it, every round ends,
/// and the daemon is gone each time.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn a_daemon_stopped_at_once_never_leaves_the_client_waiting() {
    let mut lab = Lab::new();
    let master = Daemon::new(DaemonState::Master, "lo", 7);
    for round in 0..20 {
        lab.client.start_daemon(&master).expect("start master");
        lab.client
            .stop_daemon(DaemonState::Master)
            .unwrap_or_else(|e| panic!("round {round}: stop right after start: {e}"));
        let results = lab
            .client
            .batch(&[
                Request::NewDaemon(master.clone()),
                Request::stop_daemon(DaemonState::Master),
            ])
            .expect("batch");
        assert_eq!(results.len(), 2, "one result per request: {results:?}");
        assert!(results[0].is_ok(), "round {round}: {results:?}");
        assert!(results[1].is_ok(), "round {round}: {results:?}");
        assert!(lab.client.daemons().expect("daemons").is_empty());
    }
    assert_eq!(run("ipvsadm", &["-L", "--daemon"]), "");
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn clients_in_another_namespace_by_path_fd_and_name() {
    let mut lab = Lab::new();
    // Another namespace with one service, kept alive by a helper thread.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let helper = std::thread::spawn(move || {
        let _other = Lab::new();
        run("ipvsadm", &["-A", "-t", "10.0.0.9:80", "-s", "rr"]);
        let me = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
        ready_tx
            .send(Path::new("/proc").join(me).join("ns/net"))
            .expect("send");
        let _ = done_rx.recv();
    });
    let other_ns = ready_rx.recv().expect("the helper's namespace");
    let other_key = ServiceKey::tcp(v4("10.0.0.9:80"));
    let keys_of = |client: &mut Client| -> Vec<ServiceKey> {
        client
            .services()
            .expect("services")
            .iter()
            .map(|s| s.key)
            .collect()
    };

    let mut by_path = Client::connect_in(NetNs::Path(&other_ns)).expect("client by path");
    assert_eq!(keys_of(&mut by_path), [other_key]);
    let file = std::fs::File::open(&other_ns).expect("open the namespace");
    let mut by_fd = Client::connect_in(NetNs::Fd(file.as_fd())).expect("client by fd");
    assert_eq!(keys_of(&mut by_fd), [other_key]);
    // A named namespace is a bind mount under /run/netns, as `ip netns add` makes.
    std::fs::create_dir_all("/run/netns").expect("/run/netns");
    let named = Path::new("/run/netns/kernel-lab-other");
    std::fs::File::create(named).expect("mount point");
    run(
        "mount",
        &[
            "--bind",
            other_ns.to_str().unwrap(),
            named.to_str().unwrap(),
        ],
    );
    let by_name = Client::connect_in(NetNs::Named("kernel-lab-other"));
    run("umount", &[named.to_str().unwrap()]);
    std::fs::remove_file(named).expect("remove the mount point");
    assert_eq!(keys_of(&mut by_name.expect("client by name")), [other_key]);
    assert!(matches!(
        Client::connect_in(NetNs::Named("no-such-namespace")),
        Err(Error::Namespace { .. })
    ));

    // Adding through the other namespace's client lands there, not here; this
    // thread came back to its own namespace.
    by_path
        .add_service(&Service::new(ServiceKey::udp(v4("10.0.0.9:53")), "rr"))
        .expect("add there");
    assert!(lab.client.services().expect("services here").is_empty());
    let mut here = Client::connect().expect("a client here");
    assert!(here.services().expect("services here").is_empty());
    assert_eq!(keys_of(&mut by_fd).len(), 2);
    by_fd.flush().expect("flush there");
    drop((by_path, by_fd, file));
    let _ = done_tx.send(());
    helper.join().expect("helper");
    lab.assert_saved(&[]);
}

// ---------------------------------------------------------------------------
// Errors.

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn every_error_case_is_the_right_typed_error() {
    let mut lab = Lab::new();
    let key = ServiceKey::tcp(v4("10.0.0.1:80"));
    let service = Service::new(key, "rr");
    let dest = Destination::new(v4("10.0.0.2:80"), Forwarding::Masq, 1);
    let missing = ServiceKey::tcp(v4("10.0.0.1:81"));
    lab.client.add_service(&service).expect("add service");
    lab.client
        .add_destination(&key, &dest)
        .expect("add destination");

    // (what, the client's result, errno, what ipvsadm says for the same failure)
    let cases: Vec<ErrorCase<'_>> = vec![
        (
            "duplicate service",
            lab.client.add_service(&service),
            libc::EEXIST,
            Some(&["-A", "-t", "10.0.0.1:80", "-s", "rr"]),
        ),
        (
            "duplicate destination",
            lab.client.add_destination(&key, &dest),
            libc::EEXIST,
            Some(&["-a", "-t", "10.0.0.1:80", "-r", "10.0.0.2:80", "-m"]),
        ),
        (
            "edit a missing service",
            lab.client.edit_service(&Service::new(missing, "rr")),
            libc::ESRCH,
            Some(&["-E", "-t", "10.0.0.1:81", "-s", "rr"]),
        ),
        (
            "delete a missing service",
            lab.client.delete_service(&missing),
            libc::ESRCH,
            Some(&["-D", "-t", "10.0.0.1:81"]),
        ),
        (
            "get a missing service",
            lab.client.service(&missing).map(drop),
            libc::ESRCH,
            Some(&["-L", "-n", "-t", "10.0.0.1:81"]),
        ),
        (
            "destination of a missing service",
            lab.client.add_destination(&missing, &dest),
            libc::ESRCH,
            Some(&["-a", "-t", "10.0.0.1:81", "-r", "10.0.0.2:80", "-m"]),
        ),
        (
            "edit a missing destination",
            lab.client.edit_destination(
                &key,
                &Destination::new(v4("10.0.0.9:80"), Forwarding::Masq, 1),
            ),
            libc::ENOENT,
            Some(&["-e", "-t", "10.0.0.1:80", "-r", "10.0.0.9:80", "-m"]),
        ),
        (
            "delete a missing destination",
            lab.client.delete_destination(&key, v4("10.0.0.9:80")),
            libc::ENOENT,
            Some(&["-d", "-t", "10.0.0.1:80", "-r", "10.0.0.9:80"]),
        ),
        (
            "unknown scheduler",
            lab.client
                .add_service(&Service::new(ServiceKey::tcp(v4("10.0.0.1:82")), "nosuch")),
            libc::ENOENT,
            Some(&["-A", "-t", "10.0.0.1:82", "-s", "nosuch"]),
        ),
        (
            "weight out of range",
            lab.client.add_destination(
                &key,
                &Destination::new(v4("10.0.0.3:80"), Forwarding::Masq, 0x8000_0000),
            ),
            libc::ERANGE,
            // ipvsadm checks the weight itself and never sends it.
            None,
        ),
        (
            "lower threshold above upper",
            lab.client.add_destination(&key, &{
                let mut d = Destination::new(v4("10.0.0.4:80"), Forwarding::Masq, 1);
                d.upper_threshold = 10;
                d.lower_threshold = 20;
                d
            }),
            libc::ERANGE,
            Some(&[
                "-a",
                "-t",
                "10.0.0.1:80",
                "-r",
                "10.0.0.4:80",
                "-m",
                "-x",
                "10",
                "-y",
                "20",
            ]),
        ),
    ];
    for (what, result, errno, ipvsadm) in cases {
        let error = kernel_error(what, result);
        assert_eq!(error.errno, errno, "{what}: {error}");
        if let Some(args) = ipvsadm {
            let stderr = ipvsadm_fails(args);
            assert_eq!(
                error.to_string(),
                stderr.trim_end(),
                "{what}: the client's message differs from ipvsadm's"
            );
        }
    }
    // The kernel answers a destination dump of a missing service with an empty
    // dump, not an error.
    assert_eq!(lab.client.destinations(&missing).expect("dump"), []);
    // Nothing of that changed the table.
    lab.assert_saved(&[(service, vec![dest])]);
}

// ---------------------------------------------------------------------------
// Scale.

/// Service `i` of a large table and its `n` destinations.
fn large_entry(i: u32, n: u32) -> (Service, Vec<Destination>) {
    let [_, _, hi, lo] = (i + 1).to_be_bytes();
    let vip = SocketAddr::new(Ipv4Addr::new(10, 1, hi, lo).into(), 80);
    let service = Service::new(ServiceKey::tcp(vip), ["rr", "wrr", "wlc"][(i % 3) as usize]);
    let dests = (0..n)
        .map(|j| {
            let real = SocketAddr::new(Ipv4Addr::new(10, 2 + j as u8, hi, lo).into(), 8080);
            Destination::new(real, Forwarding::Masq, 1 + (i + j) % 5)
        })
        .collect();
    (service, dests)
}

fn requests_for(table: &[(Service, Vec<Destination>)]) -> Vec<Request> {
    let mut requests = Vec::new();
    for (service, dests) in table {
        requests.push(Request::NewService(service.clone()));
        for dest in dests {
            requests.push(Request::NewDestination(
                Service::reference(service.key),
                dest.clone(),
            ));
        }
    }
    requests
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn dump_of_5000_services_with_4_destinations_each() {
    let mut lab = Lab::new();
    let table: Vec<(Service, Vec<Destination>)> = (0..5000).map(|i| large_entry(i, 4)).collect();
    let results = lab.client.batch(&requests_for(&table)).expect("batch");
    assert_eq!(results.len(), 25_000);
    assert!(results.iter().all(Result::is_ok), "some adds failed");
    assert_listed_fast(&mut lab.client, &table);
    lab.assert_saved(&table);
}

/// The dump of services and one destination dump per service, compared with
/// `expected` (the one-service gets are left to the smaller tests).
fn assert_listed_fast(client: &mut Client, expected: &[(Service, Vec<Destination>)]) {
    let listed = client.services().expect("services dump");
    assert_eq!(listed.len(), expected.len(), "services listed");
    let by_key: HashMap<ServiceKey, &Service> = listed.iter().map(|s| (s.key, s)).collect();
    assert_eq!(by_key.len(), listed.len(), "the dump repeats a service");
    for (service, dests) in expected {
        let got = by_key
            .get(&service.key)
            .unwrap_or_else(|| panic!("{:?} is missing from the dump", service.key));
        assert_eq!(settings(got), *service);
        let mut got: Vec<Destination> = client
            .destinations(&service.key)
            .expect("destinations")
            .iter()
            .map(dest_settings)
            .collect();
        got.sort_by_key(Destination::socket_addr);
        let mut want = dests.clone();
        want.sort_by_key(Destination::socket_addr);
        assert_eq!(got, want, "destinations of {:?}", service.key);
    }
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn pipelined_batch_of_20000_reports_exactly_the_bad_requests() {
    let mut lab = Lab::new();
    // 1000 services × 19 destinations = 20,000 requests.
    let table: Vec<(Service, Vec<Destination>)> = (0..1000).map(|i| large_entry(i, 19)).collect();
    let mut requests = requests_for(&table);
    assert_eq!(requests.len(), 20_000);
    // A few bad ones in the middle, each replacing a good request whose effect
    // the expected table then lacks.
    let dup_service = Request::NewService(table[3].0.clone());
    let unknown_scheduler =
        Request::NewService(Service::new(ServiceKey::tcp(v4("10.9.0.1:80")), "nosuch"));
    let missing_service = Request::NewDestination(
        Service::reference(ServiceKey::tcp(v4("10.9.0.2:80"))),
        Destination::new(v4("10.0.0.2:80"), Forwarding::Masq, 1),
    );
    let dup_destination =
        Request::NewDestination(Service::reference(table[10].0.key), table[10].1[0].clone());
    let bad: [(usize, Request, i32); 4] = [
        (2_001, dup_service, libc::EEXIST),
        (7_777, unknown_scheduler, libc::ENOENT),
        (12_345, missing_service, libc::ESRCH),
        (19_999, dup_destination, libc::EEXIST),
    ];
    let mut expected = table.clone();
    for (index, request, _) in &bad {
        // Request `index` belongs to service index / 20, destination index % 20 - 1.
        let (s, d) = (index / 20, index % 20);
        assert!(d > 0, "only destination adds are replaced");
        let lost = &table[s].1[d - 1];
        expected[s].1.retain(|x| x != lost);
        requests[*index] = request.clone();
    }
    let results = lab.client.batch(&requests).expect("batch");
    assert_eq!(results.len(), requests.len());
    let failed: Vec<(usize, i32)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.errno)))
        .collect();
    let want: Vec<(usize, i32)> = bad.iter().map(|(i, _, errno)| (*i, *errno)).collect();
    assert_eq!(failed, want);
    assert_listed_fast(&mut lab.client, &expected);
    lab.assert_saved(&expected);
}
