//! The lossless raw model of one frame.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::error::{FieldError, FrameError};
use crate::field::{Digits, Field, Label};
use crate::grammar;

/// One frame as the meter sent it: its fields in order, each with its label and
/// exact digit string, and the form it came in.
///
/// The frame lives inline (no heap allocation), holding 1 to [`Frame::MAX_FIELDS`]
/// fields, each known label at most once. Its [`Display`](fmt::Display) writes
/// the canonical live form (`S:  21693Vo:  42412Am ...  E`), and parsing that text
/// gives the same frame back. The grammar accepts only the exact shapes the meter
/// sends, so [`Frame::raw`] gives back exactly the bytes received from `S` to
/// `E`. Two frames are equal when their fields are (the form is not compared).
#[derive(Clone)]
pub struct Frame {
    len: u8,
    form: Form,
    /// Bit `k` set: `Label::KNOWN[k]` is in the frame.
    known: u8,
    /// `at[k]`: where `Label::KNOWN[k]` is in `fields`, when bit `k` of `known`
    /// is set (so that [`Frame::get`] of a known label is one look-up).
    at: [u8; 8],
    fields: [Field; Frame::MAX_FIELDS],
}

/// The form a frame was received in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Form {
    /// `S:  21693Vo:  42412Am  E`: each field `:`, its value right-aligned in
    /// exactly 7 characters and its label; then two spaces and `E`.
    #[default]
    Live,
    /// `S 22003Vo 10003Am E`, or one field per line: fields without padding,
    /// separated by one separator, the same one throughout.
    Annotated(Separator),
}

/// The separator of the annotated form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Separator {
    /// One space.
    Space,
    /// CR alone.
    Cr,
    /// LF alone.
    Lf,
    /// CR LF.
    CrLf,
}

impl Separator {
    /// The separator's bytes.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Separator::Space => b" ",
            Separator::Cr => b"\r",
            Separator::Lf => b"\n",
            Separator::CrLf => b"\r\n",
        }
    }
}

/// Why a field could not be added to a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The frame already holds [`Frame::MAX_FIELDS`] fields.
    Full,
    /// The frame already holds this known label.
    Duplicate,
}

const FILLER: Field = Field {
    label: Label::Vo,
    digits: Digits::PLACEHOLDER,
};

impl Frame {
    /// The most fields one frame may hold. The meter sends 8; room is left for a
    /// firmware variant with a few more.
    pub const MAX_FIELDS: usize = 16;

    /// The width (with leading spaces) of a value in the canonical live form.
    pub const LIVE_WIDTH: usize = 7;

    pub(crate) const fn empty() -> Frame {
        Frame {
            len: 0,
            form: Form::Live,
            known: 0,
            at: [0; 8],
            fields: [FILLER; Frame::MAX_FIELDS],
        }
    }

    /// A frame of the given fields, in order (1 to [`Frame::MAX_FIELDS`] of them,
    /// each known label at most once), in the live form.
    pub fn new(fields: impl IntoIterator<Item = Field>) -> Result<Frame, FieldError> {
        let mut frame = Frame::empty();
        let mut count = 0usize;
        let mut duplicate = None;
        for f in fields {
            count += 1;
            // Keep counting past the limit so the error can say how many.
            if let Err(PushError::Duplicate) = frame.push_parts(f.label, f.digits) {
                duplicate.get_or_insert(f.label);
            }
        }
        if count == 0 || count > Frame::MAX_FIELDS {
            return Err(FieldError::FieldCount(count));
        }
        if let Some(label) = duplicate {
            return Err(FieldError::DuplicateLabel(label));
        }
        Ok(frame)
    }

    /// The same fields in another form (what [`Frame::raw`] writes).
    pub fn with_form(mut self, form: Form) -> Frame {
        self.form = form;
        self
    }

    /// The form the frame was received in ([`Form::Live`] for a frame made with
    /// [`Frame::new`]).
    pub fn form(&self) -> Form {
        self.form
    }

    #[inline]
    pub(crate) fn set_form(&mut self, form: Form) {
        self.form = form;
    }

    /// Parses exactly one frame, in the live or the annotated form, with nothing
    /// before or after it.
    ///
    /// ```
    /// let f = hpm_frame::Frame::parse(b"S 22003Vo 10003Am 22002Wa 10001Pf 60001Hz E")?;
    /// assert_eq!(f.to_string(), "S:  22003Vo:  10003Am:  22002Wa:  10001Pf:  60001Hz  E");
    /// # Ok::<(), hpm_frame::FrameError>(())
    /// ```
    pub fn parse(input: &[u8]) -> Result<Frame, FrameError> {
        grammar::parse_frame(input)
    }

    #[inline]
    pub(crate) fn clear(&mut self) {
        self.len = 0;
        self.known = 0;
        self.form = Form::Live;
    }

    /// Appends a field given as its parts, written straight into its slot.
    #[inline(always)]
    pub(crate) fn push_parts(&mut self, label: Label, digits: Digits) -> Result<(), PushError> {
        let at = self.len;
        if let Some(k) = label.known_index() {
            let bit = 1u8 << k;
            if self.known & bit != 0 {
                return Err(PushError::Duplicate);
            }
            self.known |= bit;
            self.at[k as usize] = at;
        }
        let slot = self
            .fields
            .get_mut(usize::from(at))
            .ok_or(PushError::Full)?;
        slot.label = label;
        slot.digits = digits;
        self.len += 1;
        Ok(())
    }

    /// The fields in the order received.
    #[inline]
    pub fn fields(&self) -> &[Field] {
        &self.fields[..usize::from(self.len)]
    }

    /// The first field with this label.
    #[inline]
    pub fn get(&self, label: Label) -> Option<&Field> {
        match label.known_index() {
            Some(k) if self.known & (1 << k) != 0 => {
                self.fields().get(usize::from(self.at[k as usize]))
            }
            Some(_) => None,
            None => self.fields().iter().find(|f| f.label == label),
        }
    }

    /// The digits of the field with the known label `Label::KNOWN[k]`, if the
    /// frame has it: [`Frame::get`] for a label known by its index.
    #[inline(always)]
    pub(crate) fn known_digits(&self, k: usize) -> Option<Digits> {
        if k < 8 && self.known & (1 << k) != 0 {
            self.fields().get(usize::from(self.at[k])).map(|f| f.digits)
        } else {
            None
        }
    }

    /// Writes the canonical live form (the same bytes as [`Display`](fmt::Display))
    /// to the end of `out`.
    pub fn write_live(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; Frame::LIVE_MAX_LEN];
        let n = self.put_live(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }

    /// The longest canonical live form: `S`, 10 bytes per field, `  E`.
    pub(crate) const LIVE_MAX_LEN: usize = 4 + 10 * Frame::MAX_FIELDS;

    /// Writes the canonical live form at the start of `dst` (at least
    /// [`Frame::LIVE_MAX_LEN`] bytes long) and returns its length. Each field is
    /// exactly 10 bytes (`:`, 7 characters, the label), made in registers: a
    /// frame is a few fixed-size stores, no call per piece.
    #[inline]
    pub(crate) fn put_live(&self, dst: &mut [u8]) -> usize {
        dst[0] = b'S';
        let mut at = 1;
        for f in self.fields() {
            // `:` and the 7 characters as one word, then the label.
            let word = u64::from(b':') | (f.digits.live_word() << 8);
            dst[at..at + 8].copy_from_slice(&word.to_le_bytes());
            dst[at + 8..at + 10].copy_from_slice(&f.label.bytes());
            at += 10;
        }
        dst[at..at + 3].copy_from_slice(b"  E");
        at + 3
    }

    /// The exact bytes received, from `S` to `E`: the live form, or the annotated
    /// form with its separator. (The grammar accepts no other shape, so the
    /// fields and the form say exactly what arrived.)
    pub fn write_raw(&self, out: &mut Vec<u8>) {
        match self.form {
            Form::Live => self.write_live(out),
            Form::Annotated(sep) => {
                let sep = sep.as_bytes();
                out.push(b'S');
                for f in self.fields() {
                    out.extend_from_slice(sep);
                    out.extend_from_slice(f.digits.as_bytes());
                    out.extend_from_slice(f.label.as_str().as_bytes());
                }
                out.extend_from_slice(sep);
                out.push(b'E');
            }
        }
    }

    /// [`Frame::write_raw`] as text (the frame is ASCII).
    pub fn raw(&self) -> String {
        let mut v = Vec::with_capacity(96);
        self.write_raw(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    /// The annotated form: `S`, then each field on its own line, then `E`, lines
    /// separated by `sep` (e.g. `" "` or `"\r\n"`, which must be whitespace).
    pub fn to_annotated(&self, sep: &str) -> String {
        let mut s = String::from("S");
        for f in self.fields() {
            s.push_str(sep);
            s.push_str(f.digits.as_str());
            s.push_str(f.label.as_str());
        }
        s.push_str(sep);
        s.push('E');
        s
    }
}

impl fmt::Display for Frame {
    /// The canonical live form: `S`, then per field `:`, the digits right-aligned in
    /// 7 characters and the label, then two spaces and `E`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("S")?;
        for field in self.fields() {
            write!(
                f,
                ":{:>w$}{}",
                field.digits,
                field.label,
                w = Frame::LIVE_WIDTH
            )?;
        }
        f.write_str("  E")
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Frame").field(&self.to_string()).finish()
    }
}

impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for Frame {}

impl Hash for Frame {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.fields().hash(state);
    }
}

impl std::str::FromStr for Frame {
    type Err = FrameError;

    fn from_str(s: &str) -> Result<Frame, FrameError> {
        Frame::parse(s.as_bytes())
    }
}

impl<'a> IntoIterator for &'a Frame {
    type Item = &'a Field;
    type IntoIter = std::slice::Iter<'a, Field>;

    fn into_iter(self) -> Self::IntoIter {
        self.fields().iter()
    }
}
