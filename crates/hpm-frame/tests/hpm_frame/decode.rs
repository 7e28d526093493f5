//! The decoding rule.

use hpm_frame::{
    DecodeError, Frame,
    decode::{Column, Decimal, DecodeRule, Entry, Quantity, Scheme, TableRule, Unit, Value},
    field::{Field, Label},
};

use crate::seed_frames;

fn value(rule: &impl DecodeRule, frame: &Frame, label: Label) -> Value {
    rule.decode(frame.get(label).unwrap()).unwrap()
}

/// Every field of the frame decoded and shown with its unit.
fn shown(rule: &impl DecodeRule, frame: &Frame) -> Vec<String> {
    frame
        .fields()
        .iter()
        .map(|f| rule.decode(f).unwrap().to_string())
        .collect()
}

fn f64_of(rule: &impl DecodeRule, frame: &Frame, label: Label) -> f64 {
    value(rule, frame, label).amount.to_f64()
}

#[test]
fn inferred_rule_on_the_first_seed_frame() {
    let rule = TableRule::inferred();
    let frame = &seed_frames()[0];
    assert_eq!(
        shown(&rule, frame),
        [
            "216.9 V",
            "42.41 A",
            "4.646 kW",
            "0.002 kWh",
            "0.505",
            "59.98 Hz",
            "0.000",
            "0.000"
        ]
    );
    let v = value(&rule, frame, Label::Vo);
    assert_eq!(
        v,
        Value {
            label: Label::Vo,
            quantity: Quantity::Voltage,
            amount: Decimal {
                units: 2169,
                scale: 1
            },
            unit: Unit::Volt,
        }
    );
    assert_eq!(
        value(&rule, frame, Label::Pf).quantity,
        Quantity::PowerFactor
    );
    assert_eq!(value(&rule, frame, Label::Kg).quantity, Quantity::Unknown);
}

#[test]
fn documentation_sample_decodes_to_its_annotation() {
    let rule = TableRule::inferred();
    let frame = Frame::parse(b"S 22003Vo 10003Am 22002Wa 10001Pf 60001Hz E").unwrap();
    assert_eq!(
        shown(&rule, &frame),
        ["220.0 V", "100.0 A", "22.00 kW", "1.000", "60.00 Hz"]
    );
    // 220.0 V × 100.0 A × 1.000 = 22.00 kW exactly.
    let w = f64_of(&rule, &frame, Label::Vo)
        * f64_of(&rule, &frame, Label::Am)
        * f64_of(&rule, &frame, Label::Pf);
    assert!((w - 1000.0 * f64_of(&rule, &frame, Label::Wa)).abs() < 1e-6);
}

/// |V × A × PF − W| / W for a frame, W from `Wa` in kW.
fn power_mismatch(frame: &Frame) -> f64 {
    let rule = TableRule::inferred();
    let product = f64_of(&rule, frame, Label::Vo)
        * f64_of(&rule, frame, Label::Am)
        * f64_of(&rule, frame, Label::Pf);
    let watts = 1000.0 * f64_of(&rule, frame, Label::Wa);
    (product - watts).abs() / watts
}

#[test]
fn volts_times_amps_times_pf_matches_watts_within_a_tenth_of_a_percent() {
    let frames = seed_frames();
    let mismatch: Vec<f64> = frames.iter().map(power_mismatch).collect();
    // Frames 1 to 3: 0.013 %, 0.033 %, 0.033 %.
    for (i, m) in mismatch.iter().enumerate().take(3) {
        assert!(*m < 0.001, "frame {}: {:.4} %", i + 1, m * 100.0);
    }
    // Frame 4 (216.9 V, 42.43 A, PF 0.504, 4.646 kW) is 0.16 % off: PF has only
    // three digits, so one step of PF is 0.2 % there. It is still consistent once
    // each reading is taken as cut (not rounded) to its last digit, as the next
    // test shows.
    assert!(
        mismatch[3] > 0.001 && mismatch[3] < 0.002,
        "{}",
        mismatch[3]
    );
}

#[test]
fn every_seed_frame_is_consistent_within_reading_resolution() {
    // Each shown value v with last-digit step s stands for [v, v + s) if the meter
    // truncates; the power computed from the ranges must overlap the power shown.
    let rule = TableRule::inferred();
    let step = |v: Value| 10f64.powi(-i32::from(v.amount.scale));
    for (i, frame) in seed_frames().iter().enumerate() {
        let range = |l| {
            let v = value(&rule, frame, l);
            (v.amount.to_f64(), v.amount.to_f64() + step(v))
        };
        let (v0, v1) = range(Label::Vo);
        let (a0, a1) = range(Label::Am);
        let (p0, p1) = range(Label::Pf);
        let (w0, w1) = range(Label::Wa);
        let (lo, hi) = (v0 * a0 * p0, v1 * a1 * p1);
        assert!(
            lo < w1 * 1000.0 && w0 * 1000.0 < hi,
            "frame {}: V×A×PF in [{lo:.1}, {hi:.1}) W, Wa in [{}, {}) W",
            i + 1,
            w0 * 1000.0,
            w1 * 1000.0
        );
    }
}

#[test]
fn point_digit_scheme_edges() {
    let apply = |digits: &str| Scheme::PointDigit.apply(&Field::parse("Vo", digits).unwrap());
    let shown = |digits: &str| apply(digits).unwrap().to_string();
    assert_eq!(shown("21693"), "216.9");
    assert_eq!(shown("01"), "0.000");
    assert_eq!(shown("21"), "0.002");
    assert_eq!(shown("12340"), "0.1234");
    assert_eq!(shown("12344"), "1234");
    assert_eq!(shown("12345"), "12340");
    assert_eq!(shown("99999"), "999900000");
    assert_eq!(
        apply("1").unwrap_err().to_string(),
        "field Vo digits \"1\": expected 2 to 5 digits: a mantissa of at most 4 and a point digit"
    );
    assert!(apply("123456").is_err());
    let hz = Scheme::DropLastDigit { decimals: 2 };
    assert_eq!(
        hz.apply(&Field::parse("Hz", "59981").unwrap())
            .unwrap()
            .to_string(),
        "59.98"
    );
    assert_eq!(
        hz.apply(&Field::parse("Hz", "60001").unwrap())
            .unwrap()
            .to_string(),
        "60.00"
    );
    assert!(hz.apply(&Field::parse("Hz", "5").unwrap()).is_err());
    let fixed = Scheme::Fixed { decimals: 1 };
    assert_eq!(
        fixed
            .apply(&Field::parse("Xy", "0012345").unwrap())
            .unwrap()
            .to_string(),
        "1234.5"
    );
    assert_eq!(
        Decimal {
            units: -5,
            scale: 2
        }
        .to_string(),
        "-0.05"
    );
}

#[test]
fn unknown_labels_are_not_decoded_by_the_inferred_rule() {
    let rule = TableRule::inferred();
    let err = rule.decode(&Field::parse("Xy", "77").unwrap()).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownLabel {
            label: "Xy".parse().unwrap()
        }
    );
    assert_eq!(
        err.to_string(),
        "field Xy: the decoding rule has no entry for this label"
    );
}

#[test]
fn the_rule_is_replaceable() {
    // Someone finds out that Wa is in W and Am in mA, with fixed decimals: a table.
    let rule = TableRule::new(vec![
        Entry {
            label: Label::Am,
            quantity: Quantity::Current,
            scheme: Scheme::Fixed { decimals: 0 },
            unit: Unit::Milliampere,
            name: "current",
        },
        Entry {
            label: Label::Wa,
            quantity: Quantity::Power,
            scheme: Scheme::DropLastDigit { decimals: 0 },
            unit: Unit::Watt,
            name: "power",
        },
    ]);
    let frame = &seed_frames()[0];
    assert_eq!(value(&rule, frame, Label::Am).to_string(), "42412 mA");
    assert_eq!(value(&rule, frame, Label::Wa).to_string(), "4646 W");
    assert!(rule.decode(frame.get(Label::Vo).unwrap()).is_err());
    assert_eq!(
        rule.columns(),
        [
            Column {
                label: Label::Am,
                name: "current_mA".into()
            },
            Column {
                label: Label::Wa,
                name: "power_W".into()
            },
        ]
    );

    // Or a rule of one's own.
    struct Raw;
    impl DecodeRule for Raw {
        fn columns(&self) -> Vec<Column> {
            vec![Column {
                label: Label::Hz,
                name: "hz_raw".into(),
            }]
        }
        fn decode(&self, field: &Field) -> Result<Value, DecodeError> {
            Ok(Value {
                label: field.label,
                quantity: Quantity::Unknown,
                amount: Scheme::Fixed { decimals: 0 }.apply(field)?,
                unit: Unit::None,
            })
        }
    }
    assert_eq!(value(&Raw, frame, Label::Hz).to_string(), "59981");
    let boxed: Box<dyn DecodeRule> = Box::new(Raw);
    assert_eq!(boxed.columns()[0].name, "hz_raw");
}

#[test]
fn inferred_columns() {
    let names: Vec<String> = TableRule::default()
        .columns()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        names,
        [
            "voltage_V",
            "current_A",
            "power_kW",
            "energy_kWh",
            "power_factor",
            "frequency_Hz",
            "kg",
            "eu"
        ]
    );
    assert_eq!(TableRule::inferred().entries().len(), 8);
    assert_eq!(
        TableRule::inferred()
            .entry(Label::Hz)
            .unwrap()
            .unit
            .symbol(),
        "Hz"
    );
}
