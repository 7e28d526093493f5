//! Booting the guest under qemu (TCG): console streamed to our stdout, progress
//! and exit status read from the second serial port, a host-side time limit.
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How to boot.
#[derive(Debug)]
pub struct Boot {
    pub vmlinuz: PathBuf,
    pub initramfs: PathBuf,
    /// The second serial port's host file.
    pub result_file: PathBuf,
    pub memory_mib: u32,
    pub cpus: u32,
    /// Interactive shell on the console instead of the suites.
    pub shell: bool,
    /// Host-side limit; `None` for the shell.
    pub timeout: Option<Duration>,
}

/// How the guest ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The suites (or the shell) ran and exited with this status.
    Exited(i32),
}

/// Boots the guest and waits for it; errors name the step the guest had reached.
pub fn run(boot: &Boot) -> anyhow::Result<Outcome> {
    if boot.result_file.exists() {
        fs::remove_file(&boot.result_file)
            .with_context(|| format!("removing {}", boot.result_file.display()))?;
    }
    let mut cmd = qemu_command(boot);
    eprintln!("xtask: [boot] {cmd:?}");
    let started = Instant::now();
    let status = if boot.shell {
        cmd.status()
            .context("step `boot`: could not start qemu-system-x86_64")?
    } else {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("step `boot`: could not start qemu-system-x86_64")?;
        let stdout = child.stdout.take().context("qemu's stdout")?;
        let console = thread::spawn(move || stream_console(stdout));
        let status = wait_with_timeout(&mut child, boot.timeout);
        let _ = console.join();
        match status? {
            Some(status) => status,
            None => {
                let limit = boot.timeout.unwrap_or_default().as_secs();
                bail!(
                    "step `boot`: the guest did not power off within {limit} s (killed); it had reached {}",
                    describe_progress(&read_result(&boot.result_file))
                );
            }
        }
    };
    let report = read_result(&boot.result_file);
    eprintln!(
        "xtask: kernel-lab: guest ran {:.1} s (qemu {status})",
        started.elapsed().as_secs_f64()
    );
    if let Some(step) = report.setup_failed {
        bail!("step `guest {step}` failed inside the guest (see the console output above)");
    }
    match report.exit {
        Some(code) => Ok(Outcome::Exited(code)),
        None if !status.success() => bail!(
            "step `boot`: qemu failed ({status}); the guest had reached {}",
            describe_progress(&report)
        ),
        None => bail!(
            "step `boot`: the guest stopped without reporting an exit status; it had reached {}",
            describe_progress(&report)
        ),
    }
}

fn qemu_command(boot: &Boot) -> Command {
    let mut append = String::from("console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init");
    if boot.shell {
        append.push_str(" lab.shell");
    }
    let mut cmd = Command::new("qemu-system-x86_64");
    cmd.args(["-accel", "tcg", "-cpu", "max", "-machine", "q35"])
        .args(["-m", &boot.memory_mib.to_string()])
        .args(["-smp", &boot.cpus.to_string()])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(&boot.vmlinuz)
        .arg("-initrd")
        .arg(&boot.initramfs)
        .args(["-append", &append])
        // ttyS0: the console; with the shell, Ctrl-A X also quits qemu.
        .args(["-serial", if boot.shell { "mon:stdio" } else { "stdio" }])
        // ttyS1: progress marks and the exit status.
        .arg("-serial")
        .arg(format!("file:{}", boot.result_file.display()))
        .args(["-nic", "none"]);
    cmd
}

/// Copies the guest console to our stdout as it arrives, without its CRs.
fn stream_console(mut from: impl Read) {
    let mut buf = [0u8; 8192];
    let stdout = std::io::stdout();
    loop {
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                let bytes: Vec<u8> = buf[..n].iter().copied().filter(|&b| b != b'\r').collect();
                let mut out = stdout.lock();
                let _ = out.write_all(&bytes);
                let _ = out.flush();
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Waits for the child; `Ok(None)` when the limit passed and it was killed.
fn wait_with_timeout(
    child: &mut Child,
    timeout: Option<Duration>,
) -> anyhow::Result<Option<std::process::ExitStatus>> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if let Some(status) = child.try_wait().context("waiting for qemu")? {
            return Ok(Some(status));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// What the guest wrote on its second serial port.
#[derive(Debug, Default, PartialEq, Eq)]
struct Report {
    /// The last `step NAME` mark.
    last_step: Option<String>,
    /// `setup-failed NAME`.
    setup_failed: Option<String>,
    /// `exit N`.
    exit: Option<i32>,
}

fn read_result(path: &Path) -> Report {
    parse_result(&fs::read_to_string(path).unwrap_or_default())
}

fn parse_result(text: &str) -> Report {
    let mut report = Report::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(step) = line.strip_prefix("step ") {
            report.last_step = Some(step.to_owned());
        } else if let Some(step) = line.strip_prefix("setup-failed ") {
            report.setup_failed = Some(step.to_owned());
        } else if let Some(code) = line.strip_prefix("exit ") {
            report.exit = code.parse().ok();
        }
    }
    report
}

fn describe_progress(report: &Report) -> String {
    match &report.last_step {
        None => "nothing: the kernel never started /init (boot failed)".to_owned(),
        Some(step) => format!("step `{step}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_channel_carries_steps_and_the_exit_status() {
        let report = parse_result("step init\nstep modules\nstep tests\nexit 101\n");
        assert_eq!(
            report,
            Report {
                last_step: Some("tests".into()),
                setup_failed: None,
                exit: Some(101)
            }
        );
    }

    #[test]
    fn a_setup_failure_is_reported_by_name() {
        let report = parse_result("step init\nstep modules\nsetup-failed modules\n");
        assert_eq!(report.setup_failed.as_deref(), Some("modules"));
        assert_eq!(report.exit, None);
        assert_eq!(describe_progress(&report), "step `modules`");
    }

    #[test]
    fn silence_means_the_kernel_never_reached_init() {
        assert!(describe_progress(&parse_result("")).contains("never started /init"));
    }
}
