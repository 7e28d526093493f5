//! One line per event on stderr. Under systemd (`JOURNAL_STREAM` set) each
//! line starts with its syslog priority (`<3>`, `<4>`, `<5>`, `<6>`), which the
//! journal reads as the entry's level; elsewhere it starts with `lvsd: `.

use std::io::Write as _;
use std::sync::OnceLock;

/// How important a line is (syslog levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error = 3,
    /// A real server went down, a reload was refused.
    Warning = 4,
    /// A real server came up, the table changed.
    Notice = 5,
    /// Start, stop, reload.
    Info = 6,
}

fn journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some())
}

/// Writes one line (several lines of `message` are joined with "; ").
pub fn line(level: Level, message: &str) {
    let message = message.replace('\n', "; ");
    let mut err = std::io::stderr().lock();
    let _ = if journal() {
        writeln!(err, "<{}>{message}", level as u8)
    } else {
        writeln!(err, "lvsd: {message}")
    };
}
