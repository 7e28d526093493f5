//! lvs-director at a large director's scale: 1,000 services x 10 real
//! servers. What `lvsd` pays at start (parse the file, compute the wanted
//! table, diff against an empty kernel table) and every second in steady
//! state (diff against a kernel table that already matches: no change).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ipvs_proto::Stats;
use lvs_director::{config, diff, health};

fn file() -> String {
    let mut text = String::new();
    for s in 0..1000u32 {
        let _ = write!(
            text,
            "[[service]]\naddress = \"10.{}.{}.1:80\"\nscheduler = \"wrr\"\n[service.check]\ntype = \"http\"\npath = \"/health\"\n",
            s / 250,
            s % 250
        );
        for r in 0..10u32 {
            let _ = write!(
                text,
                "[[service.real]]\naddress = \"10.100.{}.{}:80\"\nweight = {}\n",
                s % 250,
                r + 2,
                r + 1
            );
        }
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = file();
    let parsed = config::parse(&text, "bench.toml").unwrap();
    assert_eq!(parsed.services.len(), 1000);
    let up = |_: &ipvs_proto::ServiceKey, _| health::Health::new(true);
    let wanted = health::desired(&parsed, &up, &[]);
    // The kernel's table once it matches: counters and HASHED as listed.
    let mut kernel = wanted.services.clone();
    for s in &mut kernel {
        s.service.flags |= ipvs_proto::ServiceFlags::HASHED;
        s.service.stats = Some(Stats::default());
        for d in &mut s.destinations {
            d.stats = Some(Stats::default());
        }
    }
    assert_eq!(diff::diff(&wanted, &[], &|_, _| true).changes.len(), 11_000);
    assert!(
        diff::diff(&wanted, &kernel, &|_, _| true)
            .changes
            .is_empty()
    );

    let mut group = c.benchmark_group("lvs-director 1,000 services x 10 real servers");
    group.sample_size(20);
    group.bench_function("config::parse (36,000 lines)", |b| {
        b.iter(|| black_box(config::parse(black_box(&text), "bench.toml")).is_ok())
    });
    group.bench_function("health::desired", |b| {
        b.iter(|| {
            black_box(health::desired(black_box(&parsed), &up, &[]))
                .services
                .len()
        })
    });
    group.bench_function("diff from an empty table (11,000 changes)", |b| {
        b.iter(|| {
            black_box(diff::diff(black_box(&wanted), &[], &|_, _| true))
                .changes
                .len()
        })
    });
    group.bench_function("diff in steady state (no change)", |b| {
        b.iter(|| {
            black_box(diff::diff(
                black_box(&wanted),
                black_box(&kernel),
                &|_, _| true,
            ))
            .changes
            .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
