//! `ipvsctl`: a drop-in `ipvsadm`; see the crate README.
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    ipvsctl::internals::app::main(&argv)
}
