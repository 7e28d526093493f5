//! What the terminal shows of the device's bytes, and what typed bytes become,
//! with tio's options: `--timestamp[=FORMAT]` at each line start, `--hex`
//! (offset, hex, ASCII), `--map` flags (tio's names, picocom's `--imap` and
//! `--omap` spellings too). The log always keeps the bytes as received.
use std::fmt::Write as _;
use std::time::Instant;

use time::OffsetDateTime;

/// `--timestamp` formats (tio's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stamp {
    /// `[09:16:01.123]` local time.
    #[value(name = "24hour")]
    Hour24,
    /// `[2026-12-04T09:16:01.123+01:00]`.
    Iso8601,
    /// `[1796375761.123456]` seconds since 1970 with microseconds.
    EpochUsec,
    /// `[+1.002]` seconds since the previous line's stamp.
    #[value(alias = "24hour-delta")]
    Delta,
}

/// One `--map` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Device CR shown as a new line (LF; CR LF on the raw terminal).
    Icrnl,
    /// Device CR not shown.
    Igncr,
    /// Device LF shown as CR.
    Inlcr,
    /// Device LF shown as CR LF.
    Inlcrnl,
    /// Device CR shown as CR LF.
    Icrcrnl,
    /// Typed CR sent as LF.
    Ocrnl,
    /// Typed LF sent as CR LF.
    Onlcrnl,
    /// Typed CR sent as CR LF.
    Ocrcrnl,
    /// Typed CR not sent.
    Oigncr,
    /// Typed DEL sent as BS.
    Odelbs,
    /// Typed lower case letters sent as upper case.
    Oltu,
}

/// tio's names, then picocom's (`i:` for `--imap`, `o:` for `--omap`).
const NAMES: [(&str, Flag); 11] = [
    ("ICRNL", Flag::Icrnl),
    ("IGNCR", Flag::Igncr),
    ("INLCR", Flag::Inlcr),
    ("INLCRNL", Flag::Inlcrnl),
    ("ICRCRNL", Flag::Icrcrnl),
    ("OCRNL", Flag::Ocrnl),
    ("ONLCRNL", Flag::Onlcrnl),
    ("OCRCRNL", Flag::Ocrcrnl),
    ("OIGNCR", Flag::Oigncr),
    ("ODELBS", Flag::Odelbs),
    ("OLTU", Flag::Oltu),
];

const PICOCOM: [(&str, Flag, Flag); 5] = [
    ("crlf", Flag::Icrnl, Flag::Ocrnl),
    ("igncr", Flag::Igncr, Flag::Oigncr),
    ("lfcr", Flag::Inlcr, Flag::Inlcr),
    ("lfcrlf", Flag::Inlcrnl, Flag::Onlcrnl),
    ("crcrlf", Flag::Icrcrnl, Flag::Ocrcrnl),
];

impl Flag {
    /// A tio flag name (any case).
    pub fn parse(s: &str) -> Result<Flag, String> {
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown map flag `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
    }

    /// A picocom `--imap` (`input`) or `--omap` name.
    pub fn picocom(s: &str, input: bool) -> Result<Flag, String> {
        let found = PICOCOM
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, i, o)| if input { *i } else { *o });
        match found {
            // picocom's omap has no "lfcr".
            Some(Flag::Inlcr) if !input => None,
            other => other,
        }
        .or_else(|| (!input && s.eq_ignore_ascii_case("delbs")).then_some(Flag::Odelbs))
        .ok_or_else(|| {
            format!(
                "unknown {} map `{s}`: expected crlf, igncr, lfcrlf, crcrlf{}",
                if input { "input" } else { "output" },
                if input { ", lfcr" } else { ", delbs" }
            )
        })
    }

    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }
}

pub fn parse_imap(s: &str) -> Result<Flag, String> {
    Flag::picocom(s, true)
}

pub fn parse_omap(s: &str) -> Result<Flag, String> {
    Flag::picocom(s, false)
}

/// The screen side: bytes from the device to bytes to show.
pub struct Display {
    stamp: Option<Stamp>,
    hex: bool,
    flags: Vec<Flag>,
    local: Box<dyn Fn(OffsetDateTime) -> OffsetDateTime + Send>,
    at_line_start: bool,
    previous: Option<Instant>,
    /// The screen is a raw terminal: a new line a map makes is CR LF there
    /// (as a cooked terminal would show LF).
    terminal: bool,
    /// Hex mode: bytes shown so far, and the current line's bytes.
    offset: u64,
    row: Vec<u8>,
}

impl std::fmt::Debug for Display {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Display")
            .field("stamp", &self.stamp)
            .field("hex", &self.hex)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

impl Display {
    pub fn new(
        stamp: Option<Stamp>,
        hex: bool,
        flags: Vec<Flag>,
        local: Box<dyn Fn(OffsetDateTime) -> OffsetDateTime + Send>,
        terminal: bool,
    ) -> Display {
        Display {
            terminal,
            stamp,
            hex,
            flags,
            local,
            at_line_start: true,
            previous: None,
            offset: 0,
            row: Vec::with_capacity(16),
        }
    }

    /// Whether the bytes are shown as they come (no option given).
    pub fn is_plain(&self) -> bool {
        self.stamp.is_none() && !self.hex && !self.flags.iter().any(|f| f.is_input())
    }

    /// Appends to `out` what to show for `data`, received at `now`.
    pub fn show(&mut self, data: &[u8], now: OffsetDateTime, out: &mut Vec<u8>) {
        if self.hex {
            for &b in data {
                if self.row.is_empty() {
                    self.line_start(now, out);
                    let _ = write!(Sink(out), "{:08x}  ", self.offset);
                }
                let _ = write!(Sink(out), "{b:02x} ");
                if self.row.len() == 7 {
                    out.push(b' ');
                }
                self.row.push(b);
                self.offset += 1;
                if self.row.len() == 16 {
                    out.extend_from_slice(b" |");
                    out.extend(
                        self.row
                            .iter()
                            .map(|&c| if (0x20..0x7f).contains(&c) { c } else { b'.' }),
                    );
                    out.extend_from_slice(b"|\r\n");
                    self.row.clear();
                }
            }
            return;
        }
        for &b in data {
            let mapped: &[u8] = match b {
                b'\r' if self.has(Flag::Igncr) => b"",
                b'\r' if self.has(Flag::Icrnl) && self.terminal => b"\r\n",
                b'\r' if self.has(Flag::Icrnl) => b"\n",
                b'\r' if self.has(Flag::Icrcrnl) => b"\r\n",
                b'\n' if self.has(Flag::Inlcrnl) => b"\r\n",
                b'\n' if self.has(Flag::Inlcr) => b"\r",
                _ => std::slice::from_ref(&b),
            };
            for &c in mapped {
                if self.stamp.is_some() && self.at_line_start && c != b'\n' && c != b'\r' {
                    self.line_start(now, out);
                }
                out.push(c);
                if c == b'\r' || c == b'\n' {
                    self.at_line_start = true;
                }
            }
        }
    }

    fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }

    /// The stamp at a line start.
    fn line_start(&mut self, now: OffsetDateTime, out: &mut Vec<u8>) {
        self.at_line_start = false;
        let Some(stamp) = self.stamp else { return };
        let t = (self.local)(now);
        let text = match stamp {
            Stamp::Hour24 => format!(
                "[{:02}:{:02}:{:02}.{:03}] ",
                t.hour(),
                t.minute(),
                t.second(),
                t.millisecond()
            ),
            Stamp::Iso8601 => {
                let o = t.offset();
                format!(
                    "[{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}{:02}:{:02}] ",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second(),
                    t.millisecond(),
                    if o.is_negative() { '-' } else { '+' },
                    o.whole_hours().abs(),
                    o.minutes_past_hour().abs()
                )
            }
            Stamp::EpochUsec => {
                let us = now.unix_timestamp_nanos() / 1000;
                format!("[{}.{:06}] ", us / 1_000_000, us % 1_000_000)
            }
            Stamp::Delta => {
                let at = Instant::now();
                let d = self.previous.map_or(0.0, |p| (at - p).as_secs_f64());
                self.previous = Some(at);
                format!("[+{d:.3}] ")
            }
        };
        out.extend_from_slice(text.as_bytes());
    }
}

impl Flag {
    fn is_input(self) -> bool {
        matches!(
            self,
            Flag::Icrnl | Flag::Igncr | Flag::Inlcr | Flag::Inlcrnl | Flag::Icrcrnl
        )
    }
}

/// Typed bytes to the bytes sent, by the output flags.
pub fn map_typed(flags: &[Flag], byte: u8) -> Vec<u8> {
    let has = |f| flags.contains(&f);
    match byte {
        b'\r' if has(Flag::Oigncr) => vec![],
        b'\r' if has(Flag::Ocrnl) => vec![b'\n'],
        b'\r' if has(Flag::Ocrcrnl) => vec![b'\r', b'\n'],
        b'\n' if has(Flag::Onlcrnl) => vec![b'\r', b'\n'],
        0x7f if has(Flag::Odelbs) => vec![0x08],
        b'a'..=b'z' if has(Flag::Oltu) => vec![byte.to_ascii_uppercase()],
        _ => vec![byte],
    }
}

/// `--hex-input` (tio's `--input-mode hex`): typed hex digits, two to a
/// byte, become the bytes sent; spaces, tabs and line ends between them are
/// ignored, anything else is refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct HexInput {
    high: Option<u8>,
}

impl HexInput {
    /// The byte a typed key completes, or why the key is not a hex digit.
    pub fn feed(&mut self, key: u8) -> Result<Option<u8>, u8> {
        if matches!(key, b' ' | b'\t' | b'\r' | b'\n') {
            return Ok(None);
        }
        let digit = (key as char).to_digit(16).ok_or(key)? as u8;
        Ok(match self.high.take() {
            Some(high) => Some(high << 4 | digit),
            None => {
                self.high = Some(digit);
                None
            }
        })
    }
}

/// `write!` into a byte vector.
struct Sink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn display(stamp: Option<Stamp>, hex: bool, flags: Vec<Flag>) -> Display {
        Display::new(stamp, hex, flags, Box::new(|t| t), false)
    }

    fn show(d: &mut Display, data: &[u8]) -> String {
        let mut out = Vec::new();
        d.show(data, datetime!(2026-12-04 09:16:01.123456 UTC), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn stamps_start_each_line_whichever_end_the_device_uses() {
        let mut d = display(Some(Stamp::Hour24), false, vec![]);
        assert_eq!(
            show(&mut d, b"S..E\r\nS.."),
            "[09:16:01.123] S..E\r\n[09:16:01.123] S.."
        );
        // A CR-only device: one stamp per frame too.
        assert_eq!(show(&mut d, b"E\rS..E\r"), "E\r[09:16:01.123] S..E\r");
        let mut d = display(Some(Stamp::Iso8601), false, vec![]);
        assert_eq!(show(&mut d, b"x"), "[2026-12-04T09:16:01.123+00:00] x");
        let mut d = display(Some(Stamp::EpochUsec), false, vec![]);
        assert_eq!(show(&mut d, b"x"), "[1796375761.123456] x");
        let mut d = display(Some(Stamp::Delta), false, vec![]);
        assert_eq!(show(&mut d, b"x"), "[+0.000] x");
    }

    #[test]
    fn maps_change_what_is_shown_and_sent() {
        let mut d = display(None, false, vec![Flag::Icrnl]);
        assert_eq!(show(&mut d, b"a\rb\r"), "a\nb\n");
        // On a raw terminal a new line is CR LF.
        let mut d = Display::new(None, false, vec![Flag::Icrnl], Box::new(|t| t), true);
        assert_eq!(show(&mut d, b"a\rb\r"), "a\r\nb\r\n");
        let mut d = display(None, false, vec![Flag::Igncr]);
        assert_eq!(show(&mut d, b"a\r\nb"), "a\nb");
        let mut d = display(None, false, vec![Flag::Inlcrnl]);
        assert_eq!(show(&mut d, b"a\nb"), "a\r\nb");
        assert_eq!(map_typed(&[Flag::Onlcrnl], b'\n'), b"\r\n");
        assert_eq!(map_typed(&[Flag::Ocrnl], b'\r'), b"\n");
        assert_eq!(map_typed(&[Flag::Odelbs], 0x7f), [0x08]);
        assert_eq!(map_typed(&[Flag::Oltu], b'q'), b"Q");
        assert_eq!(map_typed(&[], b'\r'), b"\r");
        assert_eq!(Flag::parse("icrnl"), Ok(Flag::Icrnl));
        assert!(Flag::parse("ICRLF").is_err());
        assert_eq!(parse_imap("crlf"), Ok(Flag::Icrnl));
        assert_eq!(parse_omap("crlf"), Ok(Flag::Ocrnl));
        assert_eq!(parse_omap("delbs"), Ok(Flag::Odelbs));
        assert!(parse_omap("lfcr").is_err());
    }

    #[test]
    fn hex_input_pairs_digits_into_bytes() {
        let mut h = HexInput::default();
        let sent: Vec<u8> = b"53 3a0D\r\n0a"
            .iter()
            .filter_map(|&k| h.feed(k).unwrap())
            .collect();
        assert_eq!(sent, b"S:\r\n");
        assert_eq!(h.feed(b'g'), Err(b'g'));
    }

    #[test]
    fn hex_shows_offset_hex_and_ascii() {
        let mut d = display(None, true, vec![]);
        let text = show(&mut d, b"S:  21693Vo:  42412Am\r\n");
        assert_eq!(
            text,
            "00000000  53 3a 20 20 32 31 36 39  33 56 6f 3a 20 20 34 32  |S:  21693Vo:  42|\r\n\
             00000010  34 31 32 41 6d 0d 0a "
        );
        let text = show(&mut d, b"123456789");
        assert!(text.ends_with("39  |412Am..123456789|\r\n"), "{text}");
        assert!(show(&mut d, b"!").starts_with("00000020  21 "));
    }
}
