//! `com plot`: the readings of logs as a chart, one panel per quantity over a
//! time axis in local time: SVG or PNG through plotters, or Braille text for a
//! terminal.
//!
//! Gaps (pauses between frames longer than the gap threshold) break the line.
//! A panel shows one point per frame while the frames are at most two per
//! pixel column; beyond that each column shows the minimum and maximum of its
//! frames (two points per column), so a month of 1 Hz frames draws as fast as
//! an hour and no peak is lost.
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;
use time::OffsetDateTime;

use crate::readings::{self, Item, Quantity, Resolve, TimeArg, Usage, Window};

/// The font plotters draws text with: DejaVu Sans from Debian's
/// `fonts-dejavu-core`.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// `com plot FILE… -o OUT.svg|OUT.png [--quantity power,voltage,…]`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlotArgs {
    /// watt.txt or rfc3339 logs, read one after the other as one record.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The chart file: .svg or .png.
    #[arg(short, long, value_name = "OUT", required_unless_present = "terminal")]
    pub output: Option<PathBuf>,
    /// Draw the chart on the terminal (Braille dots) instead of a file.
    #[arg(long, conflicts_with = "output")]
    pub terminal: bool,
    /// The quantities, one panel each, comma-separated: voltage, current,
    /// power, power_factor, frequency, energy.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "power", value_parser = Quantity::parse)]
    pub quantity: Vec<Quantity>,
    /// Only frames at or after this time: YYYY-MM-DD or YYYY-MM-DD HH:MM(:SS)
    /// in the logs' local time, or RFC 3339 with an offset.
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    pub from: Option<TimeArg>,
    /// Only frames before this time (same forms as --from).
    #[arg(long, value_name = "TIME", value_parser = TimeArg::parse)]
    pub to: Option<TimeArg>,
    /// The size in pixels (a file) or characters (--terminal), WIDTHxHEIGHT.
    /// Default: 1200 wide and 300 high per quantity; the terminal's size.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub size: Option<(u32, u32)>,
    /// A pause between two frames longer than this many seconds is a gap in
    /// the line.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_gap)]
    pub gap: f64,
    /// The TrueType font for the text of SVG and PNG charts.
    #[arg(long, value_name = "FILE.ttf", default_value = DEFAULT_FONT)]
    pub font: PathBuf,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("invalid size `{s}`: expected WIDTHxHEIGHT, e.g. 1200x600");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h) = (
        w.parse::<u32>().map_err(|_| bad())?,
        h.parse::<u32>().map_err(|_| bad())?,
    );
    if !(8..=20_000).contains(&w) || !(8..=20_000).contains(&h) {
        return Err(format!("invalid size `{s}`: each side from 8 to 20000"));
    }
    Ok((w, h))
}

fn parse_gap(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(g) if g.is_finite() && g > 0.0 => Ok(g),
        _ => Err(format!(
            "invalid gap `{s}`: expected a positive number of seconds"
        )),
    }
}

/// The readings of the window, in time order.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub quantities: Vec<Quantity>,
    /// Unix seconds.
    pub times: Vec<f64>,
    /// Row by row, `quantities.len()` values a row; NaN where a frame lacks
    /// the field.
    pub values: Vec<f32>,
    pub window: Window,
}

impl Data {
    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    fn value(&self, row: usize, q: usize) -> f32 {
        self.values[row * self.quantities.len() + q]
    }

    /// Adds a row (for callers that make their own data, e.g. benchmarks).
    pub fn push(&mut self, time: f64, values: &[f32]) {
        assert_eq!(values.len(), self.quantities.len());
        self.times.push(time);
        self.values.extend_from_slice(values);
    }

    /// The time range to draw: the window if given, else first to last frame.
    pub fn x_range(&self) -> (f64, f64) {
        let secs = |t: OffsetDateTime| t.unix_timestamp_nanos() as f64 / 1e9;
        let first = self.times.first().copied().unwrap_or(0.0);
        let last = self.times.last().copied().unwrap_or(1.0);
        let a = self.window.from.map_or(first, secs);
        let b = self.window.to.map_or(last, secs);
        if b > a { (a, b) } else { (a - 0.5, a + 0.5) }
    }

    /// Sorts the rows by time (logs given out of order).
    fn sort(&mut self) {
        if self.times.is_sorted() {
            return;
        }
        let n = self.quantities.len();
        let mut order: Vec<usize> = (0..self.times.len()).collect();
        order.sort_by(|&a, &b| self.times[a].total_cmp(&self.times[b]));
        self.times = order.iter().map(|&i| self.times[i]).collect();
        self.values = order
            .iter()
            .flat_map(|&i| self.values[i * n..(i + 1) * n].iter().copied())
            .collect();
    }
}

/// Reads the consistent frames of the window (suspect and damaged ones are
/// left out).
pub fn load(
    files: &[PathBuf],
    window: Window,
    quantities: &[Quantity],
    resolve: Resolve<'_>,
) -> anyhow::Result<Data> {
    let mut data = Data {
        quantities: quantities.to_vec(),
        window,
        ..Data::default()
    };
    readings::read_quantities(files, resolve, quantities, |item| {
        if let Item::Reading(r) = item
            && window.contains(r.time)
        {
            data.times.push(r.time.unix_timestamp_nanos() as f64 / 1e9);
            for &q in quantities {
                data.values.push(r.get(q).map_or(f32::NAN, |v| v as f32));
            }
        }
    })?;
    data.sort();
    Ok(data)
}

/// One quantity's line in data coordinates (x in Unix seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The line's pieces: a new one starts after each gap.
    pub polylines: Vec<Vec<(f64, f64)>>,
    /// Whether the points are per column (minimum then maximum) rather than
    /// per frame.
    pub downsampled: bool,
}

impl Trace {
    pub fn points(&self) -> usize {
        self.polylines.iter().map(Vec::len).sum()
    }
}

/// The line of quantity `q` (its index in `data.quantities`) over `x` drawn
/// `columns` wide: every frame while there are at most two frames a column,
/// else each column's minimum and maximum.
pub fn trace(data: &Data, q: usize, x: (f64, f64), columns: usize, gap: f64) -> Trace {
    let columns = columns.max(1);
    let valid = (0..data.len()).filter(|&i| !data.value(i, q).is_nan());
    let count = valid.clone().count();
    let mut polylines: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let end = |current: &mut Vec<(f64, f64)>, polylines: &mut Vec<Vec<(f64, f64)>>| {
        if !current.is_empty() {
            polylines.push(std::mem::take(current));
        }
    };
    if count <= 2 * columns {
        let mut previous: Option<f64> = None;
        for i in valid {
            let t = data.times[i];
            if previous.is_some_and(|p| t - p > gap) {
                end(&mut current, &mut polylines);
            }
            current.push((t, f64::from(data.value(i, q))));
            previous = Some(t);
        }
        end(&mut current, &mut polylines);
        return Trace {
            polylines,
            downsampled: false,
        };
    }
    let span = x.1 - x.0;
    let column = |t: f64| -> usize {
        let c = ((t - x.0) / span * columns as f64).floor();
        if c <= 0.0 {
            0
        } else {
            (c as usize).min(columns - 1)
        }
    };
    let mut spread: Vec<Option<(f32, f32)>> = vec![None; columns];
    let mut break_before = vec![false; columns];
    let mut previous: Option<f64> = None;
    for i in valid {
        let (t, v) = (data.times[i], data.value(i, q));
        let c = column(t);
        if previous.is_some_and(|p| t - p > gap) {
            break_before[c] = true;
        }
        previous = Some(t);
        spread[c] = Some(match spread[c] {
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
            None => (v, v),
        });
    }
    for (c, s) in spread.iter().enumerate() {
        let Some((lo, hi)) = *s else { continue };
        if break_before[c] {
            end(&mut current, &mut polylines);
        }
        let xc = x.0 + (c as f64 + 0.5) / columns as f64 * span;
        current.push((xc, f64::from(lo)));
        current.push((xc, f64::from(hi)));
    }
    end(&mut current, &mut polylines);
    Trace {
        polylines,
        downsampled: true,
    }
}

/// The value range of quantity `q`, widened a little (and around a constant).
fn y_range(data: &Data, q: usize) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..data.len() {
        let v = f64::from(data.value(i, q));
        if !v.is_nan() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        (hi.abs() * 0.01).max(0.001)
    };
    (lo - pad, hi + pad)
}

/// How instants are shown on the time axis: local time and the zone's name.
#[derive(Clone, Copy)]
pub struct TimeAxis<'a> {
    pub local: &'a dyn Fn(OffsetDateTime) -> OffsetDateTime,
    pub zone: &'a str,
}

impl std::fmt::Debug for TimeAxis<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeAxis")
            .field("zone", &self.zone)
            .finish()
    }
}

impl TimeAxis<'_> {
    /// A label for Unix seconds `x`, to the minute (to the second for spans
    /// under 10 minutes; with the date for spans over 2 days).
    fn label(&self, x: f64, span: f64) -> String {
        let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos((x * 1e9) as i128) else {
            return String::new();
        };
        let t = (self.local)(t);
        let (d, h, m, s) = (t.day(), t.hour(), t.minute(), t.second());
        if span > 2.0 * 86_400.0 {
            format!("{:02}-{d:02} {h:02}:{m:02}", u8::from(t.month()))
        } else if span < 600.0 {
            format!("{h:02}:{m:02}:{s:02}")
        } else {
            format!("{h:02}:{m:02}")
        }
    }

    /// Round local times for the axis labels, about six of them.
    pub fn ticks(&self, x: (f64, f64)) -> Vec<f64> {
        const STEPS: [f64; 19] = [
            1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
            7200.0, 10_800.0, 21_600.0, 43_200.0, 86_400.0, 604_800.0,
        ];
        let span = x.1 - x.0;
        let step = STEPS
            .into_iter()
            .find(|s| span / s <= 7.0)
            .unwrap_or_else(|| (span / 6.0 / 86_400.0).ceil() * 86_400.0);
        // Round in local time: the offset at the start (a change of offset
        // within the chart shifts the later labels, which still say the truth).
        let offset = OffsetDateTime::from_unix_timestamp(x.0 as i64)
            .map(|t| f64::from((self.local)(t).offset().whole_seconds()))
            .unwrap_or(0.0);
        let mut t = ((x.0 + offset) / step).ceil() * step - offset;
        let mut out = Vec::new();
        while t <= x.1 && out.len() < 100 {
            out.push(t);
            t += step;
        }
        out
    }

    fn full(&self, x: f64) -> String {
        OffsetDateTime::from_unix_timestamp_nanos((x * 1e9) as i128)
            .map(|t| {
                let t = (self.local)(t);
                format!(
                    "{}-{:02}-{:02} {:02}:{:02}:{:02}",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                )
            })
            .unwrap_or_default()
    }
}

/// The time axis: Unix seconds, labelled at round local times.
#[derive(Debug)]
struct TimeCoord<'a> {
    range: (f64, f64),
    ticks: Vec<f64>,
    axis: TimeAxis<'a>,
}

impl plotters::coord::ranged1d::Ranged for TimeCoord<'_> {
    type FormatOption = plotters::coord::ranged1d::NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value - self.range.0) / (self.range.1 - self.range.0);
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.0..self.range.1
    }
}

impl plotters::coord::ranged1d::ValueFormatter<f64> for TimeCoord<'_> {
    fn format(value: &f64) -> String {
        value.to_string()
    }

    fn format_ext(&self, value: &f64) -> String {
        self.axis.label(*value, self.range.1 - self.range.0)
    }
}

/// A quantity's axis title: `power (W)`.
fn axis_title(q: Quantity) -> String {
    match q.unit() {
        "" => q.name().replace('_', " "),
        u => format!("{} ({u})", q.name()),
    }
}

/// The line colours, one per panel.
const COLOURS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Registers the font plotters draws text with (once per process).
pub fn use_font(path: &Path) -> anyhow::Result<()> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = LOADED.get_or_init(|| {
        let bytes = std::fs::read(path).map_err(|e| {
            format!(
                "cannot read the font {} ({e}): install Debian's fonts-dejavu-core or give --font FILE.ttf",
                path.display()
            )
        })?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
            .map_err(|_| format!("{} is not a TrueType font", path.display()))
    });
    result.clone().map_err(|e| anyhow::Error::new(Usage(e)))
}

/// What was drawn: per panel, its trace.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub traces: Vec<Trace>,
}

/// Draws the panels on any plotters backend.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &Data,
    title: &str,
    axis: TimeAxis<'_>,
    gap: f64,
) -> anyhow::Result<Drawn> {
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("drawing the chart: {e}");
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let root = root
        .titled(title, ("sans-serif", 18))
        .map_err(|e| fail(&e))?;
    let panels = root.split_evenly((data.quantities.len().max(1), 1));
    let x = data.x_range();
    let mut traces = Vec::new();
    for (i, (panel, &q)) in panels.iter().zip(&data.quantities).enumerate() {
        let (y0, y1) = y_range(data, i);
        let mut chart = ChartBuilder::on(panel)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(
                TimeCoord {
                    range: x,
                    ticks: axis.ticks(x),
                    axis,
                },
                y0..y1,
            )
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .y_labels(6)
            .x_desc(format!("time ({})", axis.zone))
            .y_desc(axis_title(q))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(|e| fail(&e))?;
        let columns = chart.plotting_area().dim_in_pixel().0 as usize;
        let trace = trace(data, i, x, columns, gap);
        let colour = COLOURS[i % COLOURS.len()];
        for line in &trace.polylines {
            chart
                .draw_series(LineSeries::new(
                    line.iter().copied(),
                    colour.stroke_width(1),
                ))
                .map_err(|e| fail(&e))?;
        }
        traces.push(trace);
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(Drawn { traces })
}

/// The chart's title: the files and the time range.
pub fn title(files: &[PathBuf], data: &Data, axis: TimeAxis<'_>) -> String {
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let x = data.x_range();
    format!(
        "{}: {} to {} ({} frames)",
        names.join(", "),
        axis.full(x.0),
        axis.full(x.1),
        data.len()
    )
}

/// Writes the chart to `out`, SVG or PNG by its extension.
pub fn write_file(
    out: &Path,
    size: (u32, u32),
    data: &Data,
    title: &str,
    axis: TimeAxis<'_>,
    gap: f64,
) -> anyhow::Result<Drawn> {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => {
            let root = SVGBackend::new(out, size).into_drawing_area();
            draw(&root, data, title, axis, gap)
        }
        Some("png") => {
            let root = BitMapBackend::new(out, size).into_drawing_area();
            draw(&root, data, title, axis, gap)
        }
        _ => Err(Usage(format!(
            "{}: the chart's file name must end in .svg or .png",
            out.display()
        ))
        .into()),
    }
    .with_context(|| format!("writing {}", out.display()))
}

/// The default file size: 1200 wide, 300 high per panel plus the title.
pub fn default_size(panels: usize) -> (u32, u32) {
    (1200, 40 + 300 * panels.max(1) as u32)
}

/// The chart as Braille text, `width` × `height` characters in all.
pub fn terminal(data: &Data, width: usize, height: usize, axis: TimeAxis<'_>, gap: f64) -> String {
    const LEFT: usize = 11;
    let n = data.quantities.len().max(1);
    let width = width.max(LEFT + 10);
    let cols = width - LEFT;
    // Per panel: a title line, the grid, the time line.
    let rows = (height.saturating_sub(1) / n).saturating_sub(2).max(3);
    let x = data.x_range();
    let span = x.1 - x.0;
    let mut out = String::new();
    for (i, &q) in data.quantities.iter().enumerate() {
        let (y0, y1) = y_range(data, i);
        let trace = trace(data, i, x, cols * 2, gap);
        let (w, h) = (cols * 2, rows * 4);
        let mut dots = vec![false; w * h];
        let to_dot = |(px, py): (f64, f64)| -> (i64, i64) {
            let dx = ((px - x.0) / span * w as f64).floor() as i64;
            let dy = ((y1 - py) / (y1 - y0) * h as f64).floor() as i64;
            (dx.clamp(0, w as i64 - 1), dy.clamp(0, h as i64 - 1))
        };
        for line in &trace.polylines {
            let mut last: Option<(i64, i64)> = None;
            for &p in line {
                let d = to_dot(p);
                let from = last.unwrap_or(d);
                for (dx, dy) in segment(from, d) {
                    dots[dy as usize * w + dx as usize] = true;
                }
                last = Some(d);
            }
        }
        out.push_str(&format!("{}\n", axis_title(q)));
        for r in 0..rows {
            let label = if r == 0 {
                short(y1)
            } else if r == rows - 1 {
                short(y0)
            } else {
                String::new()
            };
            out.push_str(&format!("{label:>9} \u{2502}"));
            for c in 0..cols {
                let mut bits = 0u32;
                // Braille dot numbering: columns of 1,2,3,7 and 4,5,6,8.
                const BIT: [[u32; 4]; 2] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
                for (side, bit_col) in BIT.iter().enumerate() {
                    for (k, bit) in bit_col.iter().enumerate() {
                        if dots[(r * 4 + k) * w + c * 2 + side] {
                            bits |= bit;
                        }
                    }
                }
                out.push(char::from_u32(0x2800 + bits).unwrap_or(' '));
            }
            out.push('\n');
        }
        let (a, b) = (axis.label(x.0, span), axis.label(x.1, span));
        let pad = cols.saturating_sub(a.chars().count() + b.chars().count());
        out.push_str(&format!("{:>10}{a}{}{b}\n", "", " ".repeat(pad)));
    }
    out
}

/// A number in at most 9 characters.
fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    if s.len() <= 9 { s } else { format!("{v:.3e}") }
}

/// The dots of a straight segment (Bresenham).
fn segment(a: (i64, i64), b: (i64, i64)) -> Vec<(i64, i64)> {
    let (mut x, mut y) = a;
    let (dx, dy) = ((b.0 - x).abs(), -(b.1 - y).abs());
    let (sx, sy) = (if x < b.0 { 1 } else { -1 }, if y < b.1 { 1 } else { -1 });
    let mut err = dx + dy;
    let mut out = vec![(x, y)];
    while (x, y) != b {
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
        out.push((x, y));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(points: &[(f64, f32)]) -> Data {
        let mut d = Data {
            quantities: vec![Quantity::Power],
            ..Data::default()
        };
        for &(t, v) in points {
            d.push(t, &[v]);
        }
        d
    }

    #[test]
    fn few_frames_give_one_point_each_and_gaps_break_the_line() {
        let d = data(&[(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (10.0, 4.0), (11.0, 5.0)]);
        let t = trace(&d, 0, d.x_range(), 100, 2.0);
        assert!(!t.downsampled);
        assert_eq!(
            t.polylines,
            [
                vec![(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)],
                vec![(10.0, 4.0), (11.0, 5.0)]
            ]
        );
    }

    #[test]
    fn many_frames_give_min_and_max_per_column() {
        // 1000 frames a second apart over 10 columns: 100 per column, values
        // 0..999, so column c holds 100c..100c+99.
        let points: Vec<(f64, f32)> = (0..1000).map(|i| (f64::from(i), i as f32)).collect();
        let d = data(&points);
        let t = trace(&d, 0, (0.0, 1000.0), 10, 2.0);
        assert!(t.downsampled);
        assert_eq!(t.polylines.len(), 1);
        assert_eq!(t.points(), 20);
        assert_eq!(t.polylines[0][0], (50.0, 0.0));
        assert_eq!(t.polylines[0][1], (50.0, 99.0));
        assert_eq!(t.polylines[0][19], (950.0, 999.0));
        // A gap of 300 s in the middle breaks it (its columns stay empty).
        let points: Vec<(f64, f32)> = (0..1000)
            .filter(|i| !(400..700).contains(i))
            .map(|i| (f64::from(i), 1.0))
            .collect();
        let t = trace(&data(&points), 0, (0.0, 1000.0), 10, 2.0);
        assert_eq!(t.polylines.len(), 2);
        assert_eq!(t.points(), 14);
    }

    #[test]
    fn the_terminal_chart_draws_braille() {
        let points: Vec<(f64, f32)> = (0..100).map(|i| (f64::from(i), i as f32)).collect();
        let d = data(&points);
        let local = |t: OffsetDateTime| t;
        let axis = TimeAxis {
            local: &local,
            zone: "UTC",
        };
        let text = terminal(&d, 40, 10, axis, 2.0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "power (W)");
        assert!(lines[1].starts_with("   103.95 \u{2502}"), "{text}"); // 0 to 99, padded by 5 %
        assert!(lines[7].starts_with("    -4.95 \u{2502}"), "{text}");
        assert!(lines.iter().any(|l| l.contains('\u{2800}')), "{text}");
        assert!(lines.last().unwrap().contains("00:00:00"), "{text}");
        assert_eq!(segment((0, 0), (3, 1)).len(), 4);
    }
}
