//! The option definitions: ipvsadm's commands and options, their names as
//! its messages spell them, the command/option table that says which
//! command needs, refuses or allows which option, and the word table the
//! low-level reader matches (`--tcp-service`, `-t`, ...).

use ipvs_proto::constants::{
    IP_VS_IFNAME_MAXLEN, IP_VS_SCHEDNAME_MAXLEN, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
};
use ipvs_proto::{Forwarding, TunnelFlags, TunnelType};

use super::popt::{ArgKind, OptSpec, OptTable};

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
/// Longest scheduler name ipvsadm keeps: the kernel's buffer less its NUL.
pub(super) const SCHED_NAME_MAX: usize = IP_VS_SCHEDNAME_MAXLEN - 1;
/// Longest persistence-engine name ipvsadm keeps: 32 bytes, the size in
/// ipvsadm's own copy of the header, not the kernel's
/// ([`ipvs_proto::constants::IP_VS_PENAME_MAXLEN`], 16), so it stays here.
pub(super) const PE_NAME_MAX: usize = 32;
/// Longest sync-daemon interface name ipvsadm keeps: the kernel's buffer
/// less its NUL.
pub(super) const IFNAME_MAX: usize = IP_VS_IFNAME_MAXLEN - 1;

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
    pub(super) const ALL: [Command; 14] = [
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
    pub(super) fn index(self) -> usize {
        self as usize
    }

    /// ipvsadm's name of the command in its messages.
    pub fn name(self) -> &'static str {
        CMD_NAMES[self.index()]
    }
}

pub(super) const CMD_NAMES: [&str; 14] = [
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
pub(super) const OPT_COUNT: usize = 34;

impl Options {
    /// ipvsadm's name of a single option, as its messages spell it.
    pub(super) fn name(self) -> &'static str {
        OPT_NAMES[self.bits().trailing_zeros() as usize]
    }
}

pub(super) const OPT_NAMES: [&str; OPT_COUNT] = [
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
pub(super) const COMMANDS_V_OPTIONS: [&[u8; OPT_COUNT]; 14] = [
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
pub(super) const fn rule_bits(row: &[u8; OPT_COUNT], rule: u8) -> u64 {
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
pub(super) const fn rule_masks(rule: u8) -> [u64; 14] {
    let mut masks = [0; 14];
    let mut i = 0;
    while i < 14 {
        masks[i] = rule_bits(COMMANDS_V_OPTIONS[i], rule);
        i += 1;
    }
    masks
}

/// [`COMMANDS_V_OPTIONS`] as bit masks, for the check of a line that passes.
pub(super) const NEEDED: [u64; 14] = rule_masks(b'+');
pub(super) const REFUSED: [u64; 14] = rule_masks(b'x');
pub(super) const ONE_OF: [u64; 14] = rule_masks(b'1');

pub(super) const TUN_NAMES: [&str; 3] = ["ipip", "gue", "gre"];
/// Tunnel options checked per tunnel type: port, nocsum, csum, remcsum.
pub(super) const TUN_OPTS: [Options; 4] = [
    Options::TUN_PORT,
    Options::TUN_NOCSUM,
    Options::TUN_CSUM,
    Options::TUN_REMCSUM,
];
/// The tunnel types in the order of [`TUN_NAMES`] and of the rows of
/// [`TUNNEL_TYPES_V_OPTIONS`].
pub(super) const TUN_TYPES: [TunnelType; 3] = [TunnelType::Ipip, TunnelType::Gue, TunnelType::Gre];
pub(super) const TUNNEL_TYPES_V_OPTIONS: [&[u8; 4]; 3] = [b"xxxx", b"+111", b"x11x"];

/// What an option word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
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

pub(super) const fn o(
    long: &'static str,
    short: Option<char>,
    arg: ArgKind,
    tag: Tag,
) -> OptSpec<Tag> {
    OptSpec {
        long,
        short,
        arg,
        tag,
    }
}

use ArgKind::{None as N, Optional as Opt, Required as R};

pub(super) static TABLE: OptTable<Tag> = OptTable::new(&[
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
