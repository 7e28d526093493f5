//! `-L --watch [SECONDS]`: `watch ipvsadm -Ln` built in. Every interval the
//! table is read again and redrawn in place (cursor home, each line cleared to
//! its end, the rest of the screen cleared: no blank frame, no flicker),
//! clipped to the terminal's rows and redrawn at once when the terminal is
//! resized. `-t/-u/-f` show one service; `-c` the connection table;
//! `--stats`, `--thresholds`, `--persistent-conn`, `--tun-info` or `--exact`
//! that listing refreshed. Destinations with weight 0 or over their upper
//! threshold are shown in reverse video. With `--json`, one `-L --json`
//! document per interval on one line (JSON Lines) with its `"time"`. Ctrl-C
//! (or SIGTERM) ends it cleanly, and so does a closed pipe.
//!
//! # Rates
//!
//! The kernel publishes its counters on its estimator's tick, every
//! [`KERNEL_PERIOD`] (2 s), not continuously: dividing the change of the
//! counters by the watch's own interval shows every service idle in one
//! interval and twice as busy in the next. The default view (the `--rate`
//! columns) therefore divides the change of each entry's counters by the time
//! between the kernel updates that published them: the watch reads the table
//! at least every second, notes when an entry's counters change (an update),
//! and counts the kernel periods between two updates (the observed time
//! rounded to whole periods, exact while the reads are less than half a
//! period apart). An entry whose counters did not change for a whole period
//! had no traffic in it: rate 0. Until an entry's counters have changed twice
//! (the first few seconds), its rates are the kernel's own estimates. With an
//! explicit `--rate`, the kernel's own estimates are shown throughout (as
//! `ipvsadm -Ln --rate` prints them: a moving average that follows a change
//! of traffic within about 10 s). The header says which.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use ipvs_proto::{Client, Destination, Info, ServiceKey, Stats};

use crate::cli::{Format, Invocation, MAX_INTERVAL, MIN_INTERVAL, Options, fmt};
use crate::conn;
use crate::failure::{self, Failure, LIST_FAILURE};
use crate::format::{self, Entry};
use crate::json;
use crate::kernel;
use crate::request;
use crate::sort;

/// The kernel's estimator period: counters and rates are published this
/// often (`IPVS_EST_TICK`-driven, 2 s on every kernel).
pub const KERNEL_PERIOD: Duration = Duration::from_secs(2);
/// Longest time between two reads of the table while rates are measured.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The counters of `s` that change with traffic.
fn counters(s: &Stats) -> [u64; 5] {
    [
        s.connections,
        s.packets_in,
        s.packets_out,
        s.bytes_in,
        s.bytes_out,
    ]
}

/// Per-second rates of the change from `before` to `now` over `seconds`,
/// written into the rate fields; the counters are `now`'s.
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

fn zero_rates(s: &Stats) -> Stats {
    Stats {
        connection_rate: 0,
        packet_rate_in: 0,
        packet_rate_out: 0,
        byte_rate_in: 0,
        byte_rate_out: 0,
        ..*s
    }
}

/// One entry's rate measurement between kernel updates.
#[derive(Debug, Clone)]
struct Track {
    /// Counters at the last update seen, and when it was seen (or, while
    /// `phased` is false, when the watch first read them).
    base: Stats,
    at: Instant,
    /// Whether `at` is the time of an update (its phase is known).
    phased: bool,
    /// The measured rates, once two updates were seen.
    rate: Option<Stats>,
}

impl Track {
    fn new(now: Stats, at: Instant) -> Self {
        Self {
            base: now,
            at,
            phased: false,
            rate: None,
        }
    }

    /// Takes a read of the counters at `at`; returns the rates to show
    /// (`None`: not measured yet).
    fn update(&mut self, now: Stats, at: Instant) -> Option<Stats> {
        let period = KERNEL_PERIOD.as_secs_f64();
        let (a, b) = (counters(&now), counters(&self.base));
        if a == b {
            // No update since the last one: once a whole period has passed
            // since it, the kernel published an update without traffic.
            let idle = at.saturating_duration_since(self.at).as_secs_f64();
            if idle >= period {
                if self.phased {
                    self.rate = Some(zero_rates(&now));
                    let periods = (idle / period).floor();
                    self.at += Duration::from_secs_f64(periods * period);
                } else {
                    self.at = at;
                }
            }
        } else if a.iter().zip(&b).any(|(x, y)| x < y) {
            // Zeroed (`-Z`): start again.
            *self = Track::new(now, at);
        } else if self.phased {
            let observed = at.saturating_duration_since(self.at).as_secs_f64();
            let periods = (observed / period).round().max(1.0);
            self.rate = Some(rates(&now, &self.base, periods * period));
            // The earliest sighting of an update is the closest to the tick.
            let expected = self.at + Duration::from_secs_f64(periods * period);
            self.at = expected.min(at);
            self.base = now;
        } else {
            self.base = now;
            self.at = at;
            self.phased = true;
        }
        self.rate.map(|r| Stats {
            connections: now.connections,
            packets_in: now.packets_in,
            packets_out: now.packets_out,
            bytes_in: now.bytes_in,
            bytes_out: now.bytes_out,
            ..r
        })
    }
}

/// Which entry a track belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Id {
    Service(ServiceKey),
    Dest(ServiceKey, SocketAddr),
}

/// The rate measurements of every entry of the table.
#[derive(Debug, Default)]
pub struct Meter {
    tracks: HashMap<Id, Track>,
}

impl Meter {
    /// Takes a read of `entries` at `at`: their rate fields become the
    /// measured rates where known (the kernel's estimates elsewhere).
    pub fn apply(&mut self, entries: &mut [Entry], at: Instant) {
        let mut seen = HashMap::with_capacity(self.tracks.len());
        let mut one = |id: Id, stats: &mut Option<Stats>| {
            if let Some(s) = stats.as_mut() {
                let mut track = self
                    .tracks
                    .remove(&id)
                    .unwrap_or_else(|| Track::new(*s, at));
                if let Some(measured) = track.update(*s, at) {
                    *s = measured;
                }
                seen.insert(id, track);
            }
        };
        for entry in entries.iter_mut() {
            let key = entry.service.key;
            one(Id::Service(key), &mut entry.service.stats);
            for d in &mut entry.dests {
                one(Id::Dest(key, d.socket_addr()), &mut d.stats);
            }
        }
        self.tracks = seen;
    }
}

/// Whether a destination is shown highlighted: weight 0 (quiesced) or at
/// its upper connection threshold (overloaded: the kernel sends it nothing
/// new).
pub fn highlighted(d: &Destination) -> bool {
    let conns = d.connections.unwrap_or_default();
    d.weight == 0
        || (d.upper_threshold != 0
            && u64::from(conns.active) + u64::from(conns.inactive) >= u64::from(d.upper_threshold))
}

/// Where the rates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Counters,
    Kernel,
}

/// One frame: its text and which of its lines are highlighted.
#[derive(Debug, Default, Clone)]
pub struct Frame {
    pub text: String,
    pub marked: Vec<usize>,
}

/// A listing with its entries sorted here (unless `--nosort`), so that the
/// lines of the highlighted destinations are known.
fn listing(info: Option<&Info>, mut entries: Vec<Entry>, format: Format) -> Frame {
    if !format.contains(fmt::NOSORT) {
        sort::msort_by(&mut entries, &|a: &Entry, b: &Entry| {
            sort::cmp_services(&a.service, &b.service)
        });
        for e in &mut entries {
            sort::msort_by(&mut e.dests, &|a: &Destination, b: &Destination| {
                sort::cmp_dests(a, b)
            });
        }
    }
    let format = format | fmt::NOSORT;
    let mut head = String::new();
    if let Some(info) = info {
        format::version_line(&mut head, info);
    }
    format::title(&mut head, format);
    let mut line = head.lines().count();
    let mut marked = Vec::new();
    for e in &entries {
        line += 1;
        for d in &e.dests {
            if highlighted(d) {
                marked.push(line);
            }
            line += 1;
        }
    }
    let text = match info {
        Some(info) => format::listing(info, entries, format),
        None => entries
            .into_iter()
            .next()
            .map(|e| format::one_service(e, format))
            .unwrap_or_default(),
    };
    Frame { text, marked }
}

/// The table (or the one service asked for).
fn read_table(client: &mut Client, inv: &Invocation) -> anyhow::Result<Vec<Entry>> {
    let list = |e| Failure::new(LIST_FAILURE, failure::error_text(&e));
    if inv.has(Options::SERVICE) {
        let key = request::service_key(&inv.svc);
        let service = client.service(&key).map_err(list)?;
        let dests = client.destinations(&service.key).map_err(list)?;
        Ok(vec![Entry { service, dests }])
    } else {
        Ok(kernel::table(client).map_err(list)?)
    }
}

fn views_other_than_rates(inv: &Invocation) -> bool {
    let other = fmt::STATS | fmt::THRESHOLDS | fmt::PERSISTENTCONN | fmt::TUN_INFO | fmt::EXACT;
    inv.format.intersects(other)
}

/// RFC 3339 UTC time with milliseconds (`2026-12-04T07:49:40.123Z`).
pub fn rfc3339(time: SystemTime) -> String {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86400, secs % 86400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian calendar).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The live view's state between frames.
struct View<'a> {
    client: &'a mut Client,
    info: &'a Info,
    inv: &'a Invocation,
    meter: Meter,
    source: Source,
    interval: Duration,
}

impl View<'_> {
    /// Reads the table and updates the rates; `Some` entries when the view
    /// shows the service table.
    fn sample(&mut self) -> anyhow::Result<Option<Vec<Entry>>> {
        if self.inv.has(Options::CONNECTION) {
            return Ok(None);
        }
        let at = Instant::now();
        let mut entries = read_table(self.client, self.inv)?;
        if !views_other_than_rates(self.inv) && self.source == Source::Counters {
            self.meter.apply(&mut entries, at);
        }
        Ok(Some(entries))
    }

    fn header(&self) -> String {
        let what = if self.inv.has(Options::CONNECTION) || views_other_than_rates(self.inv) {
            String::new()
        } else if self.source == Source::Kernel {
            ", rates: the kernel's estimates".to_string()
        } else {
            format!(
                ", rates: counter changes between the kernel's {} s updates",
                KERNEL_PERIOD.as_secs()
            )
        };
        let legend = if self.inv.has(Options::CONNECTION) {
            ""
        } else {
            "; reverse: weight 0 or overloaded"
        };
        format!(
            "Every {:.1}s: ipvsctl -L{what}{legend} (Ctrl-C quits)\n\n",
            self.interval.as_secs_f64()
        )
    }

    fn connections(&self) -> anyhow::Result<String> {
        let table = std::fs::read_to_string(conn::CONN_PROC_FILE).map_err(|_| {
            Failure::new(
                LIST_FAILURE,
                format!("cannot open file {}", conn::CONN_PROC_FILE),
            )
        })?;
        let table = conn::parse_table(&table);
        Ok(if self.inv.ext.json {
            json::connections_line(&table, &rfc3339(SystemTime::now()))
        } else {
            conn::listing(&table, self.inv.format)
        })
    }

    /// The frame of `entries` (the table just sampled).
    fn frame(&self, entries: Option<Vec<Entry>>) -> anyhow::Result<Frame> {
        let inv = self.inv;
        let one = inv.has(Options::SERVICE);
        let info = (!one).then_some(self.info);
        let Some(entries) = entries else {
            let body = self.connections()?;
            return Ok(Frame {
                text: if inv.ext.json {
                    body
                } else {
                    self.header() + &body
                },
                marked: Vec::new(),
            });
        };
        if inv.ext.json {
            let rates = match self.source {
                Source::Counters => "counters",
                Source::Kernel => "kernel",
            };
            let time = rfc3339(SystemTime::now());
            return Ok(Frame {
                text: json::listing_line(info, entries, inv.format, &time, rates),
                marked: Vec::new(),
            });
        }
        let format = if views_other_than_rates(inv) {
            inv.format
        } else {
            inv.format | fmt::RATE
        };
        let body = listing(info, entries, format);
        let header = self.header();
        let shift = header.lines().count();
        Ok(Frame {
            text: header + &body.text,
            marked: body.marked.iter().map(|l| l + shift).collect(),
        })
    }
}

/// The lines of `frame` that fit in `rows` rows (all when `rows` is
/// `None`), the last replaced by a note when some are cut, highlighted
/// lines in reverse video; each line cleared to its end, the rest of the
/// screen cleared.
pub fn screen(frame: &Frame, rows: Option<usize>) -> String {
    let lines: Vec<&str> = frame.text.lines().collect();
    // The last row stays empty, so the terminal never scrolls.
    let room = rows.map_or(lines.len(), |r| r.saturating_sub(1).max(1));
    let mut out = String::with_capacity(frame.text.len() + 64);
    out.push_str("\x1b[H");
    for (i, line) in lines.iter().enumerate().take(room) {
        if lines.len() > room && i + 1 == room {
            out.push_str(&format!(
                "... {} more lines (enlarge the terminal or use -t/-u/-f)\x1b[K\n",
                lines.len() - i
            ));
            break;
        }
        if frame.marked.contains(&i) {
            out.push_str("\x1b[7m");
            out.push_str(line);
            out.push_str("\x1b[0m");
        } else {
            out.push_str(line);
        }
        out.push_str("\x1b[K\n");
    }
    out.push_str("\x1b[J");
    out
}

/// Rows of the terminal on stdout, `None` when it is not one.
fn terminal_rows() -> Option<usize> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(_, h)| usize::from(h.0))
}

/// Writes `text`; `Ok(false)` when the reader is gone (closed pipe).
fn emit(out: &mut impl std::io::Write, text: &str) -> anyhow::Result<bool> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Flags the signal handlers raise: stop (Ctrl-C, SIGTERM) and resized
/// (SIGWINCH).
fn signal_flags() -> anyhow::Result<(Arc<AtomicBool>, Arc<AtomicBool>)> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the Ctrl-C handler")?;
    }
    let resized = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGWINCH, Arc::clone(&resized))
        .context("cannot install the resize handler")?;
    Ok((stop, resized))
}

/// Runs the live view until Ctrl-C, SIGTERM or a closed pipe.
pub fn run(client: &mut Client, info: &Info, inv: &Invocation) -> anyhow::Result<ExitCode> {
    // The interval was checked when the command line was read.
    let interval = Duration::from_secs_f64(
        inv.ext
            .watch
            .unwrap_or(1.0)
            .clamp(MIN_INTERVAL, MAX_INTERVAL),
    );
    let (stop, resized) = signal_flags()?;
    let json = inv.ext.json;
    let source = if inv.has(Options::RATE) {
        Source::Kernel
    } else {
        Source::Counters
    };
    let mut view = View {
        client,
        info,
        inv,
        meter: Meter::default(),
        source,
        interval,
    };
    // Reads between frames keep the rate measurement exact for long
    // intervals.
    let measuring = view.source == Source::Counters
        && !views_other_than_rates(inv)
        && !inv.has(Options::CONNECTION);
    let sample_every = if measuring {
        interval.min(SAMPLE_EVERY)
    } else {
        interval
    };
    let mut out = std::io::stdout().lock();
    if !json && !emit(&mut out, "\x1b[?25l\x1b[2J")? {
        return Ok(ExitCode::SUCCESS);
    }
    let result = (|| -> anyhow::Result<()> {
        let mut next_frame = Instant::now();
        let mut last = Frame::default();
        while !stop.load(Ordering::Relaxed) {
            let entries = view.sample()?;
            if Instant::now() >= next_frame {
                next_frame += interval;
                last = view.frame(entries)?;
                let text = if json {
                    last.text.clone()
                } else {
                    screen(&last, terminal_rows())
                };
                if !emit(&mut out, &text)? {
                    return Ok(());
                }
            }
            let until = (Instant::now() + sample_every).min(next_frame);
            while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                if resized.swap(false, Ordering::Relaxed)
                    && !json
                    && !emit(&mut out, &screen(&last, terminal_rows()))?
                {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(20).min(sample_every));
            }
        }
        Ok(())
    })();
    // Always give the cursor back, also after an error.
    if !json {
        let _ = out.write_all(b"\x1b[?25h\n");
        let _ = out.flush();
    }
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

    /// A kernel publishing 3 connections a second on its 2 s tick, read
    /// every `read` seconds from phase `phase`: after two updates every
    /// rate shown is 3, never 0 or 6.
    #[test]
    fn rates_follow_the_kernel_updates_not_the_reads() {
        for (read, phase) in [(1.0, 0.3), (1.0, 0.99), (0.5, 0.1), (0.7, 1.9), (1.0, 1.0)] {
            let start = Instant::now();
            let mut track: Option<Track> = None;
            let mut shown = Vec::new();
            for i in 0..40 {
                let t = phase + read * f64::from(i);
                // The value published at the last tick before t.
                let ticks = (t / 2.0).floor();
                let s = Stats {
                    connections: (ticks * 6.0) as u64,
                    ..Stats::default()
                };
                let at = start + Duration::from_secs_f64(t);
                let track = track.get_or_insert_with(|| Track::new(s, at));
                if let Some(r) = track.update(s, at) {
                    shown.push(r.connection_rate);
                }
            }
            assert!(shown.len() > 20, "{read} {phase}: {shown:?}");
            assert!(shown.iter().all(|&r| r == 3), "{read} {phase}: {shown:?}");
        }
    }

    #[test]
    fn idle_periods_show_zero_and_zeroing_restarts() {
        let start = Instant::now();
        let at = |t: f64| start + Duration::from_secs_f64(t);
        let s = |c: u64| Stats {
            connections: c,
            ..Stats::default()
        };
        let mut track = Track::new(s(0), at(0.0));
        assert_eq!(
            track.update(s(4), at(0.5)),
            None,
            "first update: phase only"
        );
        assert_eq!(track.update(s(8), at(2.5)).unwrap().connection_rate, 2);
        assert_eq!(track.update(s(8), at(3.5)).unwrap().connection_rate, 2);
        assert_eq!(track.update(s(8), at(4.5)).unwrap().connection_rate, 0);
        assert_eq!(track.update(s(8), at(6.5)).unwrap().connection_rate, 0);
        assert_eq!(track.update(s(14), at(8.5)).unwrap().connection_rate, 3);
        assert_eq!(track.update(s(1), at(9.5)), None, "zeroed: measured again");
    }

    #[test]
    fn quiesced_and_overloaded_destinations_are_highlighted() {
        let mut d = Destination::new(
            "10.0.0.2:80".parse().unwrap(),
            ipvs_proto::Forwarding::Masq,
            1,
        );
        d.connections = Some(ipvs_proto::Connections {
            active: 3,
            inactive: 2,
            persistent: 0,
        });
        assert!(!highlighted(&d));
        d.upper_threshold = 6;
        assert!(!highlighted(&d), "5 of 6");
        d.upper_threshold = 5;
        assert!(highlighted(&d), "active + inactive at the upper threshold");
        d.upper_threshold = 0;
        d.weight = 0;
        assert!(highlighted(&d), "weight 0");
    }

    #[test]
    fn screens_clip_to_the_terminal_and_mark_lines() {
        let frame = Frame {
            text: "a\nb\nc\nd\n".into(),
            marked: vec![1],
        };
        assert_eq!(
            screen(&frame, None),
            "\x1b[Ha\x1b[K\n\x1b[7mb\x1b[0m\x1b[K\nc\x1b[K\nd\x1b[K\n\x1b[J"
        );
        assert_eq!(
            screen(&frame, Some(4)),
            "\x1b[Ha\x1b[K\n\x1b[7mb\x1b[0m\x1b[K\n... 2 more lines (enlarge the terminal or use -t/-u/-f)\x1b[K\n\x1b[J"
        );
        assert_eq!(screen(&frame, Some(5)).matches('\n').count(), 4);
    }

    #[test]
    fn times_are_rfc3339() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_370_580_123);
        assert_eq!(rfc3339(t), "2026-12-04T07:49:40.123Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
