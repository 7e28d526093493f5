//! `cargo xtask`: the project's automation, in plain Rust instead of shell scripts.
//!
//! Run `cargo xtask help` for the list of tasks.
use std::process::ExitCode;

mod ci;
mod util;

const HELP: &str = "\
cargo xtask <TASK>

Tasks:
  ci          every check CI runs: host packages, fmt, clippy, tests, docs, fuzz and
              bench compilation
  help        this text
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    match task {
        "ci" => ci::run(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => anyhow::bail!("unknown task `{other}`; expected one of: ci, help"),
    }
}
