//! Real servers: the `IPVS_CMD_ATTR_DEST` nest ([`DestAttribute`]), the
//! forwarding method and tunnel settings, and the typed [`Destination`].

mod attribute;
mod forwarding;
mod model;
mod tunnel;

pub use self::attribute::DestAttribute;
pub use self::forwarding::Forwarding;
pub use self::model::{Connections, Destination};
pub use self::tunnel::{Tunnel, TunnelFlags, TunnelType};
