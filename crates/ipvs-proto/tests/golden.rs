//! Golden tests: 44 captures of Debian's ipvsadm 1.31 talking to a real
//! Linux 6.1 IPVS (`tests/data/`, described in `tests/data/README.md`).
//!
//! Every IPVS message of every capture is parsed into its typed value and
//! written again: requests byte for byte (sequence number and port id
//! masked), replies byte for byte but for the `NLA_F_NESTED` bit the kernel
//! leaves off its top-level nests. The typed values are compared with
//! expectations written from the command lines in `tests/data/INDEX.txt`
//! and with the text ipvsadm printed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use ipvs_proto::{
    AddressFamily, Connections, Daemon, DaemonState, Destination, Forwarding, Info, IpvsMessage,
    KernelError, Netmask, Reply, Request, Service, ServiceFlags, ServiceKey, Stats, Timeouts,
    Tunnel, TunnelFlags, TunnelType, Version, wire,
};
use netlink_packet_core::{NLM_F_DUMP, NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const GENL_ID_CTRL: u16 = 0x10;

// ---------------------------------------------------------------- captures

#[path = "support/capture.rs"]
mod capture;

use capture::{Capture, Direction};

fn data_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data"))
}

fn load(name: &str) -> Capture {
    capture::read(&data_dir().join(name))
}

fn all_captures() -> Vec<Capture> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.as_bytes()[0].is_ascii_digit() && name.ends_with(".txt"))
        .collect();
    names.sort();
    names.iter().map(|name| load(name)).collect()
}

/// Splits a syscall buffer into netlink messages by their length fields
/// (independently of the crate's own splitter).
fn split(buffer: &[u8]) -> Vec<&[u8]> {
    let mut messages = Vec::new();
    let mut offset = 0;
    while offset < buffer.len() {
        let length = u32::from_ne_bytes(buffer[offset..offset + 4].try_into().unwrap()) as usize;
        messages.push(&buffer[offset..offset + length]);
        offset += (length + 3) & !3;
    }
    messages
}

fn kind(message: &[u8]) -> u16 {
    u16::from_ne_bytes([message[4], message[5]])
}

fn flags(message: &[u8]) -> u16 {
    u16::from_ne_bytes([message[6], message[7]])
}

/// The message with sequence number and port id (bytes 8..16) zeroed.
fn masked(message: &[u8]) -> Vec<u8> {
    let mut bytes = message.to_vec();
    bytes[8..16].fill(0);
    bytes
}

/// Clears `NLA_F_NESTED` on the top-level attributes of an IPVS message.
fn without_top_level_nested_flag(message: &[u8]) -> Vec<u8> {
    let mut bytes = message.to_vec();
    let mut offset = 20;
    while offset + 4 <= bytes.len() {
        let length = u16::from_ne_bytes([bytes[offset], bytes[offset + 1]]) as usize;
        bytes[offset + 3] &= 0x7f;
        offset += (length + 3) & !3;
    }
    bytes
}

fn parse_ipvs(message: &[u8]) -> IpvsMessage {
    match NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(message)
        .expect("IPVS message parses")
        .payload
    {
        NetlinkPayload::InnerMessage(genl) => genl.payload,
        other => panic!("not an IPVS message: {other:?}"),
    }
}

/// What one capture says, typed, in order.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Request(Request),
    Reply(Reply),
    Ack,
    Error { errno: i32, echoed: Request },
    Done,
}

/// Decodes every IPVS message of `capture`, asserting on the way that each
/// one is written back to the same bytes from its typed value.
fn decode(capture: &Capture) -> Vec<Event> {
    let family = capture.family_id;
    let mut events = Vec::new();
    let mut last_request: Option<Request> = None;
    for (direction, buffer) in &capture.buffers {
        for message in split(buffer) {
            let context = format!("{} {:?} {:02x?}", capture.name, direction, message);
            match (kind(message), direction) {
                (GENL_ID_CTRL, _) => {}
                (k, Direction::Send) if k == family => {
                    let dump = flags(message) & NLM_F_DUMP == NLM_F_DUMP;
                    let request = Request::from_message(&parse_ipvs(message), dump)
                        .unwrap_or_else(|e| panic!("{context}: {e}"));
                    let mut again = Vec::new();
                    wire::emit_request(&request, family, 0, 0, &mut again);
                    assert_eq!(again, masked(message), "{context}: request re-emitted");
                    last_request = Some(request.clone());
                    events.push(Event::Request(request));
                }
                (k, Direction::Recv) if k == family => {
                    let hint = match &last_request {
                        Some(Request::GetDestinations(key)) => Some(key.family()),
                        _ => None,
                    };
                    let reply = Reply::from_message(&parse_ipvs(message), hint)
                        .unwrap_or_else(|e| panic!("{context}: {e}"));
                    let mut again = Vec::new();
                    wire::emit_ipvs(
                        &reply.to_message(),
                        family,
                        flags(message),
                        0,
                        0,
                        &mut again,
                    );
                    let mut generic = Vec::new();
                    wire::emit_genl(
                        reply.to_message(),
                        family,
                        flags(message),
                        0,
                        0,
                        &mut generic,
                    );
                    assert_eq!(again, generic, "{context}: one-pass and Emitable bytes");
                    assert_eq!(
                        without_top_level_nested_flag(&again),
                        masked(message),
                        "{context}: reply re-emitted"
                    );
                    events.push(Event::Reply(reply));
                }
                (NLMSG_ERROR, Direction::Recv) => {
                    let code = i32::from_ne_bytes(message[16..20].try_into().unwrap());
                    let echoed = &message[20..];
                    if code == 0 {
                        // Success ACKs are capped: only the request's header.
                        assert_eq!(echoed.len(), 16, "{context}");
                        // Only ACKs of IPVS requests are events.
                        if kind(echoed) == family {
                            events.push(Event::Ack);
                        }
                    } else {
                        let request = Request::from_message(&parse_ipvs(echoed), false)
                            .unwrap_or_else(|e| panic!("{context}: {e}"));
                        events.push(Event::Error {
                            errno: -code,
                            echoed: request,
                        });
                    }
                }
                (NLMSG_DONE, Direction::Recv) => {
                    assert_eq!(&message[16..20], &[0; 4], "{context}: DONE status");
                    events.push(Event::Done);
                }
                other => panic!("{context}: unexpected message {other:?}"),
            }
        }
    }
    events
}

fn requests(events: &[Event]) -> Vec<Request> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Request(Request::GetInfo) => None,
            Event::Request(request) => Some(request.clone()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- typed values

fn tcp(address: &str) -> ServiceKey {
    ServiceKey::tcp(address.parse().unwrap())
}

fn udp(address: &str) -> ServiceKey {
    ServiceKey::udp(address.parse().unwrap())
}

fn addr(address: &str) -> SocketAddr {
    address.parse().unwrap()
}

fn dest(address: &str, forwarding: Forwarding, weight: u32) -> Destination {
    Destination::new(addr(address), forwarding, weight)
}

fn vip80() -> ServiceKey {
    tcp("10.0.0.1:80")
}

/// The destinations of 10.0.0.1:80 as captures 04-09 leave them.
fn vip80_destinations() -> Vec<Destination> {
    let mut dr = dest("10.0.0.3:80", Forwarding::DirectRoute, 1);
    dr.upper_threshold = 100;
    dr.lower_threshold = 10;
    let mut gue = dest("10.0.0.5:80", Forwarding::Tunnel, 1);
    gue.tunnel = Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        flags: TunnelFlags::CSUM,
    };
    let mut gre = dest("10.0.0.6:80", Forwarding::Tunnel, 1);
    gre.tunnel.kind = TunnelType::Gre;
    vec![
        dest("10.0.0.2:80", Forwarding::Masq, 5),
        dr,
        dest("10.0.0.4:80", Forwarding::Tunnel, 2),
        gue,
        gre,
    ]
}

/// The table captures 03-19 build, as the kernel lists it: every service
/// hashed, every counter zero.
fn table_after_setup() -> Vec<(Service, Vec<Destination>)> {
    let listed = |mut service: Service, flags: ServiceFlags| {
        service.flags = flags | ServiceFlags::HASHED;
        service.stats = Some(Stats::default());
        service
    };
    let counted = |destinations: Vec<Destination>| {
        destinations
            .into_iter()
            .map(|mut d| {
                d.connections = Some(Connections::default());
                d.stats = Some(Stats::default());
                d
            })
            .collect::<Vec<_>>()
    };
    let mut vip80 = Service::new(vip80(), "wrr").with_persistence(Duration::from_secs(300));
    vip80.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
    let mut sip =
        Service::new(udp("10.0.0.1:5060"), "rr").with_persistence(Duration::from_secs(60));
    sip.persistence_engine = Some("sip".into());
    vec![
        (
            listed(vip80.clone(), vip80.flags),
            counted(vip80_destinations()),
        ),
        (
            listed(
                Service::new(tcp("10.0.0.1:443"), "sh"),
                ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT,
            ),
            vec![],
        ),
        (
            listed(
                Service::new(udp("10.0.0.1:53"), "rr"),
                ServiceFlags::ONE_PACKET,
            ),
            vec![],
        ),
        (listed(sip, ServiceFlags::PERSISTENT), vec![]),
        (
            listed(
                Service::new(ServiceKey::sctp(addr("10.0.0.1:9000")), "mh"),
                ServiceFlags::MH_FALLBACK | ServiceFlags::MH_PORT,
            ),
            vec![],
        ),
        (
            listed(
                Service::new(tcp("[2001:db8::1]:443"), "lc"),
                ServiceFlags::empty(),
            ),
            counted(vec![dest("[2001:db8::2]:443", Forwarding::Masq, 2)]),
        ),
        (
            listed(
                Service::new(ServiceKey::fwmark(AddressFamily::Inet, 42), "rr"),
                ServiceFlags::empty(),
            ),
            counted(vec![dest("10.0.0.2:0", Forwarding::DirectRoute, 1)]),
        ),
        (
            listed(
                Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 43), "wlc"),
                ServiceFlags::empty(),
            ),
            vec![],
        ),
    ]
}

/// Request the kernel to list everything, as ipvsadm does for `-L`.
fn listing_requests() -> Vec<Request> {
    let mut requests = vec![Request::GetServices];
    requests.extend(
        table_after_setup()
            .iter()
            .map(|(service, _)| Request::GetDestinations(service.key)),
    );
    requests
}

/// What ipvsadm sent for each capture, from its command line in INDEX.txt
/// (`GET_INFO`, which it sends every time, left out).
fn expected_requests(name: &str) -> Vec<Request> {
    let number: u32 = name[..2].parse().unwrap();
    let fwm42 = ServiceKey::fwmark(AddressFamily::Inet, 42);
    match number {
        1 => vec![],
        2 | 43 => vec![Request::GetServices],
        3 => vec![Request::NewService(Service::new(vip80(), "wrr"))],
        4 => vec![Request::add_destination(
            &vip80(),
            &dest("10.0.0.2:80", Forwarding::Masq, 3),
        )],
        5..=8 => vec![Request::add_destination(
            &vip80(),
            &vip80_destinations()[number as usize - 4],
        )],
        9 => vec![Request::edit_destination(
            &vip80(),
            &dest("10.0.0.2:80", Forwarding::Masq, 5),
        )],
        10 => {
            let mut service = Service::new(vip80(), "wrr");
            service.flags = ServiceFlags::PERSISTENT;
            service.timeout = Duration::from_secs(300);
            service.netmask = Netmask::V4(Ipv4Addr::new(255, 255, 255, 0));
            vec![Request::SetService(service)]
        }
        11 => {
            let mut service = Service::new(udp("10.0.0.1:53"), "rr");
            service.flags = ServiceFlags::ONE_PACKET;
            vec![Request::NewService(service)]
        }
        12 => {
            let mut service = Service::new(tcp("10.0.0.1:443"), "sh");
            service.flags = ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT;
            vec![Request::NewService(service)]
        }
        13 => {
            let mut service = Service::new(ServiceKey::sctp(addr("10.0.0.1:9000")), "mh");
            service.flags = ServiceFlags::MH_FALLBACK | ServiceFlags::MH_PORT;
            vec![Request::NewService(service)]
        }
        14 => {
            let mut service =
                Service::new(udp("10.0.0.1:5060"), "rr").with_persistence(Duration::from_secs(60));
            service.persistence_engine = Some("sip".into());
            vec![Request::NewService(service)]
        }
        15 => vec![Request::NewService(Service::new(fwm42, "rr"))],
        16 => vec![Request::add_destination(
            &fwm42,
            &dest("10.0.0.2:0", Forwarding::DirectRoute, 1),
        )],
        17 => {
            let service = Service::new(ServiceKey::fwmark(AddressFamily::Inet6, 43), "wlc");
            assert_eq!(service.netmask, Netmask::V6(128));
            vec![Request::NewService(service)]
        }
        18 => vec![Request::NewService(Service::new(
            tcp("[2001:db8::1]:443"),
            "lc",
        ))],
        19 => vec![Request::add_destination(
            &tcp("[2001:db8::1]:443"),
            &dest("[2001:db8::2]:443", Forwarding::Masq, 2),
        )],
        20 | 22..=28 => listing_requests(),
        21 => vec![
            Request::get_service(&vip80()),
            Request::GetDestinations(vip80()),
        ],
        29 => vec![Request::SetTimeouts(Timeouts {
            tcp: Some(Duration::from_secs(900)),
            tcp_fin: Some(Duration::from_secs(120)),
            udp: Some(Duration::from_secs(300)),
        })],
        30 => vec![Request::GetTimeouts],
        31 => vec![Request::zero(Some(&vip80()))],
        32 => vec![Request::zero(None)],
        33 => vec![Request::NewDaemon(Daemon::new(
            DaemonState::Master,
            "lo",
            5,
        ))],
        34 => vec![Request::GetDaemons],
        35 => vec![Request::stop_daemon(DaemonState::Master)],
        36 => vec![Request::delete_destination(&vip80(), addr("10.0.0.3:80"))],
        37 => vec![Request::delete_service(&vip80())],
        38 => vec![Request::NewService(Service::new(tcp("10.0.0.1:443"), "sh"))],
        39 => vec![Request::delete_service(&tcp("10.9.9.9:80"))],
        40 => vec![Request::NewService(Service::new(
            tcp("10.0.0.9:80"),
            "nosuch",
        ))],
        41 => vec![Request::delete_destination(
            &tcp("10.0.0.1:443"),
            addr("10.9.9.9:80"),
        )],
        42 => vec![Request::Flush],
        44 => vec![
            Request::NewService(Service::new(tcp("10.1.0.1:80"), "rr")),
            Request::add_destination(
                &tcp("10.1.0.1:80"),
                &dest("10.1.0.2:80", Forwarding::Masq, 1),
            ),
        ],
        other => panic!("no expectation for capture {other}"),
    }
}

/// Sorts listing requests: dump order is not stable across boots.
fn sorted(requests: Vec<Request>) -> Vec<String> {
    let mut text: Vec<String> = requests.iter().map(|r| format!("{r:?}")).collect();
    text.sort();
    text
}

// ---------------------------------------------------------------- tests

#[test]
fn all_44_captures_are_here_and_listed_in_the_index() {
    let captures = all_captures();
    assert_eq!(captures.len(), 44);
    let index = std::fs::read_to_string(data_dir().join("INDEX.txt")).unwrap();
    for capture in &captures {
        let line = index
            .lines()
            .find(|line| line.starts_with(&capture.name))
            .unwrap_or_else(|| panic!("{} not in INDEX.txt", capture.name));
        assert!(line.ends_with(&capture.command), "{line}");
        assert!(
            line.contains(&format!(" rc={} ", capture.status)),
            "{line}: exit status {}",
            capture.status
        );
        assert_eq!(capture.family_id, 32);
    }
}

#[test]
fn every_ipvs_message_is_written_back_from_its_typed_value() {
    let mut counts = [0usize; 5];
    for capture in all_captures() {
        for event in decode(&capture) {
            counts[match event {
                Event::Request(_) => 0,
                Event::Reply(_) => 1,
                Event::Ack => 2,
                Event::Error { .. } => 3,
                Event::Done => 4,
            }] += 1;
        }
    }
    // Counted with grep over the decoded lines of tests/data: 153 IPVS
    // requests (44 of them GET_INFO), 172 replies, 27 ACKs echoing an IPVS
    // header (type 0x0020), 4 errors, 76 DONEs.
    assert_eq!(counts, [153, 172, 27, 4, 76]);
}

#[test]
fn requests_are_the_ones_each_command_line_asks_for() {
    for capture in all_captures() {
        let got = requests(&decode(&capture));
        let expected = expected_requests(&capture.name);
        assert_eq!(
            sorted(got),
            sorted(expected),
            "{}: {}",
            capture.name,
            capture.command
        );
    }
}

#[test]
fn every_capture_starts_with_get_info_answered_1_2_1_with_4096_entries() {
    let info = Info {
        version: Version(0x010201),
        connection_table_size: 4096,
    };
    assert_eq!(info.version.to_string(), "1.2.1");
    for capture in all_captures() {
        let events = decode(&capture);
        assert_eq!(
            events[0],
            Event::Request(Request::GetInfo),
            "{}",
            capture.name
        );
        assert_eq!(
            events[1],
            Event::Reply(Reply::Info(info)),
            "{}",
            capture.name
        );
    }
}

#[test]
fn listings_hold_the_table_that_captures_03_to_19_built() {
    let table = table_after_setup();
    for name in [20, 22, 23, 24, 25, 26, 27, 28] {
        let capture = all_captures().remove(name - 1);
        let events = decode(&capture);
        // Replies belong to the request sent last before them.
        let mut services = Vec::new();
        let mut destinations: Vec<(ServiceKey, Vec<Destination>)> = Vec::new();
        let mut current = None;
        for event in events {
            match event {
                Event::Request(request) => current = Some(request),
                Event::Reply(Reply::Service(service)) => {
                    assert_eq!(current, Some(Request::GetServices));
                    services.push(service);
                }
                Event::Reply(Reply::Destination(destination)) => {
                    let Some(Request::GetDestinations(key)) = current else {
                        panic!("destination outside a GET_DEST dump");
                    };
                    match destinations.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, list)) => list.push(destination),
                        None => destinations.push((key, vec![destination])),
                    }
                }
                _ => {}
            }
        }
        assert_eq!(services.len(), table.len(), "{}", capture.name);
        for (service, expected_destinations) in &table {
            assert!(
                services.contains(service),
                "{}: {} missing or different",
                capture.name,
                service.key
            );
            let got = destinations
                .iter()
                .find(|(key, _)| *key == service.key)
                .map(|(_, list)| list.clone())
                .unwrap_or_default();
            assert_eq!(got.len(), expected_destinations.len(), "{}", service.key);
            for destination in expected_destinations {
                assert!(
                    got.contains(destination),
                    "{}: {} of {}",
                    capture.name,
                    destination.socket_addr(),
                    service.key
                );
            }
        }
    }
}

/// ipvsadm's `-Ln` lines for a service and its destinations, spaces
/// squeezed.
fn ipvsadm_lines(service: &Service, destinations: &[Destination]) -> Vec<String> {
    let mut line = service.key.to_string();
    line.push(' ');
    line.push_str(&service.scheduler);
    let sched_flags = service.flags & (ServiceFlags::SCHED1 | ServiceFlags::SCHED2);
    if !sched_flags.is_empty() {
        let mut names = Vec::new();
        if sched_flags.contains(ServiceFlags::SCHED1) {
            names.push(format!("{}-fallback", service.scheduler));
        }
        if sched_flags.contains(ServiceFlags::SCHED2) {
            names.push(format!("{}-port", service.scheduler));
        }
        line.push_str(&format!(" ({})", names.join(",")));
    }
    if service.is_persistent() {
        line.push_str(&format!(" persistent {}", service.timeout.as_secs()));
        if service.netmask != Netmask::full(service.key.family()) {
            line.push_str(&format!(" mask {}", service.netmask));
        }
    }
    if let Some(engine) = &service.persistence_engine {
        line.push_str(&format!(" pe {engine}"));
    }
    if service.flags.contains(ServiceFlags::ONE_PACKET) {
        line.push_str(" ops");
    }
    let mut lines = vec![line];
    for d in destinations {
        let c = d.connections.unwrap();
        lines.push(format!(
            "-> {} {} {} {} {}",
            d.socket_addr(),
            d.forwarding,
            d.weight,
            c.active,
            c.inactive
        ));
    }
    lines
}

fn squeeze(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn listing_reads_as_ipvsadm_printed_it() {
    let capture = all_captures().remove(19);
    assert_eq!(capture.command, "ipvsadm -Ln");
    let mut printed: Vec<String> = capture.output[3..].iter().map(|l| squeeze(l)).collect();
    let mut ours: Vec<String> = table_after_setup()
        .iter()
        .flat_map(|(service, destinations)| ipvsadm_lines(service, destinations))
        .collect();
    printed.sort();
    ours.sort();
    assert_eq!(ours, printed);
    assert_eq!(
        capture.output[0],
        format!(
            "IP Virtual Server version {} (size=4096)",
            Version(0x010201)
        )
    );
}

#[test]
fn one_service_lookup_answers_that_service_alone() {
    let events = decode(&all_captures().remove(20));
    let services: Vec<&Service> = events
        .iter()
        .filter_map(|event| match event {
            Event::Reply(Reply::Service(service)) => Some(service),
            _ => None,
        })
        .collect();
    assert_eq!(services, [&table_after_setup()[0].0]);
}

#[test]
fn empty_listings_are_a_lone_done() {
    for index in [1, 42] {
        let events = decode(&all_captures().remove(index));
        assert_eq!(
            &events[2..],
            &[Event::Request(Request::GetServices), Event::Done]
        );
    }
}

#[test]
fn timeouts_come_back_as_set() {
    let events = decode(&all_captures().remove(29));
    assert_eq!(
        events.last(),
        Some(&Event::Reply(Reply::Timeouts(Timeouts {
            tcp: Some(Duration::from_secs(900)),
            tcp_fin: Some(Duration::from_secs(120)),
            udp: Some(Duration::from_secs(300)),
        })))
    );
    assert_eq!(
        all_captures()[29].output,
        ["Timeout (tcp tcpfin udp): 900 120 300"]
    );
}

#[test]
fn daemon_listing_has_the_kernel_defaults() {
    let events = decode(&all_captures().remove(33));
    let expected = Daemon {
        state: DaemonState::Master,
        interface: "lo".into(),
        sync_id: 5,
        max_length: Some(1472),
        group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
        port: Some(8848),
        ttl: Some(1),
    };
    assert!(events.contains(&Event::Reply(Reply::Daemon(expected))));
    assert_eq!(
        all_captures()[33].output,
        [
            "master sync daemon (mcast=lo, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"
        ]
    );
}

#[test]
fn kernel_errors_read_as_ipvsadm_reports_them() {
    for (index, errno) in [
        (37, libc::EEXIST),
        (38, libc::ESRCH),
        (39, libc::ENOENT),
        (40, libc::ENOENT),
    ] {
        let capture = &all_captures()[index];
        let events = decode(capture);
        let sent = requests(&events).pop().unwrap();
        let (got_errno, echoed) = events
            .iter()
            .find_map(|event| match event {
                Event::Error { errno, echoed } => Some((*errno, echoed.clone())),
                _ => None,
            })
            .unwrap();
        assert_eq!(got_errno, errno, "{}", capture.name);
        assert_eq!(
            echoed, sent,
            "{}: the error echoes the request",
            capture.name
        );
        let error = KernelError {
            errno,
            command: sent.command(),
        };
        assert_eq!(
            [error.message()],
            capture.output.as_slice(),
            "{}",
            capture.name
        );
    }
}

// ---------------------------------------------------------------- client, no IPVS needed

mod client {
    use std::fs::File;
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    use ipvs_proto::{Client, Error, NetNs};

    fn ipvs_loaded() -> bool {
        Path::new("/proc/net/ip_vs").exists()
    }

    fn home() -> PathBuf {
        std::fs::read_link("/proc/thread-self/ns/net").unwrap()
    }

    #[test]
    fn connecting_without_the_ip_vs_module_says_so() {
        match Client::connect() {
            Err(error @ Error::FamilyNotFound) => {
                assert!(
                    !ipvs_loaded(),
                    "ip_vs is loaded but the family was not found"
                );
                assert_eq!(
                    error.to_string(),
                    "IPVS is not available in this kernel (is the ip_vs module loaded?)"
                );
            }
            Ok(client) => assert!(ipvs_loaded() && client.family_id() >= 0x10),
            Err(other) => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn a_missing_named_namespace_is_reported_with_its_path() {
        let before = home();
        let error =
            Client::connect_in(NetNs::Named("ipvs-proto-test-no-such-namespace")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "network namespace /run/netns/ipvs-proto-test-no-such-namespace: \
             No such file or directory (os error 2)"
        );
        assert_eq!(home(), before);
    }

    #[test]
    fn namespace_names_are_plain_file_names() {
        for name in ["", ".", "..", "../etc", "a/b"] {
            let error = Client::connect_in(NetNs::Named(name)).unwrap_err();
            assert!(
                matches!(error, Error::Namespace { .. }),
                "{name:?}: {error}"
            );
        }
    }

    #[test]
    fn a_file_that_is_not_a_namespace_is_refused_and_the_thread_stays_home() {
        let before = home();
        let error = Client::connect_in(NetNs::Path(Path::new("/dev/null"))).unwrap_err();
        let Error::Namespace { path, .. } = &error else {
            panic!("unexpected error: {error}");
        };
        assert_eq!(path, Path::new("/dev/null"));
        assert_eq!(home(), before);
    }

    #[test]
    fn a_client_opens_in_a_fresh_namespace_given_by_fd_and_the_thread_returns() {
        if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
            eprintln!("not root: cannot create a network namespace; test not run");
            return;
        }
        // A thread of its own makes the namespace; its file outlives it.
        let namespace: File = std::thread::spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare -n");
            File::open("/proc/thread-self/ns/net").unwrap()
        })
        .join()
        .unwrap();
        let before = home();
        assert_ne!(
            std::fs::read_link(format!("/proc/self/fd/{}", {
                use std::os::fd::AsRawFd;
                namespace.as_raw_fd()
            }))
            .unwrap(),
            before
        );
        let result = Client::connect_in(NetNs::Fd(namespace.as_fd()));
        assert_eq!(home(), before, "the thread is back in its namespace");
        // A fresh namespace has IPVS exactly when the module is loaded.
        match result {
            Err(Error::FamilyNotFound) => assert!(!ipvs_loaded()),
            Ok(_) => assert!(ipvs_loaded()),
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
}

// ---------------------------------------------------------------- properties

mod properties {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    use ipvs_proto::{
        AddressFamily, Connections, Daemon, DaemonState, Destination, Forwarding, IpvsCmd,
        IpvsMessage, Netmask, Protocol, Reply, Request, Service, ServiceFlags, ServiceKey, Stats,
        Timeouts, Tunnel, TunnelFlags, TunnelType, Version, wire,
    };
    use netlink_packet_core::{NLM_F_DUMP, NetlinkMessage, NetlinkPayload};
    use netlink_packet_generic::GenlMessage;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    use super::{Direction, all_captures, split};

    fn address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
            any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
        ]
    }

    fn family() -> impl Strategy<Value = AddressFamily> {
        prop_oneof![Just(AddressFamily::Inet), Just(AddressFamily::Inet6)]
    }

    /// A family for firewall-mark services, which carry no address: any
    /// number, known or not.
    fn fwmark_family() -> impl Strategy<Value = AddressFamily> {
        prop_oneof![family(), any::<u16>().prop_map(AddressFamily::from_raw)]
    }

    fn key() -> impl Strategy<Value = ServiceKey> {
        let protocol = prop_oneof![
            Just(Protocol::Tcp),
            Just(Protocol::Udp),
            Just(Protocol::Sctp),
            any::<u16>().prop_map(Protocol::from_raw),
        ];
        prop_oneof![
            (protocol, address(), any::<u16>()).prop_map(|(protocol, address, port)| {
                ServiceKey::Tuple {
                    protocol,
                    address,
                    port,
                }
            }),
            (fwmark_family(), any::<u32>())
                .prop_map(|(family, mark)| ServiceKey::fwmark(family, mark)),
        ]
    }

    fn seconds() -> impl Strategy<Value = Duration> {
        any::<u32>().prop_map(|s| Duration::from_secs(s.into()))
    }

    fn stats() -> impl Strategy<Value = Stats> {
        proptest::array::uniform10(any::<u64>()).prop_map(|v| Stats {
            connections: v[0],
            packets_in: v[1],
            packets_out: v[2],
            bytes_in: v[3],
            bytes_out: v[4],
            connection_rate: v[5],
            packet_rate_in: v[6],
            packet_rate_out: v[7],
            byte_rate_in: v[8],
            byte_rate_out: v[9],
        })
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-z0-9_-]{0,15}"
    }

    prop_compose! {
        fn service()(
            key in key(),
            scheduler in name(),
            flags in any::<u32>(),
            mask in any::<u32>(),
            timeout in seconds(),
            v4_mask in any::<u32>(),
            v6_prefix in 0u8..=128,
            engine in option::of("[a-z]{1,15}"),
            stats in option::of(stats()),
        ) -> Service {
            Service {
                key,
                scheduler,
                flags: ServiceFlags::from_bits_retain(flags),
                flags_mask: ServiceFlags::from_bits_retain(mask),
                timeout,
                netmask: match key.family() {
                    AddressFamily::Inet => Netmask::V4(Ipv4Addr::from(v4_mask)),
                    AddressFamily::Inet6 => Netmask::V6(v6_prefix),
                    _ => Netmask::Raw(v4_mask.to_be_bytes()),
                },
                persistence_engine: engine,
                stats,
            }
        }
    }

    prop_compose! {
        fn destination()(
            address in address(),
            port in any::<u16>(),
            forwarding in prop_oneof![
                Just(Forwarding::Masq),
                Just(Forwarding::Local),
                Just(Forwarding::Tunnel),
                Just(Forwarding::DirectRoute),
                Just(Forwarding::Bypass),
                any::<u32>().prop_map(Forwarding::from_raw),
            ],
            numbers in proptest::array::uniform3(any::<u32>()),
            kind in prop_oneof![
                Just(TunnelType::Ipip),
                Just(TunnelType::Gue),
                Just(TunnelType::Gre),
                any::<u8>().prop_map(TunnelType::from_raw),
            ],
            tunnel_port in any::<u16>(),
            tunnel_flags in any::<u16>(),
            connections in option::of(proptest::array::uniform3(any::<u32>())),
            stats in option::of(stats()),
        ) -> Destination {
            Destination {
                address,
                port,
                forwarding,
                weight: numbers[0],
                upper_threshold: numbers[1],
                lower_threshold: numbers[2],
                tunnel: Tunnel { kind, port: tunnel_port, flags: TunnelFlags::from_bits_retain(tunnel_flags) },
                connections: connections.map(|c| Connections { active: c[0], inactive: c[1], persistent: c[2] }),
                stats,
            }
        }
    }

    prop_compose! {
        fn daemon()(
            state in prop_oneof![
                Just(DaemonState::Master),
                Just(DaemonState::Backup),
                any::<u32>().prop_map(DaemonState::from_raw),
            ],
            interface in name(),
            sync_id in any::<u32>(),
            max_length in option::of(any::<u16>()),
            group in option::of(address()),
            port in option::of(any::<u16>()),
            ttl in option::of(any::<u8>()),
        ) -> Daemon {
            Daemon { state, interface, sync_id, max_length, group, port, ttl }
        }
    }

    fn timeouts() -> impl Strategy<Value = Timeouts> {
        (
            option::of(seconds()),
            option::of(seconds()),
            option::of(seconds()),
        )
            .prop_map(|(tcp, tcp_fin, udp)| Timeouts { tcp, tcp_fin, udp })
    }

    fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            service().prop_map(Request::NewService),
            service().prop_map(Request::SetService),
            service().prop_map(Request::DelService),
            service().prop_map(Request::GetService),
            Just(Request::GetServices),
            (service(), destination()).prop_map(|(s, d)| Request::NewDestination(s, d)),
            (service(), destination()).prop_map(|(s, d)| Request::SetDestination(s, d)),
            (service(), destination()).prop_map(|(s, d)| Request::DelDestination(s, d)),
            key().prop_map(Request::GetDestinations),
            daemon().prop_map(Request::NewDaemon),
            daemon().prop_map(Request::DelDaemon),
            Just(Request::GetDaemons),
            timeouts().prop_map(Request::SetTimeouts),
            Just(Request::GetTimeouts),
            Just(Request::GetInfo),
            option::of(service()).prop_map(Request::Zero),
            Just(Request::Flush),
        ]
    }

    fn reply() -> impl Strategy<Value = Reply> {
        prop_oneof![
            service().prop_map(Reply::Service),
            destination().prop_map(Reply::Destination),
            daemon().prop_map(Reply::Daemon),
            timeouts().prop_map(Reply::Timeouts),
            (any::<u32>(), any::<u32>()).prop_map(|(version, size)| Reply::Info(
                ipvs_proto::Info {
                    version: Version(version),
                    connection_table_size: size
                }
            )),
        ]
    }

    fn parse(bytes: &[u8]) -> Result<(u16, IpvsMessage), String> {
        let message = NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(bytes)
            .map_err(|e| e.to_string())?;
        match message.payload {
            NetlinkPayload::InnerMessage(genl) => Ok((message.header.flags, genl.payload)),
            other => Err(format!("not an IPVS message: {other:?}")),
        }
    }

    /// A plain TLV writer: the reference the crate's encoder is held to.
    struct Tlv(Vec<u8>);

    impl Tlv {
        fn put(&mut self, kind: u16, value: &[u8]) {
            self.0.extend(((value.len() + 4) as u16).to_ne_bytes());
            self.0.extend(kind.to_ne_bytes());
            self.0.extend(value);
            while !self.0.len().is_multiple_of(4) {
                self.0.push(0);
            }
        }
    }

    /// ipvsadm's service nest, written out by hand (stats left out).
    fn reference_service_nest(service: &Service) -> Vec<u8> {
        let mut nest = Tlv(Vec::new());
        let family: u16 = match service.key.family() {
            AddressFamily::Inet => 2,
            AddressFamily::Inet6 => 10,
            AddressFamily::Other(raw) => raw,
            other => panic!("{other:?}"),
        };
        nest.put(1, &family.to_ne_bytes());
        match service.key {
            ServiceKey::Tuple {
                protocol,
                address,
                port,
            } => {
                let protocol: u16 = match protocol {
                    Protocol::Tcp => 6,
                    Protocol::Udp => 17,
                    Protocol::Sctp => 132,
                    Protocol::Other(raw) => raw,
                    other => panic!("{other:?}"),
                };
                nest.put(2, &protocol.to_ne_bytes());
                let mut raw = [0u8; 16];
                match address {
                    IpAddr::V4(v4) => raw[..4].copy_from_slice(&v4.octets()),
                    IpAddr::V6(v6) => raw = v6.octets(),
                }
                nest.put(3, &raw);
                nest.put(4, &port.to_be_bytes());
            }
            ServiceKey::Fwmark { mark, .. } => nest.put(5, &mark.to_ne_bytes()),
        }
        nest.put(6, format!("{}\0", service.scheduler).as_bytes());
        if let Some(engine) = &service.persistence_engine {
            nest.put(11, format!("{engine}\0").as_bytes());
        }
        let mut flags = service.flags.bits().to_ne_bytes().to_vec();
        flags.extend(service.flags_mask.bits().to_ne_bytes());
        nest.put(7, &flags);
        nest.put(8, &(service.timeout.as_secs() as u32).to_ne_bytes());
        match service.netmask {
            Netmask::V4(mask) => nest.put(9, &mask.octets()),
            Netmask::V6(prefix) => nest.put(9, &u32::from(prefix).to_ne_bytes()),
            Netmask::Raw(raw) => nest.put(9, &raw),
        }
        nest.0
    }

    proptest! {
        /// The direct writer of requests gives the bytes of the message built
        /// from the request's attributes.
        #[test]
        fn requests_written_directly_equal_their_built_messages(
            request in request(),
            sequence: u32,
            port: u32,
        ) {
            let mut direct = vec![0xaa];
            wire::emit_request(&request, 0x20, sequence, port, &mut direct);
            let flags = if request.is_dump() { wire::DUMP_FLAGS } else { wire::DO_FLAGS };
            let mut built = vec![0xaa];
            wire::emit_ipvs(&request.to_message(), 0x20, flags, sequence, port, &mut built);
            prop_assert_eq!(direct, built);
        }

        #[test]
        fn requests_survive_emit_then_parse(request in request()) {
            let mut bytes = Vec::new();
            wire::emit_request(&request, 0x20, 1, 2, &mut bytes);
            let (flags, message) = parse(&bytes).unwrap();
            let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
            prop_assert_eq!(dump, request.is_dump());
            prop_assert_eq!(Request::from_message(&message, dump).unwrap(), request);
        }

        #[test]
        fn replies_survive_emit_then_parse(reply in reply()) {
            let mut bytes = Vec::new();
            wire::emit_ipvs(&reply.to_message(), 0x20, 2, 1, 2, &mut bytes);
            let (_, message) = parse(&bytes).unwrap();
            prop_assert_eq!(Reply::from_message(&message, None).unwrap(), reply);
        }

        /// The one-pass decoder reads every service and destination a
        /// listing can hold, to the value the generic path reads.
        #[test]
        fn the_one_pass_decoder_reads_listed_replies(reply in reply()) {
            let mut bytes = Vec::new();
            wire::emit_ipvs(&reply.to_message(), 0x20, 2, 1, 2, &mut bytes);
            let cmd = IpvsCmd::from(bytes[16]);
            let fast = Reply::decode_listed(cmd, &bytes[20..], None);
            match reply {
                Reply::Service(_) | Reply::Destination(_) => {
                    prop_assert_eq!(fast.as_ref(), Some(&reply));
                }
                _ => prop_assert_eq!(fast, None),
            }
            prop_assert_eq!(Reply::decode(cmd, &bytes[20..], None).unwrap(), reply);
        }

        /// Listings with bytes changed or cut short: whatever the one-pass
        /// decoder reads, the generic path reads to the same value, and
        /// `Reply::decode` fails exactly when the generic path does.
        #[test]
        fn damaged_listings_decode_alike_on_both_paths(
            pick in any::<prop::sample::Index>(),
            changes in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            hint in option::of(family()),
        ) {
            let listed = captured_listed_replies();
            let mut bytes = listed[pick.index(listed.len())].clone();
            let attributes = bytes.len() - 20;
            for (at, value) in changes {
                bytes[20 + at.index(attributes)] = value;
            }
            bytes.truncate(20 + cut.index(attributes + 1));
            let length = bytes.len() as u32;
            bytes[..4].copy_from_slice(&length.to_ne_bytes());
            let cmd = IpvsCmd::from(bytes[16]);
            let generic = parse(&bytes).and_then(|(_, message)| {
                Reply::from_message(&message, hint).map_err(|e| e.to_string())
            });
            if let Some(fast) = Reply::decode_listed(cmd, &bytes[20..], hint) {
                prop_assert_eq!(generic.as_ref(), Ok(&fast));
            }
            let decoded = Reply::decode(cmd, &bytes[20..], hint);
            prop_assert_eq!(decoded.is_ok(), generic.is_ok());
            if let (Ok(decoded), Ok(generic)) = (decoded, generic) {
                prop_assert_eq!(decoded, generic);
            }
        }

        #[test]
        fn one_pass_writing_equals_the_emitable_path(request in request(), reply in reply()) {
            for message in [request.to_message(), reply.to_message()] {
                let mut one_pass = Vec::new();
                wire::emit_ipvs(&message, 0x20, 5, 6, 7, &mut one_pass);
                let mut generic = Vec::new();
                wire::emit_genl(message, 0x20, 5, 6, 7, &mut generic);
                prop_assert_eq!(one_pass, generic);
            }
        }

        #[test]
        fn service_requests_match_a_hand_written_encoder(mut service in service()) {
            service.stats = None;
            let mut bytes = Vec::new();
            wire::emit_request(&Request::NewService(service.clone()), 0x20, 0, 0, &mut bytes);
            let nest = reference_service_nest(&service);
            let mut expected = Tlv(Vec::new());
            expected.put(1 | 0x8000, &nest);
            prop_assert_eq!(&bytes[20..], expected.0.as_slice());
            prop_assert_eq!(bytes.len(), 20 + 4 + nest.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
            for message in wire::parse_datagram::<GenlMessage<IpvsMessage>>(&bytes) {
                if let Ok(NetlinkMessage { payload: NetlinkPayload::InnerMessage(genl), header, .. }) = message {
                    let _ = Request::from_message(&genl.payload, header.flags & NLM_F_DUMP != 0);
                    let _ = Reply::from_message(&genl.payload, None);
                }
            }
        }

        /// Real messages with a few bytes changed or cut short: never a
        /// panic, and whatever still parses into a typed value is written
        /// back to bytes that parse to the same value.
        #[test]
        fn damaged_captured_messages_never_panic(
            pick in any::<prop::sample::Index>(),
            changes in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let messages = captured_ipvs_messages();
            let mut bytes = messages[pick.index(messages.len())].clone();
            for (at, value) in changes {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            bytes.truncate(cut.index(bytes.len() + 1).max(1));
            if let Ok((flags, message)) = parse(&bytes) {
                let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
                if let Ok(request) = Request::from_message(&message, dump) {
                    let mut again = Vec::new();
                    wire::emit_request(&request, 0x20, 0, 0, &mut again);
                    let (_, reparsed) = parse(&again).unwrap();
                    prop_assert_eq!(Request::from_message(&reparsed, request.is_dump()).unwrap(), request);
                }
                if let Ok(reply) = Reply::from_message(&message, None) {
                    let mut again = Vec::new();
                    wire::emit_ipvs(&reply.to_message(), 0x20, 0, 0, 0, &mut again);
                    let (_, reparsed) = parse(&again).unwrap();
                    prop_assert_eq!(Reply::from_message(&reparsed, None).unwrap(), reply);
                }
            }
        }
    }

    /// The services and destinations the kernel listed in the captures.
    fn captured_listed_replies() -> Vec<Vec<u8>> {
        captured_ipvs_messages()
            .iter()
            .filter(|m| m.len() > 20 && m[4] == 0x20 && matches!(m[16], 1 | 5) && m[6] & 2 != 0)
            .cloned()
            .collect()
    }

    #[test]
    fn the_one_pass_decoder_reads_every_captured_listing() {
        let listed = captured_listed_replies();
        assert!(listed.len() >= 100, "{}", listed.len());
        for bytes in listed {
            let (_, message) = parse(&bytes).unwrap();
            let generic = Reply::from_message(&message, None).unwrap();
            let fast = Reply::decode_listed(IpvsCmd::from(bytes[16]), &bytes[20..], None);
            assert_eq!(fast, Some(generic));
        }
    }

    fn captured_ipvs_messages() -> &'static [Vec<u8>] {
        static MESSAGES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        MESSAGES.get_or_init(|| {
            let mut messages = Vec::new();
            for capture in all_captures() {
                for (direction, buffer) in &capture.buffers {
                    for message in split(buffer) {
                        let kind = u16::from_ne_bytes([message[4], message[5]]);
                        if kind == capture.family_id || (*direction == Direction::Recv && kind == 2)
                        {
                            messages.push(message.to_vec());
                        }
                    }
                }
            }
            messages
        })
    }
}

// ---------------------------------------------------------------- unknown and malformed input

mod attributes {
    use ipvs_proto::netlink_packet_core::{Emitable, NetlinkMessage, NetlinkPayload};
    use ipvs_proto::netlink_packet_generic::GenlMessage;
    use ipvs_proto::{DestAttribute, Error, IpvsAttribute, IpvsMessage, Request, ServiceAttribute};

    use super::{all_captures, split};

    /// The NEW_DEST request of capture 04 (service nest, then dest nest).
    fn new_dest_request() -> Vec<u8> {
        let capture = &all_captures()[3];
        capture
            .buffers
            .iter()
            .flat_map(|(_, buffer)| split(buffer))
            .find(|m| m[4] == 0x20 && m[16] == 5)
            .unwrap()
            .to_vec()
    }

    fn parse(bytes: &[u8]) -> Result<IpvsMessage, String> {
        match NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(bytes)
            .map_err(|e| e.to_string())?
            .payload
        {
            NetlinkPayload::InnerMessage(genl) => Ok(genl.payload),
            other => Err(format!("{other:?}")),
        }
    }

    /// Appends an attribute to the nest that starts at `nest` and fixes the
    /// lengths of the nest and of the message.
    fn append_to_nest(bytes: &mut Vec<u8>, nest: usize, attribute: &[u8]) {
        let nest_len = u16::from_ne_bytes([bytes[nest], bytes[nest + 1]]) as usize;
        let end = nest + nest_len;
        bytes.splice(end..end, attribute.iter().copied());
        let nest_len = (nest_len + attribute.len()) as u16;
        bytes[nest..nest + 2].copy_from_slice(&nest_len.to_ne_bytes());
        let total = bytes.len() as u32;
        bytes[..4].copy_from_slice(&total.to_ne_bytes());
    }

    #[test]
    fn unknown_attributes_are_kept_and_written_back() {
        let mut bytes = new_dest_request();
        // Attribute 99 inside the service nest (at 20), attribute 42 with
        // NLA_F_NET_BYTEORDER at the top level.
        append_to_nest(&mut bytes, 20, &[8, 0, 99, 0, 1, 2, 3, 4]);
        bytes.extend([8, 0, 42, 0x40, 9, 8, 7, 6]);
        let total = bytes.len() as u32;
        bytes[..4].copy_from_slice(&total.to_ne_bytes());

        let message = parse(&bytes).unwrap();
        let IpvsAttribute::Service(service) = &message.attributes[0] else {
            panic!("{message:?}");
        };
        assert!(matches!(service.last(), Some(ServiceAttribute::Other(_))));
        assert!(matches!(message.attributes[2], IpvsAttribute::Other(_)));
        let IpvsAttribute::Destination(destination) = &message.attributes[1] else {
            panic!("{message:?}");
        };
        assert!(
            !destination
                .iter()
                .any(|a| matches!(a, DestAttribute::Other(_)))
        );

        let mut again = vec![0; message.buffer_len()];
        message.emit(&mut again);
        assert_eq!(again, bytes[20..]);
        // The typed request ignores what it does not know.
        let typed = Request::from_message(&message, false).unwrap();
        assert_eq!(
            typed,
            Request::from_message(&parse(&new_dest_request()).unwrap(), false).unwrap()
        );
    }

    #[test]
    fn malformed_attributes_are_named_in_the_error() {
        let original = new_dest_request();
        // The service port (IPVS_SVC_ATTR_PORT, 2 bytes) claims 3 bytes.
        let port = 24 + 8 + 8 + 20;
        assert_eq!(&original[port..port + 4], &[6, 0, 4, 0]);
        let mut bytes = original.clone();
        bytes[port] = 7;
        let error = parse(&bytes).unwrap_err();
        assert!(error.contains("invalid IPVS_SVC_ATTR_PORT"), "{error}");
        assert!(error.contains("invalid IPVS_CMD_ATTR_SERVICE"), "{error}");

        // An address family one byte short.
        let mut bytes = original.clone();
        bytes[24] = 5;
        let error = parse(&bytes).unwrap_err();
        assert!(error.contains("invalid IPVS_SVC_ATTR_AF"), "{error}");

        // A nest longer than the message.
        let mut bytes = original.clone();
        bytes[20] = 0xff;
        let error = parse(&bytes).unwrap_err();
        assert!(error.contains("invalid attribute of NewDest"), "{error}");
        assert!(error.contains("but the NLA is 255 bytes"), "{error}");
    }

    #[test]
    fn a_request_without_its_nest_is_a_typed_error() {
        let message = IpvsMessage::new(ipvs_proto::IpvsCmd::NewDest, Vec::new());
        let error = Request::from_message(&message, false).unwrap_err();
        assert!(matches!(
            error,
            Error::MissingAttribute {
                attribute: "IPVS_CMD_ATTR_SERVICE",
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "message lacks the IPVS_CMD_ATTR_SERVICE attribute"
        );

        let mut bytes = new_dest_request();
        // Drop the scheduler name from the service nest: rename it to an
        // unknown attribute (type 6 -> 60).
        let sched = 24 + 8 + 8 + 20 + 8;
        assert_eq!(&bytes[sched..sched + 4], &[5, 0, 6, 0]);
        bytes[sched + 2] = 60;
        let message = parse(&bytes).unwrap();
        let error = Request::from_message(&message, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "service lacks the IPVS_SVC_ATTR_SCHED_NAME attribute"
        );
    }
}

// ---------------------------------------------------------------- values of a future kernel

mod unknown_values {
    use ipvs_proto::{
        AddressFamily, DaemonState, Error, Forwarding, IpvsAttribute, Protocol, Reply,
        ServiceAttribute, ServiceKey, TunnelType, wire,
    };

    use super::{
        Direction, all_captures, masked, parse_ipvs, split, without_top_level_nested_flag,
    };

    /// The first message the kernel sent (in any capture) with generic
    /// netlink command `cmd` whose top-level nest `nest` holds attribute
    /// `inner`.
    fn captured_reply(cmd: u8, nest: u16, inner: u16) -> Vec<u8> {
        for capture in all_captures() {
            for (direction, buffer) in &capture.buffers {
                for message in split(buffer) {
                    let ours = *direction == Direction::Recv
                        && u16::from_ne_bytes([message[4], message[5]]) == capture.family_id
                        && message[16] == cmd;
                    if ours && value_at(message, nest, inner).is_some() {
                        return message.to_vec();
                    }
                }
            }
        }
        panic!("no captured reply {cmd} with attribute {nest}/{inner}");
    }

    /// Offset of the value of attribute `inner` in top-level nest `nest`.
    fn value_at(message: &[u8], nest: u16, inner: u16) -> Option<usize> {
        let find = |start: usize, end: usize, kind: u16| {
            let mut offset = start;
            while offset + 4 <= end {
                let length = u16::from_ne_bytes([message[offset], message[offset + 1]]) as usize;
                let found = u16::from_ne_bytes([message[offset + 2], message[offset + 3]]);
                if found & 0x3fff == kind {
                    return Some((offset + 4, offset + length));
                }
                offset += (length.max(4) + 3) & !3;
            }
            None
        };
        let (start, end) = find(20, message.len(), nest)?;
        find(start, end, inner).map(|(value, _)| value)
    }

    /// Typed reply of `message`, written again with the same header.
    fn typed_round_trip(message: &[u8]) -> (Reply, Vec<u8>) {
        let reply = Reply::from_message(&parse_ipvs(message), None).expect("typed reply");
        let family = u16::from_ne_bytes([message[4], message[5]]);
        let flags = u16::from_ne_bytes([message[6], message[7]]);
        let mut again = Vec::new();
        wire::emit_ipvs(&reply.to_message(), family, flags, 0, 0, &mut again);
        (reply, again)
    }

    fn same_bytes(patched: &[u8], again: &[u8]) {
        assert_eq!(
            masked(&without_top_level_nested_flag(again)),
            masked(&without_top_level_nested_flag(patched))
        );
    }

    #[test]
    fn an_unknown_forwarding_method_and_tunnel_type_are_kept() {
        let mut bytes = captured_reply(5, 2, 13);
        let method = value_at(&bytes, 2, 3).unwrap();
        bytes[method..method + 4].copy_from_slice(&6u32.to_ne_bytes());
        let tunnel = value_at(&bytes, 2, 13).unwrap();
        bytes[tunnel] = 9;
        let (reply, again) = typed_round_trip(&bytes);
        let Reply::Destination(destination) = reply else {
            panic!("{reply:?}");
        };
        assert_eq!(destination.forwarding, Forwarding::Other(6));
        assert_eq!(destination.forwarding.raw(), 6);
        assert_eq!(destination.tunnel.kind, TunnelType::Other(9));
        same_bytes(&bytes, &again);
    }

    #[test]
    fn an_unknown_protocol_is_kept() {
        let mut bytes = captured_reply(1, 1, 2);
        let protocol = value_at(&bytes, 1, 2).unwrap();
        bytes[protocol..protocol + 2].copy_from_slice(&250u16.to_ne_bytes());
        let (reply, again) = typed_round_trip(&bytes);
        let Reply::Service(service) = reply else {
            panic!("{reply:?}");
        };
        assert!(matches!(
            service.key,
            ServiceKey::Tuple {
                protocol: Protocol::Other(250),
                ..
            }
        ));
        assert_eq!(service.key.to_string().split(' ').next(), Some("protocol"));
        same_bytes(&bytes, &again);
    }

    #[test]
    fn an_unknown_daemon_state_is_kept() {
        let mut bytes = captured_reply(9, 3, 1);
        let state = value_at(&bytes, 3, 1).unwrap();
        bytes[state..state + 4].copy_from_slice(&5u32.to_ne_bytes());
        let (reply, again) = typed_round_trip(&bytes);
        let Reply::Daemon(daemon) = reply else {
            panic!("{reply:?}");
        };
        assert_eq!(daemon.state, DaemonState::Other(5));
        same_bytes(&bytes, &again);
    }

    #[test]
    fn an_unknown_address_family_is_kept_for_firewall_marks_and_named_otherwise() {
        // A firewall-mark service carries no address: its family is kept.
        let mut bytes = captured_reply(1, 1, 5);
        let family = value_at(&bytes, 1, 1).unwrap();
        bytes[family..family + 2].copy_from_slice(&7u16.to_ne_bytes());
        let (reply, again) = typed_round_trip(&bytes);
        let Reply::Service(service) = reply else {
            panic!("{reply:?}");
        };
        assert!(matches!(
            service.key,
            ServiceKey::Fwmark {
                family: AddressFamily::Other(7),
                ..
            }
        ));
        same_bytes(&bytes, &again);

        // An address of a family no std::net type holds: the attributes
        // keep it, the typed service names the attribute.
        let mut bytes = captured_reply(1, 1, 3);
        let family = value_at(&bytes, 1, 1).unwrap();
        bytes[family..family + 2].copy_from_slice(&7u16.to_ne_bytes());
        let message = parse_ipvs(&bytes);
        let IpvsAttribute::Service(nest) = &message.attributes[0] else {
            panic!("{message:?}");
        };
        assert_eq!(
            nest[0],
            ServiceAttribute::AddressFamily(AddressFamily::Other(7))
        );
        let mut again = Vec::new();
        let family_id = u16::from_ne_bytes([bytes[4], bytes[5]]);
        let flags = u16::from_ne_bytes([bytes[6], bytes[7]]);
        wire::emit_ipvs(&message, family_id, flags, 0, 0, &mut again);
        same_bytes(&bytes, &again);
        let error = Reply::from_message(&message, None).unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidValue {
                    attribute: "IPVS_SVC_ATTR_AF",
                    ..
                }
            ),
            "{error}"
        );
    }
}

// ---------------------------------------------------------------- counters

mod counters {
    use ipvs_proto::netlink_packet_core::{NlaBuffer, NlasIterator, Parseable};
    use ipvs_proto::{Stats, Stats64Attribute, StatsAttribute};

    /// A stats nest written by hand: attribute k (1 to 10, the order of
    /// `IPVS_STATS_ATTR_*` in ip_vs.h) holds k * 1000, `width(k)` bytes wide.
    fn nest(width: impl Fn(u16) -> usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        for kind in 1..=10u16 {
            let value = u64::from(kind) * 1000;
            let width = width(kind);
            bytes.extend(((4 + width) as u16).to_ne_bytes());
            bytes.extend(kind.to_ne_bytes());
            bytes.extend(&value.to_ne_bytes()[..width]);
        }
        bytes
    }

    fn parse<A: for<'a> Parseable<NlaBuffer<&'a [u8]>>>(bytes: &[u8]) -> Vec<A> {
        NlasIterator::new(bytes)
            .map(|nla| A::parse(&nla.unwrap()).unwrap())
            .collect()
    }

    /// The counters in ip_vs.h's order, named as `Stats` names them.
    fn expected() -> Stats {
        Stats {
            connections: 1000,
            packets_in: 2000,
            packets_out: 3000,
            bytes_in: 4000,
            bytes_out: 5000,
            connection_rate: 6000,
            packet_rate_in: 7000,
            packet_rate_out: 8000,
            byte_rate_in: 9000,
            byte_rate_out: 10000,
        }
    }

    #[test]
    fn each_counter_lands_in_its_field() {
        let wide = nest(|_| 8);
        let stats64: Vec<Stats64Attribute> = parse(&wide);
        assert_eq!(Stats::from_attributes64(&stats64), expected());
        assert_eq!(expected().to_attributes64(), stats64);

        // struct ip_vs_stats_user: bytes counters (4 and 5) are 64-bit.
        let legacy = nest(|kind| if kind == 4 || kind == 5 { 8 } else { 4 });
        let stats: Vec<StatsAttribute> = parse(&legacy);
        assert_eq!(Stats::from_attributes(&stats), expected());
        assert_eq!(expected().to_attributes(), stats);
    }

    #[test]
    fn the_legacy_nest_refuses_a_64_bit_packet_counter() {
        let wrong = nest(|_| 8);
        let error = StatsAttribute::parse(&NlasIterator::new(&wrong[..]).next().unwrap().unwrap())
            .unwrap_err();
        assert!(
            error.to_string().contains("invalid IPVS_STATS_ATTR_CONNS"),
            "{error}"
        );
    }

    #[test]
    fn the_legacy_nest_keeps_the_low_32_bits_as_the_kernel_does() {
        let stats = Stats {
            connections: (7 << 32) | 5,
            bytes_in: 1 << 40,
            ..Stats::default()
        };
        let legacy = Stats::from_attributes(&stats.to_attributes());
        assert_eq!(legacy.connections, 5);
        assert_eq!(legacy.bytes_in, 1 << 40);
    }
}

// ---------------------------------------------------------------- serde

/// The feature `serde`: the shapes the crate docs promise, on values read
/// from the captures and on every named and unknown enum value.
#[cfg(feature = "serde")]
mod serialized {
    use super::*;
    use ipvs_proto::Protocol;

    fn json(value: &impl serde::Serialize) -> String {
        serde_json::to_string(value).expect("serializes")
    }

    fn replies(index: usize) -> Vec<Reply> {
        decode(&all_captures().remove(index))
            .into_iter()
            .filter_map(|event| match event {
                Event::Reply(reply) => Some(reply),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn captured_info_timeouts_and_daemons_serialize_as_documented() {
        let replies_of = |index| replies(index).into_iter();
        let info = replies_of(29).find_map(|r| match r {
            Reply::Info(info) => Some(info),
            _ => None,
        });
        assert_eq!(
            json(&info.expect("info")),
            r#"{"version":"1.2.1","connection_table_size":4096}"#
        );
        let timeouts = replies_of(29).find_map(|r| match r {
            Reply::Timeouts(t) => Some(t),
            _ => None,
        });
        assert_eq!(
            json(&timeouts.expect("timeouts")),
            r#"{"tcp":900,"tcp_fin":120,"udp":300}"#
        );
        let daemons: Vec<Daemon> = replies_of(33)
            .filter_map(|r| match r {
                Reply::Daemon(d) => Some(d),
                _ => None,
            })
            .collect();
        assert_eq!(
            json(&daemons),
            r#"[{"state":"master","interface":"lo","sync_id":5,"max_length":1472,"group":"224.0.0.81","port":8848,"ttl":1}]"#
        );
    }

    /// `Stats` in the documented field order, written out by hand.
    fn stats_json(s: &Stats) -> String {
        format!(
            concat!(
                r#"{{"connections":{},"packets_in":{},"packets_out":{},"bytes_in":{},"#,
                r#""bytes_out":{},"connection_rate":{},"packet_rate_in":{},"#,
                r#""packet_rate_out":{},"byte_rate_in":{},"byte_rate_out":{}}}"#
            ),
            s.connections,
            s.packets_in,
            s.packets_out,
            s.bytes_in,
            s.bytes_out,
            s.connection_rate,
            s.packet_rate_in,
            s.packet_rate_out,
            s.byte_rate_in,
            s.byte_rate_out
        )
    }

    #[test]
    fn counters_serialize_with_their_field_names_in_order() {
        let destinations: Vec<Destination> = replies(21)
            .into_iter()
            .filter_map(|r| match r {
                Reply::Destination(d) => Some(d),
                _ => None,
            })
            .collect();
        assert!(!destinations.is_empty(), "capture 22 lists destinations");
        for d in &destinations {
            let stats = d.stats.expect("listed destinations carry stats");
            assert_eq!(json(&stats), stats_json(&stats));
            let c = d.connections.expect("listed destinations carry counts");
            assert_eq!(
                json(&c),
                format!(
                    r#"{{"active":{},"inactive":{},"persistent":{}}}"#,
                    c.active, c.inactive, c.persistent
                )
            );
        }
        // Each counter in its own field, 64-bit values exact.
        let distinct = Stats {
            connections: 1,
            packets_in: 2,
            packets_out: 3,
            bytes_in: 4,
            bytes_out: u64::MAX,
            connection_rate: 6,
            packet_rate_in: 7,
            packet_rate_out: 8,
            byte_rate_in: 9,
            byte_rate_out: 10,
        };
        assert_eq!(
            json(&distinct),
            concat!(
                r#"{"connections":1,"packets_in":2,"packets_out":3,"bytes_in":4,"#,
                r#""bytes_out":18446744073709551615,"connection_rate":6,"packet_rate_in":7,"#,
                r#""packet_rate_out":8,"byte_rate_in":9,"byte_rate_out":10}"#
            )
        );
        let counts = Connections {
            active: 3,
            inactive: 2,
            persistent: 1,
        };
        assert_eq!(json(&counts), r#"{"active":3,"inactive":2,"persistent":1}"#);
    }

    #[test]
    fn enums_serialize_as_lowercase_names_and_unknown() {
        let names = [
            (json(&AddressFamily::Inet), "inet"),
            (json(&AddressFamily::Inet6), "inet6"),
            (json(&AddressFamily::Other(7)), "unknown"),
            (json(&Protocol::Tcp), "tcp"),
            (json(&Protocol::Udp), "udp"),
            (json(&Protocol::Sctp), "sctp"),
            (json(&Protocol::Other(99)), "unknown"),
            (json(&Forwarding::Masq), "masq"),
            (json(&Forwarding::Local), "local"),
            (json(&Forwarding::Tunnel), "tunnel"),
            (json(&Forwarding::DirectRoute), "route"),
            (json(&Forwarding::Bypass), "bypass"),
            (json(&Forwarding::Other(9)), "unknown"),
            (json(&TunnelType::Ipip), "ipip"),
            (json(&TunnelType::Gue), "gue"),
            (json(&TunnelType::Gre), "gre"),
            (json(&TunnelType::Other(7)), "unknown"),
            (json(&DaemonState::Master), "master"),
            (json(&DaemonState::Backup), "backup"),
            (json(&DaemonState::Other(4)), "unknown"),
            (json(&Version(0x020a03)), "2.10.3"),
        ];
        for (serialized, name) in names {
            assert_eq!(serialized, format!("\"{name}\""));
        }
    }

    #[test]
    fn timeouts_are_whole_seconds_and_zero_when_left_out() {
        let t = Timeouts {
            tcp: Some(Duration::from_millis(7_200_999)),
            tcp_fin: None,
            udp: Some(Duration::ZERO),
        };
        assert_eq!(json(&t), r#"{"tcp":7200,"tcp_fin":0,"udp":0}"#);
    }
}
