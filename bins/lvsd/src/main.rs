//! `lvsd`: a declarative IPVS director; see the crate README.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;

/// A declarative IPVS director.
#[derive(Debug, Parser)]
#[command(name = "lvsd", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a configuration file: exit 0, or 2 with every error as FILE:LINE:COLUMN.
    Check(check::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("lvsd: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
    }
}
