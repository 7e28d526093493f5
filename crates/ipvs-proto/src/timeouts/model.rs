//! The typed timeouts.

use std::time::Duration;

/// Connection timeouts (`--set tcp tcpfin udp`), whole seconds on the wire.
///
/// `None` leaves an attribute out. The kernel treats an absent attribute
/// and a zero one alike: that timeout is left unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Timeouts {
    /// Established TCP sessions.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serialize::seconds"))]
    pub tcp: Option<Duration>,
    /// TCP sessions after a FIN.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serialize::seconds"))]
    pub tcp_fin: Option<Duration>,
    /// UDP.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::serialize::seconds"))]
    pub udp: Option<Duration>,
}
