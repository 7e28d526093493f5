//! ipvsadm 1.31's text output, byte for byte: the service table in all its
//! variants (`-L`, `--stats`, `--rate`, `--exact`, `--thresholds`,
//! `--persistent-conn`, `--tun-info`, one service), `-S`, `--timeout` and
//! `--daemon`.
//!
//! One deliberate difference: destination counters are printed exact (ipvsadm
//! 1.31 reads them as 32-bit numbers), and `-S` writes `-x`/`-y` when a
//! destination has thresholds (ipvsadm drops them).

use std::fmt::Write as _;
use std::net::IpAddr;

use ipvs_proto::{
    Daemon, DaemonState, Destination, Forwarding, Info, Netmask, Service, ServiceFlags, ServiceKey,
    Stats, TunnelFlags, TunnelType,
};

use crate::cli::{Format, fmt};
use crate::netdb;
use crate::sort;

/// One service and its destinations, as listed.
#[derive(Debug, Clone)]
pub struct Entry {
    pub service: Service,
    pub dests: Vec<Destination>,
}

/// `addrport_to_anyname`: `addr:port`, IPv6 in brackets, names unless numeric;
/// at most 59 bytes like ipvsadm's buffer.
pub fn addrport(addr: IpAddr, port: u16, proto: u16, format: Format) -> String {
    let (open, close) = if addr.is_ipv4() { ("", "") } else { ("[", "]") };
    let text = if format.contains(fmt::NUMERIC) {
        let mut text = String::with_capacity(24);
        match addr {
            // Dotted quad and port written digit by digit: listings of
            // large tables are mostly these.
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text.push('.');
                    }
                    push_decimal(&mut text, u32::from(octet));
                }
            }
            IpAddr::V6(v6) => {
                let _ = write!(text, "[{v6}]");
            }
        }
        text.push(':');
        push_decimal(&mut text, u32::from(port));
        text
    } else {
        format!(
            "{open}{}{close}:{}",
            netdb::addr_to_anyname(addr),
            netdb::port_to_anyname(port, proto)
        )
    };
    truncate(text, 59)
}

/// `{value}` of an unsigned number.
fn push_decimal(out: &mut String, mut value: u32) {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// `print_largenum`.
pub fn largenum(out: &mut String, i: u64, format: Format) {
    if format.contains(fmt::EXACT) {
        let len = i.to_string().len();
        let width = if len <= 8 { 9 } else { len + 1 };
        let _ = write!(out, "{i:>width$}");
        return;
    }
    let _ = match i {
        0..100_000_000 => write!(out, "{i:>9}"),
        100_000_000..1_000_000_000 => write!(out, "{:>8}K", i / 1000),
        1_000_000_000..100_000_000_000 => write!(out, "{:>8}M", i / 1_000_000),
        100_000_000_000..100_000_000_000_000 => write!(out, "{:>8}G", i / 1_000_000_000),
        _ => write!(out, "{:>8}T", i / 1_000_000_000_000),
    };
}

/// `print_title`.
pub fn title(out: &mut String, format: Format) {
    const PROT: &str = "Prot LocalAddress:Port";
    const REMOTE: &str = "  -> RemoteAddress:Port\n";
    if format.contains(fmt::STATS) {
        let _ = writeln!(
            out,
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        );
        out.push_str(REMOTE);
    } else if format.contains(fmt::RATE) {
        let _ = writeln!(
            out,
            "{PROT:<33} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
        );
        out.push_str(REMOTE);
    } else if format.contains(fmt::THRESHOLDS) {
        let _ = writeln!(
            out,
            "{PROT:<33} {:<10} {:<10} {:<10} {:<10}",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        );
        out.push_str(REMOTE);
    } else if format.contains(fmt::PERSISTENTCONN) {
        let _ = writeln!(
            out,
            "{PROT:<33} {:<9} {:<11} {:<10} {:<10}",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        );
        out.push_str(REMOTE);
    } else if format.contains(fmt::TUN_INFO) {
        out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
        out.push_str(
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
        );
    } else if !format.contains(fmt::RULE) {
        out.push_str("Prot LocalAddress:Port Scheduler Flags\n");
        out.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    }
}

/// `IP Virtual Server version ...` line of a full listing.
pub fn version_line(out: &mut String, info: &Info) {
    let v = info.version;
    let _ = writeln!(
        out,
        "IP Virtual Server version {}.{}.{} (size={})",
        v.major(),
        v.minor(),
        v.patch(),
        info.connection_table_size as i32
    );
}

/// A whole listing (`-L` without a service, or `-S` with `fmt::RULE`): the
/// version line, the title and every service, sorted as ipvsadm sorts.
pub fn listing(info: &Info, mut entries: Vec<Entry>, format: Format) -> String {
    let lines: usize = entries.iter().map(|e| 1 + e.dests.len()).sum();
    let mut out = String::with_capacity(200 + 80 * lines);
    if !format.contains(fmt::RULE) {
        version_line(&mut out, info);
    }
    if !format.contains(fmt::NOSORT) {
        sort::msort_by(&mut entries, &|a: &Entry, b: &Entry| {
            sort::cmp_services(&a.service, &b.service)
        });
    }
    title(&mut out, format);
    for entry in entries {
        service_entry(&mut out, entry, format);
    }
    out
}

/// `-L -t ADDR`: title and the one service.
pub fn one_service(entry: Entry, format: Format) -> String {
    let mut out = String::new();
    title(&mut out, format);
    service_entry(&mut out, entry, format);
    out
}

fn proto_number(service: &Service) -> u16 {
    match service.key {
        ServiceKey::Tuple { protocol, .. } => protocol.raw(),
        ServiceKey::Fwmark { .. } => 0,
    }
}

const SCHED_FLAGS: ServiceFlags = ServiceFlags::SCHED1
    .union(ServiceFlags::SCHED2)
    .union(ServiceFlags::SCHED3);

/// The names of a service's scheduler flags, which depend on its scheduler
/// (`print_sched_flags`).
pub fn sched_flag_names(service: &Service) -> Vec<&'static str> {
    let names: &[(ServiceFlags, &'static str)] = match service.scheduler.as_str() {
        "sh" => &[
            (ServiceFlags::SCHED1, "sh-fallback"),
            (ServiceFlags::SCHED2, "sh-port"),
        ],
        "mh" => &[
            (ServiceFlags::SCHED1, "mh-fallback"),
            (ServiceFlags::SCHED2, "mh-port"),
        ],
        _ => &[
            (ServiceFlags::SCHED1, "flag-1"),
            (ServiceFlags::SCHED2, "flag-2"),
            (ServiceFlags::SCHED3, "flag-3"),
        ],
    };
    names
        .iter()
        .filter(|(bit, _)| service.flags.contains(*bit))
        .map(|(_, name)| *name)
        .collect()
}

fn sched_flags(service: &Service) -> String {
    sched_flag_names(service).join(",")
}

/// The persistence engine, if the service has one.
pub fn persistence_engine(service: &Service) -> Option<&str> {
    service
        .persistence_engine
        .as_deref()
        .filter(|p| !p.is_empty())
}

/// The ` -M` / ` mask` value, unless it is the all-ones default.
fn shown_netmask(service: &Service) -> Option<String> {
    match (service.key.family(), service.netmask) {
        (ipvs_proto::AddressFamily::Inet, Netmask::V4(mask)) if mask.to_bits() != u32::MAX => {
            Some(mask.to_string())
        }
        (ipvs_proto::AddressFamily::Inet6, Netmask::V6(prefix)) if prefix != 128 => {
            Some(prefix.to_string())
        }
        _ => None,
    }
}

/// The five totals of a `--stats` row, in ipvsadm's column order (services
/// and destinations alike).
fn totals(s: &Stats) -> [u64; 5] {
    [
        s.connections,
        s.packets_in,
        s.packets_out,
        s.bytes_in,
        s.bytes_out,
    ]
}

fn stats_or_zero(stats: Option<&Stats>) -> Stats {
    stats.copied().unwrap_or_default()
}

/// `protocol_name`: `?` for a protocol ipvsadm does not know.
fn protocol_name(protocol: ipvs_proto::Protocol) -> &'static str {
    match protocol {
        ipvs_proto::Protocol::Tcp => "TCP",
        ipvs_proto::Protocol::Udp => "UDP",
        ipvs_proto::Protocol::Sctp => "SCTP",
        _ => "?",
    }
}

/// What glibc's `printf` writes for a NULL string, which ipvsadm passes for
/// a forwarding method it has no name or switch for.
const PRINTF_NULL: &str = "(null)";

/// The method as ipvsadm reads it: the kernel's number masked with
/// `IP_VS_CONN_F_FWD_MASK` (7).
fn fwd_masked(forwarding: Forwarding) -> Forwarding {
    Forwarding::from_raw(forwarding.raw() & 7)
}

/// `fwd_name`: the Forward column; ipvsadm names only the four methods.
fn fwd_name(forwarding: Forwarding) -> &'static str {
    match fwd_masked(forwarding) {
        Forwarding::Masq => "Masq",
        Forwarding::Local => "Local",
        Forwarding::Tunnel => "Tunnel",
        Forwarding::DirectRoute => "Route",
        _ => PRINTF_NULL,
    }
}

/// `fwd_switch`: the `-S` switch of a method.
fn fwd_switch(forwarding: Forwarding) -> &'static str {
    match fwd_masked(forwarding) {
        Forwarding::Masq => "-m",
        Forwarding::Tunnel => "-i",
        Forwarding::Local | Forwarding::DirectRoute => "-g",
        _ => PRINTF_NULL,
    }
}

fn flags_index(flags: TunnelFlags) -> usize {
    if flags.contains(TunnelFlags::REMCSUM) {
        2
    } else if flags.contains(TunnelFlags::CSUM) {
        1
    } else {
        0
    }
}

/// `fwd_tun_info`: `ipip`, `gue:PORT:+c`, `gre:-c`, or `None` (printed `n/a`).
fn tun_info(dest: &Destination) -> Option<String> {
    if fwd_masked(dest.forwarding) != Forwarding::Tunnel {
        return None;
    }
    const TUNFLAGS: [&str; 3] = ["-c", "+c", "r+c"];
    let flags = TUNFLAGS[flags_index(dest.tunnel.flags)];
    let text = match dest.tunnel.kind {
        TunnelType::Ipip => "ipip".to_string(),
        TunnelType::Gue => format!("gue:{}:{flags}", dest.tunnel.port),
        TunnelType::Gre => format!("gre:{flags}"),
        _ => return None,
    };
    Some(truncate(text, 15))
}

/// `print_service_entry`.
pub fn service_entry(out: &mut String, entry: Entry, format: Format) {
    let Entry { service, mut dests } = entry;
    let rule = format.contains(fmt::RULE);
    let proto = proto_number(&service);
    let svc_name = service_name(&service, rule, proto, format);
    if rule {
        service_rule(out, &service, &svc_name);
    } else if format.intersects(fmt::STATS | fmt::RATE) {
        service_counters(out, &service, &svc_name, format);
    } else {
        service_line(out, &service, &svc_name);
    }
    out.push('\n');

    if !format.contains(fmt::NOSORT) {
        sort::msort_by(&mut dests, &|a: &Destination, b: &Destination| {
            sort::cmp_dests(a, b)
        });
    }
    for dest in &dests {
        dest_entry(out, &svc_name, proto, dest, format);
    }
}

/// The service as the listing names it: `TCP  host:port`, `FWM  7`, or as a
/// rule (`-t host:port`, `-f 7 -6`).
fn service_name(service: &Service, rule: bool, proto: u16, format: Format) -> String {
    match service.key {
        ServiceKey::Fwmark { family, mark } => {
            let v6 = family == ipvs_proto::AddressFamily::Inet6;
            let mark = mark as i32;
            match (rule, v6) {
                (true, true) => format!("-f {mark} -6"),
                (true, false) => format!("-f {mark}"),
                (false, true) => format!("FWM  {mark} IPv6"),
                (false, false) => format!("FWM  {mark}"),
            }
        }
        ServiceKey::Tuple {
            protocol,
            address,
            port,
        } => {
            let vname = addrport(address, port, proto, format);
            if rule {
                let stype = match protocol {
                    ipvs_proto::Protocol::Tcp => "-t",
                    ipvs_proto::Protocol::Udp => "-u",
                    _ => "--sctp-service",
                };
                format!("{stype} {vname}")
            } else {
                let name = format!("{:<4} {vname}", protocol_name(protocol));
                if address.is_ipv4() {
                    truncate(name, 33)
                } else {
                    name
                }
            }
        }
    }
}

/// The service as an `-A` rule (`-S`).
fn service_rule(out: &mut String, service: &Service, svc_name: &str) {
    let persistent = service.flags.contains(ServiceFlags::PERSISTENT);
    let timeout = service.timeout.as_secs() as u32;
    let _ = write!(out, "-A {svc_name} -s {}", service.scheduler);
    if persistent {
        let _ = write!(out, " -p {timeout}");
        if let Some(mask) = shown_netmask(service) {
            let _ = write!(out, " -M {mask}");
        }
    }
    if let Some(pe) = persistence_engine(service) {
        let _ = write!(out, " --pe {pe}");
    }
    if service.flags.contains(ServiceFlags::ONE_PACKET) {
        out.push_str(" -o");
    }
    if service.flags.intersects(SCHED_FLAGS) {
        let _ = write!(out, " -b {}", sched_flags(service));
    }
}

/// The service's line of `--stats` or `--rate`.
fn service_counters(out: &mut String, service: &Service, svc_name: &str, format: Format) {
    let s = stats_or_zero(service.stats.as_ref());
    let _ = write!(out, "{svc_name:<33}");
    let values = if format.contains(fmt::STATS) {
        totals(&s)
    } else {
        [
            s.connection_rate,
            s.packet_rate_in,
            s.packet_rate_out,
            s.byte_rate_in,
            s.byte_rate_out,
        ]
    };
    for v in values {
        largenum(out, v, format);
    }
}

/// The service's line of a plain listing.
fn service_line(out: &mut String, service: &Service, svc_name: &str) {
    let persistent = service.flags.contains(ServiceFlags::PERSISTENT);
    let timeout = service.timeout.as_secs() as u32;
    let _ = write!(out, "{svc_name} {}", service.scheduler);
    if service.flags.intersects(SCHED_FLAGS) {
        let _ = write!(out, " ({})", sched_flags(service));
    }
    if persistent {
        let _ = write!(out, " persistent {timeout}");
        if let Some(mask) = shown_netmask(service) {
            let _ = write!(out, " mask {mask}");
        }
        if let Some(pe) = persistence_engine(service) {
            let _ = write!(out, " pe {pe}");
        }
    }
    if service.flags.contains(ServiceFlags::ONE_PACKET) {
        out.push_str(" ops");
    }
}

fn dest_entry(out: &mut String, svc_name: &str, proto: u16, e: &Destination, format: Format) {
    let rule = format.contains(fmt::RULE);
    let mut dname = addrport(e.address, e.port, proto, format);
    if !rule && e.address.is_ipv4() {
        dname = truncate(dname, 28);
    }
    let conns = e.connections.unwrap_or_default();
    let weight = e.weight as i32;
    if rule {
        dest_rule(out, svc_name, &dname, e, weight);
    } else if format.contains(fmt::STATS) {
        let s = stats_or_zero(e.stats.as_ref());
        let _ = write!(out, "  -> {dname:<28}");
        for v in totals(&s) {
            largenum(out, v, format);
        }
        out.push('\n');
    } else if format.contains(fmt::RATE) {
        let s = stats_or_zero(e.stats.as_ref());
        let _ = write!(
            out,
            "  -> {dname:<28} {:>8} {:>8} {:>8}",
            s.connection_rate, s.packet_rate_in, s.packet_rate_out
        );
        largenum(out, s.byte_rate_in, format);
        largenum(out, s.byte_rate_out, format);
        out.push('\n');
    } else if format.contains(fmt::THRESHOLDS) {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
            e.upper_threshold, e.lower_threshold, conns.active, conns.inactive
        );
    } else if format.contains(fmt::PERSISTENTCONN) {
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
            e.weight, conns.persistent, conns.active, conns.inactive
        );
    } else if format.contains(fmt::TUN_INFO) {
        let info = tun_info(e).unwrap_or_else(|| "n/a".to_string());
        let _ = writeln!(
            out,
            "  -> {dname:<28} {:<7} {info:<13} {weight:<6} {:<10} {:<10}",
            fwd_name(e.forwarding),
            conns.active,
            conns.inactive
        );
    } else {
        // `"  -> {dname:<28} {fwd:<7} {weight:<6} {active:<10} {inactive:<10}"`,
        // written without the formatter's padding: the default listing of a
        // large table is mostly these lines.
        out.push_str("  -> ");
        pad_left(out, |out| out.push_str(&dname), 28);
        out.push(' ');
        pad_left(out, |out| out.push_str(fwd_name(e.forwarding)), 7);
        out.push(' ');
        pad_left(out, |out| push_display(out, weight), 6);
        out.push(' ');
        pad_left(out, |out| push_decimal(out, conns.active), 10);
        out.push(' ');
        pad_left(out, |out| push_decimal(out, conns.inactive), 10);
        out.push('\n');
    }
}

/// The destination as an `-a` rule (`-S`).
fn dest_rule(out: &mut String, svc_name: &str, dname: &str, e: &Destination, weight: i32) {
    let _ = write!(
        out,
        "-a {svc_name} -r {dname} {} -w {weight}",
        fwd_switch(e.forwarding)
    );
    if e.forwarding == Forwarding::Tunnel {
        const OPTS: [&str; 3] = ["--tun-nocsum", "--tun-csum", "--tun-remcsum"];
        let flags = OPTS[flags_index(e.tunnel.flags)];
        let _ = match e.tunnel.kind {
            TunnelType::Gre => write!(out, " --tun-type gre {flags}"),
            TunnelType::Gue => {
                write!(out, " --tun-type gue --tun-port {} {flags}", e.tunnel.port)
            }
            TunnelType::Ipip => write!(out, " --tun-type ipip"),
            _ => Ok(()),
        };
    }
    if e.upper_threshold != 0 {
        let _ = write!(out, " -x {}", e.upper_threshold);
    }
    if e.lower_threshold != 0 {
        let _ = write!(out, " -y {}", e.lower_threshold);
    }
    out.push('\n');
}

/// Writes with `write` and pads with spaces to at least `width` characters
/// (`{:<width$}`).
fn pad_left(out: &mut String, write: impl FnOnce(&mut String), width: usize) {
    const SPACES: &str = "                                ";
    let start = out.len();
    write(out);
    let written = if out[start..].is_ascii() {
        out.len() - start
    } else {
        out[start..].chars().count()
    };
    let mut missing = width.saturating_sub(written);
    while missing > 0 {
        let n = missing.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        missing -= n;
    }
}

fn push_display(out: &mut String, value: impl std::fmt::Display) {
    let _ = write!(out, "{value}");
}

/// `-L --timeout`.
pub fn timeouts(tcp: u32, tcp_fin: u32, udp: u32) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        tcp as i32, tcp_fin as i32, udp as i32
    )
}

/// `-L --daemon`: the first two daemons the kernel reports, in its order.
pub fn daemons(list: &[Daemon]) -> String {
    let mut out = String::new();
    for d in list.iter().take(2) {
        // ipvsadm tests the state's bits: a state with neither prints nothing.
        let state = d.state.raw();
        for (bit, kind) in [
            (DaemonState::Master, "master"),
            (DaemonState::Backup, "backup"),
        ] {
            if state & bit.raw() != 0 {
                daemon_line(&mut out, kind, d);
            }
        }
    }
    out
}

fn daemon_line(out: &mut String, kind: &str, d: &Daemon) {
    let _ = write!(
        out,
        "{kind} sync daemon (mcast={}, syncid={}",
        d.interface, d.sync_id as i32
    );
    if let Some(maxlen) = d.max_length.filter(|m| *m != 0) {
        let _ = write!(out, ", maxlen={maxlen}");
    }
    if let Some(group) = d.group {
        let _ = write!(out, ", group={group}");
    }
    if let Some(port) = d.port.filter(|p| *p != 0) {
        let _ = write!(out, ", port={port}");
    }
    if let Some(ttl) = d.ttl.filter(|t| *t != 0) {
        let _ = write!(out, ", ttl={ttl}");
    }
    out.push_str(")\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_numbers_and_padding_match_the_formatter() {
        for value in [0, 7, 9, 10, 99, 100, 65535, 1_000_000, u32::MAX] {
            let mut out = String::from("x");
            push_decimal(&mut out, value);
            assert_eq!(out, format!("x{value}"));
            for width in [0, 1, 6, 10, 40] {
                let mut out = String::new();
                pad_left(&mut out, |out| push_decimal(out, value), width);
                assert_eq!(out, format!("{value:<width$}"));
            }
        }
        let mut out = String::new();
        pad_left(&mut out, |out| out.push_str("été"), 5);
        assert_eq!(out, format!("{:<5}", "été"));
        for (addr, port) in [
            ("0.0.0.0", 0),
            ("10.20.255.1", 80),
            ("192.168.1.100", 65535),
            ("2001:db8::1", 443),
            ("::ffff:10.0.0.1", 8080),
        ] {
            let ip: IpAddr = addr.parse().unwrap();
            let expected = match ip {
                IpAddr::V4(_) => format!("{ip}:{port}"),
                IpAddr::V6(_) => format!("[{ip}]:{port}"),
            };
            assert_eq!(addrport(ip, port, 6, fmt::NUMERIC), expected);
        }
    }

    fn num(i: u64, format: Format) -> String {
        let mut s = String::new();
        largenum(&mut s, i, format);
        s
    }

    #[test]
    fn largenum_scales_like_ipvsadm() {
        assert_eq!(num(0, Format::empty()), "        0");
        assert_eq!(num(99_999_999, Format::empty()), " 99999999");
        assert_eq!(num(100_000_000, Format::empty()), "  100000K");
        assert_eq!(num(1_234_567_890, Format::empty()), "    1234M");
        assert_eq!(num(123_456_789_012, Format::empty()), "     123G");
        assert_eq!(num(123_456_789_012_345, Format::empty()), "     123T");
        assert_eq!(num(5, fmt::EXACT), "        5");
        assert_eq!(num(1_234_567_890, fmt::EXACT), " 1234567890");
    }

    #[test]
    fn values_of_a_future_kernel_print_as_ipvsadm_prints_them() {
        // ipvsadm masks the method with 7 and passes NULL to printf for the
        // numbers it does not name.
        assert_eq!(fwd_name(Forwarding::Other(9)), "Local");
        assert_eq!(fwd_name(Forwarding::Other(6)), "(null)");
        assert_eq!(fwd_name(Forwarding::Bypass), "(null)");
        assert_eq!(fwd_switch(Forwarding::Other(6)), "(null)");
        assert_eq!(fwd_switch(Forwarding::Local), "-g");
        assert_eq!(protocol_name(ipvs_proto::Protocol::Other(250)), "?");
        let mut dest = Destination::new("10.0.0.2:80".parse().unwrap(), Forwarding::Tunnel, 1);
        dest.tunnel.kind = TunnelType::Other(9);
        assert_eq!(tun_info(&dest), None);
        // The state's bits decide the lines: none for neither bit.
        let daemon = |state| Daemon::new(state, "eth0", 7);
        assert_eq!(daemons(&[daemon(DaemonState::Other(4))]), "");
        assert_eq!(
            daemons(&[daemon(DaemonState::Other(3))]),
            "master sync daemon (mcast=eth0, syncid=7)\nbackup sync daemon (mcast=eth0, syncid=7)\n"
        );
    }
}
