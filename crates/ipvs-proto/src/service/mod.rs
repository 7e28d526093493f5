//! Virtual services: the `IPVS_CMD_ATTR_SERVICE` nest ([`ServiceAttribute`]),
//! its flags and protocol, and the typed [`Service`] with its [`ServiceKey`].

mod attribute;
mod flags;
mod model;
mod protocol;
mod read;

pub use self::attribute::ServiceAttribute;
pub use self::flags::{FlagsWithMask, ServiceFlags};
pub use self::model::{Netmask, Service, ServiceKey};
pub use self::protocol::Protocol;
pub(crate) use self::read::{ServiceFields, read_service};
