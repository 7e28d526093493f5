//! `com` end to end: the binary against real pseudo-terminals. The test holds
//! each pty master (the instrument, or the user's terminal); `com` opens the
//! slave by path as it would open /dev/ttyUSB0.
mod support;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use support::{
    Pty, collect, contains, pty, spawn_interactive, termios_of, wait_for, wait_with_timeout,
};

const STREAM: &[u8] = include_bytes!("data/stream-seed.bin");
const WATT: &[u8] = include_bytes!("data/watt-seed.txt");

fn com() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_com"));
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `com DEVICE [ARGS] --no-input --log LOG`, the logging set-up most tests use.
fn logging(device: &Path, log: &Path, args: &[&str]) -> Child {
    com()
        .arg(device)
        .args(args)
        .arg("--no-input")
        .arg("--log")
        .arg(log)
        .spawn()
        .unwrap()
}

const ICANON: u32 = libc::ICANON;

/// Waits until `com` has configured the port (the slave left canonical mode).
fn wait_raw(pty: &Pty) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while termios_of(&pty.slave).lflag & ICANON != 0 {
        assert!(
            Instant::now() < deadline,
            "com never configured {}",
            pty.path.display()
        );
        thread::sleep(Duration::from_millis(10));
    }
    // The bridge and its signal handling start right after the port is set up.
    thread::sleep(Duration::from_millis(150));
}

/// Bytes waiting in a tty's input queue (`TIOCINQ`).
fn queued(fd: &OwnedFd) -> usize {
    use std::os::fd::AsRawFd;
    let mut count: libc::c_int = 0;
    // SAFETY: TIOCINQ writes one int through the pointer, which points to a live
    // local; the descriptor is open for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCINQ, &mut count) };
    assert_eq!(rc, 0, "TIOCINQ: {}", std::io::Error::last_os_error());
    count as usize
}

fn signal(child: &Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).expect("kill");
}

fn read_all(mut reader: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut got = Vec::new();
        let _ = reader.read_to_end(&mut got);
        got
    })
}

fn all_bytes(times: usize) -> Vec<u8> {
    (0..times).flat_map(|_| 0..=255u8).collect()
}

#[test]
fn pipe_mode_bridges_all_256_byte_values_both_ways() {
    let pty = pty();
    let mut child = com()
        .arg(&pty.path)
        .arg("115200")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    wait_raw(&pty);
    let up = all_bytes(64);
    let down = all_bytes(64);
    let stdout = read_all(child.stdout.take().unwrap());
    let mut master_in = pty.master.try_clone().unwrap();
    let want = up.len();
    let from_port = thread::spawn(move || {
        let mut got = vec![0; want];
        master_in.read_exact(&mut got).map(|_| got)
    });
    (&pty.master).write_all(&down).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&up).unwrap();
    let got_up = from_port.join().unwrap().unwrap();
    drop(stdin); // end of input: com exits once the port is quiet
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert!(got_up == up, "the port got different bytes");
    let got_down = stdout.join().unwrap();
    assert_eq!(got_down.len(), down.len());
    assert!(got_down == down, "stdout got different bytes");
}

#[test]
fn pipe_mode_reads_a_regular_file_on_stdin() {
    // epoll refuses regular files (EPERM): the bridge reads them as always ready.
    let pty = pty();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.bin");
    let up = all_bytes(16);
    fs::write(&input, &up).unwrap();
    let mut child = com()
        .arg(&pty.path)
        .stdin(File::open(&input).unwrap())
        .spawn()
        .unwrap();
    let mut got = vec![0; up.len()];
    (&pty.master).read_exact(&mut got).unwrap();
    assert!(got == up, "the port got different bytes");
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

fn parse_stamps(log: &[u8]) -> Vec<(usize, time::PrimitiveDateTime)> {
    let re = regex::bytes::Regex::new(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\] ").unwrap();
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    re.captures_iter(log)
        .map(|c| {
            let text = std::str::from_utf8(&c[1]).unwrap();
            (
                c.get(0).unwrap().start(),
                time::PrimitiveDateTime::parse(text, format).unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_log_is_the_original_watt_txt_byte_for_byte_in_local_time() {
    let pty = pty();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watt.txt");
    let mut child = com()
        .arg(&pty.path)
        .arg("9600")
        .args(["--no-input", "--log"])
        .arg(&log)
        .env("TZ", "KST-9") // the seed's machine: UTC+9, no DST
        .spawn()
        .unwrap();
    wait_raw(&pty);
    let stdout = read_all(child.stdout.take().unwrap());
    let before = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    (&pty.master).write_all(STREAM).unwrap();
    wait_for("four stamps in the log", Duration::from_secs(10), || {
        fs::read(&log)
            .map(|l| parse_stamps(&l).len() == 4)
            .unwrap_or(false)
    });
    let after = time::OffsetDateTime::now_utc();
    signal(&child, Signal::SIGTERM);
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143));
    assert_eq!(
        stdout.join().unwrap(),
        STREAM,
        "the terminal shows the raw stream"
    );

    let got = fs::read(&log).unwrap();
    let stamps = parse_stamps(&got);
    let kst = time::UtcOffset::from_hms(9, 0, 0).unwrap();
    for (_, stamp) in &stamps {
        let instant = stamp.assume_offset(kst);
        assert!(
            instant >= before && instant <= after,
            "{stamp} outside the run"
        );
    }
    // With the seed's times in place of ours, the log is the seed's watt.txt.
    let seed_stamps = parse_stamps(WATT);
    let mut normalized = got.clone();
    for ((at, ours), (_, seed)) in stamps.iter().zip(&seed_stamps).rev() {
        let _ = ours;
        let text = format!(
            "[{:04}-{:02}-{:02} {:02}:{:02}:{:02}] ",
            seed.year(),
            u8::from(seed.month()),
            seed.day(),
            seed.hour(),
            seed.minute(),
            seed.second()
        );
        normalized.splice(*at..*at + text.len(), text.bytes());
    }
    assert_eq!(
        String::from_utf8_lossy(&normalized),
        String::from_utf8_lossy(WATT)
    );
    assert_eq!(normalized, WATT);
}

#[test]
fn rfc3339_utc_log_stamps_each_line() {
    let pty = pty();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    let mut child = com()
        .arg(&pty.path)
        .args([
            "--no-input",
            "--log-format",
            "rfc3339-utc",
            "--fsync",
            "--log",
        ])
        .arg(&log)
        .spawn()
        .unwrap();
    wait_raw(&pty);
    (&pty.master).write_all(STREAM).unwrap();
    wait_for("four lines", Duration::from_secs(10), || {
        fs::read(&log)
            .map(|l| l.iter().filter(|&&b| b == b'\n').count() == 4)
            .unwrap_or(false)
    });
    signal(&child, Signal::SIGINT);
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(10)).code(),
        Some(130)
    );
    let text = fs::read_to_string(&log).unwrap();
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z S:  2169").unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 4);
    for (line, frame) in lines.iter().zip(STREAM.split_inclusive(|&b| b == b'\n')) {
        assert!(re.is_match(line), "{line:?}");
        assert!(line.as_bytes().ends_with(frame));
    }
}

#[test]
fn signals_end_the_session_with_everything_received_logged() {
    for sig in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        let pty = pty();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("watt.txt");
        let mut child = logging(&pty.path, &log, &[]);
        wait_raw(&pty);
        let stdout = read_all(child.stdout.take().unwrap());
        let burst: Vec<u8> = (0..200)
            .flat_map(|i| format!("line {i:03}\n").into_bytes())
            .collect();
        // Once the first line is logged, the session (and its signal handling)
        // is running.
        (&pty.master).write_all(&burst[..9]).unwrap();
        wait_for("the first line", Duration::from_secs(5), || {
            fs::read(&log).is_ok_and(|l| l.len() == 9)
        });
        // Freeze com, let the kernel queue the rest on the port, signal it, thaw
        // it: the bytes are received but unread when the signal is handled.
        signal(&child, Signal::SIGSTOP);
        (&pty.master).write_all(&burst[9..]).unwrap();
        wait_for(
            "the bytes queued on the port",
            Duration::from_secs(5),
            || queued(&pty.slave) == burst.len() - 9,
        );
        signal(&child, sig);
        signal(&child, Signal::SIGCONT);
        let status = wait_with_timeout(&mut child, Duration::from_secs(10));
        assert_eq!(status.code(), Some(128 + sig as i32), "{sig}");
        assert_eq!(fs::read(&log).unwrap(), burst, "{sig}: log");
        assert_eq!(stdout.join().unwrap(), burst, "{sig}: stdout");
    }
}

#[test]
fn a_hang_up_is_reported_after_the_last_bytes_are_logged() {
    let pty = pty();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watt.txt");
    let mut child = logging(&pty.path, &log, &[]);
    wait_raw(&pty);
    let stderr = read_all(child.stderr.take().unwrap());
    (&pty.master).write_all(b"last words\r\n").unwrap();
    wait_for("the log", Duration::from_secs(5), || {
        fs::read(&log)
            .map(|l| l.ends_with(b"] \n"))
            .unwrap_or(false)
    });
    let Pty { master, slave, .. } = pty;
    drop(master); // the adapter is unplugged
    let started = Instant::now();
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "hang-up noticed late"
    );
    drop(slave);
    assert_eq!(status.code(), Some(4));
    let stderr = String::from_utf8(stderr.join().unwrap()).unwrap();
    assert!(stderr.contains("disconnected"), "{stderr}");
    assert!(fs::read(&log).unwrap().starts_with(b"last words["));
}

#[test]
fn reconnect_reopens_the_device_and_continues_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyMETER");
    let log = dir.path().join("watt.txt");
    let first = pty();
    std::os::unix::fs::symlink(&first.path, &link).unwrap();
    let mut child = logging(&link, &log, &["--reconnect"]);
    wait_raw(&first);
    let stderr = collect(child.stderr.take().unwrap());
    let stdout = read_all(child.stdout.take().unwrap());
    (&first.master).write_all(b"before\r\n").unwrap();
    wait_for("the first line", Duration::from_secs(5), || {
        fs::read(&log)
            .map(|l| contains(&l, b"before["))
            .unwrap_or(false)
    });
    // The adapter goes away; a new one appears under the same name (as udev's
    // /dev/serial/by-id links do).
    let second = pty();
    let tmp = dir.path().join("ttyMETER.new");
    std::os::unix::fs::symlink(&second.path, &tmp).unwrap();
    fs::rename(&tmp, &link).unwrap();
    drop(first);
    wait_for("the reconnection", Duration::from_secs(10), || {
        contains(&stderr.lock().unwrap(), b"reconnected")
    });
    wait_raw(&second);
    (&second.master).write_all(b"after\r\n").unwrap();
    wait_for("the second line", Duration::from_secs(5), || {
        fs::read(&log)
            .map(|l| contains(&l, b"after["))
            .unwrap_or(false)
    });
    signal(&child, Signal::SIGTERM);
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(10)).code(),
        Some(143)
    );
    let text = String::from_utf8(fs::read(&log).unwrap()).unwrap();
    let re = regex::Regex::new(r"^before\[[^\]]+\] \nafter\[[^\]]+\] \n$").unwrap();
    assert!(re.is_match(&text), "{text:?}");
    assert_eq!(stdout.join().unwrap(), b"before\r\nafter\r\n");
    let stderr = String::from_utf8(stderr.lock().unwrap().clone()).unwrap();
    assert!(stderr.contains("disconnected"), "{stderr}");
    assert!(stderr.contains("waiting for it to come back"), "{stderr}");
}

#[test]
fn reconnect_waits_for_a_device_absent_at_start_and_creates_files_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyMETER");
    let log = dir.path().join("watt.txt");
    let mut child = logging(&link, &log, &["--reconnect"]);
    let stderr = collect(child.stderr.take().unwrap());
    let stdout = read_all(child.stdout.take().unwrap());
    wait_for("the waiting message", Duration::from_secs(10), || {
        contains(&stderr.lock().unwrap(), b"waiting for it (--reconnect)")
    });
    assert!(!log.exists(), "no log before the device opens");
    // The adapter is plugged in.
    let meter = pty();
    std::os::unix::fs::symlink(&meter.path, &link).unwrap();
    wait_for("the connection", Duration::from_secs(10), || {
        contains(&stderr.lock().unwrap(), b": connected (")
    });
    wait_raw(&meter);
    (&meter.master).write_all(b"hello\r\n").unwrap();
    wait_for("the line", Duration::from_secs(5), || {
        fs::read(&log)
            .map(|l| contains(&l, b"hello["))
            .unwrap_or(false)
    });
    signal(&child, Signal::SIGTERM);
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(10)).code(),
        Some(143)
    );
    assert_eq!(stdout.join().unwrap(), b"hello\r\n");
}

#[test]
fn nothing_is_created_when_the_device_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watt.txt");
    let out = dir.path().join("meter.csv");
    let o = com()
        .arg("/dev/no-such-tty")
        .args(["--no-input", "--decode", "csv", "--log"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(!log.exists() && !out.exists());
}

#[test]
fn the_command_line_refuses_one_file_for_log_and_records_and_colliding_keys() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watt.txt");
    let dotted = dir.path().join(".").join("watt.txt");
    let meter = pty();
    let o = com()
        .arg(&meter.path)
        .args(["--no-input", "--decode", "csv", "--log"])
        .arg(&log)
        .arg("--out")
        .arg(&dotted)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("are one file"), "{err}");
    assert!(!log.exists());
    for (args, message) in [
        (
            &["--exit-key", "C-x"][..],
            "--exit-key and --status-key are both C-x",
        ),
        (
            &["--menu-key", "^A"][..],
            "--exit-key and --menu-key are both C-a",
        ),
        (
            &["--status-key", "0x14"][..],
            "--status-key and --menu-key are both C-t",
        ),
    ] {
        let o = com().arg(&meter.path).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
    // `none` twice is no collision.
    let o = com()
        .arg("/dev/no-such-tty")
        .args(["--exit-key", "none", "--status-key", "none"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn a_log_write_error_is_reported_and_the_exit_code_is_1() {
    let pty = pty();
    let mut child = com()
        .arg(&pty.path)
        .args(["--no-input", "--log", "/dev/full"])
        .spawn()
        .unwrap();
    wait_raw(&pty);
    (&pty.master).write_all(b"data\r\n").unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(1));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("writing the log /dev/full"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "the error is printed once: {stderr}"
    );
    // The port's settings were restored on the way out.
    assert_ne!(termios_of(&pty.slave).lflag & ICANON, 0);
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): utime is the 14th
    // field of the line, stime the 15th.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn an_idle_session_uses_no_cpu() {
    let pty = pty();
    let mut child = com().arg(&pty.path).stdin(Stdio::piped()).spawn().unwrap();
    wait_raw(&pty);
    (&pty.master).write_all(b"warm up\r\n").unwrap();
    thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(child.id());
    thread::sleep(Duration::from_secs(5));
    let after = cpu_ticks(child.id());
    signal(&child, Signal::SIGTERM);
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(10)).code(),
        Some(143)
    );
    assert_eq!(after - before, 0, "com used CPU while idle");
}

#[test]
fn interactive_keys_work_and_the_terminal_is_restored() {
    let term = pty();
    let device = pty();
    let before = termios_of(&term.slave);
    let mut child = spawn_interactive(&term, &[device.path.as_os_str()]);
    wait_raw(&device);
    let screen = collect(term.master.try_clone().unwrap());
    wait_for("the banner", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"C-a exit, C-x modem lines status")
    });
    assert_eq!(
        termios_of(&term.slave).lflag & ICANON,
        0,
        "raw while running"
    );
    // The original's start-up status line; a pty has no modem lines.
    assert!(contains(&screen.lock().unwrap(), b"[STATUS]: unavailable"));

    let mut keyboard = term.master.try_clone().unwrap();
    let mut wire = device.master.try_clone().unwrap();
    keyboard.write_all(b"hello\r").unwrap();
    let mut got = [0u8; 6];
    wire.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello\r", "typed bytes reach the device unchanged");

    wire.write_all(b"from the device\r\n").unwrap();
    wait_for("device output", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"from the device\r\n")
    });

    screen.lock().unwrap().clear();
    keyboard.write_all(&[0x18]).unwrap(); // Ctrl-X
    wait_for("the status line", Duration::from_secs(5), || {
        let s = screen.lock().unwrap();
        contains(&s, b"[STATUS]: ") && contains(&s, b"\r\n")
    });

    keyboard.write_all(&[0x14, b'?']).unwrap(); // Ctrl-T ?
    wait_for("the help", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"toggle DTR")
    });
    keyboard.write_all(&[0x14, b'b']).unwrap(); // break: a no-op on a pty
    wait_for("the break", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"break sent")
    });
    keyboard.write_all(&[0x14, b'd']).unwrap(); // DTR: not on a pty
    wait_for("the DTR answer", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"not supported by this device")
    });
    // The menu key then the exit key sends a literal Ctrl-A.
    keyboard.write_all(&[0x14, 0x01]).unwrap();
    let mut literal = [0u8; 1];
    wire.read_exact(&mut literal).unwrap();
    assert_eq!(literal, [0x01]);

    keyboard.write_all(&[0x01]).unwrap(); // Ctrl-A
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert_eq!(termios_of(&term.slave), before, "the terminal is restored");
    assert_ne!(
        termios_of(&device.slave).lflag & ICANON,
        0,
        "the port is restored"
    );
}

#[test]
fn opening_errors_have_their_exit_code_and_message() {
    let cases: [(&[&str], i32, &str); 4] = [
        (&["/dev/no-such-tty"], 3, "no such device"),
        (&["/dev/null"], 3, "not a serial or terminal device"),
        (&["/dev/null", "fast"], 2, "invalid speed `fast`"),
        (
            &["/dev/null", "9600", "--framing", "9X1"],
            2,
            "invalid framing `9X1`",
        ),
    ];
    for (args, code, message) in cases {
        let out = com().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let pty = pty();
    let mut holder = com().arg(&pty.path).args(["--no-input"]).spawn().unwrap();
    wait_raw(&pty);
    let out = com().arg(&pty.path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");
    signal(&holder, Signal::SIGTERM);
    wait_with_timeout(&mut holder, Duration::from_secs(10));
    let help = com().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Exit codes:") && help.contains("hung up"),
        "{help}"
    );
}

/// `com DEVICE` run by a user the device refuses: as root (CI) `setpriv`
/// (util-linux) drops to `nobody`, and the device is root's with mode 0600;
/// otherwise the test's own user runs `com` on a device it made mode 0000.
/// Either way `open(2)` fails with a real `EACCES`.
fn run_denied(device: &Path) -> std::process::Output {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        fs::set_permissions(device, fs::Permissions::from_mode(0o000)).unwrap();
        return com().arg(device).output().unwrap();
    }
    fs::set_permissions(device, fs::Permissions::from_mode(0o600)).unwrap();
    // `nobody` must reach the binary: a copy in a directory anyone may enter.
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("com");
    fs::copy(env!("CARGO_BIN_EXE_com"), &exe).unwrap();
    for _ in 0..20 {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&exe)
            .arg(device)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| {
                panic!("cannot run setpriv (package util-linux), needed to drop root: {err}")
            });
        // Another test thread forking while the copy was open for writing
        // makes exec fail with ETXTBSY for a moment.
        if !String::from_utf8_lossy(&out.stderr).contains("Text file busy") {
            return out;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("{} stayed busy (ETXTBSY)", exe.display());
}

#[test]
fn permission_denied_names_the_device_and_has_its_exit_code() {
    let device = pty();
    let out = run_denied(&device.path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "com: error: {}: permission denied (is your user in the device's group, usually `dialout`?)",
            device.path.display()
        )
    );
    assert!(out.stdout.is_empty());
    // `com --help` documents exit code 3 for it.
    let help = com().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let code_3 = help
        .lines()
        .find(|l| l.trim_start().starts_with("3 "))
        .unwrap_or_else(|| panic!("no exit code 3 in --help:\n{help}"));
    assert!(code_3.contains("permission"), "{code_3}");
}

#[test]
fn list_prints_device_nodes() {
    let out = com().arg("--list").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.is_empty());
    for line in text.lines() {
        assert!(
            line.starts_with("/dev/") || line.starts_with("no serial devices"),
            "{line:?}"
        );
    }
    // Every listed node (the by-id link's target, or the node itself) exists.
    for line in text.lines().filter(|l| l.starts_with("/dev/")) {
        let node = match line.split_once(" -> ") {
            Some((_, target)) => target.split_whitespace().next().unwrap(),
            None => line.split_whitespace().next().unwrap(),
        };
        assert!(Path::new(node).exists(), "{line}");
    }
}

#[test]
fn live_decoding_replaces_stdout_in_pipe_mode_or_goes_to_a_file() {
    // Records on stdout.
    let pty = self::pty();
    let mut child = com()
        .arg(&pty.path)
        .args(["--no-input", "--decode", "csv"])
        .spawn()
        .unwrap();
    wait_raw(&pty);
    let stdout = collect(child.stdout.take().unwrap());
    (&pty.master).write_all(STREAM).unwrap();
    wait_for("five CSV lines", Duration::from_secs(5), || {
        stdout
            .lock()
            .unwrap()
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            == 5
    });
    signal(&child, Signal::SIGTERM);
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(10)).code(),
        Some(143)
    );
    let csv = String::from_utf8(stdout.lock().unwrap().clone()).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(rows[0].starts_with("time,"), "{csv}");
    assert!(
        rows[1].contains(",216.9,42.41,4.646,0.002,0.505,59.98,"),
        "{csv}"
    );

    // Records in a file, raw stream on stdout.
    let pty = self::pty();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("meter.jsonl");
    let mut child = com()
        .arg(&pty.path)
        .args(["--no-input", "--decode", "jsonl", "--out"])
        .arg(&out)
        .spawn()
        .unwrap();
    wait_raw(&pty);
    let stdout = read_all(child.stdout.take().unwrap());
    (&pty.master).write_all(STREAM).unwrap();
    wait_for("four records", Duration::from_secs(5), || {
        fs::read_to_string(&out)
            .map(|t| t.lines().count() == 4)
            .unwrap_or(false)
    });
    signal(&child, Signal::SIGTERM);
    wait_with_timeout(&mut child, Duration::from_secs(10));
    assert_eq!(stdout.join().unwrap(), STREAM);
    for line in fs::read_to_string(&out).unwrap().lines() {
        assert!(line.starts_with("{\"time\":\""), "{line}");
        assert!(line.contains("\"voltage_V\":216.9"), "{line}");
    }
}

#[test]
fn decode_converts_old_logs_and_raw_captures() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let out = com()
        .args(["decode", "--format", "csv", "--utc-offset", "+09:00"])
        .arg(data.join("watt-seed.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(
        rows[1].starts_with("2011-01-05T07:57:32+09:00,216.9,42.41,"),
        "{}",
        rows[1]
    );
    assert!(
        rows[4].starts_with("2011-01-05T07:57:34+09:00,216.9,42.43,"),
        "{}",
        rows[4]
    );

    // A raw capture on stdin: no times of its own, so InfluxDB points need a
    // start time and an interval.
    let mut child = com()
        .args([
            "decode",
            "--format",
            "influx",
            "--start",
            "2026-01-01T00:00:00Z",
            "--interval",
            "1",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(STREAM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 4, "{lines}");
    assert!(lines.lines().all(|l| l.starts_with("hpm ")), "{lines}");
    assert!(
        lines
            .lines()
            .last()
            .unwrap()
            .ends_with(" 1767225603000000000"),
        "{lines}"
    );
    let mut child = com()
        .args(["decode", "--format", "influx"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(STREAM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--start TIME --interval SECONDS"));
}

#[test]
fn the_demo_shows_live_meter_frames() {
    let mut child = com()
        .args(["--demo", "--no-input", "--demo-interval", "0.2"])
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let re = regex::Regex::new(
        r"^S:(\s+\d+Vo):(\s+\d+Am):(\s+\d+Wa):(\s+\d+Wh):(\s+\d+Pf):(\s+\d+Hz):(\s+\d+Kg):(\s+\d+Eu)  E\r\n$",
    )
    .unwrap();
    let mut frames = Vec::new();
    let started = Instant::now();
    while frames.len() < 3 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(re.is_match(&line), "{line:?}");
        frames.push(line);
    }
    // Paced: three frames 0.2 s apart, each ~86 bytes at 960 bytes/s.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    signal(&child, Signal::SIGTERM);
    assert_eq!(
        wait_with_timeout(&mut child, Duration::from_secs(10)).code(),
        Some(143)
    );
}

#[test]
fn simulate_prints_a_pty_path_that_serves_frames() {
    let mut child = com()
        .args(["simulate", "--interval", "0.1", "--count", "10"])
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut path = String::new();
    stdout.read_line(&mut path).unwrap();
    let path = path.trim_end();
    assert!(path.starts_with("/dev/pts/"), "{path:?}");
    let mut port = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !contains(&got, b"Eu  E\r\n") {
        let n = port.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert!(contains(&got, b"Vo:"), "{}", String::from_utf8_lossy(&got));
    drop(port);
    let status = wait_with_timeout(&mut child, Duration::from_secs(20));
    assert!(status.success());
}

#[test]
fn over_a_cr_only_meter_messages_start_on_a_fresh_line_and_ctrl_t_s_counts() {
    const FRAME: &[u8] =
        b"S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E";
    let term = pty();
    let device = pty();
    let mut child = spawn_interactive(&term, &[device.path.as_os_str()]);
    wait_raw(&device);
    let screen = collect(term.master.try_clone().unwrap());
    wait_for("the banner", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"C-a exit")
    });
    let mut keyboard = term.master.try_clone().unwrap();
    let mut wire = device.master.try_clone().unwrap();
    // Two good frames, a damaged one, each ended by CR alone, then half a frame.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(FRAME);
    bytes.push(b'\r');
    bytes.extend_from_slice(FRAME);
    bytes.push(b'\r');
    bytes.extend_from_slice(&FRAME[..20]);
    bytes.extend_from_slice(&FRAME[21..]);
    bytes.push(b'\r');
    bytes.extend_from_slice(&FRAME[..30]);
    wire.write_all(&bytes).unwrap();
    wait_for("the stream", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), &FRAME[..30])
    });
    screen.lock().unwrap().clear();
    keyboard.write_all(&[0x14, b's']).unwrap();
    wait_for("the counts", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"[COUNTS]: ")
    });
    let shown = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    // The status line starts on a line of its own, not after the half frame.
    assert!(shown.starts_with("\r\n[STATUS]: "), "{shown:?}");
    assert!(
        shown.contains("[COUNTS]: 2 records, 1 damaged, 0 suspect, "),
        "{shown:?}"
    );
    // A message after more of the stream starts on its own line too.
    wire.write_all(b"xyz").unwrap();
    wait_for("more stream", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"xyz")
    });
    keyboard.write_all(&[0x14, b'b']).unwrap();
    wait_for("the break", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"xyz\r\ncom: break sent")
    });
    // After the exit the shell's prompt starts on a fresh line.
    wire.write_all(b"S:  216").unwrap();
    wait_for("a cut frame", Duration::from_secs(5), || {
        contains(&screen.lock().unwrap(), b"S:  216")
    });
    keyboard.write_all(&[0x01]).unwrap();
    assert!(wait_with_timeout(&mut child, Duration::from_secs(10)).success());
    wait_for("the last line end", Duration::from_secs(5), || {
        screen.lock().unwrap().ends_with(b"S:  216\r\n")
    });
}

/// CSV rows without their first column (the time: live records carry the
/// time of reception, the log's records the time the logger wrote).
fn rows_without_time(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .map(|l| l.split_once(',').map_or("", |(_, rest)| rest).to_string())
        .collect()
}

#[test]
fn over_a_noisy_line_the_live_records_are_those_of_the_sessions_log() {
    for (ending, log_format) in [("cr", "watt"), ("crlf", "watt"), ("cr", "rfc3339")] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("watt.txt");
        let live_csv = dir.path().join("live.csv");
        let mut sim = com()
            .args([
                "simulate",
                "--interval",
                "0.05",
                "--count",
                "50",
                "--noise",
                "0.004",
            ])
            .args(["--line-ending", ending, "--seed", "11"])
            .spawn()
            .unwrap();
        let mut path = String::new();
        BufReader::new(sim.stdout.take().unwrap())
            .read_line(&mut path)
            .unwrap();
        let mut live = com()
            .arg(path.trim_end())
            .args(["--no-input", "--quiet", "--log-format", log_format, "--log"])
            .arg(&log)
            .args(["--decode", "csv", "--keep-suspect", "--out"])
            .arg(&live_csv)
            .spawn()
            .unwrap();
        assert!(wait_with_timeout(&mut sim, Duration::from_secs(60)).success());
        // The simulator's end hangs the line up: com exits 4 after logging all.
        assert_eq!(
            wait_with_timeout(&mut live, Duration::from_secs(20)).code(),
            Some(4)
        );
        let decoded = com()
            .args(["decode", "--format", "csv", "--keep-suspect", "--quiet"])
            .arg(&log)
            .output()
            .unwrap();
        assert!(decoded.status.success());
        let from_log = rows_without_time(&String::from_utf8(decoded.stdout).unwrap());
        let from_live = rows_without_time(&fs::read_to_string(&live_csv).unwrap());
        let summary = String::from_utf8_lossy(&decoded.stderr).into_owned();
        assert!(from_live.len() >= 20, "{ending} {log_format}: {summary}");
        assert!(
            !summary.contains(" 0 damaged"),
            "the noise damaged some: {summary}"
        );
        assert_eq!(from_live, from_log, "{ending} {log_format}: {summary}");
    }
}

/// A private tmux server running one shell script in a 100x30 pane.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, script: &str) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|v| v.status.success()),
            "tmux is needed for this test (`cargo xtask ci` installs it)"
        );
        let tmux = Tmux {
            socket: format!("com-test-{}-{name}", std::process::id()),
        };
        let status = tmux
            .cmd()
            .args(["new-session", "-d", "-x", "100", "-y", "30", script])
            .status()
            .unwrap();
        assert!(status.success());
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"])
            .env("TERM", "xterm")
            .stdin(Stdio::null());
        cmd
    }

    fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "0"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pid of `com`: the child of the pane's shell.
    fn com_pid(&self) -> i32 {
        let out = self
            .cmd()
            .args(["display-message", "-p", "-t", "0", "#{pane_pid}"])
            .output()
            .unwrap();
        let shell: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let children = fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children
            .split_whitespace()
            .next()
            .expect("com runs")
            .parse()
            .unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// Runs `com DEVICE` in tmux between two `stty -a`, ends it with `end`, and
/// checks the exit code and that the terminal settings came back.
/// `end` returns the device if it is to stay plugged in until `com` has exited.
fn tmux_session(name: &str, expected_code: &str, end: impl FnOnce(&Tmux, Pty) -> Option<Pty>) {
    tmux_session_with(name, "", expected_code, end)
}

/// As [`tmux_session`], with more arguments for `com`; the device's greeting is
/// then sent but not awaited on screen, and no status key is pressed.
fn tmux_session_with(
    name: &str,
    extra_args: &str,
    expected_code: &str,
    end: impl FnOnce(&Tmux, Pty) -> Option<Pty>,
) {
    let dir = tempfile::tempdir().unwrap();
    let device = pty();
    let d = dir.path().display();
    let script = format!(
        "stty -a > {d}/before; {com} {dev} 9600 {extra_args}; echo $? > {d}/rc; stty -a > {d}/after; exec sleep 60",
        com = env!("CARGO_BIN_EXE_com"),
        dev = device.path.display(),
    );
    let tmux = Tmux::start(name, &script);
    wait_raw(&device);
    wait_for("the banner", Duration::from_secs(5), || {
        tmux.screen().contains("C-a exit")
    });

    // Typing reaches the device; the device's output reaches the screen.
    tmux.send(&["-l", "hello"]);
    let mut got = [0u8; 5];
    (&device.master).read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello");
    (&device.master).write_all(b"meter says hi\r\n").unwrap();
    if extra_args.is_empty() {
        wait_for("device output on screen", Duration::from_secs(5), || {
            tmux.screen().contains("meter says hi")
        });
        tmux.send(&["C-x"]);
        wait_for("the status line", Duration::from_secs(5), || {
            tmux.screen().matches("[STATUS]:").count() >= 2 // at start-up and now
        });
    }

    let _plugged = end(&tmux, device);
    let rc = dir.path().join("rc");
    wait_for("com to exit", Duration::from_secs(10), || {
        fs::read_to_string(dir.path().join("after")).is_ok_and(|a| !a.is_empty())
    });
    assert_eq!(
        fs::read_to_string(&rc).unwrap().trim(),
        expected_code,
        "{name}: {}",
        tmux.screen()
    );
    let before = fs::read_to_string(dir.path().join("before")).unwrap();
    let after = fs::read_to_string(dir.path().join("after")).unwrap();
    assert!(
        before.contains("icanon") && before.contains("echo"),
        "{before}"
    );
    assert_eq!(before, after, "{name}: stty -a differs after com");
}

#[test]
fn tmux_interactive_session_restores_the_terminal() {
    tmux_session("ctrl-a", "0", |tmux, device| {
        tmux.send(&["C-a"]);
        Some(device)
    });
    tmux_session("sigterm", "143", |tmux, device| {
        kill(Pid::from_raw(tmux.com_pid()), Signal::SIGTERM).unwrap();
        Some(device)
    });
    // A log write error: reported, the terminal restored, exit code 1. (The
    // greeting from the device below is what fails to be logged.)
    tmux_session_with("full", "--log /dev/full", "1", |tmux, device| {
        wait_for("the log error", Duration::from_secs(5), || {
            tmux.screen().contains("writing the log /dev/full")
        });
        Some(device)
    });
    tmux_session("unplug", "4", |tmux, device| {
        drop(device);
        wait_for("the disconnect message", Duration::from_secs(5), || {
            tmux.screen().contains("disconnected")
        });
        None
    });
}
