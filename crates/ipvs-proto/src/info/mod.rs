//! General information (`IPVS_CMD_GET_INFO`): the attributes of the
//! `IPVS_CMD_SET_INFO` reply ([`InfoAttribute`]) and the typed [`Info`].

mod attribute;
mod model;
mod version;

pub use self::attribute::InfoAttribute;
pub use self::model::Info;
pub use self::version::Version;
