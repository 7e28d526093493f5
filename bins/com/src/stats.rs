//! `com stats`: what a log says about a stretch of time: per quantity minimum,
//! mean and maximum, the energy used (from the meter's Wh counter and from the
//! integral of power, both shown), duration, frames, gaps, damaged and suspect
//! counts.
use std::fmt::Write as _;
use std::path::PathBuf;

use time::OffsetDateTime;

use com::readings::{self, Item, Quantity, Reading, Resolve, TimeArg, Window, rfc3339};

/// `com stats FILE… [--from T] [--to T] [--json]`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatsArgs {
    /// watt.txt or rfc3339 logs, read one after the other as one record.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only frames at or after this time: YYYY-MM-DD or YYYY-MM-DD HH:MM(:SS) in the logs'
    /// local time, or RFC 3339 with an offset.
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    pub from: Option<TimeArg>,
    /// Only frames before this time (same forms as --from).
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    pub to: Option<TimeArg>,
    /// A pause between two frames longer than this many seconds is a gap: the
    /// integral of power does not bridge it.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_gap)]
    pub gap: f64,
    /// The time zone the watt.txt logs were written in, e.g. Europe/Berlin
    /// (default: TZ, else /etc/localtime); --from and --to local times too.
    #[arg(long, value_name = "AREA/CITY", value_parser = crate::zone::Zone::named)]
    pub tz: Option<crate::zone::Zone>,
    /// One JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

fn parse_gap(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(g) if g.is_finite() && g > 0.0 => Ok(g),
        _ => Err(format!(
            "invalid gap `{s}`: expected a positive number of seconds"
        )),
    }
}

/// Minimum, mean and maximum of one quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spread {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    sum: f64,
}

impl Spread {
    fn add(&mut self, x: f64) {
        if self.count == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.count += 1;
        self.sum += x;
    }

    /// The mean over frames (not weighted by time).
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// A pause between two frames longer than the gap threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
}

impl Gap {
    pub fn seconds(&self) -> f64 {
        (self.to - self.from).as_seconds_f64()
    }
}

/// Everything `com stats` reports.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub window: Window,
    pub first: Option<OffsetDateTime>,
    pub last: Option<OffsetDateTime>,
    /// Consistent frames in the window.
    pub frames: u64,
    pub suspect: u64,
    pub damaged: u64,
    pub spread: [Spread; 6],
    /// Energy from the Wh counter: the sum of its increases, and after a
    /// decrease (a reset, or a wrap) its new value.
    pub counter_wh: f64,
    /// Decreases of the counter.
    pub counter_resets: u64,
    /// The counter's first and last readings in the window.
    pub counter_first: Option<f64>,
    pub counter_last: Option<f64>,
    /// The integral of power over time (trapezoids between frames no further
    /// apart than the gap threshold), in joules.
    pub integral_j: f64,
    pub gaps: Vec<Gap>,
    /// Times a frame's time was before the previous frame's (not integrated).
    pub backwards: u64,
    /// The gap threshold in seconds.
    pub gap_threshold: f64,
}

/// Accumulates the items of the logs.
#[derive(Debug)]
struct Acc {
    stats: Stats,
    gap: f64,
    previous: Option<Reading>,
    last_counter: Option<f64>,
    /// Damaged records since the last frame in the window (they have no time:
    /// they count when a frame in the window follows them, or at the end when
    /// the window is open-ended).
    damaged_pending: u64,
    seen_in_window: bool,
}

impl Acc {
    fn add(&mut self, item: Item) {
        let window = self.stats.window;
        match item {
            Item::Damaged => self.damaged_pending += 1,
            Item::Suspect(t) => {
                if window.contains(t) {
                    self.take_damaged();
                    self.stats.suspect += 1;
                }
            }
            Item::Reading(r) => {
                if !window.contains(r.time) {
                    if self.seen_in_window || window.from.is_some() {
                        // Damage before a frame outside the window is outside too.
                        self.damaged_pending = 0;
                    }
                    return;
                }
                self.take_damaged();
                self.reading(r);
            }
        }
    }

    fn take_damaged(&mut self) {
        if self.seen_in_window || self.stats.window.from.is_none() {
            self.stats.damaged += self.damaged_pending;
        }
        self.damaged_pending = 0;
        self.seen_in_window = true;
    }

    fn reading(&mut self, r: Reading) {
        let s = &mut self.stats;
        s.frames += 1;
        s.first.get_or_insert(r.time);
        s.last = Some(s.last.map_or(r.time, |l| l.max(r.time)));
        for q in Quantity::ALL {
            if let Some(x) = r.get(q) {
                s.spread[q as usize].add(x);
            }
        }
        if let Some(wh) = r.get(Quantity::Energy) {
            match self.last_counter {
                Some(last) if wh >= last => s.counter_wh += wh - last,
                Some(_) => {
                    s.counter_resets += 1;
                    s.counter_wh += wh;
                }
                None => {}
            }
            self.last_counter = Some(wh);
            s.counter_first.get_or_insert(wh);
            s.counter_last = Some(wh);
        }
        if let Some(p) = self.previous {
            let dt = (r.time - p.time).as_seconds_f64();
            if dt < 0.0 {
                s.backwards += 1;
            } else if dt > self.gap {
                s.gaps.push(Gap {
                    from: p.time,
                    to: r.time,
                });
            } else if let (Some(a), Some(b)) = (p.get(Quantity::Power), r.get(Quantity::Power)) {
                s.integral_j += (a + b) / 2.0 * dt;
            }
        }
        self.previous = Some(r);
    }

    fn finish(mut self) -> Stats {
        if self.stats.window.to.is_none() {
            self.stats.damaged += self.damaged_pending;
        }
        self.stats
    }
}

/// Reads the logs and sums them up.
pub fn compute(
    files: &[PathBuf],
    window: Window,
    gap: f64,
    resolve: Resolve<'_>,
) -> anyhow::Result<Stats> {
    let mut acc = Acc {
        stats: Stats {
            window,
            gap_threshold: gap,
            ..Stats::default()
        },
        gap,
        previous: None,
        last_counter: None,
        damaged_pending: 0,
        seen_in_window: false,
    };
    readings::read_logs(files, resolve, |item| acc.add(item))?;
    Ok(acc.finish())
}

/// The quantities with a minimum, mean and maximum (the energy counter has
/// its own line).
const SPREAD: [Quantity; 5] = [
    Quantity::Voltage,
    Quantity::Current,
    Quantity::Power,
    Quantity::PowerFactor,
    Quantity::Frequency,
];

/// Rounded to a millionth, which is below every shown digit of the meter, so
/// that sums of decimal values print as the decimals they are.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl Stats {
    pub fn duration_s(&self) -> f64 {
        match (self.first, self.last) {
            (Some(a), Some(b)) => (b - a).as_seconds_f64(),
            _ => 0.0,
        }
    }

    pub fn integral_wh(&self) -> f64 {
        self.integral_j / 3600.0
    }

    pub fn gap_seconds(&self) -> f64 {
        self.gaps.iter().fold(0.0, |sum, g| sum + g.seconds())
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let time = |t: Option<OffsetDateTime>| t.map_or(Value::Null, |t| rfc3339(t).into());
        let mut quantities = Map::new();
        for q in SPREAD {
            let s = &self.spread[q as usize];
            let v = if s.count == 0 {
                Value::Null
            } else {
                json!({
                    "min": round6(s.min),
                    "mean": s.mean().map(round6),
                    "max": round6(s.max),
                })
            };
            quantities.insert(q.key(), v);
        }
        json!({
            "from": time(self.window.from),
            "to": time(self.window.to),
            "first": time(self.first),
            "last": time(self.last),
            "duration_s": round6(self.duration_s()),
            "frames": self.frames,
            "damaged": self.damaged,
            "suspect": self.suspect,
            "quantities": quantities,
            "energy": {
                "counter_Wh": round6(self.counter_wh),
                "counter_resets": self.counter_resets,
                "counter_first_Wh": self.counter_first.map(round6),
                "counter_last_Wh": self.counter_last.map(round6),
                "integral_Wh": round6(self.integral_wh()),
            },
            "gaps": {
                "threshold_s": self.gap_threshold(),
                "count": self.gaps.len(),
                "total_s": round6(self.gap_seconds()),
                "list": self.gaps.iter().map(|g| json!({
                    "from": rfc3339(g.from),
                    "to": rfc3339(g.to),
                    "seconds": round6(g.seconds()),
                })).collect::<Vec<_>>(),
            },
            "time_backwards": self.backwards,
        })
    }

    fn gap_threshold(&self) -> f64 {
        self.gap_threshold
    }

    /// The table `com stats` prints.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let time = |t: Option<OffsetDateTime>| t.map_or("-".to_string(), rfc3339);
        let _ = writeln!(
            out,
            "time      {} to {} ({})",
            time(self.first),
            time(self.last),
            human_duration(self.duration_s())
        );
        if self.window.from.is_some() || self.window.to.is_some() {
            let _ = writeln!(
                out,
                "window    {} to {}",
                self.window.from.map_or("the start".to_string(), rfc3339),
                self.window.to.map_or("the end".to_string(), rfc3339)
            );
        }
        let _ = writeln!(
            out,
            "frames    {} ({} damaged, {} suspect)",
            self.frames, self.damaged, self.suspect
        );
        let _ = write!(
            out,
            "gaps      {} longer than {} s",
            self.gaps.len(),
            self.gap_threshold
        );
        if !self.gaps.is_empty() {
            let _ = write!(out, ", {} in all", human_duration(self.gap_seconds()));
        }
        out.push('\n');
        const SHOWN: usize = 10;
        for g in self.gaps.iter().take(SHOWN) {
            let _ = writeln!(
                out,
                "          {} to {} ({})",
                rfc3339(g.from),
                rfc3339(g.to),
                human_duration(g.seconds())
            );
        }
        if self.gaps.len() > SHOWN {
            let _ = writeln!(
                out,
                "          ... {} more (--json lists them all)",
                self.gaps.len() - SHOWN
            );
        }
        if self.backwards > 0 {
            let _ = writeln!(
                out,
                "warning   the time went backwards {} times (not integrated)",
                self.backwards
            );
        }
        let _ = writeln!(
            out,
            "{:<14}{:>14}{:>14}{:>14}",
            "quantity", "min", "mean", "max"
        );
        for q in SPREAD {
            let s = &self.spread[q as usize];
            let name = q.key();
            match s.mean() {
                None => {
                    let _ = writeln!(out, "{name:<14}{:>14}{:>14}{:>14}", "-", "-", "-");
                }
                Some(mean) => {
                    let _ = writeln!(
                        out,
                        "{name:<14}{:>14}{:>14}{:>14}",
                        round6(s.min),
                        round6(mean),
                        round6(s.max)
                    );
                }
            }
        }
        let _ = write!(
            out,
            "energy    {} Wh from the meter's counter ({} resets",
            round6(self.counter_wh),
            self.counter_resets
        );
        if let (Some(a), Some(b)) = (self.counter_first, self.counter_last) {
            let _ = write!(out, "; it read {} Wh, then {} Wh", round6(a), round6(b));
        }
        out.push_str(")\n");
        let _ = write!(
            out,
            "          {} Wh from the integral of power",
            round6(self.integral_wh())
        );
        if self.counter_wh > 0.0 {
            let diff = (self.integral_wh() - self.counter_wh) / self.counter_wh * 100.0;
            let _ = write!(out, " ({diff:+.2} %)");
        }
        out.push('\n');
        out
    }
}

/// `3600` → `1 h 00 min 00 s`; `75.5` → `1 min 15.5 s`.
pub fn human_duration(seconds: f64) -> String {
    let whole = seconds.floor() as u64;
    let frac = seconds - whole as f64;
    let s = whole % 60;
    let sec = if frac > 1e-9 {
        format!("{}", round6(s as f64 + frac))
    } else {
        s.to_string()
    };
    let (d, h, m) = (whole / 86_400, whole / 3600 % 24, whole / 60 % 60);
    if d > 0 {
        format!("{d} d {h:02} h {m:02} min {sec} s")
    } else if whole >= 3600 {
        format!("{h} h {m:02} min {sec} s")
    } else if whole >= 60 {
        format!("{m} min {sec} s")
    } else {
        format!("{sec} s")
    }
}

/// A [`readings::Usage`] error gets exit code 2.
pub fn usage(err: anyhow::Error) -> anyhow::Error {
    if err.is::<readings::Usage>() {
        crate::exit::Exit::Usage.because(err)
    } else {
        err
    }
}

/// `com stats`: the table (or JSON) on stdout.
pub fn run(args: &StatsArgs, resolve: Resolve<'_>) -> anyhow::Result<crate::exit::Exit> {
    use std::io::Write;
    let window = Window::new(args.from, args.to, resolve).map_err(usage)?;
    let stats = compute(&args.files, window, args.gap, resolve).map_err(usage)?;
    let text = if args.json {
        format!("{}\n", stats.to_json())
    } else {
        stats.to_text()
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(crate::exit::Exit::Done),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(crate::exit::Exit::Done),
        Err(e) => Err(anyhow::anyhow!("writing to stdout: {e}")),
    }
}
