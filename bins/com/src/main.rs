//! `com`: a serial terminal that logs instruments without losing a byte.
//!
//! Glue: the command line (clap), then `tty` for the port and the terminal,
//! `hpm-frame` for the meter's frames. See the README for the behaviour.
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use time::UtcOffset;

mod cli;
mod decode;
mod demo;
mod keys;
mod list;
mod log;
mod session;

use cli::{Cli, Command};

/// An error that carries its exit code (see `cli::EXIT_CODES`).
#[derive(Debug)]
pub struct Coded {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Coded {
    pub fn new(code: u8, error: anyhow::Error) -> Coded {
        Coded { code, error }
    }
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&report(&self.error))
    }
}

/// An error and its causes on one line, each cause once: library errors often
/// name their cause in their own message already.
fn report(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

impl std::error::Error for Coded {}

fn main() -> ExitCode {
    // The local UTC offset, read once while the process has a single thread (the
    // `time` crate refuses it later, and the demo starts a thread).
    let offset = UtcOffset::current_local_offset();
    let matches = Cli::command().get_matches();
    let speed_given = matches.value_source("speed") == Some(ValueSource::CommandLine);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    match run(cli, speed_given, offset) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let code = err.downcast_ref::<Coded>().map_or(1, |c| c.code);
            eprintln!("com: error: {}", report(&err));
            ExitCode::from(code)
        }
    }
}

fn run(
    cli: Cli,
    speed_given: bool,
    offset: Result<UtcOffset, time::error::IndeterminateOffset>,
) -> anyhow::Result<u8> {
    let offset = offset.unwrap_or_else(|_| {
        eprintln!("com: warning: the local UTC offset is unknown; timestamps are in UTC");
        UtcOffset::UTC
    });
    if let Some(command) = &cli.command {
        return match command {
            Command::Decode {
                file,
                format,
                out,
                utc_offset,
                keep_suspect,
                suspect_margin,
                columns,
                quiet,
            } => {
                let job = decode::Convert {
                    input: file.as_deref(),
                    format: *format,
                    out: out.as_deref(),
                    offset: utc_offset.unwrap_or(offset),
                    keep_suspect: *keep_suspect,
                    quiet: *quiet,
                    columns: columns.as_deref(),
                    margin: suspect_margin / 100.0,
                };
                let name = match file.as_deref() {
                    Some(p) if p != std::path::Path::new("-") => p.display().to_string(),
                    _ => "stdin".to_string(),
                };
                if let Some(summary) = decode::convert(&job)? {
                    eprintln!("com decode: {name}: {summary}");
                }
                Ok(0)
            }
            Command::Simulate { interval, count } => simulate(*interval, *count),
        };
    }
    if cli.list {
        print!("{}", list::render(&list::devices()));
        return Ok(0);
    }

    let mut demo = None;
    let device = if cli.demo {
        let (path, stop, handle) = demo::spawn(seconds(cli.demo_interval)?)?;
        eprintln!(
            "com: demo: a simulated HPM-100A is sending on {} (9600 8N1)",
            path.display()
        );
        demo = Some((stop, handle));
        path
    } else {
        cli.device.clone().context("no device given")?
    };
    let config = session::Config {
        device,
        settings: tty::Settings {
            baud: cli.speed,
            framing: cli.framing,
            flow: cli.flow,
        },
        mode: tty::OpenMode {
            exclusive: !cli.shared,
            ..tty::OpenMode::default()
        },
        keys: keys::KeyMap {
            exit: cli.exit_key,
            status: cli.status_key,
            menu: cli.menu_key,
        },
        reconnect: cli.reconnect,
        no_input: cli.no_input,
        linger: Duration::from_millis(cli.linger),
        quiet: cli.quiet,
        speed_given,
    };
    let log = match &cli.log {
        Some(path) => Some(log::Log::open(
            path,
            cli.log_format,
            offset,
            cli.fsync,
            log::system_clock(),
        )?),
        None => None,
    };
    let records = match cli.decode {
        Some(format) => {
            let interactive = !cli.no_input
                && std::io::IsTerminal::is_terminal(&std::io::stdin())
                && std::io::IsTerminal::is_terminal(&std::io::stdout());
            if interactive && cli.out.is_none() {
                return Err(Coded::new(
                    2,
                    anyhow::anyhow!(
                        "--decode in interactive mode needs --out FILE (the terminal shows the raw stream)"
                    ),
                )
                .into());
            }
            Some(decode::LiveRecords::new(
                format,
                cli.out.as_deref(),
                offset,
                cli.keep_suspect,
            )?)
        }
        None => None,
    };
    let show_raw = records.as_ref().is_none_or(|r| !r.replaces_output());
    let hooks = session::ComHooks {
        log,
        records,
        tally: decode::Tally::default(),
        shows_on_terminal: false,
        show_raw,
        keys: None,
        say: session::Say {
            raw: false,
            quiet: cli.quiet,
        },
    };
    let result = session::run(&config, hooks);
    if let Some((stop, handle)) = demo {
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = handle.join();
    }
    result
}

fn seconds(value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Coded::new(
                2,
                anyhow::anyhow!("invalid interval {value}: expected a positive number of seconds"),
            )
            .into()
        })
}

/// `com simulate`: print the pty path, then send frames until killed.
fn simulate(interval: f64, count: Option<u64>) -> anyhow::Result<u8> {
    use std::io::Write;
    let interval = seconds(interval)?;
    let simulator = demo::Simulator::new()?;
    let path: PathBuf = simulator.path().clone();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", path.display()).context("writing the pty path")?;
    stdout.flush().context("writing the pty path")?;
    drop(stdout);
    let stop = std::sync::atomic::AtomicBool::new(false);
    simulator
        .run(interval, count, &stop)
        .context("running the simulated meter")?;
    Ok(0)
}
