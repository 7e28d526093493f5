//! A virtual service: the destination list in kernel order plus its bound
//! scheduler.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::dest::{Destination, Overhead};
use crate::error::Error;
use crate::id::{DestId, DestRef, Ids};
use crate::kernel_facts::KernelFacts;
use crate::keyed::{Context, Keyed};
use crate::least::{Least, Rule};
use crate::list::{Destinations, List};
use crate::locality::DEFAULT_EXPIRATION;
use crate::packet::{Packet, SchedFlags};
use crate::rr::RoundRobin;
use crate::scheduler::Scheduler;
use crate::wrr::Wrr;

#[derive(Debug, Clone)]
enum State {
    Rr(RoundRobin),
    Wrr(Wrr),
    Least(Least),
    Keyed(Keyed),
}

impl State {
    fn bind(scheduler: Scheduler, ctx: &Context, list: &List) -> Self {
        if let Some(k) = Keyed::bind(scheduler, list, ctx) {
            return State::Keyed(k);
        }
        let dests = list.slots();
        let least = |rule| State::Least(Least::new(rule, ctx.overhead, dests));
        match scheduler {
            Scheduler::Rr => State::Rr(RoundRobin::rr(dests)),
            Scheduler::NofN => State::Rr(RoundRobin::nofn(dests, false)),
            Scheduler::NofNSeed => State::Rr(RoundRobin::nofn(dests, true)),
            Scheduler::Wrr => State::Wrr(Wrr::new(dests)),
            Scheduler::Lc => least(Rule::Lc),
            Scheduler::Wlc => least(Rule::Wlc),
            Scheduler::Sed => least(Rule::Sed),
            Scheduler::Nq => least(Rule::Nq),
            Scheduler::Fo => least(Rule::Fo),
            Scheduler::Ovf => least(Rule::Ovf),
            // The others are bound above.
            _ => least(Rule::Wlc),
        }
    }
}

/// A virtual service: its destinations in the kernel's list order and the
/// scheduler bound to it.
///
/// Every change to a destination goes through the service, which runs the
/// kernel's scheduler hooks (`add_dest`, `del_dest`, `upd_dest`) and the
/// connection-threshold rules, and keeps the scheduler's own index (bit sets
/// for `rr`/`wrr`/N-of-N, a tournament tree for the others) in step. Picks
/// never allocate and never panic.
///
/// ```
/// use sched::{Destination, Scheduler, Service};
///
/// // As `ipvsadm -A -s wrr` then `-a` three times: each new destination
/// // goes to the head of the list, so add the last one first.
/// let mut svc = Service::new(Scheduler::Wrr);
/// for w in [2, 3, 4] {
///     svc.add(Destination::new(w))?;
/// }
/// let picks: Vec<_> = (0..9).map(|_| svc.pick().unwrap()).collect();
/// assert_eq!(picks, [0, 1, 2, 0, 0, 1, 0, 1, 2]);
///
/// // As `ipvsadm -E -s wrr` once the destinations exist.
/// svc.rebind(Scheduler::Wrr);
/// let picks: Vec<_> = (0..9).map(|_| svc.pick().unwrap()).collect();
/// assert_eq!(picks, [0, 0, 1, 0, 1, 2, 0, 1, 2]);
/// # Ok::<(), sched::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Service {
    scheduler: Scheduler,
    /// The kernel release's behaviour: overhead and threshold rule.
    facts: KernelFacts,
    /// The destinations in list order, by position (`crate::list`).
    list: List,
    /// The stable ids: id -> position.
    ids: Ids,
    /// The addresses in the list (the kernel refuses a second one).
    addrs: BTreeSet<SocketAddr>,
    state: State,
    flags: SchedFlags,
    /// The caller's clock, in milliseconds.
    now: u64,
    expiration: u64,
    /// Removed destinations with an address, as they left (the kernel's
    /// trash): one added again with that address takes back its counters.
    trash: BTreeMap<SocketAddr, Destination>,
}

/// A fresh service's context: no flags, time 0, the default expiration.
const START: Context = Context {
    flags: SchedFlags::NONE,
    overhead: Overhead::Current,
    now: 0,
    expiration: DEFAULT_EXPIRATION,
};

impl Service {
    /// An empty service with this scheduler bound (`ipvsadm -A -s NAME`).
    #[must_use]
    pub fn new(scheduler: Scheduler) -> Self {
        Service {
            scheduler,
            facts: KernelFacts::default(),
            list: List::default(),
            ids: Ids::default(),
            addrs: BTreeSet::new(),
            state: State::bind(scheduler, &START, &List::default()),
            flags: SchedFlags::NONE,
            now: 0,
            expiration: DEFAULT_EXPIRATION,
            trash: BTreeMap::new(),
        }
    }

    /// A service whose list is `dests` in this order (index 0 = head), with
    /// the scheduler bound after they exist, as `ipvsadm -E -s NAME` leaves a
    /// service whose destinations were added first. Thresholds are applied
    /// to each destination's `OVERLOAD` flag.
    ///
    /// # Errors
    /// A negative weight or invalid thresholds, naming the value.
    pub fn with_destinations(
        scheduler: Scheduler,
        dests: impl IntoIterator<Item = Destination>,
    ) -> Result<Self, Error> {
        let mut items: Vec<(Destination, u32)> = Vec::new();
        let mut addrs = BTreeSet::new();
        for d in dests {
            let d = checked(d)?;
            if let Some(addr) = d.addr
                && !addrs.insert(addr)
            {
                return Err(Error::DuplicateAddress { addr });
            }
            items.push((d, 0));
        }
        if items.len() >= u32::MAX as usize {
            return Err(Error::TooManyDestinations { len: items.len() });
        }
        let mut list = List::from_list(items);
        let mut ids = Ids::default();
        // Ids handed out tail first, as adds at the head would.
        let positions: Vec<usize> = list.positions().collect();
        for (k, &p) in positions.iter().rev().enumerate() {
            let id = ids.alloc(p, k)?;
            list.set_id_slot(p, id.slot());
        }
        let state = State::bind(scheduler, &START, &list);
        Ok(Service {
            scheduler,
            facts: KernelFacts::default(),
            list,
            ids,
            addrs,
            state,
            flags: SchedFlags::NONE,
            now: 0,
            expiration: DEFAULT_EXPIRATION,
            trash: BTreeMap::new(),
        })
    }

    /// The former name of [`Service::with_destinations`].
    ///
    /// # Errors
    /// As [`Service::with_destinations`].
    #[deprecated(note = "renamed to `with_destinations`")]
    pub fn with_dests(
        scheduler: Scheduler,
        dests: impl IntoIterator<Item = Destination>,
    ) -> Result<Self, Error> {
        Service::with_destinations(scheduler, dests)
    }

    /// A service built as `ipvsadm -A` then one `-a` per destination leaves
    /// it: the destinations are added last first, so that the list ends up
    /// in the order given, and each add runs the scheduler's hook.
    ///
    /// # Errors
    /// As [`Service::add`].
    pub fn incremental(
        scheduler: Scheduler,
        dests: impl IntoIterator<Item = Destination, IntoIter: DoubleEndedIterator>,
    ) -> Result<Self, Error> {
        let mut svc = Service::new(scheduler);
        for d in dests.into_iter().rev() {
            svc.add(d)?;
        }
        Ok(svc)
    }

    /// Behave as the kernel release these facts describe (default
    /// [`KernelFacts::CURRENT`]): its overhead formula for `lc` and `wlc`
    /// and its threshold rule from now on.
    ///
    /// ```
    /// use sched::{Destination, KernelFacts, KernelRelease, Scheduler, Service};
    /// let on_my_director = KernelFacts::for_release("6.1.172".parse()?);
    /// let svc = Service::new(Scheduler::Wlc).with_kernel_facts(on_my_director);
    /// assert_eq!(svc.kernel_facts(), KernelFacts::CLASSIC);
    /// # Ok::<(), sched::UnknownRelease>(())
    /// ```
    pub fn set_kernel_facts(&mut self, facts: KernelFacts) {
        self.facts.thresholds = facts.thresholds;
        self.set_overhead(facts.overhead);
    }

    /// The builder form of [`Service::set_kernel_facts`].
    #[must_use]
    pub fn with_kernel_facts(mut self, facts: KernelFacts) -> Self {
        self.set_kernel_facts(facts);
        self
    }

    /// The kernel behaviour this service models.
    #[must_use]
    pub fn kernel_facts(&self) -> KernelFacts {
        self.facts
    }

    /// Use this overhead formula for `lc` and `wlc` (default
    /// [`Overhead::Current`]), keeping the other kernel facts.
    pub fn set_overhead(&mut self, overhead: Overhead) {
        self.facts.overhead = overhead;
        match &mut self.state {
            State::Least(l) => l.set_overhead(overhead, self.list.slots()),
            State::Keyed(k) => k.set_overhead(overhead, self.list.slots()),
            State::Rr(_) | State::Wrr(_) => {}
        }
    }

    /// The builder form of [`Service::set_overhead`].
    #[must_use]
    pub fn with_overhead(mut self, overhead: Overhead) -> Self {
        self.set_overhead(overhead);
        self
    }

    /// Bind another (or the same) scheduler afresh, as `ipvsadm -E -s NAME`
    /// does: its state starts over (`init_service`).
    pub fn rebind(&mut self, scheduler: Scheduler) {
        self.scheduler = scheduler;
        self.state = State::bind(scheduler, &self.context(), &self.list);
    }

    fn context(&self) -> Context {
        Context {
            flags: self.flags,
            overhead: self.facts.overhead,
            now: self.now,
            expiration: self.expiration,
        }
    }

    /// Set the service's scheduler flags (`ipvsadm -b`): `sh` and `mh` read
    /// flag 1 as fallback and flag 2 as port.
    pub fn set_flags(&mut self, flags: SchedFlags) {
        self.flags = flags;
    }

    /// The builder form of [`Service::set_flags`].
    #[must_use]
    pub fn with_flags(mut self, flags: SchedFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The scheduler flags.
    #[must_use]
    pub fn flags(&self) -> SchedFlags {
        self.flags
    }

    /// Move the service's clock to `now` (milliseconds on the caller's
    /// clock; the service starts at 0) and run every `lblc` / `lblcr`
    /// expiry timer due by then, each at its own due time. Picks happen at
    /// the current time. An earlier time than the current one is ignored:
    /// the clock never goes back.
    pub fn advance_clock(&mut self, now: u64) {
        if now <= self.now {
            return;
        }
        self.now = now;
        let ctx = self.context();
        if let State::Keyed(k) = &mut self.state {
            k.advance(&ctx);
        }
    }

    /// The service's clock, in milliseconds.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Set the entry expiration of `lblc` / `lblcr` in milliseconds (the
    /// sysctls `net.ipv4.vs.lblc_expiration` and `lblcr_expiration`,
    /// default 24 hours).
    pub fn set_expiration(&mut self, millis: u64) {
        self.expiration = millis;
    }

    /// The `lblc` / `lblcr` entry expiration in milliseconds.
    #[must_use]
    pub fn expiration(&self) -> u64 {
        self.expiration
    }

    /// The number of entries in the `lblc` / `lblcr` table (0 for the
    /// other schedulers).
    #[must_use]
    pub fn table_entries(&self) -> usize {
        match &self.state {
            State::Keyed(k) => k.entries(),
            _ => 0,
        }
    }

    /// The bound scheduler.
    #[must_use]
    pub fn scheduler(&self) -> Scheduler {
        self.scheduler
    }

    /// The overhead formula in use.
    #[must_use]
    pub fn overhead(&self) -> Overhead {
        self.facts.overhead
    }

    /// The destinations in the kernel's list order: `destinations()[i]`,
    /// `.len()`, `.iter()`, as a slice of them would be.
    #[must_use]
    pub fn destinations(&self) -> Destinations<'_> {
        Destinations::new(&self.list)
    }

    /// The former name of [`Service::destinations`].
    #[deprecated(note = "renamed to `destinations`")]
    #[must_use]
    pub fn dests(&self) -> Destinations<'_> {
        self.destinations()
    }

    /// The position in the list storage of the destination `dest` names.
    #[inline]
    fn resolve(&self, dest: DestRef) -> Result<usize, Error> {
        match dest {
            DestRef::Index(index) => self.list.position(index).ok_or(Error::IndexOutOfRange {
                index,
                len: self.list.len(),
            }),
            DestRef::Id(id) => self.ids.resolve(id),
        }
    }

    /// The destination `dest` names (a list index or a [`DestId`]).
    ///
    /// # Errors
    /// An index out of range or a stale id.
    pub fn destination(&self, dest: impl Into<DestRef>) -> Result<&Destination, Error> {
        let pos = self.resolve(dest.into())?;
        self.list.at(pos).ok_or(Error::IndexOutOfRange {
            index: pos,
            len: self.list.len(),
        })
    }

    /// The list position (index 0 = head) of the destination `dest` names:
    /// where an id's destination is now.
    ///
    /// # Errors
    /// An index out of range or a stale id.
    pub fn position(&self, dest: impl Into<DestRef>) -> Result<usize, Error> {
        let pos = self.resolve(dest.into())?;
        Ok(self.list.index_of(pos))
    }

    /// The id of the destination at list position `index` (e.g. of a
    /// pick), or `None` past the end of the list.
    #[must_use]
    pub fn id_at(&self, index: usize) -> Option<DestId> {
        let pos = self.list.position(index)?;
        self.ids.id(self.list.id_slot(pos)?)
    }

    /// The ids of the destinations in the kernel's list order (with
    /// [`Service::destinations`]).
    pub fn ids(&self) -> impl ExactSizeIterator<Item = DestId> + DoubleEndedIterator + '_ {
        self.list
            .positions()
            .map(|p| self.ids.id_of(self.list.id_slot(p).unwrap_or(u32::MAX)))
    }

    /// The number of destinations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the service has no destination.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.len() == 0
    }

    /// Schedule one new connection: the index of the chosen destination, or
    /// `None` when the list is empty or nothing can be picked. The counters
    /// are left alone: call [`Service::connect`] to account the connection.
    ///
    /// The schedulers that read the packet (`sh`, `dh`, `mh`, `lblc`,
    /// `lblcr`, `twos`) schedule [`Packet::UNSPECIFIED`] here; give them
    /// the packet with [`Service::pick_packet`].
    #[inline]
    pub fn pick(&mut self) -> Option<usize> {
        self.pick_packet(&Packet::UNSPECIFIED)
    }

    /// Schedule the connection that `packet` opens, at the service's
    /// current time ([`Service::advance_clock`]): the index of the chosen
    /// destination, or `None`. Schedulers that do not read packets ignore
    /// it. The counters are left alone, as with [`Service::pick`].
    #[inline]
    pub fn pick_packet(&mut self, packet: &Packet) -> Option<usize> {
        let pos = self.pick_position(packet)?;
        Some(self.list.index_of(pos))
    }

    /// The scheduler's choice as a position in the list storage.
    #[inline]
    fn pick_position(&mut self, packet: &Packet) -> Option<usize> {
        match &mut self.state {
            State::Rr(s) => s.pick(),
            State::Wrr(s) => s.pick(self.list.slots()),
            State::Least(s) => s.pick(),
            State::Keyed(s) => {
                let ctx = Context {
                    flags: self.flags,
                    overhead: self.facts.overhead,
                    now: self.now,
                    expiration: self.expiration,
                };
                s.pick(self.list.slots(), packet, &ctx)
            }
        }
    }

    /// [`Service::pick_packet`], then account one new active connection on
    /// the chosen destination.
    ///
    /// # Errors
    /// As [`Service::pick_and_connect`].
    pub fn pick_packet_and_connect(&mut self, packet: &Packet) -> Result<Option<usize>, Error> {
        match self.pick_position(packet) {
            Some(pos) => self
                .bind_at(pos, Counter::Active)
                .map(|()| Some(self.list.index_of(pos))),
            None => Ok(None),
        }
    }

    /// Pick, then account one new active connection on the chosen
    /// destination (as `--connect` in the `simulate` example).
    ///
    /// # Errors
    /// The chosen destination's active count is at `u32::MAX`; nothing is
    /// changed then (the scheduler's own state has moved, as after a pick).
    pub fn pick_and_connect(&mut self) -> Result<Option<usize>, Error> {
        self.pick_packet_and_connect(&Packet::UNSPECIFIED)
    }

    /// Add a destination at the head of the list (index 0), as the kernel's
    /// `list_add_rcu()` does, then run the scheduler's `add_dest` hook.
    /// Every existing index moves up by one; ids do not move: the one
    /// returned names the new destination until it is removed. Its
    /// thresholds are applied to its `OVERLOAD` flag.
    ///
    /// # Errors
    /// A negative weight, a lower threshold above the upper one, an upper
    /// threshold above `i32::MAX`, an address already in the list, or a
    /// full list.
    ///
    /// A destination whose address was removed from this service before
    /// comes back as the kernel brings it back from its trash: with the
    /// active and inactive counts it had when it was removed (its
    /// connections outlive the removal; use [`Service::set_counts`] for
    /// those that ended meanwhile) and its `OVERLOAD` flag, then the weight
    /// and thresholds given, applied as an edit would.
    pub fn add(&mut self, dest: Destination) -> Result<DestId, Error> {
        let mut dest = checked(dest)?;
        if let Some(addr) = dest.addr
            && self.addrs.contains(&addr)
        {
            return Err(Error::DuplicateAddress { addr });
        }
        if let Some(old) = dest.addr.and_then(|a| self.trash.get(&a)) {
            // The old destination, its thresholds edited to the new ones.
            let (upper, lower) = (dest.upper_threshold, dest.lower_threshold);
            dest.active = old.active;
            dest.inactive = old.inactive;
            dest.overloaded = old.overloaded;
            dest.upper_threshold = old.upper_threshold;
            dest.lower_threshold = old.lower_threshold;
            dest.edit_thresholds(self.facts.thresholds, upper, lower);
        }
        let len = self.list.len();
        if len + 1 >= u32::MAX as usize {
            return Err(Error::TooManyDestinations { len: len + 1 });
        }
        if !self.list.has_room() {
            self.relayout();
        }
        let pos = self
            .list
            .next_position()
            .ok_or(Error::TooManyDestinations { len: len + 1 })?;
        let id = self.ids.alloc(pos, len)?;
        if self.list.push_head(dest, id.slot()).is_none() {
            self.ids.retire(id.slot());
            return Err(Error::TooManyDestinations { len: len + 1 });
        }
        if let Some(a) = dest.addr {
            self.trash.remove(&a);
            self.addrs.insert(a);
        }
        match &mut self.state {
            State::Rr(s) => s.added(self.list.slots(), pos),
            State::Wrr(s) => s.dest_changed(self.list.slots(), pos),
            State::Least(s) => s.changed(self.list.slots(), pos),
            State::Keyed(s) => s.added(&self.list, pos),
        }
        Ok(id)
    }

    /// Remove the destination `dest` names (a list index or a [`DestId`])
    /// and run the scheduler's `del_dest` hook; later indices move down by
    /// one, and its id is refused from now on.
    ///
    /// # Errors
    /// An index out of range or a stale id.
    pub fn remove(&mut self, dest: impl Into<DestRef>) -> Result<Destination, Error> {
        let pos = self.resolve(dest.into())?;
        let index = self.list.index_of(pos);
        let pred = index.checked_sub(1).and_then(|i| self.list.position(i));
        let slot = self.list.id_slot(pos);
        let d = self.list.take(pos).ok_or(Error::IndexOutOfRange {
            index,
            len: self.list.len(),
        })?;
        if let Some(slot) = slot {
            self.ids.retire(slot);
        }
        if let Some(a) = d.addr {
            self.addrs.remove(&a);
            self.trash.insert(a, d);
        }
        match &mut self.state {
            State::Rr(s) => s.removed(self.list.slots(), pos, pred),
            State::Wrr(s) => s.dest_changed(self.list.slots(), pos),
            State::Least(s) => s.changed(self.list.slots(), pos),
            State::Keyed(s) => s.removed(&self.list, pos, d),
        }
        if self.list.too_holey() {
            self.relayout();
        }
        Ok(d)
    }

    /// Lay the list storage out afresh (no holes, room for adds at the
    /// head) and move the ids and the scheduler's index with it. Not a
    /// kernel hook: nothing a pick sees changes.
    fn relayout(&mut self) {
        let moved = self.list.relayout();
        for p in self.list.positions() {
            if let Some(slot) = self.list.id_slot(p) {
                // Positions fit in u32: a list holds fewer than u32::MAX.
                self.ids.moved(slot, p as u32);
            }
        }
        let slots = self.list.slots();
        match &mut self.state {
            State::Rr(s) => s.relayout(slots, &moved),
            State::Wrr(s) => s.relayout(slots, &moved),
            State::Least(s) => s.rebuild(slots),
            State::Keyed(s) => s.relayout(&self.list, &moved),
        }
    }

    /// Edit a destination's weight (`ipvsadm -e -w`), then run the
    /// scheduler's `upd_dest` hook (the kernel runs it on every edit, even
    /// one that changes nothing).
    ///
    /// # Errors
    /// An index out of range, a stale id or a negative weight.
    pub fn set_weight(&mut self, dest: impl Into<DestRef>, weight: i32) -> Result<(), Error> {
        let pos = self.resolve(dest.into())?;
        if weight < 0 {
            return Err(Error::NegativeWeight { weight });
        }
        let d = self.at_mut(pos)?;
        d.weight = weight;
        // The kernel keeps the latest weight other than 0 (mh reads it).
        if weight != 0 {
            d.last_weight = weight;
        }
        self.edited(pos);
        Ok(())
    }

    /// Edit a destination's connection thresholds (`ipvsadm -e -x upper -y
    /// lower`, 0 = none), updating the `OVERLOAD` flag by the kernel's
    /// [`ThresholdRule`](crate::ThresholdRule) (currently: re-evaluated at
    /// once when they differ from the current ones); then the scheduler's
    /// `upd_dest` hook runs, as for any edit.
    ///
    /// # Errors
    /// An index out of range, a stale id, `lower > upper` or `upper > i32::MAX`.
    pub fn set_thresholds(
        &mut self,
        dest: impl Into<DestRef>,
        upper: u32,
        lower: u32,
    ) -> Result<(), Error> {
        let pos = self.resolve(dest.into())?;
        check_thresholds(upper, lower)?;
        let rule = self.facts.thresholds;
        self.at_mut(pos)?.edit_thresholds(rule, upper, lower);
        self.edited(pos);
        Ok(())
    }

    /// A new connection bound to the destination, counted active (as for a
    /// connection that completes its handshake; see
    /// [`Service::connect_inactive`] for one that does not). The `OVERLOAD`
    /// flag is updated as `ip_vs_bind_dest()` does.
    ///
    /// # Errors
    /// An index out of range, a stale id or an active count at `u32::MAX`.
    pub fn connect(&mut self, dest: impl Into<DestRef>) -> Result<(), Error> {
        self.bind(dest.into(), Counter::Active)
    }

    /// A new connection bound to the destination, counted inactive. The
    /// `OVERLOAD` flag is updated as `ip_vs_bind_dest()` does.
    ///
    /// # Errors
    /// An index out of range, a stale id or an inactive count at `u32::MAX`.
    pub fn connect_inactive(&mut self, dest: impl Into<DestRef>) -> Result<(), Error> {
        self.bind(dest.into(), Counter::Inactive)
    }

    /// An active connection ends (`ip_vs_unbind_dest()`): the flag is
    /// re-evaluated only if it was set.
    ///
    /// # Errors
    /// An index out of range, a stale id or no active connection.
    pub fn disconnect(&mut self, dest: impl Into<DestRef>) -> Result<(), Error> {
        self.unbind(dest.into(), Counter::Active)
    }

    /// An inactive connection expires (`ip_vs_unbind_dest()`), with the same
    /// flag rule as [`Service::disconnect`].
    ///
    /// # Errors
    /// An index out of range, a stale id or no inactive connection.
    pub fn expire_inactive(&mut self, dest: impl Into<DestRef>) -> Result<(), Error> {
        self.unbind(dest.into(), Counter::Inactive)
    }

    /// An active connection becomes inactive (e.g. TCP FIN): the total, and
    /// so the flag, stays.
    ///
    /// # Errors
    /// An index out of range, a stale id, no active connection, or an inactive count at
    /// `u32::MAX`.
    pub fn deactivate(&mut self, dest: impl Into<DestRef>) -> Result<(), Error> {
        self.shift(dest.into(), Counter::Active, Counter::Inactive)
    }

    /// An inactive connection becomes active (e.g. TCP ESTABLISHED).
    ///
    /// # Errors
    /// An index out of range, a stale id, no inactive connection, or an active count at
    /// `u32::MAX`.
    pub fn activate(&mut self, dest: impl Into<DestRef>) -> Result<(), Error> {
        self.shift(dest.into(), Counter::Inactive, Counter::Active)
    }

    /// Set a destination's counters directly, e.g. to mirror a live
    /// kernel's. The `OVERLOAD` flag is left as it is (use
    /// [`Service::set_overloaded`] to mirror it too). No scheduler hook runs.
    ///
    /// # Errors
    /// An index out of range, a stale id.
    pub fn set_counts(
        &mut self,
        dest: impl Into<DestRef>,
        active: u32,
        inactive: u32,
    ) -> Result<(), Error> {
        let pos = self.resolve(dest.into())?;
        let d = self.at_mut(pos)?;
        d.active = active;
        d.inactive = inactive;
        self.changed(pos);
        Ok(())
    }

    /// Set or clear a destination's `OVERLOAD` flag directly. No scheduler
    /// hook runs.
    ///
    /// # Errors
    /// An index out of range, a stale id.
    pub fn set_overloaded(
        &mut self,
        dest: impl Into<DestRef>,
        overloaded: bool,
    ) -> Result<(), Error> {
        let pos = self.resolve(dest.into())?;
        self.at_mut(pos)?.overloaded = overloaded;
        self.changed(pos);
        Ok(())
    }

    /// The destination at position `pos`, mutable.
    #[inline]
    fn at_mut(&mut self, pos: usize) -> Result<&mut Destination, Error> {
        let len = self.list.len();
        self.list
            .get_mut(pos)
            .ok_or(Error::IndexOutOfRange { index: pos, len })
    }

    /// `ip_vs_bind_dest()`: one more connection, then the flag updated.
    fn bind(&mut self, dest: DestRef, counter: Counter) -> Result<(), Error> {
        let pos = self.resolve(dest)?;
        self.bind_at(pos, counter)
    }

    /// [`Service::bind`] at a position.
    #[inline]
    fn bind_at(&mut self, pos: usize, counter: Counter) -> Result<(), Error> {
        let rule = self.facts.thresholds;
        let d = self.at_mut(pos)?;
        let slot = counter.of(d);
        let Some(more) = slot.checked_add(1) else {
            return Err(Error::CounterOverflow {
                index: self.list.index_of(pos),
                counter: counter.name(),
            });
        };
        *slot = more;
        d.bound(rule);
        self.changed(pos);
        Ok(())
    }

    /// `ip_vs_unbind_dest()`: one connection less; the flag re-evaluated
    /// only if it was set.
    fn unbind(&mut self, dest: DestRef, counter: Counter) -> Result<(), Error> {
        let pos = self.resolve(dest)?;
        let rule = self.facts.thresholds;
        let d = self.at_mut(pos)?;
        let slot = counter.of(d);
        let Some(less) = slot.checked_sub(1) else {
            return Err(Error::NoConnection {
                index: self.list.index_of(pos),
                counter: counter.name(),
            });
        };
        *slot = less;
        d.unbound(rule);
        self.changed(pos);
        Ok(())
    }

    /// A state change moving one connection between the counters.
    fn shift(&mut self, dest: DestRef, from: Counter, to: Counter) -> Result<(), Error> {
        let pos = self.resolve(dest)?;
        let d = self.at_mut(pos)?;
        if *from.of(d) == 0 {
            return Err(Error::NoConnection {
                index: self.list.index_of(pos),
                counter: from.name(),
            });
        }
        if *to.of(d) == u32::MAX {
            return Err(Error::CounterOverflow {
                index: self.list.index_of(pos),
                counter: to.name(),
            });
        }
        *from.of(d) -= 1;
        *to.of(d) += 1;
        self.changed(pos);
        Ok(())
    }

    /// The kernel's `upd_dest` hook after an edit.
    fn edited(&mut self, pos: usize) {
        let slots = self.list.slots();
        match &mut self.state {
            State::Rr(s) => s.changed(slots, pos),
            State::Wrr(s) => s.dest_changed(slots, pos),
            State::Least(s) => s.changed(slots, pos),
            State::Keyed(s) => s.edited(&self.list, pos),
        }
    }

    /// Counters or flag changed: only the index follows (no kernel hook).
    #[inline]
    fn changed(&mut self, pos: usize) {
        let slots = self.list.slots();
        match &mut self.state {
            State::Rr(s) => s.changed(slots, pos),
            State::Wrr(s) => s.changed(slots, pos),
            State::Least(s) => s.changed(slots, pos),
            State::Keyed(s) => s.changed(slots, pos),
        }
    }
}

/// Which connection counter an operation touches.
#[derive(Debug, Clone, Copy)]
enum Counter {
    Active,
    Inactive,
}

impl Counter {
    fn of(self, d: &mut Destination) -> &mut u32 {
        match self {
            Counter::Active => &mut d.active,
            Counter::Inactive => &mut d.inactive,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Counter::Active => "active",
            Counter::Inactive => "inactive",
        }
    }
}

fn check_thresholds(upper: u32, lower: u32) -> Result<(), Error> {
    if upper > i32::MAX as u32 {
        return Err(Error::ThresholdTooLarge { upper });
    }
    if lower > upper {
        return Err(Error::ThresholdOrder { lower, upper });
    }
    Ok(())
}

/// Validate a destination joining a service and evaluate its flag for its
/// thresholds.
fn checked(mut d: Destination) -> Result<Destination, Error> {
    if d.weight < 0 {
        return Err(Error::NegativeWeight { weight: d.weight });
    }
    check_thresholds(d.upper_threshold, d.lower_threshold)?;
    d.last_weight = d.weight;
    if d.upper_threshold != 0 {
        d.update_overload();
    }
    Ok(d)
}
