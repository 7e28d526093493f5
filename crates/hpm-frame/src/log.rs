//! Reading logs: the `watt.txt` logs written by the patched `com.c` (and by
//! `com --log-format watt`), and `com`'s `rfc3339` logs.
//!
//! The old logger appended every byte it passed on, except that each CR became
//! `[YYYY-MM-DD HH:MM:SS] ` (local time, no offset, then one space). With the meter
//! sending CR LF after each frame, a line reads
//!
//! ```text
//! S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E[2011-01-05 07:57:32]
//! ```
//!
//! (plus the trailing space). A record is a frame, optional whitespace and a
//! timestamp. A meter that ends its frames with CR alone never writes LF, so a
//! whole log may be one line: the reader therefore goes frame by frame, not line
//! by line, keeping at most a few kilobytes whatever the log's length.
//!
//! An `rfc3339` log holds the bytes as received, each line (after CR or LF)
//! starting with `2026-11-24T23:32:00.123+09:00 `; a frame's time is the stamp of
//! its line.
//!
//! Anything that is not a record (line noise, a frame cut off at the end of a
//! session, keys typed into the old logger) is reported once, with its line and
//! column, and reading goes on at the next `S`: a good frame that shares its line
//! with junk is still read.
//!
//! [`LogWriter`] writes both forms.

use std::io::{self, Read};

use memchr::{memchr, memchr3};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{Expected, Found, FrameError, LogError, RecordError};
use crate::frame::Frame;
use crate::grammar;

pub use crate::log_writer::LogWriter;

/// One record of a `watt.txt` log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogRecord {
    /// 1-based line number.
    pub line: u64,
    /// The logger's timestamp: local time of the machine that wrote the log.
    pub time: PrimitiveDateTime,
    /// The UTC offset recorded with the time (`rfc3339` logs); `None` for a
    /// `watt.txt` log, which records none.
    pub offset: Option<UtcOffset>,
    /// The frame.
    pub frame: Frame,
}

impl LogRecord {
    /// The timestamp as an instant: with the recorded offset if the log has one,
    /// else with `offset`, the one the logging machine had (the caller's
    /// knowledge: a `watt.txt` log does not record it).
    pub fn time_at(&self, offset: UtcOffset) -> OffsetDateTime {
        self.time.assume_offset(self.offset.unwrap_or(offset))
    }
}

/// What a byte source holds, guessed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// A `watt.txt` log: frames followed by `[YYYY-MM-DD HH:MM:SS]` timestamps.
    WattLog,
    /// An `rfc3339` log of `com`: lines starting with an RFC 3339 time and a space.
    Rfc3339Log,
    /// The meter's raw byte stream (a capture), without timestamps.
    RawStream,
}

impl InputKind {
    /// [`InputKind::Rfc3339Log`] if `head` starts with an RFC 3339 stamp and a
    /// space; else [`InputKind::WattLog`] if it holds a `]`-closed
    /// `[YYYY-MM-DD HH:MM:SS` timestamp; else [`InputKind::RawStream`]. A few
    /// kilobytes are plenty.
    pub fn sniff(head: &[u8]) -> InputKind {
        if grammar::rfc3339_stamp(head).is_some() {
            return InputKind::Rfc3339Log;
        }
        let mut rest = head;
        while let Some(i) = memchr(b'[', rest) {
            rest = &rest[i + 1..];
            if rest.len() > 19 && rest[19] == b']' && grammar::is_date_time(&rest[..19]) {
                return InputKind::WattLog;
            }
        }
        InputKind::RawStream
    }
}

/// Which kind of log a [`LogReader`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// `watt.txt`: each frame followed by `[YYYY-MM-DD HH:MM:SS] `.
    Watt,
    /// `com --log-format rfc3339`: each line starts with an RFC 3339 stamp.
    Rfc3339,
}

/// Counters of a [`LogReader`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LogStats {
    /// Bytes read.
    pub bytes: u64,
    /// Records returned.
    pub records: u64,
    /// Damaged records and runs of junk reported (error items other than I/O).
    pub damaged: u64,
    /// Bytes that belong to no record, timestamp or whitespace: junk and the
    /// bytes of damaged records.
    pub skipped_bytes: u64,
}

/// An iterator of the records of a log, with an error item for each damaged
/// record or run of junk, after which reading goes on at the next `S`.
///
/// It reads frame by frame: a log without any LF (a CR-only meter) is read in
/// bounded memory however long it is. An I/O error ends the iteration after
/// being returned.
///
/// ```
/// use hpm_frame::LogReader;
/// use time::UtcOffset;
///
/// let log: &[u8] = b"S:  21693Vo:  42412Am  E[2011-01-05 07:57:32] \n\
///                    S:  2169\x003Vo  E[2011-01-05 07:57:33] \n\
///                    noiseS:  21693Vo:  42422Am  E[2011-01-05 07:57:34] \n";
/// let mut ok = Vec::new();
/// let mut damaged = Vec::new();
/// for item in LogReader::new(log) {
///     match item {
///         Ok(rec) => ok.push(rec),
///         Err(e) => damaged.push(e.to_string()),
///     }
/// }
/// assert_eq!(ok.len(), 2);
/// assert_eq!(ok[1].line, 3);
/// let kst = UtcOffset::from_hms(9, 0, 0)?;
/// assert_eq!(ok[0].time_at(kst).unix_timestamp(), 1_294_181_852);
/// // One item for the damage, which runs to the next `S` (the noise included).
/// assert_eq!(damaged, [
///     "line 2, column 9: frame: at byte 8: expected a value of exactly 7 characters (spaces, then digits), found byte 0x00",
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LogReader<R> {
    src: R,
    kind: LogKind,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    done: bool,
    /// A read error, returned once the bytes read before it are done.
    failed: Option<io::Error>,
    /// Newlines counted up to this stream offset.
    nl_to: u64,
    /// The 1-based line at `nl_to`, and the stream offset where it starts.
    line: u64,
    line_start: u64,
    /// Inside a run of junk already reported.
    in_junk: bool,
    /// The latest RFC 3339 stamp (rfc3339 logs).
    stamp: Option<(PrimitiveDateTime, UtcOffset)>,
    /// Where the latest record's frame is in `buf` (see [`LogReader::raw`]).
    raw: std::ops::Range<usize>,
    stats: LogStats,
}

/// A record is looked for in at most this many bytes from its `S`: far more than
/// any frame and timestamp (a live frame of 16 fields and its stamp are under
/// 200 bytes). The reader keeps about this much beyond each read.
const WINDOW: usize = 1024;
const READ: usize = 64 * 1024;

impl<R: Read> LogReader<R> {
    /// Records of a `watt.txt` log.
    pub fn new(src: R) -> LogReader<R> {
        LogReader::with_kind(src, LogKind::Watt)
    }

    /// Records of a log of this kind.
    pub fn with_kind(src: R, kind: LogKind) -> LogReader<R> {
        LogReader {
            src,
            kind,
            buf: vec![0; READ + WINDOW],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
            done: false,
            failed: None,
            nl_to: 0,
            line: 1,
            line_start: 0,
            in_junk: false,
            stamp: None,
            raw: 0..0,
            stats: LogStats::default(),
        }
    }

    /// Lines read so far (the line of the latest item).
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Records returned so far.
    pub fn records(&self) -> u64 {
        self.stats.records
    }

    /// Errors returned so far (damaged records and junk).
    pub fn errors(&self) -> u64 {
        self.stats.damaged
    }

    /// The counters so far.
    pub fn stats(&self) -> LogStats {
        self.stats
    }

    /// The bytes of the latest record's frame as the log holds them, from `S`
    /// to `E`: the same bytes as its [`Frame::write_raw`] (the grammar takes
    /// only the exact shapes the meter sends), there to be copied rather than
    /// made again. Valid until the next read; empty before the first record
    /// and after an error item.
    ///
    /// ```
    /// use hpm_frame::{LogReader, LogRecord};
    ///
    /// let log: &[u8] = b"S:  21693Vo:  42412Am  E[2011-01-05 07:57:32] \n";
    /// let mut reader = LogReader::new(log);
    /// let mut rec = LogRecord::empty();
    /// reader.read_into(&mut rec).unwrap()?;
    /// assert_eq!(reader.raw(), b"S:  21693Vo:  42412Am  E");
    /// assert_eq!(reader.raw(), rec.frame.raw().as_bytes());
    /// # Ok::<(), hpm_frame::LogError>(())
    /// ```
    pub fn raw(&self) -> &[u8] {
        self.buf.get(self.raw.clone()).unwrap_or_default()
    }

    /// Counts newlines up to stream offset `to` (never backwards).
    fn count_lines(&mut self, to: u64) {
        if to <= self.nl_to {
            return;
        }
        let from = (self.nl_to - self.base) as usize;
        let upto = (to - self.base) as usize;
        for k in memchr::memchr_iter(b'\n', &self.buf[from..upto]) {
            self.line += 1;
            self.line_start = self.base + (from + k + 1) as u64;
        }
        self.nl_to = to;
    }

    /// Line and 1-based column of buffer position `at`.
    fn place(&mut self, at: usize) -> (u64, usize) {
        let abs = self.base + at as u64;
        self.count_lines(abs);
        (
            self.line,
            (abs.saturating_sub(self.line_start)) as usize + 1,
        )
    }

    /// Reads until at least `WINDOW` bytes are buffered from `pos`, or the end
    /// (or a read error, kept for later).
    fn fill(&mut self) {
        // Keep one byte before `pos`: whether `pos` starts a line.
        let keep = self.pos.saturating_sub(1);
        if keep > 0 && self.end + WINDOW > self.buf.len() {
            self.count_lines(self.base + keep as u64);
            self.buf.copy_within(keep..self.end, 0);
            self.base += keep as u64;
            self.pos -= keep;
            self.end -= keep;
        }
        while !self.eof && self.end - self.pos < WINDOW {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.end += n;
                    self.stats.bytes += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.failed = Some(e);
                }
            }
        }
    }

    fn at_line_start(&self) -> bool {
        match self.pos.checked_sub(1) {
            Some(k) => matches!(self.buf[k], b'\r' | b'\n'),
            None => self.base == 0,
        }
    }

    /// A damaged item at buffer position `at`.
    fn damaged(&mut self, at: usize, source: RecordError) -> LogError {
        self.stats.damaged += 1;
        let (line, column) = self.place(at);
        LogError::Record {
            line,
            column,
            source,
        }
    }

    /// Skips from `pos` (not whitespace) to the next place a record may start,
    /// counting the bytes skipped.
    fn skip_junk(&mut self) {
        let from = self.pos + 1;
        let rest = &self.buf[from..self.end];
        let next = match self.kind {
            LogKind::Watt => memchr(b'S', rest),
            LogKind::Rfc3339 => memchr3(b'S', b'\r', b'\n', rest),
        };
        let to = next.map_or(self.end, |k| from + k);
        let ws = self.buf[self.pos..to]
            .iter()
            .filter(|&&b| grammar::is_ws(b))
            .count();
        self.stats.skipped_bytes += (to - self.pos - ws) as u64;
        self.pos = to;
    }

    /// Reads the next record into `rec` (no copy of the frame: for callers that
    /// convert millions of records), or returns the next error; `None` at the
    /// end. The same items as the iterator.
    pub fn read_into(&mut self, rec: &mut LogRecord) -> Option<Result<(), LogError>> {
        self.raw = 0..0;
        loop {
            if self.done {
                return None;
            }
            if !self.eof && self.end - self.pos < WINDOW {
                self.fill();
            }
            let Some(&b) = self.buf[self.pos..self.end].first() else {
                self.done = true;
                let source = self.failed.take()?;
                self.place(self.end);
                let line = self.line - 1;
                return Some(Err(LogError::Io { line, source }));
            };
            if grammar::is_ws(b) {
                let n = self.buf[self.pos..self.end]
                    .iter()
                    .take_while(|&&b| grammar::is_ws(b))
                    .count();
                self.pos += n;
                continue;
            }
            let window_end = self.end.min(self.pos + WINDOW);
            let data = &self.buf[self.pos..window_end];
            match self.kind {
                LogKind::Rfc3339 if self.at_line_start() => {
                    if let Some((n, t, o)) = grammar::rfc3339_stamp(data) {
                        self.stamp = Some((t, o));
                        self.pos += n;
                        self.in_junk = false;
                        continue;
                    }
                }
                LogKind::Watt if b == b'[' => {
                    // A timestamp alone: the device sent a CR with no frame
                    // before it. Nothing is lost.
                    if let Some(n) = grammar::watt_stamp_len(data) {
                        self.pos += n;
                        continue;
                    }
                }
                _ => {}
            }
            if b != b'S' {
                let first = !self.in_junk;
                self.in_junk = true;
                let at = self.pos;
                self.skip_junk();
                if first {
                    let err = self.damaged(
                        at,
                        RecordError::Frame(FrameError::Syntax {
                            offset: 0,
                            expected: Expected::Start,
                            found: Found(Some(b)),
                        }),
                    );
                    return Some(Err(err));
                }
                continue;
            }
            let frame = &mut rec.frame;
            let parsed = match self.kind {
                LogKind::Watt => grammar::record(data, frame)
                    .map(|r| (data.len() - r.rest.len(), r.time, None, r.frame)),
                LogKind::Rfc3339 => match grammar::frame_into::<true>(data, frame) {
                    // Bytes as received: the frame's own line end right after `E`.
                    Ok((rest, ())) if !matches!(rest.first(), Some(b'\r' | b'\n')) => {
                        let off = data.len() - rest.len();
                        Err((
                            off,
                            RecordError::Frame(FrameError::Syntax {
                                offset: off,
                                expected: Expected::LineEnd,
                                found: Found(rest.first().copied()),
                            }),
                        ))
                    }
                    Ok((rest, ())) => match self.stamp {
                        Some((time, offset)) => {
                            let n = data.len() - rest.len();
                            Ok((n, time, Some(offset), 0..n))
                        }
                        None => Err((0, RecordError::MissingTimestamp)),
                    },
                    Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                        let off = data.len() - e.input.len();
                        Err((off, RecordError::Frame(e.into_frame_error(data))))
                    }
                    Err(nom::Err::Incomplete(_)) => Err((
                        data.len(),
                        RecordError::Frame(FrameError::Syntax {
                            offset: data.len(),
                            expected: Expected::FieldOrEnd,
                            found: Found(None),
                        }),
                    )),
                },
            };
            match parsed {
                Ok((n, time, offset, span)) => {
                    self.raw = self.pos + span.start..self.pos + span.end;
                    self.in_junk = false;
                    let (line, _) = self.place(self.pos);
                    self.pos += n;
                    self.stats.records += 1;
                    rec.line = line;
                    rec.time = time;
                    rec.offset = offset;
                    return Some(Ok(()));
                }
                Err((off, source)) => {
                    self.in_junk = true;
                    let at = self.pos + off;
                    self.skip_junk();
                    return Some(Err(self.damaged(at, source)));
                }
            }
        }
    }
}

impl LogRecord {
    /// A record to read into ([`LogReader::read_into`]).
    pub fn empty() -> LogRecord {
        LogRecord {
            line: 0,
            time: PrimitiveDateTime::MIN,
            offset: None,
            frame: Frame::empty(),
        }
    }
}

impl<R: Read> Iterator for LogReader<R> {
    type Item = Result<LogRecord, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut rec = LogRecord::empty();
        Some(self.read_into(&mut rec)?.map(|()| rec))
    }
}
