//! `lvs-agent serve`: answers each TCP connection with one line of HAProxy's
//! agent-check protocol giving this server's spare capacity.
//!
//! A sampler thread measures the load every `--interval` and keeps the
//! samples of the last `--window`; the listener answers from their mean,
//! without measuring anything per connection (one `stat` of the drain file).
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use lvs_feedback::load::{self, CpuMax, CpuTimes, Window};
use lvs_feedback::{Admin, Health, Report};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The longest output read from `--command`.
const COMMAND_OUTPUT_MAX: u64 = 4096;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on (all IPv4 addresses by default: the
    /// director must reach it).
    #[arg(long, default_value = "0.0.0.0:3333", value_name = "ADDR:PORT")]
    listen: SocketAddr,

    /// Measure this cgroup v2 directory's CPU use (cpu.stat) against its
    /// quota (cpu.max) instead of the whole machine's (/proc/stat).
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    cgroup: Option<PathBuf>,

    /// Run this program for the load instead of reading /proc/stat: it
    /// prints a number from 0 (idle) to 100 (full). Split on white space and
    /// run without a shell.
    #[arg(long, value_name = "CMD")]
    command: Option<String>,

    /// Kill --command (and every process it started) after this long.
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = parse_duration)]
    command_timeout: Duration,

    /// Also count the 1-minute load average per CPU as a load.
    #[arg(long)]
    loadavg: bool,

    /// Also count the fraction of memory in use (1 - MemAvailable/MemTotal)
    /// as a load.
    #[arg(long)]
    memory: bool,

    /// While this file exists, answer `drain`.
    #[arg(long, value_name = "PATH")]
    drain_file: Option<PathBuf>,

    /// Never report more than this percentage.
    #[arg(long, default_value_t = 100, value_name = "PERCENT",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    max_weight_percent: u32,

    /// Measure every DURATION.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration)]
    interval: Duration,

    /// Report the mean load of the last DURATION.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    window: Duration,
}

/// `500ms`, `2s`, `1m`: a number and a unit.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit (500ms, 2s, 1m)"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("{s:?}: the unit must be ms, s or m")),
    };
    if d.is_zero() {
        return Err(format!("{s:?}: must be more than 0"));
    }
    Ok(d)
}

/// Where the main load comes from.
#[derive(Debug)]
enum Source {
    ProcStat {
        prev: CpuTimes,
    },
    Cgroup {
        dir: PathBuf,
        machine_cpus: u32,
        prev_usage: u64,
        prev_at: Instant,
    },
    Command {
        line: String,
        argv: Vec<String>,
        timeout: Duration,
    },
}

fn read(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn proc_stat() -> anyhow::Result<CpuTimes> {
    Ok(CpuTimes::parse_proc_stat(&read(Path::new("/proc/stat"))?)?)
}

fn machine_cpus() -> anyhow::Result<u32> {
    Ok(load::count_cpus(&read(Path::new("/proc/stat"))?))
}

impl Source {
    /// Checks the source and takes its first reading: the load when one
    /// reading is enough (`--command`).
    fn open(args: &Args) -> anyhow::Result<(Source, Option<f64>)> {
        if let Some(line) = &args.command {
            let argv: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            if argv.is_empty() {
                bail!("--command is empty");
            }
            let source = Source::Command {
                line: line.clone(),
                argv,
                timeout: args.command_timeout,
            };
            let first = source.run_command()?;
            return Ok((source, Some(first)));
        }
        if let Some(dir) = &args.cgroup {
            let usage = cgroup_usage(dir).with_context(|| {
                format!("--cgroup {}: not a cgroup v2 directory", dir.display())
            })?;
            cgroup_cpus(dir, 1).with_context(|| format!("--cgroup {}", dir.display()))?;
            let source = Source::Cgroup {
                dir: dir.clone(),
                machine_cpus: machine_cpus()?,
                prev_usage: usage,
                prev_at: Instant::now(),
            };
            return Ok((source, None));
        }
        Ok((Source::ProcStat { prev: proc_stat()? }, None))
    }

    fn describe(&self) -> String {
        match self {
            Source::ProcStat { .. } => "CPU use from /proc/stat".into(),
            Source::Cgroup { dir, .. } => format!("CPU use of cgroup {}", dir.display()),
            Source::Command { line, .. } => format!("the load printed by {line:?}"),
        }
    }

    /// The load since the last sample, in [0, 1].
    fn sample(&mut self) -> anyhow::Result<f64> {
        match self {
            Source::ProcStat { prev } => {
                let now = proc_stat()?;
                let busy = load::cpu_busy(*prev, now);
                *prev = now;
                Ok(busy)
            }
            Source::Cgroup {
                dir,
                machine_cpus,
                prev_usage,
                prev_at,
            } => {
                let at = Instant::now();
                let usage = cgroup_usage(dir)?;
                let cpus = cgroup_cpus(dir, *machine_cpus)?;
                let busy = load::cgroup_busy(*prev_usage, usage, at - *prev_at, cpus);
                *prev_usage = usage;
                *prev_at = at;
                Ok(busy)
            }
            Source::Command { .. } => self.run_command(),
        }
    }

    fn run_command(&self) -> anyhow::Result<f64> {
        let Source::Command {
            line,
            argv,
            timeout,
        } = self
        else {
            bail!("not a command source");
        };
        let value = run_command(argv, *timeout).with_context(|| format!("--command {line:?}"))?;
        Ok(value / 100.0)
    }
}

fn cgroup_usage(dir: &Path) -> anyhow::Result<u64> {
    Ok(load::parse_cpu_stat_usage(&read(&dir.join("cpu.stat"))?)?)
}

/// The CPUs the cgroup may use: its `cpu.max` quota; no `cpu.max` (the root
/// cgroup, or the cpu controller not enabled for it) means no quota.
fn cgroup_cpus(dir: &Path, machine_cpus: u32) -> anyhow::Result<f64> {
    let path = dir.join("cpu.max");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(CpuMax::parse(&text)?.cpus(machine_cpus)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(CpuMax::Unlimited.cpus(machine_cpus))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Runs `argv` without a shell in a process group of its own, kills the
/// group when it ends or after `timeout`, and reads the number (0-100) on
/// the first line of its output.
fn run_command(argv: &[String], timeout: Duration) -> anyhow::Result<f64> {
    let (program, args) = argv.split_first().context("empty command")?;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {program:?}"))?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for it")? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    // Whatever it left running goes too, so that nothing piles up and the
    // output pipe closes.
    kill_group(child.id());
    let Some(status) = status else {
        let _ = child.wait();
        bail!("no answer within {timeout:?}: killed");
    };
    if !status.success() {
        bail!("failed: {status}");
    }
    let mut out = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(COMMAND_OUTPUT_MAX)
            .read_to_end(&mut out)
            .context("reading its output")?;
    }
    parse_command_output(&out)
}

fn kill_group(pid: u32) {
    // The group is gone already when the command left nothing behind.
    if let Ok(pid) = i32::try_from(pid) {
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

fn parse_command_output(out: &[u8]) -> anyhow::Result<f64> {
    let text = String::from_utf8_lossy(out);
    let first = text.lines().next().unwrap_or("").trim();
    match first.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        _ => bail!(
            "printed {:?}: expected a number from 0 to 100",
            first.chars().take(40).collect::<String>()
        ),
    }
}

/// The optional terms, read at each sample.
fn extra_load(args: &Args, cpus: u32) -> anyhow::Result<Option<f64>> {
    let mut load: Option<f64> = None;
    if args.loadavg {
        let l = load::parse_loadavg(&read(Path::new("/proc/loadavg"))?)? / f64::from(cpus);
        load = Some(load.map_or(l, |x| x.max(l)));
    }
    if args.memory {
        let m = load::parse_meminfo_used(&read(Path::new("/proc/meminfo"))?)?;
        load = Some(load.map_or(m, |x| x.max(m)));
    }
    Ok(load.map(|l| l.clamp(0.0, 1.0)))
}

/// The answer for a load in [0, 1] (`None`: not measured yet).
fn answer(load: Option<f64>, draining: bool, max_percent: u32) -> Report {
    if draining {
        return Report {
            admin: Some(Admin::Drain),
            ..Report::default()
        };
    }
    Report {
        health: Some(Health::Up),
        admin: Some(Admin::Ready),
        percent: load.map(|l| load::spare_percent(l, max_percent)),
        ..Report::default()
    }
}

/// The sampler: measures every interval and publishes the combined load.
/// `first`: a reading taken when the source was opened.
fn sample_forever(
    mut source: Source,
    first: Option<f64>,
    args: Args,
    shared: Arc<Mutex<Option<f64>>>,
) {
    let start = Instant::now();
    let mut window = Window::new(args.window);
    if let Some(v) = first {
        window.push(Duration::ZERO, v);
    }
    let cpus = machine_cpus().unwrap_or(1);
    let mut failing = false;
    loop {
        thread::sleep(args.interval);
        let now = start.elapsed();
        let measured = source
            .sample()
            .and_then(|main| Ok((main, extra_load(&args, cpus)?)));
        match measured {
            Ok((main, extra)) => {
                if failing {
                    eprintln!("lvs-agent: measuring works again");
                    failing = false;
                }
                window.push(now, main);
                let load = window.mean(now).map(|m| extra.map_or(m, |e| m.max(e)));
                if let Ok(mut l) = shared.lock() {
                    *l = load;
                }
            }
            Err(e) => {
                if !failing {
                    eprintln!("lvs-agent: measuring failed (reporting the last window): {e:#}");
                    failing = true;
                }
                let load = window.mean(now);
                if let Ok(mut l) = shared.lock() {
                    *l = load;
                }
            }
        }
    }
}

fn serve_one(mut stream: TcpStream, line: &str) -> std::io::Result<()> {
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    stream.write_all(line.as_bytes())?;
    stream.shutdown(Shutdown::Write)?;
    // Read what the checker may have sent (HAProxy's agent-send) so that
    // closing does not reset the connection under our answer.
    stream.set_nonblocking(true)?;
    let mut sink = [0u8; 512];
    let _ = stream.read(&mut sink);
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (source, first) = Source::open(&args)?;
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("--listen {}: cannot listen", args.listen))?;
    let local = listener
        .local_addr()
        .context("reading the listening address")?;
    let shared = Arc::new(Mutex::new(first));
    eprintln!(
        "lvs-agent: serving on {local}: spare capacity from {}, every {:?} over {:?}",
        source.describe(),
        args.interval,
        args.window
    );
    let drain_file = args.drain_file.clone();
    let max = args.max_weight_percent;
    {
        let shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("sampler".into())
            .spawn(move || sample_forever(source, first, args, shared))
            .context("starting the sampler thread")?;
    }
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let draining = drain_file.as_deref().is_some_and(Path::exists);
                let load = shared.lock().map(|l| *l).unwrap_or(None);
                let line = format!("{}\n", answer(load, draining, max));
                if let Err(e) = serve_one(stream, &line) {
                    eprintln!("lvs-agent: answering a connection: {e}");
                }
            }
            Err(e) => {
                eprintln!("lvs-agent: accepting a connection: {e}");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        for bad in ["", "2", "s", "0s", "1h", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers() {
        assert_eq!(answer(Some(0.0), false, 100).to_string(), "up ready 100%");
        assert_eq!(answer(Some(0.25), false, 100).to_string(), "up ready 75%");
        assert_eq!(answer(Some(0.0), false, 60).to_string(), "up ready 60%");
        assert_eq!(answer(Some(1.0), false, 100).to_string(), "up ready 0%");
        assert_eq!(answer(None, false, 100).to_string(), "up ready");
        assert_eq!(answer(Some(0.0), true, 100).to_string(), "drain");
    }

    #[test]
    fn command_output() {
        assert_eq!(parse_command_output(b"42\n").unwrap(), 42.0);
        assert_eq!(parse_command_output(b" 7.5 \nmore\n").unwrap(), 7.5);
        for bad in [&b""[..], b"101\n", b"-1\n", b"NaN\n", b"lots\n"] {
            assert!(parse_command_output(bad).is_err());
        }
    }
}
