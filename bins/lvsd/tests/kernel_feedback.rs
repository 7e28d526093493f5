//! Kernel-lab suite: load feedback in `lvsd` from `lvs-agent serve` agents
//! (`cargo xtask kernel-lab -p lvsd --test kernel_feedback`). Two real
//! servers' addresses on `lo` of a namespace of the test's own, an agent on
//! each (the load from a file through `--command`, a drain file), `lvsd`
//! with `agent = { ... }` on both: the kernel's weights follow the agents,
//! whether they measure a site command or a cgroup's CPU quota.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::wait_for;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lvs_agent() -> String {
    Path::new(support::BIN)
        .with_file_name("lvs-agent")
        .to_string_lossy()
        .into_owned()
}

fn agent_args(args: &[&str]) -> Killed {
    Killed(
        Command::new(lvs_agent())
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting lvs-agent"),
    )
}

/// The two real servers' addresses on `lo` of a fresh namespace (the
/// calling thread's), and lvsd with agents on both; lvsd is killed on drop.
fn namespace_and_lvsd(dir: &Path) -> (Killed, std::path::PathBuf) {
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
    support::run(support::IP, &["link", "set", "lo", "up"]);
    for a in ["10.0.1.2/32", "10.0.1.3/32"] {
        support::run(support::IP, &["addr", "add", a, "dev", "lo"]);
    }
    let config = dir.join("lvsd.toml");
    std::fs::write(
        &config,
        "[[service]]\naddress = \"10.0.0.1:80\"\nscheduler = \"wrr\"\n\
         [[service.real]]\naddress = \"10.0.1.2:80\"\nweight = 100\nagent = { port = 3333, interval = \"500ms\" }\n\
         [[service.real]]\naddress = \"10.0.1.3:80\"\nweight = 100\nagent = { port = 3333, interval = \"500ms\" }\n",
    )
    .unwrap();
    let log = dir.join("lvsd.log");
    let lvsd = Killed(
        Command::new(support::BIN)
            .arg("run")
            .arg("--config")
            .arg(&config)
            .arg("--socket")
            .arg(dir.join("sock"))
            .args(["--metrics", "off"])
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    (lvsd, log)
}

/// The kernel's weights of 10.0.1.2:80 and 10.0.1.3:80.
fn weights(ipvs: &mut ipvs_proto::Client) -> Vec<u32> {
    let key = ipvs_proto::ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
    let mut d = ipvs.destinations(&key).unwrap_or_default();
    d.sort_by_key(|d| d.socket_addr());
    d.iter().map(|d| d.weight).collect()
}

fn agent(listen: &str, load: &Path, drain: &Path) -> Killed {
    Killed(
        Command::new(lvs_agent())
            .args([
                "serve",
                "--listen",
                listen,
                "--interval",
                "200ms",
                "--window",
                "200ms",
            ])
            .arg("--command")
            .arg(format!("cat {}", load.display()))
            .arg("--drain-file")
            .arg(drain)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting lvs-agent"),
    )
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn agents_set_the_kernel_weights() {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let dir = tempfile::tempdir().unwrap();
                let file = |name: &str| dir.path().join(name);
                std::fs::write(file("load2"), "0\n").unwrap();
                std::fs::write(file("load3"), "0\n").unwrap();
                let (lvsd, log) = namespace_and_lvsd(dir.path());
                let mut agent2 = Some(agent("10.0.1.2:3333", &file("load2"), &file("drain2")));
                let _agent3 = agent("10.0.1.3:3333", &file("load3"), &file("drain3"));
                let mut ipvs = ipvs_proto::Client::connect().unwrap();
                let mut weights = || weights(&mut ipvs);
                let text = || std::fs::read_to_string(&log).unwrap_or_default();
                let mut expect = |want: [u32; 2], within: u64, what: &str| {
                    let seen = wait_for(Duration::from_secs(within), || {
                        (weights() == want).then_some(())
                    });
                    assert!(
                        seen.is_some(),
                        "{what}: weights {:?}, not {want:?}\n{}",
                        weights(),
                        text()
                    );
                };

                // Both idle: the configured weights.
                expect([100, 100], 5, "idle");
                // 60 % load on the first: 40 % spare, weight 40 once the
                // 10 s blackout of new agents is over, in steps of 25.
                std::fs::write(file("load2"), "60\n").unwrap();
                expect([40, 100], 25, "loaded");
                // The drain file on the second: weight 0 at once.
                std::fs::write(file("drain3"), "").unwrap();
                expect([40, 0], 5, "drained");
                // Gone: back to the configured weight.
                std::fs::remove_file(file("drain3")).unwrap();
                expect([40, 100], 10, "ready again");
                // A dead agent: its weight stays until the 30 s expiry.
                let before = text().len();
                drop(agent2.take());
                std::thread::sleep(Duration::from_secs(3));
                assert_eq!(weights(), [40, 100], "{}", text());
                let log = text();
                assert!(log.contains("feedback weight 100 -> 75"), "{log}");
                assert!(log.contains("agent says drain"), "{log}");
                // The dead agent is logged (once), with its weight kept.
                assert!(
                    log[before..].contains(
                        "agent of real server 10.0.1.2:80 of TCP 10.0.0.1:80: 10.0.1.2:3333: "
                    ),
                    "{log}"
                );
                // Past the 30 s expiry: back to the configured weight, in steps.
                let back = wait_for(Duration::from_secs(45), || {
                    (weights() == [100, 100]).then_some(())
                });
                assert!(
                    back.is_some(),
                    "expired: weights {:?}\n{}",
                    weights(),
                    text()
                );
                assert!(text().contains("agent silent past expiry"), "{}", text());
                drop(lvsd);
                ipvs.flush().unwrap();
            })
            .join()
            .unwrap()
    });
}

/// cgroup2 mounted outside /sys (`ip netns exec` remounts /sys, which
/// hides a cgroup2 mounted there) with a group per real server limited to
/// `quota` (`cpu.max`); unmounted on drop.
struct Groups {
    mount: std::path::PathBuf,
    names: Vec<String>,
    burner: Option<Child>,
}

impl Groups {
    fn new(names: &[&str], quota: &str) -> Groups {
        let mount = std::path::PathBuf::from(format!("/tmp/lvsd-cg-{}", std::process::id()));
        std::fs::create_dir_all(&mount).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "cgroup2", "none"])
            .arg(&mount)
            .status()
            .expect("running mount");
        assert!(ok.success(), "mount -t cgroup2 failed");
        std::fs::write(mount.join("cgroup.subtree_control"), "+cpu").unwrap();
        for g in names {
            std::fs::create_dir(mount.join(g)).unwrap();
            std::fs::write(mount.join(g).join("cpu.max"), quota).unwrap();
        }
        Groups {
            mount,
            names: names.iter().map(|n| n.to_string()).collect(),
            burner: None,
        }
    }

    /// Moves process `pid` into group `g`.
    fn add(&self, g: &str, pid: u32) {
        std::fs::write(self.mount.join(g).join("cgroup.procs"), pid.to_string())
            .unwrap_or_else(|e| panic!("moving {pid} into {g}: {e}"));
    }

    fn dir(&self, g: &str) -> String {
        self.mount.join(g).to_string_lossy().into_owned()
    }

    fn burn(&mut self, g: &str) {
        let child = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("starting the busy loop");
        self.add(g, child.id());
        self.burner = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.burner.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        self.stop();
        for g in &self.names {
            // A group with processes left (an httpd's) cannot be removed:
            // move them to the root first.
            let procs = std::fs::read_to_string(self.mount.join(g).join("cgroup.procs"))
                .unwrap_or_default();
            for pid in procs.lines() {
                let _ = std::fs::write(self.mount.join("cgroup.procs"), pid);
            }
            let _ = std::fs::remove_dir(self.mount.join(g));
        }
        let _ = Command::new("umount").arg(&self.mount).status();
        let _ = std::fs::remove_dir(&self.mount);
    }
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn cgroup_limited_real_servers_get_weights_from_their_quota() {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let dir = tempfile::tempdir().unwrap();
                let mut groups = Groups::new(&["rs2", "rs3"], "20000 100000");
                let (lvsd, log) = namespace_and_lvsd(dir.path());
                let common = ["--interval", "200ms", "--window", "1s", "--cgroup"];
                let rs2 = groups.dir("rs2");
                let rs3 = groups.dir("rs3");
                let _a2 = agent_args(
                    &[&common[..], &[rs2.as_str(), "--listen", "10.0.1.2:3333"]].concat(),
                );
                let _a3 = agent_args(
                    &[&common[..], &[rs3.as_str(), "--listen", "10.0.1.3:3333"]].concat(),
                );
                let mut ipvs = ipvs_proto::Client::connect().unwrap();
                let text = || std::fs::read_to_string(&log).unwrap_or_default();
                let mut expect = |what: &str, within: u64, ok: &dyn Fn(&[u32]) -> bool| {
                    let seen = wait_for(Duration::from_secs(within), || {
                        ok(&weights(&mut ipvs)).then_some(())
                    });
                    assert!(
                        seen.is_some(),
                        "{what}: weights {:?}\n{}",
                        weights(&mut ipvs),
                        text()
                    );
                };
                expect("idle", 5, &|w| w == [100, 100]);
                // A busy loop in rs2's group uses all its quota: no spare
                // capacity, its weight falls (after the blackout) below rs3's.
                groups.burn("rs2");
                expect("rs2 busy", 30, &|w| {
                    w.len() == 2 && w[0] <= 25 && w[1] == 100
                });
                // Stopped: back to the configured weight.
                groups.stop();
                expect("rs2 idle again", 20, &|w| w == [100, 100]);
                drop(lvsd);
                ipvs.flush().unwrap();
            })
            .join()
            .unwrap()
    });
}

fn tally(answers: &[Result<String, String>]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for a in answers {
        *m.entry(a.clone().unwrap_or_else(|e| format!("error: {e}")))
            .or_insert(0) += 1;
    }
    m
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn feedback_shifts_client_requests_in_a_nat_cluster() {
    let mut cluster = support::Cluster::nat("fb", 2);
    cluster.start_web(1);
    cluster.start_web(2);
    let file = |name: &str| cluster.dir.path().join(name);
    std::fs::write(file("load1"), "0\n").unwrap();
    std::fs::write(file("load2"), "0\n").unwrap();
    // An agent in each real server's namespace, answering on its address.
    let _agents: Vec<Killed> = (1..=2)
        .map(|i| {
            let (load, drain) = (file(&format!("load{i}")), file(&format!("drain{i}")));
            support::in_netns(&cluster.real(i), || agent("0.0.0.0:3333", &load, &drain))
        })
        .collect();
    let mut text = format!(
        "[[service]]\naddress = \"{}\"\nscheduler = \"wrr\"\nforwarding = \"nat\"\n",
        support::VIP
    );
    for i in 1..=2 {
        text.push_str(&format!(
            "[[service.real]]\naddress = \"{}\"\nweight = 100\nagent = {{ port = 3333, interval = \"500ms\" }}\n",
            support::Cluster::real_addr(i)
        ));
    }
    let path = cluster.write_config("lvsd.toml", &text);
    let lvsd = support::Lvsd::start(&cluster, &path);
    let mut ipvs = cluster.ipvs();
    let mut expect = |want: [u32; 2], within: u64, what: &str| {
        let want: Vec<_> = (1..=2)
            .map(|i| (support::Cluster::real_addr(i), want[i - 1]))
            .collect();
        let seen = wait_for(Duration::from_secs(within), || {
            (support::weights(&mut ipvs) == want).then_some(())
        });
        assert!(
            seen.is_some(),
            "{what}: weights {:?}, not {want:?}\n{}",
            support::weights(&mut ipvs),
            lvsd.log()
        );
    };
    let count = |n: usize| {
        let t = tally(&cluster.gets(n));
        eprintln!("{n} requests: {t:?}");
        (
            t.get("r1").copied().unwrap_or(0),
            t.get("r2").copied().unwrap_or(0),
            t,
        )
    };

    // Both idle: equal weights, requests split evenly.
    expect([100, 100], 5, "idle");
    let (r1, r2, t) = count(20);
    assert!(r1.abs_diff(r2) <= 2 && r1 + r2 == 20, "idle: {t:?}");
    // r1 75 % loaded: weight 25 after the blackout; a fifth of the requests.
    std::fs::write(file("load1"), "75\n").unwrap();
    expect([25, 100], 30, "r1 loaded");
    let (r1, r2, t) = count(25);
    assert!((3..=7).contains(&r1) && r1 + r2 == 25, "r1 loaded: {t:?}");
    // r2's drain file: weight 0, every new request to r1.
    std::fs::write(file("drain2"), "").unwrap();
    expect([25, 0], 5, "r2 drained");
    let (r1, _, t) = count(10);
    assert_eq!(r1, 10, "r2 drained: {t:?}");
    // Drain gone, load gone: back to equal weights and an even split.
    std::fs::remove_file(file("drain2")).unwrap();
    std::fs::write(file("load1"), "0\n").unwrap();
    expect([100, 100], 15, "converged");
    let (r1, r2, t) = count(20);
    assert!(r1.abs_diff(r2) <= 2 && r1 + r2 == 20, "converged: {t:?}");
}

/// The kernel's weights of the NAT cluster's real servers 1 and 2 (0 for
/// one not listed).
fn cluster_weights(ipvs: &mut ipvs_proto::Client) -> [u32; 2] {
    let listed = support::weights(ipvs);
    [1, 2].map(|i| {
        listed
            .iter()
            .find(|(a, _)| *a == support::Cluster::real_addr(i))
            .map_or(0, |(_, w)| *w)
    })
}

/// The size of the long download's body after its first line.
const BIG: usize = 8 << 20;

/// `/big` of real server `i`: its name on the first line, then `BIG` bytes.
fn big_body(i: usize) -> Vec<u8> {
    let mut body = format!("r{i}\n").into_bytes();
    body.extend((0..BIG).map(|k| b'a' + (k % 26) as u8));
    body
}

/// A download of `/big` through the VIP that stops reading after the first
/// line of the body, so that the rest waits in the real server until
/// [`Download::finish`].
struct Download {
    stream: std::net::TcpStream,
    body: Vec<u8>,
    /// The real server that answers (1 or 2).
    server: usize,
}

impl Download {
    fn start(cluster: &support::Cluster) -> Download {
        use std::io::{Read as _, Write as _};
        let mut stream = support::in_netns(&cluster.client(), || {
            std::net::TcpStream::connect_timeout(
                &support::VIP.parse().unwrap(),
                Duration::from_secs(3),
            )
            .expect("connecting to the VIP")
        });
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(b"GET /big HTTP/1.0\r\n\r\n").unwrap();
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head_end, line_end) = loop {
            let n = stream.read(&mut chunk).expect("reading the reply's head");
            assert!(n > 0, "the reply ended early: {reply:?}");
            reply.extend_from_slice(&chunk[..n]);
            if let Some(h) = reply.windows(4).position(|w| w == b"\r\n\r\n")
                && let Some(l) = reply[h + 4..].iter().position(|&b| b == b'\n')
            {
                break (h + 4, h + 4 + l);
            }
        };
        let head = String::from_utf8_lossy(&reply[..head_end]).into_owned();
        assert!(head.contains(" 200 "), "{head}");
        let server = match &reply[head_end..line_end] {
            b"r1" => 1,
            b"r2" => 2,
            other => panic!("unknown server {other:?}"),
        };
        Download {
            stream,
            body: reply[head_end..].to_vec(),
            server,
        }
    }

    /// Reads the rest; the whole body.
    fn finish(mut self) -> Vec<u8> {
        use std::io::Read as _;
        self.stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        self.stream
            .read_to_end(&mut self.body)
            .expect("reading the rest of the download");
        self.body
    }
}

/// The value of the sample `name{labels}` in a `/metrics` text.
fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// The lab test in full: a NAT cluster whose two real servers run
/// busybox httpd each in its own cgroup v2 with a CPU quota, `lvs-agent
/// serve --cgroup` on each, lvsd with wrr and feedback (short blackout and
/// expiry from `[feedback]`). A busy loop in one group takes its weight
/// below the other's and the client's requests with it; stopped, the
/// weights converge back; a killed agent leaves its weight as it is until
/// the expiry, then the configured one; a drain file gives weight 0 and no
/// new requests while a download in progress completes with its full body.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn cgroup_real_servers_in_a_nat_cluster_shift_expire_and_drain() {
    let mut cluster = support::Cluster::nat("fg", 2);
    let mut groups = Groups::new(&["r1", "r2"], "30000 100000");
    for i in 1..=2 {
        std::fs::write(cluster.dir.path().join(format!("www{i}/big")), big_body(i)).unwrap();
        cluster.start_web(i);
        // The web server (and the child it forks per connection) in its group.
        groups.add(&format!("r{i}"), cluster.web_pid(i).expect("httpd"));
    }
    let cgroups = [groups.dir("r1"), groups.dir("r2")];
    let drain_file = |i: usize| cluster.dir.path().join(format!("drain{i}"));
    let start_agent = |i: usize| {
        let drain = drain_file(i);
        let args = [
            "--listen",
            "0.0.0.0:3333",
            "--interval",
            "200ms",
            "--window",
            "1s",
            "--cgroup",
            &cgroups[i - 1],
            "--drain-file",
            drain.to_str().unwrap(),
        ];
        support::in_netns(&cluster.real(i), || agent_args(&args))
    };
    let mut agents = [Some(start_agent(1)), Some(start_agent(2))];
    let mut text = format!(
        "[feedback]\nblackout = \"1s\"\nexpiry = \"5s\"\n\n\
         [[service]]\naddress = \"{}\"\nscheduler = \"wrr\"\nforwarding = \"nat\"\n\
         agent = {{ port = 3333, interval = \"300ms\" }}\n",
        support::VIP
    );
    for i in 1..=2 {
        text.push_str(&format!(
            "[[service.real]]\naddress = \"{}\"\nweight = 100\n",
            support::Cluster::real_addr(i)
        ));
    }
    let path = cluster.write_config("lvsd.toml", &text);
    let mut lvsd = support::Lvsd::start(&cluster, &path);
    let ipvs = std::cell::RefCell::new(cluster.ipvs());
    let now = || cluster_weights(&mut ipvs.borrow_mut());
    let wait = |what: &str, within: u64, ok: &dyn Fn([u32; 2]) -> bool| -> Duration {
        let seen = wait_for(Duration::from_secs(within), || ok(now()).then_some(()));
        let now = now();
        match seen {
            Some((_, took)) => {
                eprintln!("{what}: weights {now:?} after {took:?}");
                took
            }
            None => panic!("{what}: weights {now:?}\n{}", lvsd.log()),
        }
    };
    let count = |n: usize, what: &str| -> [usize; 2] {
        let answers = cluster.gets(n);
        let t = tally(&answers);
        eprintln!("{what}: {n} requests: {t:?}");
        assert!(answers.iter().all(Result::is_ok), "{what}: {t:?}");
        [t.get("r1"), t.get("r2")].map(|c| c.copied().unwrap_or(0))
    };

    // Idle: the configured weights, the requests split evenly.
    wait("idle", 10, &|w| w == [100, 100]);
    let idle = count(20, "idle");
    assert!(idle[0] >= 7 && idle[1] >= 7, "idle: {idle:?}");

    // CPU burnt in r1's group: within a few intervals its weight falls
    // below r2's, then to the bottom; r1 gets few of the new requests.
    groups.burn("r1");
    let took = wait("r1 busy", 20, &|w| w[0] < w[1]);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    wait("r1 at the bottom", 25, &|w| w[0] <= 10 && w[1] >= 50);
    // (The weights go on moving while the requests are served: r2's httpd
    // spends its own quota on them, and every weight change restarts wrr's
    // round; hence a margin over the 1 in 20 the weights alone give.)
    let busy = count(20, "r1 busy");
    eprintln!("after the requests: weights {:?}", now());
    assert!(busy[0] <= 6 && busy[1] >= 14, "r1 busy: {busy:?}");

    // Burner stopped: the weights converge back, the split is even again.
    groups.stop();
    wait("r1 idle again", 30, &|w| w == [100, 100]);
    let again = count(20, "converged");
    assert!(again[0] >= 7 && again[1] >= 7, "converged: {again:?}");

    // r1 busy again, then its agent killed (and the burner stopped): the
    // weight stays as it was while the last report is younger than the
    // 5 s expiry, then goes back to the configured weight.
    groups.burn("r1");
    wait("r1 busy again", 25, &|w| w[0] <= 10);
    drop(agents[0].take());
    let killed = std::time::Instant::now();
    groups.stop();
    std::thread::sleep(Duration::from_millis(300));
    let held = now()[0];
    while killed.elapsed() < Duration::from_secs(3) {
        assert_eq!(
            now()[0],
            held,
            "r1's weight moved {:?} after its agent was killed\n{}",
            killed.elapsed(),
            lvsd.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    wait("r1 expired", 20, &|w| w[0] == 100);
    let back = killed.elapsed();
    eprintln!("r1 back at its configured weight {back:?} after its agent was killed");
    assert!(back >= Duration::from_secs(4), "back after {back:?}");
    assert!(
        lvsd.log().contains("agent silent past expiry"),
        "{}",
        lvsd.log()
    );
    agents[0] = Some(start_agent(1));

    // A download in progress, then its real server's drain file: weight 0,
    // no new requests there, and the download completes in full.
    wait("both at 100", 10, &|w| w == [100, 100]);
    let download = Download::start(&cluster);
    let victim = download.server;
    let other = 3 - victim;
    std::fs::write(drain_file(victim), "").unwrap();
    wait("drained", 10, &|w| w[victim - 1] == 0 && w[other - 1] >= 50);
    let active = support::destinations(&mut ipvs.borrow_mut())
        .iter()
        .find(|d| d.socket_addr() == support::Cluster::real_addr(victim))
        .and_then(|d| d.connections)
        .map_or(0, |c| c.active);
    assert!(active >= 1, "the download's connection is not active");
    let drained = count(10, "drained");
    assert_eq!(drained[victim - 1], 0, "drained: {drained:?}");
    assert_eq!(drained[other - 1], 10, "drained: {drained:?}");
    let body = download.finish();
    assert_eq!(body.len(), BIG + 3, "the download's length");
    assert!(body == big_body(victim), "the download's body differs");
    assert_eq!(now()[victim - 1], 0);

    // Every change logged with its reason and counted in /metrics.
    let log = lvsd.log();
    let r1 = support::Cluster::real_addr(1);
    assert!(
        log.contains(&format!(
            "real server {r1} of TCP {}: feedback weight 100 -> 75 (agent reports",
            support::VIP
        )),
        "{log}"
    );
    assert!(log.contains("agent says drain"), "{log}");
    let metrics = support::in_netns(&cluster.director(), || {
        support::http_get_raw("127.0.0.1:9816".parse().unwrap(), "/metrics")
    });
    let changes = |i: usize, reason: &str| {
        sample(
            &metrics,
            "lvsd_real_server_feedback_changes_total",
            &format!(
                "service=\"TCP {}\",real=\"{}\",reason=\"{reason}\"",
                support::VIP,
                support::Cluster::real_addr(i)
            ),
        )
        .unwrap_or(0.0)
    };
    assert!(changes(1, "load") >= 8.0, "{metrics}");
    assert!(changes(1, "expired") >= 1.0, "{metrics}");
    assert_eq!(changes(victim, "drain"), 1.0, "{metrics}");

    // lvsd killed and started again: the kernel's weights are adopted and
    // the drained 0 is held until the agent answers (`drain` again). (The
    // other real server's weight follows its own load meanwhile.)
    lvsd.kill9();
    let restarted = support::Lvsd::start(&cluster, &path);
    let since = std::time::Instant::now();
    while since.elapsed() < Duration::from_secs(3) {
        let w = now();
        assert!(
            w[victim - 1] == 0 && w[other - 1] >= 1,
            "after a restart: {w:?}\n{}",
            restarted.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        restarted.log().matches("started with").count(),
        2,
        "{}",
        restarted.log()
    );
    drop(restarted);
    drop(agents);
}
