//! `--json`: every listing as one JSON document. The schema is documented in
//! `docs/ipvsctl-json.md`; field names and value spellings are stable.
//!
//! Counters, daemons, timeouts and the names of families, protocols,
//! forwarding methods, tunnel types and daemon states are ipvs-proto's own
//! serialization (its feature `serde`), whose shapes are the schema's; the
//! documents below add what is ipvsctl's choice: which fields a service and a
//! destination show, and how.

use std::net::IpAddr;

use ipvs_proto::{
    AddressFamily, Daemon, Destination, Forwarding, Info, Netmask, Protocol, ServiceFlags,
    ServiceKey, Stats, Timeouts, TunnelFlags, TunnelType, Version,
};
use serde::Serialize;

use crate::cli::{Format, fmt};
use crate::conn::Connection;
use crate::format::{self, Entry};
use crate::sort;

/// Schema version of every document.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct TunnelJson {
    #[serde(rename = "type")]
    pub kind: TunnelType,
    pub port: Option<u16>,
    pub checksum: &'static str,
}

#[derive(Debug, Serialize)]
pub struct DestinationJson {
    pub address: IpAddr,
    pub port: u16,
    pub forwarding: Forwarding,
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    pub active_connections: u32,
    pub inactive_connections: u32,
    pub persistent_connections: u32,
    pub tunnel: Option<TunnelJson>,
    pub stats: Option<Stats>,
}

#[derive(Debug, Serialize)]
pub struct ServiceJson {
    pub family: AddressFamily,
    pub protocol: Option<Protocol>,
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
    pub stats: Option<Stats>,
    pub destinations: Vec<DestinationJson>,
}

fn destination(d: &Destination) -> DestinationJson {
    let conns = d.connections.unwrap_or_default();
    let tunnel = (d.forwarding == Forwarding::Tunnel).then(|| TunnelJson {
        kind: d.tunnel.kind,
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
        forwarding: d.forwarding,
        weight: d.weight,
        upper_threshold: d.upper_threshold,
        lower_threshold: d.lower_threshold,
        active_connections: conns.active,
        inactive_connections: conns.inactive,
        persistent_connections: conns.persistent,
        tunnel,
        stats: d.stats,
    }
}

fn service(entry: Entry, format: Format) -> ServiceJson {
    let Entry {
        service: s,
        mut dests,
    } = entry;
    if !format.contains(fmt::NOSORT) {
        sort::msort_by(&mut dests, &|a: &Destination, b: &Destination| {
            sort::cmp_dests(a, b)
        });
    }
    let (protocol, address, port, fwmark) = match s.key {
        ServiceKey::Tuple {
            protocol,
            address,
            port,
        } => (Some(protocol), Some(address), Some(port), None),
        ServiceKey::Fwmark { mark, .. } => (None, None, None, Some(mark)),
    };
    let persistent = s.flags.contains(ServiceFlags::PERSISTENT);
    ServiceJson {
        family: s.key.family(),
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
        stats: s.stats,
        destinations: dests.iter().map(destination).collect(),
    }
}

#[derive(Debug, Serialize)]
struct ListingJson {
    schema: u32,
    version: Option<Version>,
    connection_table_size: Option<u32>,
    services: Vec<ServiceJson>,
}

fn to_text(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("\"{e}\""));
    text.push('\n');
    text
}

/// `-L --json` (`info` absent for a one-service listing).
pub fn listing(info: Option<&Info>, mut entries: Vec<Entry>, format: Format) -> String {
    if !format.contains(fmt::NOSORT) {
        sort::msort_by(&mut entries, &|a: &Entry, b: &Entry| {
            sort::cmp_services(&a.service, &b.service)
        });
    }
    to_text(&ListingJson {
        schema: SCHEMA,
        version: info.map(|i| i.version),
        connection_table_size: info.map(|i| i.connection_table_size),
        services: entries.into_iter().map(|e| service(e, format)).collect(),
    })
}

/// One frame of `-L --watch --json`: the `-L --json` document (one
/// service's with `-t/-u/-f`) on one line, with the frame's `time` (RFC 3339)
/// and where its `*_rate` fields come from (`rates`: `"counters"` or
/// `"kernel"`).
pub fn listing_line(
    info: Option<&Info>,
    mut entries: Vec<Entry>,
    format: Format,
    time: &str,
    rates: &str,
) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        time: &'a str,
        rates: &'a str,
        #[serde(flatten)]
        listing: ListingJson,
    }
    if !format.contains(fmt::NOSORT) {
        sort::msort_by(&mut entries, &|a: &Entry, b: &Entry| {
            sort::cmp_services(&a.service, &b.service)
        });
    }
    let line = Line {
        time,
        rates,
        listing: ListingJson {
            schema: SCHEMA,
            version: info.map(|i| i.version),
            connection_table_size: info.map(|i| i.connection_table_size),
            services: entries.into_iter().map(|e| service(e, format)).collect(),
        },
    };
    one_line(&line)
}

/// One frame of `-L -c --watch --json`: the `-L -c --json` document on one
/// line, with its `time`.
pub fn connections_line(table: &[Connection], time: &str) -> String {
    #[derive(Serialize)]
    struct C<'a> {
        time: &'a str,
        schema: u32,
        connections: &'a [Connection],
    }
    one_line(&C {
        time,
        schema: SCHEMA,
        connections: table,
    })
}

fn one_line(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string(value).unwrap_or_else(|e| format!("\"{e}\""));
    text.push('\n');
    text
}

/// `-L --timeout --json`.
pub fn timeouts(t: &Timeouts) -> String {
    #[derive(Serialize)]
    struct T<'a> {
        schema: u32,
        #[serde(flatten)]
        timeouts: &'a Timeouts,
    }
    to_text(&T {
        schema: SCHEMA,
        timeouts: t,
    })
}

/// `-L --daemon --json`.
pub fn daemons(list: &[Daemon]) -> String {
    #[derive(Serialize)]
    struct All<'a> {
        schema: u32,
        daemons: &'a [Daemon],
    }
    to_text(&All {
        schema: SCHEMA,
        daemons: list,
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
