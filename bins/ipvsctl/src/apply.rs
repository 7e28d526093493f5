//! `ipvsctl apply FILE` and `ipvsctl diff FILE`: make the live table equal
//! to a file in `-S` format by changing only the difference.
//!
//! The file is read like `-R` input (every line checked, every bad line
//! reported) and must hold only `-A` and `-a` lines, which build the wanted
//! table (a line the kernel would refuse there, such as a destination given
//! twice, is reported with its number). [`model::diff`] against a snapshot
//! of the live table gives the requests: services and destinations in both
//! are edited in place (`-E`, `-e`), so their counters and connections stay;
//! the rest is added or deleted; services the file does not name are
//! deleted only with `--prune`. `apply` pre-checks the requests against the
//! snapshot as `-R` does and sends them as one batch (rolled back if the
//! kernel refuses one); `diff` prints them as ipvsadm command lines.

use std::collections::HashMap;
use std::net::SocketAddr;

use ipvs_proto::{Destination, Request, Service, ServiceKey};

use crate::cli::fmt;
use crate::format::{self, Entry};
use crate::model::{self, Modules, Snapshot};
use crate::restore::{self, LineError};

/// The table a file asks for, and the line each entry comes from.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub table: Vec<Entry>,
    pub service_lines: HashMap<ServiceKey, usize>,
    pub dest_lines: HashMap<(ServiceKey, SocketAddr), usize>,
}

/// Reads a `-S` file into the table it describes; every bad line is
/// reported with its number (status 2 for the grammar, 255 for a line the
/// kernel would refuse on the way, as `-R` would report it).
pub fn wanted(program: &str, input: &str) -> Result<Wanted, Vec<LineError>> {
    let plan = restore::validate(program, input)?;
    let mut errors = Vec::new();
    let mut out = Wanted::default();
    for (line, request) in plan.lines.iter().zip(&plan.requests) {
        match request {
            Request::NewService(s) => {
                out.service_lines.entry(s.key).or_insert(*line);
            }
            Request::NewDestination(s, d) => {
                out.dest_lines
                    .entry((s.key, d.socket_addr()))
                    .or_insert(*line);
            }
            _ => errors.push(LineError {
                line: *line,
                status: 2,
                message: "only -A and -a lines (the -S format) can be applied".into(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (table, refusals) = model::check(&Snapshot::default(), &plan.requests, &Modules::Any);
    if !refusals.is_empty() {
        return Err(refusals
            .iter()
            .map(|r| LineError {
                line: plan.lines[r.index],
                status: 255,
                message: r.message(),
            })
            .collect());
    }
    out.table = table;
    Ok(out)
}

/// The rule text of `service` (`-t 10.0.0.1:80`) and its `-A` options.
fn service_rule(service: &Service) -> (String, String) {
    let mut text = String::new();
    format::service_entry(
        &mut text,
        Entry {
            service: service.clone(),
            dests: Vec::new(),
        },
        fmt::RULE | fmt::NUMERIC,
    );
    let line = text
        .trim_end()
        .strip_prefix("-A ")
        .unwrap_or(&text)
        .to_string();
    // The service's words end where its options begin (`-s` always first).
    let name = line.split(" -s").next().unwrap_or(&line).to_string();
    (name, line)
}

/// The `-a` rule of `dest` under `service`, without the `-a `.
fn dest_rule(service: &Service, dest: &Destination) -> String {
    let mut text = String::new();
    format::service_entry(
        &mut text,
        Entry {
            service: service.clone(),
            dests: vec![dest.clone()],
        },
        fmt::RULE | fmt::NUMERIC,
    );
    let line = text.lines().nth(1).unwrap_or("");
    line.strip_prefix("-a ").unwrap_or(line).to_string()
}

/// One request as the ipvsadm command line that sends it (numeric).
pub fn command_line(request: &Request) -> Option<String> {
    Some(match request {
        Request::NewService(s) => format!("-A {}", service_rule(s).1),
        Request::SetService(s) => format!("-E {}", service_rule(s).1),
        Request::DelService(s) => format!("-D {}", service_rule(s).0),
        Request::NewDestination(s, d) => format!("-a {}", dest_rule(s, d)),
        Request::SetDestination(s, d) => format!("-e {}", dest_rule(s, d)),
        Request::DelDestination(s, d) => {
            let rule = dest_rule(s, d);
            let (service, rest) = rule.split_once(" -r ")?;
            let server = rest.split(' ').next()?;
            format!("-d {service} -r {server}")
        }
        _ => return None,
    })
}

/// The requests, one ipvsadm command line each.
pub fn script(requests: &[Request]) -> String {
    requests
        .iter()
        .filter_map(command_line)
        .map(|l| l + "\n")
        .collect()
}

/// The label of each request in messages: the file line it comes from, or
/// for deletions the command line itself.
pub fn labels(wanted: &Wanted, requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let line = match r {
                Request::NewService(s) | Request::SetService(s) => {
                    wanted.service_lines.get(&s.key).copied()
                }
                Request::NewDestination(s, d) | Request::SetDestination(s, d) => {
                    wanted.dest_lines.get(&(s.key, d.socket_addr())).copied()
                }
                _ => None,
            };
            match line {
                Some(n) => format!("line {n}"),
                None => command_line(r).unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gives_its_table_and_refuses_other_commands() {
        let ok = "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 2\n";
        let w = wanted("ipvsctl", ok).unwrap();
        assert_eq!(w.table.len(), 1);
        assert_eq!(w.table[0].dests[0].weight, 2);
        assert_eq!(w.dest_lines.values().copied().collect::<Vec<_>>(), vec![2]);
        let bad = "-A -t 10.0.0.1:80 -s rr\n-C\n-a -t 10.0.0.1:80 -r 10.0.0.2 -w x\n";
        let lines: Vec<(usize, String)> = wanted("ipvsctl", bad)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.message))
            .collect();
        assert_eq!(lines, vec![(3, "illegal weight specified".to_string())]);
        let lines: Vec<(usize, String)> = wanted("ipvsctl", "-A -t 10.0.0.1:80\n-C\n")
            .unwrap_err()
            .into_iter()
            .map(|e| (e.line, e.message))
            .collect();
        assert_eq!(
            lines,
            vec![(
                2,
                "only -A and -a lines (the -S format) can be applied".to_string()
            )]
        );
        let twice = "-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w 3\n";
        let err = wanted("ipvsctl", twice).unwrap_err();
        assert_eq!(
            (err[0].line, err[0].status, err[0].message.as_str()),
            (3, 255, "Destination already exists")
        );
    }

    #[test]
    fn the_diff_prints_as_ipvsadm_lines() {
        let current = wanted(
            "ipvsctl",
            "-A -t 10.0.0.1:80 -s rr\n\
             -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 1\n\
             -a -t 10.0.0.1:80 -r 10.0.0.3:80 -m -w 1\n\
             -A -f 7 -s wlc\n\
             -a -f 7 -r 10.0.0.4:0 -g -w 1\n",
        )
        .unwrap();
        let file = wanted(
            "ipvsctl",
            "-A -t 10.0.0.1:80 -s wrr -p 60\n\
             -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3 -x 100\n\
             -a -t 10.0.0.1:80 -r 10.0.0.5:8080 -m -w 1\n\
             -A -u [2001:db8::1]:53 -s rr\n\
             -a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -m -w 1\n",
        )
        .unwrap();
        let requests = model::diff(&current.table, &file.table, true);
        assert_eq!(
            script(&requests),
            "-D -f 7\n\
             -E -t 10.0.0.1:80 -s wrr -p 60\n\
             -d -t 10.0.0.1:80 -r 10.0.0.3:80\n\
             -e -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3 -x 100\n\
             -a -t 10.0.0.1:80 -r 10.0.0.5:8080 -m -w 1\n\
             -A -u [2001:db8::1]:53 -s rr\n\
             -a -u [2001:db8::1]:53 -r [2001:db8::2]:53 -m -w 1\n"
        );
        // The printed lines, read back, are the same requests.
        let back = restore::validate("ipvsadm", &script(&requests)).unwrap();
        assert_eq!(back.requests, requests);
        assert_eq!(
            labels(&file, &requests),
            vec![
                "-D -f 7",
                "line 1",
                "-d -t 10.0.0.1:80 -r 10.0.0.3:80",
                "line 2",
                "line 3",
                "line 4",
                "line 5"
            ]
        );
        assert!(model::diff(&file.table, &file.table, true).is_empty());
    }
}
