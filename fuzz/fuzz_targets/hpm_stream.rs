//! hpm-frame's stream decoder on arbitrary bytes in arbitrary chunks: it must never
//! panic, keep memory bounded, account for every byte, agree with itself whatever
//! the chunking, and hand out only frames that print back to parseable text.
#![no_main]

use hpm_frame::{Frame, StreamDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    // The first byte picks the chunk size and the maximum frame length.
    let chunk = usize::from(control & 0x3f) + 1;
    let max = 16 + usize::from(control >> 6) * 200;

    let mut dec = StreamDecoder::with_max_frame_len(max);
    let mut chunked = Vec::new();
    for part in input.chunks(chunk) {
        dec.feed(part, |f| chunked.push(f));
        assert!(dec.pending().len() < dec.max_frame_len());
    }
    let s = dec.stats();
    assert_eq!(
        s.bytes_in,
        s.frame_bytes + s.whitespace_bytes + s.skipped_bytes + dec.pending().len() as u64
    );
    dec.finish();

    let mut whole = StreamDecoder::with_max_frame_len(max);
    assert_eq!(whole.feed_to_vec(input), chunked);

    for frame in &chunked {
        assert_eq!(&Frame::parse(frame.to_string().as_bytes()).unwrap(), frame);
    }
});
