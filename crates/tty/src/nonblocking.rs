//! `O_NONBLOCK` switched on for a while.
use std::io;
use std::os::fd::BorrowedFd;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// `O_NONBLOCK` on a descriptor for as long as the guard lives; the file
/// status flags it found come back when it is dropped (unless
/// [`keep`](NonBlocking::keep) says otherwise).
///
/// The flag belongs to the open file description, so it affects every
/// descriptor that shares it (a `dup`, a forked child's stdin): switch it for
/// as short a time as possible.
///
/// ```
/// use std::os::fd::AsFd;
///
/// let (read_end, _write_end) = std::io::pipe()?;
/// {
///     let _nonblocking = tty::NonBlocking::set(read_end.as_fd())?;
///     let mut buf = [0u8; 1];
///     let err = tty::fdio::read(read_end.as_fd(), &mut buf).unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
/// }
/// // Blocking again here.
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct NonBlocking<'fd> {
    fd: BorrowedFd<'fd>,
    flags: OFlag,
}

impl<'fd> NonBlocking<'fd> {
    /// Sets `O_NONBLOCK` on `fd` (if not set already).
    pub fn set(fd: BorrowedFd<'fd>) -> io::Result<NonBlocking<'fd>> {
        let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
        if !flags.contains(OFlag::O_NONBLOCK) {
            fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        }
        Ok(NonBlocking { fd, flags })
    }

    /// Whether the descriptor was non-blocking already.
    pub fn was_nonblocking(&self) -> bool {
        self.flags.contains(OFlag::O_NONBLOCK)
    }

    /// Leaves the descriptor non-blocking for good.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for NonBlocking<'_> {
    fn drop(&mut self) {
        let _ = fcntl(self.fd, FcntlArg::F_SETFL(self.flags));
    }
}

/// Clears `O_NONBLOCK` on `fd`.
pub(crate) fn clear(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    if flags.contains(OFlag::O_NONBLOCK) {
        fcntl(fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
    }
    Ok(())
}
