//! Frames out of a byte stream that arrives in chunks of any size.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::{self, Read};

use memchr::memchr;
use nom::Err;

use crate::error::FrameError;
use crate::frame::Frame;
use crate::grammar;

/// Counters of a [`StreamDecoder`].
///
/// Every byte fed is, in the end, part of an accepted frame, whitespace between
/// frames, a skipped byte, or still pending:
/// `bytes_in = frame_bytes + whitespace_bytes + skipped_bytes + pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Bytes fed.
    pub bytes_in: u64,
    /// Frames accepted.
    pub frames: u64,
    /// Bytes of the accepted frames.
    pub frame_bytes: u64,
    /// Candidates rejected: an `S` that did not start a valid frame (noise, a
    /// truncated or damaged frame, or one longer than the maximum).
    pub rejected: u64,
    /// Bytes outside accepted frames, other than whitespace: noise and the bytes of
    /// rejected candidates.
    pub skipped_bytes: u64,
    /// Whitespace (CR, LF, space, tab) outside accepted frames, such as the CR LF
    /// after each frame.
    pub whitespace_bytes: u64,
}

/// Why a candidate frame was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// It does not fit the grammar.
    #[error("damaged frame: {0}")]
    Syntax(FrameError),
    /// No end within the maximum frame length.
    #[error("no 'E' within {max} bytes")]
    TooLong {
        /// The maximum frame length.
        max: usize,
    },
    /// The stream ended before the frame's `E` ([`StreamDecoder::finish`]).
    #[error("the stream ended inside a frame")]
    Truncated,
    /// The frame's `E` was not followed by its line end
    /// ([`StreamDecoder::require_line_end`], [`StreamDecoder::require_cr`]).
    #[error("no line end right after the frame's 'E', found {0}")]
    NoLineEnd(crate::error::Found),
}

/// A rejected candidate frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame starting at stream byte {at} rejected: {reason}")]
pub struct Rejection {
    /// Stream offset (counted from the first byte fed) of the candidate's `S`.
    pub at: u64,
    /// Why it was rejected; offsets in it count from the candidate's `S`.
    pub reason: RejectReason,
}

/// A resynchronising frame decoder for a byte stream.
///
/// Feed it chunks of any size, from one byte to megabytes; each frame is handed
/// out as soon as its `E` arrives. Anything that is not a valid frame (noise, NUL
/// bytes, bytes ≥ 0x80, truncated or damaged frames, CR/LF in odd places) is
/// skipped and counted, and decoding goes on at the next `S`. At most
/// [`max_frame_len`](StreamDecoder::max_frame_len) bytes are kept between calls;
/// a candidate longer than that is rejected. It never panics.
///
/// ```
/// use hpm_frame::{StreamDecoder, field::Label};
///
/// let mut dec = StreamDecoder::new();
/// let mut frames = Vec::new();
/// // Noise, then one frame split over two reads.
/// dec.feed(b"\x00\xffgarbage\r\nS:  21693Vo:  424", |f| frames.push(f));
/// assert!(frames.is_empty());
/// dec.feed(b"12Am  E\r\n", |f| frames.push(f));
/// assert_eq!(frames.len(), 1);
/// assert_eq!(frames[0].get(Label::Am).unwrap().digits.as_str(), "42412");
/// assert_eq!(dec.stats().skipped_bytes, 9); // NUL, 0xff and "garbage"
/// ```
#[derive(Debug, Clone)]
pub struct StreamDecoder {
    /// An incomplete candidate starting with `S`, shorter than `max`.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_at: u64,
    max: usize,
    stats: Stats,
    last_rejection: Option<Rejection>,
    /// Every rejection since the last `take_rejections`, when asked for.
    rejections: Option<Vec<Rejection>>,
    /// A frame counts only once one of these bytes follows its `E` (empty: at
    /// once).
    line_end: &'static [u8],
}

/// The outcome of offering a chunk to the pending candidate.
// Only ever a short-lived return value: boxing the frame would allocate per frame.
#[allow(clippy::large_enum_variant)]
enum Carry {
    /// All of the chunk is pending.
    NeedMore,
    /// A frame ended after this many bytes of the chunk; nothing is pending.
    Frame(Frame, usize),
    /// Nothing is pending; go on with the chunk after this many bytes.
    Resume(usize),
    /// A shorter candidate is pending; offer the chunk again.
    Retry,
}

/// Whether `b` may appear in a frame (either form).
#[inline]
fn in_frame_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b':' | b' ' | b'\t' | b'\r' | b'\n')
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl Default for StreamDecoder {
    fn default() -> StreamDecoder {
        StreamDecoder::new()
    }
}

impl StreamDecoder {
    /// The default maximum frame length in bytes. A live frame of the meter is 86
    /// bytes; this leaves room for padding, the annotated form and extra fields.
    pub const DEFAULT_MAX_FRAME_LEN: usize = 512;

    /// A decoder with [`DEFAULT_MAX_FRAME_LEN`](Self::DEFAULT_MAX_FRAME_LEN).
    pub fn new() -> StreamDecoder {
        StreamDecoder::with_max_frame_len(StreamDecoder::DEFAULT_MAX_FRAME_LEN)
    }

    /// A decoder that rejects candidates longer than `max` bytes (at least 4).
    pub fn with_max_frame_len(max: usize) -> StreamDecoder {
        StreamDecoder {
            buf: Vec::new(),
            buf_at: 0,
            max: max.max(4),
            stats: Stats::default(),
            last_rejection: None,
            rejections: None,
            line_end: b"",
        }
    }

    /// A frame counts only when CR or LF follows its `E` at once, as the meter
    /// sends it: then it is handed out when that byte arrives. This is the rule
    /// a `watt.txt` log applies (the CR became the timestamp right after `E`),
    /// so live records and the records of the log agree.
    pub fn require_line_end(mut self) -> StreamDecoder {
        self.line_end = b"\r\n";
        self
    }

    /// Like [`require_line_end`](Self::require_line_end), with CR alone as the
    /// line end: the rule of a `watt.txt` log, whose timestamps replace CRs
    /// only (an LF after `E` leaves the frame without a time there).
    pub fn require_cr(mut self) -> StreamDecoder {
        self.line_end = b"\r";
        self
    }

    /// Whether `rest`, what follows a frame's `E`, lets it count (`None`: not
    /// known yet).
    #[inline]
    fn ends_well(&self, rest: &[u8]) -> Option<bool> {
        if self.line_end.is_empty() {
            return Some(true);
        }
        rest.first().map(|b| self.line_end.contains(b))
    }

    /// Keeps every rejection (not only the last) until
    /// [`take_rejections`](Self::take_rejections), for a caller that reports
    /// each damaged frame. Take them after each chunk: they are not bounded.
    pub fn keep_rejections(mut self) -> StreamDecoder {
        self.rejections = Some(Vec::new());
        self
    }

    /// The rejections kept since the last call (empty unless
    /// [`keep_rejections`](Self::keep_rejections)).
    pub fn take_rejections(&mut self) -> Vec<Rejection> {
        self.rejections
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The maximum frame length in bytes.
    pub fn max_frame_len(&self) -> usize {
        self.max
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The most recent rejection, if any (for diagnostics).
    pub fn last_rejection(&self) -> Option<&Rejection> {
        self.last_rejection.as_ref()
    }

    /// Bytes of an incomplete frame kept until more input arrives.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Feeds one chunk; `on_frame` gets every frame completed by it, in order.
    pub fn feed(&mut self, chunk: &[u8], mut on_frame: impl FnMut(Frame)) {
        let done: Result<(), Infallible> = self.try_feed(chunk, |f| {
            on_frame(f);
            Ok(())
        });
        match done {
            Ok(()) => {}
            Err(never) => match never {},
        }
    }

    /// Feeds one chunk and collects the frames it completes.
    pub fn feed_to_vec(&mut self, chunk: &[u8]) -> Vec<Frame> {
        let mut v = Vec::new();
        self.feed(chunk, |f| v.push(f));
        v
    }

    /// Like [`feed`](Self::feed), for a consumer that can fail (e.g. a writer). On
    /// the first error, decoding stops and the error is returned; the rest of the
    /// chunk is dropped, and the decoder stays usable for the next chunk.
    pub fn try_feed<E>(
        &mut self,
        chunk: &[u8],
        mut on_frame: impl FnMut(Frame) -> Result<(), E>,
    ) -> Result<(), E> {
        let base = self.stats.bytes_in;
        self.stats.bytes_in += chunk.len() as u64;
        let mut pos = 0usize;
        while !self.buf.is_empty() {
            match self.offer(&chunk[pos..]) {
                Carry::NeedMore => return Ok(()),
                Carry::Frame(frame, n) => {
                    pos += n;
                    on_frame(frame)?;
                }
                Carry::Resume(n) => pos += n,
                Carry::Retry => {}
            }
        }
        loop {
            let rest = &chunk[pos..];
            // Between frames there are usually only CR LF: look at a few bytes
            // before paying for a memchr call.
            let near = rest.iter().take(4).position(|&b| b == b'S');
            let Some(s) = near.or_else(|| memchr(b'S', rest)) else {
                self.gap(rest);
                return Ok(());
            };
            self.gap(&rest[..s]);
            let cand = &rest[s..];
            let window = &cand[..cand.len().min(self.max)];
            let at = base + (pos + s) as u64;
            let mut frame = Frame::empty();
            match grammar::frame_into::<false>(window, &mut frame) {
                Ok((r, ())) if self.ends_well(r) == Some(true) => {
                    let n = window.len() - r.len();
                    self.accept(n);
                    pos += s + n;
                    on_frame(frame)?;
                }
                Ok(([], ())) if cand.len() < self.max => {
                    // The line end is still to come.
                    self.buf.extend_from_slice(cand);
                    self.buf_at = at;
                    return Ok(());
                }
                Ok((r, ())) => {
                    let found = crate::error::Found(r.first().copied());
                    self.reject(at, RejectReason::NoLineEnd(found));
                    self.gap(&cand[..1]);
                    pos += s + 1;
                }
                Err(Err::Incomplete(_)) if cand.len() < self.max => {
                    self.buf.extend_from_slice(cand);
                    self.buf_at = at;
                    return Ok(());
                }
                Err(Err::Incomplete(_)) => {
                    self.reject(at, RejectReason::TooLong { max: self.max });
                    self.gap(&cand[..1]);
                    pos += s + 1;
                }
                Err(Err::Error(e) | Err::Failure(e)) => {
                    self.reject(at, RejectReason::Syntax(e.into_frame_error(window)));
                    self.gap(&cand[..1]);
                    pos += s + 1;
                }
            }
        }
    }

    /// Ends the stream: a pending incomplete frame is rejected as truncated (and
    /// returned), and the decoder is ready for a new stream with its counters kept.
    pub fn finish(&mut self) -> Option<Rejection> {
        if self.buf.is_empty() {
            return None;
        }
        let buf = std::mem::take(&mut self.buf);
        self.reject(self.buf_at, RejectReason::Truncated);
        self.gap(&buf);
        self.last_rejection.clone()
    }

    /// Offers `chunk` to the pending candidate.
    fn offer(&mut self, chunk: &[u8]) -> Carry {
        let old = self.buf.len();
        let waiting_for_line_end = self.buf.last() == Some(&b'E');
        let take = chunk.len().min(self.max - old);
        let new = &chunk[..take];
        self.buf.extend_from_slice(new);
        // A candidate can only complete at an `E`, and can only fail early at a
        // byte no frame holds; until one of those arrives (or the buffer is full),
        // parsing again would mostly repeat "incomplete". A candidate that breaks
        // the grammar with frame bytes is rejected at the next `E` instead.
        if self.buf.len() < self.max
            && !waiting_for_line_end
            && !new.iter().any(|&b| b == b'E' || !in_frame_alphabet(b))
        {
            return Carry::NeedMore;
        }
        let reason = match grammar::frame::<false>(&self.buf) {
            Ok((r, _)) if self.ends_well(r).is_none() && self.buf.len() < self.max => {
                return Carry::NeedMore;
            }
            Ok((r, _)) if self.ends_well(r) != Some(true) => {
                RejectReason::NoLineEnd(crate::error::Found(r.first().copied()))
            }
            Ok((r, frame)) => {
                let n = self.buf.len() - r.len();
                self.accept(n);
                self.buf.clear();
                // The pending part was incomplete, so the frame ends in the chunk.
                return Carry::Frame(frame, n.saturating_sub(old));
            }
            Err(Err::Incomplete(_)) if self.buf.len() < self.max => return Carry::NeedMore,
            Err(Err::Incomplete(_)) => RejectReason::TooLong { max: self.max },
            Err(Err::Error(e) | Err::Failure(e)) => {
                RejectReason::Syntax(e.into_frame_error(&self.buf))
            }
        };
        self.reject(self.buf_at, reason);
        // Look for the next candidate after the rejected `S`.
        let buf = std::mem::take(&mut self.buf);
        let next = memchr(b'S', &buf[1..]).map(|j| j + 1);
        let carry = match next {
            Some(i) if i < old => {
                // It starts in the part that was already pending: keep that part
                // from there and offer the chunk again.
                self.gap(&buf[..i]);
                self.buf = buf;
                self.buf.truncate(old);
                self.buf.drain(..i);
                self.buf_at += i as u64;
                return Carry::Retry;
            }
            Some(i) => {
                self.gap(&buf[..i]);
                Carry::Resume(i - old)
            }
            None => {
                self.gap(&buf);
                Carry::Resume(take)
            }
        };
        // Reuse the allocation.
        self.buf = buf;
        self.buf.clear();
        carry
    }

    #[inline]
    fn accept(&mut self, n: usize) {
        self.stats.frames += 1;
        self.stats.frame_bytes += n as u64;
    }

    #[inline]
    fn reject(&mut self, at: u64, reason: RejectReason) {
        self.stats.rejected += 1;
        let r = Rejection { at, reason };
        if let Some(v) = self.rejections.as_mut() {
            v.push(r.clone());
        }
        self.last_rejection = Some(r);
    }

    /// Counts bytes passed over between frames.
    #[inline]
    fn gap(&mut self, bytes: &[u8]) {
        let ws = bytes.iter().filter(|&&b| is_ws(b)).count() as u64;
        self.stats.whitespace_bytes += ws;
        self.stats.skipped_bytes += bytes.len() as u64 - ws;
    }
}

/// An iterator of the frames in a byte source (a raw capture file, a pipe...),
/// read in chunks through a [`StreamDecoder`].
///
/// ```
/// let capture: &[u8] = b"S:  21693Vo  E\r\nnoise S 22003Vo E\r\n";
/// let frames: Vec<_> = hpm_frame::FrameReader::new(capture).collect::<Result<_, _>>()?;
/// assert_eq!(frames.len(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FrameReader<R> {
    src: R,
    dec: StreamDecoder,
    queue: VecDeque<Frame>,
    chunk: Vec<u8>,
    eof: bool,
}

impl<R: Read> FrameReader<R> {
    /// Size of each read.
    pub const CHUNK: usize = 64 * 1024;

    /// Frames of `src`, with a default [`StreamDecoder`].
    pub fn new(src: R) -> FrameReader<R> {
        FrameReader::with_decoder(src, StreamDecoder::new())
    }

    /// Frames of `src`, decoded by `dec`.
    pub fn with_decoder(src: R, dec: StreamDecoder) -> FrameReader<R> {
        FrameReader {
            src,
            dec,
            queue: VecDeque::new(),
            chunk: vec![0; Self::CHUNK],
            eof: false,
        }
    }

    /// The decoder (for its counters and last rejection).
    pub fn decoder(&self) -> &StreamDecoder {
        &self.dec
    }

    /// The decoder, mutably (to take its kept rejections).
    pub fn decoder_mut(&mut self) -> &mut StreamDecoder {
        &mut self.dec
    }
}

impl<R: Read> Iterator for FrameReader<R> {
    type Item = io::Result<Frame>;

    fn next(&mut self) -> Option<io::Result<Frame>> {
        loop {
            if let Some(f) = self.queue.pop_front() {
                return Some(Ok(f));
            }
            if self.eof {
                return None;
            }
            let n = match self.src.read(&mut self.chunk) {
                Ok(0) => {
                    self.eof = true;
                    self.dec.finish();
                    continue;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.eof = true;
                    return Some(Err(e));
                }
            };
            let queue = &mut self.queue;
            self.dec.feed(&self.chunk[..n], |f| queue.push_back(f));
        }
    }
}
