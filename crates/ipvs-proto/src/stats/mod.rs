//! Counters and rates of services and destinations: the `IPVS_*_ATTR_STATS`
//! nest (32-bit counters, 64-bit byte counts), the `IPVS_*_ATTR_STATS64`
//! nest (64-bit everything) and the typed [`Stats`].

mod attribute;
mod counter;
mod model;

pub use self::attribute::{Stats64Attribute, StatsAttribute};
pub(crate) use self::counter::read_counter;
pub use self::model::Stats;
