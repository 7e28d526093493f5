//! Frames of the HPM-100A power meter's serial output: parse, decode, convert.
//!
//! The meter sends, about once a second at 9600 baud, an ASCII frame such as
//!
//! ```text
//! S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E
//! ```
//!
//! followed by CR (LF). This crate knows no serial device: it works on bytes from
//! anywhere.
//!
//! At the crate root, the names most users need:
//!
//! - [`Frame`], the lossless raw model of one frame: every field's label and
//!   exact digits, and the form it came in ([`Frame::raw`] gives back exactly
//!   the bytes from `S` to `E`). Its `Display` writes the canonical live form,
//!   and parsing that gives the same frame back. [`Frame::parse`] accepts only
//!   the meter's exact shapes: the live form (each value exactly 7 characters,
//!   `:` separators, each known label once, trailer `  E`) and the annotated
//!   form (one separator throughout).
//! - [`StreamDecoder`] takes byte chunks of any size and hands out frames as soon
//!   as they end (or their line end arrives, if asked), skipping and counting
//!   anything else; [`FrameReader`] does that over a [`std::io::Read`].
//! - [`LogReader`] reads `watt.txt` logs (of the old patched `com.c` and of
//!   `com`) and `com`'s `rfc3339` logs frame by frame, in bounded memory:
//!   [`LogRecord`]s of (timestamp, frame), with an error naming line and column
//!   for each damaged record or run of junk; [`LogWriter`] writes them from the
//!   bytes received and the caller's clock.
//! - [`RecordWriter`] writes records as CSV, JSON Lines or InfluxDB line protocol
//!   to any [`std::io::Write`].
//! - the errors these return ([`FrameError`], [`LogError`], ...).
//!
//! The rest, by subject:
//!
//! - [`field`]: a field's [`Label`](field::Label) (unknown two-letter labels are
//!   kept as [`Label::Other`](field::Label::Other); no label holds `S`, which
//!   always starts a frame) and exact [`Digits`](field::Digits);
//!   [`frame`]: the [`Form`](frame::Form) a frame came in.
//! - [`check`]: [`Check`](check::Check) compares V × A × PF with W within the
//!   rounding of the shown digits and a margin: a frame that fails is suspect.
//! - [`decode`]: [`DecodeRule`](decode::DecodeRule) turns fields into typed
//!   [`Value`](decode::Value)s with units; the default
//!   [`TableRule::inferred`](decode::TableRule::inferred) is the rule inferred
//!   from the samples (see [`decode`] for what is fact and what is inference);
//!   the same table writes values as the meter's digits
//!   ([`TableRule::encode`](decode::TableRule::encode)), for a simulator.
//! - [`stream`]: the stream decoder's [`Stats`](stream::Stats) and
//!   [`Rejection`](stream::Rejection)s; [`log`]: [`LogKind`](log::LogKind),
//!   [`InputKind`](log::InputKind) (a log or a raw capture?), counters;
//!   [`output`]: the record [`Format`](output::Format)s and column selection;
//!   [`error`]: every error type and what the grammar expected where.
//!
//! # Example: live bytes to CSV
//!
//! How a serial terminal uses the crate: feed whatever each `read` returned, and
//! write a record, stamped with the time of reception, for each frame.
//!
//! ```
//! use hpm_frame::output::Format;
//! use hpm_frame::{RecordWriter, StreamDecoder};
//! use time::macros::datetime;
//!
//! let mut decoder = StreamDecoder::new();
//! let mut out = RecordWriter::new(Vec::new(), Format::Csv);
//! let reads: [&[u8]; 3] = [
//!     b"S:  21693Vo:  42412Am:  46461Wa:     21Wh",
//!     b":   5051Pf:  59981Hz:     01Kg:     01Eu  E\r\n\x00noise\r\nS:  2",
//!     b"1693Vo:  42422Am:  46481Wa:     31Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E\r\n",
//! ];
//! let now = datetime!(2011-01-05 07:57:32 +09:00); // the caller's clock
//! for chunk in reads {
//!     decoder.try_feed(chunk, |frame| out.write(Some(now), &frame))?;
//! }
//! let csv = String::from_utf8(out.finish()?)?;
//! let rows: Vec<&str> = csv.lines().collect();
//! assert_eq!(rows.len(), 3);
//! assert!(rows[1].starts_with("2011-01-05T07:57:32+09:00,216.9,42.41,4.646,0.002,0.505,59.98,0.000,0.000,S:  21693Vo"));
//! assert_eq!(decoder.stats().frames, 2);
//! assert_eq!(decoder.stats().skipped_bytes, 6); // NUL and "noise"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: an old log to JSON Lines
//!
//! ```
//! use hpm_frame::output::Format;
//! use hpm_frame::{LogReader, RecordWriter};
//! use time::UtcOffset;
//!
//! let log: &[u8] = b"S:  21693Vo:  42412Am  E[2011-01-05 07:57:32] \n";
//! let offset = UtcOffset::from_hms(9, 0, 0)?; // supplied by the caller
//! let mut out = RecordWriter::new(Vec::new(), Format::JsonLines);
//! for rec in LogReader::new(log) {
//!     let rec = rec?;
//!     out.write(Some(rec.time_at(offset)), &rec.frame)?;
//! }
//! let line = String::from_utf8(out.into_inner())?;
//! assert!(line.starts_with(r#"{"time":"2011-01-05T07:57:32+09:00","voltage_V":216.9,"current_A":42.41,"power_kW":null"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod decode;
mod encode;
pub mod error;
pub mod field;
pub mod frame;
mod grammar;
pub mod log;
mod log_writer;
pub mod output;
pub mod stream;

// The names most users need; everything else is in the modules above.
pub use error::{DecodeError, EncodeError, FieldError, FrameError, LogError, RecordError};
pub use frame::Frame;
pub use log::{LogReader, LogRecord, LogWriter};
pub use output::RecordWriter;
pub use stream::{FrameReader, StreamDecoder};

/// The `time` crate, whose types appear in this crate's API.
pub use time;

/// The README's examples compile (and those that can, run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
