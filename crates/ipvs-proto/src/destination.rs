//! Real servers: the `IPVS_CMD_ATTR_DEST` nest and the typed
//! [`Destination`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, emit_u16, emit_u16_be,
    emit_u32, parse_u8, parse_u16, parse_u16_be, parse_u32,
};

use crate::address::{
    AddressFamily, RawAddress, decode_known_address, encode_address, parse_raw_address,
};
use crate::constants::*;
use crate::error::Error;
use crate::nest::{
    Append, append_leaf, append_nest, append_value, emit_nested, end_nest, nested_len,
    parse_nested, start_nest,
};
use crate::stats::{Stats, Stats64Attribute, StatsAttribute};

/// How packets reach a real server (`IP_VS_CONN_F_FWD_MASK` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Forwarding {
    /// NAT (`-m`), `IP_VS_CONN_F_MASQ`.
    Masq,
    /// Local node, `IP_VS_CONN_F_LOCALNODE` (the kernel's own choice for
    /// local addresses).
    Local,
    /// IP tunnelling (`-i`), `IP_VS_CONN_F_TUNNEL`.
    Tunnel,
    /// Direct routing (`-g`), `IP_VS_CONN_F_DROUTE`.
    DirectRoute,
    /// Cache bypass, `IP_VS_CONN_F_BYPASS`.
    Bypass,
    /// A method this crate does not know, with the kernel's number; kept
    /// so that it can be written back unchanged.
    Other(u32),
}

impl Forwarding {
    /// The kernel's number for this method.
    pub fn raw(self) -> u32 {
        match self {
            Self::Masq => IP_VS_CONN_F_MASQ,
            Self::Local => IP_VS_CONN_F_LOCALNODE,
            Self::Tunnel => IP_VS_CONN_F_TUNNEL,
            Self::DirectRoute => IP_VS_CONN_F_DROUTE,
            Self::Bypass => IP_VS_CONN_F_BYPASS,
            Self::Other(raw) => raw,
        }
    }

    /// The method with the kernel's number `raw` ([`Forwarding::Other`] for
    /// numbers this crate does not know).
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            IP_VS_CONN_F_MASQ => Self::Masq,
            IP_VS_CONN_F_LOCALNODE => Self::Local,
            IP_VS_CONN_F_TUNNEL => Self::Tunnel,
            IP_VS_CONN_F_DROUTE => Self::DirectRoute,
            IP_VS_CONN_F_BYPASS => Self::Bypass,
            other => Self::Other(other),
        }
    }
}

impl From<u32> for Forwarding {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for Forwarding {
    /// ipvsadm's column text for the four methods it names: `Masq`,
    /// `Local`, `Tunnel`, `Route`; then `Bypass` and `Unknown(N)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Masq => f.write_str("Masq"),
            Self::Local => f.write_str("Local"),
            Self::Tunnel => f.write_str("Tunnel"),
            Self::DirectRoute => f.write_str("Route"),
            Self::Bypass => f.write_str("Bypass"),
            Self::Other(raw) => write!(f, "Unknown({raw})"),
        }
    }
}

/// Encapsulation of tunnelled forwarding (`--tun-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TunnelType {
    /// IP in IP (the default).
    #[default]
    Ipip,
    /// Generic UDP encapsulation.
    Gue,
    /// GRE.
    Gre,
    /// A type this crate does not know, with the kernel's number; kept so
    /// that it can be written back unchanged.
    Other(u8),
}

impl TunnelType {
    /// The kernel's number for this type.
    pub fn raw(self) -> u8 {
        match self {
            Self::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            Self::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            Self::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            Self::Other(raw) => raw,
        }
    }

    /// The type with the kernel's number `raw` ([`TunnelType::Other`] for
    /// numbers this crate does not know).
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => Self::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => Self::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => Self::Gre,
            other => Self::Other(other),
        }
    }
}

impl From<u8> for TunnelType {
    fn from(raw: u8) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for TunnelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ipip => f.write_str("ipip"),
            Self::Gue => f.write_str("gue"),
            Self::Gre => f.write_str("gre"),
            Self::Other(raw) => write!(f, "tunnel type {raw}"),
        }
    }
}

bitflags::bitflags! {
    /// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`); empty means
    /// no checksum (`--tun-nocsum`). Unnamed bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct TunnelFlags: u16 {
        /// Checksum the encapsulation (`--tun-csum`).
        const CSUM = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
        /// Remote checksum offload (`--tun-remcsum`).
        const REMCSUM = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
        const _ = !0;
    }
}

/// Tunnel settings of a destination; meaningful with
/// [`Forwarding::Tunnel`], sent (as zeros) for every destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// Destination UDP port of GUE (0 otherwise).
    pub port: u16,
    /// Checksum flags.
    pub flags: TunnelFlags,
}

/// Connection counts of a destination, present in the kernel's listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Connections {
    /// Active connections.
    pub active: u32,
    /// Inactive connections.
    pub inactive: u32,
    /// Persistent connection templates.
    pub persistent: u32,
}

impl Connections {
    /// The counts, when all three are known.
    pub(crate) fn from_counts(
        active: Option<u32>,
        inactive: Option<u32>,
        persistent: Option<u32>,
    ) -> Option<Self> {
        Some(Self {
            active: active?,
            inactive: inactive?,
            persistent: persistent?,
        })
    }
}

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

impl Nla for DestAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::Address(_) => 16,
            Self::Port(_) | Self::AddressFamily(_) | Self::TunnelPort(_) | Self::TunnelFlags(_) => {
                2
            }
            Self::TunnelType(_) => 1,
            Self::Forwarding(_)
            | Self::Weight(_)
            | Self::UpperThreshold(_)
            | Self::LowerThreshold(_)
            | Self::ActiveConnections(_)
            | Self::InactiveConnections(_)
            | Self::PersistentConnections(_) => 4,
            Self::Stats(nest) => nested_len(nest),
            Self::Stats64(nest) => nested_len(nest),
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
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

    fn emit_value(&self, buffer: &mut [u8]) {
        const SIZED: &str = "buffer sized by value_len";
        match self {
            Self::Address(raw) => buffer.copy_from_slice(raw),
            Self::Port(port) | Self::TunnelPort(port) => emit_u16_be(buffer, *port).expect(SIZED),
            Self::Forwarding(method) => emit_u32(buffer, method.raw()).expect(SIZED),
            Self::Weight(v)
            | Self::UpperThreshold(v)
            | Self::LowerThreshold(v)
            | Self::ActiveConnections(v)
            | Self::InactiveConnections(v)
            | Self::PersistentConnections(v) => emit_u32(buffer, *v).expect(SIZED),
            Self::AddressFamily(family) => emit_u16(buffer, family.raw()).expect(SIZED),
            Self::TunnelType(kind) => buffer[0] = kind.raw(),
            Self::TunnelFlags(flags) => emit_u16(buffer, flags.bits()).expect(SIZED),
            Self::Stats(nest) => emit_nested(nest, buffer),
            Self::Stats64(nest) => emit_nested(nest, buffer),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

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

/// A real server of a virtual service.
///
/// [`Destination::to_attributes`] writes the nest as ipvsadm does for
/// requests (`ADDR_FAMILY` first, then address, port, method, weight, the
/// three tunnel attributes and the thresholds). A destination with
/// [`connections`](Self::connections) set is written as the kernel lists one:
/// address family after the connection counts, then the statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Real server address; its family is sent as `ADDR_FAMILY`.
    pub address: IpAddr,
    /// Real server port (0 for firewall-mark services without port).
    pub port: u16,
    /// Forwarding method.
    pub forwarding: Forwarding,
    /// Weight (0 quiesces the server).
    pub weight: u32,
    /// Upper connection threshold, 0 for none.
    pub upper_threshold: u32,
    /// Lower connection threshold, 0 for none.
    pub lower_threshold: u32,
    /// Tunnel settings.
    pub tunnel: Tunnel,
    /// Connection counts, present in the kernel's listings.
    pub connections: Option<Connections>,
    /// Counters, present in the kernel's listings.
    pub stats: Option<Stats>,
}

impl Destination {
    /// A destination at `address` with `forwarding` and `weight`, no
    /// thresholds, default tunnel settings.
    pub fn new(address: SocketAddr, forwarding: Forwarding, weight: u32) -> Self {
        Self {
            address: address.ip(),
            port: address.port(),
            forwarding,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: Tunnel::default(),
            connections: None,
            stats: None,
        }
    }

    /// Address and port together.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// The address family of the destination.
    pub fn family(&self) -> AddressFamily {
        AddressFamily::of(self.address)
    }

    /// The attributes of the destination nest (see the type's docs for the
    /// order).
    pub fn to_attributes(&self) -> Vec<DestAttribute> {
        let family = DestAttribute::AddressFamily(self.family());
        let mut attributes = Vec::with_capacity(15);
        if self.connections.is_none() {
            attributes.push(family.clone());
        }
        attributes.extend([
            DestAttribute::Address(encode_address(self.address)),
            DestAttribute::Port(self.port),
            DestAttribute::Forwarding(self.forwarding),
            DestAttribute::Weight(self.weight),
            DestAttribute::TunnelType(self.tunnel.kind),
            DestAttribute::TunnelPort(self.tunnel.port),
            DestAttribute::TunnelFlags(self.tunnel.flags),
            DestAttribute::UpperThreshold(self.upper_threshold),
            DestAttribute::LowerThreshold(self.lower_threshold),
        ]);
        if let Some(connections) = self.connections {
            attributes.extend([
                DestAttribute::ActiveConnections(connections.active),
                DestAttribute::InactiveConnections(connections.inactive),
                DestAttribute::PersistentConnections(connections.persistent),
                family,
            ]);
        }
        if let Some(stats) = &self.stats {
            attributes.push(DestAttribute::Stats(stats.to_attributes()));
            attributes.push(DestAttribute::Stats64(stats.to_attributes64()));
        }
        attributes
    }

    /// Appends the nest of type `kind` (flags included) holding the
    /// attributes of [`Destination::to_attributes`], in one pass, without
    /// building them.
    pub(crate) fn append_nest(&self, kind: u16, out: &mut Vec<u8>) {
        let start = start_nest(out);
        let family = self.family().raw().to_ne_bytes();
        if self.connections.is_none() {
            append_value(IPVS_DEST_ATTR_ADDR_FAMILY, &family, out);
        }
        append_value(IPVS_DEST_ATTR_ADDR, &encode_address(self.address), out);
        append_value(IPVS_DEST_ATTR_PORT, &self.port.to_be_bytes(), out);
        append_value(
            IPVS_DEST_ATTR_FWD_METHOD,
            &self.forwarding.raw().to_ne_bytes(),
            out,
        );
        append_value(IPVS_DEST_ATTR_WEIGHT, &self.weight.to_ne_bytes(), out);
        append_value(IPVS_DEST_ATTR_TUN_TYPE, &[self.tunnel.kind.raw()], out);
        append_value(
            IPVS_DEST_ATTR_TUN_PORT,
            &self.tunnel.port.to_be_bytes(),
            out,
        );
        append_value(
            IPVS_DEST_ATTR_TUN_FLAGS,
            &self.tunnel.flags.bits().to_ne_bytes(),
            out,
        );
        append_value(
            IPVS_DEST_ATTR_U_THRESH,
            &self.upper_threshold.to_ne_bytes(),
            out,
        );
        append_value(
            IPVS_DEST_ATTR_L_THRESH,
            &self.lower_threshold.to_ne_bytes(),
            out,
        );
        if let Some(connections) = self.connections {
            for (kind, count) in [
                (IPVS_DEST_ATTR_ACTIVE_CONNS, connections.active),
                (IPVS_DEST_ATTR_INACT_CONNS, connections.inactive),
                (IPVS_DEST_ATTR_PERSIST_CONNS, connections.persistent),
            ] {
                append_value(kind, &count.to_ne_bytes(), out);
            }
            append_value(IPVS_DEST_ATTR_ADDR_FAMILY, &family, out);
        }
        if let Some(stats) = &self.stats {
            append_nest(IPVS_DEST_ATTR_STATS, &stats.to_attributes(), out);
            append_nest(IPVS_DEST_ATTR_STATS64, &stats.to_attributes64(), out);
        }
        end_nest(start, kind, out);
    }

    /// Reads a destination nest. Address, port, forwarding method, weight
    /// and thresholds must be present; the address family falls back to
    /// `family_hint` (kernels before 3.18 do not send it), the tunnel
    /// attributes to their defaults (kernels before 5.3). Connection counts
    /// are read when all three are present.
    pub fn from_attributes(
        attributes: &[DestAttribute],
        family_hint: Option<AddressFamily>,
    ) -> Result<Self, Error> {
        let mut family = None;
        let mut address = None;
        let mut port = None;
        let mut forwarding = None;
        let mut weight = None;
        let mut upper = None;
        let mut lower = None;
        let mut tunnel = Tunnel::default();
        let (mut active, mut inactive, mut persistent) = (None, None, None);
        let mut stats = None;
        let mut stats64 = None;
        for attribute in attributes {
            match attribute {
                DestAttribute::AddressFamily(v) => family = Some(*v),
                DestAttribute::Address(v) => address = Some(v),
                DestAttribute::Port(v) => port = Some(*v),
                DestAttribute::Forwarding(v) => forwarding = Some(*v),
                DestAttribute::Weight(v) => weight = Some(*v),
                DestAttribute::UpperThreshold(v) => upper = Some(*v),
                DestAttribute::LowerThreshold(v) => lower = Some(*v),
                DestAttribute::TunnelType(v) => tunnel.kind = *v,
                DestAttribute::TunnelPort(v) => tunnel.port = *v,
                DestAttribute::TunnelFlags(v) => tunnel.flags = *v,
                DestAttribute::ActiveConnections(v) => active = Some(*v),
                DestAttribute::InactiveConnections(v) => inactive = Some(*v),
                DestAttribute::PersistentConnections(v) => persistent = Some(*v),
                DestAttribute::Stats(v) => stats = Some(v.as_slice()),
                DestAttribute::Stats64(v) => stats64 = Some(v.as_slice()),
                DestAttribute::Other(_) => {}
            }
        }
        const NEST: &str = "destination";
        let family = family
            .or(family_hint)
            .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_ADDR_FAMILY"))?;
        let address = address.ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_ADDR"))?;
        let connections = Connections::from_counts(active, inactive, persistent);
        Ok(Self {
            address: decode_known_address(family, address, "IPVS_DEST_ATTR_ADDR_FAMILY")?,
            port: port.ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_PORT"))?,
            forwarding: forwarding
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_FWD_METHOD"))?,
            weight: weight.ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_WEIGHT"))?,
            upper_threshold: upper
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_U_THRESH"))?,
            lower_threshold: lower
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_L_THRESH"))?,
            tunnel,
            connections,
            stats: Stats::pick(stats, stats64),
        })
    }
}

impl Append for DestAttribute {
    fn append(&self, out: &mut Vec<u8>) {
        match self {
            Self::Stats(nest) => append_nest(self.kind(), nest, out),
            Self::Stats64(nest) => append_nest(self.kind(), nest, out),
            _ => append_leaf(self, out),
        }
    }
}
