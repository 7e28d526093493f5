//! `lvsd`: a declarative IPVS director; see the crate README.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod daemon;
mod reload;
mod run;
mod setup;
mod status;

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
    /// Give this host the director's network settings for NAT, DR or TUN
    /// (VIPs, ip_forward): exit 0, 1 when --check finds differences, 2 on errors.
    Setup(setup::Args),
    /// Run the director in the foreground: adopt the kernel's table, apply the file, keep it true.
    Run(run::Args),
    /// Show the running daemon's services and real servers.
    Status(status::Args),
    /// Make the running daemon read its file again (as SIGHUP does).
    Reload(reload::Args),
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
        Command::Setup(args) => Ok(setup::run(&args)),
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::run(args),
        Command::Reload(args) => reload::run(args),
    }
}
