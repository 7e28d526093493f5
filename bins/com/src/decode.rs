//! Meter frames to records, through `hpm-frame`: live (`--decode`) and from files
//! (`com decode`).
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hpm_frame::{Format, FrameReader, InputKind, LogReader, RecordWriter, StreamDecoder};
use time::{OffsetDateTime, UtcOffset};

use crate::cli::RecordFormat;

impl From<RecordFormat> for Format {
    fn from(format: RecordFormat) -> Format {
        match format {
            RecordFormat::Csv => Format::Csv,
            RecordFormat::Jsonl => Format::JsonLines,
            RecordFormat::Influx => Format::Influx,
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
    offset: UtcOffset,
    /// Appending CSV to a non-empty file: drop the header row the writer makes.
    skip_header: bool,
}

impl LiveRecords {
    /// Records in `format` to `out` (appended), or to the session output.
    pub fn new(
        format: RecordFormat,
        out: Option<&Path>,
        offset: UtcOffset,
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
        Ok(LiveRecords {
            decoder: StreamDecoder::new(),
            writer: RecordWriter::new(Vec::new(), format.into()),
            target,
            offset,
            skip_header: skip_header && format == RecordFormat::Csv,
        })
    }

    /// Whether the records take the raw stream's place on the output.
    pub fn replaces_output(&self) -> bool {
        matches!(self.target, Target::Local)
    }

    /// Feeds received bytes; complete frames become records at once.
    pub fn feed(&mut self, data: &[u8], local: &mut Vec<u8>) -> io::Result<()> {
        let now = OffsetDateTime::now_utc().to_offset(self.offset);
        let writer = &mut self.writer;
        self.decoder
            .try_feed(data, |frame| writer.write(Some(now), &frame))?;
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

/// `com decode`: a `watt.txt` log or a raw capture to records. Returns the
/// number of records written.
pub fn convert(
    input: Option<&Path>,
    format: RecordFormat,
    out: Option<&Path>,
    offset: UtcOffset,
) -> anyhow::Result<u64> {
    let name = match input {
        Some(path) if path != Path::new("-") => path.display().to_string(),
        _ => "stdin".to_string(),
    };
    let source: Box<dyn Read> = match input {
        Some(path) if path != Path::new("-") => {
            Box::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
        }
        _ => Box::new(io::stdin().lock()),
    };
    let mut source = BufReader::with_capacity(64 * 1024, source);
    let head = source
        .fill_buf()
        .with_context(|| format!("reading {name}"))?
        .to_vec();
    let sink: Box<dyn Write> = match out {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let out_name = out.map_or("stdout".to_string(), |p| p.display().to_string());
    let mut writer = RecordWriter::new(io::BufWriter::new(sink), format.into());
    let write_err = |err: io::Error| anyhow::anyhow!("writing the records to {out_name}: {err}");
    let mut count = 0u64;
    match InputKind::sniff(&head) {
        InputKind::WattLog => {
            let mut damaged = 0u64;
            for item in LogReader::new(source) {
                match item {
                    Ok(record) => {
                        writer
                            .write(Some(record.time_at(offset)), &record.frame)
                            .map_err(write_err)?;
                        count += 1;
                    }
                    Err(hpm_frame::LogError::Io { source, .. }) => {
                        return Err(anyhow::anyhow!("reading {name}: {source}"));
                    }
                    Err(err) => {
                        damaged += 1;
                        eprintln!("com decode: {name}: {err} (skipped)");
                    }
                }
            }
            if damaged > 0 {
                eprintln!("com decode: {name}: {count} records, {damaged} damaged records skipped");
            }
        }
        InputKind::RawStream => {
            let mut frames = FrameReader::new(source);
            for frame in frames.by_ref() {
                let frame = frame.with_context(|| format!("reading {name}"))?;
                writer.write(None, &frame).map_err(write_err)?;
                count += 1;
            }
            let skipped = frames.decoder().stats().skipped_bytes;
            if skipped > 0 {
                eprintln!(
                    "com decode: {name}: {count} frames, {skipped} bytes outside frames skipped"
                );
            }
        }
    }
    writer
        .finish()
        .and_then(|mut w| w.flush())
        .map_err(write_err)?;
    Ok(count)
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
            let mut live =
                LiveRecords::new(RecordFormat::Csv, Some(&path), UtcOffset::UTC).unwrap();
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
        let mut live = LiveRecords::new(RecordFormat::Jsonl, None, UtcOffset::UTC).unwrap();
        assert!(live.replaces_output());
        let mut local = Vec::new();
        live.feed(STREAM, &mut local).unwrap();
        let text = String::from_utf8(local).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.lines().all(|l| l.starts_with("{\"time\":\"")));
    }
}
