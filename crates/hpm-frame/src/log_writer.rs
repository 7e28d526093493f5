//! Writing logs: the received bytes with timestamps, in the two forms
//! [`LogReader`](crate::LogReader) reads.
//!
//! - [`LogKind::Watt`]: the form the patched `com.c` wrote to `watt.txt`, the
//!   bytes as they are except that each CR becomes `[YYYY-MM-DD HH:MM:SS] `
//!   (the time as given, no offset written).
//! - [`LogKind::Rfc3339`]: the bytes as they are, each line (ended by CR or LF,
//!   CR LF counting once) starting with an RFC 3339 time with milliseconds and
//!   a space: `2011-01-05T07:57:32.120+09:00 `, or `...Z` for a UTC time.
//!
//! The writer knows no clock and no time zone: the caller gives the time of
//! each chunk, in the offset the log should show.

use std::io::{self, Write};

use time::OffsetDateTime;

use crate::log::LogKind;

/// Writes received bytes as a log of one [`LogKind`] to any [`Write`].
///
/// Each [`write`](LogWriter::write) renders its chunk into a buffer and hands
/// it to the output in one `write_all`: over a `File`, one `write(2)` per
/// chunk, so every complete line is in the file as soon as it arrives.
/// Chunk boundaries do not change the log, except that all stamps of one chunk
/// show the chunk's time.
///
/// ```
/// use hpm_frame::{LogReader, LogWriter, log::LogKind};
/// use time::macros::datetime;
///
/// let mut log = LogWriter::new(Vec::new(), LogKind::Watt);
/// let now = datetime!(2011-01-05 07:57:32 +09:00);
/// log.write(b"S:  21693Vo:  42412Am  E\r\n", || now)?;
/// assert_eq!(log.get_ref().as_slice(), b"S:  21693Vo:  42412Am  E[2011-01-05 07:57:32] \n");
///
/// let rec = LogReader::new(log.get_ref().as_slice()).next().unwrap()?;
/// assert_eq!(rec.time_at(now.offset()), now);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct LogWriter<W> {
    out: W,
    kind: LogKind,
    /// The next byte starts a line (an `rfc3339` log stamps it).
    at_line_start: bool,
    /// The last byte written was CR: an LF right after it belongs to the same
    /// line end and gets no stamp of its own.
    after_cr: bool,
    buf: Vec<u8>,
}

impl<W: Write> LogWriter<W> {
    /// A writer of a new log (or of one that ends with a line end).
    pub fn new(out: W, kind: LogKind) -> LogWriter<W> {
        LogWriter {
            out,
            kind,
            at_line_start: true,
            after_cr: false,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Appends the bytes received in one read. `now` gives the time to stamp
    /// them with, in the offset the log shows; it is called once, and only if
    /// the chunk needs a stamp. Returns whether a line ended in the chunk (the
    /// moment to sync a file to disk, if the caller wants that).
    pub fn write(&mut self, data: &[u8], now: impl FnOnce() -> OffsetDateTime) -> io::Result<bool> {
        self.buf.clear();
        let line_end = match self.kind {
            LogKind::Watt => self.render_watt(data, now),
            LogKind::Rfc3339 => self.render_lines(data, now),
        };
        self.out.write_all(&self.buf)?;
        Ok(line_end)
    }

    /// The kind of log written.
    pub fn kind(&self) -> LogKind {
        self.kind
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The output, to sync or flush it.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The output, the writer gone.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn render_watt(&mut self, data: &[u8], now: impl FnOnce() -> OffsetDateTime) -> bool {
        let mut now = Some(now);
        let mut stamp = [0u8; WATT_STAMP_LEN];
        let mut line_end = false;
        for part in data.split_inclusive(|&b| b == b'\r') {
            match part.split_last() {
                Some((b'\r', body)) => {
                    self.buf.extend_from_slice(body);
                    if let Some(now) = now.take() {
                        stamp = watt_stamp(now());
                    }
                    self.buf.extend_from_slice(&stamp);
                    line_end = true;
                }
                _ => self.buf.extend_from_slice(part),
            }
        }
        line_end
    }

    fn render_lines(&mut self, data: &[u8], now: impl FnOnce() -> OffsetDateTime) -> bool {
        let mut now = Some(now);
        let mut stamp = Vec::new();
        let mut line_end = false;
        let mut rest = data;
        while let Some(&first) = rest.first() {
            if self.at_line_start && !(self.after_cr && first == b'\n') {
                if let Some(now) = now.take() {
                    stamp = rfc3339_stamp(now()).into_bytes();
                }
                self.buf.extend_from_slice(&stamp);
                self.at_line_start = false;
            }
            // Up to and including the next line end.
            let n = rest
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .map_or(rest.len(), |k| k + 1);
            let (part, tail) = rest.split_at(n);
            self.buf.extend_from_slice(part);
            let last = part[part.len() - 1];
            if last == b'\r' || last == b'\n' {
                self.at_line_start = true;
                line_end = true;
            }
            self.after_cr = last == b'\r';
            rest = tail;
        }
        line_end
    }
}

const WATT_STAMP_LEN: usize = "[2011-01-05 07:57:32] ".len();

/// `[YYYY-MM-DD HH:MM:SS] `, as `com.c`'s `fprintf` wrote it (a year outside
/// 0 to 9999 is written with its last four digits).
fn watt_stamp(at: OffsetDateTime) -> [u8; WATT_STAMP_LEN] {
    let mut s = *b"[0000-00-00 00:00:00] ";
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for k in (0..width).rev() {
            s[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(1, at.year().unsigned_abs(), 4);
    put(6, u32::from(u8::from(at.month())), 2);
    put(9, u32::from(at.day()), 2);
    put(12, u32::from(at.hour()), 2);
    put(15, u32::from(at.minute()), 2);
    put(18, u32::from(at.second()), 2);
    s
}

/// RFC 3339 with milliseconds, then a space: `2011-01-05T07:57:32.120+09:00 `.
fn rfc3339_stamp(at: OffsetDateTime) -> String {
    let offset = at.offset();
    let zone = if offset.is_utc() {
        "Z".to_string()
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{zone} ",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn stamps_have_the_old_loggers_shape() {
        let t = datetime!(2011-01-05 07:57:32.120 +09:00);
        assert_eq!(&watt_stamp(t), b"[2011-01-05 07:57:32] ");
        assert_eq!(rfc3339_stamp(t), "2011-01-05T07:57:32.120+09:00 ");
        assert_eq!(
            rfc3339_stamp(datetime!(2026-11-24 23:32:00 UTC).to_offset(offset!(-3:30))),
            "2026-11-24T20:02:00.000-03:30 "
        );
        assert_eq!(
            rfc3339_stamp(datetime!(2026-11-24 23:32:00.007 UTC)),
            "2026-11-24T23:32:00.007Z "
        );
    }

    #[test]
    fn the_clock_is_read_once_per_chunk_and_only_for_a_stamp() {
        let mut log = LogWriter::new(Vec::new(), LogKind::Watt);
        let mut reads = 0;
        log.write(b"no line end", || {
            reads += 1;
            datetime!(2011-01-05 07:57:32 UTC)
        })
        .unwrap();
        assert_eq!(reads, 0);
        let ended = log
            .write(b"\ra\rb\r", || {
                reads += 1;
                datetime!(2011-01-05 07:57:33 UTC)
            })
            .unwrap();
        assert!(ended);
        assert_eq!(reads, 1);
        assert_eq!(
            log.into_inner(),
            b"no line end[2011-01-05 07:57:33] a[2011-01-05 07:57:33] b[2011-01-05 07:57:33] "
        );
    }
}
