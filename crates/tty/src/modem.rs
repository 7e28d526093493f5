//! Modem control lines.
use std::fmt;

/// A snapshot of the modem lines, as `TIOCMGET` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModemLines {
    bits: libc::c_int,
}

impl ModemLines {
    /// Wraps the raw `TIOCM_*` bits.
    pub fn from_bits(bits: libc::c_int) -> Self {
        ModemLines { bits }
    }

    /// The raw `TIOCM_*` bits.
    pub fn bits(self) -> libc::c_int {
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
}
