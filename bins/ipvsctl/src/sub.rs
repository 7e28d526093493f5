//! ipvsctl's own commands, outside ipvsadm's grammar (whose first word is
//! always an option, so a first word that is not one is free):
//!
//! - `ipvsctl apply [--prune] [--dry-run] FILE` and `ipvsctl diff [--prune]
//!   FILE` (see [`crate::apply`]);
//! - `ipvsctl set-weight SERVICE [-r] SERVER [-w] WEIGHT`: only the weight
//!   changes; forwarding, thresholds and tunnel settings stay as the kernel
//!   has them (ipvsadm's `-e` replaces the whole entry);
//! - `ipvsctl drain SERVICE [-r] SERVER [--timeout DURATION] [--then
//!   delete|keep]`: weight 0 at once, progress while the active connections
//!   fall, then delete (or keep) at 0 or at the timeout.
//!
//! - `ipvsctl service start|save|stop` (see [`crate::service`]).
//!
//! SERVICE is `-t|-u|--sctp-service ADDR:PORT` or `-f MARK [-6]`, read
//! with ipvsadm's grammar (names, brackets, default ports). `--netns NAME`
//! may come before the command or among its options. FILE `-` is stdin.

use std::io::Read as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ipvs_proto::{Client, Destination, Request, Service, ServiceKey};

use crate::apply;
use crate::cli::{self, Parsed};
use crate::failure::{self, Failure, KERNEL_FAILURE, USAGE_FAILURE};
use crate::kernel;
use crate::model;
use crate::output::write_out;
use crate::restore;

/// The commands of this module.
pub const COMMANDS: [&str; 5] = ["apply", "diff", "set-weight", "drain", "service"];

/// Exit status of `diff` when the table differs from the file.
pub const DIFFERS: u8 = 1;

fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    Failure::new(USAGE_FAILURE, format!("ipvsctl: {message}")).into()
}

/// Runs `argv` when it names one of [`COMMANDS`]; `None` otherwise (an
/// ipvsadm command line).
pub fn run(argv: &[String]) -> anyhow::Result<Option<ExitCode>> {
    let mut words: &[String] = argv.get(1..).unwrap_or_default();
    let mut netns = None;
    // `--netns NAME` may come first.
    loop {
        match words {
            [flag, name, rest @ ..] if flag == "--netns" => {
                netns = Some(name.clone());
                words = rest;
            }
            [flag, rest @ ..] if flag.starts_with("--netns=") => {
                netns = Some(flag["--netns=".len()..].to_string());
                words = rest;
            }
            _ => break,
        }
    }
    let Some(command) = words.first().map(String::as_str) else {
        return Ok(None);
    };
    if !COMMANDS.contains(&command) {
        return Ok(None);
    }
    let mut args: Vec<&str> = Vec::new();
    let mut rest = words[1..].iter().map(String::as_str);
    while let Some(word) = rest.next() {
        if let Some(name) = word.strip_prefix("--netns=") {
            netns = Some(name.to_string());
        } else if word == "--netns" {
            let name = rest
                .next()
                .ok_or_else(|| usage("--netns: missing argument"))?;
            netns = Some(name.to_string());
        } else {
            args.push(word);
        }
    }
    if let Some(name) = &netns {
        kernel::enter_netns(name)?;
    }
    let code = match command {
        "apply" => apply_or_diff(&args, false)?,
        "diff" => apply_or_diff(&args, true)?,
        "set-weight" => set_weight(&args)?,
        "service" => crate::service::run(&args)?,
        _ => drain(&args)?,
    };
    Ok(Some(code))
}

fn read_file(path: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    let result = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    result.map_err(|e| usage(format!("cannot read {path}: {e}")))?;
    Ok(text)
}

/// `apply` and `diff`.
fn apply_or_diff(args: &[&str], diff_only: bool) -> anyhow::Result<ExitCode> {
    let name = if diff_only { "diff" } else { "apply" };
    let (mut prune, mut dry_run, mut file) = (false, false, None);
    for &arg in args {
        match arg {
            "--prune" => prune = true,
            "--dry-run" if !diff_only => dry_run = true,
            _ if arg.starts_with('-') && arg != "-" => {
                return Err(usage(format!("{name}: unknown option {arg}")));
            }
            _ if file.is_some() => return Err(usage(format!("{name}: more than one FILE"))),
            _ => file = Some(arg),
        }
    }
    let file = file.ok_or_else(|| usage(format!("{name}: FILE missing (`-` for stdin)")))?;
    let input = read_file(file)?;
    let wanted = apply::wanted("ipvsctl", &input).map_err(|errors| {
        let status = errors
            .iter()
            .map(|e| e.status)
            .max()
            .unwrap_or(USAGE_FAILURE);
        let message: String = errors.iter().map(|e| format!("{file}: {e}\n")).collect();
        Failure { status, message }
    })?;
    let (mut client, _info) = kernel::init()?;
    let current = kernel::table(&mut client).map_err(failure::kernel)?;
    let requests = model::diff(&current, &wanted.table, prune);
    if diff_only {
        write_out(&apply::script(&requests))?;
        return Ok(if requests.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(DIFFERS)
        });
    }
    if requests.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let labels: Vec<String> = apply::labels(&wanted, &requests)
        .into_iter()
        .map(|l| {
            if l.starts_with("line ") {
                format!("{file}: {l}")
            } else {
                l
            }
        })
        .collect();
    // The pre-check runs against a fresh snapshot (the one the batch's
    // rollback returns to).
    let snapshot = restore::prepare(&mut client, &requests, &labels)?;
    if dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    restore::apply(&mut client, &requests, &labels, &snapshot)?;
    Ok(ExitCode::SUCCESS)
}

/// A service and one of its servers, as named on the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub key: ServiceKey,
    pub server: SocketAddr,
}

/// Reads `SERVICE -r SERVER` out of `args` with ipvsadm's grammar; the
/// other words are returned in order.
pub fn target<'a>(command: &str, args: &[&'a str]) -> anyhow::Result<(Target, Vec<&'a str>)> {
    let mut ipvsadm = vec!["ipvsctl", "-d"];
    let mut rest = Vec::new();
    let mut words = args.iter();
    while let Some(&word) = words.next() {
        match word {
            "-t" | "-u" | "-f" | "-r" | "--tcp-service" | "--udp-service" | "--sctp-service"
            | "--fwmark-service" | "--real-server" => {
                let value = words
                    .next()
                    .ok_or_else(|| usage(format!("{command}: {word}: missing argument")))?;
                ipvsadm.extend([word, *value]);
            }
            "-6" | "--ipv6" => ipvsadm.push(word),
            _ => rest.push(word),
        }
    }
    // SERVER may also be the first word after SERVICE, without `-r`.
    let named = ipvsadm.iter().any(|w| *w == "-r" || *w == "--real-server");
    if !named && rest.first().is_some_and(|w| !w.starts_with('-')) {
        ipvsadm.extend(["-r", rest.remove(0)]);
    }
    let inv = match cli::parse(&ipvsadm, false) {
        Ok(Parsed::Run(inv)) => inv,
        Ok(_) => return Err(usage(format!("{command}: SERVICE and -r SERVER needed"))),
        Err(e) if e.message.starts_with("You need to supply") || e.status == 255 => {
            return Err(usage(format!(
                "{command}: SERVICE (-t|-u|--sctp-service ADDR:PORT or -f MARK) and -r SERVER needed"
            )));
        }
        Err(e) => return Err(Failure::from(e).into()),
    };
    let addr = inv
        .dest
        .addr
        .ok_or_else(|| usage(format!("{command}: -r SERVER needed")))?;
    Ok((
        Target {
            key: crate::request::service_key(&inv.svc),
            server: SocketAddr::new(addr, inv.dest.port),
        },
        rest,
    ))
}

/// The destination as the kernel has it now.
fn find(client: &mut Client, target: &Target) -> anyhow::Result<Destination> {
    let dests = client.destinations(&target.key).map_err(failure::kernel)?;
    dests
        .into_iter()
        .find(|d| d.socket_addr() == target.server)
        .ok_or_else(|| Failure::new(KERNEL_FAILURE, "No such destination").into())
}

/// Sets only the weight of the destination as the kernel has it.
fn send_weight(
    client: &mut Client,
    target: &Target,
    now: &Destination,
    weight: u32,
) -> anyhow::Result<()> {
    let mut dest = model::dest_config(now);
    dest.weight = weight;
    client
        .request(&Request::SetDestination(
            Service::reference(target.key),
            dest,
        ))
        .map_err(failure::kernel)?;
    Ok(())
}

fn parse_weight(text: &str) -> anyhow::Result<u32> {
    crate::cli::cnum::string_to_number(text, 0, i64::from(i32::MAX))
        .map(|w| w as u32)
        .ok_or_else(|| Failure::new(USAGE_FAILURE, "illegal weight specified").into())
}

/// `set-weight SERVICE -r SERVER [-w] WEIGHT`.
fn set_weight(args: &[&str]) -> anyhow::Result<ExitCode> {
    let (target, rest) = target("set-weight", args)?;
    let weight = match rest.as_slice() {
        [w] | ["-w" | "--weight", w] => parse_weight(w)?,
        [] => return Err(usage("set-weight: WEIGHT missing")),
        _ => return Err(usage(format!("set-weight: unexpected {}", rest.join(" ")))),
    };
    let (mut client, _info) = kernel::init()?;
    let now = find(&mut client, &target)?;
    send_weight(&mut client, &target, &now, weight)?;
    Ok(ExitCode::SUCCESS)
}

/// What `drain` does once the active count is 0 or the time is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Delete,
    Keep,
}

/// A duration: a number of seconds, or with a unit `ms`, `s`, `m`, `h`
/// (`90`, `1.5s`, `500ms`, `10m`); at most a week.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    let seconds = value * scale;
    (seconds.is_finite() && (0.0..=7.0 * 86400.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

/// Default time `drain` waits for the active connections to end.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// How often `drain` reads the connection counts.
const DRAIN_POLL: Duration = Duration::from_millis(250);

/// `drain`'s options after the target: `--timeout` and `--then`.
fn drain_options(rest: &[&str]) -> anyhow::Result<(Duration, Then)> {
    let (mut timeout, mut then) = (DRAIN_TIMEOUT, Then::Delete);
    let mut words = rest.iter();
    while let Some(&word) = words.next() {
        let mut value = || {
            words
                .next()
                .copied()
                .ok_or_else(|| usage(format!("drain: {word}: missing argument")))
        };
        match word {
            "--timeout" => {
                let text = value()?;
                timeout = parse_duration(text).ok_or_else(|| {
                    usage(format!(
                        "drain: invalid timeout `{text}' (e.g. 90, 30s, 5m; at most a week)"
                    ))
                })?;
            }
            "--then" => {
                then = match value()? {
                    "delete" => Then::Delete,
                    "keep" => Then::Keep,
                    other => {
                        return Err(usage(format!(
                            "drain: --then takes delete or keep, not `{other}'"
                        )));
                    }
                };
            }
            _ => return Err(usage(format!("drain: unexpected {word}"))),
        }
    }
    Ok((timeout, then))
}

/// `drain SERVICE -r SERVER [--timeout DURATION] [--then delete|keep]`.
fn drain(args: &[&str]) -> anyhow::Result<ExitCode> {
    let (target, rest) = target("drain", args)?;
    let (timeout, then) = drain_options(&rest)?;
    let (mut client, _info) = kernel::init()?;
    let now = find(&mut client, &target)?;
    let server = target.server;
    let start = Instant::now();
    if now.weight != 0 {
        send_weight(&mut client, &target, &now, 0)?;
    }
    say(&format!(
        "drain {server}: weight 0 (was {}), no new connections",
        now.weight
    ))?;
    let mut last = None;
    let active = loop {
        let dest = find(&mut client, &target)?;
        let conns = dest.connections.unwrap_or_default();
        if conns.active == 0 {
            break 0;
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            break conns.active;
        }
        if last != Some((conns.active, conns.inactive)) {
            last = Some((conns.active, conns.inactive));
            say(&format!(
                "drain {server}: {} active, {} inactive connections ({:.0} s left)",
                conns.active,
                conns.inactive,
                (timeout - elapsed).as_secs_f64()
            ))?;
        }
        std::thread::sleep(DRAIN_POLL.min(timeout - elapsed));
    };
    let waited = start.elapsed().as_secs_f64();
    let cut = if active == 0 {
        String::from("no active connections")
    } else {
        format!("timeout after {waited:.1} s, {active} active connection(s)")
    };
    match then {
        Then::Delete => {
            let dest = model::dest_reference(&find(&mut client, &target)?);
            client
                .request(&Request::DelDestination(
                    Service::reference(target.key),
                    dest,
                ))
                .map_err(failure::kernel)?;
            let what = if active == 0 {
                cut
            } else {
                format!("{cut} cut")
            };
            say(&format!(
                "drain {server}: deleted after {waited:.1} s ({what})"
            ))?;
        }
        Then::Keep => say(&format!("drain {server}: kept at weight 0 ({cut})"))?,
    }
    Ok(ExitCode::SUCCESS)
}

fn say(line: &str) -> anyhow::Result<()> {
    write_out(&format!("{line}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "x", "1e20", "5d", "-1", "169h", "1..2"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn targets_read_with_ipvsadm_grammar() {
        let (t, rest) = target(
            "drain",
            &["-t", "10.0.0.1:80", "-r", "10.0.0.2", "--then", "keep"],
        )
        .unwrap();
        assert_eq!(t.key, ServiceKey::tcp("10.0.0.1:80".parse().unwrap()));
        assert_eq!(
            t.server,
            "10.0.0.2:80".parse().unwrap(),
            "port from the service"
        );
        assert_eq!(rest, vec!["--then", "keep"]);
        let (t, _) = target("drain", &["-f", "7", "-6", "-r", "[2001:db8::2]:8080"]).unwrap();
        assert_eq!(
            t.key,
            ServiceKey::fwmark(ipvs_proto::AddressFamily::Inet6, 7)
        );
        assert_eq!(t.server, "[2001:db8::2]:8080".parse().unwrap());
        let (t, rest) = target("set-weight", &["-t", "10.0.0.1:80", "10.0.0.2:8080", "3"]).unwrap();
        assert_eq!(
            t.server,
            "10.0.0.2:8080".parse().unwrap(),
            "SERVER without -r"
        );
        assert_eq!(rest, vec!["3"]);
        let err = target("drain", &["-t", "10.0.0.1:80"]).unwrap_err();
        assert!(err.to_string().contains("-r SERVER"), "{err}");
        let err = target("drain", &["-t", "10.0.0.1:x", "-r", "10.0.0.2"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "illegal virtual server address[:port] specified"
        );
    }
}
