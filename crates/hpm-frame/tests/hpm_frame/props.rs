//! Property tests: round trip, byte soup, frames in noise, and the stream decoder
//! against a plain reference model built on the complete-input parser.

use std::io::BufReader;

use hpm_frame::{
    Frame, LogReader, StreamDecoder,
    field::{Digits, Field, Label},
};
use proptest::prelude::*;

/// Letters a label may hold: every ASCII letter but `S`.
fn label_letters() -> Vec<u8> {
    (b'A'..=b'Z')
        .chain(b'a'..=b'z')
        .filter(|&b| b != b'S')
        .collect()
}

fn arb_label() -> impl Strategy<Value = Label> {
    prop_oneof![
        proptest::sample::select(Label::KNOWN.to_vec()),
        (
            proptest::sample::select(label_letters()),
            proptest::sample::select(label_letters()),
        )
            .prop_map(|(a, b)| Label::from_bytes([a, b]).unwrap()),
    ]
}

fn arb_field() -> impl Strategy<Value = Field> {
    (arb_label(), "[0-9]{1,7}").prop_map(|(label, d)| Field {
        label,
        digits: Digits::new(d.as_bytes()).unwrap(),
    })
}

/// Random frames: each known label at most once (a repeated one is dropped).
pub fn arb_frame() -> impl Strategy<Value = Frame> {
    proptest::collection::vec(arb_field(), 1..=Frame::MAX_FIELDS).prop_map(|fields| {
        let mut kept: Vec<Field> = Vec::new();
        for f in fields {
            if !(f.label.is_known() && kept.iter().any(|k| k.label == f.label)) {
                kept.push(f);
            }
        }
        Frame::new(kept).unwrap()
    })
}

/// The plain model: at each `S` (left to right, never inside an accepted frame),
/// the shortest prefix within `max` bytes that `Frame::parse` accepts whole.
fn reference(input: &[u8], max: usize) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut p = 0;
    while let Some(s) = input[p..].iter().position(|&b| b == b'S').map(|s| p + s) {
        let end = input.len().min(s + max);
        match (s + 1..=end).find_map(|k| Frame::parse(&input[s..k]).ok().map(|f| (k, f))) {
            Some((k, f)) => {
                out.push(f);
                p = k;
            }
            None => p = s + 1,
        }
    }
    out
}

/// Pieces that make interesting streams: frames in both forms, cut frames,
/// noise, and the bytes that matter to the grammar.
fn arb_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => arb_frame().prop_map(|f| format!("{f}\r\n").into_bytes()),
        1 => arb_frame().prop_map(|f| f.to_annotated("\r\n").into_bytes()),
        2 => (arb_frame(), 0usize..60).prop_map(|(f, n)| {
            let s = f.to_string().into_bytes();
            s[..n.min(s.len() - 1)].to_vec()
        }),
        2 => proptest::collection::vec(any::<u8>(), 0..12),
        2 => proptest::collection::vec(
            proptest::sample::select(b"SE: \r\n09VoEuxy\x00\xff".to_vec()),
            0..12
        ),
    ]
}

fn decode(input: &[u8], max: usize, chunks: &[usize]) -> (Vec<Frame>, StreamDecoder) {
    let mut dec = StreamDecoder::with_max_frame_len(max);
    let mut frames = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = chunks[i % chunks.len()].min(rest.len());
        i += 1;
        dec.feed(&rest[..n], |f| frames.push(f));
        assert!(dec.pending().len() < dec.max_frame_len());
        rest = &rest[n..];
    }
    (frames, dec)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_of_display_is_the_frame(frame in arb_frame()) {
        let text = frame.to_string();
        prop_assert_eq!(Frame::parse(text.as_bytes()).unwrap(), frame.clone());
        let mut bytes = Vec::new();
        frame.write_live(&mut bytes);
        prop_assert_eq!(bytes, text.into_bytes());
    }

    #[test]
    fn every_form_parses_to_the_same_frame_and_raw_is_what_arrived(
        frame in arb_frame(),
        sep in proptest::sample::select(vec![" ", "\r\n", "\n", "\r"]),
    ) {
        let live = frame.to_string();
        let parsed = Frame::parse(live.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &frame);
        prop_assert_eq!(parsed.raw(), live);
        let annotated = frame.to_annotated(sep);
        let parsed = Frame::parse(annotated.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &frame);
        prop_assert_eq!(parsed.raw(), annotated);
    }

    #[test]
    fn byte_soup_never_panics_and_every_byte_is_accounted_for(
        soup in proptest::collection::vec(any::<u8>(), 0..2000),
        chunks in proptest::collection::vec(1usize..300, 1..8),
        max in 4usize..600,
    ) {
        let (frames, mut dec) = decode(&soup, max, &chunks);
        // Whatever the chunking, the same frames.
        let (whole, _) = decode(&soup, max, &[soup.len().max(1)]);
        prop_assert_eq!(&frames, &whole);
        let s = dec.stats();
        prop_assert_eq!(s.frames, frames.len() as u64);
        prop_assert_eq!(
            s.bytes_in,
            s.frame_bytes + s.whitespace_bytes + s.skipped_bytes + dec.pending().len() as u64
        );
        dec.finish();
        let s = dec.stats();
        prop_assert_eq!(s.bytes_in, s.frame_bytes + s.whitespace_bytes + s.skipped_bytes);
        // The log reader takes the same soup.
        let n_lines = soup.split(|&b| b == b'\n').count() as u64;
        for item in LogReader::new(BufReader::with_capacity(chunks[0], &soup[..])) {
            if let Err(e) = item {
                prop_assert!(e.line() >= 1 && e.line() <= n_lines);
            }
        }
    }

    #[test]
    fn requiring_line_ends_keeps_chunking_irrelevant_and_only_drops_frames(
        pieces in proptest::collection::vec(arb_piece(), 0..16),
        chunks in proptest::collection::vec(1usize..200, 1..6),
    ) {
        let input = pieces.concat();
        let feed = |sizes: &[usize]| {
            let mut dec = StreamDecoder::new().require_line_end();
            let mut frames = Vec::new();
            let mut rest = &input[..];
            let mut i = 0;
            while !rest.is_empty() {
                let n = sizes[i % sizes.len()].min(rest.len());
                i += 1;
                dec.feed(&rest[..n], |f| frames.push(f));
                rest = &rest[n..];
            }
            frames
        };
        let strict = feed(&chunks);
        prop_assert_eq!(&strict, &feed(&[input.len().max(1)]));
        // Every frame it gives, the plain decoder gives too, in order.
        let (plain, _) = decode(&input, 512, &chunks);
        let mut it = plain.iter();
        for f in &strict {
            prop_assert!(it.any(|p| p == f));
        }
    }

    #[test]
    fn the_decoder_agrees_with_the_reference_model(
        pieces in proptest::collection::vec(arb_piece(), 0..16),
        chunks in proptest::collection::vec(1usize..200, 1..6),
        max in prop_oneof![Just(512usize), 4usize..200],
    ) {
        let input = pieces.concat();
        let (frames, _) = decode(&input, max, &chunks);
        prop_assert_eq!(frames, reference(&input, max));
    }

    #[test]
    fn frames_in_noise_are_all_recovered_in_order_and_none_invented(
        parts in proptest::collection::vec(
            (arb_frame(), proptest::collection::vec(any::<u8>().prop_filter("no S", |&b| b != b'S'), 0..40), any::<bool>()),
            0..12
        ),
        tail in proptest::collection::vec(any::<u8>().prop_filter("no S", |&b| b != b'S'), 0..40),
        chunks in proptest::collection::vec(1usize..120, 1..6),
    ) {
        let mut input = Vec::new();
        let mut noise_bytes = 0u64;
        let mut expected = Vec::new();
        let count_noise = |n: &[u8]| n.iter().filter(|b| !b" \t\r\n".contains(b)).count() as u64;
        for (frame, noise, annotated) in &parts {
            input.extend_from_slice(noise);
            noise_bytes += count_noise(noise);
            if *annotated {
                input.extend_from_slice(frame.to_annotated(" ").as_bytes());
            } else {
                input.extend_from_slice(frame.to_string().as_bytes());
            }
            expected.push(frame.clone());
        }
        input.extend_from_slice(&tail);
        noise_bytes += count_noise(&tail);
        let (frames, dec) = decode(&input, StreamDecoder::DEFAULT_MAX_FRAME_LEN, &chunks);
        prop_assert_eq!(frames, expected);
        let s = dec.stats();
        prop_assert_eq!(s.rejected, 0);
        prop_assert_eq!(s.skipped_bytes, noise_bytes);
    }
}
