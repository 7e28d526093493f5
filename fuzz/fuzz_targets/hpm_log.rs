//! hpm-frame's `watt.txt` reader on arbitrary bytes: it must never panic, read to
//! the end whatever the damage, number lines within the input, and give the same
//! items whatever the reader's buffer size.
#![no_main]

use std::io::BufReader;

use hpm_frame::LogReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count() as u64;
    let whole: Vec<String> = LogReader::new(data)
        .map(|item| match item {
            Ok(r) => {
                assert!(r.line >= 1 && r.line <= lines);
                format!("{} {} {}", r.line, r.time, r.frame)
            }
            Err(e) => {
                assert!(e.line() >= 1 && e.line() <= lines);
                e.to_string()
            }
        })
        .collect();
    let small: Vec<String> = LogReader::new(BufReader::with_capacity(3, data))
        .map(|item| match item {
            Ok(r) => format!("{} {} {}", r.line, r.time, r.frame),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(whole, small);
});
