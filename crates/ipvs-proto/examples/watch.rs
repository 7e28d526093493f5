//! Watches the counters of every virtual service: reads them once a second
//! and prints the connections, packets and bytes per second since the last
//! reading (needs IPVS and CAP_NET_ADMIN):
//!
//! ```text
//! sudo cargo run -p ipvs-proto --example watch -- 5     # five readings; none: until stopped
//! ```
use std::collections::HashMap;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use ipvs_proto::{Client, Error, ServiceKey, Stats};

fn watch(readings: Option<u64>) -> Result<(), Error> {
    let mut client = Client::connect()?;
    let mut last: HashMap<ServiceKey, (Instant, Stats)> = HashMap::new();
    let mut count = 0;
    while readings.is_none_or(|n| count < n) {
        count += 1;
        let now = Instant::now();
        for service in client.services()? {
            let stats = service.stats.unwrap_or_default();
            if let Some((then, before)) = last.get(&service.key) {
                let seconds = now.duration_since(*then).as_secs_f64();
                let rate = |now: u64, then: u64| now.saturating_sub(then) as f64 / seconds;
                println!(
                    "{:<28} {:>8.1} conn/s {:>10.1} pkt/s in {:>12.1} B/s in {:>12.1} B/s out",
                    service.key.to_string(),
                    rate(stats.connections, before.connections),
                    rate(stats.packets_in, before.packets_in),
                    rate(stats.bytes_in, before.bytes_in),
                    rate(stats.bytes_out, before.bytes_out),
                );
            }
            last.insert(service.key, (now, stats));
        }
        sleep(Duration::from_secs(1));
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
