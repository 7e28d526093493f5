//! The command line.
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::exit::Exit;
use crate::keys::Key;
use crate::log::LogFormat;
use crate::zone::Zone;

/// What `--help` shows after the options: the exit codes, then [`MODES`].
fn after_help() -> String {
    format!("{}\n{MODES}", Exit::help())
}

const MODES: &str = "\
Keys (interactive mode): C-a exit, C-x modem lines, C-t ? help (C-t then b break,
d DTR, r RTS, p pulse DTR, l modem lines, s lines and frame counts, v live values, q exit).
Pipe mode (stdin or stdout not a terminal):
no raw mode, no keys; end of stdin ends the session once the port is quiet.

Profiles: `com NAME` with a [NAME] section in $XDG_CONFIG_HOME/com/config.toml
(else ~/.config/com/config.toml) runs with its keys as options: device, speed,
and every long option above without its dashes (log = \"watt.txt\",
reconnect = true, map = [\"ICRNL\"]); options given on the command line win.";

/// A serial terminal that logs instruments without losing a byte.
///
/// `com DEVICE [SPEED]` works as the notebook's com.c did (9600 8N1 by default;
/// Ctrl-A exits, Ctrl-X prints the modem lines). `com --demo` shows it logging a
/// simulated HPM-100A power meter, no hardware needed.
#[derive(Debug, Parser)]
#[command(
    name = "com",
    version,
    after_help = after_help(),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    args_override_self = true
)]
pub struct Cli {
    /// The serial device, e.g. /dev/ttyUSB0 or a /dev/serial/by-id/ name.
    #[arg(required_unless_present_any = ["demo", "list"])]
    pub device: Option<PathBuf>,

    /// Line speed in bits per second; any rate (non-standard ones use BOTHER).
    #[arg(default_value = "9600", value_parser = parse_speed)]
    pub speed: u32,

    /// Data bits, parity and stop bits, e.g. 8N1, 7E1, 8O2.
    #[arg(short = 'f', long, default_value = "8N1", value_parser = parse_framing)]
    pub framing: tty::Framing,

    /// Flow control: none, rtscts or xonxoff.
    #[arg(long, default_value = "none", value_parser = parse_flow)]
    pub flow: tty::FlowControl,

    /// Append every received byte to FILE (default format: the original watt.txt).
    #[arg(short, long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Timestamps in the log.
    #[arg(long, value_enum, default_value = "watt", requires = "log")]
    pub log_format: LogFormat,

    /// The time zone of local timestamps (log and records), e.g.
    /// Europe/Berlin (default: TZ, else /etc/localtime). Offsets follow the
    /// zone's changes during the session.
    #[arg(long, value_name = "AREA/CITY", value_parser = parse_zone)]
    pub tz: Option<Zone>,

    /// Sync the log to disk at each line end (fdatasync).
    #[arg(long, requires = "log")]
    pub fsync: bool,

    /// Decode the meter's frames and write records in this format.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub decode: Option<RecordFormat>,

    /// Where --decode writes its records (appended). Without it, in pipe mode the
    /// records replace the raw stream on stdout; interactive mode needs it.
    #[arg(short, long, value_name = "FILE", requires = "decode")]
    pub out: Option<PathBuf>,

    /// With --decode: also write frames whose power disagrees with volts x
    /// amperes x power factor, flagged in a `suspect` column (default: skip them).
    #[arg(long, requires = "decode")]
    pub keep_suspect: bool,

    #[command(flatten)]
    pub influx: InfluxArgs,

    /// Show a timestamp at the start of each line the device sends (after CR
    /// or LF, whichever it uses), as tio's --timestamp: 24hour (the default),
    /// iso8601, epoch-usec or delta (seconds since the previous line). The log
    /// is not changed.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, require_equals = true, default_missing_value = "24hour", value_enum)]
    pub timestamp: Option<crate::display::Stamp>,

    /// tio's spelling: --timestamp-format FORMAT turns timestamps on in that
    /// format (with or without --timestamp; 24hour-delta is delta).
    #[arg(long, value_name = "FORMAT", value_enum)]
    pub timestamp_format: Option<crate::display::Stamp>,

    /// Show the device's bytes in hex: offset, 16 bytes, ASCII (tio's
    /// --output-mode hex).
    #[arg(long)]
    pub hex: bool,

    /// Character maps, comma-separated, with tio's names: ICRNL, IGNCR, INLCR,
    /// INLCRNL, ICRCRNL change what is shown of the device's bytes (a CR-only
    /// meter shows one frame per line with ICRNL); OCRNL, ONLCRNL, OCRCRNL,
    /// OIGNCR, ODELBS, OLTU change typed bytes before they are sent.
    #[arg(long, value_name = "FLAGS", value_delimiter = ',', value_parser = crate::display::Flag::parse)]
    pub map: Vec<crate::display::Flag>,

    /// picocom's input maps: crlf, igncr, lfcr, lfcrlf, crcrlf.
    #[arg(long, value_name = "MAPS", value_delimiter = ',', value_parser = crate::display::parse_imap)]
    pub imap: Vec<crate::display::Flag>,

    /// picocom's output maps: crlf, igncr, lfcrlf, crcrlf, delbs.
    #[arg(long, value_name = "MAPS", value_delimiter = ',', value_parser = crate::display::parse_omap)]
    pub omap: Vec<crate::display::Flag>,

    /// Type bytes as hex digits, two to a byte (`53 3a 0d 0a` sends "S:" CR
    /// LF; spaces and line ends between them are ignored), as tio's
    /// --input-mode hex.
    #[arg(long)]
    pub hex_input: bool,

    /// Show typed bytes on the screen as they are sent (Ctrl-T e toggles).
    #[arg(long)]
    pub local_echo: bool,

    /// Serve the meter's last values and frame counts for Prometheus at
    /// http://ADDR/metrics, e.g. 127.0.0.1:9101 (loopback: this machine only;
    /// listen elsewhere only where the network is trusted).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,

    /// When the device disappears, wait for it to come back and go on (same
    /// settings, same log).
    #[arg(long)]
    pub reconnect: bool,

    /// Start a simulated HPM-100A on a pseudo-terminal and connect to it.
    #[arg(long, conflicts_with_all = ["device", "list"])]
    pub demo: bool,

    /// List the serial devices present.
    #[arg(long, conflicts_with = "device")]
    pub list: bool,

    /// Open the device shared (no TIOCEXCL, no flock).
    #[arg(long)]
    pub shared: bool,

    /// Ignore stdin: run until a signal or a hang-up (for systemd, where stdin is
    /// /dev/null).
    #[arg(long)]
    pub no_input: bool,

    /// Pipe mode: after stdin ends, how long the port must stay quiet before com
    /// exits, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub linger: u64,

    /// The exit key (C-a, ^A, 0x01, or none).
    #[arg(long, value_name = "KEY", default_value = "C-a")]
    pub exit_key: Key,

    /// The key that prints the modem lines.
    #[arg(long, value_name = "KEY", default_value = "C-x")]
    pub status_key: Key,

    /// The key that starts a menu command (then ? for help).
    #[arg(long, value_name = "KEY", default_value = "C-t")]
    pub menu_key: Key,

    /// No banner or status messages (errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,

    /// Seconds between frames of the simulated meter (with --demo).
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, hide = true)]
    pub demo_interval: f64,

    #[command(flatten)]
    pub sim: SimArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert an old watt.txt log or a raw capture into records.
    Decode {
        /// The input (stdin when absent or `-`).
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum)]
        format: RecordFormat,
        /// Write the records here instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The time zone a watt.txt log was written in, e.g. America/New_York
        /// (default: TZ, else /etc/localtime): each timestamp is read with the
        /// zone's rules at that instant.
        #[arg(long, value_name = "AREA/CITY", value_parser = parse_zone)]
        tz: Option<Zone>,
        /// A fixed UTC offset for a watt.txt log's timestamps instead of a zone,
        /// e.g. +09:00 or -05:00.
        #[arg(long, value_name = "OFFSET", value_parser = parse_offset, allow_hyphen_values = true, conflicts_with = "tz")]
        utc_offset: Option<time::UtcOffset>,
        /// Also write the frames whose power disagrees with volts x amperes x
        /// power factor, with a `suspect` column (default: count and skip them).
        #[arg(long)]
        keep_suspect: bool,
        /// How far, in percent of the power, beyond the rounding of the shown
        /// digits a frame may disagree before it is suspect.
        #[arg(long, value_name = "PERCENT", default_value_t = 0.3, value_parser = parse_percent)]
        suspect_margin: f64,
        /// The columns of CSV and JSON Lines, comma-separated, in order (time,
        /// voltage_V, current_A, power_kW, energy_kWh, power_factor,
        /// frequency_Hz, kg, eu, raw, suspect). Default: all but suspect.
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        columns: Option<Vec<String>>,
        /// No message per damaged or suspect record; only the summary line.
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        influx: InfluxArgs,
        /// A raw capture has no times: the first frame's time (RFC 3339, e.g.
        /// 2026-11-24T23:32:00+09:00), with --interval.
        #[arg(long, value_name = "TIME", value_parser = parse_rfc3339, requires = "interval")]
        start: Option<time::OffsetDateTime>,
        /// Seconds between the frames of a raw capture, with --start.
        #[arg(long, value_name = "SECONDS", requires = "start")]
        interval: Option<f64>,
    },
    /// What logs say about a stretch of time: min, mean and max per quantity,
    /// energy (meter's counter and integral of power), gaps, damaged and
    /// suspect frames.
    Stats(crate::stats::StatsArgs),
    /// Charts of logs over time (SVG, PNG, or Braille on the terminal): one
    /// panel per quantity, local time, gaps left open.
    Plot {
        #[command(flatten)]
        args: com::plot::PlotArgs,
        /// The time zone the watt.txt logs were written in, e.g.
        /// Europe/Berlin (default: TZ, else /etc/localtime); the time axis is
        /// in this zone.
        #[arg(long, value_name = "AREA/CITY", value_parser = parse_zone)]
        tz: Option<Zone>,
    },
    /// Print the man page or a shell's completions (used by `cargo xtask
    /// com-docs`).
    #[command(hide = true)]
    Generate {
        #[arg(value_enum)]
        what: crate::generate::What,
    },
    /// Run only the simulated HPM-100A: print its pty path and send frames until
    /// killed.
    Simulate {
        /// Seconds between frames.
        #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
        interval: f64,
        /// Stop after this many frames (default: run until killed).
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        #[command(flatten)]
        sim: SimArgs,
    },
}

/// How the simulated meter sends (`--demo` and `com simulate`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct SimArgs {
    /// What ends each simulated frame: cr (as a CR-only meter) or crlf.
    #[arg(long, value_enum, value_name = "END", default_value = "crlf")]
    pub line_ending: LineEnding,
    /// Damage this fraction of the simulated bytes (0 to 1): each damaged byte
    /// is dropped, has a random byte inserted before it, or is replaced by a
    /// random byte, in equal shares.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub noise: f64,
    /// Seed of the simulated values and noise (the same seed sends the same
    /// bytes).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// The end of a simulated frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LineEnding {
    /// CR alone.
    Cr,
    /// CR LF.
    Crlf,
}

/// InfluxDB options of `--decode` and `com decode`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InfluxArgs {
    /// The InfluxDB measurement name (default hpm).
    #[arg(long, value_name = "NAME")]
    pub measurement: Option<String>,
    /// An InfluxDB tag on every point, e.g. --tag site=lab (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
}

/// Record formats of `--decode` and `com decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordFormat {
    /// Comma-separated values with a header.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// InfluxDB line protocol.
    Influx,
}

fn parse_speed(s: &str) -> Result<u32, String> {
    tty::parse_speed(s).map_err(|e| e.to_string())
}

fn parse_framing(s: &str) -> Result<tty::Framing, String> {
    s.parse().map_err(|e: tty::Error| e.to_string())
}

fn parse_flow(s: &str) -> Result<tty::FlowControl, String> {
    s.parse().map_err(|e: tty::Error| e.to_string())
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "invalid rate `{s}`: expected a number from 0 to 1, e.g. 0.001"
        )),
    }
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("invalid tag `{s}`: expected KEY=VALUE")),
    }
}

fn parse_rfc3339(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(|e| {
        format!("invalid time `{s}`: {e} (expected RFC 3339, e.g. 2026-11-24T23:32:00Z)")
    })
}

fn parse_zone(s: &str) -> Result<Zone, String> {
    Zone::named(s)
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "invalid percentage `{s}`: expected a number from 0 to 100"
        )),
    }
}

fn parse_offset(s: &str) -> Result<time::UtcOffset, String> {
    let format = time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    let offset = time::UtcOffset::parse(s, format)
        .map_err(|_| format!("invalid UTC offset `{s}`: expected +HH:MM or -HH:MM, e.g. +09:00"))?;
    // The offsets in use on Earth run from -12:00 to +14:00.
    let seconds = offset.whole_seconds();
    if !(-12 * 3600..=14 * 3600).contains(&seconds) {
        return Err(format!(
            "invalid UTC offset `{s}`: out of range (-12:00 to +14:00)"
        ));
    }
    Ok(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_original_invocation_parses() {
        let cli = Cli::try_parse_from(["com", "/dev/ttyUSB0", "9600"]).unwrap();
        assert_eq!(cli.device.unwrap(), PathBuf::from("/dev/ttyUSB0"));
        assert_eq!(cli.speed, 9600);
        let cli = Cli::try_parse_from(["com", "/dev/ttyS0"]).unwrap();
        assert_eq!(cli.speed, 9600);
        assert_eq!(cli.framing.to_string(), "8N1");
        let err = Cli::try_parse_from(["com", "/dev/ttyS0", "fast"]).unwrap_err();
        assert!(err.to_string().contains("`fast`"), "{err}");
        let cli = Cli::try_parse_from(["com", "decode", "watt.txt", "--format", "csv"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Decode { .. })));
        assert!(Cli::try_parse_from(["com"]).is_err());
        assert!(Cli::try_parse_from(["com", "--demo"]).is_ok());
    }
}
