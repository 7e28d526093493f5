//! Booting guests under qemu (TCG): each VM's console streamed to our stdout,
//! its progress, per-test results and exit status read from its second serial
//! port, one host-side time limit for all.
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What every VM boots.
#[derive(Debug)]
pub struct Boot {
    pub vmlinuz: PathBuf,
    pub initramfs: PathBuf,
    pub memory_mib: u32,
    pub cpus: u32,
}

/// One VM's answer on its second serial port.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    /// The last `step NAME` mark.
    pub last_step: Option<String>,
    /// `setup-failed NAME`.
    pub setup_failed: Option<String>,
    /// `exit N`: the guest's test runner finished with N.
    pub exit: Option<i32>,
    /// `result STATUS SECONDS ID`, one per test run.
    pub results: Vec<TestResult>,
}

/// How one test ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub status: i32,
    pub secs: f64,
    pub id: String,
}

/// Boots one VM with a shell on the console, attached to our terminal.
pub fn shell(boot: &Boot, result_file: &Path) -> anyhow::Result<i32> {
    remove_stale(result_file)?;
    let mut cmd = qemu_command(boot, result_file, "lab.shell", true);
    eprintln!("xtask: [boot] {cmd:?}");
    let status = cmd
        .status()
        .context("step `boot`: could not start qemu-system-x86_64")?;
    let report = read_report(result_file);
    report.exit.with_context(|| {
        format!("step `boot`: qemu ended ({status}) without the shell's exit status")
    })
}

/// Boots `result_files.len()` VMs at once, VM `n` running `/lab/run-tests n`,
/// and waits for all of them (killing what still runs after `timeout`).
/// Errors name the VM and the step it had reached.
pub fn run_tests(
    boot: &Boot,
    result_files: &[PathBuf],
    timeout: Duration,
) -> anyhow::Result<Vec<Report>> {
    let many = result_files.len() > 1;
    let mut running = Vec::new();
    for (n, result_file) in result_files.iter().enumerate() {
        remove_stale(result_file)?;
        let mut cmd = qemu_command(boot, result_file, &format!("lab.shard={n}"), false);
        eprintln!("xtask: [boot vm{n}] {cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("step `boot`: could not start qemu-system-x86_64")?;
        let stdout = child.stdout.take().context("qemu's stdout")?;
        let prefix = if many {
            format!("[vm{n}] ")
        } else {
            String::new()
        };
        let console = thread::spawn(move || stream_console(stdout, &prefix));
        running.push((child, console));
    }

    let deadline = Instant::now() + timeout;
    let mut statuses: Vec<Option<ExitStatus>> = Vec::new();
    for (child, _) in &mut running {
        statuses.push(wait_until(child, deadline)?);
    }
    for (_, console) in running {
        let _ = console.join();
    }

    let mut reports = Vec::new();
    let mut problems = Vec::new();
    for (n, (status, result_file)) in statuses.into_iter().zip(result_files).enumerate() {
        let report = read_report(result_file);
        let vm = if many {
            format!("vm{n}: ")
        } else {
            String::new()
        };
        match status {
            None => problems.push(format!(
                "{vm}step `boot`: the guest did not power off within {} s (killed); it had reached {}",
                timeout.as_secs(),
                describe_progress(&report)
            )),
            Some(_) if report.setup_failed.is_some() => problems.push(format!(
                "{vm}step `guest {}` failed inside the guest (see the console output above)",
                report.setup_failed.as_deref().unwrap_or_default()
            )),
            Some(status) if report.exit.is_none() => problems.push(format!(
                "{vm}step `boot`: the guest stopped (qemu {status}) without reporting an exit status; it had reached {}",
                describe_progress(&report)
            )),
            Some(_) => {}
        }
        reports.push(report);
    }
    if !problems.is_empty() {
        // The console may have stopped mid-line.
        println!();
        bail!("{}", problems.join("\n"));
    }
    Ok(reports)
}

fn remove_stale(result_file: &Path) -> anyhow::Result<()> {
    if result_file.exists() {
        fs::remove_file(result_file)
            .with_context(|| format!("removing {}", result_file.display()))?;
    }
    Ok(())
}

fn qemu_command(boot: &Boot, result_file: &Path, extra_append: &str, shell: bool) -> Command {
    // no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
    // check can time out and panic the boot ("IO-APIC + timer doesn't work!").
    let append = format!(
        "console=ttyS0 panic=-1 quiet loglevel=3 no_timer_check rdinit=/init {extra_append}"
    );
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
        .args(["-serial", if shell { "mon:stdio" } else { "stdio" }])
        // ttyS1: progress marks, test results and the exit status.
        .arg("-serial")
        .arg(format!("file:{}", result_file.display()))
        // ttyS2: a 16550 for the serial tests (KERNEL_LAB_UART), which put it in
        // loopback mode; nothing leaves it. COM3's usual IRQ is 4, shared with
        // the console: IRQ 5 gives it a line of its own, so the tests never
        // depend on console traffic. (The ACPI tables tell Linux the IRQ.)
        .args(["-chardev", "null,id=lab-uart"])
        .args(["-device", "isa-serial,chardev=lab-uart,iobase=0x3e8,irq=5"])
        .args(["-nic", "none"]);
    cmd
}

/// Copies a guest console to our stdout line by line, without its CRs, each
/// line behind `prefix`.
fn stream_console(mut from: impl Read, prefix: &str) {
    let mut buf = [0u8; 8192];
    let mut line: Vec<u8> = Vec::new();
    let stdout = std::io::stdout();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &buf[..n] {
            match byte {
                b'\r' => {}
                // The kernel's own last word after `poweroff -f` is no news.
                b'\n' if line.ends_with(b"reboot: Power down") => line.clear(),
                b'\n' => {
                    let mut out = stdout.lock();
                    let _ = out.write_all(prefix.as_bytes());
                    let _ = out.write_all(&line);
                    let _ = out.write_all(b"\n");
                    let _ = out.flush();
                    line.clear();
                }
                _ => line.push(byte),
            }
        }
    }
    if !line.is_empty() {
        let mut out = stdout.lock();
        let _ = out.write_all(prefix.as_bytes());
        let _ = out.write_all(&line);
        let _ = out.write_all(b"\n");
    }
}

/// Waits for the child until `deadline`; `Ok(None)` when it had to be killed.
fn wait_until(child: &mut Child, deadline: Instant) -> anyhow::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait().context("waiting for qemu")? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn read_report(path: &Path) -> Report {
    parse_report(&fs::read_to_string(path).unwrap_or_default())
}

fn parse_report(text: &str) -> Report {
    let mut report = Report::default();
    for line in text.lines() {
        let line = line.trim();
        if let Some(step) = line.strip_prefix("step ") {
            report.last_step = Some(step.to_owned());
        } else if let Some(step) = line.strip_prefix("setup-failed ") {
            report.setup_failed = Some(step.to_owned());
        } else if let Some(code) = line.strip_prefix("exit ") {
            report.exit = code.parse().ok();
        } else if let Some(rest) = line.strip_prefix("result ") {
            let mut fields = rest.splitn(3, ' ');
            let (Some(status), Some(secs), Some(id)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if let (Ok(status), Ok(secs)) = (status.parse(), secs.parse()) {
                report.results.push(TestResult {
                    status,
                    secs,
                    id: id.to_owned(),
                });
            }
        }
    }
    report
}

fn describe_progress(report: &Report) -> String {
    match (&report.last_step, report.results.last()) {
        (None, _) => "nothing: the kernel had not started /init".to_owned(),
        (Some(step), None) => format!("step `{step}`"),
        (Some(step), Some(last)) => format!("step `{step}`, after the test {}", last.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_channel_carries_steps_results_and_the_exit_status() {
        let report = parse_report(
            "step init\nstep modules\nstep tests\nresult 0 1.25 sched/kernel::a\n\
             result 101 0.50 sched/kernel::b c\nexit 1\n",
        );
        assert_eq!(report.last_step.as_deref(), Some("tests"));
        assert_eq!(report.setup_failed, None);
        assert_eq!(report.exit, Some(1));
        assert_eq!(
            report.results,
            [
                TestResult {
                    status: 0,
                    secs: 1.25,
                    id: "sched/kernel::a".into()
                },
                TestResult {
                    status: 101,
                    secs: 0.5,
                    id: "sched/kernel::b c".into()
                }
            ]
        );
        assert_eq!(
            describe_progress(&report),
            "step `tests`, after the test sched/kernel::b c"
        );
    }

    #[test]
    fn a_setup_failure_is_reported_by_name() {
        let report = parse_report("step init\nstep modules\nsetup-failed modules\n");
        assert_eq!(report.setup_failed.as_deref(), Some("modules"));
        assert_eq!(report.exit, None);
        assert_eq!(describe_progress(&report), "step `modules`");
    }

    #[test]
    fn silence_means_the_kernel_never_reached_init() {
        assert!(describe_progress(&parse_report("")).contains("had not started /init"));
    }
}
