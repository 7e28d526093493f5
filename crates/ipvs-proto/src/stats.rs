//! Counters and rates of services and destinations: the `IPVS_*_ATTR_STATS`
//! nest (32-bit counters, 64-bit byte counts) and the `IPVS_*_ATTR_STATS64`
//! nest (64-bit everything).

use netlink_packet_core::{
    DecodeError, DefaultNla, ErrorContext, Nla, NlaBuffer, Parseable, emit_u32, emit_u64,
    parse_u32, parse_u64,
};

use crate::constants::*;
use crate::nest::{Append, append_leaf};

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

impl Nla for StatsAttribute {
    fn value_len(&self) -> usize {
        match self {
            Self::BytesIn(_) | Self::BytesOut(_) => 8,
            Self::Other(nla) => nla.value_len(),
            _ => 4,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Connections(_) => IPVS_STATS_ATTR_CONNS,
            Self::PacketsIn(_) => IPVS_STATS_ATTR_INPKTS,
            Self::PacketsOut(_) => IPVS_STATS_ATTR_OUTPKTS,
            Self::BytesIn(_) => IPVS_STATS_ATTR_INBYTES,
            Self::BytesOut(_) => IPVS_STATS_ATTR_OUTBYTES,
            Self::ConnectionRate(_) => IPVS_STATS_ATTR_CPS,
            Self::PacketRateIn(_) => IPVS_STATS_ATTR_INPPS,
            Self::PacketRateOut(_) => IPVS_STATS_ATTR_OUTPPS,
            Self::ByteRateIn(_) => IPVS_STATS_ATTR_INBPS,
            Self::ByteRateOut(_) => IPVS_STATS_ATTR_OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Connections(v)
            | Self::PacketsIn(v)
            | Self::PacketsOut(v)
            | Self::ConnectionRate(v)
            | Self::PacketRateIn(v)
            | Self::PacketRateOut(v)
            | Self::ByteRateIn(v)
            | Self::ByteRateOut(v) => emit_u32(buffer, *v).expect("buffer sized by value_len"),
            Self::BytesIn(v) | Self::BytesOut(v) => {
                emit_u64(buffer, *v).expect("buffer sized by value_len")
            }
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for StatsAttribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        Ok(match buf.kind() {
            IPVS_STATS_ATTR_CONNS => {
                Self::Connections(parse_u32(payload).context("invalid IPVS_STATS_ATTR_CONNS")?)
            }
            IPVS_STATS_ATTR_INPKTS => {
                Self::PacketsIn(parse_u32(payload).context("invalid IPVS_STATS_ATTR_INPKTS")?)
            }
            IPVS_STATS_ATTR_OUTPKTS => {
                Self::PacketsOut(parse_u32(payload).context("invalid IPVS_STATS_ATTR_OUTPKTS")?)
            }
            IPVS_STATS_ATTR_INBYTES => {
                Self::BytesIn(parse_u64(payload).context("invalid IPVS_STATS_ATTR_INBYTES")?)
            }
            IPVS_STATS_ATTR_OUTBYTES => {
                Self::BytesOut(parse_u64(payload).context("invalid IPVS_STATS_ATTR_OUTBYTES")?)
            }
            IPVS_STATS_ATTR_CPS => {
                Self::ConnectionRate(parse_u32(payload).context("invalid IPVS_STATS_ATTR_CPS")?)
            }
            IPVS_STATS_ATTR_INPPS => {
                Self::PacketRateIn(parse_u32(payload).context("invalid IPVS_STATS_ATTR_INPPS")?)
            }
            IPVS_STATS_ATTR_OUTPPS => {
                Self::PacketRateOut(parse_u32(payload).context("invalid IPVS_STATS_ATTR_OUTPPS")?)
            }
            IPVS_STATS_ATTR_INBPS => {
                Self::ByteRateIn(parse_u32(payload).context("invalid IPVS_STATS_ATTR_INBPS")?)
            }
            IPVS_STATS_ATTR_OUTBPS => {
                Self::ByteRateOut(parse_u32(payload).context("invalid IPVS_STATS_ATTR_OUTBPS")?)
            }
            _ => Self::Other(DefaultNla::parse(buf).context("invalid stats attribute")?),
        })
    }
}

impl Nla for Stats64Attribute {
    fn value_len(&self) -> usize {
        match self {
            Self::Other(nla) => nla.value_len(),
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Self::Connections(_) => IPVS_STATS_ATTR_CONNS,
            Self::PacketsIn(_) => IPVS_STATS_ATTR_INPKTS,
            Self::PacketsOut(_) => IPVS_STATS_ATTR_OUTPKTS,
            Self::BytesIn(_) => IPVS_STATS_ATTR_INBYTES,
            Self::BytesOut(_) => IPVS_STATS_ATTR_OUTBYTES,
            Self::ConnectionRate(_) => IPVS_STATS_ATTR_CPS,
            Self::PacketRateIn(_) => IPVS_STATS_ATTR_INPPS,
            Self::PacketRateOut(_) => IPVS_STATS_ATTR_OUTPPS,
            Self::ByteRateIn(_) => IPVS_STATS_ATTR_INBPS,
            Self::ByteRateOut(_) => IPVS_STATS_ATTR_OUTBPS,
            Self::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Self::Connections(v)
            | Self::PacketsIn(v)
            | Self::PacketsOut(v)
            | Self::BytesIn(v)
            | Self::BytesOut(v)
            | Self::ConnectionRate(v)
            | Self::PacketRateIn(v)
            | Self::PacketRateOut(v)
            | Self::ByteRateIn(v)
            | Self::ByteRateOut(v) => emit_u64(buffer, *v).expect("buffer sized by value_len"),
            Self::Other(nla) => nla.emit_value(buffer),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Stats64Attribute {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let payload = buf.value();
        let value = || parse_u64(payload);
        Ok(match buf.kind() {
            IPVS_STATS_ATTR_CONNS => {
                Self::Connections(value().context("invalid IPVS_STATS_ATTR_CONNS (64-bit)")?)
            }
            IPVS_STATS_ATTR_INPKTS => {
                Self::PacketsIn(value().context("invalid IPVS_STATS_ATTR_INPKTS (64-bit)")?)
            }
            IPVS_STATS_ATTR_OUTPKTS => {
                Self::PacketsOut(value().context("invalid IPVS_STATS_ATTR_OUTPKTS (64-bit)")?)
            }
            IPVS_STATS_ATTR_INBYTES => {
                Self::BytesIn(value().context("invalid IPVS_STATS_ATTR_INBYTES (64-bit)")?)
            }
            IPVS_STATS_ATTR_OUTBYTES => {
                Self::BytesOut(value().context("invalid IPVS_STATS_ATTR_OUTBYTES (64-bit)")?)
            }
            IPVS_STATS_ATTR_CPS => {
                Self::ConnectionRate(value().context("invalid IPVS_STATS_ATTR_CPS (64-bit)")?)
            }
            IPVS_STATS_ATTR_INPPS => {
                Self::PacketRateIn(value().context("invalid IPVS_STATS_ATTR_INPPS (64-bit)")?)
            }
            IPVS_STATS_ATTR_OUTPPS => {
                Self::PacketRateOut(value().context("invalid IPVS_STATS_ATTR_OUTPPS (64-bit)")?)
            }
            IPVS_STATS_ATTR_INBPS => {
                Self::ByteRateIn(value().context("invalid IPVS_STATS_ATTR_INBPS (64-bit)")?)
            }
            IPVS_STATS_ATTR_OUTBPS => {
                Self::ByteRateOut(value().context("invalid IPVS_STATS_ATTR_OUTBPS (64-bit)")?)
            }
            _ => Self::Other(DefaultNla::parse(buf).context("invalid stats64 attribute")?),
        })
    }
}

/// Counters and rates of a service or a destination, all 64 bits wide.
///
/// Built from the `STATS64` nest when the kernel sends one (it does since
/// Linux 4.1), else from the 32-bit `STATS` nest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
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

impl Stats {
    /// Reads a 32-bit `STATS` nest; counters it lacks stay 0.
    pub fn from_attributes(attributes: &[StatsAttribute]) -> Self {
        let mut stats = Self::default();
        for attribute in attributes {
            match *attribute {
                StatsAttribute::Connections(v) => stats.connections = v.into(),
                StatsAttribute::PacketsIn(v) => stats.packets_in = v.into(),
                StatsAttribute::PacketsOut(v) => stats.packets_out = v.into(),
                StatsAttribute::BytesIn(v) => stats.bytes_in = v,
                StatsAttribute::BytesOut(v) => stats.bytes_out = v,
                StatsAttribute::ConnectionRate(v) => stats.connection_rate = v.into(),
                StatsAttribute::PacketRateIn(v) => stats.packet_rate_in = v.into(),
                StatsAttribute::PacketRateOut(v) => stats.packet_rate_out = v.into(),
                StatsAttribute::ByteRateIn(v) => stats.byte_rate_in = v.into(),
                StatsAttribute::ByteRateOut(v) => stats.byte_rate_out = v.into(),
                StatsAttribute::Other(_) => {}
            }
        }
        stats
    }

    /// Reads a `STATS64` nest; counters it lacks stay 0.
    pub fn from_attributes64(attributes: &[Stats64Attribute]) -> Self {
        let mut stats = Self::default();
        for attribute in attributes {
            match *attribute {
                Stats64Attribute::Connections(v) => stats.connections = v,
                Stats64Attribute::PacketsIn(v) => stats.packets_in = v,
                Stats64Attribute::PacketsOut(v) => stats.packets_out = v,
                Stats64Attribute::BytesIn(v) => stats.bytes_in = v,
                Stats64Attribute::BytesOut(v) => stats.bytes_out = v,
                Stats64Attribute::ConnectionRate(v) => stats.connection_rate = v,
                Stats64Attribute::PacketRateIn(v) => stats.packet_rate_in = v,
                Stats64Attribute::PacketRateOut(v) => stats.packet_rate_out = v,
                Stats64Attribute::ByteRateIn(v) => stats.byte_rate_in = v,
                Stats64Attribute::ByteRateOut(v) => stats.byte_rate_out = v,
                Stats64Attribute::Other(_) => {}
            }
        }
        stats
    }

    /// The 32-bit `STATS` nest, in the kernel's order. Counters wider than
    /// 32 bits are truncated, exactly as the kernel does for this nest.
    pub fn to_attributes(&self) -> Vec<StatsAttribute> {
        // Truncation is the documented meaning of the legacy 32-bit nest.
        let low = |v: u64| v as u32;
        vec![
            StatsAttribute::Connections(low(self.connections)),
            StatsAttribute::PacketsIn(low(self.packets_in)),
            StatsAttribute::PacketsOut(low(self.packets_out)),
            StatsAttribute::BytesIn(self.bytes_in),
            StatsAttribute::BytesOut(self.bytes_out),
            StatsAttribute::ConnectionRate(low(self.connection_rate)),
            StatsAttribute::PacketRateIn(low(self.packet_rate_in)),
            StatsAttribute::PacketRateOut(low(self.packet_rate_out)),
            StatsAttribute::ByteRateIn(low(self.byte_rate_in)),
            StatsAttribute::ByteRateOut(low(self.byte_rate_out)),
        ]
    }

    /// The `STATS64` nest, in the kernel's order.
    pub fn to_attributes64(&self) -> Vec<Stats64Attribute> {
        vec![
            Stats64Attribute::Connections(self.connections),
            Stats64Attribute::PacketsIn(self.packets_in),
            Stats64Attribute::PacketsOut(self.packets_out),
            Stats64Attribute::BytesIn(self.bytes_in),
            Stats64Attribute::BytesOut(self.bytes_out),
            Stats64Attribute::ConnectionRate(self.connection_rate),
            Stats64Attribute::PacketRateIn(self.packet_rate_in),
            Stats64Attribute::PacketRateOut(self.packet_rate_out),
            Stats64Attribute::ByteRateIn(self.byte_rate_in),
            Stats64Attribute::ByteRateOut(self.byte_rate_out),
        ]
    }

    /// Picks the best of the two nests a reply may carry: `STATS64` when
    /// present, else `STATS`, else `None`.
    pub(crate) fn pick(
        stats: Option<&[StatsAttribute]>,
        stats64: Option<&[Stats64Attribute]>,
    ) -> Option<Self> {
        match (stats64, stats) {
            (Some(wide), _) => Some(Self::from_attributes64(wide)),
            (None, Some(narrow)) => Some(Self::from_attributes(narrow)),
            (None, None) => None,
        }
    }
}

impl Append for StatsAttribute {
    fn append(&self, out: &mut Vec<u8>) {
        append_leaf(self, out)
    }
}

impl Append for Stats64Attribute {
    fn append(&self, out: &mut Vec<u8>) {
        append_leaf(self, out)
    }
}
