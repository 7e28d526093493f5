//! The crate's errors.

use std::io;
use std::path::PathBuf;

use netlink_packet_core::DecodeError;

use crate::cmd::IpvsCmd;

/// Everything that can go wrong while reading, writing or exchanging IPVS
/// messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not a well-formed IPVS message; the text names the
    /// attribute and what was expected of it.
    #[error("malformed IPVS netlink data: {0}")]
    Decode(#[from] DecodeError),

    /// A nest lacks an attribute the typed value cannot do without.
    #[error("{nest} lacks the {attribute} attribute")]
    MissingAttribute {
        /// The nest or message, e.g. `"service"`.
        nest: &'static str,
        /// The kernel's name of the attribute, e.g. `"IPVS_SVC_ATTR_AF"`.
        attribute: &'static str,
    },

    /// An attribute holds a value outside its domain.
    #[error("{attribute} is {value}, expected {expected}")]
    InvalidValue {
        /// The kernel's name of the attribute.
        attribute: &'static str,
        /// The value found, as text.
        value: String,
        /// What was expected instead.
        expected: &'static str,
    },

    /// A message whose command does not fit where it was found.
    #[error("unexpected IPVS command {command:?}, expected {expected}")]
    UnexpectedCommand {
        /// The command found.
        command: IpvsCmd,
        /// What was expected instead.
        expected: &'static str,
    },

    /// The kernel refused a request.
    #[error(transparent)]
    Kernel(#[from] KernelError),

    /// The generic-netlink family "IPVS" is not registered.
    #[error("IPVS is not available in this kernel (is the ip_vs module loaded?)")]
    FamilyNotFound,

    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A network namespace could not be entered or left.
    #[error("network namespace {}: {source}", path.display())]
    Namespace {
        /// The namespace file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The kernel answered with something a well-behaved kernel does not send.
    #[error("unexpected netlink reply: {0}")]
    Protocol(String),

    /// A dump was interrupted by concurrent changes on every attempt.
    #[error("IPVS dump interrupted by concurrent changes {attempts} times in a row")]
    DumpInterrupted {
        /// How many times the dump was tried.
        attempts: u32,
    },
}

impl Error {
    pub(crate) fn missing(nest: &'static str, attribute: &'static str) -> Self {
        Self::MissingAttribute { nest, attribute }
    }

    pub(crate) fn invalid(
        attribute: &'static str,
        value: impl ToString,
        expected: &'static str,
    ) -> Self {
        Self::InvalidValue {
            attribute,
            value: value.to_string(),
            expected,
        }
    }

    /// The kernel error behind this error, if it is one.
    pub fn kernel(&self) -> Option<&KernelError> {
        match self {
            Self::Kernel(error) => Some(error),
            _ => None,
        }
    }
}

/// A request the kernel refused: the `errno` it answered and the command it
/// answered to, which together give the message operators know from ipvsadm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelError {
    /// The positive `errno` value (e.g. `libc::EEXIST`).
    pub errno: i32,
    /// The command of the request that failed.
    pub command: IpvsCmd,
}

impl KernelError {
    /// The operator-facing text: ipvsadm's wording for this command and
    /// errno (its `ipvs_strerror` table), else the C library's
    /// `strerror` text of the errno, without the standard library's
    /// " (os error N)" tail.
    pub fn message(&self) -> String {
        use IpvsCmd::*;
        let known = match (self.command, self.errno) {
            (NewService, libc::EEXIST) => "Service already exists",
            (NewService | SetService, libc::ENOENT) => "Scheduler or persistence engine not found",
            (SetService | DelService | Zero | GetService, libc::ESRCH) => "No such service",
            (GetDest, libc::ESRCH) => "No such service",
            (NewDest | SetDest | DelDest, libc::ESRCH) => "Service not defined",
            (NewDest, libc::EEXIST) => "Destination already exists",
            (SetDest | DelDest, libc::ENOENT) => "No such destination",
            (NewDaemon, libc::EEXIST) => "Daemon has already run",
            (DelDaemon, libc::ESRCH) => "No daemon is running",
            (_, libc::EPERM) => "Permission denied (you must be root)",
            (_, libc::EINVAL) => {
                "Invalid operation.  Possibly wrong module version, address not unicast, ..."
            }
            (_, libc::ENOPROTOOPT) => "Protocol not available",
            (_, libc::ENOMEM) => "Memory allocation problem",
            (_, libc::EOPNOTSUPP) => "Operation not supported with IPv6",
            (_, libc::EAFNOSUPPORT) => "Operation not supported with specified address family",
            (_, libc::EMSGSIZE) => "Module is wrong version",
            _ => return strerror(self.errno),
        };
        known.to_owned()
    }

    /// Whether the kernel said the object already exists (`EEXIST`).
    pub fn is_exists(&self) -> bool {
        self.errno == libc::EEXIST
    }

    /// Whether the kernel said the service does not exist (`ESRCH`).
    pub fn is_no_service(&self) -> bool {
        self.errno == libc::ESRCH
    }

    /// Whether the kernel said something named does not exist (`ENOENT`):
    /// the destination, or the scheduler / persistence engine.
    pub fn is_not_found(&self) -> bool {
        self.errno == libc::ENOENT
    }

    /// Whether the caller lacks `CAP_NET_ADMIN` (`EPERM`).
    pub fn is_permission_denied(&self) -> bool {
        self.errno == libc::EPERM
    }
}

/// The C library's description of `errno`, as `strerror` gives it (the
/// standard library appends " (os error N)" to it, which ipvsadm does not
/// print).
fn strerror(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let tail = format!(" (os error {errno})");
    match text.strip_suffix(&tail) {
        Some(description) => description.to_owned(),
        None => text,
    }
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for KernelError {}
