//! `-R`: read the whole input, check every line first (reporting each bad line
//! with its number and applying nothing), then send everything as one
//! pipelined batch over one socket. If the kernel refuses a request, what the
//! batch changed is undone and every refused line is reported.
//!
//! Lines are split as ipvsadm splits them (blanks, tabs and carriage returns;
//! a word `ipvsadm` is dropped). Unlike ipvsadm, a line whose first word starts
//! with `#` is a comment, and listing commands (`-L`, `-S`) are refused.

use std::collections::{HashMap, HashSet};
use std::io::Read as _;
use std::process::ExitCode;

use ipvs_proto::{
    Client, Daemon, Destination, Error, Request, Service, ServiceFlags, ServiceKey, Timeouts,
};

use crate::cli::{self, Asked, Invocation};
use crate::failure::{self, Failure, KERNEL_FAILURE, USAGE_FAILURE};
use crate::format::Entry;
use crate::kernel;
use crate::model::{self, Modules};
use crate::request;
use crate::timing;

/// One line of restore input, split into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number in the input.
    pub number: usize,
    pub words: Vec<&'a str>,
}

/// The checked input: each request and the line it comes from.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// 1-based line number of each request.
    pub lines: Vec<usize>,
    pub requests: Vec<Request>,
}

/// A line that does not pass ipvsadm's checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub status: u8,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Splits restore input into lines of words, one line at a time.
pub fn split_lines(input: &str) -> impl Iterator<Item = Line<'_>> {
    input.split('\n').enumerate().filter_map(|(i, raw)| {
        let mut words = Vec::new();
        push_words(raw, &mut words).then_some(Line {
            number: i + 1,
            words,
        })
    })
}

/// Appends the words of the line `raw` to `words`; false (and nothing
/// appended) for a blank line or a comment.
fn push_words<'a>(raw: &'a str, words: &mut Vec<&'a str>) -> bool {
    let start = words.len();
    let mut push = |word: &'a str| {
        if word != "ipvsadm" && word != "ipvsctl" {
            words.push(word);
        }
    };
    // One pass over the bytes; the blanks are ASCII, so every word boundary
    // is a character boundary.
    let mut from = None;
    for (i, &b) in raw.as_bytes().iter().enumerate() {
        if matches!(b, b' ' | b'\t' | b'\r') {
            if let Some(start) = from.take() {
                push(&raw[start..i]);
            }
        } else if from.is_none() {
            from = Some(i);
        }
    }
    if let Some(start) = from {
        push(&raw[start..]);
    }
    let kept = words
        .get(start)
        .is_some_and(|first| !first.starts_with('#'));
    if !kept {
        words.truncate(start);
    }
    kept
}

/// Checks every line; returns the requests, or every bad line.
pub fn validate(program: &str, input: &str) -> Result<Plan, Vec<LineError>> {
    // At most one request a line, and lines are rarely shorter than 16
    // bytes: room for all of them in most inputs (untouched room costs no
    // memory; beyond it the vectors grow).
    let room = input.len() / 16 + 1;
    let mut planned = Plan {
        lines: Vec::with_capacity(room),
        requests: Vec::with_capacity(room),
    };
    let mut errors = Vec::new();
    // The words of each line go straight into one reused argument vector,
    // and each line is checked into one reused command entry.
    let mut argv = Vec::with_capacity(16);
    let mut inv = Invocation::default();
    for (index, raw) in input.split('\n').enumerate() {
        argv.clear();
        argv.push(program);
        if !push_words(raw, &mut argv) {
            continue;
        }
        let error = |status: u8, message: &str| LineError {
            line: index + 1,
            status,
            message: message.trim_end_matches('\n').to_string(),
        };
        match cli::parse_into(&argv, true, &mut inv) {
            Ok(Asked::Run) => match check_line(&inv) {
                Ok(request) => {
                    planned.lines.push(index + 1);
                    planned.requests.push(request);
                }
                Err(message) => errors.push(error(USAGE_FAILURE, &message)),
            },
            Ok(Asked::Help | Asked::Version) => {
                errors.push(error(USAGE_FAILURE, "-h and -v cannot be restored"));
            }
            Err(err) => errors.push(error(err.status, &err.message)),
        }
    }
    if errors.is_empty() {
        Ok(planned)
    } else {
        Err(errors)
    }
}

/// The request of a checked line, or why it cannot be part of a restore.
fn check_line(inv: &Invocation) -> Result<Request, String> {
    if inv.ext.netns.is_some() {
        return Err("--netns applies to the whole restore, not to one line".into());
    }
    request::change(inv)
        .ok_or_else(|| format!("the '{}' command cannot be restored", inv.cmd.name()))
}

/// `ipvsctl -R [--dry-run]`.
pub fn run(program: &str, inv: &Invocation) -> anyhow::Result<ExitCode> {
    let mut phases = timing::Phases::start();
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Failure::new(USAGE_FAILURE, format!("ipvsctl: cannot read stdin: {e}")))?;
    let planned = validate(program, &input).map_err(|errors| {
        let status = errors.first().map_or(USAGE_FAILURE, |e| e.status);
        let message: String = errors.iter().map(|e| format!("{e}\n")).collect();
        Failure { status, message }
    })?;
    phases.mark("read and check");
    if planned.requests.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let (mut client, _info) = kernel::init()?;
    phases.mark("connect");
    let labels: Vec<String> = planned.lines.iter().map(|n| format!("line {n}")).collect();
    let snapshot = prepare(&mut client, &planned.requests, &labels)?;
    phases.mark("snapshot and pre-check");
    if inv.ext.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    apply(&mut client, &planned.requests, &labels, &snapshot)?;
    phases.mark("batch");
    Ok(ExitCode::SUCCESS)
}

/// What the kernel looked like before a batch: the table (for the
/// pre-check and the rollback), and the timeouts and daemons when the batch
/// changes them.
#[derive(Debug)]
pub struct Snapshot {
    table: Vec<Entry>,
    timeouts: Option<Timeouts>,
    daemons: Option<Vec<Daemon>>,
}

/// Takes the snapshot and runs the pre-check ([`model::check`]): when any
/// request would be refused, fails naming each one by its label (`line 4`)
/// with the kernel's text, and nothing is sent.
pub fn prepare(
    client: &mut Client,
    requests: &[Request],
    labels: &[String],
) -> anyhow::Result<Snapshot> {
    let snapshot = take_snapshot(client, requests).map_err(failure::kernel)?;
    precheck(&snapshot, requests, labels)?;
    Ok(snapshot)
}

/// [`model::check`] of `requests` against `snapshot`, as a failure naming
/// every refused request by its label.
pub fn precheck(
    snapshot: &Snapshot,
    requests: &[Request],
    labels: &[String],
) -> anyhow::Result<()> {
    let live = model::Snapshot {
        table: snapshot.table.clone(),
        daemons: snapshot.daemons.clone(),
    };
    let (_, refusals) = model::check(&live, requests, &Modules::system());
    if refusals.is_empty() {
        return Ok(());
    }
    let mut message = String::new();
    for r in &refusals {
        let label = labels.get(r.index).map_or("request", String::as_str);
        message.push_str(&format!("{label}: {}\n", r.message()));
    }
    message.push_str("ipvsctl: nothing sent: checked against the live table, the kernel would refuse the above\n");
    Err(Failure {
        status: KERNEL_FAILURE,
        message,
    }
    .into())
}

fn is_additive(request: &Request) -> bool {
    matches!(
        request,
        Request::NewService(_) | Request::NewDestination(..)
    )
}

/// Sends the batch; on any refusal undoes it (a batch of additions by
/// deleting what was added, anything else by bringing the kernel back to
/// `snapshot`) and reports every refused request by its label.
///
/// Zeroing (`-Z` lines) cannot be undone, so it is sent last, in a second
/// batch, only once every other request has been accepted: a refused line
/// leaves the counters as they were. (A `-Z` of a service that a later line
/// deletes therefore fails, and the restore is rolled back.)
pub fn apply(
    client: &mut Client,
    requests: &[Request],
    labels: &[String],
    snapshot: &Snapshot,
) -> anyhow::Result<()> {
    let additive = requests.iter().all(is_additive);
    let (outcome, zeroed) = zeroing_last(client, requests)?;
    if outcome.iter().all(Option::is_none) {
        return Ok(());
    }
    let mut message = String::new();
    for (label, err) in labels.iter().zip(&outcome) {
        if let Some(err) = err {
            message.push_str(&format!("{label}: {err}\n"));
        }
    }
    let undo = if additive {
        undo_additions(requests, &outcome)
    } else {
        reconcile(client, snapshot).map_err(failure::kernel)?
    };
    let undo_errors = if undo.is_empty() {
        Vec::new()
    } else {
        kernel::batch_errors(client, &undo)?
    };
    let failed: Vec<&String> = undo_errors.iter().flatten().collect();
    if failed.is_empty() {
        message.push_str("ipvsctl: nothing restored: every change of this input was rolled back\n");
    } else {
        message.push_str(&format!(
            "ipvsctl: rollback incomplete: {} of {} undo requests failed (first: {})\n",
            failed.len(),
            undo.len(),
            failed[0]
        ));
    }
    if zeroed {
        message.push_str("ipvsctl: counters zeroed by -Z cannot be restored\n");
    }
    Err(Failure {
        status: KERNEL_FAILURE,
        message,
    }
    .into())
}

fn is_zero(request: &Request) -> bool {
    matches!(request, Request::Zero(_))
}

/// [`kernel::batch_errors`] with every `Zero` request sent after the others,
/// and only if they all succeeded: the outcomes in the order of `requests`
/// (`None` for a held-back `Zero` too), and whether any `Zero` was sent.
fn zeroing_last(
    client: &mut Client,
    requests: &[Request],
) -> anyhow::Result<(Vec<Option<String>>, bool)> {
    if !requests.iter().any(is_zero) {
        return Ok((kernel::batch_errors(client, requests)?, false));
    }
    let (zeros, others): (Vec<usize>, Vec<usize>) =
        (0..requests.len()).partition(|&i| is_zero(&requests[i]));
    let mut outcome = vec![None; requests.len()];
    let mut send = |indexes: &[usize], outcome: &mut [Option<String>]| {
        let batch: Vec<Request> = indexes.iter().map(|&i| requests[i].clone()).collect();
        let results = kernel::batch_errors(client, &batch)?;
        for (&i, result) in indexes.iter().zip(results) {
            outcome[i] = result;
        }
        anyhow::Ok(())
    };
    send(&others, &mut outcome)?;
    let all_applied = outcome.iter().all(Option::is_none);
    if all_applied {
        send(&zeros, &mut outcome)?;
    }
    Ok((outcome, all_applied))
}

fn take_snapshot(client: &mut Client, requests: &[Request]) -> Result<Snapshot, Error> {
    let table = kernel::table(client)?;
    let timeouts = if requests
        .iter()
        .any(|r| matches!(r, Request::SetTimeouts(_)))
    {
        Some(client.timeouts()?)
    } else {
        None
    };
    let daemons = if requests
        .iter()
        .any(|r| matches!(r, Request::NewDaemon(_) | Request::DelDaemon(_)))
    {
        Some(client.daemons()?)
    } else {
        None
    };
    Ok(Snapshot {
        table,
        timeouts,
        daemons,
    })
}

/// Undo of a batch of additions: delete what was added, newest first; a
/// service added here takes its destinations with it.
pub fn undo_additions(requests: &[Request], outcome: &[Option<String>]) -> Vec<Request> {
    let added: HashSet<ServiceKey> = requests
        .iter()
        .zip(outcome)
        .filter_map(|(r, e)| match (r, e) {
            (Request::NewService(s), None) => Some(s.key),
            _ => None,
        })
        .collect();
    requests
        .iter()
        .zip(outcome)
        .rev()
        .filter(|(_, e)| e.is_none())
        .filter_map(|(r, _)| match r {
            Request::NewService(s) => Some(Request::DelService(Service::reference(s.key))),
            Request::NewDestination(s, d) if !added.contains(&s.key) => Some(
                Request::DelDestination(Service::reference(s.key), clean_dest(d)),
            ),
            _ => None,
        })
        .collect()
}

/// A service as it is re-sent: configuration only.
fn clean_service(s: &Service) -> Service {
    let mut s = s.clone();
    s.stats = None;
    s.flags.remove(ServiceFlags::HASHED);
    s.flags_mask = ServiceFlags::ALL_BITS;
    s
}

fn clean_dest(d: &Destination) -> Destination {
    let mut d = d.clone();
    d.stats = None;
    d.connections = None;
    d
}

/// The requests that bring the kernel back to `snapshot`.
fn reconcile(client: &mut Client, snapshot: &Snapshot) -> Result<Vec<Request>, Error> {
    let current = kernel::table(client)?;
    reconcile_tables(&snapshot.table, &current, snapshot, client)
}

fn reconcile_tables(
    before: &[Entry],
    now: &[Entry],
    snapshot: &Snapshot,
    client: &mut Client,
) -> Result<Vec<Request>, Error> {
    let mut undo = Vec::new();
    let before_by_key: HashMap<ServiceKey, &Entry> =
        before.iter().map(|e| (e.service.key, e)).collect();
    let now_by_key: HashMap<ServiceKey, &Entry> = now.iter().map(|e| (e.service.key, e)).collect();
    for entry in now {
        let key = entry.service.key;
        match before_by_key.get(&key) {
            None => undo.push(Request::DelService(Service::reference(key))),
            Some(old) => {
                let (a, b) = (clean_service(&old.service), clean_service(&entry.service));
                if a != b {
                    undo.push(Request::SetService(a));
                }
                let reference = Service::reference(key);
                let old_dests: HashMap<_, _> = old
                    .dests
                    .iter()
                    .map(|d| (d.socket_addr(), clean_dest(d)))
                    .collect();
                let new_dests: HashMap<_, _> = entry
                    .dests
                    .iter()
                    .map(|d| (d.socket_addr(), clean_dest(d)))
                    .collect();
                for (addr, d) in &new_dests {
                    match old_dests.get(addr) {
                        None => undo.push(Request::DelDestination(reference.clone(), d.clone())),
                        Some(o) if o != d => {
                            undo.push(Request::SetDestination(reference.clone(), o.clone()))
                        }
                        Some(_) => {}
                    }
                }
                for (addr, o) in &old_dests {
                    if !new_dests.contains_key(addr) {
                        undo.push(Request::NewDestination(reference.clone(), o.clone()));
                    }
                }
            }
        }
    }
    for entry in before {
        if !now_by_key.contains_key(&entry.service.key) {
            undo.push(Request::NewService(clean_service(&entry.service)));
            let reference = Service::reference(entry.service.key);
            for d in &entry.dests {
                undo.push(Request::NewDestination(reference.clone(), clean_dest(d)));
            }
        }
    }
    if let Some(timeouts) = snapshot.timeouts {
        undo.push(Request::SetTimeouts(timeouts));
    }
    if let Some(old) = &snapshot.daemons {
        let current = client.daemons()?;
        for d in &current {
            if !old.iter().any(|o| o.state == d.state) {
                undo.push(Request::DelDaemon(Daemon::new(d.state, "", 0)));
            }
        }
        for o in old {
            if !current.iter().any(|d| d.state == o.state) {
                undo.push(Request::NewDaemon(o.clone()));
            }
        }
    }
    Ok(undo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte scanner splits as `str::split` on the three blanks does.
        #[test]
        fn words_split_as_the_plain_split(raw in "[ \t\r#a-c\\-é]{0,12}(ipvsadm|ipvsctl)?[ \ta]{0,3}") {
            let mut words = vec!["before"];
            let kept = push_words(&raw, &mut words);
            let model: Vec<&str> = raw
                .split([' ', '\t', '\r'])
                .filter(|w| !w.is_empty() && *w != "ipvsadm" && *w != "ipvsctl")
                .collect();
            let model_kept = model.first().is_some_and(|w| !w.starts_with('#'));
            prop_assert_eq!(kept, model_kept);
            let expected: Vec<&str> = std::iter::once("before")
                .chain(model.into_iter().filter(|_| model_kept))
                .collect();
            prop_assert_eq!(words, expected);
        }
    }

    #[test]
    fn lines_split_like_ipvsadm() {
        let lines: Vec<Line<'_>> =
            split_lines("-A -t 10.0.0.1:80 -s rr\r\n\n# comment\nipvsadm -C\n  \t\n-Z").collect();
        assert_eq!(
            lines,
            vec![
                Line {
                    number: 1,
                    words: vec!["-A", "-t", "10.0.0.1:80", "-s", "rr"]
                },
                Line {
                    number: 4,
                    words: vec!["-C"]
                },
                Line {
                    number: 6,
                    words: vec!["-Z"]
                },
            ]
        );
    }

    #[test]
    fn every_bad_line_is_reported() {
        let input =
            "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w x\n-L -n\n-A -t [2001:db8::1:80\n";
        let errors = validate("ipvsadm", input).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        assert_eq!(errors[0].message, "illegal weight specified");
        assert_eq!(errors[0].status, 2);
    }
}
