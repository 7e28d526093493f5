//! Refusals of the command line: ipvsadm's text and exit status.

/// A refusal with ipvsadm's text (including the final newline) and exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub status: u8,
    pub message: String,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message.trim_end_matches('\n'))
    }
}

impl std::error::Error for CliError {}

/// ipvsadm's `fail(2, ...)`.
pub(super) fn fail(message: impl Into<String>) -> CliError {
    let mut message = message.into();
    message.push('\n');
    CliError { status: 2, message }
}

/// ipvsadm's `tryhelp_exit(program, -1)`.
pub(super) fn try_help(program: &str) -> CliError {
    CliError {
        status: 255,
        message: format!("Try `{program} -h' or '{program} --help' for more information.\n"),
    }
}
