//! The typed destination and its connection counts, and their conversion
//! to and from the nest's attributes.

use std::net::{IpAddr, SocketAddr};

use crate::address::{AddressFamily, decode_known_address, encode_address};
use crate::constants::*;
use crate::destination::attribute::DestAttribute;
use crate::destination::forwarding::Forwarding;
use crate::destination::tunnel::Tunnel;
use crate::error::Error;
use crate::nest::{append_nest, append_value, end_nest, start_nest};
use crate::stats::Stats;

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
