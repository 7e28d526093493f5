//! The bridge: a mio poll loop copying bytes between a local side (a terminal, or
//! pipes) and a serial port.
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::error::{Error, Result};
use crate::fdio;
use crate::nonblocking::NonBlocking;
use crate::port::SerialPort;
use crate::signals::ExitSignals;

const PORT: Token = Token(0);
const INPUT: Token = Token(1);
const SIGNALS: Token = Token(2);

/// How often the output queue is checked while it drains after the input ended.
const DRAIN_CHECK: Duration = Duration::from_millis(10);

/// Size of one read of the local input, and of the buffers.
const CHUNK: usize = 64 * 1024;

/// Size of one read of the port during the session: half of the 4 KiB that
/// the kernel's line discipline (`N_TTY_BUF_SIZE`) holds for a tty. Taking all
/// of it at once leaves the discipline empty, and the kernel's flip-buffer
/// worker only refills it after the read returns, so reads and refills
/// alternate; taking half lets the worker refill one half while the bridge
/// copies and forwards the other. Under a flood this moved com's pty
/// throughput from the port from about 85 to about 100 MB/s (docs/performance.md);
/// at instrument rates reads are far shorter than this anyway.
const PORT_READ: usize = 2 * 1024;

/// While the port floods (every read full), what the hooks made of its bytes
/// is gathered up to this many bytes before one write to the output; a short
/// read (the port drained) writes at once. Without it a flood leaves as one
/// small write per 2 KiB read, which costs the reader of the output one
/// wake-up each: a reader that also feeds the port from one `select` loop (a
/// test harness) ran com at 0.8x socat that way, which writes 4 KiB pieces
/// (docs/performance.md). At instrument rates every read is short, so nothing
/// waits.
const GATHER: usize = 16 * 1024;

/// What a hook wants the bridge to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep going.
    Continue,
    /// End the session (after a last drain of the port).
    Stop,
}

/// How the port was found hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// A read or write failed with `EIO` (the usual sign of an unplugged adapter).
    Eio,
    /// The poller reported `POLLHUP`/`POLLERR` and there was nothing to read.
    PollHup,
    /// A read returned zero bytes, which a raw-mode port never does while alive.
    ZeroRead,
}

/// Why [`Bridge::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// A hook returned [`Flow::Stop`] (an exit key).
    Stopped,
    /// The input reached end of file (or its terminal hung up) and the port was
    /// quiet for the linger time afterwards.
    InputClosed,
    /// The port hung up (adapter unplugged, pty master closed).
    Hangup(Hangup),
    /// SIGINT, SIGTERM or SIGHUP arrived (its number).
    Signal(i32),
}

/// What a hook may do with the port while handling input.
#[derive(Debug)]
pub struct Control<'a> {
    port: &'a SerialPort,
    to_port: &'a mut Vec<u8>,
}

impl Control<'_> {
    /// The port, for modem lines, breaks and the like.
    pub fn port(&self) -> &SerialPort {
        self.port
    }

    /// Queues bytes for the port.
    pub fn send(&mut self, data: &[u8]) {
        self.to_port.extend_from_slice(data);
    }
}

/// The caller's part of the session: what happens to the bytes of each side.
///
/// The defaults copy everything unchanged.
pub trait Hooks {
    /// Bytes read from the local input. Queue what the port should get with
    /// [`Control::send`]; return [`Flow::Stop`] to end the session.
    fn input(&mut self, data: &[u8], control: &mut Control<'_>) -> io::Result<Flow> {
        control.send(data);
        Ok(Flow::Continue)
    }

    /// Bytes received from the port, before anything is written to the local
    /// output. Append what the output should show to `local`. An error ends the
    /// session (after the port's pending bytes were offered to this hook again).
    fn port(&mut self, data: &[u8], local: &mut Vec<u8>) -> io::Result<()> {
        local.extend_from_slice(data);
        Ok(())
    }
}

/// Hooks that copy both ways unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl Hooks for PassThrough {}

/// A session between a local side and a port.
///
/// The loop follows mio's rules: every source is drained until `WouldBlock`
/// (the port until a short read, which says the same for a raw tty),
/// `Interrupted` is retried, and `poll` blocks without a timeout while nothing
/// is happening, so an idle session uses no CPU. Data flows with back-pressure:
/// input is not read while the port still has bytes to accept.
#[derive(Debug)]
pub struct Bridge<'a> {
    port: &'a SerialPort,
    input: Option<BorrowedFd<'a>>,
    output: BorrowedFd<'a>,
    linger: Duration,
    catch_signals: bool,
}

impl<'a> Bridge<'a> {
    /// A bridge from `port` to `output`, with no input yet.
    pub fn new(port: &'a SerialPort, output: BorrowedFd<'a>) -> Bridge<'a> {
        Bridge {
            port,
            input: None,
            output,
            linger: Duration::from_millis(250),
            catch_signals: true,
        }
    }

    /// The local input (stdin, a pipe, a file). It is switched to non-blocking for
    /// the session and switched back afterwards.
    pub fn input(mut self, input: BorrowedFd<'a>) -> Self {
        self.input = Some(input);
        self
    }

    /// After the input ends, how long the port must stay quiet before the session
    /// ends (its output has drained). Default 250 ms.
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Whether SIGINT/SIGTERM/SIGHUP end the session as [`Ending::Signal`]
    /// (default) instead of being left alone.
    pub fn catch_signals(mut self, on: bool) -> Self {
        self.catch_signals = on;
        self
    }

    /// Runs the session until it ends; see [`Ending`].
    pub fn run<H: Hooks + ?Sized>(&mut self, hooks: &mut H) -> Result<Ending> {
        let poll_err = |source| Error::Bridge {
            side: "waiting for events",
            source,
        };
        let mut poll = Poll::new().map_err(poll_err)?;
        let mut events = Events::with_capacity(16);
        // The loop needs a non-blocking port whatever mode it was opened in;
        // the port's own flags come back when the session ends.
        let _port_mode = NonBlocking::set(self.port.as_fd()).map_err(|source| Error::Bridge {
            side: "making the port non-blocking",
            source,
        })?;
        let port_fd = self.port.as_raw_fd();
        // Writable too, once and for all: edge-triggered, it only wakes the loop
        // when the port's output queue drains, and saves re-registering for every
        // chunk that does not fit at once.
        poll.registry()
            .register(
                &mut SourceFd(&port_fd),
                PORT,
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(poll_err)?;

        let mut signals = if self.catch_signals {
            let mut signals = ExitSignals::new().map_err(poll_err)?;
            poll.registry()
                .register(&mut signals, SIGNALS, Interest::READABLE)
                .map_err(poll_err)?;
            Some(signals)
        } else {
            None
        };

        let mut input = match self.input {
            Some(fd) => Some(LocalInput::new(fd, &poll)?),
            None => None,
        };

        let mut state = State {
            port: self.port,
            output: self.output,
            buf: vec![0; CHUNK],
            local: Vec::with_capacity(CHUNK),
            to_port: Vec::with_capacity(CHUNK),
            sent: 0,
            port_readable: true,
            port_hup: false,
            got_data: false,
        };
        let mut input_ready = true;
        // Without an input the session runs until a hang-up, a signal or an error.
        let mut input_closed = false;
        let mut deadline: Option<Instant> = None;

        loop {
            // 1. Everything the port has.
            if state.port_readable {
                if let Some(hangup) = state.drain_port(hooks)? {
                    // Nothing waits: `drain_port` wrote it before telling.
                    return Ok(Ending::Hangup(hangup));
                }
                if deadline.is_some() && state.got_data {
                    deadline = Some(Instant::now() + self.linger);
                }
            }
            // 2. What the port still has to accept.
            if let Some(hangup) = state.flush_to_port()? {
                state.final_drain(hooks)?;
                return Ok(Ending::Hangup(hangup));
            }
            // 3. The input, while the port keeps up.
            if let Some(local) = input.as_mut() {
                while !input_closed && input_ready && state.to_port.is_empty() {
                    match fdio::read(local.fd, &mut state.buf) {
                        Ok(0) => input_closed = true,
                        Ok(n) => {
                            // What the port said so far shows before anything
                            // the input's hook says.
                            state.write_local()?;
                            let mut control = Control {
                                port: state.port,
                                to_port: &mut state.to_port,
                            };
                            let data = &state.buf[..n];
                            let flow = hooks.input(data, &mut control).map_err(|source| {
                                Error::Bridge {
                                    side: "handling the input",
                                    source,
                                }
                            })?;
                            if flow == Flow::Stop {
                                // Best effort: whatever the port accepts now.
                                let _ = state.flush_to_port();
                                state.final_drain(hooks)?;
                                return Ok(Ending::Stopped);
                            }
                            if let Some(hangup) = state.flush_to_port()? {
                                state.final_drain(hooks)?;
                                return Ok(Ending::Hangup(hangup));
                            }
                            if !local.pollable {
                                // A regular file: one chunk per turn, so the port
                                // side gets its share.
                                break;
                            }
                        }
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => input_ready = false,
                        // A terminal that hung up reads as EIO.
                        Err(err) if err.raw_os_error() == Some(libc::EIO) => input_closed = true,
                        Err(source) => {
                            return Err(Error::Bridge {
                                side: "reading the input",
                                source,
                            });
                        }
                    }
                }
                if input_closed && local.pollable {
                    // A closed pipe or hung-up terminal has nothing more to say.
                    let raw = local.fd.as_raw_fd();
                    let _ = poll.registry().deregister(&mut SourceFd(&raw));
                    local.pollable = false;
                }
            }
            // 4. Input over and everything handed to the port: once the port has
            //    transmitted it (its output queue is empty; checked every few
            //    milliseconds, so signals still get through), wait for the port
            //    to go quiet.
            let mut transmitting = false;
            if input_closed && state.to_port.is_empty() && deadline.is_none() {
                // A driver that cannot tell (ENOTTY) is taken as drained.
                transmitting = state.port.output_queued().unwrap_or(0) > 0;
                if !transmitting {
                    deadline = Some(Instant::now() + self.linger);
                }
            }
            let now = Instant::now();
            if deadline.is_some_and(|at| now >= at) {
                state.final_drain(hooks)?;
                return Ok(Ending::InputClosed);
            }

            // 5. Sleep until something happens.
            let busy = state.port_readable
                || (!input_closed
                    && input_ready
                    && state.to_port.is_empty()
                    && input.as_ref().is_some_and(|i| !i.pollable));
            let timeout = if busy {
                Some(Duration::ZERO)
            } else if transmitting {
                Some(DRAIN_CHECK)
            } else {
                deadline.map(|at| at.saturating_duration_since(now))
            };
            match poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(poll_err(source)),
            }
            for event in events.iter() {
                match event.token() {
                    PORT => {
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            state.port_readable = true;
                        }
                        if event.is_read_closed() || event.is_error() {
                            state.port_hup = true;
                        }
                    }
                    INPUT => input_ready = true,
                    SIGNALS => {
                        if let Some(signal) = signals.as_mut().and_then(ExitSignals::pending) {
                            state.final_drain(hooks)?;
                            return Ok(Ending::Signal(signal));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The local input, non-blocking for the session.
struct LocalInput<'a> {
    fd: BorrowedFd<'a>,
    /// Non-blocking while the session lasts, when pollable.
    _mode: Option<NonBlocking<'a>>,
    /// False for regular files and `/dev/null`, which epoll refuses (`EPERM`):
    /// those are always ready.
    pollable: bool,
}

impl<'a> LocalInput<'a> {
    fn new(fd: BorrowedFd<'a>, poll: &Poll) -> Result<LocalInput<'a>> {
        let raw = fd.as_raw_fd();
        let pollable =
            match poll
                .registry()
                .register(&mut SourceFd(&raw), INPUT, Interest::READABLE)
            {
                Ok(()) => true,
                Err(err) if err.raw_os_error() == Some(libc::EPERM) => false,
                Err(source) => {
                    return Err(Error::Bridge {
                        side: "watching the input",
                        source,
                    });
                }
            };
        let mode = if pollable {
            Some(NonBlocking::set(fd).map_err(|source| Error::Bridge {
                side: "making the input non-blocking",
                source,
            })?)
        } else {
            None
        };
        Ok(LocalInput {
            fd,
            _mode: mode,
            pollable,
        })
    }
}

struct State<'a> {
    port: &'a SerialPort,
    output: BorrowedFd<'a>,
    buf: Vec<u8>,
    local: Vec<u8>,
    to_port: Vec<u8>,
    sent: usize,
    port_readable: bool,
    port_hup: bool,
    /// Whether the last `drain_port` read anything.
    got_data: bool,
}

impl State<'_> {
    /// Reads the port once, passes what it read through the hook and on to the
    /// output. Returns the hang-up, if one was seen.
    ///
    /// One read per turn. A full read (`PORT_READ` bytes) leaves the port marked
    /// readable, so the loop comes straight back to it, after the input and the
    /// signals had their turn: a flooding port cannot starve them.
    ///
    /// A read shorter than `PORT_READ` marks the port drained, with no second
    /// read to see `EAGAIN` (tokio does the same with edge-triggered epoll). That
    /// is sound for the port because `SerialPort` keeps it raw (non-canonical,
    /// `VMIN` 1, `VTIME` 0): the kernel's line discipline then copies until its
    /// buffer is empty or ours is full, so a short read means it was empty at
    /// that moment, and whatever the driver delivers later wakes the tty's read
    /// queue after it is in that buffer, which raises a new readable edge. It
    /// would not hold for a canonical terminal (one line per read), so the local
    /// input is still read until `WouldBlock`. A reported hang-up also gets the
    /// extra read, which then tells `EIO`, end of file or `EAGAIN` apart.
    ///
    /// It is worth a rule because a non-blocking read of an empty tty is not
    /// cheap: before it fails with `EAGAIN` it waits for the tty's flip-buffer
    /// worker to finish (`tty_buffer_flush_work`), one more work item and wake-up
    /// per read.
    fn drain_port<H: Hooks + ?Sized>(&mut self, hooks: &mut H) -> Result<Option<Hangup>> {
        self.got_data = false;
        let read = fdio::read(self.port.as_fd(), &mut self.buf[..PORT_READ]);
        if let Ok(n) = read
            && n > 0
        {
            self.got_data = true;
            let flooding = n == PORT_READ && !self.port_hup;
            if !flooding {
                self.port_readable = false;
            }
            return self.deliver(n, hooks, flooding).map(|()| None);
        }
        // Nothing read: what was gathered goes out before anything else.
        self.write_local()?;
        match read {
            Ok(_) => Ok(Some(Hangup::ZeroRead)),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.port_readable = false;
                Ok(self.port_hup.then_some(Hangup::PollHup))
            }
            Err(err) if err.raw_os_error() == Some(libc::EIO) => Ok(Some(Hangup::Eio)),
            Err(source) => Err(Error::Bridge {
                side: "reading the port",
                source,
            }),
        }
    }

    /// Passes `n` bytes read from the port through the hook, then writes the
    /// output, unless `gather` (the port is flooding) and less than [`GATHER`]
    /// bytes wait.
    fn deliver<H: Hooks + ?Sized>(&mut self, n: usize, hooks: &mut H, gather: bool) -> Result<()> {
        let handled = hooks
            .port(&self.buf[..n], &mut self.local)
            .map_err(|source| Error::Bridge {
                side: "handling the port's data",
                source,
            });
        if handled.is_err() || !gather || self.local.len() >= GATHER {
            self.write_local()?;
        }
        handled
    }

    /// Writes the output that waits, if any.
    fn write_local(&mut self) -> Result<()> {
        if self.local.is_empty() {
            return Ok(());
        }
        let written = fdio::write_all(self.output, &self.local).map_err(|source| Error::Bridge {
            side: "writing the output",
            source,
        });
        self.local.clear();
        written
    }

    /// One last read of whatever the port holds, so nothing received is lost when
    /// the session ends for any reason.
    ///
    /// Unlike [`State::drain_port`] it reads until the port fails with
    /// `EAGAIN`, end of file or an error: that last read also waits for the
    /// tty's flip-buffer worker, so bytes the driver holds at that moment are
    /// not left behind.
    fn final_drain<H: Hooks + ?Sized>(&mut self, hooks: &mut H) -> Result<()> {
        self.write_local()?;
        loop {
            match fdio::read(self.port.as_fd(), &mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => self.deliver(n, hooks, false)?,
                Err(_) => return Ok(()),
            }
        }
    }

    /// Writes queued bytes until done or `WouldBlock` (the loop then waits for the
    /// port's writable edge).
    fn flush_to_port(&mut self) -> Result<Option<Hangup>> {
        while self.sent < self.to_port.len() {
            let left = self.to_port.len() - self.sent;
            match fdio::write(self.port.as_fd(), &self.to_port[self.sent..]) {
                // A short write means the port's queue is full: the next write
                // would only fail with `EAGAIN`, and the queue draining raises
                // the writable edge anyway.
                Ok(n) if n < left => {
                    self.sent += n;
                    break;
                }
                Ok(n) => self.sent += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.raw_os_error() == Some(libc::EIO) => return Ok(Some(Hangup::Eio)),
                Err(source) => {
                    return Err(Error::Bridge {
                        side: "writing the port",
                        source,
                    });
                }
            }
        }
        if self.sent == self.to_port.len() {
            self.to_port.clear();
            self.sent = 0;
        }
        Ok(None)
    }
}
