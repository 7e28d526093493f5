//! How ipvsctl fails: an exact text and exit status, as ipvsadm reports them.
//!
//! Every module that talks to the kernel or refuses input builds a
//! [`Failure`]; `main` prints its text unchanged and exits with its status.

use std::fmt;

use ipvs_proto::Error;

use crate::cli::CliError;

/// A failure with an exact text (ending in a newline) and exit status, as
/// ipvsadm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub status: u8,
    pub message: String,
}

impl Failure {
    /// A failure whose one-line message gets its newline here.
    pub fn new(status: u8, message: impl fmt::Display) -> Self {
        Self {
            status,
            message: format!("{message}\n"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.trim_end_matches('\n'))
    }
}

impl std::error::Error for Failure {}

impl From<CliError> for Failure {
    fn from(err: CliError) -> Self {
        Self {
            status: err.status,
            message: err.message,
        }
    }
}

/// Exit status of kernel errors (ipvsadm returns -1 from `main`).
pub const KERNEL_FAILURE: u8 = 255;
/// Exit status of a failed listing.
pub const LIST_FAILURE: u8 = 1;
/// Exit status of errors found before talking to the kernel.
pub const USAGE_FAILURE: u8 = 2;

/// The text ipvsadm prints for an error of the kernel or of the transport.
pub fn error_text(err: &Error) -> String {
    match err {
        Error::Kernel(kernel) => kernel.message(),
        other => other.to_string(),
    }
}

/// A kernel or transport error as a failure with status [`KERNEL_FAILURE`].
pub fn kernel(err: Error) -> anyhow::Error {
    Failure::new(KERNEL_FAILURE, error_text(&err)).into()
}

/// A failed listing: status [`LIST_FAILURE`].
pub fn list(err: Error) -> anyhow::Error {
    Failure::new(LIST_FAILURE, error_text(&err)).into()
}
