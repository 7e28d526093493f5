//! `cargo xtask bench-pty`: `com` in pipe mode against `socat` doing the same
//! bridge, pushing the same bytes through a pseudo-terminal pair, in the same run.
//!
//! Both directions are timed:
//! - to the port: bytes on the bridge's stdin, through the pty slave it opened,
//!   out of the master (read and checked by `pty_end sink`);
//! - from the port: `pty_end source` writes into the master; the bridge copies the
//!   slave to its stdout, read and checked here;
//! - from the port, select writer: this process alone drives the transfer from one
//!   `poll` loop, writing 64 KiB blocks into a non-blocking pty master (each write
//!   takes what the pty accepts) and reading the bridge's stdout, the pattern of
//!   the Python harness `xtask/scripts/pty_select_bench.py`: there every output
//!   write of the bridge costs the one process that also feeds the port a
//!   wake-up, so small writes show where the separate reader above hides them.
//!
//! Usage: `cargo xtask bench-pty [--mb N] [--runs R]` (default 100 MB, 3 runs).
//! The three transfers are reported separately.
//! Each run times both directions, each with both tools back to back (the first
//! tool alternating between runs), so a change in the machine's load falls on
//! both tools alike. Reported per direction and tool: the slowest, median and
//! fastest throughput, the median CPU time (user + system) and context switches
//! of the bridge process, which a busy machine disturbs much less than wall time;
//! and the median of the per-run ratios com / socat with their range: each ratio
//! compares two transfers made seconds apart, so it carries less of the load's
//! drift than the ratio of two medians.
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::util::{cargo, ensure_debian_packages, run_step, workspace_root};

/// `pty_end`'s pattern (see bins/com/examples/pty_end.rs).
/// The whole stream is made once, before any timing: xtask is built without
/// optimisation, and making or checking the pattern byte by byte while timing
/// would cap both bridges at xtask's own speed.
fn pattern(offset: u64, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        let at = offset + i as u64;
        *byte = (at % 251) as u8 ^ (at / 4096) as u8;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Com,
    Socat,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Com => "com",
            Tool::Socat => "socat",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToPort,
    FromPort,
    /// From the port, with the master written and the output read by one
    /// `poll` loop.
    FromPortSelect,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::ToPort => "stdin -> port",
            Direction::FromPort => "port -> stdout",
            Direction::FromPortSelect => "port -> stdout, select writer",
        }
    }
}

struct Bins {
    com: PathBuf,
    pty_end: PathBuf,
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut mb: u64 = 100;
    let mut runs: usize = 3;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .with_context(|| format!("{name} needs a value"))?
                .parse::<u64>()
                .with_context(|| format!("{name} takes a positive number"))
        };
        match arg.as_str() {
            "--mb" => mb = value("--mb")?,
            "--runs" => runs = value("--runs")? as usize,
            other => bail!("unknown argument `{other}`; expected --mb N or --runs R"),
        }
    }
    ensure!(mb > 0 && runs > 0, "--mb and --runs must be positive");
    ensure_debian_packages(&["socat"])?;
    run_step(
        "build com (release)",
        cargo().args([
            "build",
            "--release",
            "-p",
            "com",
            "--bin",
            "com",
            "--example",
            "pty_end",
        ]),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bins = Bins {
        com: target.join("release/com"),
        pty_end: target.join("release/examples/pty_end"),
    };
    let bytes = mb * 1_000_000;
    let mut stream = vec![0u8; usize::try_from(bytes)?];
    pattern(0, &mut stream);
    let stream: std::sync::Arc<[u8]> = stream.into();
    let socat = Command::new("socat")
        .arg("-V")
        .output()
        .context("running socat -V")?;
    let socat_version = String::from_utf8_lossy(&socat.stdout)
        .lines()
        .find(|l| l.contains("socat version"))
        .unwrap_or("socat")
        .trim()
        .to_string();
    eprintln!("xtask: bench-pty: {mb} MB per run, {runs} runs, {socat_version}");
    let load_before = load_average();

    let directions = [
        Direction::ToPort,
        Direction::FromPort,
        Direction::FromPortSelect,
    ];
    // samples[direction][tool], tool 0 = com, 1 = socat; one sample per run.
    let mut samples: [[Vec<Sample>; 2]; 3] = Default::default();
    for run in 0..runs {
        // Alternate the order so neither tool always runs on a warmer machine.
        let order = if run % 2 == 0 {
            [Tool::Com, Tool::Socat]
        } else {
            [Tool::Socat, Tool::Com]
        };
        for (d, direction) in directions.into_iter().enumerate() {
            for tool in order {
                let sample = match direction {
                    Direction::ToPort => to_port(&bins, tool, &stream),
                    Direction::FromPort => from_port(&bins, tool, &stream),
                    Direction::FromPortSelect => from_port_select(&bins, tool, &stream),
                }
                .with_context(|| format!("{} {}", tool.name(), direction.name()))?;
                eprintln!(
                    "xtask: bench-pty: {:<5} {:<29} run {}: {:.3} s, {:.1} MB/s, {:.2} s CPU, {} context switches",
                    tool.name(),
                    direction.name(),
                    run + 1,
                    sample.took.as_secs_f64(),
                    sample.rate(bytes),
                    sample.cpu,
                    sample.switches
                );
                samples[d][(tool == Tool::Socat) as usize].push(sample);
            }
        }
    }
    let load_after = load_average();

    println!("{mb} MB per run, {runs} runs; load average {load_before} before, {load_after} after");
    println!(
        "| direction | tool | MB/s min | MB/s median | MB/s max | median CPU s | median context switches | com / socat per run: median (min-max) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (direction, [com, socat]) in directions.iter().zip(&samples) {
        let ratios: Vec<f64> = com
            .iter()
            .zip(socat)
            .map(|(c, s)| c.rate(bytes) / s.rate(bytes))
            .collect();
        let (lo, mid, hi) = spread(ratios);
        for (tool, list) in [("com", com), ("socat", socat)] {
            let (slow, median_rate, fast) = spread(list.iter().map(|x| x.rate(bytes)).collect());
            let (_, cpu, _) = spread(list.iter().map(|x| x.cpu).collect());
            let (_, switches, _) = spread(list.iter().map(|x| x.switches as f64).collect());
            let ratio = if tool == "com" {
                format!("{mid:.2}x ({lo:.2}-{hi:.2})")
            } else {
                String::new()
            };
            println!(
                "| {} | {tool} | {slow:.1} | {median_rate:.1} | {fast:.1} | {cpu:.2} | {switches:.0} | {ratio} |",
                direction.name()
            );
        }
    }
    Ok(())
}

/// The smallest, median and largest value (the upper median for an even count).
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        values[0],
        values[values.len() / 2],
        values[values.len() - 1],
    )
}

/// The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The bridge under test, opening `device`.
fn bridge(bins: &Bins, tool: Tool, direction: Direction, device: &str) -> Command {
    match tool {
        Tool::Com => {
            let mut cmd = Command::new(&bins.com);
            cmd.arg(device).arg("4000000").arg("--quiet");
            if direction != Direction::ToPort {
                cmd.arg("--no-input");
            }
            cmd
        }
        Tool::Socat => {
            let mut cmd = Command::new("socat");
            let port = format!("OPEN:{device},raw,echo=0");
            match direction {
                Direction::ToPort => cmd.args(["-u", "STDIN", &port]),
                Direction::FromPort | Direction::FromPortSelect => {
                    cmd.args(["-u", &port, "STDOUT"])
                }
            };
            cmd
        }
    }
}

/// Starts `pty_end MODE BYTES` and returns it with the pty path it printed.
fn pty_end(
    bins: &Bins,
    mode: &str,
    bytes: u64,
) -> anyhow::Result<(Child, BufReader<std::process::ChildStdout>, String)> {
    let mut child = Command::new(&bins.pty_end)
        .args([mode, &bytes.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bins.pty_end.display()))?;
    let mut out = BufReader::new(child.stdout.take().context("pty_end stdout")?);
    let mut path = String::new();
    out.read_line(&mut path).context("reading the pty path")?;
    let path = path.trim().to_string();
    ensure!(
        Path::new(&path).exists(),
        "pty_end printed no pty path ({path:?})"
    );
    Ok((child, out, path))
}

fn to_port(bins: &Bins, tool: Tool, stream: &std::sync::Arc<[u8]>) -> anyhow::Result<Sample> {
    let bytes = stream.len() as u64;
    let (mut sink, mut sink_out, path) = pty_end(bins, "sink", bytes)?;
    let mut bridge = bridge(bins, tool, Direction::ToPort, &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("starting the bridge")?;
    let mut stdin = bridge.stdin.take().context("bridge stdin")?;
    let started = Instant::now();
    // The writer keeps stdin open after the last byte, so the bridge is still
    // there to be measured when the sink has everything.
    let stream = std::sync::Arc::clone(stream);
    let writer = std::thread::spawn(move || -> std::io::Result<std::process::ChildStdin> {
        for chunk in stream.chunks(64 * 1024) {
            stdin.write_all(chunk)?;
        }
        Ok(stdin)
    });
    let mut line = String::new();
    sink_out
        .read_line(&mut line)
        .context("reading the sink's report")?;
    let took = started.elapsed();
    let cpu = cpu_seconds(bridge.id())?;
    let switches = context_switches(bridge.id())?;
    let stdin = writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))?
        .context("writing to the bridge")?;
    ensure!(line.trim() == format!("ok {bytes}"), "sink said {line:?}");
    drop(stdin);
    sink.wait()?;
    finish(&mut bridge)?;
    Ok(Sample {
        took,
        cpu,
        switches,
    })
}

fn from_port(bins: &Bins, tool: Tool, stream: &[u8]) -> anyhow::Result<Sample> {
    let bytes = stream.len() as u64;
    let (mut source, _source_out, path) = pty_end(bins, "source", bytes)?;
    let started = Instant::now();
    let mut bridge = bridge(bins, tool, Direction::FromPort, &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the bridge")?;
    let mut out = bridge.stdout.take().context("bridge stdout")?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut done = 0;
    while done < stream.len() {
        let n = out.read(&mut buf).context("reading the bridge")?;
        ensure!(n > 0, "the bridge ended after {done} bytes");
        ensure!(
            stream.get(done..done + n) == Some(&buf[..n]),
            "wrong bytes near offset {done}"
        );
        done += n;
    }
    let took = started.elapsed();
    let cpu = cpu_seconds(bridge.id())?;
    let switches = context_switches(bridge.id())?;
    // The source exits, the pty hangs up, the bridge ends.
    drop(source.stdin.take());
    source.wait()?;
    drop(out);
    finish(&mut bridge)?;
    Ok(Sample {
        took,
        cpu,
        switches,
    })
}

/// From the port with the select writer: a pty pair made here (slave raw, held
/// open), the bridge copying the slave to its stdout, and one `poll` loop
/// writing the master 64 KiB at a time (non-blocking: each write takes what
/// the pty accepts) and reading and checking the bridge's output.
fn from_port_select(bins: &Bins, tool: Tool, stream: &[u8]) -> anyhow::Result<Sample> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;

    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .context("opening a pty")?;
    nix::pty::grantpt(&master)?;
    nix::pty::unlockpt(&master)?;
    let path = nix::pty::ptsname_r(&master)?;
    let slave = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {path}"))?;
    let mut tio = nix::sys::termios::tcgetattr(&slave)?;
    nix::sys::termios::cfmakeraw(&mut tio);
    nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &tio)?;
    let mut master = std::fs::File::from(std::os::fd::OwnedFd::from(master));

    let mut bridge = bridge(bins, tool, Direction::FromPortSelect, &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the bridge")?;
    let mut out = bridge.stdout.take().context("bridge stdout")?;
    wait_until_open(bridge.id(), &path)?;
    for fd in [master.as_fd(), out.as_fd()] {
        let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    }
    let mut buf = vec![0u8; 64 * 1024];
    let (mut sent, mut done) = (0, 0);
    let started = Instant::now();
    while done < stream.len() {
        let (readable, writable) = {
            let mut fds = vec![PollFd::new(out.as_fd(), PollFlags::POLLIN)];
            if sent < stream.len() {
                fds.push(PollFd::new(master.as_fd(), PollFlags::POLLOUT));
            }
            poll(&mut fds, PollTimeout::NONE).context("poll")?;
            let ready = |fd: &PollFd<'_>, flags| fd.revents().is_some_and(|r| r.intersects(flags));
            (
                ready(&fds[0], PollFlags::POLLIN | PollFlags::POLLHUP),
                fds.get(1).is_some_and(|fd| ready(fd, PollFlags::POLLOUT)),
            )
        };
        if writable {
            let end = stream.len().min(sent + 64 * 1024);
            match master.write(&stream[sent..end]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).context("writing the pty master"),
            }
        }
        if readable {
            match out.read(&mut buf) {
                Ok(0) => bail!("the bridge ended after {done} bytes"),
                Ok(n) => {
                    ensure!(
                        stream.get(done..done + n) == Some(&buf[..n]),
                        "wrong bytes near offset {done}"
                    );
                    done += n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).context("reading the bridge"),
            }
        }
    }
    let took = started.elapsed();
    let cpu = cpu_seconds(bridge.id())?;
    let switches = context_switches(bridge.id())?;
    // The master closes, the pty hangs up, the bridge ends.
    drop(master);
    drop(slave);
    drop(out);
    finish(&mut bridge)?;
    Ok(Sample {
        took,
        cpu,
        switches,
    })
}

/// Waits until process `pid` has `path` open (the bridge opened the port), so
/// that no byte reaches the pty before the bridge set it up.
fn wait_until_open(pid: u32, path: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dir = format!("/proc/{pid}/fd");
        let entries = std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))?;
        if entries
            .flatten()
            .any(|e| std::fs::read_link(e.path()).is_ok_and(|l| l == Path::new(path)))
        {
            // A moment for the bridge to set the port's modes after opening it.
            std::thread::sleep(Duration::from_millis(20));
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "the bridge did not open {path} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One timed transfer: wall time from the first byte to the last, and the CPU
/// time (user + system) the bridge process used.
struct Sample {
    took: Duration,
    cpu: f64,
    /// Voluntary + involuntary context switches of the bridge process.
    switches: u64,
}

impl Sample {
    fn rate(&self, bytes: u64) -> f64 {
        bytes as f64 / 1e6 / self.took.as_secs_f64()
    }
}

/// CPU seconds (user + system) used so far by `pid`, from /proc (USER_HZ = 100).
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').context("malformed stat")? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// Context switches (voluntary + involuntary) of `pid` so far, from /proc: one
/// per sleep in `epoll_wait`, `select` or a blocking call, plus preemptions.
fn context_switches(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let mut total = 0;
    for line in status.lines() {
        if let Some((key, value)) = line.split_once(':')
            && key.ends_with("ctxt_switches")
        {
            total += value.trim().parse::<u64>()?;
        }
    }
    Ok(total)
}

/// Waits for the bridge to end by itself (end of input or hang-up).
fn finish(bridge: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while bridge.try_wait()?.is_none() {
        if Instant::now() > deadline {
            bridge.kill()?;
            bail!("the bridge did not end by itself");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
