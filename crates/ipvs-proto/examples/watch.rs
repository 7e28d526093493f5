//! Watches the counters of every virtual service: reads them once a second
//! and prints, per service, each counter's total and (from the second
//! reading on) its rate per second since the last reading (needs IPVS and
//! CAP_NET_ADMIN):
//!
//! ```text
//! sudo cargo run -p ipvs-proto --example watch -- 5     # five readings; none: until stopped
//! TCP 10.0.0.1:80 connections 0 packets-in 0 packets-out 0 bytes-in 0 bytes-out 0
//! TCP 10.0.0.1:80 connections 2 (2.0/s) packets-in 6 (6.0/s) packets-out 4 (4.0/s) bytes-in 360 (359.8/s) bytes-out 240 (239.9/s)
//! ```
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use ipvs_proto::{Client, Error, ServiceKey, Stats};

/// The counters shown, with their names.
fn counters(stats: &Stats) -> [(&'static str, u64); 5] {
    [
        ("connections", stats.connections),
        ("packets-in", stats.packets_in),
        ("packets-out", stats.packets_out),
        ("bytes-in", stats.bytes_in),
        ("bytes-out", stats.bytes_out),
    ]
}

fn watch(readings: Option<u64>) -> Result<(), Error> {
    let mut client = Client::connect()?;
    let mut last: HashMap<ServiceKey, (Instant, Stats)> = HashMap::new();
    let mut count = 0;
    while readings.is_none_or(|n| count < n) {
        if count > 0 {
            sleep(Duration::from_secs(1));
        }
        count += 1;
        let now = Instant::now();
        for service in client.services()? {
            let stats = service.stats.unwrap_or_default();
            let mut line = service.key.to_string();
            let before = last.get(&service.key);
            for (index, (name, total)) in counters(&stats).into_iter().enumerate() {
                let _ = write!(line, " {name} {total}");
                if let Some((then, before)) = before {
                    let seconds = now.duration_since(*then).as_secs_f64();
                    let delta = total.saturating_sub(counters(before)[index].1);
                    let _ = write!(line, " ({:.1}/s)", delta as f64 / seconds);
                }
            }
            println!("{line}");
            last.insert(service.key, (now, stats));
        }
        // Each reading reaches a pipe at once, not when a buffer fills.
        let _ = std::io::stdout().flush();
    }
    Ok(())
}

fn main() -> ExitCode {
    let readings = match std::env::args().nth(1).map(|a| a.parse::<u64>()) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            eprintln!("usage: watch [READINGS]");
            return ExitCode::from(2);
        }
    };
    match watch(readings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watch: {e}");
            ExitCode::FAILURE
        }
    }
}
