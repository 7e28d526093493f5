//! `-L --watch [SECONDS]`: `watch ipvsadm -Ln` built in. Every interval the
//! table is read again and redrawn in place (cursor home, each line cleared to
//! its end, the rest of the screen cleared: no blank frame, no flicker). The
//! default view is the `--rate` table with rates computed by ipvsctl from the
//! 64-bit counters over the last interval; `-c` shows the connection table,
//! and `--stats`, `--thresholds`, `--persistent-conn`, `--tun-info` or
//! `--exact` show that listing refreshed. Ctrl-C (or SIGTERM) ends it cleanly.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ipvs_proto::{Client, Info, ServiceKey, Stats};

use crate::app::{self, Failure, LIST_FAILURE};
use crate::cli::{Invocation, fmt, opt};
use crate::conn;
use crate::format::{self, Entry};

/// Counters of one sample, per service and per destination.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    pub at: Option<Instant>,
    pub services: HashMap<ServiceKey, Stats>,
    pub dests: HashMap<(ServiceKey, SocketAddr), Stats>,
}

/// Per-second change of the counters between two samples, written into the
/// rate fields that the `--rate` table prints.
pub fn rates(now: &Stats, before: &Stats, seconds: f64) -> Stats {
    let per_second = |a: u64, b: u64| (a.saturating_sub(b) as f64 / seconds).round() as u64;
    Stats {
        connection_rate: per_second(now.connections, before.connections),
        packet_rate_in: per_second(now.packets_in, before.packets_in),
        packet_rate_out: per_second(now.packets_out, before.packets_out),
        byte_rate_in: per_second(now.bytes_in, before.bytes_in),
        byte_rate_out: per_second(now.bytes_out, before.bytes_out),
        ..*now
    }
}

/// Replaces the kernel's rate estimates by the rates since `previous` (kept
/// as they are in the first frame), and returns this frame's sample.
pub fn apply_rates(entries: &mut [Entry], previous: &Sample, now: Instant) -> Sample {
    let seconds = previous
        .at
        .map(|at| now.duration_since(at).as_secs_f64())
        .filter(|s| *s > 0.0);
    let mut sample = Sample {
        at: Some(now),
        ..Sample::default()
    };
    for entry in entries.iter_mut() {
        let key = entry.service.key;
        if let Some(stats) = entry.service.stats.as_mut() {
            sample.services.insert(key, *stats);
            if let (Some(s), Some(before)) = (seconds, previous.services.get(&key)) {
                *stats = rates(stats, before, s);
            }
        }
        for dest in &mut entry.dests {
            let id = (key, dest.socket_addr());
            if let Some(stats) = dest.stats.as_mut() {
                sample.dests.insert(id, *stats);
                if let (Some(s), Some(before)) = (seconds, previous.dests.get(&id)) {
                    *stats = rates(stats, before, s);
                }
            }
        }
    }
    sample
}

/// One frame's text; ANSI line clearing is added when it is drawn.
fn frame(
    client: &mut Client,
    info: &Info,
    inv: &Invocation,
    previous: &mut Sample,
    interval: Duration,
) -> anyhow::Result<String> {
    let mut text = format!(
        "Every {:.1}s: ipvsctl -L (Ctrl-C to quit)\n\n",
        interval.as_secs_f64()
    );
    if inv.has(opt::CONNECTION) {
        let table = std::fs::read_to_string(conn::CONN_PROC_FILE).map_err(|_| {
            Failure::new(
                LIST_FAILURE,
                format!("cannot open file {}", conn::CONN_PROC_FILE),
            )
        })?;
        text.push_str(&conn::listing(&conn::parse_table(&table), inv.format));
        return Ok(text);
    }
    let mut entries =
        app::table(client).map_err(|e| Failure::new(LIST_FAILURE, app::error_text(&e)))?;
    let other = fmt::STATS | fmt::THRESHOLDS | fmt::PERSISTENTCONN | fmt::TUN_INFO | fmt::EXACT;
    if inv.format & other != 0 {
        text.push_str(&format::listing(info, entries, inv.format));
    } else {
        *previous = apply_rates(&mut entries, previous, Instant::now());
        text.push_str(&format::listing(info, entries, inv.format | fmt::RATE));
    }
    Ok(text)
}

/// Draws `text` over the previous frame.
fn draw(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    let mut screen = String::with_capacity(text.len() + 64);
    screen.push_str("\x1b[H");
    for line in text.lines() {
        screen.push_str(line);
        screen.push_str("\x1b[K\n");
    }
    screen.push_str("\x1b[J");
    out.write_all(screen.as_bytes())?;
    out.flush()
}

/// Runs the live view until Ctrl-C.
pub fn run(client: &mut Client, info: &Info, inv: &Invocation) -> anyhow::Result<ExitCode> {
    let interval = Duration::from_secs_f64(inv.ext.watch.unwrap_or(1.0));
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the Ctrl-C handler")?;
    }
    let mut out = std::io::stdout().lock();
    out.write_all(b"\x1b[?25l\x1b[2J")?;
    let mut previous = Sample::default();
    let result = (|| -> anyhow::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            let text = frame(client, info, inv, &mut previous, interval)?;
            draw(&mut out, &text)?;
            let until = Instant::now() + interval;
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20).min(interval));
            }
        }
        Ok(())
    })();
    // Always give the cursor back, also after an error.
    let _ = out.write_all(b"\x1b[?25h\n");
    let _ = out.flush();
    result.map(|()| ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_deltas() {
        let before = Stats {
            connections: 10,
            bytes_in: 1000,
            ..Stats::default()
        };
        let now = Stats {
            connections: 30,
            bytes_in: 5000,
            ..Stats::default()
        };
        let r = rates(&now, &before, 2.0);
        assert_eq!((r.connection_rate, r.byte_rate_in), (10, 2000));
        assert_eq!(r.connections, 30, "counters themselves are kept");
    }

    #[test]
    fn frames_clear_each_line() {
        let mut out = Vec::new();
        draw(&mut out, "a\nb\n").unwrap();
        assert_eq!(out, b"\x1b[Ha\x1b[K\nb\x1b[K\n\x1b[J");
    }
}
