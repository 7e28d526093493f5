//! Kernel-lab suite: ipvsctl on a live NAT cluster with real HTTP traffic
//! (`cargo xtask kernel-lab -p ipvsctl --test kernel_cluster`). Each test
//! builds its own cluster of namespaces (`support/cluster.rs`): a client
//! looping requests through the director to two busybox httpd servers while
//! restores are refused, files applied, servers drained and rates watched.

#[path = "support/cluster.rs"]
mod cluster;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster::{Cluster, RS, VIP};

const BIN: &str = env!("CARGO_BIN_EXE_ipvsctl");

/// The kernel publishes counters on its 2-second estimator tick.
const TICK: Duration = Duration::from_millis(2500);

fn svc() -> String {
    format!("{VIP}:80")
}

/// A NAT service on the VIP with both real servers, weight 1.
fn nat_service(c: &Cluster) {
    c.exec("dir", "ipvsadm", &["-A", "-t", &svc(), "-s", "rr"]);
    for rs in RS {
        c.exec(
            "dir",
            "ipvsadm",
            &[
                "-a",
                "-t",
                &svc(),
                "-r",
                &format!("{rs}:80"),
                "-m",
                "-w",
                "1",
            ],
        );
    }
    let pages: Vec<String> = (0..2).map(|_| c.request().expect("request")).collect();
    assert!(
        pages.contains(&"rs1".to_string()) && pages.contains(&"rs2".to_string()),
        "{pages:?}"
    );
}

/// `ipvsctl ARGS` in the director, with `input` on stdin: status, stdout,
/// stderr.
fn ipvsctl(c: &Cluster, args: &[&str], input: Option<&str>) -> (Option<i32>, String, String) {
    let out = c.output("dir", BIN, args, input);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn save(c: &Cluster) -> String {
    c.exec("dir", "ipvsadm", &["-S", "-n"])
}

/// The lines of a table, sorted (the kernel's order is its hash's).
fn sorted(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort();
    lines
}

/// Connection counter of every service and destination line of
/// `-Ln --stats --exact`.
fn conn_counters(c: &Cluster) -> BTreeMap<String, u64> {
    let text = c.exec("dir", "ipvsadm", &["-Ln", "--stats", "--exact"]);
    let mut service = String::new();
    let mut out = BTreeMap::new();
    for line in text.lines().skip(3) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (name, conns) = if words.first() == Some(&"->") {
            (format!("{service} {}", words[1]), words[2])
        } else {
            service = words[..2].join(" ");
            (service.clone(), words[2])
        };
        out.insert(name, conns.parse().unwrap());
    }
    out
}

/// Failing restores while a client loops: each is refused before anything
/// is sent (the real run and `--dry-run` alike, with line numbers), no
/// client request fails, the table and its counters stay.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn cluster_refused_restores_disturb_no_client() {
    let c = Cluster::new("rsr");
    nat_service(&c);
    let table = save(&c);
    let client = c.client(10.0);
    std::thread::sleep(TICK);
    let before = conn_counters(&c);
    let vip = svc();
    let refused = [
        (
            format!(
                "-D -t {vip}\n-A -t {vip} -s nosuch\n-a -t {vip} -r {}:80 -m\n",
                RS[0]
            ),
            "line 2: Scheduler or persistence engine not found\n",
        ),
        (
            format!(
                "-A -t {VIP}:81 -s rr\n-a -t {VIP}:81 -r {rs}:81 -m\n-a -t {VIP}:81 -r {rs}:81 -m -w 2\n",
                rs = RS[0]
            ),
            "line 3: Destination already exists\n",
        ),
        (table.clone(), "line 1: Service already exists\n"),
    ];
    for _ in 0..5 {
        for (input, first) in &refused {
            for args in [&["-R", "--dry-run"][..], &["-R"][..]] {
                let (status, stdout, stderr) = ipvsctl(&c, args, Some(input));
                assert_eq!(status, Some(255), "{args:?} {input}: {stderr}");
                assert!(stderr.starts_with(first), "{args:?}: {stderr}");
                assert!(stderr.ends_with("ipvsctl: nothing sent: checked against the live table, the kernel would refuse the above\n"), "{stderr}");
                assert!(stdout.is_empty());
            }
            assert_eq!(save(&c), table, "refused input changed the table");
        }
    }
    // The table's own -S output re-applied: every line named.
    let (_, _, stderr) = ipvsctl(&c, &["-R", "--dry-run"], Some(&table));
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("line ")).count(),
        3,
        "{stderr}"
    );
    // A good file passes the dry run and changes nothing.
    let good = format!("-A -t {VIP}:81 -s rr\n-a -t {VIP}:81 -r {}:81 -m\n", RS[1]);
    assert_eq!(ipvsctl(&c, &["-R", "--dry-run"], Some(&good)).0, Some(0));
    assert_eq!(save(&c), table);
    let tally = client.stop();
    assert_eq!(tally.failed, 0, "client failures: {tally:?}");
    assert!(tally.ok >= 20, "{tally:?}");
    std::thread::sleep(TICK);
    let after = conn_counters(&c);
    for (entry, count) in &before {
        assert!(
            after[entry] >= *count,
            "{entry}: {count} -> {} (reset)",
            after[entry]
        );
    }
    assert!(
        after[&format!("TCP {vip}")] > before[&format!("TCP {vip}")],
        "{after:?}"
    );
}

/// `apply` of the table's own `-S` changes nothing; one weight changed
/// edits only that destination (counters kept); `diff` lines re-applied by
/// ipvsadm give the file's table; `set-weight` keeps the forwarding method
/// that ipvsadm's `-e` resets.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn cluster_apply_and_diff_change_only_the_difference() {
    let c = Cluster::new("apd");
    nat_service(&c);
    c.exec(
        "dir",
        "ipvsadm",
        &["-A", "-t", &format!("{VIP}:81"), "-s", "wlc"],
    );
    c.exec(
        "dir",
        "ipvsadm",
        &[
            "-a",
            "-t",
            &format!("{VIP}:81"),
            "-r",
            &format!("{}:80", RS[0]),
            "-m",
            "-w",
            "2",
            "-x",
            "50",
        ],
    );
    for _ in 0..6 {
        c.request().expect("request");
    }
    std::thread::sleep(TICK);
    let counters = conn_counters(&c);
    assert!(counters[&format!("TCP {}", svc())] >= 8, "{counters:?}");
    let dir = std::env::temp_dir().join("apd-files");
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    // The table's own -S output: nothing to do.
    let (status, own, _) = ipvsctl(&c, &["-S", "-n"], None);
    assert_eq!(status, Some(0));
    let own_file = file("own", &own);
    assert_eq!(
        ipvsctl(&c, &["diff", &own_file], None),
        (Some(0), String::new(), String::new())
    );
    assert_eq!(
        ipvsctl(&c, &["apply", &own_file], None),
        (Some(0), String::new(), String::new())
    );
    // One weight changed: exactly one edit.
    let from = format!("-a -t {} -r {}:80 -m -w 1", svc(), RS[1]);
    assert!(own.contains(&from), "{own}");
    let changed = own.replace(&from, &format!("-a -t {} -r {}:80 -m -w 3", svc(), RS[1]));
    let changed_file = file("changed", &changed);
    // --dry-run checks and sends nothing; a file the kernel would refuse is
    // refused with its line.
    assert_eq!(
        ipvsctl(&c, &["apply", "--dry-run", &changed_file], None).0,
        Some(0)
    );
    assert_eq!(ipvsctl(&c, &["-S", "-n"], None).1, own);
    let refused_file = file("refused", &format!("{own}-A -t {VIP}:83 -s nosuch\n"));
    for args in [&["apply", "--dry-run"][..], &["apply"][..]] {
        let (status, _, stderr) = ipvsctl(&c, &[args, &[refused_file.as_str()][..]].concat(), None);
        assert_eq!(status, Some(255), "{stderr}");
        assert!(
            stderr.starts_with(&format!(
                "{refused_file}: line {}: Scheduler or persistence engine not found\n",
                own.lines().count() + 1
            )),
            "{stderr}"
        );
    }
    assert_eq!(ipvsctl(&c, &["-S", "-n"], None).1, own);
    let (status, lines, _) = ipvsctl(&c, &["diff", &changed_file], None);
    assert_eq!(
        (status, lines.as_str()),
        (
            Some(1),
            format!("-e -t {} -r {}:80 -m -w 3\n", svc(), RS[1]).as_str()
        )
    );
    assert_eq!(ipvsctl(&c, &["apply", &changed_file], None).0, Some(0));
    assert_eq!(
        sorted(&ipvsctl(&c, &["-S", "-n"], None).1),
        sorted(&changed)
    );
    std::thread::sleep(TICK);
    assert_eq!(
        conn_counters(&c),
        counters,
        "an applied file reset counters"
    );
    // A file with every kind of change: diff's lines through ipvsadm.
    let target = format!(
        "-A -t {VIP}:80 -s wrr\n-a -t {VIP}:80 -r {rs2}:80 -m -w 5\n-a -t {VIP}:80 -r {rs1}:8080 -m -w 1\n-A -t {VIP}:82 -s rr\n-a -t {VIP}:82 -r {rs1}:80 -m -w 1\n",
        rs1 = RS[0],
        rs2 = RS[1]
    );
    let target_file = file("target", &target);
    let (status, lines, stderr) = ipvsctl(&c, &["diff", "--prune", &target_file], None);
    assert_eq!(status, Some(1), "{stderr}");
    let out = c.output("dir", "ipvsadm", &["-R"], Some(&lines));
    assert!(out.status.success(), "ipvsadm -R of\n{lines}: {out:?}");
    assert_eq!(sorted(&save(&c)), sorted(&target), "diff lines:\n{lines}");
    assert_eq!(
        ipvsctl(&c, &["diff", "--prune", &target_file], None).0,
        Some(0)
    );
    // And back with apply --prune, in one batch.
    assert_eq!(
        ipvsctl(&c, &["apply", "--prune", &changed_file], None).0,
        Some(0)
    );
    assert_eq!(
        sorted(&save(&c)),
        sorted(&changed)
            .into_iter()
            .map(|l| l.replace(" -x 50", ""))
            .collect::<Vec<_>>()
    );
    // The -e trap: ipvsadm's -e without -m turns the server into -g;
    // set-weight keeps -m.
    let rs2 = format!("{}:80", RS[1]);
    assert_eq!(
        ipvsctl(&c, &["set-weight", "-t", &svc(), "-r", &rs2, "0"], None).0,
        Some(0)
    );
    assert!(
        save(&c).contains(&format!("-r {rs2} -m -w 0")),
        "{}",
        save(&c)
    );
    c.exec(
        "dir",
        "ipvsadm",
        &["-e", "-t", &svc(), "-r", &rs2, "-w", "1"],
    );
    assert!(
        save(&c).contains(&format!("-r {rs2} -g -w 1")),
        "{}",
        save(&c)
    );
    let (status, _, stderr) = ipvsctl(&c, &["set-weight", "-t", &svc(), "10.77.9.9:80", "1"], None);
    assert_eq!(
        (status, stderr.as_str()),
        (Some(255), "No such destination\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A connection held open from the client, sending its request in two
/// halves; `finish` sends the rest and reads the page.
struct Held {
    tx: std::sync::mpsc::Sender<()>,
    handle: std::thread::JoinHandle<Result<String, String>>,
}

impl Held {
    fn open(c: &Cluster) -> Held {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let path = format!("/run/netns/{}", c.ns("cli"));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            cluster::enter(&path);
            let addr = format!("{VIP}:80").parse().unwrap();
            let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
            s.write_all(b"GET / HTTP/1.0\r\n")
                .map_err(|e| e.to_string())?;
            let _ = ready_tx.send(());
            let _ = rx.recv();
            s.write_all(b"Host: lab\r\n\r\n")
                .map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).map_err(|e| e.to_string())?;
            Ok(reply)
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("connected");
        Held { tx, handle }
    }

    fn finish(self) -> Result<String, String> {
        let _ = self.tx.send(());
        self.handle.join().expect("held connection thread")
    }
}

/// The real server holding the one active connection.
fn busy_server(c: &Cluster) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = c.exec("dir", "ipvsadm", &["-Ln"]);
        let busy: Vec<String> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("->"))
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.get(4) == Some(&"1")).then(|| w[1].to_string())
            })
            .collect();
        if busy.len() == 1 {
            return busy[0].clone();
        }
        assert!(Instant::now() < deadline, "no busy server: {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `drain` with an open long connection: weight 0 at once (new requests go
/// to the other server), the open connection completes, then the server is
/// deleted; with a short timeout the cut connection is counted.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn cluster_drain_waits_for_the_open_connection() {
    let c = Cluster::new("drn");
    nat_service(&c);
    let held = Held::open(&c);
    let busy = busy_server(&c);
    let name = if busy.starts_with(RS[0]) {
        "rs1"
    } else {
        "rs2"
    };
    let mut drain = Command::new(cluster::IP)
        .args([
            "netns",
            "exec",
            &c.ns("dir"),
            BIN,
            "drain",
            "-t",
            &svc(),
            "-r",
            &busy,
            "--timeout",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        drain.try_wait().unwrap().is_none(),
        "drain ended with a connection open"
    );
    assert!(
        save(&c).contains(&format!("-r {busy} -m -w 0")),
        "{}",
        save(&c)
    );
    for _ in 0..4 {
        let page = c.request().expect("request while draining");
        assert_ne!(page, name, "a drained server got a new connection");
    }
    let released = Instant::now();
    let reply = held.finish().expect("the open connection completes");
    assert!(reply.ends_with(&format!("{name}\n")), "{reply:?}");
    let status = loop {
        if let Some(status) = drain.try_wait().unwrap() {
            break status;
        }
        assert!(
            released.elapsed() < Duration::from_secs(10),
            "drain did not end"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    drain
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{out}");
    assert!(
        out.contains(&format!("drain {busy}: deleted after"))
            && out.contains("(no active connections)"),
        "{out}"
    );
    assert!(!save(&c).contains(&busy), "{}", save(&c));
    // At the timeout: deleted, the cut connection counted.
    c.exec(
        "dir",
        "ipvsadm",
        &["-a", "-t", &svc(), "-r", &busy, "-m", "-w", "1"],
    );
    c.exec(
        "dir",
        "ipvsadm",
        &[
            "-e",
            "-t",
            &svc(),
            "-r",
            &format!("{}:80", if name == "rs1" { RS[1] } else { RS[0] }),
            "-m",
            "-w",
            "0",
        ],
    );
    let held = Held::open(&c);
    assert_eq!(busy_server(&c), busy);
    let (status, out, err) = ipvsctl(
        &c,
        &["drain", "-t", &svc(), "-r", &busy, "--timeout", "1s"],
        None,
    );
    assert_eq!(status, Some(0), "{err}");
    assert!(
        out.contains("timeout after") && out.contains("1 active connection(s) cut"),
        "{out}"
    );
    assert!(!save(&c).contains(&busy));
    drop(held.tx);
    // --then keep: nothing open, so at once; the server stays at weight 0.
    c.exec(
        "dir",
        "ipvsadm",
        &["-a", "-t", &svc(), "-r", &busy, "-m", "-w", "2"],
    );
    let (status, out, err) = ipvsctl(
        &c,
        &["drain", "-t", &svc(), "-r", &busy, "--then", "keep"],
        None,
    );
    assert_eq!(status, Some(0), "{err}");
    assert!(
        out.ends_with(&format!(
            "drain {busy}: kept at weight 0 (no active connections)\n"
        )),
        "{out}"
    );
    assert!(
        save(&c).contains(&format!("-r {busy} -m -w 0")),
        "{}",
        save(&c)
    );
}

/// `-Ln --watch 1 --json -t VIP:80` while a client sends a steady 5
/// requests a second: one service per line, and from the second kernel
/// update on every sampled connection rate within ±50 % of the client's
/// real rate (the kernel publishes counters every 2 s; the watch divides by
/// the time between its updates, not by its own interval).
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn cluster_watch_rates_follow_the_client() {
    let c = Cluster::new("wat");
    nat_service(&c);
    c.exec(
        "dir",
        "ipvsadm",
        &["-A", "-t", &format!("{VIP}:81"), "-s", "rr"],
    );
    let client = c.client(5.0);
    let watch = Command::new(cluster::IP)
        .args([
            "netns",
            "exec",
            &c.ns("dir"),
            BIN,
            "-Ln",
            "--watch",
            "1",
            "--json",
            "-t",
            &svc(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(13));
    let kill = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status();
    assert!(kill.is_ok_and(|s| s.success()));
    let tally = client.stop();
    let out = watch.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(tally.failed, 0, "{tally:?}");
    let real = tally.ok as f64 / tally.seconds;
    let text = String::from_utf8(out.stdout).unwrap();
    let mut last = None;
    let (mut updates, mut checked) = (0, Vec::new());
    for line in text.lines() {
        let doc: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let time = doc["time"].as_str().unwrap();
        assert!(
            time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "{time}"
        );
        assert_eq!(doc["rates"], "counters");
        let services = doc["services"].as_array().unwrap();
        assert_eq!(services.len(), 1, "-t shows one service: {line}");
        assert_eq!(services[0]["port"], 80);
        let stats = &services[0]["stats"];
        let conns = stats["connections"].as_u64().unwrap();
        if last.is_some_and(|l| l != conns) {
            updates += 1;
        }
        last = Some(conns);
        if updates >= 2 {
            checked.push(stats["connection_rate"].as_u64().unwrap());
        }
    }
    assert!(checked.len() >= 5, "{checked:?} of\n{text}");
    // The kernel's estimator follows the client; a guest starved by a busy
    // host (one emulated CPU) can miss a tick and show one stray sample.
    let mut sorted = checked.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2] as f64;
    assert!(
        (median - real).abs() <= 0.25 * real,
        "median {median} of rates {checked:?}, client {real:.2}/s"
    );
    let strays = checked
        .iter()
        .filter(|&&rate| (rate as f64 - real).abs() > 0.5 * real)
        .count();
    assert!(strays <= 1, "rates {checked:?}, client {real:.2}/s");
    eprintln!("watch rates {checked:?}, client {real:.2} requests/s");
}
