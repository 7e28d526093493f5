//! Address families and the 16-byte address encoding IPVS uses everywhere.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::constants::{AF_INET, AF_INET6};
use crate::nest::ReadError;

/// The address family of a service, a destination or a multicast group.
///
/// IPVS knows only IPv4 (`AF_INET`) and IPv6 (`AF_INET6`); any other value
/// a future kernel may send is kept as [`AddressFamily::Other`] and written
/// back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AddressFamily {
    /// IPv4, `AF_INET` (2).
    Inet,
    /// IPv6, `AF_INET6` (10).
    Inet6,
    /// A family this crate does not know, with the kernel's number.
    Other(u16),
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
            Self::Other(raw) => raw,
        }
    }

    /// The family with the kernel's number `raw` ([`AddressFamily::Other`]
    /// for numbers this crate does not know).
    pub fn from_raw(raw: u16) -> Self {
        match raw {
            AF_INET => Self::Inet,
            AF_INET6 => Self::Inet6,
            other => Self::Other(other),
        }
    }

    /// The unspecified address of this family (`0.0.0.0` or `::`); for a
    /// family this crate does not know, `::` (sixteen zero bytes, as the
    /// kernel's address union).
    pub fn unspecified(self) -> IpAddr {
        match self {
            Self::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Self::Inet6 | Self::Other(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

impl From<u16> for AddressFamily {
    fn from(raw: u16) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inet => f.write_str("IPv4"),
            Self::Inet6 => f.write_str("IPv6"),
            Self::Other(raw) => write!(f, "address family {raw}"),
        }
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

/// Reads the kernel's 16-byte union as an address of `family`; `None` for a
/// family this crate does not know (no `std::net` type can hold it).
pub fn decode_address(family: AddressFamily, raw: &RawAddress) -> Option<IpAddr> {
    match family {
        AddressFamily::Inet => Some(IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))),
        AddressFamily::Inet6 => Some(IpAddr::V6(Ipv6Addr::from(*raw))),
        AddressFamily::Other(_) => None,
    }
}

/// [`decode_address`], or the error naming `attribute` (the family's) when
/// the family is one this crate does not know.
#[inline(always)]
pub(crate) fn decode_known_address(
    family: AddressFamily,
    raw: &RawAddress,
    attribute: &'static str,
) -> Result<IpAddr, crate::error::Error> {
    match decode_address(family, raw) {
        Some(address) => Ok(address),
        None => Err(unknown_family(family, attribute)),
    }
}

#[cold]
#[inline(never)]
fn unknown_family(family: AddressFamily, attribute: &'static str) -> crate::error::Error {
    crate::error::Error::invalid(
        attribute,
        family.raw(),
        "AF_INET (2) or AF_INET6 (10) for an address",
    )
}

/// The 16 bytes of an address attribute's value, borrowed.
#[inline(always)]
pub(crate) fn read_raw_address<E: ReadError>(value: &[u8]) -> Result<&RawAddress, E> {
    value.try_into().map_err(|_| E::address_length(value.len()))
}
