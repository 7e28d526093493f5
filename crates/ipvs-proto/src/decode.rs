//! A direct decoder of the replies that make up a listing: the attribute
//! bytes of a `NEW_SERVICE` or `NEW_DEST` message read straight into the
//! typed [`Service`] / [`Destination`], in one pass, without building the
//! attribute enums first.
//!
//! It accepts only what the generic path (attribute enums, then
//! `from_attributes`) accepts, and gives the same value for it. Anything it
//! does not take on (an irregular attribute, a missing one, a repeated nest,
//! another command) it leaves to the generic path, which then says what is
//! wrong with the input, with every context.

use std::time::Duration;

use netlink_packet_core::NLA_TYPE_MASK;

use crate::address::{AddressFamily, decode_address};
use crate::constants::*;
use crate::destination::{Connections, Destination, Forwarding, Tunnel, TunnelFlags, TunnelType};
use crate::service::{Netmask, Protocol, Service, ServiceFlags, ServiceKey};
use crate::stats::Stats;

/// The service of a listing: the one service nest of a `NEW_SERVICE`
/// message's attribute bytes, read in one pass. `None` for anything
/// irregular, which the generic path then reports.
pub(crate) fn listed_service(attributes: &[u8]) -> Option<Service> {
    service(only_nest(attributes, IPVS_CMD_ATTR_SERVICE)?)
}

/// The destination of a listing: the one destination nest of a `NEW_DEST`
/// message's attribute bytes, read in one pass; `family_hint` as for
/// [`Destination::from_attributes`]. `None` for anything irregular.
pub(crate) fn listed_destination(
    attributes: &[u8],
    family_hint: Option<AddressFamily>,
) -> Option<Destination> {
    destination(only_nest(attributes, IPVS_CMD_ATTR_DEST)?, family_hint)
}

/// Calls `each` with the type (flags masked off) and value of every
/// attribute of `buffer`, as `NlasIterator` walks them; `None` for an
/// attribute whose length does not fit, or when `each` gives up.
fn for_each_attribute<'a>(
    buffer: &'a [u8],
    mut each: impl FnMut(u16, &'a [u8]) -> Option<()>,
) -> Option<()> {
    let mut position = 0;
    while position < buffer.len() {
        let rest = &buffer[position..];
        let header = rest.get(..4)?;
        let length = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        if length < 4 || length > rest.len() {
            return None;
        }
        let kind = u16::from_ne_bytes([header[2], header[3]]) & NLA_TYPE_MASK;
        each(kind, &rest[4..length])?;
        position += (length + 3) & !3;
    }
    Some(())
}

/// The value of the one top-level nest of type `wanted`. Another known
/// top-level attribute, or a second nest, is left to the generic path (the
/// timeouts are checked here, unknown attributes skipped as it skips them).
fn only_nest(attributes: &[u8], wanted: u16) -> Option<&[u8]> {
    let mut nest = None;
    for_each_attribute(attributes, |kind, value| match kind {
        _ if kind == wanted => match nest.replace(value) {
            None => Some(()),
            Some(_) => None,
        },
        IPVS_CMD_ATTR_SERVICE | IPVS_CMD_ATTR_DEST | IPVS_CMD_ATTR_DAEMON => None,
        IPVS_CMD_ATTR_TIMEOUT_TCP | IPVS_CMD_ATTR_TIMEOUT_TCP_FIN | IPVS_CMD_ATTR_TIMEOUT_UDP => {
            u32_ne(value).map(drop)
        }
        _ => Some(()),
    })?;
    nest
}

fn u8_value(value: &[u8]) -> Option<u8> {
    match value {
        [byte] => Some(*byte),
        _ => None,
    }
}

fn u16_ne(value: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(value.try_into().ok()?))
}

fn u16_be(value: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(value.try_into().ok()?))
}

fn u32_ne(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.try_into().ok()?))
}

fn u64_ne(value: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(value.try_into().ok()?))
}

/// A string attribute as `parse_string` reads it: one trailing NUL
/// dropped, no NUL before it, UTF-8.
fn text(value: &[u8]) -> Option<&str> {
    let text = value.strip_suffix(&[0]).unwrap_or(value);
    if text.contains(&0) {
        return None;
    }
    std::str::from_utf8(text).ok()
}

/// A `STATS` (`wide` false: 32-bit counters, 64-bit byte counts) or
/// `STATS64` nest; counters it lacks stay 0, the last of a kind wins.
fn stats(nest: &[u8], wide: bool) -> Option<Stats> {
    let mut stats = Stats::default();
    for_each_attribute(nest, |kind, value| {
        let field = match kind {
            IPVS_STATS_ATTR_CONNS => &mut stats.connections,
            IPVS_STATS_ATTR_INPKTS => &mut stats.packets_in,
            IPVS_STATS_ATTR_OUTPKTS => &mut stats.packets_out,
            IPVS_STATS_ATTR_INBYTES => &mut stats.bytes_in,
            IPVS_STATS_ATTR_OUTBYTES => &mut stats.bytes_out,
            IPVS_STATS_ATTR_CPS => &mut stats.connection_rate,
            IPVS_STATS_ATTR_INPPS => &mut stats.packet_rate_in,
            IPVS_STATS_ATTR_OUTPPS => &mut stats.packet_rate_out,
            IPVS_STATS_ATTR_INBPS => &mut stats.byte_rate_in,
            IPVS_STATS_ATTR_OUTBPS => &mut stats.byte_rate_out,
            _ => return Some(()),
        };
        let bytes = matches!(kind, IPVS_STATS_ATTR_INBYTES | IPVS_STATS_ATTR_OUTBYTES);
        *field = if wide || bytes {
            u64_ne(value)?
        } else {
            u64::from(u32_ne(value)?)
        };
        Some(())
    })?;
    Some(stats)
}

/// `STATS64` when the nest had one, else `STATS`, as `Stats::pick`.
fn pick(stats: Option<Stats>, stats64: Option<Stats>) -> Option<Stats> {
    stats64.or(stats)
}

/// A service nest, as `Service::from_attributes` reads the parsed nest.
fn service(nest: &[u8]) -> Option<Service> {
    let mut family = None;
    let mut protocol = None;
    let mut address = None;
    let mut port = None;
    let mut fwmark = None;
    let mut scheduler = None;
    let mut flags = None;
    let mut timeout = None;
    let mut netmask = None;
    let mut engine = None;
    let (mut narrow, mut wide) = (None, None);
    for_each_attribute(nest, |kind, value| {
        match kind {
            IPVS_SVC_ATTR_AF => family = Some(AddressFamily::from_raw(u16_ne(value)?)),
            IPVS_SVC_ATTR_PROTOCOL => protocol = Some(Protocol::from_raw(u16_ne(value)?)),
            IPVS_SVC_ATTR_ADDR => address = Some(<&[u8; 16]>::try_from(value).ok()?),
            IPVS_SVC_ATTR_PORT => port = Some(u16_be(value)?),
            IPVS_SVC_ATTR_FWMARK => fwmark = Some(u32_ne(value)?),
            IPVS_SVC_ATTR_SCHED_NAME => scheduler = Some(text(value)?),
            IPVS_SVC_ATTR_FLAGS => {
                if value.len() != 8 {
                    return None;
                }
                flags = Some((u32_ne(&value[..4])?, u32_ne(&value[4..])?));
            }
            IPVS_SVC_ATTR_TIMEOUT => timeout = Some(u32_ne(value)?),
            IPVS_SVC_ATTR_NETMASK => netmask = Some(<[u8; 4]>::try_from(value).ok()?),
            IPVS_SVC_ATTR_STATS => narrow = Some(stats(value, false)?),
            IPVS_SVC_ATTR_PE_NAME => engine = Some(text(value)?),
            IPVS_SVC_ATTR_STATS64 => wide = Some(stats(value, true)?),
            _ => {}
        }
        Some(())
    })?;
    let family = family?;
    let key = match fwmark {
        Some(mark) => ServiceKey::Fwmark { family, mark },
        None => ServiceKey::Tuple {
            protocol: protocol?,
            address: decode_address(family, address?)?,
            port: port?,
        },
    };
    let (flags, mask) = flags?;
    Some(Service {
        key,
        scheduler: scheduler?.to_owned(),
        flags: ServiceFlags::from_bits_retain(flags),
        flags_mask: ServiceFlags::from_bits_retain(mask),
        timeout: Duration::from_secs(timeout?.into()),
        netmask: Netmask::from_raw(family, netmask?).ok()?,
        persistence_engine: engine.map(str::to_owned),
        stats: pick(narrow, wide),
    })
}

/// A destination nest, as `Destination::from_attributes` reads the parsed
/// nest.
fn destination(nest: &[u8], family_hint: Option<AddressFamily>) -> Option<Destination> {
    let (mut family, mut address, mut port) = (None, None, None);
    let (mut forwarding, mut weight, mut upper, mut lower) = (None, None, None, None);
    let (mut active, mut inactive, mut persistent) = (None, None, None);
    let (mut narrow, mut wide) = (None, None);
    let mut tunnel = Tunnel::default();
    for_each_attribute(nest, |kind, value| {
        match kind {
            IPVS_DEST_ATTR_ADDR => address = Some(<&[u8; 16]>::try_from(value).ok()?),
            IPVS_DEST_ATTR_PORT => port = Some(u16_be(value)?),
            IPVS_DEST_ATTR_FWD_METHOD => forwarding = Some(Forwarding::from_raw(u32_ne(value)?)),
            IPVS_DEST_ATTR_WEIGHT => weight = Some(u32_ne(value)?),
            IPVS_DEST_ATTR_U_THRESH => upper = Some(u32_ne(value)?),
            IPVS_DEST_ATTR_L_THRESH => lower = Some(u32_ne(value)?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => active = Some(u32_ne(value)?),
            IPVS_DEST_ATTR_INACT_CONNS => inactive = Some(u32_ne(value)?),
            IPVS_DEST_ATTR_PERSIST_CONNS => persistent = Some(u32_ne(value)?),
            IPVS_DEST_ATTR_STATS => narrow = Some(stats(value, false)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => {
                family = Some(AddressFamily::from_raw(u16_ne(value)?));
            }
            IPVS_DEST_ATTR_STATS64 => wide = Some(stats(value, true)?),
            IPVS_DEST_ATTR_TUN_TYPE => tunnel.kind = TunnelType::from_raw(u8_value(value)?),
            IPVS_DEST_ATTR_TUN_PORT => tunnel.port = u16_be(value)?,
            IPVS_DEST_ATTR_TUN_FLAGS => {
                tunnel.flags = TunnelFlags::from_bits_retain(u16_ne(value)?);
            }
            _ => {}
        }
        Some(())
    })?;
    let connections = Connections::from_counts(active, inactive, persistent);
    Some(Destination {
        address: decode_address(family.or(family_hint)?, address?)?,
        port: port?,
        forwarding: forwarding?,
        weight: weight?,
        upper_threshold: upper?,
        lower_threshold: lower?,
        tunnel,
        connections,
        stats: pick(narrow, wide),
    })
}
