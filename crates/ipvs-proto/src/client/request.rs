//! Typed requests and replies: what a message means, above its attributes.

use std::net::SocketAddr;

use netlink_packet_core::NLA_F_NESTED;

use crate::attribute::IpvsAttribute;
use crate::client::parts::Parts;
use crate::cmd::IpvsCmd;
use crate::constants::{IPVS_CMD_ATTR_DEST, IPVS_CMD_ATTR_SERVICE};
use crate::daemon::{Daemon, DaemonState};
use crate::destination::{Destination, Forwarding};
use crate::error::Error;
use crate::message::IpvsMessage;
use crate::service::{Netmask, Service, ServiceKey};
use crate::timeouts::Timeouts;

/// A request to the kernel, typed.
///
/// [`Request::to_message`] produces exactly the attributes ipvsadm sends for
/// the same operation; [`Request::from_message`] reads them back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// `IPVS_CMD_NEW_SERVICE`: add a service (`-A`).
    NewService(Service),
    /// `IPVS_CMD_SET_SERVICE`: replace a service's settings (`-E`).
    SetService(Service),
    /// `IPVS_CMD_DEL_SERVICE`: delete a service (`-D`).
    DelService(Service),
    /// `IPVS_CMD_GET_SERVICE` naming one service (ipvsadm sends a whole
    /// service nest with an empty scheduler and a zero netmask).
    GetService(Service),
    /// `IPVS_CMD_GET_SERVICE` as a dump: every service.
    GetServices,
    /// `IPVS_CMD_NEW_DEST`: add a destination to a service (`-a`).
    NewDestination(Service, Destination),
    /// `IPVS_CMD_SET_DEST`: change a destination (`-e`).
    SetDestination(Service, Destination),
    /// `IPVS_CMD_DEL_DEST`: delete a destination (`-d`).
    DelDestination(Service, Destination),
    /// `IPVS_CMD_GET_DEST` as a dump: the destinations of a service.
    GetDestinations(ServiceKey),
    /// `IPVS_CMD_NEW_DAEMON`: start a sync daemon.
    NewDaemon(Daemon),
    /// `IPVS_CMD_DEL_DAEMON`: stop a sync daemon.
    DelDaemon(Daemon),
    /// `IPVS_CMD_GET_DAEMON` as a dump: the running sync daemons.
    GetDaemons,
    /// `IPVS_CMD_SET_CONFIG`: set timeouts (`--set`).
    SetTimeouts(Timeouts),
    /// `IPVS_CMD_GET_CONFIG`: get timeouts.
    GetTimeouts,
    /// `IPVS_CMD_GET_INFO`: version and connection table size.
    GetInfo,
    /// `IPVS_CMD_ZERO`: zero the counters of one service, or of all.
    Zero(Option<Service>),
    /// `IPVS_CMD_FLUSH`: delete every service (`-C`).
    Flush,
}

impl Request {
    /// Adds `service`, as `ipvsadm -A` does.
    pub fn add_service(service: &Service) -> Self {
        Self::NewService(service.clone())
    }

    /// Replaces the settings of `service`, as `ipvsadm -E` does.
    pub fn edit_service(service: &Service) -> Self {
        Self::SetService(service.clone())
    }

    /// Deletes the service `key`, as `ipvsadm -D` does.
    pub fn delete_service(key: &ServiceKey) -> Self {
        Self::DelService(Service::reference(*key))
    }

    /// Looks the service `key` up, as `ipvsadm -L -t ...` does.
    pub fn get_service(key: &ServiceKey) -> Self {
        let mut lookup = Service::reference(*key);
        lookup.netmask = Netmask::zero(key.family());
        Self::GetService(lookup)
    }

    /// Adds `destination` to the service `key`, as `ipvsadm -a` does.
    pub fn add_destination(key: &ServiceKey, destination: &Destination) -> Self {
        Self::NewDestination(Service::reference(*key), destination.clone())
    }

    /// Replaces the settings of `destination` of the service `key`, as
    /// `ipvsadm -e` does.
    pub fn edit_destination(key: &ServiceKey, destination: &Destination) -> Self {
        Self::SetDestination(Service::reference(*key), destination.clone())
    }

    /// Deletes the destination at `address` from the service `key`, as
    /// `ipvsadm -d` does (it fills in direct routing and weight 1, which the
    /// kernel ignores).
    pub fn delete_destination(key: &ServiceKey, address: SocketAddr) -> Self {
        Self::DelDestination(
            Service::reference(*key),
            Destination::new(address, Forwarding::DirectRoute, 1),
        )
    }

    /// Zeroes the counters of the service `key`, or of all services.
    pub fn zero(key: Option<&ServiceKey>) -> Self {
        Self::Zero(key.map(|key| Service::reference(*key)))
    }

    /// Stops the sync daemon in `state`, as `ipvsadm --stop-daemon` does.
    pub fn stop_daemon(state: DaemonState) -> Self {
        Self::DelDaemon(Daemon::new(state, "", 0))
    }

    /// The command of the message.
    pub fn command(&self) -> IpvsCmd {
        match self {
            Self::NewService(_) => IpvsCmd::NewService,
            Self::SetService(_) => IpvsCmd::SetService,
            Self::DelService(_) => IpvsCmd::DelService,
            Self::GetService(_) | Self::GetServices => IpvsCmd::GetService,
            Self::NewDestination(..) => IpvsCmd::NewDest,
            Self::SetDestination(..) => IpvsCmd::SetDest,
            Self::DelDestination(..) => IpvsCmd::DelDest,
            Self::GetDestinations(_) => IpvsCmd::GetDest,
            Self::NewDaemon(_) => IpvsCmd::NewDaemon,
            Self::DelDaemon(_) => IpvsCmd::DelDaemon,
            Self::GetDaemons => IpvsCmd::GetDaemon,
            Self::SetTimeouts(_) => IpvsCmd::SetConfig,
            Self::GetTimeouts => IpvsCmd::GetConfig,
            Self::GetInfo => IpvsCmd::GetInfo,
            Self::Zero(_) => IpvsCmd::Zero,
            Self::Flush => IpvsCmd::Flush,
        }
    }

    /// Whether the request is sent as a dump (`NLM_F_DUMP`), answered by a
    /// multi-part reply.
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Self::GetServices | Self::GetDestinations(_) | Self::GetDaemons
        )
    }

    /// The message for this request.
    pub fn to_message(&self) -> IpvsMessage {
        let service = |s: &Service| IpvsAttribute::Service(s.to_attributes());
        let destination = |d: &Destination| IpvsAttribute::Destination(d.to_attributes());
        let attributes = match self {
            Self::NewService(s) | Self::SetService(s) | Self::DelService(s) => vec![service(s)],
            Self::GetService(s) | Self::Zero(Some(s)) => vec![service(s)],
            Self::NewDestination(s, d)
            | Self::SetDestination(s, d)
            | Self::DelDestination(s, d) => {
                vec![service(s), destination(d)]
            }
            Self::GetDestinations(key) => vec![IpvsAttribute::Service(key.to_attributes())],
            Self::NewDaemon(daemon) | Self::DelDaemon(daemon) => {
                vec![IpvsAttribute::Daemon(daemon.to_attributes())]
            }
            Self::SetTimeouts(timeouts) => timeouts.to_attributes(),
            Self::GetServices
            | Self::GetDaemons
            | Self::GetTimeouts
            | Self::GetInfo
            | Self::Zero(None)
            | Self::Flush => Vec::new(),
        };
        IpvsMessage::new(self.command(), attributes)
    }

    /// Appends the attributes of [`Request::to_message`] to `out`: the same
    /// bytes, written in one pass without building the attributes (the
    /// service and destination nests of the requests a batch sends are
    /// written straight from the typed values).
    ///
    /// ```
    /// use ipvs_proto::{Request, Service, ServiceKey};
    ///
    /// let request = Request::add_service(&Service::new(ServiceKey::tcp("10.0.0.1:80".parse()?), "rr"));
    /// let mut direct = Vec::new();
    /// request.append_attributes(&mut direct);
    /// let mut built = Vec::new();
    /// request.to_message().append_attributes(&mut built);
    /// assert_eq!(direct, built);
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    pub fn append_attributes(&self, out: &mut Vec<u8>) {
        const SERVICE: u16 = IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED;
        const DESTINATION: u16 = IPVS_CMD_ATTR_DEST | NLA_F_NESTED;
        match self {
            Self::NewService(s)
            | Self::SetService(s)
            | Self::DelService(s)
            | Self::GetService(s)
            | Self::Zero(Some(s)) => s.append_nest(SERVICE, out),
            Self::NewDestination(s, d)
            | Self::SetDestination(s, d)
            | Self::DelDestination(s, d) => {
                s.append_nest(SERVICE, out);
                d.append_nest(DESTINATION, out);
            }
            Self::GetDestinations(key) => key.append_nest(SERVICE, out),
            Self::NewDaemon(_) | Self::DelDaemon(_) | Self::SetTimeouts(_) => {
                self.to_message().append_attributes(out)
            }
            Self::GetServices
            | Self::GetDaemons
            | Self::GetTimeouts
            | Self::GetInfo
            | Self::Zero(None)
            | Self::Flush => {}
        }
    }

    /// Reads a request message. `dump` tells whether its netlink header had
    /// `NLM_F_DUMP` (it decides between [`Request::GetService`] and
    /// [`Request::GetServices`]).
    pub fn from_message(message: &IpvsMessage, dump: bool) -> Result<Self, Error> {
        let parts = Parts::of(message);
        Ok(match message.cmd {
            IpvsCmd::NewService => Self::NewService(parts.service()?),
            IpvsCmd::SetService => Self::SetService(parts.service()?),
            IpvsCmd::DelService => Self::DelService(parts.service()?),
            IpvsCmd::GetService if dump || parts.service.is_none() => Self::GetServices,
            IpvsCmd::GetService => Self::GetService(parts.service()?),
            IpvsCmd::NewDest => {
                let (s, d) = parts.service_and_destination()?;
                Self::NewDestination(s, d)
            }
            IpvsCmd::SetDest => {
                let (s, d) = parts.service_and_destination()?;
                Self::SetDestination(s, d)
            }
            IpvsCmd::DelDest => {
                let (s, d) = parts.service_and_destination()?;
                Self::DelDestination(s, d)
            }
            IpvsCmd::GetDest => Self::GetDestinations(ServiceKey::from_attributes(
                parts
                    .service
                    .ok_or_else(|| Error::missing("request", "IPVS_CMD_ATTR_SERVICE"))?,
            )?),
            IpvsCmd::NewDaemon => Self::NewDaemon(parts.daemon()?),
            IpvsCmd::DelDaemon => Self::DelDaemon(parts.daemon()?),
            IpvsCmd::GetDaemon => Self::GetDaemons,
            IpvsCmd::SetConfig => Self::SetTimeouts(parts.timeouts),
            IpvsCmd::GetConfig => Self::GetTimeouts,
            IpvsCmd::GetInfo => Self::GetInfo,
            IpvsCmd::Zero => match parts.service {
                Some(_) => Self::Zero(Some(parts.service()?)),
                None => Self::Zero(None),
            },
            IpvsCmd::Flush => Self::Flush,
            command @ (IpvsCmd::SetInfo | IpvsCmd::Other(_)) => {
                return Err(Error::UnexpectedCommand {
                    command,
                    expected: "a request command",
                });
            }
        })
    }
}
