//! Kernel-lab suite: ipvsctl drives the workspace's own scheduler module,
//! `ip_vs_nofn` (`kmod/ip_vs_nofn/`, built by the lab against the booted
//! kernel's headers, `docs/nofn.md`), as an operator would on a director:
//! `ipvsctl -A … -s nofn` creates the service, listings equal ipvsadm's, the
//! kernel's picks for connections to that service equal `sched`'s `nofn`
//! model, the module stays loaded while the service uses it and unloads
//! once `ipvsctl -D` removed it, and without it `-s nofn` is refused as
//! ipvsadm refuses it. Run with `cargo xtask kernel-lab -p ipvsctl --test
//! kernel_kmod`; `#[ignore]`d on the host.

#[path = "../../../crates/ipvs-proto/tests/support/netns.rs"]
mod netns;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netns::{connections, run};
use sched::{Destination, Scheduler, Service};

const BIN: &str = env!("CARGO_BIN_EXE_ipvsctl");
const MODULE: &str = "ip_vs_nofn";
const VIP: &str = "10.0.0.100:80";

fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run {program}: {e}"))
}

fn loaded() -> bool {
    Path::new("/sys/module").join(MODULE).exists()
}

/// `/lab/kmod/ip_vs_nofn.ko`: where the lab puts the modules it built.
fn module_file() -> PathBuf {
    let dir = std::env::var("KERNEL_LAB_KMODS").expect(
        "KERNEL_LAB_KMODS is unset: the kernel lab builds the modules (cargo xtask kernel-lab)",
    );
    PathBuf::from(dir).join(format!("{MODULE}.ko"))
}

/// A fresh network namespace for this test thread, with `lo` up and
/// 10.0.0.0/8 local to it.
fn enter_fresh_netns() {
    netns::enter_fresh_netns();
    run("ip", &["addr", "add", "10.0.0.1/8", "dev", "lo"]);
}

/// Services flushed and the module removed when dropped, also after a panic.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("ipvsadm").arg("-C").status();
        let _ = Command::new("rmmod").arg(MODULE).status();
    }
}

fn real(k: u8) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 10 + k), 80)
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn ipvsctl_runs_a_service_on_the_nofn_module() {
    enter_fresh_netns();
    let _cleanup = Cleanup;
    if loaded() {
        run("rmmod", &[MODULE]);
    }
    let file = module_file();
    run("insmod", &[file.to_str().expect("UTF-8 path")]);

    // Three real servers with weights 3, 1, 2, added in that order.
    let weights = [(0u8, 3), (1, 1), (2, 2)];
    let _listeners: Vec<TcpListener> = weights
        .iter()
        .map(|&(k, _)| TcpListener::bind(real(k)).expect("listen"))
        .collect();
    run(BIN, &["-A", "-t", VIP, "-s", "nofn"]);
    for &(k, w) in &weights {
        let (r, w) = (real(k).to_string(), w.to_string());
        run(BIN, &["-a", "-t", VIP, "-r", &r, "-m", "-w", &w]);
    }
    let listing = run(BIN, &["-Ln"]);
    assert!(listing.contains("TCP  10.0.0.100:80 nofn"), "{listing}");
    assert_eq!(
        listing,
        run("ipvsadm", &["-Ln"]),
        "ipvsctl -Ln vs ipvsadm -Ln"
    );

    // The kernel lists the last added first; `incremental` takes that list.
    let mut model = Service::incremental(
        Scheduler::NofN,
        weights
            .iter()
            .rev()
            .map(|&(k, w)| Destination::new(w).with_addr(SocketAddr::V4(real(k)))),
    )
    .expect("a valid model");
    let vip: SocketAddr = VIP.parse().expect("VIP");
    let mut streams = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..18 {
        let pick = model.pick_and_connect().expect("model").expect("a pick");
        expected.push(model.destinations()[pick].addr().expect("addr"));
        streams.push(TcpStream::connect(vip).expect("connect to the VIP"));
    }
    let table = connections();
    let picked: Vec<SocketAddr> = streams
        .iter()
        .map(|s| match s.local_addr().expect("local address") {
            SocketAddr::V4(client) => SocketAddr::V4(
                *table
                    .get(&client)
                    .unwrap_or_else(|| panic!("no connection entry for {client}: {table:?}")),
            ),
            other => panic!("an IPv6 client {other}"),
        })
        .collect();
    assert_eq!(picked, expected, "the kernel's picks vs sched's nofn");

    // In use: the module stays.
    let busy = output("rmmod", &[MODULE]);
    assert!(!busy.status.success() && loaded(), "rmmod while in use");
    drop(streams);
    run(BIN, &["-D", "-t", VIP]);
    run("rmmod", &[MODULE]);
    assert!(!loaded(), "/sys/module/{MODULE} is still there");

    // Gone: both tools refuse the scheduler, with the same words.
    let mine = output(BIN, &["-A", "-t", VIP, "-s", "nofn"]);
    let theirs = output("ipvsadm", &["-A", "-t", VIP, "-s", "nofn"]);
    assert!(!mine.status.success(), "ipvsctl -s nofn without the module");
    assert_eq!(mine.status.code(), theirs.status.code());
    assert_eq!(
        String::from_utf8_lossy(&mine.stderr).replace(BIN, "ipvsadm"),
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert_eq!(run("ipvsadm", &["-S", "-n"]), "", "table left behind");
}
