//! Modem control lines.
use std::fmt;
use std::os::fd::AsFd;

use crate::error::{Error, Result};
use crate::ioctl;
use crate::port::SerialPort;

// Linux's `TIOCM_OUT1`, `TIOCM_OUT2` and `TIOCM_LOOP` (`<asm/termios.h>`), which
// the libc crate does not export.
const TIOCM_OUT1: libc::c_int = 0x2000;
const TIOCM_OUT2: libc::c_int = 0x4000;
const TIOCM_LOOP: libc::c_int = 0x8000;

/// A snapshot of the modem lines, as `TIOCMGET` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModemLines {
    bits: libc::c_int,
}

impl ModemLines {
    /// Wraps the raw `TIOCM_*` bits (a C `int`, an `i32` on Linux).
    pub fn from_bits(bits: i32) -> Self {
        ModemLines { bits }
    }

    /// The raw `TIOCM_*` bits.
    pub fn bits(self) -> i32 {
        self.bits
    }

    /// Request To Send (output).
    pub fn rts(self) -> bool {
        self.bits & libc::TIOCM_RTS != 0
    }
    /// Clear To Send (input).
    pub fn cts(self) -> bool {
        self.bits & libc::TIOCM_CTS != 0
    }
    /// Data Set Ready (input).
    pub fn dsr(self) -> bool {
        self.bits & libc::TIOCM_DSR != 0
    }
    /// Data Carrier Detect (input).
    pub fn dcd(self) -> bool {
        self.bits & libc::TIOCM_CAR != 0
    }
    /// Data Terminal Ready (output).
    pub fn dtr(self) -> bool {
        self.bits & libc::TIOCM_DTR != 0
    }
    /// Ring Indicator (input).
    pub fn ri(self) -> bool {
        self.bits & libc::TIOCM_RNG != 0
    }
    /// The UART's OUT1 output (output; see [`ModemOutput::Out1`]).
    pub fn out1(self) -> bool {
        self.bits & TIOCM_OUT1 != 0
    }
    /// The UART's OUT2 output (output; see [`ModemOutput::Out2`]).
    pub fn out2(self) -> bool {
        self.bits & TIOCM_OUT2 != 0
    }
    /// The UART's internal loopback mode (see [`ModemOutput::Loopback`]).
    pub fn loopback(self) -> bool {
        self.bits & TIOCM_LOOP != 0
    }

    /// The names of the lines that are set, in the original `com`'s order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        [
            (self.rts(), "RTS"),
            (self.cts(), "CTS"),
            (self.dsr(), "DSR"),
            (self.dcd(), "DCD"),
            (self.dtr(), "DTR"),
            (self.ri(), "RI"),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| name)
    }
}

/// `RTS CTS DSR DCD DTR RI ` restricted to the lines that are set, each name
/// followed by one space: exactly what the original `com` printed after
/// `[STATUS]: `.
impl fmt::Display for ModemLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for name in self.names() {
            write!(f, "{name} ")?;
        }
        Ok(())
    }
}

/// An output of the port's modem control register that a program may drive
/// (`TIOCMBIS`/`TIOCMBIC`; Linux accepts exactly these five).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModemOutput {
    /// Data Terminal Ready.
    Dtr,
    /// Request To Send.
    Rts,
    /// The 16550's general-purpose OUT1 output.
    Out1,
    /// The 16550's general-purpose OUT2 output. The 8250 driver raises it when
    /// the port opens because on PC serial ports OUT2 gates the UART's interrupt
    /// line: cleared there, the port stops receiving and sending until it is set
    /// again.
    Out2,
    /// The 16550's internal loopback test mode: the transmitter feeds the
    /// receiver (nothing leaves the connector) and the outputs drive the inputs
    /// DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD. Drivers of other UARTs may ignore it.
    Loopback,
}

impl ModemOutput {
    /// The `TIOCM_*` bit of this output.
    pub fn bit(self) -> i32 {
        match self {
            ModemOutput::Dtr => libc::TIOCM_DTR,
            ModemOutput::Rts => libc::TIOCM_RTS,
            ModemOutput::Out1 => TIOCM_OUT1,
            ModemOutput::Out2 => TIOCM_OUT2,
            ModemOutput::Loopback => TIOCM_LOOP,
        }
    }

    fn operation(self) -> &'static str {
        match self {
            ModemOutput::Dtr => "setting DTR (TIOCMBIS/TIOCMBIC)",
            ModemOutput::Rts => "setting RTS (TIOCMBIS/TIOCMBIC)",
            ModemOutput::Out1 => "setting OUT1 (TIOCMBIS/TIOCMBIC)",
            ModemOutput::Out2 => "setting OUT2 (TIOCMBIS/TIOCMBIC)",
            ModemOutput::Loopback => "setting the loopback mode (TIOCMBIS/TIOCMBIC)",
        }
    }
}

impl SerialPort {
    /// Sets (`true`) or clears one modem control output.
    ///
    /// [`SerialPort::set_dtr`] and [`SerialPort::set_rts`] are this for DTR and
    /// RTS. A pseudo-terminal has no modem lines: [`Error::Unsupported`].
    pub fn set_output(&self, output: ModemOutput, on: bool) -> Result<()> {
        ioctl::modem_set(self.as_fd(), output.bit(), on)
            .map_err(|err| Error::from_ioctl(self.path(), output.operation(), err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_the_original_order_and_spacing() {
        let all = ModemLines::from_bits(
            libc::TIOCM_RI
                | libc::TIOCM_DTR
                | libc::TIOCM_CAR
                | libc::TIOCM_DSR
                | libc::TIOCM_CTS
                | libc::TIOCM_RTS,
        );
        assert_eq!(all.to_string(), "RTS CTS DSR DCD DTR RI ");
        let some = ModemLines::from_bits(libc::TIOCM_DTR | libc::TIOCM_RTS);
        assert_eq!(some.to_string(), "RTS DTR ");
        assert_eq!(ModemLines::default().to_string(), "");
    }

    #[test]
    fn outputs_other_than_the_six_lines_are_read_but_not_displayed() {
        let lines = ModemLines::from_bits(
            ModemOutput::Out1.bit() | ModemOutput::Out2.bit() | ModemOutput::Loopback.bit(),
        );
        assert!(lines.out1() && lines.out2() && lines.loopback());
        assert!(!lines.dtr() && !lines.rts());
        assert_eq!(lines.to_string(), "");
        let dtr = ModemLines::from_bits(ModemOutput::Dtr.bit() | ModemOutput::Rts.bit());
        assert_eq!(dtr.to_string(), "RTS DTR ");
        assert!(!dtr.out1() && !dtr.out2() && !dtr.loopback());
    }
}
