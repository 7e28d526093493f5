//! Turning a field's digits into a value with a unit.
//!
//! No protocol document of the meter is known, so how digits become values is an
//! inference, kept here as a replaceable rule and never inside the parser:
//!
//! - [`DecodeRule`] is the trait a rule implements;
//! - [`TableRule`] is a table of [`Entry`] (label → [`Scheme`], quantity, unit);
//! - [`TableRule::inferred`] is the default, the rule inferred from the samples:
//!   the last digit `d` of a field is the number of integer digits of the other
//!   digits read as a zero-padded 4-digit mantissa `m`, so value = `m × 10^(d−4)`
//!   (`21693` → 216.9 V, `42412` → 42.41 A, `46461` → 4.646 kW, `5051` → 0.505);
//!   `Hz` does not fit and reads as the digits before the last with two decimals
//!   (`59981` → 59.98 Hz).
//!
//! A user who learns that `Wa` is in W and `Am` in mA builds a [`TableRule`] with
//! those entries, or implements [`DecodeRule`] for something else.
//!
//! The other way, [`TableRule::encode`] writes a value as the digits the meter
//! would show for that label, by the same entry's [`Scheme::encode`]: 216.9 V →
//! `21693`, 0.002 kWh → `21`, 59.98 Hz → `59981` (the hundredths, then the `1`
//! every sample ends `Hz` with). A simulated meter builds its frames so, and
//! the property tests hold the two directions together.

use std::fmt;

use crate::error::DecodeError;
use crate::field::{Digits, Field, Label};

/// An exact decimal number: `units × 10^−scale` (216.9 is `units = 2169, scale = 1`).
///
/// Kept exact so that output shows the meter's digits, not a binary float's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// The number without its decimal point.
    pub units: i64,
    /// How many of the digits are decimals.
    pub scale: u8,
}

impl Decimal {
    /// The nearest `f64`.
    pub fn to_f64(self) -> f64 {
        self.units as f64 / pow10(i32::from(self.scale))
    }
}

impl fmt::Display for Decimal {
    /// Exact, with `scale` decimals: `216.9`, `0.002`, `60.00`, `21690`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        // At least one digit before the point.
        let padded = format!("{digits:0>w$}", w = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// What a field measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Quantity {
    /// Voltage.
    Voltage,
    /// Current.
    Current,
    /// Active power.
    Power,
    /// Energy.
    Energy,
    /// Power factor (dimensionless).
    PowerFactor,
    /// Line frequency.
    Frequency,
    /// Meaning not known (`Kg`, `Eu`, or a label from a firmware variant).
    Unknown,
}

/// A value's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unit {
    /// V
    Volt,
    /// A
    Ampere,
    /// mA
    Milliampere,
    /// W
    Watt,
    /// kW
    Kilowatt,
    /// Wh
    WattHour,
    /// kWh
    KilowattHour,
    /// Hz
    Hertz,
    /// No unit (a ratio), or the unit is not known.
    None,
}

impl Unit {
    /// The unit's symbol (`""` for [`Unit::None`]).
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Volt => "V",
            Unit::Ampere => "A",
            Unit::Milliampere => "mA",
            Unit::Watt => "W",
            Unit::Kilowatt => "kW",
            Unit::WattHour => "Wh",
            Unit::KilowattHour => "kWh",
            Unit::Hertz => "Hz",
            Unit::None => "",
        }
    }
}

/// A decoded field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value {
    /// The field it came from.
    pub label: Label,
    /// What it measures.
    pub quantity: Quantity,
    /// The number.
    pub amount: Decimal,
    /// Its unit.
    pub unit: Unit,
}

impl fmt::Display for Value {
    /// `216.9 V`, or just the number when there is no unit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            Unit::None => write!(f, "{}", self.amount),
            u => write!(f, "{} {}", self.amount, u.symbol()),
        }
    }
}

/// How one label's digits become a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// The last digit `d` is the number of integer digits of the 4-digit,
    /// zero-padded mantissa made of the other digits: value = `m × 10^(d−4)`.
    /// Needs 2 to 5 digits.
    PointDigit,
    /// The digits before the last, with this many decimals; the last digit is
    /// ignored (`59981` with 2 decimals → 59.98). Needs at least 2 digits.
    DropLastDigit {
        /// Number of decimals.
        decimals: u8,
    },
    /// All the digits, with this many decimals (`12345` with 1 → 1234.5).
    Fixed {
        /// Number of decimals.
        decimals: u8,
    },
}

/// `10^k` for `k` in -16..=16 by table (`powi` showed in profiles).
fn pow10(k: i32) -> f64 {
    const T: [f64; 33] = [
        1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3,
        1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
        1e15, 1e16,
    ];
    match usize::try_from(k + 16) {
        Ok(i) if i < T.len() => T[i],
        _ => 10f64.powi(k),
    }
}

/// Per point digit `p` (0 to 9) of [`Scheme::PointDigit`]: what the mantissa
/// is multiplied by (10^(p − 4) for p ≥ 4, else 1) and divided by as a float
/// (10^(4 − p) for p < 4, else 1) to give [`Decimal::to_f64`] of the amount,
/// and the resolution, 10^(p − 4), as `pow10` gives it.
const POINT_DIGIT: [(u64, f64, f64); 10] = [
    (1, 1e4, 1e-4),
    (1, 1e3, 1e-3),
    (1, 1e2, 1e-2),
    (1, 1e1, 1e-1),
    (1, 1.0, 1e0),
    (10, 1.0, 1e1),
    (100, 1.0, 1e2),
    (1000, 1.0, 1e3),
    (10_000, 1.0, 1e4),
    (100_000, 1.0, 1e5),
];

impl Scheme {
    /// The value of one unit in the last digit shown, under this scheme
    /// (`21693` → 0.1; `12355` → 10: the mantissa's last digit is in tens).
    pub fn resolution(self, field: &Field) -> Result<f64, DecodeError> {
        Ok(match self {
            Scheme::PointDigit if (2..=5).contains(&field.digits.len()) => {
                let point = field.digits.as_bytes().last().map_or(0, |d| d - b'0');
                pow10(i32::from(point) - 4)
            }
            Scheme::DropLastDigit { decimals } if field.digits.len() >= 2 => {
                pow10(-i32::from(decimals))
            }
            Scheme::Fixed { decimals } => pow10(-i32::from(decimals)),
            _ => self.apply(field).map(|d| pow10(-i32::from(d.scale)))?,
        })
    }

    /// The number the digits stand for under this scheme.
    pub fn apply(self, field: &Field) -> Result<Decimal, DecodeError> {
        self.amount(field).ok_or_else(|| DecodeError::Digits {
            label: field.label,
            digits: field.digits.as_str().to_owned(),
            reason: match self {
                Scheme::PointDigit => {
                    "expected 2 to 5 digits: a mantissa of at most 4 and a point digit"
                }
                _ => "expected at least 2 digits",
            },
        })
    }

    /// [`apply`](Self::apply) without the reason for no value: the hot path of
    /// converting logs.
    #[inline(always)]
    pub fn amount(self, field: &Field) -> Option<Decimal> {
        self.amount_of(field.digits)
    }

    /// The value [`amount`](Self::amount) gives, as [`Decimal::to_f64`] makes
    /// it, and the [`resolution`](Self::resolution), computed with the same
    /// operations (so bit for bit the same numbers) straight from the digits:
    /// the consistency check's hot path.
    #[inline(always)]
    pub(crate) fn shown_f64(self, digits: Digits) -> Option<(f64, f64)> {
        let len = digits.len();
        match self {
            Scheme::PointDigit if (2..=5).contains(&len) => {
                let all = digits.number();
                let (m, point) = (all / 10, (all % 10) as usize);
                // `amount`: m × 10^(point − 4) with scale 0, else m with
                // scale 4 − point; `to_f64` divides the units by 10^scale
                // (by 1 for scale 0, which changes nothing). By table, no
                // branch: both ways are a product and a quotient.
                let (times, over, resolution) = POINT_DIGIT[point];
                // At most 9999 × 10^5: exact as an i64 and as an f64 (the
                // signed conversion is one instruction, the unsigned several).
                Some(((m * times) as i64 as f64 / over, resolution))
            }
            _ => {
                let field = Field {
                    label: Label::Vo,
                    digits,
                };
                let amount = self.amount_of(digits)?;
                Some((amount.to_f64(), self.resolution(&field).ok()?))
            }
        }
    }

    /// [`amount`](Self::amount) of a field with these digits (the label plays
    /// no part).
    #[inline(always)]
    pub(crate) fn amount_of(self, digits: Digits) -> Option<Decimal> {
        let len = digits.len();
        let all = digits.number() as i64;
        match self {
            Scheme::PointDigit if (2..=5).contains(&len) => {
                let (m, point) = (all / 10, (all % 10) as u8);
                Some(if point >= 4 {
                    Decimal {
                        units: m * 10i64.pow(u32::from(point - 4)),
                        scale: 0,
                    }
                } else {
                    Decimal {
                        units: m,
                        scale: 4 - point,
                    }
                })
            }
            Scheme::DropLastDigit { decimals } if len >= 2 => Some(Decimal {
                units: all / 10,
                scale: decimals,
            }),
            Scheme::Fixed { decimals } => Some(Decimal {
                units: all,
                scale: decimals,
            }),
            _ => None,
        }
    }
}

/// A rule that turns fields into values. Implement it to replace the inferred
/// rule; [`TableRule`] covers rules that differ only per label.
pub trait DecodeRule {
    /// The labels this rule decodes, in the order output columns should have.
    fn columns(&self) -> Vec<Column>;

    /// The value of one field, or why it has none.
    fn decode(&self, field: &Field) -> Result<Value, DecodeError>;

    /// The number and unit of [`decode`](DecodeRule::decode)'s value, without
    /// the reason when there is none. Writers and the consistency check call
    /// this for every field of every record: a rule may make it cheaper than
    /// `decode` (by default it is `decode`).
    fn amount(&self, field: &Field) -> Option<(Decimal, Unit)> {
        self.decode(field).ok().map(|v| (v.amount, v.unit))
    }

    /// [`amount`](DecodeRule::amount) and [`resolution`](DecodeRule::resolution)
    /// together, for the consistency check (by default the two calls).
    fn shown(&self, field: &Field) -> Option<(Decimal, Unit, f64)> {
        let (amount, unit) = self.amount(field)?;
        Some((amount, unit, self.resolution(field)?))
    }

    /// The value of one unit in the last digit the field shows, in the unit of
    /// [`decode`](DecodeRule::decode)'s value (`21693` → 216.9 V shows tenths:
    /// 0.1), if known. The [consistency check](crate::check::Check) takes the shown
    /// value to stand for anything within half of it. By default: one unit of
    /// the decoded decimal's last place.
    fn resolution(&self, field: &Field) -> Option<f64> {
        self.decode(field)
            .ok()
            .map(|v| pow10(-i32::from(v.amount.scale)))
    }

    /// The scheme and unit that decode every field with this label, when the
    /// rule is that simple for it: then [`amount`](DecodeRule::amount) of such
    /// a field must be the scheme's [`Scheme::amount`] with this unit, and
    /// [`resolution`](DecodeRule::resolution) the scheme's
    /// [`Scheme::resolution`]. The [`RecordWriter`](crate::RecordWriter) and
    /// the [consistency check](crate::check::Check) ask once per label and
    /// then decode such fields straight from their digits, without calling the
    /// rule per field. By default `None`: every field goes through the rule.
    /// [`TableRule`] gives its entry's scheme and unit.
    fn scheme(&self, label: Label) -> Option<(Scheme, Unit)> {
        let _ = label;
        None
    }
}

/// One output column: which label, and its name (e.g. `voltage_V`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// The label whose value fills the column.
    pub label: Label,
    /// The column's name in CSV headers, JSON keys and InfluxDB field keys.
    pub name: String,
}

/// How a [`TableRule`] decodes one label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The label.
    pub label: Label,
    /// What it measures.
    pub quantity: Quantity,
    /// How its digits become a number.
    pub scheme: Scheme,
    /// The number's unit.
    pub unit: Unit,
    /// The column name (without unit) for output, e.g. `voltage`.
    pub name: &'static str,
}

impl Entry {
    /// The output column name: `name` then `_` and the unit symbol, if any.
    pub fn column_name(&self) -> String {
        match self.unit {
            Unit::None => self.name.to_owned(),
            u => format!("{}_{}", self.name, u.symbol()),
        }
    }
}

/// A decoding rule given as a table, one [`Entry`] per label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRule {
    entries: Vec<Entry>,
    /// Per known label (`Label::KNOWN` order): its first entry's index, or
    /// `u8::MAX` for none or beyond 254 (then the table is searched): one
    /// look-up per field on the decoding hot path.
    by_known: [u8; 8],
}

impl TableRule {
    /// A rule from a table. A label listed twice uses its first entry.
    pub fn new(entries: Vec<Entry>) -> TableRule {
        let mut by_known = [u8::MAX; 8];
        for (i, e) in entries.iter().enumerate().take(usize::from(u8::MAX)) {
            if let Some(k) = e.label.known_index()
                && by_known[k as usize] == u8::MAX
            {
                by_known[k as usize] = i as u8;
            }
        }
        TableRule { entries, by_known }
    }

    /// The rule inferred from the seed samples (see the module docs):
    ///
    /// | label | column | scheme | unit |
    /// |---|---|---|---|
    /// | `Vo` | `voltage_V` | point digit | V |
    /// | `Am` | `current_A` | point digit | A |
    /// | `Wa` | `power_kW` | point digit | kW |
    /// | `Wh` | `energy_kWh` | point digit | kWh |
    /// | `Pf` | `power_factor` | point digit | none |
    /// | `Hz` | `frequency_Hz` | last digit dropped, 2 decimals | Hz |
    /// | `Kg` | `kg` | point digit | unknown |
    /// | `Eu` | `eu` | point digit | unknown |
    ///
    /// Labels not in the table are not decoded (they stay in the raw frame).
    pub fn inferred() -> TableRule {
        let e = |label, quantity, scheme, unit, name| Entry {
            label,
            quantity,
            scheme,
            unit,
            name,
        };
        use {Quantity as Q, Scheme::PointDigit as P, Unit as U};
        TableRule::new(vec![
            e(Label::Vo, Q::Voltage, P, U::Volt, "voltage"),
            e(Label::Am, Q::Current, P, U::Ampere, "current"),
            e(Label::Wa, Q::Power, P, U::Kilowatt, "power"),
            e(Label::Wh, Q::Energy, P, U::KilowattHour, "energy"),
            e(Label::Pf, Q::PowerFactor, P, U::None, "power_factor"),
            e(
                Label::Hz,
                Q::Frequency,
                Scheme::DropLastDigit { decimals: 2 },
                U::Hertz,
                "frequency",
            ),
            e(Label::Kg, Q::Unknown, P, U::None, "kg"),
            e(Label::Eu, Q::Unknown, P, U::None, "eu"),
        ])
    }

    /// The table.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry for `label`, if any.
    #[inline]
    pub fn entry(&self, label: Label) -> Option<&Entry> {
        match label.known_index().map(|k| self.by_known[k as usize]) {
            Some(i) if i != u8::MAX => self.entries.get(usize::from(i)),
            _ => self.entries.iter().find(|e| e.label == label),
        }
    }
}

impl Default for TableRule {
    /// [`TableRule::inferred`].
    fn default() -> TableRule {
        TableRule::inferred()
    }
}

impl DecodeRule for TableRule {
    fn columns(&self) -> Vec<Column> {
        let mut cols: Vec<Column> = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            if !cols.iter().any(|c| c.label == e.label) {
                cols.push(Column {
                    label: e.label,
                    name: e.column_name(),
                });
            }
        }
        cols
    }

    fn resolution(&self, field: &Field) -> Option<f64> {
        self.entry(field.label)?.scheme.resolution(field).ok()
    }

    fn scheme(&self, label: Label) -> Option<(Scheme, Unit)> {
        self.entry(label).map(|e| (e.scheme, e.unit))
    }

    #[inline(always)]
    fn amount(&self, field: &Field) -> Option<(Decimal, Unit)> {
        let e = self.entry(field.label)?;
        Some((e.scheme.amount(field)?, e.unit))
    }

    #[inline]
    fn shown(&self, field: &Field) -> Option<(Decimal, Unit, f64)> {
        let e = self.entry(field.label)?;
        let amount = e.scheme.amount(field)?;
        // A value the scheme decodes has the digits its resolution needs.
        Some((amount, e.unit, e.scheme.resolution(field).ok()?))
    }

    fn decode(&self, field: &Field) -> Result<Value, DecodeError> {
        let e = self
            .entry(field.label)
            .ok_or(DecodeError::UnknownLabel { label: field.label })?;
        Ok(Value {
            label: field.label,
            quantity: e.quantity,
            amount: e.scheme.apply(field)?,
            unit: e.unit,
        })
    }
}

impl<R: DecodeRule + ?Sized> DecodeRule for &R {
    fn columns(&self) -> Vec<Column> {
        (**self).columns()
    }

    fn shown(&self, field: &Field) -> Option<(Decimal, Unit, f64)> {
        (**self).shown(field)
    }

    fn amount(&self, field: &Field) -> Option<(Decimal, Unit)> {
        (**self).amount(field)
    }

    fn decode(&self, field: &Field) -> Result<Value, DecodeError> {
        (**self).decode(field)
    }

    fn resolution(&self, field: &Field) -> Option<f64> {
        (**self).resolution(field)
    }

    fn scheme(&self, label: Label) -> Option<(Scheme, Unit)> {
        (**self).scheme(label)
    }
}

impl<R: DecodeRule + ?Sized> DecodeRule for Box<R> {
    fn columns(&self) -> Vec<Column> {
        (**self).columns()
    }

    fn shown(&self, field: &Field) -> Option<(Decimal, Unit, f64)> {
        (**self).shown(field)
    }

    fn amount(&self, field: &Field) -> Option<(Decimal, Unit)> {
        (**self).amount(field)
    }

    fn decode(&self, field: &Field) -> Result<Value, DecodeError> {
        (**self).decode(field)
    }

    fn resolution(&self, field: &Field) -> Option<f64> {
        (**self).resolution(field)
    }

    fn scheme(&self, label: Label) -> Option<(Scheme, Unit)> {
        (**self).scheme(label)
    }
}

/// Inputs shared by the unit tests that hold a fast path to its plain twin.
#[cfg(test)]
pub(crate) mod testing {
    use super::Scheme;
    use crate::field::Digits;
    use proptest::prelude::*;

    /// Every digit string of `len` digits, leading zeros included.
    pub(crate) fn all_digit_strings(len: u32) -> impl Iterator<Item = Digits> {
        (0..10u32.pow(len)).map(move |n| {
            let s = format!("{n:0w$}", w = len as usize);
            Digits::new(s.as_bytes()).unwrap()
        })
    }

    /// A scheme of each kind (any decimals) with any digit string a field
    /// holds.
    pub(crate) fn any_scheme_and_digits() -> impl Strategy<Value = (Scheme, Digits)> {
        ("[0-9]{1,7}", 0u8..3, 0u8..30).prop_map(|(digits, which, decimals)| {
            let scheme = match which {
                0 => Scheme::PointDigit,
                1 => Scheme::DropLastDigit { decimals },
                _ => Scheme::Fixed { decimals },
            };
            (scheme, Digits::new(digits.as_bytes()).unwrap())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the check reads the plain way: the decimal as a float and the
    /// resolution, as bits.
    fn plain(scheme: Scheme, digits: Digits) -> Option<(u64, u64)> {
        let field = Field {
            label: Label::Kg,
            digits,
        };
        let x = scheme.amount(&field)?.to_f64();
        Some((x.to_bits(), scheme.resolution(&field).ok()?.to_bits()))
    }

    fn fast(scheme: Scheme, digits: Digits) -> Option<(u64, u64)> {
        scheme
            .shown_f64(digits)
            .map(|(x, r)| (x.to_bits(), r.to_bits()))
    }

    /// The check's short way gives the same floats, bit for bit, for every
    /// digit string of up to 5 digits (a point-digit field holds at most 5).
    #[test]
    fn point_digit_floats_for_every_digit_string() {
        for len in 1..=5 {
            for digits in testing::all_digit_strings(len) {
                assert_eq!(
                    fast(Scheme::PointDigit, digits),
                    plain(Scheme::PointDigit, digits),
                    "{digits:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn scheme_floats_are_the_plain_ones(
            (scheme, digits) in testing::any_scheme_and_digits(),
        ) {
            proptest::prop_assert_eq!(fast(scheme, digits), plain(scheme, digits));
        }
    }
}
