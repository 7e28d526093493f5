//! The live session's view of the meter: the last consistent frame's values
//! (for `--metrics` and the Ctrl-T `v` values line), decoded from the bytes as
//! they arrive.
use hpm_frame::{
    Frame, StreamDecoder,
    check::Check,
    decode::{DecodeRule, TableRule},
    field::Label,
};

use crate::metrics::{Metrics, Values};

/// Decodes the port's bytes and keeps what the last frame said.
#[derive(Debug)]
pub struct Live {
    decoder: StreamDecoder,
    check: Check,
    rule: TableRule,
    metrics: Option<Metrics>,
    /// The last consistent frame's values line.
    last: Option<String>,
    /// Show a values line after each consistent frame (Ctrl-T v).
    pub show_values: bool,
    rejected: u64,
}

impl Live {
    pub fn new(metrics: Option<Metrics>) -> Live {
        Live {
            decoder: StreamDecoder::new(),
            check: Check::new(),
            rule: TableRule::inferred(),
            metrics,
            last: None,
            show_values: false,
            rejected: 0,
        }
    }

    /// Whether `--metrics` reads the values.
    pub fn has_metrics(&self) -> bool {
        self.metrics.is_some()
    }

    /// Feeds received bytes; returns the values line of each consistent
    /// frame when they are to be shown.
    pub fn feed(&mut self, data: &[u8]) -> Vec<String> {
        let mut frames = Vec::new();
        self.decoder.feed(data, |frame| frames.push(frame));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut lines = Vec::new();
        for frame in frames {
            if !self.check.verdict(&frame).is_consistent() {
                if let Some(m) = &self.metrics {
                    m.suspect();
                }
                continue;
            }
            let values = self.values(&frame);
            if let Some(m) = self.metrics.as_mut() {
                m.frame(&values, now);
            }
            let line = self.line(&frame);
            if self.show_values {
                lines.push(line.clone());
            }
            self.last = Some(line);
        }
        let rejected = self.decoder.stats().rejected;
        if let Some(m) = &self.metrics {
            m.damaged(rejected - self.rejected);
        }
        self.rejected = rejected;
        lines
    }

    /// The last consistent frame's values line, if any frame came.
    pub fn last_line(&self) -> Option<String> {
        self.last.clone()
    }

    /// `216.9 V  42.41 A  4.646 kW  PF 0.505  59.98 Hz  0.002 kWh`: the
    /// meter's own digits and units.
    fn line(&self, frame: &Frame) -> String {
        let mut parts = Vec::new();
        for label in [
            Label::Vo,
            Label::Am,
            Label::Wa,
            Label::Pf,
            Label::Hz,
            Label::Wh,
        ] {
            let Some(v) = frame.get(label).and_then(|f| self.rule.decode(f).ok()) else {
                continue;
            };
            parts.push(if label == Label::Pf {
                format!("PF {}", v.amount)
            } else {
                v.to_string()
            });
        }
        parts.join("  ")
    }

    fn values(&self, frame: &Frame) -> Values {
        let get = |label: Label, scale: f64| {
            frame
                .get(label)
                .and_then(|f| self.rule.decode(f).ok())
                .map(|v| v.amount.to_f64() * scale)
        };
        Values {
            volts: get(Label::Vo, 1.0),
            amperes: get(Label::Am, 1.0),
            watts: get(Label::Wa, 1000.0).map(|w| (w * 1000.0).round() / 1000.0),
            watt_hours: get(Label::Wh, 1000.0).map(|w| (w * 1000.0).round() / 1000.0),
            power_factor: get(Label::Pf, 1.0),
            hertz: get(Label::Hz, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = include_bytes!("../tests/data/stream-seed.bin");

    #[test]
    fn the_values_line_shows_the_last_frame() {
        let mut live = Live::new(None);
        live.show_values = true;
        let lines = live.feed(&STREAM[..90]);
        assert_eq!(
            lines,
            ["216.9 V  42.41 A  4.646 kW  PF 0.505  59.98 Hz  0.002 kWh"]
        );
        live.feed(&STREAM[90..]);
        assert_eq!(
            live.last_line().unwrap(),
            "216.9 V  42.43 A  4.646 kW  PF 0.504  59.97 Hz  0.004 kWh"
        );
    }
}
