//! `lvsd status [--json]`: the running daemon's services and real servers.
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use serde_json::Value;

use crate::daemon::control;
use crate::run::DEFAULT_SOCKET;

/// Arguments of `lvsd status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The daemon's control socket.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Print the daemon's JSON (schema in docs/lvsd.md).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let answer = control::ask(&args.socket, "status")?;
    if answer["ok"] != true {
        anyhow::bail!("{}", answer["error"].as_str().unwrap_or("status refused"));
    }
    let status = &answer["status"];
    if args.json {
        println!("{}", serde_json::to_string_pretty(status)?);
    } else {
        print!("{}", render(status, now()));
    }
    Ok(ExitCode::SUCCESS)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The human form: one block per service, one line per real server.
pub fn render(status: &Value, now: u64) -> String {
    let mut out = String::new();
    let empty = Vec::new();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    };
    for service in status["services"].as_array().unwrap_or(&empty) {
        let _ = writeln!(
            out,
            "{} {} check={}{}{}",
            text(&service["service"]),
            text(&service["scheduler"]),
            text(&service["check"]),
            if service["in_kernel"] == true {
                ""
            } else {
                " (not in the kernel)"
            },
            match service["sorry"].as_str() {
                Some(s) if service["sorry_active"] == true => format!(" sorry={s} (active)"),
                Some(s) => format!(" sorry={s}"),
                None => String::new(),
            }
        );
        for real in service["reals"].as_array().unwrap_or(&empty) {
            let since = real["since"].as_u64().unwrap_or(0);
            let last = &real["last_check"];
            let _ = writeln!(
                out,
                "  {:<24} {:<4} for {:>6}s  weight {}/{}  active {}  {}",
                text(&real["address"]),
                text(&real["health"]),
                now.saturating_sub(since),
                text(&real["weight"]),
                text(&real["configured_weight"]),
                text(&real["connections"]["active"]),
                if last.is_null() {
                    "no check yet".to_string()
                } else {
                    format!(
                        "last check: {} in {:.1} ms",
                        text(&last["detail"]),
                        last["latency_seconds"].as_f64().unwrap_or(0.0) * 1000.0
                    )
                }
            );
            let agent = &real["agent"];
            if !agent.is_null() {
                let _ = writeln!(
                    out,
                    "  {:<24} feedback weight {} ({}){}",
                    "",
                    text(&agent["weight"]),
                    text(&agent["reason"]),
                    match agent["error"].as_str() {
                        Some(e) => format!("; agent not answering: {e}"),
                        None => String::new(),
                    }
                );
            }
        }
        for d in service["draining"].as_array().unwrap_or(&empty) {
            let _ = writeln!(
                out,
                "  {:<24} draining for {}s, weight {}, active {}",
                text(&d["address"]),
                now.saturating_sub(d["since"].as_u64().unwrap_or(0)),
                text(&d["weight"]),
                text(&d["active"])
            );
        }
    }
    for foreign in status["foreign"].as_array().unwrap_or(&empty) {
        let _ = writeln!(
            out,
            "{} (foreign: not in the file, left alone)",
            text(foreign)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_server_with_an_agent_shows_its_feedback() {
        let status = serde_json::json!({
            "services": [{
                "service": "TCP 10.0.0.1:80", "scheduler": "wrr", "check": "none",
                "in_kernel": true, "sorry": null, "sorry_active": false,
                "draining": [],
                "reals": [
                    {"address": "10.0.1.2:80", "health": "up", "since": 90, "weight": 75,
                     "configured_weight": 100, "connections": {"active": 3}, "last_check": null,
                     "agent": {"weight": 75, "spare_percent": 40.0,
                               "reason": "agent reports 40.0% spare (smoothed)", "error": null,
                               "changes": {"load": 1}}},
                    {"address": "10.0.1.3:80", "health": "up", "since": 90, "weight": 100,
                     "configured_weight": 100, "connections": {"active": 0}, "last_check": null,
                     "agent": {"weight": 100, "spare_percent": null,
                               "reason": "no usable report: weight held",
                               "error": "10.0.1.3:3333: Connection refused (os error 111)",
                               "changes": {}}},
                    {"address": "10.0.1.4:80", "health": "up", "since": 90, "weight": 1,
                     "configured_weight": 1, "connections": {"active": 0}, "last_check": null,
                     "agent": null}
                ]
            }],
            "foreign": []
        });
        let text = render(&status, 100);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(
            lines[2].trim(),
            "feedback weight 75 (agent reports 40.0% spare (smoothed))"
        );
        assert_eq!(
            lines[4].trim(),
            "feedback weight 100 (no usable report: weight held); agent not answering: 10.0.1.3:3333: Connection refused (os error 111)"
        );
        assert!(lines[5].starts_with("  10.0.1.4:80"), "{text}");
    }
}
