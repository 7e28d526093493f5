//! `--metrics`: a live session over a pty, scraped over loopback HTTP while
//! frames flow: the values equal the last frame, the counters only grow, and
//! `promtool check metrics` (Debian's prometheus package) finds nothing wrong.
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{pty, wait_for, wait_with_timeout};

const SEED: [&str; 4] = [
    "S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42422Am:  46481Wa:     31Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42422Am:  46481Wa:     31Wh:   5051Pf:  59971Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42432Am:  46461Wa:     41Wh:   5041Pf:  59971Hz:     01Kg:     01Eu  E",
];

/// `GET /metrics` over a fresh connection: status line and body.
fn get(addr: &str, request: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn scrape(addr: &str) -> String {
    let (status, body) = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    body
}

/// The samples: series (name and labels) to value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; cargo xtask ci installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {out:?}\n{text}"
    );
}

#[test]
fn metrics_follow_the_frames_and_pass_promtool() {
    let mut meter = pty();
    let device = meter.path.display().to_string();
    let mut com = Command::new(env!("CARGO_BIN_EXE_com"))
        .arg(&meter.path)
        .args(["--no-input", "--metrics", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(com.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no metrics line");
        if let Some(rest) = line.trim().strip_prefix("com: metrics at http://") {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };
    let series = |name: &str, extra: &str| format!("{name}{{device=\"{device}\"{extra}}}");
    let frames = |result: &str| series("hpm_frames_total", &format!(",result=\"{result}\""));

    // Before any frame: the counters are there at zero.
    let first = samples(&scrape(&addr));
    assert_eq!(first[&frames("ok")], 0.0);

    let mut history = vec![first];
    let mut send_and_wait = |bytes: &str, result: &str, count: f64| {
        meter.master.write_all(bytes.as_bytes()).unwrap();
        let mut text = String::new();
        wait_for(
            &format!("{result} = {count}"),
            Duration::from_secs(10),
            || {
                text = scrape(&addr);
                samples(&text).get(&frames(result)) == Some(&count)
            },
        );
        promtool_check(&text);
        let now = samples(&text);
        // Counters only grow.
        let before = history.last().unwrap();
        for (k, v) in &now {
            if k.starts_with("hpm_frames_total") || k.starts_with("hpm_energy_joules_total") {
                assert!(v >= &before[k], "{k} went from {} to {v}", before[k]);
            }
        }
        history.push(now.clone());
        now
    };

    let s = send_and_wait(&format!("{}\r\n", SEED[0]), "ok", 1.0);
    assert_eq!(s[&series("hpm_voltage_volts", "")], 216.9);
    assert_eq!(s[&series("hpm_current_amperes", "")], 42.41);
    assert_eq!(s[&series("hpm_power_watts", "")], 4646.0);
    assert_eq!(s[&series("hpm_power_factor", "")], 0.505);
    assert_eq!(s[&series("hpm_frequency_hertz", "")], 59.98);
    assert_eq!(s[&series("hpm_energy_joules_total", "")], 2.0 * 3600.0);
    let stamp = s[&series("hpm_last_frame_timestamp_seconds", "")];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - stamp).abs() < 30.0, "{stamp} vs {now}");

    // A lost digit: damaged, the values stay.
    let s = send_and_wait(
        &format!("{}\r\n", SEED[1].replacen("21693Vo", "2169Vo", 1)),
        "damaged",
        1.0,
    );
    assert_eq!(s[&series("hpm_current_amperes", "")], 42.41);
    // Power that disagrees with V x A x PF: suspect, the values stay.
    let s = send_and_wait(
        &format!("{}\r\n", SEED[2].replacen("46481Wa", "50001Wa", 1)),
        "suspect",
        1.0,
    );
    assert_eq!(s[&series("hpm_power_watts", "")], 4646.0);
    // The next good frames: the values are the last one's.
    let s = send_and_wait(&format!("{}\r\n{}\r\n", SEED[1], SEED[3]), "ok", 3.0);
    assert_eq!(s[&series("hpm_current_amperes", "")], 42.43);
    assert_eq!(s[&series("hpm_power_factor", "")], 0.504);
    assert_eq!(s[&series("hpm_frequency_hertz", "")], 59.97);
    assert_eq!(s[&series("hpm_energy_joules_total", "")], 4.0 * 3600.0);
    assert!(s[&series("hpm_last_frame_timestamp_seconds", "")] >= stamp);

    // Only /metrics, only GET; OpenMetrics when asked for.
    assert_eq!(
        get(&addr, "GET / HTTP/1.1\r\n\r\n").0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        get(&addr, "DELETE /metrics HTTP/1.1\r\n\r\n").0,
        "HTTP/1.1 405 Method Not Allowed"
    );
    let (status, body) = get(
        &addr,
        "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text; version=1.0.0\r\n\r\n",
    );
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.ends_with("# EOF\n"), "{body}");
    // A request head without end is cut off at 8 KiB.
    let (status, _) = get(
        &addr,
        &format!("GET /metrics HTTP/1.1\r\nX: {}", "a".repeat(9000)),
    );
    assert_eq!(status, "HTTP/1.1 431 Request Header Fields Too Large");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(com.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = wait_with_timeout(&mut com, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143));
}

#[test]
fn a_taken_address_is_refused_before_the_session() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let meter = pty();
    let out = Command::new(env!("CARGO_BIN_EXE_com"))
        .arg(&meter.path)
        .args(["--no-input", "--metrics", &addr])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("--metrics: cannot listen on {addr}")),
        "{err}"
    );
}
