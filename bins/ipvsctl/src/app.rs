//! Dispatch: a checked command line, a client in the right namespace, the
//! request, and the answer printed as ipvsadm prints it.
//!
//! Kernel access lives in `kernel`, the failure type in
//! `failure`; the subcommands (`restore`, `watch`, `sub`) use those,
//! never this module, so dispatch sits on top of everything else.

use std::process::ExitCode;

use anyhow::Context as _;
use ipvs_proto::{Client, Info};

use crate::cli::{self, Command, Invocation, Options, Parsed, fmt as f};
use crate::conn;
use crate::failure::{self, Failure, KERNEL_FAILURE, LIST_FAILURE};
use crate::format;
use crate::json;
use crate::kernel::{self, enter_netns, init, table};
use crate::output::write_out;
use crate::request;
use crate::restore;
use crate::sub;
use crate::timing;
use crate::usage;
use crate::watch;

/// The binary's `main`: runs `argv` and turns a failure into ipvsadm's text
/// on stderr and its exit status.
pub fn main(argv: &[String]) -> ExitCode {
    match run(argv) {
        Ok(code) => code,
        Err(err) => match err.downcast_ref::<Failure>() {
            // ipvsadm's exact text and status.
            Some(failure) => {
                eprint!("{}", failure.message);
                ExitCode::from(failure.status)
            }
            None => {
                eprintln!("ipvsctl: {err:#}");
                ExitCode::from(KERNEL_FAILURE)
            }
        },
    }
}

/// Runs a whole command line (`argv[0]` first).
pub fn run(argv: &[String]) -> anyhow::Result<ExitCode> {
    let program = argv.first().map(String::as_str).unwrap_or("ipvsctl");
    if let Some(code) = sub::run(argv)? {
        return Ok(code);
    }
    let inv = match cli::parse(argv, false).map_err(Failure::from)? {
        Parsed::Help => {
            print!("{}", usage::text(program));
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Version => {
            println!("{}", usage::version());
            return Ok(ExitCode::SUCCESS);
        }
        Parsed::Run(inv) => *inv,
    };
    if let Some(name) = &inv.ext.netns {
        enter_netns(name)?;
    }
    if inv.cmd == Command::Restore {
        return restore::run(program, &inv);
    }
    if inv.cmd == Command::List && inv.has(Options::CONNECTION) && inv.ext.watch.is_none() {
        // The connection table needs no netlink at all.
        return list_connections(&inv);
    }
    let mut phases = timing::Phases::start();
    let (mut client, info) = init()?;
    phases.mark("connect");
    match inv.cmd {
        Command::List if inv.ext.watch.is_some() => watch::run(&mut client, &info, &inv),
        Command::List => list(&mut client, &info, &inv),
        Command::Save => {
            let entries = table(&mut client).map_err(failure::list)?;
            write_out(&format::listing(&info, entries, inv.format | f::RULE))?;
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let change = request::change(&inv).context("command without a request")?;
            client
                .request(&change)
                .map_err(|e| Failure::new(KERNEL_FAILURE, failure::error_text(&e)))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list_connections(inv: &Invocation) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(conn::CONN_PROC_FILE).map_err(|_| {
        Failure::new(
            LIST_FAILURE,
            format!("cannot open file {}", conn::CONN_PROC_FILE),
        )
    })?;
    let table = conn::parse_table(&text);
    if inv.ext.json {
        write_out(&json::connections(&table))?;
    } else {
        write_out(&conn::listing(&table, inv.format))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(client: &mut Client, info: &Info, inv: &Invocation) -> anyhow::Result<ExitCode> {
    let text = if inv.has(Options::TIMEOUT) {
        let t = client.timeouts().map_err(failure::list)?;
        let secs = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_secs() as u32);
        if inv.ext.json {
            json::timeouts(&t)
        } else {
            format::timeouts(secs(t.tcp), secs(t.tcp_fin), secs(t.udp))
        }
    } else if inv.has(Options::DAEMON) {
        let daemons = client.daemons().map_err(failure::list)?;
        if inv.ext.json {
            json::daemons(&daemons)
        } else {
            format::daemons(&daemons)
        }
    } else if inv.has(Options::SERVICE) {
        let entry =
            kernel::one_entry(client, &request::service_key(&inv.svc)).map_err(failure::list)?;
        if inv.ext.json {
            json::listing(None, vec![entry], inv.format)
        } else {
            format::one_service(entry, inv.format)
        }
    } else {
        let mut phases = timing::Phases::start();
        let entries = table(client).map_err(failure::list)?;
        phases.mark("dump");
        let text = if inv.ext.json {
            json::listing(Some(info), entries, inv.format)
        } else {
            format::listing(info, entries, inv.format)
        };
        phases.mark("format");
        text
    };
    write_out(&text)?;
    Ok(ExitCode::SUCCESS)
}
