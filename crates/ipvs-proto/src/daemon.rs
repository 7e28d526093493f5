//! Connection-synchronisation daemons: the `IPVS_CMD_ATTR_DAEMON` nest and
//! the typed [`Daemon`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, emit_u16, emit_u32, parse_u8,
    parse_u16, parse_u32,
};

use crate::constants::*;
use crate::error::Error;
use crate::nest::{Append, append_leaf, emit_string, parse_string};

/// Role of a synchronisation daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DaemonState {
    /// Sends connection state (`--start-daemon master`).
    Master,
    /// Receives connection state (`--start-daemon backup`).
    Backup,
    /// A state this crate does not know, with the kernel's number; kept so
    /// that it can be written back unchanged.
    Other(u32),
}

impl DaemonState {
    /// The kernel's number (`IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`).
    pub fn raw(self) -> u32 {
        match self {
            Self::Master => IP_VS_STATE_MASTER,
            Self::Backup => IP_VS_STATE_BACKUP,
            Self::Other(raw) => raw,
        }
    }

    /// The role with the kernel's number `raw` ([`DaemonState::Other`] for
    /// numbers this crate does not know).
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            IP_VS_STATE_MASTER => Self::Master,
            IP_VS_STATE_BACKUP => Self::Backup,
            other => Self::Other(other),
        }
    }
}

impl From<u32> for DaemonState {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Master => f.write_str("master"),
            Self::Backup => f.write_str("backup"),
            Self::Other(raw) => write!(f, "state {raw}"),
        }
    }
}

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

impl Nla for DaemonAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::State(_) | Self::SyncId(_) | Self::Group(_) => 4,
            Self::Interface(text) => text.len() + 1,
            Self::MaxLength(_) | Self::Port(_) => 2,
            Self::Group6(_) => 16,
            Self::Ttl(_) => 1,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
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

    fn emit_value(&self, buffer: &mut [u8]) {
        const SIZED: &str = "buffer sized by value_len";
        match self {
            Self::State(state) => emit_u32(buffer, state.raw()).expect(SIZED),
            Self::Interface(text) => emit_string(text, buffer),
            Self::SyncId(id) => emit_u32(buffer, *id).expect(SIZED),
            Self::MaxLength(v) | Self::Port(v) => emit_u16(buffer, *v).expect(SIZED),
            Self::Group(group) => buffer.copy_from_slice(&group.octets()),
            Self::Group6(group) => buffer.copy_from_slice(&group.octets()),
            Self::Ttl(ttl) => buffer[0] = *ttl,
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

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

/// A connection-synchronisation daemon, to start, to stop or as listed.
///
/// The optional settings are sent only when set, in ipvsadm's (and the
/// kernel's) order: max length, port, TTL, group.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Daemon {
    /// Master or backup.
    pub state: DaemonState,
    /// Multicast interface (`--mcast-interface`); empty to stop a daemon.
    pub interface: String,
    /// Synchronisation id (`--syncid`).
    pub sync_id: u32,
    /// Maximum UDP payload (`--sync-maxlen`).
    pub max_length: Option<u16>,
    /// Multicast group (`--mcast-group`), IPv4 or IPv6.
    pub group: Option<IpAddr>,
    /// Multicast port (`--mcast-port`).
    pub port: Option<u16>,
    /// Multicast TTL (`--mcast-ttl`).
    pub ttl: Option<u8>,
}

impl Daemon {
    /// A daemon in `state` on `interface` with `sync_id` and kernel defaults
    /// for everything else.
    pub fn new(state: DaemonState, interface: impl Into<String>, sync_id: u32) -> Self {
        Self {
            state,
            interface: interface.into(),
            sync_id,
            max_length: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    /// The attributes of the daemon nest.
    pub fn to_attributes(&self) -> Vec<DaemonAttribute> {
        let mut attributes = vec![
            DaemonAttribute::State(self.state),
            DaemonAttribute::Interface(self.interface.clone()),
            DaemonAttribute::SyncId(self.sync_id),
        ];
        attributes.extend(self.max_length.map(DaemonAttribute::MaxLength));
        attributes.extend(self.port.map(DaemonAttribute::Port));
        attributes.extend(self.ttl.map(DaemonAttribute::Ttl));
        attributes.extend(self.group.map(|group| match group {
            IpAddr::V4(v4) => DaemonAttribute::Group(v4),
            IpAddr::V6(v6) => DaemonAttribute::Group6(v6),
        }));
        attributes
    }

    /// Reads a daemon nest; state, interface and sync id must be present.
    pub fn from_attributes(attributes: &[DaemonAttribute]) -> Result<Self, Error> {
        let mut state = None;
        let mut interface = None;
        let mut sync_id = None;
        let mut daemon_options = (None, None, None, None);
        for attribute in attributes {
            match attribute {
                DaemonAttribute::State(v) => state = Some(*v),
                DaemonAttribute::Interface(v) => interface = Some(v.clone()),
                DaemonAttribute::SyncId(v) => sync_id = Some(*v),
                DaemonAttribute::MaxLength(v) => daemon_options.0 = Some(*v),
                DaemonAttribute::Group(v) => daemon_options.1 = Some(IpAddr::V4(*v)),
                DaemonAttribute::Group6(v) => daemon_options.1 = Some(IpAddr::V6(*v)),
                DaemonAttribute::Port(v) => daemon_options.2 = Some(*v),
                DaemonAttribute::Ttl(v) => daemon_options.3 = Some(*v),
                DaemonAttribute::Other(_) => {}
            }
        }
        const NEST: &str = "daemon";
        let (max_length, group, port, ttl) = daemon_options;
        Ok(Self {
            state: state.ok_or_else(|| Error::missing(NEST, "IPVS_DAEMON_ATTR_STATE"))?,
            interface: interface
                .ok_or_else(|| Error::missing(NEST, "IPVS_DAEMON_ATTR_MCAST_IFN"))?,
            sync_id: sync_id.ok_or_else(|| Error::missing(NEST, "IPVS_DAEMON_ATTR_SYNC_ID"))?,
            max_length,
            group,
            port,
            ttl,
        })
    }
}

impl Append for DaemonAttribute {
    fn append(&self, out: &mut Vec<u8>) {
        append_leaf(self, out)
    }
}
