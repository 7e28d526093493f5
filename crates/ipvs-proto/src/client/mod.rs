//! The client layer: typed requests and replies, the netlink framing of
//! whole messages, and the [`Client`] that exchanges them with the kernel
//! (optionally inside another network namespace, [`NetNs`]).
//!
//! Everything here sits on the packet layer (the crate's other modules)
//! and nothing there depends on it. It is the default cargo feature
//! `client`; without it the crate is the packet layer alone, with no
//! socket and no dependency on `netlink-sys` or `nix`.

mod handle;
mod netns;
mod parts;
mod reply;
mod request;
pub mod wire;

pub use self::handle::{BatchResults, Client};
pub use self::netns::{NETNS_RUN_DIR, NetNs};
pub use self::reply::Reply;
pub use self::request::Request;
