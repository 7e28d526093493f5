//! `com decode` end to end: logs and captures in, records out, and the command
//! line's refusals.
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const WATT: &[u8] = include_bytes!("data/watt-seed.txt");

const SEED: [&str; 4] = [
    "S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42422Am:  46481Wa:     31Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42422Am:  46481Wa:     31Wh:   5051Pf:  59971Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42432Am:  46461Wa:     41Wh:   5041Pf:  59971Hz:     01Kg:     01Eu  E",
];

fn com() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_com"));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `com decode ARGS` with `input` on stdin.
fn decode_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = com()
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_lost_byte_is_damage_never_a_record_and_the_summary_counts_it() {
    // The issue's example: one digit of the voltage lost.
    let out = decode_stdin(
        &["--format", "csv"],
        b"S:  2169Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E\r\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1, "header only");
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("at byte 8: expected a value of exactly 7 characters"),
        "{err}"
    );
    assert_eq!(
        lines[1],
        "com decode: stdin: 0 records, 1 damaged, 0 suspect, 55 bytes skipped"
    );
    // --quiet leaves the summary alone (bytes skipped: whitespace not counted;
    // a frame without W and PF cannot be checked: suspect).
    let out = decode_stdin(
        &["--format", "csv", "--quiet"],
        b"S:  2169Vo:  42412Am  E\r\nS:  21693Vo:  42412Am  E\r\n",
    );
    assert_eq!(
        text(&out.stderr),
        "com decode: stdin: 0 records, 1 damaged, 1 suspect, 17 bytes skipped\n"
    );
}

#[test]
fn suspect_frames_are_counted_and_kept_only_when_asked() {
    // The current 42.41 A became 48.41 A on the line: the power disagrees.
    let bad =
        "S:  21693Vo:  48412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E";
    let input = format!("{}\r\n{bad}\r\n{}\r\n", SEED[0], SEED[1]);
    let out = decode_stdin(&["--format", "csv"], input.as_bytes());
    let csv = text(&out.stdout);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(!csv.contains("48412"));
    let err = text(&out.stderr);
    assert!(err.contains("suspect frame S:  21693Vo:  48412Am"), "{err}");
    assert!(err.contains("(skipped)"), "{err}");
    assert!(
        err.ends_with("2 records, 0 damaged, 1 suspect, 0 bytes skipped\n"),
        "{err}"
    );

    let out = decode_stdin(&["--format", "csv", "--keep-suspect"], input.as_bytes());
    let csv = text(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].ends_with(",raw,suspect"), "{}", rows[0]);
    assert!(rows[1].ends_with(",false"));
    assert!(
        rows[2].contains("48412") && rows[2].ends_with(",true"),
        "{}",
        rows[2]
    );
    assert!(text(&out.stderr).ends_with("3 records, 0 damaged, 1 suspect, 0 bytes skipped\n"));
}

#[test]
fn raw_is_the_bytes_received_and_columns_can_be_chosen() {
    let out = decode_stdin(
        &["--format", "jsonl", "--columns", "voltage_V,raw"],
        b"S 22003Vo 10003Am 22002Wa 10001Pf 60001Hz E\r\n",
    );
    assert_eq!(
        text(&out.stdout),
        "{\"voltage_V\":220.0,\"raw\":\"S 22003Vo 10003Am 22002Wa 10001Pf 60001Hz E\"}\n"
    );
    let out = decode_stdin(&["--format", "csv", "--columns", "time,volts"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown column \"volts\""));
}

#[test]
fn decoding_onto_its_own_input_is_refused_before_anything_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watt.txt");
    fs::write(&log, WATT).unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&log, &link).unwrap();
    let hard = dir.path().join("hard.txt");
    fs::hard_link(&log, &hard).unwrap();
    let dotted = dir.path().join(".").join("watt.txt");
    for out in [&log, &link, &hard, &dotted] {
        let o = com()
            .args(["decode", "--format", "csv"])
            .arg(&log)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", out.display());
        let err = text(&o.stderr);
        assert!(err.contains("it is the input"), "{err}");
        assert_eq!(fs::read(&log).unwrap(), WATT, "the log is untouched");
    }
    // Through stdin too.
    let o = com()
        .args(["decode", "--format", "csv", "-o"])
        .arg(&link)
        .stdin(fs::File::open(&log).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(fs::read(&log).unwrap(), WATT);
    // Another file is fine.
    let csv = dir.path().join("out.csv");
    let o = com()
        .args(["decode", "--format", "csv", "--quiet"])
        .arg(&log)
        .arg("-o")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(fs::read_to_string(&csv).unwrap().lines().count(), 5);
}

#[test]
fn a_closed_stdout_ends_quietly_with_success() {
    // `com decode big.txt | head -1`.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watt.txt");
    let mut big = Vec::new();
    for _ in 0..20_000 {
        big.extend_from_slice(WATT);
    }
    fs::write(&log, &big).unwrap();
    let mut child = com()
        .args(["decode", "--format", "csv"])
        .arg(&log)
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone now.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("time,"));
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn a_cr_only_log_decodes_completely() {
    // A meter that ends frames with CR alone: the old logger never wrote LF.
    let mut log = String::new();
    let mut n = 0;
    while log.len() < 2_000_000 {
        log.push_str(SEED[n % 4]);
        log.push_str(&format!(
            "[2011-01-05 07:{:02}:{:02}] ",
            (n / 60) % 60,
            n % 60
        ));
        n += 1;
    }
    let out = decode_stdin(
        &["--format", "csv", "--utc-offset", "+09:00"],
        log.as_bytes(),
    );
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().count(), n + 1);
    assert_eq!(
        text(&out.stderr),
        format!("com decode: stdin: {n} records, 0 damaged, 0 suspect, 0 bytes skipped\n")
    );
}

#[test]
fn rfc3339_logs_decode_with_their_own_timestamps() {
    let log = format!(
        "2026-11-24T23:32:00.123+09:00 {}\r2026-11-24T23:32:01.124+09:00 {}\r",
        SEED[0], SEED[1]
    );
    let out = decode_stdin(
        &["--format", "csv", "--utc-offset", "-05:00"],
        log.as_bytes(),
    );
    let csv = text(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv} {}", text(&out.stderr));
    assert!(
        rows[1].starts_with("2026-11-24T23:32:00.123+09:00,216.9,"),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].starts_with("2026-11-24T23:32:01.124+09:00,216.9,"),
        "{}",
        rows[2]
    );
}

#[test]
fn offsets_are_checked_when_the_command_line_is_read() {
    for bad in ["+25:00", "+14:30", "-12:30", "9"] {
        let o = com()
            .args(["decode", "--format", "csv", "--utc-offset", bad])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(
            text(&o.stderr).contains("invalid UTC offset"),
            "{bad}: {}",
            text(&o.stderr)
        );
    }
    let o = decode_stdin(&["--format", "csv", "--utc-offset", "-05:00"], WATT);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("2011-01-05T07:57:32-05:00,")
    );
    let _ = Path::new("");
}

/// A watt log of the first seed frame at these local wall times.
fn watt_log_at(times: &[&str]) -> String {
    times
        .iter()
        .map(|t| format!("{}[{t}] \n", SEED[0]))
        .collect()
}

/// `com decode --columns time ARGS` of `log` on stdin, with `TZ` set.
fn decode_times(tz: &str, args: &[&str], log: &str) -> Output {
    let mut child = com()
        .env("TZ", tz)
        .args(["decode", "--columns", "time"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(log.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The time column of `com decode --format csv` of `log`, with `TZ` set.
fn decoded_times(tz: &str, args: &[&str], log: &str) -> (Vec<String>, String) {
    let args = [&["--format", "csv"][..], args].concat();
    let out = decode_times(tz, &args, log);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let times = text(&out.stdout)
        .lines()
        .skip(1)
        .map(str::to_owned)
        .collect();
    (times, text(&out.stderr))
}

#[test]
fn new_york_wall_times_take_the_offset_of_their_instant_across_both_changes() {
    let log = watt_log_at(&[
        "2026-01-15 12:00:00",
        "2026-03-08 01:59:59",
        "2026-03-08 02:30:00", // never happened: the clocks went 02:00 -> 03:00
        "2026-03-08 03:00:00",
        "2026-07-04 12:00:00",
        "2026-11-01 00:59:59",
        "2026-11-01 01:00:00", // 01:00 to 01:59 happened twice
        "2026-11-01 01:59:59",
        "2026-11-01 01:00:00",
        "2026-11-01 01:59:59",
        "2026-11-01 02:00:00",
    ]);
    let expected = [
        "2026-01-15T12:00:00-05:00",
        "2026-03-08T01:59:59-05:00",
        "2026-03-08T02:30:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-07-04T12:00:00-04:00",
        "2026-11-01T00:59:59-04:00",
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:59:59-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:59:59-05:00",
        "2026-11-01T02:00:00-05:00",
    ];
    // From TZ, and named on the command line (TZ then does not matter).
    for (tz, args) in [
        ("America/New_York", &[][..]),
        ("Europe/Berlin", &["--tz", "America/New_York"][..]),
    ] {
        let (times, err) = decoded_times(tz, args, &log);
        assert_eq!(times, expected, "{err}");
        assert!(
            err.contains("line 3: 2026-03-08 02:30:00 never happened in America/New_York (the clocks went from -05:00 to -04:00): read as -05:00"),
            "{err}"
        );
        assert!(
            err.contains("line 7: 2026-11-01 01:00:00 happened twice in America/New_York (-04:00 and -05:00): read as -04:00"),
            "{err}"
        );
        assert!(err.contains("line 9: 2026-11-01 01:00:00 happened twice in America/New_York (-04:00 and -05:00): read as -05:00"), "{err}");
        assert_eq!(err.lines().count(), 4, "{err}");
        assert!(
            err.ends_with("11 records, 0 damaged, 0 suspect, 0 bytes skipped, 4 times in a repeated hour, 1 times in a skipped hour\n"),
            "{err}"
        );
    }
}

#[test]
fn a_time_in_local_mean_time_is_written_in_utc_and_the_decode_goes_on() {
    // Seoul kept +08:27:52 until 1908: RFC 3339 has no offset seconds, so
    // that record's time is the same instant in UTC (it once ended the decode).
    let log = watt_log_at(&["1900-01-05 07:57:32", "2026-01-05 07:57:32"]);
    for format in ["csv", "jsonl"] {
        let out = decode_times("UTC", &["--format", format, "--tz", "Asia/Seoul"], &log);
        assert!(out.status.success(), "{format}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("1900-01-04T23:29:40Z"),
            "{format}: {stdout}"
        );
        assert!(
            stdout.contains("2026-01-05T07:57:32+09:00"),
            "{format}: {stdout}"
        );
        assert!(
            text(&out.stderr).ends_with("2 records, 0 damaged, 0 suspect, 0 bytes skipped\n"),
            "{format}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn berlin_wall_times_take_the_offset_of_their_instant_across_both_changes() {
    let log = watt_log_at(&[
        "2026-03-29 01:59:59",
        "2026-03-29 03:00:00",
        "2026-08-01 12:00:00",
        "2026-10-25 02:30:00",
        "2026-10-25 02:10:00",
        "2026-10-25 03:00:00",
        "2026-12-24 18:00:00",
    ]);
    let (times, err) = decoded_times("Europe/Berlin", &[], &log);
    assert_eq!(
        times,
        [
            "2026-03-29T01:59:59+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-08-01T12:00:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:10:00+01:00",
            "2026-10-25T03:00:00+01:00",
            "2026-12-24T18:00:00+01:00",
        ],
        "{err}"
    );
    assert!(err.contains("2 times in a repeated hour"), "{err}");
    // A zone that does not exist is refused at argument parsing.
    let o = com()
        .args(["decode", "--format", "csv", "--tz", "Europe/Atlantis"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown time zone `Europe/Atlantis`"));
}

#[test]
fn influx_points_have_distinct_times_a_measurement_and_tags() {
    // Two frames in one second of a watt log.
    let log = format!(
        "{}[2011-01-05 07:57:33] \n{}[2011-01-05 07:57:33] \n",
        SEED[0], SEED[1]
    );
    let out = decode_stdin(
        &[
            "--format",
            "influx",
            "--utc-offset",
            "+09:00",
            "--measurement",
            "power meter",
            "--tag",
            "site=lab 2",
            "--tag",
            "meter=hpm-100a",
            "--columns",
            "power_kW",
        ],
        log.as_bytes(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "power\\ meter,site=lab\\ 2,meter=hpm-100a power_kW=4.646 1294181853000000000\n\
         power\\ meter,site=lab\\ 2,meter=hpm-100a power_kW=4.648 1294181853000000001\n"
    );
    let o = com()
        .args(["decode", "--format", "influx", "--tag", "site"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("expected KEY=VALUE"));
}
