//! Real servers: the `IPVS_CMD_ATTR_DEST` nest ([`DestAttribute`]), the
//! forwarding method and tunnel settings, and the typed [`Destination`].

mod attribute;
mod forwarding;
mod model;
mod read;
mod tunnel;

pub use self::attribute::DestAttribute;
pub use self::forwarding::Forwarding;
pub use self::model::{Connections, Destination};
pub(crate) use self::read::{DestinationFields, read_destination};
pub use self::tunnel::{Tunnel, TunnelFlags, TunnelType};
