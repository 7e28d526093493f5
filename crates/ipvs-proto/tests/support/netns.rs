//! What every kernel-lab suite needs first: a network namespace of its own and
//! a way to run the real tools in it.
//!
//! Shared by `crates/ipvs-proto/tests/kernel.rs` (`mod netns;` beside it) and
//! `crates/sched/tests/kernel.rs` (`#[path]` to this file): test code only, so
//! it is not part of either crate's API, and sched stays without a dependency
//! on ipvs-proto. It needs `nix` with the `sched` feature.

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
