//! The IPVS generic-netlink message: a command and its attributes.

use netlink_packet_core::{
    DecodeError, Emitable, ErrorContext, NlasIterator, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use crate::attribute::IpvsAttribute;
use crate::cmd::IpvsCmd;
use crate::constants::*;
use crate::nest::{Count, SliceSink, write_all};

/// One IPVS message: the payload of a `GenlMessage`.
///
/// ```
/// use ipvs_proto::{IpvsCmd, IpvsMessage};
/// use netlink_packet_core::Emitable;
///
/// let message = IpvsMessage::new(IpvsCmd::Flush, Vec::new());
/// assert_eq!(message.buffer_len(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// The top-level attributes, in order.
    pub attributes: Vec<IpvsAttribute>,
}

impl IpvsMessage {
    /// A message with `cmd` and `attributes`.
    pub fn new(cmd: IpvsCmd, attributes: Vec<IpvsAttribute>) -> Self {
        Self { cmd, attributes }
    }
}

impl IpvsMessage {
    /// Appends the attributes to `out`: the same bytes as
    /// [`Emitable::emit`], written in one pass.
    pub fn append_attributes(&self, out: &mut Vec<u8>) {
        write_all(&self.attributes, out);
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        IPVS_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        IPVS_GENL_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        let mut count = Count::default();
        write_all(&self.attributes, &mut count);
        count.0
    }

    fn emit(&self, buffer: &mut [u8]) {
        write_all(&self.attributes, &mut SliceSink::new(buffer))
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        let mut attributes = Vec::new();
        for nla in NlasIterator::new(buf) {
            let nla = nla.with_context(|| format!("invalid attribute of {cmd:?}"))?;
            attributes.push(
                IpvsAttribute::parse_with_cmd(&nla, cmd)
                    .with_context(|| format!("invalid attribute of {cmd:?}"))?,
            );
        }
        Ok(Self { cmd, attributes })
    }
}
