//! Small helpers shared by every nested attribute.

use std::time::Duration;

use netlink_packet_core::{DecodeError, Emitable, Nla, NlaBuffer, NlasIterator, Parseable};

/// Length of a nest's value: its attributes, each padded to 4 bytes.
pub(crate) fn nested_len<A: Nla>(attributes: &[A]) -> usize {
    attributes.buffer_len()
}

/// Writes a nest's attributes into `buffer` (exactly `nested_len` bytes).
pub(crate) fn emit_nested<A: Nla>(attributes: &[A], buffer: &mut [u8]) {
    attributes.emit(buffer)
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

/// Writes `text` as a NUL-terminated string attribute value.
pub(crate) fn emit_string(text: &str, buffer: &mut [u8]) {
    buffer[..text.len()].copy_from_slice(text.as_bytes());
    buffer[text.len()] = 0;
}

/// Reads a string attribute value, with or without its NUL terminator.
/// Text after an embedded NUL is refused: it could not be sent back.
pub(crate) fn parse_string(payload: &[u8]) -> Result<String, DecodeError> {
    let text = payload.strip_suffix(&[0]).unwrap_or(payload);
    if text.contains(&0) {
        return Err(DecodeError::from("string holds a NUL byte before its end"));
    }
    String::from_utf8(text.to_vec()).map_err(DecodeError::from)
}

/// Writing attributes by appending to a buffer, nests in one pass: the
/// nest's header is written first and its length filled in once its
/// attributes are out (as libnl's `nla_nest_start`/`nla_nest_end`).
///
/// Gives the same bytes as `Emitable`, without computing the length of every
/// nest again at every level.
pub(crate) trait Append {
    fn append(&self, out: &mut Vec<u8>);
}

/// Appends an attribute without nested attributes.
pub(crate) fn append_leaf<A: Nla>(attribute: &A, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + attribute.buffer_len(), 0);
    attribute.emit(&mut out[start..]);
}

/// Appends a nest of type `kind` (flags included) holding `attributes`.
pub(crate) fn append_nest<A: Append>(kind: u16, attributes: &[A], out: &mut Vec<u8>) {
    let start = start_nest(out);
    for attribute in attributes {
        attribute.append(out);
    }
    end_nest(start, kind, out);
}

/// Appends an attribute of type `kind` whose value is `value`, padded to 4
/// bytes: the bytes `Emitable` gives for a leaf attribute, without building
/// one.
pub(crate) fn append_value(kind: u16, value: &[u8], out: &mut Vec<u8>) {
    let length = 4 + value.len();
    out.extend_from_slice(&(length as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.extend_from_slice(&[0; 3][..(4 - length % 4) % 4]);
}

/// Appends a NUL-terminated string attribute of type `kind`.
pub(crate) fn append_str(kind: u16, text: &str, out: &mut Vec<u8>) {
    let length = 4 + text.len() + 1;
    out.extend_from_slice(&(length as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(text.as_bytes());
    // The NUL terminator, then the padding.
    out.extend_from_slice(&[0; 4][..1 + (4 - length % 4) % 4]);
}

/// Starts a nest: room for its header, filled in by [`end_nest`].
pub(crate) fn start_nest(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    start
}

/// Ends the nest of type `kind` (flags included) started at `start`.
pub(crate) fn end_nest(start: usize, kind: u16, out: &mut [u8]) {
    // Nest lengths are 16 bits on the wire, as in every netlink writer.
    let length = (out.len() - start) as u16;
    out[start..start + 2].copy_from_slice(&length.to_ne_bytes());
    out[start + 2..start + 4].copy_from_slice(&kind.to_ne_bytes());
}

/// Whole seconds of `duration`, saturating at `u32::MAX`.
pub(crate) fn seconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs()).unwrap_or(u32::MAX)
}
