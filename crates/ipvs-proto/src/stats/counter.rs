//! The ten counters both statistics nests carry.

use crate::constants::*;
use crate::stats::model::Stats;

/// The ten counters both nests carry, in attribute-number order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    Connections,
    PacketsIn,
    PacketsOut,
    BytesIn,
    BytesOut,
    ConnectionRate,
    PacketRateIn,
    PacketRateOut,
    ByteRateIn,
    ByteRateOut,
}

pub(crate) const COUNTERS: [Counter; 10] = [
    Counter::Connections,
    Counter::PacketsIn,
    Counter::PacketsOut,
    Counter::BytesIn,
    Counter::BytesOut,
    Counter::ConnectionRate,
    Counter::PacketRateIn,
    Counter::PacketRateOut,
    Counter::ByteRateIn,
    Counter::ByteRateOut,
];

impl Counter {
    /// `IPVS_STATS_ATTR_*`: the counters are numbered 1 to 10 in order.
    pub(crate) fn kind(self) -> u16 {
        IPVS_STATS_ATTR_CONNS + self as u16
    }

    pub(crate) fn from_kind(kind: u16) -> Option<Self> {
        let index = kind.checked_sub(IPVS_STATS_ATTR_CONNS)?;
        COUNTERS.get(usize::from(index)).copied()
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Connections => "IPVS_STATS_ATTR_CONNS",
            Self::PacketsIn => "IPVS_STATS_ATTR_INPKTS",
            Self::PacketsOut => "IPVS_STATS_ATTR_OUTPKTS",
            Self::BytesIn => "IPVS_STATS_ATTR_INBYTES",
            Self::BytesOut => "IPVS_STATS_ATTR_OUTBYTES",
            Self::ConnectionRate => "IPVS_STATS_ATTR_CPS",
            Self::PacketRateIn => "IPVS_STATS_ATTR_INPPS",
            Self::PacketRateOut => "IPVS_STATS_ATTR_OUTPPS",
            Self::ByteRateIn => "IPVS_STATS_ATTR_INBPS",
            Self::ByteRateOut => "IPVS_STATS_ATTR_OUTBPS",
        }
    }

    /// Whether the counter is 64 bits wide in the legacy 32-bit nest.
    pub(crate) fn wide_in_legacy_nest(self) -> bool {
        matches!(self, Self::BytesIn | Self::BytesOut)
    }

    pub(crate) fn get(self, stats: &Stats) -> u64 {
        match self {
            Self::Connections => stats.connections,
            Self::PacketsIn => stats.packets_in,
            Self::PacketsOut => stats.packets_out,
            Self::BytesIn => stats.bytes_in,
            Self::BytesOut => stats.bytes_out,
            Self::ConnectionRate => stats.connection_rate,
            Self::PacketRateIn => stats.packet_rate_in,
            Self::PacketRateOut => stats.packet_rate_out,
            Self::ByteRateIn => stats.byte_rate_in,
            Self::ByteRateOut => stats.byte_rate_out,
        }
    }

    pub(crate) fn set(self, stats: &mut Stats, value: u64) {
        *match self {
            Self::Connections => &mut stats.connections,
            Self::PacketsIn => &mut stats.packets_in,
            Self::PacketsOut => &mut stats.packets_out,
            Self::BytesIn => &mut stats.bytes_in,
            Self::BytesOut => &mut stats.bytes_out,
            Self::ConnectionRate => &mut stats.connection_rate,
            Self::PacketRateIn => &mut stats.packet_rate_in,
            Self::PacketRateOut => &mut stats.packet_rate_out,
            Self::ByteRateIn => &mut stats.byte_rate_in,
            Self::ByteRateOut => &mut stats.byte_rate_out,
        } = value;
    }
}
