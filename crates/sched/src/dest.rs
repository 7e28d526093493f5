//! One real server of a virtual service, as the schedulers see it.

use crate::kernel_facts::ThresholdRule;
use core::net::SocketAddr;

/// How the least-connection family (`lc`, `wlc`) weighs a destination's
/// connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Overhead {
    /// `(active << 8) + total` = 257 × active + inactive: 6.1.183 and later
    /// (the stable backport "ipvs: add totalconns for dest"; Debian 6.1.187-1
    /// and later; see [`KernelFacts`](crate::KernelFacts)). The default.
    #[default]
    Current,
    /// `(active << 8) + inactive` = 256 × active + inactive: kernels before
    /// 6.1.183.
    Classic,
}

impl Overhead {
    /// The overhead of a destination with these counts, computed without
    /// wrapping (the kernel's 32-bit `int` would wrap past about 8.3 million
    /// active connections on one destination; below that the values agree).
    #[must_use]
    pub fn of(self, active: u32, inactive: u32) -> u64 {
        let active = u64::from(active);
        let inactive = u64::from(inactive);
        match self {
            Overhead::Current => (active << 8) + active + inactive,
            Overhead::Classic => (active << 8) + inactive,
        }
    }
}

/// A destination (real server): what the kernel's schedulers read from
/// `struct ip_vs_dest`.
///
/// Build one with [`Destination::new`] and the `with_*` methods, hand it to a
/// [`Service`](crate::Service), and from then on change it only through the
/// service (so that the scheduler's indexes stay consistent).
///
/// ```
/// use sched::Destination;
/// let d = Destination::new(3).with_counts(2, 5).with_thresholds(10, 0);
/// assert_eq!((d.weight(), d.active(), d.inactive()), (3, 2, 5));
/// assert_eq!(d.total(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    pub(crate) weight: i32,
    pub(crate) active: u32,
    pub(crate) inactive: u32,
    pub(crate) overloaded: bool,
    pub(crate) upper_threshold: u32,
    pub(crate) lower_threshold: u32,
    /// The real server's address and port (`mh` hashes it; `lblc` and
    /// `lblcr` know a destination by it).
    pub(crate) addr: Option<SocketAddr>,
    /// The kernel's `last_weight`: the latest weight other than 0 (or the
    /// weight it was added with), which `mh` fills its table by.
    pub(crate) last_weight: i32,
}

impl Destination {
    /// A destination with this weight, no connections, no thresholds and the
    /// `OVERLOAD` flag clear. A weight of 0 quiesces it (no new connections);
    /// negative weights are refused when the destination joins a service.
    #[must_use]
    pub const fn new(weight: i32) -> Self {
        Destination {
            weight,
            active: 0,
            inactive: 0,
            overloaded: false,
            upper_threshold: 0,
            lower_threshold: 0,
            addr: None,
            last_weight: weight,
        }
    }

    /// The same destination with this address and port (`ipvsadm -a -r
    /// ADDR:PORT`). `mh` builds its table from the addresses, `lblc` and
    /// `lblcr` remember destinations by them; the other schedulers ignore
    /// them. Without one, a destination counts as `0.0.0.0:0` for `mh`.
    #[must_use]
    pub const fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    /// The address and port, if one was given.
    #[must_use]
    pub const fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The kernel's `last_weight`: the latest weight other than 0 that was
    /// set (or the weight the destination joined with). `mh` keeps a
    /// quiesced destination's table slots by it.
    #[must_use]
    pub const fn last_weight(&self) -> i32 {
        self.last_weight
    }

    /// The same destination with these active and inactive connection counts.
    #[must_use]
    pub const fn with_counts(mut self, active: u32, inactive: u32) -> Self {
        self.active = active;
        self.inactive = inactive;
        self
    }

    /// The same destination with its `OVERLOAD` flag set or clear.
    #[must_use]
    pub const fn with_overloaded(mut self, overloaded: bool) -> Self {
        self.overloaded = overloaded;
        self
    }

    /// The same destination with these connection thresholds (`ipvsadm -x
    /// upper -y lower`; 0 = none). The `OVERLOAD` flag is evaluated for
    /// them when the destination joins a service.
    #[must_use]
    pub const fn with_thresholds(mut self, upper: u32, lower: u32) -> Self {
        self.upper_threshold = upper;
        self.lower_threshold = lower;
        self
    }

    /// The weight (kernel semantics: 0 = quiesced).
    #[must_use]
    pub const fn weight(&self) -> i32 {
        self.weight
    }

    /// Active connections (`activeconns`).
    #[must_use]
    pub const fn active(&self) -> u32 {
        self.active
    }

    /// Inactive connections (`inactconns`).
    #[must_use]
    pub const fn inactive(&self) -> u32 {
        self.inactive
    }

    /// Active plus inactive connections, as `ip_vs_dest_totalconns()` counts
    /// them for the thresholds.
    #[must_use]
    pub const fn total(&self) -> u64 {
        self.active as u64 + self.inactive as u64
    }

    /// Whether the `OVERLOAD` flag is set: no scheduler picks it then.
    #[must_use]
    pub const fn is_overloaded(&self) -> bool {
        self.overloaded
    }

    /// The upper connection threshold (0 = none).
    #[must_use]
    pub const fn upper_threshold(&self) -> u32 {
        self.upper_threshold
    }

    /// The lower connection threshold (0 = three quarters of the upper one,
    /// rounded as `u - u / 4`).
    #[must_use]
    pub const fn lower_threshold(&self) -> u32 {
        self.lower_threshold
    }

    /// The lower value at which the `OVERLOAD` flag clears: the lower
    /// threshold, or `u - u / 4` when none is set.
    #[must_use]
    pub const fn lower_value(&self) -> u32 {
        if self.lower_threshold != 0 {
            self.lower_threshold
        } else {
            self.upper_threshold - self.upper_threshold / 4
        }
    }

    /// A connection was bound to the destination (`ip_vs_bind_dest()`).
    pub(crate) fn bound(&mut self, rule: ThresholdRule) {
        match rule {
            ThresholdRule::Current => self.update_overload(),
            // Only ever sets the flag.
            ThresholdRule::Classic => {
                if self.upper_threshold != 0 && self.total() >= u64::from(self.upper_threshold) {
                    self.overloaded = true;
                }
            }
        }
    }

    /// A connection left the destination (`ip_vs_unbind_dest()`).
    pub(crate) fn unbound(&mut self, rule: ThresholdRule) {
        match rule {
            ThresholdRule::Current => {
                if self.overloaded {
                    self.update_overload();
                }
            }
            // Only ever clears the flag; with no thresholds at all, always.
            ThresholdRule::Classic => {
                let total = self.total();
                let below = if self.lower_threshold != 0 {
                    total < u64::from(self.lower_threshold)
                } else if self.upper_threshold != 0 {
                    total * 4 < u64::from(self.upper_threshold) * 3
                } else {
                    true
                };
                if below {
                    self.overloaded = false;
                }
            }
        }
    }

    /// `ipvsadm -e` with these thresholds (`__ip_vs_update_dest()`).
    pub(crate) fn edit_thresholds(&mut self, rule: ThresholdRule, upper: u32, lower: u32) {
        match rule {
            ThresholdRule::Current => {
                if self.upper_threshold != upper || self.lower_threshold != lower {
                    self.upper_threshold = upper;
                    self.lower_threshold = lower;
                    self.update_overload();
                }
            }
            // Clears the flag when the upper threshold goes away or rises,
            // whatever the total; never sets it.
            ThresholdRule::Classic => {
                if upper == 0 || upper > self.upper_threshold {
                    self.overloaded = false;
                }
                self.upper_threshold = upper;
                self.lower_threshold = lower;
            }
        }
    }

    /// The current kernel's `ip_vs_dest_update_overload()`: no upper
    /// threshold clears the flag; total connections at or above it set the
    /// flag; below the lower value clear it; in between leave it as it is.
    pub(crate) fn update_overload(&mut self) {
        let upper = self.upper_threshold;
        if upper == 0 {
            self.overloaded = false;
            return;
        }
        let total = self.total();
        if total >= u64::from(upper) {
            self.overloaded = true;
        } else if total < u64::from(self.lower_value()) {
            self.overloaded = false;
        }
    }
}
