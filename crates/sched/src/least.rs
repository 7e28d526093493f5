//! The schedulers that pick the best destination by a key: `lc`, `wlc`,
//! `sed`, `nq`, `fo` and `ovf`.
//!
//! The kernel walks the whole list on every pick and keeps the first
//! destination that nothing later beats strictly. Every one of these rules
//! is a total order on (key, list index), so the same answer is the minimum
//! of a tournament tree over the list slots: a pick reads the root, and a
//! change to one destination (a connection, a flag, a weight) replays the
//! matches on its path to the root, O(log n). Ties go to the left (earlier)
//! slot, exactly as the kernel's strict comparisons keep the earlier one.

use alloc::vec::Vec;
use core::hint::select_unpredictable;

use crate::dest::{Destination, Overhead};

/// Which rule the tree plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Lc,
    Wlc,
    Sed,
    Nq,
    Fo,
    Ovf,
}

/// A slot or the winner of a subtree. A slot that cannot be picked holds a
/// sentinel (`idx == NONE`) whose key loses to every real slot under every
/// rule and ties with other sentinels, so matches need no special case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    /// The rule's overhead (lc, wlc: connection overhead; sed, nq:
    /// `active + 1`; unused by fo, ovf).
    oh: u64,
    /// The weight (never negative here).
    w: u32,
    idx: u32,
}

const NONE: u32 = u32::MAX;

/// The sentinel: for lc an overhead above any real one (real ones stay
/// below 2^41); for wlc, sed and nq `2 / 0`, an infinite ratio that is not
/// idle (`oh != 1`); for fo and ovf weight 0 below every real weight.
const EMPTY: Node = Node {
    oh: u64::MAX,
    w: 0,
    idx: NONE,
};

#[derive(Debug, Clone)]
pub(crate) struct Least {
    rule: Rule,
    overhead: Overhead,
    /// Number of leaves (a power of two); leaf `i` is `nodes[size + i]`.
    size: usize,
    nodes: Vec<Node>,
}

/// Products for the ratio rules: `oh` < 2^42 and `w` < 2^31 for real slots,
/// so they fit in 128 bits (the kernel multiplies in `s64`).
#[inline(always)]
fn mul(a: u64, b: u32) -> u128 {
    u128::from(a) * u128::from(b)
}

/// Does `r` (later in the list) beat `l` strictly?
#[inline(always)]
fn lc(l: &Node, r: &Node) -> bool {
    // `doh < loh` (unsigned).
    r.oh < l.oh
}

#[inline(always)]
fn wlc(l: &Node, r: &Node) -> bool {
    // `(s64)loh * dest->weight > (s64)doh * least->weight`.
    mul(l.oh, r.w) > mul(r.oh, l.w)
}

#[inline(always)]
fn nq(l: &Node, r: &Node) -> bool {
    // An idle destination (`active + 1 == 1`) is returned at once.
    l.oh != 1 && (r.oh == 1 || mul(l.oh, r.w) > mul(r.oh, l.w))
}

#[inline(always)]
fn fo(l: &Node, r: &Node) -> bool {
    // `weight > hw`.
    r.w > l.w
}

#[inline(always)]
fn play(beats: impl Fn(&Node, &Node) -> bool, l: Node, r: Node) -> Node {
    if beats(&l, &r) { r } else { l }
}

impl Least {
    pub(crate) fn new(rule: Rule, overhead: Overhead, dests: &[Destination]) -> Self {
        let mut s = Least {
            rule,
            overhead,
            size: 1,
            nodes: Vec::new(),
        };
        s.rebuild(dests);
        s
    }

    /// The slot for a destination: which ones each rule skips, and its key.
    fn leaf(&self, i: usize, d: &Destination) -> Node {
        // Weights are never negative in a service (refused on entry).
        let w = u32::try_from(d.weight).unwrap_or(0);
        let (pickable, oh) = match self.rule {
            // lc, nq, ovf skip `weight == 0`; wlc, sed, fo only take a
            // positive first candidate and never let a weight-0 one win.
            Rule::Lc => (w != 0, self.overhead.of(d.active, d.inactive)),
            Rule::Wlc => (w > 0, self.overhead.of(d.active, d.inactive)),
            Rule::Sed | Rule::Nq => (w > 0, u64::from(d.active) + 1),
            Rule::Fo => (w > 0, 0),
            Rule::Ovf => (w > 0 && d.active <= w, 0),
        };
        if pickable && !d.overloaded {
            Node {
                oh,
                w,
                idx: i as u32,
            }
        } else {
            EMPTY
        }
    }

    /// Lay the tree anew for this list.
    pub(crate) fn rebuild(&mut self, dests: &[Destination]) {
        self.size = dests.len().next_power_of_two().max(1);
        self.nodes.clear();
        self.nodes.resize(2 * self.size, EMPTY);
        for (i, d) in dests.iter().enumerate() {
            self.nodes[self.size + i] = self.leaf(i, d);
        }
        match self.rule {
            Rule::Lc => self.lay(lc),
            Rule::Wlc | Rule::Sed => self.lay(wlc),
            Rule::Nq => self.lay(nq),
            Rule::Fo | Rule::Ovf => self.lay(fo),
        }
    }

    /// Use another overhead formula (lc, wlc).
    pub(crate) fn set_overhead(&mut self, overhead: Overhead, dests: &[Destination]) {
        self.overhead = overhead;
        self.rebuild(dests);
    }

    fn lay(&mut self, beats: impl Fn(&Node, &Node) -> bool + Copy) {
        for j in (1..self.size).rev() {
            self.nodes[j] = play(beats, self.nodes[2 * j], self.nodes[2 * j + 1]);
        }
    }

    /// The destination at `index` changed: replay its path to the root.
    pub(crate) fn changed(&mut self, dests: &[Destination], index: usize) {
        let Some(d) = dests.get(index) else { return };
        let leaf = self.leaf(index, d);
        // Measured: the ratio rules' outcomes are hard to predict, so they
        // select without branching; lc's and fo's follow regular patterns
        // that the branch predictor learns, and branching is faster there.
        match self.rule {
            Rule::Lc => self.replay_branching(lc, index, leaf),
            Rule::Wlc | Rule::Sed => self.replay_unpredictable(wlc, index, leaf),
            Rule::Nq => self.replay_unpredictable(nq, index, leaf),
            Rule::Fo | Rule::Ovf => self.replay_branching(fo, index, leaf),
        }
    }

    /// Carry the slot's new value up, branching on each match's outcome:
    /// fastest when the outcomes follow a pattern the predictor learns.
    #[inline(always)]
    fn replay_branching(&mut self, beats: impl Fn(&Node, &Node) -> bool, index: usize, leaf: Node) {
        let mut j = self.size + index;
        if j >= self.nodes.len() {
            return;
        }
        let mut cur = leaf;
        self.nodes[j] = cur;
        while j > 1 {
            let sib = self.nodes[j ^ 1];
            let (l, r) = if j & 1 == 1 { (sib, cur) } else { (cur, sib) };
            cur = if beats(&l, &r) { r } else { l };
            j >>= 1;
            self.nodes[j] = cur;
        }
    }

    /// Carry the slot's new value up without branching on outcomes: the
    /// keys are oriented with conditional moves and the winner is loaded
    /// from the child slot the match designates. Fastest when outcomes are
    /// hard to predict (ratios of random weights).
    #[inline(always)]
    fn replay_unpredictable(
        &mut self,
        beats: impl Fn(&Node, &Node) -> bool,
        index: usize,
        leaf: Node,
    ) {
        let mut j = self.size + index;
        if j >= self.nodes.len() {
            return;
        }
        let mut cur = leaf;
        self.nodes[j] = cur;
        while j > 1 {
            let sib = self.nodes[j ^ 1];
            let right = j & 1 == 1;
            let key = |a: &Node, b: &Node| Node {
                oh: select_unpredictable(right, b.oh, a.oh),
                w: select_unpredictable(right, b.w, a.w),
                idx: 0,
            };
            let (l, r) = (key(&cur, &sib), key(&sib, &cur));
            let winner = (j & !1) | usize::from(beats(&l, &r));
            j >>= 1;
            cur = self.nodes[winner];
            self.nodes[j] = cur;
        }
    }

    /// The winner: what the kernel's list walk returns.
    pub(crate) fn pick(&self) -> Option<usize> {
        self.nodes
            .get(1)
            .filter(|n| n.idx != NONE)
            .map(|n| n.idx as usize)
    }
}
