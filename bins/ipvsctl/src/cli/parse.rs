//! The driver: a command line's words through the low-level reader into a
//! checked [`Invocation`], or what else the line asks for (help, version).

use super::defs::{Command, MAX_TIMEOUT, TABLE, Tag};
use super::error::{CliError, fail, try_help};
use super::hiargs::{Invocation, check, empty_entry};
use super::lowargs::{extension, is_extension, parse_sched_flags, parse_timeout, read_option};
use super::popt::Popt;
use ipvs_proto::{DaemonState, ServiceFlags};

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Run(Box<Invocation>),
    Help,
    Version,
}

/// Parses a command line (`argv[0]` first). `in_restore` marks a line read by
/// `-R`, where another `-R` is refused as ipvsadm refuses it.
pub fn parse<S: AsRef<str>>(argv: &[S], in_restore: bool) -> Result<Parsed, CliError> {
    let argv: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
    let mut ce = empty_entry();
    Ok(match parse_into(&argv, in_restore, &mut ce)? {
        Asked::Run => Parsed::Run(Box::new(ce)),
        Asked::Help => Parsed::Help,
        Asked::Version => Parsed::Version,
    })
}

/// What a command line asks for; with [`parse_into`], the checked entry is
/// in the caller's [`Invocation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Run,
    Help,
    Version,
}

/// [`parse`] into `ce` (which is reset first): for callers that check many
/// lines in a row (`-R`) and reuse one entry. Same answers, same errors.
pub fn parse_into(argv: &[&str], in_restore: bool, ce: &mut Invocation) -> Result<Asked, CliError> {
    *ce = empty_entry();
    let program = argv.first().copied().unwrap_or("ipvsctl");
    if argv.len() <= 1 {
        // ipvsadm with no argument lists the table, names resolved.
        return Ok(Asked::Run);
    }
    let mut popt = Popt::new(&TABLE, argv);
    match read_command(&mut popt, ce, program)? {
        Asked::Run => {}
        other => return Ok(other),
    }
    let sched_flags = read_options(&mut popt, ce)?;
    read_leftovers(&mut popt, ce)?;
    if let Some(arg) = sched_flags.filter(|a| !a.is_empty()) {
        ce.svc.flags -= ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::SCHED3;
        ce.svc.flags |= parse_sched_flags(&ce.svc.sched_name, &arg)?;
    }
    check(ce, program, in_restore)?;
    Ok(Asked::Run)
}

/// The command: ipvsctl's own options may come before it (`--netns NS
/// -Ln`); after them, as in ipvsadm, the first option must be the command.
fn read_command(
    popt: &mut Popt<'_, Tag>,
    ce: &mut Invocation,
    program: &str,
) -> Result<Asked, CliError> {
    let (tag, arg) = loop {
        match popt.next_opt() {
            Ok(Some((tag, arg))) if is_extension(tag) => extension(ce, tag, arg)?,
            Ok(Some(first)) => break first,
            Ok(None) | Err(_) => return Err(try_help(program)),
        }
    };
    ce.cmd = match tag {
        Tag::Cmd(cmd @ (Command::StartDaemon | Command::StopDaemon)) => {
            ce.daemon.state = match arg.unwrap_or("") {
                "master" => Some(DaemonState::Master),
                "backup" => Some(DaemonState::Backup),
                _ if cmd == Command::StartDaemon => {
                    return Err(fail("illegal start-daemon parameter specified"));
                }
                _ => return Err(fail("illegal start_daemon specified")),
            };
            cmd
        }
        Tag::Cmd(cmd) => cmd,
        Tag::Help => return Ok(Asked::Help),
        Tag::Version => return Ok(Asked::Version),
        _ => return Err(try_help(program)),
    };
    Ok(Asked::Run)
}

/// The options after the command, left to right; returns the argument of
/// `--sched-flags`, which is applied once the scheduler is known.
fn read_options(popt: &mut Popt<'_, Tag>, ce: &mut Invocation) -> Result<Option<String>, CliError> {
    let mut sched_flags = None;
    let popt_error = loop {
        let (tag, arg) = match popt.next_opt() {
            Ok(Some(next)) => next,
            Ok(None) => break None,
            Err(err) => break Some(err),
        };
        if let Tag::Cmd(_) | Tag::Help | Tag::Version = tag {
            return Err(fail(format!("invalid option `{}'", popt.bad_option())));
        }
        read_option(ce, tag, arg, &mut sched_flags)?;
    };
    if let Some(err) = popt_error {
        return Err(CliError {
            status: 255,
            message: format!("{}: {}\n", popt.bad_option(), err.text()),
        });
    }
    Ok(sched_flags)
}

/// The words that are not options: `--set`'s three timeouts, nothing else.
fn read_leftovers(popt: &mut Popt<'_, Tag>, ce: &mut Invocation) -> Result<(), CliError> {
    if ce.cmd == Command::Timeout {
        match (
            popt.next_leftover(),
            popt.next_leftover(),
            popt.next_leftover(),
        ) {
            (Some(tcp), Some(fin), Some(udp)) => {
                ce.timeout.tcp = parse_timeout(Some(tcp), 0, MAX_TIMEOUT)?;
                ce.timeout.tcp_fin = parse_timeout(Some(fin), 0, MAX_TIMEOUT)?;
                ce.timeout.udp = parse_timeout(Some(udp), 0, MAX_TIMEOUT)?;
            }
            _ => return Err(fail("--set option requires 3 timeout values")),
        }
    }
    if let Some(extra) = popt.next_leftover() {
        return Err(fail(format!("unexpected argument {extra}")));
    }
    Ok(())
}
