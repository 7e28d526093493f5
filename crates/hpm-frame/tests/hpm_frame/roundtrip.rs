//! The format's writing halves against its reading halves: the digit encoder
//! against the decoding rule.

use hpm_frame::{DecodeRule, Digits, Field, Label, Scheme, TableRule};
use proptest::prelude::*;

/// Digit strings the meter's point-digit rule writes for some value: below 10
/// any mantissa (point digit 1), from 10 on four significant digits.
fn canonical_point_digits() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..=9999).prop_map(|m| format!("{m}1")),
        (1000u32..=9999, 2u32..=9).prop_map(|(m, d)| format!("{m}{d}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A value the point-digit rule can show reads back within half of the
    /// last digit shown.
    #[test]
    fn point_digit_values_read_back_within_half_a_digit(value in 0.0f64..999_949_999.0) {
        let rule = TableRule::inferred();
        let field = rule.encode(Label::Vo, value).unwrap();
        let read = rule.decode(&field).unwrap().amount.to_f64();
        let half = rule.resolution(&field).unwrap() / 2.0;
        prop_assert!(
            (read - value).abs() <= half * (1.0 + 1e-9),
            "{value} -> {} -> {read} (half a digit {half})", field.digits
        );
    }

    /// Digits the encoder writes read as a value the encoder writes the same way.
    #[test]
    fn point_digits_read_and_written_again_are_the_same(digits in canonical_point_digits()) {
        let rule = TableRule::inferred();
        let field = Field { label: Label::Wa, digits: Digits::new(digits.as_bytes()).unwrap() };
        let value = rule.decode(&field).unwrap().amount.to_f64();
        prop_assert_eq!(rule.encode(Label::Wa, value).unwrap(), field);
    }

    /// The frequency rule: hundredths then the samples' final 1, both ways.
    #[test]
    fn frequency_round_trips(hundredths in 0u32..1_000_000) {
        let rule = TableRule::inferred();
        let value = f64::from(hundredths) / 100.0;
        let field = rule.encode(Label::Hz, value).unwrap();
        prop_assert_eq!(field.digits.as_str(), format!("{hundredths}1"));
        let read = rule.decode(&field).unwrap().amount;
        prop_assert_eq!((read.units, read.scale), (i64::from(hundredths), 2));
    }

    /// Fixed decimals, both ways.
    #[test]
    fn fixed_decimals_round_trip(n in 0u32..10_000_000, decimals in 0u8..4) {
        let scheme = Scheme::Fixed { decimals };
        let value = f64::from(n) / 10f64.powi(i32::from(decimals));
        let digits = scheme.encode(value).unwrap();
        prop_assert_eq!(digits.as_str(), n.to_string());
        let read = scheme.apply(&Field { label: Label::Kg, digits }).unwrap();
        prop_assert_eq!(read.units, i64::from(n));
    }
}
