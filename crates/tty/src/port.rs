//! Opening and configuring a serial port.
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libc::{BOTHER, CBAUD, CIBAUD};
use nix::fcntl::{Flock, FlockArg};
use termios::Termios;
use termios::os::linux::{CMSPAR, CRTSCTS};

use crate::error::{Error, Result};
use crate::fdio;
use crate::ioctl;
use crate::modem::ModemLines;
use crate::settings::{DataBits, FlowControl, Parity, Settings, StopBits, standard_rate};

/// How to open a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenMode {
    /// Take the port for ourselves: `TIOCEXCL` plus an exclusive `flock`. On by
    /// default.
    pub exclusive: bool,
    /// Leave the descriptor `O_NONBLOCK`: reads and writes that cannot proceed
    /// at once fail with [`io::ErrorKind::WouldBlock`], for an event loop that
    /// polls the port itself. Off by default: reads wait for data (up to the
    /// [timeout](SerialPort::set_timeout)), writes for room. [`Bridge`](crate::Bridge)
    /// makes the port non-blocking for its session whatever the mode.
    pub nonblocking: bool,
}

impl Default for OpenMode {
    fn default() -> Self {
        OpenMode {
            exclusive: true,
            nonblocking: false,
        }
    }
}

/// `libc::termios2` has no `Debug` without libc's `extra_traits`.
#[derive(Clone, Copy)]
struct Termios2(libc::termios2);

impl std::fmt::Debug for Termios2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("termios2")
            .field("c_cflag", &self.0.c_cflag)
            .field("c_ospeed", &self.0.c_ospeed)
            .finish_non_exhaustive()
    }
}

/// An open serial port in raw mode.
///
/// The descriptor is opened `O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC` (so that
/// opening never waits for carrier) and, unless [`OpenMode::nonblocking`] asks
/// otherwise, made blocking once configured: `Read` waits for at least one byte,
/// or until the [timeout](SerialPort::set_timeout) passes
/// ([`io::ErrorKind::TimedOut`]); `Write` waits for room; `flush` waits until
/// everything written has been transmitted (`tcdrain`). So a port can be handed
/// to any reader (`BufReader`, a frame decoder) as a file would be. Dropping the
/// port restores the line settings it found and releases the exclusive hold.
#[derive(Debug)]
pub struct SerialPort {
    file: File,
    path: PathBuf,
    saved: Termios,
    saved2: Termios2,
    exclusive: bool,
    nonblocking: bool,
    /// How long a blocking read waits for the first byte (`None`: for ever).
    timeout: Option<Duration>,
    // A duplicate of `file` holding the `flock` (the lock belongs to the shared
    // open file description and is released when the last descriptor closes).
    _lock: Option<Flock<File>>,
}

impl SerialPort {
    /// Opens `path` exclusively and configures it with `settings` in raw mode.
    ///
    /// Errors name the path: [`Error::NotFound`], [`Error::PermissionDenied`],
    /// [`Error::NotATty`], [`Error::InUse`], or [`Error::Io`] for a setting the
    /// driver refuses.
    pub fn open(path: impl AsRef<Path>, settings: &Settings) -> Result<SerialPort> {
        Self::open_with(path, settings, OpenMode::default())
    }

    /// Opens `path` with an explicit [`OpenMode`].
    pub fn open_with(
        path: impl AsRef<Path>,
        settings: &Settings,
        mode: OpenMode,
    ) -> Result<SerialPort> {
        let path = path.as_ref();
        // std adds O_CLOEXEC to every open.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK)
            .open(path)
            .map_err(|err| Error::from_open(path, err))?;
        let saved = match Termios::from_fd(file.as_raw_fd()) {
            Ok(saved) => saved,
            Err(err) if err.raw_os_error() == Some(libc::ENOTTY) => {
                return Err(Error::NotATty {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    op: "reading the line settings",
                    source,
                });
            }
        };
        let saved2 = ioctl::tcgets2(file.as_fd()).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            op: "reading the line settings (TCGETS2)",
            source,
        })?;
        let lock = if mode.exclusive {
            let dup = file.try_clone().map_err(|source| Error::Io {
                path: path.to_path_buf(),
                op: "duplicating the descriptor",
                source,
            })?;
            let lock = Flock::lock(dup, FlockArg::LockExclusiveNonblock).map_err(
                |(_, errno)| match errno {
                    nix::errno::Errno::EWOULDBLOCK => Error::InUse {
                        path: path.to_path_buf(),
                    },
                    other => Error::Io {
                        path: path.to_path_buf(),
                        op: "locking the device (flock)",
                        source: io::Error::from_raw_os_error(other as i32),
                    },
                },
            )?;
            ioctl::set_exclusive(file.as_fd(), true).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                op: "making the device exclusive (TIOCEXCL)",
                source,
            })?;
            Some(lock)
        } else {
            None
        };
        let mut port = SerialPort {
            file,
            path: path.to_path_buf(),
            saved,
            saved2: Termios2(saved2),
            exclusive: mode.exclusive,
            nonblocking: mode.nonblocking,
            timeout: None,
            _lock: lock,
        };
        port.configure(settings)?;
        if !mode.nonblocking {
            crate::nonblocking::clear(port.file.as_fd())
                .map_err(|source| port.io("making the descriptor blocking", source))?;
        }
        Ok(port)
    }

    /// How long a blocking read waits for data before it fails with
    /// [`io::ErrorKind::TimedOut`]; `None` (the default) waits for ever. A
    /// non-blocking port ignores it.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The read timeout ([`SerialPort::set_timeout`]).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Whether the port was opened non-blocking ([`OpenMode::nonblocking`]).
    pub fn is_nonblocking(&self) -> bool {
        self.nonblocking
    }

    /// The path the port was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies `settings` (raw mode, speed, framing, flow control) at once.
    pub fn configure(&mut self, settings: &Settings) -> Result<()> {
        let fd = self.file.as_raw_fd();
        let mut tio = raw_termios(self.saved, settings);
        let standard = standard_rate(settings.baud);
        if let Some(constant) = standard {
            termios::cfsetspeed(&mut tio, constant)
                .map_err(|source| self.io("setting the line speed", source))?;
        }
        termios::tcsetattr(fd, termios::TCSANOW, &tio)
            .map_err(|source| self.io("applying the line settings", source))?;
        if standard.is_none() {
            // A rate without a `Bnnn` constant: `termios2` with `BOTHER`.
            let mut tio2 = ioctl::tcgets2(self.file.as_fd())
                .map_err(|source| self.io("reading the line settings (TCGETS2)", source))?;
            tio2.c_cflag &= !CBAUD;
            tio2.c_cflag |= BOTHER;
            // Input speed 0 in c_cflag's CIBAUD bits means "same as output".
            tio2.c_cflag &= !CIBAUD;
            tio2.c_ispeed = settings.baud;
            tio2.c_ospeed = settings.baud;
            ioctl::tcsets2(self.file.as_fd(), &tio2).map_err(|source| Error::Io {
                path: self.path.clone(),
                op: "setting a custom line speed (TCSETS2/BOTHER)",
                source,
            })?;
        }
        Ok(())
    }

    /// The output speed the driver reports now, in bits per second (`TCGETS2`).
    pub fn speed(&self) -> Result<u32> {
        let tio2 = ioctl::tcgets2(self.file.as_fd())
            .map_err(|source| self.io("reading the line settings (TCGETS2)", source))?;
        Ok(tio2.c_ospeed)
    }

    /// The current line settings as the `termios` crate sees them.
    pub fn termios(&self) -> Result<Termios> {
        Termios::from_fd(self.file.as_raw_fd())
            .map_err(|source| self.io("reading the line settings", source))
    }

    /// Reads the modem lines (`TIOCMGET`).
    ///
    /// A pseudo-terminal has no modem lines: Linux answers `ENOTTY` (or `EINVAL`),
    /// reported as [`Error::Unsupported`].
    pub fn modem_lines(&self) -> Result<ModemLines> {
        ioctl::modem_get(self.file.as_fd())
            .map(ModemLines::from_bits)
            .map_err(|err| Error::from_ioctl(&self.path, "reading the modem lines (TIOCMGET)", err))
    }

    /// Raises (`true`) or drops DTR.
    pub fn set_dtr(&self, on: bool) -> Result<()> {
        ioctl::modem_set(self.file.as_fd(), libc::TIOCM_DTR, on)
            .map_err(|err| Error::from_ioctl(&self.path, "setting DTR (TIOCMBIS/TIOCMBIC)", err))
    }

    /// Raises (`true`) or drops RTS.
    pub fn set_rts(&self, on: bool) -> Result<()> {
        ioctl::modem_set(self.file.as_fd(), libc::TIOCM_RTS, on)
            .map_err(|err| Error::from_ioctl(&self.path, "setting RTS (TIOCMBIS/TIOCMBIC)", err))
    }

    /// Drops DTR for `duration`, then raises it again (resets many boards).
    pub fn pulse_dtr(&self, duration: Duration) -> Result<()> {
        self.set_dtr(false)?;
        std::thread::sleep(duration);
        self.set_dtr(true)
    }

    /// Sends a break (0.25 to 0.5 s of a held space condition, `tcsendbreak(fd, 0)`).
    pub fn send_break(&self) -> Result<()> {
        termios::tcsendbreak(self.file.as_raw_fd(), 0)
            .map_err(|err| Error::from_ioctl(&self.path, "sending a break", err))
    }

    /// Bytes written but not yet transmitted (`TIOCOUTQ`).
    pub fn output_queued(&self) -> Result<usize> {
        ioctl::output_queued(self.file.as_fd()).map_err(|err| {
            Error::from_ioctl(&self.path, "reading the output queue (TIOCOUTQ)", err)
        })
    }

    /// Waits until everything written has been transmitted (`tcdrain`).
    pub fn drain(&self) -> Result<()> {
        loop {
            match termios::tcdrain(self.file.as_raw_fd()) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(|source| self.io("draining the output", source)),
            }
        }
    }

    fn io(&self, op: &'static str, source: io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            op,
            source,
        }
    }
}

/// `base` in raw mode with `settings`' framing and flow control (the speed is set
/// separately).
pub(crate) fn raw_termios(base: Termios, settings: &Settings) -> Termios {
    let mut tio = base;
    termios::cfmakeraw(&mut tio);
    // Parity errors are not checked (INPCK off): every byte reaches the reader.
    tio.c_iflag &= !(termios::IXON | termios::IXOFF | termios::IXANY | termios::INPCK);
    tio.c_iflag |= termios::IGNPAR;
    tio.c_cflag &= !(termios::CSIZE | termios::PARENB | termios::PARODD | termios::CSTOPB);
    tio.c_cflag &= !(CRTSCTS | CMSPAR);
    tio.c_cflag |= termios::CLOCAL | termios::CREAD;
    tio.c_cflag |= match settings.framing.data_bits {
        DataBits::Five => termios::CS5,
        DataBits::Six => termios::CS6,
        DataBits::Seven => termios::CS7,
        DataBits::Eight => termios::CS8,
    };
    match settings.framing.parity {
        Parity::None => {}
        Parity::Even => tio.c_cflag |= termios::PARENB,
        Parity::Odd => tio.c_cflag |= termios::PARENB | termios::PARODD,
    }
    if settings.framing.stop_bits == StopBits::Two {
        tio.c_cflag |= termios::CSTOPB;
    }
    match settings.flow {
        FlowControl::None => {}
        FlowControl::RtsCts => tio.c_cflag |= CRTSCTS,
        FlowControl::XonXoff => tio.c_iflag |= termios::IXON | termios::IXOFF,
    }
    tio.c_cc[termios::VMIN] = 1;
    tio.c_cc[termios::VTIME] = 0;
    tio
}

impl Drop for SerialPort {
    fn drop(&mut self) {
        // Best effort: the device may be gone already (unplugged adapter).
        let fd = self.file.as_raw_fd();
        let _ = termios::tcsetattr(fd, termios::TCSANOW, &self.saved);
        if self.saved.c_cflag & CBAUD == BOTHER {
            let _ = ioctl::tcsets2(self.file.as_fd(), &self.saved2.0);
        }
        if self.exclusive {
            let _ = ioctl::set_exclusive(self.file.as_fd(), false);
        }
    }
}

impl Read for &SerialPort {
    /// A blocking port with a timeout waits for data with `poll` first; a
    /// signal that interrupts the wait or the read is retried.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.nonblocking
            && let Some(timeout) = self.timeout
            && !buf.is_empty()
            && !fdio::wait_readable(self.file.as_fd(), timeout)?
        {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{}: no data within {} ms",
                    self.path.display(),
                    timeout.as_millis()
                ),
            ));
        }
        fdio::read(self.file.as_fd(), buf)
    }
}

impl Write for &SerialPort {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        fdio::write(self.file.as_fd(), buf)
    }

    /// Waits until everything written has left the port (`tcdrain`).
    fn flush(&mut self) -> io::Result<()> {
        self.drain().map_err(io::Error::other)
    }
}

impl Read for SerialPort {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for SerialPort {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
    }
}

impl AsFd for SerialPort {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for SerialPort {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Framing;

    fn cooked() -> Termios {
        // A real terminal's settings, as the starting point `configure` gets.
        let pty = nix::pty::openpty(None, None).unwrap();
        Termios::from_fd(pty.slave.as_raw_fd()).unwrap()
    }

    #[test]
    fn framing_bits_follow_the_settings() {
        let base = cooked();
        for (text, size, parenb, parodd, cstopb) in [
            ("5N1", termios::CS5, false, false, false),
            ("6E2", termios::CS6, true, false, true),
            ("7O1", termios::CS7, true, true, false),
            ("8N2", termios::CS8, false, false, true),
        ] {
            let framing: Framing = text.parse().unwrap();
            let settings = Settings {
                baud: 9600,
                framing,
                flow: FlowControl::None,
            };
            let tio = raw_termios(base, &settings);
            assert_eq!(tio.c_cflag & termios::CSIZE, size, "{text}");
            assert_eq!(tio.c_cflag & termios::PARENB != 0, parenb, "{text}");
            assert_eq!(tio.c_cflag & termios::PARODD != 0, parodd, "{text}");
            assert_eq!(tio.c_cflag & termios::CSTOPB != 0, cstopb, "{text}");
            assert_eq!(
                tio.c_lflag & (termios::ICANON | termios::ECHO | termios::ISIG),
                0
            );
            assert_eq!(tio.c_iflag & (termios::ICRNL | termios::INPCK), 0);
            assert_eq!(tio.c_oflag & termios::OPOST, 0);
        }
    }

    #[test]
    fn flow_control_bits_follow_the_settings() {
        let base = cooked();
        let with = |flow| {
            raw_termios(
                base,
                &Settings {
                    flow,
                    ..Settings::default()
                },
            )
        };
        assert_eq!(with(FlowControl::None).c_cflag & CRTSCTS, 0);
        assert_eq!(
            with(FlowControl::None).c_iflag & (termios::IXON | termios::IXOFF),
            0
        );
        assert_ne!(with(FlowControl::RtsCts).c_cflag & CRTSCTS, 0);
        let soft = with(FlowControl::XonXoff);
        assert_eq!(
            soft.c_iflag & (termios::IXON | termios::IXOFF),
            termios::IXON | termios::IXOFF
        );
        assert_eq!(soft.c_cflag & CRTSCTS, 0);
    }
}
