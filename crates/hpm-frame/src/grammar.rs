//! The nom grammar of frames and `watt.txt` records.
//!
//! ```text
//! frame      = "S" ( live-body | annotated-body )
//! live-body  = 1*( ":" value label ) "  E"
//! value      = exactly 7 characters: *SP 1*DIGIT            ; SP = space
//! annotated-body = sep 1*( digits label sep ) "E"           ; one sep throughout
//! sep        = SP / CR LF / CR / LF
//! digits     = 1*7DIGIT
//! label      = 2( ALPHA except "S" )                        ; known labels once each
//! record     = frame "[" YYYY "-" MM "-" DD " " hh ":" mm ":" ss "]" [" "]
//! ```
//!
//! Every parser here is generic over `C` (complete input): with `C = false` a
//! parser that reaches the end of its input asks for more ([`nom::Err::Incomplete`]),
//! which is what the streaming decoder needs; with `C = true` the end of input is an
//! error that says what was expected there.

use nom::bytes::complete::take_while_m_n;
use nom::character::complete::char;
use nom::sequence::preceded;
use nom::{Err, IResult, Needed, Parser};
use std::ops::Range;
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::error::{Expected, Found, FrameError, RecordError};
use crate::field::{Digits, Label, is_label_letter};
use crate::frame::{Form, Frame, PushError, Separator};

/// What went wrong, and where (`input` is the rest of the input at that point).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PError<'a> {
    pub input: &'a [u8],
    pub kind: PErrorKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PErrorKind {
    Expected(Expected),
    DigitsTooLong(usize),
    TooManyFields,
    DuplicateLabel(Label),
}

impl<'a> nom::error::ParseError<&'a [u8]> for PError<'a> {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        PError {
            input,
            kind: PErrorKind::Expected(Expected::FieldOrEnd),
        }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

impl PError<'_> {
    /// The crate's error, with the offset counted from `whole`, of which
    /// `self.input` is a suffix.
    pub(crate) fn into_frame_error(self, whole: &[u8]) -> FrameError {
        let offset = whole.len() - self.input.len();
        match self.kind {
            PErrorKind::Expected(expected) => FrameError::Syntax {
                offset,
                expected,
                found: Found(self.input.first().copied()),
            },
            PErrorKind::DigitsTooLong(len) => FrameError::DigitsTooLong {
                offset,
                len,
                max: Digits::MAX_LEN,
            },
            PErrorKind::TooManyFields => FrameError::TooManyFields {
                offset,
                max: Frame::MAX_FIELDS,
            },
            PErrorKind::DuplicateLabel(label) => FrameError::DuplicateLabel { offset, label },
        }
    }
}

pub(crate) type PResult<'a, O> = IResult<&'a [u8], O, PError<'a>>;

fn expected<O>(input: &[u8], what: Expected) -> PResult<'_, O> {
    Err(Err::Error(PError {
        input,
        kind: PErrorKind::Expected(what),
    }))
}

/// At the end of the input: more is needed (streaming) or `what` was expected.
fn ended<const C: bool, O>(input: &[u8], what: Expected) -> PResult<'_, O> {
    if C {
        expected(input, what)
    } else {
        Err(Err::Incomplete(Needed::new(1)))
    }
}

/// Whitespace between fields of the annotated form (and between records).
#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// One byte `b`.
#[inline]
fn byte<const C: bool>(b: u8, what: Expected) -> impl Fn(&[u8]) -> PResult<'_, ()> {
    move |i: &[u8]| match i.first() {
        None => ended::<C, _>(i, what),
        Some(&x) if x == b => Ok((&i[1..], ())),
        Some(_) => expected(i, what),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// A live-form value: exactly [`Frame::LIVE_WIDTH`] bytes, spaces then at least
/// one digit.
#[inline(always)]
fn live_value<const C: bool>(i: &[u8]) -> PResult<'_, Digits> {
    let Some(w) = i.first_chunk::<{ Frame::LIVE_WIDTH }>() else {
        // Fewer than 7 bytes: fail at the first byte out of shape, else ask for more.
        let mut digits = false;
        for (k, &b) in i.iter().enumerate() {
            match b {
                b' ' if !digits => {}
                b'0'..=b'9' => digits = true,
                _ => return expected(&i[k..], Expected::LiveValue),
            }
        }
        return ended::<C, _>(&i[i.len()..], Expected::LiveValue);
    };
    let pad = w.iter().take_while(|&&b| b == b' ').count();
    if pad == Frame::LIVE_WIDTH {
        return expected(&i[pad - 1..], Expected::LiveValue);
    }
    if let Some(k) = (pad..Frame::LIVE_WIDTH).find(|&k| !w[k].is_ascii_digit()) {
        return expected(&i[k..], Expected::LiveValue);
    }
    Ok((&i[Frame::LIVE_WIDTH..], Digits::from_checked(&w[pad..])))
}

/// A field's digit run.
#[inline(always)]
pub(crate) fn digits<const C: bool>(i: &[u8]) -> PResult<'_, Digits> {
    // Fast path: classify eight bytes at once. A byte is a digit when its high
    // nibble is 3 and its low nibble is at most 9 (low nibble + 6 has no high bits).
    if let Some(w) = i.first_chunk::<8>() {
        let w = u64::from_le_bytes(*w);
        let high = (w & (0xf0 * ONES)) ^ (0x30 * ONES);
        let low = ((w & (0x0f * ONES)) + 0x06 * ONES) & (0xf0 * ONES);
        let not_digit = high | low;
        if not_digit != 0 {
            // The lowest non-zero byte is the first byte that is not a digit.
            let n = (not_digit.trailing_zeros() / 8) as usize;
            if n == 0 {
                return expected(i, Expected::Digits);
            }
            // n <= 7 = MAX_LEN.
            let word = w & ((1u64 << (8 * n)) - 1);
            return Ok((&i[n..], Digits::from_word(word, n)));
        }
    }
    let n = i
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(i.len());
    if n > Digits::MAX_LEN {
        return Err(Err::Failure(PError {
            input: i,
            kind: PErrorKind::DigitsTooLong(n),
        }));
    }
    if n == i.len() {
        return ended::<C, _>(&i[n..], Expected::Digits);
    }
    if n == 0 {
        return expected(i, Expected::Digits);
    }
    Ok((&i[n..], Digits::from_checked(&i[..n])))
}

/// A two-letter label.
#[inline(always)]
pub(crate) fn label<const C: bool>(i: &[u8]) -> PResult<'_, Label> {
    match *i {
        [a, b, ..] => match Label::from_bytes([a, b]) {
            Some(l) => Ok((&i[2..], l)),
            // Point at the byte that is not a letter.
            None if is_label_letter(a) => expected(&i[1..], Expected::Label),
            None => expected(i, Expected::Label),
        },
        [a] if !is_label_letter(a) => expected(i, Expected::Label),
        // One letter, then the end: say so at the end.
        [_] => ended::<C, _>(&i[1..], Expected::Label),
        [] => ended::<C, _>(i, Expected::Label),
    }
}

/// Adds a parsed field to the frame; `at` is where its label began, `sep` where
/// its separator began (for errors).
#[inline(always)]
fn push<'a>(
    frame: &mut Frame,
    label: Label,
    digits: Digits,
    at: &'a [u8],
    sep: &'a [u8],
) -> PResult<'a, ()> {
    match frame.push_parts(label, digits) {
        Ok(()) => Ok((at, ())),
        Err(PushError::Full) => Err(Err::Failure(PError {
            input: sep,
            kind: PErrorKind::TooManyFields,
        })),
        Err(PushError::Duplicate) => Err(Err::Failure(PError {
            input: at,
            kind: PErrorKind::DuplicateLabel(label),
        })),
    }
}

/// After `S:` : `  21693Vo:  42412Am ... 01Eu  E`, in exactly that shape.
fn live_body<'a, const C: bool>(mut i: &'a [u8], frame: &mut Frame) -> PResult<'a, ()> {
    loop {
        // Here `i` is just after a ':'.
        let (at, digits) = live_value::<C>(i)?;
        let (rest, label) = label::<C>(at)?;
        push(frame, label, digits, at, i)?;
        match rest {
            [b':', ..] => i = &rest[1..],
            [b' ', b' ', b'E', ..] => return Ok((&rest[3..], ())),
            [] => return ended::<C, _>(rest, Expected::FieldOrEnd),
            [b' '] | [b' ', b' '] => return ended::<C, _>(&rest[rest.len()..], Expected::Trailer),
            [b' ', b' ', ..] => return expected(&rest[2..], Expected::Trailer),
            [b' ', ..] => return expected(&rest[1..], Expected::Trailer),
            _ => return expected(rest, Expected::FieldOrEnd),
        }
    }
}

/// The annotated form's separator at the start of `i` (just after `S`).
#[inline]
fn separator<const C: bool>(i: &[u8]) -> PResult<'_, Separator> {
    match i {
        [b' ', ..] => Ok((&i[1..], Separator::Space)),
        [b'\n', ..] => Ok((&i[1..], Separator::Lf)),
        [b'\r', b'\n', ..] => Ok((&i[2..], Separator::CrLf)),
        [b'\r', _, ..] => Ok((&i[1..], Separator::Cr)),
        [b'\r'] if C => Ok((&i[1..], Separator::Cr)),
        [b'\r'] | [] => ended::<C, _>(&i[i.len()..], Expected::Separator),
        _ => expected(i, Expected::Separator),
    }
}

/// After `S` and its separator: `22003Vo 10003Am ... E`, each field followed by
/// the same separator.
fn annotated_body<'a, const C: bool>(
    mut i: &'a [u8],
    sep: Separator,
    frame: &mut Frame,
) -> PResult<'a, ()> {
    let sep_bytes = sep.as_bytes();
    loop {
        // Here `i` is just after a separator.
        let (at, digits) = digits::<C>(i)?;
        let (rest, label) = label::<C>(at)?;
        push(frame, label, digits, at, i)?;
        // The separator, byte by byte (a stream may end inside it).
        let n = sep_bytes.len();
        let have = rest.len().min(n);
        if rest[..have] != sep_bytes[..have] {
            let k = (0..have).find(|&k| rest[k] != sep_bytes[k]).unwrap_or(0);
            return expected(&rest[k..], Expected::SameSeparator);
        }
        if have < n {
            return ended::<C, _>(&rest[have..], Expected::SameSeparator);
        }
        let rest = &rest[n..];
        match rest.first() {
            Some(b'E') => return Ok((&rest[1..], ())),
            Some(b) if b.is_ascii_digit() => i = rest,
            Some(_) => return expected(rest, Expected::FieldOrEnd),
            None => return ended::<C, _>(rest, Expected::FieldOrEnd),
        }
    }
}

/// A whole frame, from `S` to `E`, in either form, into `frame` (which is
/// cleared first; on error it holds the fields parsed so far).
#[inline]
pub(crate) fn frame_into<'a, const C: bool>(i: &'a [u8], frame: &mut Frame) -> PResult<'a, ()> {
    frame.clear();
    let (i, ()) = byte::<C>(b'S', Expected::Start)(i)?;
    match i.first() {
        Some(b':') => live_body::<C>(&i[1..], frame),
        Some(_) | None => {
            let (i, sep) = separator::<C>(i)?;
            frame.set_form(Form::Annotated(sep));
            annotated_body::<C>(i, sep, frame)
        }
    }
}

/// A whole frame, from `S` to `E`, in either form.
pub(crate) fn frame<const C: bool>(i: &[u8]) -> PResult<'_, Frame> {
    let mut f = Frame::empty();
    let (rest, ()) = frame_into::<C>(i, &mut f)?;
    Ok((rest, f))
}

/// Exactly one frame and nothing else.
pub(crate) fn parse_frame(input: &[u8]) -> Result<Frame, FrameError> {
    match frame::<true>(input) {
        Ok(([], f)) => Ok(f),
        Ok((rest, _)) => Err(PError {
            input: rest,
            kind: PErrorKind::Expected(Expected::EndOfInput),
        }
        .into_frame_error(input)),
        Err(Err::Error(e) | Err::Failure(e)) => Err(e.into_frame_error(input)),
        // Complete parsers never ask for more.
        Err(Err::Incomplete(_)) => Err(FrameError::Syntax {
            offset: input.len(),
            expected: Expected::FieldOrEnd,
            found: Found(None),
        }),
    }
}

/// Runs `p`, naming `what` as expected if it fails.
fn expect<'a, P>(what: Expected, mut p: P) -> impl FnMut(&'a [u8]) -> PResult<'a, P::Output>
where
    P: Parser<&'a [u8], Error = PError<'a>>,
{
    move |i| {
        p.parse(i).map_err(|e| {
            e.map(|e| PError {
                input: e.input,
                kind: PErrorKind::Expected(what),
            })
        })
    }
}

/// Exactly `n` ASCII digits, as a number.
fn number<'a>(n: usize) -> impl Parser<&'a [u8], Output = u32, Error = PError<'a>> {
    take_while_m_n(n, n, |b: u8| b.is_ascii_digit()).map(|d: &[u8]| {
        d.iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DD HH:MM:SS` as its six numbers.
#[inline]
fn date_time(i: &[u8]) -> PResult<'_, [u32; 6]> {
    // Fast path for the usual well-formed timestamp; anything else goes through
    // the combinators below, which accept the same and say where it breaks.
    match i.first_chunk::<19>().and_then(fixed_date_time) {
        Some(p) => Ok((&i[19..], p)),
        None => date_time_parts(i),
    }
}

/// The fixed layout `YYYY-MM-DD HH:MM:SS`, checked in one go.
#[inline]
fn fixed_date_time(b: &[u8; 19]) -> Option<[u32; 6]> {
    const SEPARATORS: [(usize, u8); 5] = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if SEPARATORS.iter().any(|&(k, c)| b[k] != c) {
        return None;
    }
    let num = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    Some([
        num(0, 4)?,
        num(5, 7)?,
        num(8, 10)?,
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    ])
}

/// `YYYY-MM-DD HH:MM:SS` part by part.
fn date_time_parts(i: &[u8]) -> PResult<'_, [u32; 6]> {
    expect(
        Expected::Timestamp,
        (
            number(4),
            preceded(char('-'), number(2)),
            preceded(char('-'), number(2)),
            preceded(char(' '), number(2)),
            preceded(char(':'), number(2)),
            preceded(char(':'), number(2)),
        )
            .map(|(y, mo, d, h, mi, s)| [y, mo, d, h, mi, s]),
    )(i)
}

fn to_datetime(p: [u32; 6]) -> Result<PrimitiveDateTime, time::error::ComponentRange> {
    let [y, mo, d, h, mi, s] = p;
    // Every part has at most 4 digits, so the casts cannot truncate.
    let month = Month::try_from(mo as u8)?;
    let date = Date::from_calendar_date(y as i32, month, d as u8)?;
    let time = Time::from_hms(h as u8, mi as u8, s as u8)?;
    Ok(PrimitiveDateTime::new(date, time))
}

/// Whether `s` is exactly a valid `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn is_date_time(s: &[u8]) -> bool {
    matches!(date_time(s), Ok((rest, p)) if rest.is_empty() && to_datetime(p).is_ok())
}

/// One `watt.txt` record at the start of `line` (leading whitespace skipped):
/// a frame, optional whitespace, `[YYYY-MM-DD HH:MM:SS]` and an optional space.
///
/// The frame goes into `frame`. Returns the rest of the line after the record,
/// the timestamp and where the frame's bytes are in `line` (from `S` to `E`),
/// or the error with its byte offset in `line`.
pub(crate) fn record<'a>(
    line: &'a [u8],
    frame: &mut Frame,
) -> Result<Record<'a>, (usize, RecordError)> {
    let at = |rest: &[u8]| line.len() - rest.len();
    let start = line.iter().position(|&b| !is_ws(b)).unwrap_or(line.len());
    let rest = match frame_into::<true>(&line[start..], frame) {
        Ok((rest, ())) => rest,
        Err(Err::Error(e) | Err::Failure(e)) => {
            let offset = at(e.input);
            return Err((
                offset,
                RecordError::Frame(e.into_frame_error(&line[start..])),
            ));
        }
        Err(Err::Incomplete(_)) => {
            return Err((
                line.len(),
                RecordError::Frame(FrameError::Syntax {
                    offset: line.len() - start,
                    expected: Expected::FieldOrEnd,
                    found: Found(None),
                }),
            ));
        }
    };
    let span = start..at(rest);
    let syntax = |e: Err<PError<'_>>| match e {
        Err::Error(e) | Err::Failure(e) => (
            at(e.input),
            RecordError::TimestampSyntax {
                expected: match e.kind {
                    PErrorKind::Expected(x) => x,
                    _ => Expected::Timestamp,
                },
                found: Found(e.input.first().copied()),
            },
        ),
        Err::Incomplete(_) => (
            line.len(),
            RecordError::TimestampSyntax {
                expected: Expected::Timestamp,
                found: Found(None),
            },
        ),
    };
    // The timestamp right after `E`: the logger wrote it in place of the CR
    // that ends every frame.
    let (rest, ()) = byte::<true>(b'[', Expected::TimestampOpen)(rest).map_err(syntax)?;
    let ts_start = rest;
    let (rest, parts) = date_time(rest).map_err(syntax)?;
    let (rest, ()) = byte::<true>(b']', Expected::TimestampClose)(rest).map_err(syntax)?;
    let time = to_datetime(parts).map_err(|e| {
        (
            at(ts_start),
            RecordError::TimestampValue {
                text: String::from_utf8_lossy(&ts_start[..19]).into_owned(),
                reason: e.to_string(),
            },
        )
    })?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    Ok(Record {
        rest,
        time,
        frame: span,
    })
}

/// What [`record`] read.
pub(crate) struct Record<'a> {
    /// The line after the record.
    pub rest: &'a [u8],
    /// The timestamp.
    pub time: PrimitiveDateTime,
    /// Where the frame's bytes are in the line, from `S` to `E`.
    pub frame: Range<usize>,
}

/// A `watt.txt` timestamp `[YYYY-MM-DD HH:MM:SS]` (and the space after it, if
/// any) at the start of `i`: its length.
pub(crate) fn watt_stamp_len(i: &[u8]) -> Option<usize> {
    let body = i.strip_prefix(b"[")?;
    let (rest, parts) = date_time(body).ok()?;
    let rest = rest.strip_prefix(b"]")?;
    to_datetime(parts).ok()?;
    let n = i.len() - rest.len();
    Some(if rest.first() == Some(&b' ') {
        n + 1
    } else {
        n
    })
}

/// An RFC 3339 stamp as `com --log-format rfc3339` writes it at a line start:
/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)` and one space. Returns its
/// length (with the space), the local date and time, and the offset.
pub(crate) fn rfc3339_stamp(i: &[u8]) -> Option<(usize, PrimitiveDateTime, time::UtcOffset)> {
    let head = i.first_chunk::<19>()?;
    let mut fixed = *head;
    if fixed[10] != b'T' {
        return None;
    }
    fixed[10] = b' ';
    let parts = fixed_date_time(&fixed)?;
    let mut t = to_datetime(parts).ok()?;
    let mut k = 19;
    if i.get(k) == Some(&b'.') {
        let digits = i[k + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let mut nanos = 0u32;
        for (n, &d) in i[k + 1..k + 1 + digits].iter().enumerate() {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - n as u32);
        }
        t = t.replace_nanosecond(nanos).ok()?;
        k += 1 + digits;
    }
    let offset = match i.get(k)? {
        b'Z' => {
            k += 1;
            time::UtcOffset::UTC
        }
        &sign @ (b'+' | b'-') => {
            let o = i.get(k + 1..k + 6)?;
            if o[2] != b':' || !o[..2].iter().chain(&o[3..]).all(u8::is_ascii_digit) {
                return None;
            }
            let h = ((o[0] - b'0') * 10 + (o[1] - b'0')) as i8;
            let m = ((o[3] - b'0') * 10 + (o[4] - b'0')) as i8;
            let (h, m) = if sign == b'-' { (-h, -m) } else { (h, m) };
            k += 6;
            time::UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => return None,
    };
    if i.get(k) != Some(&b' ') {
        return None;
    }
    Some((k + 1, t, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &[u8] =
        b"S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E";

    #[test]
    fn streaming_asks_for_more_on_every_proper_prefix() {
        for n in 0..LIVE.len() {
            assert!(
                matches!(frame::<false>(&LIVE[..n]), Err(Err::Incomplete(_))),
                "prefix of {n} bytes"
            );
        }
        let (rest, f) = frame::<false>(LIVE).unwrap();
        assert!(rest.is_empty());
        assert_eq!(f.fields().len(), 8);
    }

    #[test]
    fn complete_mode_names_what_was_expected_at_the_end() {
        let err = parse_frame(&LIVE[..LIVE.len() - 3]).unwrap_err();
        assert_eq!(
            err,
            FrameError::Syntax {
                offset: LIVE.len() - 3,
                expected: Expected::FieldOrEnd,
                found: Found(None)
            }
        );
        let err = parse_frame(&LIVE[..LIVE.len() - 1]).unwrap_err();
        assert_eq!(
            err,
            FrameError::Syntax {
                offset: LIVE.len() - 1,
                expected: Expected::Trailer,
                found: Found(None)
            }
        );
        let err = parse_frame(b"S:  216").unwrap_err();
        assert!(matches!(
            err,
            FrameError::Syntax {
                offset: 7,
                expected: Expected::LiveValue,
                ..
            }
        ));
    }

    proptest::proptest! {
        #[test]
        fn timestamp_fast_path_agrees_with_the_combinators(
            s in proptest::collection::vec(proptest::sample::select(b"0123456789-: ]x".to_vec()), 0..24),
            shape in 0u8..3,
            k in 0usize..20,
            c in proptest::sample::select(b"0123456789-: ]x".to_vec()),
        ) {
            let mut valid = b"2011-01-05 07:57:32]".to_vec();
            let s = match shape {
                0 => valid,
                1 => {
                    // One byte changed.
                    valid[k] = c;
                    valid
                }
                _ => s,
            };
            let fast = date_time(&s).map_err(|e| format!("{e:?}"));
            let slow = date_time_parts(&s).map_err(|e| format!("{e:?}"));
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn annotated_needs_whitespace_between_fields() {
        assert!(parse_frame(b"S 22003Vo 10003Am E").is_ok());
        let err = parse_frame(b"S 22003Vo10003Am E").unwrap_err();
        assert_eq!(err.offset(), 9);
    }
}
