//! The attributes of the `IPVS_CMD_ATTR_SERVICE` nest.

use netlink_packet_core::{DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable};

use crate::address::{AddressFamily, RawAddress};
use crate::constants::*;
use crate::nest::{Sink, WireAttribute, impl_nla, parse_nested, write_all, write_str};
use crate::service::flags::FlagsWithMask;
use crate::service::protocol::Protocol;
use crate::service::read::{ServiceValue, read_service};
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
    /// One attribute, read by the one reader of service nests
    /// (`read_service`).
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let mut read = None;
        read_service::<DecodeError>(buf.kind(), buf.value(), &mut read)?;
        Ok(match read {
            Some(ServiceValue::AddressFamily(v)) => Self::AddressFamily(v),
            Some(ServiceValue::Protocol(v)) => Self::Protocol(v),
            Some(ServiceValue::Address(v)) => Self::Address(*v),
            Some(ServiceValue::Port(v)) => Self::Port(v),
            Some(ServiceValue::Fwmark(v)) => Self::Fwmark(v),
            Some(ServiceValue::Scheduler(v)) => Self::Scheduler(v.to_owned()),
            Some(ServiceValue::Flags(v)) => Self::Flags(v),
            Some(ServiceValue::Timeout(v)) => Self::Timeout(v),
            Some(ServiceValue::Netmask(v)) => Self::Netmask(v),
            Some(ServiceValue::Stats(nest)) => {
                Self::Stats(parse_nested(nest).context("invalid IPVS_SVC_ATTR_STATS")?)
            }
            Some(ServiceValue::PersistenceEngine(v)) => Self::PersistenceEngine(v.to_owned()),
            Some(ServiceValue::Stats64(nest)) => {
                Self::Stats64(parse_nested(nest).context("invalid IPVS_SVC_ATTR_STATS64")?)
            }
            None => Self::Other(DefaultNla::parse(buf).context("invalid service attribute")?),
        })
    }
}

impl ServiceAttribute {
    /// The attribute as the one reader gives it (`None` for the counter
    /// nests, which are read apart, and for attributes this crate does not
    /// know).
    #[inline(always)]
    pub(crate) fn value(&self) -> Option<ServiceValue<'_>> {
        Some(match self {
            Self::AddressFamily(v) => ServiceValue::AddressFamily(*v),
            Self::Protocol(v) => ServiceValue::Protocol(*v),
            Self::Address(v) => ServiceValue::Address(v),
            Self::Port(v) => ServiceValue::Port(*v),
            Self::Fwmark(v) => ServiceValue::Fwmark(*v),
            Self::Scheduler(v) => ServiceValue::Scheduler(v),
            Self::Flags(v) => ServiceValue::Flags(*v),
            Self::Timeout(v) => ServiceValue::Timeout(*v),
            Self::Netmask(v) => ServiceValue::Netmask(*v),
            Self::PersistenceEngine(v) => ServiceValue::PersistenceEngine(v),
            Self::Stats(_) | Self::Stats64(_) | Self::Other(_) => return None,
        })
    }
}
