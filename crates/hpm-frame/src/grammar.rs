//! The nom grammar of frames and `watt.txt` records.
//!
//! ```text
//! frame      = "S" ( live-body | annotated-body )
//! live-body  = 1*( ":" *SP digits label ) *SP "E"          ; SP = space or tab
//! annotated-body = 1*( 1*WS digits label ) *WS "E"          ; WS = SP, CR or LF
//! digits     = 1*7DIGIT
//! label      = 2ALPHA
//! record     = frame *WS "[" YYYY "-" MM "-" DD " " hh ":" mm ":" ss "]" [" "]
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
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::error::{Expected, Found, FrameError, RecordError};
use crate::field::{Digits, Label};
use crate::frame::Frame;

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

#[inline]
fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
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

/// Zero or more bytes matching `pred`. In streaming mode the run must be followed
/// by some other byte before it counts as complete.
#[inline]
fn skip0<const C: bool>(
    pred: fn(u8) -> bool,
    what: Expected,
) -> impl Fn(&[u8]) -> PResult<'_, usize> {
    move |i: &[u8]| {
        let n = i.iter().position(|&b| !pred(b)).unwrap_or(i.len());
        if n == i.len() {
            return ended::<C, _>(&i[n..], what);
        }
        Ok((&i[n..], n))
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Zero or more spaces or tabs (the live form's padding).
#[inline(always)]
fn spaces<const C: bool>(what: Expected) -> impl Fn(&[u8]) -> PResult<'_, usize> {
    move |i: &[u8]| {
        // Fast path: count the leading spaces of eight bytes at once; a tab after
        // them is left to the plain loop.
        if let Some(w) = i.first_chunk::<8>() {
            let not_space = u64::from_le_bytes(*w) ^ (0x20 * ONES);
            if not_space != 0 {
                let n = (not_space.trailing_zeros() / 8) as usize;
                if i[n] != b'\t' {
                    return Ok((&i[n..], n));
                }
            }
        }
        skip0::<C>(is_space, what)(i)
    }
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
            None if a.is_ascii_alphabetic() => expected(&i[1..], Expected::Label),
            None => expected(i, Expected::Label),
        },
        [a] if !a.is_ascii_alphabetic() => expected(i, Expected::Label),
        // One letter, then the end: say so at the end.
        [_] => ended::<C, _>(&i[1..], Expected::Label),
        [] => ended::<C, _>(i, Expected::Label),
    }
}

/// Parses a field (digits then label) straight into the frame, failing once the
/// frame is full. `at` is where the field's separator began, for errors.
#[inline(always)]
fn push_field<'a, const C: bool>(frame: &mut Frame, at: &'a [u8], i: &'a [u8]) -> PResult<'a, ()> {
    let (i, digits) = digits::<C>(i)?;
    let (i, label) = label::<C>(i)?;
    match frame.push_parts(label, digits) {
        Ok(()) => Ok((i, ())),
        Err(()) => Err(Err::Failure(PError {
            input: at,
            kind: PErrorKind::TooManyFields,
        })),
    }
}

/// After `S:` : `  21693Vo:  42412Am ... 01Eu  E`.
fn live_body<'a, const C: bool>(mut i: &'a [u8], frame: &mut Frame) -> PResult<'a, ()> {
    loop {
        // Here `i` is just after a ':'.
        let (rest, _) = spaces::<C>(Expected::Digits)(i)?;
        let (rest, ()) = push_field::<C>(frame, i, rest)?;
        match rest.first() {
            Some(b':') => i = &rest[1..],
            _ => {
                let (rest, _) = spaces::<C>(Expected::FieldOrEnd)(rest)?;
                return byte::<C>(b'E', Expected::FieldOrEnd)(rest);
            }
        }
    }
}

/// After `S` and whitespace: `22003Vo 10003Am ... E`, fields on one line or several.
fn annotated_body<'a, const C: bool>(mut i: &'a [u8], frame: &mut Frame) -> PResult<'a, ()> {
    loop {
        // Here `i` is just after whitespace.
        let (rest, ()) = push_field::<C>(frame, i, i)?;
        let (rest, n) = skip0::<C>(is_ws, Expected::FieldOrEnd)(rest)?;
        match rest.first() {
            Some(b'E') => return Ok((&rest[1..], ())),
            Some(b) if n > 0 && b.is_ascii_digit() => i = rest,
            _ => return expected(rest, Expected::FieldOrEnd),
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
        Some(&b) if is_ws(b) => {
            let (i, _) = skip0::<C>(is_ws, Expected::Digits)(i)?;
            annotated_body::<C>(i, frame)
        }
        Some(_) => expected(i, Expected::Separator),
        None => ended::<C, _>(i, Expected::Separator),
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
/// The frame goes into `frame`. Returns the rest of the line after the record
/// and the timestamp, or the error with its byte offset in `line`.
pub(crate) fn record<'a>(
    line: &'a [u8],
    frame: &mut Frame,
) -> Result<(&'a [u8], PrimitiveDateTime), (usize, RecordError)> {
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
    let (rest, _) = skip0::<true>(is_ws, Expected::TimestampOpen)(rest).map_err(syntax)?;
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
    Ok((rest, time))
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
        let err = parse_frame(b"S:  216").unwrap_err();
        assert!(matches!(
            err,
            FrameError::Syntax {
                offset: 7,
                expected: Expected::Digits,
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
