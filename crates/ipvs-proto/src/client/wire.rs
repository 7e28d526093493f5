//! Whole netlink messages: framing IPVS messages with their netlink and
//! generic-netlink headers, and splitting received datagrams.

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkDeserializable, NetlinkMessage,
};
use netlink_packet_generic::{GenlFamily, GenlMessage};

use crate::client::request::Request;
use crate::constants::IPVS_GENL_VERSION;
use crate::error::Error;
use crate::message::IpvsMessage;

/// Header flags of a request answered by an ACK: `NLM_F_REQUEST | NLM_F_ACK`
/// (0x0005, as ipvsadm).
pub const DO_FLAGS: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// Header flags of a dump: `NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP` (0x0305,
/// as ipvsadm).
pub const DUMP_FLAGS: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;

/// A full netlink message carrying an IPVS message.
pub type IpvsNetlinkMessage = NetlinkMessage<GenlMessage<IpvsMessage>>;

/// Appends `payload`, framed with a netlink header (`family_id`, `flags`,
/// `sequence`, `port`) and a generic-netlink header, to `out`.
pub fn emit_genl<F>(
    payload: F,
    family_id: u16,
    flags: u16,
    sequence: u32,
    port: u32,
    out: &mut Vec<u8>,
) where
    F: GenlFamily + netlink_packet_core::Emitable + std::fmt::Debug,
{
    let mut genl = GenlMessage::from_payload(payload);
    genl.set_resolved_family_id(family_id);
    let mut message = NetlinkMessage::from(genl);
    message.header.flags = flags;
    message.header.sequence_number = sequence;
    message.header.port_number = port;
    message.finalize();
    let start = out.len();
    out.resize(start + message.buffer_len(), 0);
    message.serialize(&mut out[start..]);
}

/// Appends `message`, framed with a netlink header (`family_id`, `flags`,
/// `sequence`, `port`) and a generic-netlink header (version 1), to `out`:
/// the bytes of [`emit_genl`], written in one pass.
pub fn emit_ipvs(
    message: &IpvsMessage,
    family_id: u16,
    flags: u16,
    sequence: u32,
    port: u32,
    out: &mut Vec<u8>,
) {
    let header = Header {
        family_id,
        flags,
        sequence,
        port,
        command: message.command(),
    };
    header.frame(out, |out| message.append_attributes(out));
}

/// The netlink and generic-netlink headers of one IPVS message.
struct Header {
    family_id: u16,
    flags: u16,
    sequence: u32,
    port: u32,
    command: u8,
}

impl Header {
    /// Appends the headers to `out`, then the attributes `attributes`
    /// writes, then fills in the message's length.
    fn frame(&self, out: &mut Vec<u8>, attributes: impl FnOnce(&mut Vec<u8>)) {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.family_id.to_ne_bytes());
        out.extend_from_slice(&self.flags.to_ne_bytes());
        out.extend_from_slice(&self.sequence.to_ne_bytes());
        out.extend_from_slice(&self.port.to_ne_bytes());
        out.extend_from_slice(&[self.command, IPVS_GENL_VERSION, 0, 0]);
        attributes(out);
        let length = (out.len() - start) as u32;
        out[start..start + 4].copy_from_slice(&length.to_ne_bytes());
    }
}

/// Appends the netlink message of `request` to `out`, with [`DUMP_FLAGS`]
/// for dumps and [`DO_FLAGS`] otherwise: the bytes of [`emit_ipvs`] of
/// [`Request::to_message`], written straight from the request (see
/// [`Request::append_attributes`]).
///
/// ```
/// use ipvs_proto::{Request, wire};
///
/// let mut bytes = Vec::new();
/// wire::emit_request(&Request::Flush, 32, 7, 0, &mut bytes);
/// assert_eq!(bytes, [20, 0, 0, 0, 32, 0, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0, 17, 1, 0, 0]);
/// ```
pub fn emit_request(
    request: &Request,
    family_id: u16,
    sequence: u32,
    port: u32,
    out: &mut Vec<u8>,
) {
    let flags = if request.is_dump() {
        DUMP_FLAGS
    } else {
        DO_FLAGS
    };
    let header = Header {
        family_id,
        flags,
        sequence,
        port,
        command: request.command().into(),
    };
    header.frame(out, |out| request.append_attributes(out));
}

/// Splits a received datagram into its netlink messages and parses each as
/// `I`. Errors name the offset of the message that failed.
pub fn parse_datagram<I>(datagram: &[u8]) -> Messages<'_, I> {
    Messages {
        frames: frames(datagram),
        family_id: None,
        marker: std::marker::PhantomData,
    }
}

/// Like [`parse_datagram`], but skips (without parsing) the messages of
/// families other than `family_id`; netlink's own messages (ACKs, errors,
/// DONE) are always parsed.
pub fn parse_family_datagram<I>(datagram: &[u8], family_id: u16) -> Messages<'_, I> {
    Messages {
        family_id: Some(family_id),
        ..parse_datagram(datagram)
    }
}

/// Message types below this are netlink's own (`NLMSG_MIN_TYPE`).
const NLMSG_MIN_TYPE: u16 = 0x10;

/// Iterator returned by [`parse_datagram`].
#[derive(Debug)]
pub struct Messages<'a, I> {
    frames: Frames<'a>,
    family_id: Option<u16>,
    marker: std::marker::PhantomData<fn() -> I>,
}

impl<I: NetlinkDeserializable> Iterator for Messages<'_, I> {
    type Item = Result<NetlinkMessage<I>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (offset, message) = match self.frames.next()? {
                Ok(frame) => frame,
                Err(error) => return Some(Err(error)),
            };
            let kind = u16::from_ne_bytes([message[4], message[5]]);
            if self
                .family_id
                .is_some_and(|family| is_foreign(kind, family))
            {
                continue;
            }
            return Some(deserialize_at(offset, message));
        }
    }
}

/// Parses the netlink message `message`, found at `offset` of its datagram
/// (errors name the offset).
pub(crate) fn deserialize_at<I: NetlinkDeserializable>(
    offset: usize,
    message: &[u8],
) -> Result<NetlinkMessage<I>, Error> {
    NetlinkMessage::<I>::deserialize(message)
        .map_err(|error| format!("netlink message at offset {offset}: {error}").into())
        .map_err(Error::Decode)
}

/// Whether a message of type `kind` belongs to neither netlink itself nor
/// the family `family_id`.
pub(crate) fn is_foreign(kind: u16, family_id: u16) -> bool {
    kind >= NLMSG_MIN_TYPE && kind != family_id
}

/// Splits a datagram into its netlink messages, unparsed, each with its
/// offset; the header of each is checked (at least 16 bytes, a length that
/// fits).
pub(crate) fn frames(datagram: &[u8]) -> Frames<'_> {
    Frames {
        datagram,
        offset: 0,
    }
}

/// Iterator returned by [`frames`].
#[derive(Debug)]
pub(crate) struct Frames<'a> {
    datagram: &'a [u8],
    offset: usize,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<(usize, &'a [u8]), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self
            .datagram
            .get(self.offset..)
            .filter(|rest| !rest.is_empty())?;
        let offset = self.offset;
        match NetlinkBuffer::new_checked(rest) {
            Ok(buffer) => {
                let length = buffer.length() as usize;
                // Messages are 4-byte aligned; the last one may lack its padding.
                self.offset = offset.saturating_add((length + 3) & !3);
                Some(Ok((offset, &rest[..length])))
            }
            Err(error) => {
                self.offset = self.datagram.len();
                Some(Err(Error::Decode(
                    format!("netlink message at offset {offset}: {error}").into(),
                )))
            }
        }
    }
}
