//! ipvsadm's command line: the option table, the left-to-right processing of
//! options into one command entry, and every check ipvsadm 1.31 makes before it
//! talks to the kernel, with its exact texts and exit statuses.
//!
//! The command entry mirrors what ipvsadm fills in while it reads the options
//! (address family still unset, netmask as given, destination port copied from
//! the service port at the moment `-r` is read), because several of ipvsadm's
//! answers depend on that order. [`crate::request`] turns it into typed
//! `ipvs-proto` values afterwards.

pub mod cnum;
pub mod popt;

use std::net::{IpAddr, Ipv4Addr};

use popt::{ArgKind, OptSpec, OptTable, Popt};

use ipvs_proto::constants::{IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use ipvs_proto::{AddressFamily, DaemonState, Forwarding, ServiceFlags, TunnelFlags, TunnelType};

use crate::netdb;

/// Longest persistence timeout ipvsadm accepts (31 days).
pub const MAX_TIMEOUT: i64 = 86400 * 31;
/// Persistence timeout of `-p` without a value.
pub const DEFAULT_PERSISTENCE: u32 = 360;
/// Default scheduler.
pub const DEF_SCHED: &str = "wlc";
/// Default multicast interface of the sync daemon.
pub const DEF_MCAST_IFN: &str = "eth0";
/// Shortest and longest interval `--watch` accepts (checked here, when the
/// command line is read, so that no interval overflows a `Duration`).
pub const MIN_INTERVAL: f64 = 0.1;
pub const MAX_INTERVAL: f64 = 86400.0;
/// `IP_VS_SCHEDNAME_MAXLEN - 1`.
const SCHED_NAME_MAX: usize = 15;
/// `IP_VS_PENAME_MAXLEN`.
const PE_NAME_MAX: usize = 32;
/// `IP_VS_IFNAME_MAXLEN - 1`.
const IFNAME_MAX: usize = 15;

/// The commands, in ipvsadm's order (their index selects the row of the
/// command/option table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

impl Command {
    #[cfg(test)]
    const ALL: [Command; 14] = [
        Command::Add,
        Command::Edit,
        Command::Del,
        Command::Flush,
        Command::List,
        Command::AddDest,
        Command::DelDest,
        Command::EditDest,
        Command::Timeout,
        Command::StartDaemon,
        Command::StopDaemon,
        Command::Restore,
        Command::Save,
        Command::Zero,
    ];

    /// The row of the command in ipvsadm's tables: the declaration order.
    fn index(self) -> usize {
        self as usize
    }

    /// ipvsadm's name of the command in its messages.
    pub fn name(self) -> &'static str {
        CMD_NAMES[self.index()]
    }
}

const CMD_NAMES: [&str; 14] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
];

/// The options a command line gave (ipvsadm's `OPTC_*`), one flag each, in
/// ipvsadm's order: the order decides which of several errors is reported,
/// and a flag's position is its column in ipvsadm's command/option table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Options(u64);

bitflags::bitflags! {
    impl Options: u64 {
        const NUMERIC = 1 << 0;
        const CONNECTION = 1 << 1;
        const SERVICE = 1 << 2;
        const SCHEDULER = 1 << 3;
        const PERSISTENT = 1 << 4;
        const NETMASK = 1 << 5;
        const SERVER = 1 << 6;
        const FORWARD = 1 << 7;
        const WEIGHT = 1 << 8;
        const UTHRESHOLD = 1 << 9;
        const LTHRESHOLD = 1 << 10;
        const MCAST = 1 << 11;
        const TIMEOUT = 1 << 12;
        const DAEMON = 1 << 13;
        const STATS = 1 << 14;
        const RATE = 1 << 15;
        const THRESHOLDS = 1 << 16;
        const PERSISTENTCONN = 1 << 17;
        const NOSORT = 1 << 18;
        const SYNCID = 1 << 19;
        const EXACT = 1 << 20;
        const ONEPACKET = 1 << 21;
        const PERSISTENCE_ENGINE = 1 << 22;
        const SCHED_FLAGS = 1 << 23;
        const MCAST_GROUP = 1 << 24;
        const MCAST_PORT = 1 << 25;
        const MCAST_TTL = 1 << 26;
        const SYNC_MAXLEN = 1 << 27;
        const TUN_INFO = 1 << 28;
        const TUN_TYPE = 1 << 29;
        const TUN_PORT = 1 << 30;
        const TUN_NOCSUM = 1 << 31;
        const TUN_CSUM = 1 << 32;
        const TUN_REMCSUM = 1 << 33;
    }
}

/// How many options ipvsadm has (columns of its command/option table).
const OPT_COUNT: usize = 34;

impl Options {
    /// ipvsadm's name of a single option, as its messages spell it.
    fn name(self) -> &'static str {
        OPT_NAMES[self.bits().trailing_zeros() as usize]
    }
}

const OPT_NAMES: [&str; OPT_COUNT] = [
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
];

/// Which options each command needs (`+`), refuses (`x`), allows (` `) or
/// allows one of (`1`): ipvsadm 1.31's table, row per command.
const COMMANDS_V_OPTIONS: [&[u8; OPT_COUNT]; 14] = [
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // add-service
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // edit-service
    b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-service
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // flush
    b" 11xxxxxxxxx11       xxxxxxx xxxxx", // list
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // add-server
    b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-server
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // edit-server
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // set
    b"xxxxxxxxxxx xxxxxxx xxxx    xxxxxx", // start-daemon
    b"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx", // stop-daemon
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // restore
    b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // save
    b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // zero
];

/// The option bits of one command's row that carry `rule` (a column's
/// position is its [`Options`] flag's bit).
const fn rule_bits(row: &[u8; OPT_COUNT], rule: u8) -> u64 {
    let mut bits = 0;
    let mut j = 0;
    while j < OPT_COUNT {
        if row[j] == rule {
            bits |= 1 << j;
        }
        j += 1;
    }
    bits
}

/// Per command, the option bits with rule `rule`.
const fn rule_masks(rule: u8) -> [u64; 14] {
    let mut masks = [0; 14];
    let mut i = 0;
    while i < 14 {
        masks[i] = rule_bits(COMMANDS_V_OPTIONS[i], rule);
        i += 1;
    }
    masks
}

/// [`COMMANDS_V_OPTIONS`] as bit masks, for the check of a line that passes.
const NEEDED: [u64; 14] = rule_masks(b'+');
const REFUSED: [u64; 14] = rule_masks(b'x');
const ONE_OF: [u64; 14] = rule_masks(b'1');

const TUN_NAMES: [&str; 3] = ["ipip", "gue", "gre"];
/// Tunnel options checked per tunnel type: port, nocsum, csum, remcsum.
const TUN_OPTS: [Options; 4] = [
    Options::TUN_PORT,
    Options::TUN_NOCSUM,
    Options::TUN_CSUM,
    Options::TUN_REMCSUM,
];
/// The tunnel types in the order of [`TUN_NAMES`] and of the rows of
/// [`TUNNEL_TYPES_V_OPTIONS`].
const TUN_TYPES: [TunnelType; 3] = [TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre];
const TUNNEL_TYPES_V_OPTIONS: [&[u8; 4]; 3] = [b"xxxx", b"+111", b"x11x"];

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
    use super::Format;

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

/// What an option word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Cmd(Command),
    Help,
    Version,
    Service(u16),
    Fwmark,
    Sched,
    Persistent,
    Netmask,
    Real,
    Fwd(Forwarding),
    Weight,
    UThresh,
    LThresh,
    Numeric,
    Conn,
    McastIfn,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunFlag(Options, TunnelFlags),
    // ipvsctl's own options.
    Json,
    Netns,
    Watch,
    DryRun,
}

const fn o(long: &'static str, short: Option<char>, arg: ArgKind, tag: Tag) -> OptSpec<Tag> {
    OptSpec {
        long,
        short,
        arg,
        tag,
    }
}

use ArgKind::{None as N, Optional as Opt, Required as R};

static TABLE: OptTable<Tag> = OptTable::new(&[
    o("add-service", Some('A'), N, Tag::Cmd(Command::Add)),
    o("edit-service", Some('E'), N, Tag::Cmd(Command::Edit)),
    o("delete-service", Some('D'), N, Tag::Cmd(Command::Del)),
    o("clear", Some('C'), N, Tag::Cmd(Command::Flush)),
    o("list", Some('L'), N, Tag::Cmd(Command::List)),
    o("list", Some('l'), N, Tag::Cmd(Command::List)),
    o("zero", Some('Z'), N, Tag::Cmd(Command::Zero)),
    o("add-server", Some('a'), N, Tag::Cmd(Command::AddDest)),
    o("edit-server", Some('e'), N, Tag::Cmd(Command::EditDest)),
    o("delete-server", Some('d'), N, Tag::Cmd(Command::DelDest)),
    o("set", None, N, Tag::Cmd(Command::Timeout)),
    o("help", Some('h'), N, Tag::Help),
    o("version", Some('v'), N, Tag::Version),
    o("restore", Some('R'), N, Tag::Cmd(Command::Restore)),
    o("save", Some('S'), N, Tag::Cmd(Command::Save)),
    o("start-daemon", None, R, Tag::Cmd(Command::StartDaemon)),
    o("stop-daemon", None, R, Tag::Cmd(Command::StopDaemon)),
    o("tcp-service", Some('t'), R, Tag::Service(IPPROTO_TCP)),
    o("udp-service", Some('u'), R, Tag::Service(IPPROTO_UDP)),
    o("sctp-service", None, R, Tag::Service(IPPROTO_SCTP)),
    o("fwmark-service", Some('f'), R, Tag::Fwmark),
    o("scheduler", Some('s'), R, Tag::Sched),
    o("persistent", Some('p'), Opt, Tag::Persistent),
    o("netmask", Some('M'), R, Tag::Netmask),
    o("real-server", Some('r'), R, Tag::Real),
    o("masquerading", Some('m'), N, Tag::Fwd(Forwarding::Masq)),
    o("ipip", Some('i'), N, Tag::Fwd(Forwarding::Tunnel)),
    o(
        "gatewaying",
        Some('g'),
        N,
        Tag::Fwd(Forwarding::DirectRoute),
    ),
    o("weight", Some('w'), R, Tag::Weight),
    o("u-threshold", Some('x'), R, Tag::UThresh),
    o("l-threshold", Some('y'), R, Tag::LThresh),
    o("numeric", Some('n'), N, Tag::Numeric),
    o("connection", Some('c'), N, Tag::Conn),
    o("mcast-interface", None, R, Tag::McastIfn),
    o("syncid", None, R, Tag::SyncId),
    o("timeout", None, N, Tag::Timeout),
    o("daemon", None, N, Tag::Daemon),
    o("stats", None, N, Tag::Stats),
    o("rate", None, N, Tag::Rate),
    o("thresholds", None, N, Tag::Thresholds),
    o("persistent-conn", None, N, Tag::PersistConn),
    o("nosort", None, N, Tag::NoSort),
    o("sort", None, N, Tag::Sort),
    o("exact", Some('X'), N, Tag::Exact),
    o("ipv6", Some('6'), N, Tag::Ipv6),
    o("ops", Some('o'), N, Tag::Ops),
    o("pe", None, R, Tag::Pe),
    o("sched-flags", Some('b'), R, Tag::SchedFlags),
    o("mcast-group", None, R, Tag::McastGroup),
    o("mcast-port", None, R, Tag::McastPort),
    o("mcast-ttl", None, R, Tag::McastTtl),
    o("sync-maxlen", None, R, Tag::SyncMaxlen),
    o("tun-info", None, N, Tag::TunInfo),
    o("tun-type", None, R, Tag::TunType),
    o("tun-port", None, R, Tag::TunPort),
    o(
        "tun-nocsum",
        None,
        N,
        Tag::TunFlag(Options::TUN_NOCSUM, TunnelFlags::empty()),
    ),
    o(
        "tun-csum",
        None,
        N,
        Tag::TunFlag(Options::TUN_CSUM, TunnelFlags::CSUM),
    ),
    o(
        "tun-remcsum",
        None,
        N,
        Tag::TunFlag(Options::TUN_REMCSUM, TunnelFlags::REMCSUM),
    ),
    o("json", None, N, Tag::Json),
    o("netns", None, R, Tag::Netns),
    o("watch", None, Opt, Tag::Watch),
    o("dry-run", None, N, Tag::DryRun),
]);

/// A refusal with ipvsadm's text (including the final newline) and exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub status: u8,
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message.trim_end_matches('\n'))
    }
}

impl std::error::Error for CliError {}

/// ipvsadm's `fail(2, ...)`.
fn fail(message: impl Into<String>) -> CliError {
    let mut message = message.into();
    message.push('\n');
    CliError { status: 2, message }
}

/// ipvsadm's `tryhelp_exit(program, -1)`.
fn try_help(program: &str) -> CliError {
    CliError {
        status: 255,
        message: format!("Try `{program} -h' or '{program} --help' for more information.\n"),
    }
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

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    Run(Box<Invocation>),
    Help,
    Version,
}

fn empty_entry() -> Invocation {
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

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Parses a command line (`argv[0]` first). `in_restore` marks a line read by
/// `-R`, where another `-R` is refused as ipvsadm refuses it.
pub fn parse<S: AsRef<str>>(argv: &[S], in_restore: bool) -> Result<Parsed, CliError> {
    let argv: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
    let mut ce = empty_entry();
    Ok(match parse_into(&argv, in_restore, &mut ce)? {
        Asked::Run => Parsed::Run(Box::new(ce)),
        Asked::Help => Parsed::Help,
        Asked::Version => Parsed::Version,
    })
}

/// What a command line asks for; with [`parse_into`], the checked entry is
/// in the caller's [`Invocation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Run,
    Help,
    Version,
}

impl Default for Invocation {
    /// ipvsadm's empty command entry (what `ipvsadm` alone runs: a listing).
    fn default() -> Self {
        empty_entry()
    }
}

/// [`parse`] into `ce` (which is reset first): for callers that check many
/// lines in a row (`-R`) and reuse one entry. Same answers, same errors.
pub fn parse_into(argv: &[&str], in_restore: bool, ce: &mut Invocation) -> Result<Asked, CliError> {
    *ce = empty_entry();
    let program = argv.first().copied().unwrap_or("ipvsctl");
    if argv.len() <= 1 {
        // ipvsadm with no argument lists the table, names resolved.
        return Ok(Asked::Run);
    }
    let mut popt = Popt::new(&TABLE, argv);
    let mut sched_flags_arg: Option<String> = None;

    // ipvsctl's own options may come before the command (`--netns NS -Ln`);
    // after them, as in ipvsadm, the first option must be the command.
    let (tag, arg) = loop {
        match popt.next_opt() {
            Ok(Some((tag, arg))) if is_extension(tag) => extension(ce, tag, arg)?,
            Ok(Some(first)) => break first,
            Ok(None) | Err(_) => return Err(try_help(program)),
        }
    };
    ce.cmd = match tag {
        Tag::Cmd(cmd @ (Command::StartDaemon | Command::StopDaemon)) => {
            ce.daemon.state = match arg.unwrap_or("") {
                "master" => Some(DaemonState::Master),
                "backup" => Some(DaemonState::Backup),
                _ if cmd == Command::StartDaemon => {
                    return Err(fail("illegal start-daemon parameter specified"));
                }
                _ => return Err(fail("illegal start_daemon specified")),
            };
            cmd
        }
        Tag::Cmd(cmd) => cmd,
        Tag::Help => return Ok(Asked::Help),
        Tag::Version => return Ok(Asked::Version),
        _ => return Err(try_help(program)),
    };

    let popt_error = loop {
        let (tag, arg) = match popt.next_opt() {
            Ok(Some(next)) => next,
            Ok(None) => break None,
            Err(err) => break Some(err),
        };
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
            Tag::Real => {
                set_option(&mut ce.options, Options::SERVER)?;
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
            }
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
            Tag::Conn => set_option(&mut ce.options, Options::CONNECTION)?,
            Tag::Numeric => {
                set_option(&mut ce.options, Options::NUMERIC)?;
                ce.format |= Format::NUMERIC;
            }
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
            Tag::Timeout => set_option(&mut ce.options, Options::TIMEOUT)?,
            Tag::Daemon => set_option(&mut ce.options, Options::DAEMON)?,
            Tag::Stats => set_format(ce, Options::STATS, Format::STATS)?,
            Tag::Rate => set_format(ce, Options::RATE, Format::RATE)?,
            Tag::Thresholds => set_format(ce, Options::THRESHOLDS, Format::THRESHOLDS)?,
            Tag::PersistConn => set_format(ce, Options::PERSISTENTCONN, Format::PERSISTENTCONN)?,
            Tag::NoSort => set_format(ce, Options::NOSORT, Format::NOSORT)?,
            Tag::Sort => {}
            Tag::Exact => set_format(ce, Options::EXACT, Format::EXACT)?,
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
                sched_flags_arg = Some(truncate(optarg, 127));
            }
            Tag::McastGroup => {
                set_option(&mut ce.options, Options::MCAST_GROUP)?;
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
            Tag::TunInfo => set_format(ce, Options::TUN_INFO, Format::TUN_INFO)?,
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
            Tag::Json | Tag::Netns | Tag::Watch | Tag::DryRun => extension(ce, tag, arg)?,
            Tag::Cmd(_) | Tag::Help | Tag::Version => {
                return Err(fail(format!("invalid option `{}'", popt.bad_option())));
            }
        }
    };
    if let Some(err) = popt_error {
        return Err(CliError {
            status: 255,
            message: format!("{}: {}\n", popt.bad_option(), err.text()),
        });
    }

    if ce.cmd == Command::Timeout {
        match (
            popt.next_leftover(),
            popt.next_leftover(),
            popt.next_leftover(),
        ) {
            (Some(tcp), Some(fin), Some(udp)) => {
                ce.timeout.tcp = parse_timeout(Some(tcp), 0, MAX_TIMEOUT)?;
                ce.timeout.tcp_fin = parse_timeout(Some(fin), 0, MAX_TIMEOUT)?;
                ce.timeout.udp = parse_timeout(Some(udp), 0, MAX_TIMEOUT)?;
            }
            _ => return Err(fail("--set option requires 3 timeout values")),
        }
    }
    if let Some(extra) = popt.next_leftover() {
        return Err(fail(format!("unexpected argument {extra}")));
    }
    if let Some(arg) = sched_flags_arg.filter(|a| !a.is_empty()) {
        ce.svc.flags -= ServiceFlags::SCHED1 | ServiceFlags::SCHED2 | ServiceFlags::SCHED3;
        ce.svc.flags |= parse_sched_flags(&ce.svc.sched_name, &arg)?;
    }

    check(ce, program, in_restore)?;
    Ok(Asked::Run)
}

fn is_extension(tag: Tag) -> bool {
    matches!(tag, Tag::Json | Tag::Netns | Tag::Watch | Tag::DryRun)
}

/// Records one of ipvsctl's own options.
fn extension(ce: &mut Invocation, tag: Tag, arg: Option<&str>) -> Result<(), CliError> {
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

/// The checks of ipvsadm's `process_options` after reading the options.
fn check(ce: &mut Invocation, program: &str, in_restore: bool) -> Result<(), CliError> {
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
fn check_extensions(ce: &Invocation) -> Result<(), CliError> {
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

fn generic_opt_check(cmd: Command, options: Options) -> Result<(), CliError> {
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

fn tunnel_opt_check(tun_type: TunnelType, options: Options) -> Result<(), CliError> {
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

fn parse_timeout(arg: Option<&str>, min: i64, max: i64) -> Result<u32, CliError> {
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

fn parse_sched_flags(sched: &str, arg: &str) -> Result<ServiceFlags, CliError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Result<Invocation, CliError> {
        let argv: Vec<String> = std::iter::once("ipvsadm")
            .chain(line.split_whitespace())
            .map(String::from)
            .collect();
        match parse(&argv, false)? {
            Parsed::Run(inv) => Ok(*inv),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn commands_are_numbered_in_table_order() {
        for (i, cmd) in Command::ALL.into_iter().enumerate() {
            assert_eq!(cmd.index(), i);
        }
        assert_eq!(Command::Zero.name(), "zero");
    }

    #[test]
    fn option_masks_agree_with_the_table_walk() {
        // Every single option and every pair, for every command: the fast
        // path passes exactly the sets the walk passes.
        for cmd in Command::ALL {
            for a in 0..OPT_COUNT {
                for b in a..OPT_COUNT {
                    let options = (1u64 << a) | (1u64 << b);
                    let row = COMMANDS_V_OPTIONS[cmd.index()];
                    let walk_ok = row.iter().enumerate().all(|(j, rule)| {
                        let given = options & (1u64 << j) != 0;
                        !matches!((given, rule), (false, b'+') | (true, b'x'))
                    }) && row
                        .iter()
                        .enumerate()
                        .filter(|(j, rule)| **rule == b'1' && options & (1u64 << j) != 0)
                        .count()
                        <= 1;
                    assert_eq!(
                        generic_opt_check(cmd, Options::from_bits_retain(options)).is_ok(),
                        walk_ok,
                        "{cmd:?} {a} {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn add_service_defaults() {
        let inv = run("-A -t 10.0.0.1:80").unwrap();
        assert_eq!(inv.cmd, Command::Add);
        assert_eq!(inv.svc.sched_name, "wlc");
        assert_eq!(inv.svc.port, 80);
        assert_eq!(inv.svc.netmask, 0xffff_ffff);
        let inv = run("-A -t 10.0.0.1:80 -p").unwrap();
        assert_eq!(inv.svc.timeout, 360);
    }

    #[test]
    fn real_server_port_rules() {
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g").unwrap();
        assert_eq!(inv.dest.port, 80, "-g forces the service port");
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m").unwrap();
        assert_eq!(inv.dest.port, 8080);
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2 -m").unwrap();
        assert_eq!(inv.dest.port, 80, "no port: copied from the service");
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w 70000").unwrap();
        assert_eq!(inv.dest.weight, 70000);
    }

    #[test]
    fn ipv6_netmask_order_matters() {
        let inv = run("-A -t [2001:db8::1]:80 -p -M 64").unwrap();
        assert_eq!(inv.svc.netmask, 64);
        let err = run("-A -t [2001:db8::1]:80 -p -M 255.255.255.0").unwrap_err();
        assert_eq!(err.message, "illegal ipv6 netmask specified\n");
    }

    #[test]
    fn own_options_may_precede_the_command() {
        let inv = run("--netns blue --json -Ln").unwrap();
        assert_eq!(inv.ext.netns.as_deref(), Some("blue"));
        assert!(inv.ext.json);
        let err = run("--json -A -t 10.0.0.1:80").unwrap_err();
        assert_eq!(
            err.message,
            "Illegal 'json' option with the 'add-service' command\n"
        );
        assert_eq!(run("-L --watch 0.05").unwrap_err().status, 2);
        assert_eq!(run("-L --watch 2").unwrap().ext.watch, Some(2.0));
    }

    #[test]
    fn watch_intervals_are_capped_and_conflicts_named() {
        for huge in ["1e19", "1e20", "86401", "inf", "NaN"] {
            let err = run(&format!("-L --watch {huge}")).unwrap_err();
            assert_eq!(
                (err.status, err.message),
                (2, format!("invalid watch interval `{huge}' specified\n"))
            );
        }
        assert_eq!(run("-L --watch 86400").unwrap().ext.watch, Some(86400.0));
        let inv = run("-Ln --json --watch 1 -t 10.0.0.1:80").unwrap();
        assert!(inv.ext.json && inv.ext.watch == Some(1.0));
        assert!(run("--json --watch -Lnc").is_ok());
        assert_eq!(
            run("-L --timeout --watch").unwrap_err().message,
            "Illegal 'watch' option with the 'timeout' option of the 'list' command\n"
        );
        assert_eq!(
            run("-L --daemon --json --watch 2").unwrap_err().message,
            "Illegal 'watch' option with the 'daemon' option of the 'list' command\n"
        );
        assert_eq!(
            run("-Z --watch").unwrap_err().message,
            "Illegal 'watch' option with the 'zero' command\n"
        );
    }

    #[test]
    fn bracketed_ipv4_loses_its_port() {
        let err = run("-A -t [10.0.0.1]:80").unwrap_err();
        assert_eq!(
            err.message,
            "Zero port specified for non-persistent service\n"
        );
    }
}
