//! A NAT cluster of network namespaces inside the kernel lab's guest, with
//! real HTTP traffic: a client, a director and two real servers, each a
//! named namespace (`/run/netns/TAG-cli`, `TAG-dir`, `TAG-rs1`, `TAG-rs2`).
//!
//! ```text
//! client 10.77.1.2 --veth-- 10.77.1.1 (VIP) director 10.77.2.1 --veth-- 10.77.2.2 rs1
//!                                                    10.77.3.1 --veth-- 10.77.3.2 rs2
//! ```
//!
//! The director forwards (`ip_forward=1`); the real servers route back
//! through it, so `-m` destinations work. Each real server runs busybox
//! `httpd`, whose page is its own name (`rs1`, `rs2`). Requests are made
//! by a Rust TCP client on a thread that entered the client's namespace.
//! Everything is undone on drop (director table flushed, servers stopped,
//! namespaces deleted), also when a test fails.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// iproute2's `ip` (busybox's applet cannot make veth pairs).
pub const IP: &str = "/usr/sbin/ip";
/// The virtual address, on the director's client-side device.
pub const VIP: &str = "10.77.1.1";
/// The real servers' addresses.
pub const RS: [&str; 2] = ["10.77.2.2", "10.77.3.2"];

/// A running cluster; dropped, it is gone.
#[derive(Debug)]
pub struct Cluster {
    pub tag: String,
    servers: Vec<Child>,
    root: std::path::PathBuf,
}

fn run(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Cluster {
    /// Builds the cluster; `tag` (a few letters) names its namespaces.
    pub fn new(tag: &str) -> Self {
        let mut cluster = Cluster {
            tag: tag.to_string(),
            servers: Vec::new(),
            root: std::env::temp_dir().join(format!("{tag}-www")),
        };
        cluster.cleanup(); // what a failed earlier run may have left
        for host in ["cli", "dir", "rs1", "rs2"] {
            let ns = cluster.ns(host);
            run(IP, &["netns", "add", &ns]);
            run(IP, &["-n", &ns, "link", "set", "lo", "up"]);
        }
        let link = |a: &str, a_dev: &str, a_addr: &str, b: &str, b_dev: &str, b_addr: &str| {
            let (na, nb) = (cluster.ns(a), cluster.ns(b));
            run(
                IP,
                &[
                    "link", "add", a_dev, "netns", &na, "type", "veth", "peer", "name", b_dev,
                    "netns", &nb,
                ],
            );
            for (ns, dev, addr) in [(&na, a_dev, a_addr), (&nb, b_dev, b_addr)] {
                run(IP, &["-n", ns, "addr", "add", addr, "dev", dev]);
                run(IP, &["-n", ns, "link", "set", dev, "up"]);
            }
        };
        link("cli", "eth0", "10.77.1.2/24", "dir", "eth0", "10.77.1.1/24");
        link("rs1", "eth0", "10.77.2.2/24", "dir", "eth1", "10.77.2.1/24");
        link("rs2", "eth0", "10.77.3.2/24", "dir", "eth2", "10.77.3.1/24");
        run(
            IP,
            &[
                "-n",
                &cluster.ns("rs1"),
                "route",
                "add",
                "default",
                "via",
                "10.77.2.1",
            ],
        );
        run(
            IP,
            &[
                "-n",
                &cluster.ns("rs2"),
                "route",
                "add",
                "default",
                "via",
                "10.77.3.1",
            ],
        );
        cluster.exec("dir", "sysctl", &["-w", "net.ipv4.ip_forward=1"]);
        for (i, name) in ["rs1", "rs2"].into_iter().enumerate() {
            let dir = cluster.root.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("index.html"), format!("{name}\n")).unwrap();
            let child = Command::new(IP)
                .args([
                    "netns",
                    "exec",
                    &cluster.ns(name),
                    "httpd",
                    "-f",
                    "-p",
                    "80",
                    "-h",
                ])
                .arg(&dir)
                .stdin(Stdio::null())
                .spawn()
                .expect("httpd");
            cluster.servers.push(child);
            // Ready when the director reaches it directly.
            let addr: SocketAddr = format!("{}:80", RS[i]).parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            let ok = cluster.in_ns("dir", || {
                loop {
                    if get(addr).is_ok() {
                        return true;
                    }
                    if Instant::now() > deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
            assert!(ok, "httpd on {name} did not answer");
        }
        cluster
    }

    /// The namespace name of `host` (`cli`, `dir`, `rs1`, `rs2`).
    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.tag)
    }

    /// Runs `program` in `host`'s namespace and returns its output (any
    /// status).
    pub fn output(&self, host: &str, program: &str, args: &[&str], input: Option<&str>) -> Output {
        let mut child = Command::new(IP)
            .args(["netns", "exec", &self.ns(host), program])
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        if let Some(input) = input {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Runs `program` in `host`'s namespace; panics unless it succeeds.
    pub fn exec(&self, host: &str, program: &str, args: &[&str]) -> String {
        let out = self.output(host, program, args, None);
        assert!(
            out.status.success(),
            "{program} {args:?} in {host}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `f` on a thread inside `host`'s namespace.
    pub fn in_ns<T: Send>(&self, host: &str, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.ns(host));
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    enter(&path);
                    f()
                })
                .join()
                .expect("namespace thread")
        })
    }

    /// One HTTP request from the client to the VIP: the page (the name of
    /// the real server that answered).
    pub fn request(&self) -> Result<String, String> {
        self.in_ns("cli", || get(vip()))
    }

    /// Starts a client that sends `per_second` requests a second to the
    /// VIP, one connection each, on a fixed schedule, until stopped.
    pub fn client(&self, per_second: f64) -> Client {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let path = format!("/run/netns/{}", self.ns("cli"));
        let handle = std::thread::spawn(move || {
            enter(&path);
            let mut tally = Tally::default();
            let start = Instant::now();
            let period = Duration::from_secs_f64(1.0 / per_second);
            let mut next = start;
            while !flag.load(Ordering::Relaxed) {
                match get(vip()) {
                    Ok(_) => tally.ok += 1,
                    Err(e) => {
                        tally.failed += 1;
                        if tally.errors.len() < 5 {
                            tally.errors.push(e);
                        }
                    }
                }
                next += period;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
            tally.seconds = start.elapsed().as_secs_f64();
            tally
        });
        Client {
            stop,
            handle: Some(handle),
        }
    }

    fn cleanup(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.servers.clear();
        let dir = self.ns("dir");
        if std::path::Path::new("/run/netns").join(&dir).exists() {
            let _ = Command::new(IP)
                .args(["netns", "exec", &dir, "ipvsadm", "-C"])
                .output();
        }
        for host in ["cli", "dir", "rs1", "rs2"] {
            let _ = Command::new(IP)
                .args(["netns", "del", &self.ns(host)])
                .stderr(Stdio::null())
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn vip() -> SocketAddr {
    format!("{VIP}:80").parse().unwrap()
}

/// Moves the calling thread into the namespace at `path`.
pub fn enter(path: &str) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

/// One HTTP/1.0 GET of `/`: the page, or what went wrong.
pub fn get(addr: SocketAddr) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| format!("read: {e}"))?;
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end: {reply:?}"))?;
    if !head.contains(" 200 ") {
        return Err(format!("status: {head:?}"));
    }
    Ok(body.trim().to_string())
}

/// A client loop's result.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub ok: u64,
    pub failed: u64,
    pub errors: Vec<String>,
    pub seconds: f64,
}

/// A running client loop.
#[derive(Debug)]
pub struct Client {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<Tally>>,
}

impl Client {
    /// Stops the loop and returns what it counted.
    pub fn stop(mut self) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().expect("client thread")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
