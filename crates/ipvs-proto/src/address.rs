//! Address families and the 16-byte address encoding IPVS uses everywhere.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, parse_u16};

use crate::constants::{AF_INET, AF_INET6};

/// The address family of a service, a destination or a multicast group.
///
/// IPVS knows only IPv4 (`AF_INET`) and IPv6 (`AF_INET6`); any other value is
/// rejected while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressFamily {
    /// IPv4, `AF_INET` (2).
    Inet,
    /// IPv6, `AF_INET6` (10).
    Inet6,
}

impl AddressFamily {
    /// The family of `address`.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Inet,
            IpAddr::V6(_) => Self::Inet6,
        }
    }

    /// The kernel's number for this family (`AF_INET` or `AF_INET6`).
    pub fn raw(self) -> u16 {
        match self {
            Self::Inet => AF_INET,
            Self::Inet6 => AF_INET6,
        }
    }

    /// The family with the kernel's number `raw`.
    pub fn from_raw(raw: u16) -> Result<Self, DecodeError> {
        match raw {
            AF_INET => Ok(Self::Inet),
            AF_INET6 => Ok(Self::Inet6),
            other => Err(DecodeError::from(format!(
                "unknown address family {other}, expected AF_INET ({AF_INET}) or AF_INET6 ({AF_INET6})"
            ))),
        }
    }

    pub(crate) fn parse(payload: &[u8]) -> Result<Self, DecodeError> {
        Self::from_raw(parse_u16(payload)?)
    }

    /// The unspecified address of this family (`0.0.0.0` or `::`).
    pub fn unspecified(self) -> IpAddr {
        match self {
            Self::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Self::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inet => "IPv4",
            Self::Inet6 => "IPv6",
        })
    }
}

/// An address as the kernel carries it: `union nf_inet_addr`, always 16
/// bytes, an IPv4 address in the first four.
pub type RawAddress = [u8; 16];

/// Encodes `address` into the kernel's 16-byte union.
pub fn encode_address(address: IpAddr) -> RawAddress {
    match address {
        IpAddr::V4(v4) => {
            let mut raw = [0; 16];
            raw[..4].copy_from_slice(&v4.octets());
            raw
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Reads the kernel's 16-byte union as an address of `family`.
pub fn decode_address(family: AddressFamily, raw: &RawAddress) -> IpAddr {
    match family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::from(*raw)),
    }
}

pub(crate) fn parse_raw_address(payload: &[u8]) -> Result<RawAddress, DecodeError> {
    payload.try_into().map_err(|_| {
        DecodeError::from(format!(
            "address is {} bytes long, expected 16 (union nf_inet_addr)",
            payload.len()
        ))
    })
}
