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
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sched::{CloneFlags, unshare};
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, getsockopt, socket, sockopt,
};

const NEEDS_KERNEL: &str = "needs an IPVS kernel: cargo xtask kernel-lab";

/// The client address: `10.0.0.1/8` on `lo` makes all of 10/8 local.
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// Moves the calling thread into a new network namespace with `lo` up and 10/8
/// local. IPVS state is per namespace, so the test starts with an empty table.
fn enter_fresh_netns() {
    unshare(CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("unshare(CLONE_NEWNET): {e} ({NEEDS_KERNEL}, as root)"));
    run("ip", &["link", "set", "lo", "up"]);
    run("ip", &["addr", "add", "10.0.0.1/8", "dev", "lo"]);
}

/// Runs a command in the current namespace; panics with its output if it fails.
fn run(program: &str, args: &[&str]) -> String {
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
    String::from_utf8(out.stdout).expect("UTF-8 output")
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

/// One connection attempt from `CLIENT:port` to `to`; returns the socket (kept
/// open so the connection stays established) once the handshake finished or
/// failed.
fn connect_from(port: u16, to: SocketAddrV4) -> TcpStream {
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
        Err(e) => panic!("connect {CLIENT}:{port} → {to}: {e}"),
    }
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
    let ready = poll(&mut fds, PollTimeout::from(2000u16)).expect("poll");
    assert_eq!(
        ready, 1,
        "connect {CLIENT}:{port} → {to} did not finish in 2 s"
    );
    let err = getsockopt(&fd, sockopt::SocketError).expect("SO_ERROR");
    assert_eq!(
        err,
        0,
        "connect {CLIENT}:{port} → {to}: {}",
        Errno::from_raw(err)
    );
    TcpStream::from(fd)
}

/// `/proc/net/ip_vs_conn` of this namespace: client port → (virtual address,
/// real server address).
fn connections() -> BTreeMap<u16, (SocketAddrV4, SocketAddrV4)> {
    // `/proc/net` is the namespace of the process's main thread; this thread
    // has a namespace of its own.
    let path = "/proc/thread-self/net/ip_vs_conn";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex_addr = |a: &str, p: &str| {
        SocketAddrV4::new(
            Ipv4Addr::from(u32::from_str_radix(a, 16).expect("hex address")),
            u16::from_str_radix(p, 16).expect("hex port"),
        )
    };
    let mut conns = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 7 || f[0] != "TCP" {
            continue;
        }
        let client = hex_addr(f[1], f[2]);
        if *client.ip() == CLIENT {
            conns.insert(client.port(), (hex_addr(f[3], f[4]), hex_addr(f[5], f[6])));
        }
    }
    conns
}

/// Makes `picks` connections to `vip` from consecutive client ports starting
/// at `base`, then reads which real server the kernel chose for each, in order.
fn kernel_picks(
    vip: SocketAddrV4,
    reals: &[SocketAddrV4],
    base: u16,
    picks: u16,
) -> Vec<Option<usize>> {
    let mut streams = Vec::with_capacity(usize::from(picks));
    for i in 0..picks {
        streams.push(connect_from(base + i, vip));
    }
    let conns = connections();
    (0..picks)
        .map(|i| {
            let (v, real) = conns.get(&(base + i))?;
            assert_eq!(*v, vip, "client port {} went to another service", base + i);
            Some(
                reals
                    .iter()
                    .position(|r| r == real)
                    .unwrap_or_else(|| panic!("{real} is not a real server of {vip}")),
            )
        })
        .collect()
}

/// A listener on every real server, so every connection gets established.
fn listen_on(reals: &[SocketAddrV4]) -> Vec<TcpListener> {
    reals
        .iter()
        .map(|r| TcpListener::bind(r).unwrap_or_else(|e| panic!("listen on {r}: {e}")))
        .collect()
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn ipvsadm_lists_the_service_it_added() {
    enter_fresh_netns();
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
    enter_fresh_netns();
    let vip = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 100), 80);
    let reals: Vec<SocketAddrV4> = (0..3)
        .map(|k| SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2 + k), 80))
        .collect();
    let _listeners = listen_on(&reals);
    let mut rules = format!("-A -t {vip} -s wrr\n");
    for (real, weight) in reals.iter().zip([4, 3, 2]).rev() {
        rules.push_str(&format!("-a -t {vip} -r {real} -m -w {weight}\n"));
    }
    ipvsadm_restore(&rules);
    let picks = kernel_picks(vip, &reals, 20000, 27);
    let observed: Vec<usize> = [
        0, 1, 2, 0, 0, 1, 0, 1, 2, 0, 1, 2, 0, 0, 1, 0, 1, 2, 0, 1, 2, 0, 0, 1, 0, 1, 2,
    ]
    .to_vec();
    assert_eq!(picks, observed.into_iter().map(Some).collect::<Vec<_>>());
    run("ipvsadm", &["-C"]);
}
