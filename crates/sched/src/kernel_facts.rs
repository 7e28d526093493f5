//! What differs between kernel releases, as data: which release a behaviour
//! first appeared in, and the set of behaviours of any one release.
//!
//! The 6.1 stable series changed how IPVS counts connections in 2026: the
//! facts below were found by diffing Debian's `linux-source-6.1` of 6.1.176
//! and 6.1.192, reading the stable changelogs that Debian's kernel package
//! ships, and booting each kernel the archive offered in the kernel lab
//! (`cargo xtask kernel-lab --kernel VERSION`; `docs/kernel-lab.md` lists the
//! runs).

use core::fmt;
use core::str::FromStr;

use crate::dest::Overhead;

/// A kernel release: `major.minor.patch` of the upstream version.
///
/// Parsed from what users have at hand: the upstream version (`6.1.172`), a
/// Debian package version (`6.1.172-1`, `6.1.192-3`), or `uname -r` of an
/// upstream build (`6.1.172-custom`). Debian's own `uname -r`
/// (`6.1.0-48-cloud-amd64`) names the ABI, not the release: use
/// [`KernelRelease::from_proc_version`] on `/proc/version` (or `uname -v`)
/// there, which carries the package version.
///
/// ```
/// use sched::KernelRelease;
/// let r: KernelRelease = "6.1.172-1".parse()?;
/// assert_eq!(r, KernelRelease::new(6, 1, 172));
/// assert_eq!(r.to_string(), "6.1.172");
/// # Ok::<(), sched::UnknownRelease>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelRelease {
    /// `6` of 6.1.172.
    pub major: u16,
    /// `1` of 6.1.172.
    pub minor: u16,
    /// `172` of 6.1.172 (0 for a mainline release such as `6.1`).
    pub patch: u16,
}

impl KernelRelease {
    /// The release `major.minor.patch`.
    #[must_use]
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        KernelRelease {
            major,
            minor,
            patch,
        }
    }

    /// The release of the running kernel out of `/proc/version` (or
    /// `uname -v`): the Debian package version when the text names one
    /// (`... #1 SMP PREEMPT_DYNAMIC Debian 6.1.172-1 (2026-05-02)`), else the
    /// version after `Linux version`.
    ///
    /// ```
    /// use sched::KernelRelease;
    /// let text = "Linux version 6.1.0-48-cloud-amd64 (debian-kernel@lists.debian.org) \
    ///             (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0) #1 SMP PREEMPT_DYNAMIC \
    ///             Debian 6.1.172-1 (2026-05-02)";
    /// assert_eq!(KernelRelease::from_proc_version(text), Some(KernelRelease::new(6, 1, 172)));
    /// ```
    #[must_use]
    pub fn from_proc_version(text: &str) -> Option<Self> {
        // The build string after `#` (what `uname -v` prints) names the
        // kernel's package; `Debian` before it names the compiler's
        // (`(gcc-12 (Debian 12.2.0-14) 12.2.0)`).
        let build = text.rfind('#').map_or(text, |at| &text[at..]);
        let debian = build
            .match_indices("Debian ")
            .filter_map(|(at, word)| build[at + word.len()..].split_whitespace().next())
            .filter_map(|version| version.parse().ok())
            .last();
        debian.or_else(|| {
            text.split_once("Linux version ")?
                .1
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
    }
}

impl fmt::Display for KernelRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A string that names no kernel release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownRelease;

impl fmt::Display for UnknownRelease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a kernel release such as 6.1.172 or 6.1.172-1")
    }
}

impl core::error::Error for UnknownRelease {}

impl FromStr for KernelRelease {
    type Err = UnknownRelease;

    /// `6.1`, `6.1.172`, `6.1.172-1`, `6.1.172+deb12-amd64`: two or three
    /// dot-separated numbers, then optionally `-`, `+` or `~` and anything.
    fn from_str(s: &str) -> Result<Self, UnknownRelease> {
        let end = s.find(['-', '+', '~']).unwrap_or(s.len());
        let mut parts = s[..end].split('.');
        let mut number = || -> Result<Option<u16>, UnknownRelease> {
            match parts.next() {
                None => Ok(None),
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map(Some).map_err(|_| UnknownRelease)
                }
                Some(_) => Err(UnknownRelease),
            }
        };
        let major = number()?.ok_or(UnknownRelease)?;
        let minor = number()?.ok_or(UnknownRelease)?;
        let patch = number()?.unwrap_or(0);
        if number()?.is_some() {
            return Err(UnknownRelease);
        }
        Ok(KernelRelease::new(major, minor, patch))
    }
}

/// How the kernel keeps a destination's `OVERLOAD` flag against its upper
/// and lower connection thresholds (`ipvsadm -x`, `-y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[non_exhaustive]
pub enum ThresholdRule {
    /// 6.1.183 and later ("ipvs: properly update the overload flag on dest
    /// edit"): one function, `ip_vs_dest_update_overload()`, decides on a new
    /// connection, on a closed one and on every threshold edit: total
    /// connections at or above the upper threshold set the flag, below the
    /// lower value (the lower threshold, or `u - u/4`) clear it, in between
    /// it stays. An edit that lowers the upper threshold under the current
    /// total overloads the destination at once. The default.
    #[default]
    Current,
    /// Before 6.1.183: a new connection sets the flag at the upper
    /// threshold, a closed one clears it below the lower value; an edit never
    /// sets it, and clears it whenever the new upper threshold is 0 or higher
    /// than the old one (even with the total still above the new lower value).
    Classic,
}

/// The behaviours of one kernel release that the schedulers depend on.
///
/// ```
/// use sched::{KernelFacts, KernelRelease, Overhead, ThresholdRule};
/// let older = KernelFacts::for_release(KernelRelease::new(6, 1, 172));
/// assert_eq!(older.overhead, Overhead::Classic);
/// assert_eq!(older.thresholds, ThresholdRule::Classic);
/// assert_eq!(KernelFacts::for_release("6.1.192-3".parse()?), KernelFacts::CURRENT);
/// # Ok::<(), sched::UnknownRelease>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KernelFacts {
    /// The least-connection overhead (`lc`, `wlc`).
    pub overhead: Overhead,
    /// The `OVERLOAD` flag's rule.
    pub thresholds: ThresholdRule,
}

impl Default for KernelFacts {
    /// [`KernelFacts::CURRENT`].
    fn default() -> Self {
        KernelFacts::CURRENT
    }
}

impl KernelFacts {
    /// The newest behaviour known (6.1.183 and later): the default of every
    /// [`Service`](crate::Service).
    pub const CURRENT: KernelFacts = KernelFacts {
        overhead: Overhead::Current,
        thresholds: ThresholdRule::Current,
    };

    /// The behaviour before every change in [`CHANGES`].
    pub const CLASSIC: KernelFacts = KernelFacts {
        overhead: Overhead::Classic,
        thresholds: ThresholdRule::Classic,
    };

    /// The facts of `release`: each change of [`CHANGES`] applies from its
    /// first release within its stable series. Releases of an older series
    /// have none of them; releases of a newer series than any listed are
    /// taken to have all of them (the stable changes are backports of what
    /// mainline does), which the lab has not verified.
    #[must_use]
    pub fn for_release(release: KernelRelease) -> Self {
        let mut facts = KernelFacts::CLASSIC;
        for change in CHANGES {
            if change.applies_to(release) {
                change.fact.apply(&mut facts);
            }
        }
        facts
    }
}

/// One behaviour a change brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fact {
    /// The least-connection overhead became this.
    Overhead(Overhead),
    /// The `OVERLOAD` flag's rule became this.
    Thresholds(ThresholdRule),
}

impl Fact {
    fn apply(self, facts: &mut KernelFacts) {
        match self {
            Fact::Overhead(o) => facts.overhead = o,
            Fact::Thresholds(t) => facts.thresholds = t,
        }
    }
}

/// A kernel change that the schedulers can see, with the first release of
/// its stable series that has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Change {
    /// The commit's title in the stable changelog.
    pub title: &'static str,
    /// The first upstream release of its series with the change.
    pub since: KernelRelease,
    /// The first Debian package version of `linux-image-cloud-amd64` with it.
    pub first_debian: &'static str,
    /// What it changed.
    pub fact: Fact,
}

impl Change {
    /// Whether `release` has this change (see [`KernelFacts::for_release`]).
    #[must_use]
    pub fn applies_to(&self, release: KernelRelease) -> bool {
        let series = (release.major, release.minor);
        let since = (self.since.major, self.since.minor);
        series > since || (series == since && release.patch >= self.since.patch)
    }
}

/// Every change of the kernel's scheduling behaviour the lab has seen, oldest
/// first.
pub const CHANGES: &[Change] = &[
    Change {
        title: "ipvs: add totalconns for dest",
        since: KernelRelease::new(6, 1, 183),
        first_debian: "6.1.187-1",
        fact: Fact::Overhead(Overhead::Current),
    },
    Change {
        title: "ipvs: properly update the overload flag on dest edit",
        since: KernelRelease::new(6, 1, 183),
        first_debian: "6.1.187-1",
        fact: Fact::Thresholds(ThresholdRule::Current),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> KernelRelease {
        s.parse().unwrap()
    }

    #[test]
    fn releases_parse_from_the_forms_users_have() {
        assert_eq!(r("6.1.172"), KernelRelease::new(6, 1, 172));
        assert_eq!(r("6.1.192-3"), KernelRelease::new(6, 1, 192));
        assert_eq!(r("6.1"), KernelRelease::new(6, 1, 0));
        assert_eq!(r("6.12.5+deb13-amd64"), KernelRelease::new(6, 12, 5));
        for bad in [
            "",
            "6",
            "6.",
            "6.1.",
            "x.1.2",
            "6.1.2.3",
            "6.1.99999",
            " 6.1.2",
        ] {
            assert_eq!(bad.parse::<KernelRelease>(), Err(UnknownRelease), "{bad:?}");
        }
    }

    #[test]
    fn proc_version_prefers_the_debian_package_version() {
        let debian = "Linux version 6.1.0-57-cloud-amd64 (debian-kernel@lists.debian.org) \
                      (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for \
                      Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-06)\n";
        assert_eq!(
            KernelRelease::from_proc_version(debian),
            Some(KernelRelease::new(6, 1, 192))
        );
        let upstream =
            "Linux version 6.1.150 (me@host) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP\n";
        assert_eq!(
            KernelRelease::from_proc_version(upstream),
            Some(KernelRelease::new(6, 1, 150))
        );
        assert_eq!(KernelRelease::from_proc_version("nonsense"), None);
    }

    #[test]
    fn facts_follow_the_first_release_of_each_change() {
        assert_eq!(KernelFacts::for_release(r("6.1.182")), KernelFacts::CLASSIC);
        assert_eq!(KernelFacts::for_release(r("6.1.183")), KernelFacts::CURRENT);
        assert_eq!(KernelFacts::for_release(r("6.1.172")), KernelFacts::CLASSIC);
        assert_eq!(KernelFacts::for_release(r("6.1.176")), KernelFacts::CLASSIC);
        assert_eq!(KernelFacts::for_release(r("6.1.192")), KernelFacts::CURRENT);
        assert_eq!(
            KernelFacts::for_release(r("5.10.240")),
            KernelFacts::CLASSIC
        );
        assert_eq!(KernelFacts::for_release(r("6.12.1")), KernelFacts::CURRENT);
        assert_eq!(KernelFacts::default(), KernelFacts::CURRENT);
    }
}
