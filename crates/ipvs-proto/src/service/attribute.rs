//! The attributes of the `IPVS_CMD_ATTR_SERVICE` nest.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, emit_u16, emit_u16_be,
    emit_u32, parse_u16, parse_u16_be, parse_u32,
};

use crate::address::{AddressFamily, RawAddress, parse_raw_address};
use crate::constants::*;
use crate::nest::{
    Append, append_leaf, append_nest, emit_nested, emit_string, nested_len, parse_nested,
    parse_string,
};
use crate::service::flags::{FlagsWithMask, ServiceFlags};
use crate::service::protocol::Protocol;
use crate::stats::{Stats64Attribute, StatsAttribute};

/// One attribute of the `IPVS_CMD_ATTR_SERVICE` nest.
#[derive(Debug, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum ServiceAttribute {
    /// `IPVS_SVC_ATTR_AF`
    AddressFamily(AddressFamily),
    /// `IPVS_SVC_ATTR_PROTOCOL`
    Protocol(Protocol),
    /// `IPVS_SVC_ATTR_ADDR`: 16 bytes, IPv4 in the first four.
    Address(RawAddress),
    /// `IPVS_SVC_ATTR_PORT` (network order on the wire).
    Port(u16),
    /// `IPVS_SVC_ATTR_FWMARK`
    Fwmark(u32),
    /// `IPVS_SVC_ATTR_SCHED_NAME`
    Scheduler(String),
    /// `IPVS_SVC_ATTR_FLAGS`
    Flags(FlagsWithMask),
    /// `IPVS_SVC_ATTR_TIMEOUT`: persistence timeout in seconds.
    Timeout(u32),
    /// `IPVS_SVC_ATTR_NETMASK`: raw bytes, read with the service's family
    /// (see [`Netmask`](crate::Netmask)).
    Netmask([u8; 4]),
    /// `IPVS_SVC_ATTR_STATS`
    Stats(Vec<StatsAttribute>),
    /// `IPVS_SVC_ATTR_PE_NAME`: persistence engine.
    PersistenceEngine(String),
    /// `IPVS_SVC_ATTR_STATS64`
    Stats64(Vec<Stats64Attribute>),
    /// Any other attribute, kept as it came.
    Other(DefaultNla),
}

impl Nla for ServiceAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::AddressFamily(_) | Self::Protocol(_) | Self::Port(_) => 2,
            Self::Address(_) => 16,
            Self::Fwmark(_) | Self::Timeout(_) | Self::Netmask(_) => 4,
            Self::Flags(_) => 8,
            Self::Scheduler(text) | Self::PersistenceEngine(text) => text.len() + 1,
            Self::Stats(nest) => nested_len(nest),
            Self::Stats64(nest) => nested_len(nest),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::AddressFamily(_) => IPVS_SVC_ATTR_AF,
            Self::Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Self::Address(_) => IPVS_SVC_ATTR_ADDR,
            Self::Port(_) => IPVS_SVC_ATTR_PORT,
            Self::Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            Self::Scheduler(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Self::Flags(_) => IPVS_SVC_ATTR_FLAGS,
            Self::Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Self::Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Self::Stats(_) => IPVS_SVC_ATTR_STATS,
            Self::PersistenceEngine(_) => IPVS_SVC_ATTR_PE_NAME,
            Self::Stats64(_) => IPVS_SVC_ATTR_STATS64,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        const SIZED: &str = "buffer sized by value_len";
        match self {
            Self::AddressFamily(family) => emit_u16(buffer, family.raw()).expect(SIZED),
            Self::Protocol(protocol) => emit_u16(buffer, protocol.raw()).expect(SIZED),
            Self::Address(raw) => buffer.copy_from_slice(raw),
            Self::Port(port) => emit_u16_be(buffer, *port).expect(SIZED),
            Self::Fwmark(value) | Self::Timeout(value) => emit_u32(buffer, *value).expect(SIZED),
            Self::Netmask(raw) => buffer.copy_from_slice(raw),
            Self::Flags(flags) => {
                emit_u32(&mut buffer[..4], flags.flags.bits()).expect(SIZED);
                emit_u32(&mut buffer[4..], flags.mask.bits()).expect(SIZED);
            }
            Self::Scheduler(text) | Self::PersistenceEngine(text) => emit_string(text, buffer),
            Self::Stats(nest) => emit_nested(nest, buffer),
            Self::Stats64(nest) => emit_nested(nest, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for ServiceAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_SVC_ATTR_AF => Self::AddressFamily(
                AddressFamily::parse(payload).context("invalid IPVS_SVC_ATTR_AF")?,
            ),
            IPVS_SVC_ATTR_PROTOCOL => Self::Protocol(
                parse_u16(payload)
                    .map(Protocol::from_raw)
                    .context("invalid IPVS_SVC_ATTR_PROTOCOL")?,
            ),
            IPVS_SVC_ATTR_ADDR => {
                Self::Address(parse_raw_address(payload).context("invalid IPVS_SVC_ATTR_ADDR")?)
            }
            IPVS_SVC_ATTR_PORT => {
                Self::Port(parse_u16_be(payload).context("invalid IPVS_SVC_ATTR_PORT")?)
            }
            IPVS_SVC_ATTR_FWMARK => {
                Self::Fwmark(parse_u32(payload).context("invalid IPVS_SVC_ATTR_FWMARK")?)
            }
            IPVS_SVC_ATTR_SCHED_NAME => {
                Self::Scheduler(parse_string(payload).context("invalid IPVS_SVC_ATTR_SCHED_NAME")?)
            }
            IPVS_SVC_ATTR_FLAGS => {
                Self::Flags(parse_flags(payload).context("invalid IPVS_SVC_ATTR_FLAGS")?)
            }
            IPVS_SVC_ATTR_TIMEOUT => {
                Self::Timeout(parse_u32(payload).context("invalid IPVS_SVC_ATTR_TIMEOUT")?)
            }
            IPVS_SVC_ATTR_NETMASK => Self::Netmask(
                payload
                    .try_into()
                    .map_err(|_| DecodeError::invalid_number(4, payload.len()))
                    .context("invalid IPVS_SVC_ATTR_NETMASK")?,
            ),
            IPVS_SVC_ATTR_STATS => {
                Self::Stats(parse_nested(payload).context("invalid IPVS_SVC_ATTR_STATS")?)
            }
            IPVS_SVC_ATTR_PE_NAME => Self::PersistenceEngine(
                parse_string(payload).context("invalid IPVS_SVC_ATTR_PE_NAME")?,
            ),
            IPVS_SVC_ATTR_STATS64 => {
                Self::Stats64(parse_nested(payload).context("invalid IPVS_SVC_ATTR_STATS64")?)
            }
            _ => Self::Other(DefaultNla::parse(buf).context("invalid service attribute")?),
        })
    }
}

fn parse_flags(payload: &[u8]) -> Result<FlagsWithMask, DecodeError> {
    if payload.len() != 8 {
        return Err(DecodeError::invalid_number(8, payload.len()));
    }
    Ok(FlagsWithMask {
        flags: ServiceFlags::from_bits_retain(parse_u32(&payload[..4])?),
        mask: ServiceFlags::from_bits_retain(parse_u32(&payload[4..])?),
    })
}

impl Append for ServiceAttribute {
    fn append(&self, out: &mut Vec<u8>) {
        match self {
            Self::Stats(nest) => append_nest(self.kind(), nest, out),
            Self::Stats64(nest) => append_nest(self.kind(), nest, out),
            _ => append_leaf(self, out),
        }
    }
}
