//! Choosing the network namespace a client's socket lives in.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns};

use crate::error::Error;

/// Where named network namespaces live (as `ip netns` creates them).
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A network namespace to open a client in.
#[derive(Debug, Clone, Copy)]
pub enum NetNs<'a> {
    /// The namespace of the calling thread.
    Current,
    /// A namespace named as `ip netns` names them: `/run/netns/NAME`.
    Named(&'a str),
    /// A namespace file, e.g. `/proc/PID/ns/net`.
    Path(&'a Path),
    /// An open namespace file descriptor.
    Fd(BorrowedFd<'a>),
}

impl NetNs<'_> {
    /// The file of a named namespace; names with `/` or that are `.`/`..`
    /// are refused.
    pub fn named_path(name: &str) -> Result<PathBuf, Error> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::Namespace {
                path: PathBuf::from(name),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a namespace name is a plain file name under /run/netns",
                ),
            });
        }
        Ok(Path::new(NETNS_RUN_DIR).join(name))
    }
}

/// Runs `f` with the calling thread inside `netns`, then moves the thread
/// back to the namespace it was in. A socket created by `f` stays in
/// `netns` for its whole life.
pub(crate) fn with_netns<T>(
    netns: NetNs<'_>,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let opened;
    let (target, path): (BorrowedFd<'_>, PathBuf) = match netns {
        NetNs::Current => return f(),
        NetNs::Named(name) => {
            let path = NetNs::named_path(name)?;
            opened = open(&path)?;
            (opened.as_fd(), path)
        }
        NetNs::Path(path) => {
            opened = open(path)?;
            (opened.as_fd(), path.to_owned())
        }
        NetNs::Fd(fd) => (fd, PathBuf::from(format!("fd {}", fd.as_raw_fd()))),
    };
    let home_path = Path::new("/proc/thread-self/ns/net");
    let home = open(home_path)?;
    enter(target, &path)?;
    let result = f();
    enter(home.as_fd(), home_path)?;
    result
}

fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|source| Error::Namespace {
        path: path.to_owned(),
        source,
    })
}

fn enter(fd: BorrowedFd<'_>, path: &Path) -> Result<(), Error> {
    setns(fd, CloneFlags::CLONE_NEWNET).map_err(|errno| Error::Namespace {
        path: path.to_owned(),
        source: errno.into(),
    })
}
