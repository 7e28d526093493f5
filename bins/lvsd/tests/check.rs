//! `lvsd check`: exit 0 for a good file, 2 with every error for a bad one.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lvsd");

fn check(text: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lvsd.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let name = path.display().to_string();
    (
        out.status.code(),
        String::from_utf8(out.stdout)
            .unwrap()
            .replace(&name, "FILE"),
        String::from_utf8(out.stderr)
            .unwrap()
            .replace(&name, "FILE"),
    )
}

#[test]
fn a_good_file_passes() {
    let (status, stdout, stderr) = check(
        "[[service]]\naddress = \"10.0.0.1:80\"\n[[service.real]]\naddress = \"10.0.1.2:80\"\n[[service.real]]\naddress = \"10.0.1.3:80\"\n",
    );
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    assert_eq!(stdout, "FILE: ok (1 services, 2 real servers)\n");
}

#[test]
fn a_bad_file_lists_every_error_and_exits_2() {
    let (status, stdout, stderr) = check(
        "[[service]]\naddress = \"10.0.0.1:80\"\nscheduler = \"fastest\"\n[[service.real]]\naddress = \"10.0.1.2:80\"\nwieght = 2\n[[service.real]]\naddress = \"10.0.1.2:80\"\n",
    );
    assert_eq!((status, stdout.as_str()), (Some(2), ""));
    assert_eq!(
        stderr,
        "FILE:3:13: unknown scheduler \"fastest\" (known: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos)\n\
         FILE:6:1: unknown key `wieght` in [[service.real]] (known: address, weight, forwarding, upper_threshold, lower_threshold, agent)\n\
         FILE:8:11: duplicate real server 10.0.1.2:80 (first at line 5)\n"
    );
}

#[test]
fn a_missing_file_is_named() {
    let out = Command::new(BIN)
        .args(["check", "--config", "/nonexistent/lvsd.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("lvsd: /nonexistent/lvsd.toml: No such file"),
        "{stderr}"
    );
}

#[test]
fn the_shipped_examples_are_valid() {
    for path in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lvsd.toml"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/feedback.toml"),
    ] {
        let out = Command::new(BIN)
            .args(["check", "--config", path])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{path}: {out:?}");
    }
}

#[test]
fn the_systemd_unit_runs_subcommands_that_exist() {
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/lvsd.service"))
            .unwrap();
    let mut seen = 0;
    for line in unit.lines() {
        let Some((key, command)) = line.split_once('=') else {
            continue;
        };
        if !key.starts_with("Exec") {
            continue;
        }
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[0], "/usr/sbin/lvsd", "{line}");
        // The same arguments with --help: clap accepts them only if they exist.
        let out = Command::new(BIN)
            .args(&words[1..2])
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {out:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        for option in words[2..].iter().filter(|w| w.starts_with("--")) {
            assert!(help.contains(option), "{line}: {option} not in\n{help}");
        }
        seen += 1;
    }
    assert_eq!(seen, 3, "ExecStartPre, ExecStart, ExecReload");
}

#[test]
fn systemd_analyze_accepts_the_unit() {
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/lvsd.service"))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("lvsd.service");
    std::fs::write(&copy, unit.replace("/usr/sbin/lvsd", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect(
            "systemd-analyze is not installed: Debian's systemd package has it (CI installs it)",
        );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}
