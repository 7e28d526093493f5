//! Checks shared by the tty crate's test binaries (`pty.rs` on pseudo-terminals,
//! `kernel_uart.rs` on the kernel lab's UART).
#![allow(dead_code)]

use termios::Termios;
use tty::{FlowControl, Framing, Parity, StopBits};

/// Asserts the settings every tty driver keeps as asked: odd parity, stop bits
/// and flow control. (Data bits and parity enable depend on the driver: a pty
/// forces CS8 and clears PARENB.)
pub fn assert_stop_bits_and_flow(tio: &Termios, framing: Framing, flow: FlowControl) {
    let what = format!("{framing} flow {flow}");
    assert_eq!(
        tio.c_cflag & termios::PARODD != 0,
        framing.parity == Parity::Odd,
        "{what}"
    );
    assert_eq!(
        tio.c_cflag & termios::CSTOPB != 0,
        framing.stop_bits == StopBits::Two,
        "{what}"
    );
    assert_eq!(
        tio.c_cflag & termios::os::linux::CRTSCTS != 0,
        flow == FlowControl::RtsCts,
        "{what}"
    );
    assert_eq!(
        tio.c_iflag & (termios::IXON | termios::IXOFF) != 0,
        flow == FlowControl::XonXoff,
        "{what}"
    );
}
