//! What every kernel-lab suite needs first: a network namespace of its own and
//! a way to run the real tools in it.
//!
//! Shared by `crates/ipvs-proto/tests/kernel.rs` (`mod netns;` beside it),
//! `crates/sched/tests/kernel.rs`, sched's `tests/support/lab.rs` and
//! `bins/ipvsctl/tests/kernel_kmod.rs` (`#[path]` to this file): test code
//! only, so it is not part of any crate's API, and sched stays without a
//! dependency on ipvs-proto. It needs `nix` with the `sched` feature.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Command, Stdio};

use nix::sched::{CloneFlags, unshare};

/// Moves the calling thread into a new network namespace and brings `lo` up
/// (a fresh namespace has it down, and IPVS refuses IPv4 destinations then).
/// IPVS state is per namespace, so the thread starts with an empty table.
///
/// Panics, saying what is needed, where the thread may not do so (not root,
/// or no kernel support: run it in `cargo xtask kernel-lab`).
pub fn enter_fresh_netns() {
    unshare(CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| {
        panic!("unshare(CLONE_NEWNET): {e} (needs root and an IPVS kernel: cargo xtask kernel-lab)")
    });
    run("ip", &["link", "set", "lo", "up"]);
}

/// Runs a command in the calling thread's namespace and returns its stdout;
/// panics with its output when it fails.
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
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The TCP entries of the calling thread's namespace's IPVS connection table
/// (`/proc/thread-self/net/ip_vs_conn`; `/proc/self` would name the main
/// thread's namespace): client -> real server.
#[allow(dead_code)] // Not every suite reads the table.
pub fn connections() -> HashMap<SocketAddrV4, SocketAddrV4> {
    let path = "/proc/thread-self/net/ip_vs_conn";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let hex = |a: &str, p: &str| {
        SocketAddrV4::new(
            Ipv4Addr::from(u32::from_str_radix(a, 16).expect("hex address")),
            u16::from_str_radix(p, 16).expect("hex port"),
        )
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 7 && f[0] == "TCP").then(|| (hex(f[1], f[2]), hex(f[5], f[6])))
        })
        .collect()
}
