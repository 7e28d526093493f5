//! `com plot` end to end: a valid SVG (parsed) with one point per frame, or
//! two per pixel column when downsampled, gaps as breaks in the line; a PNG of
//! the requested size; the terminal chart; refusals.
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The meter's digits for `value`: hpm-frame's encoder, the one the
/// simulator uses (four significant digits, then the number of integer digits).
fn encode(value: f64) -> String {
    hpm_frame::decode::Scheme::PointDigit
        .encode(value)
        .expect("a value the meter can show")
        .as_str()
        .to_owned()
}

/// A watt.txt log of 1 kW frames at the given seconds after 12:00, the
/// current stepping so that the line is not flat.
fn log(seconds: impl Iterator<Item = i64>) -> String {
    let start = time::macros::datetime!(2026-03-01 12:00:00);
    let stamp = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let mut out = String::new();
    for s in seconds {
        let (v, a) = if s % 2 == 0 {
            (230.0, 4.348)
        } else {
            (200.0, 5.0)
        };
        let mut frame = String::from("S");
        for (digits, label) in [
            (encode(v), "Vo"),
            (encode(a), "Am"),
            (encode(1.0), "Wa"),
            (encode(s as f64 / 3600.0), "Wh"),
            (encode(1.0), "Pf"),
            ("50001".to_string(), "Hz"),
        ] {
            let _ = write!(frame, ":{digits:>7}{label}");
        }
        let t = start + time::Duration::seconds(s);
        let _ = writeln!(out, "{frame}  E[{}] ", t.format(stamp).unwrap());
    }
    out
}

fn plot(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_com"))
        .arg("plot")
        .args(args)
        .env("TZ", "UTC0")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// The data lines of an SVG (the first panel's colour), each as its points.
fn data_lines(svg: &str) -> Vec<Vec<(i64, i64)>> {
    let doc = roxmltree::Document::parse(svg).expect("a well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("stroke") == Some("#1F77B4"))
        .map(|n| {
            n.attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

#[test]
fn an_svg_has_one_point_per_frame_and_gaps_break_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watt.txt");
    // 100 frames, a 60 s pause, 50 frames.
    std::fs::write(&path, log((0..100).chain(160..210))).unwrap();
    let svg = dir.path().join("power.svg");
    let err = ok(&plot(&[
        path.as_os_str(),
        os("-o"),
        svg.as_os_str(),
        os("--quantity"),
        os("current"),
    ]));
    assert!(
        err.contains("150 frames, 150 points (one point per frame)"),
        "{err}"
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let lines = data_lines(&text);
    assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [100, 50]);
    // The current alternates: two values, so two heights.
    let mut heights: Vec<i64> = lines.concat().iter().map(|p| p.1).collect();
    heights.sort();
    heights.dedup();
    assert_eq!(heights.len(), 2);
    // The axes say what they show.
    assert!(text.contains("current (A)"), "{text}");
    assert!(
        text.contains("time (UTC0)") || text.contains("time (UTC)"),
        "{text}"
    );
    assert!(text.contains("12:01"), "{text}");
}

#[test]
fn a_long_log_is_drawn_as_minimum_and_maximum_per_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watt.txt");
    std::fs::write(&path, log(0..3600)).unwrap();
    let svg = dir.path().join("power.svg");
    let err = ok(&plot(&[
        path.as_os_str(),
        os("-o"),
        svg.as_os_str(),
        os("--quantity"),
        os("current,power"),
        os("--size"),
        os("600x500"),
    ]));
    assert!(
        err.contains("minimum and maximum per pixel column"),
        "{err}"
    );
    let lines = data_lines(&std::fs::read_to_string(&svg).unwrap());
    assert_eq!(lines.len(), 1);
    let points = &lines[0];
    // Two points per column, one column per pixel of the plotting area.
    assert_eq!(points.len() % 2, 0);
    let columns = points.len() / 2;
    assert!((400..600).contains(&columns), "{columns}");
    for pair in points.chunks(2) {
        assert_eq!(
            pair[0].0, pair[1].0,
            "a column's minimum and maximum share x"
        );
        assert!(pair[0].1 > pair[1].1, "the maximum is drawn higher");
    }
}

#[test]
fn a_png_has_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watt.txt");
    std::fs::write(&path, log(0..600)).unwrap();
    let png = dir.path().join("power.png");
    ok(&plot(&[
        path.as_os_str(),
        os("-o"),
        png.as_os_str(),
        os("--size"),
        os("640x480"),
    ]));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (640, 480));
}

#[test]
fn the_terminal_chart_is_braille_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watt.txt");
    std::fs::write(&path, log(0..600)).unwrap();
    let out = plot(&[
        path.as_os_str(),
        os("--terminal"),
        os("--size"),
        os("60x12"),
        os("--quantity"),
        os("voltage"),
    ]);
    ok(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "voltage (V)");
    assert!(lines[1].starts_with("    231.5 \u{2502}"), "{text}"); // 230 and 200, padded by 5 %
    assert!(lines.iter().all(|l| l.chars().count() <= 60), "{text}");
    assert!(
        text.contains("12:00:00") && text.contains("12:09:59"),
        "{text}"
    );
}

#[test]
fn refusals_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("watt.txt");
    std::fs::write(&path, log(0..10)).unwrap();
    let code = |out: Output| {
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (c, err) = code(plot(&[path.as_os_str(), os("-o"), os("x.jpg")]));
    assert_eq!(c, Some(2));
    assert!(err.contains("must end in .svg or .png"), "{err}");
    let (c, err) = code(plot(&[path.as_os_str()]));
    assert_eq!(c, Some(2), "{err}");
    let (c, err) = code(plot(&[
        path.as_os_str(),
        os("--terminal"),
        os("--quantity"),
        os("watts"),
    ]));
    assert_eq!(c, Some(2));
    assert!(err.contains("unknown quantity `watts`"), "{err}");
    let svg = dir.path().join("x.svg");
    let (c, err) = code(plot(&[
        path.as_os_str(),
        os("-o"),
        svg.as_os_str(),
        os("--font"),
        os(Path::new("/nonexistent/font.ttf").to_str().unwrap()),
    ]));
    assert_eq!(c, Some(2));
    assert!(
        err.contains("cannot read the font /nonexistent/font.ttf"),
        "{err}"
    );
    let (c, err) = code(plot(&[
        path.as_os_str(),
        os("--terminal"),
        os("--from"),
        os("2027-01-01"),
    ]));
    assert_eq!(c, Some(2));
    assert!(err.contains("no frames to plot"), "{err}");
    assert!(!svg.exists());
}
