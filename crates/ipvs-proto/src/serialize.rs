//! `serde::Serialize` for the model types (cargo feature `serde`).
//!
//! The shapes are part of the crate's stable interface (see "Feature `serde`"
//! in the crate docs): structs serialize with their Rust field names, the
//! enums as lowercase names with `"unknown"` for every `Other(raw)` value, a
//! [`Version`] as `"1.2.1"` and a timeout as whole seconds.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::address::AddressFamily;
use crate::daemon::DaemonState;
use crate::destination::{Forwarding, TunnelType};
use crate::service::Protocol;

/// `Serialize` as a name per known variant and `"unknown"` for `Other(_)`:
/// a number a newer kernel sends must not break a reader that matches on the
/// names, and the raw number stays available in the typed value.
macro_rules! serialize_by_name {
    ($type:ty { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(match self {
                    $(Self::$variant => $name,)+
                    Self::Other(_) => "unknown",
                })
            }
        }
    };
}

serialize_by_name!(AddressFamily { Inet => "inet", Inet6 => "inet6" });
serialize_by_name!(Protocol { Tcp => "tcp", Udp => "udp", Sctp => "sctp" });
serialize_by_name!(Forwarding {
    Masq => "masq",
    Local => "local",
    Tunnel => "tunnel",
    DirectRoute => "route",
    Bypass => "bypass",
});
serialize_by_name!(TunnelType { Ipip => "ipip", Gue => "gue", Gre => "gre" });
serialize_by_name!(DaemonState { Master => "master", Backup => "backup" });

/// A [`Timeouts`](crate::Timeouts) field: whole seconds, `0` for `None`
/// (the kernel reads an absent timeout and a zero one alike, and reports
/// every timeout it has).
pub(crate) fn seconds<S: Serializer>(
    timeout: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(timeout.map_or(0, |t| t.as_secs()))
}
