#![doc = include_str!("../README.md")]

mod error;
mod journal;
mod netlink;
mod params;
mod plan;
pub mod setup;
mod state;
mod system;

pub use error::{Error, Result};
pub use journal::{Change, DEFAULT_STATE_DIR, Journal, StateFile};
pub use params::{Mode, Params, Role, Vip};
pub use plan::{IPIP, Item, Plan, Setting, Status, TUNL0, sysctl_keys};
pub use state::{Address, DefaultRoute, Link, SysctlKey, SystemState};
pub use system::System;
