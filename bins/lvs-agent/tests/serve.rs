//! `lvs-agent serve` on loopback: what it answers, and its refusals.
mod support;

use std::process::Command;

use lvs_feedback::{Admin, Health, Report};
use support::Agent;

fn lvs_agent(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvs-agent"))
        .args(args)
        .output()
        .expect("running lvs-agent");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_command_load_of_30_is_answered_as_70_percent_spare() {
    let agent = Agent::start(&["--command", "echo 30"]);
    let raw = agent.raw();
    assert_eq!(raw, b"up ready 70%\n");
    let r = Report::parse(&raw).unwrap();
    assert_eq!(r.health, Some(Health::Up));
    assert_eq!(r.percent, Some(70));
}

#[test]
fn max_weight_percent_caps_the_answer() {
    let agent = Agent::start(&["--command", "echo 0", "--max-weight-percent", "60"]);
    assert_eq!(agent.raw(), b"up ready 60%\n");
}

#[test]
fn the_drain_file_drains_while_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let drain = dir.path().join("drain");
    let agent = Agent::start(&[
        "--command",
        "echo 10",
        "--drain-file",
        drain.to_str().unwrap(),
    ]);
    assert_eq!(agent.raw(), b"up ready 90%\n");
    std::fs::write(&drain, "").unwrap();
    let r = agent.ask();
    assert_eq!(r.admin, Some(Admin::Drain));
    assert!(r.removes_traffic());
    std::fs::remove_file(&drain).unwrap();
    // `ready` in the answer undoes the drain on HAProxy's side.
    assert_eq!(agent.raw(), b"up ready 90%\n");
}

#[test]
fn the_command_load_is_a_mean_over_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let value = dir.path().join("value");
    std::fs::write(&value, "0\n").unwrap();
    let cmd = format!("cat {}", value.display());
    let agent = Agent::start(&["--command", &cmd, "--interval", "100ms", "--window", "1s"]);
    assert_eq!(agent.ask().percent, Some(100));
    std::fs::write(&value, "50\n").unwrap();
    // Part way: between the two.
    let mid = agent.ask_until(5, |r| r.percent.is_some_and(|p| p < 100));
    assert!(
        mid.percent.is_some_and(|p| (50..100).contains(&p)),
        "{mid:?}"
    );
    // Then all 50.
    let r = agent.ask_until(10, |r| r.percent == Some(50));
    assert_eq!(r.percent, Some(50));
}

#[test]
fn proc_stat_gives_a_percentage_after_the_first_interval() {
    let agent = Agent::start(&["--interval", "100ms", "--window", "1s"]);
    let r = agent.ask_until(5, |r| r.percent.is_some());
    assert_eq!(r.health, Some(Health::Up));
    assert_eq!(r.admin, Some(Admin::Ready));
    assert!(r.percent.is_some_and(|p| p <= 100), "{r:?}");
    assert!(r.ignored.is_empty());
}

#[test]
fn extra_terms_can_only_lower_the_answer() {
    let agent = Agent::start(&[
        "--command",
        "echo 0",
        "--memory",
        "--loadavg",
        "--interval",
        "100ms",
    ]);
    // The command says idle; memory in use and the load average take the
    // spare capacity below 100 on any running machine.
    let r = agent.ask_until(5, |r| r.percent.is_some_and(|p| p < 100));
    assert!(r.percent.is_some_and(|p| p < 100), "{r:?}");
}

#[test]
fn bad_settings_are_refused_with_exit_2() {
    for (args, needle) in [
        (
            &["serve", "--cgroup", "/nonexistent"][..],
            "--cgroup /nonexistent",
        ),
        (&["serve", "--command", "/nonexistent/prog"], "cannot run"),
        (
            &["serve", "--command", "echo many"],
            "expected a number from 0 to 100",
        ),
        (
            &["serve", "--command", "echo 101"],
            "expected a number from 0 to 100",
        ),
        (&["serve", "--command", "false"], "failed"),
        (
            &[
                "serve",
                "--command",
                "sleep 5",
                "--command-timeout",
                "200ms",
            ],
            "killed",
        ),
        (
            &[
                "serve",
                "--command",
                "echo 1",
                "--listen",
                "127.0.0.1:99999",
            ],
            "127.0.0.1:99999",
        ),
        (&["serve", "--max-weight-percent", "0"], "0"),
        (&["serve", "--interval", "1h"], "unit"),
        (
            &["serve", "--cgroup", "/x", "--command", "echo 1"],
            "cannot be used with",
        ),
    ] {
        let (code, err) = lvs_agent(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_listening_address_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = lvs_agent(&["serve", "--command", "echo 1", "--listen", &addr]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&addr) && err.contains("cannot listen"),
        "{err}"
    );
}

#[test]
fn the_command_leaves_nothing_running() {
    // The command leaves a background sleep holding its output open; the
    // agent kills the command's whole process group and still answers.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("measure");
    let pidfile = dir.path().join("bg.pid");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nsleep 300 &\necho $! > {}\necho 20\n",
            pidfile.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let agent = Agent::start(&["--command", script.to_str().unwrap()]);
    assert_eq!(agent.raw(), b"up ready 80%\n");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    let bg = std::fs::read_to_string(&pidfile).unwrap();
    let stat = format!("/proc/{}/stat", bg.trim());
    // Gone, or a zombie waiting for its new parent to reap it.
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match std::fs::read_to_string(&stat) {
            Err(_) => break,
            Ok(s)
                if s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z')) =>
            {
                break;
            }
            Ok(s) => assert!(std::time::Instant::now() < end, "still running: {s}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(agent);
}
