//! The typed daemon and its conversion to and from the nest's attributes.

use std::net::IpAddr;

use crate::daemon::attribute::DaemonAttribute;
use crate::daemon::state::DaemonState;
use crate::error::Error;

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
