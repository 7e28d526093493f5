//! Named profiles from `$XDG_CONFIG_HOME/com/config.toml`: `com meter` opens
//! the profile's device with its settings; options given on the command line
//! win; a broken file is refused naming it.
mod support;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{Pty, collect, pty, termios_of, wait_for, wait_with_timeout};

/// Waits until `com` has set the port up (raw), and its bridge a moment more.
fn wait_raw(pty: &Pty) {
    let icanon = nix::sys::termios::LocalFlags::ICANON.bits();
    wait_for("com to set the port up", Duration::from_secs(10), || {
        termios_of(&pty.slave).lflag & icanon == 0
    });
    std::thread::sleep(Duration::from_millis(300));
}

const FRAME: &[u8] =
    b"S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E\r\n";

fn com(config: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_com"));
    cmd.args(args)
        .env("XDG_CONFIG_HOME", config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn stop(child: &mut Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(
        wait_with_timeout(child, Duration::from_secs(10)).code(),
        Some(143)
    );
}

#[test]
fn a_profile_opens_its_device_with_its_settings_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let meter = pty();
    let log = dir.path().join("watt.txt");
    std::fs::create_dir_all(dir.path().join("com")).unwrap();
    std::fs::write(
        dir.path().join("com/config.toml"),
        format!(
            "[meter]\ndevice = {:?}\nspeed = 9600\nlog = {:?}\nno_input = true\ntimestamp = \"epoch-usec\"\n",
            meter.path.display().to_string(),
            log.display().to_string()
        ),
    )
    .unwrap();
    let mut child = com(dir.path(), &["meter"]).spawn().unwrap();
    let out = collect(child.stdout.take().unwrap());
    wait_raw(&meter);
    (&meter.master).write_all(FRAME).unwrap();
    wait_for("the stamped frame", Duration::from_secs(10), || {
        let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
        regex::Regex::new(r"^\[\d{10}\.\d{6}\] S:  21693Vo")
            .unwrap()
            .is_match(&text)
    });
    wait_for("the log", Duration::from_secs(10), || {
        std::fs::read(&log).is_ok_and(|l| l.starts_with(&FRAME[..FRAME.len() - 2]))
    });
    stop(&mut child);

    // --log and --timestamp on the command line replace the profile's.
    let other = dir.path().join("other.txt");
    let mut child = com(
        dir.path(),
        &[
            "meter",
            "--log",
            other.to_str().unwrap(),
            "--timestamp=24hour",
        ],
    )
    .spawn()
    .unwrap();
    let out = collect(child.stdout.take().unwrap());
    wait_raw(&meter);
    (&meter.master).write_all(FRAME).unwrap();
    wait_for(
        "the frame in the other log",
        Duration::from_secs(10),
        || std::fs::read(&other).is_ok_and(|l| l.starts_with(b"S:  21693Vo")),
    );
    wait_for("the 24-hour stamp", Duration::from_secs(10), || {
        let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
        regex::Regex::new(r"^\[\d\d:\d\d:\d\d\.\d{3}\] S:")
            .unwrap()
            .is_match(&text)
    });
    stop(&mut child);
    let first_log = std::fs::read(&log).unwrap();
    assert_eq!(first_log.windows(4).filter(|w| w == b"S:  ").count(), 1);
}

#[test]
fn a_broken_configuration_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("com")).unwrap();
    std::fs::write(dir.path().join("com/config.toml"), "[meter\ndevice = 1\n").unwrap();
    let mut child = com(dir.path(), &["meter"]).spawn().unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("com/config.toml"), "{err}");
    // A name that is neither a file nor a profile is a device that is not there.
    std::fs::write(
        dir.path().join("com/config.toml"),
        "[meter]\nspeed = 9600\n",
    )
    .unwrap();
    let out = com(dir.path(), &["meter"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`speed` needs a `device`"));
    let out = com(dir.path(), &["nosuch", "--no-input"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
}
