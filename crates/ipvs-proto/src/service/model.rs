//! The typed service: its key, persistence netmask and settings, and its
//! conversion to and from the nest's attributes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::address::{AddressFamily, decode_known_address, encode_address};
use crate::constants::*;
use crate::error::Error;
use crate::nest::{
    Sink, Visit, WireAttribute, Writer, append_nest, append_str, end_nest, seconds, start_nest,
};
use crate::service::attribute::ServiceAttribute;
use crate::service::flags::{FlagsWithMask, ServiceFlags};
use crate::service::protocol::Protocol;
use crate::service::read::ServiceFields;
use crate::stats::Stats;

/// The persistence granularity of a service (`-M`): a mask for IPv4
/// services, a prefix length for IPv6 ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Netmask {
    /// IPv4 mask, sent in network order (any mask, contiguous or not).
    V4(Ipv4Addr),
    /// IPv6 prefix length (0..=128), sent as a host-order `u32`.
    V6(u8),
    /// The four bytes as they came, for a service of a family this crate
    /// does not know.
    Raw([u8; 4]),
}

impl Netmask {
    /// The mask that keeps the whole address: `255.255.255.255` or `/128`.
    pub fn full(family: AddressFamily) -> Self {
        match family {
            AddressFamily::Inet => Self::V4(Ipv4Addr::BROADCAST),
            AddressFamily::Inet6 => Self::V6(128),
            AddressFamily::Other(_) => Self::Raw([0xff; 4]),
        }
    }

    /// The zero mask: `0.0.0.0` or `/0` (what ipvsadm sends to look a
    /// service up).
    pub fn zero(family: AddressFamily) -> Self {
        match family {
            AddressFamily::Inet => Self::V4(Ipv4Addr::UNSPECIFIED),
            AddressFamily::Inet6 => Self::V6(0),
            AddressFamily::Other(_) => Self::Raw([0; 4]),
        }
    }

    /// The four bytes of the `IPVS_SVC_ATTR_NETMASK` value.
    pub fn to_raw(self) -> [u8; 4] {
        match self {
            Self::V4(mask) => mask.octets(),
            Self::V6(prefix) => u32::from(prefix).to_ne_bytes(),
            Self::Raw(raw) => raw,
        }
    }

    /// Reads the `IPVS_SVC_ATTR_NETMASK` value of a service of `family`.
    pub fn from_raw(family: AddressFamily, raw: [u8; 4]) -> Result<Self, Error> {
        match family {
            AddressFamily::Inet => Ok(Self::V4(Ipv4Addr::from(raw))),
            AddressFamily::Other(_) => Ok(Self::Raw(raw)),
            AddressFamily::Inet6 => {
                let prefix = u32::from_ne_bytes(raw);
                match u8::try_from(prefix) {
                    Ok(prefix) if prefix <= 128 => Ok(Self::V6(prefix)),
                    _ => Err(Error::invalid(
                        "IPVS_SVC_ATTR_NETMASK",
                        prefix,
                        "an IPv6 prefix length of 0 to 128",
                    )),
                }
            }
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::V4(mask) => write!(f, "{mask}"),
            Self::V6(prefix) => write!(f, "{prefix}"),
            Self::Raw(raw) => write!(f, "0x{:08x}", u32::from_be_bytes(*raw)),
        }
    }
}

/// What identifies a virtual service: protocol, address and port, or a
/// firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// A service on `protocol` `address`:`port`.
    Tuple {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address.
        address: IpAddr,
        /// Virtual port (0 with persistence means "all ports").
        port: u16,
    },
    /// A service matching packets with firewall mark `mark`.
    Fwmark {
        /// Family of the packets it matches.
        family: AddressFamily,
        /// The firewall mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service on `address`.
    pub fn tcp(address: SocketAddr) -> Self {
        Self::tuple(Protocol::Tcp, address)
    }

    /// A UDP service on `address`.
    pub fn udp(address: SocketAddr) -> Self {
        Self::tuple(Protocol::Udp, address)
    }

    /// An SCTP service on `address`.
    pub fn sctp(address: SocketAddr) -> Self {
        Self::tuple(Protocol::Sctp, address)
    }

    /// A `protocol` service on `address`.
    pub fn tuple(protocol: Protocol, address: SocketAddr) -> Self {
        Self::Tuple {
            protocol,
            address: address.ip(),
            port: address.port(),
        }
    }

    /// A firewall-mark service.
    pub fn fwmark(family: AddressFamily, mark: u32) -> Self {
        Self::Fwmark { family, mark }
    }

    /// The address family of the service.
    pub fn family(&self) -> AddressFamily {
        match self {
            Self::Tuple { address, .. } => AddressFamily::of(*address),
            Self::Fwmark { family, .. } => *family,
        }
    }

    /// The key attributes, as ipvsadm and the kernel order them:
    /// `AF`, then `PROTOCOL`, `ADDR`, `PORT` or `FWMARK`.
    pub fn to_attributes(&self) -> Vec<ServiceAttribute> {
        let mut attributes = Vec::with_capacity(4);
        self.each_attribute(&mut attributes);
        attributes
    }

    /// Gives the key attributes, in order, to `each`: the one list that
    /// both [`ServiceKey::to_attributes`] and the one-pass writer follow.
    #[inline(always)]
    fn each_attribute(&self, each: &mut impl Visit<ServiceAttribute>) {
        each.visit(ServiceAttribute::AddressFamily(self.family()));
        match *self {
            Self::Tuple {
                protocol,
                address,
                port,
            } => {
                each.visit(ServiceAttribute::Protocol(protocol));
                each.visit(ServiceAttribute::Address(encode_address(address)));
                each.visit(ServiceAttribute::Port(port));
            }
            Self::Fwmark { mark, .. } => each.visit(ServiceAttribute::Fwmark(mark)),
        }
    }

    /// Appends the nest of type `kind` (flags included) holding the key
    /// attributes, in one pass, without collecting them.
    pub(crate) fn append_nest<S: Sink>(&self, kind: u16, out: &mut S) {
        let start = start_nest(out);
        self.each_attribute(&mut Writer(out));
        end_nest(start, kind, out);
    }

    /// Reads the key out of a service nest (other attributes are ignored).
    /// A firewall mark wins over protocol/address/port, as in the kernel.
    pub fn from_attributes(attributes: &[ServiceAttribute]) -> Result<Self, Error> {
        ServiceFields::of(attributes).key()
    }
}

impl fmt::Display for ServiceKey {
    /// ipvsadm's way of naming a service: `TCP 10.0.0.1:80`,
    /// `UDP [2001:db8::1]:53`, `FWM 42`, `FWM 43 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tuple {
                protocol,
                address,
                port,
            } => write!(f, "{protocol} {}", SocketAddr::new(*address, *port)),
            Self::Fwmark {
                family: AddressFamily::Inet,
                mark,
            } => write!(f, "FWM {mark}"),
            Self::Fwmark {
                family: AddressFamily::Inet6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
            Self::Fwmark { family, mark } => write!(f, "FWM {mark} {family}"),
        }
    }
}

/// A virtual service.
///
/// [`Service::to_attributes`] writes the nest exactly as ipvsadm does (and as
/// the kernel does in listings): `AF`, key, `SCHED_NAME`, `PE_NAME` if any,
/// `FLAGS`, `TIMEOUT`, `NETMASK`, then `STATS` and `STATS64` if
/// [`stats`](Self::stats) is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What identifies the service.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wlc`, ...); empty in requests that only name
    /// the service.
    pub scheduler: String,
    /// Service flags.
    pub flags: ServiceFlags,
    /// Which flag bits a change applies to; [`ServiceFlags::ALL_BITS`] (what
    /// ipvsadm sends) replaces all of them.
    pub flags_mask: ServiceFlags,
    /// Persistence timeout; whole seconds on the wire (fractions are
    /// dropped, values above `u32::MAX` seconds saturate).
    pub timeout: Duration,
    /// Persistence granularity.
    pub netmask: Netmask,
    /// Persistence engine (`--pe sip`).
    pub persistence_engine: Option<String>,
    /// Counters, present in the kernel's listings.
    pub stats: Option<Stats>,
}

impl Service {
    /// A service with scheduler `scheduler` and every option at ipvsadm's
    /// default: no flags (mask all bits), no persistence, full netmask.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Self {
        Self {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::empty(),
            flags_mask: ServiceFlags::ALL_BITS,
            timeout: Duration::ZERO,
            netmask: Netmask::full(key.family()),
            persistence_engine: None,
            stats: None,
        }
    }

    /// The service as ipvsadm names one it changes something below (adds a
    /// destination, deletes, zeroes): empty scheduler, all defaults.
    pub fn reference(key: ServiceKey) -> Self {
        Self::new(key, "")
    }

    /// Makes the service persistent for `timeout` (`-p`).
    pub fn with_persistence(mut self, timeout: Duration) -> Self {
        self.flags |= ServiceFlags::PERSISTENT;
        self.timeout = timeout;
        self
    }

    /// Whether the service is persistent.
    pub fn is_persistent(&self) -> bool {
        self.flags.contains(ServiceFlags::PERSISTENT)
    }

    /// The attributes of the service nest, in ipvsadm's and the kernel's
    /// order.
    pub fn to_attributes(&self) -> Vec<ServiceAttribute> {
        let mut attributes = Vec::with_capacity(11);
        self.each_part(&mut attributes);
        attributes
    }

    /// Gives the parts of the service nest, in order, to `each`: the one
    /// list that both [`Service::to_attributes`] and the one-pass writer
    /// follow.
    #[inline(always)]
    fn each_part<'a>(&'a self, each: &mut impl Visit<Part<'a>>) {
        self.key.each_attribute(&mut AsPart(each));
        each.visit(Part::Scheduler(&self.scheduler));
        if let Some(engine) = &self.persistence_engine {
            each.visit(Part::PersistenceEngine(engine));
        }
        each.visit(Part::Attribute(ServiceAttribute::Flags(FlagsWithMask {
            flags: self.flags,
            mask: self.flags_mask,
        })));
        each.visit(Part::Attribute(ServiceAttribute::Timeout(seconds(
            self.timeout,
        ))));
        each.visit(Part::Attribute(ServiceAttribute::Netmask(
            self.netmask.to_raw(),
        )));
        if let Some(stats) = &self.stats {
            each.visit(Part::Stats(stats));
            each.visit(Part::Stats64(stats));
        }
    }

    /// Appends the nest of type `kind` (flags included) holding the
    /// attributes of [`Service::to_attributes`], in one pass, without
    /// building them: the strings and counters are written from where they
    /// are, every other attribute by its own writer.
    pub(crate) fn append_nest<S: Sink>(&self, kind: u16, out: &mut S) {
        let start = start_nest(out);
        self.each_part(&mut Writer(out));
        end_nest(start, kind, out);
    }

    /// Reads a service nest. The key, `SCHED_NAME`, `FLAGS`, `TIMEOUT` and
    /// `NETMASK` must be present (the kernel always sends them); unknown
    /// attributes are skipped.
    pub fn from_attributes(attributes: &[ServiceAttribute]) -> Result<Self, Error> {
        ServiceFields::of(attributes).service()
    }
}

impl<'a> ServiceFields<'a> {
    /// The fields of a nest already parsed into its attribute enums.
    fn of(attributes: &'a [ServiceAttribute]) -> Self {
        let mut fields = Self::default();
        let (mut narrow, mut wide) = (None, None);
        for attribute in attributes {
            match attribute {
                ServiceAttribute::Stats(v) => narrow = Some(v),
                ServiceAttribute::Stats64(v) => wide = Some(v),
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

    /// The key: the family, then a firewall mark, else protocol, address and
    /// port, each required in that order.
    #[inline(always)]
    pub(crate) fn key(&self) -> Result<ServiceKey, Error> {
        let family = self
            .family
            .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_AF"))?;
        if let Some(mark) = self.fwmark {
            return Ok(ServiceKey::Fwmark { family, mark });
        }
        Ok(ServiceKey::Tuple {
            protocol: self
                .protocol
                .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_PROTOCOL"))?,
            address: decode_known_address(
                family,
                self.address
                    .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_ADDR"))?,
                "IPVS_SVC_ATTR_AF",
            )?,
            port: self
                .port
                .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_PORT"))?,
        })
    }

    /// The service: the key, then `FLAGS`, `NETMASK`, `SCHED_NAME` and
    /// `TIMEOUT`, each required in that order, the netmask valid for the
    /// family; the counters of `STATS64` when the nest had it, else of
    /// `STATS`.
    #[inline(always)]
    pub(crate) fn service(self) -> Result<Service, Error> {
        let key = self.key()?;
        let flags = self
            .flags
            .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_FLAGS"))?;
        let netmask = self
            .netmask
            .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_NETMASK"))?;
        Ok(Service {
            key,
            scheduler: self
                .scheduler
                .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_SCHED_NAME"))?
                .to_owned(),
            flags: flags.flags,
            flags_mask: flags.mask,
            timeout: Duration::from_secs(
                self.timeout
                    .ok_or_else(|| Error::missing("service", "IPVS_SVC_ATTR_TIMEOUT"))?
                    .into(),
            ),
            netmask: Netmask::from_raw(key.family(), netmask)?,
            persistence_engine: self.persistence_engine.map(str::to_owned),
            stats: self.stats64.or(self.stats),
        })
    }
}

/// One part of a service nest as [`Service::each_part`] gives them: an
/// attribute, or what an attribute is built from without copying it.
enum Part<'a> {
    Attribute(ServiceAttribute),
    Scheduler(&'a str),
    PersistenceEngine(&'a str),
    Stats(&'a Stats),
    Stats64(&'a Stats),
}

/// The service's parts collected as its attribute list.
impl<'a> Visit<Part<'a>> for Vec<ServiceAttribute> {
    fn visit(&mut self, part: Part<'a>) {
        self.push(match part {
            Part::Attribute(attribute) => attribute,
            Part::Scheduler(name) => ServiceAttribute::Scheduler(name.to_owned()),
            Part::PersistenceEngine(name) => ServiceAttribute::PersistenceEngine(name.to_owned()),
            Part::Stats(stats) => ServiceAttribute::Stats(stats.to_attributes()),
            Part::Stats64(stats) => ServiceAttribute::Stats64(stats.to_attributes64()),
        });
    }
}

/// The service's parts written in one pass.
impl<'a, S: Sink> Visit<Part<'a>> for Writer<'_, S> {
    #[inline(always)]
    fn visit(&mut self, part: Part<'a>) {
        let out = &mut *self.0;
        match part {
            Part::Attribute(attribute) => attribute.append(out),
            Part::Scheduler(name) => append_str(IPVS_SVC_ATTR_SCHED_NAME, name, out),
            Part::PersistenceEngine(name) => append_str(IPVS_SVC_ATTR_PE_NAME, name, out),
            Part::Stats(stats) => append_nest(IPVS_SVC_ATTR_STATS, &stats.narrow_attributes(), out),
            Part::Stats64(stats) => {
                append_nest(IPVS_SVC_ATTR_STATS64, &stats.wide_attributes(), out)
            }
        }
    }
}

/// The key's attributes given on as parts of the service.
struct AsPart<'v, V>(&'v mut V);

impl<'a, V: Visit<Part<'a>>> Visit<ServiceAttribute> for AsPart<'_, V> {
    #[inline(always)]
    fn visit(&mut self, attribute: ServiceAttribute) {
        self.0.visit(Part::Attribute(attribute));
    }
}
