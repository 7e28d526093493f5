//! One field of a frame: a two-letter label and the exact digit string before it.

use std::fmt;

use crate::error::FieldError;

/// A field's two-letter label.
///
/// The eight labels seen from the meter have their own variants; any other two
/// ASCII letters are kept as [`Label::Other`] so that a firmware variant never
/// breaks a log. A known label is never represented as `Other`. No label holds
/// an upper-case `S`: inside a frame an `S` always starts the next frame (the
/// one before it was cut off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// `Vo`: voltage.
    Vo,
    /// `Am`: current.
    Am,
    /// `Wa`: active power.
    Wa,
    /// `Wh`: energy.
    Wh,
    /// `Pf`: power factor.
    Pf,
    /// `Hz`: line frequency.
    Hz,
    /// `Kg`: meaning unknown (perhaps kilograms of CO2); 0 in every sample.
    Kg,
    /// `Eu`: meaning unknown (perhaps cost); 0 in every sample.
    Eu,
    /// Any other two ASCII letters except `S`, kept as received.
    Other(OtherLabel),
}

/// Two ASCII letters that are not one of the known labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtherLabel([u8; 2]);

impl OtherLabel {
    /// The two letters.
    pub fn as_bytes(&self) -> &[u8; 2] {
        &self.0
    }

    /// The two letters as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters (checked in `Label::from_bytes`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// The known labels at their hash slot (see `Label::from_bytes`). Empty slots
/// hold `[0, 0]`, which is not two letters: `from_bytes` looks here only for two
/// letters, so it never matches.
const KNOWN_BY_HASH: [([u8; 2], Label); 16] = {
    let mut t = [([0u8; 2], Label::Vo); 16];
    let known: [(&[u8; 2], Label); 8] = [
        (b"Vo", Label::Vo),
        (b"Am", Label::Am),
        (b"Wa", Label::Wa),
        (b"Wh", Label::Wh),
        (b"Pf", Label::Pf),
        (b"Hz", Label::Hz),
        (b"Kg", Label::Kg),
        (b"Eu", Label::Eu),
    ];
    let mut k = 0;
    while k < known.len() {
        let (key, label) = known[k];
        let word = (key[0] as u32) | ((key[1] as u32) << 8);
        t[((word * 7) >> 5) as usize & 15] = (*key, label);
        k += 1;
    }
    t
};

impl Label {
    /// The eight labels seen from the meter, in the order it sends them.
    pub const KNOWN: [Label; 8] = [
        Label::Vo,
        Label::Am,
        Label::Wa,
        Label::Wh,
        Label::Pf,
        Label::Hz,
        Label::Kg,
        Label::Eu,
    ];

    /// The label for two ASCII letters other than `S`, or `None` for anything
    /// else.
    #[inline(always)]
    pub fn from_bytes(b: [u8; 2]) -> Option<Label> {
        // A perfect hash of the eight known labels into 16 slots, then one compare:
        // cheaper than a chain of compares on the decoder's hot path.
        if !(is_label_letter(b[0]) && is_label_letter(b[1])) {
            return None;
        }
        let word = u32::from(u16::from_le_bytes(b));
        let (key, label) = KNOWN_BY_HASH[((word * 7) >> 5) as usize & 15];
        Some(if key == b {
            label
        } else {
            Label::Other(OtherLabel(b))
        })
    }

    /// The two letters as sent by the meter.
    pub fn as_str(&self) -> &str {
        match self {
            Label::Vo => "Vo",
            Label::Am => "Am",
            Label::Wa => "Wa",
            Label::Wh => "Wh",
            Label::Pf => "Pf",
            Label::Hz => "Hz",
            Label::Kg => "Kg",
            Label::Eu => "Eu",
            Label::Other(o) => o.as_str(),
        }
    }

    /// The two letters as bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> [u8; 2] {
        match self {
            Label::Vo => *b"Vo",
            Label::Am => *b"Am",
            Label::Wa => *b"Wa",
            Label::Wh => *b"Wh",
            Label::Pf => *b"Pf",
            Label::Hz => *b"Hz",
            Label::Kg => *b"Kg",
            Label::Eu => *b"Eu",
            Label::Other(o) => o.0,
        }
    }

    /// Whether this is one of the eight labels seen from the meter.
    pub fn is_known(&self) -> bool {
        !matches!(self, Label::Other(_))
    }

    /// The label's place in [`Label::KNOWN`], for a known label.
    #[inline]
    pub(crate) fn known_index(&self) -> Option<u32> {
        Some(match self {
            Label::Vo => 0,
            Label::Am => 1,
            Label::Wa => 2,
            Label::Wh => 3,
            Label::Pf => 4,
            Label::Hz => 5,
            Label::Kg => 6,
            Label::Eu => 7,
            Label::Other(_) => return None,
        })
    }
}

/// A letter that may be part of a label: any ASCII letter but `S`, which starts
/// frames.
#[inline(always)]
pub(crate) fn is_label_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() && b != b'S'
}

impl std::str::FromStr for Label {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Label, FieldError> {
        match s.as_bytes() {
            &[a, b] => Label::from_bytes([a, b]),
            _ => None,
        }
        .ok_or_else(|| FieldError::Label(s.to_owned()))
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field's exact digit string: 1 to [`Digits::MAX_LEN`] ASCII digits, leading
/// zeros kept (`"01"` and `"1"` are different digit strings).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digits {
    /// `[len, digits..., 0...]`: eight bytes, so a digit string moves as one word.
    bytes: [u8; 8],
}

impl Digits {
    /// The longest digit string a field may hold: the width of a value in the live
    /// form. The meter sends at most 5; a longer run is a damaged frame, not a value.
    pub const MAX_LEN: usize = 7;

    /// All zero bytes (no digits): only for a frame's unused slots, which are
    /// never shown, so that a new frame is cheap to make.
    pub(crate) const PLACEHOLDER: Digits = Digits { bytes: [0; 8] };

    /// The digit string in `s`, which must be 1 to [`Digits::MAX_LEN`] ASCII digits.
    pub fn new(s: &[u8]) -> Result<Digits, FieldError> {
        if s.is_empty() || s.len() > Digits::MAX_LEN || !s.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::Digits(String::from_utf8_lossy(s).into_owned()));
        }
        Ok(Digits::from_checked(s))
    }

    /// `s` is known to be 1..=MAX_LEN ASCII digits.
    #[inline]
    pub(crate) fn from_checked(s: &[u8]) -> Digits {
        let mut word = 0u64;
        for (k, &b) in s.iter().enumerate() {
            word |= u64::from(b) << (8 * k);
        }
        Digits::from_word(word, s.len())
    }

    /// `word` holds the `len` (1..=MAX_LEN) digits in its low bytes, first digit
    /// lowest, and zeros above.
    #[inline]
    pub(crate) fn from_word(word: u64, len: usize) -> Digits {
        Digits {
            bytes: ((word << 8) | len as u64).to_le_bytes(),
        }
    }

    /// The live form's 7 characters as one little-endian word: spaces, then
    /// the digits right-aligned (first character lowest).
    #[inline]
    pub(crate) fn live_word(&self) -> u64 {
        let len = u32::from(self.bytes[0]).min(7);
        let digits = u64::from_le_bytes(self.bytes) >> 8;
        let pad = 8 * (7 - len);
        // `pad` is at most 56: both shifts stay in range.
        let spaces = 0x0020_2020_2020_2020u64 & ((1u64 << pad) - 1);
        (digits << pad) | spaces
    }

    /// The digits read as one number (`"0505"` → 505), eight digits at a time
    /// in one word, no loop.
    #[inline]
    pub(crate) fn number(&self) -> u64 {
        let len = u32::from(self.bytes[0]).min(7);
        if len == 0 {
            return 0;
        }
        // The digits, first one lowest, as values 0 to 9, moved to the top of
        // the word so that the empty low bytes are leading zeros.
        let keep = (1u64 << (8 * len)) - 1;
        let ascii = (u64::from_le_bytes(self.bytes) >> 8) & keep;
        let mut w = (ascii - (0x3030_3030_3030_3030 & keep)) << (8 * (8 - len));
        w = (w * 10 + (w >> 8)) & 0x00ff_00ff_00ff_00ff;
        w = (w * 100 + (w >> 16)) & 0x0000_ffff_0000_ffff;
        (w * 10000 + (w >> 32)) & 0xffff_ffff
    }

    /// The digits as one word, first digit lowest, zeros above the last.
    #[inline(always)]
    pub(crate) fn ascii_word(&self) -> u64 {
        u64::from_le_bytes(self.bytes) >> 8
    }

    /// The digits as bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[1..1 + usize::from(self.bytes[0])]
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// Number of digits.
    pub fn len(&self) -> usize {
        usize::from(self.bytes[0])
    }

    /// Always false: a digit string has at least one digit.
    pub fn is_empty(&self) -> bool {
        self.bytes[0] == 0
    }
}

impl std::str::FromStr for Digits {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Digits, FieldError> {
        Digits::new(s.as_bytes())
    }
}

impl fmt::Display for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Digits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digits({:?})", self.as_str())
    }
}

/// One field: the digit string the meter sent and the label after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field's label.
    pub label: Label,
    /// The exact digits before the label.
    pub digits: Digits,
}

impl Field {
    /// A field from a label and digits given as text, e.g. `Field::parse("Vo", "21693")`.
    pub fn parse(label: &str, digits: &str) -> Result<Field, FieldError> {
        Ok(Field {
            label: label.parse()?,
            digits: digits.parse()?,
        })
    }
}

impl fmt::Display for Field {
    /// The field as the annotated form writes it: digits then label (`21693Vo`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.digits, self.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The word tricks of the hot path give what the plain reading gives.
        #[test]
        fn digits_as_a_number_and_as_live_text(s in "[0-9]{1,7}") {
            let d = Digits::new(s.as_bytes()).unwrap();
            proptest::prop_assert_eq!(d.number(), s.parse::<u64>().unwrap());
            let text = d.live_word().to_le_bytes();
            let want = format!("{s:>7}");
            proptest::prop_assert_eq!(&text[..7], want.as_bytes());
            proptest::prop_assert_eq!(text[7], 0);
        }
    }
}
