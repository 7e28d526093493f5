//! `cargo xtask`: the project's automation, in plain Rust instead of shell scripts.
//!
//! Run `cargo xtask help` for the list of tasks.
use std::process::ExitCode;

mod bench_pty;
mod ci;
mod com_docs;
mod fnlen;
mod kernel_lab;
mod modgraph;
mod tidy;
mod util;

const HELP: &str = "\
cargo xtask <TASK>

Tasks:
  bench-pty   com against socat bridging 100 MB through a pty, both directions
              ([--mb N] [--runs R])
  com-docs    com's man page and bash/zsh/fish completions into [DIR]
              (default target/com-docs)
  ci          every check CI runs: host packages, fmt, clippy, tests, docs, fuzz and
              bench compilation, then the kernel lab
  kernel-lab  the guest suites against a real IPVS kernel under qemu
              (`cargo xtask kernel-lab --help`; docs/kernel-lab.md)
  tidy        the architecture rules, checked from cargo metadata (halves apart,
              libraries above binaries, one netlink family per crate, READMEs
              with compiled examples)
  help        this text
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            // The kernel lab exits with the guest suites' own status.
            match err.downcast_ref::<kernel_lab::GuestTestsFailed>() {
                Some(failed) => ExitCode::from(u8::try_from(failed.code).unwrap_or(1).max(1)),
                None => ExitCode::FAILURE,
            }
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
        "bench-pty" => bench_pty::run(rest),
        "ci" => ci::run(rest),
        "com-docs" => com_docs::run(rest),
        "kernel-lab" => kernel_lab::run(rest),
        "tidy" => tidy::run(rest),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => anyhow::bail!(
            "unknown task `{other}`; expected one of: bench-pty, ci, com-docs, kernel-lab, tidy, help"
        ),
    }
}
