//! The typed counters and rates.

/// Counters and rates of a service or a destination, all 64 bits wide.
///
/// Built from the `STATS64` nest when the kernel sends one (it does since
/// Linux 4.1), else from the 32-bit `STATS` nest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Stats {
    /// Connections scheduled.
    pub connections: u64,
    /// Incoming packets.
    pub packets_in: u64,
    /// Outgoing packets.
    pub packets_out: u64,
    /// Incoming bytes.
    pub bytes_in: u64,
    /// Outgoing bytes.
    pub bytes_out: u64,
    /// Current connection rate (per second).
    pub connection_rate: u64,
    /// Current incoming packet rate (per second).
    pub packet_rate_in: u64,
    /// Current outgoing packet rate (per second).
    pub packet_rate_out: u64,
    /// Current incoming byte rate (per second).
    pub byte_rate_in: u64,
    /// Current outgoing byte rate (per second).
    pub byte_rate_out: u64,
}
