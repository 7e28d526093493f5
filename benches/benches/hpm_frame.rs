//! hpm-frame: throughput of the stream decoder and the `watt.txt` reader on
//! ~100 MB of synthetic input, side by side with a straightforward `regex`-crate
//! parser producing the same records (the baseline).
//!
//! Each pair is measured twice: in wall time (group `hpm_frame/...`, criterion's
//! default) and in the CPU time of the benchmarking thread (group
//! `hpm_frame_cpu/...`), which does not count the time the thread waits for a core
//! on a busy machine.
//!
//! Run: `cargo bench -p benches --bench hpm_frame`; figures in docs/performance.md.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Instant;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hpm_frame::time::{Date, Month, PrimitiveDateTime, Time};
use hpm_frame::{
    Frame, LogReader, StreamDecoder,
    field::{Digits, Field, Label},
};
use regex::bytes::Regex;

/// About this many bytes of input per benchmark.
const TARGET: usize = 100 * 1024 * 1024;

/// Size of each chunk fed to the stream decoder, like large reads from a file.
const CHUNK: usize = 64 * 1024;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One live frame with plausible, varying digits, as the meter pads it.
fn live_frame(rng: &mut Rng, out: &mut Vec<u8>) {
    let fields: [(u64, u64, &[u8; 2]); 8] = [
        (2100 + rng.below(200), 3, b"Vo"),
        (1000 + rng.below(9000), 2, b"Am"),
        (1000 + rng.below(9000), 1, b"Wa"),
        (rng.below(10_000), 1 + rng.below(4), b"Wh"),
        (rng.below(1000), 1, b"Pf"),
        (5990 + rng.below(20), 1, b"Hz"),
        (0, 1, b"Kg"),
        (0, 1, b"Eu"),
    ];
    out.push(b'S');
    for (m, d, label) in fields {
        let digits = if m == 0 {
            format!("0{d}")
        } else {
            format!("{m}{d}")
        };
        out.extend_from_slice(format!(":{digits:>7}").as_bytes());
        out.extend_from_slice(label);
    }
    out.extend_from_slice(b"  E");
}

/// The meter's raw stream: frames followed by CR LF.
fn raw_stream() -> (Vec<u8>, u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(TARGET + 200);
    let mut n = 0;
    while out.len() < TARGET {
        live_frame(&mut rng, &mut out);
        out.extend_from_slice(b"\r\n");
        n += 1;
    }
    (out, n)
}

/// A `watt.txt` log: each CR replaced by a timestamp one second apart.
fn old_log() -> (Vec<u8>, u64) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::with_capacity(TARGET + 200);
    let start = PrimitiveDateTime::new(
        Date::from_calendar_date(2011, Month::January, 5).unwrap(),
        Time::from_hms(7, 57, 32).unwrap(),
    );
    let mut n = 0u64;
    while out.len() < TARGET {
        live_frame(&mut rng, &mut out);
        let t = start + hpm_frame::time::Duration::seconds(n as i64);
        out.extend_from_slice(
            format!(
                "[{:04}-{:02}-{:02} {:02}:{:02}:{:02}] \n",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
            .as_bytes(),
        );
        n += 1;
    }
    (out, n)
}

/// The baseline: regular expressions for the frame and its fields.
struct RegexParser {
    frame: Regex,
    field: Regex,
    line: Regex,
}

impl RegexParser {
    fn new() -> RegexParser {
        RegexParser {
            frame: Regex::new(r"S((?:[: \t\r\n]*[0-9]+[A-Za-z]{2})+)[ \t\r\n]*E").unwrap(),
            field: Regex::new(r"([0-9]+)([A-Za-z]{2})").unwrap(),
            line: Regex::new(
                r"^[ \t\r]*(S[^\[]*E)[ \t\r]*\[([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})\] ?[ \t\r]*$",
            )
            .unwrap(),
        }
    }

    fn fields(&self, body: &[u8]) -> Option<Frame> {
        let fields = self.field.captures_iter(body).map(|c| Field {
            label: Label::from_bytes([c[2][0], c[2][1]]).unwrap(),
            digits: Digits::new(&c[1]).unwrap(),
        });
        Frame::new(fields).ok()
    }

    /// Frames of a raw stream.
    fn stream(&self, data: &[u8]) -> u64 {
        let mut n = 0;
        for c in self.frame.captures_iter(data) {
            if let Some(f) = self.fields(&c[1]) {
                black_box(&f);
                n += 1;
            }
        }
        n
    }

    /// Records of a log.
    fn log(&self, data: &[u8]) -> u64 {
        let num = |b: &[u8]| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
        };
        let mut n = 0;
        for line in data.split(|&b| b == b'\n') {
            let Some(c) = self.line.captures(line) else {
                continue;
            };
            let p: Vec<u32> = (2..8).filter_map(|i| num(&c[i])).collect();
            let time = Month::try_from(p[1] as u8)
                .ok()
                .and_then(|m| Date::from_calendar_date(p[0] as i32, m, p[2] as u8).ok())
                .zip(Time::from_hms(p[3] as u8, p[4] as u8, p[5] as u8).ok())
                .map(|(d, t)| PrimitiveDateTime::new(d, t));
            if let (Some(t), Some(f)) = (time, self.fields(&c[1])) {
                black_box((&t, &f));
                n += 1;
            }
        }
        n
    }
}

fn decode_stream(data: &[u8]) -> u64 {
    let mut dec = StreamDecoder::new();
    let mut n = 0u64;
    for chunk in data.chunks(CHUNK) {
        dec.feed(chunk, |f| {
            black_box(&f);
            n += 1;
        });
    }
    n
}

fn read_log(data: &[u8]) -> u64 {
    let mut n = 0;
    for rec in LogReader::new(data).flatten() {
        black_box(&rec);
        n += 1;
    }
    n
}

/// CPU time of the calling thread in ns, from the kernel's per-thread scheduler
/// statistics; wall time where those are not available.
fn thread_cpu_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64)
}

/// Criterion measurement: CPU time of the benchmarking thread.
struct ThreadCpuTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Shows CPU nanoseconds as ms and byte throughput as MiB/s.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for v in values {
            *v /= 1e6;
        }
        "ms (CPU)"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let bytes = match *throughput {
            Throughput::Bytes(b) | Throughput::BytesDecimal(b) => b as f64,
            Throughput::Elements(e) => e as f64,
            Throughput::Bits(b) => b as f64 / 8.0,
        };
        for v in values {
            *v = bytes * 1e9 / *v / (1024.0 * 1024.0);
        }
        "MiB/s (CPU)"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// The inputs, made once for both measurements.
struct Inputs {
    stream: Vec<u8>,
    log: Vec<u8>,
    re: RegexParser,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let re = RegexParser::new();
        let (stream, frames) = raw_stream();
        assert_eq!(decode_stream(&stream), frames);
        assert_eq!(re.stream(&stream), frames);
        let (log, records) = old_log();
        assert_eq!(read_log(&log), records);
        assert_eq!(re.log(&log), records);
        Inputs { stream, log, re }
    })
}

fn bench_with<M: Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let Inputs { stream, log, re } = inputs();

    let mut g = c.benchmark_group(format!("{prefix}/raw_stream"));
    g.throughput(Throughput::Bytes(stream.len() as u64));
    g.sample_size(10);
    g.bench_function("StreamDecoder", |b| {
        b.iter(|| decode_stream(black_box(stream)))
    });
    g.bench_function("regex baseline", |b| {
        b.iter(|| re.stream(black_box(stream)))
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{prefix}/old_log"));
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(10);
    g.bench_function("LogReader", |b| b.iter(|| read_log(black_box(log))));
    g.bench_function("regex baseline", |b| b.iter(|| re.log(black_box(log))));
    g.finish();
}

fn wall(c: &mut Criterion) {
    bench_with(c, "hpm_frame");
}

fn cpu(c: &mut Criterion<ThreadCpuTime>) {
    bench_with(c, "hpm_frame_cpu");
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
