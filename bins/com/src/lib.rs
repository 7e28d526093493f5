//! The library half of `com`: the parts that work on logs and are worth
//! testing and measuring alone (the benchmarks in `benches/` use them).
//!
//! - [`readings`]: the frames of `watt.txt` and `rfc3339` logs as instants and
//!   values in base units, the `--from`/`--to` window.
//! - [`plot`]: charts of readings as SVG, PNG or terminal text, downsampled to
//!   minimum and maximum per pixel column for long logs.
//!
//! ```
//! use com::readings::{Quantity, TimeArg};
//!
//! assert_eq!(Quantity::Power.key(), "power_W");
//! assert!(matches!(TimeArg::parse("2026-03-01 12:00"), Ok(TimeArg::Local(_))));
//! ```
#![forbid(unsafe_code)]

pub mod plot;
pub mod readings;
