//! The commands of the IPVS family.

use crate::constants::*;

/// The commands of the IPVS family (`IPVS_CMD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvsCmd {
    /// Add a service; also the command of every service in a listing.
    NewService,
    /// Change a service.
    SetService,
    /// Delete a service.
    DelService,
    /// Get one service, or dump all.
    GetService,
    /// Add a destination; also the command of every destination in a listing.
    NewDest,
    /// Change a destination.
    SetDest,
    /// Delete a destination.
    DelDest,
    /// Dump the destinations of a service.
    GetDest,
    /// Start a sync daemon; also the command of every daemon in a listing.
    NewDaemon,
    /// Stop a sync daemon.
    DelDaemon,
    /// Dump the sync daemons.
    GetDaemon,
    /// Set timeouts; also the command of the timeouts reply.
    SetConfig,
    /// Get timeouts.
    GetConfig,
    /// Command of the reply to `GetInfo`.
    SetInfo,
    /// Get version and connection table size.
    GetInfo,
    /// Zero the counters of one service or of all.
    Zero,
    /// Delete every service.
    Flush,
    /// A command this crate does not know.
    Other(u8),
}

impl From<u8> for IpvsCmd {
    fn from(raw: u8) -> Self {
        match raw {
            IPVS_CMD_NEW_SERVICE => Self::NewService,
            IPVS_CMD_SET_SERVICE => Self::SetService,
            IPVS_CMD_DEL_SERVICE => Self::DelService,
            IPVS_CMD_GET_SERVICE => Self::GetService,
            IPVS_CMD_NEW_DEST => Self::NewDest,
            IPVS_CMD_SET_DEST => Self::SetDest,
            IPVS_CMD_DEL_DEST => Self::DelDest,
            IPVS_CMD_GET_DEST => Self::GetDest,
            IPVS_CMD_NEW_DAEMON => Self::NewDaemon,
            IPVS_CMD_DEL_DAEMON => Self::DelDaemon,
            IPVS_CMD_GET_DAEMON => Self::GetDaemon,
            IPVS_CMD_SET_CONFIG => Self::SetConfig,
            IPVS_CMD_GET_CONFIG => Self::GetConfig,
            IPVS_CMD_SET_INFO => Self::SetInfo,
            IPVS_CMD_GET_INFO => Self::GetInfo,
            IPVS_CMD_ZERO => Self::Zero,
            IPVS_CMD_FLUSH => Self::Flush,
            other => Self::Other(other),
        }
    }
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> Self {
        match cmd {
            IpvsCmd::NewService => IPVS_CMD_NEW_SERVICE,
            IpvsCmd::SetService => IPVS_CMD_SET_SERVICE,
            IpvsCmd::DelService => IPVS_CMD_DEL_SERVICE,
            IpvsCmd::GetService => IPVS_CMD_GET_SERVICE,
            IpvsCmd::NewDest => IPVS_CMD_NEW_DEST,
            IpvsCmd::SetDest => IPVS_CMD_SET_DEST,
            IpvsCmd::DelDest => IPVS_CMD_DEL_DEST,
            IpvsCmd::GetDest => IPVS_CMD_GET_DEST,
            IpvsCmd::NewDaemon => IPVS_CMD_NEW_DAEMON,
            IpvsCmd::DelDaemon => IPVS_CMD_DEL_DAEMON,
            IpvsCmd::GetDaemon => IPVS_CMD_GET_DAEMON,
            IpvsCmd::SetConfig => IPVS_CMD_SET_CONFIG,
            IpvsCmd::GetConfig => IPVS_CMD_GET_CONFIG,
            IpvsCmd::SetInfo => IPVS_CMD_SET_INFO,
            IpvsCmd::GetInfo => IPVS_CMD_GET_INFO,
            IpvsCmd::Zero => IPVS_CMD_ZERO,
            IpvsCmd::Flush => IPVS_CMD_FLUSH,
            IpvsCmd::Other(raw) => raw,
        }
    }
}
