//! General information (`IPVS_CMD_GET_INFO`) and timeouts
//! (`IPVS_CMD_GET_CONFIG` / `IPVS_CMD_SET_CONFIG`).

use std::fmt;
use std::time::Duration;

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, emit_u32, parse_u32,
};

use crate::constants::*;
use crate::error::Error;

/// One attribute of the `IPVS_CMD_SET_INFO` reply (top level, not nested).
#[derive(Debug, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum InfoAttribute {
    /// `IPVS_INFO_ATTR_VERSION`
    Version(Version),
    /// `IPVS_INFO_ATTR_CONN_TAB_SIZE`
    ConnectionTableSize(u32),
    /// Any other attribute, kept as it came.
    Other(DefaultNla),
}

impl Nla for InfoAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::Version(_) | Self::ConnectionTableSize(_) => 4,
            Self::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Version(_) => IPVS_INFO_ATTR_VERSION,
            Self::ConnectionTableSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        const SIZED: &str = "buffer sized by value_len";
        match self {
            Self::Version(version) => emit_u32(buffer, version.0).expect(SIZED),
            Self::ConnectionTableSize(size) => emit_u32(buffer, *size).expect(SIZED),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for InfoAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_INFO_ATTR_VERSION => Self::Version(Version(
                parse_u32(payload).context("invalid IPVS_INFO_ATTR_VERSION")?,
            )),
            IPVS_INFO_ATTR_CONN_TAB_SIZE => Self::ConnectionTableSize(
                parse_u32(payload).context("invalid IPVS_INFO_ATTR_CONN_TAB_SIZE")?,
            ),
            _ => Self::Other(DefaultNla::parse(buf).context("invalid info attribute")?),
        })
    }
}

/// The IPVS version code, `0x010201` for 1.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(pub u32);

impl Version {
    /// Major number (bits 16..24).
    pub fn major(self) -> u8 {
        (self.0 >> 16) as u8
    }

    /// Minor number (bits 8..16).
    pub fn minor(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Patch number (bits 0..8).
    pub fn patch(self) -> u8 {
        self.0 as u8
    }
}

impl fmt::Display for Version {
    /// `1.2.1`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major(), self.minor(), self.patch())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Version {
    /// `"1.2.1"`, as [`Version`]'s `Display`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// General information about the IPVS implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Info {
    /// IPVS version.
    pub version: Version,
    /// Size of the connection hash table.
    pub connection_table_size: u32,
}

impl Info {
    /// The reply's attributes.
    pub fn to_attributes(&self) -> Vec<InfoAttribute> {
        vec![
            InfoAttribute::Version(self.version),
            InfoAttribute::ConnectionTableSize(self.connection_table_size),
        ]
    }

    /// Reads the reply's attributes; both must be present.
    pub fn from_attributes(attributes: &[InfoAttribute]) -> Result<Self, Error> {
        let mut version = None;
        let mut size = None;
        for attribute in attributes {
            match attribute {
                InfoAttribute::Version(v) => version = Some(*v),
                InfoAttribute::ConnectionTableSize(v) => size = Some(*v),
                InfoAttribute::Other(_) => {}
            }
        }
        Ok(Self {
            version: version.ok_or_else(|| Error::missing("info", "IPVS_INFO_ATTR_VERSION"))?,
            connection_table_size: size
                .ok_or_else(|| Error::missing("info", "IPVS_INFO_ATTR_CONN_TAB_SIZE"))?,
        })
    }
}

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
