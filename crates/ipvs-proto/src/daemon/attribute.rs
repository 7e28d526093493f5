//! The attributes of the `IPVS_CMD_ATTR_DAEMON` nest.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_u8, parse_u16,
    parse_u32,
};

use crate::constants::*;
use crate::daemon::state::DaemonState;
use crate::nest::{Sink, WireAttribute, impl_nla, parse_string, write_str};

/// One attribute of the `IPVS_CMD_ATTR_DAEMON` nest.
#[derive(Debug, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum DaemonAttribute {
    /// `IPVS_DAEMON_ATTR_STATE`
    State(DaemonState),
    /// `IPVS_DAEMON_ATTR_MCAST_IFN`
    Interface(String),
    /// `IPVS_DAEMON_ATTR_SYNC_ID`
    SyncId(u32),
    /// `IPVS_DAEMON_ATTR_SYNC_MAXLEN`: UDP payload size.
    MaxLength(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP`
    Group(Ipv4Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_GROUP6`
    Group6(Ipv6Addr),
    /// `IPVS_DAEMON_ATTR_MCAST_PORT` (host order on the wire).
    Port(u16),
    /// `IPVS_DAEMON_ATTR_MCAST_TTL`
    Ttl(u8),
    /// Any other attribute, kept as it came.
    Other(DefaultNla),
}

impl WireAttribute for DaemonAttribute {
    fn wire_kind(&self) -> u16 {
        match self {
            Self::State(_) => IPVS_DAEMON_ATTR_STATE,
            Self::Interface(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            Self::SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            Self::MaxLength(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            Self::Group(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            Self::Group6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            Self::Port(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            Self::Ttl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn write_value<S: Sink>(&self, out: &mut S) {
        match self {
            Self::State(state) => out.put(&state.raw().to_ne_bytes()),
            Self::Interface(text) => write_str(text, out),
            Self::SyncId(id) => out.put(&(*id).to_ne_bytes()),
            Self::MaxLength(v) | Self::Port(v) => out.put(&(*v).to_ne_bytes()),
            Self::Group(group) => out.put(&group.octets()),
            Self::Group6(group) => out.put(&group.octets()),
            Self::Ttl(ttl) => out.put(&[*ttl]),
            Self::Other(nla) => out.put_with(nla.value_len(), |buffer| nla.emit_value(buffer)),
        }
    }
}

impl_nla!(DaemonAttribute);

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DaemonAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_DAEMON_ATTR_STATE => Self::State(
                parse_u32(payload)
                    .map(DaemonState::from_raw)
                    .context("invalid IPVS_DAEMON_ATTR_STATE")?,
            ),
            IPVS_DAEMON_ATTR_MCAST_IFN => Self::Interface(
                parse_string(payload).context("invalid IPVS_DAEMON_ATTR_MCAST_IFN")?,
            ),
            IPVS_DAEMON_ATTR_SYNC_ID => {
                Self::SyncId(parse_u32(payload).context("invalid IPVS_DAEMON_ATTR_SYNC_ID")?)
            }
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => {
                Self::MaxLength(parse_u16(payload).context("invalid IPVS_DAEMON_ATTR_SYNC_MAXLEN")?)
            }
            IPVS_DAEMON_ATTR_MCAST_GROUP => Self::Group(
                <[u8; 4]>::try_from(payload)
                    .map(Ipv4Addr::from)
                    .map_err(|_| DecodeError::invalid_ip_address(payload.len()))
                    .context("invalid IPVS_DAEMON_ATTR_MCAST_GROUP")?,
            ),
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => Self::Group6(
                <[u8; 16]>::try_from(payload)
                    .map(Ipv6Addr::from)
                    .map_err(|_| DecodeError::invalid_ip_address(payload.len()))
                    .context("invalid IPVS_DAEMON_ATTR_MCAST_GROUP6")?,
            ),
            IPVS_DAEMON_ATTR_MCAST_PORT => {
                Self::Port(parse_u16(payload).context("invalid IPVS_DAEMON_ATTR_MCAST_PORT")?)
            }
            IPVS_DAEMON_ATTR_MCAST_TTL => {
                Self::Ttl(parse_u8(payload).context("invalid IPVS_DAEMON_ATTR_MCAST_TTL")?)
            }
            _ => Self::Other(DefaultNla::parse(buf).context("invalid daemon attribute")?),
        })
    }
}
