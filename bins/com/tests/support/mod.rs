//! Helpers shared by `com`'s test binaries (`com.rs` on pseudo-terminals,
//! `kernel_uart.rs` on the kernel lab's UART): pseudo-terminals, terminal
//! snapshots, collecting a terminal's output, waiting with a time limit.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A pseudo-terminal: the test holds the master, `com` gets the slave.
pub struct Pty {
    pub master: File,
    pub slave: OwnedFd,
    pub path: PathBuf,
}

/// A pty pair whose descriptors are close-on-exec from the start: tests run in
/// parallel threads, and a master inherited by another test's `com` would keep
/// that pty from ever hanging up.
pub fn pty() -> Pty {
    use nix::fcntl::OFlag;
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .expect("posix_openpt");
    nix::pty::grantpt(&master).expect("grantpt");
    nix::pty::unlockpt(&master).expect("unlockpt");
    let path = PathBuf::from(nix::pty::ptsname_r(&master).expect("ptsname"));
    let slave = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(&path)
        .expect("open the pty slave");
    Pty {
        master: File::from(OwnedFd::from(master)),
        slave: OwnedFd::from(slave),
        path,
    }
}

/// The terminal settings of a pty side, as comparable values.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub cc: Vec<u8>,
}

pub fn termios_of(fd: &OwnedFd) -> Snapshot {
    let t = nix::sys::termios::tcgetattr(fd).expect("tcgetattr");
    Snapshot {
        iflag: t.input_flags.bits() as u32,
        oflag: t.output_flags.bits() as u32,
        cflag: t.control_flags.bits() as u32,
        lflag: t.local_flags.bits() as u32,
        cc: t.control_chars.to_vec(),
    }
}

pub fn wait_with_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("com did not exit within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Collects everything a reader produces into a shared buffer.
pub fn collect(mut reader: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let shared = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&shared);
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    shared
}

pub fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `com` with a pseudo-terminal as its terminal (not its controlling one): stdin, stdout
/// and stderr are the slave of `term`, so it runs interactively.
pub fn spawn_interactive(term: &Pty, args: &[&std::ffi::OsStr]) -> Child {
    let fd = || Stdio::from(term.slave.try_clone().unwrap());
    Command::new(env!("CARGO_BIN_EXE_com"))
        .args(args)
        .stdin(fd())
        .stdout(fd())
        .stderr(fd())
        .spawn()
        .unwrap()
}
