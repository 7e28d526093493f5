//! The state `lvsd status` and `/metrics` show, as one snapshot the director
//! writes after every change. Its JSON form is `lvsd status --json`'s output
//! (field names stable, documented in docs/lvsd.md).

use std::collections::BTreeMap;

use ipvs_proto::{Connections, Stats};
use serde::Serialize;

/// The whole state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// The configuration file.
    pub config: String,
    /// The daemon's process id.
    pub pid: u32,
    /// The configured services, in file order.
    pub services: Vec<ServiceStatus>,
    /// Services in the kernel that the file does not name.
    pub foreign: Vec<String>,
}

/// One configured service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    /// ipvsadm's name of it: `TCP 10.0.0.1:80`, `FWM 1`.
    pub service: String,
    /// Scheduler.
    pub scheduler: String,
    /// Check type.
    pub check: String,
    /// Whether the kernel has it.
    pub in_kernel: bool,
    /// The sorry server, if any.
    pub sorry: Option<String>,
    /// Whether the sorry server is in the table now.
    pub sorry_active: bool,
    /// The kernel's counters.
    pub stats: Option<Stats>,
    /// The configured real servers.
    pub reals: Vec<RealStatus>,
    /// Real servers being drained.
    pub draining: Vec<DrainStatus>,
}

/// One configured real server.
#[derive(Debug, Clone, Serialize)]
pub struct RealStatus {
    /// Address and port.
    pub address: String,
    /// Weight in the file.
    pub configured_weight: u32,
    /// Weight in the kernel (absent: not in the table).
    pub weight: Option<u32>,
    /// `up` or `down`.
    pub health: String,
    /// When it became so (Unix seconds).
    pub since: u64,
    /// The last check.
    pub last_check: Option<LastCheck>,
    /// The kernel's connection counts.
    pub connections: Option<Connections>,
    /// The kernel's counters.
    pub stats: Option<Stats>,
    /// Load feedback, for real servers of services with agents.
    pub agent: Option<AgentStatus>,
}

/// A real server's load feedback.
#[derive(Debug, Clone, Serialize)]
pub struct AgentStatus {
    /// The weight feedback gives it (when up, unless a dynamic exec check
    /// sets one).
    pub weight: u32,
    /// Its agent's smoothed spare capacity, in percent.
    pub spare_percent: Option<f64>,
    /// Why it has that weight.
    pub reason: String,
    /// The last failure to get an answer, while it lasts.
    pub error: Option<String>,
    /// The weight changes feedback made since lvsd started, by the kind of
    /// their reason (`load`, `mean`, `drain`, `down`, `expired`, ...).
    pub changes: BTreeMap<String, u64>,
}

/// One check result.
#[derive(Debug, Clone, Serialize)]
pub struct LastCheck {
    /// Passed or not.
    pub ok: bool,
    /// What was seen, or why it failed.
    pub detail: String,
    /// How long it took.
    pub latency_seconds: f64,
    /// When it ended (Unix seconds).
    pub at: u64,
}

/// A real server being drained.
#[derive(Debug, Clone, Serialize)]
pub struct DrainStatus {
    /// Address and port.
    pub address: String,
    /// Weight in the kernel (0 once drained).
    pub weight: u32,
    /// Active connections left.
    pub active: u32,
    /// When the drain started (Unix seconds).
    pub since: u64,
}
