//! The transport protocol of a virtual service.

use std::fmt;

use crate::constants::*;

/// Transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol {
    /// TCP (`-t`).
    Tcp,
    /// UDP (`-u`).
    Udp,
    /// SCTP (`--sctp-service`).
    Sctp,
    /// A protocol this crate does not know, with its IP protocol number;
    /// kept so that it can be written back unchanged.
    Other(u16),
}

impl Protocol {
    /// The IP protocol number.
    pub fn raw(self) -> u16 {
        match self {
            Self::Tcp => IPPROTO_TCP,
            Self::Udp => IPPROTO_UDP,
            Self::Sctp => IPPROTO_SCTP,
            Self::Other(raw) => raw,
        }
    }

    /// The protocol with IP protocol number `raw` ([`Protocol::Other`] for
    /// numbers this crate does not know).
    pub fn from_raw(raw: u16) -> Self {
        match raw {
            IPPROTO_TCP => Self::Tcp,
            IPPROTO_UDP => Self::Udp,
            IPPROTO_SCTP => Self::Sctp,
            other => Self::Other(other),
        }
    }
}

impl From<u16> for Protocol {
    fn from(raw: u16) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp => f.write_str("TCP"),
            Self::Udp => f.write_str("UDP"),
            Self::Sctp => f.write_str("SCTP"),
            Self::Other(raw) => write!(f, "protocol {raw}"),
        }
    }
}
