//! The two libraries compose as a user would expect: a blocking `tty::SerialPort`
//! handed to `hpm_frame::FrameReader` waits through the meter's idle time
//! between frames instead of ending at the first empty read.
use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use hpm_frame::FrameReader;
use tty::{SerialPort, Settings};

const FRAME: &[u8] =
    b"S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E\r\n";

#[test]
fn frames_sent_once_a_second_are_read_through_the_idle_time() {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let path = nix::unistd::ttyname(pty.slave.as_fd()).expect("ttyname");
    let port = SerialPort::open(&path, &Settings::default()).expect("open the pty slave");
    let mut master = std::fs::File::from(pty.master);
    let meter = std::thread::spawn(move || {
        for _ in 0..3 {
            master.write_all(FRAME).expect("write a frame");
            std::thread::sleep(Duration::from_secs(1));
        }
        master
    });
    let started = Instant::now();
    let frames: Vec<_> = FrameReader::new(port)
        .take(3)
        .collect::<Result<_, _>>()
        .expect("no read error while the meter is idle");
    assert_eq!(frames.len(), 3);
    assert!(
        frames
            .iter()
            .all(|f| f.to_string().as_bytes() == &FRAME[..FRAME.len() - 2])
    );
    // The third frame came about two seconds after the first: the reader waited.
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    drop(meter.join());
}

#[test]
fn a_read_timeout_ends_the_wait_with_timed_out() {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let path = nix::unistd::ttyname(pty.slave.as_fd()).expect("ttyname");
    let mut port = SerialPort::open(&path, &Settings::default()).expect("open the pty slave");
    port.set_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 16];
    let err = std::io::Read::read(&mut port, &mut buf).expect_err("nothing was sent");
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
    // Data waiting is returned at once.
    let mut master = std::fs::File::from(pty.master);
    master.write_all(b"abc").expect("write");
    let n = std::io::Read::read(&mut port, &mut buf).expect("data");
    assert_eq!(&buf[..n], b"abc");
}
