//! A plain loop of picks, for timing under `perf stat` (whose task-clock
//! counts CPU time, which a busy machine disturbs far less than wall time):
//!
//! ```text
//! cargo build --release -p sched --example pick_loop
//! perf stat -e task-clock target/release/examples/pick_loop wlc 1024 10000000 --connect
//! ```
//!
//! Weights 1..=100 from the same xorshift sequence as the criterion bench.
//! Prints the wall-clock ns per pick; divide task-clock by the picks for CPU.
//! The schedulers that read the packet (`sh`, `dh`, `mh`, `lblc`, `lblcr`,
//! `twos`) get a new packet per pick (client, port, destination and random
//! draws from a second xorshift sequence; its cost is included) and
//! destinations with addresses.
//!
//! With `--churn`, each of the PICKS steps is a removal at the tail and an
//! add at the head instead (destinations without addresses, the weights
//! cycling through the same sequence), as the criterion `*-churn` groups
//! do: under `valgrind --tool=callgrind` its instruction count per step
//! does not depend on how busy the machine is.

use std::process::ExitCode;
use std::time::Instant;

use std::net::{IpAddr, SocketAddr};

use sched::{Destination, Packet, Scheduler, Service};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [s, n, picks, rest @ ..] if rest.len() <= 1 => {
            let mode = match rest {
                [] => Some(Mode::Pick),
                [flag] if flag == "--connect" => Some(Mode::Connect),
                [flag] if flag == "--churn" => Some(Mode::Churn),
                _ => None,
            };
            s.parse::<Scheduler>()
                .ok()
                .zip(n.parse::<usize>().ok())
                .zip(picks.parse::<u64>().ok())
                .zip(mode)
                .map(|(((s, n), p), m)| (s, n, p, m))
        }
        _ => None,
    };
    let Some((scheduler, n, picks, mode)) = parsed else {
        eprintln!("usage: pick_loop SCHED DESTINATIONS PICKS [--connect | --churn]");
        return ExitCode::from(2);
    };
    if mode == Mode::Churn {
        return churn(scheduler, n, picks);
    }
    let connect = mode == Mode::Connect;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
    let weights = (0..n).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Destination::new((x % 100) as i32 + 1)
    });
    let reads_packets = matches!(
        scheduler,
        Scheduler::Sh
            | Scheduler::Dh
            | Scheduler::Mh
            | Scheduler::Lblc
            | Scheduler::Lblcr
            | Scheduler::Twos
    );
    let weights = weights.enumerate().map(|(i, d)| {
        d.with_addr(SocketAddr::new(
            IpAddr::from([10, 1, (i >> 8) as u8, i as u8]),
            80,
        ))
    });
    let mut svc = match Service::with_destinations(scheduler, weights) {
        Ok(svc) => svc,
        Err(e) => {
            eprintln!("pick_loop: {e}");
            return ExitCode::from(2);
        }
    };
    // One loop per mode, written out: left to the optimiser, whether the
    // mode test is hoisted out of a shared loop changed with unrelated
    // edits (4 more instructions per pick in the loop, not in sched).
    let start = Instant::now();
    let mut sum = 0usize;
    if reads_packets {
        let mut r: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..picks {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            let packet = Packet::new(
                SocketAddr::new(IpAddr::from([10, 64, (r >> 8) as u8, r as u8]), r as u16),
                SocketAddr::new(
                    IpAddr::from([10, 3, (r >> 40) as u8 & 15, (r >> 32) as u8]),
                    80,
                ),
            )
            .with_random([(r >> 32) as u32, r as u32]);
            let pick = if connect {
                svc.pick_packet_and_connect(&packet).ok().flatten()
            } else {
                svc.pick_packet(&packet)
            };
            sum = sum.wrapping_add(pick.unwrap_or(0));
        }
    } else if connect {
        for _ in 0..picks {
            let pick = svc.pick_and_connect().ok().flatten();
            sum = sum.wrapping_add(pick.unwrap_or(0));
        }
    } else {
        for _ in 0..picks {
            sum = sum.wrapping_add(svc.pick().unwrap_or(0));
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / picks.max(1) as f64;
    println!("{scheduler} {n} destinations: {ns:.1} ns per pick (checksum {sum})");
    ExitCode::SUCCESS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pick,
    Connect,
    Churn,
}

/// `--churn`: `steps` times, remove the tail and add at the head.
fn churn(scheduler: Scheduler, n: usize, steps: u64) -> ExitCode {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
    let weights: Vec<i32> = (0..n.max(1))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 100) as i32 + 1
        })
        .collect();
    let dests = weights.iter().take(n).map(|&w| Destination::new(w));
    let mut svc = match Service::with_destinations(scheduler, dests) {
        Ok(svc) => svc,
        Err(e) => {
            eprintln!("pick_loop: {e}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let mut next = 0;
    for _ in 0..steps {
        if let Some(tail) = svc.len().checked_sub(1)
            && let Err(e) = svc.remove(tail)
        {
            eprintln!("pick_loop: {e}");
            return ExitCode::FAILURE;
        }
        next = (next + 1) % weights.len();
        if let Err(e) = svc.add(Destination::new(weights[next])) {
            eprintln!("pick_loop: {e}");
            return ExitCode::FAILURE;
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / steps.max(1) as f64;
    let sum: i64 = svc
        .destinations()
        .iter()
        .map(|d| i64::from(d.weight()))
        .sum();
    println!(
        "{scheduler} {n} destinations: {ns:.1} ns per removal and add (weights now sum to {sum})"
    );
    ExitCode::SUCCESS
}
