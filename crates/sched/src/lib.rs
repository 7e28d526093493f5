//! The Linux IPVS connection schedulers, decision for decision, and faster.
//!
//! A [`Service`] holds a virtual service's destinations ([`Destination`]: weight,
//! active and inactive connections, the `OVERLOAD` flag, connection
//! thresholds) in the kernel's list order ([`Destinations`]), and the scheduler bound
//! to it ([`Scheduler`]): `rr`, `wrr`, `lc`, `wlc`, `sed`, `nq`, `fo`, `ovf`
//! with the exact semantics of `net/netfilter/ipvs/ip_vs_*.c` (Linux 6.x),
//! plus the notebook's N-of-N round robin (`nofn`, and `nofn-seed` for its
//! kernel patch's exact sequence), and the schedulers that read the packet:
//! `sh`, `dh`, `mh`, `lblc`, `lblcr` (and upstream's `twos`), asked with
//! [`Service::pick_packet`] and a [`Packet`].
//!
//! # List order
//!
//! The kernel puts a newly added destination at the **head** of its list,
//! so index 0 is the most recently added destination, and the "first in
//! the list wins" ties of the least-connection family go to the most
//! recently added one. [`Service::add`] does the same; to get a list
//! `d0, d1, d2` add `d2` first (or use [`Service::incremental`]).
//!
//! So list indices move: every add shifts them all, every removal those
//! after it. [`Service::add`] returns a [`DestId`] that does not move: it
//! names its destination until that one is removed and is refused after
//! ([`Error::StaleId`]). Every operation on one destination takes either
//! ([`DestRef`]); [`Service::position`] and [`Service::id_at`] translate.
//!
//! # Hooks and thresholds
//!
//! Destination adds, removals and edits go through the service, which runs
//! the scheduler's kernel hooks (for `wrr`: position back to the head and
//! the current weight adjusted, so a service filled one destination at a
//! time starts differently from one whose scheduler is bound afterwards;
//! for `rr`: a cursor on a removed destination moves to its predecessor).
//! Connections are accounted through it too ([`Service::connect`],
//! [`Service::disconnect`], ...), applying the kernel's rules for the upper
//! and lower thresholds.
//!
//! # Kernel releases
//!
//! Releases differ: the 6.1 stable series changed the least-connection
//! overhead and the threshold rule in 6.1.183. [`KernelFacts`] holds one
//! release's behaviour, [`CHANGES`] lists each change with its first release,
//! and a service models the newest behaviour unless told otherwise:
//!
//! ```
//! use sched::{KernelFacts, KernelRelease, Overhead, Scheduler, Service};
//! // The kernel on my director: 6.1.172 (`uname -v` says `Debian 6.1.172-1`).
//! let release: KernelRelease = "6.1.172-1".parse()?;
//! let svc = Service::new(Scheduler::Lc).with_kernel_facts(KernelFacts::for_release(release));
//! assert_eq!(svc.overhead(), Overhead::Classic);
//! # Ok::<(), sched::UnknownRelease>(())
//! ```
//!
//! # Speed
//!
//! The kernel walks the whole list on every pick. Here `rr`, N-of-N and
//! `wrr` search a bit set of the eligible destinations, and `lc`, `wlc`,
//! `sed`, `nq`, `fo` and `ovf` read the root of a tournament tree that a
//! counter change updates in O(log n), with the kernel's tie-breaking kept.
//! Picks never allocate and never panic; an empty list or no eligible
//! destination gives `None`. Adding and removing a destination costs
//! O(log n) (amortized) with the list order exact, except for `mh`, whose
//! kernel rebuilds its whole table on every change (`sh` and `dh` refill
//! 256 buckets, a fixed cost); see the README.
//!
//! # Example
//!
//! ```
//! use sched::{Destination, Scheduler, Service};
//!
//! // wlc over weights 3, 1, 2 (list order), each pick opening a connection.
//! let mut svc = Service::with_destinations(Scheduler::Wlc, [3, 1, 2].map(Destination::new))?;
//! let mut picks = Vec::new();
//! for _ in 0..8 {
//!     picks.extend(svc.pick_and_connect()?);
//! }
//! assert_eq!(picks, [0, 1, 2, 0, 2, 0, 0, 1]);
//! assert_eq!(svc.destinations()[0].active(), 4);
//!
//! // Nothing eligible: no pick.
//! svc.set_weight(0, 0)?;
//! svc.set_overloaded(1, true)?;
//! svc.set_overloaded(2, true)?;
//! assert_eq!(svc.pick(), None);
//! # Ok::<(), sched::Error>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod bitset;
mod dest;
mod error;
mod hash;
mod hashing;
mod id;
mod kernel_facts;
mod keyed;
mod least;
mod list;
mod locality;
mod packet;
mod rr;
mod scheduler;
mod service;
mod wrr;

pub use dest::{Destination, Overhead};
/// The former name of [`Destination`].
#[deprecated(note = "renamed to `Destination`, as in ipvs-proto")]
pub type Dest = Destination;
pub use error::Error;
pub use id::{DestId, DestRef};
pub use kernel_facts::{
    CHANGES, Change, Fact, KernelFacts, KernelRelease, ThresholdRule, UnknownRelease,
};
pub use list::{Destinations, Iter};
pub use packet::{Packet, SchedFlags, UnknownFlag};
pub use scheduler::{Scheduler, UnknownScheduler};
pub use service::Service;

/// The README's example runs as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
