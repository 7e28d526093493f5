//! Phase timings for finding where a command spends its time: with
//! `IPVSCTL_TIMINGS` set in the environment, each phase's duration goes to
//! stderr as `ipvsctl timing: PHASE MS ms (user U, system S)`, the process's
//! CPU time in user space and in the kernel during the phase; without it
//! nothing is measured.

use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

/// Environment variable that turns the timings on.
pub const ENV: &str = "IPVSCTL_TIMINGS";

/// A stopwatch over consecutive phases.
#[derive(Debug)]
pub struct Phases {
    last: Option<(Instant, Duration, Duration)>,
}

/// Now, and the CPU time used so far in user space and in the kernel.
fn now() -> (Instant, Duration, Duration) {
    let (user, system) =
        getrusage(UsageWho::RUSAGE_SELF).map_or((Duration::ZERO, Duration::ZERO), |u| {
            let d = |t: nix::sys::time::TimeVal| {
                Duration::from_micros(t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64)
            };
            (d(u.user_time()), d(u.system_time()))
        });
    (Instant::now(), user, system)
}

impl Phases {
    /// Starts the first phase, if timings are on.
    pub fn start() -> Self {
        Self {
            last: std::env::var_os(ENV).map(|_| now()),
        }
    }

    /// Ends the current phase (reporting it as `name`) and starts the next.
    pub fn mark(&mut self, name: &str) {
        if let Some((at, user, system)) = self.last {
            let next = now();
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            eprintln!(
                "ipvsctl timing: {name} {:.1} ms (user {:.1}, system {:.1})",
                ms(next.0 - at),
                ms(next.1.saturating_sub(user)),
                ms(next.2.saturating_sub(system))
            );
            self.last = Some(next);
        }
    }
}
