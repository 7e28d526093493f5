//! tio's comforts in a real terminal (tmux): timestamps, maps (a CR-only meter
//! shown one frame per line), hex view, local echo, Ctrl-T c and l.
mod support;
#[path = "support/tmux.rs"]
mod tmux;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

fn com(args: &str) -> String {
    format!(
        "{} --demo --demo-interval 0.3 {args}; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_com")
    )
}

fn frames(screen: &str, prefix: &regex::Regex) -> usize {
    screen.lines().filter(|l| prefix.is_match(l)).count()
}

#[test]
fn a_cr_only_meter_shows_one_stamped_frame_per_line_with_icrnl() {
    let t = tmux::Tmux::start("icrnl", &com("--line-ending cr --map ICRNL --timestamp"));
    let re = regex::Regex::new(r"^\[\d\d:\d\d:\d\d\.\d\d\d\] S:  \d+Vo:.*Eu  E$").unwrap();
    let screen = t.wait("three stamped frames", |s| frames(s, &re) >= 3);
    // Without the map, the CR-only meter's frames overwrite one line.
    t.send(&["C-a"]);
    t.wait("the exit", |s| s.contains("EXIT=0"));
    assert!(!screen.contains("Eu  ES:"), "{screen}");
    let t = tmux::Tmux::start(
        "cr",
        &com("--line-ending cr --timestamp --timestamp-format iso8601"),
    );
    let iso =
        regex::Regex::new(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d\] S:").unwrap();
    let screen = t.wait("a stamped frame", |s| iso.is_match(s));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let later = t.screen();
    let lines = |s: &str| s.lines().filter(|l| l.contains("Eu  E")).count();
    assert_eq!(lines(&later), 1, "one line, rewritten:\n{screen}\n{later}");
    t.send(&["C-a"]);
    t.wait("the exit", |s| s.contains("EXIT=0"));
}

#[test]
fn hex_view_echo_settings_and_clear() {
    let t = tmux::Tmux::start("hex", &com("--hex --map OLTU"));
    let re = regex::Regex::new(r"^[0-9a-f]{8}  53 3a 20 20 ").unwrap();
    let row =
        regex::Regex::new(r"^[0-9a-f]{8}  ([0-9a-f]{2} ){8} ([0-9a-f]{2} ){8} \|.{16}\|$").unwrap();
    t.wait("a hex row starting a frame", |s| {
        s.lines().any(|l| re.is_match(l)) && frames(s, &row) >= 3
    });
    t.send(&["C-t", "c"]);
    let screen = t.wait("the settings", |s| s.contains("[SETTINGS]: "));
    assert!(screen.contains("  hex        on"), "{screen}");
    assert!(screen.contains("  maps       OLTU"), "{screen}");
    t.send(&["C-t", "e"]);
    t.wait("echo on", |s| s.contains("com: local echo on"));
    t.send(&["-l", "zq"]);
    // Echoed as sent: OLTU makes it upper case.
    t.wait("the echo", |s| s.contains("ZQ"));
    t.send(&["C-t", "l"]);
    t.wait("a cleared screen", |s| {
        !s.contains("[SETTINGS]") && !s.contains("ZQ")
    });
    t.send(&["C-a"]);
    t.wait("the exit", |s| s.contains("EXIT=0"));
}

#[test]
fn hex_input_sends_the_bytes_the_digits_spell() {
    let meter = support::pty();
    let mut child = Command::new(env!("CARGO_BIN_EXE_com"))
        .arg(&meter.path)
        .args(["--hex-input", "--map", "OLTU"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Digits in any case and grouping; a stray letter is refused, not sent.
    stdin.write_all(b"53 3A\n0d0a 7x1\n").unwrap();
    drop(stdin);
    let status = support::wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("--hex-input: 'x' is not a hex digit (ignored)"),
        "{err}"
    );
    // 0x71 is q, sent as Q under OLTU: maps apply after the digits.
    let mut got = vec![0u8; 16];
    let n = (&meter.master).read(&mut got).unwrap();
    assert_eq!(&got[..n], b"S:\r\nQ");
}
