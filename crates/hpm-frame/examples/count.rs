//! Counts the frames in a raw capture of the meter's stream (`raw`, fed to a
//! `StreamDecoder` in 64 KiB chunks as reads would deliver them) or in a
//! `watt.txt`/`rfc3339` log (`log`, read by `LogReader`), and the damaged
//! records of a log.
//!
//! ```text
//! cargo run --release -p hpm-frame --example count -- raw capture.bin
//! cargo run --release -p hpm-frame --example count -- log watt.txt
//! ```
//!
//! The decoding loops and nothing else, so `valgrind --tool=callgrind` on it
//! counts the instructions the decoder spends per byte, whatever the load of
//! the machine (docs/performance.md, "hpm-frame").
use std::process::ExitCode;

use hpm_frame::{LogReader, StreamDecoder};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [kind, path] = args.as_slice() else {
        eprintln!("usage: count raw|log FILE");
        return ExitCode::from(2);
    };
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("count: {path}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match kind.as_str() {
        "raw" => {
            let mut decoder = StreamDecoder::new();
            let mut frames = 0u64;
            for chunk in data.chunks(64 * 1024) {
                decoder.feed(chunk, |_frame| frames += 1);
            }
            decoder.finish();
            println!(
                "{frames} frames, {} bytes skipped",
                decoder.stats().skipped_bytes
            );
        }
        "log" => {
            let (mut frames, mut damaged) = (0u64, 0u64);
            for record in LogReader::new(data.as_slice()) {
                match record {
                    Ok(_) => frames += 1,
                    Err(_) => damaged += 1,
                }
            }
            println!("{frames} frames, {damaged} damaged records");
        }
        other => {
            eprintln!("count: {other:?}: expected raw or log");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
