//! The low level: ipvsadm's options read left to right into one command
//! entry, each word checked as ipvsadm checks it while reading (`-w x`,
//! `-t host:port`, a repeated option), in ipvsadm's words.
//!
//! The entry is filled in the order the options come because several of
//! ipvsadm's answers depend on it (the destination port copied from the
//! service port when `-r` is read, `-6` only after `-f`). The checks that
//! need the whole line are [`super::hiargs`]'s.

use std::net::{IpAddr, Ipv4Addr};

use ipvs_proto::constants::IPPROTO_TCP;
use ipvs_proto::{AddressFamily, ServiceFlags};

use super::cnum;
use super::defs::{
    DEF_SCHED, DEFAULT_PERSISTENCE, IFNAME_MAX, MAX_INTERVAL, MAX_TIMEOUT, MIN_INTERVAL, Options,
    PE_NAME_MAX, SCHED_NAME_MAX, TUN_NAMES, TUN_TYPES, Tag,
};
use super::error::{CliError, fail};
use super::hiargs::{Format, Invocation, SvcArgs};
use crate::netdb;

/// Reads one option (not the command) into `ce`. The command words
/// (`Tag::Cmd`, `-h`, `-v`) are the caller's to refuse: they name the word.
pub(super) fn read_option(
    ce: &mut Invocation,
    tag: Tag,
    arg: Option<&str>,
    sched_flags: &mut Option<String>,
) -> Result<(), CliError> {
    match tag {
        Tag::Service(_)
        | Tag::Fwmark
        | Tag::Sched
        | Tag::Persistent
        | Tag::Netmask
        | Tag::Ipv6
        | Tag::Ops
        | Tag::Pe
        | Tag::SchedFlags => service_option(ce, tag, arg, sched_flags),
        Tag::Real => {
            set_option(&mut ce.options, Options::SERVER)?;
            real_server(ce, arg.unwrap_or(""))
        }
        Tag::Fwd(_)
        | Tag::Weight
        | Tag::UThresh
        | Tag::LThresh
        | Tag::TunType
        | Tag::TunPort
        | Tag::TunFlag(..) => dest_option(ce, tag, arg),
        Tag::McastGroup => {
            set_option(&mut ce.options, Options::MCAST_GROUP)?;
            mcast_group(ce, arg.unwrap_or(""))
        }
        Tag::McastIfn | Tag::SyncId | Tag::McastPort | Tag::McastTtl | Tag::SyncMaxlen => {
            daemon_option(ce, tag, arg)
        }
        Tag::Conn
        | Tag::Numeric
        | Tag::Timeout
        | Tag::Daemon
        | Tag::Stats
        | Tag::Rate
        | Tag::Thresholds
        | Tag::PersistConn
        | Tag::NoSort
        | Tag::Sort
        | Tag::Exact
        | Tag::TunInfo => listing_option(ce, tag),
        Tag::Json | Tag::Netns | Tag::Watch | Tag::DryRun => extension(ce, tag, arg),
        Tag::Cmd(_) | Tag::Help | Tag::Version => Ok(()),
    }
}

/// The virtual service's options: address, scheduler, persistence, netmask, flags.
fn service_option(
    ce: &mut Invocation,
    tag: Tag,
    arg: Option<&str>,
    sched_flags: &mut Option<String>,
) -> Result<(), CliError> {
    let optarg = arg.unwrap_or("");
    match tag {
        Tag::Service(proto) => {
            set_option(&mut ce.options, Options::SERVICE)?;
            ce.svc.protocol = proto;
            let parsed = parse_service(optarg, &mut ce.svc);
            if parsed & SERVICE_ADDR == 0 {
                return Err(fail("illegal virtual server address[:port] specified"));
            }
        }
        Tag::Fwmark => {
            set_option(&mut ce.options, Options::SERVICE)?;
            ce.svc.af = Some(AddressFamily::Inet);
            ce.svc.protocol = IPPROTO_TCP;
            ce.svc.fwmark = cnum::parse_fwmark(optarg)
                .ok_or_else(|| fail(format!("invalid fwmark value `{optarg}' specified")))?;
        }
        Tag::Sched => {
            set_option(&mut ce.options, Options::SCHEDULER)?;
            ce.svc.sched_name = truncate(optarg, SCHED_NAME_MAX);
        }
        Tag::Persistent => {
            set_option(&mut ce.options, Options::PERSISTENT)?;
            ce.svc.flags |= ServiceFlags::PERSISTENT;
            ce.svc.timeout = parse_timeout(arg, 1, MAX_TIMEOUT)?;
        }
        Tag::Netmask => {
            set_option(&mut ce.options, Options::NETMASK)?;
            if ce.svc.af != Some(AddressFamily::Inet6) {
                ce.svc.netmask = parse_netmask(optarg)
                    .ok_or_else(|| fail("illegal virtual server persistent mask specified"))?;
            } else {
                let prefix = cnum::atoi(optarg);
                if !(1..=128).contains(&prefix) {
                    return Err(fail("illegal ipv6 netmask specified"));
                }
                ce.svc.netmask = prefix as u32;
            }
        }
        Tag::Ipv6 => {
            if ce.svc.fwmark != 0 {
                ce.svc.af = Some(AddressFamily::Inet6);
                ce.svc.netmask = 128;
            } else {
                return Err(fail("-6 used before -f\n"));
            }
        }
        Tag::Ops => {
            set_option(&mut ce.options, Options::ONEPACKET)?;
            ce.svc.flags |= ServiceFlags::ONE_PACKET;
        }
        Tag::Pe => {
            set_option(&mut ce.options, Options::PERSISTENCE_ENGINE)?;
            ce.svc.pe_name = truncate(optarg, PE_NAME_MAX);
        }
        Tag::SchedFlags => {
            set_option(&mut ce.options, Options::SCHED_FLAGS)?;
            *sched_flags = Some(truncate(optarg, 127));
        }
        _ => {}
    }
    Ok(())
}

/// `-r`: ipvsadm parses into a copy of the service; only the address
/// fields and the protocol (for port names) matter.
fn real_server(ce: &mut Invocation, optarg: &str) -> Result<(), CliError> {
    // ipvsadm parses into a copy of the service; only the
    // address fields and the protocol (for port names) matter.
    let mut t_dest = SvcArgs {
        af: ce.svc.af,
        protocol: ce.svc.protocol,
        addr: ce.svc.addr,
        port: ce.svc.port,
        fwmark: ce.svc.fwmark,
        sched_name: String::new(),
        flags: ce.svc.flags,
        timeout: ce.svc.timeout,
        netmask: ce.svc.netmask,
        pe_name: String::new(),
    };
    let parsed = parse_service(optarg, &mut t_dest);
    ce.dest.af = t_dest.af;
    ce.dest.addr = t_dest.addr;
    ce.dest.port = t_dest.port;
    if parsed & SERVICE_ADDR == 0 {
        return Err(fail("illegal real server address[:port] specified"));
    }
    if parsed == SERVICE_ADDR {
        ce.dest.port = ce.svc.port;
    }
    Ok(())
}

/// The real server's options: forwarding, weight, thresholds, tunnel.
fn dest_option(ce: &mut Invocation, tag: Tag, arg: Option<&str>) -> Result<(), CliError> {
    let optarg = arg.unwrap_or("");
    match tag {
        Tag::Fwd(method) => {
            set_option(&mut ce.options, Options::FORWARD)?;
            ce.dest.forwarding = method;
        }
        Tag::Weight => {
            set_option(&mut ce.options, Options::WEIGHT)?;
            ce.dest.weight = cnum::string_to_number(optarg, 0, i64::from(i32::MAX))
                .ok_or_else(|| fail("illegal weight specified"))?
                as u32;
        }
        Tag::UThresh => {
            set_option(&mut ce.options, Options::UTHRESHOLD)?;
            ce.dest.u_threshold = cnum::string_to_number(optarg, 0, i64::from(i32::MAX))
                .ok_or_else(|| fail("illegal u_threshold specified"))?
                as u32;
        }
        Tag::LThresh => {
            set_option(&mut ce.options, Options::LTHRESHOLD)?;
            ce.dest.l_threshold = cnum::string_to_number(optarg, 0, i64::from(i32::MAX))
                .ok_or_else(|| fail("illegal l_threshold specified"))?
                as u32;
        }
        Tag::TunType => {
            set_option(&mut ce.options, Options::TUN_TYPE)?;
            ce.dest.tun_type = TUN_NAMES
                .iter()
                .position(|name| *name == optarg)
                .map(|i| TUN_TYPES[i])
                .ok_or_else(|| fail("illegal tunnel type specified"))?;
        }
        Tag::TunPort => {
            set_option(&mut ce.options, Options::TUN_PORT)?;
            ce.dest.tun_port = cnum::string_to_number(optarg, 1, 65535)
                .ok_or_else(|| fail("illegal tunnel port specified"))?
                as u16;
        }
        Tag::TunFlag(optc, flag) => {
            set_option(&mut ce.options, optc)?;
            ce.dest.tun_flags |= flag;
        }
        _ => {}
    }
    Ok(())
}

/// `--mcast-group`: a multicast address of either family.
fn mcast_group(ce: &mut Invocation, optarg: &str) -> Result<(), CliError> {
    if optarg.contains(':') {
        match cnum::inet_pton6(optarg) {
            Some(group) if group.is_multicast() => {
                ce.daemon.mcast_group = Some(IpAddr::V6(group));
            }
            _ => return Err(fail(format!("invalid IPv6 mcast-group `{optarg}'"))),
        }
    } else {
        match cnum::inet_pton4(optarg) {
            Some(group) if group.is_multicast() => {
                ce.daemon.mcast_group = Some(IpAddr::V4(group));
            }
            _ => return Err(fail(format!("invalid IPv4 mcast-group `{optarg}'"))),
        }
    }
    Ok(())
}

/// The sync daemon's options.
fn daemon_option(ce: &mut Invocation, tag: Tag, arg: Option<&str>) -> Result<(), CliError> {
    let optarg = arg.unwrap_or("");
    match tag {
        Tag::McastIfn => {
            set_option(&mut ce.options, Options::MCAST)?;
            ce.daemon.mcast_ifn = truncate(optarg, IFNAME_MAX);
        }
        Tag::SyncId => {
            set_option(&mut ce.options, Options::SYNCID)?;
            ce.daemon.syncid = cnum::string_to_number(optarg, 0, 255)
                .ok_or_else(|| fail("illegal syncid specified"))?
                as u32;
        }
        Tag::McastPort => {
            set_option(&mut ce.options, Options::MCAST_PORT)?;
            ce.daemon.mcast_port = cnum::string_to_number(optarg, 1, 65535)
                .ok_or_else(|| fail("illegal mcast-port specified"))?
                as u16;
        }
        Tag::McastTtl => {
            set_option(&mut ce.options, Options::MCAST_TTL)?;
            ce.daemon.mcast_ttl = cnum::string_to_number(optarg, 1, 255)
                .ok_or_else(|| fail("illegal mcast-ttl specified"))?
                as u8;
        }
        Tag::SyncMaxlen => {
            set_option(&mut ce.options, Options::SYNC_MAXLEN)?;
            ce.daemon.sync_maxlen = cnum::string_to_number(optarg, 1, 65535 - 20 - 8)
                .ok_or_else(|| fail("illegal sync-maxlen specified"))?
                as u16;
        }
        _ => {}
    }
    Ok(())
}

/// The listing's options: what to list and how.
fn listing_option(ce: &mut Invocation, tag: Tag) -> Result<(), CliError> {
    match tag {
        Tag::Conn => set_option(&mut ce.options, Options::CONNECTION)?,
        Tag::Numeric => {
            set_option(&mut ce.options, Options::NUMERIC)?;
            ce.format |= Format::NUMERIC;
        }
        Tag::Timeout => set_option(&mut ce.options, Options::TIMEOUT)?,
        Tag::Daemon => set_option(&mut ce.options, Options::DAEMON)?,
        Tag::Stats => set_format(ce, Options::STATS, Format::STATS)?,
        Tag::Rate => set_format(ce, Options::RATE, Format::RATE)?,
        Tag::Thresholds => set_format(ce, Options::THRESHOLDS, Format::THRESHOLDS)?,
        Tag::PersistConn => set_format(ce, Options::PERSISTENTCONN, Format::PERSISTENTCONN)?,
        Tag::NoSort => set_format(ce, Options::NOSORT, Format::NOSORT)?,
        Tag::Sort => {}
        Tag::Exact => set_format(ce, Options::EXACT, Format::EXACT)?,
        Tag::TunInfo => set_format(ce, Options::TUN_INFO, Format::TUN_INFO)?,
        _ => {}
    }
    Ok(())
}

pub(super) fn is_extension(tag: Tag) -> bool {
    matches!(tag, Tag::Json | Tag::Netns | Tag::Watch | Tag::DryRun)
}

/// Records one of ipvsctl's own options.
pub(super) fn extension(ce: &mut Invocation, tag: Tag, arg: Option<&str>) -> Result<(), CliError> {
    match tag {
        Tag::Json => ce.ext.json = true,
        Tag::Netns => ce.ext.netns = Some(arg.unwrap_or("").to_string()),
        Tag::Watch => {
            let seconds = match arg {
                None => 1.0,
                // Capped here, so that no interval overflows a `Duration`.
                Some(text) => match text.parse::<f64>() {
                    Ok(s) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&s) => s,
                    _ => return Err(fail(format!("invalid watch interval `{text}' specified"))),
                },
            };
            ce.ext.watch = Some(seconds);
        }
        Tag::DryRun => ce.ext.dry_run = true,
        _ => {}
    }
    Ok(())
}

fn set_option(options: &mut Options, option: Options) -> Result<(), CliError> {
    if options.contains(option) {
        return Err(fail(format!(
            "multiple '{}' options specified",
            option.name()
        )));
    }
    *options |= option;
    Ok(())
}

fn set_format(ce: &mut Invocation, option: Options, flag: Format) -> Result<(), CliError> {
    set_option(&mut ce.options, option)?;
    ce.format |= flag;
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

pub(super) fn parse_timeout(arg: Option<&str>, min: i64, max: i64) -> Result<u32, CliError> {
    let Some(text) = arg else {
        return Ok(DEFAULT_PERSISTENCE);
    };
    cnum::string_to_number(text, min, max)
        .map(|v| v as u32)
        .ok_or_else(|| fail(format!("invalid timeout value `{text}' specified")))
}

/// `parse_netmask`: dotted (any `inet_aton` form) or a host name.
fn parse_netmask(text: &str) -> Option<u32> {
    cnum::inet_aton(text)
        .or_else(|| netdb::host_to_addr(text))
        .map(u32::from)
}

const SERVICE_ADDR: u8 = 1;
const SERVICE_PORT: u8 = 2;

/// ipvsadm's `parse_service`: `host[:port]`, `[v6]:port`, bare IPv6, port by
/// number or by name for the service's protocol. Returns the `SERVICE_*` bits;
/// `svc` is updated as ipvsadm updates it (also on some failures).
fn parse_service(buf: &str, svc: &mut SvcArgs) -> u8 {
    if cnum::str_is_digit(buf) {
        return 0;
    }
    let mut host = buf;
    let mut port: Option<&str> = None;
    if let Some(inner) = buf.strip_prefix('[') {
        let Some((addr, rest)) = inner.split_once(']') else {
            return 0;
        };
        let Some(p) = rest.strip_prefix(':') else {
            return 0;
        };
        host = addr;
        port = Some(p);
    }
    // IPv6 text has at least two colons (`::`), so `10.0.0.1:80` skips the
    // IPv6 parser (the common case, and the same answer).
    let v6 = if host.bytes().filter(|&b| b == b':').nth(1).is_some() {
        cnum::inet_pton6(host)
    } else {
        None
    };
    if let Some(v6) = v6 {
        svc.addr = Some(IpAddr::V6(v6));
        svc.af = Some(AddressFamily::Inet6);
        svc.netmask = 128;
    } else {
        // A bracketed IPv4 address loses its port here, as in ipvsadm.
        port = None;
        if let Some((h, p)) = host.rsplit_once(':') {
            host = h;
            port = Some(p);
        }
        let v4: Option<Ipv4Addr> = cnum::inet_aton(host).or_else(|| netdb::host_to_addr(host));
        match v4 {
            Some(v4) => {
                svc.addr = Some(IpAddr::V4(v4));
                svc.af = Some(AddressFamily::Inet);
            }
            None => return 0,
        }
    }
    let mut result = SERVICE_ADDR;
    if let Some(p) = port {
        result |= SERVICE_PORT;
        if let Some(n) = cnum::string_to_number(p, 0, 65535) {
            svc.port = n as u16;
        } else if let Some(n) = netdb::service_to_port(p, svc.protocol) {
            svc.port = n;
        } else {
            return 0;
        }
    }
    result
}

pub(super) fn parse_sched_flags(sched: &str, arg: &str) -> Result<ServiceFlags, CliError> {
    let sched = if sched.is_empty() { DEF_SCHED } else { sched };
    let mut flags = ServiceFlags::empty();
    let mut any = false;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        any = true;
        let (bit, needs) = match flag {
            "flag-1" => (ServiceFlags::SCHED1, None),
            "flag-2" => (ServiceFlags::SCHED2, None),
            "flag-3" => (ServiceFlags::SCHED3, None),
            "sh-fallback" => (ServiceFlags::SCHED1, Some("sh")),
            "sh-port" => (ServiceFlags::SCHED2, Some("sh")),
            "mh-fallback" => (ServiceFlags::SCHED1, Some("mh")),
            "mh-port" => (ServiceFlags::SCHED2, Some("mh")),
            _ => return Err(fail(format!("invalid scheduler flag `{flag}'"))),
        };
        flags |= bit;
        if needs.is_some_and(|s| s != sched) {
            return Err(fail(format!("incompatible scheduler flag `{flag}'")));
        }
    }
    if !any {
        // ipvsadm crashes on a list of commas; refuse it instead.
        return Err(fail(format!("invalid scheduler flag `{arg}'")));
    }
    Ok(flags)
}
