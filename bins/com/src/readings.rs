//! The meter's readings from logs, for `com stats` and `com plot`: each frame of
//! a `watt.txt` or `rfc3339` log as an instant and its values in base units
//! (V, A, W, Wh, Hz), checked by `hpm-frame`'s consistency check.
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context;
use hpm_frame::{
    Frame, LogError, LogReader,
    check::Check,
    decode::{Decimal, DecodeRule, TableRule},
    field::Label,
    log::{InputKind, LogKind},
};
use time::{OffsetDateTime, PrimitiveDateTime};

/// A mistake in what was asked for (a file without times, an empty window):
/// `com` exits with code 2 for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The quantities a reading holds, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantity {
    Voltage,
    Current,
    Power,
    PowerFactor,
    Frequency,
    Energy,
}

impl Quantity {
    pub const ALL: [Quantity; 6] = [
        Quantity::Voltage,
        Quantity::Current,
        Quantity::Power,
        Quantity::PowerFactor,
        Quantity::Frequency,
        Quantity::Energy,
    ];

    /// The name on the command line (`--quantity power,voltage`).
    pub fn name(self) -> &'static str {
        match self {
            Quantity::Voltage => "voltage",
            Quantity::Current => "current",
            Quantity::Power => "power",
            Quantity::PowerFactor => "power_factor",
            Quantity::Frequency => "frequency",
            Quantity::Energy => "energy",
        }
    }

    /// The unit symbol of the values (`""`: a ratio).
    pub fn unit(self) -> &'static str {
        match self {
            Quantity::Voltage => "V",
            Quantity::Current => "A",
            Quantity::Power => "W",
            Quantity::PowerFactor => "",
            Quantity::Frequency => "Hz",
            Quantity::Energy => "Wh",
        }
    }

    /// `voltage_V`, `power_factor`: the JSON key.
    pub fn key(self) -> String {
        match self.unit() {
            "" => self.name().to_string(),
            u => format!("{}_{u}", self.name()),
        }
    }

    /// The frame's label and the power of ten from the decoded unit to the base
    /// unit (kW to W: 3).
    fn source(self) -> (Label, i32) {
        match self {
            Quantity::Voltage => (Label::Vo, 0),
            Quantity::Current => (Label::Am, 0),
            Quantity::Power => (Label::Wa, 3),
            Quantity::PowerFactor => (Label::Pf, 0),
            Quantity::Frequency => (Label::Hz, 0),
            Quantity::Energy => (Label::Wh, 3),
        }
    }

    /// A name on the command line: `power` or `power_W`.
    pub fn parse(s: &str) -> Result<Quantity, String> {
        Quantity::ALL
            .into_iter()
            .find(|q| q.name() == s || q.key() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Quantity::ALL.iter().map(|q| q.name()).collect();
                format!(
                    "unknown quantity `{s}`: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `units × 10^(pow − scale)`, exact whenever the result is an integer (the
/// meter's kW and kWh in W and Wh), else the correctly rounded quotient.
fn scaled(d: Decimal, pow: i32) -> f64 {
    let shift = pow - i32::from(d.scale);
    if shift >= 0 {
        (d.units as f64) * 10f64.powi(shift)
    } else {
        (d.units as f64) / 10f64.powi(-shift)
    }
}

/// One frame as numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub time: OffsetDateTime,
    /// Indexed like [`Quantity::ALL`]; `None` when the frame lacks the field.
    pub values: [Option<f64>; 6],
}

impl Reading {
    pub fn get(&self, q: Quantity) -> Option<f64> {
        self.values[q as usize]
    }
}

/// What the logs hold, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A consistent frame.
    Reading(Reading),
    /// A frame whose power disagrees with V × A × PF (or cannot be checked).
    Suspect(OffsetDateTime),
    /// A damaged record or a run of junk (it has no time).
    Damaged,
}

/// How a log's local wall time (a `watt.txt` stamp) becomes an instant, given
/// the previous record's instant (a log runs forward: in a repeated hour that
/// picks the offset).
pub type Resolve<'a> = &'a dyn Fn(PrimitiveDateTime, Option<OffsetDateTime>) -> OffsetDateTime;

/// Reads the logs one after the other and hands each item to `each`. Raw
/// captures are refused: they have no times.
pub fn read_logs(
    files: &[impl AsRef<Path>],
    resolve: Resolve<'_>,
    each: impl FnMut(Item),
) -> anyhow::Result<()> {
    read_quantities(files, resolve, &Quantity::ALL, each)
}

/// As [`read_logs`], decoding only `wanted` (the other values are `None`).
pub fn read_quantities(
    files: &[impl AsRef<Path>],
    resolve: Resolve<'_>,
    wanted: &[Quantity],
    mut each: impl FnMut(Item),
) -> anyhow::Result<()> {
    let rule = TableRule::inferred();
    let check = Check::new();
    let mut previous = None;
    for path in files {
        let path = path.as_ref();
        let name = path.display();
        let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
        let mut source = BufReader::with_capacity(256 * 1024, file);
        let head = source
            .fill_buf()
            .with_context(|| format!("reading {name}"))?;
        let kind = match InputKind::sniff(head) {
            InputKind::WattLog => LogKind::Watt,
            InputKind::Rfc3339Log => LogKind::Rfc3339,
            InputKind::RawStream if head.is_empty() => continue,
            InputKind::RawStream => {
                return Err(Usage(format!(
                    "{name} has no timestamps (a raw capture, not a watt.txt or rfc3339 log): \
                     nothing to place the frames in time"
                ))
                .into());
            }
        };
        for item in LogReader::with_kind(source, kind) {
            match item {
                Ok(record) => {
                    let time = match record.offset {
                        Some(offset) => record.time.assume_offset(offset),
                        None => resolve(record.time, previous),
                    };
                    previous = Some(time);
                    if !check.verdict(&record.frame).is_consistent() {
                        each(Item::Suspect(time));
                        continue;
                    }
                    each(Item::Reading(reading(&rule, time, &record.frame, wanted)));
                }
                Err(LogError::Io { source, .. }) => {
                    return Err(anyhow::anyhow!("reading {name}: {source}"));
                }
                Err(_) => each(Item::Damaged),
            }
        }
    }
    Ok(())
}

fn reading(rule: &TableRule, time: OffsetDateTime, frame: &Frame, wanted: &[Quantity]) -> Reading {
    let mut values = [None; 6];
    for &q in wanted {
        let (label, pow) = q.source();
        values[q as usize] = frame
            .get(label)
            .and_then(|field| rule.decode(field).ok())
            .map(|v| scaled(v.amount, pow));
    }
    Reading { time, values }
}

/// A time given on the command line (`--from`, `--to`): an instant, or a local
/// wall time read in the logs' zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    Instant(OffsetDateTime),
    Local(PrimitiveDateTime),
}

impl TimeArg {
    /// RFC 3339 (`2026-11-24T23:32:00+09:00`, `...Z`), or local
    /// `YYYY-MM-DD or YYYY-MM-DD HH:MM(:SS)` (a `T` may stand for the space).
    pub fn parse(s: &str) -> Result<TimeArg, String> {
        use time::format_description::well_known::Rfc3339;
        use time::macros::format_description;
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(TimeArg::Instant(t));
        }
        let local = s.replacen('T', " ", 1);
        let forms = [
            format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            format_description!("[year]-[month]-[day] [hour]:[minute]"),
        ];
        for form in forms {
            if let Ok(t) = PrimitiveDateTime::parse(&local, form) {
                return Ok(TimeArg::Local(t));
            }
        }
        if let Ok(d) = time::Date::parse(&local, format_description!("[year]-[month]-[day]")) {
            return Ok(TimeArg::Local(d.midnight()));
        }
        Err(format!(
            "invalid time `{s}`: expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] (local time) \
             or RFC 3339 such as 2026-11-24T23:32:00+09:00"
        ))
    }

    pub fn instant(self, resolve: Resolve<'_>) -> OffsetDateTime {
        match self {
            TimeArg::Instant(t) => t,
            TimeArg::Local(t) => resolve(t, None),
        }
    }
}

/// The time window `[from, to)` of `--from` and `--to`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
}

impl Window {
    pub fn new(
        from: Option<TimeArg>,
        to: Option<TimeArg>,
        resolve: Resolve<'_>,
    ) -> anyhow::Result<Window> {
        let window = Window {
            from: from.map(|t| t.instant(resolve)),
            to: to.map(|t| t.instant(resolve)),
        };
        if let (Some(a), Some(b)) = (window.from, window.to)
            && a >= b
        {
            return Err(Usage(format!(
                "--from {} is not before --to {}",
                rfc3339(a),
                rfc3339(b)
            ))
            .into());
        }
        Ok(window)
    }

    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|e| t < e)
    }
}

/// An instant as RFC 3339 with its offset, to the second when it has no
/// fraction.
pub fn rfc3339(t: OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_units_become_base_units_exactly() {
        let kw = Decimal {
            units: 4646,
            scale: 3,
        };
        assert_eq!(scaled(kw, 3), 4646.0);
        let kwh = Decimal { units: 2, scale: 3 };
        assert_eq!(scaled(kwh, 3), 2.0);
        let big = Decimal {
            units: 1234,
            scale: 0,
        };
        assert_eq!(scaled(big, 3), 1_234_000.0);
        let volts = Decimal {
            units: 2169,
            scale: 1,
        };
        assert_eq!(scaled(volts, 0), 216.9);
    }

    #[test]
    fn times_parse_as_instants_or_local_times() {
        use time::macros::datetime;
        assert_eq!(
            TimeArg::parse("2026-11-24T23:32:00+09:00"),
            Ok(TimeArg::Instant(datetime!(2026-11-24 23:32:00 +09:00)))
        );
        assert_eq!(
            TimeArg::parse("2026-11-24 23:32"),
            Ok(TimeArg::Local(datetime!(2026-11-24 23:32:00)))
        );
        assert_eq!(
            TimeArg::parse("2026-11-24T23:32:05"),
            Ok(TimeArg::Local(datetime!(2026-11-24 23:32:05)))
        );
        assert_eq!(
            TimeArg::parse("2026-11-24"),
            Ok(TimeArg::Local(datetime!(2026-11-24 00:00:00)))
        );
        assert!(TimeArg::parse("yesterday").is_err());
        assert!(TimeArg::parse("2026-13-01").is_err());
        assert_eq!(Quantity::parse("power"), Ok(Quantity::Power));
        assert_eq!(Quantity::parse("voltage_V"), Ok(Quantity::Voltage));
        assert!(Quantity::parse("watts").is_err());
    }
}
