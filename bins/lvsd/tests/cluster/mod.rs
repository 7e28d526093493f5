//! Clusters of network namespaces inside the kernel lab's guest: hosts, veth
//! links, a bridged LAN, busybox web servers, commands run "on" a host with
//! `ip netns exec`, and snapshots of a host's addresses, routes and
//! `/proc/sys/net` values.
//!
//! Reusable by any guest suite:
//! `#[path = "../../lvsd/tests/cluster/mod.rs"] mod cluster;` (from another
//! `bins/*/tests/`). Everything it makes is removed when the [`Cluster`] is
//! dropped, also when a test fails.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// iproute2's `ip` (busybox's applet cannot create veth pairs or bridges).
pub const IP: &str = "/usr/sbin/ip";

/// What a command printed, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with everything printed unless the exit status is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32, what: &str) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: exit {:?}\nstdout:\n{}stderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless it exited 0.
    #[track_caller]
    pub fn ok(self, what: &str) -> Self {
        self.expect_code(0, what)
    }
}

/// Runs `program args` in the calling process's namespaces.
pub fn run(program: &str, args: &[&str]) -> Run {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Run::from(out)
}

/// A cluster of hosts, each a network namespace named `<prefix>-<host>`.
#[derive(Debug)]
pub struct Cluster {
    prefix: String,
    hosts: Vec<String>,
    /// Per-host directories (state files, web roots): `<root>/<host>`.
    root: PathBuf,
    children: Vec<Child>,
}

impl Cluster {
    /// An empty cluster; `prefix` keeps its namespaces apart from others'.
    pub fn new(prefix: &str) -> Self {
        let root = std::env::temp_dir().join(format!("cluster-{prefix}"));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).expect("cluster directory");
        Self {
            prefix: prefix.to_owned(),
            hosts: Vec::new(),
            root,
            children: Vec::new(),
        }
    }

    /// The namespace name of `host`.
    pub fn netns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// A directory of the host's own (its `/run/lvs` stand-in, web root, ...).
    pub fn dir(&self, host: &str) -> PathBuf {
        self.root.join(host)
    }

    /// Adds a host: a namespace with `lo` up and a directory of its own.
    pub fn add_host(&mut self, host: &str) {
        let ns = self.netns(host);
        let _ = run(IP, &["netns", "del", &ns]);
        run(IP, &["netns", "add", &ns]).ok("ip netns add");
        self.hosts.push(host.to_owned());
        fs::create_dir_all(self.dir(host)).expect("host directory");
        self.on(host, IP, &["link", "set", "lo", "up"]).ok("lo up");
        // No duplicate address detection: link-local addresses are final at
        // once, so snapshots do not change while it runs.
        self.sh(
            host,
            "echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad; \
             echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad",
        )
        .ok("accept_dad");
    }

    /// Runs `program args` on `host` (`ip netns exec`).
    pub fn on(&self, host: &str, program: &str, args: &[&str]) -> Run {
        let ns = self.netns(host);
        let mut all = vec!["netns", "exec", ns.as_str(), program];
        all.extend_from_slice(args);
        run(IP, &all)
    }

    /// Runs a shell command line on `host`.
    pub fn sh(&self, host: &str, script: &str) -> Run {
        self.on(host, "sh", &["-c", script])
    }

    /// A veth pair between `a` (device `a_dev`) and `b` (device `b_dev`), both
    /// up, each with its address if given (`CIDR`).
    pub fn link(
        &self,
        (a, a_dev, a_addr): (&str, &str, Option<&str>),
        (b, b_dev, b_addr): (&str, &str, Option<&str>),
    ) {
        let (na, nb) = (self.netns(a), self.netns(b));
        run(
            IP,
            &[
                "link", "add", a_dev, "netns", &na, "type", "veth", "peer", "name", b_dev, "netns",
                &nb,
            ],
        )
        .ok("ip link add veth");
        for (host, dev, addr) in [(a, a_dev, a_addr), (b, b_dev, b_addr)] {
            if let Some(addr) = addr {
                self.on(host, IP, &["address", "add", addr, "dev", dev])
                    .ok("ip address add");
            }
            self.on(host, IP, &["link", "set", dev, "up"])
                .ok("ip link set up");
        }
    }

    /// A LAN: host `lan` with bridge `br0`, and each `(host, CIDR)` linked to it
    /// by its device `eth0` (the bridge's port is named after the host).
    pub fn lan(&mut self, lan: &str, members: &[(&str, &str)]) {
        self.add_host(lan);
        self.on(lan, IP, &["link", "add", "br0", "type", "bridge"])
            .ok("ip link add bridge");
        self.on(lan, IP, &["link", "set", "br0", "up"])
            .ok("bridge up");
        for (host, addr) in members {
            self.link((host, "eth0", Some(addr)), (lan, host, None));
            self.on(lan, IP, &["link", "set", host, "master", "br0"])
                .ok("bridge port");
        }
    }

    /// Starts busybox `httpd` on port 80 of `host`, serving `host`'s name.
    pub fn web_server(&mut self, host: &str) {
        let www = self.dir(host).join("www");
        fs::create_dir_all(&www).expect("web root");
        fs::write(www.join("index.html"), format!("{host}\n")).expect("index.html");
        let ns = self.netns(host);
        let child = Command::new(IP)
            .args([
                "netns", "exec", &ns, "busybox", "httpd", "-f", "-p", "80", "-h",
            ])
            .arg(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("busybox httpd");
        self.children.push(child);
        // Wait until it listens (port 80 = 0050, state 0A; busybox listens on
        // IPv6's any address, which takes IPv4 too).
        for _ in 0..400 {
            let tcp = self
                .on(host, "cat", &["/proc/net/tcp", "/proc/net/tcp6"])
                .stdout;
            if tcp
                .lines()
                .any(|l| l.contains(":0050 ") && l.contains(" 0A "))
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("httpd on {host} did not start listening");
    }

    /// One HTTP GET of `url` from `host`: the page, or `None` when it failed.
    pub fn get(&self, host: &str, url: &str) -> Option<String> {
        // busybox wget -T crashed in the guest: bound it with timeout (generous:
        // the emulated guest slows down when the host is busy).
        let out = self.on(host, "timeout", &["10", "wget", "-q", "-O", "-", url]);
        (out.code == Some(0)).then(|| out.stdout.trim().to_owned())
    }

    /// `host`'s addresses, routes (every table) and every readable
    /// `/proc/sys/net` value, as one comparable map.
    pub fn snapshot(&self, host: &str) -> BTreeMap<String, String> {
        let mut snap = BTreeMap::new();
        let addrs = self
            .on(host, IP, &["-o", "address", "show"])
            .ok("ip address show");
        snap.insert("ip address".into(), strip_lifetimes(&addrs.stdout));
        let routes = self
            .on(host, IP, &["route", "show", "table", "all"])
            .ok("ip route show");
        snap.insert("ip route".into(), routes.stdout);
        let routes6 = self
            .on(host, IP, &["-6", "route", "show", "table", "all"])
            .ok("ip -6 route show");
        snap.insert("ip -6 route".into(), routes6.stdout);
        let links = self
            .on(host, IP, &["-o", "link", "show"])
            .ok("ip link show");
        snap.insert("ip link".into(), links.stdout);
        // grep -r prints FILE:VALUE for every readable file (-s: no messages
        // for unreadable ones). Counters are not settings.
        let sysctl = self.on(host, "grep", &["-rs", ".", "/proc/sys/net"]);
        for line in sysctl.stdout.lines() {
            if let Some((file, value)) = line.split_once(':')
                && !file.ends_with("_count")
            {
                snap.entry(file.to_owned())
                    .and_modify(|v: &mut String| {
                        v.push('\n');
                        v.push_str(value);
                    })
                    .or_insert_with(|| value.to_owned());
            }
        }
        assert!(
            snap.contains_key("/proc/sys/net/ipv4/ip_forward"),
            "no /proc/sys/net in the snapshot of {host}"
        );
        snap
    }
}

/// Leaves out of a snapshot what the kernel creates the first time `dev` goes
/// up and keeps when it goes down again: its default qdisc (`noop` becomes
/// `noqueue`) and its IPv6 configuration (`/proc/sys/net/ipv6/{conf,neigh}/DEV`).
/// Neither is a setting anyone made; every other value must still match.
pub fn forget_first_up_traces(snap: &mut BTreeMap<String, String>, dev: &str) {
    let conf = format!("/proc/sys/net/ipv6/conf/{dev}/");
    let neigh = format!("/proc/sys/net/ipv6/neigh/{dev}/");
    snap.retain(|k, _| !k.starts_with(&conf) && !k.starts_with(&neigh));
    if let Some(links) = snap.get_mut("ip link") {
        let marker = format!(": {dev}@");
        *links = links
            .lines()
            .map(|line| {
                if !line.contains(&marker) {
                    return line.to_owned();
                }
                let mut words: Vec<&str> = line.split(' ').collect();
                if let Some(i) = words.iter().position(|w| *w == "qdisc")
                    && i + 1 < words.len()
                {
                    words[i + 1] = "?";
                }
                words.join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
}

/// `ip -o address` without the lifetimes that count down.
fn strip_lifetimes(text: &str) -> String {
    text.lines()
        .map(|l| l.split("valid_lft").next().unwrap_or(l).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts two snapshots are equal, naming every key that differs.
#[track_caller]
pub fn assert_same(
    host: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) {
    let mut diffs = Vec::new();
    for (key, value) in before {
        match after.get(key) {
            Some(v) if v == value => {}
            Some(v) => diffs.push(format!("{key}: was {value:?}, now {v:?}")),
            None => diffs.push(format!("{key}: was {value:?}, now gone")),
        }
    }
    for (key, value) in after {
        if !before.contains_key(key) {
            diffs.push(format!("{key}: new, {value:?}"));
        }
    }
    assert!(diffs.is_empty(), "{host} differs:\n{}", diffs.join("\n"));
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for host in &self.hosts {
            let _ = run(IP, &["netns", "del", &format!("{}-{host}", self.prefix)]);
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// The workspace binary `name`, beside this package's own (the kernel lab puts
/// the binaries a suite declares there).
pub fn workspace_bin(own: &str, name: &str) -> String {
    Path::new(own)
        .with_file_name(name)
        .to_string_lossy()
        .into_owned()
}
