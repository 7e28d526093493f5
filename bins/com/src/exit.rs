//! com's exit codes: one table, read by `main` (the code a run ends with), the
//! session (how it ended) and `--help` (the text after the options).
use std::fmt;

/// How a run of `com` ends, and so its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the session ended normally, or a command finished.
    Done,
    /// 1: an error during the session (any error not given another code).
    Failed,
    /// 2: a bad command line.
    Usage,
    /// 3: the device could not be opened.
    Open,
    /// 4: the device hung up and `--reconnect` was not given.
    Hangup,
    /// 128 + N: ended by signal N after a clean shutdown.
    Signal(i32),
}

/// The help text of each code, in `--help` order. The signal row's codes are
/// those of the signals `tty::ExitSignals` catches.
const TABLE: [(Exit, &str); 6] = [
    (
        Exit::Done,
        "the session ended normally (exit key, end of input, --list, decode done)",
    ),
    (
        Exit::Failed,
        "an error during the session (log or output write failed, port error)",
    ),
    (
        Exit::Usage,
        "bad command line (unknown option; bad speed, framing, key, zone or\n\
         offset; colliding keys; --log = --out; decode -o onto its input)",
    ),
    (
        Exit::Open,
        "the device could not be opened (missing, not a tty, permission, in use)",
    ),
    (
        Exit::Hangup,
        "the device hung up (adapter unplugged) and --reconnect was not given",
    ),
    (
        Exit::Signal(0),
        "ended by SIGHUP, SIGINT or SIGTERM (128 + signal) after a clean shutdown:\n\
         everything received was logged, the terminal and port were restored",
    ),
];

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Done => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Open => 3,
            Exit::Hangup => 4,
            Exit::Signal(signal) => 128u8.wrapping_add(signal as u8),
        }
    }

    /// `error`, ending the run with this code (else an error ends it with
    /// [`Exit::Failed`]).
    pub fn because(self, error: anyhow::Error) -> anyhow::Error {
        Ending { exit: self, error }.into()
    }

    /// The code an error ends the run with.
    pub fn of(error: &anyhow::Error) -> Exit {
        error
            .downcast_ref::<Ending>()
            .map_or(Exit::Failed, |e| e.exit)
    }

    /// The "Exit codes:" section of `--help`.
    pub fn help() -> String {
        let mut text = String::from("Exit codes:\n");
        for (exit, meaning) in TABLE {
            let codes = match exit {
                Exit::Signal(_) => {
                    let mut signals = tty::EXIT_SIGNALS;
                    signals.sort_unstable();
                    let codes: Vec<String> = signals
                        .iter()
                        .map(|&s| Exit::Signal(s).code().to_string())
                        .collect();
                    codes.join(", ")
                }
                _ => exit.code().to_string(),
            };
            // Codes in a column of 5 after 2 spaces, the meaning after them;
            // codes wider than the column get a line of their own.
            const INDENT: &str = "       ";
            if codes.len() < 5 {
                text.push_str(&format!("  {codes:<5}"));
            } else {
                text.push_str(&format!("  {codes}\n{INDENT}"));
            }
            text.push_str(&meaning.replace('\n', &format!("\n{INDENT}")));
            text.push('\n');
        }
        text
    }
}

/// An error and its exit code; made by [`Exit::because`], read by [`Exit::of`].
#[derive(Debug)]
struct Ending {
    exit: Exit,
    error: anyhow::Error,
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&report(&self.error))
    }
}

impl std::error::Error for Ending {}

/// An error and its causes on one line, each cause once: library errors often
/// name their cause in their own message already.
pub fn report(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let codes: Vec<u8> = TABLE.iter().map(|(e, _)| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 128]);
        assert_eq!(Exit::Signal(2).code(), 130);
        assert_eq!(Exit::Signal(15).code(), 143);
    }

    #[test]
    fn help_lists_every_code_in_its_column() {
        let help = Exit::help();
        assert!(help.starts_with("Exit codes:\n  0    the session ended normally"));
        assert!(help.contains("\n  2    bad command line (unknown option;"));
        assert!(help.contains("\n       offset; colliding keys;"));
        assert!(help.contains("\n  129, 130, 143\n       ended by SIGHUP"));
        assert!(help.ends_with("the terminal and port were restored\n"));
    }

    #[test]
    fn an_error_keeps_its_code_and_its_text() {
        let plain = anyhow::anyhow!("disk full");
        assert_eq!(Exit::of(&plain), Exit::Failed);
        let coded = Exit::Usage.because(anyhow::anyhow!("bad key").context("--exit-key"));
        assert_eq!(Exit::of(&coded), Exit::Usage);
        assert_eq!(report(&coded), "--exit-key: bad key");
    }
}
