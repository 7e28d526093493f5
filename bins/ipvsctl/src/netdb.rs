//! Name lookups as ipvsadm makes them: port names from `/etc/services`
//! (`getservbyname` / `getservbyport`, first matching line wins), host names
//! from the system resolver (IPv4 `gethostbyname`, reverse `gethostbyaddr`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::sync::{Mutex, OnceLock};

use ipvs_proto::constants::{IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};

/// One line of a services database: name, aliases, port, protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    pub names: Vec<String>,
    pub port: u16,
    pub proto: String,
}

/// Parses a services database (`/etc/services` format).
pub fn parse_services(text: &str) -> Vec<ServiceEntry> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let (port, proto) = words.next()?.split_once('/')?;
            let port = port.parse().ok()?;
            let mut names = vec![name.to_string()];
            names.extend(words.map(String::from));
            Some(ServiceEntry {
                names,
                port,
                proto: proto.to_string(),
            })
        })
        .collect()
}

fn services() -> &'static [ServiceEntry] {
    static SERVICES: OnceLock<Vec<ServiceEntry>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        std::fs::read_to_string("/etc/services")
            .map(|text| parse_services(&text))
            .unwrap_or_default()
    })
}

fn proto_name(proto: u16) -> Option<&'static str> {
    match proto {
        IPPROTO_TCP => Some("tcp"),
        IPPROTO_UDP => Some("udp"),
        IPPROTO_SCTP => Some("sctp"),
        _ => None,
    }
}

/// `service_to_port`: a port name for the service's protocol.
pub fn service_to_port_in(db: &[ServiceEntry], name: &str, proto: u16) -> Option<u16> {
    let proto = proto_name(proto)?;
    db.iter()
        .find(|e| e.proto == proto && e.names.iter().any(|n| n == name))
        .map(|e| e.port)
}

/// `port_to_service`: the first name of a port for the protocol.
pub fn port_to_service_in(db: &[ServiceEntry], port: u16, proto: u16) -> Option<&str> {
    let proto = proto_name(proto)?;
    db.iter()
        .find(|e| e.proto == proto && e.port == port)
        .map(|e| e.names[0].as_str())
}

/// `service_to_port` against the system's `/etc/services`.
pub fn service_to_port(name: &str, proto: u16) -> Option<u16> {
    service_to_port_in(services(), name, proto)
}

/// `port_to_anyname`: the service name, or the number.
pub fn port_to_anyname(port: u16, proto: u16) -> String {
    port_to_service_in(services(), port, proto)
        .map(String::from)
        .unwrap_or_else(|| port.to_string())
}

/// `host_to_addr`: the first IPv4 address the resolver gives for a name.
pub fn host_to_addr(name: &str) -> Option<Ipv4Addr> {
    if name.is_empty() {
        return None;
    }
    (name, 0)
        .to_socket_addrs()
        .ok()?
        .find_map(|sa| match sa.ip() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
}

/// `addr_to_anyname`: the resolver's name for an address, or its text. Each
/// address is asked once per run (ipvsadm asks again for every line).
pub fn addr_to_anyname(addr: IpAddr) -> String {
    static NAMES: OnceLock<Mutex<HashMap<IpAddr, String>>> = OnceLock::new();
    let names = NAMES.get_or_init(Default::default);
    if let Some(name) = names.lock().ok().and_then(|n| n.get(&addr).cloned()) {
        return name;
    }
    let name = dns_lookup::lookup_addr(&addr).unwrap_or_else(|_| addr.to_string());
    if let Ok(mut n) = names.lock() {
        n.insert(addr, name.clone());
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "\
# comment
http\t\t80/tcp\t\twww # WorldWideWeb
http\t\t80/udp
domain\t\t53/tcp
domain\t\t53/udp
sip\t\t5060/udp
";

    #[test]
    fn services_lookups_follow_file_order() {
        let db = parse_services(DB);
        assert_eq!(service_to_port_in(&db, "www", IPPROTO_TCP), Some(80));
        assert_eq!(service_to_port_in(&db, "www", IPPROTO_UDP), None);
        assert_eq!(service_to_port_in(&db, "http", 0), None);
        assert_eq!(port_to_service_in(&db, 53, IPPROTO_UDP), Some("domain"));
        assert_eq!(port_to_service_in(&db, 5060, IPPROTO_TCP), None);
    }
}
