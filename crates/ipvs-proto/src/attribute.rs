//! Top-level attributes of IPVS messages.

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, NLA_F_NESTED, Nla, NlaBuffer, Parseable, parse_u32,
};

use crate::cmd::IpvsCmd;
use crate::constants::*;
use crate::daemon::DaemonAttribute;
use crate::destination::DestAttribute;
use crate::info::InfoAttribute;
use crate::nest::{Sink, WireAttribute, impl_nla, parse_nested, write_all};
use crate::service::ServiceAttribute;

/// One top-level attribute of an IPVS message (`IPVS_CMD_ATTR_*`, or an
/// `IPVS_INFO_ATTR_*` in the `IPVS_CMD_SET_INFO` reply, whose numbers
/// overlap).
///
/// The service, destination and daemon nests are written with
/// `NLA_F_NESTED`, as ipvsadm (libnl) does.
#[derive(Debug, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum IpvsAttribute {
    /// `IPVS_CMD_ATTR_SERVICE`
    Service(Vec<ServiceAttribute>),
    /// `IPVS_CMD_ATTR_DEST`
    Destination(Vec<DestAttribute>),
    /// `IPVS_CMD_ATTR_DAEMON`
    Daemon(Vec<DaemonAttribute>),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP`, seconds.
    TimeoutTcp(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_TCP_FIN`, seconds.
    TimeoutTcpFin(u32),
    /// `IPVS_CMD_ATTR_TIMEOUT_UDP`, seconds.
    TimeoutUdp(u32),
    /// An attribute of the `IPVS_CMD_SET_INFO` reply.
    Info(InfoAttribute),
    /// Any other attribute, kept as it came.
    Other(DefaultNla),
}

impl WireAttribute for IpvsAttribute {
    #[inline(always)]
    fn is_nest(&self) -> bool {
        matches!(
            self,
            Self::Service(_) | Self::Destination(_) | Self::Daemon(_)
        )
    }

    #[inline(always)]
    fn wire_kind(&self) -> u16 {
        match self {
            Self::Service(_) => IPVS_CMD_ATTR_SERVICE | NLA_F_NESTED,
            Self::Destination(_) => IPVS_CMD_ATTR_DEST | NLA_F_NESTED,
            Self::Daemon(_) => IPVS_CMD_ATTR_DAEMON | NLA_F_NESTED,
            Self::TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            Self::TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            Self::TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            Self::Info(nla) => nla.wire_kind(),
            Self::Other(nla) => nla.kind(),
        }
    }

    #[inline(always)]
    fn write_value<S: Sink>(&self, out: &mut S) {
        match self {
            Self::Service(nest) => write_all(nest, out),
            Self::Destination(nest) => write_all(nest, out),
            Self::Daemon(nest) => write_all(nest, out),
            Self::TimeoutTcp(v) | Self::TimeoutTcpFin(v) | Self::TimeoutUdp(v) => {
                out.put(&(*v).to_ne_bytes())
            }
            Self::Info(nla) => nla.write_value(out),
            Self::Other(nla) => out.put_with(nla.value_len(), |buffer| nla.emit_value(buffer)),
        }
    }
}

impl_nla!(IpvsAttribute);

impl IpvsAttribute {
    /// Parses one top-level attribute of a message with command `cmd`.
    pub fn parse_with_cmd(buf: &NlaBuffer<&[u8]>, cmd: IpvsCmd) -> Result<Self, DecodeError> {
        if cmd == IpvsCmd::SetInfo {
            return Ok(Self::Info(
                InfoAttribute::parse(buf).context("invalid IPVS_CMD_SET_INFO attribute")?,
            ));
        }
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_CMD_ATTR_SERVICE => {
                Self::Service(parse_nested(payload).context("invalid IPVS_CMD_ATTR_SERVICE")?)
            }
            IPVS_CMD_ATTR_DEST => {
                Self::Destination(parse_nested(payload).context("invalid IPVS_CMD_ATTR_DEST")?)
            }
            IPVS_CMD_ATTR_DAEMON => {
                Self::Daemon(parse_nested(payload).context("invalid IPVS_CMD_ATTR_DAEMON")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP => {
                Self::TimeoutTcp(parse_u32(payload).context("invalid IPVS_CMD_ATTR_TIMEOUT_TCP")?)
            }
            IPVS_CMD_ATTR_TIMEOUT_TCP_FIN => Self::TimeoutTcpFin(
                parse_u32(payload).context("invalid IPVS_CMD_ATTR_TIMEOUT_TCP_FIN")?,
            ),
            IPVS_CMD_ATTR_TIMEOUT_UDP => {
                Self::TimeoutUdp(parse_u32(payload).context("invalid IPVS_CMD_ATTR_TIMEOUT_UDP")?)
            }
            _ => Self::Other(DefaultNla::parse(buf).context("invalid IPVS attribute")?),
        })
    }
}
