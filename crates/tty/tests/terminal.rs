//! The raw-terminal guard's process-wide ways back (a panic hook, signal
//! handlers) are there only when the program asks for them. Own test binary:
//! it installs a panic hook of its own, and runs itself as a child process.
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tty::RawTerminal;
use tty::termios::{ICANON, Termios};

fn pty() -> (OwnedFd, OwnedFd, std::path::PathBuf) {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let path = nix::unistd::ttyname(&pty.slave).expect("ttyname");
    (pty.master, pty.slave, path)
}

fn is_raw(fd: &impl AsRawFd) -> bool {
    Termios::from_fd(fd.as_raw_fd()).unwrap().c_lflag & ICANON == 0
}

/// Whether the terminal was raw when each panic hook call ran.
static RAW_AT_PANIC: Mutex<Vec<bool>> = Mutex::new(Vec::new());

#[test]
fn a_panic_restores_the_terminal_before_its_message_only_once_asked() {
    let (_master, slave, _) = pty();
    let before = Termios::from_fd(slave.as_raw_fd()).unwrap();
    let watched = slave.try_clone().unwrap();
    // Stands for the default hook, which prints the message: it notes the
    // terminal's state at that moment.
    std::panic::set_hook(Box::new(move |_| {
        RAW_AT_PANIC.lock().unwrap().push(is_raw(&watched));
    }));
    let panic_in_raw_mode = |slave: &OwnedFd| {
        let slave = slave.try_clone().unwrap();
        let joined = std::thread::spawn(move || {
            let _guard = RawTerminal::enter(&slave).unwrap();
            panic!("in raw mode");
        })
        .join();
        assert!(joined.is_err());
    };

    // Not asked: entering raw mode installed no hook, so the message comes
    // while the terminal is raw; unwinding drops the guard afterwards.
    panic_in_raw_mode(&slave);
    assert_eq!(Termios::from_fd(slave.as_raw_fd()).unwrap(), before);

    // Asked: restored before the (previous) hook runs.
    RawTerminal::restore_on_panic();
    RawTerminal::restore_on_panic(); // a second call changes nothing
    panic_in_raw_mode(&slave);
    assert_eq!(Termios::from_fd(slave.as_raw_fd()).unwrap(), before);

    let _ = std::panic::take_hook();
    assert_eq!(*RAW_AT_PANIC.lock().unwrap(), [true, false]);
}

const CHILD_PTY: &str = "TTY_TEST_SIGNAL_PTY";
const CHILD_OPT_IN: &str = "TTY_TEST_SIGNAL_OPT_IN";
const CHILD_READY: &str = "child: raw mode entered";

/// The child of `sigterm_restores_the_terminal_only_once_asked`: raw mode on
/// the pty it is given, the signal handlers if asked, then a wait to be killed.
#[test]
#[ignore = "run as a child process by sigterm_restores_the_terminal_only_once_asked"]
fn signal_child() {
    let path = std::env::var_os(CHILD_PTY).expect("run by its parent test");
    let terminal = std::fs::File::options()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    if std::env::var_os(CHILD_OPT_IN).is_some() {
        RawTerminal::restore_on_signals().unwrap();
    }
    let _guard = RawTerminal::enter(&terminal).unwrap();
    println!("{CHILD_READY}");
    std::thread::sleep(Duration::from_secs(60));
}

/// Runs `signal_child` on the pty at `path`, SIGTERMs it once it is in raw
/// mode; returns how it ended.
fn raw_child_killed(path: &std::path::Path, opt_in: bool) -> std::process::ExitStatus {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "signal_child", "--ignored", "--nocapture"])
        .env(CHILD_PTY, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if opt_in {
        command.env(CHILD_OPT_IN, "1");
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if line.is_ok_and(|l| l.contains(CHILD_READY)) {
                let _ = tx.send(());
            }
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(30));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    if ready.is_err() {
        let _ = child.kill();
        panic!("the child never entered raw mode");
    }
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    child.wait().unwrap()
}

#[test]
fn sigterm_restores_the_terminal_only_once_asked() {
    for opt_in in [false, true] {
        let (_master, slave, path) = pty();
        let before = Termios::from_fd(slave.as_raw_fd()).unwrap();
        assert!(!is_raw(&slave));
        let status = raw_child_killed(&path, opt_in);
        // Either way SIGTERM ends the process as its default action does.
        assert_eq!(status.signal(), Some(libc::SIGTERM), "opt in: {opt_in}");
        let after = Termios::from_fd(slave.as_raw_fd()).unwrap();
        if opt_in {
            assert_eq!(after, before, "the handler restored the terminal");
        } else {
            assert!(is_raw(&slave), "no handler was installed unasked");
        }
    }
}
