//! The ten counters both statistics nests carry.

use crate::constants::*;
use crate::nest::{Invalid, ReadError, Visit, read_array};
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

/// Reads one attribute of a `STATS` nest (`wide` false: 32-bit counters,
/// 64-bit byte counts) or of a `STATS64` nest (`wide` true) and gives its
/// counter and value to `into`; an attribute this crate does not know is
/// not given. The one reader of counters: the one-pass reader of listings
/// fills [`Stats`] with it, `Parseable` builds the attribute enums on it.
#[inline(always)]
pub(crate) fn read_counter<E: ReadError>(
    kind: u16,
    value: &[u8],
    wide: bool,
    into: &mut impl Visit<(Counter, u64)>,
) -> Result<(), E> {
    // One arm per counter, each giving a counter known where it is given
    // (so that filling `Stats` is one store, not a second dispatch).
    match kind {
        IPVS_STATS_ATTR_CONNS => read_one(Counter::Connections, value, wide, into),
        IPVS_STATS_ATTR_INPKTS => read_one(Counter::PacketsIn, value, wide, into),
        IPVS_STATS_ATTR_OUTPKTS => read_one(Counter::PacketsOut, value, wide, into),
        IPVS_STATS_ATTR_INBYTES => read_one(Counter::BytesIn, value, wide, into),
        IPVS_STATS_ATTR_OUTBYTES => read_one(Counter::BytesOut, value, wide, into),
        IPVS_STATS_ATTR_CPS => read_one(Counter::ConnectionRate, value, wide, into),
        IPVS_STATS_ATTR_INPPS => read_one(Counter::PacketRateIn, value, wide, into),
        IPVS_STATS_ATTR_OUTPPS => read_one(Counter::PacketRateOut, value, wide, into),
        IPVS_STATS_ATTR_INBPS => read_one(Counter::ByteRateIn, value, wide, into),
        IPVS_STATS_ATTR_OUTBPS => read_one(Counter::ByteRateOut, value, wide, into),
        _ => Ok(()),
    }
}

/// [`read_counter`] of one counter.
#[inline(always)]
fn read_one<E: ReadError>(
    counter: Counter,
    value: &[u8],
    wide: bool,
    into: &mut impl Visit<(Counter, u64)>,
) -> Result<(), E> {
    let read = if wide || counter.wide_in_legacy_nest() {
        read_array(value).map(u64::from_ne_bytes)
    } else {
        read_array(value).map(|bytes| u64::from(u32::from_ne_bytes(bytes)))
    };
    let value = match read {
        Ok(value) => value,
        Err(error) => return Err(counter_error(error, counter, wide)),
    };
    into.visit((counter, value));
    Ok(())
}

/// The error of a counter's value: it names the counter (and the nest, in
/// `STATS64`).
#[inline(always)]
fn counter_error<E: ReadError>(error: E, counter: Counter, wide: bool) -> E {
    let error = error.context(Invalid(counter.name()));
    if wide {
        error.context("in the 64-bit stats nest")
    } else {
        error
    }
}

/// The counters given, set in the statistics.
impl Visit<(Counter, u64)> for Stats {
    #[inline(always)]
    fn visit(&mut self, (counter, value): (Counter, u64)) {
        counter.set(self, value);
    }
}
