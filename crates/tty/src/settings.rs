//! Line settings: speed, framing (data bits, parity, stop bits) and flow control.
use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The rates Linux names with a `Bnnn` constant, each with its constant (the
/// value `termios(3)` keeps in its `speed_t`, a `u32` on Linux).
///
/// Any other rate is set through `termios2` with `BOTHER`.
pub const STANDARD_RATES: &[(u32, u32)] = {
    use ::termios::os::linux::{
        B50, B75, B110, B134, B150, B200, B300, B600, B1200, B1800, B2400, B4800, B9600, B19200,
        B38400, B57600, B115200, B230400, B460800, B500000, B576000, B921600, B1000000, B1152000,
        B1500000, B2000000, B2500000, B3000000, B3500000, B4000000,
    };
    &[
        (50, B50),
        (75, B75),
        (110, B110),
        (134, B134),
        (150, B150),
        (200, B200),
        (300, B300),
        (600, B600),
        (1200, B1200),
        (1800, B1800),
        (2400, B2400),
        (4800, B4800),
        (9600, B9600),
        (19200, B19200),
        (38400, B38400),
        (57600, B57600),
        (115200, B115200),
        (230400, B230400),
        (460800, B460800),
        (500000, B500000),
        (576000, B576000),
        (921600, B921600),
        (1000000, B1000000),
        (1152000, B1152000),
        (1500000, B1500000),
        (2000000, B2000000),
        (2500000, B2500000),
        (3000000, B3000000),
        (3500000, B3500000),
        (4000000, B4000000),
    ]
};

/// The `Bnnn` constant of a standard rate, or `None` for a custom one.
pub fn standard_rate(baud: u32) -> Option<u32> {
    STANDARD_RATES
        .iter()
        .find(|(rate, _)| *rate == baud)
        .map(|(_, constant)| *constant)
}

/// The rate a `Bnnn` constant stands for (`None` for `BOTHER` or an unknown one).
pub fn rate_of_constant(constant: u32) -> Option<u32> {
    STANDARD_RATES
        .iter()
        .find(|(_, c)| *c == constant)
        .map(|(rate, _)| *rate)
}

/// Parses a line speed in bits per second (any positive integer).
pub fn parse_speed(input: &str) -> Result<u32, Error> {
    match input.trim().parse::<u32>() {
        Ok(baud) if baud > 0 => Ok(baud),
        _ => Err(Error::Parse {
            what: "speed",
            input: input.to_string(),
            expected: "a positive number of bits per second, e.g. 9600 or 115200",
        }),
    }
}

/// Bits per character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataBits {
    /// 5 bits.
    Five,
    /// 6 bits.
    Six,
    /// 7 bits.
    Seven,
    /// 8 bits (the default).
    Eight,
}

impl DataBits {
    /// The number of bits.
    pub fn count(self) -> u8 {
        match self {
            DataBits::Five => 5,
            DataBits::Six => 6,
            DataBits::Seven => 7,
            DataBits::Eight => 8,
        }
    }
}

/// Parity bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parity {
    /// No parity bit (the default).
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// Stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopBits {
    /// One stop bit (the default).
    One,
    /// Two stop bits.
    Two,
}

/// Flow control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowControl {
    /// None (the default).
    None,
    /// Hardware: RTS/CTS.
    RtsCts,
    /// Software: XON/XOFF.
    XonXoff,
}

impl FromStr for FlowControl {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        match input.to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(FlowControl::None),
            "rtscts" | "rts-cts" | "hard" | "hardware" => Ok(FlowControl::RtsCts),
            "xonxoff" | "xon-xoff" | "soft" | "software" => Ok(FlowControl::XonXoff),
            _ => Err(Error::Parse {
                what: "flow control",
                input: input.to_string(),
                expected: "none, rtscts or xonxoff",
            }),
        }
    }
}

impl fmt::Display for FlowControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlowControl::None => "none",
            FlowControl::RtsCts => "rtscts",
            FlowControl::XonXoff => "xonxoff",
        })
    }
}

/// Data bits, parity and stop bits, written the usual way: `8N1`, `7E2`, `5O1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Framing {
    /// Bits per character.
    pub data_bits: DataBits,
    /// Parity.
    pub parity: Parity,
    /// Stop bits.
    pub stop_bits: StopBits,
}

impl Default for Framing {
    fn default() -> Self {
        Framing {
            data_bits: DataBits::Eight,
            parity: Parity::None,
            stop_bits: StopBits::One,
        }
    }
}

impl FromStr for Framing {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let bad = || Error::Parse {
            what: "framing",
            input: input.to_string(),
            expected: "data bits 5-8, parity N/E/O, stop bits 1/2, e.g. 8N1 or 7E2",
        };
        let bytes = input.as_bytes();
        if bytes.len() != 3 {
            return Err(bad());
        }
        let data_bits = match bytes[0] {
            b'5' => DataBits::Five,
            b'6' => DataBits::Six,
            b'7' => DataBits::Seven,
            b'8' => DataBits::Eight,
            _ => return Err(bad()),
        };
        let parity = match bytes[1].to_ascii_uppercase() {
            b'N' => Parity::None,
            b'E' => Parity::Even,
            b'O' => Parity::Odd,
            _ => return Err(bad()),
        };
        let stop_bits = match bytes[2] {
            b'1' => StopBits::One,
            b'2' => StopBits::Two,
            _ => return Err(bad()),
        };
        Ok(Framing {
            data_bits,
            parity,
            stop_bits,
        })
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parity = match self.parity {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        };
        let stop = match self.stop_bits {
            StopBits::One => 1,
            StopBits::Two => 2,
        };
        write!(f, "{}{}{}", self.data_bits.count(), parity, stop)
    }
}

/// Everything that configures a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Bits per second; any positive rate (non-standard ones use `BOTHER`).
    pub baud: u32,
    /// Data bits, parity and stop bits.
    pub framing: Framing,
    /// Flow control.
    pub flow: FlowControl,
}

impl Default for Settings {
    /// 9600 8N1, no flow control: what the original `com` used.
    fn default() -> Self {
        Settings {
            baud: 9600,
            framing: Framing::default(),
            flow: FlowControl::None,
        }
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.baud, self.framing)?;
        if self.flow != FlowControl::None {
            write!(f, " flow {}", self.flow)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_round_trips() {
        for text in ["8N1", "7E2", "5O1", "6N2"] {
            let framing: Framing = text.parse().unwrap();
            assert_eq!(framing.to_string(), text);
        }
        assert_eq!("8n1".parse::<Framing>().unwrap().to_string(), "8N1");
        for bad in ["9N1", "8X1", "8N3", "8N", "8N11", ""] {
            let err = bad.parse::<Framing>().unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn speeds_parse_and_map() {
        assert_eq!(parse_speed("115200").unwrap(), 115200);
        assert_eq!(parse_speed("250000").unwrap(), 250000);
        assert!(parse_speed("0").is_err());
        assert!(
            parse_speed("fast")
                .unwrap_err()
                .to_string()
                .contains("`fast`")
        );
        assert_eq!(standard_rate(4000000), Some(termios::os::linux::B4000000));
        assert_eq!(standard_rate(250000), None);
        for (rate, constant) in STANDARD_RATES {
            assert_eq!(rate_of_constant(*constant), Some(*rate));
        }
    }

    #[test]
    fn flow_parses() {
        assert_eq!(
            "rtscts".parse::<FlowControl>().unwrap(),
            FlowControl::RtsCts
        );
        assert_eq!(
            "XONXOFF".parse::<FlowControl>().unwrap(),
            FlowControl::XonXoff
        );
        assert!("both".parse::<FlowControl>().is_err());
    }
}
