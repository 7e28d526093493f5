//! Reading the `watt.txt` logs written by the patched `com.c`.
//!
//! That logger appended every byte it passed on, except that each CR became
//! `[YYYY-MM-DD HH:MM:SS] ` (local time, no offset, then one space). With the meter
//! sending CR LF after each frame, a line reads
//!
//! ```text
//! S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E[2011-01-05 07:57:32]
//! ```
//!
//! (plus the trailing space). A record is a frame, optional whitespace and a
//! timestamp; a line may hold several records (if the meter sent no LF) or none
//! (a blank line). A damaged record is reported with its line and column, and
//! reading goes on after its timestamp.

use std::collections::VecDeque;
use std::io::{self, BufRead};

use memchr::memchr;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::LogError;
use crate::frame::Frame;
use crate::grammar;

/// One record of a `watt.txt` log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogRecord {
    /// 1-based line number.
    pub line: u64,
    /// The logger's timestamp: local time of the machine that wrote the log, with
    /// no UTC offset recorded.
    pub time: PrimitiveDateTime,
    /// The frame.
    pub frame: Frame,
}

impl LogRecord {
    /// The timestamp as an instant, given the UTC offset the logging machine had.
    /// The offset is the caller's knowledge: the log does not record it.
    pub fn time_at(&self, offset: UtcOffset) -> OffsetDateTime {
        self.time.assume_offset(offset)
    }
}

/// What a byte source holds, guessed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// A `watt.txt` log: frames followed by `[YYYY-MM-DD HH:MM:SS]` timestamps.
    WattLog,
    /// The meter's raw byte stream (a capture), without timestamps.
    RawStream,
}

impl InputKind {
    /// [`InputKind::WattLog`] if `head` holds a `]`-closed `[YYYY-MM-DD HH:MM:SS`
    /// timestamp, else [`InputKind::RawStream`]. A few kilobytes are plenty.
    pub fn sniff(head: &[u8]) -> InputKind {
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

/// An iterator of the records of a `watt.txt` log, with an error item for each
/// damaged record or overlong line, after which reading goes on.
///
/// Lines are split at LF; a line longer than
/// [`max_line_len`](LogReader::with_max_line_len) is skipped (memory stays bounded).
/// An I/O error ends the iteration after being returned.
///
/// ```
/// use hpm_frame::LogReader;
/// use time::UtcOffset;
///
/// let log: &[u8] = b"S:  21693Vo:  42412Am  E[2011-01-05 07:57:32] \n\
///                    S:  2169\x003Vo  E[2011-01-05 07:57:33] \n\
///                    S:  21693Vo:  42422Am  E[2011-01-05 07:57:34] \n";
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
/// assert_eq!(damaged, ["line 2, column 9: frame: at byte 8: expected a two-letter label, found byte 0x00"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LogReader<R> {
    src: R,
    line: u64,
    max_line: usize,
    /// Part of a line that spans reads.
    buf: Vec<u8>,
    /// Skipping the rest of an overlong line.
    overlong: bool,
    queue: VecDeque<Result<LogRecord, LogError>>,
    done: bool,
    records: u64,
    errors: u64,
}

impl<R: BufRead> LogReader<R> {
    /// The default longest line: far more than any record.
    pub const DEFAULT_MAX_LINE_LEN: usize = 64 * 1024;

    /// Records of `src`.
    pub fn new(src: R) -> LogReader<R> {
        LogReader::with_max_line_len(src, Self::DEFAULT_MAX_LINE_LEN)
    }

    /// Records of `src`, skipping lines longer than `max` bytes.
    pub fn with_max_line_len(src: R, max: usize) -> LogReader<R> {
        LogReader {
            src,
            line: 0,
            max_line: max,
            buf: Vec::new(),
            overlong: false,
            queue: VecDeque::new(),
            done: false,
            records: 0,
            errors: 0,
        }
    }

    /// Lines read so far.
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Records returned so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Errors returned so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Reads one more line (or the end) into the queue.
    fn read_line(&mut self) {
        loop {
            let avail = match self.src.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.done = true;
                    self.queue.push_back(Err(LogError::Io {
                        line: self.line,
                        source,
                    }));
                    return;
                }
            };
            if avail.is_empty() {
                self.done = true;
                if self.overlong {
                    self.line += 1;
                    self.overlong = false;
                    self.queue.push_back(Err(LogError::LineTooLong {
                        line: self.line,
                        max: self.max_line,
                    }));
                } else if !self.buf.is_empty() {
                    self.line += 1;
                    parse_line(self.line, &self.buf, &mut self.queue);
                    self.buf.clear();
                }
                return;
            }
            let Some(i) = memchr(b'\n', avail) else {
                let n = avail.len();
                if !self.overlong && self.buf.len() + n > self.max_line {
                    self.overlong = true;
                    self.buf.clear();
                }
                if !self.overlong {
                    self.buf.extend_from_slice(avail);
                }
                self.src.consume(n);
                continue;
            };
            self.line += 1;
            if self.overlong || self.buf.len() + i > self.max_line {
                self.overlong = false;
                self.buf.clear();
                self.queue.push_back(Err(LogError::LineTooLong {
                    line: self.line,
                    max: self.max_line,
                }));
            } else if self.buf.is_empty() {
                // The whole line is in the reader's buffer: parse it in place.
                parse_line(self.line, &avail[..i], &mut self.queue);
            } else {
                self.buf.extend_from_slice(&avail[..i]);
                parse_line(self.line, &self.buf, &mut self.queue);
                self.buf.clear();
            }
            self.src.consume(i + 1);
            return;
        }
    }
}

/// Parses the records of one line (without its LF) into `out`.
fn parse_line(line_no: u64, line: &[u8], out: &mut VecDeque<Result<LogRecord, LogError>>) {
    let mut rest = line;
    while rest.iter().any(|&b| !grammar::is_ws(b)) {
        let mut frame = Frame::empty();
        match grammar::record(rest, &mut frame) {
            Ok((r, time)) => {
                out.push_back(Ok(LogRecord {
                    line: line_no,
                    time,
                    frame,
                }));
                rest = r;
            }
            Err((off, source)) => {
                let column = line.len() - rest.len() + off + 1;
                out.push_back(Err(LogError::Record {
                    line: line_no,
                    column,
                    source,
                }));
                // Go on after the damaged record's timestamp, if the line has one.
                let from = &rest[off.min(rest.len())..];
                match memchr(b']', from) {
                    Some(j) => rest = &from[j + 1..],
                    None => break,
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = Result<LogRecord, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                match item {
                    Ok(_) => self.records += 1,
                    Err(_) => self.errors += 1,
                }
                return Some(item);
            }
            if self.done {
                return None;
            }
            self.read_line();
        }
    }
}
