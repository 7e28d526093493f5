//! `lvs-agent setup`: a real server's network settings, through lvs-net.
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser, ValueEnum};
use lvs_net::setup::{Action, run as run_setup};
use lvs_net::{Mode, Params, StateFile, Vip};

/// `lvs-agent setup` arguments.
#[derive(Debug, Parser)]
#[command(group(ArgGroup::new("action").args(["dry_run", "check", "undo"])))]
pub struct Args {
    /// The forwarding method of the service.
    #[arg(long, value_enum, required_unless_present = "undo")]
    mode: Option<ModeArg>,
    /// DR and TUN: a virtual address, put on lo (ADDR is a host address; ADDR/PREFIX too); repeatable.
    #[arg(long = "vip", value_name = "ADDR", value_parser = parse_vip)]
    vips: Vec<Vip>,
    /// NAT: the director's address on this side, the new default gateway.
    #[arg(long, value_name = "DIP")]
    gateway: Option<IpAddr>,
    /// Print the plan as `ip`/`sysctl` commands and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Compare the system with the plan: exit 0 when it matches, 1 with one line per difference.
    #[arg(long)]
    check: bool,
    /// Reverse what earlier set-ups changed (from the state file), and nothing else.
    #[arg(long)]
    undo: bool,
    /// Where the record of changes is kept (one directory per host).
    #[arg(long, value_name = "DIR", default_value = lvs_net::DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Nat,
    Dr,
    Tun,
}

fn parse_vip(s: &str) -> Result<Vip, String> {
    s.parse().map_err(|e: lvs_net::Error| e.to_string())
}

/// Runs it: 0 done (or in place), 1 `--check` found differences, 2 error
/// (nothing changed).
pub fn run(args: &Args) -> ExitCode {
    let mode = match args.mode {
        Some(ModeArg::Nat) => Mode::Nat,
        Some(ModeArg::Dr) => Mode::Dr,
        Some(ModeArg::Tun) | None => Mode::Tun,
    };
    let params = Params::real_server(mode, args.vips.clone(), args.gateway);
    let action = if args.dry_run {
        Action::DryRun
    } else if args.check {
        Action::Check
    } else if args.undo {
        Action::Undo
    } else {
        Action::Apply
    };
    let state = StateFile::new(&args.state_dir, "lvs-agent");
    match run_setup(&params, action, &state) {
        Ok(outcome) => {
            print!("{}", outcome.report("lvs-agent", &state));
            if outcome.success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("lvs-agent: error: {e}");
            ExitCode::from(2)
        }
    }
}
