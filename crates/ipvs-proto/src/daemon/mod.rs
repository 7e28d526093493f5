//! Connection-synchronisation daemons: the `IPVS_CMD_ATTR_DAEMON` nest
//! ([`DaemonAttribute`]) and the typed [`Daemon`].

mod attribute;
mod model;
mod state;

pub use self::attribute::DaemonAttribute;
pub use self::model::Daemon;
pub use self::state::DaemonState;
