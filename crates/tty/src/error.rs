//! The crate's error type.
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong opening, configuring or bridging a serial port.
///
/// Every variant names the device (or the input) and what was expected, so a
/// binary can print it once and stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path does not exist (or the adapter behind it is gone).
    #[error("{}: no such device (is the adapter plugged in? try `com --list`)", path.display())]
    NotFound {
        /// The device path.
        path: PathBuf,
    },
    /// The caller may not open the device.
    #[error(
        "{}: permission denied (is your user in the device's group, usually `dialout`?)",
        path.display()
    )]
    PermissionDenied {
        /// The device path.
        path: PathBuf,
    },
    /// The path exists but is not a terminal device.
    #[error("{}: not a serial or terminal device", path.display())]
    NotATty {
        /// The device path.
        path: PathBuf,
    },
    /// Another program holds the device (exclusive open or `flock`).
    #[error("{}: in use by another program (it is opened exclusively)", path.display())]
    InUse {
        /// The device path.
        path: PathBuf,
    },
    /// The device refused an operation it should support.
    #[error("{}: {op}: {source}", path.display())]
    Io {
        /// The device path (or `stdin` for the terminal).
        path: PathBuf,
        /// What was being done, e.g. `setting the line speed`.
        op: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The device does not implement an operation (a pseudo-terminal has no modem
    /// lines, for instance).
    #[error("{}: {op} is not supported by this device ({source})", path.display())]
    Unsupported {
        /// The device path.
        path: PathBuf,
        /// The operation, e.g. `reading the modem lines (TIOCMGET)`.
        op: &'static str,
        /// The operating system's error (`ENOTTY` or `EINVAL`).
        source: io::Error,
    },
    /// A setting given as text could not be parsed.
    #[error("invalid {what} `{input}`: expected {expected}")]
    Parse {
        /// Which setting (`speed`, `framing`, `flow control`, ...).
        what: &'static str,
        /// The text given.
        input: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// The bridge failed on one of its sides.
    #[error("{side}: {source}")]
    Bridge {
        /// Which side failed, e.g. `reading the port`, `writing the output`.
        side: &'static str,
        /// The operating system's (or the hook's) error.
        source: io::Error,
    },
}

impl Error {
    /// Maps an `open(2)` error on `path` to the matching variant.
    pub(crate) fn from_open(path: &std::path::Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.raw_os_error() {
            Some(libc::ENOENT | libc::ENODEV | libc::ENXIO) => Error::NotFound { path },
            Some(libc::EACCES | libc::EPERM) => Error::PermissionDenied { path },
            Some(libc::EBUSY) => Error::InUse { path },
            Some(libc::ENOTTY) => Error::NotATty { path },
            _ => Error::Io {
                path,
                op: "opening the device",
                source,
            },
        }
    }

    /// An ioctl error: `ENOTTY`/`EINVAL` become [`Error::Unsupported`].
    pub(crate) fn from_ioctl(path: &std::path::Path, op: &'static str, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match source.raw_os_error() {
            Some(libc::ENOTTY | libc::EINVAL) => Error::Unsupported { path, op, source },
            _ => Error::Io { path, op, source },
        }
    }

    /// Whether this error means the device disappeared (unplugged adapter).
    pub fn is_gone(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            Error::Io { source, .. } | Error::Bridge { source, .. } => matches!(
                source.raw_os_error(),
                Some(libc::EIO | libc::ENODEV | libc::ENXIO)
            ),
            _ => false,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
