//! Records for downstream tools: CSV, JSON Lines and InfluxDB line protocol.
//!
//! Every record carries the time (when known), each decoded value of the rule's
//! columns, and the raw frame: exactly the bytes received from `S` to `E`, so
//! nothing the meter sent is lost even when the decoding rule turns out wrong.
//! [`RecordWriter::select`] chooses other columns (the raw one is optional), and
//! [`RecordWriter::with_suspect_column`] adds the consistency check's flag.
//!
//! | format | time | value that cannot be decoded / missing | raw frame |
//! |---|---|---|---|
//! | CSV | RFC 3339 with offset, first column | empty cell | last column, `raw` |
//! | JSON Lines | `"time"`: RFC 3339 string or `null` | `null` | `"raw"` |
//! | InfluxDB | nanoseconds since the Unix epoch (the protocol's form), omitted when unknown | field left out | string field `raw` |
//!
//! RFC 3339 writes offsets in whole minutes: a time whose offset has seconds
//! (a zone's local mean time, before its first standard offset) is written as
//! the same instant in UTC (`Z`).
//!
//! **InfluxDB points never share a timestamp.** A point with the same
//! measurement, tags and time as an earlier one replaces it, and a `watt.txt`
//! log has whole seconds (two frames can fall in one second), while live frames
//! read in one chunk share their reception time. So a point whose time is not
//! after the previous point's, but within one second of it, is written 1 ns
//! after the previous point: the k-th extra frame of a second gets +k ns. (A
//! clock set back by more than a second is left as it is.) A point without a
//! time is written without one, and InfluxDB would give all of them the time of
//! arrival: `com decode` refuses that for captures unless given a start time and
//! an interval.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::decode::{Column, DecodeRule, Scheme, TableRule};
use crate::field::Digits;
use crate::frame::Frame;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
    /// InfluxDB line protocol.
    Influx,
}

impl Format {
    /// The names [`Format::from_str`] accepts, one per format.
    pub const NAMES: [&'static str; 3] = ["csv", "jsonl", "influx"];
}

/// A column name that is not one of [`RecordWriter::column_names`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown column {name:?}: expected one of {known}")]
pub struct UnknownColumn {
    /// The name given.
    pub name: String,
    /// The names known, comma-separated.
    pub known: String,
}

/// How the CSV writer makes one [`Slot`], decided when the columns are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Time,
    /// The [`Scheme::PointDigit`] value of the known label `Label::KNOWN[k]`,
    /// cut from its digits.
    Point(usize),
    /// The value of that known label by another scheme, from its digits.
    Digits(usize, Scheme),
    /// Column `i`'s value through the rule.
    Value(usize),
    Raw,
    Suspect,
}

/// One output column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Time,
    Value(usize),
    Raw,
    Suspect,
}

/// A format name that is not one of [`Format::NAMES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format {0:?}: expected csv, jsonl or influx")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// `csv`, `jsonl` (or `json`, `ndjson`), `influx` (or `line-protocol`).
    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        match s {
            "csv" => Ok(Format::Csv),
            "jsonl" | "json" | "ndjson" => Ok(Format::JsonLines),
            "influx" | "line-protocol" => Ok(Format::Influx),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// Writes one record per frame to a [`Write`] in one [`Format`], decoding with a
/// [`DecodeRule`] (by default [`TableRule::inferred`]).
///
/// ```
/// use hpm_frame::{Frame, RecordWriter, output::Format};
/// use time::macros::datetime;
///
/// let frame = Frame::parse(b"S:  21693Vo:  42412Am:  59981Hz  E")?;
/// let mut w = RecordWriter::new(Vec::new(), Format::Csv);
/// w.write(Some(datetime!(2011-01-05 07:57:32 +09:00)), &frame)?;
/// let csv = String::from_utf8(w.into_inner())?;
/// assert_eq!(
///     csv,
///     "time,voltage_V,current_A,power_kW,energy_kWh,power_factor,frequency_Hz,kg,eu,raw\n\
///      2011-01-05T07:57:32+09:00,216.9,42.41,,,,59.98,,,S:  21693Vo:  42412Am:  59981Hz  E\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RecordWriter<W: Write, R: DecodeRule = TableRule> {
    out: W,
    format: Format,
    rule: R,
    columns: Vec<Column>,
    slots: Vec<Slot>,
    /// The slots as the CSV writer makes them (see [`Cell`]), one per slot.
    cells: Vec<Cell>,
    header_done: bool,
    measurement: String,
    tags: String,
    line: String,
    /// Reused for the raw frame, the values and the time of each record.
    raw: Vec<u8>,
    stamp: Vec<u8>,
    /// CSV rows: the first `filled` bytes are rows waiting for the output,
    /// the next one is put together after them (see `push_csv`); the rest
    /// is room, zeros or old bytes, never written out.
    row: Vec<u8>,
    filled: usize,
    /// CSV bytes handed to `out` so far.
    written: u64,
    /// The CSV and JSON times of the current minute, formatted once.
    stamps: StampCache,
    /// JSON Lines and InfluxDB records not yet handed to `out` (CSV rows
    /// wait in `row`), and how many bytes may wait (0: each record is
    /// written at once).
    pending: Vec<u8>,
    buffer: usize,
    /// The previous InfluxDB point's time (ns since the epoch).
    last_ns: Option<i128>,
}

impl<W: Write> RecordWriter<W> {
    /// A writer with the inferred decoding rule.
    pub fn new(out: W, format: Format) -> RecordWriter<W> {
        RecordWriter::with_rule(out, format, TableRule::inferred())
    }
}

impl<W: Write, R: DecodeRule> RecordWriter<W, R> {
    /// The default InfluxDB measurement name.
    pub const DEFAULT_MEASUREMENT: &'static str = "hpm";

    /// A writer with the given decoding rule.
    pub fn with_rule(out: W, format: Format, rule: R) -> RecordWriter<W, R> {
        let columns = rule.columns();
        let slots = std::iter::once(Slot::Time)
            .chain((0..columns.len()).map(Slot::Value))
            .chain(std::iter::once(Slot::Raw))
            .collect();
        RecordWriter {
            out,
            format,
            rule,
            columns,
            slots,
            cells: Vec::new(),
            header_done: false,
            measurement: influx_escape(Self::DEFAULT_MEASUREMENT, ", "),
            tags: String::new(),
            line: String::new(),
            raw: Vec::new(),
            stamp: Vec::new(),
            row: Vec::new(),
            filled: 0,
            written: 0,
            stamps: StampCache::default(),
            pending: Vec::new(),
            buffer: 0,
            last_ns: None,
        }
        .with_cells()
    }

    /// Decides how the CSV writer makes each slot: a value column whose label
    /// the rule decodes by a plain scheme ([`DecodeRule::scheme`]) is written
    /// straight from the field's digits.
    fn with_cells(mut self) -> Self {
        let (rule, columns) = (&self.rule, &self.columns);
        self.cells = self
            .slots
            .iter()
            .map(|slot| match *slot {
                Slot::Time => Cell::Time,
                Slot::Raw => Cell::Raw,
                Slot::Suspect => Cell::Suspect,
                Slot::Value(i) => {
                    let label = columns[i].label;
                    match (label.known_index(), rule.scheme(label)) {
                        (Some(k), Some((Scheme::PointDigit, _))) => Cell::Point(k as usize),
                        (Some(k), Some((scheme, _))) => Cell::Digits(k as usize, scheme),
                        _ => Cell::Value(i),
                    }
                }
            })
            .collect();
        self
    }

    /// Keeps up to `bytes` of records before handing them to the output in one
    /// write (for a file or pipe not already buffered). [`flush`](Self::flush)
    /// and [`finish`](Self::finish) write what waits; [`into_inner`](Self::into_inner)
    /// drops it. CSV rows go out in writes that end where all the CSV written
    /// (the header included) is a whole multiple of `bytes` (the rest waits
    /// for the next), so that with a power of two each write but the first
    /// starts and ends on a boundary of that size in a new file: the kernel
    /// then takes the bytes in whole large pages (writing 155 MB to a file
    /// here took 15 % less system time in aligned 256 KiB writes than in
    /// writes of 100 bytes more).
    pub fn buffered(mut self, bytes: usize) -> Self {
        self.buffer = bytes;
        if self.format == Format::Csv {
            self.row = vec![0; bytes + 2 * ROW_SLOT * (self.cells.len() + 1)];
        } else {
            self.pending = Vec::with_capacity(bytes + 1024);
        }
        self
    }

    /// Sets the InfluxDB measurement name (default `hpm`).
    pub fn measurement(mut self, name: &str) -> Self {
        self.measurement = influx_escape(name, ", ");
        self
    }

    /// Adds an InfluxDB tag (e.g. `source=watt.txt`) to every line.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        let _ = write!(
            self.tags,
            ",{}={}",
            influx_escape(key, ",= "),
            influx_escape(value, ",= ")
        );
        self
    }

    /// The names [`select`](Self::select) accepts: `time`, the rule's columns,
    /// `raw` and `suspect`.
    pub fn column_names(&self) -> Vec<String> {
        let mut v = vec!["time".to_string()];
        v.extend(self.columns.iter().map(|c| c.name.clone()));
        v.push("raw".into());
        v.push("suspect".into());
        v
    }

    /// Writes only these columns, in this order (CSV and JSON Lines; InfluxDB
    /// takes the value fields, `raw` and `suspect` from the list and always
    /// carries the time as the point's timestamp).
    pub fn select<S: AsRef<str>>(mut self, names: &[S]) -> Result<Self, UnknownColumn> {
        let mut slots = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            let slot = match name {
                "time" => Slot::Time,
                "raw" => Slot::Raw,
                "suspect" => Slot::Suspect,
                _ => match self.columns.iter().position(|c| c.name == name) {
                    Some(k) => Slot::Value(k),
                    None => {
                        return Err(UnknownColumn {
                            name: name.to_string(),
                            known: self.column_names().join(", "),
                        });
                    }
                },
            };
            slots.push(slot);
        }
        self.slots = slots;
        Ok(self.with_cells())
    }

    /// Adds the `suspect` column (`true` for a frame that failed the
    /// [consistency check](crate::check::Check)) at the end, if not selected already.
    pub fn with_suspect_column(mut self) -> Self {
        if !self.slots.contains(&Slot::Suspect) {
            self.slots.push(Slot::Suspect);
        }
        self.with_cells()
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The columns written, from the rule.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Writes the CSV header row if it has not been written yet (done by the first
    /// [`write`](Self::write) too). Other formats have no header.
    pub fn write_header(&mut self) -> io::Result<()> {
        if self.header_done || self.format != Format::Csv {
            return Ok(());
        }
        self.header_done = true;
        let mut h = Vec::new();
        for (k, slot) in self.slots.iter().enumerate() {
            if k > 0 {
                h.push(b',');
            }
            match *slot {
                Slot::Time => h.extend_from_slice(b"time"),
                Slot::Value(i) => csv_field(&mut h, self.columns[i].name.as_bytes()),
                Slot::Raw => h.extend_from_slice(b"raw"),
                Slot::Suspect => h.extend_from_slice(b"suspect"),
            }
        }
        h.push(b'\n');
        // At once (the rows after it count it in their alignment).
        self.written += h.len() as u64;
        self.out.write_all(&h)
    }

    /// Writes one record: `time` is when the frame was received (`None` when not
    /// known, as for a raw capture), `frame` the frame.
    pub fn write(&mut self, time: Option<OffsetDateTime>, frame: &Frame) -> io::Result<()> {
        self.write_flagged(time, frame, false)
    }

    /// Writes one record with its `suspect` flag (shown only if the writer has
    /// the column: [`with_suspect_column`](Self::with_suspect_column)).
    pub fn write_flagged(
        &mut self,
        time: Option<OffsetDateTime>,
        frame: &Frame,
        suspect: bool,
    ) -> io::Result<()> {
        self.write_record(time, frame, &[], suspect)
    }

    /// [`write_flagged`](Self::write_flagged) with the bytes the frame was
    /// read from (e.g. [`LogReader::raw`](crate::LogReader::raw)), which the
    /// raw column takes as they are instead of making them again from the
    /// frame. They must be the frame's own ([`Frame::write_raw`]); empty
    /// means "not at hand": then they are made from the frame.
    ///
    /// ```
    /// use hpm_frame::{LogReader, LogRecord, RecordWriter, output::Format};
    ///
    /// let log: &[u8] = b"S:  21693Vo:  42412Am  E[2011-01-05 07:57:32] \n";
    /// let mut reader = LogReader::new(log);
    /// let mut rec = LogRecord::empty();
    /// let mut w = RecordWriter::new(Vec::new(), Format::Csv).select(&["voltage_V", "raw"])?;
    /// while let Some(item) = reader.read_into(&mut rec) {
    ///     item?;
    ///     w.write_received(None, &rec.frame, reader.raw(), false)?;
    /// }
    /// assert_eq!(w.into_inner(), b"voltage_V,raw\n216.9,S:  21693Vo:  42412Am  E\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_received(
        &mut self,
        time: Option<OffsetDateTime>,
        frame: &Frame,
        raw: &[u8],
        suspect: bool,
    ) -> io::Result<()> {
        debug_assert!(
            raw.is_empty() || raw == frame.raw().as_bytes(),
            "the bytes given are not the frame's"
        );
        self.write_record(time, frame, raw, suspect)
    }

    /// One record, with the frame's raw bytes if at hand (else empty).
    fn write_record(
        &mut self,
        time: Option<OffsetDateTime>,
        frame: &Frame,
        received: &[u8],
        suspect: bool,
    ) -> io::Result<()> {
        self.write_header()?;
        if self.format == Format::Csv {
            self.push_csv(time, frame, received, suspect)?;
            if self.filled > self.buffer {
                return self.write_rows();
            }
            return Ok(());
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let mut raw_buf = std::mem::take(&mut self.raw);
        raw_buf.clear();
        if received.is_empty() {
            frame.write_raw(&mut raw_buf);
        } else {
            raw_buf.extend_from_slice(received);
        }
        let mut stamp_buf = std::mem::take(&mut self.stamp);
        stamp_buf.clear();
        let stamped = match time {
            Some(t) if self.format != Format::Influx => {
                push_rfc3339(&mut stamp_buf, t)?;
                true
            }
            _ => false,
        };
        // Frames and stamps are ASCII.
        let raw = std::str::from_utf8(&raw_buf).unwrap_or_default();
        let stamp = stamped.then(|| std::str::from_utf8(&stamp_buf).unwrap_or_default());
        match self.format {
            Format::Csv => {}
            Format::JsonLines => {
                line.push('{');
                for (k, slot) in self.slots.iter().enumerate() {
                    if k > 0 {
                        line.push(',');
                    }
                    match *slot {
                        Slot::Time => {
                            line.push_str("\"time\":");
                            match stamp {
                                Some(s) => json_string(&mut line, s),
                                None => line.push_str("null"),
                            }
                        }
                        Slot::Value(i) => {
                            let c = &self.columns[i];
                            json_string(&mut line, &c.name);
                            line.push(':');
                            match self.value(frame, c) {
                                Some(v) => {
                                    let _ = write!(line, "{v}");
                                }
                                None => line.push_str("null"),
                            }
                        }
                        Slot::Raw => {
                            line.push_str("\"raw\":");
                            json_string(&mut line, raw);
                        }
                        Slot::Suspect => {
                            line.push_str(if suspect {
                                "\"suspect\":true"
                            } else {
                                "\"suspect\":false"
                            });
                        }
                    }
                }
                line.push('}');
            }
            Format::Influx => {
                line.push_str(&self.measurement);
                line.push_str(&self.tags);
                line.push(' ');
                let mut first = true;
                let mut sep = |line: &mut String| {
                    if !std::mem::take(&mut first) {
                        line.push(',');
                    }
                };
                for slot in &self.slots {
                    match *slot {
                        Slot::Time => {}
                        Slot::Value(i) => {
                            let c = &self.columns[i];
                            if let Some(v) = self.value(frame, c) {
                                sep(&mut line);
                                let _ = write!(line, "{}={v}", influx_escape(&c.name, ",= "));
                            }
                        }
                        Slot::Raw => {
                            sep(&mut line);
                            line.push_str("raw=\"");
                            line.push_str(&influx_escape(raw, "\""));
                            line.push('"');
                        }
                        Slot::Suspect => {
                            sep(&mut line);
                            line.push_str(if suspect {
                                "suspect=true"
                            } else {
                                "suspect=false"
                            });
                        }
                    }
                }
                if first {
                    // A point needs a field: keep the raw frame.
                    line.push_str("raw=\"");
                    line.push_str(&influx_escape(raw, "\""));
                    line.push('"');
                }
                if let Some(t) = time {
                    let mut ns = t.unix_timestamp_nanos();
                    if let Some(last) = self.last_ns
                        && ns <= last
                        && last - ns < 1_000_000_000
                    {
                        ns = last + 1;
                    }
                    self.last_ns = Some(ns);
                    let _ = write!(line, " {ns}");
                }
            }
        }
        if self.format != Format::Csv {
            line.push('\n');
            self.pending.extend_from_slice(line.as_bytes());
        }
        self.line = line;
        self.raw = raw_buf;
        self.stamp = stamp_buf;
        if self.pending.len() > self.buffer {
            return self.write_pending();
        }
        Ok(())
    }

    /// One CSV row straight into the output bytes: this is the hot path of
    /// converting a log. The row is put together in `row` with fixed-size
    /// copies (each piece has room reserved), then appended in one copy; each
    /// field is decoded once, looked up by its label.
    fn push_csv(
        &mut self,
        time: Option<OffsetDateTime>,
        frame: &Frame,
        received: &[u8],
        suspect: bool,
    ) -> io::Result<()> {
        let RecordWriter {
            cells,
            columns,
            rule,
            row,
            filled,
            stamps,
            raw,
            ..
        } = self;
        // Room for every cell, after the rows waiting.
        let start = *filled;
        let need = cells.len() * ROW_SLOT + ROW_SLOT;
        if row.len() < start + need {
            row.resize(start + need, 0);
        }
        let mut at = start;
        // Each cell is followed by a comma; the last one becomes the line end.
        for cell in cells.iter() {
            match *cell {
                Cell::Time => {
                    if let Some(t) = time {
                        at += stamps.put(&mut row[at..], t)?;
                    }
                }
                Cell::Point(k) => {
                    if let Some(digits) = frame.known_digits(k) {
                        at += put_point_digit(&mut row[at..], digits);
                    }
                }
                Cell::Digits(k, scheme) => {
                    if let Some(digits) = frame.known_digits(k) {
                        at += put_scheme(&mut row[at..], scheme, digits);
                    }
                }
                Cell::Value(i) => {
                    // The first field of a label counts, as `Frame::get` has it.
                    if let Some(c) = columns.get(i)
                        && let Some(f) = frame.get(c.label)
                        && let Some((v, _)) = rule.amount(f)
                    {
                        at += put_decimal(&mut row[at..], v);
                    }
                }
                // The live form holds nothing CSV must quote.
                Cell::Raw if frame.form() == crate::frame::Form::Live => {
                    at += match row.get_mut(at..at + received.len()) {
                        // The row has room for `LIVE_MAX_LEN` bytes here.
                        Some(to) if (1..=Frame::LIVE_MAX_LEN).contains(&received.len()) => {
                            to.copy_from_slice(received);
                            received.len()
                        }
                        _ => frame.put_live(&mut row[at..]),
                    };
                }
                Cell::Raw => {
                    // The annotated form, quoted (of any length: room is made
                    // for it and the cells after it).
                    let mut quoted = Vec::with_capacity(2 * received.len() + 2);
                    if received.is_empty() {
                        raw.clear();
                        frame.write_raw(raw);
                        csv_field(&mut quoted, raw);
                    } else {
                        csv_field(&mut quoted, received);
                    }
                    if row.len() < at + quoted.len() + need {
                        row.resize(at + quoted.len() + need, 0);
                    }
                    row[at..at + quoted.len()].copy_from_slice(&quoted);
                    at += quoted.len();
                }
                Cell::Suspect => {
                    let word: &[u8; 5] = if suspect { b"true " } else { b"false" };
                    row[at..at + 5].copy_from_slice(word);
                    at += if suspect { 4 } else { 5 };
                }
            }
            row[at] = b',';
            at += 1;
        }
        // No cells: an empty line.
        at = at.max(start + 1);
        row[at - 1] = b'\n';
        *filled = at;
        Ok(())
    }

    /// Hands the CSV rows waiting to the output: unbuffered all of them,
    /// else whole multiples of the buffer's size, the rest moved to the front
    /// to wait.
    fn write_rows(&mut self) -> io::Result<()> {
        let n = match self.buffer as u64 {
            0 => self.filled,
            // Up to the last multiple of the buffer's size in all that was
            // written (the header included), so that the next write starts
            // there.
            size => {
                let end = (self.written + self.filled as u64) / size * size;
                end.saturating_sub(self.written) as usize
            }
        };
        self.written += n as u64;
        let res = self.out.write_all(&self.row[..n]);
        self.row.copy_within(n..self.filled, 0);
        self.filled -= n;
        res
    }

    /// Hands the records waiting to the output.
    fn write_pending(&mut self) -> io::Result<()> {
        let rows = &self.row[..self.filled];
        let res = self
            .out
            .write_all(&self.pending)
            .and_then(|()| self.out.write_all(rows));
        self.pending.clear();
        self.written += self.filled as u64;
        self.filled = 0;
        res
    }

    /// The decoded value of column `c` as exact decimal text, if the frame has the
    /// field and the rule can decode it.
    fn value(&self, frame: &Frame, c: &Column) -> Option<crate::decode::Decimal> {
        let field = frame.get(c.label)?;
        self.rule.decode(field).ok().map(|v| v.amount)
    }

    /// Writes the records waiting and flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.out.flush()
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The output, mutably.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Ends the output (writing the CSV header if no record was written) and
    /// returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.write_header()?;
        self.flush()?;
        Ok(self.out)
    }

    /// The output, without writing anything more.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Room a CSV row reserves per column: a live raw frame, or a value or time
/// (at most [`PIECE`] bytes), and the comma.
const ROW_SLOT: usize = Frame::LIVE_MAX_LEN + PIECE + 1;

/// A time or a value is copied into the row as one piece of this many bytes
/// (then the row's end moves by its true length).
const PIECE: usize = 48;

/// The RFC 3339 text of the latest time written, so that the times of one
/// minute are formatted once (a log has one record a second or more: most
/// records share their minute with the one before).
#[derive(Debug)]
struct StampCache {
    /// The local date, hour, minute and the offset of the cached text, if any.
    key: Option<(time::Date, u8, u8, time::UtcOffset)>,
    /// `YYYY-MM-DDTHH:MM:SS` and the offset (`Z` or `+09:00`); the seconds
    /// (bytes 17 and 18) are replaced for each time.
    text: [u8; PIECE],
    len: usize,
    /// For times not cached (fractions of a second, far years).
    scratch: Vec<u8>,
}

impl Default for StampCache {
    fn default() -> StampCache {
        StampCache {
            key: None,
            text: [0; PIECE],
            len: 0,
            scratch: Vec::new(),
        }
    }
}

impl StampCache {
    /// Writes `t` as [`push_rfc3339`] does at the start of `dst` (at least
    /// [`PIECE`] bytes long) and returns its length.
    #[inline]
    fn put(&mut self, dst: &mut [u8], t: OffsetDateTime) -> io::Result<usize> {
        let offset = t.offset();
        // The local fields are what the text shows: no arithmetic on them.
        let key = (t.date(), t.hour(), t.minute(), offset);
        let sec = t.second();
        if self.key == Some(key) && t.nanosecond() == 0 {
            dst[..PIECE].copy_from_slice(&self.text);
            dst[17] = b'0' + sec / 10;
            dst[18] = b'0' + sec % 10;
            return Ok(self.len);
        }
        self.scratch.clear();
        push_rfc3339(&mut self.scratch, t)?;
        let n = self.scratch.len();
        let Some(to) = dst.get_mut(..n) else {
            return Err(io::Error::other("time too long for RFC 3339"));
        };
        to.copy_from_slice(&self.scratch);
        // Only the plain shape is cached: no fraction, a four-digit year.
        let plain = t.nanosecond() == 0
            && (0..=9999).contains(&t.year())
            && offset.seconds_past_minute() == 0;
        self.key = None;
        if plain && (20..=PIECE).contains(&n) && self.scratch[16] == b':' {
            self.text[..n].copy_from_slice(&self.scratch);
            self.len = n;
            self.key = Some(key);
        }
        Ok(n)
    }
}

/// Writes a decimal exactly as its `Display` writes it (scale up to 20) at
/// the start of `dst` (at least [`PIECE`] bytes long) and returns its length:
/// no formatting machinery and no buffer in between (this runs for every
/// value of every record).
#[inline(always)]
fn put_decimal(dst: &mut [u8], d: crate::decode::Decimal) -> usize {
    if let Ok(n) = u16::try_from(d.units)
        && n < 10_000
        && d.scale <= 4
    {
        return put_small_decimal(dst, n, u32::from(d.scale));
    }
    let scale = usize::from(d.scale).min(20);
    let mut n = d.units.unsigned_abs();
    let digits = if n < 10_000 {
        1 + usize::from(n >= 10) + usize::from(n >= 100) + usize::from(n >= 1000)
    } else {
        n.ilog10() as usize + 1
    };
    // At least one digit before the point.
    let int_len = digits.saturating_sub(scale).max(1);
    let neg = d.units < 0;
    let len = usize::from(neg) + int_len + if scale > 0 { 1 + scale } else { 0 };
    let out = &mut dst[..len];
    let mut k = len;
    for _ in 0..scale {
        k -= 1;
        out[k] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    if scale > 0 {
        k -= 1;
        out[k] = b'.';
    }
    for _ in 0..int_len {
        k -= 1;
        out[k] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    if neg {
        out[0] = b'-';
    }
    len
}

/// What [`put_decimal`] writes of `scheme.amount(field)` for a field with
/// these digits (nothing when the scheme gives no value), written from the
/// digits themselves where the text fits in a word: the value's digits are
/// the field's (the mantissa, or the digits before the last), only the point
/// and the zeros around them differ.
#[inline(always)]
fn put_scheme(dst: &mut [u8], scheme: Scheme, digits: Digits) -> usize {
    let len = digits.len();
    let word = digits.ascii_word();
    let fast = match scheme {
        Scheme::PointDigit => return put_point_digit(dst, digits),
        Scheme::DropLastDigit { decimals } if len >= 2 => put_digit_text(
            dst,
            word & low_bytes(len - 1),
            len - 1,
            usize::from(decimals),
        ),
        Scheme::Fixed { decimals } => put_digit_text(dst, word, len, usize::from(decimals)),
        _ => return 0,
    };
    match fast {
        Some(n) => n,
        None => scheme.amount_of(digits).map_or(0, |d| put_decimal(dst, d)),
    }
}

/// How the text of a point-digit value is cut from `0` and its mantissa
/// padded to four digits with zeros in front (`0mmmm`, first character
/// lowest): shifted right by `shift` bits, the bytes outside `keep` moved up
/// one to make room for the point, then `add` (the point, or the zeros after
/// a whole number) put in; `len` bytes long, 0 when the text would not fit in
/// a word.
#[derive(Debug, Clone, Copy)]
struct Cut {
    shift: u32,
    keep: u64,
    add: u64,
    len: u8,
}

/// The [`Cut`] for each count of leading zeros of the padded mantissa (0 to
/// 4) and point digit `p` (0 to 9): the value is the mantissa × 10^(p − 4),
/// shown with 4 − p decimals when p < 4, else as a whole number.
const CUTS: [[Cut; 10]; 5] = {
    let none = Cut {
        shift: 0,
        keep: 0,
        add: 0,
        len: 0,
    };
    let mut t = [[none; 10]; 5];
    let mut lz = 0;
    while lz <= 4 {
        // Digits of the mantissa without its leading zeros.
        let significant = 4 - lz;
        let mut p = 0;
        while p <= 9 {
            t[lz][p] = if p < 4 {
                let decimals = 4 - p;
                // At least one digit before the point.
                let int_len = if significant > decimals {
                    significant - decimals
                } else {
                    1
                };
                let width = int_len + decimals;
                Cut {
                    shift: 8 * (5 - width) as u32,
                    keep: (1u64 << (8 * int_len)) - 1,
                    add: (b'.' as u64) << (8 * int_len),
                    len: (width + 1) as u8,
                }
            } else if significant == 0 {
                // Zero times anything: `0`.
                Cut {
                    shift: 32,
                    keep: u64::MAX,
                    add: 0,
                    len: 1,
                }
            } else if significant + (p - 4) <= 8 {
                // The significant digits, then p − 4 zeros.
                Cut {
                    shift: 8 * (1 + lz) as u32,
                    keep: u64::MAX,
                    add: ZEROS << (8 * significant),
                    len: (significant + p - 4) as u8,
                }
            } else {
                none
            };
            p += 1;
        }
        lz += 1;
    }
    t
};

/// [`put_scheme`] for [`Scheme::PointDigit`]: the value's text cut from the
/// digits by a table entry, no number in between (when it fits in a word).
#[inline(always)]
fn put_point_digit(dst: &mut [u8], digits: Digits) -> usize {
    let len = digits.len();
    if !(2..=5).contains(&len) {
        // No value.
        return 0;
    }
    match cut_point_digit(dst, digits.ascii_word(), len) {
        Some(n) => n,
        None => Scheme::PointDigit
            .amount_of(digits)
            .map_or(0, |d| put_decimal(dst, d)),
    }
}

/// The text of a [`Scheme::PointDigit`] value from its 2 to 5 digits
/// (`len`, first digit lowest in `word`), by a table entry. `None` (nothing
/// written) when it would not fit in a word.
#[inline(always)]
fn cut_point_digit(dst: &mut [u8], word: u64, len: usize) -> Option<usize> {
    let n = len - 1;
    let p = usize::from(((word >> (8 * n)) as u8).wrapping_sub(b'0'));
    let mantissa = word & low_bytes(n);
    // Padded to four digits with zeros in front, then `0` before them.
    let pad = 8 * (4 - n);
    let padded = (mantissa << pad) | (ZEROS & ((1u64 << pad) - 1));
    let text = (padded << 8) | u64::from(b'0');
    let leading = ((padded ^ 0x3030_3030).trailing_zeros() / 8).min(4) as usize;
    let cut = CUTS[leading].get(p)?;
    if cut.len == 0 {
        return None;
    }
    let shown = text >> cut.shift;
    let out = (shown & cut.keep) | ((shown & !cut.keep) << 8) | cut.add;
    dst[..8].copy_from_slice(&out.to_le_bytes());
    Some(usize::from(cut.len))
}

/// Eight ASCII zeros.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// A mask of the lowest `n` bytes of a word (all of it for 8 or more).
#[inline(always)]
fn low_bytes(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

/// Writes the decimal whose digits are the `n` ASCII digits in `word` (first
/// digit lowest, zeros above) with `decimals` of them after the point, as
/// [`Decimal`](crate::decode::Decimal)'s `Display` does (leading zeros
/// dropped, at least one digit before the point), at the start of `dst` (at
/// least 8 bytes), and returns its length; `None` (nothing written) when the
/// text would not fit in one word.
#[inline(always)]
fn put_digit_text(dst: &mut [u8], word: u64, n: usize, decimals: usize) -> Option<usize> {
    if n == 0 || n > 8 || decimals > 7 {
        return None;
    }
    // Leading zeros: the lowest bytes equal to `0`.
    let diff = (word ^ ZEROS) & low_bytes(n);
    let leading = if diff == 0 {
        n
    } else {
        diff.trailing_zeros() as usize / 8
    };
    let significant = n - leading;
    let int_len = significant.saturating_sub(decimals).max(1);
    let width = int_len + decimals;
    let fits = if decimals == 0 { width <= 8 } else { width < 8 };
    if !fits {
        return None;
    }
    // The last `width` digits of the number padded with zeros in front.
    let shown = if width <= n {
        word >> (8 * (n - width))
    } else {
        (word << (8 * (width - n))) | (ZEROS & low_bytes(width - n))
    };
    let text = if decimals == 0 {
        shown
    } else {
        let int_bits = 8 * int_len;
        let int = shown & ((1u64 << int_bits) - 1);
        let frac = (shown >> int_bits) & low_bytes(decimals);
        int | (u64::from(b'.') << int_bits) | (frac << (int_bits + 8))
    };
    dst[..8].copy_from_slice(&text.to_le_bytes());
    Some(width + usize::from(decimals > 0))
}

/// `00` to `99` as two ASCII digits each.
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut k = 0;
    while k < 100 {
        t[k] = [b'0' + (k / 10) as u8, b'0' + (k % 10) as u8];
        k += 1;
    }
    t
};

/// [`put_decimal`] for what a meter's field holds: 0 to 9999 with up to 4
/// decimals, made in one word (the five digits zero-padded, the leading
/// zeros shifted out, the point put in) and stored with one 8-byte copy.
#[inline(always)]
fn put_small_decimal(dst: &mut [u8], n: u16, scale: u32) -> usize {
    let [a, b] = PAIRS[usize::from(n / 100)];
    let [c, d] = PAIRS[usize::from(n % 100)];
    // `00505` (one more zero for `0.` before four decimals): first character
    // in the lowest byte.
    let text = u64::from_le_bytes([b'0', a, b, c, d, 0, 0, 0]);
    let digits = 1 + u32::from(n >= 10) + u32::from(n >= 100) + u32::from(n >= 1000);
    // At least one digit before the point.
    let int_len = digits.saturating_sub(scale).max(1);
    // Drop the zeros before the first digit shown.
    let shown = text >> (8 * (5 - scale - int_len));
    let len = if scale == 0 {
        dst[..8].copy_from_slice(&shown.to_le_bytes());
        int_len
    } else {
        let int_bits = 8 * int_len;
        let int = shown & ((1u64 << int_bits) - 1);
        let frac = shown >> int_bits;
        let word = int | (u64::from(b'.') << int_bits) | (frac << (int_bits + 8));
        dst[..8].copy_from_slice(&word.to_le_bytes());
        int_len + 1 + scale
    };
    len as usize
}

/// Appends `t` in RFC 3339 exactly as the `time` crate's `Rfc3339` writes it
/// (fraction only when non-zero, trailing zeros dropped; `Z` for UTC), without
/// its formatting machinery.
///
/// An offset with seconds cannot be written in RFC 3339 (zones had such
/// offsets in their local mean time, before their first standard offset:
/// Asia/Seoul's +08:27:52 until 1908), so such a time is written in UTC: the
/// same instant, where failing would end a whole decode at one old timestamp.
fn push_rfc3339(out: &mut Vec<u8>, t: OffsetDateTime) -> io::Result<()> {
    let t = if t.offset().seconds_past_minute() != 0 {
        t.to_offset(time::UtcOffset::UTC)
    } else {
        t
    };
    let year = t.year();
    let offset = t.offset();
    if !(0..=9999).contains(&year) {
        // Out of RFC 3339's range: let the crate say why.
        out.extend_from_slice(t.format(&Rfc3339).map_err(io::Error::other)?.as_bytes());
        return Ok(());
    }
    let two = |out: &mut Vec<u8>, v: u8| out.extend_from_slice(&[b'0' + v / 10, b'0' + v % 10]);
    let y = year as u16;
    out.extend_from_slice(&[
        b'0' + (y / 1000) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
        b'-',
    ]);
    let (_, month, day) = t.to_calendar_date();
    two(out, u8::from(month));
    out.push(b'-');
    two(out, day);
    out.push(b'T');
    let (h, m, sec, nanos) = t.to_hms_nano();
    two(out, h);
    out.push(b':');
    two(out, m);
    out.push(b':');
    two(out, sec);
    if nanos != 0 {
        out.push(b'.');
        let mut digits = [0u8; 9];
        let mut n = nanos;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let len = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        out.extend_from_slice(&digits[..len]);
    }
    if offset.is_utc() {
        out.push(b'Z');
    } else {
        let (h, m, _) = offset.as_hms();
        out.push(if offset.is_negative() { b'-' } else { b'+' });
        two(out, h.unsigned_abs());
        out.push(b':');
        two(out, m.unsigned_abs());
    }
    Ok(())
}

/// Appends `s` as one CSV field, quoted when it holds a comma, quote, CR or LF.
fn csv_field(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        out.push(b'"');
        for &b in s {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s);
    }
}

/// Appends `s` as a JSON string.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` with a backslash before each character of `special` (and before each
/// backslash, when `"` is special: string field values).
fn influx_escape(s: &str, special: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if special.contains(c) || (c == '\\' && special.contains('"')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Decimal;
    use crate::decode::testing::{all_digit_strings, any_scheme_and_digits};

    /// The plain path: the scheme's decimal, then `put_decimal`.
    fn plain_text(scheme: Scheme, digits: Digits) -> String {
        let mut s = vec![0; PIECE];
        let n = scheme
            .amount_of(digits)
            .map_or(0, |d| put_decimal(&mut s, d));
        s.truncate(n);
        String::from_utf8(s).unwrap()
    }

    fn digit_text(scheme: Scheme, digits: Digits) -> String {
        let mut s = vec![0; PIECE];
        let n = put_scheme(&mut s, scheme, digits);
        s.truncate(n);
        String::from_utf8(s).unwrap()
    }

    /// The point-digit values cut from the digits are the decimals' text, for
    /// every digit string a point-digit field can hold (and none for the
    /// others).
    #[test]
    fn point_digit_text_from_the_digits_for_every_digit_string() {
        for len in 1..=5 {
            for digits in all_digit_strings(len) {
                let mut s = vec![0; PIECE];
                let n = put_point_digit(&mut s, digits);
                s.truncate(n);
                assert_eq!(
                    String::from_utf8(s).unwrap(),
                    plain_text(Scheme::PointDigit, digits),
                    "{digits:?}"
                );
                assert_eq!(
                    digit_text(Scheme::PointDigit, digits),
                    plain_text(Scheme::PointDigit, digits)
                );
            }
        }
    }

    proptest::proptest! {
        /// Any scheme's text from the digits is the plain path's.
        #[test]
        fn scheme_text_from_the_digits_is_the_decimals(
            (scheme, digits) in any_scheme_and_digits(),
        ) {
            proptest::prop_assert_eq!(digit_text(scheme, digits), plain_text(scheme, digits));
        }

        #[test]
        fn fast_decimals_are_display(units in proptest::num::i64::ANY, scale in 0u8..20) {
            let d = Decimal { units, scale };
            let mut s = vec![0; PIECE];
            let n = put_decimal(&mut s, d);
            s.truncate(n);
            proptest::prop_assert_eq!(String::from_utf8(s).unwrap(), d.to_string());
        }

        #[test]
        fn small_decimals_are_display(units in 0i64..10_000, scale in 0u8..=4) {
            let d = Decimal { units, scale };
            let mut s = vec![0; PIECE];
            let n = put_decimal(&mut s, d);
            s.truncate(n);
            proptest::prop_assert_eq!(String::from_utf8(s).unwrap(), d.to_string());
        }

        #[test]
        fn cached_stamps_are_the_crates(
            start in -62_135_596_800i64..253_402_200_000,
            steps in proptest::collection::vec(0i64..130, 1..200),
            offsets in proptest::collection::vec(-1439i32..1439, 1..3),
        ) {
            let mut cache = StampCache::default();
            let mut secs = start;
            for (k, step) in steps.iter().enumerate() {
                secs += step;
                let offset = time::UtcOffset::from_whole_seconds(offsets[k % offsets.len()] * 60).unwrap();
                let t = OffsetDateTime::from_unix_timestamp(secs).unwrap().to_offset(offset);
                let mut s = vec![0; PIECE];
                let n = cache.put(&mut s, t).unwrap();
                s.truncate(n);
                proptest::prop_assert_eq!(String::from_utf8(s).unwrap(), t.format(&Rfc3339).unwrap());
            }
        }

        #[test]
        fn fast_rfc3339_is_the_crates(
            secs in -62_135_596_800i64..253_402_300_799,
            nanos in proptest::prop_oneof![
                proptest::strategy::Just(0u32),
                0u32..1_000_000_000,
                proptest::strategy::Just(120_000_000u32),
            ],
            offset_min in -1439i32..1439,
        ) {
            let offset = time::UtcOffset::from_whole_seconds(offset_min * 60).unwrap();
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap()
                .replace_nanosecond(nanos).unwrap()
                .to_offset(offset);
            let mut s = Vec::new();
            let ours = push_rfc3339(&mut s, t).map(|()| String::from_utf8(s).unwrap());
            let theirs = t.format(&Rfc3339);
            proptest::prop_assert_eq!(ours.ok(), theirs.ok());
        }
    }

    #[test]
    fn an_offset_with_seconds_is_written_as_the_same_instant_in_utc() {
        // 1900-01-05 07:57:32 in Seoul's local mean time, +08:27:52.
        let lmt = time::UtcOffset::from_hms(8, 27, 52).unwrap();
        let t = time::macros::datetime!(1900-01-05 07:57:32).assume_offset(lmt);
        assert!(
            t.format(&Rfc3339).is_err(),
            "RFC 3339 has no offset seconds"
        );
        let mut s = Vec::new();
        push_rfc3339(&mut s, t).unwrap();
        assert_eq!(s, b"1900-01-04T23:29:40Z");
        let mut cache = StampCache::default();
        let mut dst = [0u8; PIECE];
        for _ in 0..2 {
            let n = cache.put(&mut dst, t).unwrap();
            assert_eq!(&dst[..n], b"1900-01-04T23:29:40Z");
        }
    }
}
