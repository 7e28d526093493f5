//! Wiring: a checked command line, a client in the right namespace, the
//! request, and the answer printed as ipvsadm prints it.

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use ipvs_proto::{Client, Error, Info, Request, Service};

use crate::cli::{self, Command, Invocation, Parsed, fmt as f, opt};
use crate::conn;
use crate::format::{self, Entry};
use crate::json;
use crate::request;
use crate::restore;
use crate::sub;
use crate::timing;
use crate::usage;
use crate::watch;

/// A failure with an exact text (ending in a newline) and exit status, as
/// ipvsadm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: u8,
    pub message: String,
}

impl Failure {
    /// A failure whose one-line message gets its newline here.
    pub fn new(status: u8, message: impl fmt::Display) -> Self {
        Self {
            status,
            message: format!("{message}\n"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.trim_end_matches('\n'))
    }
}

impl std::error::Error for Failure {}

impl From<cli::CliError> for Failure {
    fn from(err: cli::CliError) -> Self {
        Self {
            status: err.status,
            message: err.message,
        }
    }
}

/// Exit status of kernel errors (ipvsadm returns -1 from `main`).
pub const KERNEL_FAILURE: u8 = 255;
/// Exit status of a failed listing.
pub const LIST_FAILURE: u8 = 1;
/// Exit status of errors found before talking to the kernel.
pub const USAGE_FAILURE: u8 = 2;

/// The text ipvsadm prints for an error of the kernel or of the transport.
pub fn error_text(err: &Error) -> String {
    match err {
        Error::Kernel(kernel) => kernel.message(),
        other => other.to_string(),
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
    if inv.cmd == Command::List && inv.has(opt::CONNECTION) && inv.ext.watch.is_none() {
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
            let entries = table(&mut client).map_err(list_failure)?;
            write_out(&format::listing(&info, entries, inv.format | f::RULE))?;
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            let change = request::change(&inv).context("command without a request")?;
            client
                .request(&change)
                .map_err(|e| Failure::new(KERNEL_FAILURE, error_text(&e)))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Moves the whole process into network namespace `name` (`/run/netns/NAME`),
/// so its sockets and `/proc/net` are the namespace's.
pub fn enter_netns(name: &str) -> anyhow::Result<()> {
    let path = ipvs_proto::NetNs::named_path(name)
        .map_err(|e| Failure::new(USAGE_FAILURE, format!("ipvsctl: {e}")))?;
    let file = std::fs::File::open(&path).map_err(|e| {
        Failure::new(
            USAGE_FAILURE,
            format!("ipvsctl: network namespace {name}: {}: {e}", path.display()),
        )
    })?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
        Failure::new(
            USAGE_FAILURE,
            format!("ipvsctl: cannot enter network namespace {name}: {e}"),
        )
    })?;
    Ok(())
}

/// ipvsadm's `ipvs_init`: a socket, the family, and the IPVS info; loads the
/// module once (as ipvsadm does) when the family is missing.
pub fn init() -> anyhow::Result<(Client, Info)> {
    let connect = || -> Result<(Client, Info), Error> {
        let mut client = Client::connect()?;
        let info = client.info()?;
        Ok((client, info))
    };
    let first = connect();
    let result = match first {
        Err(Error::FamilyNotFound) if modprobe_ipvs() => connect(),
        other => other,
    };
    result.map_err(|e| {
        Failure::new(
            USAGE_FAILURE,
            format!("Can't initialize ipvs: {}", error_text(&e)),
        )
        .into()
    })
}

fn modprobe_ipvs() -> bool {
    std::process::Command::new("/sbin/modprobe")
        .args(["--", "ip_vs"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn list_failure(err: Error) -> anyhow::Error {
    Failure::new(LIST_FAILURE, error_text(&err)).into()
}

/// Every service with its destinations, in the kernel's order.
pub fn table(client: &mut Client) -> Result<Vec<Entry>, Error> {
    let services = client.services()?;
    let mut entries = Vec::with_capacity(services.len());
    for service in services {
        let dests = client.destinations(&service.key)?;
        entries.push(Entry { service, dests });
    }
    Ok(entries)
}

/// One service (`-L -t ...`) with its destinations.
fn one_entry(client: &mut Client, inv: &Invocation) -> Result<Entry, Error> {
    let key = request::service_key(&inv.svc);
    let service: Service = client.service(&key)?;
    let dests = client.destinations(&service.key)?;
    Ok(Entry { service, dests })
}

/// Writes `text` to stdout; a closed pipe is not an error.
pub fn write_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`ipvsctl -Ln | head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to stdout"),
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
    let text = if inv.has(opt::TIMEOUT) {
        let t = client.timeouts().map_err(list_failure)?;
        let secs = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_secs() as u32);
        if inv.ext.json {
            json::timeouts(&t)
        } else {
            format::timeouts(secs(t.tcp), secs(t.tcp_fin), secs(t.udp))
        }
    } else if inv.has(opt::DAEMON) {
        let daemons = client.daemons().map_err(list_failure)?;
        if inv.ext.json {
            json::daemons(&daemons)
        } else {
            format::daemons(&daemons)
        }
    } else if inv.has(opt::SERVICE) {
        let entry = one_entry(client, inv).map_err(list_failure)?;
        if inv.ext.json {
            json::listing(None, vec![entry], inv.format)
        } else {
            format::one_service(entry, inv.format)
        }
    } else {
        let mut phases = timing::Phases::start();
        let entries = table(client).map_err(list_failure)?;
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

/// Sends a batch and returns each request's outcome as ipvsadm's text.
///
/// A daemon request that the kernel leaves unanswered (stopping a sync
/// thread that has not run yet) counts as done: `Client::batch` follows it
/// with a request that is always answered, so the batch never waits for it.
pub fn batch_errors(
    client: &mut Client,
    requests: &[Request],
) -> anyhow::Result<Vec<Option<String>>> {
    let results = client
        .batch(requests)
        .map_err(|e| Failure::new(KERNEL_FAILURE, error_text(&e)))?;
    Ok(results
        .into_iter()
        .map(|r| r.err().map(|e| e.message()))
        .collect())
}
