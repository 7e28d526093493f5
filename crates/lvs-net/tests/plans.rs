//! Plans from parameters and hand-written system states: the `--dry-run` text
//! (golden files under `tests/golden/`, rewritten with `LVS_NET_BLESS=1`), the
//! `--check` lines, and the errors that refuse a set-up.
use std::net::IpAddr;
use std::path::Path;

use lvs_net::{
    Address, DefaultRoute, Error, Link, Mode, Params, Plan, Status, SysctlKey, SystemState,
    sysctl_keys,
};

/// A host with `lo` and the given devices up, each with one address.
fn host(devices: &[(&str, &str)]) -> SystemState {
    let mut state = SystemState::default();
    state.links.push(Link {
        index: 1,
        name: "lo".into(),
        up: true,
    });
    state.addresses.push(Address {
        index: 1,
        addr: "127.0.0.1".parse().unwrap(),
        prefix: 8,
        label: Some("lo".into()),
    });
    for (i, (dev, cidr)) in devices.iter().enumerate() {
        let index = i as u32 + 2;
        state.links.push(Link {
            index,
            name: (*dev).into(),
            up: true,
        });
        let (addr, prefix) = cidr.split_once('/').unwrap();
        state.addresses.push(Address {
            index,
            addr: addr.parse().unwrap(),
            prefix: prefix.parse().unwrap(),
            label: Some((*dev).into()),
        });
    }
    state
}

/// Every sysctl the plan reads at `value`.
fn with_sysctls(mut state: SystemState, params: &Params, value: &str) -> SystemState {
    for key in sysctl_keys(params) {
        state.sysctls.insert(key, value.into());
    }
    state
}

fn vips(list: &[&str]) -> Vec<lvs_net::Vip> {
    list.iter().map(|v| v.parse().unwrap()).collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Compares `text` with `tests/golden/NAME.txt`.
fn golden(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.txt"));
    if std::env::var_os("LVS_NET_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (LVS_NET_BLESS=1 writes it)", path.display()));
    assert_eq!(
        text,
        want,
        "{name}: the plan differs from {}",
        path.display()
    );
}

#[test]
fn nat_director_gets_the_vip_on_the_client_side_and_forwards() {
    let params = Params::director(Mode::Nat, vips(&["198.51.100.100"]), None);
    let state = with_sysctls(
        host(&[("eth0", "198.51.100.1/24"), ("eth1", "192.0.2.1/24")]),
        &params,
        "0",
    );
    let plan = Plan::compute(&params, &state).unwrap();
    golden("nat-director", &plan.commands());
}

#[test]
fn nat_real_server_replaces_a_wrong_default_route() {
    let params = Params::real_server(Mode::Nat, vec![], Some(ip("192.0.2.1")));
    let mut state = host(&[("eth0", "192.0.2.11/24")]);
    state.default_routes.push(DefaultRoute {
        ipv6: false,
        gateway: Some(ip("192.0.2.254")),
        oif: Some(2),
        dev: Some("eth0".into()),
        priority: Some(100),
        protocol: 16,
        scope: 0,
        kind: 1,
    });
    let plan = Plan::compute(&params, &state).unwrap();
    golden("nat-real-server", &plan.commands());
    assert_eq!(
        plan.differences(),
        [
            "wrong: the default route is default via 192.0.2.254 dev eth0 metric 100, should be via 192.0.2.1 \
          (replies must go back through the director, which rewrites their source to the VIP)"
        ]
    );
    // Once the route is there, nothing is left to do.
    state.default_routes[0].gateway = Some(ip("192.0.2.1"));
    assert!(Plan::compute(&params, &state).unwrap().is_in_place());
}

#[test]
fn the_notebooks_dr_cluster() {
    let vip = vips(&["123.234.1.101"]);
    let params = Params::director(Mode::Dr, vip.clone(), None);
    let state = host(&[("eth0", "123.234.1.102/24")]);
    golden(
        "dr-director",
        &Plan::compute(&params, &state).unwrap().commands(),
    );
    let params = Params::real_server(Mode::Dr, vip, None);
    let state = with_sysctls(host(&[("eth0", "123.234.1.111/24")]), &params, "0");
    golden(
        "dr-real-server",
        &Plan::compute(&params, &state).unwrap().commands(),
    );
}

#[test]
fn tun_real_server_before_ipip_is_loaded() {
    let params = Params::real_server(Mode::Tun, vips(&["203.0.113.100"]), None);
    let mut state = with_sysctls(host(&[("eth0", "203.0.113.11/24")]), &params, "1");
    // No tunl0 yet, so no tunl0 sysctls either.
    state
        .sysctls
        .remove(&SysctlKey::ipv4_conf("tunl0", "rp_filter"));
    let plan = Plan::compute(&params, &state).unwrap();
    golden("tun-real-server", &plan.commands());
    let diff = plan.differences().join("\n");
    assert!(
        diff.contains("missing: module ipip is not loaded"),
        "{diff}"
    );
    assert!(diff.contains("missing: tunl0 does not exist yet"), "{diff}");
    assert!(
        diff.contains("wrong: net.ipv4.conf.all.rp_filter is 1, should be 0"),
        "{diff}"
    );
}

#[test]
fn a_real_server_in_place_has_nothing_to_do() {
    let params = Params::real_server(Mode::Tun, vips(&["203.0.113.100"]), None);
    let mut state = host(&[("eth0", "203.0.113.11/24")]);
    state.links.push(Link {
        index: 9,
        name: "tunl0".into(),
        up: true,
    });
    state.addresses.push(Address {
        index: 1,
        addr: ip("203.0.113.100"),
        prefix: 32,
        label: Some("lo:0".into()),
    });
    state.modules.insert("ipip".into());
    for key in sysctl_keys(&params) {
        let value = if key.0.ends_with("arp_announce") {
            "2"
        } else if key.0.ends_with("rp_filter") {
            "0"
        } else {
            "1"
        };
        state.sysctls.insert(key, value.into());
    }
    let plan = Plan::compute(&params, &state).unwrap();
    assert!(plan.is_in_place(), "{}", plan.commands());
    assert!(plan.differences().is_empty());
    golden("tun-real-server-in-place", &plan.commands());
}

#[test]
fn dr_real_server_without_arp_settings_is_diagnosed() {
    // The VIP is on lo (someone ran the notebook's ifconfig) but the ARP
    // sysctls were forgotten: every one is named, with what it is for.
    let params = Params::real_server(Mode::Dr, vips(&["123.234.1.101"]), None);
    let mut state = with_sysctls(host(&[("eth0", "123.234.1.111/24")]), &params, "0");
    state.addresses.push(Address {
        index: 1,
        addr: ip("123.234.1.101"),
        prefix: 32,
        label: Some("lo:0".into()),
    });
    let plan = Plan::compute(&params, &state).unwrap();
    golden(
        "dr-real-server-check",
        &(plan.differences().join("\n") + "\n"),
    );
}

#[test]
fn labels_skip_those_in_use_and_ipv6_gets_none() {
    let params = Params::director(
        Mode::Dr,
        vips(&["192.0.2.100", "2001:db8::100", "192.0.2.101"]),
        Some("eth0".into()),
    );
    let mut state = host(&[("eth0", "192.0.2.1/24")]);
    state.addresses.push(Address {
        index: 2,
        addr: ip("192.0.2.50"),
        prefix: 32,
        label: Some("eth0:0".into()),
    });
    golden(
        "dr-director-labels",
        &Plan::compute(&params, &state).unwrap().commands(),
    );
}

#[test]
fn a_vip_on_another_interface_is_refused_and_reported() {
    let params = Params::real_server(Mode::Dr, vips(&["192.0.2.100"]), None);
    let mut state = with_sysctls(host(&[("eth0", "192.0.2.11/24")]), &params, "0");
    state.addresses.push(Address {
        index: 2,
        addr: ip("192.0.2.100"),
        prefix: 32,
        label: None,
    });
    let plan = Plan::compute(&params, &state).unwrap();
    assert!(plan.items.iter().any(|i| matches!(
        i.status,
        Status::Conflict(ref found) if found == "192.0.2.100/32 is on eth0"
    )));
    let err = plan.conflict().unwrap().to_string();
    assert_eq!(
        err,
        "192.0.2.100 is already on eth0, not on lo: remove it there first"
    );
    assert!(
        plan.differences()
            .iter()
            .any(|d| d.starts_with("wrong: 192.0.2.100/32 is on eth0, planned: ip address add")),
        "{:?}",
        plan.differences()
    );
}

#[test]
fn devices_and_gateways_must_exist() {
    let state = host(&[("eth0", "192.0.2.11/24")]);
    let err = |p: Params| Plan::compute(&p, &state).unwrap_err();
    assert!(matches!(
        err(Params::director(Mode::Dr, vips(&["192.0.2.100"]), Some("eth9".into()))),
        Error::NoSuchDevice(d) if d == "eth9"
    ));
    assert!(matches!(
        err(Params::director(Mode::Dr, vips(&["10.1.1.1"]), None)),
        Error::NoDeviceFor(a) if a == ip("10.1.1.1")
    ));
    assert!(matches!(
        err(Params::real_server(Mode::Nat, vec![], Some(ip("10.9.9.9")))),
        Error::GatewayNotOnLink(a) if a == ip("10.9.9.9")
    ));
    assert!(matches!(
        err(Params::real_server(Mode::Dr, vec![], None)),
        Error::Params(m) if m.contains("--vip")
    ));
}

#[test]
fn sysctl_keys_follow_role_mode_and_families() {
    let names =
        |p: &Params| -> Vec<String> { sysctl_keys(p).iter().map(ToString::to_string).collect() };
    assert_eq!(
        names(&Params::director(
            Mode::Nat,
            vips(&["10.0.0.1", "2001:db8::1"]),
            None
        )),
        ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"]
    );
    assert!(names(&Params::director(Mode::Dr, vips(&["10.0.0.1"]), None)).is_empty());
    // IPv6 DR needs no ARP settings: neighbour discovery only answers for
    // addresses of the interface asked.
    assert!(names(&Params::real_server(Mode::Dr, vips(&["2001:db8::1"]), None)).is_empty());
    assert_eq!(
        names(&Params::real_server(Mode::Tun, vips(&["10.0.0.1"]), None)).len(),
        6
    );
}
