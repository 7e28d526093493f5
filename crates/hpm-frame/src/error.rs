//! The crate's error types: each says where (byte offset, line and column) and
//! what was expected.

use std::fmt;

use crate::field::Label;

/// What the frame grammar expected at the place where the input did not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expected {
    /// The `S` that opens a frame.
    Start,
    /// A `:` (live form) or whitespace (annotated form) before the first field.
    Separator,
    /// A run of ASCII digits (a field's value).
    Digits,
    /// A two-letter label (`Vo`, `Am`, ... or any two ASCII letters but `S`).
    Label,
    /// A live-form value: exactly 7 characters, spaces then at least one digit.
    LiveValue,
    /// The live form's trailer: exactly two spaces and `E`.
    Trailer,
    /// The annotated form's separator, the same one throughout the frame.
    SameSeparator,
    /// CR or LF right after a frame's `E` (an `rfc3339` log).
    LineEnd,
    /// Another field, or the `E` that closes the frame.
    FieldOrEnd,
    /// Nothing more: the input should end after the frame's `E`.
    EndOfInput,
    /// The `[` that opens a `watt.txt` timestamp.
    TimestampOpen,
    /// A `YYYY-MM-DD HH:MM:SS` date and time.
    Timestamp,
    /// The `]` that closes a `watt.txt` timestamp.
    TimestampClose,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Start => "'S' (start of frame)",
            Expected::Separator => "':', a space or a line end after 'S'",
            Expected::Digits => "a run of digits",
            Expected::Label => "a two-letter label",
            Expected::LiveValue => "a value of exactly 7 characters (spaces, then digits)",
            Expected::Trailer => "'  E' (two spaces and the end of frame)",
            Expected::SameSeparator => "the separator used after 'S'",
            Expected::LineEnd => "a line end (CR or LF) right after 'E'",
            Expected::FieldOrEnd => "another field or 'E' (end of frame)",
            Expected::EndOfInput => "end of input after 'E'",
            Expected::TimestampOpen => "'[' (start of timestamp)",
            Expected::Timestamp => "a timestamp 'YYYY-MM-DD HH:MM:SS'",
            Expected::TimestampClose => "']' (end of timestamp)",
        })
    }
}

/// Shows the byte found where something else was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Found(pub Option<u8>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("end of input"),
            Some(b) if b.is_ascii_graphic() => write!(f, "'{}'", b as char),
            Some(b' ') => f.write_str("' '"),
            Some(b) => write!(f, "byte 0x{b:02x}"),
        }
    }
}

/// A frame that does not fit the grammar, or that exceeds the raw model's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The input does not fit the grammar at `offset`.
    #[error("at byte {offset}: expected {expected}, found {found}")]
    Syntax {
        /// Byte offset from the start of the frame's input.
        offset: usize,
        /// What the grammar expected there.
        expected: Expected,
        /// The byte found there (`None`: the input ended).
        found: Found,
    },
    /// A field's digit run is longer than [`Digits::MAX_LEN`](crate::field::Digits::MAX_LEN).
    #[error(
        "at byte {offset}: a run of {len} digits is longer than the {max} digits a field may hold"
    )]
    DigitsTooLong {
        /// Byte offset of the digit run.
        offset: usize,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The frame has more fields than [`Frame::MAX_FIELDS`](crate::Frame::MAX_FIELDS).
    #[error("at byte {offset}: more than {max} fields in one frame")]
    TooManyFields {
        /// Byte offset of the first field over the limit.
        offset: usize,
        /// The limit.
        max: usize,
    },
    /// A known label appears a second time (the meter sends each once).
    #[error("at byte {offset}: label {label} a second time")]
    DuplicateLabel {
        /// Byte offset of the second label.
        offset: usize,
        /// The label.
        label: Label,
    },
}

impl FrameError {
    /// Byte offset, from the start of the parsed input, where the error was found.
    pub fn offset(&self) -> usize {
        match *self {
            FrameError::Syntax { offset, .. }
            | FrameError::DigitsTooLong { offset, .. }
            | FrameError::TooManyFields { offset, .. }
            | FrameError::DuplicateLabel { offset, .. } => offset,
        }
    }
}

/// A value that cannot become part of the raw model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A label must be exactly two ASCII letters, neither an upper-case `S`.
    #[error("label {0:?}: expected exactly two ASCII letters other than 'S'")]
    Label(String),
    /// A frame holds each known label at most once.
    #[error("label {0} more than once in one frame")]
    DuplicateLabel(Label),
    /// A digit string must be 1 to [`Digits::MAX_LEN`](crate::field::Digits::MAX_LEN) ASCII digits.
    #[error("digits {0:?}: expected 1 to {max} ASCII digits", max = crate::field::Digits::MAX_LEN)]
    Digits(String),
    /// A frame holds 1 to [`Frame::MAX_FIELDS`](crate::Frame::MAX_FIELDS) fields.
    #[error("a frame holds 1 to {max} fields, not {0}", max = crate::Frame::MAX_FIELDS)]
    FieldCount(usize),
}

/// A field whose digits the decoding rule cannot turn into a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The rule has no entry for this label; the field is kept raw only.
    #[error("field {label}: the decoding rule has no entry for this label")]
    UnknownLabel {
        /// The label.
        label: Label,
    },
    /// The digits do not have the shape the rule expects.
    #[error("field {label} digits {digits:?}: {reason}")]
    Digits {
        /// The field's label.
        label: Label,
        /// The field's exact digit string.
        digits: String,
        /// What the rule expected.
        reason: &'static str,
    },
}

/// A value the encoding rule cannot show as a field's digits.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The rule has no entry for this label.
    #[error("field {label}: the encoding rule has no entry for this label")]
    UnknownLabel {
        /// The label.
        label: Label,
    },
    /// The value is out of what the scheme's digits can show.
    #[error("value {value}: {reason}")]
    Value {
        /// The value.
        value: f64,
        /// What the scheme can show.
        reason: &'static str,
    },
}

/// A damaged record of a `watt.txt` log, or a failure to read the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A frame or timestamp here does not fit the log format, or the bytes here
    /// are no record at all; the reader skipped to the next `S`.
    #[error("line {line}, column {column}: {source}")]
    Record {
        /// 1-based line number.
        line: u64,
        /// 1-based byte column where the error was found.
        column: usize,
        /// What was wrong.
        source: RecordError,
    },
    /// Reading the underlying input failed; the reader stops.
    #[error("reading the log after line {line}: {source}")]
    Io {
        /// Number of lines read completely before the failure.
        line: u64,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl LogError {
    /// The 1-based line number the error refers to.
    pub fn line(&self) -> u64 {
        match *self {
            LogError::Record { line, .. } | LogError::Io { line, .. } => line,
        }
    }
}

/// What is wrong with one record of a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The frame part does not fit the frame grammar.
    #[error("frame: {0}")]
    Frame(FrameError),
    /// The timestamp does not fit `[YYYY-MM-DD HH:MM:SS]`.
    #[error("timestamp: expected {expected}, found {found}")]
    TimestampSyntax {
        /// What was expected.
        expected: Expected,
        /// What was found.
        found: Found,
    },
    /// A frame of an `rfc3339` log with no stamp before it.
    #[error("no timestamp before the frame")]
    MissingTimestamp,
    /// The timestamp has the right shape but is not a valid date or time.
    #[error("timestamp {text:?}: {reason}")]
    TimestampValue {
        /// The timestamp text.
        text: String,
        /// Why it is not valid (from the `time` crate).
        reason: String,
    },
}
