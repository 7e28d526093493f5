//! The typed information and its conversion to and from the reply's
//! attributes.

use crate::error::Error;
use crate::info::attribute::InfoAttribute;
use crate::info::version::Version;

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
