//! The tty crate on real pseudo-terminals: the test holds the master (the
//! "instrument"), the crate opens the slave as its serial port.
mod support;

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use support::assert_stop_bits_and_flow;
use tty::{
    Bridge, Control, Ending, Error, Flow, FlowControl, Framing, Hooks, ModemOutput, OpenMode,
    PassThrough, RawTerminal, STANDARD_RATES, SerialPort, Settings,
};

struct Pty {
    master: File,
    slave: OwnedFd,
    path: PathBuf,
}

fn pty() -> Pty {
    let pair = nix::pty::openpty(None, None).expect("openpty");
    let path = nix::unistd::ttyname(&pair.slave).expect("ttyname");
    Pty {
        master: File::from(pair.master),
        slave: pair.slave,
        path,
    }
}

fn settings(baud: u32) -> Settings {
    Settings {
        baud,
        ..Settings::default()
    }
}

fn all_bytes(times: usize) -> Vec<u8> {
    (0..times).flat_map(|_| 0..=255u8).collect()
}

/// Reads exactly `len` bytes from `reader` on a thread.
fn read_exactly(mut reader: File, len: usize) -> thread::JoinHandle<io::Result<(Vec<u8>, File)>> {
    thread::spawn(move || {
        let mut got = vec![0; len];
        reader.read_exact(&mut got)?;
        Ok((got, reader))
    })
}

fn pipe() -> (File, File) {
    let (r, w) = nix::unistd::pipe().expect("pipe");
    (File::from(r), File::from(w))
}

#[test]
fn every_standard_rate_is_set_and_read_back() {
    let pty = pty();
    let mut port = SerialPort::open(&pty.path, &settings(9600)).unwrap();
    for (rate, constant) in STANDARD_RATES {
        port.configure(&settings(*rate)).unwrap();
        assert_eq!(port.speed().unwrap(), *rate);
        let tio = port.termios().unwrap();
        assert_eq!(termios::cfgetospeed(&tio), *constant, "rate {rate}");
    }
}

#[test]
fn custom_rates_use_bother() {
    let pty = pty();
    let mut port = SerialPort::open(&pty.path, &settings(250000)).unwrap();
    assert_eq!(port.speed().unwrap(), 250000);
    for rate in [31250, 74880, 1234567, 3] {
        port.configure(&settings(rate)).unwrap();
        assert_eq!(port.speed().unwrap(), rate);
        let tio = port.termios().unwrap();
        assert_eq!(tio.c_cflag & libc::CBAUD, libc::BOTHER, "rate {rate}");
    }
}

#[test]
fn framing_and_flow_control_reach_the_driver() {
    let pty = pty();
    let mut port = SerialPort::open(&pty.path, &Settings::default()).unwrap();
    let tio = port.termios().unwrap();
    assert_eq!(tio.c_cflag & termios::CSIZE, termios::CS8);
    assert_eq!(tio.c_cflag & (termios::PARENB | termios::CSTOPB), 0);
    assert_eq!(
        tio.c_lflag & (termios::ICANON | termios::ECHO | termios::ISIG),
        0
    );
    assert_eq!(tio.c_oflag & termios::OPOST, 0);
    assert_eq!(tio.c_cc[termios::VMIN], 1);
    assert_ne!(tio.c_cflag & termios::CLOCAL, 0);

    // Linux's pty driver forces CS8 and clears PARENB whatever is asked (its
    // set_termios), so data bits and parity are checked on the termios the crate
    // builds (unit tests in port.rs); stop bits and flow control reach the pty.
    let cases = [
        ("5O2", FlowControl::RtsCts),
        ("6E1", FlowControl::XonXoff),
        ("7N2", FlowControl::None),
        ("8E1", FlowControl::None),
    ];
    for (framing, flow) in cases {
        let framing: Framing = framing.parse().unwrap();
        port.configure(&Settings {
            baud: 19200,
            framing,
            flow,
        })
        .unwrap();
        let tio = port.termios().unwrap();
        assert_eq!(tio.c_cflag & termios::CSIZE, termios::CS8, "pty forces CS8");
        assert_stop_bits_and_flow(&tio, framing, flow);
        assert_eq!(port.speed().unwrap(), 19200);
    }
}

#[test]
fn previous_settings_come_back_on_drop() {
    let pty = pty();
    let before = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
    assert_ne!(before.c_lflag & termios::ICANON, 0, "a fresh pty is cooked");
    {
        let _port = SerialPort::open(&pty.path, &settings(250000)).unwrap();
        let during = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
        assert_ne!(during, before);
    }
    let after = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
    assert_eq!(after, before);
}

#[test]
fn a_second_opener_is_told_the_port_is_in_use() {
    let pty = pty();
    let first = SerialPort::open(&pty.path, &Settings::default()).unwrap();
    let err = SerialPort::open(&pty.path, &Settings::default()).unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err:?}");
    assert!(err.to_string().contains("in use"), "{err}");
    assert!(err.to_string().contains(&pty.path.display().to_string()));
    drop(first);
    let again = SerialPort::open(&pty.path, &Settings::default());
    assert!(again.is_ok(), "{again:?}");
    drop(again);
    // Shared mode takes no lock: two shared openers coexist.
    let shared = OpenMode {
        exclusive: false,
        ..OpenMode::default()
    };
    let a = SerialPort::open_with(&pty.path, &Settings::default(), shared).unwrap();
    let b = SerialPort::open_with(&pty.path, &Settings::default(), shared);
    assert!(b.is_ok(), "{b:?}");
    drop(a);
}

#[test]
fn opening_errors_name_the_path_and_the_problem() {
    let err = SerialPort::open("/dev/does-not-exist-tty", &Settings::default()).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("/dev/does-not-exist-tty"));
    let err = SerialPort::open("/dev/null", &Settings::default()).unwrap_err();
    assert!(matches!(err, Error::NotATty { .. }), "{err:?}");
    assert!(err.to_string().contains("not a serial"), "{err}");
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = SerialPort::open(file.path(), &Settings::default()).unwrap_err();
    assert!(matches!(err, Error::NotATty { .. }), "{err:?}");
}

#[test]
fn a_pty_has_no_modem_lines_and_says_so() {
    // Linux's pty driver implements neither tiocmget nor tiocmset: the ioctls
    // fail with ENOTTY, and break is accepted as a no-op.
    let pty = pty();
    let port = SerialPort::open(&pty.path, &Settings::default()).unwrap();
    let err = port.modem_lines().unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("TIOCMGET"), "{err}");
    assert!(matches!(port.set_dtr(true), Err(Error::Unsupported { .. })));
    assert!(matches!(
        port.set_rts(false),
        Err(Error::Unsupported { .. })
    ));
    let err = port.set_output(ModemOutput::Loopback, true).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("loopback"), "{err}");
    port.send_break().unwrap();
}

#[test]
fn bridge_copies_all_256_byte_values_both_ways() {
    let pty = pty();
    let port = SerialPort::open(&pty.path, &settings(4000000)).unwrap();
    let (in_read, mut in_write) = pipe();
    let (out_read, out_write) = pipe();
    let up = all_bytes(256); // 64 KiB towards the port
    let down = all_bytes(512); // 128 KiB from the port
    let master_reader = read_exactly(pty.master.try_clone().unwrap(), up.len());
    let out_reader = read_exactly(out_read, down.len());
    let mut master = pty.master.try_clone().unwrap();
    let down_copy = down.clone();
    let writer = thread::spawn(move || master.write_all(&down_copy));
    let up_copy = up.clone();
    let feeder = thread::spawn(move || {
        in_write.write_all(&up_copy)?;
        // Close only once the port side has seen everything.
        thread::sleep(Duration::from_millis(300));
        drop(in_write);
        io::Result::Ok(())
    });
    let ending = Bridge::new(&port, out_write.as_fd())
        .input(in_read.as_fd())
        .linger(Duration::from_millis(200))
        .catch_signals(false)
        .run(&mut PassThrough)
        .unwrap();
    assert_eq!(ending, Ending::InputClosed);
    feeder.join().unwrap().unwrap();
    writer.join().unwrap().unwrap();
    let (got_up, _) = master_reader.join().unwrap().unwrap();
    assert!(got_up == up, "port received different bytes");
    drop(out_write);
    let (got_down, mut out_read) = out_reader.join().unwrap().unwrap();
    assert!(got_down == down, "output received different bytes");
    let mut rest = Vec::new();
    out_read.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{} extra bytes", rest.len());
}

#[test]
fn hang_up_ends_the_bridge_after_the_last_bytes() {
    let pty = pty();
    let port = SerialPort::open(&pty.path, &Settings::default()).unwrap();
    drop(pty.slave);
    let (out_read, out_write) = pipe();
    let mut master = pty.master;
    let closer = thread::spawn(move || {
        master.write_all(b"last words\r\n").unwrap();
        thread::sleep(Duration::from_millis(300));
        drop(master);
    });
    let started = Instant::now();
    let ending = Bridge::new(&port, out_write.as_fd())
        .catch_signals(false)
        .run(&mut PassThrough)
        .unwrap();
    closer.join().unwrap();
    assert!(matches!(ending, Ending::Hangup(_)), "{ending:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(out_write);
    let mut got = Vec::new();
    let mut out_read = out_read;
    out_read.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"last words\r\n");
}

/// Stops at 0x01 and forwards the rest, upper-cased, so the test can tell the
/// hook ran.
struct StopAtCtrlA {
    seen: Vec<u8>,
    /// How many bytes the port had delivered when the exit key came.
    seen_at_stop: Option<usize>,
}

impl Hooks for StopAtCtrlA {
    fn input(&mut self, data: &[u8], control: &mut Control<'_>) -> io::Result<Flow> {
        for &byte in data {
            if byte == 0x01 {
                self.seen_at_stop = Some(self.seen.len());
                return Ok(Flow::Stop);
            }
            control.send(&[byte.to_ascii_uppercase()]);
        }
        Ok(Flow::Continue)
    }
    fn port(&mut self, data: &[u8], local: &mut Vec<u8>) -> io::Result<()> {
        self.seen.extend_from_slice(data);
        local.extend_from_slice(data);
        Ok(())
    }
}

impl StopAtCtrlA {
    /// Bridges `port` with `input` and `output`, signals not caught, until
    /// the exit key; returns how it ended and what the hook saw.
    fn run(port: &SerialPort, input: BorrowedFd<'_>, output: BorrowedFd<'_>) -> (Ending, Self) {
        let mut hooks = StopAtCtrlA {
            seen: Vec::new(),
            seen_at_stop: None,
        };
        let ending = Bridge::new(port, output)
            .input(input)
            .catch_signals(false)
            .run(&mut hooks)
            .unwrap();
        (ending, hooks)
    }
}

#[test]
fn a_hook_can_stop_the_session_and_nothing_received_is_lost() {
    let pty = pty();
    let port = SerialPort::open(&pty.path, &Settings::default()).unwrap();
    let (in_read, mut in_write) = pipe();
    let (_out_read, out_write) = pipe();
    let mut master = pty.master.try_clone().unwrap();
    // Bytes already waiting in the port when the exit key arrives.
    master.write_all(b"pending").unwrap();
    in_write.write_all(b"abc\x01def").unwrap();
    let (ending, hooks) = StopAtCtrlA::run(&port, in_read.as_fd(), out_write.as_fd());
    assert_eq!(ending, Ending::Stopped);
    assert_eq!(hooks.seen, b"pending");
    let mut got = [0; 3];
    master.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ABC");
}

#[test]
fn a_failing_output_ends_the_bridge_with_a_named_error() {
    let pty = pty();
    let port = SerialPort::open(&pty.path, &Settings::default()).unwrap();
    let full = File::options().write(true).open("/dev/full").unwrap();
    let mut master = pty.master.try_clone().unwrap();
    master.write_all(b"data").unwrap();
    let err = Bridge::new(&port, full.as_fd())
        .catch_signals(false)
        .run(&mut PassThrough)
        .unwrap_err();
    assert!(err.to_string().contains("writing the output"), "{err}");
    assert!(err.to_string().contains("No space left"), "{err}");
}

#[test]
fn raw_terminal_guard_restores_the_terminal() {
    let pty = pty();
    let before = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
    {
        let guard = RawTerminal::enter(&pty.slave).unwrap();
        let raw = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
        assert_eq!(
            raw.c_lflag & (termios::ICANON | termios::ECHO | termios::ISIG),
            0
        );
        assert_eq!(*guard.saved(), before);
    }
    let after = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
    assert_eq!(after, before);
    let null = File::open("/dev/null").unwrap();
    assert!(matches!(
        RawTerminal::enter(&null),
        Err(Error::NotATty { .. })
    ));
}

#[test]
fn raw_terminal_is_restored_before_a_panic_unwinds() {
    let pty = pty();
    let before = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
    let slave = pty.slave.try_clone().unwrap();
    let result = thread::spawn(move || {
        let _guard = RawTerminal::enter(&slave).unwrap();
        panic!("boom");
    })
    .join();
    assert!(result.is_err());
    let after = termios::Termios::from_fd(pty.slave.as_raw_fd()).unwrap();
    assert_eq!(after, before);
}

#[test]
fn a_pty_reports_an_empty_output_queue() {
    // TIOCOUTQ works on a pty, but a pty transmits at once: written bytes sit in
    // the master's input, not in an output queue, so the count stays 0 (a UART
    // counts what it has not sent yet).
    let pty = pty();
    let port = SerialPort::open(&pty.path, &Settings::default()).unwrap();
    assert_eq!(port.output_queued().unwrap(), 0);
    (&port).write_all(&[b'x'; 1000]).unwrap();
    assert_eq!(port.output_queued().unwrap(), 0);
    let mut got = vec![0; 1000];
    (&pty.master).read_exact(&mut got).unwrap();
    assert_eq!(port.output_queued().unwrap(), 0);
}

#[test]
fn a_slow_instrument_gets_everything_through_a_full_port_queue() {
    // The instrument reads in small sips with pauses, so the port's queue fills
    // again and again: short writes and `EAGAIN`, each resumed by the writable
    // edge alone. A missed edge would stall the bridge, which the timeout turns
    // into a failure.
    let pty = pty();
    let up = all_bytes(1024); // 256 KiB towards the port
    let master = pty.master.try_clone().unwrap();
    let expected = up.clone();
    let instrument = thread::spawn(move || {
        let mut master = master;
        let mut got = Vec::with_capacity(expected.len());
        let mut sip = [0u8; 1500];
        while got.len() < expected.len() {
            let n = master.read(&mut sip)?;
            got.extend_from_slice(&sip[..n]);
            if got.len() % 7 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        io::Result::Ok(got)
    });
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let path = pty.path.clone();
    thread::spawn(move || {
        let port = SerialPort::open(&path, &settings(4000000)).unwrap();
        let (in_read, mut in_write) = pipe();
        let (_out_read, out_write) = pipe();
        let feeder = thread::spawn(move || {
            in_write.write_all(&up)?;
            drop(in_write);
            io::Result::Ok(())
        });
        let ending = Bridge::new(&port, out_write.as_fd())
            .input(in_read.as_fd())
            .linger(Duration::from_millis(100))
            .catch_signals(false)
            .run(&mut PassThrough);
        feeder.join().unwrap().unwrap();
        let _ = done_tx.send(ending.map_err(|err| err.to_string()));
    });
    let ending = done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the bridge stalled on a full port queue");
    assert_eq!(ending, Ok(Ending::InputClosed));
    let got = instrument.join().unwrap().unwrap();
    assert!(got == all_bytes(1024), "port received different bytes");
}

/// Byte `i` of a stream in which a lost, repeated or reordered block shows.
fn counting_pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
        .collect()
}

#[test]
fn the_input_is_served_while_the_port_floods_and_no_byte_is_lost() {
    // The instrument writes 8 MiB as fast as the pty takes it, so reading the
    // port may go on for megabytes without a `WouldBlock`. The exit key waits on
    // the input from the start: the bridge must read it after at most one buffer
    // (64 KiB) of the flood, and every byte read before and after must arrive
    // once, in order, though each short read of the port ends its turn.
    let pty = pty();
    let total = 8 << 20;
    let flood = counting_pattern(total);
    let port = SerialPort::open(&pty.path, &settings(4000000)).unwrap();
    let mut master = pty.master.try_clone().unwrap();
    let to_send = flood.clone();
    let writer = thread::spawn(move || master.write_all(&to_send));
    // Let the flood fill the pty before the bridge starts.
    thread::sleep(Duration::from_millis(50));
    let (in_read, mut in_write) = pipe();
    in_write.write_all(b"\x01").unwrap();
    let (out_read, out_write) = pipe();
    let out_reader = thread::spawn(move || {
        let mut out = Vec::new();
        let mut out_read = out_read;
        out_read.read_to_end(&mut out).map(|_| out)
    });
    let (ending, mut hooks) = StopAtCtrlA::run(&port, in_read.as_fd(), out_write.as_fd());
    assert_eq!(ending, Ending::Stopped);
    let at_key = hooks.seen_at_stop.expect("the exit key was never read");
    assert!(
        at_key <= 64 * 1024,
        "the exit key waited until {at_key} bytes of the flood were read"
    );
    // What the bridge left in the pty, read straight from the slave.
    let mut rest = vec![0; total - hooks.seen.len()];
    File::from(pty.slave).read_exact(&mut rest).unwrap();
    writer.join().unwrap().unwrap();
    drop(out_write);
    let shown = out_reader.join().unwrap().unwrap();
    assert!(
        shown == hooks.seen,
        "the output differs from what the hook saw"
    );
    hooks.seen.extend_from_slice(&rest);
    assert!(hooks.seen == flood, "bytes lost, repeated or reordered");
}

/// Writes `data` in pieces of 1 to 97 bytes with short pauses, then hands the
/// writer back (still open).
fn write_in_pieces<W: Write + Send + 'static>(
    mut writer: W,
    data: Vec<u8>,
) -> thread::JoinHandle<io::Result<W>> {
    thread::spawn(move || {
        let mut rest = &data[..];
        let mut size = 1;
        while !rest.is_empty() {
            let (piece, tail) = rest.split_at(size.min(rest.len()));
            writer.write_all(piece)?;
            rest = tail;
            size = size % 97 + 1;
            if size % 5 == 0 {
                thread::sleep(Duration::from_micros(300));
            }
        }
        Ok(writer)
    })
}

/// Reads exactly `len` bytes on a thread; the receiver gives up after `wait`.
fn read_exactly_within(reader: File, len: usize, wait: Duration, what: &str) -> Vec<u8> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = read_exactly(reader, len);
    thread::spawn(move || {
        let _ = tx.send(handle.join().unwrap());
    });
    let (got, _) = rx
        .recv_timeout(wait)
        .unwrap_or_else(|_| panic!("{what}: not all {len} bytes arrived (a stall)"))
        .unwrap();
    got
}

#[test]
fn small_pieces_both_ways_arrive_whole_with_no_stall() {
    // Every read of the port is short here, so each one ends the port's turn
    // and only the next readable edge brings the bridge back. A byte left in
    // the port (or in the input pipe) with no edge to follow would never reach
    // the other side: the readers' deadline turns that into a failure.
    let pty = pty();
    let len = 48 * 1024;
    let down = counting_pattern(len);
    let up: Vec<u8> = counting_pattern(len).into_iter().rev().collect();
    let path = pty.path.clone();
    let (in_read, in_write) = pipe();
    let (out_read, out_write) = pipe();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let port = SerialPort::open(&path, &settings(115200)).unwrap();
        let ending = Bridge::new(&port, out_write.as_fd())
            .input(in_read.as_fd())
            .linger(Duration::from_millis(100))
            .catch_signals(false)
            .run(&mut PassThrough);
        let _ = done_tx.send(ending.map_err(|err| err.to_string()));
    });
    // The port must be open before the instrument talks.
    thread::sleep(Duration::from_millis(100));
    // One direction at a time, so no event of the other wakes the bridge.
    let wait = Duration::from_secs(20);
    let instrument = write_in_pieces(pty.master.try_clone().unwrap(), down.clone());
    let shown = read_exactly_within(out_read, len, wait, "output");
    assert!(shown == down, "the output got different bytes");
    instrument.join().unwrap().unwrap();
    let feeder = write_in_pieces(in_write, up.clone());
    let sent = read_exactly_within(pty.master.try_clone().unwrap(), len, wait, "port");
    assert!(sent == up, "the port got different bytes");
    drop(feeder.join().unwrap().unwrap());
    let ending = done_rx.recv_timeout(wait).expect("the bridge did not end");
    assert_eq!(ending, Ok(Ending::InputClosed));
}
