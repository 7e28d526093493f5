//! The load-to-weight policy: agents' reports in, IPVS weights out.
//!
//! A [`Pool`] holds the real servers of one virtual service, each with its
//! configured weight and whether an agent reports for it. Reports
//! ([`Pool::report`]) and the clock ([`Pool::tick`], once per interval) are
//! the only inputs; time is a [`Duration`] since any fixed origin, so the
//! policy is a pure function of time and reports.
//!
//! Per real server, on each tick, a *target* weight is chosen:
//!
//! 1. `drain`, `maint`, `down`, `fail` or `stopped` from its agent: 0, at
//!    once. It stays until the agent says `ready` / `up` (as in HAProxy, only
//!    the agent undoes its own word; silence does not).
//! 2. An agent whose reports are usable (the first report of its current
//!    run of reports is at least `blackout` old, the last one at most
//!    `expiry` old): configured × smoothed percentage, where the percentage
//!    is an EWMA of the reported ones (capped at 100) and the result is at
//!    least 1: load alone never takes a real server out.
//! 3. An agent that fell silent for longer than `expiry`: the configured
//!    weight; so does one that has not answered at all for longer than
//!    `expiry` since the pool's first tick. Until then, an agent that never
//!    reported keeps the weight it has (see [`Pool::adopt`]: a restarted
//!    director moves nothing, not even a drained 0, before the first
//!    answer). An agent in its blackout: the weight it has, or the
//!    configured one if that is 0.
//! 4. A real server without an agent: configured × the mean of the usable
//!    smoothed percentages of the others (the configured weight when there
//!    are none).
//!
//! The weight then moves towards the target: a change is made only when
//! the target is more than `band` away from the current weight, or is 0 or
//! the configured weight; and by at most `max_step` per tick (0 from an
//! explicit word is applied at once).

use std::fmt;
use std::time::Duration;

/// The policy's knobs. Percentages are of the configured weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// EWMA weight of a new report, in (0, 1]: 1 uses the last report only.
    pub alpha: f64,
    /// Largest change per tick, in percent of the configured weight (at
    /// least one weight unit).
    pub max_step_percent: u32,
    /// Hysteresis band, in percent of the configured weight: smaller moves
    /// are not made (except to 0 or to the configured weight).
    pub band_percent: u32,
    /// A new or returning agent's reports are used only this long after
    /// its first report.
    pub blackout: Duration,
    /// An agent silent for longer than this no longer counts: its weight
    /// returns to the configured one and a later report starts a new
    /// blackout.
    pub expiry: Duration,
}

impl Default for Config {
    /// `alpha` 0.5, steps of 25 %, a band of 5 %, 10 s blackout, 30 s expiry
    /// (meant for agent intervals of about 2 s).
    fn default() -> Config {
        Config {
            alpha: 0.5,
            max_step_percent: 25,
            band_percent: 5,
            blackout: Duration::from_secs(10),
            expiry: Duration::from_secs(30),
        }
    }
}

/// Why a policy setting was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `alpha` outside (0, 1].
    #[error("alpha must be more than 0 and at most 1")]
    Alpha,
    /// `max_step_percent` of 0 or over 100.
    #[error("max step must be 1 to 100 percent (got {0})")]
    Step(u32),
    /// `band_percent` over 100.
    #[error("hysteresis band must be 0 to 100 percent (got {0})")]
    Band(u32),
}

impl Config {
    /// Checks the knobs' ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(ConfigError::Alpha);
        }
        if self.max_step_percent == 0 || self.max_step_percent > 100 {
            return Err(ConfigError::Step(self.max_step_percent));
        }
        if self.band_percent > 100 {
            return Err(ConfigError::Band(self.band_percent));
        }
        Ok(())
    }
}

/// Why a weight was chosen; printed in logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reason {
    /// The agent's smoothed spare capacity, in percent.
    Load(f64),
    /// The mean of the other real servers' smoothed percentages (no agent).
    Mean(f64),
    /// The agent said `drain` or `maint`.
    Drain,
    /// The agent said `down`, `fail` or `stopped`.
    Down,
    /// The agent's reports are not used yet (new or returning agent): the
    /// weight is held.
    Blackout,
    /// The agent has been silent for longer than the expiry.
    Expired,
    /// No usable report: an agent that never answered (weight held), or no
    /// agent and nothing to take a mean of (configured weight).
    NoReport,
}

impl Reason {
    /// A short name of the kind of reason, without its figure (`load`,
    /// `mean`, `drain`, `down`, `blackout`, `expired`, `no_report`): a
    /// metric's label.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::Load(_) => "load",
            Reason::Mean(_) => "mean",
            Reason::Drain => "drain",
            Reason::Down => "down",
            Reason::Blackout => "blackout",
            Reason::Expired => "expired",
            Reason::NoReport => "no_report",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Load(p) => write!(f, "agent reports {p:.1}% spare (smoothed)"),
            Reason::Mean(p) => write!(f, "no agent: mean of the others, {p:.1}%"),
            Reason::Drain => f.write_str("agent says drain"),
            Reason::Down => f.write_str("agent says down"),
            Reason::Blackout => f.write_str("agent in blackout: weight held"),
            Reason::Expired => f.write_str("agent silent past expiry: configured weight"),
            Reason::NoReport => f.write_str("no usable report: weight held"),
        }
    }
}

/// One weight change made by [`Pool::tick`].
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The real server's index in the pool.
    pub server: usize,
    /// Its weight before.
    pub from: u32,
    /// Its weight now.
    pub to: u32,
    /// Why.
    pub reason: Reason,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "real server {}: weight {} -> {} ({})",
            self.server, self.from, self.to, self.reason
        )
    }
}

#[derive(Debug, Clone, Default)]
struct Agent {
    /// First report of the current run of reports.
    run_start: Option<Duration>,
    last_report: Option<Duration>,
    smoothed: Option<f64>,
    drain: bool,
    down: bool,
}

impl Agent {
    fn expired(&self, now: Duration, cfg: &Config) -> bool {
        self.last_report
            .is_some_and(|t| now.saturating_sub(t) > cfg.expiry)
    }

    /// The smoothed percentage when it may be used.
    fn usable(&self, now: Duration, cfg: &Config) -> Option<f64> {
        let start = self.run_start?;
        if self.expired(now, cfg) || now.saturating_sub(start) < cfg.blackout {
            return None;
        }
        self.smoothed
    }
}

#[derive(Debug, Clone)]
struct Server {
    configured: u32,
    weight: u32,
    agent: Option<Agent>,
    reason: Reason,
}

/// The real servers of one service and their feedback state.
#[derive(Debug, Clone)]
pub struct Pool {
    cfg: Config,
    servers: Vec<Server>,
    /// The time of the first tick: silence is counted from it for agents
    /// that never answered.
    origin: Option<Duration>,
}

/// `configured × percent / 100`, rounded, at least 1 when configured ≥ 1.
fn weight_for(configured: u32, percent: f64) -> u32 {
    let p = percent.clamp(0.0, 100.0);
    let w = (f64::from(configured) * p / 100.0).round() as u32;
    w.clamp(configured.min(1), configured)
}

impl Pool {
    /// An empty pool with checked knobs.
    pub fn new(cfg: Config) -> Result<Pool, ConfigError> {
        cfg.validate()?;
        Ok(Pool {
            cfg,
            servers: Vec::new(),
            origin: None,
        })
    }

    /// The knobs.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Adds a real server at its configured weight; returns its index.
    pub fn add(&mut self, configured: u32, has_agent: bool) -> usize {
        self.servers.push(Server {
            configured,
            weight: configured,
            agent: has_agent.then(Agent::default),
            reason: Reason::NoReport,
        });
        self.servers.len() - 1
    }

    /// The number of real servers.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// `true` without real servers.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The current weight of real server `i` (`None`: no such index).
    pub fn weight(&self, i: usize) -> Option<u32> {
        self.servers.get(i).map(|s| s.weight)
    }

    /// The configured weight of real server `i`.
    pub fn configured(&self, i: usize) -> Option<u32> {
        self.servers.get(i).map(|s| s.configured)
    }

    /// Why real server `i` has its current target (as of the last tick).
    pub fn reason(&self, i: usize) -> Option<Reason> {
        self.servers.get(i).map(|s| s.reason)
    }

    /// The smoothed percentage of real server `i`'s agent, if it reported.
    pub fn smoothed(&self, i: usize) -> Option<f64> {
        self.servers.get(i)?.agent.as_ref()?.smoothed
    }

    /// Takes `weight` (at most the configured one) as real server `i`'s
    /// current weight, e.g. the kernel's at a director's restart, so that
    /// nothing moves until reports say so. `false`: no such index.
    pub fn adopt(&mut self, i: usize, weight: u32) -> bool {
        match self.servers.get_mut(i) {
            Some(s) => {
                s.weight = weight.min(s.configured);
                true
            }
            None => false,
        }
    }

    /// Changes real server `i`'s configured weight (a reload); the current
    /// weight follows on the next ticks. `false`: no such index.
    pub fn set_configured(&mut self, i: usize, configured: u32) -> bool {
        match self.servers.get_mut(i) {
            Some(s) => {
                s.configured = configured;
                s.weight = s.weight.min(configured);
                true
            }
            None => false,
        }
    }

    /// Records an agent's answer for real server `i` at time `now`. Returns
    /// `false` (and does nothing) when `i` is out of range or the server has
    /// no agent. A report without a percentage still counts as a sign of
    /// life. A failed connection or an unreadable answer is not a report:
    /// do not call this for those.
    pub fn report(&mut self, i: usize, now: Duration, report: &crate::Report) -> bool {
        let cfg = &self.cfg;
        let Some(agent) = self.servers.get_mut(i).and_then(|s| s.agent.as_mut()) else {
            return false;
        };
        let returning = agent.run_start.is_none() || agent.expired(now, cfg);
        if returning {
            agent.run_start = Some(now);
            agent.smoothed = None;
        }
        agent.last_report = Some(now);
        if let Some(p) = report.percent {
            let p = f64::from(p.min(100));
            agent.smoothed = Some(match agent.smoothed {
                Some(s) => cfg.alpha * p + (1.0 - cfg.alpha) * s,
                None => p,
            });
        }
        match report.admin {
            Some(crate::Admin::Ready) => agent.drain = false,
            Some(crate::Admin::Drain | crate::Admin::Maint) => agent.drain = true,
            None => {}
        }
        match report.health {
            Some(crate::Health::Up) => agent.down = false,
            Some(_) => agent.down = true,
            None => {}
        }
        true
    }

    fn target(
        &self,
        s: &Server,
        now: Duration,
        origin: Duration,
        mean: Option<f64>,
    ) -> (u32, Reason) {
        let Some(agent) = &s.agent else {
            return match mean {
                Some(m) => (weight_for(s.configured, m), Reason::Mean(m)),
                None => (s.configured, Reason::NoReport),
            };
        };
        if agent.down {
            return (0, Reason::Down);
        }
        if agent.drain {
            return (0, Reason::Drain);
        }
        if let Some(p) = agent.usable(now, &self.cfg) {
            return (weight_for(s.configured, p), Reason::Load(p));
        }
        if agent.expired(now, &self.cfg) {
            return (s.configured, Reason::Expired);
        }
        if agent.last_report.is_none() {
            // Never answered: silence since the first tick.
            if now.saturating_sub(origin) > self.cfg.expiry {
                return (s.configured, Reason::Expired);
            }
            return (s.weight, Reason::NoReport);
        }
        let reason = if agent.run_start.is_some() && agent.smoothed.is_some() {
            Reason::Blackout
        } else {
            Reason::NoReport
        };
        // Nothing usable yet: keep the weight it has (a restart or a reload
        // that adopted the kernel's weight changes nothing), unless the agent
        // had taken it out: then back to the configured weight.
        let hold = if s.weight == 0 {
            s.configured
        } else {
            s.weight
        };
        (hold, reason)
    }

    /// Moves every weight one step towards its target at time `now`; call
    /// once per interval. Returns the changes made, for the kernel and the
    /// log.
    pub fn tick(&mut self, now: Duration) -> Vec<Change> {
        let origin = *self.origin.get_or_insert(now);
        let usable: Vec<f64> = self
            .servers
            .iter()
            .filter_map(|s| {
                let a = s.agent.as_ref()?;
                if a.down || a.drain {
                    return None;
                }
                a.usable(now, &self.cfg)
            })
            .collect();
        let mean = (!usable.is_empty()).then(|| usable.iter().sum::<f64>() / usable.len() as f64);
        let mut changes = Vec::new();
        for i in 0..self.servers.len() {
            let (target, reason) = self.target(&self.servers[i], now, origin, mean);
            let s = &mut self.servers[i];
            s.reason = reason;
            let next = step(&self.cfg, s.configured, s.weight, target, reason);
            if next != s.weight {
                changes.push(Change {
                    server: i,
                    from: s.weight,
                    to: next,
                    reason,
                });
                s.weight = next;
            }
        }
        changes
    }
}

/// The next weight from `current` towards `target`.
fn step(cfg: &Config, configured: u32, current: u32, target: u32, reason: Reason) -> u32 {
    if target == current {
        return current;
    }
    if target == 0 && matches!(reason, Reason::Drain | Reason::Down) {
        return 0;
    }
    let c = u64::from(configured);
    let band = c * u64::from(cfg.band_percent) / 100;
    let max_step = (c * u64::from(cfg.max_step_percent)).div_ceil(100).max(1);
    let diff = u64::from(current.abs_diff(target));
    let end = target == 0 || target == configured;
    if diff <= band && !end {
        return current;
    }
    let by = diff.min(max_step) as u32;
    if target > current {
        current + by
    } else {
        current - by
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Report;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn blackout_then_load_then_expiry() {
        let mut pool = Pool::new(Config::default()).unwrap();
        let a = pool.add(100, true);
        // Reports of 40 % every 2 s: nothing changes during the 10 s blackout.
        let mut t = 0;
        while t < 10 {
            pool.report(a, secs(t), &Report::up(40));
            assert!(pool.tick(secs(t)).is_empty(), "t={t}");
            assert_eq!(pool.reason(a), Some(Reason::Blackout));
            t += 2;
        }
        // Then steps of 25 down to 40.
        let mut seen = Vec::new();
        while t < 30 {
            pool.report(a, secs(t), &Report::up(40));
            pool.tick(secs(t));
            seen.push(pool.weight(a).unwrap());
            t += 2;
        }
        assert_eq!(seen[..4], [75, 50, 40, 40]);
        // Silent: unchanged until the expiry, then back up to 100 in steps.
        let last = t - 2;
        while t <= last + 30 {
            pool.tick(secs(t));
            assert_eq!(pool.weight(a), Some(40), "t={t}");
            t += 2;
        }
        let mut w = Vec::new();
        for _ in 0..4 {
            pool.tick(secs(t));
            assert_eq!(pool.reason(a), Some(Reason::Expired));
            w.push(pool.weight(a).unwrap());
            t += 2;
        }
        assert_eq!(w, [65, 90, 100, 100]);
    }

    #[test]
    fn drain_is_immediate_and_sticks_until_ready() {
        let mut pool = Pool::new(Config::default()).unwrap();
        let a = pool.add(10, true);
        let drain = Report::parse(b"drain\n").unwrap();
        pool.report(a, secs(0), &drain);
        let ch = pool.tick(secs(0));
        assert_eq!(ch.len(), 1);
        assert_eq!((ch[0].from, ch[0].to, ch[0].reason), (10, 0, Reason::Drain));
        // Silence past the expiry does not undo an explicit drain.
        pool.tick(secs(100));
        assert_eq!(pool.weight(a), Some(0));
        pool.report(a, secs(101), &Report::parse(b"up ready 100%\n").unwrap());
        pool.tick(secs(101));
        assert_eq!(pool.weight(a), Some(3));
    }

    #[test]
    fn an_adopted_weight_is_held_through_the_blackout() {
        let mut pool = Pool::new(Config::default()).unwrap();
        let a = pool.add(100, true);
        assert!(pool.adopt(a, 40));
        assert!(!pool.adopt(7, 40));
        for t in (0..10).step_by(2) {
            pool.report(a, secs(t), &Report::up(40));
            assert!(pool.tick(secs(t)).is_empty());
            assert_eq!(pool.weight(a), Some(40));
        }
        // Past the blackout the reports agree: still nothing to do.
        pool.report(a, secs(10), &Report::up(40));
        assert!(pool.tick(secs(10)).is_empty());
    }

    #[test]
    fn an_adopted_weight_of_an_agent_that_never_answers_expires() {
        let mut pool = Pool::new(Config::default()).unwrap();
        let a = pool.add(100, true);
        let b = pool.add(100, true);
        pool.adopt(a, 40);
        pool.adopt(b, 0);
        // Held, the 0 too, while the silence is within the 30 s expiry.
        for t in (0..=30).step_by(2) {
            assert!(pool.tick(secs(t)).is_empty(), "t={t}");
            assert_eq!(pool.reason(a), Some(Reason::NoReport));
        }
        // Then the configured weight, in steps.
        let mut w = Vec::new();
        for t in (32..40).step_by(2) {
            pool.tick(secs(t));
            assert_eq!(pool.reason(a), Some(Reason::Expired));
            w.push((pool.weight(a).unwrap(), pool.weight(b).unwrap()));
        }
        assert_eq!(w, [(65, 25), (90, 50), (100, 75), (100, 100)]);
    }

    #[test]
    fn a_restart_keeps_a_drained_zero_until_the_agent_answers() {
        let mut pool = Pool::new(Config::default()).unwrap();
        let a = pool.add(100, true);
        pool.adopt(a, 0);
        assert!(pool.tick(secs(0)).is_empty());
        pool.report(a, secs(1), &Report::parse(b"drain\n").unwrap());
        assert!(pool.tick(secs(2)).is_empty());
        assert_eq!(pool.reason(a), Some(Reason::Drain));
        assert_eq!(pool.weight(a), Some(0));
    }

    #[test]
    fn no_agent_gets_the_mean() {
        let cfg = Config {
            blackout: Duration::ZERO,
            alpha: 1.0,
            max_step_percent: 100,
            ..Config::default()
        };
        let mut pool = Pool::new(cfg).unwrap();
        let a = pool.add(100, true);
        let b = pool.add(100, true);
        let c = pool.add(200, false);
        pool.report(a, secs(0), &Report::up(20));
        pool.report(b, secs(0), &Report::up(60));
        pool.tick(secs(0));
        assert_eq!(pool.weight(a), Some(20));
        assert_eq!(pool.weight(b), Some(60));
        assert_eq!(pool.weight(c), Some(80));
        assert_eq!(pool.reason(c), Some(Reason::Mean(40.0)));
    }

    #[test]
    fn load_alone_never_gives_zero() {
        let cfg = Config {
            blackout: Duration::ZERO,
            alpha: 1.0,
            max_step_percent: 100,
            ..Config::default()
        };
        let mut pool = Pool::new(cfg).unwrap();
        let a = pool.add(3, true);
        pool.report(a, secs(0), &Report::up(0));
        pool.tick(secs(0));
        assert_eq!(pool.weight(a), Some(1));
    }

    #[test]
    fn bad_knobs_are_refused() {
        for (cfg, err) in [
            (
                Config {
                    alpha: 0.0,
                    ..Config::default()
                },
                ConfigError::Alpha,
            ),
            (
                Config {
                    alpha: f64::NAN,
                    ..Config::default()
                },
                ConfigError::Alpha,
            ),
            (
                Config {
                    max_step_percent: 0,
                    ..Config::default()
                },
                ConfigError::Step(0),
            ),
            (
                Config {
                    band_percent: 101,
                    ..Config::default()
                },
                ConfigError::Band(101),
            ),
        ] {
            assert_eq!(Pool::new(cfg).unwrap_err(), err);
        }
    }
}
