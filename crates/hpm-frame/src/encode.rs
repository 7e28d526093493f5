//! Values into digits: the inverse of [`decode`](crate::decode), for a
//! simulated meter or a test that needs frames of known values.
//!
//! Each [`Scheme`] that reads digits as a number also writes a number as the
//! digits the meter would show, rounded to what the scheme can show:
//!
//! - [`Scheme::PointDigit`]: up to four significant digits and the point digit,
//!   so 216.9 → `21693`, 0.002 → `21`, 0 → `01`, 9.9996 → `10002`; from 0 up
//!   to 999,949,999.
//! - [`Scheme::DropLastDigit`]: the number with its decimals, then a `1` as the
//!   last digit (every sample ends `Hz` so: 59.98 → `59981`); the decoder
//!   ignores that digit.
//! - [`Scheme::Fixed`]: the number with its decimals.
//!
//! [`TableRule::encode`] picks the scheme by label, so the label's rule is
//! written once, in the table, for both directions.
//!
//! ```
//! use hpm_frame::{decode::{DecodeRule, TableRule}, field::Label};
//!
//! let rule = TableRule::inferred();
//! let field = rule.encode(Label::Hz, 59.98)?;
//! assert_eq!(field.digits.as_str(), "59981");
//! assert_eq!(rule.decode(&field)?.to_string(), "59.98 Hz");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::decode::{Scheme, TableRule};
use crate::error::EncodeError;
use crate::field::{Digits, Field, Label};

impl Scheme {
    /// The digits that show `value` under this scheme, rounded to the last
    /// digit shown; an error for a negative, infinite or NaN value, or one with
    /// more digits than a field holds.
    pub fn encode(self, value: f64) -> Result<Digits, EncodeError> {
        let out_of_range = |reason| EncodeError::Value { value, reason };
        if !value.is_finite() || value < 0.0 {
            return Err(out_of_range("expected a finite number of at least 0"));
        }
        let text = match self {
            Scheme::PointDigit => {
                let mut d = 1;
                while d < 9 && value >= 10f64.powi(d) {
                    d += 1;
                }
                let mut m = (value * 10f64.powi(4 - d)).round() as u64;
                if m >= 10_000 {
                    d += 1;
                    m = (value * 10f64.powi(4 - d)).round() as u64;
                }
                if d > 9 {
                    return Err(out_of_range(
                        "too large for four digits and a point digit (at most 999949999)",
                    ));
                }
                format!("{m}{d}")
            }
            Scheme::DropLastDigit { decimals } => {
                let n = (value * 10f64.powi(i32::from(decimals))).round();
                if n >= 1e6 {
                    return Err(out_of_range("too many digits for a field"));
                }
                format!("{}1", n as u64)
            }
            Scheme::Fixed { decimals } => {
                let n = (value * 10f64.powi(i32::from(decimals))).round();
                if n >= 1e7 {
                    return Err(out_of_range("too many digits for a field"));
                }
                format!("{}", n as u64)
            }
        };
        Digits::new(text.as_bytes()).map_err(|_| out_of_range("too many digits for a field"))
    }
}

impl TableRule {
    /// The field that shows `value` for `label`, by the label's scheme in this
    /// table: `TableRule::inferred().encode(Label::Vo, 216.9)` is `21693Vo`.
    pub fn encode(&self, label: Label, value: f64) -> Result<Field, EncodeError> {
        let entry = self
            .entry(label)
            .ok_or(EncodeError::UnknownLabel { label })?;
        Ok(Field {
            label,
            digits: entry.scheme.encode(value)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DecodeRule;

    fn point(value: f64) -> String {
        Scheme::PointDigit
            .encode(value)
            .unwrap()
            .as_str()
            .to_owned()
    }

    #[test]
    fn point_digits_match_the_samples() {
        assert_eq!(point(216.9), "21693");
        assert_eq!(point(42.41), "42412");
        assert_eq!(point(4.646), "46461");
        assert_eq!(point(0.002), "21");
        assert_eq!(point(0.505), "5051");
        assert_eq!(point(0.0), "01");
        assert_eq!(point(9.9996), "10002");
        assert_eq!(point(1234.5), "12354");
        assert_eq!(point(999_949_999.0), "99999");
    }

    #[test]
    fn frequency_gets_the_samples_last_digit() {
        let rule = TableRule::inferred();
        let hz = rule.encode(Label::Hz, 59.98).unwrap();
        assert_eq!(hz.to_string(), "59981Hz");
        assert_eq!(rule.decode(&hz).unwrap().to_string(), "59.98 Hz");
        let fixed = Scheme::Fixed { decimals: 1 }.encode(1234.5).unwrap();
        assert_eq!(fixed.as_str(), "12345");
    }

    #[test]
    fn values_a_field_cannot_show_are_refused() {
        for bad in [-0.5, f64::NAN, f64::INFINITY, 1e9, 999_950_000.0] {
            let err = Scheme::PointDigit.encode(bad).unwrap_err();
            assert!(err.to_string().contains(&bad.to_string()), "{err}");
        }
        assert!(
            Scheme::DropLastDigit { decimals: 2 }
                .encode(10_000.0)
                .is_err()
        );
        assert!(Scheme::Fixed { decimals: 0 }.encode(1e7).is_err());
        let other: Label = "Xy".parse().unwrap();
        assert_eq!(
            TableRule::inferred().encode(other, 1.0).unwrap_err(),
            EncodeError::UnknownLabel { label: other }
        );
    }
}
