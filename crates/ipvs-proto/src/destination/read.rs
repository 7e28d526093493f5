//! The one reader of a destination nest: each attribute's value read from
//! its bytes ([`read_destination`]) and the fields a destination is made of,
//! filled in from those values ([`DestinationFields`]); used as the service
//! nest's reader is (`service/read.rs`).

use crate::address::{AddressFamily, RawAddress, read_raw_address};
use crate::constants::*;
use crate::destination::forwarding::Forwarding;
use crate::destination::tunnel::{Tunnel, TunnelFlags, TunnelType};
use crate::nest::{Invalid, ReadError, Visit, in_context, read_array};
use crate::stats::Stats;

/// One attribute of a destination nest as read, borrowing its bytes; the
/// counter nests are left as bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DestValue<'a> {
    Address(&'a RawAddress),
    Port(u16),
    Forwarding(Forwarding),
    Weight(u32),
    UpperThreshold(u32),
    LowerThreshold(u32),
    ActiveConnections(u32),
    InactiveConnections(u32),
    PersistentConnections(u32),
    Stats(&'a [u8]),
    AddressFamily(AddressFamily),
    Stats64(&'a [u8]),
    TunnelType(TunnelType),
    TunnelPort(u16),
    TunnelFlags(TunnelFlags),
}

/// A host-order `u32` value; the error names `attribute`.
#[inline(always)]
fn u32_value<E: ReadError>(value: &[u8], attribute: &'static str) -> Result<u32, E> {
    in_context(
        read_array(value).map(u32::from_ne_bytes),
        Invalid(attribute),
    )
}

/// Reads the value of the destination attribute of type `kind` (flags
/// masked off) and gives it to `into`; an attribute this crate does not
/// know is not given. The error names the attribute.
#[inline(always)]
pub(crate) fn read_destination<'a, E: ReadError>(
    kind: u16,
    value: &'a [u8],
    into: &mut impl Visit<DestValue<'a>>,
) -> Result<(), E> {
    let read = match kind {
        IPVS_DEST_ATTR_ADDR => DestValue::Address(in_context(
            read_raw_address(value),
            "invalid IPVS_DEST_ATTR_ADDR",
        )?),
        IPVS_DEST_ATTR_PORT => DestValue::Port(in_context(
            read_array(value).map(u16::from_be_bytes),
            "invalid IPVS_DEST_ATTR_PORT",
        )?),
        IPVS_DEST_ATTR_FWD_METHOD => DestValue::Forwarding(Forwarding::from_raw(u32_value(
            value,
            "IPVS_DEST_ATTR_FWD_METHOD",
        )?)),
        IPVS_DEST_ATTR_WEIGHT => DestValue::Weight(u32_value(value, "IPVS_DEST_ATTR_WEIGHT")?),
        IPVS_DEST_ATTR_U_THRESH => {
            DestValue::UpperThreshold(u32_value(value, "IPVS_DEST_ATTR_U_THRESH")?)
        }
        IPVS_DEST_ATTR_L_THRESH => {
            DestValue::LowerThreshold(u32_value(value, "IPVS_DEST_ATTR_L_THRESH")?)
        }
        IPVS_DEST_ATTR_ACTIVE_CONNS => {
            DestValue::ActiveConnections(u32_value(value, "IPVS_DEST_ATTR_ACTIVE_CONNS")?)
        }
        IPVS_DEST_ATTR_INACT_CONNS => {
            DestValue::InactiveConnections(u32_value(value, "IPVS_DEST_ATTR_INACT_CONNS")?)
        }
        IPVS_DEST_ATTR_PERSIST_CONNS => {
            DestValue::PersistentConnections(u32_value(value, "IPVS_DEST_ATTR_PERSIST_CONNS")?)
        }
        IPVS_DEST_ATTR_STATS => DestValue::Stats(value),
        IPVS_DEST_ATTR_ADDR_FAMILY => {
            DestValue::AddressFamily(AddressFamily::from_raw(in_context(
                read_array(value).map(u16::from_ne_bytes),
                "invalid IPVS_DEST_ATTR_ADDR_FAMILY",
            )?))
        }
        IPVS_DEST_ATTR_STATS64 => DestValue::Stats64(value),
        IPVS_DEST_ATTR_TUN_TYPE => DestValue::TunnelType(TunnelType::from_raw(in_context(
            read_array(value).map(u8::from_ne_bytes),
            "invalid IPVS_DEST_ATTR_TUN_TYPE",
        )?)),
        IPVS_DEST_ATTR_TUN_PORT => DestValue::TunnelPort(in_context(
            read_array(value).map(u16::from_be_bytes),
            "invalid IPVS_DEST_ATTR_TUN_PORT",
        )?),
        IPVS_DEST_ATTR_TUN_FLAGS => {
            DestValue::TunnelFlags(TunnelFlags::from_bits_retain(in_context(
                read_array(value).map(u16::from_ne_bytes),
                "invalid IPVS_DEST_ATTR_TUN_FLAGS",
            )?))
        }
        _ => return Ok(()),
    };
    into.visit(read);
    Ok(())
}

/// The fields of a destination nest, as read; the last attribute of a kind
/// wins. The tunnel settings start at their defaults (kernels before 5.3
/// send none); the counter nests are read by whoever fills the fields into
/// `stats` and `stats64`.
#[derive(Debug, Default)]
pub(crate) struct DestinationFields<'a> {
    pub(crate) family: Option<AddressFamily>,
    pub(crate) address: Option<&'a RawAddress>,
    pub(crate) port: Option<u16>,
    pub(crate) forwarding: Option<Forwarding>,
    pub(crate) weight: Option<u32>,
    pub(crate) upper: Option<u32>,
    pub(crate) lower: Option<u32>,
    pub(crate) tunnel: Tunnel,
    pub(crate) active: Option<u32>,
    pub(crate) inactive: Option<u32>,
    pub(crate) persistent: Option<u32>,
    pub(crate) stats: Option<Stats>,
    pub(crate) stats64: Option<Stats>,
}

/// The values of the plain attributes, each kept in its field.
impl<'a> Visit<DestValue<'a>> for DestinationFields<'a> {
    #[inline(always)]
    fn visit(&mut self, value: DestValue<'a>) {
        match value {
            DestValue::Address(v) => self.address = Some(v),
            DestValue::Port(v) => self.port = Some(v),
            DestValue::Forwarding(v) => self.forwarding = Some(v),
            DestValue::Weight(v) => self.weight = Some(v),
            DestValue::UpperThreshold(v) => self.upper = Some(v),
            DestValue::LowerThreshold(v) => self.lower = Some(v),
            DestValue::ActiveConnections(v) => self.active = Some(v),
            DestValue::InactiveConnections(v) => self.inactive = Some(v),
            DestValue::PersistentConnections(v) => self.persistent = Some(v),
            DestValue::AddressFamily(v) => self.family = Some(v),
            DestValue::TunnelType(v) => self.tunnel.kind = v,
            DestValue::TunnelPort(v) => self.tunnel.port = v,
            DestValue::TunnelFlags(v) => self.tunnel.flags = v,
            DestValue::Stats(_) | DestValue::Stats64(_) => {}
        }
    }
}
