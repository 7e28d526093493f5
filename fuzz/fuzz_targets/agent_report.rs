//! Arbitrary bytes as an agent's answer (HAProxy's agent-check protocol),
//! read by the director: reading never panics, and what reads as a report
//! prints in a form that reads back to the same report.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvs_feedback::Report;

fuzz_target!(|data: &[u8]| {
    let Ok(report) = Report::parse(data) else {
        return;
    };
    let printed = format!("{report}\n");
    let again = Report::parse(printed.as_bytes()).expect("a printed report reads");
    assert_eq!(
        again,
        Report {
            ignored: Vec::new(),
            ..report
        }
    );
    let _ = Report::read_from(data);
});
