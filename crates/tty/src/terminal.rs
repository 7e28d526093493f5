//! A guard that puts a terminal (normally stdin) in raw mode and always puts it
//! back: on drop, on panic, and on SIGINT/SIGTERM/SIGHUP.
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

use termios::Termios;

use crate::error::{Error, Result};
use crate::signals::{EXIT_SIGNALS, WATCHERS};

/// Saved settings, one slot per guard ever entered; a slot is written once and
/// read lock-free, so the signal handler can use it.
const SLOTS: usize = 64;
static SAVED: [OnceLock<(RawFd, Termios)>; SLOTS] = [const { OnceLock::new() }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
/// The slot of the guard in force, or `NONE`.
static ACTIVE: AtomicUsize = AtomicUsize::new(NONE);
const NONE: usize = usize::MAX;
static INSTALL: Once = Once::new();

/// Restores the terminal of the guard in force, if any. Async-signal-safe: atomic
/// loads and `tcsetattr(3)`, which POSIX lists as safe in a signal handler.
fn restore_active() {
    let slot = ACTIVE.load(Ordering::SeqCst);
    if let Some((fd, saved)) = SAVED.get(slot).and_then(OnceLock::get) {
        let _ = termios::tcsetattr(*fd, termios::TCSANOW, saved);
    }
}

/// Installs, once per process, a panic hook and SIGINT/SIGTERM/SIGHUP handlers
/// that restore the terminal of the guard in force.
fn install_handlers() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_active();
            previous(info);
        }));
        for signal in EXIT_SIGNALS {
            // SAFETY: the action only does async-signal-safe work: atomic loads,
            // `tcsetattr(3)`, and signal-hook's `emulate_default_handler`, which is
            // made to be called from a handler. It allocates nothing and takes no
            // lock.
            #[allow(unsafe_code)]
            let registered = unsafe {
                signal_hook::low_level::register(signal, move || {
                    restore_active();
                    // Nobody turns this signal into a clean exit: end the process
                    // as the signal's default action would have.
                    if WATCHERS.load(Ordering::SeqCst) == 0 {
                        let _ = signal_hook::low_level::emulate_default_handler(signal);
                    }
                })
            };
            // Failing to register only loses the signal path; drop and panic still
            // restore the terminal.
            drop(registered);
        }
    });
}

/// Raw mode on a terminal for as long as the guard lives.
///
/// Entering saves the settings and applies `cfmakeraw` (no echo, no line editing,
/// no signals from keys, no output processing: write `\r\n` to end a line). The
/// saved settings come back when the guard is dropped, when the program panics,
/// and when SIGINT, SIGTERM or SIGHUP arrives. While an
/// [`ExitSignals`](crate::ExitSignals) is alive (the [`Bridge`](crate::Bridge)
/// holds one), the signal then becomes an event for the program to end cleanly;
/// otherwise the process ends as the signal's default action would.
///
/// The descriptor must stay open for the guard's lifetime (stdin does).
#[derive(Debug)]
pub struct RawTerminal {
    fd: RawFd,
    saved: Termios,
    slot: usize,
    previous_active: usize,
}

impl RawTerminal {
    /// Puts stdin in raw mode.
    pub fn stdin() -> Result<RawTerminal> {
        RawTerminal::enter(&std::io::stdin())
    }

    /// Puts the terminal behind `fd` in raw mode.
    pub fn enter(fd: &impl AsRawFd) -> Result<RawTerminal> {
        let fd = fd.as_raw_fd();
        let saved = Termios::from_fd(fd).map_err(|source| match source.raw_os_error() {
            Some(libc::ENOTTY) => Error::NotATty { path: fd_path(fd) },
            _ => Error::Io {
                path: fd_path(fd),
                op: "reading the terminal settings",
                source,
            },
        })?;
        install_handlers();
        let slot = NEXT_SLOT.fetch_add(1, Ordering::SeqCst);
        let slot = match SAVED.get(slot) {
            Some(cell) if cell.set((fd, saved)).is_ok() => slot,
            // More guards than slots in one process: drop and panic still restore.
            _ => NONE,
        };
        let previous_active = ACTIVE.swap(slot, Ordering::SeqCst);
        let mut raw = saved;
        termios::cfmakeraw(&mut raw);
        raw.c_cc[termios::VMIN] = 1;
        raw.c_cc[termios::VTIME] = 0;
        let guard = RawTerminal {
            fd,
            saved,
            slot,
            previous_active,
        };
        termios::tcsetattr(fd, termios::TCSANOW, &raw).map_err(|source| Error::Io {
            path: fd_path(fd),
            op: "putting the terminal in raw mode",
            source,
        })?;
        Ok(guard)
    }

    /// The settings that will be restored.
    pub fn saved(&self) -> &Termios {
        &self.saved
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(self.fd, termios::TCSANOW, &self.saved);
        let _ = ACTIVE.compare_exchange(
            self.slot,
            self.previous_active,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

fn fd_path(fd: RawFd) -> PathBuf {
    match fd {
        0 => PathBuf::from("stdin"),
        _ => std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .unwrap_or_else(|_| PathBuf::from(format!("descriptor {fd}"))),
    }
}
