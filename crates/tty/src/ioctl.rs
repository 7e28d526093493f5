//! The few `ioctl(2)` calls the `termios` crate does not offer.
//!
//! This is the only module with `unsafe` code. Each wrapper passes a pointer to a
//! local value of the exact type the kernel expects for that request (see
//! `ioctl_tty(2)`), and returns an [`std::io::Error`] built from `errno`.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

// `TCGETS2`/`TCSETS2` read and write `struct termios2`, whose `c_ispeed`/`c_ospeed`
// carry any rate in bits per second when `c_cflag & CBAUD == BOTHER`.
nix::ioctl_read_bad!(raw_tcgets2, libc::TCGETS2, libc::termios2);
nix::ioctl_write_ptr_bad!(raw_tcsets2, libc::TCSETS2, libc::termios2);
// `TIOCEXCL`/`TIOCNXCL` take no argument: further opens fail with `EBUSY`
// (except for `CAP_SYS_ADMIN`, which is why the port also takes an `flock`).
nix::ioctl_none_bad!(raw_tiocexcl, libc::TIOCEXCL);
nix::ioctl_none_bad!(raw_tiocnxcl, libc::TIOCNXCL);
// `TIOCOUTQ` fills an `int` with the bytes still waiting to be transmitted.
nix::ioctl_read_bad!(raw_tiocoutq, libc::TIOCOUTQ, libc::c_int);
// Modem lines: `TIOCMGET` fills an `int`, `TIOCMBIS`/`TIOCMBIC` read one.
nix::ioctl_read_bad!(raw_tiocmget, libc::TIOCMGET, libc::c_int);
nix::ioctl_write_ptr_bad!(raw_tiocmbis, libc::TIOCMBIS, libc::c_int);
nix::ioctl_write_ptr_bad!(raw_tiocmbic, libc::TIOCMBIC, libc::c_int);

fn to_io(errno: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(errno as i32)
}

/// Reads the line settings as `termios2`.
pub(crate) fn tcgets2(fd: BorrowedFd<'_>) -> io::Result<libc::termios2> {
    // SAFETY: `termios2` is plain old data, so all-zero is a valid value; the
    // kernel writes exactly one `termios2` through the pointer, which stays valid
    // for the call. `fd` is borrowed, hence open.
    let mut value: libc::termios2 = unsafe { std::mem::zeroed() };
    unsafe { raw_tcgets2(fd.as_raw_fd(), &mut value) }.map_err(to_io)?;
    Ok(value)
}

/// Writes the line settings as `termios2` (`TCSANOW` semantics).
pub(crate) fn tcsets2(fd: BorrowedFd<'_>, value: &libc::termios2) -> io::Result<()> {
    // SAFETY: the kernel only reads one `termios2` through the pointer, which is a
    // valid reference for the whole call.
    unsafe { raw_tcsets2(fd.as_raw_fd(), value) }.map_err(to_io)?;
    Ok(())
}

/// Makes the terminal exclusive (`on`) or shared again.
pub(crate) fn set_exclusive(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: these requests take no argument and touch no user memory.
    let result = unsafe {
        if on {
            raw_tiocexcl(fd.as_raw_fd())
        } else {
            raw_tiocnxcl(fd.as_raw_fd())
        }
    };
    result.map(drop).map_err(to_io)
}

/// Reads the modem line bits (`TIOCM_*`).
pub(crate) fn modem_get(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    let mut bits: libc::c_int = 0;
    // SAFETY: the kernel writes one `int` through a pointer to a live local.
    unsafe { raw_tiocmget(fd.as_raw_fd(), &mut bits) }.map_err(to_io)?;
    Ok(bits)
}

/// Sets (`on`) or clears the given modem line bits.
pub(crate) fn modem_set(fd: BorrowedFd<'_>, bits: libc::c_int, on: bool) -> io::Result<()> {
    // SAFETY: the kernel reads one `int` through a pointer to a live local.
    let result = unsafe {
        if on {
            raw_tiocmbis(fd.as_raw_fd(), &bits)
        } else {
            raw_tiocmbic(fd.as_raw_fd(), &bits)
        }
    };
    result.map(drop).map_err(to_io)
}

/// Bytes written but not yet transmitted (`TIOCOUTQ`).
pub(crate) fn output_queued(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut count: libc::c_int = 0;
    // SAFETY: the kernel writes one `int` through a pointer to a live local.
    unsafe { raw_tiocoutq(fd.as_raw_fd(), &mut count) }.map_err(to_io)?;
    Ok(usize::try_from(count).unwrap_or(0))
}
