//! Run a scheduler over a list of weights and print the picked indices.
//!
//! ```text
//! cargo run -p sched --example simulate -- --sched wrr --weights 4,3,2 --picks 20
//! ```
//!
//! Prints the 0-based indices of the picks, space-separated on one line, `-`
//! for a pick with no eligible destination. See `--help` for the options.
//! Bad arguments: a message on stderr and exit status 2.

use std::process::ExitCode;

use sched::{Dest, KernelFacts, KernelRelease, Overhead, Scheduler, Service};

const USAGE: &str = "\
usage: simulate --sched NAME --weights W,W,... --picks N [options]

  --sched NAME          rr wrr lc wlc sed nq fo ovf nofn nofn-seed
  --weights W,W,...     destination weights in kernel list order (index 0 first)
  --picks N             number of picks to make
  --overloaded I,I,...  indices whose OVERLOAD flag is set
  --active N,N,...      initial active connections, one per destination
  --inactive N,N,...    initial inactive connections, one per destination
  --connect             each pick adds one active connection to the picked destination
  --kernel RELEASE      behave as this kernel release does (6.1.172, 6.1.192-3, ...):
                        its lc/wlc overhead and threshold rule (sched::KernelFacts);
                        default: the newest behaviour known (6.1.183 and later)
  --overhead current|classic
                        lc/wlc overhead: 257*active+inactive (current, default)
                        or 256*active+inactive (classic); overrides --kernel's
  --incremental         build the service empty and add the destinations one at a
                        time, last index first (ipvsadm -A, then -a); default: bind
                        the scheduler after they exist (ipvsadm -E -s NAME)
  -h, --help            print this help";

#[derive(Debug)]
struct Args {
    scheduler: Scheduler,
    weights: Vec<i32>,
    picks: usize,
    overloaded: Vec<usize>,
    active: Option<Vec<u32>>,
    inactive: Option<Vec<u32>>,
    connect: bool,
    facts: KernelFacts,
    incremental: bool,
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

/// `Ok(None)`: help was asked for.
fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut scheduler = None;
    let mut weights = None;
    let mut picks = None;
    let mut overloaded = Vec::new();
    let mut active = None;
    let mut inactive = None;
    let mut connect = false;
    let mut facts = KernelFacts::CURRENT;
    let mut overhead = None;
    let mut incremental = false;
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--sched" => {
                let v = value()?;
                scheduler = Some(
                    v.parse::<Scheduler>()
                        .map_err(|e| format!("--sched {v:?}: {e}"))?,
                );
            }
            "--weights" => weights = Some(list::<i32>("--weights", &value()?)?),
            "--picks" => {
                let v = value()?;
                picks = Some(
                    v.parse::<usize>()
                        .map_err(|_| format!("--picks {v:?}: expected a number of picks"))?,
                );
            }
            "--overloaded" => overloaded = list("--overloaded", &value()?)?,
            "--active" => active = Some(list("--active", &value()?)?),
            "--inactive" => inactive = Some(list("--inactive", &value()?)?),
            "--connect" => connect = true,
            "--incremental" => incremental = true,
            "--overhead" => {
                overhead = Some(match value()?.as_str() {
                    "current" => Overhead::Current,
                    "classic" => Overhead::Classic,
                    v => return Err(format!("--overhead {v:?}: expected current or classic")),
                })
            }
            "--kernel" => {
                let v = value()?;
                let release: KernelRelease =
                    v.parse().map_err(|e| format!("--kernel {v:?}: {e}"))?;
                facts = KernelFacts::for_release(release);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(overhead) = overhead {
        facts.overhead = overhead;
    }
    let scheduler = scheduler.ok_or("--sched is required")?;
    let weights: Vec<i32> = weights.ok_or("--weights is required")?;
    let picks = picks.ok_or("--picks is required")?;
    let n = weights.len();
    for (name, counts) in [("--active", &active), ("--inactive", &inactive)] {
        if let Some(c) = counts
            && c.len() != n
        {
            return Err(format!(
                "{name} has {} values: expected one per weight ({n})",
                c.len()
            ));
        }
    }
    if let Some(&i) = overloaded.iter().find(|&&i| i >= n) {
        return Err(format!(
            "--overloaded index {i} is out of range: expected less than {n}"
        ));
    }
    Ok(Some(Args {
        scheduler,
        weights,
        picks,
        overloaded,
        active,
        inactive,
        connect,
        facts,
        incremental,
    }))
}

fn build(args: &Args) -> Result<Service, sched::Error> {
    let dests: Vec<Dest> = args
        .weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let count = |c: &Option<Vec<u32>>| c.as_ref().map_or(0, |c| c[i]);
            Dest::new(w)
                .with_counts(count(&args.active), count(&args.inactive))
                .with_overloaded(args.overloaded.contains(&i))
        })
        .collect();
    let svc = if args.incremental {
        Service::incremental(args.scheduler, dests)?
    } else {
        Service::with_dests(args.scheduler, dests)?
    };
    Ok(svc.with_kernel_facts(args.facts))
}

fn run(args: &Args) -> Result<String, sched::Error> {
    let mut svc = build(args)?;
    let mut out = Vec::with_capacity(args.picks);
    for _ in 0..args.picks {
        let pick = if args.connect {
            svc.pick_and_connect()?
        } else {
            svc.pick()
        };
        out.push(pick.map_or_else(|| "-".to_owned(), |i| i.to_string()));
    }
    Ok(out.join(" "))
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("simulate: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("simulate: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(line: &str) -> Result<String, String> {
        let args = parse(line.split_whitespace().map(str::to_owned))?.expect("not --help");
        run(&args).map_err(|e| e.to_string())
    }

    #[test]
    fn the_issue_command_prints_the_classic_wrr_cycle() {
        assert_eq!(
            sim("--sched wrr --weights 4,3,2 --picks 20").unwrap(),
            "0 0 1 0 1 2 0 1 2 0 0 1 0 1 2 0 1 2 0 0"
        );
        assert_eq!(
            sim("--sched wrr --weights 4,3,2 --picks 9 --incremental").unwrap(),
            "0 1 2 0 0 1 0 1 2"
        );
    }

    #[test]
    fn options_shape_the_sequence() {
        assert_eq!(
            sim("--sched wlc --weights 3,1,2 --picks 8 --connect --incremental").unwrap(),
            "0 1 2 0 2 0 0 1"
        );
        assert_eq!(
            sim("--sched lc --weights 1,1 --active 1,0 --inactive 0,256 --picks 1").unwrap(),
            "1"
        );
        assert_eq!(
            sim("--sched lc --weights 1,1 --active 1,0 --inactive 0,256 --picks 1 --overhead classic")
                .unwrap(),
            "0"
        );
        // The kernel on my director: 6.1.172 weighs as the classic formula.
        let lc = "--sched lc --weights 1,1 --active 1,0 --inactive 0,256 --picks 1";
        assert_eq!(sim(&format!("{lc} --kernel 6.1.172")).unwrap(), "0");
        assert_eq!(sim(&format!("{lc} --kernel 6.1.192-3")).unwrap(), "1");
        assert_eq!(
            sim(&format!("{lc} --kernel 6.1.172 --overhead current")).unwrap(),
            "1"
        );
        assert_eq!(
            sim("--sched rr --weights 1,1 --overloaded 0,1 --picks 2").unwrap(),
            "- -"
        );
        assert_eq!(
            sim("--sched nofn --weights 1,1 --picks 4").unwrap(),
            "0 1 1 0"
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        for (line, needle) in [
            ("--sched xx --weights 1 --picks 1", "unknown scheduler"),
            ("--sched rr --weights 1,a --picks 1", "\"a\""),
            ("--sched rr --weights 1 --picks", "--picks needs a value"),
            ("--sched rr --picks 1", "--weights is required"),
            (
                "--sched rr --weights 1,2 --active 1 --picks 1",
                "--active has 1 values",
            ),
            ("--sched rr --weights 1 --overloaded 3 --picks 1", "index 3"),
            (
                "--sched rr --weights 1 --picks 1 --overhead new",
                "current or classic",
            ),
            ("--sched rr --weights 1 --picks 1 --frob", "--frob"),
            (
                "--sched rr --weights 1 --picks 1 --kernel 6",
                "--kernel \"6\": expected a kernel release",
            ),
            ("--sched rr --weights -1 --picks 1", "negative"),
        ] {
            let err = sim(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
