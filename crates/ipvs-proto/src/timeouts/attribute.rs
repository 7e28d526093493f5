//! The timeouts as top-level attributes of `IPVS_CMD_SET_CONFIG`
//! (`IPVS_CMD_ATTR_TIMEOUT_*`): they have no nest of their own.

use std::time::Duration;

use crate::attribute::IpvsAttribute;
use crate::nest::seconds;
use crate::timeouts::model::Timeouts;

impl Timeouts {
    /// The top-level attributes of a message setting these timeouts: one
    /// per timeout that is set, in the order TCP, TCP FIN, UDP (as
    /// ipvsadm sends them).
    pub fn to_attributes(&self) -> Vec<IpvsAttribute> {
        let mut attributes = Vec::with_capacity(3);
        attributes.extend(self.tcp.map(|t| IpvsAttribute::TimeoutTcp(seconds(t))));
        attributes.extend(
            self.tcp_fin
                .map(|t| IpvsAttribute::TimeoutTcpFin(seconds(t))),
        );
        attributes.extend(self.udp.map(|t| IpvsAttribute::TimeoutUdp(seconds(t))));
        attributes
    }

    /// Reads the timeouts out of a message's top-level attributes (the last
    /// of a kind wins, as in the kernel); other attributes are skipped.
    pub fn from_attributes(attributes: &[IpvsAttribute]) -> Self {
        let mut timeouts = Self::default();
        for attribute in attributes {
            timeouts.absorb(attribute);
        }
        timeouts
    }

    /// Takes the timeout `attribute` carries, if it carries one.
    pub(crate) fn absorb(&mut self, attribute: &IpvsAttribute) {
        let secs = |v: &u32| Some(Duration::from_secs(u64::from(*v)));
        match attribute {
            IpvsAttribute::TimeoutTcp(v) => self.tcp = secs(v),
            IpvsAttribute::TimeoutTcpFin(v) => self.tcp_fin = secs(v),
            IpvsAttribute::TimeoutUdp(v) => self.udp = secs(v),
            _ => {}
        }
    }
}
