//! The typed destination and its connection counts, and their conversion
//! to and from the nest's attributes.

use std::net::{IpAddr, SocketAddr};

use crate::address::{AddressFamily, decode_known_address, encode_address};
use crate::constants::*;
use crate::destination::attribute::DestAttribute;
use crate::destination::forwarding::Forwarding;
use crate::destination::read::DestinationFields;
use crate::destination::tunnel::Tunnel;
use crate::error::Error;
use crate::nest::{Sink, Visit, WireAttribute, Writer, append_nest, end_nest, start_nest};
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
        let mut attributes = Vec::with_capacity(15);
        self.each_part(&mut attributes);
        attributes
    }

    /// Gives the parts of the destination nest, in order, to `each`: the
    /// one list that both [`Destination::to_attributes`] and the one-pass
    /// writer follow.
    #[inline(always)]
    fn each_part<'a>(&'a self, each: &mut impl Visit<Part<'a>>) {
        let family = DestAttribute::AddressFamily(self.family());
        let mut attributes = AsPart(&mut *each);
        if self.connections.is_none() {
            attributes.visit(family.clone());
        }
        attributes.visit(DestAttribute::Address(encode_address(self.address)));
        attributes.visit(DestAttribute::Port(self.port));
        attributes.visit(DestAttribute::Forwarding(self.forwarding));
        attributes.visit(DestAttribute::Weight(self.weight));
        attributes.visit(DestAttribute::TunnelType(self.tunnel.kind));
        attributes.visit(DestAttribute::TunnelPort(self.tunnel.port));
        attributes.visit(DestAttribute::TunnelFlags(self.tunnel.flags));
        attributes.visit(DestAttribute::UpperThreshold(self.upper_threshold));
        attributes.visit(DestAttribute::LowerThreshold(self.lower_threshold));
        if let Some(connections) = self.connections {
            attributes.visit(DestAttribute::ActiveConnections(connections.active));
            attributes.visit(DestAttribute::InactiveConnections(connections.inactive));
            attributes.visit(DestAttribute::PersistentConnections(connections.persistent));
            attributes.visit(family);
        }
        if let Some(stats) = &self.stats {
            each.visit(Part::Stats(stats));
            each.visit(Part::Stats64(stats));
        }
    }

    /// Appends the nest of type `kind` (flags included) holding the
    /// attributes of [`Destination::to_attributes`], in one pass, without
    /// building them.
    pub(crate) fn append_nest<S: Sink>(&self, kind: u16, out: &mut S) {
        let start = start_nest(out);
        self.each_part(&mut Writer(out));
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
        DestinationFields::of(attributes).destination(family_hint)
    }
}

impl<'a> DestinationFields<'a> {
    /// The fields of a nest already parsed into its attribute enums.
    fn of(attributes: &'a [DestAttribute]) -> Self {
        let mut fields = Self::default();
        let (mut narrow, mut wide) = (None, None);
        for attribute in attributes {
            match attribute {
                DestAttribute::Stats(v) => narrow = Some(v),
                DestAttribute::Stats64(v) => wide = Some(v),
                other => {
                    if let Some(value) = other.value() {
                        fields.visit(value);
                    }
                }
            }
        }
        // Only the counters that count are read: `STATS64` wins.
        match wide {
            Some(wide) => fields.stats64 = Some(Stats::from_attributes64(wide)),
            None => fields.stats = narrow.map(|narrow| Stats::from_attributes(narrow)),
        }
        fields
    }

    /// The destination: the family (else `family_hint`) and address, the
    /// family one this crate knows, then port, forwarding method, weight and
    /// thresholds, each required in that order; the connection counts when
    /// all three are present; the counters of `STATS64` when the nest had
    /// it, else of `STATS`.
    #[inline(always)]
    pub(crate) fn destination(
        self,
        family_hint: Option<AddressFamily>,
    ) -> Result<Destination, Error> {
        const NEST: &str = "destination";
        let family = self
            .family
            .or(family_hint)
            .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_ADDR_FAMILY"))?;
        let address = self
            .address
            .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_ADDR"))?;
        Ok(Destination {
            address: decode_known_address(family, address, "IPVS_DEST_ATTR_ADDR_FAMILY")?,
            port: self
                .port
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_PORT"))?,
            forwarding: self
                .forwarding
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_FWD_METHOD"))?,
            weight: self
                .weight
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_WEIGHT"))?,
            upper_threshold: self
                .upper
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_U_THRESH"))?,
            lower_threshold: self
                .lower
                .ok_or_else(|| Error::missing(NEST, "IPVS_DEST_ATTR_L_THRESH"))?,
            tunnel: self.tunnel,
            connections: Connections::from_counts(self.active, self.inactive, self.persistent),
            stats: self.stats64.or(self.stats),
        })
    }
}

/// One part of a destination nest as [`Destination::each_part`] gives them:
/// an attribute, or the counters it is built from.
enum Part<'a> {
    Attribute(DestAttribute),
    Stats(&'a Stats),
    Stats64(&'a Stats),
}

/// The destination's parts collected as its attribute list.
impl<'a> Visit<Part<'a>> for Vec<DestAttribute> {
    fn visit(&mut self, part: Part<'a>) {
        self.push(match part {
            Part::Attribute(attribute) => attribute,
            Part::Stats(stats) => DestAttribute::Stats(stats.to_attributes()),
            Part::Stats64(stats) => DestAttribute::Stats64(stats.to_attributes64()),
        });
    }
}

/// The destination's parts written in one pass.
impl<'a, S: Sink> Visit<Part<'a>> for Writer<'_, S> {
    #[inline(always)]
    fn visit(&mut self, part: Part<'a>) {
        let out = &mut *self.0;
        match part {
            Part::Attribute(attribute) => attribute.append(out),
            Part::Stats(stats) => {
                append_nest(IPVS_DEST_ATTR_STATS, &stats.narrow_attributes(), out)
            }
            Part::Stats64(stats) => {
                append_nest(IPVS_DEST_ATTR_STATS64, &stats.wide_attributes(), out)
            }
        }
    }
}

/// Plain attributes given on as parts of the destination.
struct AsPart<'v, V>(&'v mut V);

impl<'a, V: Visit<Part<'a>>> Visit<DestAttribute> for AsPart<'_, V> {
    #[inline(always)]
    fn visit(&mut self, attribute: DestAttribute) {
        self.0.visit(Part::Attribute(attribute));
    }
}
