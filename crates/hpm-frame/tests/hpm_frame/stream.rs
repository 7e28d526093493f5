//! The streaming decoder.

use std::fmt::Write as _;

use hpm_frame::{
    Frame, FrameReader, StreamDecoder,
    stream::{RejectReason, Stats},
};

use crate::{data, golden, seed_frames};

/// Frames and final counters of `input` fed in chunks of `size` bytes.
pub fn decode_in_chunks(input: &[u8], size: usize) -> (Vec<Frame>, Stats) {
    let mut dec = StreamDecoder::new();
    let mut frames = Vec::new();
    for chunk in input.chunks(size.max(1)) {
        dec.feed(chunk, |f| frames.push(f));
        assert!(dec.pending().len() < dec.max_frame_len());
    }
    (frames, dec.stats())
}

#[test]
fn seed_stream_in_any_chunking() {
    let input = data("stream-seed.bin");
    let (frames, stats) = decode_in_chunks(&input, input.len());
    assert_eq!(frames, seed_frames());
    assert_eq!(stats.frames, 4);
    assert_eq!(stats.frame_bytes, 4 * 84);
    assert_eq!(stats.whitespace_bytes, 8);
    assert_eq!(stats.skipped_bytes, 0);
    assert_eq!(stats.rejected, 0);
    assert_eq!(stats.bytes_in, input.len() as u64);
    for size in 1..=input.len() {
        assert_eq!(
            decode_in_chunks(&input, size),
            (frames.clone(), stats),
            "chunks of {size}"
        );
    }
    // Every split into two chunks.
    for k in 0..=input.len() {
        let mut dec = StreamDecoder::new();
        let mut got = dec.feed_to_vec(&input[..k]);
        got.extend(dec.feed_to_vec(&input[k..]));
        assert_eq!(got, frames, "split at {k}");
    }
}

#[test]
fn each_frame_comes_out_as_soon_as_its_e_arrives() {
    let input = data("stream-seed.bin");
    let mut dec = StreamDecoder::new();
    let mut ends = Vec::new();
    for (i, b) in input.iter().enumerate() {
        if !dec.feed_to_vec(std::slice::from_ref(b)).is_empty() {
            ends.push(i);
        }
    }
    // Each frame is 84 bytes, then CR LF: the `E` is byte 83 of each 86.
    assert_eq!(ends, [83, 83 + 86, 83 + 2 * 86, 83 + 3 * 86]);
}

/// A report of decoding `input` in chunks of `size`: frames, rejections, counters.
fn report(input: &[u8], size: usize) -> String {
    let mut dec = StreamDecoder::new();
    let mut out = String::new();
    let mut last = None;
    for chunk in input.chunks(size) {
        dec.feed(chunk, |f| writeln!(out, "frame    {f}").unwrap());
        // Rejections are reported through `last_rejection`; with one-byte chunks
        // none is missed.
        if dec.last_rejection() != last.as_ref() {
            last = dec.last_rejection().cloned();
            writeln!(out, "rejected {}", last.as_ref().unwrap()).unwrap();
        }
    }
    if let Some(r) = dec.finish() {
        writeln!(out, "finish   {r}").unwrap();
    }
    writeln!(out, "{:?}", dec.stats()).unwrap();
    out
}

#[test]
fn noisy_capture_golden() {
    let input = data("stream-noisy.bin");
    let text = report(&input, 1);
    golden("stream-noisy.expected", &text);
    // The frames and counters do not depend on the chunking.
    let whole = decode_in_chunks(&input, input.len());
    for size in [1, 2, 3, 7, 64, 100, 511, 512, 513] {
        assert_eq!(decode_in_chunks(&input, size), whole, "chunks of {size}");
    }
    assert_eq!(whole.0.len(), 5);
}

#[test]
fn annotated_frame_over_several_lines() {
    let input = data("annotated-lines.bin");
    let (frames, stats) = decode_in_chunks(&input, 1);
    assert_eq!(
        frames,
        [Frame::parse(b"S 22003Vo 10003Am 22002Wa 10001Pf 60001Hz E").unwrap()]
    );
    assert_eq!(stats.rejected, 0);
    assert_eq!(stats.whitespace_bytes, 2);
}

#[test]
fn overlong_candidates_are_dropped_and_memory_stays_bounded() {
    let mut dec = StreamDecoder::with_max_frame_len(100);
    let mut frames = Vec::new();
    // A start with no end (fields of the right shape, far too many), 10 kB of
    // them, then a good frame.
    let mut input = b"S".to_vec();
    input.extend(b":      1Xy".repeat(1000));
    input.extend_from_slice(b"\r\nS:  21693Vo  E\r\n");
    for chunk in input.chunks(7) {
        dec.feed(chunk, |f| frames.push(f));
        assert!(dec.pending().len() < 100);
    }
    assert_eq!(frames, [Frame::parse(b"S:  21693Vo  E").unwrap()]);
    assert_eq!(dec.stats().rejected, 1);
    assert_eq!(
        dec.last_rejection().unwrap().reason,
        RejectReason::TooLong { max: 100 }
    );
    assert_eq!(dec.last_rejection().unwrap().at, 0);
    // A frame of exactly the maximum length is accepted, one byte more is not.
    let exact = format!("S{}  E", ":      1Xy".repeat(9));
    assert_eq!(exact.len(), 94);
    let mut dec = StreamDecoder::with_max_frame_len(94);
    assert_eq!(dec.feed_to_vec(exact.as_bytes()).len(), 1);
    let mut dec = StreamDecoder::with_max_frame_len(93);
    assert!(dec.feed_to_vec(exact.as_bytes()).is_empty());
}

#[test]
fn finish_reports_a_truncated_frame() {
    let mut dec = StreamDecoder::new();
    assert!(dec.feed_to_vec(b"S:  21693Vo:  424").is_empty());
    assert_eq!(dec.pending(), b"S:  21693Vo:  424");
    let r = dec.finish().unwrap();
    assert_eq!(r.reason, RejectReason::Truncated);
    assert_eq!(
        r.to_string(),
        "frame starting at stream byte 0 rejected: the stream ended inside a frame"
    );
    assert!(dec.pending().is_empty());
    assert_eq!(dec.stats().skipped_bytes, 13);
    assert_eq!(dec.stats().whitespace_bytes, 4);
    assert_eq!(dec.finish(), None);
}

#[test]
fn rejection_says_where_and_what() {
    let mut dec = StreamDecoder::new();
    dec.feed(b"xxS:  2169\x003Vo  E", |_| {});
    assert_eq!(
        dec.last_rejection().unwrap().to_string(),
        "frame starting at stream byte 2 rejected: damaged frame: at byte 8: expected a value of exactly 7 characters (spaces, then digits), found byte 0x00"
    );
}

#[test]
fn a_failing_consumer_stops_the_chunk_and_the_decoder_goes_on() {
    let input = data("stream-seed.bin");
    let mut dec = StreamDecoder::new();
    let mut seen = 0;
    let res: Result<(), &str> = dec.try_feed(&input, |_| {
        seen += 1;
        if seen == 2 { Err("disk full") } else { Ok(()) }
    });
    assert_eq!(res, Err("disk full"));
    assert_eq!(seen, 2);
    assert_eq!(dec.feed_to_vec(&input).len(), 4);
}

#[test]
fn frame_reader_matches_the_decoder() {
    let input = data("stream-noisy.bin");
    let mut reader = FrameReader::new(&input[..]);
    let frames: Vec<Frame> = reader.by_ref().map(Result::unwrap).collect();
    let (expected, stats) = decode_in_chunks(&input, input.len());
    assert_eq!(frames, expected);
    // The reader finished the stream: the truncated last frame was rejected.
    assert_eq!(reader.decoder().stats().rejected, stats.rejected + 1);
}

#[test]
fn frame_reader_returns_read_errors() {
    struct Failing(u8);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0 += 1;
            match self.0 {
                1 => {
                    let f = b"S:  21693Vo  E\r\n";
                    buf[..f.len()].copy_from_slice(f);
                    Ok(f.len())
                }
                2 => Err(std::io::ErrorKind::Interrupted.into()),
                _ => Err(std::io::Error::other("cable pulled")),
            }
        }
    }
    let items: Vec<_> = FrameReader::new(Failing(0)).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(items[1].as_ref().unwrap_err().to_string(), "cable pulled");
}

#[test]
fn a_carried_frame_is_rejected_at_a_byte_no_frame_holds() {
    let mut dec = StreamDecoder::new();
    dec.feed(b"S:  2169", |_| {});
    assert_eq!(dec.pending(), b"S:  2169");
    dec.feed(b"3V\xffo", |_| {});
    assert!(dec.pending().is_empty());
    assert_eq!(
        dec.last_rejection().unwrap().to_string(),
        "frame starting at stream byte 0 rejected: damaged frame: at byte 10: expected a two-letter label, found byte 0xff"
    );
    // Damage made of frame bytes waits for the next `E`.
    dec.feed(b"S:  21693Vo", |_| {});
    dec.feed(b"::", |_| {});
    assert_eq!(dec.stats().rejected, 1);
    assert_eq!(dec.pending(), b"S:  21693Vo::");
    assert_eq!(dec.feed_to_vec(b"  E S:      1Vo  E").len(), 1);
    assert_eq!(dec.stats().rejected, 2);
}

#[test]
fn fuzz_regression_nul_nul_is_no_label() {
    // Found by the hpm_stream fuzz target: an annotated candidate with the label
    // bytes NUL NUL was accepted as `Vo` when it arrived whole.
    let input = b"S\n22\x00\x00         E\r\n";
    for size in 1..=input.len() {
        let mut dec = StreamDecoder::with_max_frame_len(16);
        let mut frames = Vec::new();
        for chunk in input.chunks(size) {
            dec.feed(chunk, |f| frames.push(f));
        }
        assert!(frames.is_empty(), "chunks of {size}");
        assert_eq!(dec.stats().rejected, 1);
    }
}

#[test]
fn with_a_line_end_required_a_frame_counts_when_its_cr_arrives() {
    let frame = Frame::parse(b"S:  21693Vo  E").unwrap();
    let mut dec = StreamDecoder::new().require_line_end();
    assert!(dec.feed_to_vec(b"S:  21693Vo  E").is_empty());
    assert_eq!(dec.pending(), b"S:  21693Vo  E");
    assert_eq!(dec.feed_to_vec(b"\r"), [frame]);
    // Something else after `E`: not the meter's frame end.
    assert!(dec.feed_to_vec(b"S:  21693Vo  Ex\r\n").is_empty());
    assert_eq!(
        dec.last_rejection().unwrap().to_string(),
        "frame starting at stream byte 15 rejected: no line end right after the frame's 'E', found 'x'"
    );
    assert!(dec.feed_to_vec(b"S:  21693Vo  ES:  21693Vo  E\n").len() == 1);
    // Any chunking gives the same frames.
    let input = b"S:  21693Vo  E\r\nS:  21693Vo  E S:  21693Vo  E\nS:  21693Vo  E";
    let whole = StreamDecoder::new().require_line_end().feed_to_vec(input);
    assert_eq!(whole.len(), 2);
    for size in 1..input.len() {
        let mut dec = StreamDecoder::new().require_line_end();
        let mut frames = Vec::new();
        for chunk in input.chunks(size) {
            dec.feed(chunk, |f| frames.push(f));
        }
        assert_eq!(frames, whole, "chunks of {size}");
        assert_eq!(dec.finish().unwrap().reason, RejectReason::Truncated);
    }
}
