//! Kernel-lab suite: `lvsd` directing real HTTP traffic through a NAT cluster
//! of namespaces (`cargo xtask kernel-lab -p lvsd`).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Cluster, Lvsd, in_netns, wait_for, weights};

const LAB: &str = "needs an IPVS kernel: cargo xtask kernel-lab";

/// A service on the VIP with real servers `reals` and 1 s HTTP checks.
fn config(reals: &[usize], extra_service: &str) -> String {
    let mut text = format!(
        "[[service]]\naddress = \"{}\"\nscheduler = \"rr\"\nforwarding = \"nat\"\n{extra_service}\n\
         [service.check]\ntype = \"http\"\npath = \"/\"\nbody = \"^r[0-9]\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nrise = 2\nfall = 2\n",
        support::VIP
    );
    for i in reals {
        text.push_str(&format!(
            "[[service.real]]\naddress = \"{}\"\nweight = 1\n",
            Cluster::real_addr(*i)
        ));
    }
    text
}

fn expect(reals: &[(usize, u32)]) -> Vec<(std::net::SocketAddr, u32)> {
    let mut v: Vec<_> = reals
        .iter()
        .map(|&(i, w)| (Cluster::real_addr(i), w))
        .collect();
    v.sort();
    v
}

fn tally(answers: &[Result<String, String>]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in answers {
        *m.entry(a.clone().unwrap_or_else(|e| format!("error: {e}")))
            .or_insert(0) += 1;
    }
    m
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn failed_real_server_is_inhibited_and_restored() {
    let _ = LAB;
    let mut cluster = Cluster::nat("fo", 2);
    cluster.start_web(1);
    cluster.start_web(2);
    let path = cluster.write_config("lvsd.toml", &config(&[1, 2], ""));
    let mut ipvs = cluster.ipvs();
    let started = Instant::now();
    let lvsd = Lvsd::start(&cluster, &path);
    // The table matches the file within one interval.
    let matched = wait_for(Duration::from_secs(1), || {
        (weights(&mut ipvs) == expect(&[(1, 1), (2, 1)])).then_some(())
    });
    assert!(
        matched.is_some(),
        "table {:?} after {:?}\n{}",
        weights(&mut ipvs),
        started.elapsed(),
        lvsd.log()
    );
    let answers = cluster.gets(6);
    assert_eq!(
        tally(&answers),
        BTreeMap::from([("r1".to_string(), 3), ("r2".to_string(), 3)]),
        "rr over both"
    );

    // A steady client: one request every 100 ms, each failure timed.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let served = Arc::new(Mutex::new(0usize));
    let client = {
        let (stop, failures, served, ns) = (
            stop.clone(),
            failures.clone(),
            served.clone(),
            cluster.client(),
        );
        std::thread::spawn(move || {
            in_netns(&ns, || {
                while !stop.load(Ordering::Relaxed) {
                    match support::http_get(support::VIP.parse().unwrap(), Duration::from_secs(2)) {
                        Ok(_) => *served.lock().unwrap() += 1,
                        Err(e) => failures.lock().unwrap().push((Instant::now(), e)),
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    cluster.stop_web(1);
    let stopped = Instant::now();
    let down = wait_for(Duration::from_secs(6), || {
        (weights(&mut ipvs) == expect(&[(1, 0), (2, 1)])).then_some(())
    });
    let (_, took) = down
        .unwrap_or_else(|| panic!("r1 not inhibited: {:?}\n{}", weights(&mut ipvs), lvsd.log()));
    let window_end = Instant::now();
    // fall × interval, plus what the check and the batch take under emulation.
    assert!(
        took <= Duration::from_millis(2700),
        "inhibited after {took:?}"
    );
    let answers = cluster.gets(6);
    assert_eq!(
        tally(&answers),
        BTreeMap::from([("r2".to_string(), 6)]),
        "all on r2"
    );

    cluster.start_web(1);
    let back = wait_for(Duration::from_secs(6), || {
        (weights(&mut ipvs) == expect(&[(1, 1), (2, 1)])).then_some(())
    });
    let (_, took) =
        back.unwrap_or_else(|| panic!("r1 not restored: {:?}\n{}", weights(&mut ipvs), lvsd.log()));
    assert!(
        took <= Duration::from_millis(2700),
        "restored after {took:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();

    // Failures only between the stop and the inhibition.
    let failures = failures.lock().unwrap();
    for (at, error) in failures.iter() {
        assert!(
            *at >= stopped && *at <= window_end + Duration::from_millis(300),
            "a request failed outside the window: {error}"
        );
    }
    assert!(
        *served.lock().unwrap() > 10,
        "the steady client got answers"
    );
    let log = lvsd.log();
    assert!(
        log.contains(&format!(
            "real server {} of TCP {} down after 2 failed checks",
            Cluster::real_addr(1),
            support::VIP
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "real server {} of TCP {} up after 2 successful checks",
            Cluster::real_addr(1),
            support::VIP
        )),
        "{log}"
    );
}

/// The counters of the VIP's destinations (connections scheduled), by address.
fn connections(ipvs: &mut ipvs_proto::Client) -> BTreeMap<std::net::SocketAddr, u64> {
    support::destinations(ipvs)
        .iter()
        .map(|d| (d.socket_addr(), d.stats.map_or(0, |s| s.connections)))
        .collect()
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn reload_adds_a_real_server_without_touching_the_others_and_refuses_a_bad_file() {
    let mut cluster = Cluster::nat("rl", 3);
    for i in 1..=3 {
        cluster.start_web(i);
    }
    let path = cluster.write_config("lvsd.toml", &config(&[1, 2], ""));
    let mut ipvs = cluster.ipvs();
    let mut lvsd = Lvsd::start(&cluster, &path);
    assert!(
        wait_for(Duration::from_secs(1), || (weights(&mut ipvs)
            == expect(&[(1, 1), (2, 1)]))
        .then_some(()))
        .is_some(),
        "{}",
        lvsd.log()
    );
    let answers = cluster.gets(6);
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    // Wait for the kernel's estimator to publish the counters, and for the checks.
    std::thread::sleep(Duration::from_millis(2500));
    let before = connections(&mut ipvs);
    assert!(before.values().all(|&c| c >= 3), "{before:?}");
    let status_before = lvsd.status_json();

    std::fs::write(&path, config(&[1, 2, 3], "")).unwrap();
    let out = lvsd.ctl(&["reload"]);
    assert!(out.status.success(), "{out:?}\n{}", lvsd.log());
    assert!(
        wait_for(Duration::from_secs(1), || {
            (weights(&mut ipvs) == expect(&[(1, 1), (2, 1), (3, 1)])).then_some(())
        })
        .is_some(),
        "{:?}\n{}",
        weights(&mut ipvs),
        lvsd.log()
    );
    let after = connections(&mut ipvs);
    for i in [1, 2] {
        let a = Cluster::real_addr(i);
        assert!(
            after[&a] >= before[&a],
            "counters of {a} reset: {before:?} -> {after:?}"
        );
    }
    let log = lvsd.log();
    // Changes are logged before the start line; after it come the reload's only.
    let after_start = log.split("started with").nth(1).expect("start logged");
    for i in [1, 2] {
        let a = Cluster::real_addr(i).to_string();
        assert!(
            !after_start.contains(&format!("real server {a} to")),
            "{a} re-added:\n{log}"
        );
        assert!(
            !after_start.contains(&format!("edit real server {a}")),
            "{a} edited:\n{log}"
        );
    }
    assert!(
        after_start.contains(&format!("add real server {} to TCP", Cluster::real_addr(3))),
        "{log}"
    );
    // Health carried over: the first real server's "since" did not move.
    let status_after = lvsd.status_json();
    assert_eq!(
        status_before["services"][0]["reals"][0]["since"],
        status_after["services"][0]["reals"][0]["since"]
    );
    assert_eq!(status_after["services"][0]["reals"][0]["health"], "up");

    // A bad file: refused with its position, the table and the daemon as they were.
    let table = weights(&mut ipvs);
    std::fs::write(
        &path,
        "[[service]]\naddress = \"10.10.0.1:80\"\nschedular = \"rr\"\n",
    )
    .unwrap();
    let out = lvsd.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lvsd.toml:3:1: unknown key `schedular`"),
        "{stderr}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(lvsd.child.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(lvsd.alive(), "{}", lvsd.log());
    assert_eq!(weights(&mut ipvs), table);
    assert_eq!(
        lvsd.log().matches("reload refused").count(),
        2,
        "{}",
        lvsd.log()
    );
    let answers = cluster.gets(3);
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");

    // Status and metrics of the running state.
    let human = lvsd.ctl(&["status"]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("TCP 10.10.0.1:80 rr check=http"), "{human}");
    assert!(human.contains("10.20.3.2:80"), "{human}");
    let metrics = in_netns(&cluster.director(), || {
        support::http_get_raw("127.0.0.1:9816".parse().unwrap(), "/metrics")
    });
    let labels = format!(
        "service=\"TCP {}\",real=\"{}\"",
        support::VIP,
        Cluster::real_addr(1)
    );
    assert!(
        metrics.contains(&format!("lvsd_real_server_up{{{labels}}} 1")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("lvsd_real_server_weight{{{labels}}} 1")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("lvsd_real_server_connections_total{{{labels}}} ")),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE lvsd_real_server_in_bytes counter"),
        "{metrics}"
    );
    lvsd.terminate();
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn kill_9_and_restart_change_nothing_in_the_table() {
    let mut cluster = Cluster::nat("k9", 2);
    cluster.start_web(1);
    cluster.start_web(2);
    let path = cluster.write_config("lvsd.toml", &config(&[1, 2], ""));
    let mut ipvs = cluster.ipvs();
    let mut lvsd = Lvsd::start(&cluster, &path);
    assert!(
        wait_for(Duration::from_secs(1), || (weights(&mut ipvs)
            == expect(&[(1, 1), (2, 1)]))
        .then_some(()))
        .is_some()
    );
    // One real server down (inhibited): a restart must keep it so.
    cluster.stop_web(2);
    let wanted = expect(&[(1, 1), (2, 0)]);
    assert!(
        wait_for(Duration::from_secs(4), || (weights(&mut ipvs) == wanted)
            .then_some(()))
        .is_some(),
        "{}",
        lvsd.log()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (stop, wanted, d) = (stop.clone(), wanted.clone(), cluster.director());
        std::thread::spawn(move || {
            let mut ipvs = ipvs_proto::Client::connect_in(ipvs_proto::NetNs::Named(&d)).unwrap();
            let mut seen = Vec::new();
            let mut polls = 0;
            while !stop.load(Ordering::Relaxed) {
                let now = weights(&mut ipvs);
                if now != wanted {
                    seen.push(now);
                }
                polls += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (polls, seen)
        })
    };
    lvsd.kill9();
    std::thread::sleep(Duration::from_millis(300));
    let lvsd = Lvsd::start(&cluster, &path);
    // Long enough for the restarted daemon's checks to run several times.
    std::thread::sleep(Duration::from_millis(3500));
    stop.store(true, Ordering::Relaxed);
    let (polls, seen) = poller.join().unwrap();
    assert!(polls > 20, "polled {polls} times");
    assert!(
        seen.is_empty(),
        "the table changed: {seen:?}\n{}",
        lvsd.log()
    );
    let log = lvsd.log();
    let restart = log.rsplit("started with").next().unwrap();
    assert!(restart.contains("0 changes applied"), "{log}");
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn a_removed_real_server_drains_its_long_connection_then_goes() {
    let mut cluster = Cluster::nat("dn", 2);
    cluster.start_web(1);
    cluster.start_web(2);
    let path = cluster.write_config("lvsd.toml", &config(&[1, 2], "drain = \"60s\""));
    let mut ipvs = cluster.ipvs();
    let lvsd = Lvsd::start(&cluster, &path);
    assert!(
        wait_for(Duration::from_secs(1), || (weights(&mut ipvs)
            == expect(&[(1, 1), (2, 1)]))
        .then_some(()))
        .is_some()
    );
    // A long connection: open, no request yet.
    let mut long = in_netns(&cluster.client(), || {
        std::net::TcpStream::connect_timeout(&support::VIP.parse().unwrap(), Duration::from_secs(2))
            .unwrap()
    });
    let (victim, _) = wait_for(Duration::from_secs(3), || {
        support::destinations(&mut ipvs)
            .iter()
            .find(|d| d.connections.is_some_and(|c| c.active > 0))
            .map(|d| d.socket_addr())
    })
    .expect("the long connection is active on one real server");
    let victim_index = if victim == Cluster::real_addr(1) {
        1
    } else {
        2
    };
    let other = 3 - victim_index;
    std::fs::write(&path, config(&[other], "drain = \"60s\"")).unwrap();
    let out = lvsd.ctl(&["reload"]);
    assert!(out.status.success(), "{out:?}");
    // Weight 0 at once, still listed while the connection lasts.
    let drained = expect(&[(victim_index, 0), (other, 1)]);
    assert!(
        wait_for(Duration::from_secs(1), || (weights(&mut ipvs) == drained)
            .then_some(()))
        .is_some(),
        "{:?}",
        weights(&mut ipvs)
    );
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(
        weights(&mut ipvs),
        drained,
        "kept while the connection is active"
    );
    let answers = cluster.gets(3);
    assert!(
        answers
            .iter()
            .all(|a| a.as_deref() == Ok(&format!("r{other}"))),
        "{answers:?}"
    );
    let status = lvsd.status_json();
    assert_eq!(
        status["services"][0]["draining"][0]["address"],
        victim.to_string(),
        "{status}"
    );
    // The long connection completes through the drained real server.
    use std::io::{Read as _, Write as _};
    long.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    long.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut reply = String::new();
    long.read_to_string(&mut reply).unwrap();
    assert!(reply.ends_with(&format!("r{victim_index}\n")), "{reply:?}");
    drop(long);
    // Then it is deleted (active count 0), long before the 60 s drain.
    let gone = wait_for(Duration::from_secs(4), || {
        (weights(&mut ipvs) == expect(&[(other, 1)])).then_some(())
    });
    assert!(gone.is_some(), "{:?}\n{}", weights(&mut ipvs), lvsd.log());
    let log = lvsd.log();
    assert!(
        log.contains(&format!("drain real server {victim} of TCP")),
        "{log}"
    );
    assert!(
        log.contains(&format!("delete real server {victim} of TCP")),
        "{log}"
    );
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn the_sorry_server_answers_while_no_real_server_is_up() {
    let mut cluster = Cluster::nat("so", 3);
    for i in 1..=3 {
        cluster.start_web(i);
    }
    let sorry = format!("sorry = \"{}\"", Cluster::real_addr(3));
    let path = cluster.write_config("lvsd.toml", &config(&[1, 2], &sorry));
    let mut ipvs = cluster.ipvs();
    let lvsd = Lvsd::start(&cluster, &path);
    assert!(
        wait_for(Duration::from_secs(1), || (weights(&mut ipvs)
            == expect(&[(1, 1), (2, 1)]))
        .then_some(()))
        .is_some()
    );
    cluster.stop_web(1);
    cluster.stop_web(2);
    let sorry_on = expect(&[(1, 0), (2, 0), (3, 1)]);
    assert!(
        wait_for(Duration::from_secs(5), || (weights(&mut ipvs) == sorry_on)
            .then_some(()))
        .is_some(),
        "{:?}\n{}",
        weights(&mut ipvs),
        lvsd.log()
    );
    let answers = cluster.gets(3);
    assert_eq!(tally(&answers), BTreeMap::from([("r3".to_string(), 3)]));
    cluster.start_web(1);
    let back = expect(&[(1, 1), (2, 0)]);
    assert!(
        wait_for(Duration::from_secs(5), || (weights(&mut ipvs) == back)
            .then_some(()))
        .is_some(),
        "{:?}\n{}",
        weights(&mut ipvs),
        lvsd.log()
    );
    let answers = cluster.gets(3);
    assert_eq!(tally(&answers), BTreeMap::from([("r1".to_string(), 3)]));
}

/// The processes of the hanging check: its shell (running `check-hang.sh`)
/// and the two `sleep`s it starts.
fn check_processes() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                let c = String::from_utf8_lossy(&c);
                c.contains("check-hang.sh")
                    || c == "sleep\u{0}30017\u{0}"
                    || c == "sleep\u{0}30018\u{0}"
            })
        })
        .count()
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn a_hanging_exec_check_is_killed_at_its_timeout_with_all_it_started() {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
                support::run(support::IP, &["link", "set", "lo", "up"]);
                let dir = tempfile::tempdir().unwrap();
                let script = dir.path().join("check-hang.sh");
                // A background child and a foreground one: both must die.
                std::fs::write(&script, "sleep 30017 &\nsleep 30018\n").unwrap();
                let config = dir.path().join("lvsd.toml");
                std::fs::write(
                    &config,
                    format!(
                        "[[service]]\naddress = \"10.0.0.1:80\"\n[service.check]\ntype = \"exec\"\n\
                         command = [\"/bin/sh\", \"{}\", \"{{address}}\"]\ninterval = \"1s\"\ntimeout = \"300ms\"\nfall = 1\nrise = 1\n\
                         [[service.real]]\naddress = \"10.0.1.2:80\"\nweight = 5\n",
                        script.display()
                    ),
                )
                .unwrap();
                let log = dir.path().join("lvsd.log");
                let mut child = std::process::Command::new(support::BIN)
                    .arg("run")
                    .arg("--config")
                    .arg(&config)
                    .arg("--socket")
                    .arg(dir.path().join("sock"))
                    .args(["--metrics", "off"])
                    .stderr(std::fs::File::create(&log).unwrap())
                    .spawn()
                    .unwrap();
                let mut ipvs = ipvs_proto::Client::connect().unwrap();
                let key = ipvs_proto::ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
                // Sample for 4 s: one check at a time, each gone after its timeout.
                let start = Instant::now();
                let (mut most, mut zero_seen) = (0, false);
                let mut down_after = None;
                while start.elapsed() < Duration::from_secs(4) {
                    let n = check_processes();
                    most = most.max(n);
                    zero_seen |= n == 0 && start.elapsed() > Duration::from_millis(1500);
                    if down_after.is_none()
                        && ipvs
                            .destinations(&key)
                            .is_ok_and(|d| d.len() == 1 && d[0].weight == 0)
                    {
                        down_after = Some(start.elapsed());
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let text = || std::fs::read_to_string(&log).unwrap_or_default();
                // sh, its background sleep and its foreground sleep: one check's worth.
                assert!(most <= 3, "{most} processes of the check at once\n{}", text());
                assert!(most >= 2, "the check never ran\n{}", text());
                assert!(zero_seen, "the check's processes outlived its timeout\n{}", text());
                assert!(down_after.is_some(), "not inhibited\n{}", text());
                assert!(text().contains("exec: killed at its timeout of 300ms"), "{}", text());
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGTERM,
                )
                .unwrap();
                child.wait().unwrap();
                std::thread::sleep(Duration::from_millis(200));
                assert_eq!(check_processes(), 0, "left over after lvsd stopped");
                ipvs.flush().unwrap();
            })
            .join()
            .unwrap()
    });
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn a_dynamic_exec_check_sets_the_weight() {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
                support::run(support::IP, &["link", "set", "lo", "up"]);
                let dir = tempfile::tempdir().unwrap();
                // The check exits with the status written in a file.
                let status = dir.path().join("status");
                std::fs::write(&status, "7").unwrap();
                let config = dir.path().join("lvsd.toml");
                std::fs::write(
                    &config,
                    format!(
                        "[[service]]\naddress = \"10.0.0.1:80\"\n[service.check]\ntype = \"exec\"\ndynamic = true\n\
                         command = [\"/bin/sh\", \"-c\", \"exit $(cat {})\"]\ninterval = \"500ms\"\ntimeout = \"400ms\"\nfall = 1\nrise = 1\n\
                         [[service.real]]\naddress = \"10.0.1.2:80\"\nweight = 3\n",
                        status.display()
                    ),
                )
                .unwrap();
                let log = dir.path().join("lvsd.log");
                let mut child = std::process::Command::new(support::BIN)
                    .arg("run")
                    .arg("--config")
                    .arg(&config)
                    .arg("--socket")
                    .arg(dir.path().join("sock"))
                    .args(["--metrics", "off"])
                    .stderr(std::fs::File::create(&log).unwrap())
                    .spawn()
                    .unwrap();
                let mut ipvs = ipvs_proto::Client::connect().unwrap();
                let key = ipvs_proto::ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
                let mut weight = || {
                    ipvs.destinations(&key)
                        .ok()
                        .and_then(|d| d.first().map(|d| d.weight))
                };
                let text = || std::fs::read_to_string(&log).unwrap_or_default();
                // exit 7: up with weight 5; exit 12: weight 10; exit 1: down (0);
                // exit 0: up with the configured weight (3); exit 2: up, weight 0.
                for (exit, want) in [(7, 5), (12, 10), (1, 0), (0, 3), (2, 0)] {
                    std::fs::write(&status, exit.to_string()).unwrap();
                    let seen = wait_for(Duration::from_secs(3), || (weight() == Some(want)).then_some(()));
                    assert!(seen.is_some(), "exit {exit}: weight {:?}, not {want}\n{}", weight(), text());
                }
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(child.id() as i32),
                    nix::sys::signal::Signal::SIGTERM,
                )
                .unwrap();
                child.wait().unwrap();
                ipvs.flush().unwrap();
            })
            .join()
            .unwrap()
    });
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn a_drain_deadline_deletes_a_real_server_with_connections_left() {
    let mut cluster = Cluster::nat("dd", 2);
    cluster.start_web(1);
    cluster.start_web(2);
    let path = cluster.write_config("lvsd.toml", &config(&[1, 2], "drain = \"2s\""));
    let mut ipvs = cluster.ipvs();
    let lvsd = Lvsd::start(&cluster, &path);
    assert!(
        wait_for(Duration::from_secs(1), || (weights(&mut ipvs)
            == expect(&[(1, 1), (2, 1)]))
        .then_some(()))
        .is_some()
    );
    // Two idle connections, one on each real server (rr): both stay open.
    let _open = in_netns(&cluster.client(), || {
        (0..2)
            .map(|_| {
                std::net::TcpStream::connect_timeout(
                    &support::VIP.parse().unwrap(),
                    Duration::from_secs(2),
                )
                .unwrap()
            })
            .collect::<Vec<_>>()
    });
    let busy = wait_for(Duration::from_secs(3), || {
        support::destinations(&mut ipvs)
            .iter()
            .all(|d| d.connections.is_some_and(|c| c.active > 0))
            .then_some(())
    });
    assert!(busy.is_some(), "{:?}", support::destinations(&mut ipvs));
    std::fs::write(&path, config(&[2], "drain = \"2s\"")).unwrap();
    let reloaded = Instant::now();
    assert!(lvsd.ctl(&["reload"]).status.success());
    assert!(
        wait_for(Duration::from_secs(1), || (weights(&mut ipvs)
            == expect(&[(1, 0), (2, 1)]))
        .then_some(()))
        .is_some()
    );
    // Deleted once the drain time is over, its connection still open.
    let gone = wait_for(Duration::from_secs(5), || {
        (weights(&mut ipvs) == expect(&[(2, 1)])).then_some(())
    });
    let (_, _) = gone.unwrap_or_else(|| panic!("{:?}\n{}", weights(&mut ipvs), lvsd.log()));
    let took = reloaded.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "deleted after {took:?}, before the drain time"
    );
    assert!(lvsd.log().contains(&format!(
        "delete real server {} of TCP",
        Cluster::real_addr(1)
    )));
}
