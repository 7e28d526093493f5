//! The `watt.txt` reader.

use std::fmt::Write as _;
use std::io::{BufReader, Read};

use hpm_frame::time::format_description::BorrowedFormatItem;
use hpm_frame::time::macros::{datetime, format_description, offset};
use hpm_frame::{InputKind, LogError, LogReader, LogRecord, RecordError};

use crate::{data, golden, seed_frames};

const TIME: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

fn read_all(input: &[u8]) -> Vec<Result<LogRecord, LogError>> {
    LogReader::new(input).collect()
}

/// One line per item: a record with its line, time and frame, or the error.
fn report(items: &[Result<LogRecord, LogError>]) -> String {
    let mut out = String::new();
    for item in items {
        match item {
            Ok(r) => {
                let time = r.time.format(TIME).unwrap();
                writeln!(out, "line {:>2} ok    {time} {}", r.line, r.frame).unwrap()
            }
            Err(e) => writeln!(out, "error  {e}").unwrap(),
        }
    }
    out
}

#[test]
fn seed_log_gives_the_seed_frames_with_their_times() {
    let items = read_all(&data("watt-seed.txt"));
    let records: Vec<LogRecord> = items.into_iter().map(Result::unwrap).collect();
    let frames: Vec<_> = records.iter().map(|r| r.frame.clone()).collect();
    assert_eq!(frames, seed_frames());
    let times: Vec<_> = records.iter().map(|r| r.time).collect();
    assert_eq!(
        times,
        [
            datetime!(2011-01-05 07:57:32),
            datetime!(2011-01-05 07:57:33),
            datetime!(2011-01-05 07:57:33),
            datetime!(2011-01-05 07:57:34),
        ]
    );
    let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 3, 4]);
    // The caller knows the offset (the log was written in Korea).
    assert_eq!(
        records[0].time_at(offset!(+9)),
        datetime!(2011-01-04 22:57:32 UTC)
    );
}

#[test]
fn damaged_log_golden() {
    let input = data("watt-damaged.txt");
    let items = read_all(&input);
    golden("watt-damaged.expected", &report(&items));
    let ok = items.iter().filter(|i| i.is_ok()).count();
    let lines_with_errors: Vec<u64> = items
        .iter()
        .filter_map(|i| i.as_ref().err().map(LogError::line))
        .collect();
    assert_eq!(ok, 8);
    assert_eq!(lines_with_errors, [2, 3, 4, 6, 8, 9, 12, 13, 15]);
}

#[test]
fn small_reads_give_the_same_items() {
    // Lines then span several fills of the reader's buffer.
    let input = data("watt-damaged.txt");
    let whole = report(&read_all(&input));
    for cap in [1, 2, 7, 64, 200] {
        let items: Vec<_> = LogReader::new(BufReader::with_capacity(cap, &input[..])).collect();
        assert_eq!(report(&items), whole, "buffer of {cap}");
    }
}

#[test]
fn record_errors_name_line_column_and_what() {
    let items = read_all(b"\nS:  21693Vo  E[2011-02-30 07:57:32] \n");
    let err = items[0].as_ref().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("line 2, column 16: timestamp \"2011-02-30 07:57:32\": "),
        "{err}"
    );
    match err {
        LogError::Record {
            line: 2,
            column: 16,
            source: RecordError::TimestampValue { text, reason },
        } => {
            assert_eq!(text, "2011-02-30 07:57:32");
            assert!(reason.contains("day"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn overlong_lines_are_skipped_and_the_rest_read() {
    let mut input = vec![b'x'; 5000];
    input.extend_from_slice(b"\nS:  21693Vo  E[2011-01-05 07:57:32] \n");
    input.extend(vec![b'y'; 5000]);
    let items: Vec<_> =
        LogReader::with_max_line_len(BufReader::with_capacity(64, &input[..]), 1000).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        "line 1: longer than 1000 bytes, skipped"
    );
    assert_eq!(items[1].as_ref().unwrap().line, 2);
    assert_eq!(items[2].as_ref().unwrap_err().line(), 3);
}

#[test]
fn a_read_error_ends_the_log_after_the_good_records() {
    struct Failing<'a>(&'a [u8]);
    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() {
                return Err(std::io::Error::other("bad sector"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let seed = data("watt-seed.txt");
    let mut reader = LogReader::new(BufReader::new(Failing(&seed)));
    let items: Vec<_> = reader.by_ref().collect();
    assert_eq!(items.len(), 5);
    assert!(items[..4].iter().all(Result::is_ok));
    assert_eq!(
        items[4].as_ref().unwrap_err().to_string(),
        "reading the log after line 4: bad sector"
    );
    assert_eq!(
        (reader.records(), reader.errors(), reader.lines()),
        (4, 1, 4)
    );
}

#[test]
fn sniffing_tells_a_log_from_a_capture() {
    assert_eq!(InputKind::sniff(&data("watt-seed.txt")), InputKind::WattLog);
    assert_eq!(
        InputKind::sniff(&data("watt-damaged.txt")),
        InputKind::WattLog
    );
    assert_eq!(
        InputKind::sniff(&data("stream-seed.bin")),
        InputKind::RawStream
    );
    assert_eq!(
        InputKind::sniff(&data("stream-noisy.bin")),
        InputKind::RawStream
    );
    assert_eq!(
        InputKind::sniff(b"[2011-13-05 07:57:32]"),
        InputKind::RawStream
    );
    assert_eq!(InputKind::sniff(b""), InputKind::RawStream);
}
