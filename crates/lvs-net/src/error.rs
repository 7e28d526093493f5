//! Errors of every step: planning, applying, checking, undoing.
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;

/// What went wrong; the message names the input or the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A parameter is missing, not allowed for the role and mode, or malformed.
    #[error("{0}")]
    Params(String),
    /// `--vip` (or another address) could not be read.
    #[error("`{input}` is not an address (ADDR or ADDR/PREFIX): {reason}")]
    BadAddress {
        /// What was given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// The named network device does not exist in this network namespace.
    #[error("no such device `{0}` in this network namespace")]
    NoSuchDevice(String),
    /// No device was named and none could be found for the address.
    #[error("no interface has a subnet containing {0}: give the device with --dev")]
    NoDeviceFor(IpAddr),
    /// The address is already configured on another interface.
    #[error("{addr} is already on {found}, not on {wanted}: remove it there first")]
    AddressElsewhere {
        /// The address.
        addr: IpAddr,
        /// The device that has it.
        found: String,
        /// The device the plan puts it on.
        wanted: String,
    },
    /// The NAT gateway is not reachable on any connected subnet.
    #[error("gateway {0} is not on any subnet of this host's interfaces")]
    GatewayNotOnLink(IpAddr),
    /// Changing the system needs root (CAP_NET_ADMIN and write access to /proc/sys).
    #[error("{0} needs root (CAP_NET_ADMIN and write access to /proc/sys)")]
    NotRoot(&'static str),
    /// A sysctl could not be read or written.
    #[error("{what} {path}: {source}")]
    Sysctl {
        /// `reading` or `writing`.
        what: &'static str,
        /// The file under `/proc/sys`.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The kernel refused a route-netlink request (or the socket failed).
    #[error("{what}: {source}")]
    Netlink {
        /// The request, as the equivalent `ip` command.
        what: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// A reply could not be decoded.
    #[error("{what}: cannot decode the kernel's reply: {reason}")]
    Decode {
        /// The request.
        what: String,
        /// The decoder's message.
        reason: String,
    },
    /// `modprobe` failed.
    #[error("{command} failed: {reason}")]
    Module {
        /// The command run.
        command: String,
        /// Its status or error.
        reason: String,
    },
    /// The state file could not be read, written or parsed.
    #[error("state file {path}: {reason}")]
    State {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A change failed half-way; the changes made before it were undone.
    #[error("{source} (the {undone} change(s) made before it were undone)")]
    RolledBack {
        /// The failure.
        source: Box<Error>,
        /// How many earlier changes were reversed.
        undone: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
