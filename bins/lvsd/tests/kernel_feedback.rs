//! Kernel-lab suite: load feedback in `lvsd` from `lvs-agent serve` agents
//! (`cargo xtask kernel-lab -p lvsd --test kernel_feedback`). Two real
//! servers' addresses on `lo` of a namespace of the test's own, an agent on
//! each (the load from a file through `--command`, a drain file), `lvsd`
//! with `agent = { ... }` on both: the kernel's weights follow the agents.

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
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
                support::run(support::IP, &["link", "set", "lo", "up"]);
                for a in ["10.0.1.2/32", "10.0.1.3/32"] {
                    support::run(support::IP, &["addr", "add", a, "dev", "lo"]);
                }
                let dir = tempfile::tempdir().unwrap();
                let file = |name: &str| dir.path().join(name);
                std::fs::write(file("load2"), "0\n").unwrap();
                std::fs::write(file("load3"), "0\n").unwrap();
                let mut agent2 = Some(agent("10.0.1.2:3333", &file("load2"), &file("drain2")));
                let _agent3 = agent("10.0.1.3:3333", &file("load3"), &file("drain3"));
                let config = file("lvsd.toml");
                std::fs::write(
                    &config,
                    "[[service]]\naddress = \"10.0.0.1:80\"\nscheduler = \"wrr\"\n\
                     [[service.real]]\naddress = \"10.0.1.2:80\"\nweight = 100\nagent = { port = 3333, interval = \"500ms\" }\n\
                     [[service.real]]\naddress = \"10.0.1.3:80\"\nweight = 100\nagent = { port = 3333, interval = \"500ms\" }\n",
                )
                .unwrap();
                let log = file("lvsd.log");
                let lvsd = Killed(
                    Command::new(support::BIN)
                        .arg("run")
                        .arg("--config")
                        .arg(&config)
                        .arg("--socket")
                        .arg(file("sock"))
                        .args(["--metrics", "off"])
                        .stderr(std::fs::File::create(&log).unwrap())
                        .spawn()
                        .unwrap(),
                );
                let mut ipvs = ipvs_proto::Client::connect().unwrap();
                let key = ipvs_proto::ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
                let mut weights = || -> Vec<u32> {
                    let mut d = ipvs.destinations(&key).unwrap_or_default();
                    d.sort_by_key(|d| d.socket_addr());
                    d.iter().map(|d| d.weight).collect()
                };
                let text = || std::fs::read_to_string(&log).unwrap_or_default();
                let mut expect = |want: [u32; 2], within: u64, what: &str| {
                    let seen = wait_for(Duration::from_secs(within), || {
                        (weights() == want).then_some(())
                    });
                    assert!(seen.is_some(), "{what}: weights {:?}, not {want:?}\n{}", weights(), text());
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
                // A dead agent: its weight stays (until the 30 s expiry).
                drop(agent2.take());
                std::thread::sleep(Duration::from_secs(3));
                assert_eq!(weights(), [40, 100], "{}", text());
                let log = text();
                assert!(log.contains("feedback weight 100 -> 75"), "{log}");
                assert!(log.contains("agent says drain"), "{log}");
                assert!(log.contains("agent of real server 10.0.1.2:80"), "{log}");
                drop(lvsd);
                ipvs.flush().unwrap();
            })
            .join()
            .unwrap()
    });
}
