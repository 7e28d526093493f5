//! The one reader of a service nest: each attribute's value read from its
//! bytes ([`read_service`]) and the fields a service is made of, filled in
//! from those values ([`ServiceFields`]).
//!
//! The one-pass reader of listings (`decode`) walks a nest's bytes and
//! reads every attribute straight into [`ServiceFields`]; netlink-packet's
//! `Parseable` for [`ServiceAttribute`](crate::ServiceAttribute) reads one
//! attribute with the same reader and builds the enum from it; the model's
//! `from_attributes` fills the same fields from the enums. Which attributes
//! a service needs, and in which order their absence is reported, is said
//! once, by the fields (`model.rs`).

use crate::address::{AddressFamily, RawAddress, read_raw_address};
use crate::constants::*;
use crate::nest::{ReadError, Visit, in_context, read_array, read_str};
use crate::service::flags::{FlagsWithMask, ServiceFlags};
use crate::service::protocol::Protocol;
use crate::stats::Stats;

/// One attribute of a service nest as read, borrowing its bytes. The two
/// counter nests are left as bytes: the reader of listings reads them into
/// [`Stats`], `Parseable` into their attribute enums.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ServiceValue<'a> {
    AddressFamily(AddressFamily),
    Protocol(Protocol),
    Address(&'a RawAddress),
    Port(u16),
    Fwmark(u32),
    Scheduler(&'a str),
    Flags(FlagsWithMask),
    Timeout(u32),
    Netmask([u8; 4]),
    Stats(&'a [u8]),
    PersistenceEngine(&'a str),
    Stats64(&'a [u8]),
}

/// Reads the value of the service attribute of type `kind` (flags masked
/// off) and gives it to `into`; an attribute this crate does not know is not
/// given. The error names the attribute.
#[inline(always)]
pub(crate) fn read_service<'a, E: ReadError>(
    kind: u16,
    value: &'a [u8],
    into: &mut impl Visit<ServiceValue<'a>>,
) -> Result<(), E> {
    let read = match kind {
        IPVS_SVC_ATTR_AF => ServiceValue::AddressFamily(AddressFamily::from_raw(in_context(
            read_array(value).map(u16::from_ne_bytes),
            "invalid IPVS_SVC_ATTR_AF",
        )?)),
        IPVS_SVC_ATTR_PROTOCOL => ServiceValue::Protocol(Protocol::from_raw(in_context(
            read_array(value).map(u16::from_ne_bytes),
            "invalid IPVS_SVC_ATTR_PROTOCOL",
        )?)),
        IPVS_SVC_ATTR_ADDR => ServiceValue::Address(in_context(
            read_raw_address(value),
            "invalid IPVS_SVC_ATTR_ADDR",
        )?),
        IPVS_SVC_ATTR_PORT => ServiceValue::Port(in_context(
            read_array(value).map(u16::from_be_bytes),
            "invalid IPVS_SVC_ATTR_PORT",
        )?),
        IPVS_SVC_ATTR_FWMARK => ServiceValue::Fwmark(in_context(
            read_array(value).map(u32::from_ne_bytes),
            "invalid IPVS_SVC_ATTR_FWMARK",
        )?),
        IPVS_SVC_ATTR_SCHED_NAME => ServiceValue::Scheduler(in_context(
            read_str(value),
            "invalid IPVS_SVC_ATTR_SCHED_NAME",
        )?),
        IPVS_SVC_ATTR_FLAGS => {
            let raw: [u8; 8] = in_context(read_array(value), "invalid IPVS_SVC_ATTR_FLAGS")?;
            let [f0, f1, f2, f3, m0, m1, m2, m3] = raw;
            ServiceValue::Flags(FlagsWithMask {
                flags: ServiceFlags::from_bits_retain(u32::from_ne_bytes([f0, f1, f2, f3])),
                mask: ServiceFlags::from_bits_retain(u32::from_ne_bytes([m0, m1, m2, m3])),
            })
        }
        IPVS_SVC_ATTR_TIMEOUT => ServiceValue::Timeout(in_context(
            read_array(value).map(u32::from_ne_bytes),
            "invalid IPVS_SVC_ATTR_TIMEOUT",
        )?),
        IPVS_SVC_ATTR_NETMASK => ServiceValue::Netmask(in_context(
            read_array(value),
            "invalid IPVS_SVC_ATTR_NETMASK",
        )?),
        IPVS_SVC_ATTR_STATS => ServiceValue::Stats(value),
        IPVS_SVC_ATTR_PE_NAME => ServiceValue::PersistenceEngine(in_context(
            read_str(value),
            "invalid IPVS_SVC_ATTR_PE_NAME",
        )?),
        IPVS_SVC_ATTR_STATS64 => ServiceValue::Stats64(value),
        _ => return Ok(()),
    };
    into.visit(read);
    Ok(())
}

/// The fields of a service nest, as read; the last attribute of a kind
/// wins. The counter nests are read by whoever fills the fields (from bytes
/// or from their attribute enums) into `stats` and `stats64`.
#[derive(Debug, Default)]
pub(crate) struct ServiceFields<'a> {
    pub(crate) family: Option<AddressFamily>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) address: Option<&'a RawAddress>,
    pub(crate) port: Option<u16>,
    pub(crate) fwmark: Option<u32>,
    pub(crate) scheduler: Option<&'a str>,
    pub(crate) flags: Option<FlagsWithMask>,
    pub(crate) timeout: Option<u32>,
    pub(crate) netmask: Option<[u8; 4]>,
    pub(crate) persistence_engine: Option<&'a str>,
    pub(crate) stats: Option<Stats>,
    pub(crate) stats64: Option<Stats>,
}

/// The values of the plain attributes, each kept in its field (the counter
/// nests are the filler's: see [`ServiceFields`]).
impl<'a> Visit<ServiceValue<'a>> for ServiceFields<'a> {
    #[inline(always)]
    fn visit(&mut self, value: ServiceValue<'a>) {
        match value {
            ServiceValue::AddressFamily(v) => self.family = Some(v),
            ServiceValue::Protocol(v) => self.protocol = Some(v),
            ServiceValue::Address(v) => self.address = Some(v),
            ServiceValue::Port(v) => self.port = Some(v),
            ServiceValue::Fwmark(v) => self.fwmark = Some(v),
            ServiceValue::Scheduler(v) => self.scheduler = Some(v),
            ServiceValue::Flags(v) => self.flags = Some(v),
            ServiceValue::Timeout(v) => self.timeout = Some(v),
            ServiceValue::Netmask(v) => self.netmask = Some(v),
            ServiceValue::PersistenceEngine(v) => self.persistence_engine = Some(v),
            ServiceValue::Stats(_) | ServiceValue::Stats64(_) => {}
        }
    }
}
