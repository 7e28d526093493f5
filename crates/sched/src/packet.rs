//! What the hashing and locality schedulers read from the packet that opens
//! a connection, and the service's scheduler flags (`ipvsadm -b`).

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::str::FromStr;

/// The first packet of a new connection, as a scheduler sees it: its source
/// (the client's address and port) and its destination (the virtual
/// address and port the client sent it to; with a firewall-mark service
/// this can be any address the mark covers).
///
/// `sh` and `mh` hash the source address (and, with the `*-port` flag, the
/// source port), `dh`, `lblc` and `lblcr` the destination address. The
/// other schedulers ignore the packet. `random` holds the two draws `twos`
/// makes (the kernel's `prandom_u32()`), supplied here so that its
/// decisions are reproducible.
///
/// ```
/// use sched::{Destination, Packet, Scheduler, Service};
/// use std::net::SocketAddr;
///
/// let mut svc = Service::with_destinations(Scheduler::Sh, [1, 1, 1].map(Destination::new))?;
/// let client: SocketAddr = "192.0.2.7:40000".parse().unwrap();
/// let vip: SocketAddr = "198.51.100.1:80".parse().unwrap();
/// let first = svc.pick_packet(&Packet::new(client, vip));
/// // Same client address, same destination, whatever the port.
/// let other_port: SocketAddr = "192.0.2.7:40001".parse().unwrap();
/// assert_eq!(svc.pick_packet(&Packet::new(other_port, vip)), first);
/// # Ok::<(), sched::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    /// Source address and port (the client).
    pub source: SocketAddr,
    /// Destination address and port (the virtual service's, as sent).
    pub destination: SocketAddr,
    /// `twos`' two random draws, used as the kernel uses `prandom_u32()`
    /// (each taken modulo the total weight plus one).
    pub random: [u32; 2],
}

impl Packet {
    /// What [`Service::pick`](crate::Service::pick) schedules: `0.0.0.0:0`
    /// to `0.0.0.0:0`, random draws 0.
    pub const UNSPECIFIED: Packet = Packet {
        source: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        random: [0, 0],
    };

    /// A packet from `source` to `destination`, random draws 0.
    #[must_use]
    pub const fn new(source: SocketAddr, destination: SocketAddr) -> Self {
        Packet {
            source,
            destination,
            random: [0, 0],
        }
    }

    /// The same packet with these random draws for `twos`.
    #[must_use]
    pub const fn with_random(mut self, random: [u32; 2]) -> Self {
        self.random = random;
        self
    }
}

impl Default for Packet {
    fn default() -> Self {
        Packet::UNSPECIFIED
    }
}

/// A service's scheduler flags: the kernel's `IP_VS_SVC_F_SCHED1..3`, set
/// with `ipvsadm -b`. `sh` and `mh` read flag 1 as *fallback* (an
/// unavailable destination's connections go to the next available one in
/// the table) and flag 2 as *port* (the source port is hashed too).
///
/// ```
/// use sched::SchedFlags;
/// let f: SchedFlags = "sh-fallback,sh-port".parse().unwrap();
/// assert!(f.fallback() && f.port());
/// assert_eq!(f, SchedFlags::FALLBACK | SchedFlags::PORT);
/// assert_eq!(f.to_string(), "flag-1,flag-2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SchedFlags(u8);

impl SchedFlags {
    /// No flag.
    pub const NONE: SchedFlags = SchedFlags(0);
    /// Flag 1 (`sh-fallback`, `mh-fallback`, `flag-1`).
    pub const FALLBACK: SchedFlags = SchedFlags(1);
    /// Flag 2 (`sh-port`, `mh-port`, `flag-2`).
    pub const PORT: SchedFlags = SchedFlags(2);
    /// Flag 3 (`flag-3`): no 6.1 scheduler reads it.
    pub const FLAG_3: SchedFlags = SchedFlags(4);

    /// The names ipvsadm's `-b` accepts, with the flag each sets.
    pub const NAMES: [(&'static str, SchedFlags); 7] = [
        ("sh-fallback", SchedFlags::FALLBACK),
        ("sh-port", SchedFlags::PORT),
        ("mh-fallback", SchedFlags::FALLBACK),
        ("mh-port", SchedFlags::PORT),
        ("flag-1", SchedFlags::FALLBACK),
        ("flag-2", SchedFlags::PORT),
        ("flag-3", SchedFlags::FLAG_3),
    ];

    /// The flags from the kernel's bits (`IP_VS_SVC_F_SCHED1` = `0x08`,
    /// `SCHED2` = `0x10`, `SCHED3` = `0x20`); other bits are ignored.
    #[must_use]
    pub const fn from_service_flags(flags: u32) -> Self {
        SchedFlags(((flags >> 3) & 7) as u8)
    }

    /// The kernel's bits for these flags.
    #[must_use]
    pub const fn service_flags(self) -> u32 {
        (self.0 as u32) << 3
    }

    /// Whether flag 1 (fallback) is set.
    #[must_use]
    pub const fn fallback(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether flag 2 (port) is set.
    #[must_use]
    pub const fn port(self) -> bool {
        self.0 & 2 != 0
    }

    /// Whether every flag of `other` is set here.
    #[must_use]
    pub const fn contains(self, other: SchedFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for SchedFlags {
    type Output = SchedFlags;

    fn bitor(self, rhs: SchedFlags) -> SchedFlags {
        SchedFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for SchedFlags {
    /// `flag-1,flag-2,...` (empty for none).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, name) in [(1, "flag-1"), (2, "flag-2"), (4, "flag-3")] {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// A scheduler flag name that [`SchedFlags::from_str`] does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownFlag;

impl fmt::Display for UnknownFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown scheduler flag: expected a comma-separated list of")?;
        for (name, _) in SchedFlags::NAMES {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

impl core::error::Error for UnknownFlag {}

impl FromStr for SchedFlags {
    type Err = UnknownFlag;

    /// A comma-separated list of ipvsadm's names (`sh-port,sh-fallback`);
    /// the empty string is no flag.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut flags = SchedFlags::NONE;
        for word in s.split(',').filter(|w| !w.is_empty()) {
            let (_, f) = SchedFlags::NAMES
                .into_iter()
                .find(|(name, _)| *name == word)
                .ok_or(UnknownFlag)?;
            flags = flags | f;
        }
        Ok(flags)
    }
}
