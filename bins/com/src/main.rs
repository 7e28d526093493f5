//! `com`: a serial terminal that logs instruments without losing a byte.
//!
//! Glue: the command line (clap), then `tty` for the port and the terminal,
//! `hpm-frame` for the meter's frames. See the README for the behaviour.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

mod cli;
mod decode;
mod demo;
mod display;
mod exit;
mod generate;
mod keys;
mod list;
mod live;
mod log;
mod metrics;
mod plot_cmd;
mod profile;
mod session;
mod stats;
mod zone;

use cli::{Cli, Command};
use exit::Exit;
use zone::Zone;

fn main() -> ExitCode {
    let args = match profile::expand(std::env::args_os().collect()) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("com: error: {err}");
            return ExitCode::from(Exit::Usage.code());
        }
    };
    let matches = Cli::command().get_matches_from(args);
    let speed_given = matches.value_source("speed") == Some(ValueSource::CommandLine);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    match run(cli, speed_given) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            eprintln!("com: error: {}", exit::report(&err));
            ExitCode::from(Exit::of(&err).code())
        }
    }
}

/// The zone given, else the system's (warning when it is unknown).
fn zone_or_system(given: Option<&Zone>) -> Zone {
    if let Some(zone) = given {
        return zone.clone();
    }
    let (zone, known) = Zone::system();
    if !known {
        eprintln!("com: warning: the system's time zone is unknown; local times are in UTC");
    }
    zone
}

fn run(cli: Cli, speed_given: bool) -> anyhow::Result<Exit> {
    if let Some(command) = &cli.command {
        return match command {
            Command::Decode {
                file,
                format,
                out,
                tz,
                utc_offset,
                keep_suspect,
                suspect_margin,
                columns,
                quiet,
                influx,
                start,
                interval,
            } => {
                let start = match (start, interval) {
                    (Some(t), Some(step)) => Some((
                        *t,
                        time::Duration::seconds_f64(seconds(*step)?.as_secs_f64()),
                    )),
                    _ => None,
                };
                let job = decode::Convert {
                    input: file.as_deref(),
                    format: *format,
                    out: out.as_deref(),
                    zone: match utc_offset {
                        Some(o) => Zone::fixed(*o),
                        None => zone_or_system(tz.as_ref()),
                    },
                    keep_suspect: *keep_suspect,
                    quiet: *quiet,
                    columns: columns.as_deref(),
                    margin: suspect_margin / 100.0,
                    influx: influx.clone(),
                    start,
                };
                let name = match file.as_deref() {
                    Some(p) if p != std::path::Path::new("-") => p.display().to_string(),
                    _ => "stdin".to_string(),
                };
                if let Some(summary) = decode::convert(&job)? {
                    eprintln!("com decode: {name}: {summary}");
                }
                Ok(Exit::Done)
            }
            Command::Simulate {
                interval,
                count,
                sim,
            } => simulate(*interval, *count, *sim),
            Command::Stats(args) => {
                let zone = zone_or_system(args.tz.as_ref());
                stats::run(args, &|local, after| zone.resolve(local, after).time())
            }
            Command::Generate { what } => generate::run(*what),
            Command::Plot { args, tz } => plot_cmd::run(args, &zone_or_system(tz.as_ref())),
        };
    }
    if cli.list {
        print!("{}", list::render(&list::devices()));
        return Ok(Exit::Done);
    }

    check_keys(&cli)?;
    if let (Some(log), Some(out)) = (&cli.log, &cli.out)
        && same_path(log, out)
    {
        return Err(Exit::Usage.because(anyhow::anyhow!(
            "--log {} and --out {} are one file: raw bytes and records would be mixed",
            log.display(),
            out.display()
        )));
    }
    let interactive = !cli.no_input
        && std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::io::IsTerminal::is_terminal(&std::io::stdout());
    if cli.decode.is_some() && interactive && cli.out.is_none() {
        return Err(Exit::Usage.because(anyhow::anyhow!(
            "--decode in interactive mode needs --out FILE (the terminal shows the raw stream)"
        )));
    }

    let mut demo = None;
    let device = if cli.demo {
        let (path, stop, handle) = demo::spawn(seconds(cli.demo_interval)?, cli.sim)?;
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
    let mut live_metrics = None;
    if let Some(addr) = cli.metrics {
        let (m, registry) = metrics::Metrics::new(&config.device.display().to_string());
        let bound = metrics::serve(addr, registry, m.lock())?;
        if !cli.quiet {
            eprintln!("com: metrics at http://{bound}/metrics");
        }
        live_metrics = Some(m);
    }
    let zone = zone_or_system(cli.tz.as_ref());
    // The log and the records file are created only once the device is open.
    let watt_log = cli.log.is_some() && cli.log_format == log::LogFormat::Watt;
    let make_hooks = || -> anyhow::Result<session::ComHooks> {
        let log = match &cli.log {
            Some(path) => Some(log::Log::open(
                path,
                cli.log_format,
                zone.clone(),
                cli.fsync,
                log::system_clock(),
            )?),
            None => None,
        };
        let records = match cli.decode {
            Some(format) => Some(decode::LiveRecords::new(
                format,
                cli.out.as_deref(),
                zone.clone(),
                cli.keep_suspect,
                &cli.influx,
                watt_log,
            )?),
            None => None,
        };
        let show_raw = records.as_ref().is_none_or(|r| !r.replaces_output());
        Ok(session::ComHooks {
            log,
            records,
            tally: decode::Tally::new(watt_log),
            live: live::Live::new(live_metrics.take()),
            display: display::Display::new(
                cli.timestamp_format.or(cli.timestamp),
                cli.hex,
                cli.map.iter().chain(&cli.imap).copied().collect(),
                {
                    let zone = zone.clone();
                    Box::new(move |t| zone.local(t))
                },
                interactive,
            ),
            out_flags: cli.map.iter().chain(&cli.omap).copied().collect(),
            echo: cli.local_echo,
            hex_input: cli.hex_input.then(display::HexInput::default),
            settings: settings_text(&cli, &config),
            shows_on_terminal: false,
            show_raw,
            keys: None,
            say: session::Say {
                raw: false,
                quiet: cli.quiet,
            },
        })
    };
    let result = session::run(&config, make_hooks);
    if let Some((stop, handle)) = demo {
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = handle.join();
    }
    result
}

/// What Ctrl-T c shows.
fn settings_text(cli: &Cli, config: &session::Config) -> String {
    let flags: Vec<&str> = cli
        .map
        .iter()
        .chain(&cli.imap)
        .chain(&cli.omap)
        .map(|f| f.name())
        .collect();
    let mut text = format!(
        "[SETTINGS]: {} {} {} flow {}\r\n",
        config.device.display(),
        config.settings.baud,
        config.settings.framing,
        config.settings.flow
    );
    let mut line = |k: &str, v: String| text.push_str(&format!("  {k:<10} {v}\r\n"));
    line(
        "log",
        cli.log.as_ref().map_or("none".to_string(), |p| {
            format!("{} ({:?})", p.display(), cli.log_format)
        }),
    );
    line(
        "timestamp",
        cli.timestamp_format
            .or(cli.timestamp)
            .and_then(|s| clap::ValueEnum::to_possible_value(&s))
            .map_or("off".to_string(), |v| v.get_name().to_string()),
    );
    line("hex", if cli.hex { "on" } else { "off" }.to_string());
    line(
        "maps",
        if flags.is_empty() {
            "none".to_string()
        } else {
            flags.join(",")
        },
    );
    line(
        "metrics",
        cli.metrics
            .map_or("off".to_string(), |a| format!("http://{a}/metrics")),
    );
    text
}

/// Two keys that are one byte would make one of them unreachable.
fn check_keys(cli: &Cli) -> anyhow::Result<()> {
    let keys = [
        ("--exit-key", cli.exit_key),
        ("--status-key", cli.status_key),
        ("--menu-key", cli.menu_key),
    ];
    for (i, (a, ka)) in keys.iter().enumerate() {
        for (b, kb) in &keys[i + 1..] {
            if ka.0.is_some() && ka.0 == kb.0 {
                return Err(Exit::Usage.because(anyhow::anyhow!(
                    "{a} and {b} are both {ka}: give them different keys"
                )));
            }
        }
    }
    Ok(())
}

/// Whether two paths name one file: the same file if both exist (through any
/// link), else the same place once made absolute.
fn same_path(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return ma.dev() == mb.dev() && ma.ino() == mb.ino();
    }
    let place = |p: &std::path::Path| -> Option<PathBuf> {
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
    };
    matches!((place(a), place(b)), (Some(x), Some(y)) if x == y)
}

fn seconds(value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Exit::Usage.because(anyhow::anyhow!(
                "invalid interval {value}: expected a positive number of seconds"
            ))
        })
}

/// `com simulate`: print the pty path, then send frames until killed.
fn simulate(interval: f64, count: Option<u64>, sim: cli::SimArgs) -> anyhow::Result<Exit> {
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
        .run(interval, count, &stop, sim)
        .context("running the simulated meter")?;
    Ok(Exit::Done)
}
