//! ipvsctl: checking the lab's restore input (1,000 services x 10
//! destinations, 11,000 lines) into requests, as `ipvsctl -R` does before it
//! talks to the kernel (`restore::validate`), against the baseline of the
//! same lines through the general entry, one at a time (`cli::parse` with an
//! argument vector and a boxed entry per line, then `request::change`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ipvsctl::internals::cli::{self, Parsed};
use ipvsctl::internals::{request, restore};

/// The input of the kernel lab's timed restore, from the lab test's own file.
#[path = "../../bins/ipvsctl/tests/support/lab_restore.rs"]
mod lab_restore;
use lab_restore::lab_restore_input as lab_input;

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
