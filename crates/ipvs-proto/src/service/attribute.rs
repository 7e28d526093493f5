//! The attributes of the `IPVS_CMD_ATTR_SERVICE` nest.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_u16, parse_u16_be,
    parse_u32,
};

use crate::address::{AddressFamily, RawAddress, parse_raw_address};
use crate::constants::*;
use crate::nest::{
    Sink, WireAttribute, impl_nla, parse_nested, parse_string, write_all, write_str,
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

impl WireAttribute for ServiceAttribute {
    #[inline(always)]
    fn is_nest(&self) -> bool {
        matches!(self, Self::Stats(_) | Self::Stats64(_))
    }

    #[inline(always)]
    fn wire_kind(&self) -> u16 {
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

    #[inline(always)]
    fn write_value<S: Sink>(&self, out: &mut S) {
        match self {
            Self::AddressFamily(family) => out.put(&family.raw().to_ne_bytes()),
            Self::Protocol(protocol) => out.put(&protocol.raw().to_ne_bytes()),
            Self::Address(raw) => out.put(raw),
            Self::Port(port) => out.put(&(*port).to_be_bytes()),
            Self::Fwmark(value) | Self::Timeout(value) => out.put(&(*value).to_ne_bytes()),
            Self::Netmask(raw) => out.put(raw),
            Self::Flags(flags) => {
                out.put(&flags.flags.bits().to_ne_bytes());
                out.put(&flags.mask.bits().to_ne_bytes());
            }
            Self::Scheduler(text) | Self::PersistenceEngine(text) => write_str(text, out),
            Self::Stats(nest) => write_all(nest, out),
            Self::Stats64(nest) => write_all(nest, out),
            Self::Other(nla) => out.put_with(nla.value_len(), |buffer| nla.emit_value(buffer)),
        }
    }
}

impl_nla!(ServiceAttribute);

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
