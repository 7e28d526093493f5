//! Asks an agent once, as HAProxy's agent-check does, and prints what the
//! answer sets.
//!
//! ```text
//! $ cargo run -p lvs-agent --example ask -- 127.0.0.1:3333
//! up ready 87%
//! ```
//!
//! Exit status 2 when the agent cannot be reached or its answer not read.
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use lvs_feedback::Report;

fn ask(addr: &str) -> Result<Report, String> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?}: expected ADDR:PORT"))?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| format!("{addr}: {e}"))?;
    Report::read_from(stream).map_err(|e| format!("{addr}: {e}"))
}

fn main() -> ExitCode {
    let Some(addr) = std::env::args().nth(1) else {
        eprintln!("usage: ask ADDR:PORT");
        return ExitCode::from(2);
    };
    match ask(&addr) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ask: {e}");
            ExitCode::from(2)
        }
    }
}
