//! Reading, writing and waiting on a descriptor of any kind (a port, a
//! terminal, a pipe), retrying on `EINTR`: what [`SerialPort`](crate::SerialPort)
//! and the bridge use, for a program that drives descriptors of its own.
//!
//! Each call works whether the descriptor is blocking or not; a non-blocking
//! one answers `ErrorKind::WouldBlock` where a blocking one would wait
//! ([`NonBlocking`](crate::NonBlocking) switches a descriptor for a while).
//!
//! ```
//! use std::os::fd::AsFd;
//! use std::time::Duration;
//!
//! let (read_end, write_end) = std::io::pipe()?;
//! tty::fdio::write_all(write_end.as_fd(), b"ping")?;
//! assert!(tty::fdio::wait_readable(read_end.as_fd(), Duration::from_secs(1))?);
//! let mut buf = [0u8; 8];
//! assert_eq!(tty::fdio::read(read_end.as_fd(), &mut buf)?, 4);
//! # Ok::<(), std::io::Error>(())
//! ```
use std::io;
use std::os::fd::BorrowedFd;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// One `read(2)`, retried on `EINTR`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match nix::unistd::read(fd, buf) {
            Ok(n) => return Ok(n),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// One `write(2)`, retried on `EINTR`.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        match nix::unistd::write(fd, buf) {
            Ok(n) => return Ok(n),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// Writes all of `data`, waiting with `poll(2)` (never spinning) whenever the
/// descriptor is non-blocking and full.
pub fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match write(fd, data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => wait_writable(fd)?,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Blocks until `fd` is writable (or in error, which the next write reports).
pub fn wait_writable(fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
    loop {
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// Waits up to `timeout` for `fd` to be readable (or in error or hung up,
/// which the next read reports); `false` when the time passed first. A signal
/// restarts the wait with the time left.
pub fn wait_readable(fd: BorrowedFd<'_>, timeout: std::time::Duration) -> io::Result<bool> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        // Round up so that a wait of less than a millisecond still waits.
        let millis = left.as_micros().div_ceil(1000);
        let poll_timeout =
            PollTimeout::try_from(millis.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, poll_timeout) {
            Ok(0) if left.is_zero() => return Ok(false),
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
}
