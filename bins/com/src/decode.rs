//! Meter frames to records, through `hpm-frame`: live (`--decode`) and from files
//! (`com decode`).
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hpm_frame::{
    Frame, FrameReader, LogReader, LogRecord, RecordWriter, StreamDecoder,
    check::{Check, Verdict},
    log::{InputKind, LogKind},
    output::Format,
};
use time::{OffsetDateTime, UtcOffset};

use crate::cli::{InfluxArgs, RecordFormat};
use crate::zone::{Resolved, Zone};

impl From<RecordFormat> for Format {
    fn from(format: RecordFormat) -> Format {
        match format {
            RecordFormat::Csv => Format::Csv,
            RecordFormat::Jsonl => Format::JsonLines,
            RecordFormat::Influx => Format::Influx,
        }
    }
}

/// The live decoder: a frame counts with its line end right after `E`, as
/// `com decode` reads the session's log; with a `watt` log that is CR alone
/// (the log's timestamps replace CRs), else CR or LF.
pub fn live_decoder(watt_log: bool) -> StreamDecoder {
    if watt_log {
        StreamDecoder::new().require_cr()
    } else {
        StreamDecoder::new().require_line_end()
    }
}

/// `--measurement` and `--tag` on a writer.
fn influx_options<W: Write>(mut w: RecordWriter<W>, influx: &InfluxArgs) -> RecordWriter<W> {
    if let Some(m) = &influx.measurement {
        w = w.measurement(m);
    }
    for (k, v) in &influx.tags {
        w = w.tag(k, v);
    }
    w
}

/// Live counts of what the port sent (Ctrl-T s): frames decoded and checked,
/// whatever `--decode` says.
#[derive(Debug)]
pub struct Tally {
    decoder: StreamDecoder,
    check: Check,
    records: u64,
    suspect: u64,
}

impl Tally {
    pub fn new(watt_log: bool) -> Tally {
        Tally {
            decoder: live_decoder(watt_log),
            check: Check::new(),
            records: 0,
            suspect: 0,
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        let (check, records, suspect) = (&self.check, &mut self.records, &mut self.suspect);
        self.decoder.feed(data, |frame| {
            if check.verdict(&frame).is_consistent() {
                *records += 1;
            } else {
                *suspect += 1;
            }
        });
    }

    /// The counts so far (a frame still arriving is not counted yet).
    pub fn summary(&self) -> Summary {
        let stats = self.decoder.stats();
        Summary {
            records: self.records,
            damaged: stats.rejected,
            suspect: self.suspect,
            skipped_bytes: stats.skipped_bytes,
            ..Summary::default()
        }
    }
}

/// Where live records go.
#[derive(Debug)]
enum Target {
    /// `--out FILE`, appended, one `write(2)` per batch.
    File { file: File, path: PathBuf },
    /// The session's output (pipe mode without `--out`): records replace the raw
    /// stream.
    Local,
}

/// Live decoding: bytes from the port in, records out, each stamped with the
/// time it was received.
#[derive(Debug)]
pub struct LiveRecords {
    decoder: StreamDecoder,
    writer: RecordWriter<Vec<u8>>,
    target: Target,
    zone: Zone,
    /// Appending CSV to a non-empty file: drop the header row the writer makes.
    skip_header: bool,
    check: Check,
    keep_suspect: bool,
    /// Records written and suspect frames seen.
    records: u64,
    suspect: u64,
}

impl LiveRecords {
    /// Records in `format` to `out` (appended), or to the session output.
    pub fn new(
        format: RecordFormat,
        out: Option<&Path>,
        zone: Zone,
        keep_suspect: bool,
        influx: &InfluxArgs,
        watt_log: bool,
    ) -> anyhow::Result<Self> {
        let mut skip_header = false;
        let target = match out {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open {} for the records", path.display()))?;
                skip_header = file.metadata().map(|m| m.len() > 0).unwrap_or(false);
                Target::File {
                    file,
                    path: path.to_path_buf(),
                }
            }
            None => Target::Local,
        };
        let mut writer = influx_options(RecordWriter::new(Vec::new(), format.into()), influx);
        if keep_suspect {
            writer = writer.with_suspect_column();
        }
        Ok(LiveRecords {
            decoder: live_decoder(watt_log),
            writer,
            target,
            zone,
            skip_header: skip_header && format == RecordFormat::Csv,
            check: Check::new(),
            keep_suspect,
            records: 0,
            suspect: 0,
        })
    }

    /// Whether the records take the raw stream's place on the output.
    pub fn replaces_output(&self) -> bool {
        matches!(self.target, Target::Local)
    }

    /// Feeds received bytes; complete frames become records at once.
    pub fn feed(&mut self, data: &[u8], local: &mut Vec<u8>) -> io::Result<()> {
        let now = self.zone.local(OffsetDateTime::now_utc());
        let writer = &mut self.writer;
        let (check, keep) = (&self.check, self.keep_suspect);
        let (records, suspect) = (&mut self.records, &mut self.suspect);
        self.decoder.try_feed(data, |frame| {
            let bad = !check.verdict(&frame).is_consistent();
            *suspect += u64::from(bad);
            if bad && !keep {
                return Ok(());
            }
            *records += 1;
            writer.write_flagged(Some(now), &frame, bad)
        })?;
        self.emit(local)
    }

    /// Writes what is left (nothing unless a frame was cut).
    pub fn finish(&mut self, local: &mut Vec<u8>) -> io::Result<()> {
        self.emit(local)
    }

    fn emit(&mut self, local: &mut Vec<u8>) -> io::Result<()> {
        let bytes = self.writer.get_mut();
        if bytes.is_empty() {
            return Ok(());
        }
        if self.skip_header
            && let Some(end) = bytes.iter().position(|&b| b == b'\n')
        {
            bytes.drain(..=end);
            self.skip_header = false;
        }
        match &self.target {
            Target::File { file, path } => {
                let result = (&*file).write_all(bytes);
                bytes.clear();
                result.map_err(|err| {
                    io::Error::new(
                        err.kind(),
                        format!("writing the records to {}: {err}", path.display()),
                    )
                })
            }
            Target::Local => {
                local.append(bytes);
                Ok(())
            }
        }
    }
}

/// Where `com decode` writes (the record writer buffers).
type Sink = Box<dyn Write>;

/// What `com decode` was asked to do.
#[derive(Debug, Clone)]
pub struct Convert<'a> {
    pub input: Option<&'a Path>,
    pub format: RecordFormat,
    pub out: Option<&'a Path>,
    /// The zone of a `watt.txt` log's wall times.
    pub zone: Zone,
    pub keep_suspect: bool,
    pub quiet: bool,
    pub columns: Option<&'a [String]>,
    pub margin: f64,
    pub influx: InfluxArgs,
    /// Times for a raw capture's frames: the first, and the step.
    pub start: Option<(OffsetDateTime, time::Duration)>,
}

/// The counts `com decode` ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    pub damaged: u64,
    pub suspect: u64,
    pub skipped_bytes: u64,
    /// Wall times in an hour that happened twice, or never.
    pub repeated: u64,
    pub skipped_times: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} records, {} damaged, {} suspect, {} bytes skipped",
            self.records, self.damaged, self.suspect, self.skipped_bytes
        )?;
        if self.repeated > 0 {
            write!(f, ", {} times in a repeated hour", self.repeated)?;
        }
        if self.skipped_times > 0 {
            write!(f, ", {} times in a skipped hour", self.skipped_times)?;
        }
        Ok(())
    }
}

/// Whether two open files are one file (same device and inode), whatever the
/// paths or links that led to them.
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Refuses an output that is the input (through any path or link): it would be
/// truncated before it is read. Checked before anything is created.
fn refuse_output_onto_input(input: &File, input_name: &str, out: &Path) -> anyhow::Result<()> {
    let Ok(out_meta) = std::fs::metadata(out) else {
        return Ok(());
    };
    let in_meta = input
        .metadata()
        .with_context(|| format!("reading {input_name}"))?;
    if same_file(&in_meta, &out_meta) && out_meta.is_file() {
        return Err(crate::exit::Exit::Usage.because(anyhow::anyhow!(
                "refusing to write the records to {}: it is the input {input_name} (it would be destroyed)",
                out.display()
            )));
    }
    Ok(())
}

/// A write error that means the reader went away (`com decode ... | head`).
fn is_broken_pipe(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::BrokenPipe
}

/// `com decode`: a `watt.txt` or `rfc3339` log, or a raw capture, to records.
/// Per-record messages (damaged, suspect) go to stderr unless `quiet`; the
/// summary is returned. A closed stdout ends the conversion quietly (`None`).
pub fn convert(job: &Convert<'_>) -> anyhow::Result<Option<Summary>> {
    let from_stdin = job.input.is_none_or(|p| p == Path::new("-"));
    let name = match job.input {
        Some(path) if !from_stdin => path.display().to_string(),
        _ => "stdin".to_string(),
    };
    let input_file = match job.input {
        Some(path) if !from_stdin => {
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?
        }
        _ => {
            use std::os::fd::AsFd;
            File::from(
                io::stdin()
                    .as_fd()
                    .try_clone_to_owned()
                    .context("reading stdin")?,
            )
        }
    };
    if let Some(out) = job.out {
        refuse_output_onto_input(&input_file, &name, out)?;
    }
    let make_writer = |sink: Sink| -> anyhow::Result<RecordWriter<Sink>> {
        let mut writer = influx_options(RecordWriter::new(sink, job.format.into()), &job.influx);
        if let Some(columns) = job.columns {
            writer = writer
                .select(columns)
                .map_err(|e| crate::exit::Exit::Usage.because(anyhow::anyhow!("--columns: {e}")))?;
        }
        if job.keep_suspect {
            writer = writer.with_suspect_column();
        }
        Ok(writer)
    };
    // Bad columns are refused before the output is created.
    make_writer(Box::new(io::sink()))?;
    // The first bytes tell what the input is; the readers then read the file
    // straight into their own buffers (no second copy through a BufReader).
    let mut head = Vec::with_capacity(64 * 1024);
    (&input_file)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {name}"))?;
    let source = io::Cursor::new(head.clone()).chain(input_file);
    let kind = InputKind::sniff(&head);
    if kind == InputKind::RawStream && job.format == RecordFormat::Influx && job.start.is_none() {
        return Err(crate::exit::Exit::Usage.because(anyhow::anyhow!(
                "{name} is a raw capture, with no times: InfluxDB would give every point the time it arrives and keep only the last; give --start TIME --interval SECONDS"
            )));
    }
    let sink: Box<dyn Write> = match job.out {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let out_name = job
        .out
        .map_or("stdout".to_string(), |p| p.display().to_string());
    let mut writer = make_writer(sink)?.buffered(256 * 1024);
    let check = Check::new().margin(job.margin);
    let mut summary = Summary::default();
    let say = |msg: std::fmt::Arguments<'_>| {
        if !job.quiet {
            eprintln!("com decode: {name}: {msg}");
        }
    };
    // Each record: checked, then written unless suspect (and not kept).
    // `raw`: the frame's bytes as read, if at hand (else empty).
    let emit = |time: Option<OffsetDateTime>,
                frame: &Frame,
                raw: &[u8],
                writer: &mut RecordWriter<Sink>,
                summary: &mut Summary,
                place: &dyn std::fmt::Display|
     -> io::Result<()> {
        let verdict = check.verdict(frame);
        let suspect = !verdict.is_consistent();
        if suspect {
            summary.suspect += 1;
            say(format_args!(
                "{place}: suspect frame {}: {} ({})",
                frame.raw(),
                describe(&verdict),
                if job.keep_suspect { "kept" } else { "skipped" }
            ));
            if !job.keep_suspect {
                return Ok(());
            }
        }
        summary.records += 1;
        writer.write_received(time, frame, raw, suspect)
    };
    let written = (|| -> anyhow::Result<()> {
        let write_err = |err: io::Error| anyhow::Error::new(err);
        match kind {
            kind @ (InputKind::WattLog | InputKind::Rfc3339Log) => {
                let kind = if kind == InputKind::WattLog {
                    LogKind::Watt
                } else {
                    LogKind::Rfc3339
                };
                let mut reader = LogReader::with_kind(source, kind);
                let mut prev: Option<OffsetDateTime> = None;
                // The offset chosen inside a repeated hour, while in one.
                let mut in_repeated: Option<UtcOffset> = None;
                // One record read in place, again and again: a frame is a few
                // hundred bytes, and this runs for every line of the log.
                let mut rec = LogRecord::empty();
                while let Some(item) = reader.read_into(&mut rec) {
                    let record = &rec;
                    match item {
                        Ok(()) => {
                            let place = Place("line", record.line);
                            let time = match record.offset {
                                Some(o) => record.time.assume_offset(o),
                                None => {
                                    let resolved = job.zone.resolve(record.time, prev);
                                    let t = resolved.time();
                                    // Said once per hour of doubt, and when the
                                    // choice changes inside it.
                                    match resolved {
                                        Resolved::Repeated { earlier, later, .. } => {
                                            summary.repeated += 1;
                                            if in_repeated != Some(t.offset()) {
                                                say(format_args!(
                                                    "{place}: {} happened twice in {} ({} and {}): read as {} (the log runs forward)",
                                                    wall(record.time),
                                                    job.zone,
                                                    hm(earlier),
                                                    hm(later),
                                                    hm(t.offset())
                                                ));
                                            }
                                            in_repeated = Some(t.offset());
                                        }
                                        Resolved::Skipped { before, after, .. } => {
                                            summary.skipped_times += 1;
                                            in_repeated = None;
                                            say(format_args!(
                                                "{place}: {} never happened in {} (the clocks went from {} to {}): read as {}",
                                                wall(record.time),
                                                job.zone,
                                                hm(before),
                                                hm(after),
                                                hm(before)
                                            ));
                                        }
                                        Resolved::Unique(_) => in_repeated = None,
                                    }
                                    prev = Some(t);
                                    t
                                }
                            };
                            emit(
                                Some(time),
                                &record.frame,
                                reader.raw(),
                                &mut writer,
                                &mut summary,
                                &place,
                            )
                            .map_err(write_err)?;
                        }
                        Err(hpm_frame::LogError::Io { source, .. }) => {
                            return Err(anyhow::anyhow!("reading {name}: {source}"));
                        }
                        Err(err) => say(format_args!("{err} (skipped)")),
                    }
                }
                let stats = reader.stats();
                summary.damaged = stats.damaged;
                summary.skipped_bytes = stats.skipped_bytes;
            }
            InputKind::RawStream => {
                // As the meter sends it: each frame followed by its line end.
                let dec = StreamDecoder::new().require_line_end().keep_rejections();
                let mut frames = FrameReader::with_decoder(source, dec);
                let mut index = 0u32;
                while let Some(frame) = frames.next() {
                    let frame = frame.with_context(|| format!("reading {name}"))?;
                    for r in frames.decoder_mut().take_rejections() {
                        say(format_args!("{r} (skipped)"));
                    }
                    let time = job.start.map(|(t0, step)| t0 + step * index);
                    index += 1;
                    let place = Place("frame", u64::from(index));
                    emit(time, &frame, &[], &mut writer, &mut summary, &place)
                        .map_err(write_err)?;
                }
                for r in frames.decoder_mut().take_rejections() {
                    say(format_args!("{r} (skipped)"));
                }
                let stats = frames.decoder().stats();
                summary.damaged = stats.rejected;
                summary.skipped_bytes = stats.skipped_bytes;
            }
        }
        writer.write_header().map_err(write_err)?;
        writer.flush().map_err(write_err)?;
        Ok(())
    })();
    match written {
        Ok(()) => Ok(Some(summary)),
        Err(err) => match err.downcast_ref::<io::Error>() {
            Some(e) if job.out.is_none() && is_broken_pipe(e) => Ok(None),
            Some(e) => Err(anyhow::anyhow!("writing the records to {out_name}: {e}")),
            None => Err(err),
        },
    }
}

/// `2026-11-01 01:30:00`.
fn wall(t: time::PrimitiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `-05:00`.
fn hm(o: UtcOffset) -> String {
    let (h, m, _) = o.as_hms();
    let sign = if o.is_negative() { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// Where a record is, said only when a message needs it.
struct Place(&'static str, u64);

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}

/// A verdict of the consistency check in words.
fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Consistent => "consistent".to_string(),
        Verdict::Suspect(m) => format!(
            "power shown {:.1} W, volts x amperes x power factor {:.1} W",
            m.shown_w, m.computed_w
        ),
        Verdict::Unverifiable(label) => format!("no {label} field to check the power with"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = include_bytes!("../tests/data/stream-seed.bin");

    #[test]
    fn appending_csv_writes_the_header_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meter.csv");
        for _ in 0..2 {
            let mut live = LiveRecords::new(
                RecordFormat::Csv,
                Some(&path),
                Zone::fixed(UtcOffset::UTC),
                false,
                &InfluxArgs::default(),
                false,
            )
            .unwrap();
            assert!(!live.replaces_output());
            let mut local = Vec::new();
            // Fed in two uneven pieces, as reads would deliver them.
            live.feed(&STREAM[..100], &mut local).unwrap();
            live.feed(&STREAM[100..], &mut local).unwrap();
            live.finish(&mut local).unwrap();
            assert!(local.is_empty(), "records go to the file only");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 2 * 4, "{text}");
        assert!(lines[0].starts_with("time,"));
        assert_eq!(lines.iter().filter(|l| l.starts_with("time,")).count(), 1);
    }

    #[test]
    fn without_a_file_records_take_the_output() {
        let mut live = LiveRecords::new(
            RecordFormat::Jsonl,
            None,
            Zone::fixed(UtcOffset::UTC),
            false,
            &InfluxArgs::default(),
            false,
        )
        .unwrap();
        assert!(live.replaces_output());
        let mut local = Vec::new();
        live.feed(STREAM, &mut local).unwrap();
        let text = String::from_utf8(local).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.lines().all(|l| l.starts_with("{\"time\":\"")));
    }
}
