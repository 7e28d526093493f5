//! The `watt.txt` reader.

use std::fmt::Write as _;
use std::io::{BufReader, Read};

use hpm_frame::time::format_description::BorrowedFormatItem;
use hpm_frame::time::macros::{datetime, format_description, offset};
use hpm_frame::time::{Duration, PrimitiveDateTime, UtcOffset};
use hpm_frame::{
    LogError, LogReader, LogRecord, RecordError,
    log::{InputKind, LogKind},
};

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
    // Line 6 (typed keys) is part of the damage that starts on line 4; line 8
    // holds only a timestamp (a CR with nothing before it): nothing lost.
    assert_eq!(lines_with_errors, [2, 3, 4, 9, 12, 13, 15]);
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
fn junk_of_any_length_is_one_damaged_item_and_the_rest_is_read() {
    let mut input = vec![b'x'; 5000];
    input.extend_from_slice(b"\nS:  21693Vo  E[2011-01-05 07:57:32] \n");
    input.extend(vec![b'y'; 5000]);
    let items: Vec<_> = LogReader::new(BufReader::with_capacity(64, &input[..])).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        "line 1, column 1: frame: at byte 0: expected 'S' (start of frame), found 'x'"
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
    assert_eq!((reader.records(), reader.errors()), (4, 0));
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

/// A `watt.txt` line end as the old logger wrote it for a CR: the timestamp.
fn watt_stamp(t: PrimitiveDateTime) -> String {
    format!("[{}] ", t.format(TIME).unwrap())
}

#[test]
fn a_cr_only_log_of_10_mb_reads_completely() {
    // A meter that ends frames with CR alone: the log never has an LF.
    let seed = seed_frames();
    let start = datetime!(2011-01-05 07:57:32);
    let mut log = String::new();
    let mut n = 0usize;
    while log.len() < 10_000_000 {
        log.push_str(&seed[n % 4].to_string());
        log.push_str(&watt_stamp(start + Duration::seconds(n as i64)));
        n += 1;
    }
    let mut reader = LogReader::new(log.as_bytes());
    let mut count = 0usize;
    for item in reader.by_ref() {
        let rec = item.unwrap();
        assert_eq!(rec.frame, seed[count % 4]);
        assert_eq!(rec.time, start + Duration::seconds(count as i64));
        assert_eq!(rec.line, 1);
        count += 1;
    }
    assert_eq!(count, n);
    assert_eq!(reader.stats().damaged, 0);
    assert_eq!(reader.stats().bytes, log.len() as u64);
}

#[test]
fn frames_sharing_a_line_with_junk_are_read_and_the_junk_reported_once() {
    let seed = seed_frames();
    let log = format!(
        "{a}[2011-01-05 07:57:32] \n\
         noise\x00\x7f S:  216{b}[2011-01-05 07:57:33] \n\
         {c}[2011-01-05 07:57:34] trailing junk\n",
        a = seed[0],
        b = seed[1],
        c = seed[2],
    );
    let items = read_all(log.as_bytes());
    let report = report(&items);
    assert_eq!(
        report,
        format!(
            "line  1 ok    2011-01-05 07:57:32 {}\n\
             error  line 2, column 1: frame: at byte 0: expected 'S' (start of frame), found 'n'\n\
             error  line 2, column 16: frame: at byte 7: expected a value of exactly 7 characters (spaces, then digits), found 'S'\n\
             line  2 ok    2011-01-05 07:57:33 {}\n\
             line  3 ok    2011-01-05 07:57:34 {}\n\
             error  line 3, column 107: frame: at byte 0: expected 'S' (start of frame), found 't'\n",
            seed[0], seed[1], seed[2]
        )
    );
}

#[test]
fn a_session_appended_after_a_cut_frame_loses_nothing_of_the_new_one() {
    // The old session ended mid-frame; the new one (as `com` does now) wrote a
    // line end first, or (as before) went straight on.
    let seed = seed_frames();
    for glue in ["\n", ""] {
        let log = format!(
            "{a}[2011-01-05 07:57:32] \nS:  21693Vo:  4241{glue}{b}[2011-01-05 09:00:00] \n",
            a = seed[0],
            b = seed[1]
        );
        let items = read_all(log.as_bytes());
        let frames: Vec<_> = items
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(|r| r.frame.clone())
            .collect();
        assert_eq!(frames, [seed[0].clone(), seed[1].clone()], "glue {glue:?}");
        assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
    }
}

/// An `rfc3339` log as `com` writes it: each line (after CR or LF) starts with
/// the time its first byte arrived.
fn rfc3339_log(ending: &str, offset: &str) -> String {
    let seed = seed_frames();
    let mut log = String::new();
    for (k, f) in seed.iter().enumerate() {
        log.push_str(&format!("2026-03-08T01:59:5{k}.25{k}{offset} {f}{ending}"));
    }
    log
}

#[test]
fn rfc3339_logs_decode_with_their_timestamps_cr_only_and_cr_lf() {
    for ending in ["\r", "\r\n", "\n"] {
        for (offset, o) in [
            ("Z", UtcOffset::UTC),
            ("-05:00", offset!(-5)),
            ("+09:30", offset!(+9:30)),
        ] {
            let log = rfc3339_log(ending, offset);
            assert_eq!(InputKind::sniff(log.as_bytes()), InputKind::Rfc3339Log);
            let mut reader = LogReader::with_kind(
                BufReader::with_capacity(7, log.as_bytes()),
                LogKind::Rfc3339,
            );
            let records: Vec<LogRecord> = reader.by_ref().map(Result::unwrap).collect();
            assert_eq!(
                records.iter().map(|r| r.frame.clone()).collect::<Vec<_>>(),
                seed_frames()
            );
            for (k, r) in records.iter().enumerate() {
                let local =
                    datetime!(2026-03-08 01:59:50.250) + Duration::milliseconds(1001 * k as i64);
                assert_eq!(r.time, local, "{ending:?} {offset}");
                assert_eq!(r.offset, Some(o));
                // The recorded offset wins over the caller's guess.
                assert_eq!(r.time_at(offset!(+1)), local.assume_offset(o));
            }
            assert_eq!(reader.stats().damaged, 0);
        }
    }
}

#[test]
fn an_rfc3339_frame_without_a_stamp_is_damaged_not_given_a_time() {
    let seed = seed_frames();
    let log = format!("{}\r\n2026-03-08T01:59:50.000Z {}\r\n", seed[0], seed[1]);
    let items: Vec<_> = LogReader::with_kind(log.as_bytes(), LogKind::Rfc3339).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        "line 1, column 1: no timestamp before the frame"
    );
    assert_eq!(items[1].as_ref().unwrap().frame, seed[1]);
}
