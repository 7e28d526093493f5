//! The role of a synchronisation daemon.

use std::fmt;

use crate::constants::*;

/// Role of a synchronisation daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DaemonState {
    /// Sends connection state (`--start-daemon master`).
    Master,
    /// Receives connection state (`--start-daemon backup`).
    Backup,
    /// A state this crate does not know, with the kernel's number; kept so
    /// that it can be written back unchanged.
    Other(u32),
}

impl DaemonState {
    /// The kernel's number (`IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`).
    pub fn raw(self) -> u32 {
        match self {
            Self::Master => IP_VS_STATE_MASTER,
            Self::Backup => IP_VS_STATE_BACKUP,
            Self::Other(raw) => raw,
        }
    }

    /// The role with the kernel's number `raw` ([`DaemonState::Other`] for
    /// numbers this crate does not know).
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            IP_VS_STATE_MASTER => Self::Master,
            IP_VS_STATE_BACKUP => Self::Backup,
            other => Self::Other(other),
        }
    }
}

impl From<u32> for DaemonState {
    fn from(raw: u32) -> Self {
        Self::from_raw(raw)
    }
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Master => f.write_str("master"),
            Self::Backup => f.write_str("backup"),
            Self::Other(raw) => write!(f, "state {raw}"),
        }
    }
}
