//! Interop on loopback: Debian's HAProxy, `agent-check` pointed at a running
//! `lvs-agent serve`, sets its server's weight and state from the agent's
//! answers; read back from HAProxy's stats socket. The agent speaks the
//! real protocol, not a private dialect.
mod support;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::Agent;

const MISSING: &str = "haproxy is not installed: this interop test needs Debian's haproxy \
                       (apt-get install haproxy; `cargo xtask ci` installs it)";

/// A foreground HAProxy with one backend server checked by an agent.
struct Haproxy {
    child: Child,
    socket: PathBuf,
}

impl Haproxy {
    fn start(dir: &Path, agent: &Agent) -> Haproxy {
        let socket = dir.join("admin.sock");
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n    stats socket {} mode 600 level admin\n\
                 defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n\
                 backend be\n    server s1 127.0.0.1:9 weight 100 agent-check agent-addr {} agent-port {} agent-inter 200ms\n",
                socket.display(),
                agent.addr.ip(),
                agent.addr.port()
            ),
        )
        .unwrap();
        let check = Command::new("haproxy").arg("-v").output();
        assert!(check.is_ok_and(|o| o.status.success()), "{MISSING}");
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&cfg)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(MISSING);
        let end = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&socket).is_err() {
            assert!(
                Instant::now() < end,
                "haproxy's stats socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Haproxy { child, socket }
    }

    fn command(&self, cmd: &str) -> String {
        let mut s = UnixStream::connect(&self.socket).expect("stats socket");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(format!("{cmd}\n").as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    /// `show servers state be`, the line of s1, by column name.
    fn server_state(&self) -> HashMap<String, String> {
        let out = self.command("show servers state be");
        let header = out
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or_else(|| panic!("no header in {out:?}"));
        let row = out
            .lines()
            .find(|l| l.split(' ').nth(3) == Some("s1"))
            .unwrap_or_else(|| panic!("no s1 in {out:?}"));
        header
            .split(' ')
            .map(str::to_owned)
            .zip(row.split(' ').map(str::to_owned))
            .collect()
    }

    /// `show stat`: the status column of s1 (UP, DRAIN, no check, ...).
    fn status(&self) -> String {
        let out = self.command("show stat");
        let header: Vec<&str> = out
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let col = header
            .iter()
            .position(|&h| h == "status")
            .expect("status column");
        let row = out
            .lines()
            .find(|l| l.starts_with("be,s1,"))
            .expect("s1 row");
        row.split(',').nth(col).unwrap_or("").to_owned()
    }

    /// Polls until `pred` holds on s1's state (10 s at most).
    fn wait_for(&self, what: &str, pred: impl Fn(&HashMap<String, String>, &str) -> bool) {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let state = self.server_state();
            let status = self.status();
            if pred(&state, &status) {
                return;
            }
            assert!(
                Instant::now() < end,
                "{what}: haproxy shows {state:?}, status {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uweight(s: &HashMap<String, String>) -> Option<u32> {
    s.get("srv_uweight")?.parse().ok()
}

/// SRV_ADMF_FDRAIN, the administrative drain an agent's `drain` sets.
const ADMIN_DRAIN: u32 = 0x08;

fn admin(s: &HashMap<String, String>) -> u32 {
    s.get("srv_admin_state")
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX)
}

#[test]
fn haproxy_takes_weight_and_drain_from_lvs_agent() {
    let dir = tempfile::tempdir().unwrap();
    let value = dir.path().join("load");
    let drain = dir.path().join("drain");
    std::fs::write(&value, "30\n").unwrap();
    let cmd = format!("cat {}", value.display());
    let agent = Agent::start(&[
        "--command",
        &cmd,
        "--interval",
        "100ms",
        "--window",
        "100ms",
        "--drain-file",
        drain.to_str().unwrap(),
    ]);
    let haproxy = Haproxy::start(dir.path(), &agent);

    // Load 30 %: 70 % of the configured weight 100.
    haproxy.wait_for("weight 70", |s, _| uweight(s) == Some(70));
    // Load 60 %: 40.
    std::fs::write(&value, "60\n").unwrap();
    haproxy.wait_for("weight 40", |s, _| uweight(s) == Some(40));
    // The drain file: HAProxy's administrative DRAIN, set by the agent.
    std::fs::write(&drain, "").unwrap();
    haproxy.wait_for("drain", |s, status| {
        admin(s) & ADMIN_DRAIN != 0 && status == "DRAIN (agent)"
    });
    // Gone again: `ready` lifts it, the weight follows the load.
    std::fs::remove_file(&drain).unwrap();
    std::fs::write(&value, "0\n").unwrap();
    haproxy.wait_for("ready, weight 100", |s, status| {
        admin(s) == 0 && uweight(s) == Some(100) && !status.starts_with("DRAIN")
    });
}

#[test]
fn haproxy_follows_max_weight_percent() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::start(&["--command", "echo 0", "--max-weight-percent", "25"]);
    let haproxy = Haproxy::start(dir.path(), &agent);
    haproxy.wait_for("weight 25", |s, _| uweight(s) == Some(25));
}
