//! `cargo xtask bench-pty`: `com` in pipe mode against `socat` doing the same
//! bridge, pushing the same bytes through a pseudo-terminal pair, in the same run.
//!
//! Both directions are timed:
//! - to the port: bytes on the bridge's stdin, through the pty slave it opened,
//!   out of the master (read and checked by `pty_end sink`);
//! - from the port: `pty_end source` writes into the master; the bridge copies the
//!   slave to its stdout, read and checked here.
//!
//! Usage: `cargo xtask bench-pty [--mb N] [--runs R]` (default 100 MB, 3 runs).
//! Reported per direction and tool: best and median throughput, and the median
//! CPU time (user + system) the bridge process spent, which a busy machine
//! disturbs much less than wall time.
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
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::ToPort => "stdin -> port",
            Direction::FromPort => "port -> stdout",
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

    let mut table = Vec::new();
    for direction in [Direction::ToPort, Direction::FromPort] {
        let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
        for run in 0..runs {
            // Alternate the order so neither tool always runs on a warmer machine.
            let order = if run % 2 == 0 {
                [Tool::Com, Tool::Socat]
            } else {
                [Tool::Socat, Tool::Com]
            };
            for tool in order {
                let sample = match direction {
                    Direction::ToPort => to_port(&bins, tool, &stream),
                    Direction::FromPort => from_port(&bins, tool, &stream),
                }
                .with_context(|| format!("{} {}", tool.name(), direction.name()))?;
                eprintln!(
                    "xtask: bench-pty: {:<5} {:<14} run {}: {:.3} s, {:.1} MB/s, {:.2} s CPU",
                    tool.name(),
                    direction.name(),
                    run + 1,
                    sample.took.as_secs_f64(),
                    bytes as f64 / 1e6 / sample.took.as_secs_f64(),
                    sample.cpu
                );
                samples[(tool == Tool::Socat) as usize].push(sample);
            }
        }
        table.push((direction, samples));
    }

    println!(
        "| direction | tool | best MB/s | median MB/s | median CPU s | com / socat (median MB/s) | com / socat (median CPU) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (direction, samples) in &table {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let stats = |s: &Vec<Sample>| {
            let rates: Vec<f64> = s
                .iter()
                .map(|x| bytes as f64 / 1e6 / x.took.as_secs_f64())
                .collect();
            let best = rates.iter().copied().fold(0.0, f64::max);
            (
                best,
                median(rates),
                median(s.iter().map(|x| x.cpu).collect()),
            )
        };
        let (com_best, com_rate, com_cpu) = stats(&samples[0]);
        let (socat_best, socat_rate, socat_cpu) = stats(&samples[1]);
        println!(
            "| {} | com | {com_best:.1} | {com_rate:.1} | {com_cpu:.2} | {:.2}x | {:.2}x |",
            direction.name(),
            com_rate / socat_rate,
            com_cpu / socat_cpu
        );
        println!(
            "| {} | socat | {socat_best:.1} | {socat_rate:.1} | {socat_cpu:.2} | | |",
            direction.name()
        );
    }
    Ok(())
}

/// The bridge under test, opening `device`.
fn bridge(bins: &Bins, tool: Tool, direction: Direction, device: &str) -> Command {
    match tool {
        Tool::Com => {
            let mut cmd = Command::new(&bins.com);
            cmd.arg(device).arg("4000000").arg("--quiet");
            if direction == Direction::FromPort {
                cmd.arg("--no-input");
            }
            cmd
        }
        Tool::Socat => {
            let mut cmd = Command::new("socat");
            let port = format!("OPEN:{device},raw,echo=0");
            match direction {
                Direction::ToPort => cmd.args(["-u", "STDIN", &port]),
                Direction::FromPort => cmd.args(["-u", &port, "STDOUT"]),
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
    let stdin = writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))?
        .context("writing to the bridge")?;
    ensure!(line.trim() == format!("ok {bytes}"), "sink said {line:?}");
    drop(stdin);
    sink.wait()?;
    finish(&mut bridge)?;
    Ok(Sample { took, cpu })
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
    // The source exits, the pty hangs up, the bridge ends.
    drop(source.stdin.take());
    source.wait()?;
    drop(out);
    finish(&mut bridge)?;
    Ok(Sample { took, cpu })
}

/// One timed transfer: wall time from the first byte to the last, and the CPU
/// time (user + system) the bridge process used.
struct Sample {
    took: Duration,
    cpu: f64,
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
