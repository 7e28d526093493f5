//! The one-pass writer: every attribute of the crate is written by one
//! function ([`WireAttribute::write_value`]) into a [`Sink`], and everything
//! that writes attributes sits on it:
//!
//! - appending to a `Vec<u8>` in one pass, nests' headers filled in once
//!   their attributes are out (as libnl's `nla_nest_start`/`nla_nest_end`):
//!   what the client sends (`wire::emit_request`, `wire::emit_ipvs`);
//! - netlink-packet-core's `Nla` (and so `Emitable`), implemented by
//!   [`impl_nla!`] on top of it: `value_len` counts what the writer would
//!   write ([`Count`]), `emit_value` writes into the slice it is given
//!   ([`SliceSink`]);
//! - the typed values written straight from their fields (a service or a
//!   destination nest without building its attribute enums first), with the
//!   same writers: each attribute by its own `write_value`, strings by
//!   [`append_str`], nests by [`append_nest`] / [`start_nest`] and
//!   [`end_nest`].
//!
//! Reading attributes back is one reader per object too (`service/read.rs`,
//! `destination/read.rs`, the counters in `stats/counter.rs`): each reads an
//! attribute's value from its bytes with the value readers here ([`read_array`],
//! [`read_str`]) and gives it to a [`Visit`]or, which is the typed value being
//! filled in (the one-pass reader of listings, `decode`, and the models'
//! `from_attributes`) or one attribute enum being built (netlink-packet's
//! `Parseable`, on top of the same readers; [`parse_nested`] for its nests).

use std::time::Duration;

use netlink_packet_core::{DecodeError, NlaBuffer, NlasIterator, Parseable};

/// Where the writer puts bytes.
pub(crate) trait Sink {
    /// Writes `len` bytes, filled in by `fill` (which finds them zeroed).
    fn put_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8]));
    /// How many bytes were written so far.
    fn position(&self) -> usize;
    /// Overwrites bytes already written, from `at` on.
    fn patch(&mut self, at: usize, bytes: &[u8]);

    /// Writes `bytes`.
    fn put(&mut self, bytes: &[u8]) {
        self.put_with(bytes.len(), |buffer| buffer.copy_from_slice(bytes));
    }
}

impl Sink for Vec<u8> {
    fn put_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) {
        let start = self.len();
        self.resize(start + len, 0);
        fill(&mut self[start..]);
    }

    fn position(&self) -> usize {
        self.len()
    }

    fn patch(&mut self, at: usize, bytes: &[u8]) {
        self[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A slice sized beforehand (by [`Count`]), written from its start.
pub(crate) struct SliceSink<'a> {
    buffer: &'a mut [u8],
    position: usize,
}

impl<'a> SliceSink<'a> {
    pub(crate) fn new(buffer: &'a mut [u8]) -> Self {
        Self {
            buffer,
            position: 0,
        }
    }
}

impl Sink for SliceSink<'_> {
    fn put_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) {
        let target = &mut self.buffer[self.position..self.position + len];
        target.fill(0);
        fill(target);
        self.position += len;
    }

    fn position(&self) -> usize {
        self.position
    }

    fn patch(&mut self, at: usize, bytes: &[u8]) {
        self.buffer[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

/// Counts the bytes the writer would write, writing none.
#[derive(Debug, Default)]
pub(crate) struct Count(pub(crate) usize);

impl Sink for Count {
    fn put_with(&mut self, len: usize, _: impl FnOnce(&mut [u8])) {
        self.0 += len;
    }

    fn position(&self) -> usize {
        self.0
    }

    fn patch(&mut self, _: usize, _: &[u8]) {}
}

/// An attribute as the writer writes it: its type (flags included) and
/// its value. Its header and padding are the writer's.
pub(crate) trait WireAttribute {
    /// The attribute type, `NLA_F_NESTED` included where it is sent.
    fn wire_kind(&self) -> u16;

    /// Writes the value (for a nest: its attributes, each whole).
    fn write_value<S: Sink>(&self, out: &mut S);

    /// Whether the value is a nest of attributes (its length is then filled
    /// in once they are written, rather than counted first).
    fn is_nest(&self) -> bool {
        false
    }

    /// Writes the whole attribute: header, value, padding to 4 bytes.
    #[inline(always)]
    fn append<S: Sink>(&self, out: &mut S) {
        if self.is_nest() {
            append_with(self.wire_kind(), out, |out| self.write_value(out));
            return;
        }
        // A leaf: its length is counted (the count of a leaf's value folds
        // to a constant or a string length), so the header is written once.
        let mut count = Count::default();
        self.write_value(&mut count);
        let length = 4 + count.0;
        let mut header = [0; 4];
        header[..2].copy_from_slice(&(length as u16).to_ne_bytes());
        header[2..].copy_from_slice(&self.wire_kind().to_ne_bytes());
        out.put(&header);
        self.write_value(out);
        out.put(&[0; 3][..(4 - length % 4) % 4]);
    }
}

/// Writes an attribute of type `kind` (flags included) whose value `value`
/// writes: its header (length filled in afterwards), the value, padding to 4
/// bytes. Every attribute the crate writes goes through here.
pub(crate) fn append_with<S: Sink>(kind: u16, out: &mut S, value: impl FnOnce(&mut S)) {
    let start = start_nest(out);
    value(out);
    end_nest(start, kind, out);
    let length = out.position() - start;
    out.put(&[0; 3][..(4 - length % 4) % 4]);
}

/// netlink-packet-core's `Nla` for a [`WireAttribute`], on top of the
/// writer.
macro_rules! impl_nla {
    ($type:ty) => {
        impl netlink_packet_core::Nla for $type {
            fn value_len(&self) -> usize {
                let mut count = $crate::nest::Count::default();
                $crate::nest::WireAttribute::write_value(self, &mut count);
                count.0
            }

            fn kind(&self) -> u16 {
                $crate::nest::WireAttribute::wire_kind(self)
            }

            fn emit_value(&self, buffer: &mut [u8]) {
                $crate::nest::WireAttribute::write_value(
                    self,
                    &mut $crate::nest::SliceSink::new(buffer),
                )
            }
        }
    };
}
pub(crate) use impl_nla;

/// What a typed value gives its attributes (or parts) to, one at a time
/// and in order: a list being collected (`to_attributes`) or the one-pass
/// [`Writer`]. The typed value states its attributes once, for both.
pub(crate) trait Visit<T> {
    fn visit(&mut self, part: T);
}

/// Keeps the one part it is given: what `Parseable` reads one attribute
/// into before it builds the attribute enum.
impl<T> Visit<T> for Option<T> {
    #[inline(always)]
    fn visit(&mut self, part: T) {
        *self = Some(part);
    }
}

impl<T> Visit<T> for Vec<T> {
    #[inline(always)]
    fn visit(&mut self, part: T) {
        self.push(part);
    }
}

/// Writes every attribute it is given, whole, into its sink.
pub(crate) struct Writer<'o, S>(pub(crate) &'o mut S);

impl<A: WireAttribute, S: Sink> Visit<A> for Writer<'_, S> {
    #[inline(always)]
    fn visit(&mut self, attribute: A) {
        attribute.append(self.0);
    }
}

/// Writes every attribute of `attributes`, whole, in order.
pub(crate) fn write_all<A: WireAttribute, S: Sink>(attributes: &[A], out: &mut S) {
    for attribute in attributes {
        attribute.append(out);
    }
}

/// Appends a nest of type `kind` (flags included) holding `attributes`.
pub(crate) fn append_nest<A: WireAttribute, S: Sink>(kind: u16, attributes: &[A], out: &mut S) {
    append_with(kind, out, |out| write_all(attributes, out));
}

/// Appends a NUL-terminated string attribute of type `kind`.
pub(crate) fn append_str<S: Sink>(kind: u16, text: &str, out: &mut S) {
    append_with(kind, out, |out| write_str(text, out));
}

/// Writes `text` and its NUL terminator: a string attribute's value.
pub(crate) fn write_str<S: Sink>(text: &str, out: &mut S) {
    out.put(text.as_bytes());
    out.put(&[0]);
}

/// Starts a nest (or any attribute whose length is known once its value
/// is out): room for its header, filled in by [`end_nest`].
pub(crate) fn start_nest<S: Sink>(out: &mut S) -> usize {
    let start = out.position();
    out.put(&[0; 4]);
    start
}

/// Ends the attribute of type `kind` (flags included) started at `start`:
/// its header gets its length (without padding) and type.
pub(crate) fn end_nest<S: Sink>(start: usize, kind: u16, out: &mut S) {
    // Attribute lengths are 16 bits on the wire, as in every netlink writer.
    let length = (out.position() - start) as u16;
    let mut header = [0; 4];
    header[..2].copy_from_slice(&length.to_ne_bytes());
    header[2..].copy_from_slice(&kind.to_ne_bytes());
    out.patch(start, &header);
}

/// Parses every attribute of a nest's value, in order.
pub(crate) fn parse_nested<A>(payload: &[u8]) -> Result<Vec<A>, DecodeError>
where
    A: for<'b> Parseable<NlaBuffer<&'b [u8]>>,
{
    // Most attributes of IPVS nests take 8 bytes; start with room for them.
    let mut attributes = Vec::with_capacity(payload.len() / 8);
    for nla in NlasIterator::new(payload) {
        attributes.push(A::parse(&nla?)?);
    }
    Ok(attributes)
}

/// What the attribute readers report when a value is wrong: nothing (`()`,
/// for the one-pass reader of listings, which then leaves the message to
/// `Parseable`), or netlink-packet's `DecodeError` with every context (for
/// `Parseable`). One reader, compiled once for each: the first pays for no
/// error text.
pub(crate) trait ReadError: Sized {
    /// A number of `received` bytes where `expected` were due (the error of
    /// netlink-packet-core's `parse_u16`, `parse_u32`, ...).
    fn invalid_number(expected: usize, received: usize) -> Self;
    /// A string with a NUL byte before its end.
    fn nul_in_string() -> Self;
    /// A string that is not UTF-8.
    fn invalid_utf8(error: std::str::Utf8Error) -> Self;
    /// An address value of `received` bytes, not 16.
    fn address_length(received: usize) -> Self;
    /// The error, within `context` (`ErrorContext::context`).
    fn context<C: std::fmt::Display>(self, context: C) -> Self;
}

impl ReadError for () {
    #[inline(always)]
    fn invalid_number(_: usize, _: usize) -> Self {}
    #[inline(always)]
    fn nul_in_string() -> Self {}
    #[inline(always)]
    fn invalid_utf8(_: std::str::Utf8Error) -> Self {}
    #[inline(always)]
    fn address_length(_: usize) -> Self {}
    #[inline(always)]
    fn context<C: std::fmt::Display>(self, _: C) -> Self {}
}

impl ReadError for DecodeError {
    #[cold]
    fn invalid_number(expected: usize, received: usize) -> Self {
        DecodeError::invalid_number(expected, received)
    }

    #[cold]
    fn nul_in_string() -> Self {
        DecodeError::from("string holds a NUL byte before its end")
    }

    #[cold]
    fn invalid_utf8(error: std::str::Utf8Error) -> Self {
        DecodeError::from(format!("Invalid UTF-8 sequence: {error}"))
    }

    #[cold]
    fn address_length(received: usize) -> Self {
        DecodeError::from(format!(
            "address is {received} bytes long, expected 16 (union nf_inet_addr)"
        ))
    }

    #[cold]
    fn context<C: std::fmt::Display>(self, context: C) -> Self {
        netlink_packet_core::ErrorContext::context(self, context)
    }
}

/// A fixed-size attribute value (an integer's bytes, an address), with
/// netlink-packet-core's `parse_u16`/`parse_u32`/... error for another size.
#[inline(always)]
pub(crate) fn read_array<const N: usize, E: ReadError>(value: &[u8]) -> Result<[u8; N], E> {
    match value.try_into() {
        Ok(array) => Ok(array),
        Err(_) => Err(E::invalid_number(N, value.len())),
    }
}

/// `read` with its error put in `context`.
#[inline(always)]
pub(crate) fn in_context<T, E: ReadError, C: std::fmt::Display>(
    read: Result<T, E>,
    context: C,
) -> Result<T, E> {
    match read {
        Ok(value) => Ok(value),
        Err(error) => Err(error.context(context)),
    }
}

/// `invalid NAME`: the context that names an attribute, written only
/// when an error needs it.
pub(crate) struct Invalid(pub(crate) &'static str);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {}", self.0)
    }
}

/// A string attribute value, with or without its NUL terminator. Text after
/// an embedded NUL is refused: it could not be sent back.
#[inline(always)]
pub(crate) fn read_str<E: ReadError>(value: &[u8]) -> Result<&str, E> {
    let text = value.strip_suffix(&[0]).unwrap_or(value);
    if text.contains(&0) {
        return Err(E::nul_in_string());
    }
    std::str::from_utf8(text).map_err(E::invalid_utf8)
}

/// [`read_str`], owned.
pub(crate) fn parse_string(payload: &[u8]) -> Result<String, DecodeError> {
    read_str::<DecodeError>(payload).map(str::to_owned)
}

/// Whole seconds of `duration`, saturating at `u32::MAX`.
pub(crate) fn seconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs()).unwrap_or(u32::MAX)
}
