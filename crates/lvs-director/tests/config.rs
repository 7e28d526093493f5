//! Configuration parsing: the values read, and every error at its exact
//! `line:column`.

use std::net::SocketAddr;
use std::time::Duration;

use ipvs_proto::{AddressFamily, Forwarding, Netmask, ServiceKey};
use lvs_director::config::{CheckKind, OnFailure, parse};

fn errors(text: &str) -> Vec<String> {
    parse(text, "t.toml")
        .expect_err("the file has errors")
        .to_string()
        .lines()
        .map(String::from)
        .collect()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn the_issue_example_reads_as_written() {
    let text = r#"
[[service]]
address = "123.234.1.101:80"      # or fwmark = 1 (with family)
protocol = "tcp"                  # tcp | udp | sctp
scheduler = "wlc"
persistence = "300s"              # optional, with netmask
netmask = "255.255.255.0"
forwarding = "dr"                 # default for its real servers: nat | dr | tun
drain = "2m"
sorry = "123.234.1.200:80"
[service.check]
type = "http"                     # tcp | http | https | exec | none
path = "/health"
status = "200-399"
body = "ok|healthy"
interval = "2s"
timeout = "1s"
rise = 2                          # successes to come back
fall = 3                          # failures to go down
on_failure = "inhibit"            # weight 0 (keep connections) | remove
[[service.real]]
address = "123.234.1.111:80"
weight = 1
[[service.real]]
address = "123.234.1.112:80"
weight = 3
forwarding = "tun"
upper_threshold = 100
lower_threshold = 50
"#;
    let config = parse(text, "t.toml").unwrap();
    assert_eq!(config.services.len(), 1);
    let s = &config.services[0];
    assert_eq!(s.key, ServiceKey::tcp(addr("123.234.1.101:80")));
    assert_eq!(s.scheduler, "wlc");
    assert_eq!(s.persistence, Some(Duration::from_secs(300)));
    assert_eq!(
        s.netmask,
        Some(Netmask::V4("255.255.255.0".parse().unwrap()))
    );
    assert_eq!(s.forwarding, Forwarding::DirectRoute);
    assert_eq!(s.drain, Duration::from_secs(120));
    assert_eq!(s.sorry, Some(addr("123.234.1.200:80")));
    assert_eq!(s.check.interval, Duration::from_secs(2));
    assert_eq!(s.check.timeout, Duration::from_secs(1));
    assert_eq!((s.check.rise, s.check.fall), (2, 3));
    assert_eq!(s.check.on_failure, OnFailure::Inhibit);
    let CheckKind::Http(http) = &s.check.kind else {
        panic!("{:?}", s.check.kind)
    };
    assert_eq!(http.path, "/health");
    assert!(http.status.contains(200) && http.status.contains(399) && !http.status.contains(400));
    assert!(http.body.as_ref().unwrap().0.is_match("all healthy"));
    assert_eq!(s.reals.len(), 2);
    assert_eq!(s.reals[0].forwarding, Forwarding::DirectRoute);
    assert_eq!(s.reals[1].forwarding, Forwarding::Tunnel);
    assert_eq!(s.reals[1].weight, 3);
    assert_eq!(
        (s.reals[1].upper_threshold, s.reals[1].lower_threshold),
        (100, 50)
    );
    let service = s.to_service();
    assert!(service.is_persistent());
    assert_eq!(service.timeout, Duration::from_secs(300));
}

#[test]
fn defaults_fwmark_and_exec() {
    let text = r#"
[[service]]
fwmark = 7
family = "inet6"
[service.check]
type = "exec"
command = ["/usr/local/bin/check", "{address}", "{port}"]
dynamic = true
interval = "1s"
[[service.real]]
address = "2001:db8::2"
[[service.real]]
address = "[2001:db8::3]:8080"
"#;
    let config = parse(text, "t.toml").unwrap();
    let s = &config.services[0];
    assert_eq!(s.key, ServiceKey::fwmark(AddressFamily::Inet6, 7));
    assert_eq!(s.scheduler, "wlc");
    assert_eq!(s.forwarding, Forwarding::Masq);
    assert_eq!(s.drain, Duration::from_secs(60));
    assert_eq!(
        s.check.timeout,
        Duration::from_secs(1),
        "timeout defaults to at most the interval"
    );
    let CheckKind::Exec(exec) = &s.check.kind else {
        panic!()
    };
    assert!(exec.dynamic);
    assert_eq!(exec.command[1], "{address}");
    assert_eq!(s.reals[0].address, addr("[2001:db8::2]:0"));
    assert_eq!(s.reals[1].address, addr("[2001:db8::3]:8080"));
    assert_eq!(s.reals[0].weight, 1);

    let empty = parse("# nothing yet\n", "t.toml").unwrap();
    assert!(empty.services.is_empty());
    let no_check = parse("[[service]]\naddress = \"10.0.0.1:80\"\n", "t.toml").unwrap();
    assert_eq!(no_check.services[0].check.kind, CheckKind::None);
}

#[test]
fn every_error_is_reported_with_its_position() {
    let text = r#"[[service]]
address = "10.0.0.1:80"
scheduler = "wlcx"
colour = "blue"
[service.check]
type = "http"
interval = "1s"
timeout = "2s"
command = ["/bin/true"]
[[service.real]]
address = "10.0.1.2:80"
[[service.real]]
address = "10.0.1.2:80"
[[service.real]]
address = "10.0.1.300:80"
[[service.real]]
address = "10.0.1.4"
weight = 70000
"#;
    assert_eq!(
        errors(text),
        [
            "t.toml:3:13: unknown scheduler \"wlcx\" (known: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)",
            "t.toml:4:1: unknown key `colour` in [[service]] (known: address, fwmark, family, protocol, scheduler, persistence, netmask, forwarding, drain, sorry, check, feedback, agent, real)",
            "t.toml:8:11: `timeout` must not exceed `interval` (checks never overlap)",
            "t.toml:9:1: `command` has no meaning for a http check (only exec)",
            "t.toml:13:11: duplicate real server 10.0.1.2:80 (first at line 11)",
            "t.toml:15:11: invalid real server address \"10.0.1.300:80\" (write ADDRESS:PORT, [IPv6]:PORT)",
            "t.toml:17:11: real server \"10.0.1.4\" needs a port (ADDRESS:PORT)",
            "t.toml:18:10: `weight` must be an integer from 0 to 65535",
        ]
    );
}

#[test]
fn service_level_mistakes() {
    let text = r#"[[service]]
fwmark = 1
protocol = "udp"
[service.check]
type = "tcp"
[[service.real]]
address = "10.0.1.2"

[[service]]
address = "10.0.0.1:80"
fwmark = 3

[[service]]
scheduler = "rr"

[[service]]
address = "10.0.0.2:80"
netmask = "255.255.255.0"
forwarding = "masq"
sorry = "10.0.1.9:80"
[[service.real]]
address = "10.0.1.9:80"

[[service]]
address = "10.0.0.3:80"
[[service]]
address = "10.0.0.3:80"
[[service]]
address = "10.0.0.3:80"
protocol = "udp"
"#;
    assert_eq!(
        errors(text),
        [
            "t.toml:3:12: `protocol` has no meaning with `fwmark` (the mark selects the packets)",
            "t.toml:7:11: real server 10.0.1.2 has no port to check: give it one or set `port` in [service.check]",
            "t.toml:11:10: a service has `address` or `fwmark`, not both",
            "t.toml:13:1: a service needs `address` or `fwmark`",
            "t.toml:18:11: `netmask` needs `persistence`",
            "t.toml:19:14: unknown forwarding \"masq\" (known: nat, dr, tun)",
            "t.toml:20:9: sorry server 10.0.1.9:80 is also a real server",
            "t.toml:27:11: duplicate service TCP 10.0.0.3:80 (first at line 25)",
        ]
    );
}

#[test]
fn types_checks_and_syntax() {
    assert_eq!(
        errors("[[service]]\naddress = 80\n"),
        ["t.toml:2:11: `address` must be a string, not integer"]
    );
    assert_eq!(
        errors("[[service]]\naddress = \"10.0.0.1:80\"\n[service.check]\ntype = \"icmp\"\n"),
        ["t.toml:4:8: unknown check type \"icmp\" (known: tcp, http, https, exec, none)"]
    );
    assert_eq!(
        errors(
            "[[service]]\naddress = \"10.0.0.1:80\"\n[service.check]\ntype = \"http\"\nstatus = \"200-99\"\nbody = \"(\"\npath = \"health\"\ninterval = \"2\"\nrise = 0\n"
        ),
        [
            "t.toml:5:10: invalid status range \"200-99\" (write e.g. \"200-399\" or \"200,204\")",
            "t.toml:6:8: invalid body regex: regex parse error:\n    (\n    ^\nerror: unclosed group",
            "t.toml:7:8: invalid path \"health\" (starts with /, printable ASCII without spaces)",
            "t.toml:8:12: `interval`: invalid duration \"2\" (write e.g. \"2s\", \"500ms\", \"1m30s\")",
            "t.toml:9:8: `rise` must be an integer from 1 to 1000",
        ]
        .iter()
        .flat_map(|s| s.lines())
        .collect::<Vec<_>>()
    );
    assert_eq!(
        errors(
            "[[service]]\naddress = \"10.0.0.1:80\"\n[service.check]\ntype = \"exec\"\ncommand = \"/bin/check --all\"\n"
        ),
        [
            "t.toml:5:11: `command` must be a non-empty array of strings (no shell: [\"/path/prog\", \"arg\"])"
        ]
    );
    // Syntax errors come from the TOML parser, still with a position.
    let syntax = errors("[[service]]\naddress = \"10.0.0.1:80\n");
    assert!(syntax[0].starts_with("t.toml:2:"), "{syntax:?}");
    assert!(syntax[0].contains("TOML syntax"), "{syntax:?}");
    // Columns count characters, not bytes.
    assert_eq!(
        errors("[[service]] # é\naddress = \"10.0.0.1:80\"\n\"é\" = 1\n"),
        [
            "t.toml:3:1: unknown key `é` in [[service]] (known: address, fwmark, family, protocol, scheduler, persistence, netmask, forwarding, drain, sorry, check, feedback, agent, real)"
        ]
    );
}

mod arbitrary {
    use lvs_director::config::parse;
    use proptest::prelude::*;

    const VALID: &str = "[[service]]\naddress = \"10.0.0.1:80\"\nscheduler = \"rr\"\npersistence = \"30s\"\nsorry = \"10.0.9.9:80\"\n[service.check]\ntype = \"http\"\nbody = \"ok\"\ninterval = \"1s\"\n[[service.real]]\naddress = \"10.0.1.2:80\"\nweight = 3\n";

    proptest! {
        /// Any text gives a configuration or errors with positions inside
        /// the text, never a panic.
        #[test]
        fn any_text_is_parsed_or_refused_with_positions(text in "\\PC{0,300}") {
            if let Err(errors) = parse(&text, "t") {
                prop_assert!(!errors.errors.is_empty());
                for e in &errors.errors {
                    prop_assert!(e.position.line >= 1 && e.position.line <= text.lines().count().max(1) + 1);
                }
            }
        }

        /// A valid file with one byte changed: parsed or refused, never a panic.
        #[test]
        fn damaged_files_never_panic(at in 0..VALID.len(), byte in any::<u8>()) {
            let mut bytes = VALID.as_bytes().to_vec();
            bytes[at] = byte;
            if let Ok(text) = String::from_utf8(bytes) {
                let _ = parse(&text, "t");
            }
        }
    }
}

#[test]
fn agents_for_load_feedback() {
    let text = r#"
[[service]]
address = "10.0.0.1:80"
scheduler = "wrr"
[[service.real]]
address = "10.0.1.2:80"
weight = 100
agent = { port = 4444, interval = "500ms" }
[[service.real]]
address = "10.0.1.3:80"
agent = {}
[[service.real]]
address = "10.0.1.4:80"
"#;
    let config = parse(text, "t.toml").unwrap();
    let reals = &config.services[0].reals;
    let agent = reals[0].agent.expect("an agent");
    assert_eq!(
        (agent.port, agent.interval),
        (4444, Duration::from_millis(500))
    );
    let agent = reals[1].agent.expect("an agent");
    assert_eq!((agent.port, agent.interval), (3333, Duration::from_secs(2)));
    assert_eq!(reals[2].agent, None);

    let bad = r#"[[service]]
address = "10.0.0.1:80"
[[service.real]]
address = "10.0.1.2:80"
agent = { port = 0, interval = "10ms", colour = 1 }
[[service.real]]
address = "10.0.1.3:80"
agent = 3333
"#;
    assert_eq!(
        errors(bad),
        [
            "t.toml:5:18: `port` must be an integer from 1 to 65535",
            "t.toml:5:32: `interval` of `agent` must be from 100ms to 1h",
            "t.toml:5:40: unknown key `colour` in `agent` (known: port, interval)",
            "t.toml:8:9: `agent` must be a table like { port = 3333, interval = \"2s\" }, or false (no agent), not integer",
        ]
    );
}

#[test]
fn a_service_agent_is_its_real_servers_default() {
    let text = r#"
[[service]]
address = "10.0.0.1:80"
agent = { port = 4444, interval = "1s" }
[[service.real]]
address = "10.0.1.2:80"
[[service.real]]
address = "10.0.1.3:80"
agent = { interval = "3s" }
[[service.real]]
address = "10.0.1.4:80"
agent = false
[[service.real]]
address = "10.0.1.5:80"
agent = true
"#;
    let config = parse(text, "t.toml").unwrap();
    let agents: Vec<_> = config.services[0]
        .reals
        .iter()
        .map(|r| r.agent.map(|a| (a.port, a.interval.as_millis())))
        .collect();
    assert_eq!(
        agents,
        [
            Some((4444, 1000)),
            Some((4444, 3000)),
            None,
            Some((4444, 1000))
        ]
    );
    assert_eq!(
        errors("[[service]]\naddress = \"10.0.0.1:80\"\nagent = true\n"),
        [
            "t.toml:3:9: `agent` of a service must be a table like { port = 3333, interval = \"2s\" } (its real servers' default), not boolean"
        ]
    );
}

#[test]
fn feedback_knobs_global_and_per_service() {
    let text = r#"
[feedback]
smoothing = 0.25
blackout = "2s"
expiry = "8s"

[[service]]
address = "10.0.0.1:80"
[[service.real]]
address = "10.0.1.2:80"
agent = { interval = "500ms" }

[[service]]
address = "10.0.0.2:80"
feedback = { smoothing = 1, max_step_percent = 100, band_percent = 0, expiry = "3s" }
[[service.real]]
address = "10.0.1.2:80"
agent = {}
"#;
    let config = parse(text, "t.toml").unwrap();
    let f = config.services[0].feedback;
    assert_eq!(
        (
            f.smoothing_permille,
            f.max_step_percent,
            f.band_percent,
            f.blackout,
            f.expiry
        ),
        (250, 25, 5, Duration::from_secs(2), Duration::from_secs(8))
    );
    let f = config.services[1].feedback;
    assert_eq!(
        (
            f.smoothing_permille,
            f.max_step_percent,
            f.band_percent,
            f.blackout,
            f.expiry
        ),
        (1000, 100, 0, Duration::from_secs(2), Duration::from_secs(3))
    );
    // Without a [feedback] table: the documented defaults.
    let plain = parse("[[service]]\naddress = \"10.0.0.1:80\"\n", "t.toml").unwrap();
    assert_eq!(
        plain.services[0].feedback,
        lvs_director::config::FeedbackConfig::default()
    );
    let f = lvs_director::config::FeedbackConfig::default();
    assert_eq!(
        (
            f.smoothing_permille,
            f.max_step_percent,
            f.band_percent,
            f.blackout,
            f.expiry
        ),
        (500, 25, 5, Duration::from_secs(10), Duration::from_secs(30))
    );
}

#[test]
fn feedback_knob_errors_name_the_key_and_range() {
    let bad = r#"[feedback]
smoothing = 0
max_step_percent = 0
band_percent = 101
blackout = "2h"
expiry = "50ms"
ewma = 0.5

[[service]]
address = "10.0.0.1:80"
feedback = { smoothing = "half", expiry = "1s" }
[[service.real]]
address = "10.0.1.2:80"
agent = { interval = "2s" }

[[service]]
address = "10.0.0.2:80"
feedback = 3
"#;
    assert_eq!(
        errors(bad),
        [
            "t.toml:2:13: `smoothing` in [feedback] must be a number from 0.001 to 1 (the weight of a new report in the average; 1: the last report only)",
            "t.toml:3:20: `max_step_percent` must be an integer from 1 to 100",
            "t.toml:4:16: `band_percent` must be an integer from 0 to 100",
            "t.toml:5:12: `blackout` in [feedback] must be from 0s to 1h",
            "t.toml:6:10: `expiry` in [feedback] must be from 100ms to 1d",
            "t.toml:7:1: unknown key `ewma` in [feedback] (known: smoothing, max_step_percent, band_percent, blackout, expiry)",
            "t.toml:11:12: `expiry` of the feedback (1s) must be longer than the service's longest agent interval (2s): every report would expire before the next",
            "t.toml:11:26: `smoothing` in [service.feedback] must be a number from 0.001 to 1 (the weight of a new report in the average; 1: the last report only)",
            "t.toml:18:12: [service.feedback] must be a table, not integer",
        ]
    );
}
