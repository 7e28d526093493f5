// The kernel-lab machinery of sched's packet-scheduler suites, included
// (`include!`) by `tests/kernel_hash.rs` and `tests/kernel_kmod.rs`: a fresh
// namespace, connections from any client address and port (and mark), the
// kernel's connection table, random scenarios of services with edits between
// runs of picks, and their comparison with `sched`'s model.
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, getsockopt, setsockopt, socket,
    sockopt,
};
use sched::{Destination, KernelFacts, KernelRelease, Packet, SchedFlags, Scheduler, Service};

#[path = "../../../ipvs-proto/tests/support/netns.rs"]
mod netns;

use netns::{connections, run};

/// What `sched` says of the running kernel (`/proc/version`), or of
/// `SCHED_KERNEL_FACTS=RELEASE`, as in the other guest suite.
fn facts() -> KernelFacts {
    let release: KernelRelease = match std::env::var("SCHED_KERNEL_FACTS") {
        Ok(forced) => forced
            .parse()
            .unwrap_or_else(|e| panic!("SCHED_KERNEL_FACTS={forced}: {e}")),
        Err(_) => {
            let text = std::fs::read_to_string("/proc/version").expect("/proc/version");
            KernelRelease::from_proc_version(&text)
                .unwrap_or_else(|| panic!("no kernel release in /proc/version: {text}"))
        }
    };
    KernelFacts::for_release(release)
}

/// Empties the namespace's IPVS table when dropped, also after a panic.
#[must_use]
struct FlushOnDrop;

impl Drop for FlushOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("ipvsadm").arg("-C").status();
    }
}

fn enter_fresh_netns() -> FlushOnDrop {
    netns::enter_fresh_netns();
    run("ip", &["addr", "add", "10.0.0.1/8", "dev", "lo"]);
    FlushOnDrop
}

/// Feeds `rules` to one `ipvsadm -R`; its stderr must stay empty.
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
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ipvsadm -R failed ({}): {}\nrules:\n{rules}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One connection from `from` to `to`, its socket marked `mark` (0: none),
/// waited for until established (`Ok`, kept open) or refused (`Err`: no
/// destination, IPVS answered with an ICMP port unreachable). The wait is
/// long (30 s, SYN retransmissions included): a handshake given up on
/// would leave a connection entry that expires before it is read.
fn connect_from(from: SocketAddrV4, to: SocketAddrV4, mark: u32) -> Result<TcpStream, Errno> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    if mark != 0 {
        setsockopt(&fd, sockopt::Mark, &mark).expect("SO_MARK");
    }
    bind(fd.as_raw_fd(), &SockaddrIn::from(from)).unwrap_or_else(|e| panic!("bind {from}: {e}"));
    match connect(fd.as_raw_fd(), &SockaddrIn::from(to)) {
        Ok(()) | Err(Errno::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
    if poll(&mut fds, PollTimeout::from(30_000u16)).expect("poll") == 0 {
        return Err(Errno::ETIMEDOUT);
    }
    match getsockopt(&fd, sockopt::SocketError).expect("SO_ERROR") {
        0 => Ok(TcpStream::from(fd)),
        err => Err(Errno::from_raw(err)),
    }
}

/// splitmix64, as in the other guest suite.
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

    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + u32::try_from(self.next() % u64::from(hi - lo + 1)).expect("small range")
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.range(1, 100) <= percent
    }
}

fn seed() -> u64 {
    std::env::var("SCHED_KERNEL_SEED")
        .ok()
        .map(|s| s.parse().expect("SCHED_KERNEL_SEED is a u64"))
        .unwrap_or(0x1b5_2026)
}

/// A real server of scenario `s`: `10.1.<s>.<10 + k>:80`.
fn real(s: u8, k: u8) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 1, s, 10 + k), 80)
}

/// The most real servers a scenario uses (initial ones and additions).
const MAX_REALS: u8 = 14;

/// One step of a scenario.
#[derive(Debug, Clone)]
enum Step {
    /// Connections from these clients to these destinations, in order.
    Picks(Vec<(SocketAddrV4, SocketAddrV4)>),
    /// `ipvsadm -e`: real server `k` gets this weight.
    Weight(u8, i32),
    /// `ipvsadm -a`: real server `k` joins (at the head of the list).
    Add(u8, i32, u32),
    /// `ipvsadm -d`: real server `k` leaves.
    Remove(u8),
    /// Let this much time pass.
    Sleep(Duration),
}

#[derive(Debug, Clone)]
struct Scenario {
    index: u8,
    /// The scheduler the kernel runs (`-s NAME`).
    scheduler: Scheduler,
    /// The scheduler `sched` models it with (`nofn-seed` for the module
    /// loaded with `seed=1`, else the same).
    model_as: Scheduler,
    flags: SchedFlags,
    /// Initial list: (real server number, weight, upper threshold), head first.
    reals: Vec<(u8, i32, u32)>,
    steps: Vec<Step>,
}

/// How a scenario's clients and destinations vary.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Weights up to this (mh's shift needs large ones).
    max_weight: u32,
    /// Connections per run of picks.
    picks: (u32, u32),
    /// Percent of real servers with an upper threshold of 1..=4.
    thresholds: u32,
}

impl Scenario {
    fn fwmark(&self) -> bool {
        matches!(
            self.scheduler,
            Scheduler::Dh | Scheduler::Lblc | Scheduler::Lblcr
        )
    }

    fn vip(&self) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 2, self.index, 100), 80)
    }

    fn mark(&self) -> u32 {
        if self.fwmark() {
            1000 + u32::from(self.index)
        } else {
            0
        }
    }

    fn target(&self) -> String {
        if self.fwmark() {
            format!("-f {}", self.mark())
        } else {
            format!("-t {}", self.vip())
        }
    }

    fn random(rng: &mut Rng, index: u8, scheduler: Scheduler, shape: Shape) -> Self {
        let weight = |rng: &mut Rng| -> i32 {
            if rng.chance(15) {
                0
            } else {
                i32::try_from(rng.range(1, shape.max_weight)).expect("weight")
            }
        };
        let upper = |rng: &mut Rng| {
            if rng.chance(shape.thresholds) {
                rng.range(1, 4)
            } else {
                0
            }
        };
        let n = u8::try_from(rng.range(1, 8)).expect("few");
        let reals: Vec<(u8, i32, u32)> = (0..n).map(|k| (k, weight(rng), upper(rng))).collect();
        let flags = match scheduler {
            Scheduler::Sh | Scheduler::Mh => [
                SchedFlags::NONE,
                SchedFlags::FALLBACK,
                SchedFlags::PORT,
                SchedFlags::FALLBACK | SchedFlags::PORT,
            ][rng.range(0, 3) as usize],
            _ => SchedFlags::NONE,
        };
        let mut s = Scenario {
            index,
            scheduler,
            model_as: scheduler,
            flags,
            reals,
            steps: Vec::new(),
        };
        // Clients: a few addresses (ports matter with the port flag) or a
        // few hundred; destinations: a few or a few dozen addresses.
        let clients = if rng.chance(50) { 3 } else { 300 };
        let dsts = if rng.chance(50) { 4 } else { 40 };
        let mut listed: Vec<u8> = (0..n).collect();
        let mut removed: Vec<u8> = Vec::new();
        let mut next_k = n;
        let edits = rng.range(0, 3);
        for e in 0..=edits {
            let count = rng.range(shape.picks.0, shape.picks.1);
            let picks = (0..count)
                .map(|_| {
                    let c = rng.range(0, clients - 1);
                    let client = SocketAddrV4::new(
                        Ipv4Addr::new(10, 64 + (c / 250) as u8, index, (c % 250) as u8 + 1),
                        0,
                    );
                    let dst = if s.fwmark() {
                        let d = rng.range(1, dsts);
                        SocketAddrV4::new(Ipv4Addr::new(10, 3, index, d as u8), 80)
                    } else {
                        s.vip()
                    };
                    (client, dst)
                })
                .collect();
            s.steps.push(Step::Picks(picks));
            if e == edits {
                break;
            }
            match rng.range(0, 2) {
                0 if !listed.is_empty() => {
                    let k = listed[rng.range(0, listed.len() as u32 - 1) as usize];
                    s.steps.push(Step::Weight(k, weight(rng)));
                }
                1 if listed.len() > 1 => {
                    let i = rng.range(0, listed.len() as u32 - 1) as usize;
                    let k = listed.remove(i);
                    removed.push(k);
                    s.steps.push(Step::Remove(k));
                }
                _ => {
                    // A new real server, or one removed earlier coming back.
                    let k = if !removed.is_empty() && rng.chance(50) {
                        removed.remove(0)
                    } else if next_k < MAX_REALS {
                        next_k += 1;
                        next_k - 1
                    } else {
                        continue;
                    };
                    listed.insert(0, k);
                    s.steps.push(Step::Add(k, weight(rng).max(1), upper(rng)));
                }
            }
        }
        s
    }

    /// The `ipvsadm -R` lines that create the service: the initial real
    /// servers added last first, so the list ends up head first.
    fn rules(&self) -> String {
        let t = self.target();
        let mut rules = format!("-A {t} -s {}", self.scheduler);
        let flags = self.flag_names();
        if !flags.is_empty() {
            let _ = write!(rules, " -b {flags}");
        }
        rules.push('\n');
        for &(k, w, u) in self.reals.iter().rev() {
            let _ = writeln!(
                rules,
                "-a {t} -r {} -m -w {w} -x {u} -y 0",
                real(self.index, k)
            );
        }
        rules
    }

    /// ipvsadm's names for the flags, as the scheduler calls them.
    fn flag_names(&self) -> String {
        let prefix = if self.scheduler == Scheduler::Mh {
            "mh"
        } else {
            "sh"
        };
        let mut names = Vec::new();
        if self.flags.fallback() {
            names.push(format!("{prefix}-fallback"));
        }
        if self.flags.port() {
            names.push(format!("{prefix}-port"));
        }
        names.join(",")
    }

    fn model(&self) -> Service {
        let dests: Vec<Destination> = self
            .reals
            .iter()
            .map(|&(k, w, u)| {
                Destination::new(w)
                    .with_addr(SocketAddr::V4(real(self.index, k)))
                    .with_thresholds(u, 0)
            })
            .collect();
        Service::incremental(self.model_as, dests)
            .expect("valid")
            .with_kernel_facts(facts())
            .with_flags(self.flags)
    }
}

/// Runs every scenario: services created in one `ipvsadm -R`, then each
/// scenario's steps in turn, the kernel's picks compared with the model's
/// after each run of picks. Returns a report of the differences.
fn run_scenarios(scenarios: &[Scenario], sport: &mut u16, expiration: Option<u64>) -> String {
    let mut rules = String::new();
    let mut listeners: Vec<TcpListener> = Vec::new();
    for s in scenarios {
        rules.push_str(&s.rules());
        for k in 0..MAX_REALS {
            let addr = real(s.index, k);
            listeners
                .push(TcpListener::bind(addr).unwrap_or_else(|e| panic!("listen {addr}: {e}")));
        }
    }
    ipvsadm_restore(&rules);
    let mut failures = String::new();
    let start = Instant::now();
    for s in scenarios {
        let mut model = s.model();
        if let Some(e) = expiration {
            model.set_expiration(e);
        }
        let mut streams = Vec::new();
        let mut runs = Vec::new();
        let mut uppers: HashMap<u8, u32> = s.reals.iter().map(|&(k, _, u)| (k, u)).collect();
        for (step_no, step) in s.steps.iter().enumerate() {
            model.advance_clock(start.elapsed().as_millis() as u64);
            let t = s.target();
            match *step {
                Step::Picks(ref picks) => {
                    let mut expected = Vec::new();
                    let mut sent = Vec::new();
                    for &(client, dst) in picks {
                        // The kernel's jiffies and this clock differ by a
                        // constant; the tests keep decisions away from
                        // the expiration's edge.
                        model.advance_clock(start.elapsed().as_millis() as u64);
                        let from = SocketAddrV4::new(*client.ip(), *sport);
                        *sport = sport.checked_add(1).expect("source ports left");
                        let packet = Packet::new(SocketAddr::V4(from), SocketAddr::V4(dst));
                        let pick = model.pick_packet(&packet);
                        if let Some(i) = pick {
                            model.connect(i).expect("count");
                        }
                        expected.push(pick);
                        if let Ok(stream) = connect_from(from, dst, s.mark()) {
                            streams.push(stream);
                        }
                        sent.push(from);
                    }
                    let list: Vec<SocketAddr> = model
                        .destinations()
                        .iter()
                        .map(|d| d.addr().expect("addr"))
                        .collect();
                    runs.push((step_no, sent, expected, list));
                }
                Step::Weight(k, w) => {
                    let r = real(s.index, k);
                    let u = uppers[&k];
                    run(
                        "ipvsadm",
                        &[
                            "-e",
                            &t[..2],
                            &t[3..],
                            "-r",
                            &r.to_string(),
                            "-m",
                            "-w",
                            &w.to_string(),
                            "-x",
                            &u.to_string(),
                            "-y",
                            "0",
                        ],
                    );
                    let i = index_of(&model, r);
                    model.set_weight(i, w).expect("weight");
                }
                Step::Add(k, w, u) => {
                    let r = real(s.index, k);
                    run(
                        "ipvsadm",
                        &[
                            "-a",
                            &t[..2],
                            &t[3..],
                            "-r",
                            &r.to_string(),
                            "-m",
                            "-w",
                            &w.to_string(),
                            "-x",
                            &u.to_string(),
                            "-y",
                            "0",
                        ],
                    );
                    uppers.insert(k, u);
                    model
                        .add(
                            Destination::new(w)
                                .with_addr(SocketAddr::V4(r))
                                .with_thresholds(u, 0),
                        )
                        .expect("add");
                }
                Step::Remove(k) => {
                    let r = real(s.index, k);
                    run("ipvsadm", &["-d", &t[..2], &t[3..], "-r", &r.to_string()]);
                    let i = index_of(&model, r);
                    model.remove(i).expect("remove");
                }
                Step::Sleep(d) => std::thread::sleep(d),
            }
        }
        // The connections of every run, read once: which real server the
        // kernel chose, as an index into the list as it was at that run.
        let conns = connections();
        for (step_no, sent, expected, list) in runs {
            let kernel: Vec<Option<usize>> = sent
                .iter()
                .map(|from| {
                    conns.get(from).map(|r| {
                        list.iter()
                            .position(|a| *a == SocketAddr::V4(*r))
                            .unwrap_or(usize::MAX)
                    })
                })
                .collect();
            if kernel != expected {
                let at = kernel.iter().zip(&expected).position(|(k, e)| k != e);
                let _ = writeln!(
                    failures,
                    "scenario {} step {step_no}: {s:?}\n  kernel: {}\n  sched:  {}\n  first difference at pick {at:?}",
                    s.index,
                    show(&kernel),
                    show(&expected)
                );
                break;
            }
        }
        drop(streams);
    }
    failures
}

fn index_of(model: &Service, r: SocketAddrV4) -> usize {
    model
        .destinations()
        .iter()
        .position(|d| d.addr() == Some(SocketAddr::V4(r)))
        .expect("listed")
}

fn show(picks: &[Option<usize>]) -> String {
    picks
        .iter()
        .map(|p| p.map_or_else(|| "-".to_owned(), |d| d.to_string()))
        .collect::<Vec<_>>()
        .join(" ")
}
