//! `lvsd check --config FILE`.
use std::path::PathBuf;
use std::process::ExitCode;

use lvs_director::config::{self, LoadError};

/// Arguments of `lvsd check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
}

/// Exit status for a file with errors.
pub const INVALID: u8 = 2;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match config::load(&args.config) {
        Ok(config) => {
            let reals: usize = config.services.iter().map(|s| s.reals.len()).sum();
            println!(
                "{}: ok ({} services, {} real servers)",
                args.config.display(),
                config.services.len(),
                reals
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(LoadError::Invalid(errors)) => {
            eprintln!("{errors}");
            Ok(ExitCode::from(INVALID))
        }
        Err(error @ LoadError::Read { .. }) => {
            eprintln!("lvsd: {error}");
            Ok(ExitCode::from(INVALID))
        }
    }
}
