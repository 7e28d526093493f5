//! The top-level attributes of a message, sorted out for the typed
//! requests and replies.

use crate::attribute::IpvsAttribute;
use crate::daemon::{Daemon, DaemonAttribute};
use crate::destination::{DestAttribute, Destination};
use crate::error::Error;
use crate::info::InfoAttribute;
use crate::message::IpvsMessage;
use crate::service::{Service, ServiceAttribute};
use crate::timeouts::Timeouts;

/// The top-level attributes of a message, sorted by kind (the last of a
/// kind wins, as in the kernel).
pub(crate) struct Parts<'a> {
    pub(crate) service: Option<&'a [ServiceAttribute]>,
    pub(crate) destination: Option<&'a [DestAttribute]>,
    pub(crate) daemon: Option<&'a [DaemonAttribute]>,
    pub(crate) timeouts: Timeouts,
    pub(crate) info: Vec<InfoAttribute>,
}

impl<'a> Parts<'a> {
    pub(crate) fn of(message: &'a IpvsMessage) -> Self {
        let mut parts = Parts {
            service: None,
            destination: None,
            daemon: None,
            timeouts: Timeouts::default(),
            info: Vec::new(),
        };
        for attribute in &message.attributes {
            match attribute {
                IpvsAttribute::Service(nest) => parts.service = Some(nest),
                IpvsAttribute::Destination(nest) => parts.destination = Some(nest),
                IpvsAttribute::Daemon(nest) => parts.daemon = Some(nest),
                IpvsAttribute::TimeoutTcp(_)
                | IpvsAttribute::TimeoutTcpFin(_)
                | IpvsAttribute::TimeoutUdp(_) => parts.timeouts.absorb(attribute),
                IpvsAttribute::Info(info) => parts.info.push(info.clone()),
                IpvsAttribute::Other(_) => {}
            }
        }
        parts
    }

    pub(crate) fn service(&self) -> Result<Service, Error> {
        Service::from_attributes(
            self.service
                .ok_or_else(|| Error::missing("message", "IPVS_CMD_ATTR_SERVICE"))?,
        )
    }

    pub(crate) fn service_and_destination(&self) -> Result<(Service, Destination), Error> {
        let service = self.service()?;
        let destination = Destination::from_attributes(
            self.destination
                .ok_or_else(|| Error::missing("message", "IPVS_CMD_ATTR_DEST"))?,
            Some(service.key.family()),
        )?;
        Ok((service, destination))
    }

    pub(crate) fn daemon(&self) -> Result<Daemon, Error> {
        Daemon::from_attributes(
            self.daemon
                .ok_or_else(|| Error::missing("message", "IPVS_CMD_ATTR_DAEMON"))?,
        )
    }
}
