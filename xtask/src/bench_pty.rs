//! `cargo xtask bench-pty`: `com` in pipe mode against `socat` doing the same
//! bridge, pushing the same bytes through a pseudo-terminal pair, in the same run.
//!
//! Both directions are timed:
//! - to the port: bytes on the bridge's stdin, through the pty slave it opened,
//!   out of the master (read and checked by `pty_end sink`);
//! - from the port: `pty_end source` writes into the master; the bridge copies the
//!   slave to its stdout, read and checked here.
//!
//! Usage: `cargo xtask bench-pty [--mb N] [--runs R]` (default 100 MB, 3 runs;
//! each figure is the best and the median of the runs).
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::util::{cargo, ensure_debian_packages, run_step, workspace_root};

/// `pty_end`'s pattern (see bins/com/examples/pty_end.rs).
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
        let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
        for run in 0..runs {
            // Alternate the order so neither tool always runs on a warmer machine.
            let order = if run % 2 == 0 {
                [Tool::Com, Tool::Socat]
            } else {
                [Tool::Socat, Tool::Com]
            };
            for tool in order {
                let took = match direction {
                    Direction::ToPort => to_port(&bins, tool, bytes),
                    Direction::FromPort => from_port(&bins, tool, bytes),
                }
                .with_context(|| format!("{} {}", tool.name(), direction.name()))?;
                eprintln!(
                    "xtask: bench-pty: {:<5} {:<14} run {}: {:.3} s, {:.1} MB/s",
                    tool.name(),
                    direction.name(),
                    run + 1,
                    took.as_secs_f64(),
                    bytes as f64 / 1e6 / took.as_secs_f64()
                );
                times[(tool == Tool::Socat) as usize].push(took);
            }
        }
        table.push((direction, times));
    }

    println!("| direction | tool | best MB/s | median MB/s | com / socat (median) |");
    println!("|---|---|---|---|---|");
    for (direction, times) in &table {
        let rate = |d: &Duration| bytes as f64 / 1e6 / d.as_secs_f64();
        let stats = |t: &Vec<Duration>| {
            let mut t = t.clone();
            t.sort();
            (rate(&t[0]), rate(&t[t.len() / 2]))
        };
        let (com_best, com_median) = stats(&times[0]);
        let (socat_best, socat_median) = stats(&times[1]);
        println!(
            "| {} | com | {com_best:.1} | {com_median:.1} | {:.2}x |",
            direction.name(),
            com_median / socat_median
        );
        println!(
            "| {} | socat | {socat_best:.1} | {socat_median:.1} | |",
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

fn to_port(bins: &Bins, tool: Tool, bytes: u64) -> anyhow::Result<Duration> {
    let (mut sink, mut sink_out, path) = pty_end(bins, "sink", bytes)?;
    let mut bridge = bridge(bins, tool, Direction::ToPort, &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("starting the bridge")?;
    let mut stdin = bridge.stdin.take().context("bridge stdin")?;
    let started = Instant::now();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut done = 0u64;
        while done < bytes {
            let n = buf.len().min((bytes - done) as usize);
            pattern(done, &mut buf[..n]);
            stdin.write_all(&buf[..n])?;
            done += n as u64;
        }
        Ok(())
    });
    let mut line = String::new();
    sink_out
        .read_line(&mut line)
        .context("reading the sink's report")?;
    let took = started.elapsed();
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))?
        .context("writing to the bridge")?;
    ensure!(line.trim() == format!("ok {bytes}"), "sink said {line:?}");
    sink.wait()?;
    finish(&mut bridge)?;
    Ok(took)
}

fn from_port(bins: &Bins, tool: Tool, bytes: u64) -> anyhow::Result<Duration> {
    let (mut source, _source_out, path) = pty_end(bins, "source", bytes)?;
    let started = Instant::now();
    let mut bridge = bridge(bins, tool, Direction::FromPort, &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the bridge")?;
    let mut out = bridge.stdout.take().context("bridge stdout")?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut expected = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    while done < bytes {
        let n = out.read(&mut buf).context("reading the bridge")?;
        ensure!(n > 0, "the bridge ended after {done} bytes");
        pattern(done, &mut expected[..n]);
        ensure!(buf[..n] == expected[..n], "wrong bytes near offset {done}");
        done += n as u64;
    }
    let took = started.elapsed();
    drop(source.stdin.take()); // the source exits, the pty hangs up, the bridge ends
    source.wait()?;
    drop(out);
    finish(&mut bridge)?;
    Ok(took)
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
