//! `--json`: every listing as one JSON document. The schema is documented in
//! `docs/ipvsctl-json.md`; field names and value spellings are stable.

use std::net::IpAddr;

use ipvs_proto::{
    AddressFamily, Daemon, DaemonState, Destination, Forwarding, Info, Netmask, ServiceFlags,
    ServiceKey, Stats, Timeouts, TunnelFlags, TunnelType,
};
use serde::Serialize;

use crate::cli::fmt;
use crate::conn::Connection;
use crate::format::{self, Entry};
use crate::sort;

/// Schema version of every document.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct StatsJson {
    pub connections: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub connection_rate: u64,
    pub packet_rate_in: u64,
    pub packet_rate_out: u64,
    pub byte_rate_in: u64,
    pub byte_rate_out: u64,
}

impl From<&Stats> for StatsJson {
    fn from(s: &Stats) -> Self {
        Self {
            connections: s.connections,
            packets_in: s.packets_in,
            packets_out: s.packets_out,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            connection_rate: s.connection_rate,
            packet_rate_in: s.packet_rate_in,
            packet_rate_out: s.packet_rate_out,
            byte_rate_in: s.byte_rate_in,
            byte_rate_out: s.byte_rate_out,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TunnelJson {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub port: Option<u16>,
    pub checksum: &'static str,
}

#[derive(Debug, Serialize)]
pub struct DestinationJson {
    pub address: IpAddr,
    pub port: u16,
    pub forwarding: &'static str,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    pub active_connections: u32,
    pub inactive_connections: u32,
    pub persistent_connections: u32,
    pub tunnel: Option<TunnelJson>,
    pub stats: Option<StatsJson>,
}

#[derive(Debug, Serialize)]
pub struct ServiceJson {
    pub family: &'static str,
    pub protocol: Option<&'static str>,
    pub address: Option<IpAddr>,
    pub port: Option<u16>,
    pub fwmark: Option<u32>,
    pub scheduler: String,
    pub scheduler_flags: Vec<&'static str>,
    pub persistent: bool,
    pub persistence_timeout: Option<u64>,
    pub netmask: String,
    pub persistence_engine: Option<String>,
    pub one_packet: bool,
    pub stats: Option<StatsJson>,
    pub destinations: Vec<DestinationJson>,
}

fn forwarding(f: Forwarding) -> &'static str {
    match f {
        Forwarding::Masq => "masq",
        Forwarding::Local => "local",
        Forwarding::Tunnel => "tunnel",
        Forwarding::DirectRoute => "route",
        Forwarding::Bypass => "bypass",
        _ => "unknown",
    }
}

fn destination(d: &Destination) -> DestinationJson {
    let conns = d.connections.unwrap_or_default();
    let tunnel = (d.forwarding == Forwarding::Tunnel).then(|| TunnelJson {
        kind: match d.tunnel.kind {
            TunnelType::Ipip => "ipip",
            TunnelType::Gue => "gue",
            TunnelType::Gre => "gre",
            _ => "unknown",
        },
        port: (d.tunnel.kind == TunnelType::Gue).then_some(d.tunnel.port),
        checksum: if d.tunnel.flags.contains(TunnelFlags::REMCSUM) {
            "remote"
        } else if d.tunnel.flags.contains(TunnelFlags::CSUM) {
            "checksum"
        } else {
            "none"
        },
    });
    DestinationJson {
        address: d.address,
        port: d.port,
        forwarding: forwarding(d.forwarding),
        weight: d.weight,
        upper_threshold: d.upper_threshold,
        lower_threshold: d.lower_threshold,
        active_connections: conns.active,
        inactive_connections: conns.inactive,
        persistent_connections: conns.persistent,
        tunnel,
        stats: d.stats.as_ref().map(StatsJson::from),
    }
}

fn service(entry: Entry, format: u32) -> ServiceJson {
    let Entry {
        service: s,
        mut dests,
    } = entry;
    if format & fmt::NOSORT == 0 {
        sort::msort_by(&mut dests, &|a: &Destination, b: &Destination| {
            sort::cmp_dests(a, b)
        });
    }
    let family = match s.key.family() {
        AddressFamily::Inet => "inet",
        AddressFamily::Inet6 => "inet6",
        _ => "unknown",
    };
    let (protocol, address, port, fwmark) = match s.key {
        ServiceKey::Tuple {
            protocol,
            address,
            port,
        } => {
            let name = match protocol {
                ipvs_proto::Protocol::Tcp => "tcp",
                ipvs_proto::Protocol::Udp => "udp",
                ipvs_proto::Protocol::Sctp => "sctp",
                _ => "unknown",
            };
            (Some(name), Some(address), Some(port), None)
        }
        ServiceKey::Fwmark { mark, .. } => (None, None, None, Some(mark)),
    };
    let persistent = s.flags.contains(ServiceFlags::PERSISTENT);
    ServiceJson {
        family,
        protocol,
        address,
        port,
        fwmark,
        scheduler_flags: format::sched_flag_names(&s),
        scheduler: s.scheduler.clone(),
        persistent,
        persistence_timeout: persistent.then_some(s.timeout.as_secs()),
        netmask: match s.netmask {
            Netmask::V4(mask) => mask.to_string(),
            Netmask::V6(prefix) => prefix.to_string(),
            other => other.to_string(),
        },
        persistence_engine: format::persistence_engine(&s).map(String::from),
        one_packet: s.flags.contains(ServiceFlags::ONE_PACKET),
        stats: s.stats.as_ref().map(StatsJson::from),
        destinations: dests.iter().map(destination).collect(),
    }
}

#[derive(Debug, Serialize)]
struct ListingJson {
    schema: u32,
    version: Option<String>,
    connection_table_size: Option<u32>,
    services: Vec<ServiceJson>,
}

fn to_text(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("\"{e}\""));
    text.push('\n');
    text
}

/// `-L --json` (`info` absent for a one-service listing).
pub fn listing(info: Option<&Info>, mut entries: Vec<Entry>, format: u32) -> String {
    if format & fmt::NOSORT == 0 {
        sort::msort_by(&mut entries, &|a: &Entry, b: &Entry| {
            sort::cmp_services(&a.service, &b.service)
        });
    }
    to_text(&ListingJson {
        schema: SCHEMA,
        version: info.map(|i| i.version.to_string()),
        connection_table_size: info.map(|i| i.connection_table_size),
        services: entries.into_iter().map(|e| service(e, format)).collect(),
    })
}

/// `-L --timeout --json`.
pub fn timeouts(t: &Timeouts) -> String {
    #[derive(Serialize)]
    struct T {
        schema: u32,
        tcp: u64,
        tcp_fin: u64,
        udp: u64,
    }
    let secs = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_secs());
    to_text(&T {
        schema: SCHEMA,
        tcp: secs(t.tcp),
        tcp_fin: secs(t.tcp_fin),
        udp: secs(t.udp),
    })
}

/// `-L --daemon --json`.
pub fn daemons(list: &[Daemon]) -> String {
    #[derive(Serialize)]
    struct D<'a> {
        state: &'static str,
        interface: &'a str,
        sync_id: u32,
        max_length: Option<u16>,
        group: Option<IpAddr>,
        port: Option<u16>,
        ttl: Option<u8>,
    }
    #[derive(Serialize)]
    struct All<'a> {
        schema: u32,
        daemons: Vec<D<'a>>,
    }
    to_text(&All {
        schema: SCHEMA,
        daemons: list
            .iter()
            .map(|d| D {
                state: match d.state {
                    DaemonState::Master => "master",
                    DaemonState::Backup => "backup",
                    _ => "unknown",
                },
                interface: &d.interface,
                sync_id: d.sync_id,
                max_length: d.max_length,
                group: d.group,
                port: d.port,
                ttl: d.ttl,
            })
            .collect(),
    })
}

/// `-L -c --json`.
pub fn connections(table: &[Connection]) -> String {
    #[derive(Serialize)]
    struct C<'a> {
        schema: u32,
        connections: &'a [Connection],
    }
    to_text(&C {
        schema: SCHEMA,
        connections: table,
    })
}
