//! ipvsctl: checking the lab's restore input (1,000 services x 10
//! destinations, 11,000 lines) into requests, as `ipvsctl -R` does before it
//! talks to the kernel (`restore::validate`), against the baseline of the
//! same lines through the general entry, one at a time (`cli::parse` with an
//! argument vector and a boxed entry per line, then `request::change`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ipvsctl::cli::{self, Parsed};
use ipvsctl::{request, restore};

/// The input of the kernel lab's timed restore.
fn lab_input() -> String {
    let mut input = String::new();
    for s in 0..1000u32 {
        let vip = format!("10.{}.{}.1:80", 10 + s / 250, s % 250);
        input.push_str(&format!("-A -t {vip} -s rr\n"));
        for d in 0..10u32 {
            input.push_str(&format!(
                "-a -t {vip} -r 172.16.{}.{}:80 -m -w 1\n",
                s % 250,
                1 + d
            ));
        }
    }
    input
}

fn line_by_line(input: &str) -> usize {
    let mut requests = Vec::new();
    for line in input.lines() {
        let argv: Vec<&str> = std::iter::once("ipvsadm")
            .chain(line.split_whitespace())
            .collect();
        if let Ok(Parsed::Run(inv)) = cli::parse(&argv, true) {
            requests.extend(request::change(&inv));
        }
    }
    requests.len()
}

fn bench(c: &mut Criterion) {
    let input = lab_input();
    assert_eq!(
        restore::validate("ipvsadm", &input).unwrap().requests.len(),
        11_000
    );
    assert_eq!(line_by_line(&input), 11_000);
    let mut group = c.benchmark_group("ipvsctl restore check 11,000 lines");
    group.bench_function("restore::validate", |b| {
        b.iter(|| black_box(restore::validate("ipvsadm", black_box(&input))).is_ok())
    });
    group.bench_function("baseline: cli::parse per line", |b| {
        b.iter(|| line_by_line(black_box(&input)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
