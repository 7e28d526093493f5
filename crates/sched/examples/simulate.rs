//! Run a scheduler over a list of weights and print the picked indices.
//!
//! ```text
//! cargo run -p sched --example simulate -- --sched wrr --weights 4,3,2 --picks 20
//! ```
//!
//! The schedulers that read the packet take its addresses:
//!
//! ```text
//! cargo run -p sched --example simulate -- --sched sh --dests 10.1.0.10:80,10.1.0.11:80 \
//!     --vip 10.2.0.1:80 --client 10.64.0.7 --sport-start 40000 --flags sh-port --picks 8
//! ```
//!
//! Prints the 0-based indices of the picks, space-separated on one line, `-`
//! for a pick with no eligible destination. See `--help` for the options.
//! Bad arguments: a message on stderr and exit status 2.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use sched::{
    Destination, KernelFacts, KernelRelease, Overhead, Packet, SchedFlags, Scheduler, Service,
};

const USAGE: &str = "\
usage: simulate --sched NAME (--weights W,W,... | --dests ADDR:PORT,...) --picks N [options]

  --sched NAME          rr wrr lc wlc sed nq fo ovf nofn nofn-seed sh dh mh lblc lblcr twos
  --weights W,W,...     destination weights in kernel list order (index 0 first)
  --dests ADDR:PORT,... the real servers in kernel list order (mh hashes them, lblc and
                        lblcr know them by them); with --weights: one per weight,
                        without: weight 1 each
  --picks N             number of picks to make
  --vip ADDR:PORT       the packets' destination (dh, lblc, lblcr hash its address);
                        default 0.0.0.0:0
  --client ADDR         the packets' source address (sh, mh); default 0.0.0.0
  --sport-start PORT    pick i comes from source port PORT + i (default: port 0 for all)
  --flags F,F,...       scheduler flags as ipvsadm -b names them: sh-fallback sh-port
                        mh-fallback mh-port flag-1 flag-2 flag-3
  --seed N              twos: its random draws come from this xorshift seed (default 1)
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
    dests: Option<Vec<SocketAddr>>,
    vip: SocketAddr,
    client: IpAddr,
    sport_start: Option<u16>,
    flags: SchedFlags,
    seed: u64,
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
    let mut dests: Option<Vec<SocketAddr>> = None;
    let mut vip = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
    let mut client = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let mut sport_start = None;
    let mut flags = SchedFlags::NONE;
    let mut seed = 1u64;
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
            "--dests" => {
                let v = value()?;
                let addrs = v
                    .split(',')
                    .map(|a| {
                        a.trim()
                            .parse::<SocketAddr>()
                            .map_err(|_| format!("--dests: {a:?} in {v:?} is not an ADDR:PORT"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                dests = Some(addrs);
            }
            "--vip" => {
                let v = value()?;
                vip = v
                    .parse()
                    .map_err(|_| format!("--vip {v:?}: expected ADDR:PORT"))?;
            }
            "--client" => {
                let v = value()?;
                client = v
                    .parse()
                    .map_err(|_| format!("--client {v:?}: expected an IP address"))?;
            }
            "--sport-start" => {
                let v = value()?;
                sport_start = Some(
                    v.parse::<u16>()
                        .map_err(|_| format!("--sport-start {v:?}: expected a port 0-65535"))?,
                );
            }
            "--flags" => {
                let v = value()?;
                flags = v.parse().map_err(|e| format!("--flags {v:?}: {e}"))?;
            }
            "--seed" => {
                let v = value()?;
                seed = v
                    .parse()
                    .map_err(|_| format!("--seed {v:?}: expected a number"))?;
            }
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
    let weights: Vec<i32> = match (weights, &dests) {
        (Some(w), Some(d)) if w.len() != d.len() => {
            return Err(format!(
                "--dests has {} addresses: expected one per weight ({})",
                d.len(),
                w.len()
            ));
        }
        (Some(w), _) => w,
        (None, Some(d)) => vec![1; d.len()],
        (None, None) => return Err("--weights or --dests is required".to_owned()),
    };
    let picks = picks.ok_or("--picks is required")?;
    if let Some(start) = sport_start
        && picks > 0
        && usize::from(start) + (picks - 1) > usize::from(u16::MAX)
    {
        return Err(format!(
            "--sport-start {start} with --picks {picks} runs past port 65535"
        ));
    }
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
        dests,
        vip,
        client,
        sport_start,
        flags,
        seed,
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
    let dests: Vec<Destination> = args
        .weights
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            let count = |c: &Option<Vec<u32>>| c.as_ref().map_or(0, |c| c[i]);
            let d = Destination::new(w)
                .with_counts(count(&args.active), count(&args.inactive))
                .with_overloaded(args.overloaded.contains(&i));
            match &args.dests {
                Some(addrs) => d.with_addr(addrs[i]),
                None => d,
            }
        })
        .collect();
    let svc = if args.incremental {
        Service::incremental(args.scheduler, dests)?
    } else {
        Service::with_destinations(args.scheduler, dests)?
    };
    Ok(svc.with_kernel_facts(args.facts).with_flags(args.flags))
}

fn run(args: &Args) -> Result<String, sched::Error> {
    let mut svc = build(args)?;
    let mut out = Vec::with_capacity(args.picks);
    let mut x = args.seed.max(1);
    let mut draw = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u32
    };
    for i in 0..args.picks {
        // Checked in parse: the ports stay within 65535.
        let port = args.sport_start.map_or(0, |s| s.wrapping_add(i as u16));
        let packet =
            Packet::new(SocketAddr::new(args.client, port), args.vip).with_random([draw(), draw()]);
        let pick = if args.connect {
            svc.pick_packet_and_connect(&packet)?
        } else {
            svc.pick_packet(&packet)
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
    fn packet_schedulers_take_addresses_ports_and_flags() {
        let dests = "--dests 10.1.0.10:80,10.1.0.11:80,10.1.0.12:80";
        // sh without the port flag: one client, one destination.
        let sh = sim(&format!(
            "--sched sh {dests} --client 10.64.0.7 --sport-start 40000 --picks 6"
        ))
        .unwrap();
        let first = sh.split(' ').next().unwrap().to_owned();
        assert_eq!(sh, [first.as_str(); 6].join(" "));
        // With sh-port the ports spread the picks over every destination.
        let spread = sim(&format!(
            "--sched sh {dests} --client 10.64.0.7 --sport-start 40000 --flags sh-port --picks 60"
        ))
        .unwrap();
        for d in ["0", "1", "2"] {
            assert!(spread.split(' ').any(|p| p == d), "{spread}");
        }
        // Weight-0 destinations keep their sh buckets: their clients get
        // nothing, unless fallback finds the next available one. (mh fills
        // its table by last weight: built with weight 0, they are not in it.)
        let quiesced = "--weights 0,0,1 --client 10.64.0.7 --sport-start 1 --picks 40";
        let none = sim(&format!("--sched sh {dests} {quiesced} --flags sh-port")).unwrap();
        assert!(none.contains('-'), "{none}");
        let all = ["2"; 40].join(" ");
        for flags in ["sh-port,sh-fallback", "flag-1,flag-2"] {
            let line = sim(&format!("--sched sh {dests} {quiesced} --flags {flags}")).unwrap();
            assert_eq!(line, all);
        }
        let mh = sim(&format!("--sched mh {dests} {quiesced} --flags mh-port")).unwrap();
        assert_eq!(mh, all);
        // dh and lblc decide by the destination address; twos by its seed.
        for s in ["dh", "lblc", "lblcr", "twos"] {
            let line = sim(&format!(
                "--sched {s} {dests} --vip 10.2.0.1:80 --picks 5 --connect"
            ))
            .unwrap();
            assert_eq!(line.split(' ').count(), 5, "{s}: {line}");
            assert!(!line.contains('-'), "{s}: {line}");
        }
        assert_ne!(
            sim("--sched twos --weights 1,1,1,1 --picks 20 --seed 7").unwrap(),
            sim("--sched twos --weights 1,1,1,1 --picks 20 --seed 8").unwrap()
        );
    }

    #[test]
    fn bad_arguments_are_named() {
        for (line, needle) in [
            ("--sched xx --weights 1 --picks 1", "unknown scheduler"),
            ("--sched rr --weights 1,a --picks 1", "\"a\""),
            ("--sched rr --weights 1 --picks", "--picks needs a value"),
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
            (
                "--sched sh --dests 10.0.0.1 --picks 1",
                "is not an ADDR:PORT",
            ),
            (
                "--sched sh --weights 1,2 --dests 10.0.0.1:80 --picks 1",
                "--dests has 1 addresses",
            ),
            ("--sched sh --weights 1 --vip x --picks 1", "--vip \"x\""),
            (
                "--sched sh --weights 1 --client 1.2.3 --picks 1",
                "--client",
            ),
            (
                "--sched sh --weights 1 --sport-start 65535 --picks 2",
                "runs past port 65535",
            ),
            (
                "--sched sh --weights 1 --flags sh-bogus --picks 1",
                "unknown scheduler flag",
            ),
            (
                "--sched sh --dests 10.0.0.1:80,10.0.0.1:80 --picks 1",
                "already in the service",
            ),
            ("--sched rr --picks 1", "--weights or --dests is required"),
        ] {
            let err = sim(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
