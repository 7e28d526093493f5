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

use crate::dest::{Dest, Overhead};

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

/// A slot or the winner of a subtree: `idx == NONE` when no destination in
/// it can be picked.
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
const EMPTY: Node = Node {
    oh: 0,
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

/// Does `r` (later in the list) beat `l` strictly? Both are real slots.
#[inline(always)]
fn beats(rule: Rule, l: &Node, r: &Node) -> bool {
    match rule {
        // `doh < loh` (unsigned).
        Rule::Lc => r.oh < l.oh,
        // `(s64)loh * dest->weight > (s64)doh * least->weight`.
        Rule::Wlc | Rule::Sed => {
            u128::from(l.oh) * u128::from(r.w) > u128::from(r.oh) * u128::from(l.w)
        }
        // An idle destination (`active + 1 == 1`) is returned at once.
        Rule::Nq => {
            l.oh != 1
                && (r.oh == 1
                    || u128::from(l.oh) * u128::from(r.w) > u128::from(r.oh) * u128::from(l.w))
        }
        // `weight > hw`.
        Rule::Fo | Rule::Ovf => r.w > l.w,
    }
}

#[inline(always)]
fn play(rule: Rule, l: Node, r: Node) -> Node {
    if l.idx == NONE || (r.idx != NONE && beats(rule, &l, &r)) {
        r
    } else {
        l
    }
}

impl Least {
    pub(crate) fn new(rule: Rule, overhead: Overhead, dests: &[Dest]) -> Self {
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
    fn leaf(&self, i: usize, d: &Dest) -> Node {
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
    pub(crate) fn rebuild(&mut self, dests: &[Dest]) {
        self.size = dests.len().next_power_of_two().max(1);
        self.nodes.clear();
        self.nodes.resize(2 * self.size, EMPTY);
        for (i, d) in dests.iter().enumerate() {
            self.nodes[self.size + i] = self.leaf(i, d);
        }
        for j in (1..self.size).rev() {
            self.nodes[j] = play(self.rule, self.nodes[2 * j], self.nodes[2 * j + 1]);
        }
    }

    /// Use another overhead formula (lc, wlc).
    pub(crate) fn set_overhead(&mut self, overhead: Overhead, dests: &[Dest]) {
        self.overhead = overhead;
        self.rebuild(dests);
    }

    /// The destination at `index` changed: replay its path to the root.
    pub(crate) fn changed(&mut self, dests: &[Dest], index: usize) {
        let Some(d) = dests.get(index) else { return };
        let leaf = self.leaf(index, d);
        let mut j = self.size + index;
        let Some(slot) = self.nodes.get_mut(j) else {
            return;
        };
        *slot = leaf;
        let rule = self.rule;
        while j > 1 {
            let sibling = j ^ 1;
            let (l, r) = if j & 1 == 0 {
                (self.nodes[j], self.nodes[sibling])
            } else {
                (self.nodes[sibling], self.nodes[j])
            };
            j /= 2;
            self.nodes[j] = play(rule, l, r);
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
