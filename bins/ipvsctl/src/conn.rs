//! `-L -c`: the connection table from `/proc/net/ip_vs_conn`, printed as
//! ipvsadm prints it, and read into values for `--json`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use ipvs_proto::constants::{IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use serde::Serialize;

use crate::cli::{Format, cnum, fmt};
use crate::format::addrport;

/// The kernel's connection table file.
pub const CONN_PROC_FILE: &str = "/proc/net/ip_vs_conn";

/// One line of the connection table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub protocol: String,
    pub client: IpAddr,
    pub client_port: u16,
    pub virtual_address: IpAddr,
    pub virtual_port: u16,
    pub destination: IpAddr,
    pub destination_port: u16,
    pub state: String,
    pub expires: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pe_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pe_data: Option<String>,
}

/// A table line's address: IPv6 text, dotted IPv4, or the kernel's hex IPv4.
fn conn_addr(text: &str) -> IpAddr {
    if let Some(v6) = cnum::inet_pton6(text) {
        IpAddr::V6(v6)
    } else if let Some(v4) = cnum::inet_pton4(text) {
        IpAddr::V4(v4)
    } else {
        IpAddr::V4(Ipv4Addr::from(hex_prefix(text) as u32))
    }
}

/// `strtoul(text, NULL, 16)` (leading hex digits, 0 if none).
fn hex_prefix(text: &str) -> u64 {
    let digits: String = text
        .trim_start()
        .trim_start_matches("0x")
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    u64::from_str_radix(&digits, 16).unwrap_or(u64::MAX)
}

/// Reads one table line (`None` for a line with fewer than 9 fields).
pub fn parse_line(line: &str) -> Option<Connection> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 9 {
        return None;
    }
    let port = |s: &str| hex_prefix(s) as u16;
    let (client, virtual_address) = match cnum::inet_pton6(f[1]) {
        Some(c) => (IpAddr::V6(c), conn_addr(f[3])),
        None => (conn_addr(f[1]), conn_addr(f[3])),
    };
    Some(Connection {
        protocol: f[0].to_string(),
        client,
        client_port: port(f[2]),
        virtual_address,
        virtual_port: port(f[4]),
        destination: conn_addr(f[5]),
        destination_port: port(f[6]),
        state: f[7].to_string(),
        expires: cnum::atoi(f[8]) as i32,
        pe_name: f.get(9).map(|s| s.to_string()),
        pe_data: f.get(10).map(|s| s.to_string()),
    })
}

/// Reads every connection of a table text (its first line is the header).
pub fn parse_table(text: &str) -> Vec<Connection> {
    text.lines().skip(1).filter_map(parse_line).collect()
}

fn proto_number(name: &str) -> u16 {
    match name {
        "TCP" => IPPROTO_TCP,
        "UDP" => IPPROTO_UDP,
        "SCTP" => IPPROTO_SCTP,
        _ => 0,
    }
}

/// `list_conn`: the header lines and one line per connection.
pub fn listing(table: &[Connection], format: Format) -> String {
    let mut out = String::from("IPVS connection entries\n");
    let persistent = format.contains(fmt::PERSISTENTCONN);
    if persistent {
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} {:<18} {:<16} pe_data",
            "state", "source", "virtual", "destination", "pe name"
        );
    } else {
        let _ = writeln!(
            out,
            "pro expire {:<11} {:<18} {:<18} destination",
            "state", "source", "virtual"
        );
    }
    for c in table {
        let proto = proto_number(&c.protocol);
        let cname = addrport(c.client, c.client_port, proto, format);
        let vname = addrport(c.virtual_address, c.virtual_port, proto, format);
        let dname = addrport(c.destination, c.destination_port, proto, format);
        let expires = c.expires.max(0) as u32;
        let expire = format!("{:02}:{:02}", expires / 60, expires % 60);
        match (&c.pe_name, &c.pe_data) {
            (Some(pe_name), Some(pe_data)) if persistent => {
                let _ = writeln!(
                    out,
                    "{:<3} {expire:<6} {:<11} {cname:<18} {vname:<18} {dname:<16} {pe_name:<18} {pe_data}",
                    c.protocol, c.state
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{:<3} {expire:<6} {:<11} {cname:<18} {vname:<18} {dname}",
                    c.protocol, c.state
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000063 C350 0A000001 0050 0A000002 0050 ESTABLISHED     899
UDP 2001:0db8:0000:0000:0000:0000:0000:0063 D431 2001:0db8:0000:0000:0000:0000:0000:0001 13C4 2001:0db8:0000:0000:0000:0000:0000:0002 13C4 UDP             175 sip 1234@host
";

    #[test]
    fn reads_and_prints_the_table() {
        let table = parse_table(TABLE);
        assert_eq!(table.len(), 2);
        assert_eq!(table[0].client, "10.0.0.99".parse::<IpAddr>().unwrap());
        assert_eq!(table[0].client_port, 50000);
        assert_eq!(table[1].pe_name.as_deref(), Some("sip"));
        let text = listing(&table, fmt::NUMERIC);
        assert_eq!(
            text,
            "IPVS connection entries\n\
             pro expire state       source             virtual            destination\n\
             TCP 14:59  ESTABLISHED 10.0.0.99:50000    10.0.0.1:80        10.0.0.2:80\n\
             UDP 02:55  UDP         [2001:db8::63]:54321 [2001:db8::1]:5060 [2001:db8::2]:5060\n"
        );
        let text = listing(&table, fmt::NUMERIC | fmt::PERSISTENTCONN);
        assert!(
            text.ends_with("[2001:db8::2]:5060 sip                1234@host\n"),
            "{text}"
        );
    }
}
