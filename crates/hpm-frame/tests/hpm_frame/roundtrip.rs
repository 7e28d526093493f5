//! The format's writing halves against its reading halves: the digit encoder
//! against the decoding rule, the log writer against the log reader.

use hpm_frame::{
    Frame, LogReader, LogWriter,
    decode::{DecodeRule, Scheme, TableRule},
    field::{Digits, Field, Label},
    log::LogKind,
};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::props::arb_frame;

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

/// Frames as the meter sends them (live form, CR LF), each at its own time
/// (1 ms to 10 s after the one before), every frame's bytes cut into pieces at
/// `cuts`; each piece written with its frame's time.
pub fn log_of(kind: LogKind, frames: &[(Frame, OffsetDateTime)], cuts: &[usize]) -> Vec<u8> {
    let mut log = LogWriter::new(Vec::new(), kind);
    for (frame, at) in frames {
        let mut bytes = Vec::new();
        frame.write_live(&mut bytes);
        bytes.extend_from_slice(b"\r\n");
        let mut points: Vec<usize> = cuts.iter().map(|c| c % bytes.len()).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        points.dedup();
        for pair in points.windows(2) {
            log.write(&bytes[pair[0]..pair[1]], || *at).unwrap();
        }
    }
    log.into_inner()
}

pub fn arb_timed_frames() -> impl Strategy<Value = Vec<(Frame, OffsetDateTime)>> {
    (
        proptest::collection::vec((arb_frame(), 1i64..10_000), 1..20),
        0i64..4_000_000_000,
        -12i32..=14,
    )
        .prop_map(|(frames, start, hours)| {
            let offset = UtcOffset::from_hms(hours as i8, 0, 0).unwrap();
            let mut at = OffsetDateTime::from_unix_timestamp(start)
                .unwrap()
                .to_offset(offset);
            frames
                .into_iter()
                .map(|(frame, step)| {
                    at += Duration::milliseconds(step);
                    (frame, at)
                })
                .collect()
        })
}

proptest! {
    /// A `watt.txt` log written from frames reads back as those frames, each
    /// with its time to the second (the form records no offset and no
    /// milliseconds), whatever pieces the bytes arrived in.
    #[test]
    fn watt_logs_read_back_as_the_frames_written(
        frames in arb_timed_frames(),
        cuts in proptest::collection::vec(0usize..200, 0..6),
    ) {
        let log = log_of(LogKind::Watt, &frames, &cuts);
        let read: Vec<_> = LogReader::with_kind(log.as_slice(), LogKind::Watt)
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(read.len(), frames.len());
        for (rec, (frame, at)) in read.iter().zip(&frames) {
            prop_assert_eq!(rec.frame.fields(), frame.fields());
            prop_assert_eq!(rec.offset, None);
            prop_assert_eq!(rec.time_at(at.offset()), at.replace_millisecond(0).unwrap());
        }
    }

    /// An `rfc3339` log written from frames reads back as those frames, each
    /// with its time to the millisecond and its offset.
    #[test]
    fn rfc3339_logs_read_back_as_the_frames_written(
        frames in arb_timed_frames(),
        cuts in proptest::collection::vec(0usize..200, 0..6),
    ) {
        let log = log_of(LogKind::Rfc3339, &frames, &cuts);
        let read: Vec<_> = LogReader::with_kind(log.as_slice(), LogKind::Rfc3339)
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(read.len(), frames.len());
        for (rec, (frame, at)) in read.iter().zip(&frames) {
            prop_assert_eq!(rec.frame.fields(), frame.fields());
            prop_assert_eq!(rec.offset, Some(at.offset()));
            let ms = at.replace_nanosecond(at.millisecond() as u32 * 1_000_000).unwrap();
            prop_assert_eq!(rec.time_at(UtcOffset::UTC), ms);
        }
    }
}
