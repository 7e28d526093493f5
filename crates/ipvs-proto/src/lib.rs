//! The Linux IPVS generic-netlink family: a pipelining [`Client`] over typed
//! messages written byte for byte as ipvsadm writes them.
//!
//! ```no_run
//! # #[cfg(feature = "client")] {
//! use ipvs_proto::{Client, Destination, Forwarding, Service, ServiceKey};
//!
//! let mut client = Client::connect()?;
//! let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
//! client.add_service(&Service::new(key, "wrr"))?;
//! let real = Destination::new("10.0.1.2:80".parse().unwrap(), Forwarding::Masq, 3);
//! client.add_destination(&key, &real)?;
//! for service in client.services()? {
//!     let stats = service.stats.unwrap_or_default();
//!     println!("{} {} {} connections", service.key, service.scheduler, stats.connections);
//! }
//! # }
//! # Ok::<(), ipvs_proto::Error>(())
//! ```
//!
//! (The client examples in these docs are compiled with the default feature
//! `client`; without it the crate is the packet layer, whose examples stand
//! alone.)
//!
//! [`Client`] talks to the kernel over a `netlink-sys` socket: the family id
//! resolved once per socket, requests with ACK, multi-part dumps retried when
//! interrupted, pipelined [`Client::batch`]es with one result per request,
//! [`KernelError`]s worded as ipvsadm words them, and sockets opened inside a
//! chosen network namespace ([`NetNs`]). `examples/` holds the five things
//! users do: add a service, add a destination, list with stats, watch
//! counters, restore a batch.
//!
//! # Two layers
//!
//! * The **packet layer**, always built and without I/O:
//!   [`IpvsMessage`] with [`IpvsCmd`] and the attribute enums
//!   ([`IpvsAttribute`], [`ServiceAttribute`], [`DestAttribute`],
//!   [`DaemonAttribute`], [`StatsAttribute`], [`Stats64Attribute`],
//!   [`InfoAttribute`]) cover every command and attribute of
//!   `include/uapi/linux/ip_vs.h`, on `netlink-packet-core` and
//!   `netlink-packet-generic`; the numbers are in [`constants`]. Unknown
//!   attributes are kept as `Other(DefaultNla)`; malformed input gives an
//!   error, never a panic. The typed model ([`Service`], [`Destination`],
//!   [`Daemon`], [`Stats`], [`Timeouts`], [`Info`], ...) converts to and from
//!   those attributes. Every attribute is written by one writer, which
//!   `Emitable` and the client's one-pass framing both use.
//! * The **client layer**, cargo feature `client` (on by default):
//!   [`Request`] / [`Reply`] to and from whole messages, writing exactly the
//!   bytes ipvsadm writes; [`wire`] frames and splits the netlink messages;
//!   [`NetNs`]; [`Client`]. Without the feature, `netlink-sys` and `nix` are
//!   not built.
//!
//! The packet layer alone:
//!
//! ```
//! use std::time::Duration;
//! use ipvs_proto::{IpvsAttribute, IpvsCmd, IpvsMessage, Service, ServiceKey};
//! use ipvs_proto::netlink_packet_core::{Emitable, ParseableParametrized};
//! use ipvs_proto::netlink_packet_generic::{GenlFamily, GenlHeader};
//!
//! let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
//! let service = Service::new(key, "wrr").with_persistence(Duration::from_secs(300));
//! let message = IpvsMessage::new(
//!     IpvsCmd::NewService,
//!     vec![IpvsAttribute::Service(service.to_attributes())],
//! );
//! let mut bytes = vec![0; message.buffer_len()];
//! message.emit(&mut bytes);
//! assert_eq!(bytes.len(), 84); // one service nest, as ipvsadm sends it
//!
//! let header = GenlHeader { cmd: message.command(), version: message.version() };
//! let parsed = IpvsMessage::parse_with_param(&bytes, header).unwrap();
//! let [IpvsAttribute::Service(nest)] = parsed.attributes.as_slice() else { panic!() };
//! assert_eq!(Service::from_attributes(nest).unwrap(), service);
//! ```
//!
//! # Feature `serde`
//!
//! With the cargo feature `serde`, the model types that are plain values
//! implement `serde::Serialize` in these shapes, which stay stable (fields are
//! only ever added):
//!
//! | type | serialized as |
//! | --- | --- |
//! | [`Stats`] | `{connections, packets_in, packets_out, bytes_in, bytes_out, connection_rate, packet_rate_in, packet_rate_out, byte_rate_in, byte_rate_out}`, all integers |
//! | [`Connections`] | `{active, inactive, persistent}` |
//! | [`Info`] | `{version, connection_table_size}` |
//! | [`Version`] | `"1.2.1"` |
//! | [`Timeouts`] | `{tcp, tcp_fin, udp}`: whole seconds, `0` for `None` (the kernel reads both alike) |
//! | [`Daemon`] | `{state, interface, sync_id, max_length, group, port, ttl}`: `null` for the options not set, `group` as address text |
//! | [`AddressFamily`] | `"inet"`, `"inet6"` |
//! | [`Protocol`] | `"tcp"`, `"udp"`, `"sctp"` |
//! | [`Forwarding`] | `"masq"`, `"local"`, `"tunnel"`, `"route"` (direct routing), `"bypass"` |
//! | [`TunnelType`] | `"ipip"`, `"gue"`, `"gre"` |
//! | [`DaemonState`] | `"master"`, `"backup"` |
//!
//! The `Other(raw)` value of each of those enums serializes as `"unknown"`.
//! [`Service`], [`Destination`] and their parts (key, flags, netmask, tunnel
//! settings) are not `Serialize`: which of their fields to show, and how, is
//! a tool's choice; a tool builds its own document from their fields and the
//! types above (as `ipvsctl --json` does).
//!
//! ```
//! # #[cfg(feature = "serde")] {
//! use ipvs_proto::{Daemon, DaemonState};
//!
//! let daemon = Daemon::new(DaemonState::Backup, "eth0", 7);
//! assert_eq!(
//!     serde_json::to_string(&daemon).unwrap(),
//!     r#"{"state":"backup","interface":"eth0","sync_id":7,"max_length":null,"group":null,"port":null,"ttl":null}"#
//! );
//! # }
//! ```
// Without the client layer its names are not in the crate: the front page
// names them as text then.
#![cfg_attr(
    not(feature = "client"),
    doc = "[`Client`]: #two-layers\n[`Client::batch`]: #two-layers\n\
           [`NetNs`]: #two-layers\n[`Request`]: #two-layers\n\
           [`Reply`]: #two-layers\n[`wire`]: #two-layers"
)]
#![forbid(unsafe_code)]
// The one-pass codec's typed entry points (a service or destination written
// straight from, or read straight into, the typed value) are the packet
// layer's; their users are the client layer's `Request` and `Reply`.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

/// The netlink crates this one is built on, re-exported so that users name
/// the very same versions.
pub use netlink_packet_core;
pub use netlink_packet_generic;
#[cfg(feature = "client")]
pub use netlink_sys;

// The packet layer: constants, commands, messages and one module per object
// (its attribute enum, flags and typed model). No I/O.
mod address;
mod attribute;
mod cmd;
pub mod constants;
mod daemon;
mod decode;
mod destination;
mod error;
mod info;
mod message;
mod nest;
#[cfg(feature = "serde")]
mod serialize;
mod service;
mod stats;
mod timeouts;

// The client layer, above the packet layer (default feature `client`).
#[cfg(feature = "client")]
mod client;

pub use self::address::{AddressFamily, RawAddress, decode_address, encode_address};
pub use self::attribute::IpvsAttribute;
pub use self::cmd::IpvsCmd;
pub use self::daemon::{Daemon, DaemonAttribute, DaemonState};
pub use self::destination::{
    Connections, DestAttribute, Destination, Forwarding, Tunnel, TunnelFlags, TunnelType,
};
pub use self::error::{Error, KernelError};
pub use self::info::{Info, InfoAttribute, Version};
pub use self::message::IpvsMessage;
pub use self::service::{
    FlagsWithMask, Netmask, Protocol, Service, ServiceAttribute, ServiceFlags, ServiceKey,
};
pub use self::stats::{Stats, Stats64Attribute, StatsAttribute};
pub use self::timeouts::Timeouts;

#[cfg(feature = "client")]
pub use self::client::{BatchResults, Client, NETNS_RUN_DIR, NetNs, Reply, Request, wire};

/// The README's examples compile (and those that can, run) as doctests.
/// They use the client layer, so they are compiled with it.
#[cfg(all(doctest, feature = "client"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
