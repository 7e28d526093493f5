//! The five examples (`examples/`) against a real IPVS kernel, with the real
//! `ipvsadm -Ln` as the oracle.
//!
//! Each test takes a fresh network namespace, runs the example binaries in it
//! (the kernel lab builds them and names their directory in
//! `KERNEL_LAB_EXAMPLES`; `[package.metadata.kernel-lab] examples = true` in
//! this package's manifest asks for that), and compares what `ipvsadm -Ln`
//! (and `-Ln --stats --exact`) then shows, or what the example printed, with
//! what the example was asked to do. Run with
//! `cargo xtask kernel-lab -p ipvs-proto --test kernel_examples`.
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/netns.rs"]
mod netns;

use netns::run;

const NEEDS_LAB: &str = "needs an IPVS kernel: cargo xtask kernel-lab";

/// A fresh namespace with `lo` up and all of 10.0.0.0/8 local (so that the
/// virtual and real addresses below can be bound and connected to); the
/// table is flushed when it is dropped, also after a failed assertion.
#[must_use]
struct Namespace;

impl Namespace {
    fn enter() -> Self {
        netns::enter_fresh_netns();
        run("ip", &["addr", "add", "10.0.0.1/8", "dev", "lo"]);
        Namespace
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ipvsadm").arg("-C").status();
    }
}

/// The example binary `name`, from the directory the lab names.
fn example(name: &str) -> Command {
    let dir = std::env::var_os("KERNEL_LAB_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("KERNEL_LAB_EXAMPLES is not set: {NEEDS_LAB}"));
    let path = dir.join(name);
    assert!(path.is_file(), "{} is missing", path.display());
    let mut command = Command::new(path);
    command.stdin(Stdio::null());
    command
}

/// Runs an example with `args` to its end.
fn run_example(name: &str, args: &[&str]) -> Output {
    example(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run example {name}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// The lines of `ipvsadm` output after its three header lines, each with its
/// runs of blanks made one space: service lines each with the set of their
/// destination lines (`-> ...`).
fn table(output: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut services: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in output.lines().skip(3) {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.starts_with("->") {
            let Some(dests) = current.as_ref().and_then(|s| services.get_mut(s)) else {
                panic!("destination before any service:\n{output}");
            };
            dests.insert(line);
        } else if !line.is_empty() {
            services.insert(line.clone(), BTreeSet::new());
            current = Some(line);
        }
    }
    services
}

/// What `ipvsadm -Ln` shows.
fn ipvsadm_table() -> BTreeMap<String, BTreeSet<String>> {
    table(&run("ipvsadm", &["-Ln"]))
}

/// `expected` in the shape of [`table`]: each service line with its
/// destination lines.
fn expect(expected: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    expected
        .iter()
        .map(|(service, dests)| {
            (
                (*service).to_owned(),
                dests.iter().map(|d| (*d).to_owned()).collect(),
            )
        })
        .collect()
}

/// Checks that `output` ended with `code` and printed `stdout` / `stderr`
/// (whole texts).
fn assert_output(output: &Output, code: i32, stdout: &str, stderr: &str) {
    assert_eq!(
        (
            output.status.code(),
            text(&output.stdout).as_str(),
            text(&output.stderr).as_str()
        ),
        (Some(code), stdout, stderr),
        "exit status, stdout, stderr"
    );
}

/// A real server: a listener the kernel completes handshakes for (no
/// accept needed; the connections wait in its backlog, idle).
fn real_server(address: &str) -> TcpListener {
    TcpListener::bind(address).unwrap_or_else(|e| panic!("bind {address}: {e}"))
}

/// `count` connections to `vip` through IPVS, established and kept open
/// (idle: no packet flows after the handshake, so counters stay put).
fn connect(vip: &str, count: usize) -> Vec<TcpStream> {
    let vip: SocketAddr = vip.parse().expect("address");
    (0..count)
        .map(|_| {
            TcpStream::connect_timeout(&vip, Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("connect to {vip}: {e}"))
        })
        .collect()
}

/// The counters `ipvsadm -Ln --stats --exact` shows per line (services and
/// destinations): conns, inpkts, outpkts, inbytes, outbytes, by the line's
/// address (`TCP 10.0.0.1:80`, `-> 10.0.1.2:80`).
fn ipvsadm_stats() -> BTreeMap<String, [u64; 5]> {
    let output = run("ipvsadm", &["-Ln", "--stats", "--exact"]);
    output
        .lines()
        .skip(3)
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let (name, numbers) = words.split_at(words.len() - 5);
            let numbers: Vec<u64> = numbers
                .iter()
                .map(|n| n.parse().unwrap_or_else(|_| panic!("a counter: {line}")))
                .collect();
            (name.join(" "), numbers.try_into().expect("five counters"))
        })
        .collect()
}

/// [`ipvsadm_stats`] once the kernel's totals include every packet sent so
/// far: the kernel adds its per-CPU counters into the totals it reports on
/// the estimator's tick, every 2 s (6.1), so this waits until `key` shows
/// `connections`, then one tick more (the last handshake's packets may have
/// been counted after the connection was).
fn settled_stats(key: &str, connections: u64) -> BTreeMap<String, [u64; 5]> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = ipvsadm_stats();
        if stats[key][0] == connections {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ipvsadm still shows {:?} for {key}, not {connections} connections",
            stats[key]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(2200));
    ipvsadm_stats()
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn add_service_adds_what_ipvsadm_lists() {
    let _ns = Namespace::enter();
    let added = run_example("add_service", &["10.0.0.1:80", "wrr", "300"]);
    assert_output(&added, 0, "added TCP 10.0.0.1:80 (wrr)\n", "");
    let added = run_example("add_service", &["[2001:db8::1]:443", "sh"]);
    assert_output(&added, 0, "added TCP [2001:db8::1]:443 (sh)\n", "");
    let added = run_example("add_service", &["10.0.0.2:8080"]);
    assert_output(&added, 0, "added TCP 10.0.0.2:8080 (wlc)\n", "");
    let expected = expect(&[
        ("TCP 10.0.0.1:80 wrr persistent 300", &[]),
        ("TCP [2001:db8::1]:443 sh", &[]),
        ("TCP 10.0.0.2:8080 wlc", &[]),
    ]);
    assert_eq!(ipvsadm_table(), expected);

    // Refusals: the kernel's, in ipvsadm's words, and the example's own;
    // neither changes the table.
    let again = run_example("add_service", &["10.0.0.1:80", "rr"]);
    assert_output(&again, 1, "", "add_service: Service already exists\n");
    let unknown = run_example("add_service", &["10.0.0.3:80", "nosuch"]);
    assert_output(
        &unknown,
        1,
        "",
        "add_service: Scheduler or persistence engine not found\n",
    );
    let usage = run_example("add_service", &["10.0.0.3"]);
    assert_output(
        &usage,
        2,
        "",
        "usage: add_service VIP:PORT [SCHEDULER [PERSISTENCE_SECONDS]]\n",
    );
    assert_eq!(ipvsadm_table(), expected);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn add_destination_adds_what_ipvsadm_lists() {
    let _ns = Namespace::enter();
    run("ipvsadm", &["-A", "-t", "10.0.0.1:80", "-s", "rr"]);
    for (args, printed) in [
        (
            ["10.0.0.1:80", "10.0.1.2:80", "masq", "3"],
            "TCP 10.0.0.1:80: added 10.0.1.2:80 (Masq, weight 3)\n",
        ),
        (
            ["10.0.0.1:80", "10.0.1.3:80", "route", "0"],
            "TCP 10.0.0.1:80: added 10.0.1.3:80 (Route, weight 0)\n",
        ),
        (
            ["10.0.0.1:80", "10.0.1.4:80", "tunnel", "7"],
            "TCP 10.0.0.1:80: added 10.0.1.4:80 (Tunnel, weight 7)\n",
        ),
    ] {
        assert_output(&run_example("add_destination", &args), 0, printed, "");
    }
    let added = run_example("add_destination", &["10.0.0.1:80", "10.0.1.5:80"]);
    assert_output(
        &added,
        0,
        "TCP 10.0.0.1:80: added 10.0.1.5:80 (Masq, weight 1)\n",
        "",
    );
    let expected = expect(&[(
        "TCP 10.0.0.1:80 rr",
        &[
            "-> 10.0.1.2:80 Masq 3 0 0",
            "-> 10.0.1.3:80 Route 0 0 0",
            "-> 10.0.1.4:80 Tunnel 7 0 0",
            "-> 10.0.1.5:80 Masq 1 0 0",
        ],
    )]);
    assert_eq!(ipvsadm_table(), expected);

    let again = run_example(
        "add_destination",
        &["10.0.0.1:80", "10.0.1.2:80", "masq", "5"],
    );
    assert_output(
        &again,
        1,
        "",
        "add_destination: Destination already exists\n",
    );
    let no_service = run_example("add_destination", &["10.0.0.9:80", "10.0.1.2:80"]);
    assert_output(&no_service, 1, "", "add_destination: Service not defined\n");
    let usage = run_example("add_destination", &["10.0.0.1:80", "10.0.1.6:80", "nat"]);
    assert_output(
        &usage,
        2,
        "",
        "usage: add_destination VIP:PORT REAL:PORT [masq|route|tunnel [WEIGHT]]\n",
    );
    assert_eq!(ipvsadm_table(), expected);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn list_shows_what_ipvsadm_lists() {
    let _ns = Namespace::enter();
    for rule in [
        "-A -t 10.0.0.1:80 -s wrr",
        "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 3",
        "-a -t 10.0.0.1:80 -r 10.0.1.3:80 -m -w 0",
        "-A -u 10.0.0.2:53 -s rr",
        "-a -u 10.0.0.2:53 -r 10.0.2.2:53 -g -w 2",
        "-A -f 7 -s sh",
        "-A -t [2001:db8::1]:443 -s lc",
        "-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -i -w 4",
    ] {
        let args: Vec<&str> = rule.split(' ').collect();
        run("ipvsadm", &args);
    }
    // Three connections through the first service, all to the one real
    // server with a weight (wrr skips weight 0), kept open.
    let _server = real_server("10.0.1.2:80");
    let _streams = connect("10.0.0.1:80", 3);
    let stats = settled_stats("TCP 10.0.0.1:80", 3);

    let listed = run_example("list", &[]);
    assert_eq!(
        (listed.status.code(), text(&listed.stderr).as_str()),
        (Some(0), ""),
        "list failed"
    );
    let stdout = text(&listed.stdout);
    let lines: Vec<&str> = stdout.lines().collect();

    // The header: version and table size, as ipvsadm's first line says them.
    let header = run("ipvsadm", &["-Ln"]);
    let first = header.lines().next().expect("ipvsadm's header");
    let (version, size) = first
        .strip_prefix("IP Virtual Server version ")
        .and_then(|rest| rest.strip_suffix(")"))
        .and_then(|rest| rest.split_once(" (size="))
        .unwrap_or_else(|| panic!("ipvsadm's header: {first}"));
    assert_eq!(
        lines.first().copied(),
        Some(format!("IPVS {version} (connection table {size} entries)").as_str())
    );

    // The table, rebuilt in ipvsadm's words from what the example printed,
    // equals ipvsadm's; the counters equal ipvsadm's exact ones (settled
    // before the example ran; idle connections change them no more).
    assert_eq!(ipvsadm_stats(), stats);
    let mut shown: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current = String::new();
    let mut counted = 0;
    for line in &lines[1..] {
        let words: Vec<&str> = line.split_whitespace().collect();
        let number = |prefix: &str| -> u64 {
            let word = words
                .iter()
                .find_map(|w| w.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in: {line}"));
            word.trim_end_matches('B')
                .parse()
                .unwrap_or_else(|_| panic!("{prefix}{word}: {line}"))
        };
        if words.first() == Some(&"->") {
            // -> ADDRESS FORWARDING weight W active A inactive I conns= in= out=
            let [
                _,
                address,
                forwarding,
                "weight",
                weight,
                "active",
                active,
                "inactive",
                inactive,
                ..,
            ] = words[..]
            else {
                panic!("a destination line: {line}");
            };
            let Some(dests) = shown.get_mut(&current) else {
                panic!("destination before any service: {line}");
            };
            dests.insert(format!(
                "-> {address} {forwarding} {weight} {active} {inactive}"
            ));
            let oracle = stats[&format!("-> {address}")];
            assert_eq!(
                [number("conns="), number("in="), number("out=")],
                [oracle[0], oracle[3], oracle[4]],
                "{line}"
            );
        } else {
            // KEY SCHEDULER conns= pkts_in= pkts_out= in= out=
            let at = words
                .iter()
                .position(|w| w.starts_with("conns="))
                .unwrap_or_else(|| panic!("a service line: {line}"));
            let key = words[..at - 1].join(" ");
            current = format!("{key} {}", words[at - 1]);
            shown.insert(current.clone(), BTreeSet::new());
            // ipvsadm names a firewall-mark service "FWM  7" and the
            // example "FWM 7": the same after blanks are made one.
            let oracle = stats[&key];
            let numbers = [
                number("conns="),
                number("pkts_in="),
                number("pkts_out="),
                number("in="),
                number("out="),
            ];
            assert_eq!(numbers, oracle, "{line}");
            counted += numbers[0];
        }
    }
    assert_eq!(shown, table(&header));
    assert_eq!(shown.len(), 4, "{stdout}");
    assert_eq!(counted, 3, "the three connections, counted once");
}

/// One line of the watch example: the service, then per counter its name,
/// total and (from the second reading) rate.
fn watch_line(line: &str) -> (String, Vec<(String, u64, Option<f64>)>) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "connections")
        .unwrap_or_else(|| panic!("a watch line: {line}"));
    let mut counters = Vec::new();
    let mut rest = &words[at..];
    while let [name, total, tail @ ..] = rest {
        let total = total.parse().unwrap_or_else(|_| panic!("a total: {line}"));
        let (rate, tail) = match tail {
            [rate, tail @ ..] if rate.starts_with('(') => (
                Some(
                    rate.trim_start_matches('(')
                        .trim_end_matches("/s)")
                        .parse()
                        .unwrap_or_else(|_| panic!("a rate: {line}")),
                ),
                tail,
            ),
            _ => (None, tail),
        };
        counters.push(((*name).to_owned(), total, rate));
        rest = tail;
    }
    (words[..at].join(" "), counters)
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn watch_follows_the_counters_ipvsadm_shows() {
    let _ns = Namespace::enter();
    run("ipvsadm", &["-A", "-t", "10.0.0.1:80", "-s", "rr"]);
    run(
        "ipvsadm",
        &["-a", "-t", "10.0.0.1:80", "-r", "10.0.1.2:80", "-m"],
    );
    let _server = real_server("10.0.1.2:80");

    let mut child = example("watch")
        .arg("8")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("could not run example watch");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || {
        lines
            .next()
            .expect("watch ended early")
            .expect("reading watch's output")
    };
    // The first reading, before any traffic: every total 0, no rate.
    let (key, first) = watch_line(&next());
    assert_eq!(key, "TCP 10.0.0.1:80");
    assert!(
        first
            .iter()
            .all(|(_, total, rate)| *total == 0 && rate.is_none()),
        "{first:?}"
    );
    // Five connections after it, kept open; the counters then settle
    // (`settled_stats`) and stay put.
    let streams = connect("10.0.0.1:80", 5);
    let oracle = settled_stats("TCP 10.0.0.1:80", 5)["TCP 10.0.0.1:80"];

    let mut before = first;
    let mut readings = Vec::new();
    for _ in 0..7 {
        let (key, counters) = watch_line(&next());
        assert_eq!(key, "TCP 10.0.0.1:80");
        readings.push(counters.clone());
        // Each rate is the increase over the reading's interval: at least
        // one second (the example sleeps that long), at most four (a
        // reading takes milliseconds; the margin is for a loaded host).
        for ((name, total, rate), (_, was, _)) in counters.iter().zip(&before) {
            let delta = total - was;
            let rate = rate.unwrap_or_else(|| panic!("no rate for {name}"));
            assert!(
                rate <= delta as f64 + 0.05 && rate >= delta as f64 / 4.0 - 0.05,
                "{name}: rate {rate}/s for an increase of {delta}"
            );
        }
        before = counters;
    }
    let status = child.wait().expect("watch");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("watch's stderr");
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
    // The last reading (7 s after the first; the counters settled within
    // about 4 s of it) has ipvsadm's totals, in its order (conns, inpkts,
    // outpkts, inbytes, outbytes), and the connections show up as a rate in
    // some interval.
    let last = readings.last().expect("seven readings");
    let totals: Vec<u64> = last.iter().map(|(_, total, _)| *total).collect();
    assert_eq!(totals, oracle, "{last:?}");
    let names: Vec<&str> = last.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "connections",
            "packets-in",
            "packets-out",
            "bytes-in",
            "bytes-out"
        ]
    );
    assert!(
        readings
            .iter()
            .any(|r| r[0].2.is_some_and(|rate| rate > 0.0)),
        "{readings:?}"
    );
    drop(streams);
}

/// Feeds `input` to the restore example.
fn restore(input: &str) -> Output {
    let mut child = example("restore")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("could not run example restore");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writing to restore");
    child.wait_with_output().expect("restore")
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn restore_applies_the_batch_ipvsadm_then_lists() {
    let _ns = Namespace::enter();
    let batch = "\
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 3
-a -t 10.0.0.1:80 -r 10.0.1.3:80 -i -w 2

-A -t 10.0.0.2:443 -s rr
-a -t 10.0.0.2:443 -r 10.0.1.4:443 -g
";
    assert_output(&restore(batch), 0, "5 rule(s), 0 refused\n", "");
    let mut expected = expect(&[
        (
            "TCP 10.0.0.1:80 wrr",
            &["-> 10.0.1.2:80 Masq 3 0 0", "-> 10.0.1.3:80 Tunnel 2 0 0"],
        ),
        ("TCP 10.0.0.2:443 rr", &["-> 10.0.1.4:443 Route 1 0 0"]),
    ]);
    assert_eq!(ipvsadm_table(), expected);

    // A refused request is reported with its line; the others still apply.
    let partly = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.5:80 -m
-a -t 10.0.0.9:80 -r 10.0.1.6:80 -m
";
    assert_output(
        &restore(partly),
        1,
        "3 rule(s), 2 refused\n",
        "restore: line 1: Service already exists\nrestore: line 3: Service not defined\n",
    );
    expected
        .get_mut("TCP 10.0.0.1:80 wrr")
        .expect("the first service")
        .insert("-> 10.0.1.5:80 Masq 1 0 0".to_owned());
    assert_eq!(ipvsadm_table(), expected);

    // A line the example cannot read: nothing is sent.
    let wrong = "-A -t 10.0.0.3:80 -s rr\n-a -t 10.0.0.3:80 -r nowhere -m\n";
    assert_output(
        &restore(wrong),
        2,
        "",
        "restore: line 2: nowhere: not ADDRESS:PORT\n",
    );
    assert_eq!(ipvsadm_table(), expected);
}
