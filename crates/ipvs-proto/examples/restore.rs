//! Restores a table from standard input in one pipelined batch, as
//! `ipvsadm -R` does, for the two rules of a saved TCP table
//! (`ipvsadm -S -n` writes them):
//!
//! ```text
//! -A -t 10.0.0.1:80 -s wrr
//! -a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 3
//! ```
//!
//! ```text
//! sudo cargo run -p ipvs-proto --example restore < table.txt
//! ```
//!
//! Every request gets its own answer; a refused one is reported with its line
//! and the others still run (`Client::batch`).
use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;

use ipvs_proto::{Client, Destination, Forwarding, Request, Service, ServiceKey};

/// One rule: `-A -t VIP -s SCHED` or `-a -t VIP -r REAL [-m|-g|-i] [-w N]`.
fn parse(line: &str) -> Result<Request, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let value = |flag: &str| {
        let at = words.iter().position(|w| *w == flag)?;
        words.get(at + 1).copied()
    };
    let address = |flag: &str| -> Result<SocketAddr, String> {
        let text = value(flag).ok_or(format!("{flag} ADDRESS:PORT missing"))?;
        text.parse()
            .map_err(|_| format!("{text}: not ADDRESS:PORT"))
    };
    let key = ServiceKey::tcp(address("-t")?);
    match words.first() {
        Some(&"-A") => Ok(Request::add_service(&Service::new(
            key,
            value("-s").unwrap_or("wlc"),
        ))),
        Some(&"-a") => {
            let forwarding = if words.contains(&"-m") {
                Forwarding::Masq
            } else if words.contains(&"-i") {
                Forwarding::Tunnel
            } else {
                Forwarding::DirectRoute
            };
            let weight = value("-w")
                .map_or(Ok(1), str::parse)
                .map_err(|e| format!("-w: {e}"))?;
            let destination = Destination::new(address("-r")?, forwarding, weight);
            Ok(Request::add_destination(&key, &destination))
        }
        _ => Err("expected -A or -a".into()),
    }
}

fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("restore: standard input: {e}");
        return ExitCode::FAILURE;
    }
    let mut requests = Vec::new();
    let mut lines = Vec::new();
    for (number, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match parse(line) {
            Ok(request) => {
                requests.push(request);
                lines.push(number + 1);
            }
            Err(e) => {
                // Nothing is sent when a line is wrong.
                eprintln!("restore: line {}: {e}", number + 1);
                return ExitCode::from(2);
            }
        }
    }
    let results = Client::connect().and_then(|mut client| client.batch(&requests));
    let results = match results {
        Ok(results) => results,
        Err(e) => {
            eprintln!("restore: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = 0;
    for (line, result) in lines.iter().zip(results) {
        if let Err(error) = result {
            eprintln!("restore: line {line}: {error}");
            failed += 1;
        }
    }
    println!("{} rule(s), {failed} refused", requests.len());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
