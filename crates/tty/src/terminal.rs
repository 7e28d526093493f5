//! A guard that puts a terminal (normally stdin) in raw mode and puts it back
//! on drop; and, when the program asks for it, before a panic's message and on
//! SIGINT/SIGTERM/SIGHUP.
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
static PANIC_HOOK: Once = Once::new();
static SIGNAL_HANDLERS: Once = Once::new();

/// Restores the terminal of the guard in force, if any. Async-signal-safe: atomic
/// loads and `tcsetattr(3)`, which POSIX lists as safe in a signal handler.
fn restore_active() {
    let slot = ACTIVE.load(Ordering::SeqCst);
    if let Some((fd, saved)) = SAVED.get(slot).and_then(OnceLock::get) {
        let _ = termios::tcsetattr(*fd, termios::TCSANOW, saved);
    }
}

/// Raw mode on a terminal for as long as the guard lives.
///
/// Entering saves the settings and applies `cfmakeraw` (no echo, no line editing,
/// no signals from keys, no output processing: write `\r\n` to end a line). The
/// saved settings come back when the guard is dropped (a panic that unwinds
/// drops it too).
///
/// Two more ways back are the program's to choose, since they change
/// process-wide state: [`RawTerminal::restore_on_panic`] (before the panic
/// message is printed, and also when panics abort) and
/// [`RawTerminal::restore_on_signals`] (SIGINT, SIGTERM, SIGHUP). A binary
/// calls them once, before entering raw mode; the library never installs a hook
/// or a handler by itself.
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

    /// Makes a panic restore the terminal of the guard in force before the
    /// panic message is printed: installs, once per process, a panic hook that
    /// does that and then calls the hook that was there before.
    ///
    /// Without it a guard is still restored when the panic unwinds past it,
    /// but after the message was printed in raw mode (and not at all when
    /// panics abort).
    pub fn restore_on_panic() {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore_active();
                previous(info);
            }));
        });
    }

    /// Makes SIGINT, SIGTERM and SIGHUP restore the terminal of the guard in
    /// force: installs, once per process, a handler for each that does that
    /// and then, unless an [`ExitSignals`](crate::ExitSignals) is alive to turn
    /// the signal into an event for a clean exit, ends the process as the
    /// signal's default action would.
    ///
    /// An error says a handler could not be registered; drop (and
    /// [`restore_on_panic`](RawTerminal::restore_on_panic)) still restore.
    pub fn restore_on_signals() -> std::io::Result<()> {
        let mut result = Ok(());
        SIGNAL_HANDLERS.call_once(|| {
            for signal in EXIT_SIGNALS {
                // SAFETY: the action only does async-signal-safe work: atomic
                // loads, `tcsetattr(3)`, and signal-hook's
                // `emulate_default_handler`, which is made to be called from a
                // handler. It allocates nothing and takes no lock.
                #[allow(unsafe_code)]
                let registered = unsafe {
                    signal_hook::low_level::register(signal, move || {
                        restore_active();
                        // Nobody turns this signal into a clean exit: end the
                        // process as the signal's default action would have.
                        if WATCHERS.load(Ordering::SeqCst) == 0 {
                            let _ = signal_hook::low_level::emulate_default_handler(signal);
                        }
                    })
                };
                if let Err(err) = registered {
                    result = Err(err);
                }
            }
        });
        result
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
