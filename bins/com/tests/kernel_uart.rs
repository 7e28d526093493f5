//! `com` on a real UART: the kernel lab's spare 16550, in its internal loopback
//! mode, so what `com` sends comes back to it and its modem outputs drive its
//! modem inputs (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD). `com` runs interactively
//! on a pseudo-terminal the test types into.
//!
//! Guest tests: `cargo xtask kernel-lab -p com`.
mod support;

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{collect, contains, pty, spawn_interactive, termios_of, wait_for, wait_with_timeout};
use tty::{ModemOutput, OpenMode, SerialPort, Settings};

/// The spare UART the lab gives every VM.
fn uart_path() -> PathBuf {
    PathBuf::from(std::env::var_os("KERNEL_LAB_UART").expect(
        "KERNEL_LAB_UART is not set: these tests run in the kernel lab (cargo xtask kernel-lab)",
    ))
}

/// The test's own descriptor on the UART: it puts the UART in loopback mode,
/// drives OUT1/OUT2 (which `com` has no key for) and keeps the mode while
/// `com` opens and closes the port. Dropped, the UART is back to normal.
struct Loopback {
    port: SerialPort,
}

impl Loopback {
    fn new() -> Loopback {
        // Shared: no TIOCEXCL and no flock, so `com` can still open it.
        let port = SerialPort::open_with(
            uart_path(),
            &Settings::default(),
            OpenMode {
                exclusive: false,
                ..OpenMode::default()
            },
        )
        .unwrap();
        port.set_output(ModemOutput::Loopback, true).unwrap();
        Loopback { port }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        let _ = self.port.set_output(ModemOutput::Out1, false);
        let _ = self.port.set_output(ModemOutput::Out2, true);
        let _ = self.port.set_output(ModemOutput::Loopback, false);
    }
}

/// Waits for the next `[STATUS]: ...` line on the screen after `from` and
/// returns what follows `[STATUS]: ` up to the line end.
fn next_status(screen: &Arc<Mutex<Vec<u8>>>, from: usize) -> (String, usize) {
    const TAG: &[u8] = b"[STATUS]: ";
    let mut found = None;
    wait_for("a [STATUS] line", Duration::from_secs(10), || {
        let s = screen.lock().unwrap();
        let rest = &s[from.min(s.len())..];
        let Some(at) = rest.windows(TAG.len()).position(|w| w == TAG) else {
            return false;
        };
        let line = &rest[at + TAG.len()..];
        let Some(end) = line.windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        found = Some((
            String::from_utf8_lossy(&line[..end]).into_owned(),
            from + at + TAG.len() + end + 2,
        ));
        true
    });
    found.unwrap()
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn kernel_uart_status_key_lists_the_looped_back_lines() {
    let uart = Loopback::new();
    let term = pty();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("watt.txt");
    let before = termios_of(&term.slave);
    let mut child = spawn_interactive(
        &term,
        &[
            uart_path().as_os_str(),
            "9600".as_ref(),
            "--log".as_ref(),
            log.as_os_str(),
        ],
    );
    let screen = collect(term.master.try_clone().unwrap());
    let mut keyboard = term.master.try_clone().unwrap();
    let mut key = |bytes: &[u8]| keyboard.write_all(bytes).unwrap();

    // The start-up status line, as com.c printed it: the 8250 driver raised
    // DTR and RTS at open and keeps OUT2 up; loopback turns them into DSR, CTS
    // and DCD.
    let (status, mut seen) = next_status(&screen, 0);
    assert_eq!(status, "RTS CTS DSR DCD DTR ");

    // Typed bytes go out of the UART, come back in and reach screen and log.
    key(b"hello\r");
    wait_for("the echo through the UART", Duration::from_secs(10), || {
        contains(&screen.lock().unwrap(), b"hello\r")
    });

    let mut status_after = |keys: &[u8], key: &mut dyn FnMut(&[u8])| {
        key(keys);
        key(&[0x18]); // Ctrl-X
        let (status, end) = next_status(&screen, seen);
        seen = end;
        status
    };
    assert_eq!(status_after(b"", &mut key), "RTS CTS DSR DCD DTR ");
    // Ctrl-T d: DTR off, so DSR goes too.
    assert_eq!(status_after(&[0x14, b'd'], &mut key), "RTS CTS DCD ");
    // Ctrl-T r: RTS off, so CTS goes too.
    assert_eq!(status_after(&[0x14, b'r'], &mut key), "DCD ");
    // OUT1 and OUT2 (no key in com) drive RI and DCD.
    uart.port.set_output(ModemOutput::Out1, true).unwrap();
    uart.port.set_output(ModemOutput::Out2, false).unwrap();
    assert_eq!(status_after(b"", &mut key), "RI ");
    uart.port.set_output(ModemOutput::Out2, true).unwrap();
    assert_eq!(status_after(&[0x14, b'd'], &mut key), "DSR DCD DTR RI ");
    assert_eq!(
        status_after(&[0x14, b'r'], &mut key),
        "RTS CTS DSR DCD DTR RI "
    );
    uart.port.set_output(ModemOutput::Out1, false).unwrap();
    // The menu's own status key and a DTR pulse (back up afterwards).
    key(&[0x14, b'p']);
    wait_for("the pulse", Duration::from_secs(10), || {
        contains(&screen.lock().unwrap(), b"DTR pulsed low for 100 ms")
    });
    assert_eq!(
        status_after(&[0x14, b's'], &mut key),
        "RTS CTS DSR DCD DTR "
    );
    // A break on a real UART: the driver holds it, com says so.
    key(&[0x14, b'b']);
    wait_for("the break", Duration::from_secs(10), || {
        contains(&screen.lock().unwrap(), b"break sent\r\n")
    });
    key(b"bye\r");
    wait_for("the second echo", Duration::from_secs(10), || {
        contains(&screen.lock().unwrap(), b"bye\r")
    });

    key(&[0x01]); // Ctrl-A
    let status = wait_with_timeout(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    assert_eq!(termios_of(&term.slave), before, "the terminal is restored");

    // The log: the received bytes, each CR replaced by a watt.txt stamp.
    let logged = fs::read_to_string(&log).unwrap();
    let stamp = regex::Regex::new(
        r"^hello\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] bye\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] $",
    )
    .unwrap();
    assert!(stamp.is_match(&logged), "{logged:?}");
    drop(uart);
}
