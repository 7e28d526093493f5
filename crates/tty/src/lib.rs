//! Raw serial ports and a terminal-to-port bridge for Linux.
//!
//! - [`SerialPort`]: opens a device `O_RDWR | O_NOCTTY | O_CLOEXEC`, blocking with
//!   an optional read timeout (or non-blocking, [`OpenMode::nonblocking`], for an
//!   event loop of your own), so that `Read`/`Write`/`BufReader` and frame
//!   decoders work on it as on a file; exclusively by default (`TIOCEXCL` plus
//!   `flock`), in raw mode at any speed
//!   (standard rates up to 4000000 through `termios`, any other rate through
//!   `termios2`/`BOTHER`), with data bits 5–8, parity, stop bits and flow control.
//!   Dropping it restores the settings it found. Modem lines (DTR, RTS, CTS, DSR,
//!   DCD, RI, and the 16550's OUT1, OUT2 and loopback mode) and break are there too.
//! - [`RawTerminal`]: raw mode on stdin that comes back on drop; and, if the
//!   program opts in ([`RawTerminal::restore_on_panic`],
//!   [`RawTerminal::restore_on_signals`]: process-wide, so never done by the
//!   library itself), before a panic's message and on SIGINT/SIGTERM/SIGHUP.
//! - `Bridge` (cargo feature `bridge`, on by default): a mio loop between a
//!   local side (terminal or pipes) and the port (non-blocking for the
//!   session, whatever its mode), with `Hooks` for what happens to the bytes
//!   (escape keys, logging). It never busy-loops and reports a hung-up port
//!   (`Ending::Hangup`). `ExitSignals` turns SIGINT/SIGTERM/SIGHUP into mio
//!   events. Without the feature the crate needs neither mio nor
//!   signal-hook-mio.
//! - [`fdio`]: reads, writes and waits on any descriptor, retrying on `EINTR`;
//!   [`NonBlocking`]: `O_NONBLOCK` for as long as a guard lives.
//!
//! The crate knows no instrument: it carries bytes. Its API uses its own types
//! and std's; the one foreign type, [`Termios`] (what
//! [`SerialPort::termios`] and [`RawTerminal::saved`] return), is re-exported
//! with its crate ([`termios`]), as is [`mio`] with the bridge, so a user needs
//! no dependency of their own to name them.
//!
//! # Example
//!
//! Bridge a pseudo-terminal's slave, opened as a serial port, to a pipe:
//!
//! ```
//! # #[cfg(feature = "bridge")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::{Read, Write};
//! use tty::{Bridge, Ending, PassThrough, SerialPort, Settings};
//!
//! let pty = nix::pty::openpty(None, None)?;
//! let path = nix::unistd::ttyname(&pty.slave)?;
//! let port = SerialPort::open(&path, &Settings { baud: 115200, ..Settings::default() })?;
//! assert_eq!(port.speed()?, 115200);
//!
//! // The "instrument" (the pty master) sends a line, then goes away.
//! let mut master = std::fs::File::from(pty.master);
//! master.write_all(b"S: 21693Vo E\r\n")?;
//! drop(pty.slave);
//!
//! let (read_end, write_end) = nix::unistd::pipe()?;
//! let mut bridge = Bridge::new(&port, std::os::fd::AsFd::as_fd(&write_end));
//! let reader = std::thread::spawn(move || {
//!     let mut got = Vec::new();
//!     std::fs::File::from(read_end).read_to_end(&mut got).map(|_| got)
//! });
//! // Let the bridge copy the line, then hang up the "adapter".
//! std::thread::spawn(move || {
//!     std::thread::sleep(std::time::Duration::from_millis(200));
//!     drop(master);
//! });
//! let ending = bridge.run(&mut PassThrough)?;
//! assert!(matches!(ending, Ending::Hangup(_)));
//! drop(bridge);
//! drop(write_end);
//! assert_eq!(reader.join().unwrap()?, b"S: 21693Vo E\r\n");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "bridge"))]
//! # fn main() {}
//! ```
//!
//! # Pseudo-terminals
//!
//! A pty slave accepts every `termios` setting (speed, framing, flow control are
//! stored and read back) but has no modem lines: Linux answers `TIOCMGET`,
//! `TIOCMBIS` and `TIOCMBIC` with `ENOTTY`, which this crate reports as
//! [`Error::Unsupported`]. A break on a pty is accepted and does nothing.

// Unsafe code is allowed only where an ioctl or a signal handler needs it: the
// `ioctl` module and the handler registration in `terminal`, each commented.
#![deny(unsafe_code)]

#[cfg(feature = "bridge")]
mod bridge;
mod error;
pub mod fdio;
mod ioctl;
mod modem;
mod nonblocking;
mod port;
mod settings;
mod signals;
mod terminal;

#[cfg(feature = "bridge")]
pub use bridge::{Bridge, Control, Ending, Flow, Hangup, Hooks, PassThrough};
pub use error::{Error, Result};
pub use modem::{ModemLines, ModemOutput};
pub use nonblocking::NonBlocking;
pub use port::{OpenMode, SerialPort};
pub use settings::{
    DataBits, FlowControl, Framing, Parity, STANDARD_RATES, Settings, StopBits, parse_speed,
    rate_of_constant, standard_rate,
};
pub use signals::EXIT_SIGNALS;
#[cfg(feature = "bridge")]
pub use signals::ExitSignals;
pub use terminal::RawTerminal;

/// The `termios` crate, whose [`Termios`] this crate's API returns.
pub use termios;
/// A terminal's settings, as `tcgetattr(3)` gives them.
pub use termios::Termios;

/// The `mio` crate, for registering [`ExitSignals`] in a poll of your own.
#[cfg(feature = "bridge")]
pub use mio;

/// The README's examples compile (and those that can, run) as doctests.
#[cfg(all(doctest, feature = "bridge"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
