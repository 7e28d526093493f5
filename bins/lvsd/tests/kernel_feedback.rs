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

/// cgroup2 mounted outside /sys (see /work/shared/cluster-lab-facts.md) with
/// a group per real server limited to 20 % of a CPU; unmounted on drop.
struct Groups {
    mount: std::path::PathBuf,
    burner: Option<Child>,
}

impl Groups {
    fn new() -> Groups {
        let mount = std::path::PathBuf::from(format!("/tmp/lvsd-cg-{}", std::process::id()));
        std::fs::create_dir_all(&mount).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "cgroup2", "none"])
            .arg(&mount)
            .status()
            .expect("running mount");
        assert!(ok.success(), "mount -t cgroup2 failed");
        std::fs::write(mount.join("cgroup.subtree_control"), "+cpu").unwrap();
        for g in ["rs2", "rs3"] {
            std::fs::create_dir(mount.join(g)).unwrap();
            std::fs::write(mount.join(g).join("cpu.max"), "20000 100000").unwrap();
        }
        Groups {
            mount,
            burner: None,
        }
    }

    fn dir(&self, g: &str) -> String {
        self.mount.join(g).to_string_lossy().into_owned()
    }

    fn burn(&mut self, g: &str) {
        let child = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("starting the busy loop");
        std::fs::write(
            self.mount.join(g).join("cgroup.procs"),
            child.id().to_string(),
        )
        .unwrap();
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
        for g in ["rs2", "rs3"] {
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
                let mut groups = Groups::new();
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
