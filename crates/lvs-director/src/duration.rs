//! Durations as the configuration writes them: `"300s"`, `"1.5s"`, `"500ms"`,
//! `"2m"`, `"1h"`, `"1m30s"`.

use std::time::Duration;

/// Parses a duration: one or more `NUMBER UNIT` parts (`ms`, `s`, `m`, `h`),
/// the number a decimal with an optional fraction. A bare number is refused
/// (the unit is never guessed).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?} (write e.g. \"2s\", \"500ms\", \"1m30s\")");
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number = &text[start..i];
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &text[unit_start..i];
        if number.is_empty() || unit.is_empty() {
            return Err(bad());
        }
        let value: f64 = number.parse().map_err(|_| bad())?;
        let seconds = match unit {
            "ms" => value / 1000.0,
            "s" => value,
            "m" => value * 60.0,
            "h" => value * 3600.0,
            _ => return Err(bad()),
        };
        // A week is far beyond any sensible interval, drain or persistence.
        if !seconds.is_finite() || seconds > 7.0 * 86_400.0 {
            return Err(format!("duration {text:?} is too long (at most a week)"));
        }
        total += Duration::from_secs_f64(seconds);
    }
    Ok(total)
}

/// Writes a duration the way [`parse_duration`] reads it back.
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sums() {
        assert_eq!(parse_duration("300s"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "5", "s", "5x", "1..2s", "-1s", "5 s", "9999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
    }
}
