//! Phase timings for finding where a command spends its time: with
//! `IPVSCTL_TIMINGS` set in the environment, each phase's duration goes to
//! stderr as `ipvsctl timing: PHASE MS ms`; without it nothing is measured.

use std::time::Instant;

/// Environment variable that turns the timings on.
pub const ENV: &str = "IPVSCTL_TIMINGS";

/// A stopwatch over consecutive phases.
#[derive(Debug)]
pub struct Phases {
    last: Option<Instant>,
}

impl Phases {
    /// Starts the first phase, if timings are on.
    pub fn start() -> Self {
        Self {
            last: std::env::var_os(ENV).map(|_| Instant::now()),
        }
    }

    /// Ends the current phase (reporting it as `name`) and starts the next.
    pub fn mark(&mut self, name: &str) {
        if let Some(last) = self.last {
            let now = Instant::now();
            eprintln!(
                "ipvsctl timing: {name} {:.1} ms",
                (now - last).as_secs_f64() * 1e3
            );
            self.last = Some(now);
        }
    }
}
