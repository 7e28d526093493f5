//! `com`: see the workspace README.
//!
//! The binary is wired up by its own issue; until then it says so and fails.
use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("com: not built yet");
    ExitCode::from(1)
}
