//! Checked command lines turned into typed `ipvs-proto` requests carrying the
//! same values ipvsadm sends.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipvs_proto::{
    AddressFamily, Daemon, DaemonState, Destination, Netmask, Protocol, Request, Service,
    ServiceFlags, ServiceKey, Timeouts, Tunnel,
};

use ipvs_proto::constants::{IPPROTO_SCTP, IPPROTO_UDP};

use crate::cli::{Command, Invocation, SvcArgs};

fn family(af: Option<AddressFamily>) -> AddressFamily {
    if af == Some(AddressFamily::Inet6) {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    }
}

/// The service key named on the command line (ipvsadm's `svc` fields).
pub fn service_key(svc: &SvcArgs) -> ServiceKey {
    if svc.fwmark != 0 {
        return ServiceKey::Fwmark {
            family: family(svc.af),
            mark: svc.fwmark,
        };
    }
    let protocol = match svc.protocol {
        IPPROTO_UDP => Protocol::Udp,
        IPPROTO_SCTP => Protocol::Sctp,
        _ => Protocol::Tcp,
    };
    let address = svc.addr.unwrap_or(if svc.af == Some(AddressFamily::Inet6) {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    ServiceKey::Tuple {
        protocol,
        address,
        port: svc.port,
    }
}

/// The whole service as ipvsadm fills it in.
pub fn service(svc: &SvcArgs) -> Service {
    let key = service_key(svc);
    let netmask = match key.family() {
        AddressFamily::Inet6 => Netmask::V6(svc.netmask.min(128) as u8),
        _ => Netmask::V4(Ipv4Addr::from(svc.netmask)),
    };
    Service {
        key,
        scheduler: svc.sched_name.clone(),
        flags: svc.flags,
        flags_mask: ServiceFlags::ALL_BITS,
        timeout: Duration::from_secs(u64::from(svc.timeout)),
        netmask,
        persistence_engine: (!svc.pe_name.is_empty()).then(|| svc.pe_name.clone()),
        stats: None,
    }
}

/// The destination of `-a`/`-e`/`-d`.
pub fn destination(inv: &Invocation) -> Destination {
    let d = &inv.dest;
    let address = d.addr.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut dest = Destination::new(SocketAddr::new(address, d.port), d.forwarding, d.weight);
    dest.upper_threshold = d.u_threshold;
    dest.lower_threshold = d.l_threshold;
    dest.tunnel = Tunnel {
        kind: d.tun_type,
        port: d.tun_port,
        flags: d.tun_flags,
    };
    dest
}

fn daemon(inv: &Invocation) -> Daemon {
    let d = &inv.daemon;
    let state = d.state.unwrap_or(DaemonState::Backup);
    let mut daemon = Daemon::new(state, d.mcast_ifn.clone(), d.syncid);
    daemon.max_length = (d.sync_maxlen != 0).then_some(d.sync_maxlen);
    daemon.group = d.mcast_group;
    daemon.port = (d.mcast_port != 0).then_some(d.mcast_port);
    daemon.ttl = (d.mcast_ttl != 0).then_some(d.mcast_ttl);
    daemon
}

/// The one request a changing command sends, `None` for listings, `-S` and
/// `-R`.
pub fn change(inv: &Invocation) -> Option<Request> {
    let svc = || service(&inv.svc);
    Some(match inv.cmd {
        Command::Add => Request::NewService(svc()),
        Command::Edit => Request::SetService(svc()),
        Command::Del => Request::DelService(svc()),
        Command::Flush => Request::Flush,
        Command::AddDest => Request::NewDestination(svc(), destination(inv)),
        Command::EditDest => Request::SetDestination(svc(), destination(inv)),
        Command::DelDest => Request::DelDestination(svc(), destination(inv)),
        Command::Timeout => Request::SetTimeouts(Timeouts {
            tcp: Some(Duration::from_secs(u64::from(inv.timeout.tcp))),
            tcp_fin: Some(Duration::from_secs(u64::from(inv.timeout.tcp_fin))),
            udp: Some(Duration::from_secs(u64::from(inv.timeout.udp))),
        }),
        Command::StartDaemon => Request::NewDaemon(daemon(inv)),
        Command::StopDaemon => Request::DelDaemon(daemon(inv)),
        Command::Zero => {
            let named = inv.svc.fwmark != 0
                || inv.svc.addr.is_some_and(|a| !a.is_unspecified())
                || inv.svc.port != 0;
            Request::Zero(named.then(svc))
        }
        Command::List | Command::Save | Command::Restore => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Parsed, parse};

    #[test]
    fn every_command_but_listings_save_and_restore_has_a_request() {
        let lines = [
            "-A -t 10.0.0.1:80",
            "-E -t 10.0.0.1:80",
            "-D -t 10.0.0.1:80",
            "-C",
            "-L -n",
            "-a -t 10.0.0.1:80 -r 10.0.0.2",
            "-d -t 10.0.0.1:80 -r 10.0.0.2",
            "-e -t 10.0.0.1:80 -r 10.0.0.2",
            "--set 1 2 3",
            "--start-daemon master",
            "--stop-daemon master",
            "-R",
            "-S -n",
            "-Z",
        ];
        for line in lines {
            let argv: Vec<&str> = std::iter::once("ipvsadm").chain(line.split(' ')).collect();
            let Ok(Parsed::Run(inv)) = parse(&argv, false) else {
                panic!("{line}")
            };
            let without = matches!(inv.cmd, Command::List | Command::Save | Command::Restore);
            assert_eq!(change(&inv).is_none(), without, "{line}");
        }
    }
}
