//! The high level: the typed command entry ([`Invocation`]) that the
//! rest of ipvsctl reads, and the checks ipvsadm's `process_options` makes
//! once every option is read (the command/option table, tunnel options,
//! listing conflicts, ipvsctl's own options), with ipvsadm's texts.

use std::net::IpAddr;

use ipvs_proto::constants::IPPROTO_UDP;
use ipvs_proto::{AddressFamily, DaemonState, Forwarding, ServiceFlags, TunnelFlags, TunnelType};

use super::defs::{
    COMMANDS_V_OPTIONS, Command, DEF_MCAST_IFN, DEF_SCHED, NEEDED, ONE_OF, OPT_NAMES, Options,
    REFUSED, TUN_NAMES, TUN_OPTS, TUN_TYPES, TUNNEL_TYPES_V_OPTIONS,
};
use super::error::{CliError, fail, try_help};

bitflags::bitflags! {
    /// How a listing is printed (ipvsadm's `FMT_*`): numeric, as rules, with
    /// which columns, sorted or not.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Format: u32 {
        const NUMERIC = 0x0001;
        const RULE = 0x0002;
        const STATS = 0x0004;
        const RATE = 0x0008;
        const THRESHOLDS = 0x0010;
        const PERSISTENTCONN = 0x0020;
        const NOSORT = 0x0040;
        const EXACT = 0x0080;
        const TUN_INFO = 0x0100;
    }
}

/// The [`Format`] flags under ipvsadm's short names (`fmt::NUMERIC` for
/// `FMT_NUMERIC`).
pub mod fmt {
    use crate::cli::hiargs::Format;

    pub const NUMERIC: Format = Format::NUMERIC;
    pub const RULE: Format = Format::RULE;
    pub const STATS: Format = Format::STATS;
    pub const RATE: Format = Format::RATE;
    pub const THRESHOLDS: Format = Format::THRESHOLDS;
    pub const PERSISTENTCONN: Format = Format::PERSISTENTCONN;
    pub const NOSORT: Format = Format::NOSORT;
    pub const EXACT: Format = Format::EXACT;
    pub const TUN_INFO: Format = Format::TUN_INFO;
}

/// Virtual service fields as ipvsadm fills them while reading options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SvcArgs {
    /// `None` until an address (or `-f`) sets it, as ipvsadm's `AF_UNSPEC`.
    pub af: Option<AddressFamily>,
    pub protocol: u16,
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub fwmark: u32,
    pub sched_name: String,
    pub flags: ServiceFlags,
    pub timeout: u32,
    /// IPv4: the mask as a host-order number; IPv6: the prefix length.
    pub netmask: u32,
    pub pe_name: String,
}

/// Real server fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestArgs {
    pub af: Option<AddressFamily>,
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub forwarding: Forwarding,
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    pub tun_type: TunnelType,
    pub tun_port: u16,
    pub tun_flags: TunnelFlags,
}

/// `--set` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeoutArgs {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// Sync daemon fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonArgs {
    /// `Some` for `--start-daemon` and `--stop-daemon`.
    pub state: Option<DaemonState>,
    pub mcast_ifn: String,
    pub syncid: u32,
    pub sync_maxlen: u16,
    pub mcast_group: Option<IpAddr>,
    pub mcast_port: u16,
    pub mcast_ttl: u8,
}

/// ipvsctl's own options (not in ipvsadm).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extensions {
    pub json: bool,
    pub netns: Option<String>,
    /// `--watch [SECONDS]`.
    pub watch: Option<f64>,
    pub dry_run: bool,
}

/// One fully checked command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub cmd: Command,
    pub options: Options,
    pub format: Format,
    pub svc: SvcArgs,
    pub dest: DestArgs,
    pub timeout: TimeoutArgs,
    pub daemon: DaemonArgs,
    pub ext: Extensions,
}

impl Invocation {
    /// Whether every option of `options` was given.
    pub fn has(&self, options: Options) -> bool {
        self.options.contains(options)
    }
}

pub(super) fn empty_entry() -> Invocation {
    Invocation {
        cmd: Command::List,
        options: Options::empty(),
        format: Format::empty(),
        svc: SvcArgs {
            af: None,
            protocol: 0,
            addr: None,
            port: 0,
            fwmark: 0,
            sched_name: String::new(),
            flags: ServiceFlags::empty(),
            timeout: 0,
            netmask: 0xffff_ffff,
            pe_name: String::new(),
        },
        dest: DestArgs {
            af: None,
            addr: None,
            port: 0,
            forwarding: Forwarding::DirectRoute,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: TunnelType::Ipip,
            tun_port: 0,
            tun_flags: TunnelFlags::empty(),
        },
        timeout: TimeoutArgs::default(),
        daemon: DaemonArgs::default(),
        ext: Extensions::default(),
    }
}

impl Default for Invocation {
    /// ipvsadm's empty command entry (what `ipvsadm` alone runs: a listing).
    fn default() -> Self {
        empty_entry()
    }
}

/// The checks of ipvsadm's `process_options` after reading the options.
pub(super) fn check(ce: &mut Invocation, program: &str, in_restore: bool) -> Result<(), CliError> {
    generic_opt_check(ce.cmd, ce.options)?;
    check_extensions(ce)?;

    if matches!(ce.cmd, Command::Add | Command::Edit) {
        if ce.svc.fwmark == 0
            && ce.svc.port == 0
            && !ce.svc.flags.contains(ServiceFlags::PERSISTENT)
        {
            return Err(fail("Zero port specified for non-persistent service"));
        }
        if ce.svc.flags.contains(ServiceFlags::ONE_PACKET)
            && ce.svc.fwmark == 0
            && ce.svc.protocol != IPPROTO_UDP
        {
            return Err(fail(
                "One-Packet Scheduling is only for UDP virtual services",
            ));
        }
        if ce.svc.sched_name.is_empty() {
            ce.svc.sched_name = DEF_SCHED.to_string();
        }
    }
    if ce.cmd == Command::StartDaemon && ce.daemon.mcast_ifn.is_empty() {
        ce.daemon.mcast_ifn = DEF_MCAST_IFN.to_string();
    }
    let fwd = ce.dest.forwarding;
    if matches!(ce.cmd, Command::AddDest | Command::EditDest) {
        if ce.svc.fwmark == 0 && matches!(fwd, Forwarding::Tunnel | Forwarding::DirectRoute) {
            ce.dest.port = ce.svc.port;
        }
        if ce.dest.af != ce.svc.af && fwd != Forwarding::Tunnel {
            return Err(fail(
                "Different address family is allowed only for tunneling servers",
            ));
        }
        let tunnel_opts = Options::TUN_TYPE
            | Options::TUN_PORT
            | Options::TUN_NOCSUM
            | Options::TUN_CSUM
            | Options::TUN_REMCSUM;
        if ce.options.intersects(tunnel_opts) && fwd != Forwarding::Tunnel {
            return Err(fail("Tunnel options conflict with forward method"));
        }
        tunnel_opt_check(ce.dest.tun_type, ce.options)?;
    }
    if ce.cmd == Command::List {
        let any = |options: Options| ce.options.intersects(options);
        if (any(Options::CONNECTION | Options::TIMEOUT | Options::DAEMON)
            && any(Options::STATS | Options::RATE | Options::THRESHOLDS))
            || (any(Options::TIMEOUT | Options::DAEMON) && ce.has(Options::PERSISTENTCONN))
        {
            return Err(fail("options conflicts in the list command"));
        }
    }
    if ce.cmd == Command::Restore && in_restore {
        return Err(try_help(program));
    }
    Ok(())
}

/// ipvsctl's own options are checked like ipvsadm's: named in the same words.
pub(super) fn check_extensions(ce: &Invocation) -> Result<(), CliError> {
    let illegal = |name: &str| {
        fail(format!(
            "Illegal '{name}' option with the '{}' command",
            ce.cmd.name()
        ))
    };
    if ce.ext.json && ce.cmd != Command::List {
        return Err(illegal("json"));
    }
    if ce.ext.watch.is_some() {
        if ce.cmd != Command::List {
            return Err(illegal("watch"));
        }
        // The listings that do not change name themselves.
        for (optc, name) in [(Options::TIMEOUT, "timeout"), (Options::DAEMON, "daemon")] {
            if ce.has(optc) {
                return Err(fail(format!(
                    "Illegal 'watch' option with the '{name}' option of the 'list' command"
                )));
            }
        }
    }
    if ce.ext.dry_run && ce.cmd != Command::Restore {
        return Err(illegal("dry-run"));
    }
    Ok(())
}

pub(super) fn generic_opt_check(cmd: Command, options: Options) -> Result<(), CliError> {
    let options = options.bits();
    let i = cmd.index();
    if options & REFUSED[i] == 0
        && NEEDED[i] & !options == 0
        && (options & ONE_OF[i]).count_ones() <= 1
    {
        // No rule of the row is broken: the walk below would find nothing.
        return Ok(());
    }
    let row = COMMANDS_V_OPTIONS[i];
    let mut first_exclusive: Option<usize> = None;
    for (j, rule) in row.iter().enumerate() {
        let given = options & (1u64 << j) != 0;
        match (given, rule) {
            (false, b'+') => {
                return Err(fail(format!(
                    "You need to supply the '{}' option for the '{}' command",
                    OPT_NAMES[j],
                    cmd.name()
                )));
            }
            (true, b'x') => {
                return Err(fail(format!(
                    "Illegal '{}' option with the '{}' command",
                    OPT_NAMES[j],
                    cmd.name()
                )));
            }
            (true, b'1') => match first_exclusive {
                None => first_exclusive = Some(j),
                Some(last) => {
                    return Err(fail(format!(
                        "The option '{}' conflicts with the '{}' option in the '{}' command",
                        OPT_NAMES[j],
                        OPT_NAMES[last],
                        cmd.name()
                    )));
                }
            },
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn tunnel_opt_check(tun_type: TunnelType, options: Options) -> Result<(), CliError> {
    let i = TUN_TYPES.iter().position(|t| *t == tun_type).unwrap_or(0);
    let row = TUNNEL_TYPES_V_OPTIONS[i];
    let mut first_exclusive: Option<Options> = None;
    for (j, rule) in row.iter().enumerate() {
        let k = TUN_OPTS[j];
        let given = options.contains(k);
        let name = k.name();
        match (given, rule) {
            (false, b'+') => {
                return Err(fail(format!(
                    "You need to supply the '{name}' option for the '{}' tunnel type",
                    TUN_NAMES[i]
                )));
            }
            (true, b'x') => {
                return Err(fail(format!(
                    "Illegal '{name}' option with the '{}' tunnel type",
                    TUN_NAMES[i]
                )));
            }
            (true, b'1') => match first_exclusive {
                None => first_exclusive = Some(k),
                Some(last) => {
                    return Err(fail(format!(
                        "The option '{name}' conflicts with the '{}' option in the '{}' tunnel type",
                        last.name(),
                        TUN_NAMES[i]
                    )));
                }
            },
            _ => {}
        }
    }
    Ok(())
}
