//! The attributes of the `IPVS_CMD_SET_INFO` reply.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, emit_u32, parse_u32,
};

use crate::constants::*;
use crate::info::version::Version;

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
