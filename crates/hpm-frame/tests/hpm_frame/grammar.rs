//! The frame grammar and the raw model.

use hpm_frame::{
    FieldError, Frame, FrameError,
    field::{Digits, Field, Label},
};

use crate::{SEED, data, seed_frames};

#[test]
fn seed_frames_keep_every_label_and_digit_string() {
    let expected: [[&str; 8]; 4] = [
        ["21693", "42412", "46461", "21", "5051", "59981", "01", "01"],
        ["21693", "42422", "46481", "31", "5051", "59981", "01", "01"],
        ["21693", "42422", "46481", "31", "5051", "59971", "01", "01"],
        ["21693", "42432", "46461", "41", "5041", "59971", "01", "01"],
    ];
    for (frame, digits) in seed_frames().iter().zip(expected) {
        let labels: Vec<Label> = frame.fields().iter().map(|f| f.label).collect();
        assert_eq!(labels, Label::KNOWN);
        let got: Vec<&str> = frame.fields().iter().map(|f| f.digits.as_str()).collect();
        assert_eq!(got, digits);
    }
}

#[test]
fn seed_frames_display_byte_for_byte_as_sent() {
    // The meter's live form is the canonical form: writing a parsed frame back
    // gives the received bytes.
    let stream = data("stream-seed.bin");
    let lines: Vec<&[u8]> = stream
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 4);
    for (line, text) in lines.iter().zip(SEED) {
        let line = line.strip_suffix(b"\r").unwrap();
        assert_eq!(line, text.as_bytes());
        let frame = Frame::parse(line).unwrap();
        assert_eq!(frame.to_string().as_bytes(), line);
        let mut bytes = Vec::new();
        frame.write_live(&mut bytes);
        assert_eq!(bytes, line);
    }
}

#[test]
fn annotated_form_on_one_line_and_one_field_per_line() {
    let one_line = Frame::parse(b"S 22003Vo 10003Am 22002Wa 10001Pf 60001Hz E").unwrap();
    let capture = data("annotated-lines.bin");
    let per_line = Frame::parse(capture.strip_suffix(b"\r\n").unwrap()).unwrap();
    let lf_only = Frame::parse(b"S\n22003Vo\n10003Am\n22002Wa\n10001Pf\n60001Hz\nE").unwrap();
    assert_eq!(one_line, per_line);
    assert_eq!(one_line, lf_only);
    assert_eq!(
        one_line.to_string(),
        "S:  22003Vo:  10003Am:  22002Wa:  10001Pf:  60001Hz  E"
    );
    assert_eq!(
        one_line.to_annotated("\n"),
        "S\n22003Vo\n10003Am\n22002Wa\n10001Pf\n60001Hz\nE"
    );
}

#[test]
fn every_known_label_in_both_forms() {
    for label in Label::KNOWN {
        let live = format!("S:  12345{label}  E");
        let annotated = format!("S 12345{label} E");
        let a = Frame::parse(live.as_bytes()).unwrap();
        let b = Frame::parse(annotated.as_bytes()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.fields(), [Field::parse(label.as_str(), "12345").unwrap()]);
        assert!(label.is_known());
        assert_eq!(a.get(label).unwrap().digits.as_str(), "12345");
    }
}

#[test]
fn only_the_meters_exact_shape_is_a_frame() {
    // Live form: each value exactly 7 characters, the trailer exactly "  E".
    assert!(Frame::parse(b"S:  21693Vo:  42412Am  E").is_ok());
    assert!(Frame::parse(b"S:     21Wh:0000001Kg  E").is_ok());
    for bad in [
        &b"S:21693Vo:42412AmE"[..],
        b"S:   \t 21693Vo:42412Am \t E",
        b"S:  21693Vo: 42412Am  E",
        b"S:  21693Vo:   42412Am  E",
        b"S:  21693Vo:  42412Am E",
        b"S:  21693Vo:  42412Am   E",
        b"S:  21693Vo:  42412AmE",
        b"S:\t 21693Vo  E",
        b"S:  21693Vo:  42412Am:  42412Am  E",
    ] {
        assert!(
            Frame::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // Annotated form: one separator, the same throughout.
    for good in [
        &b"S 22003Vo 10003Am E"[..],
        b"S\r22003Vo\r10003Am\rE",
        b"S\n22003Vo\n10003Am\nE",
        b"S\r\n22003Vo\r\n10003Am\r\nE",
    ] {
        let f = Frame::parse(good).unwrap();
        assert_eq!(f.raw().as_bytes(), good, "raw is what arrived");
    }
    for bad in [
        &b"S  22003Vo 10003Am E"[..],
        b"S 22003Vo  10003Am E",
        b"S 22003Vo 10003Am  E",
        b"S\t22003Vo\t10003Am\tE",
        b"S 22003Vo\n10003Am E",
        b"S \r\n22003Vo 10003Am E",
        b"S 22003Vo 10003Am E ",
    ] {
        assert!(
            Frame::parse(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn unknown_two_letter_labels_are_kept() {
    let f = Frame::parse(b"S:  21693Vo:     77Xy:    123ab:     01Eu  E").unwrap();
    let labels: Vec<&str> = f.fields().iter().map(|f| f.label.as_str()).collect();
    assert_eq!(labels, ["Vo", "Xy", "ab", "Eu"]);
    assert!(matches!(f.fields()[1].label, Label::Other(o) if o.as_bytes() == b"Xy"));
    assert!(!f.fields()[1].label.is_known());
    assert_eq!(
        f.to_string(),
        "S:  21693Vo:     77Xy:    123ab:     01Eu  E"
    );
    assert_eq!(Frame::parse(f.to_string().as_bytes()).unwrap(), f);
}

#[test]
fn every_pair_of_letters_but_s_is_a_label_and_known_ones_never_other() {
    let letters = (b'A'..=b'Z').chain(b'a'..=b'z').filter(|&b| b != b'S');
    for a in letters.clone() {
        for b in letters.clone() {
            let label = Label::from_bytes([a, b]).unwrap();
            assert_eq!(label.as_str().as_bytes(), [a, b]);
            let known = Label::KNOWN.iter().any(|k| k.as_str().as_bytes() == [a, b]);
            assert_eq!(label.is_known(), known, "{}", label);
        }
    }
    // Every other pair of bytes is no label (NUL NUL once matched an empty slot of
    // the known labels' hash table: found by the hpm_stream fuzz target).
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            let letters =
                a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && a != b'S' && b != b'S';
            assert_eq!(Label::from_bytes([a, b]).is_some(), letters, "{:?}", [a, b]);
        }
    }
    assert!(Frame::parse(b"S:  22\0\0  E").is_err());
}

#[test]
fn errors_say_where_and_what() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"",
            "at byte 0: expected 'S' (start of frame), found end of input",
        ),
        (
            b"X:  21693Vo  E",
            "at byte 0: expected 'S' (start of frame), found 'X'",
        ),
        (
            b"S-21693Vo  E",
            "at byte 1: expected ':', a space or a line end after 'S', found '-'",
        ),
        (
            b"S:  2169\x003Vo  E",
            "at byte 8: expected a value of exactly 7 characters (spaces, then digits), found byte 0x00",
        ),
        (
            b"S:  21693V",
            "at byte 10: expected a two-letter label, found end of input",
        ),
        (
            b"S:  21693Vo",
            "at byte 11: expected another field or 'E' (end of frame), found end of input",
        ),
        (
            b"S:  21693Vo;",
            "at byte 11: expected another field or 'E' (end of frame), found ';'",
        ),
        (
            b"S:  \xff1693Vo  E",
            "at byte 4: expected a value of exactly 7 characters (spaces, then digits), found byte 0xff",
        ),
        (
            b"S:  Vo  E",
            "at byte 4: expected a value of exactly 7 characters (spaces, then digits), found 'V'",
        ),
        (
            b"S:12345678Vo  E",
            "at byte 9: expected a two-letter label, found '8'",
        ),
        (
            b"S:  21693Vo  E ",
            "at byte 14: expected end of input after 'E', found ' '",
        ),
        (
            b"S 22003Vo10003Am E",
            "at byte 9: expected the separator used after 'S', found '1'",
        ),
        (
            b"S:  21693Vo\r\n:  42412Am  E",
            "at byte 11: expected another field or 'E' (end of frame), found byte 0x0d",
        ),
        (
            b"S:  2169Vo:  42412Am  E",
            "at byte 8: expected a value of exactly 7 characters (spaces, then digits), found 'V'",
        ),
        (
            b"S: 21693Vo  E",
            "at byte 8: expected a value of exactly 7 characters (spaces, then digits), found 'V'",
        ),
        (
            b"S:       Vo  E",
            "at byte 8: expected a value of exactly 7 characters (spaces, then digits), found ' '",
        ),
        (
            b"S:  21693Vo E",
            "at byte 12: expected '  E' (two spaces and the end of frame), found 'E'",
        ),
        (
            b"S:  21693Vo   E",
            "at byte 13: expected '  E' (two spaces and the end of frame), found ' '",
        ),
        (
            b"S:  21693Vo:  21693Vo  E",
            "at byte 19: label Vo a second time",
        ),
        (
            b"S:  21693VS:  42412Am  E",
            "at byte 10: expected a two-letter label, found 'S'",
        ),
        (
            b"S 22003Vo\r\n10003Am E",
            "at byte 9: expected the separator used after 'S', found byte 0x0d",
        ),
        (
            b"S\r\n22003Vo\r10003Am\r\nE",
            "at byte 11: expected the separator used after 'S', found '1'",
        ),
    ];
    for (input, message) in cases {
        let err = Frame::parse(input).unwrap_err();
        assert_eq!(
            err.to_string(),
            *message,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    let many = format!("S{}  E", ":      1Xy".repeat(Frame::MAX_FIELDS + 1));
    let err = Frame::parse(many.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        FrameError::TooManyFields {
            offset: 2 + 10 * Frame::MAX_FIELDS,
            max: Frame::MAX_FIELDS
        }
    );
    assert_eq!(err.offset(), 162);
}

#[test]
fn model_constructors_check_their_input() {
    assert_eq!(Frame::new([]).unwrap_err(), FieldError::FieldCount(0));
    let f = Field::parse("Xy", "1").unwrap();
    assert_eq!(
        Frame::new(std::iter::repeat_n(f, 17))
            .unwrap_err()
            .to_string(),
        "a frame holds 1 to 16 fields, not 17"
    );
    assert_eq!(
        Frame::new(std::iter::repeat_n(f, 16))
            .unwrap()
            .fields()
            .len(),
        16
    );
    let vo = Field::parse("Vo", "1").unwrap();
    assert_eq!(
        Frame::new([vo, f, vo]).unwrap_err().to_string(),
        "label Vo more than once in one frame"
    );
    assert!("Sx".parse::<Label>().is_err());
    assert!("xS".parse::<Label>().is_err());
    assert!("sx".parse::<Label>().is_ok());
    assert_eq!(
        Digits::new(b"12a").unwrap_err().to_string(),
        "digits \"12a\": expected 1 to 7 ASCII digits"
    );
    assert!(Digits::new(b"").is_err());
    assert!(Digits::new(b"12345678").is_err());
    assert_eq!(Digits::new(b"0001234").unwrap().as_str(), "0001234");
    assert_eq!(
        "V".parse::<Label>().unwrap_err().to_string(),
        "label \"V\": expected exactly two ASCII letters other than 'S'"
    );
    assert_eq!("Hz".parse::<Label>().unwrap(), Label::Hz);
    assert_eq!(Field::parse("Xy", "01").unwrap().to_string(), "01Xy");
    // Leading zeros are part of the digit string.
    assert_ne!(Digits::new(b"01").unwrap(), Digits::new(b"1").unwrap());
}

#[test]
fn from_str_and_debug() {
    let f: Frame = SEED[0].parse().unwrap();
    assert_eq!(format!("{f:?}"), format!("Frame({:?})", SEED[0]));
    assert_eq!((&f).into_iter().count(), 8);
}
