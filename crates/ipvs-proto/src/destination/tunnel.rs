//! Tunnel settings of a destination: encapsulation type and flags
//! (`IP_VS_TUNNEL_ENCAP_FLAG_*`).

use std::fmt;

use crate::constants::*;

/// Encapsulation of tunnelled forwarding (`--tun-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TunnelType {
    /// IP in IP (the default).
    #[default]
    Ipip,
    /// Generic UDP encapsulation.
    Gue,
    /// GRE.
    Gre,
    /// A type this crate does not know, with the kernel's number; kept so
    /// that it can be written back unchanged.
    Other(u8),
}

impl TunnelType {
    /// The kernel's number for this type.
    pub fn raw(self) -> u8 {
        match self {
            Self::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            Self::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            Self::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            Self::Other(raw) => raw,
        }
    }

    /// The type with the kernel's number `raw` ([`TunnelType::Other`] for
    /// numbers this crate does not know).
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => Self::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => Self::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => Self::Gre,
            other => Self::Other(other),
        }
    }
}

impl From<u8> for TunnelType {
    fn from(raw: u8) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for TunnelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ipip => f.write_str("ipip"),
            Self::Gue => f.write_str("gue"),
            Self::Gre => f.write_str("gre"),
            Self::Other(raw) => write!(f, "tunnel type {raw}"),
        }
    }
}

bitflags::bitflags! {
    /// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`); empty means
    /// no checksum (`--tun-nocsum`). Unnamed bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct TunnelFlags: u16 {
        /// Checksum the encapsulation (`--tun-csum`).
        const CSUM = IP_VS_TUNNEL_ENCAP_FLAG_CSUM;
        /// Remote checksum offload (`--tun-remcsum`).
        const REMCSUM = IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM;
        const _ = !0;
    }
}

/// Tunnel settings of a destination; meaningful with
/// [`Forwarding::Tunnel`](crate::Forwarding::Tunnel), sent (as zeros) for every destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// Destination UDP port of GUE (0 otherwise).
    pub port: u16,
    /// Checksum flags.
    pub flags: TunnelFlags,
}
