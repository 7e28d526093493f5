//! Guest-test support: a NAT cluster of network namespaces (a client, a
//! director, real servers running busybox `httpd`), `lvsd` started in the
//! director's namespace, the table read through ipvs-proto, and HTTP requests
//! from the client's namespace by a small Rust client.
//!
//! Test code only: the network is built with iproute2's `ip` by its full path
//! (busybox's applet cannot create veth pairs), as the lab's facts say.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ipvs_proto::{Client, Destination, NetNs, ServiceKey};

pub const BIN: &str = env!("CARGO_BIN_EXE_lvsd");
pub const IP: &str = "/usr/sbin/ip";

/// The service's address: the director's client-side address.
pub const VIP: &str = "10.10.0.1:80";

/// Runs a command; panics with its output when it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("could not run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `f` every 50 ms until it gives `Some`, at most `limit`; returns the
/// value and how long it took, or `None` at the limit.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<(T, Duration)> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some((v, start.elapsed()));
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `f` on a thread that entered network namespace `ns`.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .unwrap_or_else(|e| panic!("setns {path}: {e}"));
                f()
            })
            .join()
            .expect("thread in the namespace")
    })
}

/// One HTTP/1.0 GET; the body, trimmed (the real server's name).
pub fn http_get(address: SocketAddr, timeout: Duration) -> Result<String, String> {
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    stream
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut reply)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&reply);
    match text.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.") && head.contains(" 200 ") => {
            Ok(body.trim().to_string())
        }
        _ => Err(format!("bad reply {text:?}")),
    }
}

/// A NAT cluster: client `P-c` (10.10.0.2) and director `P-d` (10.10.0.1) on
/// one veth pair; real server `P-rN` (10.20.N.2) on its own pair with the
/// director (10.20.N.1), its default route through it; `ip_forward` on in
/// the director. Each real server can run busybox `httpd` answering its name
/// (`r1`, `r2`, ...). Dropping it stops everything and deletes the namespaces.
pub struct Cluster {
    pub prefix: String,
    pub dir: tempfile::TempDir,
    web: Vec<Option<Child>>,
    reals: usize,
}

impl Cluster {
    pub fn nat(prefix: &str, reals: usize) -> Self {
        let cluster = Self {
            prefix: prefix.to_string(),
            dir: tempfile::tempdir().expect("temporary directory"),
            web: (0..reals).map(|_| None).collect(),
            reals,
        };
        let c = cluster.client();
        let d = cluster.director();
        for ns in [&c, &d] {
            run(IP, &["netns", "add", ns]);
            run(IP, &["-n", ns, "link", "set", "lo", "up"]);
        }
        run(
            IP,
            &[
                "link", "add", "c0", "netns", &c, "type", "veth", "peer", "name", "d0", "netns", &d,
            ],
        );
        run(IP, &["-n", &c, "addr", "add", "10.10.0.2/24", "dev", "c0"]);
        run(IP, &["-n", &c, "link", "set", "c0", "up"]);
        run(IP, &["-n", &d, "addr", "add", "10.10.0.1/24", "dev", "d0"]);
        run(IP, &["-n", &d, "link", "set", "d0", "up"]);
        for i in 1..=reals {
            let r = cluster.real(i);
            let dev = format!("d{i}");
            run(IP, &["netns", "add", &r]);
            run(IP, &["-n", &r, "link", "set", "lo", "up"]);
            run(
                IP,
                &[
                    "link", "add", "eth0", "netns", &r, "type", "veth", "peer", "name", &dev,
                    "netns", &d,
                ],
            );
            run(
                IP,
                &[
                    "-n",
                    &r,
                    "addr",
                    "add",
                    &format!("10.20.{i}.2/24"),
                    "dev",
                    "eth0",
                ],
            );
            run(IP, &["-n", &r, "link", "set", "eth0", "up"]);
            run(
                IP,
                &[
                    "-n",
                    &r,
                    "route",
                    "add",
                    "default",
                    "via",
                    &format!("10.20.{i}.1"),
                ],
            );
            run(
                IP,
                &[
                    "-n",
                    &d,
                    "addr",
                    "add",
                    &format!("10.20.{i}.1/24"),
                    "dev",
                    &dev,
                ],
            );
            run(IP, &["-n", &d, "link", "set", &dev, "up"]);
            let www = cluster.dir.path().join(format!("www{i}"));
            std::fs::create_dir_all(&www).unwrap();
            std::fs::write(www.join("index.html"), format!("r{i}\n")).unwrap();
        }
        run(
            IP,
            &[
                "netns",
                "exec",
                &d,
                "sh",
                "-c",
                "echo 1 > /proc/sys/net/ipv4/ip_forward",
            ],
        );
        cluster
    }

    pub fn client(&self) -> String {
        format!("{}-c", self.prefix)
    }

    pub fn director(&self) -> String {
        format!("{}-d", self.prefix)
    }

    pub fn real(&self, i: usize) -> String {
        format!("{}-r{i}", self.prefix)
    }

    /// Real server `i`'s address and port.
    pub fn real_addr(i: usize) -> SocketAddr {
        format!("10.20.{i}.2:80").parse().unwrap()
    }

    pub fn start_web(&mut self, i: usize) {
        let www = self.dir.path().join(format!("www{i}"));
        let child = Command::new(IP)
            .args([
                "netns",
                "exec",
                &self.real(i),
                "httpd",
                "-f",
                "-p",
                "80",
                "-h",
            ])
            .arg(&www)
            .stdin(Stdio::null())
            .spawn()
            .expect("busybox httpd");
        self.web[i - 1] = Some(child);
        // Listening once a connection from the director is accepted.
        let address = Self::real_addr(i);
        let d = self.director();
        let up = wait_for(Duration::from_secs(5), || {
            in_netns(&d, || {
                TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()
            })
        });
        assert!(up.is_some(), "httpd on {address} did not start");
    }

    /// The process id of real server `i`'s httpd (it forks one child per
    /// connection, which stays in the httpd's cgroup).
    pub fn web_pid(&self, i: usize) -> Option<u32> {
        self.web[i - 1].as_ref().map(Child::id)
    }

    pub fn stop_web(&mut self, i: usize) {
        if let Some(mut child) = self.web[i - 1].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One request from the client to the VIP.
    pub fn get(&self) -> Result<String, String> {
        in_netns(&self.client(), || {
            http_get(VIP.parse().unwrap(), Duration::from_secs(3))
        })
    }

    /// `n` requests from the client; the answers.
    pub fn gets(&self, n: usize) -> Vec<Result<String, String>> {
        in_netns(&self.client(), || {
            (0..n)
                .map(|_| http_get(VIP.parse().unwrap(), Duration::from_secs(3)))
                .collect()
        })
    }

    /// An IPVS client inside the director's namespace.
    pub fn ipvs(&self) -> Client {
        Client::connect_in(NetNs::Named(&self.director())).expect("IPVS client in the director")
    }

    /// Writes a configuration file in the cluster's directory.
    pub fn write_config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 1..=self.reals {
            self.stop_web(i);
        }
        let _ = Command::new(IP)
            .args(["netns", "exec", &self.director(), "ipvsadm", "-C"])
            .status();
        let mut names = vec![self.client(), self.director()];
        names.extend((1..=self.reals).map(|i| self.real(i)));
        for ns in names {
            let _ = Command::new(IP).args(["netns", "del", &ns]).status();
        }
    }
}

/// The TCP service on the VIP.
pub fn vip_key() -> ServiceKey {
    ServiceKey::tcp(VIP.parse().unwrap())
}

/// The destinations of the VIP service: (address, weight), sorted.
pub fn weights(client: &mut Client) -> Vec<(SocketAddr, u32)> {
    let mut out: Vec<(SocketAddr, u32)> = destinations(client)
        .iter()
        .map(|d| (d.socket_addr(), d.weight))
        .collect();
    out.sort();
    out
}

pub fn destinations(client: &mut Client) -> Vec<Destination> {
    client.destinations(&vip_key()).unwrap_or_default()
}

/// A running `lvsd run` in the director's namespace, stderr to a file.
pub struct Lvsd {
    pub child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub config: PathBuf,
}

impl Lvsd {
    pub fn start(cluster: &Cluster, config: &Path) -> Self {
        let socket = cluster.dir.path().join("lvsd.sock");
        let log = cluster.dir.path().join("lvsd.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(IP)
            .args(["netns", "exec", &cluster.director(), BIN, "run", "--config"])
            .arg(config)
            .arg("--socket")
            .arg(&socket)
            .args(["--metrics", "127.0.0.1:9816"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("lvsd run");
        let lvsd = Self {
            child,
            socket,
            log,
            config: config.to_path_buf(),
        };
        let up = wait_for(Duration::from_secs(10), || {
            lvsd.socket.exists().then_some(())
        });
        assert!(up.is_some(), "lvsd did not start:\n{}", lvsd.log());
        lvsd
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `lvsd ARGS --socket SOCKET`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .arg("--socket")
            .arg(&self.socket)
            .output()
            .expect("lvsd")
    }

    pub fn status_json(&self) -> serde_json::Value {
        let out = self.ctl(&["status", "--json"]);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn terminate(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

impl Drop for Lvsd {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A GET of `path`; the whole reply as text (empty on any error).
pub fn http_get_raw(address: SocketAddr, path: &str) -> String {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        return String::new();
    };
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok();
    let _ = stream.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes());
    let mut reply = String::new();
    let _ = stream.take(1 << 20).read_to_string(&mut reply);
    reply
}
