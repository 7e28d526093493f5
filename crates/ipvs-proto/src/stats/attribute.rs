//! The attributes of the `STATS` and `STATS64` nests, and the conversions
//! between them and [`Stats`].

use netlink_packet_core::{DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable};

use crate::nest::{Sink, Visit, WireAttribute, impl_nla};
use crate::stats::counter::{COUNTERS, Counter, read_counter};
use crate::stats::model::Stats;

/// One attribute of an `IPVS_SVC_ATTR_STATS` / `IPVS_DEST_ATTR_STATS` nest
/// (`struct ip_vs_stats_user` layout: 32-bit counters and rates, 64-bit byte
/// counts).
#[derive(Debug, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum StatsAttribute {
    Connections(u32),
    PacketsIn(u32),
    PacketsOut(u32),
    BytesIn(u64),
    BytesOut(u64),
    ConnectionRate(u32),
    PacketRateIn(u32),
    PacketRateOut(u32),
    ByteRateIn(u32),
    ByteRateOut(u32),
    Other(DefaultNla),
}

/// One attribute of an `IPVS_SVC_ATTR_STATS64` / `IPVS_DEST_ATTR_STATS64`
/// nest: every counter and rate 64 bits wide.
#[derive(Debug, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum Stats64Attribute {
    Connections(u64),
    PacketsIn(u64),
    PacketsOut(u64),
    BytesIn(u64),
    BytesOut(u64),
    ConnectionRate(u64),
    PacketRateIn(u64),
    PacketRateOut(u64),
    ByteRateIn(u64),
    ByteRateOut(u64),
    Other(DefaultNla),
}

impl StatsAttribute {
    /// The counter and its value, or the attribute this crate does not know.
    fn counter(&self) -> Result<(Counter, u64), &DefaultNla> {
        Ok(match *self {
            Self::Connections(v) => (Counter::Connections, v.into()),
            Self::PacketsIn(v) => (Counter::PacketsIn, v.into()),
            Self::PacketsOut(v) => (Counter::PacketsOut, v.into()),
            Self::BytesIn(v) => (Counter::BytesIn, v),
            Self::BytesOut(v) => (Counter::BytesOut, v),
            Self::ConnectionRate(v) => (Counter::ConnectionRate, v.into()),
            Self::PacketRateIn(v) => (Counter::PacketRateIn, v.into()),
            Self::PacketRateOut(v) => (Counter::PacketRateOut, v.into()),
            Self::ByteRateIn(v) => (Counter::ByteRateIn, v.into()),
            Self::ByteRateOut(v) => (Counter::ByteRateOut, v.into()),
            Self::Other(ref nla) => return Err(nla),
        })
    }

    /// The attribute for `counter`; 32-bit counters keep the low 32 bits of
    /// `value`, as the kernel does for this nest.
    fn from_counter(counter: Counter, value: u64) -> Self {
        let low = value as u32;
        match counter {
            Counter::Connections => Self::Connections(low),
            Counter::PacketsIn => Self::PacketsIn(low),
            Counter::PacketsOut => Self::PacketsOut(low),
            Counter::BytesIn => Self::BytesIn(value),
            Counter::BytesOut => Self::BytesOut(value),
            Counter::ConnectionRate => Self::ConnectionRate(low),
            Counter::PacketRateIn => Self::PacketRateIn(low),
            Counter::PacketRateOut => Self::PacketRateOut(low),
            Counter::ByteRateIn => Self::ByteRateIn(low),
            Counter::ByteRateOut => Self::ByteRateOut(low),
        }
    }
}

impl Stats64Attribute {
    /// The counter and its value, or the attribute this crate does not know.
    fn counter(&self) -> Result<(Counter, u64), &DefaultNla> {
        Ok(match *self {
            Self::Connections(v) => (Counter::Connections, v),
            Self::PacketsIn(v) => (Counter::PacketsIn, v),
            Self::PacketsOut(v) => (Counter::PacketsOut, v),
            Self::BytesIn(v) => (Counter::BytesIn, v),
            Self::BytesOut(v) => (Counter::BytesOut, v),
            Self::ConnectionRate(v) => (Counter::ConnectionRate, v),
            Self::PacketRateIn(v) => (Counter::PacketRateIn, v),
            Self::PacketRateOut(v) => (Counter::PacketRateOut, v),
            Self::ByteRateIn(v) => (Counter::ByteRateIn, v),
            Self::ByteRateOut(v) => (Counter::ByteRateOut, v),
            Self::Other(ref nla) => return Err(nla),
        })
    }

    fn from_counter(counter: Counter, value: u64) -> Self {
        match counter {
            Counter::Connections => Self::Connections(value),
            Counter::PacketsIn => Self::PacketsIn(value),
            Counter::PacketsOut => Self::PacketsOut(value),
            Counter::BytesIn => Self::BytesIn(value),
            Counter::BytesOut => Self::BytesOut(value),
            Counter::ConnectionRate => Self::ConnectionRate(value),
            Counter::PacketRateIn => Self::PacketRateIn(value),
            Counter::PacketRateOut => Self::PacketRateOut(value),
            Counter::ByteRateIn => Self::ByteRateIn(value),
            Counter::ByteRateOut => Self::ByteRateOut(value),
        }
    }
}

impl WireAttribute for StatsAttribute {
    #[inline(always)]
    fn wire_kind(&self) -> u16 {
        match self.counter() {
            Ok((counter, _)) => counter.kind(),
            Err(nla) => nla.kind(),
        }
    }

    #[inline(always)]
    fn write_value<S: Sink>(&self, out: &mut S) {
        match self.counter() {
            Ok((counter, v)) if counter.wide_in_legacy_nest() => out.put(&v.to_ne_bytes()),
            // Narrow counters hold a u32, so this keeps every bit.
            Ok((_, v)) => out.put(&(v as u32).to_ne_bytes()),
            Err(nla) => out.put_with(nla.value_len(), |buffer| nla.emit_value(buffer)),
        }
    }
}

impl_nla!(StatsAttribute);

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for StatsAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let mut read = None;
        read_counter::<DecodeError>(buf.kind(), buf.value(), false, &mut read)?;
        Ok(match read {
            Some((counter, value)) => Self::from_counter(counter, value),
            None => Self::Other(DefaultNla::parse(buf).context("invalid stats attribute")?),
        })
    }
}

impl WireAttribute for Stats64Attribute {
    #[inline(always)]
    fn wire_kind(&self) -> u16 {
        match self.counter() {
            Ok((counter, _)) => counter.kind(),
            Err(nla) => nla.kind(),
        }
    }

    #[inline(always)]
    fn write_value<S: Sink>(&self, out: &mut S) {
        match self.counter() {
            Ok((_, v)) => out.put(&v.to_ne_bytes()),
            Err(nla) => out.put_with(nla.value_len(), |buffer| nla.emit_value(buffer)),
        }
    }
}

impl_nla!(Stats64Attribute);

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Stats64Attribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let mut read = None;
        read_counter::<DecodeError>(buf.kind(), buf.value(), true, &mut read)?;
        Ok(match read {
            Some((counter, value)) => Self::from_counter(counter, value),
            None => Self::Other(DefaultNla::parse(buf).context("invalid stats64 attribute")?),
        })
    }
}

impl Stats {
    fn from_counters(counters: impl Iterator<Item = (Counter, u64)>) -> Self {
        let mut stats = Self::default();
        for counter in counters {
            stats.visit(counter);
        }
        stats
    }

    /// Reads a 32-bit `STATS` nest; counters it lacks stay 0.
    pub fn from_attributes(attributes: &[StatsAttribute]) -> Self {
        Self::from_counters(attributes.iter().filter_map(|a| a.counter().ok()))
    }

    /// Reads a `STATS64` nest; counters it lacks stay 0.
    pub fn from_attributes64(attributes: &[Stats64Attribute]) -> Self {
        Self::from_counters(attributes.iter().filter_map(|a| a.counter().ok()))
    }

    /// The 32-bit `STATS` nest, in the kernel's order. Counters wider than
    /// 32 bits are truncated, exactly as the kernel does for this nest.
    pub fn to_attributes(&self) -> Vec<StatsAttribute> {
        COUNTERS
            .iter()
            .map(|&counter| StatsAttribute::from_counter(counter, counter.get(self)))
            .collect()
    }

    /// [`Stats::to_attributes`] without allocating.
    pub(crate) fn narrow_attributes(&self) -> [StatsAttribute; 10] {
        COUNTERS.map(|counter| StatsAttribute::from_counter(counter, counter.get(self)))
    }

    /// [`Stats::to_attributes64`] without allocating.
    pub(crate) fn wide_attributes(&self) -> [Stats64Attribute; 10] {
        COUNTERS.map(|counter| Stats64Attribute::from_counter(counter, counter.get(self)))
    }

    /// The `STATS64` nest, in the kernel's order.
    pub fn to_attributes64(&self) -> Vec<Stats64Attribute> {
        COUNTERS
            .iter()
            .map(|&counter| Stats64Attribute::from_counter(counter, counter.get(self)))
            .collect()
    }
}
