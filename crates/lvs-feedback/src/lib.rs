//! Load feedback for LVS: real servers report how much capacity they have
//! to spare, the director turns the reports into IPVS weights.
//!
//! - [`agent`]: HAProxy's `agent-check` protocol, the one-line answers
//!   (`up 75%`, `drain`, `down # reason`, `maxconn:30`, ...) read with
//!   bounds and printed canonically ([`Report`]).
//! - [`policy`]: the load-to-weight policy of a service's real servers
//!   ([`Pool`]): configured weight × reported percentage, smoothed (EWMA),
//!   at most one step per interval, a hysteresis band, a blackout for new
//!   and returning agents, silent agents back to their configured weight
//!   after an expiry (never 0), the mean for real servers without an agent.
//! - [`load`]: the measures an agent reports from (`/proc/stat`, a cgroup
//!   v2's `cpu.stat` against `cpu.max`, `/proc/loadavg`, `/proc/meminfo`),
//!   parsed from their text, and the window that smooths them.
//!
//! Nothing here does I/O beyond [`Report::read_from`] on a reader given to
//! it; time is passed in, so every decision can be replayed.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use lvs_feedback::{Config, Pool, Report};
//!
//! let mut pool = Pool::new(Config { blackout: Duration::ZERO, ..Config::default() })?;
//! let busy = pool.add(100, true);
//! let idle = pool.add(100, true);
//! let t = Duration::from_secs(2);
//! pool.report(busy, t, &Report::parse(b"up 30%\n")?);
//! pool.report(idle, t, &Report::parse(b"up 100%\n")?);
//! let changes = pool.tick(t);
//! assert_eq!(changes.len(), 1);
//! assert_eq!(pool.weight(busy), Some(75)); // one step of 25 towards 30
//! assert_eq!(pool.weight(idle), Some(100));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod agent;
pub mod load;
pub mod policy;

pub use agent::{Admin, Health, Report};
pub use policy::{Change, Config, ConfigError, Pool, Reason};

/// The README's example runs as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
