//! `lvs-agent`: the LVS real server. Glue only: the command line (clap), one module
//! per subcommand. See the README.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod serve;
mod setup;

/// The LVS real server.
#[derive(Debug, Parser)]
#[command(name = "lvs-agent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Give this host the real server's network settings for NAT, DR or TUN
    /// (VIP on lo, ARP sysctls, tunl0, gateway); --dry-run, --check, --undo.
    Setup(setup::Args),
    /// Answer HAProxy's agent-check protocol with this server's spare
    /// capacity (CPU, a cgroup's quota or a site command; drain file).
    Serve(serve::Args),
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lvs-agent: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Setup(args) => Ok(setup::run(&args)),
        Command::Serve(args) => serve::run(args),
    }
}
