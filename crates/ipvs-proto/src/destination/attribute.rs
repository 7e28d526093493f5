//! The attributes of the `IPVS_CMD_ATTR_DEST` nest.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_u8, parse_u16,
    parse_u16_be, parse_u32,
};

use crate::address::{AddressFamily, RawAddress, parse_raw_address};
use crate::constants::*;
use crate::destination::forwarding::Forwarding;
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
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_DEST_ATTR_ADDR => {
                Self::Address(parse_raw_address(payload).context("invalid IPVS_DEST_ATTR_ADDR")?)
            }
            IPVS_DEST_ATTR_PORT => {
                Self::Port(parse_u16_be(payload).context("invalid IPVS_DEST_ATTR_PORT")?)
            }
            IPVS_DEST_ATTR_FWD_METHOD => Self::Forwarding(
                parse_u32(payload)
                    .map(Forwarding::from_raw)
                    .context("invalid IPVS_DEST_ATTR_FWD_METHOD")?,
            ),
            IPVS_DEST_ATTR_WEIGHT => {
                Self::Weight(parse_u32(payload).context("invalid IPVS_DEST_ATTR_WEIGHT")?)
            }
            IPVS_DEST_ATTR_U_THRESH => {
                Self::UpperThreshold(parse_u32(payload).context("invalid IPVS_DEST_ATTR_U_THRESH")?)
            }
            IPVS_DEST_ATTR_L_THRESH => {
                Self::LowerThreshold(parse_u32(payload).context("invalid IPVS_DEST_ATTR_L_THRESH")?)
            }
            IPVS_DEST_ATTR_ACTIVE_CONNS => Self::ActiveConnections(
                parse_u32(payload).context("invalid IPVS_DEST_ATTR_ACTIVE_CONNS")?,
            ),
            IPVS_DEST_ATTR_INACT_CONNS => Self::InactiveConnections(
                parse_u32(payload).context("invalid IPVS_DEST_ATTR_INACT_CONNS")?,
            ),
            IPVS_DEST_ATTR_PERSIST_CONNS => Self::PersistentConnections(
                parse_u32(payload).context("invalid IPVS_DEST_ATTR_PERSIST_CONNS")?,
            ),
            IPVS_DEST_ATTR_STATS => {
                Self::Stats(parse_nested(payload).context("invalid IPVS_DEST_ATTR_STATS")?)
            }
            IPVS_DEST_ATTR_ADDR_FAMILY => Self::AddressFamily(
                AddressFamily::parse(payload).context("invalid IPVS_DEST_ATTR_ADDR_FAMILY")?,
            ),
            IPVS_DEST_ATTR_STATS64 => {
                Self::Stats64(parse_nested(payload).context("invalid IPVS_DEST_ATTR_STATS64")?)
            }
            IPVS_DEST_ATTR_TUN_TYPE => Self::TunnelType(
                parse_u8(payload)
                    .map(TunnelType::from_raw)
                    .context("invalid IPVS_DEST_ATTR_TUN_TYPE")?,
            ),
            IPVS_DEST_ATTR_TUN_PORT => {
                Self::TunnelPort(parse_u16_be(payload).context("invalid IPVS_DEST_ATTR_TUN_PORT")?)
            }
            IPVS_DEST_ATTR_TUN_FLAGS => Self::TunnelFlags(TunnelFlags::from_bits_retain(
                parse_u16(payload).context("invalid IPVS_DEST_ATTR_TUN_FLAGS")?,
            )),
            _ => Self::Other(DefaultNla::parse(buf).context("invalid destination attribute")?),
        })
    }
}
