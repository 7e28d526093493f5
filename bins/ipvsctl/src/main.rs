//! `ipvsctl`: a drop-in `ipvsadm`; see the crate README.
use std::process::ExitCode;

use ipvsctl::app;
use ipvsctl::failure::{self, Failure};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    match run(&argv) {
        Ok(code) => code,
        Err(err) => match err.downcast_ref::<Failure>() {
            // ipvsadm's exact text and status.
            Some(failure) => {
                eprint!("{}", failure.message);
                ExitCode::from(failure.status)
            }
            None => {
                eprintln!("ipvsctl: {err:#}");
                ExitCode::from(failure::KERNEL_FAILURE)
            }
        },
    }
}

fn run(argv: &[String]) -> anyhow::Result<ExitCode> {
    app::run(argv)
}
