//! com plot: a month of 1 Hz frames (2,592,000, a 225 MB `watt.txt` log)
//! read into readings, then drawn as SVG and PNG with min/max per pixel
//! column, beside the baseline of drawing every frame as a point of one SVG
//! polyline (what the chart would cost without downsampling).
//!
//! Run: `cargo bench -p benches --bench com_plot`; figures in
//! docs/performance.md ("com plot"). The log is written once to the system's
//! temporary directory (`com-plot-bench-watt.txt`) and reused.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::path::PathBuf;

use com::plot::{self, Data, TimeAxis};
use com::readings::{Quantity, Window};
use criterion::{Criterion, criterion_group, criterion_main};
use hpm_frame::decode::Scheme;
use plotters::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A month of frames, one a second.
const FRAMES: u64 = 30 * 86_400;

/// A field's value as the meter shows it (hpm-frame's encoder).
fn encode(value: f64, out: &mut String) {
    let digits = Scheme::PointDigit.encode(value).unwrap();
    let _ = write!(out, ":{:>7}", digits.as_str());
}

/// The log: consistent frames (power = V x A x PF as the meter shows it)
/// with a daily load cycle and a little noise.
fn log_file() -> PathBuf {
    let path = std::env::temp_dir().join("com-plot-bench-watt.txt");
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > 200_000_000) {
        return path;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let start = time::macros::datetime!(2026-03-01 00:00:00);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut kwh = 0.0;
    let mut line = String::with_capacity(160);
    for s in 0..FRAMES {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let noise = (rng % 1000) as f64 / 1000.0;
        let day = (s % 86_400) as f64 / 86_400.0;
        let v = 225.0 + 5.0 * noise;
        let a = 10.0 + 30.0 * (std::f64::consts::PI * day).sin().powi(2) + noise;
        let pf = 0.9;
        // Round as the meter shows them, so the check passes.
        let (v, a) = ((v * 10.0).round() / 10.0, (a * 100.0).round() / 100.0);
        let kw = v * a * pf / 1000.0;
        kwh += kw / 3600.0;
        line.clear();
        line.push('S');
        encode(v, &mut line);
        line.push_str("Vo");
        encode(a, &mut line);
        line.push_str("Am");
        encode(kw, &mut line);
        line.push_str("Wa");
        encode(kwh, &mut line);
        line.push_str("Wh");
        encode(pf, &mut line);
        line.push_str("Pf:  59981Hz  E[");
        let t: PrimitiveDateTime = start + time::Duration::seconds(s as i64);
        let _ = writeln!(
            line,
            "{}-{:02}-{:02} {:02}:{:02}:{:02}] ",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        file.write_all(line.as_bytes()).unwrap();
    }
    file.flush().unwrap();
    path
}

fn resolve(t: PrimitiveDateTime, _: Option<OffsetDateTime>) -> OffsetDateTime {
    t.assume_offset(UtcOffset::UTC)
}

fn load(path: &PathBuf) -> Data {
    plot::load(
        std::slice::from_ref(path),
        Window::default(),
        &[Quantity::Power],
        &resolve,
    )
    .unwrap()
}

/// The baseline: every frame a point of one polyline.
fn every_point_svg(data: &Data, out: &std::path::Path) {
    let root = SVGBackend::new(out, (1200, 340)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let x = data.x_range();
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x.0..x.1, 0.0..12_000.0)
        .unwrap();
    chart.configure_mesh().draw().unwrap();
    let points = data
        .times
        .iter()
        .zip(&data.values)
        .map(|(&t, &v)| (t, f64::from(v)));
    chart.draw_series(LineSeries::new(points, BLUE)).unwrap();
    root.present().unwrap();
}

fn bench(c: &mut Criterion) {
    let path = log_file();
    plot::use_font(std::path::Path::new(plot::DEFAULT_FONT)).unwrap();
    let data = load(&path);
    assert_eq!(data.len() as u64, FRAMES);
    let local = |t: OffsetDateTime| t;
    let axis = TimeAxis {
        local: &local,
        zone: "UTC",
    };
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("month.svg");
    let png = dir.path().join("month.png");
    let title = plot::title(std::slice::from_ref(&path), &data, axis);

    let mut group = c.benchmark_group("com plot, 2,592,000 frames (a month at 1 Hz)");
    group.sample_size(10);
    group.bench_function("read the 225 MB log (plot::load)", |b| {
        b.iter(|| black_box(load(&path)).len())
    });
    group.bench_function("draw SVG 1200x340, min/max per column", |b| {
        b.iter(|| {
            let drawn = plot::write_file(&svg, (1200, 340), &data, &title, axis, 2.0).unwrap();
            assert!(drawn.traces[0].downsampled);
            black_box(drawn.traces[0].points())
        })
    });
    group.bench_function("draw PNG 1200x340, min/max per column", |b| {
        b.iter(|| {
            black_box(plot::write_file(&png, (1200, 340), &data, &title, axis, 2.0).unwrap());
        })
    });
    group.bench_function("baseline: draw SVG with every frame a point", |b| {
        b.iter(|| every_point_svg(&data, &svg))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
