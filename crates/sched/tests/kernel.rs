//! The live kernel's scheduling decisions, observed inside the kernel lab.
//!
//! Every test here needs a Linux kernel with IPVS, root and the real `ipvsadm`,
//! so it is `#[ignore]`d on the host and run by `cargo xtask kernel-lab` in a
//! qemu guest (see `docs/kernel-lab.md`). Each test takes a fresh network
//! namespace of its own.
//!
//! How a decision is observed: IPVS schedules connections from local clients at
//! `LOCAL_OUT`, inside the `connect()` that sends the SYN. Attempt *i* comes from
//! client port `base + i`, so `/proc/net/ip_vs_conn` (client port → real server)
//! read back in port order is the kernel's sequence of picks. Every real-server
//! address has a listener, so every connection is established (active).
//!
//! The scenario tests build services with random weights through the real
//! `ipvsadm`, make the connections, and compare the kernel's picks with what
//! [`sched::Service`] picks for the same service built the same way.
//! `SCHED_KERNEL_SEED=N` (`cargo xtask kernel-lab --env SCHED_KERNEL_SEED=N`)
//! replays another set of scenarios.
//!
//! Kernel releases differ ([`sched::CHANGES`]): every model here is built with
//! the facts `sched` gives for the running release, read from `/proc/version`.
//! `SCHED_KERNEL_FACTS=RELEASE` makes the models take another release's facts
//! instead; on a kernel whose behaviour differs from that release's, the
//! release-dependent tests then fail, which is how the lab shows that they
//! can tell the releases apart.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, getsockopt, socket, sockopt,
};
use std::sync::OnceLock;

use sched::{Destination, KernelFacts, KernelRelease, Overhead, Scheduler, Service, ThresholdRule};

// The namespace set-up of every kernel-lab suite, kept with ipvs-proto's
// (test code shared by path: sched has no dependency on ipvs-proto).
#[path = "../../ipvs-proto/tests/support/netns.rs"]
mod netns;

use netns::run;

/// The release whose facts the models take: `SCHED_KERNEL_FACTS` when set,
/// else the running kernel's, from `/proc/version`.
fn release() -> KernelRelease {
    static RELEASE: OnceLock<KernelRelease> = OnceLock::new();
    *RELEASE.get_or_init(|| {
        if let Ok(forced) = std::env::var("SCHED_KERNEL_FACTS") {
            let release = forced
                .parse()
                .unwrap_or_else(|e| panic!("SCHED_KERNEL_FACTS={forced}: {e}"));
            eprintln!("models take the facts of {release} (SCHED_KERNEL_FACTS)");
            return release;
        }
        let text = std::fs::read_to_string("/proc/version").expect("/proc/version");
        KernelRelease::from_proc_version(&text)
            .unwrap_or_else(|| panic!("no kernel release in /proc/version: {text}"))
    })
}

/// What `sched` says of [`release`].
fn facts() -> KernelFacts {
    KernelFacts::for_release(release())
}

/// The client address: `10.0.0.1/8` on `lo` makes all of 10/8 local.
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// Empties the IPVS table of the thread's namespace when dropped, also when a
/// test panics: service dumps are not isolated between namespaces, and a table
/// left behind (deleted asynchronously with its namespace) could disturb the
/// dumps of the next test.
#[must_use]
struct FlushOnDrop;

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("ipvsadm").arg("-C").status();
    }
}

/// Moves the calling thread into a new network namespace with `lo` up and 10/8
/// local. IPVS state is per namespace, so the test starts with an empty table.
fn enter_fresh_netns() -> FlushOnDrop {
    netns::enter_fresh_netns();
    run("ip", &["addr", "add", "10.0.0.1/8", "dev", "lo"]);
    FlushOnDrop
}

/// Feeds `rules` (one ipvsadm command line each) to one `ipvsadm -R`.
fn ipvsadm_restore(rules: &str) {
    use std::io::Write;
    let mut child = Command::new("ipvsadm")
        .arg("-R")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("could not run ipvsadm");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(rules.as_bytes())
        .expect("writing to ipvsadm -R");
    let out = child.wait_with_output().expect("ipvsadm -R");
    // ipvsadm -R goes on after kernel errors and exits 0: its stderr tells.
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ipvsadm -R failed ({}): {}\nrules:\n{rules}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One connection attempt from `CLIENT:port` to `to`, waited for until the
/// handshake finished (`Ok`, the socket kept open so the connection stays
/// established) or failed (`Err`, as when no destination is available and IPVS
/// answers with an ICMP port unreachable).
fn connect_from(port: u16, to: SocketAddrV4) -> Result<TcpStream, Errno> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(CLIENT, port)),
    )
    .unwrap_or_else(|e| panic!("bind {CLIENT}:{port}: {e}"));
    match connect(fd.as_raw_fd(), &SockaddrIn::from(to)) {
        Ok(()) | Err(Errno::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
    let ready = poll(&mut fds, PollTimeout::from(5000u16)).expect("poll");
    if ready == 0 {
        return Err(Errno::ETIMEDOUT);
    }
    match getsockopt(&fd, sockopt::SocketError).expect("SO_ERROR") {
        0 => Ok(TcpStream::from(fd)),
        err => Err(Errno::from_raw(err)),
    }
}

/// `/proc/net/ip_vs_conn` of this thread's namespace: client port → (virtual
/// address, real server address).
fn connections() -> BTreeMap<u16, (SocketAddrV4, SocketAddrV4)> {
    // `/proc/net` is the namespace of the process's main thread; this thread
    // has a namespace of its own.
    let path = "/proc/thread-self/net/ip_vs_conn";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut conns = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 || f[0] != "TCP" {
            continue;
        }
        let client = hex_socket_addr(f[1], f[2]);
        if *client.ip() == CLIENT {
            conns.insert(
                client.port(),
                (hex_socket_addr(f[3], f[4]), hex_socket_addr(f[5], f[6])),
            );
        }
    }
    conns
}

/// `0A000064`, `0050` → 10.0.0.100:80, as `/proc/net/ip_vs*` print them.
fn hex_socket_addr(addr: &str, port: &str) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::from(u32::from_str_radix(addr, 16).expect("hex address")),
        u16::from_str_radix(port, 16).expect("hex port"),
    )
}

/// The real servers of `vip` in the kernel's list order, from `/proc/net/ip_vs`
/// (which, unlike `ipvsadm -Ln`, does not sort them).
fn kernel_list_order(vip: SocketAddrV4) -> Vec<SocketAddrV4> {
    let path = "/proc/thread-self/net/ip_vs";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut in_service = false;
    let mut reals = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["TCP", addr, ..] => {
                let (a, p) = addr.split_once(':').expect("ADDR:PORT");
                in_service = hex_socket_addr(a, p) == vip;
            }
            ["->", addr, ..] if in_service => {
                let (a, p) = addr.split_once(':').expect("ADDR:PORT");
                reals.push(hex_socket_addr(a, p));
            }
            _ => {}
        }
    }
    reals
}

/// Makes `picks` connections to `vip` from consecutive client ports starting
/// at `base`, then reads which real server the kernel chose for each, in order
/// (`None`: no connection entry, the kernel found no destination). A
/// connection must be established exactly when its real server `listening`.
/// Returns the streams too: dropping them closes the connections.
fn kernel_picks(
    vip: SocketAddrV4,
    reals: &[SocketAddrV4],
    listening: &[bool],
    base: u16,
    picks: u16,
) -> (Vec<Option<usize>>, Vec<TcpStream>) {
    let mut attempts = Vec::with_capacity(usize::from(picks));
    for i in 0..picks {
        attempts.push(connect_from(base + i, vip));
    }
    let conns = connections();
    let mut streams = Vec::new();
    let mut seq = Vec::new();
    for (i, attempt) in (0..picks).zip(attempts) {
        let port = base + i;
        let pick = conns.get(&port).map(|(v, real)| {
            assert_eq!(*v, vip, "client port {port} went to another service");
            reals
                .iter()
                .position(|r| r == real)
                .unwrap_or_else(|| panic!("{real} is not a real server of {vip}"))
        });
        match (pick, attempt) {
            (Some(d), Ok(stream)) if listening[d] => streams.push(stream),
            (Some(d), Err(_)) if !listening[d] => {}
            (Some(d), attempt) => panic!(
                "port {port}: scheduled to {} (listening: {}) but connect gave {attempt:?}",
                reals[d], listening[d]
            ),
            (None, Ok(_)) => panic!("port {port}: connected to {vip} without an IPVS entry"),
            (None, Err(_)) => {}
        }
        seq.push(pick);
    }
    (seq, streams)
}

/// A listener on every real server whose `listening` is true: connections to
/// those get established (active), the others are reset (inactive).
fn listen_on(reals: &[SocketAddrV4], listening: &[bool]) -> Vec<TcpListener> {
    reals
        .iter()
        .zip(listening)
        .filter(|(_, on)| **on)
        .map(|(r, _)| TcpListener::bind(r).unwrap_or_else(|e| panic!("listen on {r}: {e}")))
        .collect()
}

/// splitmix64: a small, fixed pseudo-random sequence for the scenarios.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + u32::try_from(self.next() % u64::from(hi - lo + 1)).expect("small range")
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.range(1, 100) <= percent
    }
}

/// The seed of this run's scenarios: `SCHED_KERNEL_SEED` or a fixed default,
/// so that CI is reproducible and other seeds can be explored on demand.
fn seed() -> u64 {
    std::env::var("SCHED_KERNEL_SEED")
        .ok()
        .map(|s| s.parse().expect("SCHED_KERNEL_SEED is a u64"))
        .unwrap_or(0x1b5_2026)
}

/// How the service came to have its destinations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Build {
    /// `-A -s S`, then one `-a` per destination (last in the list first).
    OneByOne,
    /// `-A` with another scheduler, the `-a`s, then `-E -s S`: the scheduler is
    /// bound after the destinations exist. (`-E` with the scheduler already
    /// bound does not re-bind it.)
    Rebound,
}

/// One service to compare: its destinations' weights in list order, how it is
/// built, and how many connections to make.
#[derive(Debug, Clone)]
struct Scenario {
    scheduler: Scheduler,
    weights: Vec<i32>,
    /// Which real servers accept connections (the others reset them).
    listening: Vec<bool>,
    /// Upper connection thresholds (`-x`; 0 for none).
    upper: Vec<u32>,
    build: Build,
    picks: u16,
}

/// Which connections get established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listeners {
    /// A listener on every real server: every connection is active.
    All,
    /// About half the real servers refuse: their connections end reset and
    /// count as inactive.
    Some,
}

impl Scenario {
    fn random(
        rng: &mut Rng,
        scheduler: Scheduler,
        build: Build,
        listeners: Listeners,
        thresholds: bool,
    ) -> Self {
        let n = rng.range(1, 6) as usize;
        // Mostly small weights; some services scaled by a common factor, so
        // wrr's gcd step is exercised; about one weight in five is 0.
        let scale = [1, 1, 1, 2, 3, 5][rng.range(0, 5) as usize];
        let weights: Vec<i32> = (0..n)
            .map(|_| {
                if rng.chance(20) {
                    0
                } else {
                    i32::try_from(rng.range(1, 8) * scale).expect("small weight")
                }
            })
            .collect();
        let cycle: i32 = weights.iter().sum::<i32>() / scale.max(1) as i32;
        let picks = u16::try_from(cycle.clamp(4, 30)).expect("small") + rng.range(4, 16) as u16;
        let picks = if weights.iter().all(|&w| w == 0) {
            3
        } else {
            picks
        };
        let listening = (0..n)
            .map(|_| listeners == Listeners::All || rng.chance(50))
            .collect();
        let upper = (0..n)
            .map(|_| {
                if thresholds && rng.chance(50) {
                    rng.range(1, 4)
                } else {
                    0
                }
            })
            .collect();
        Scenario {
            scheduler,
            weights,
            listening,
            upper,
            build,
            picks,
        }
    }

    /// `sched`'s service, built the way the kernel's was.
    fn model(&self) -> Service {
        let dests = self
            .weights
            .iter()
            .zip(&self.upper)
            .map(|(&w, &u)| Destination::new(w).with_thresholds(u, 0));
        let svc = match self.build {
            Build::OneByOne => {
                Service::incremental(self.scheduler, dests.collect::<Vec<_>>()).expect("valid")
            }
            Build::Rebound => Service::with_destinations(self.scheduler, dests).expect("valid"),
        };
        svc.with_kernel_facts(facts())
    }

    /// The `ipvsadm -R` lines that build it at `vip` with real servers `reals`
    /// (in list order).
    fn rules(&self, vip: SocketAddrV4, reals: &[SocketAddrV4]) -> String {
        let first = match self.build {
            Build::OneByOne => self.scheduler,
            Build::Rebound => other_scheduler(self.scheduler),
        };
        let mut rules = format!("-A -t {vip} -s {first}\n");
        for ((real, weight), upper) in reals.iter().zip(&self.weights).zip(&self.upper).rev() {
            let _ = write!(rules, "-a -t {vip} -r {real} -m -w {weight}");
            let _ = if *upper > 0 {
                writeln!(rules, " -x {upper}")
            } else {
                writeln!(rules)
            };
        }
        if self.build == Build::Rebound {
            let _ = writeln!(rules, "-E -t {vip} -s {}", self.scheduler);
        }
        rules
    }
}

fn other_scheduler(s: Scheduler) -> Scheduler {
    if s == Scheduler::Rr {
        Scheduler::Lc
    } else {
        Scheduler::Rr
    }
}

/// Scenario `index` of a test lives at its own addresses: virtual service
/// `10.1.<index>.100:80`, real servers `10.1.<index>.<10 + k>:80`.
fn addresses(index: u8, n: usize) -> (SocketAddrV4, Vec<SocketAddrV4>) {
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 1, index, 100), 80);
    let reals = (0..n)
        .map(|k| {
            let host = 10 + u8::try_from(k).expect("few real servers");
            SocketAddrV4::new(Ipv4Addr::new(10, 1, index, host), 80)
        })
        .collect();
    (vip, reals)
}

/// Scenarios per scheduler and build order with every connection established:
/// 6 schedulers × 2 × 10 = 120 per run.
const SCENARIOS: u8 = 10;

/// Builds `count` random services of `scheduler` for each build order in one
/// fresh namespace, connects to each, and compares the kernel's sequence of
/// picks with `sched`'s (an established connection counts active in both, a
/// reset one inactive).
fn compare_with_kernel(scheduler: Scheduler, listeners: Listeners, count: u8) {
    compare_random(scheduler, listeners, false, count);
}

/// [`compare_with_kernel`], with upper connection thresholds on about half the
/// real servers when `thresholds`.
fn compare_random(scheduler: Scheduler, listeners: Listeners, thresholds: bool, count: u8) {
    let _flush = enter_fresh_netns();
    let stream_seed = seed()
        ^ (scheduler as u64).wrapping_mul(0x100_0000_01b3)
        ^ (listeners as u64).wrapping_mul(0x9E37_79B9)
        ^ u64::from(thresholds).wrapping_mul(0x85EB_CA6B);
    let mut rng = Rng(stream_seed);
    let scenarios: Vec<Scenario> = (0..count)
        .flat_map(|_| [Build::OneByOne, Build::Rebound])
        .map(|build| Scenario::random(&mut rng, scheduler, build, listeners, thresholds))
        .collect();
    let failures = run_scenarios(&scenarios);
    assert!(
        failures.is_empty(),
        "sched differs from the kernel (stream {stream_seed:#x}; rerun with --env SCHED_KERNEL_SEED={}):\n{failures}",
        seed()
    );
}

/// Builds every scenario's service in this thread's namespace (one `ipvsadm
/// -R` for all: a service's scheduler state only changes with its own
/// commands), then connects to each in turn; returns a report of every
/// scenario whose kernel picks differ from `sched`'s, or nothing.
fn run_scenarios(scenarios: &[Scenario]) -> String {
    let mut rules = String::new();
    let mut listeners = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let (vip, reals) = addresses(u8::try_from(index).expect("few"), scenario.weights.len());
        rules.push_str(&scenario.rules(vip, &reals));
        listeners.push(listen_on(&reals, &scenario.listening));
    }
    ipvsadm_restore(&rules);

    let mut failures = String::new();
    let mut base: u16 = 10_000;
    for (index, scenario) in scenarios.iter().enumerate() {
        let (vip, reals) = addresses(u8::try_from(index).expect("few"), scenario.weights.len());
        assert_eq!(
            kernel_list_order(vip),
            reals,
            "{scenario:?}: the kernel's list order is not the one built"
        );
        let (kernel, streams) =
            kernel_picks(vip, &reals, &scenario.listening, base, scenario.picks);
        let mut model = scenario.model();
        let expected: Vec<Option<usize>> = (0..scenario.picks)
            .map(|_| {
                let pick = model.pick()?;
                let counted = if scenario.listening[pick] {
                    model.connect(pick)
                } else {
                    model.connect_inactive(pick)
                };
                counted.expect("no counter overflow");
                Some(pick)
            })
            .collect();
        if kernel != expected {
            let at = kernel.iter().zip(&expected).position(|(k, e)| k != e);
            let _ = writeln!(
                failures,
                "scenario {index}: {scenario:?}\n  kernel: {}\n  sched:  {}\n  first difference at pick {at:?}",
                show(&kernel),
                show(&expected)
            );
        }
        drop(streams);
        base = base.checked_add(scenario.picks).expect("client ports left");
    }
    failures
}

fn show(picks: &[Option<usize>]) -> String {
    picks
        .iter()
        .map(|p| p.map_or_else(|| "-".to_owned(), |d| d.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn ipvsadm_lists_the_service_it_added() {
    let _flush = enter_fresh_netns();
    run("ipvsadm", &["-A", "-t", "10.0.0.100:80", "-s", "rr"]);
    run(
        "ipvsadm",
        &[
            "-a",
            "-t",
            "10.0.0.100:80",
            "-r",
            "10.0.0.2:80",
            "-m",
            "-w",
            "3",
        ],
    );
    run(
        "ipvsadm",
        &["-a", "-t", "10.0.0.100:80", "-r", "10.0.0.3:8080", "-m"],
    );
    let listing = run("ipvsadm", &["-Ln"]);
    let expected = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.100:80 rr
  -> 10.0.0.2:80                  Masq    3      0          0         
  -> 10.0.0.3:8080                Masq    1      0          0         
";
    assert_eq!(listing, expected);
    run("ipvsadm", &["-C"]);
    assert_eq!(run("ipvsadm", &["-S", "-n"]), "");
}

/// The mechanism itself, checked on sequences recorded from this kernel
/// (`kernel-sched-observed.md`): rr starts at list index 0; the kernel inserts
/// each new destination at the head of its list, so adding d2, d1, d0 gives
/// list order d0, d1, d2.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn kernel_picks_are_observable_in_source_port_order() {
    let _flush = enter_fresh_netns();
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 100), 80);
    let reals: Vec<SocketAddrV4> = (0..3)
        .map(|k| SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2 + k), 80))
        .collect();
    let _listeners = listen_on(&reals, &[true; 3]);
    let mut rules = format!("-A -t {vip} -s wrr\n");
    for (real, weight) in reals.iter().zip([4, 3, 2]).rev() {
        rules.push_str(&format!("-a -t {vip} -r {real} -m -w {weight}\n"));
    }
    ipvsadm_restore(&rules);
    assert_eq!(kernel_list_order(vip), reals);
    let (picks, _streams) = kernel_picks(vip, &reals, &[true; 3], 20000, 27);
    let observed: Vec<usize> = [
        0, 1, 2, 0, 0, 1, 0, 1, 2, 0, 1, 2, 0, 0, 1, 0, 1, 2, 0, 1, 2, 0, 0, 1, 0, 1, 2,
    ]
    .to_vec();
    assert_eq!(picks, observed.into_iter().map(Some).collect::<Vec<_>>());
    run("ipvsadm", &["-C"]);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn rr_matches_the_kernel() {
    compare_with_kernel(Scheduler::Rr, Listeners::All, SCENARIOS);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn wrr_matches_the_kernel() {
    compare_with_kernel(Scheduler::Wrr, Listeners::All, SCENARIOS);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn lc_matches_the_kernel() {
    compare_with_kernel(Scheduler::Lc, Listeners::All, SCENARIOS);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn wlc_matches_the_kernel() {
    compare_with_kernel(Scheduler::Wlc, Listeners::All, SCENARIOS);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn sed_matches_the_kernel() {
    compare_with_kernel(Scheduler::Sed, Listeners::All, SCENARIOS);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn nq_matches_the_kernel() {
    compare_with_kernel(Scheduler::Nq, Listeners::All, SCENARIOS);
}

/// With about half the real servers refusing, the least-connection family
/// sees inactive connections too: lc and wlc weigh them by the running
/// release's overhead, sed and nq ignore them.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn inactive_connections_count_as_in_the_kernel() {
    for scheduler in [Scheduler::Lc, Scheduler::Wlc, Scheduler::Sed, Scheduler::Nq] {
        compare_with_kernel(scheduler, Listeners::Some, 4);
    }
}

/// The two overheads (257 × active + inactive since 6.1.183, 256 × active +
/// inactive before) part only once a destination has 256 inactive
/// connections: lc over `[A listening, B refusing]` picks A, then B until B's
/// inactive count reaches A's overhead (257 times with the current formula,
/// 256 with the classic one), then A again. The kernel must follow the
/// formula `sched` gives for its release; the scenario tells them apart.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn overhead_follows_the_running_release() {
    let _flush = enter_fresh_netns();
    let scenarios: Vec<Scenario> = [Scheduler::Lc, Scheduler::Wlc]
        .into_iter()
        .map(|scheduler| Scenario {
            scheduler,
            weights: vec![1, 1],
            listening: vec![true, false],
            upper: vec![0, 0],
            build: Build::OneByOne,
            picks: 262,
        })
        .collect();
    let failures = run_scenarios(&scenarios);
    assert!(
        failures.is_empty(),
        "sched ({release}: {facts:?}) differs from the kernel:\n{failures}",
        release = release(),
        facts = facts()
    );
    // The scenario separates the formulas: A comes back at pick 259 with the
    // current one, at pick 258 with the classic one.
    let back_to_a = |overhead: Overhead| {
        let mut model = scenarios[0].model().with_overhead(overhead);
        (0..262)
            .map(|_| {
                let pick = model.pick().expect("a pick");
                if pick == 0 {
                    model.connect(0).expect("count");
                } else {
                    model.connect_inactive(1).expect("count");
                }
                pick
            })
            .skip(1)
            .position(|pick| pick == 0)
    };
    assert_eq!(back_to_a(Overhead::Current), Some(257));
    assert_eq!(back_to_a(Overhead::Classic), Some(256));
}

/// An `ipvsadm -e` that gives a busy destination an upper threshold at or
/// below its connection count overloads it at once since 6.1.183; before,
/// the edit never set the flag (the next connection did). Raising the
/// threshold again frees it under both rules. rr over `[A, B]`, both
/// listening: 2 picks, `-x 1` on A, 4 picks, `-x 3` on A, 4 picks.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn threshold_edit_follows_the_running_release() {
    let _flush = enter_fresh_netns();
    let (vip, reals) = addresses(0, 2);
    let scenario = Scenario {
        scheduler: Scheduler::Rr,
        weights: vec![1, 1],
        listening: vec![true, true],
        upper: vec![0, 0],
        build: Build::OneByOne,
        picks: 2,
    };
    let _listeners = listen_on(&reals, &scenario.listening);
    ipvsadm_restore(&scenario.rules(vip, &reals));
    let edit = |upper: u32| {
        ipvsadm_restore(&format!("-e -t {vip} -r {} -m -w 1 -x {upper}\n", reals[0]));
    };
    let mut kernel = Vec::new();
    let mut streams = Vec::new();
    let mut base = 20_000;
    for (upper, picks) in [(None, 2), (Some(1), 4), (Some(3), 4)] {
        if let Some(upper) = upper {
            edit(upper);
        }
        let (seq, open) = kernel_picks(vip, &reals, &scenario.listening, base, picks);
        kernel.extend(seq);
        streams.extend(open);
        base += picks;
    }
    let model_picks = |rule: ThresholdRule| {
        let mut facts = facts();
        facts.thresholds = rule;
        let mut model = scenario.model().with_kernel_facts(facts);
        let mut picks = Vec::new();
        for (upper, count) in [(None, 2), (Some(1), 4), (Some(3), 4)] {
            if let Some(upper) = upper {
                model.set_thresholds(0, upper, 0).expect("valid thresholds");
            }
            for _ in 0..count {
                picks.push(model.pick_and_connect().expect("no overflow"));
            }
        }
        picks
    };
    let expected = model_picks(facts().thresholds);
    assert_eq!(
        show(&kernel),
        show(&expected),
        "kernel (first line) and sched for {release} ({facts:?}) differ",
        release = release(),
        facts = facts()
    );
    // The scenario separates the rules.
    assert_ne!(
        show(&model_picks(ThresholdRule::Current)),
        show(&model_picks(ThresholdRule::Classic))
    );
}

/// The running kernel's release is one `sched` knows facts for, and the lab
/// reports which it is.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn the_running_release_is_known() {
    let text = std::fs::read_to_string("/proc/version").expect("/proc/version");
    let running = KernelRelease::from_proc_version(&text).expect("a release in /proc/version");
    eprintln!("running {running}: {:?}", KernelFacts::for_release(running));
    assert_eq!((running.major, running.minor), (6, 1), "{text}");
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn fo_matches_the_kernel() {
    compare_with_kernel(Scheduler::Fo, Listeners::All, 4);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn ovf_matches_the_kernel() {
    compare_with_kernel(Scheduler::Ovf, Listeners::All, 4);
}

/// Upper thresholds (`-x 1..4`) on about half the real servers: a server whose
/// connections reach its threshold is overloaded and skipped, and once every
/// server is, the kernel has no destination (connections are refused).
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn upper_thresholds_overload_as_in_the_kernel() {
    for scheduler in [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Sed,
        Scheduler::Nq,
    ] {
        compare_random(scheduler, Listeners::All, true, 3);
    }
}
