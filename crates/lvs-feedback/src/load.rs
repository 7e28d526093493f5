//! Load measures an agent reports from: the texts of `/proc/stat`, a cgroup
//! v2's `cpu.stat` and `cpu.max`, `/proc/loadavg` and `/proc/meminfo`, read
//! by the caller and parsed here, and the sliding window that smooths them.
//!
//! Every parser takes the file's text and returns a [`LoadError`] naming
//! what was missing or malformed; none panics on any input.

use std::collections::VecDeque;
use std::time::Duration;

/// A load file that could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoadError {
    /// The expected line or field is not there.
    #[error("{file}: no {what}")]
    Missing {
        /// The file, as named by the parser (`/proc/stat`, `cpu.max`, ...).
        file: &'static str,
        /// The line or field looked for.
        what: &'static str,
    },
    /// A field is not a number of the expected kind.
    #[error("{file}: {what} is not a valid number: {value:?}")]
    Number {
        /// The file.
        file: &'static str,
        /// The field.
        what: &'static str,
        /// What was there (at most 40 characters).
        value: String,
    },
}

fn num<T: std::str::FromStr>(
    file: &'static str,
    what: &'static str,
    value: Option<&str>,
) -> Result<T, LoadError> {
    let v = value.ok_or(LoadError::Missing { file, what })?;
    v.parse().map_err(|_| LoadError::Number {
        file,
        what,
        value: v.chars().take(40).collect(),
    })
}

/// The whole machine's CPU time from the `cpu` line of `/proc/stat`, in
/// clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    /// Time not idle (user, nice, system, irq, softirq, steal).
    pub busy: u64,
    /// All time (busy + idle + iowait). Guest time is part of user time
    /// already and is not counted twice.
    pub total: u64,
}

impl CpuTimes {
    /// Reads the first line, `cpu  user nice system idle iowait irq softirq
    /// steal guest guest_nice` (fields after `idle` are optional, as on
    /// old kernels).
    pub fn parse_proc_stat(text: &str) -> Result<CpuTimes, LoadError> {
        const FILE: &str = "/proc/stat";
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some("cpu"))
            .ok_or(LoadError::Missing {
                file: FILE,
                what: "\"cpu\" line",
            })?;
        let mut f = line.split_whitespace().skip(1);
        const NAMES: [&str; 8] = [
            "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
        ];
        let mut v = [0u64; 8];
        for (i, name) in NAMES.iter().enumerate() {
            let field = f.next();
            if field.is_none() && i >= 4 {
                break;
            }
            v[i] = num(FILE, name, field)?;
        }
        let idle = v[3].saturating_add(v[4]);
        let busy = [v[0], v[1], v[2], v[5], v[6], v[7]]
            .iter()
            .fold(0u64, |a, &b| a.saturating_add(b));
        Ok(CpuTimes {
            busy,
            total: busy.saturating_add(idle),
        })
    }
}

/// A cgroup v2's CPU quota from `cpu.max`: `max 100000` or `20000 100000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuMax {
    /// No quota.
    Unlimited,
    /// `quota` microseconds of CPU per `period` microseconds.
    Quota {
        /// Microseconds per period.
        quota: u64,
        /// The period in microseconds (not 0).
        period: u64,
    },
}

impl CpuMax {
    /// Reads `cpu.max`.
    pub fn parse(text: &str) -> Result<CpuMax, LoadError> {
        const FILE: &str = "cpu.max";
        let mut f = text.split_whitespace();
        let quota = f.next().ok_or(LoadError::Missing {
            file: FILE,
            what: "quota",
        })?;
        let period: u64 = num(FILE, "period", f.next())?;
        if period == 0 {
            return Err(LoadError::Number {
                file: FILE,
                what: "period",
                value: "0".into(),
            });
        }
        if quota == "max" {
            return Ok(CpuMax::Unlimited);
        }
        Ok(CpuMax::Quota {
            quota: num(FILE, "quota", Some(quota))?,
            period,
        })
    }

    /// The CPUs this quota allows, given the machine's `cpus`.
    pub fn cpus(self, cpus: u32) -> f64 {
        let all = f64::from(cpus.max(1));
        match self {
            CpuMax::Unlimited => all,
            CpuMax::Quota { quota, period } => (quota as f64 / period as f64).min(all),
        }
    }
}

/// `usage_usec` from a cgroup v2's `cpu.stat`: CPU time used, in µs.
pub fn parse_cpu_stat_usage(text: &str) -> Result<u64, LoadError> {
    let value = text.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some("usage_usec")).then(|| f.next().unwrap_or(""))
    });
    num("cpu.stat", "usage_usec", value)
}

/// The one-minute load average, the first field of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Result<f64, LoadError> {
    let v: f64 = num(
        "/proc/loadavg",
        "1-minute load",
        text.split_whitespace().next(),
    )?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(LoadError::Number {
            file: "/proc/loadavg",
            what: "1-minute load",
            value: v.to_string(),
        })
    }
}

/// The fraction of memory in use, 1 − `MemAvailable` / `MemTotal` from
/// `/proc/meminfo`, in [0, 1].
pub fn parse_meminfo_used(text: &str) -> Result<f64, LoadError> {
    let field = |name: &'static str| {
        let value = text.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            Some(rest.split_whitespace().next().unwrap_or(""))
        });
        num::<u64>("/proc/meminfo", name, value)
    };
    let total = field("MemTotal")?;
    let avail = field("MemAvailable")?;
    if total == 0 {
        return Ok(0.0);
    }
    Ok((1.0 - avail as f64 / total as f64).clamp(0.0, 1.0))
}

/// Busy fraction between two `/proc/stat` samples, in [0, 1] (0 when no
/// time passed or the counters went backwards).
pub fn cpu_busy(before: CpuTimes, after: CpuTimes) -> f64 {
    let total = after.total.saturating_sub(before.total);
    if total == 0 {
        return 0.0;
    }
    (after.busy.saturating_sub(before.busy) as f64 / total as f64).clamp(0.0, 1.0)
}

/// Busy fraction of a cgroup between two samples of its `usage_usec`
/// taken `elapsed` apart, against the CPUs its quota allows; in [0, 1].
pub fn cgroup_busy(before_usec: u64, after_usec: u64, elapsed: Duration, cpus: f64) -> f64 {
    let wall = elapsed.as_secs_f64() * 1e6 * cpus;
    if wall <= 0.0 || !wall.is_finite() {
        return 0.0;
    }
    (after_usec.saturating_sub(before_usec) as f64 / wall).clamp(0.0, 1.0)
}

/// The samples of a measure over the last `span` of time; their mean is
/// the smoothed load. Time is given by the caller (any fixed origin).
#[derive(Debug, Clone)]
pub struct Window {
    samples: VecDeque<(Duration, f64)>,
    span: Duration,
}

/// A [`Window`] keeps at most this many samples (the oldest go first).
pub const WINDOW_MAX_SAMPLES: usize = 4096;

impl Window {
    /// A window over `span` of time.
    pub fn new(span: Duration) -> Window {
        Window {
            samples: VecDeque::new(),
            span,
        }
    }

    /// Adds a sample taken at `now`; a non-finite one is dropped, others
    /// are clamped to [0, 1]. Samples older than the span are forgotten.
    pub fn push(&mut self, now: Duration, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.samples.len() == WINDOW_MAX_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back((now, value.clamp(0.0, 1.0)));
        self.forget(now);
    }

    fn forget(&mut self, now: Duration) {
        while let Some(&(t, _)) = self.samples.front() {
            if now.saturating_sub(t) > self.span {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// The mean of the samples at most `span` old at `now`, `None` when
    /// there are none.
    pub fn mean(&self, now: Duration) -> Option<f64> {
        let recent = self
            .samples
            .iter()
            .filter(|&&(t, _)| now.saturating_sub(t) <= self.span);
        let (n, sum) = recent.fold((0usize, 0.0), |(n, s), &(_, v)| (n + 1, s + v));
        (n > 0).then(|| sum / n as f64)
    }
}

/// The number of CPUs listed in `/proc/stat` (`cpu0`, `cpu1`, ... lines);
/// at least 1.
pub fn count_cpus(proc_stat: &str) -> u32 {
    let n = proc_stat
        .lines()
        .filter(|l| {
            l.strip_prefix("cpu")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

/// The percentage an agent reports for a load in [0, 1]: the spare
/// capacity, `100 × (1 − load)` rounded, capped at `max_percent`.
pub fn spare_percent(load: f64, max_percent: u32) -> u32 {
    let load = if load.is_finite() {
        load.clamp(0.0, 1.0)
    } else {
        1.0
    };
    (((1.0 - load) * 100.0).round() as u32).min(max_percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat() {
        let a =
            CpuTimes::parse_proc_stat("cpu  100 0 50 800 50 0 0 0 10 0\ncpu0 1 2 3 4\nintr 1\n")
                .unwrap();
        assert_eq!(
            a,
            CpuTimes {
                busy: 150,
                total: 1000
            }
        );
        let b = CpuTimes::parse_proc_stat("cpu 200 0 100 850 50 0 0 0 0 0\n").unwrap();
        assert_eq!(cpu_busy(a, b), 150.0 / 200.0);
        assert_eq!(cpu_busy(b, a), 0.0);
        assert_eq!(
            CpuTimes::parse_proc_stat("cpu 1 2 3\n")
                .unwrap_err()
                .to_string(),
            "/proc/stat: no idle"
        );
        assert!(CpuTimes::parse_proc_stat("intr 5\n").is_err());
        assert!(CpuTimes::parse_proc_stat("cpu 1 2 -3 4\n").is_err());
        // Old kernels: only four fields.
        assert_eq!(
            CpuTimes::parse_proc_stat("cpu 1 2 3 4\n").unwrap(),
            CpuTimes { busy: 6, total: 10 }
        );
    }

    #[test]
    fn cgroup_files() {
        assert_eq!(CpuMax::parse("max 100000\n").unwrap(), CpuMax::Unlimited);
        let q = CpuMax::parse("20000 100000\n").unwrap();
        assert_eq!(q.cpus(4), 0.2);
        assert_eq!(CpuMax::parse("900000 100000").unwrap().cpus(2), 2.0);
        assert!(CpuMax::parse("20000 0").is_err());
        assert!(CpuMax::parse("").is_err());
        assert!(CpuMax::parse("lots 100000").is_err());
        let usage =
            parse_cpu_stat_usage("usage_usec 600000\nuser_usec 1\nsystem_usec 2\n").unwrap();
        assert_eq!(usage, 600_000);
        assert!(parse_cpu_stat_usage("user_usec 1\n").is_err());
        // The lab's throttled burner: 0.6 s of CPU in 3 s under 0.2 CPUs.
        assert_eq!(cgroup_busy(0, 600_000, Duration::from_secs(3), 0.2), 1.0);
        assert_eq!(cgroup_busy(0, 300_000, Duration::from_secs(3), 0.2), 0.5);
        assert_eq!(cgroup_busy(5, 1, Duration::from_secs(3), 0.2), 0.0);
        assert_eq!(cgroup_busy(0, 1, Duration::ZERO, 0.2), 0.0);
    }

    #[test]
    fn loadavg_meminfo_window_spare() {
        assert_eq!(parse_loadavg("0.50 0.40 0.30 1/100 42\n").unwrap(), 0.5);
        assert!(parse_loadavg("NaN 1 1").is_err());
        assert!(parse_loadavg("").is_err());
        let m = "MemTotal:       1000 kB\nMemFree: 10 kB\nMemAvailable:    250 kB\n";
        assert_eq!(parse_meminfo_used(m).unwrap(), 0.75);
        assert!(parse_meminfo_used("MemTotal: 5 kB\n").is_err());
        let s = Duration::from_secs;
        let mut w = Window::new(s(2));
        assert_eq!(w.mean(s(0)), None);
        w.push(s(0), 1.0);
        w.push(s(1), f64::NAN);
        w.push(s(1), 0.0);
        w.push(s(2), 0.5);
        assert_eq!(w.mean(s(2)), Some(0.5));
        w.push(s(3), 7.0);
        assert_eq!(w.mean(s(3)), Some(0.5));
        assert_eq!(w.mean(s(4)), Some(0.75));
        assert_eq!(w.mean(s(10)), None);
        assert_eq!(count_cpus("cpu 1 2 3 4\ncpu0 1\ncpu1 2\ncpufoo\nintr\n"), 2);
        assert_eq!(count_cpus(""), 1);
        assert_eq!(spare_percent(0.0, 100), 100);
        assert_eq!(spare_percent(0.254, 100), 75);
        assert_eq!(spare_percent(0.0, 60), 60);
        assert_eq!(spare_percent(f64::NAN, 100), 0);
        assert_eq!(spare_percent(7.0, 100), 0);
    }
}
