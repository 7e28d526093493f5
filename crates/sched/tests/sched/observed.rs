//! Every sequence observed on the live kernel (`data/kernel-sched-observed.md`,
//! a copy of the lab's notes: Debian 6.1.0-56, overhead "current") must come
//! out of the scheduler unchanged.

use sched::{Destination, Scheduler, Service};

const NOTES: &str = include_str!("data/kernel-sched-observed.md");

#[derive(Debug)]
struct Row {
    scheduler: Scheduler,
    weights: Vec<i32>,
    picks: usize,
    incremental: bool,
    expected: Vec<usize>,
}

/// The rows of the "Observed sequences" table, e.g.
/// `| wrr 4,3,2 × 27 | add one by one | 0 1 2 ... |`.
fn rows() -> Vec<Row> {
    let table = NOTES
        .split("## Observed sequences")
        .nth(1)
        .expect("the notes have an observed-sequences section");
    table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| scheduler"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 3, "row {line:?}");
            let mut head = cells[0].split_whitespace();
            let scheduler = head.next().unwrap().parse().unwrap();
            let weights = head
                .next()
                .unwrap()
                .split(',')
                .map(|w| w.parse().unwrap())
                .collect();
            assert_eq!(head.next(), Some("×"));
            let picks = head.next().unwrap().parse().unwrap();
            let incremental = match cells[1] {
                "add one by one" => true,
                "re-bound after adds" => false,
                other => panic!("unknown build mode {other:?}"),
            };
            let expected = cells[2]
                .split_whitespace()
                .map(|i| i.parse().unwrap())
                .collect();
            Row {
                scheduler,
                weights,
                picks,
                incremental,
                expected,
            }
        })
        .collect()
}

fn build(scheduler: Scheduler, weights: &[i32], incremental: bool) -> Service {
    let dests = weights.iter().map(|&w| Destination::new(w));
    if incremental {
        Service::incremental(scheduler, dests.collect::<Vec<_>>()).unwrap()
    } else {
        Service::with_destinations(scheduler, dests).unwrap()
    }
}

#[test]
fn every_observed_row_is_parsed() {
    let rows = rows();
    assert_eq!(rows.len(), 11);
    for row in &rows {
        assert_eq!(row.expected.len(), row.picks, "{row:?}");
    }
}

#[test]
fn observed_kernel_sequences_with_established_connections() {
    for row in rows() {
        let mut svc = build(row.scheduler, &row.weights, row.incremental);
        let got: Vec<usize> = (0..row.picks)
            .map(|_| svc.pick_and_connect().unwrap().expect("a pick"))
            .collect();
        assert_eq!(got, row.expected, "{row:?}");
    }
}

#[test]
fn observed_sed_and_nq_with_inactive_connections_keep_index_0() {
    for scheduler in [Scheduler::Sed, Scheduler::Nq] {
        let mut svc = build(scheduler, &[3, 1, 2], true);
        for _ in 0..20 {
            let i = svc.pick().unwrap();
            assert_eq!(i, 0, "{scheduler}");
            svc.connect_inactive(i).unwrap();
        }
        assert_eq!(svc.destinations()[0].inactive(), 20);
    }
}
