//! Host tests of ipvsctl: listings against ipvsadm 1.31's recorded output,
//! requests against the bytes ipvsadm sent, the bad-input matrix and restore
//! validation through the binary.

mod support;

use std::collections::HashMap;
use std::process::Command;

use ipvs_proto::{Destination, Info, Reply, Request, Service, ServiceKey};
use ipvsctl::internals::cli::{self, Parsed, fmt};
use ipvsctl::internals::format::{self, Entry};
use ipvsctl::internals::{app, json, request};
use netlink_packet_core::Emitable;

use support::{Capture, load};

const BIN: &str = env!("CARGO_BIN_EXE_ipvsctl");

/// What a listing capture's kernel said: info, services, destinations.
struct Kernel {
    info: Option<Info>,
    services: Vec<Service>,
    one: Option<Service>,
    dests: HashMap<ServiceKey, Vec<Destination>>,
    replies: Vec<Reply>,
}

/// The sync daemons a capture's kernel replied with.
fn daemons_of(capture: &Capture) -> Vec<ipvs_proto::Daemon> {
    kernel_of(capture)
        .replies
        .into_iter()
        .filter_map(|r| match r {
            Reply::Daemon(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn kernel_of(capture: &Capture) -> Kernel {
    let mut k = Kernel {
        info: None,
        services: Vec::new(),
        one: None,
        dests: HashMap::new(),
        replies: Vec::new(),
    };
    for (request, replies) in capture.exchanges() {
        for reply in replies {
            match (&request, reply) {
                (_, Reply::Info(info)) => k.info = Some(info),
                (Request::GetServices, Reply::Service(s)) => k.services.push(s),
                (Request::GetService(_), Reply::Service(s)) => k.one = Some(s),
                (Request::GetDestinations(key), Reply::Destination(d)) => {
                    k.dests.entry(*key).or_default().push(d)
                }
                (_, other) => k.replies.push(other),
            }
        }
    }
    k
}

fn invocation(capture: &Capture) -> cli::Invocation {
    let argv = capture.argv();
    match cli::parse(&argv, false).unwrap_or_else(|e| panic!("{}: {e}", capture.name)) {
        Parsed::Run(inv) => *inv,
        other => panic!("{}: {other:?}", capture.name),
    }
}

fn entries(k: &Kernel) -> Vec<Entry> {
    k.services
        .iter()
        .map(|s| Entry {
            service: s.clone(),
            dests: k.dests.get(&s.key).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Every listing variant, formatted from the captured kernel replies, equals
/// ipvsadm's captured stdout byte for byte.
#[test]
fn listings_match_ipvsadm_byte_for_byte() {
    for name in [
        "02-list-empty.txt",
        "20-list-numeric.txt",
        "22-list-stats.txt",
        "23-list-rate.txt",
        "24-list-exact.txt",
        "25-list-thresholds.txt",
        "26-list-persistent-conn.txt",
        "27-list-tun-info.txt",
        "43-list-after-clear.txt",
    ] {
        let capture = load(name);
        let k = kernel_of(&capture);
        let inv = invocation(&capture);
        let text = format::listing(k.info.as_ref().expect("info"), entries(&k), inv.format);
        assert_eq!(text, capture.output, "{name}");
    }
}

#[test]
fn one_service_listing_matches() {
    let capture = load("21-list-one-svc.txt");
    let k = kernel_of(&capture);
    let inv = invocation(&capture);
    let service = k.one.clone().expect("GET_SERVICE reply");
    let dests = k.dests.get(&service.key).cloned().unwrap_or_default();
    let text = format::one_service(Entry { service, dests }, inv.format);
    assert_eq!(text, capture.output);
}

#[test]
fn save_keeps_thresholds_that_ipvsadm_drops() {
    let capture = load("20-list-numeric.txt");
    let k = kernel_of(&capture);
    let text = format::listing(
        k.info.as_ref().unwrap(),
        entries(&k),
        fmt::NUMERIC | fmt::RULE,
    );
    // 10.0.0.3 was added with -x 100 -y 10 (capture 05).
    assert!(
        text.contains("-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 1 -x 100 -y 10\n"),
        "{text}"
    );
    // Everything else is ipvsadm's own -S output.
    let save = load("28-save.txt");
    assert_eq!(
        invocation(&save).format | fmt::RULE,
        fmt::NUMERIC | fmt::RULE
    );
    let ipvsadm = save.output;
    assert_eq!(text.replace(" -x 100 -y 10", ""), ipvsadm);
}

#[test]
fn timeouts_and_daemons_match() {
    let capture = load("30-get-timeouts.txt");
    let k = kernel_of(&capture);
    let t = k
        .replies
        .iter()
        .find_map(|r| match r {
            Reply::Timeouts(t) => Some(*t),
            _ => None,
        })
        .expect("timeouts");
    let secs = |d: Option<std::time::Duration>| d.unwrap().as_secs() as u32;
    assert_eq!(
        format::timeouts(secs(t.tcp), secs(t.tcp_fin), secs(t.udp)),
        capture.output
    );

    let capture = load("34-daemon-list.txt");
    let daemons = daemons_of(&capture);
    assert_eq!(format::daemons(&daemons), capture.output);
}

/// The JSON document carries what the text listing shows.
#[test]
fn json_listing_carries_the_table() {
    let capture = load("20-list-numeric.txt");
    let k = kernel_of(&capture);
    let text = json::listing(k.info.as_ref(), entries(&k), fmt::NUMERIC);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["version"], "1.2.1");
    let services = doc["services"].as_array().unwrap();
    assert_eq!(services.len(), 8);
    let first = &services[0];
    assert_eq!(first["protocol"], "tcp");
    assert_eq!(first["address"], "10.0.0.1");
    assert_eq!(first["scheduler"], "wrr");
    assert_eq!(first["persistence_timeout"], 300);
    assert_eq!(first["netmask"], "255.255.255.0");
    let dests = first["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 5);
    assert_eq!(dests[1]["upper_threshold"], 100);
    assert_eq!(dests[3]["tunnel"]["type"], "gue");
    assert_eq!(dests[3]["tunnel"]["port"], 6080);
    assert_eq!(dests[3]["tunnel"]["checksum"], "checksum");
    assert_eq!(services[7]["fwmark"], 43);
    assert_eq!(services[7]["family"], "inet6");
}

/// A `--watch --json` frame is the `-L --json` document on one line, plus
/// `time` and `rates`.
#[test]
fn json_watch_lines_are_the_listing_plus_time() {
    let capture = load("20-list-numeric.txt");
    let k = kernel_of(&capture);
    let time = "2026-12-04T07:49:40.123Z";
    let line = json::listing_line(k.info.as_ref(), entries(&k), fmt::NUMERIC, time, "counters");
    assert!(line.ends_with('\n'));
    assert_eq!(line.matches('\n').count(), 1, "one line: {line}");
    assert!(
        line.starts_with(&format!("{{\"time\":\"{time}\",\"rates\":\"counters\",")),
        "{line}"
    );
    let mut doc: serde_json::Value = serde_json::from_str(&line).unwrap();
    let object = doc.as_object_mut().unwrap();
    object.remove("time");
    object.remove("rates");
    let listing: serde_json::Value =
        serde_json::from_str(&json::listing(k.info.as_ref(), entries(&k), fmt::NUMERIC)).unwrap();
    assert_eq!(doc, listing);
}

/// Every kind of `--json` document, byte for byte as recorded in
/// `tests/data/json/` (the schema of `docs/ipvsctl-json.md`): a whole listing
/// and one service from the captures, timeouts, daemons, and the values a
/// newer kernel may send.
#[test]
fn json_documents_match_the_recorded_bytes() {
    use std::time::Duration;

    use ipvs_proto::{
        AddressFamily, Daemon, DaemonState, Forwarding, Protocol, Stats, Timeouts, TunnelFlags,
        TunnelType,
    };

    let check = |file: &str, actual: String| {
        let path = support::data_dir().join("json").join(file);
        let expected =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(actual, expected, "{file}");
    };

    let k = kernel_of(&load("20-list-numeric.txt"));
    let json = json::listing(k.info.as_ref(), entries(&k), fmt::NUMERIC);
    check("listing.json", json);

    let k = kernel_of(&load("21-list-one-svc.txt"));
    let service = k.one.clone().expect("GET_SERVICE reply");
    let dests = k.dests.get(&service.key).cloned().unwrap_or_default();
    let json = json::listing(None, vec![Entry { service, dests }], fmt::NUMERIC);
    check("one-service.json", json);

    let k = kernel_of(&load("30-get-timeouts.txt"));
    let t = k.replies.iter().find_map(|r| match r {
        Reply::Timeouts(t) => Some(*t),
        _ => None,
    });
    check("timeouts.json", json::timeouts(&t.expect("timeouts")));
    // A timeout the kernel leaves out reads as 0, as ipvsadm prints it.
    let partial = Timeouts {
        tcp: Some(Duration::from_secs(7200)),
        ..Timeouts::default()
    };
    assert_eq!(
        json::timeouts(&partial),
        "{\n  \"schema\": 1,\n  \"tcp\": 7200,\n  \"tcp_fin\": 0,\n  \"udp\": 0\n}\n"
    );

    let mut daemons = daemons_of(&load("34-daemon-list.txt"));
    assert!(!daemons.is_empty(), "the capture lists a daemon");
    daemons.push(Daemon::new(DaemonState::Other(4), "eth1", 9));
    check("daemons.json", json::daemons(&daemons));
    assert_eq!(
        json::daemons(&[]),
        "{\n  \"schema\": 1,\n  \"daemons\": []\n}\n"
    );

    // Numbers this version does not name read "unknown", never an error;
    // and the forwarding methods the captures do not show.
    let odd = Service::new(
        ServiceKey::tuple(Protocol::Other(99), "10.0.0.9:53".parse().unwrap()),
        "rr",
    );
    let mut other_fwd = Destination::new("10.0.0.10:53".parse().unwrap(), Forwarding::Other(9), 1);
    other_fwd.stats = Some(Stats {
        connections: u64::MAX,
        bytes_in: 1 << 40,
        ..Stats::default()
    });
    let mut tunnel = Destination::new("10.0.0.11:53".parse().unwrap(), Forwarding::Tunnel, 2);
    tunnel.tunnel.kind = TunnelType::Other(7);
    tunnel.tunnel.flags = TunnelFlags::REMCSUM | TunnelFlags::CSUM;
    let local = Destination::new("10.0.0.12:53".parse().unwrap(), Forwarding::Local, 3);
    let bypass = Destination::new("10.0.0.13:53".parse().unwrap(), Forwarding::Bypass, 4);
    let fwmark = Service::new(ServiceKey::fwmark(AddressFamily::Other(7), 12), "wlc");
    let entries = vec![
        Entry {
            service: odd,
            dests: vec![other_fwd, tunnel, local, bypass],
        },
        Entry {
            service: fwmark,
            dests: Vec::new(),
        },
    ];
    check(
        "rare-values.json",
        json::listing(None, entries, fmt::NUMERIC | fmt::NOSORT),
    );
}

/// The message body (generic-netlink header and attributes) of a request.
fn body(request: &Request) -> Vec<u8> {
    let message = request.to_message();
    let mut bytes = vec![u8::from(message.cmd), 1, 0, 0];
    let start = bytes.len();
    bytes.resize(start + message.buffer_len(), 0);
    message.emit(&mut bytes[start..]);
    bytes
}

/// A host name (`localhost`, from `/etc/hosts`) gives the request, byte for
/// byte, of the numeric address, as in ipvsadm; in `-R` too (`--dry-run`
/// accepts it). Port names (`http`) are checked against ipvsadm in the kernel
/// lab, whose `/etc/services` is known.
#[test]
fn host_names_give_the_numeric_request() {
    let request = |line: &str| {
        let argv: Vec<&str> = std::iter::once("ipvsadm").chain(line.split(' ')).collect();
        let Ok(Parsed::Run(inv)) = cli::parse(&argv, false) else {
            panic!("`{line}` refused")
        };
        body(&request::change(&inv).expect("a changing command"))
    };
    for (named, numeric) in [
        ("-A -t localhost:80 -s rr", "-A -t 127.0.0.1:80 -s rr"),
        (
            "-a -t localhost:80 -r localhost:8080 -m -w 2",
            "-a -t 127.0.0.1:80 -r 127.0.0.1:8080 -m -w 2",
        ),
        ("-D -u localhost:53", "-D -u 127.0.0.1:53"),
        (
            "-A -t localhost:80 -p -M localhost",
            "-A -t 127.0.0.1:80 -p -M 127.0.0.1",
        ),
    ] {
        assert_eq!(request(named), request(numeric), "`{named}`");
    }
    let (status, _, stderr) = restore(
        &["-R", "--dry-run"],
        "-A -t localhost:80 -s rr\n-a -t localhost:80 -r localhost:81 -m\n",
    );
    assert!(passes_line_check(status, &stderr), "{status:?} {stderr}");
    let (status, _, stderr) = restore(&["-R", "--dry-run"], "-A -t no-such-host.invalid:80\n");
    assert_eq!(status, Some(2));
    assert_eq!(
        stderr,
        "line 1: illegal virtual server address[:port] specified\n"
    );
}

/// For every changing command ipvsadm ran, ipvsctl's command line builds the
/// request ipvsadm sent, byte for byte.
#[test]
fn requests_match_what_ipvsadm_sent() {
    for name in [
        "03-add-svc-tcp-wrr.txt",
        "04-add-dst-masq-w3.txt",
        "07-add-dst-gue.txt",
        "10-edit-svc-persist-mask.txt",
        "12-add-svc-sh-flags.txt",
        "14-add-svc-udp-pe-sip.txt",
        "16-add-dst-fwmark.txt",
        "17-add-svc-fwmark-v6.txt",
        "19-add-dst-ipv6.txt",
        "29-set-timeouts.txt",
        "31-zero-svc.txt",
        "32-zero-all.txt",
        "33-daemon-start-master.txt",
        "35-daemon-stop-master.txt",
        "36-del-dst.txt",
        "37-del-svc.txt",
        "38-err-add-dup-svc.txt",
        "39-err-del-missing-svc.txt",
        "40-err-bad-scheduler.txt",
        "41-err-del-missing-dst.txt",
    ] {
        let capture = load(name);
        let inv = invocation(&capture);
        let mine = request::change(&inv).unwrap_or_else(|| panic!("{name}: no request"));
        let (theirs, message) = capture.requests().pop().expect("a request");
        assert_eq!(mine, theirs, "{name}");
        assert_eq!(body(&mine), message.bytes[16..].to_vec(), "{name}");
    }
}

/// Kernel refusals are reported with ipvsadm's words.
#[test]
fn kernel_errors_use_ipvsadm_texts() {
    for name in [
        "38-err-add-dup-svc.txt",
        "39-err-del-missing-svc.txt",
        "40-err-bad-scheduler.txt",
        "41-err-del-missing-dst.txt",
    ] {
        let capture = load(name);
        let (request, _) = capture.requests().pop().unwrap();
        let errno = -capture.errors.last().copied().expect("an error");
        let err = ipvs_proto::Error::Kernel(ipvs_proto::KernelError {
            errno,
            command: request.command(),
        });
        assert_eq!(
            format!("{}\n", app::error_text(&err)),
            capture.output,
            "{name}"
        );
        assert_eq!(capture.status, 255);
    }
}

/// At least 50 malformed command lines: each is refused with ipvsadm's exact
/// text and exit status, before any kernel is asked (this host has no IPVS,
/// so a command that got that far would say so instead).
#[test]
fn bad_input_matrix() {
    let cases = support::bad_input_cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    for case in cases {
        let out = Command::new(BIN).args(&case.args).output().unwrap();
        let expected = case.stderr.replace("{prog}", BIN);
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned()
            ),
            (Some(case.status), expected),
            "ipvsctl {:?}",
            case.args
        );
        assert!(out.stdout.is_empty());
    }
}

fn restore(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    support::spawn(BIN, args, Some(input))
}

/// A `-R --dry-run` whose lines all pass the line check: it then checks them
/// against the live table, which on a host without IPVS ends at the
/// connection (success on a host with IPVS and an empty table).
fn passes_line_check(status: Option<i32>, stderr: &str) -> bool {
    (status, stderr) == (Some(0), "")
        || (status == Some(2) && stderr.starts_with("Can't initialize ipvs: "))
}

/// `-R` reports every bad line with its number and stops before talking to
/// the kernel.
#[test]
fn restore_reports_every_bad_line() {
    let input = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 99999999999
# a comment
ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1

-A -u 10.0.0.1:53 -o -p 0
-L -n
-a -t 10.0.0.1:80 -r 10.0.0.4:80 -m --tun-type gre
-A --bogus
";
    let (status, stdout, stderr) = restore(&["-R"], input);
    assert_eq!(
        stderr,
        "line 2: illegal weight specified\n\
         line 6: invalid timeout value `0' specified\n\
         line 7: the 'list' command cannot be restored\n\
         line 8: Tunnel options conflict with forward method\n\
         line 9: --bogus: unknown option\n"
    );
    assert_eq!(status, Some(2));
    assert!(stdout.is_empty());
    // Lines that pass: checked against the live table next, nothing sent.
    let (status, _, stderr) = restore(&["-R", "--dry-run"], "-A -t 10.0.0.1:80\n-C\n");
    assert!(passes_line_check(status, &stderr), "{status:?} {stderr}");
    let (status, _, stderr) = restore(&["-R", "--dry-run"], "-R\n");
    assert_eq!(status, Some(255));
    assert_eq!(
        stderr,
        format!("line 1: Try `{BIN} -h' or '{BIN} --help' for more information.\n")
    );
}

/// Without IPVS in the kernel (as on this host), commands that reach the
/// kernel fail with one clear line.
#[test]
fn missing_ipvs_is_one_clear_line() {
    let out = Command::new(BIN).args(["-Ln"]).output().unwrap();
    if out.status.success() {
        return; // a host with IPVS: nothing to check here
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("Can't initialize ipvs: "), "{stderr}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_and_version() {
    let out = Command::new(BIN).arg("-h").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{BIN} --set tcp tcpfin udp")));
    let out = Command::new(BIN).args(["-v", "extra"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ipvsadm v1.31 compatible"));
}

/// The systemd unit only calls `ipvsctl service start|save|stop`; a missing
/// or bad file is one line naming it, status 2, before IPVS is asked.
#[test]
fn the_unit_calls_the_service_commands_and_bad_files_are_one_line() {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/ipvsctl.service"),
    )
    .unwrap();
    let exec = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} missing"))
            .to_string()
    };
    assert_eq!(exec("ExecStart"), "/usr/sbin/ipvsctl service start");
    assert_eq!(exec("ExecReload"), "/usr/sbin/ipvsctl service save");
    assert_eq!(exec("ExecStop"), "/usr/sbin/ipvsctl service stop");
    assert_eq!(exec("Type"), "oneshot");
    assert_eq!(exec("RemainAfterExit"), "yes");
    // systemd itself accepts it (with the commands pointed at this build).
    let dir = std::env::temp_dir().join(format!("ipvsctl-systemd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("ipvsctl.service");
    std::fs::write(&copy, unit.replace("/usr/sbin/ipvsctl", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect(
            "systemd-analyze is not installed: Debian's systemd package has it (CI installs it)",
        );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let root = std::env::temp_dir().join(format!("ipvsctl-unit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("etc/default")).unwrap();
    let root_arg = root.to_str().unwrap();
    let service = |args: &[&str]| {
        let mut all = vec!["service"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--root", root_arg]);
        support::spawn(BIN, &all, None)
    };
    // No rules yet: start fails naming the file.
    let (status, stdout, stderr) = service(&["start"]);
    assert_eq!(status, Some(2));
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("ipvsctl service: {root_arg}/etc/ipvsadm.rules: ")),
        "{stderr}"
    );
    // A bad rules file: its first bad line, named.
    std::fs::write(
        root.join("etc/ipvsadm.rules"),
        "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w x\n-a -t 10.0.0.1:80 -r 10.0.0.3 -w y\n",
    )
    .unwrap();
    let (status, _, stderr) = service(&["start"]);
    assert_eq!(status, Some(2));
    assert_eq!(
        stderr,
        format!(
            "ipvsctl service: {root_arg}/etc/ipvsadm.rules: line 2: illegal weight specified (and 1 more bad lines); the table is left as it was\n"
        )
    );
    // A bad settings file: named with its line.
    std::fs::write(
        root.join("etc/default/ipvsadm"),
        "AUTO=true\nDAEMON=primary\n",
    )
    .unwrap();
    let (status, _, stderr) = service(&["stop"]);
    assert_eq!(status, Some(2));
    assert_eq!(
        stderr,
        format!(
            "ipvsctl service: {root_arg}/etc/default/ipvsadm: DAEMON=\"primary\": expected master, backup or none\n"
        )
    );
    // Nothing to do at stop without save-on-stop or a daemon.
    std::fs::write(root.join("etc/default/ipvsadm"), "AUTO=false\n").unwrap();
    assert_eq!(service(&["stop"]), (Some(0), String::new(), String::new()));
    // AUTO=false: start restores nothing, so even a bad file is not read.
    assert_eq!(service(&["start"]), (Some(0), String::new(), String::new()));
    let (status, _, stderr) = service(&["restart"]);
    assert_eq!(status, Some(2), "{stderr}");
    let (status, _, stderr) = service(&["start", "--config-style", "suse"]);
    assert_eq!(status, Some(2));
    assert!(
        stderr.contains("--config-style takes redhat or debian"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
