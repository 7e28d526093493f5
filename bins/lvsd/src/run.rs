//! `lvsd run --config FILE`: the director in the foreground.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::daemon::{self, Options};

/// The control socket's default path.
pub const DEFAULT_SOCKET: &str = "/run/lvsd/lvsd.sock";

/// Arguments of `lvsd run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// The control socket (for `lvsd status` and `lvsd reload`).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Where to serve Prometheus metrics (`/metrics`); `off` serves none.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9816", value_parser = parse_metrics)]
    metrics: MetricsAddr,
}

#[derive(Debug, Clone, Copy)]
struct MetricsAddr(Option<SocketAddr>);

fn parse_metrics(text: &str) -> Result<MetricsAddr, String> {
    if text == "off" {
        return Ok(MetricsAddr(None));
    }
    text.parse()
        .map(|a| MetricsAddr(Some(a)))
        .map_err(|_| format!("{text:?} is not ADDRESS:PORT or off"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    daemon::run(Options {
        config: args.config,
        socket: args.socket,
        metrics: args.metrics.0,
    })
}
