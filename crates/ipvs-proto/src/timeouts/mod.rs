//! Connection timeouts (`IPVS_CMD_GET_CONFIG` / `IPVS_CMD_SET_CONFIG`): the
//! typed [`Timeouts`] and their top-level `IPVS_CMD_ATTR_TIMEOUT_*`
//! attributes.

mod attribute;
mod model;

pub use self::model::Timeouts;
