//! The attributes of the `IPVS_CMD_SET_INFO` reply.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, parse_u32,
};

use crate::constants::*;
use crate::info::version::Version;
use crate::nest::{Sink, WireAttribute, impl_nla};

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

impl WireAttribute for InfoAttribute {
    fn wire_kind(&self) -> u16 {
        match self {
            Self::Version(_) => IPVS_INFO_ATTR_VERSION,
            Self::ConnectionTableSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn write_value<S: Sink>(&self, out: &mut S) {
        match self {
            Self::Version(version) => out.put(&version.0.to_ne_bytes()),
            Self::ConnectionTableSize(size) => out.put(&(*size).to_ne_bytes()),
            Self::Other(nla) => out.put_with(nla.value_len(), |buffer| nla.emit_value(buffer)),
        }
    }
}

impl_nla!(InfoAttribute);

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
