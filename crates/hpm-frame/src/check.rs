//! The consistency check: volts × amperes × power factor against watts.
//!
//! `Vo`, `Am`, `Pf` and `Wa` describe one quantity twice: the real power is
//! V × A × PF, and the meter shows it as `Wa` too. A frame in which one digit was
//! changed on the line (a substitution keeps the frame's shape, so the grammar
//! cannot see it) almost always breaks that equation.
//!
//! Each shown value stands for anything within half a unit of its last digit
//! (216.9 V for 216.85 to 216.95). The check takes these intervals, multiplies
//! them out, and calls the frame consistent when the product's interval, widened
//! by a relative [margin](Check::DEFAULT_MARGIN), meets the interval of the shown
//! watts. The margin is there because the meter does not sample the four readings
//! at one instant: in the seed samples `Wa` differs from V × A × PF by up to
//! 0.16 %, while the rounding of the shown digits explains at most 0.15 % there.
//!
//! A frame without all four fields (or whose rule cannot decode one of them)
//! cannot be checked: [`Verdict::Unverifiable`]. A frame cut so that only its end
//! remains (a byte `S` inserted before a field) lacks `Vo`, so it is never taken
//! for a checked frame.

use crate::decode::{DecodeRule, Scheme, TableRule, Unit};
use crate::field::Label;
use crate::frame::Frame;

/// The outcome of the check for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Watts agree with volts × amperes × power factor.
    Consistent,
    /// They disagree beyond the tolerance.
    Suspect(Mismatch),
    /// This field is missing, or the rule gives it no value in a known unit.
    Unverifiable(Label),
}

impl Verdict {
    /// Whether the frame passed.
    pub fn is_consistent(&self) -> bool {
        matches!(self, Verdict::Consistent)
    }
}

/// How far a suspect frame's watts are from volts × amperes × power factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mismatch {
    /// The watts shown (`Wa`), in W.
    pub shown_w: f64,
    /// V × A × PF from the shown values, in W.
    pub computed_w: f64,
}

/// The consistency check, with a decoding rule (by default
/// [`TableRule::inferred`]) and a margin.
///
/// ```
/// use hpm_frame::{Frame, check::{Check, Verdict}};
///
/// let check = Check::new();
/// let good = Frame::parse(b"S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E")?;
/// assert_eq!(check.verdict(&good), Verdict::Consistent);
/// // One digit of the current changed on the line: 42.41 A became 48.41 A.
/// let bad = Frame::parse(b"S:  21693Vo:  48412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E")?;
/// assert!(matches!(check.verdict(&bad), Verdict::Suspect(_)));
/// # Ok::<(), hpm_frame::FrameError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Check<R: DecodeRule = TableRule> {
    rule: R,
    margin: f64,
    /// How each of the four fields is read, in [`CHECKED`] order: asked of
    /// the rule once, so that a frame is checked without a call to the rule
    /// per field when it decodes the label by a plain [`Scheme`].
    plan: [Plan; 4],
    /// The unit factors, when the plan reads all four by
    /// [`Scheme::PointDigit`] (as the inferred rule does).
    point_digit: Option<[f64; 4]>,
}

/// The fields the check reads, in the order it reports a missing one.
const CHECKED: [Label; 4] = [Label::Vo, Label::Am, Label::Pf, Label::Wa];

/// Their places in [`Label::KNOWN`].
const CHECKED_KNOWN: [usize; 4] = [0, 1, 4, 2];

/// How the check reads one of its fields.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// Straight from the digits by the rule's scheme for the label, then
    /// times this factor to the base unit.
    Scheme { scheme: Scheme, factor: f64 },
    /// The rule decodes the label into a unit the check cannot use.
    NoUnit,
    /// Through the rule, field by field.
    Rule,
}

/// The factor from a field's unit to the check's base unit (V, A, W, or 1 for
/// the power factor), if the check can use that unit for that label.
fn factor(label: Label, unit: Unit) -> Option<f64> {
    Some(match (label, unit) {
        (Label::Vo, Unit::Volt) | (Label::Am, Unit::Ampere) | (Label::Wa, Unit::Watt) => 1.0,
        (Label::Pf, Unit::None) => 1.0,
        (Label::Am, Unit::Milliampere) => 1e-3,
        (Label::Wa, Unit::Kilowatt) => 1e3,
        _ => return None,
    })
}

impl Default for Check {
    fn default() -> Check {
        Check::new()
    }
}

impl Check {
    /// The check with the inferred rule and [`Check::DEFAULT_MARGIN`].
    pub fn new() -> Check {
        Check::with_rule(TableRule::inferred())
    }
}

impl<R: DecodeRule> Check<R> {
    /// The margin beyond rounding: 0.3 % of the power, about twice the largest
    /// difference between `Wa` and V × A × PF in the seed samples (0.16 %, of
    /// which rounding explains all but 0.015 %), for the load changing between
    /// the meter's readings. A smaller margin catches a few more single-digit
    /// errors, a larger one fewer (counts in the crate README).
    pub const DEFAULT_MARGIN: f64 = 0.003;

    /// The check with another decoding rule.
    pub fn with_rule(rule: R) -> Check<R> {
        let plan = CHECKED.map(|label| match rule.scheme(label) {
            Some((scheme, unit)) => match factor(label, unit) {
                Some(factor) => Plan::Scheme { scheme, factor },
                None => Plan::NoUnit,
            },
            None => Plan::Rule,
        });
        let point_digit = match plan {
            [
                Plan::Scheme {
                    scheme: Scheme::PointDigit,
                    factor: v,
                },
                Plan::Scheme {
                    scheme: Scheme::PointDigit,
                    factor: a,
                },
                Plan::Scheme {
                    scheme: Scheme::PointDigit,
                    factor: p,
                },
                Plan::Scheme {
                    scheme: Scheme::PointDigit,
                    factor: w,
                },
            ] => Some([v, a, p, w]),
            _ => None,
        };
        Check {
            rule,
            margin: Self::DEFAULT_MARGIN,
            plan,
            point_digit,
        }
    }

    /// The same check with another relative margin (0.005 = 0.5 %; negative
    /// values count as 0).
    pub fn margin(mut self, margin: f64) -> Check<R> {
        self.margin = margin.max(0.0);
        self
    }

    /// The margin in use.
    pub fn margin_in_use(&self) -> f64 {
        self.margin
    }

    /// The shown value's interval, in base units (V, A, W, or 1 for PF),
    /// through the rule.
    fn interval(&self, frame: &Frame, label: Label) -> Option<(f64, f64, f64)> {
        let field = frame.get(label)?;
        let (amount, unit, resolution) = self.rule.shown(field)?;
        let scale = factor(label, unit)?;
        Some(spread(amount.to_f64(), resolution, scale))
    }

    /// [`interval`](Self::interval) by the plan: the same numbers, for the
    /// inferred rule without a call to the rule.
    #[inline(always)]
    fn planned(&self, frame: &Frame, k: usize) -> Option<(f64, f64, f64)> {
        let label = CHECKED[k];
        match self.plan[k] {
            Plan::Scheme { scheme, factor } => {
                // A known label: its index is its place in `Label::KNOWN`.
                let digits = frame.known_digits(label.known_index()? as usize)?;
                let (x, resolution) = scheme.shown_f64(digits)?;
                Some(spread(x, resolution, factor))
            }
            Plan::NoUnit => None,
            Plan::Rule => self.interval(frame, label),
        }
    }

    /// The four fields read by the point-digit scheme, when the plan reads
    /// all four so (the inferred rule) and the frame has them all with 2 to 5
    /// digits: straight-line code, the same numbers as [`planned`](Self::planned).
    #[inline(always)]
    fn point_digit_parts(&self, frame: &Frame) -> Option<[(f64, f64, f64); 4]> {
        let factors = self.point_digit?;
        let read = |k: usize| -> Option<(f64, f64, f64)> {
            let digits = frame.known_digits(CHECKED_KNOWN[k])?;
            let (x, resolution) = Scheme::PointDigit.shown_f64(digits)?;
            Some(spread(x, resolution, factors[k]))
        };
        Some([read(0)?, read(1)?, read(2)?, read(3)?])
    }

    /// Whether the frame's watts agree with its volts × amperes × power factor.
    pub fn verdict(&self, frame: &Frame) -> Verdict {
        if let Some(parts) = self.point_digit_parts(frame) {
            return self.judge(parts);
        }
        // The four read independently (so that their arithmetic overlaps),
        // the first that cannot be read reported.
        let read = [
            self.planned(frame, 0),
            self.planned(frame, 1),
            self.planned(frame, 2),
            self.planned(frame, 3),
        ];
        let mut parts = [(0.0, 0.0, 0.0); 4];
        for (k, (slot, iv)) in parts.iter_mut().zip(read).enumerate() {
            match iv {
                Some(iv) => *slot = iv,
                None => return Verdict::Unverifiable(CHECKED[k]),
            }
        }
        self.judge(parts)
    }

    /// The verdict on the four intervals (volts, amperes, power factor, watts).
    #[inline(always)]
    fn judge(&self, parts: [(f64, f64, f64); 4]) -> Verdict {
        let [(v0, v1, v), (a0, a1, a), (p0, p1, p), (w0, w1, w)] = parts;
        let (lo, hi) = (v0 * a0 * p0, v1 * a1 * p1);
        if lo * (1.0 - self.margin) <= w1 && w0 <= hi * (1.0 + self.margin) {
            return Verdict::Consistent;
        }
        Verdict::Suspect(Mismatch {
            shown_w: w,
            computed_w: v * a * p,
        })
    }
}

/// A shown value `x` with this resolution as (low, high, value) in base units.
#[inline(always)]
fn spread(x: f64, resolution: f64, scale: f64) -> (f64, f64, f64) {
    let half = resolution / 2.0;
    (((x - half).max(0.0)) * scale, (x + half) * scale, x * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_labels_have_their_known_places() {
        for (label, k) in CHECKED.iter().zip(CHECKED_KNOWN) {
            assert_eq!(Label::KNOWN[k], *label);
        }
    }
}
