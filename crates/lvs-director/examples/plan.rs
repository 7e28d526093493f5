//! Prints the changes a configuration file asks for against an empty table.
//!
//! `cargo run -p lvs-director --example plan -- lvsd.toml`

use std::process::ExitCode;

use lvs_director::{config, diff, health};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: plan FILE");
        return ExitCode::from(2);
    };
    let config = match config::load(path.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let wanted = health::desired(&config, &|_, _| health::Health::new(true), &[]);
    for change in diff::diff(&wanted, &[], &|_, _| true).changes {
        println!("{change}");
    }
    ExitCode::SUCCESS
}
