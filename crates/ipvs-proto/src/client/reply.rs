//! Typed replies: what a message the kernel answers with means.

use netlink_packet_core::ParseableParametrized;
use netlink_packet_generic::GenlHeader;

use crate::address::AddressFamily;
use crate::attribute::IpvsAttribute;
use crate::client::parts::Parts;
use crate::cmd::IpvsCmd;
use crate::constants::IPVS_GENL_VERSION;
use crate::daemon::Daemon;
use crate::decode::{listed_destination, listed_service};
use crate::destination::Destination;
use crate::error::Error;
use crate::info::Info;
use crate::message::IpvsMessage;
use crate::service::Service;
use crate::timeouts::Timeouts;

/// A message the kernel answers with, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// One service of a listing (`IPVS_CMD_NEW_SERVICE`).
    Service(Service),
    /// One destination of a listing (`IPVS_CMD_NEW_DEST`).
    Destination(Destination),
    /// One running daemon (`IPVS_CMD_NEW_DAEMON`).
    Daemon(Daemon),
    /// The timeouts (`IPVS_CMD_SET_CONFIG`).
    Timeouts(Timeouts),
    /// Version and table size (`IPVS_CMD_SET_INFO`).
    Info(Info),
}

impl Reply {
    /// The service, if this is one.
    pub fn into_service(self) -> Option<Service> {
        match self {
            Self::Service(service) => Some(service),
            _ => None,
        }
    }

    /// The destination, if this is one.
    pub fn into_destination(self) -> Option<Destination> {
        match self {
            Self::Destination(destination) => Some(destination),
            _ => None,
        }
    }

    /// The daemon, if this is one.
    pub fn into_daemon(self) -> Option<Daemon> {
        match self {
            Self::Daemon(daemon) => Some(daemon),
            _ => None,
        }
    }

    /// The timeouts, if this is them.
    pub fn into_timeouts(self) -> Option<Timeouts> {
        match self {
            Self::Timeouts(timeouts) => Some(timeouts),
            _ => None,
        }
    }

    /// The information, if this is it.
    pub fn into_info(self) -> Option<Info> {
        match self {
            Self::Info(info) => Some(info),
            _ => None,
        }
    }

    /// The message for this reply, as the kernel writes it (apart from the
    /// kernel leaving `NLA_F_NESTED` off its top-level nests).
    pub fn to_message(&self) -> IpvsMessage {
        match self {
            Self::Service(s) => IpvsMessage::new(
                IpvsCmd::NewService,
                vec![IpvsAttribute::Service(s.to_attributes())],
            ),
            Self::Destination(d) => IpvsMessage::new(
                IpvsCmd::NewDest,
                vec![IpvsAttribute::Destination(d.to_attributes())],
            ),
            Self::Daemon(daemon) => IpvsMessage::new(
                IpvsCmd::NewDaemon,
                vec![IpvsAttribute::Daemon(daemon.to_attributes())],
            ),
            Self::Timeouts(timeouts) => {
                IpvsMessage::new(IpvsCmd::SetConfig, timeouts.to_attributes())
            }
            Self::Info(info) => IpvsMessage::new(
                IpvsCmd::SetInfo,
                info.to_attributes()
                    .into_iter()
                    .map(IpvsAttribute::Info)
                    .collect(),
            ),
        }
    }

    /// Reads a reply message. `family_hint` is the family of the service
    /// whose destinations are listed, for kernels that do not send the
    /// destination's address family.
    pub fn from_message(
        message: &IpvsMessage,
        family_hint: Option<AddressFamily>,
    ) -> Result<Self, Error> {
        let parts = Parts::of(message);
        Ok(match message.cmd {
            IpvsCmd::NewService => Self::Service(parts.service()?),
            IpvsCmd::NewDest => Self::Destination(Destination::from_attributes(
                parts
                    .destination
                    .ok_or_else(|| Error::missing("reply", "IPVS_CMD_ATTR_DEST"))?,
                family_hint,
            )?),
            IpvsCmd::NewDaemon => Self::Daemon(parts.daemon()?),
            IpvsCmd::SetConfig => Self::Timeouts(parts.timeouts),
            IpvsCmd::SetInfo => Self::Info(Info::from_attributes(&parts.info)?),
            command => {
                return Err(Error::UnexpectedCommand {
                    command,
                    expected: "a reply command (NEW_SERVICE, NEW_DEST, NEW_DAEMON, SET_CONFIG or SET_INFO)",
                });
            }
        })
    }
}

impl Reply {
    /// Reads a reply from its command and its attribute bytes (what follows
    /// the generic-netlink header), as [`Reply::from_message`] reads it from
    /// the parsed message, but straight from the bytes for the services and
    /// destinations of a listing. `family_hint` is as for
    /// [`Reply::from_message`].
    ///
    /// ```
    /// use ipvs_proto::{IpvsCmd, Reply, Service, ServiceKey};
    ///
    /// let service = Service::new(ServiceKey::tcp("10.0.0.1:80".parse().unwrap()), "rr");
    /// let mut bytes = Vec::new();
    /// Reply::Service(service.clone()).to_message().append_attributes(&mut bytes);
    /// let reply = Reply::decode(IpvsCmd::NewService, &bytes, None).unwrap();
    /// assert_eq!(reply, Reply::Service(service));
    /// ```
    pub fn decode(
        cmd: IpvsCmd,
        attributes: &[u8],
        family_hint: Option<AddressFamily>,
    ) -> Result<Self, Error> {
        if let Some(reply) = Self::decode_listed(cmd, attributes, family_hint) {
            return Ok(reply);
        }
        let header = GenlHeader {
            cmd: cmd.into(),
            version: IPVS_GENL_VERSION,
        };
        let message = IpvsMessage::parse_with_param(attributes, header)?;
        Self::from_message(&message, family_hint)
    }

    /// The one-pass decoder alone: the service or destination of a listing
    /// (`NEW_SERVICE` / `NEW_DEST` with one nest), read straight from the
    /// attribute bytes. `None` when it leaves the message to the generic
    /// path: another command, or anything irregular (which that path then
    /// reports). When it gives a reply, [`Reply::from_message`] gives the
    /// same one.
    pub fn decode_listed(
        cmd: IpvsCmd,
        attributes: &[u8],
        family_hint: Option<AddressFamily>,
    ) -> Option<Self> {
        match cmd {
            IpvsCmd::NewService => listed_service(attributes).map(Self::Service),
            IpvsCmd::NewDest => listed_destination(attributes, family_hint).map(Self::Destination),
            _ => None,
        }
    }
}
