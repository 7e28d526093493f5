//! The one-pass reader of the replies that make up a listing: the attribute
//! bytes of a `NEW_SERVICE` or `NEW_DEST` message read straight into the
//! typed [`Service`] / [`Destination`], in one pass, without building the
//! attribute enums first.
//!
//! It is the crate's one decoder of those nests, not a second one: every
//! attribute's value is read by the reader of its nest (`read_service`,
//! `read_destination`, `read_counter`) into the fields the model is made of
//! (`ServiceFields`, `DestinationFields`), exactly as netlink-packet's
//! `Parseable` (which builds the attribute enums with the same readers) and
//! the models' `from_attributes` (which fill the same fields from those
//! enums) do. What is left here is the walk over the bytes. When anything
//! is irregular (an attribute whose length does not fit, a value its reader
//! refuses, a missing attribute, a repeated nest, another command) it gives
//! `None`, and `Reply::decode` reads the message again through `Parseable`,
//! whose errors carry every context.

use netlink_packet_core::NLA_TYPE_MASK;

use crate::address::AddressFamily;
use crate::constants::*;
use crate::destination::{Destination, DestinationFields, read_destination};
use crate::service::{Service, ServiceFields, read_service};
use crate::stats::{Stats, read_counter};

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
#[inline(always)]
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
            (value.len() == 4).then_some(())
        }
        _ => Some(()),
    })?;
    nest
}

/// A `STATS` (`wide` false) or `STATS64` nest read into [`Stats`] by the
/// one reader of counters; counters it lacks stay 0, the last of a kind
/// wins.
fn stats(nest: &[u8], wide: bool) -> Option<Stats> {
    let mut stats = Stats::default();
    for_each_attribute(nest, |kind, value| {
        read_counter::<()>(kind, value, wide, &mut stats).ok()
    })?;
    Some(stats)
}

/// A service nest, read into the fields `Service::from_attributes` fills
/// from the parsed nest, by the same reader.
fn service(nest: &[u8]) -> Option<Service> {
    let mut fields = ServiceFields::default();
    for_each_attribute(nest, |kind, value| {
        match kind {
            IPVS_SVC_ATTR_STATS => fields.stats = Some(stats(value, false)?),
            IPVS_SVC_ATTR_STATS64 => fields.stats64 = Some(stats(value, true)?),
            _ => read_service::<()>(kind, value, &mut fields).ok()?,
        }
        Some(())
    })?;
    fields.service().ok()
}

/// A destination nest, read into the fields `Destination::from_attributes`
/// fills from the parsed nest, by the same reader.
fn destination(nest: &[u8], family_hint: Option<AddressFamily>) -> Option<Destination> {
    let mut fields = DestinationFields::default();
    for_each_attribute(nest, |kind, value| {
        match kind {
            IPVS_DEST_ATTR_STATS => fields.stats = Some(stats(value, false)?),
            IPVS_DEST_ATTR_STATS64 => fields.stats64 = Some(stats(value, true)?),
            _ => read_destination::<()>(kind, value, &mut fields).ok()?,
        }
        Some(())
    })?;
    fields.destination(family_hint).ok()
}
