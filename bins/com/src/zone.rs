//! Time zones: the system's (from `TZ` or `/etc/localtime`), a named one
//! (`--tz Area/City`) or a fixed offset (`--utc-offset`), through jiff, which
//! reads the system's tz database. Local wall times are turned into instants
//! with the rules in force at that instant; live stamps take the offset of the
//! moment they are written, so a session follows daylight saving changes.
use std::fmt;

use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A time zone and the name to show for it.
#[derive(Debug, Clone)]
pub struct Zone {
    tz: TimeZone,
    name: String,
    /// The zone's one offset, if it has no rules (`--utc-offset`, UTC): then
    /// a wall time needs no look-up in the rules.
    fixed: Option<UtcOffset>,
}

/// How a local wall time became an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// The wall time happened once.
    Unique(OffsetDateTime),
    /// The wall time happened twice (the hour repeated when the clocks went
    /// back); `chosen` is one of the two offsets (see [`Zone::resolve`]).
    Repeated {
        chosen: OffsetDateTime,
        earlier: UtcOffset,
        later: UtcOffset,
    },
    /// The wall time never happened (the hour skipped when the clocks went
    /// forward): read with the offset before the change.
    Skipped {
        chosen: OffsetDateTime,
        before: UtcOffset,
        after: UtcOffset,
    },
}

impl Resolved {
    pub fn time(&self) -> OffsetDateTime {
        match *self {
            Resolved::Unique(t)
            | Resolved::Repeated { chosen: t, .. }
            | Resolved::Skipped { chosen: t, .. } => t,
        }
    }
}

fn utc_offset(o: Offset) -> UtcOffset {
    UtcOffset::from_whole_seconds(o.seconds()).unwrap_or(UtcOffset::UTC)
}

impl Zone {
    /// The system's zone: `TZ`, else `/etc/localtime`, else UTC (with a
    /// warning from the caller: `None` as the second value).
    pub fn system() -> (Zone, bool) {
        match TimeZone::try_system() {
            Ok(tz) => {
                let name = tz
                    .iana_name()
                    .map(str::to_owned)
                    .or_else(|| std::env::var("TZ").ok())
                    .unwrap_or_else(|| "the system's zone".to_string());
                (Zone::with_name(tz, name), true)
            }
            Err(_) => (Zone::with_name(TimeZone::UTC, "UTC".to_string()), false),
        }
    }

    /// A zone of the tz database, e.g. `America/New_York`.
    pub fn named(name: &str) -> Result<Zone, String> {
        TimeZone::get(name)
            .map(|tz| Zone::with_name(tz, name.to_string()))
            .map_err(|e| format!("unknown time zone `{name}`: {e}"))
    }

    /// A fixed offset.
    pub fn fixed(offset: UtcOffset) -> Zone {
        let o = Offset::from_seconds(offset.whole_seconds()).unwrap_or(Offset::UTC);
        Zone::with_name(TimeZone::fixed(o), format!("UTC{o}"))
    }

    fn with_name(tz: TimeZone, name: String) -> Zone {
        let fixed = tz.to_fixed_offset().ok().map(utc_offset);
        Zone { tz, name, fixed }
    }

    /// The offset in force at instant `t`.
    pub fn offset_at(&self, t: OffsetDateTime) -> UtcOffset {
        match jiff::Timestamp::from_second(t.unix_timestamp()) {
            Ok(ts) => utc_offset(self.tz.to_offset(ts)),
            Err(_) => UtcOffset::UTC,
        }
    }

    /// `t` in this zone's local time at that instant.
    pub fn local(&self, t: OffsetDateTime) -> OffsetDateTime {
        t.to_offset(self.offset_at(t))
    }

    /// The instant of a local wall time. A time in a repeated hour takes the
    /// earlier offset unless that would put it before `after` (the previous
    /// record of a log, which runs forward): then the later one.
    pub fn resolve(&self, local: PrimitiveDateTime, after: Option<OffsetDateTime>) -> Resolved {
        // A fixed offset: what the rules would say (for any wall time jiff
        // can hold, which is every four-digit year), without asking them.
        if let Some(offset) = self.fixed
            && (-9999..=9999).contains(&local.year())
        {
            return Resolved::Unique(local.assume_offset(offset));
        }
        let dt = DateTime::new(
            local.year() as i16,
            u8::from(local.month()) as i8,
            local.day() as i8,
            local.hour() as i8,
            local.minute() as i8,
            local.second() as i8,
            local.nanosecond() as i32,
        );
        let offset = match dt {
            Ok(dt) => self.tz.to_ambiguous_timestamp(dt).offset(),
            Err(_) => AmbiguousOffset::Unambiguous {
                offset: Offset::UTC,
            },
        };
        match offset {
            AmbiguousOffset::Unambiguous { offset } => {
                Resolved::Unique(local.assume_offset(utc_offset(offset)))
            }
            AmbiguousOffset::Fold {
                before,
                after: later,
            } => {
                let (earlier, later) = (utc_offset(before), utc_offset(later));
                let first = local.assume_offset(earlier);
                let chosen = match after {
                    Some(prev) if first < prev => local.assume_offset(later),
                    _ => first,
                };
                Resolved::Repeated {
                    chosen,
                    earlier,
                    later,
                }
            }
            AmbiguousOffset::Gap { before, after } => {
                let (before, after) = (utc_offset(before), utc_offset(after));
                Resolved::Skipped {
                    chosen: local.assume_offset(before),
                    before,
                    after,
                }
            }
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn new_york_offsets_follow_the_rules_of_each_instant() {
        let ny = Zone::named("America/New_York").unwrap();
        assert_eq!(
            ny.resolve(datetime!(2026-07-04 12:00), None),
            Resolved::Unique(datetime!(2026-07-04 12:00 -04:00))
        );
        assert_eq!(
            ny.resolve(datetime!(2026-01-04 12:00), None),
            Resolved::Unique(datetime!(2026-01-04 12:00 -05:00))
        );
        assert_eq!(
            ny.offset_at(datetime!(2026-03-08 06:59:59 UTC)),
            offset!(-5)
        );
        assert_eq!(ny.offset_at(datetime!(2026-03-08 07:00 UTC)), offset!(-4));
        // 02:30 on 8 March 2026 never happened in New York.
        assert!(matches!(
            ny.resolve(datetime!(2026-03-08 02:30), None),
            Resolved::Skipped { before, after, .. } if before == offset!(-5) && after == offset!(-4)
        ));
        // 01:30 on 1 November 2026 happened twice: first EDT, then EST.
        let first = ny.resolve(datetime!(2026-11-01 01:30), None).time();
        assert_eq!(first, datetime!(2026-11-01 01:30 -04:00));
        let prev = datetime!(2026-11-01 01:59:59 -04:00);
        let second = ny.resolve(datetime!(2026-11-01 01:10), Some(prev)).time();
        assert_eq!(second, datetime!(2026-11-01 01:10 -05:00));
        assert!(Zone::named("Mars/Olympus_Mons").is_err());
    }

    /// A fixed offset takes the short way: the same answer as the rules.
    #[test]
    fn fixed_offsets_resolve_as_their_rules_do() {
        for zone in [
            Zone::fixed(offset!(+9)),
            Zone::fixed(offset!(-5:30)),
            Zone::named("UTC").unwrap(),
        ] {
            assert!(zone.fixed.is_some(), "{zone}");
            let rules = Zone {
                fixed: None,
                ..zone.clone()
            };
            for t in [
                datetime!(2011-01-05 07:57:32),
                datetime!(2026-03-08 02:30),
                datetime!(2026-11-01 01:30:00.5),
                datetime!(0000-01-01 00:00),
                datetime!(9999-12-31 23:59:59),
            ] {
                assert_eq!(zone.resolve(t, None), rules.resolve(t, None), "{zone} {t}");
            }
        }
        assert!(Zone::named("America/New_York").unwrap().fixed.is_none());
    }
}
