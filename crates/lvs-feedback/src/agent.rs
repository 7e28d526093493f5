//! HAProxy's agent-check protocol: one ASCII line of words.
//!
//! The agent answers each TCP connection with one line, ended by the first
//! `\r` or `\n`, of words separated by spaces, tabs or commas, in any order
//! and in any letter case (HAProxy's configuration manual, `agent-check`):
//!
//! | word | meaning |
//! | --- | --- |
//! | `up` | operating state up (if the health checks agree) |
//! | `down`, `fail`, `stopped` | operating state down; the word says why |
//! | `ready` | administrative state ready: cancels `drain` and `maint` |
//! | `drain` | administrative state drain: no new connections |
//! | `maint` | administrative state maintenance: no connections, checks stop |
//! | `75%` | weight as a percentage of the configured weight |
//! | `maxconn:30` | the real server's connection limit |
//! | `#` text | at the start of a word: the rest of the line describes the state |
//!
//! What a line does not mention stays as it was. When a word appears twice
//! the last one wins, and a word that is none of these is ignored (HAProxy
//! reports the first one). This module reads such lines, bounded and
//! without trusting them, and prints them in a canonical form that HAProxy
//! reads back to the same meaning.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

/// The longest answer read, line end included. Longer answers are refused.
pub const MAX_LINE: usize = 512;

/// The operating state words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// `up`
    Up,
    /// `down`
    Down,
    /// `fail`
    Fail,
    /// `stopped`
    Stopped,
}

impl Health {
    /// The word as printed.
    pub fn word(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Fail => "fail",
            Health::Stopped => "stopped",
        }
    }

    /// `true` for `down`, `fail` and `stopped`.
    pub fn is_down(self) -> bool {
        self != Health::Up
    }
}

/// The administrative state words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Admin {
    /// `ready`
    Ready,
    /// `drain`
    Drain,
    /// `maint`
    Maint,
}

impl Admin {
    /// The word as printed.
    pub fn word(self) -> &'static str {
        match self {
            Admin::Ready => "ready",
            Admin::Drain => "drain",
            Admin::Maint => "maint",
        }
    }
}

/// One agent answer: the states and values it sets. `None` leaves a value
/// as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// `up`, `down`, `fail` or `stopped`.
    pub health: Option<Health>,
    /// `ready`, `drain` or `maint`.
    pub admin: Option<Admin>,
    /// `N%`: the weight as a percentage of the configured weight.
    pub percent: Option<u32>,
    /// `maxconn:N`.
    pub maxconn: Option<u32>,
    /// The text after `#`, trimmed of ASCII white space; never empty. Bytes
    /// that are not UTF-8 are read as `?` (one per run of them), and the text
    /// is cut where the report's canonical form would not fit in
    /// [`MAX_LINE`]. Printed with CR, LF and NUL replaced by spaces.
    pub description: Option<String>,
    /// Words that were not understood (unknown words, `7x%`,
    /// `maxconn:many`, numbers too large), in order, at most
    /// [`MAX_IGNORED`]. Never printed.
    pub ignored: Vec<String>,
}

/// At most this many ignored words are kept in [`Report::ignored`].
pub const MAX_IGNORED: usize = 8;

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// No `\r` or `\n` in the answer: HAProxy ignores such an answer too.
    #[error("agent answer has no line end ({0} bytes)")]
    Incomplete(usize),
    /// The line is longer than [`MAX_LINE`].
    #[error("agent answer is longer than {MAX_LINE} bytes")]
    TooLong,
    /// A NUL byte before the line end.
    #[error("agent answer has a NUL byte at offset {0}")]
    Nul(usize),
    /// Reading from the agent failed.
    #[error("reading the agent's answer: {0}")]
    Io(String),
}

/// The line as text, each run of bytes that is not UTF-8 replaced by one `?`.
/// Not by U+FFFD as `String::from_utf8_lossy` would: that takes three bytes
/// for one, so an answer within [`MAX_LINE`] could print back longer than
/// any answer may be, and the canonical form would no longer read back.
fn text_of(line: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(line) {
        return Cow::Borrowed(text);
    }
    let mut text = String::with_capacity(line.len());
    for chunk in line.utf8_chunks() {
        text.push_str(chunk.valid());
        // A run of invalid sequences with nothing valid between them gets
        // one `?`: an empty valid part means the run goes on.
        let run_goes_on = chunk.valid().is_empty() && text.ends_with('?');
        if !chunk.invalid().is_empty() && !run_goes_on {
            text.push('?');
        }
    }
    Cow::Owned(text)
}

fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b',')
}

/// Digits only, as a `u32`; `None` for anything else or an overflow.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Report {
    /// A report of `up` and a percentage, the usual load answer.
    pub fn up(percent: u32) -> Report {
        Report {
            health: Some(Health::Up),
            percent: Some(percent),
            ..Report::default()
        }
    }

    /// Reads one answer as received: everything up to the first `\r` or
    /// `\n` (which must be there, within [`MAX_LINE`] bytes); what follows
    /// it is ignored.
    pub fn parse(bytes: &[u8]) -> Result<Report, Error> {
        let window = &bytes[..bytes.len().min(MAX_LINE)];
        let Some(end) = window.iter().position(|&b| b == b'\r' || b == b'\n') else {
            return Err(if bytes.len() >= MAX_LINE {
                Error::TooLong
            } else {
                Error::Incomplete(bytes.len())
            });
        };
        let line = &window[..end];
        if let Some(at) = line.iter().position(|&b| b == 0) {
            return Err(Error::Nul(at));
        }
        Ok(Report::parse_line(&text_of(line)))
    }

    /// Reads the words of one line (without its line end). Never fails:
    /// words it does not understand go to [`Report::ignored`].
    pub fn parse_line(line: &str) -> Report {
        let mut report = Report::default();
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if is_separator(bytes[i]) {
                i += 1;
                continue;
            }
            if bytes[i] == b'#' {
                let text = line[i + 1..].trim_matches(|c: char| c.is_ascii_whitespace());
                if !text.is_empty() {
                    report.description = Some(text.to_owned());
                }
                break;
            }
            let start = i;
            while i < bytes.len() && !is_separator(bytes[i]) {
                i += 1;
            }
            report.word(&line[start..i]);
        }
        report.fit_description();
        report
    }

    /// Cuts the description (at a character boundary, then trimmed) so that
    /// the canonical form and its line end fit in [`MAX_LINE`]: it prints
    /// `# ` before the text where the answer may have had `#` alone, so a
    /// description filling a whole answer would print one or two bytes past
    /// what may be read back.
    fn fit_description(&mut self) {
        let Some(text) = self.description.take() else {
            return;
        };
        let others = self.to_string().len();
        let before_text = if others > 0 {
            others + " # ".len()
        } else {
            "# ".len()
        };
        let mut end = text.len().min((MAX_LINE - 1).saturating_sub(before_text));
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut = text[..end].trim_end_matches(|c: char| c.is_ascii_whitespace());
        if !cut.is_empty() {
            self.description = Some(cut.to_owned());
        }
    }

    fn word(&mut self, word: &str) {
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "up" => self.health = Some(Health::Up),
            "down" => self.health = Some(Health::Down),
            "fail" => self.health = Some(Health::Fail),
            "stopped" => self.health = Some(Health::Stopped),
            "ready" => self.admin = Some(Admin::Ready),
            "drain" => self.admin = Some(Admin::Drain),
            "maint" => self.admin = Some(Admin::Maint),
            _ => {
                // HAProxy: a word starting with a digit and holding a '%' is
                // a weight; it is valid only as digits followed by one '%'.
                if lower.starts_with(|c: char| c.is_ascii_digit()) && lower.contains('%') {
                    match lower.strip_suffix('%').and_then(number) {
                        Some(p) => self.percent = Some(p),
                        None => self.ignore(word),
                    }
                } else if let Some(n) = lower.strip_prefix("maxconn:") {
                    match number(n) {
                        Some(n) => self.maxconn = Some(n),
                        None => self.ignore(word),
                    }
                } else {
                    self.ignore(word);
                }
            }
        }
    }

    fn ignore(&mut self, word: &str) {
        if self.ignored.len() < MAX_IGNORED {
            self.ignored.push(word.to_owned());
        }
    }

    /// `true` when the answer removes traffic: `down`, `fail`, `stopped`,
    /// `drain` or `maint`.
    pub fn removes_traffic(&self) -> bool {
        self.health.is_some_and(Health::is_down)
            || matches!(self.admin, Some(Admin::Drain | Admin::Maint))
    }

    /// Reads one answer from a connection: at most [`MAX_LINE`] bytes,
    /// stopping at the first line end or at end of file.
    pub fn read_from(mut reader: impl Read) -> Result<Report, Error> {
        let mut buf = [0u8; MAX_LINE];
        let mut len = 0;
        while len < buf.len() {
            let n = match reader.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Io(e.to_string())),
            };
            let had_end = buf[len..len + n].iter().any(|&b| b == b'\r' || b == b'\n');
            len += n;
            if had_end {
                break;
            }
        }
        Report::parse(&buf[..len])
    }
}

/// The canonical form, without a line end: health, administrative state,
/// percentage, `maxconn:`, then `# description`; words separated by one
/// space. An empty report prints as an empty string.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut put = |f: &mut fmt::Formatter<'_>, args: fmt::Arguments<'_>| {
            let r = write!(f, "{sep}{args}");
            sep = " ";
            r
        };
        if let Some(h) = self.health {
            put(f, format_args!("{}", h.word()))?;
        }
        if let Some(a) = self.admin {
            put(f, format_args!("{}", a.word()))?;
        }
        if let Some(p) = self.percent {
            put(f, format_args!("{p}%"))?;
        }
        if let Some(m) = self.maxconn {
            put(f, format_args!("maxconn:{m}"))?;
        }
        if let Some(d) = &self.description {
            let clean: String = d
                .chars()
                .map(|c| {
                    if matches!(c, '\r' | '\n' | '\0') {
                        ' '
                    } else {
                        c
                    }
                })
                .collect();
            let clean = clean.trim_matches(|c: char| c.is_ascii_whitespace());
            if !clean.is_empty() {
                put(f, format_args!("# {clean}"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_forms() {
        let r = Report::parse(b"75%\n").unwrap();
        assert_eq!(r.percent, Some(75));
        assert_eq!(r.health, None);
        let r = Report::parse(b"maxconn:30\r\n").unwrap();
        assert_eq!(r.maxconn, Some(30));
        let r = Report::parse(b"UP\t80%,Ready\n").unwrap();
        assert_eq!(r, {
            let mut x = Report::up(80);
            x.admin = Some(Admin::Ready);
            x
        });
        let r = Report::parse(b"down # disk full\n").unwrap();
        assert_eq!(r.health, Some(Health::Down));
        assert_eq!(r.description.as_deref(), Some("disk full"));
        assert!(r.removes_traffic());
        // '#' only starts a description at the start of a word.
        let r = Report::parse(b"down#x\n").unwrap();
        assert_eq!(r.health, None);
        assert_eq!(r.ignored, ["down#x"]);
    }

    #[test]
    fn last_word_wins_and_bad_words_are_ignored() {
        let r = Report::parse(b"10% drain 20% ready 7x% maxconn:lots 99999999999% zzz\n").unwrap();
        assert_eq!(r.percent, Some(20));
        assert_eq!(r.admin, Some(Admin::Ready));
        assert_eq!(r.ignored, ["7x%", "maxconn:lots", "99999999999%", "zzz"]);
    }

    #[test]
    fn bounded_untrusted_input() {
        assert_eq!(Report::parse(b"up 50%"), Err(Error::Incomplete(6)));
        assert_eq!(Report::parse(&[b'a'; 600]), Err(Error::TooLong));
        assert_eq!(Report::parse(b"up\0\n"), Err(Error::Nul(2)));
        let mut long = vec![b'x'; 2000];
        long.push(b'\n');
        assert_eq!(Report::read_from(&long[..]), Err(Error::TooLong));
        let r = Report::read_from(&b"drain\nup\n"[..]).unwrap();
        assert_eq!(r.admin, Some(Admin::Drain));
        assert_eq!(r.health, None);
        // Many unknown words: only the first few are kept.
        let many = "q ".repeat(200) + "\n";
        assert_eq!(
            Report::parse(many.as_bytes()).unwrap().ignored.len(),
            MAX_IGNORED
        );
        // Not UTF-8: replaced, ignored, no panic.
        let r = Report::parse(b"\xff\xfe 5%\n").unwrap();
        assert_eq!(r.percent, Some(5));
        assert_eq!(r.ignored, ["?"]);
    }

    #[test]
    fn a_description_that_is_not_utf8_prints_back_no_longer_than_it_came() {
        // 200 stray continuation bytes: as U+FFFD each they would print as
        // 600 bytes, past MAX_LINE, and the canonical form would not read back.
        let mut answer = b"up 50% # ".to_vec();
        answer.extend_from_slice(&[0x80; 200]);
        answer.extend_from_slice(b" ok \xc3\xa9\n");
        let r = Report::parse(&answer).unwrap();
        let printed = format!("{r}\n");
        assert!(printed.len() <= answer.len(), "{printed:?}");
        assert_eq!(Report::parse(printed.as_bytes()), Ok(r));
        assert_eq!(printed, "up 50% # ? ok \u{e9}\n");
        // Several runs: one `?` each, valid text between them kept.
        assert_eq!(text_of(b"a\xffb\xfe\xfdc"), "a?b?c");
        assert_eq!(text_of(b"plain"), "plain");
        assert_eq!(text_of(b""), "");
    }

    #[test]
    fn a_description_filling_the_answer_is_cut_to_print_back_whole() {
        // `#` and 510 bytes: the longest answer, which prints as `# ` and 510.
        let mut answer = vec![b'#'];
        answer.extend_from_slice(&[b'd'; MAX_LINE - 2]);
        answer.push(b'\n');
        let r = Report::parse(&answer).unwrap();
        let printed = format!("{r}\n");
        assert_eq!(printed.len(), MAX_LINE);
        assert_eq!(Report::parse(printed.as_bytes()), Ok(r));
        // With other words before it, and a cut that would split a character.
        let mut answer = b"up 7%\t#".to_vec();
        while answer.len() < MAX_LINE - 3 {
            answer.extend_from_slice("\u{e9}".as_bytes());
        }
        answer.push(b'\n');
        let r = Report::parse(&answer).unwrap();
        let printed = format!("{r}\n");
        assert!(printed.len() <= MAX_LINE, "{}", printed.len());
        assert_eq!(Report::parse(printed.as_bytes()), Ok(r.clone()));
        assert!(r.description.unwrap().chars().all(|c| c == '\u{e9}'));
    }

    #[test]
    fn prints_canonically() {
        let mut r = Report::up(75);
        r.admin = Some(Admin::Ready);
        r.maxconn = Some(30);
        r.description = Some("a\nb".into());
        assert_eq!(r.to_string(), "up ready 75% maxconn:30 # a b");
        assert_eq!(Report::default().to_string(), "");
    }
}
