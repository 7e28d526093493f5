//! Reads agent answers as HAProxy would and prints their canonical form.
//!
//! ```text
//! $ cargo run -p lvs-feedback --example agent_line -- 'UP, 75%' 'drain # upgrade' 'weight:3'
//! "UP, 75%": up 75%
//! "drain # upgrade": drain # upgrade
//! "weight:3":  (ignored: weight:3)
//! ```
//!
//! Each argument is one line (a line end is added). Exit status 2 when an
//! argument cannot be read at all (a NUL byte, too long).
use std::process::ExitCode;

use lvs_feedback::Report;

fn main() -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for arg in std::env::args().skip(1) {
        match Report::parse(format!("{arg}\n").as_bytes()) {
            Ok(r) if r.ignored.is_empty() => println!("{arg:?}: {r}"),
            Ok(r) => println!("{arg:?}: {r} (ignored: {})", r.ignored.join(" ")),
            Err(e) => {
                eprintln!("agent_line: {arg:?}: {e}");
                status = ExitCode::from(2);
            }
        }
    }
    status
}
