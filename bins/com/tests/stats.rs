//! `com stats` on logs of known values: exact figures for energy (counter and
//! integral), gaps, resets, windows, damaged and suspect frames.
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The meter's digits for `value`: hpm-frame's encoder, the one the
/// simulator uses (four significant digits, then the number of integer digits).
fn encode(value: f64) -> String {
    hpm_frame::decode::Scheme::PointDigit
        .encode(value)
        .expect("a value the meter can show")
        .as_str()
        .to_owned()
}

/// A live frame: volts, amperes, kW, kWh, power factor, hertz.
fn frame(v: f64, a: f64, kw: f64, kwh: f64, pf: f64, hz: f64) -> String {
    let fields = [
        (encode(v), "Vo"),
        (encode(a), "Am"),
        (encode(kw), "Wa"),
        (encode(kwh), "Wh"),
        (encode(pf), "Pf"),
        (format!("{}1", (hz * 100.0).round() as u64), "Hz"),
        ("01".to_string(), "Kg"),
        ("01".to_string(), "Eu"),
    ];
    let mut out = String::from("S");
    for (digits, label) in fields {
        let _ = write!(out, ":{digits:>7}{label}");
    }
    out.push_str("  E");
    out
}

/// 1 kW exactly: 230.0 V x 4.348 A x PF 1.000 = 1000.04 W, within rounding.
fn kilowatt(kwh: f64) -> String {
    frame(230.0, 4.348, 1.0, kwh, 1.0, 50.0)
}

/// A watt.txt line: the frame, then the timestamp the logger wrote at its CR.
fn watt_line(out: &mut String, second: i64, frame: &str) {
    let start = time::macros::datetime!(2026-03-01 12:00:00);
    let t = start + time::Duration::seconds(second);
    let stamp = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let _ = writeln!(out, "{frame}[{}] ", t.format(stamp).unwrap());
}

fn stats(files: &[&Path], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_com"))
        .arg("stats")
        .args(files)
        .args(args)
        .env("TZ", "UTC0")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(files: &[&Path], args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = stats(files, &all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn one_kilowatt_for_an_hour_is_one_kilowatt_hour_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for s in 0..=3600 {
        watt_line(&mut log, s, &kilowatt(s as f64 / 3600.0));
    }
    let path = write(dir.path(), "watt.txt", &log);
    let v = json(&[&path], &[]);
    assert_eq!(v["frames"], 3601);
    assert_eq!(v["duration_s"], 3600.0);
    assert_eq!(v["energy"]["counter_Wh"], 1000.0);
    assert_eq!(v["energy"]["integral_Wh"], 1000.0);
    assert_eq!(v["energy"]["counter_resets"], 0);
    assert_eq!(v["gaps"]["count"], 0);
    assert_eq!(v["first"], "2026-03-01T12:00:00Z");
    assert_eq!(v["last"], "2026-03-01T13:00:00Z");
    let q = &v["quantities"];
    assert_eq!(q["power_W"]["min"], 1000.0);
    assert_eq!(q["power_W"]["mean"], 1000.0);
    assert_eq!(q["power_W"]["max"], 1000.0);
    assert_eq!(q["voltage_V"]["mean"], 230.0);
    assert_eq!(q["current_A"]["max"], 4.348);
    assert_eq!(q["frequency_Hz"]["min"], 50.0);
    assert_eq!(q["power_factor"]["max"], 1.0);

    // The table says the same.
    let out = stats(&[&path], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("time      2026-03-01T12:00:00Z to 2026-03-01T13:00:00Z (1 h 00 min 0 s)"),
        "{text}"
    );
    assert!(
        text.contains("frames    3601 (0 damaged, 0 suspect)"),
        "{text}"
    );
    assert!(
        text.contains(
            "energy    1000 Wh from the meter's counter (0 resets; it read 0 Wh, then 1000 Wh)"
        ),
        "{text}"
    );
    assert!(
        text.contains("          1000 Wh from the integral of power (+0.00 %)"),
        "{text}"
    );

    // The log's local times in another zone (winter time in New York).
    let v = json(
        &[&path],
        &["--tz", "America/New_York", "--to", "2026-03-01 12:00:01"],
    );
    assert_eq!(v["first"], "2026-03-01T12:00:00-05:00");
    assert_eq!(v["frames"], 1);

    // A window: the second quarter of an hour, 900 s of 1 kW = 250 Wh.
    let v = json(
        &[&path],
        &["--from", "2026-03-01 12:15", "--to", "2026-03-01T12:30:00Z"],
    );
    assert_eq!(v["frames"], 900);
    assert_eq!(v["duration_s"], 899.0);
    assert_eq!(v["first"], "2026-03-01T12:15:00Z");
    assert_eq!(v["last"], "2026-03-01T12:29:59Z");
    assert_eq!(v["energy"]["integral_Wh"], 249.722222); // 899 s (rounded to 1e-6)
}

#[test]
fn a_counter_reset_is_detected_and_the_energy_goes_on() {
    // 1 kW for an hour; the counter is reset to zero after the frame at 30 min
    // (it then reads the energy since the reset: 0 Wh at 30 min 1 s as shown
    // to the Wh, 500 Wh at 60 min). Two logs, read as one.
    let dir = tempfile::tempdir().unwrap();
    let (mut first, mut second) = (String::new(), String::new());
    for s in 0..=1800 {
        watt_line(&mut first, s, &kilowatt(s as f64 / 3600.0));
    }
    for s in 1801..=3600 {
        watt_line(&mut second, s, &kilowatt((s - 1800) as f64 / 3600.0));
    }
    let a = write(dir.path(), "watt-1.txt", &first);
    let b = write(dir.path(), "watt-2.txt", &second);
    let v = json(&[&a, &b], &[]);
    assert_eq!(v["frames"], 3601);
    assert_eq!(v["energy"]["counter_resets"], 1);
    assert_eq!(v["energy"]["counter_Wh"], 1000.0);
    assert_eq!(v["energy"]["integral_Wh"], 1000.0);
    assert_eq!(v["energy"]["counter_first_Wh"], 0.0);
    assert_eq!(v["energy"]["counter_last_Wh"], 500.0);
}

#[test]
fn a_gap_is_listed_and_not_integrated_while_the_counter_spans_it() {
    // 1 kW, logged for 30 min, then not for 10 min (the meter kept counting),
    // then for 20 min: the counter says 1000 Wh, the integral 50 min of 1 kW.
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for s in (0..=1800).chain(2400..=3600) {
        watt_line(&mut log, s, &kilowatt(s as f64 / 3600.0));
    }
    let path = write(dir.path(), "watt.txt", &log);
    let v = json(&[&path], &[]);
    assert_eq!(v["frames"], 1801 + 1201);
    assert_eq!(v["energy"]["counter_Wh"], 1000.0);
    assert_eq!(v["energy"]["integral_Wh"], 833.333333);
    let gaps = &v["gaps"];
    assert_eq!(gaps["count"], 1);
    assert_eq!(gaps["total_s"], 600.0);
    assert_eq!(gaps["list"][0]["from"], "2026-03-01T12:30:00Z");
    assert_eq!(gaps["list"][0]["to"], "2026-03-01T12:40:00Z");
    let text = String::from_utf8(stats(&[&path], &[]).stdout).unwrap();
    assert!(
        text.contains(
            "gaps      1 longer than 2 s, 10 min 0 s in all\n          2026-03-01T12:30:00Z to 2026-03-01T12:40:00Z (10 min 0 s)\n"
        ),
        "{text}"
    );
    // Two seconds is no gap; three is (--gap changes the threshold).
    let mut log = String::new();
    for (i, s) in [0, 2, 5, 6].into_iter().enumerate() {
        watt_line(&mut log, s, &kilowatt(i as f64 / 1000.0));
    }
    let path = write(dir.path(), "short.txt", &log);
    let v = json(&[&path], &[]);
    assert_eq!(v["gaps"]["count"], 1);
    assert_eq!(v["energy"]["integral_Wh"], 0.833333);
    let v = json(&[&path], &["--gap", "3"]);
    assert_eq!(v["gaps"]["count"], 0);
    assert_eq!(v["energy"]["integral_Wh"], 1.666667);
}

#[test]
fn the_seed_log_gives_its_exact_spread_and_damage_is_counted() {
    let seed = include_str!("data/watt-seed.txt");
    let dir = tempfile::tempdir().unwrap();
    // One damaged record (a digit lost) and one suspect frame (power 5 kW
    // where V x A x PF says 4.6 kW) in the middle of the seed.
    let lines: Vec<&str> = seed.lines().collect();
    let damaged = lines[1].replacen("21693Vo", "2169Vo", 1);
    let suspect = lines[2].replacen("46481Wa", "50001Wa", 1);
    let text = format!(
        "{}\n{damaged}\n{suspect}\n{}\n{}\n",
        lines[0], lines[2], lines[3]
    );
    let path = write(dir.path(), "watt.txt", &text);
    let v = json(&[&path], &["--from", "2011-01-05T07:57:32+09:00"]);
    assert_eq!(v["frames"], 3);
    assert_eq!(v["damaged"], 1);
    assert_eq!(v["suspect"], 1);
    let seed_path = write(dir.path(), "seed.txt", seed);
    let v = json(&[&seed_path], &[]);
    let q = &v["quantities"];
    assert_eq!(q["current_A"]["min"], 42.41);
    assert_eq!(q["current_A"]["mean"], 42.42);
    assert_eq!(q["current_A"]["max"], 42.43);
    assert_eq!(q["power_W"]["mean"], 4647.0);
    assert_eq!(q["power_factor"]["mean"], 0.50475);
    assert_eq!(q["frequency_Hz"]["mean"], 59.975);
    // Counter 2 Wh to 4 Wh; power integrated over the two seconds (two frames
    // share a second): (4646 + 4648) / 2 + (4648 + 4646) / 2 J.
    assert_eq!(v["energy"]["counter_Wh"], 2.0);
    assert_eq!(v["energy"]["integral_Wh"], 2.581667);
    // A window that ends before the damage leaves it out.
    let v = json(&[&path], &["--to", "2011-01-05 07:57:33"]);
    assert_eq!(v["frames"], 1);
    assert_eq!(v["damaged"], 0);
}

#[test]
fn refusals_name_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let raw = write(
        dir.path(),
        "capture.bin",
        include_str!("data/stream-seed.bin"),
    );
    let out = stats(&[&raw], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("capture.bin has no timestamps"), "{err}");
    let missing = dir.path().join("missing.txt");
    let out = stats(&[&missing], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot open")
    );
    let out = stats(&[&raw], &["--from", "2026-01-02", "--to", "2026-01-01"]);
    assert_eq!(out.status.code(), Some(2));
    let out = stats(&[&raw], &["--from", "noon"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("invalid time `noon`"), "{err}");
}
