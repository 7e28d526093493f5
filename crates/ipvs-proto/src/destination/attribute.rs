//! The attributes of the `IPVS_CMD_ATTR_DEST` nest.

use netlink_packet_core::{DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable};

use crate::address::{AddressFamily, RawAddress};
use crate::constants::*;
use crate::destination::forwarding::Forwarding;
use crate::destination::read::{DestValue, read_destination};
use crate::destination::tunnel::{TunnelFlags, TunnelType};
use crate::nest::{Sink, WireAttribute, impl_nla, parse_nested, write_all};
use crate::stats::{Stats64Attribute, StatsAttribute};

/// One attribute of the `IPVS_CMD_ATTR_DEST` nest.
#[derive(Debug, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum DestAttribute {
    /// `IPVS_DEST_ATTR_ADDR`: 16 bytes, IPv4 in the first four.
    Address(RawAddress),
    /// `IPVS_DEST_ATTR_PORT` (network order on the wire).
    Port(u16),
    /// `IPVS_DEST_ATTR_FWD_METHOD`
    Forwarding(Forwarding),
    /// `IPVS_DEST_ATTR_WEIGHT`
    Weight(u32),
    /// `IPVS_DEST_ATTR_U_THRESH`
    UpperThreshold(u32),
    /// `IPVS_DEST_ATTR_L_THRESH`
    LowerThreshold(u32),
    /// `IPVS_DEST_ATTR_ACTIVE_CONNS`
    ActiveConnections(u32),
    /// `IPVS_DEST_ATTR_INACT_CONNS`
    InactiveConnections(u32),
    /// `IPVS_DEST_ATTR_PERSIST_CONNS`
    PersistentConnections(u32),
    /// `IPVS_DEST_ATTR_STATS`
    Stats(Vec<StatsAttribute>),
    /// `IPVS_DEST_ATTR_ADDR_FAMILY`
    AddressFamily(AddressFamily),
    /// `IPVS_DEST_ATTR_STATS64`
    Stats64(Vec<Stats64Attribute>),
    /// `IPVS_DEST_ATTR_TUN_TYPE`
    TunnelType(TunnelType),
    /// `IPVS_DEST_ATTR_TUN_PORT` (network order on the wire).
    TunnelPort(u16),
    /// `IPVS_DEST_ATTR_TUN_FLAGS`
    TunnelFlags(TunnelFlags),
    /// Any other attribute, kept as it came.
    Other(DefaultNla),
}

impl WireAttribute for DestAttribute {
    #[inline(always)]
    fn is_nest(&self) -> bool {
        matches!(self, Self::Stats(_) | Self::Stats64(_))
    }

    #[inline(always)]
    fn wire_kind(&self) -> u16 {
        match self {
            Self::Address(_) => IPVS_DEST_ATTR_ADDR,
            Self::Port(_) => IPVS_DEST_ATTR_PORT,
            Self::Forwarding(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Self::Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            Self::UpperThreshold(_) => IPVS_DEST_ATTR_U_THRESH,
            Self::LowerThreshold(_) => IPVS_DEST_ATTR_L_THRESH,
            Self::ActiveConnections(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            Self::InactiveConnections(_) => IPVS_DEST_ATTR_INACT_CONNS,
            Self::PersistentConnections(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Self::Stats(_) => IPVS_DEST_ATTR_STATS,
            Self::AddressFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Self::Stats64(_) => IPVS_DEST_ATTR_STATS64,
            Self::TunnelType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            Self::TunnelPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            Self::TunnelFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Self::Other(nla) => nla.kind(),
        }
    }

    #[inline(always)]
    fn write_value<S: Sink>(&self, out: &mut S) {
        match self {
            Self::Address(raw) => out.put(raw),
            Self::Port(port) | Self::TunnelPort(port) => out.put(&(*port).to_be_bytes()),
            Self::Forwarding(method) => out.put(&method.raw().to_ne_bytes()),
            Self::Weight(v)
            | Self::UpperThreshold(v)
            | Self::LowerThreshold(v)
            | Self::ActiveConnections(v)
            | Self::InactiveConnections(v)
            | Self::PersistentConnections(v) => out.put(&(*v).to_ne_bytes()),
            Self::AddressFamily(family) => out.put(&family.raw().to_ne_bytes()),
            Self::TunnelType(kind) => out.put(&[kind.raw()]),
            Self::TunnelFlags(flags) => out.put(&flags.bits().to_ne_bytes()),
            Self::Stats(nest) => write_all(nest, out),
            Self::Stats64(nest) => write_all(nest, out),
            Self::Other(nla) => out.put_with(nla.value_len(), |buffer| nla.emit_value(buffer)),
        }
    }
}

impl_nla!(DestAttribute);

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DestAttribute {
    /// One attribute, read by the one reader of destination nests
    /// (`read_destination`).
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let mut read = None;
        read_destination::<DecodeError>(buf.kind(), buf.value(), &mut read)?;
        Ok(match read {
            Some(DestValue::Address(v)) => Self::Address(*v),
            Some(DestValue::Port(v)) => Self::Port(v),
            Some(DestValue::Forwarding(v)) => Self::Forwarding(v),
            Some(DestValue::Weight(v)) => Self::Weight(v),
            Some(DestValue::UpperThreshold(v)) => Self::UpperThreshold(v),
            Some(DestValue::LowerThreshold(v)) => Self::LowerThreshold(v),
            Some(DestValue::ActiveConnections(v)) => Self::ActiveConnections(v),
            Some(DestValue::InactiveConnections(v)) => Self::InactiveConnections(v),
            Some(DestValue::PersistentConnections(v)) => Self::PersistentConnections(v),
            Some(DestValue::Stats(nest)) => {
                Self::Stats(parse_nested(nest).context("invalid IPVS_DEST_ATTR_STATS")?)
            }
            Some(DestValue::AddressFamily(v)) => Self::AddressFamily(v),
            Some(DestValue::Stats64(nest)) => {
                Self::Stats64(parse_nested(nest).context("invalid IPVS_DEST_ATTR_STATS64")?)
            }
            Some(DestValue::TunnelType(v)) => Self::TunnelType(v),
            Some(DestValue::TunnelPort(v)) => Self::TunnelPort(v),
            Some(DestValue::TunnelFlags(v)) => Self::TunnelFlags(v),
            None => Self::Other(DefaultNla::parse(buf).context("invalid destination attribute")?),
        })
    }
}

impl DestAttribute {
    /// The attribute as the one reader gives it (`None` for the counter
    /// nests, which are read apart, and for attributes this crate does not
    /// know).
    #[inline(always)]
    pub(crate) fn value(&self) -> Option<DestValue<'_>> {
        Some(match self {
            Self::Address(v) => DestValue::Address(v),
            Self::Port(v) => DestValue::Port(*v),
            Self::Forwarding(v) => DestValue::Forwarding(*v),
            Self::Weight(v) => DestValue::Weight(*v),
            Self::UpperThreshold(v) => DestValue::UpperThreshold(*v),
            Self::LowerThreshold(v) => DestValue::LowerThreshold(*v),
            Self::ActiveConnections(v) => DestValue::ActiveConnections(*v),
            Self::InactiveConnections(v) => DestValue::InactiveConnections(*v),
            Self::PersistentConnections(v) => DestValue::PersistentConnections(*v),
            Self::AddressFamily(v) => DestValue::AddressFamily(*v),
            Self::TunnelType(v) => DestValue::TunnelType(*v),
            Self::TunnelPort(v) => DestValue::TunnelPort(*v),
            Self::TunnelFlags(v) => DestValue::TunnelFlags(*v),
            Self::Stats(_) | Self::Stats64(_) | Self::Other(_) => return None,
        })
    }
}
