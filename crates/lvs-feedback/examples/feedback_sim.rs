//! The notebook's "CPU-aware round robin", in simulation: a load trace
//! replayed against the kernel's `wrr` (the `sched` crate), once with the
//! configured weights and once with load feedback (agents reporting spare
//! capacity, this crate's policy turning it into weights), and how evenly
//! CPU ends up spread.
//!
//! ```text
//! cargo run -p lvs-feedback --example feedback-sim
//! cargo run -p lvs-feedback --example feedback-sim -- --capacity 1,1,0.5 --demand 0.7 --timeline
//! ```
//!
//! The model, in steps of 100 ms: requests arrive at `--demand` × the
//! servers' total capacity (each costs `--cost-ms` of one CPU), `wrr` picks
//! a real server for each, whose queue of work grows by that cost. Each
//! server runs its background load from the trace first, then its queue,
//! at its capacity (CPUs). Its CPU utilisation per second is what an agent
//! reading `/proc/stat` would see. With feedback, each agent reports the
//! spare capacity of its last `--window` seconds every `--interval`
//! seconds, in the agent protocol, and the policy's weights go to `wrr`.
//!
//! Trace lines (`--trace FILE`, `#` comments): `START END SERVER LOAD`,
//! seconds, a 0-based server index, the background load's share of the
//! server's CPUs (0-1); overlapping lines add up (capped at 1). Without a
//! file, a built-in trace: a batch job takes half of server 0 from 60 s to
//! 240 s, and 30 % of server 2 from 150 s to 300 s.
//!
//! Bad arguments: a message on stderr and exit status 2.

use std::process::ExitCode;
use std::time::Duration;

use lvs_feedback::load::{Window, spare_percent};
use lvs_feedback::{Config, Pool, Report};
use sched::{Destination, Scheduler, Service};

const USAGE: &str = "\
usage: feedback-sim [options]

  --capacity C,C,...   CPUs of each real server (default 1,1,1)
  --weights W,W,...    configured wrr weights (default 100 each)
  --demand F           requests' CPU demand as a share of all capacity (default 0.6)
  --cost-ms N          CPU milliseconds per request (default 10)
  --seconds N          length of the run (default 300)
  --trace FILE         background load lines: START END SERVER LOAD (default: built in)
  --interval N         agent and policy interval, seconds (default 2)
  --window N           agent's measuring window, seconds (default 4)
  --alpha F            policy: EWMA weight of a new report (default 0.5)
  --step N             policy: largest step per interval, % of configured (default 25)
  --band N             policy: hysteresis band, % of configured (default 5)
  --timeline           also print utilisation per server every 10 s
  -h, --help           print this help";

const BUILT_IN_TRACE: &str = "\
# start end server load
60 240 0 0.5
150 300 2 0.3
";

/// Steps per second.
const STEPS: u32 = 10;

#[derive(Debug, Clone, PartialEq)]
struct Load {
    start: u64,
    end: u64,
    server: usize,
    share: f64,
}

#[derive(Debug)]
struct Args {
    capacity: Vec<f64>,
    weights: Vec<u32>,
    demand: f64,
    cost: f64,
    seconds: u64,
    trace: Vec<Load>,
    interval: u64,
    window: u64,
    policy: Config,
    timeline: bool,
}

fn list<T: std::str::FromStr>(option: &str, value: &str) -> Result<Vec<T>, String> {
    value
        .split(',')
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| format!("{option}: {v:?} in {value:?} is not a valid number"))
        })
        .collect()
}

fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{option}: {value:?} is not a valid number"))
}

fn parse_trace(name: &str, text: &str, servers: usize) -> Result<Vec<Load>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let at = format!("{name}:{}", n + 1);
        let f: Vec<&str> = line.split_whitespace().collect();
        let [start, end, server, share] = f[..] else {
            return Err(format!(
                "{at}: expected START END SERVER LOAD, got {line:?}"
            ));
        };
        let load = Load {
            start: number(&at, start)?,
            end: number(&at, end)?,
            server: number(&at, server)?,
            share: number(&at, share)?,
        };
        if load.server >= servers {
            return Err(format!(
                "{at}: server {} does not exist (there are {servers})",
                load.server
            ));
        }
        if !(0.0..=1.0).contains(&load.share) {
            return Err(format!("{at}: load {} is not between 0 and 1", load.share));
        }
        if load.end < load.start {
            return Err(format!("{at}: ends before it starts"));
        }
        out.push(load);
    }
    Ok(out)
}

/// `Ok(None)`: help was asked for.
fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut capacity = vec![1.0; 3];
    let mut weights = None;
    let mut demand = 0.6;
    let mut cost_ms = 10.0;
    let mut seconds = 300;
    let mut trace_file = None;
    let mut interval = 2;
    let mut window = 4;
    let mut timeline = false;
    let mut policy = Config {
        blackout: Duration::ZERO,
        ..Config::default()
    };
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--capacity" => capacity = list("--capacity", &value()?)?,
            "--weights" => weights = Some(list("--weights", &value()?)?),
            "--demand" => demand = number("--demand", &value()?)?,
            "--cost-ms" => cost_ms = number("--cost-ms", &value()?)?,
            "--seconds" => seconds = number("--seconds", &value()?)?,
            "--trace" => trace_file = Some(value()?),
            "--interval" => interval = number("--interval", &value()?)?,
            "--window" => window = number("--window", &value()?)?,
            "--alpha" => policy.alpha = number("--alpha", &value()?)?,
            "--step" => policy.max_step_percent = number("--step", &value()?)?,
            "--band" => policy.band_percent = number("--band", &value()?)?,
            "--timeline" => timeline = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let n = capacity.len();
    if capacity.iter().any(|&c: &f64| !(c > 0.0 && c <= 1024.0)) {
        return Err("--capacity: each must be more than 0 and at most 1024 CPUs".into());
    }
    let weights = weights.unwrap_or_else(|| vec![100; n]);
    if weights.len() != n {
        return Err(format!(
            "--weights has {} values: expected one per server ({n})",
            weights.len()
        ));
    }
    if weights.iter().any(|&w| w == 0 || w > 65535) {
        return Err("--weights: each must be 1 to 65535".into());
    }
    if !(demand > 0.0 && demand <= 2.0) {
        return Err("--demand must be more than 0 and at most 2".into());
    }
    if !(cost_ms > 0.0 && cost_ms <= 10_000.0) {
        return Err("--cost-ms must be more than 0 and at most 10000".into());
    }
    if seconds == 0 || seconds > 86_400 {
        return Err("--seconds must be 1 to 86400".into());
    }
    if interval == 0 || window == 0 || interval > 3600 || window > 3600 {
        return Err("--interval and --window must be 1 to 3600 seconds".into());
    }
    policy.validate().map_err(|e| format!("policy: {e}"))?;
    let trace = match trace_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("--trace {path}: {e}"))?;
            parse_trace(&path, &text, n)?
        }
        None => parse_trace("built-in trace", BUILT_IN_TRACE, n)?,
    };
    Ok(Some(Args {
        capacity,
        weights,
        demand,
        cost: cost_ms / 1000.0,
        seconds,
        trace,
        interval,
        window,
        policy,
        timeline,
    }))
}

/// What one run gives.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// Mean over the seconds of (highest − lowest utilisation).
    spread: f64,
    /// Mean over the seconds of the standard deviation of utilisation.
    stddev: f64,
    /// Server-seconds at 99 % utilisation or more.
    saturated: u64,
    /// Longest queue seen, in seconds of work at the server's speed.
    max_queue: f64,
    /// Weight changes made by the policy.
    changes: usize,
    /// Utilisation per server per second.
    util: Vec<Vec<f64>>,
}

fn background(trace: &[Load], server: usize, second: u64) -> f64 {
    trace
        .iter()
        .filter(|l| l.server == server && l.start <= second && second < l.end)
        .map(|l| l.share)
        .sum::<f64>()
        .min(1.0)
}

fn simulate(args: &Args, feedback: bool) -> Result<Outcome, String> {
    let n = args.capacity.len();
    let dests = args.weights.iter().map(|&w| Destination::new(w as i32));
    let mut svc = Service::with_destinations(Scheduler::Wrr, dests).map_err(|e| e.to_string())?;
    let mut pool = Pool::new(args.policy.clone()).map_err(|e| e.to_string())?;
    for &w in &args.weights {
        pool.add(w, true);
    }
    let mut agents: Vec<Window> = (0..n)
        .map(|_| Window::new(Duration::from_secs(args.window)))
        .collect();
    let total: f64 = args.capacity.iter().sum();
    let per_step = args.demand * total / args.cost / f64::from(STEPS);
    let dt = 1.0 / f64::from(STEPS);
    let mut arrivals = 0.0;
    let mut queue = vec![0.0; n];
    let mut util = vec![Vec::with_capacity(args.seconds as usize); n];
    let mut changes = 0;
    let mut max_queue: f64 = 0.0;
    for second in 0..args.seconds {
        let mut busy = vec![0.0; n];
        for _ in 0..STEPS {
            arrivals += per_step;
            while arrivals >= 1.0 {
                arrivals -= 1.0;
                if let Some(i) = svc.pick() {
                    queue[i] += args.cost;
                }
            }
            for i in 0..n {
                let bg = background(&args.trace, i, second);
                let free = args.capacity[i] * (1.0 - bg) * dt;
                let done = queue[i].min(free);
                queue[i] -= done;
                busy[i] += bg * args.capacity[i] * dt + done;
                max_queue = max_queue.max(queue[i] / args.capacity[i]);
            }
        }
        let now = Duration::from_secs(second + 1);
        for i in 0..n {
            let u = (busy[i] / args.capacity[i]).clamp(0.0, 1.0);
            util[i].push(u);
            agents[i].push(now, u);
        }
        if feedback && (second + 1) % args.interval == 0 {
            for (i, agent) in agents.iter().enumerate() {
                let Some(load) = agent.mean(now) else {
                    continue;
                };
                // Through the wire format, as the director would read it.
                let line = format!("{}\n", Report::up(spare_percent(load, 100)));
                let report = Report::parse(line.as_bytes()).map_err(|e| e.to_string())?;
                pool.report(i, now, &report);
            }
            for change in pool.tick(now) {
                svc.set_weight(change.server, change.to as i32)
                    .map_err(|e| e.to_string())?;
                changes += 1;
            }
        }
    }
    let secs = args.seconds as usize;
    let (mut spread, mut stddev, mut saturated) = (0.0, 0.0, 0);
    for t in 0..secs {
        let us: Vec<f64> = util.iter().map(|u| u[t]).collect();
        let max = us.iter().copied().fold(f64::MIN, f64::max);
        let min = us.iter().copied().fold(f64::MAX, f64::min);
        let mean = us.iter().sum::<f64>() / n as f64;
        spread += max - min;
        stddev += (us.iter().map(|u| (u - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        saturated += us.iter().filter(|&&u| u >= 0.99).count() as u64;
    }
    Ok(Outcome {
        spread: spread / secs as f64,
        stddev: stddev / secs as f64,
        saturated,
        max_queue,
        changes,
        util,
    })
}

fn report(args: &Args) -> Result<String, String> {
    let fixed = simulate(args, false)?;
    let fed = simulate(args, true)?;
    let mut out = String::new();
    out.push_str(&format!(
        "{} real servers (CPUs {:?}, weights {:?}), demand {:.0} % of capacity, {} s, {} trace lines\n\n",
        args.capacity.len(),
        args.capacity,
        args.weights,
        args.demand * 100.0,
        args.seconds,
        args.trace.len()
    ));
    out.push_str("| wrr | mean spread (max - min CPU) | mean std dev | saturated server-seconds | longest queue (s) | weight changes |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    for (name, o) in [("configured weights", &fixed), ("with feedback", &fed)] {
        out.push_str(&format!(
            "| {name} | {:.1} % | {:.1} % | {} | {:.1} | {} |\n",
            o.spread * 100.0,
            o.stddev * 100.0,
            o.saturated,
            o.max_queue,
            o.changes
        ));
    }
    if args.timeline {
        out.push_str("\nCPU % per server every 10 s (configured | feedback)\n");
        for t in (9..args.seconds as usize).step_by(10) {
            let col = |o: &Outcome| {
                o.util
                    .iter()
                    .map(|u| format!("{:3.0}", u[t] * 100.0))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            out.push_str(&format!("{:4} s  {} | {}\n", t + 1, col(&fixed), col(&fed)));
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("feedback-sim: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match report(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("feedback-sim: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Args {
        parse(line.split_whitespace().map(str::to_owned))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn feedback_spreads_the_built_in_trace_more_evenly() {
        let a = args("");
        let fixed = simulate(&a, false).unwrap();
        let fed = simulate(&a, true).unwrap();
        assert!(
            fed.spread < fixed.spread * 0.7,
            "{} vs {}",
            fed.spread,
            fixed.spread
        );
        assert!(fed.saturated < fixed.saturated);
        assert!(fed.changes > 0);
        assert_eq!(fixed.changes, 0);
    }

    #[test]
    fn without_background_load_feedback_changes_little() {
        let a = args("--seconds 120");
        let a = Args {
            trace: Vec::new(),
            ..a
        };
        let fixed = simulate(&a, false).unwrap();
        let fed = simulate(&a, true).unwrap();
        // Equal servers, equal shares: both even.
        assert!(fixed.spread < 0.02, "{}", fixed.spread);
        assert!(fed.spread < 0.02, "{}", fed.spread);
        assert_eq!(fixed.saturated, 0);
    }

    #[test]
    fn bad_arguments_are_named() {
        for (line, needle) in [
            ("--capacity 1,x", "\"x\""),
            ("--capacity 1,0", "more than 0"),
            ("--weights 1,2", "expected one per server"),
            ("--weights 0,1,1", "1 to 65535"),
            ("--demand 0", "--demand"),
            ("--seconds 0", "--seconds"),
            ("--interval 0", "--interval"),
            ("--trace /nonexistent", "/nonexistent"),
            ("--frob", "--frob"),
            ("--alpha 0", "alpha"),
            ("--step 0", "max step"),
            ("--demand", "needs a value"),
        ] {
            let err = parse(line.split_whitespace().map(str::to_owned)).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
        for (text, needle) in [
            ("1 2 3", "expected START END SERVER LOAD"),
            ("0 10 5 0.5", "server 5 does not exist"),
            ("0 10 0 1.5", "not between 0 and 1"),
            ("10 0 0 0.5", "ends before"),
            ("a 10 0 0.5", "\"a\""),
        ] {
            let err = parse_trace("t", text, 3).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        assert_eq!(parse_trace("t", "# only\n\n", 3).unwrap(), []);
    }
}
