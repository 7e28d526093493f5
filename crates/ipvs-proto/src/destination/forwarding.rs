//! How packets reach a real server.

use std::fmt;

use crate::constants::*;

/// How packets reach a real server (`IP_VS_CONN_F_FWD_MASK` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Forwarding {
    /// NAT (`-m`), `IP_VS_CONN_F_MASQ`.
    Masq,
    /// Local node, `IP_VS_CONN_F_LOCALNODE` (the kernel's own choice for
    /// local addresses).
    Local,
    /// IP tunnelling (`-i`), `IP_VS_CONN_F_TUNNEL`.
    Tunnel,
    /// Direct routing (`-g`), `IP_VS_CONN_F_DROUTE`.
    DirectRoute,
    /// Cache bypass, `IP_VS_CONN_F_BYPASS`.
    Bypass,
    /// A method this crate does not know, with the kernel's number; kept
    /// so that it can be written back unchanged.
    Other(u32),
}

impl Forwarding {
    /// The kernel's number for this method.
    pub fn raw(self) -> u32 {
        match self {
            Self::Masq => IP_VS_CONN_F_MASQ,
            Self::Local => IP_VS_CONN_F_LOCALNODE,
            Self::Tunnel => IP_VS_CONN_F_TUNNEL,
            Self::DirectRoute => IP_VS_CONN_F_DROUTE,
            Self::Bypass => IP_VS_CONN_F_BYPASS,
            Self::Other(raw) => raw,
        }
    }

    /// The method with the kernel's number `raw` ([`Forwarding::Other`] for
    /// numbers this crate does not know).
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            IP_VS_CONN_F_MASQ => Self::Masq,
            IP_VS_CONN_F_LOCALNODE => Self::Local,
            IP_VS_CONN_F_TUNNEL => Self::Tunnel,
            IP_VS_CONN_F_DROUTE => Self::DirectRoute,
            IP_VS_CONN_F_BYPASS => Self::Bypass,
            other => Self::Other(other),
        }
    }
}

impl From<u32> for Forwarding {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for Forwarding {
    /// ipvsadm's column text for the four methods it names: `Masq`,
    /// `Local`, `Tunnel`, `Route`; then `Bypass` and `Unknown(N)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Masq => f.write_str("Masq"),
            Self::Local => f.write_str("Local"),
            Self::Tunnel => f.write_str("Tunnel"),
            Self::DirectRoute => f.write_str("Route"),
            Self::Bypass => f.write_str("Bypass"),
            Self::Other(raw) => write!(f, "Unknown({raw})"),
        }
    }
}
