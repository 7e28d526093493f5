//! Kernel-lab suite: LVS clusters of network namespaces carrying real HTTP
//! traffic (`cargo xtask kernel-lab -p lvsd --test kernel_cluster`).
//!
//! For NAT, DR and TUN: a client, a director and three real servers, set up
//! only with `lvsd setup` and `lvs-agent setup` (run in each host's
//! namespace, each with its own state directory), the service added with
//! `ipvsctl`, requests sent with busybox `wget` to busybox `httpd`s that
//! answer their own names. Every real server answers, in the kernel's
//! round-robin order; the director's out-packet counters show whether the
//! replies came back through it; `--dry-run` and `--undo` leave every host
//! exactly as it was.
mod cluster;

use std::collections::BTreeMap;
use std::time::Duration;

use cluster::{Cluster, assert_same, workspace_bin};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

fn lvs_agent() -> String {
    workspace_bin(LVSD, "lvs-agent")
}

fn ipvsctl() -> String {
    workspace_bin(LVSD, "ipvsctl")
}

const REAL_SERVERS: [&str; 3] = ["rs1", "rs2", "rs3"];
/// Requests per test: three rounds of the three real servers.
const REQUESTS: usize = 9;

/// `lvsd setup` / `lvs-agent setup` on `host` with its own state directory.
fn setup(c: &Cluster, host: &str, args: &[&str]) -> cluster::Run {
    let program = if host == "director" {
        LVSD.to_owned()
    } else {
        lvs_agent()
    };
    let dir = c.dir(host).join("run-lvs");
    let dir = dir.to_str().unwrap();
    let mut all = vec!["setup"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--state-dir", dir]);
    c.on(host, &program, &all)
}

/// The setup arguments of each host.
struct Roles<'a> {
    director: Vec<&'a str>,
    real_server: Vec<&'a str>,
}

impl Roles<'_> {
    fn of(&self, host: &str) -> &[&str] {
        if host == "director" {
            &self.director
        } else {
            &self.real_server
        }
    }
}

const HOSTS: [&str; 4] = ["director", "rs1", "rs2", "rs3"];

/// Every host's snapshot. Bringing `tunl0` up (TUN) leaves kernel traces that
/// its going down again does not remove; they are left out (see
/// [`cluster::forget_first_up_traces`]).
fn snapshots(c: &Cluster) -> BTreeMap<&'static str, BTreeMap<String, String>> {
    HOSTS
        .iter()
        .map(|h| {
            let mut snap = c.snapshot(h);
            cluster::forget_first_up_traces(&mut snap, "tunl0");
            (*h, snap)
        })
        .collect()
}

fn assert_unchanged(c: &Cluster, before: &BTreeMap<&'static str, BTreeMap<String, String>>) {
    let after = snapshots(c);
    for host in HOSTS {
        assert_same(host, &before[host], &after[host]);
    }
}

/// Dry run (nothing changes), set-up, a second set-up (nothing to do), check.
fn set_up(c: &Cluster, roles: &Roles<'_>) -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let before = snapshots(c);
    for host in HOSTS {
        let mut args = roles.of(host).to_vec();
        args.push("--dry-run");
        let plan = setup(c, host, &args).ok("--dry-run");
        assert!(plan.stdout.contains(" to change, "), "{}", plan.stdout);
    }
    assert_unchanged(c, &before);
    for host in HOSTS {
        let done = setup(c, host, roles.of(host)).ok("setup");
        assert!(
            done.stdout.contains("change(s) made"),
            "{host}: {}",
            done.stdout
        );
        let again = setup(c, host, roles.of(host)).ok("second setup");
        assert!(
            again.stdout.contains("nothing to do"),
            "{host}: {}",
            again.stdout
        );
        let mut check = roles.of(host).to_vec();
        check.push("--check");
        setup(c, host, &check).ok("--check after setup");
    }
    before
}

/// Undo on every host: each is exactly as before set-up.
fn undo_all(c: &Cluster, before: &BTreeMap<&'static str, BTreeMap<String, String>>) {
    for host in HOSTS {
        let undone = setup(c, host, &["--undo"]).ok("--undo");
        assert!(
            undone.stdout.contains("undone"),
            "{host}: {}",
            undone.stdout
        );
    }
    assert_unchanged(c, before);
}

/// The service with the real servers added so that the kernel's list order is
/// rs1, rs2, rs3 (it inserts each new destination at the head).
fn add_service(c: &Cluster, vip: &str, rips: &[&str], method: &str) {
    let ipvsctl = ipvsctl();
    let service = format!("{vip}:80");
    c.on("director", &ipvsctl, &["-A", "-t", &service, "-s", "rr"])
        .ok("ipvsctl -A");
    for rip in rips.iter().rev() {
        c.on(
            "director",
            &ipvsctl,
            &["-a", "-t", &service, "-r", &format!("{rip}:80"), method],
        )
        .ok("ipvsctl -a");
    }
}

/// The real servers of the service of the given family in the kernel's list
/// order (`/proc/net/ip_vs`), as the kernel prints them.
fn list_order(c: &Cluster, ipv6: bool) -> Vec<String> {
    let table = c
        .on("director", "cat", &["/proc/net/ip_vs"])
        .ok("ip_vs")
        .stdout;
    let mut dests = Vec::new();
    let mut in_service = false;
    for line in table.lines() {
        if let Some(service) = line.strip_prefix("TCP  ") {
            in_service = service.starts_with('[') == ipv6;
        } else if let Some(dest) = line.trim().strip_prefix("-> ")
            && in_service
        {
            dests.push(dest.split_whitespace().next().unwrap_or("").to_owned());
        }
    }
    dests
}

/// `REQUESTS` GETs of the VIP from the client: the names that answered.
fn requests(c: &Cluster, vip: &str) -> Vec<String> {
    let url = format!("http://{vip}/");
    (0..REQUESTS)
        .map(|i| {
            c.get("client", &url)
                .unwrap_or_else(|| panic!("request {i} to {url} failed"))
        })
        .collect()
}

/// Per destination: (InPkts, OutPkts) from `ipvsctl -Ln --stats --exact`,
/// after the kernel's 2-second estimator tick published them.
fn destination_packets(c: &Cluster) -> BTreeMap<String, (u64, u64)> {
    std::thread::sleep(Duration::from_millis(2500));
    let out = c
        .on("director", &ipvsctl(), &["-Ln", "--stats", "--exact"])
        .ok("ipvsctl -Ln --stats");
    out.stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("-> "))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[0] != "RemoteAddress:Port").then(|| {
                (
                    f[0].to_owned(),
                    (f[2].parse().unwrap_or(0), f[3].parse().unwrap_or(0)),
                )
            })
        })
        .collect()
}

/// Asserts the answers follow the round robin over the kernel's list order
/// from its head, and prints the distribution.
fn assert_round_robin(mode: &str, answers: &[String], order: &[String], rips: &[&str]) {
    let name_of = |addr: &str| {
        // IPv4 as 8 hex digits, IPv6 in brackets, then `:PORT` in hex.
        let ip = addr.rsplit_once(':').map_or(addr, |(a, _)| a);
        let v6 = ip
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .and_then(|a| a.parse::<std::net::Ipv6Addr>().ok());
        let i = rips
            .iter()
            .position(|r| match v6 {
                Some(v6) => r.parse::<std::net::Ipv6Addr>().ok() == Some(v6),
                None => !r.contains(':') && hex_ip(r) == ip,
            })
            .unwrap_or_else(|| panic!("{addr} is not a real server"));
        REAL_SERVERS[i].to_owned()
    };
    let expected: Vec<String> = (0..answers.len())
        .map(|i| name_of(&order[i % order.len()]))
        .collect();
    assert_eq!(answers, expected, "{mode}: answers against the rr order");
    let mut counts = BTreeMap::new();
    for a in answers {
        *counts.entry(a.as_str()).or_insert(0) += 1;
    }
    println!(
        "{mode}: {} requests, distribution {counts:?}, order {answers:?}",
        answers.len()
    );
    assert_eq!(
        counts.len(),
        REAL_SERVERS.len(),
        "{mode}: every real server answers"
    );
}

/// `/proc/net/ip_vs` writes IPv4 addresses as 8 hex digits.
fn hex_ip(dotted: &str) -> String {
    let octets: Vec<u8> = dotted.split('.').map(|o| o.parse().unwrap()).collect();
    octets.iter().map(|o| format!("{o:02X}")).collect()
}

/// DR and TUN share one LAN (TEST-NET-3): client .2, director .1, real servers
/// .11 to .13, VIP .100.
fn one_lan(prefix: &str) -> Cluster {
    let mut c = Cluster::new(prefix);
    for host in ["client", "director", "rs1", "rs2", "rs3"] {
        c.add_host(host);
    }
    c.lan(
        "lan",
        &[
            ("client", "203.0.113.2/24"),
            ("director", "203.0.113.1/24"),
            ("rs1", "203.0.113.11/24"),
            ("rs2", "203.0.113.12/24"),
            ("rs3", "203.0.113.13/24"),
        ],
    );
    for rs in REAL_SERVERS {
        c.web_server(rs);
    }
    c
}

const LAN_RIPS: [&str; 3] = ["203.0.113.11", "203.0.113.12", "203.0.113.13"];

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn nat_cluster_carries_http_through_the_director_both_ways() {
    // Client side 198.51.100.0/24 (VIP .100 on the director's eth0), real
    // servers on 192.0.2.0/24 behind the director's eth1 (.1).
    let mut c = Cluster::new("nat");
    for host in ["client", "director", "rs1", "rs2", "rs3"] {
        c.add_host(host);
    }
    c.link(
        ("client", "eth0", Some("198.51.100.2/24")),
        ("director", "eth0", Some("198.51.100.1/24")),
    );
    c.lan(
        "lan",
        &[
            ("rs1", "192.0.2.11/24"),
            ("rs2", "192.0.2.12/24"),
            ("rs3", "192.0.2.13/24"),
        ],
    );
    c.link(
        ("director", "eth1", Some("192.0.2.1/24")),
        ("lan", "director", None),
    );
    c.on(
        "lan",
        cluster::IP,
        &["link", "set", "director", "master", "br0"],
    )
    .ok("bridge port");
    for rs in REAL_SERVERS {
        c.web_server(rs);
    }
    // Before set-up a real server has no way back to the client: --check says so.
    let check = setup(
        &c,
        "rs1",
        &["--mode", "nat", "--gateway", "192.0.2.1", "--check"],
    )
    .expect_code(1, "--check before setup");
    assert!(
        check
            .stdout
            .contains("missing: no default route, should be via 192.0.2.1"),
        "{}",
        check.stdout
    );
    let roles = Roles {
        director: vec!["--mode", "nat", "--vip", "198.51.100.100"],
        real_server: vec!["--mode", "nat", "--gateway", "192.0.2.1"],
    };
    let before = set_up(&c, &roles);
    let rips = ["192.0.2.11", "192.0.2.12", "192.0.2.13"];
    add_service(&c, "198.51.100.100", &rips, "-m");
    let answers = requests(&c, "198.51.100.100");
    assert_round_robin("nat", &answers, &list_order(&c, false), &rips);
    // The replies came back through the director: it counted them.
    let packets = destination_packets(&c);
    assert_eq!(packets.len(), 3, "{packets:?}");
    for (dest, (inp, outp)) in &packets {
        assert!(*inp > 0 && *outp > 0, "nat: {dest} in {inp} out {outp}");
    }
    println!("nat: per destination (InPkts, OutPkts): {packets:?}");
    // A wrong gateway is named by --check.
    c.on(
        "rs2",
        cluster::IP,
        &["route", "replace", "default", "via", "192.0.2.13"],
    )
    .ok("wrong gateway");
    let wrong = setup(
        &c,
        "rs2",
        &["--mode", "nat", "--gateway", "192.0.2.1", "--check"],
    )
    .expect_code(1, "--check with a wrong gateway");
    assert!(
        wrong
            .stdout
            .contains("wrong: the default route is default via 192.0.2.13"),
        "{}",
        wrong.stdout
    );
    c.on(
        "rs2",
        cluster::IP,
        &["route", "replace", "default", "via", "192.0.2.1"],
    )
    .ok("gateway back");
    c.on("director", &ipvsctl(), &["-C"]).ok("ipvsctl -C");
    undo_all(&c, &before);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn dr_cluster_answers_clients_directly_and_check_catches_arp() {
    // Dual stack: the LAN also has 2001:db8::/64 (documentation prefix), the
    // VIP 2001:db8::100 beside 203.0.113.100.
    let c = one_lan("dr");
    for (host, addr) in [
        ("client", "2001:db8::2/64"),
        ("director", "2001:db8::1/64"),
        ("rs1", "2001:db8::11/64"),
        ("rs2", "2001:db8::12/64"),
        ("rs3", "2001:db8::13/64"),
    ] {
        c.on(
            host,
            cluster::IP,
            &["-6", "address", "add", addr, "dev", "eth0"],
        )
        .ok("ip -6 address add");
    }
    let roles = Roles {
        director: vec![
            "--mode",
            "dr",
            "--vip",
            "203.0.113.100",
            "--vip",
            "2001:db8::100",
        ],
        real_server: vec![
            "--mode",
            "dr",
            "--vip",
            "203.0.113.100",
            "--vip",
            "2001:db8::100",
        ],
    };
    let before = set_up(&c, &roles);
    // A real server that answers ARP for the VIP is caught by --check.
    c.sh("rs3", "echo 0 > /proc/sys/net/ipv4/conf/all/arp_ignore")
        .ok("break arp_ignore");
    let mut check = roles.real_server.clone();
    check.push("--check");
    let found = setup(&c, "rs3", &check).expect_code(1, "--check without arp_ignore");
    assert_eq!(
        found.stdout,
        "wrong: net.ipv4.conf.all.arp_ignore is 0, should be 1 (without it this host answers \
         ARP requests for the VIP and steals the director's traffic)\n"
    );
    setup(&c, "rs3", &roles.real_server).ok("repair");
    setup(&c, "rs3", &check).ok("--check after repair");

    add_service(&c, "203.0.113.100", &LAN_RIPS, "-g");
    let answers = requests(&c, "203.0.113.100");
    assert_round_robin("dr", &answers, &list_order(&c, false), &LAN_RIPS);
    let rips6 = ["2001:db8::11", "2001:db8::12", "2001:db8::13"];
    let bracketed: Vec<String> = rips6.iter().map(|r| format!("[{r}]")).collect();
    let bracketed: Vec<&str> = bracketed.iter().map(String::as_str).collect();
    add_service(&c, "[2001:db8::100]", &bracketed, "-g");
    let answers = requests(&c, "[2001:db8::100]");
    assert_round_robin("dr ipv6", &answers, &list_order(&c, true), &rips6);
    // Only the requests passed the director; the replies went straight to the client.
    let packets = destination_packets(&c);
    assert_eq!(packets.len(), 6, "{packets:?}");
    for (dest, (inp, outp)) in &packets {
        assert!(*inp > 0 && *outp == 0, "dr: {dest} in {inp} out {outp}");
    }
    println!("dr: per destination (InPkts, OutPkts): {packets:?}");
    c.on("director", &ipvsctl(), &["-C"]).ok("ipvsctl -C");
    undo_all(&c, &before);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn tun_cluster_decapsulates_on_the_real_servers() {
    let c = one_lan("tun");
    // Strict reverse-path filtering, as many distributions ship it: set-up
    // turns it off, undo puts it back.
    for rs in REAL_SERVERS {
        c.sh(rs, "echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter")
            .ok("rp_filter on");
    }
    let roles = Roles {
        director: vec!["--mode", "tun", "--vip", "203.0.113.100"],
        real_server: vec!["--mode", "tun", "--vip", "203.0.113.100"],
    };
    let mut before = set_up(&c, &roles);
    // Reverse-path filtering back on tunl0 would drop the unwrapped packets:
    // --check names it, set-up repairs it.
    c.sh("rs2", "echo 2 > /proc/sys/net/ipv4/conf/tunl0/rp_filter")
        .ok("rp_filter on tunl0");
    let mut check = roles.real_server.clone();
    check.push("--check");
    let found = setup(&c, "rs2", &check).expect_code(1, "--check with rp_filter on tunl0");
    assert_eq!(
        found.stdout,
        "wrong: net.ipv4.conf.tunl0.rp_filter is 2, should be 0 (reverse-path filtering drops \
         decapsulated packets whose client is not routed via tunl0)\n"
    );
    setup(&c, "rs2", &roles.real_server).ok("repair");
    setup(&c, "rs2", &check).ok("--check after repair");
    // The first set-up found tunl0's rp_filter at 0 and left it; the repair
    // changed 2 to 0, so undo puts back 2: what apply changed, nothing else.
    before
        .get_mut("rs2")
        .unwrap()
        .insert("/proc/sys/net/ipv4/conf/tunl0/rp_filter".into(), "2".into());
    add_service(&c, "203.0.113.100", &LAN_RIPS, "-i");
    let answers = requests(&c, "203.0.113.100");
    assert_round_robin("tun", &answers, &list_order(&c, false), &LAN_RIPS);
    let packets = destination_packets(&c);
    assert_eq!(packets.len(), 3, "{packets:?}");
    for (dest, (inp, outp)) in &packets {
        assert!(*inp > 0 && *outp == 0, "tun: {dest} in {inp} out {outp}");
    }
    println!("tun: per destination (InPkts, OutPkts): {packets:?}");
    c.on("director", &ipvsctl(), &["-C"]).ok("ipvsctl -C");
    undo_all(&c, &before);
}
