//! The log file: every received byte, with timestamps.
//!
//! The default format is the one the notebook's patched `com.c` wrote to
//! `watt.txt`: received bytes as they are, except that each CR becomes
//! `[YYYY-MM-DD HH:MM:SS] ` in local time. Existing logs and scripts keep working.
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use hpm_frame::{LogWriter, log::LogKind};
use time::{OffsetDateTime, UtcOffset};

use crate::zone::Zone;

/// How timestamps go into the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// The original `watt.txt`: each CR replaced by `[YYYY-MM-DD HH:MM:SS] ` (local time).
    Watt,
    /// Bytes as received; each line (ended by CR or LF, whichever the device
    /// sends) starts with an RFC 3339 local time with milliseconds and a space.
    Rfc3339,
    /// As `rfc3339`, in UTC (`...Z`).
    Rfc3339Utc,
}

/// Where the time comes from: the system clock, or a fixed sequence in tests.
pub type Clock = Box<dyn FnMut() -> OffsetDateTime + Send>;

/// The system clock.
pub fn system_clock() -> Clock {
    Box::new(OffsetDateTime::now_utc)
}

/// An appending, written-through log.
///
/// Each call to [`Log::write`] turns into one `write(2)` on the file (no user-space
/// buffer), so every complete line is in the file as soon as it arrives; with
/// `fsync` the data is also synced to disk whenever a line ends. The format is
/// `hpm-frame`'s [`LogWriter`]; this adds the file, the clock and the zone.
pub struct Log {
    writer: LogWriter<File>,
    path: PathBuf,
    format: LogFormat,
    zone: Zone,
    clock: Clock,
    fsync: bool,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Log {
    /// Opens (creates) `path` for appending. If the log ends inside a line (a
    /// session that ended mid-frame), a line end is written first, so the new
    /// session's first frame stands alone.
    pub fn open(
        path: &Path,
        format: LogFormat,
        zone: Zone,
        fsync: bool,
        clock: Clock,
    ) -> anyhow::Result<Log> {
        use anyhow::Context;
        use std::io::{Read, Seek, SeekFrom};
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .with_context(|| format!("cannot open the log {} for appending", path.display()))?;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > 0 {
            let mut last = [0u8];
            let ended = file
                .seek(SeekFrom::End(-1))
                .and_then(|_| file.read_exact(&mut last))
                .map(|()| matches!(last[0], b'\n' | b'\r'))
                .unwrap_or(true);
            if !ended {
                file.write_all(b"\n")
                    .with_context(|| format!("writing a line end to the log {}", path.display()))?;
            }
        }
        Ok(Log::from_file(file, path, format, zone, fsync, clock))
    }

    /// A log over an already open file (`/dev/full` in tests, for instance).
    pub fn from_file(
        file: File,
        path: &Path,
        format: LogFormat,
        zone: Zone,
        fsync: bool,
        clock: Clock,
    ) -> Log {
        let kind = match format {
            LogFormat::Watt => LogKind::Watt,
            LogFormat::Rfc3339 | LogFormat::Rfc3339Utc => LogKind::Rfc3339,
        };
        Log {
            writer: LogWriter::new(file, kind),
            path: path.to_path_buf(),
            format,
            zone,
            clock,
            fsync,
        }
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends received bytes. Errors name the file.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let name = |err: io::Error| {
            io::Error::new(
                err.kind(),
                format!("writing the log {}: {err}", self.path.display()),
            )
        };
        // One clock reading per chunk: a chunk is what one read(2) returned, a few
        // milliseconds of data at most.
        let (clock, zone, format) = (&mut self.clock, &self.zone, self.format);
        let line_end = self
            .writer
            .write(data, || {
                let now = clock();
                match format {
                    LogFormat::Rfc3339Utc => now.to_offset(UtcOffset::UTC),
                    _ => zone.local(now),
                }
            })
            .map_err(name)?;
        if self.fsync && line_end {
            self.writer.get_ref().sync_data().map_err(name)?;
        }
        Ok(())
    }

    /// Syncs the log to disk.
    pub fn sync(&self) -> io::Result<()> {
        self.writer.get_ref().sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use time::macros::{datetime, offset};

    /// A clock that returns the given instants in turn (then the last one).
    fn fixed(times: Vec<OffsetDateTime>) -> Clock {
        let times = Arc::new(Mutex::new(
            times.into_iter().collect::<std::collections::VecDeque<_>>(),
        ));
        let mut last = None;
        Box::new(move || {
            let next = times.lock().unwrap().pop_front();
            if let Some(t) = next {
                last = Some(t);
            }
            last.expect("the test clock has at least one instant")
        })
    }

    fn log_to_temp(
        format: LogFormat,
        offset: UtcOffset,
        clock: Clock,
    ) -> (Log, tempfile::TempPath) {
        let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let log = Log::open(&path, format, Zone::fixed(offset), false, clock).unwrap();
        (log, path)
    }

    const STREAM: &[u8] = include_bytes!("../tests/data/stream-seed.bin");
    const WATT: &[u8] = include_bytes!("../tests/data/watt-seed.txt");

    #[test]
    fn the_seed_stream_logs_exactly_as_the_seed_watt_txt() {
        // The seed user logged these frames at 07:57:32, :33, :33, :34 local time
        // (KST, UTC+9). Feed them one byte at a time, as com.c did.
        let kst = offset!(+9);
        let clock = fixed(vec![
            datetime!(2011-01-04 22:57:32.1 UTC),
            datetime!(2011-01-04 22:57:33.0 UTC),
            datetime!(2011-01-04 22:57:33.9 UTC),
            datetime!(2011-01-04 22:57:34.8 UTC),
        ]);
        let (mut log, path) = log_to_temp(LogFormat::Watt, kst, clock);
        for byte in STREAM {
            log.write(std::slice::from_ref(byte)).unwrap();
        }
        assert_eq!(std::fs::read(&path).unwrap(), WATT);
    }

    #[test]
    fn chunk_boundaries_do_not_change_the_watt_log() {
        let clock = fixed(vec![datetime!(2011-01-04 22:57:32 UTC)]);
        let (mut log, path) = log_to_temp(LogFormat::Watt, offset!(+9), clock);
        for chunk in STREAM.chunks(7) {
            log.write(chunk).unwrap();
        }
        let got = std::fs::read(&path).unwrap();
        let expected: Vec<u8> = STREAM
            .split_inclusive(|&b| b == b'\r')
            .flat_map(|part| {
                let mut part = part.to_vec();
                if part.last() == Some(&b'\r') {
                    part.pop();
                    part.extend_from_slice(b"[2011-01-05 07:57:32] ");
                }
                part
            })
            .collect();
        assert_eq!(got, expected);
    }

    /// The plain model of the watt format: each CR becomes the stamp.
    fn watt_reference(data: &[u8], stamp: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &byte in data {
            if byte == b'\r' {
                out.extend_from_slice(stamp);
            } else {
                out.push(byte);
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_in_any_chunks_log_as_the_reference(
            data in proptest::collection::vec(
                proptest::prop_oneof![3 => proptest::num::u8::ANY, 1 => proptest::strategy::Just(b'\r')],
                0..600,
            ),
            cuts in proptest::collection::vec(0usize..600, 0..12),
        ) {
            let clock = fixed(vec![datetime!(2011-01-04 22:57:32 UTC)]);
            let (mut log, path) = log_to_temp(LogFormat::Watt, offset!(+9), clock);
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= data.len()).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            for pair in cuts.windows(2) {
                log.write(&data[pair[0]..pair[1]]).unwrap();
            }
            let expected = watt_reference(&data, b"[2011-01-05 07:57:32] ");
            proptest::prop_assert_eq!(std::fs::read(&path).unwrap(), expected);
        }
    }

    #[test]
    fn appends_to_an_existing_log() {
        let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        std::fs::write(&path, b"old\n").unwrap();
        let clock = fixed(vec![datetime!(2026-01-02 03:04:05 UTC)]);
        let mut log = Log::open(
            &path,
            LogFormat::Watt,
            Zone::fixed(UtcOffset::UTC),
            false,
            clock,
        )
        .unwrap();
        log.write(b"new\r\n").unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"old\nnew[2026-01-02 03:04:05] \n"
        );
    }

    #[test]
    fn rfc3339_formats_stamp_each_line_start() {
        let clock = fixed(vec![
            datetime!(2026-11-24 23:32:00.123 UTC),
            datetime!(2026-11-24 23:32:01.5 UTC),
        ]);
        let (mut log, path) = log_to_temp(LogFormat::Rfc3339, offset!(+9), clock);
        // A line is stamped when its first byte arrives; a line split across
        // reads gets one stamp.
        log.write(b"one\r\n").unwrap();
        log.write(b"tw").unwrap();
        log.write(b"o\r\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "2026-11-25T08:32:00.123+09:00 one\r\n2026-11-25T08:32:01.500+09:00 two\r\n"
        );
        let clock = fixed(vec![datetime!(2026-11-24 23:32:00.007 UTC)]);
        let (mut log, path) = log_to_temp(LogFormat::Rfc3339Utc, offset!(-3:30), clock);
        log.write(b"x\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "2026-11-24T23:32:00.007Z x\n"
        );
    }

    #[test]
    fn rfc3339_stamps_each_frame_of_a_cr_only_meter() {
        let clock = fixed(vec![
            datetime!(2026-11-24 23:32:00 UTC),
            datetime!(2026-11-24 23:32:01 UTC),
            datetime!(2026-11-24 23:32:02 UTC),
        ]);
        let (mut log, path) = log_to_temp(LogFormat::Rfc3339Utc, offset!(+9), clock);
        log.write(b"S:  21693Vo  E\rS:  21693Vo").unwrap();
        log.write(b"  E\r").unwrap();
        log.write(b"S:  21693Vo  E\r\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "2026-11-24T23:32:00.000Z S:  21693Vo  E\r\
             2026-11-24T23:32:00.000Z S:  21693Vo  E\r\
             2026-11-24T23:32:01.000Z S:  21693Vo  E\r\n"
        );
    }

    #[test]
    fn a_log_that_ends_mid_frame_gets_a_line_end_before_the_new_session() {
        for (old, expected) in [
            (
                &b"S:  21693Vo:  4241"[..],
                &b"S:  21693Vo:  4241\nS:  21693Vo  E[2026-01-02 03:04:05] \n"[..],
            ),
            (b"old\n", b"old\nS:  21693Vo  E[2026-01-02 03:04:05] \n"),
            (b"", b"S:  21693Vo  E[2026-01-02 03:04:05] \n"),
        ] {
            let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
            std::fs::write(&path, old).unwrap();
            let clock = fixed(vec![datetime!(2026-01-02 03:04:05 UTC)]);
            let mut log = Log::open(
                &path,
                LogFormat::Watt,
                Zone::fixed(UtcOffset::UTC),
                false,
                clock,
            )
            .unwrap();
            log.write(b"S:  21693Vo  E\r\n").unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), expected);
        }
    }

    #[test]
    fn a_live_log_follows_the_zones_offset_changes() {
        // New York leaves daylight saving time at 06:00 UTC on 1 November 2026.
        let clock = fixed(vec![
            datetime!(2026-11-01 05:59:59 UTC),
            datetime!(2026-11-01 06:00:00 UTC),
        ]);
        let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let ny = Zone::named("America/New_York").unwrap();
        let mut log = Log::open(&path, LogFormat::Rfc3339, ny.clone(), false, clock).unwrap();
        log.write(b"a\n").unwrap();
        log.write(b"b\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "2026-11-01T01:59:59.000-04:00 a\n2026-11-01T01:00:00.000-05:00 b\n"
        );
        let clock = fixed(vec![
            datetime!(2026-03-08 06:59:59 UTC),
            datetime!(2026-03-08 07:00:00 UTC),
        ]);
        let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let mut log = Log::open(&path, LogFormat::Watt, ny, false, clock).unwrap();
        log.write(b"a\r").unwrap();
        log.write(b"b\r").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a[2026-03-08 01:59:59] b[2026-03-08 03:00:00] "
        );
    }

    #[test]
    fn a_full_disk_is_reported_with_the_file_name() {
        let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let clock = fixed(vec![datetime!(2026-01-01 00:00:00 UTC)]);
        let mut log = Log::from_file(
            full,
            Path::new("/dev/full"),
            LogFormat::Watt,
            Zone::fixed(UtcOffset::UTC),
            false,
            clock,
        );
        let err = log.write(b"data\r").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert!(
            err.to_string().contains("writing the log /dev/full"),
            "{err}"
        );
    }
}
