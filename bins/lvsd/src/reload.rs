//! `lvsd reload`: asks the running daemon to read its file again.
use std::path::PathBuf;
use std::process::ExitCode;

use crate::daemon::control;
use crate::run::DEFAULT_SOCKET;

/// Arguments of `lvsd reload`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
}

/// Exit status when the daemon refused the new file.
pub const REFUSED: u8 = 2;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let answer = control::ask(&args.socket, "reload")?;
    if answer["ok"] == true {
        println!("{}", answer["message"].as_str().unwrap_or("reloaded"));
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{}", answer["error"].as_str().unwrap_or("reload refused"));
        Ok(ExitCode::from(REFUSED))
    }
}
