//! Load feedback: real servers with `agent = { port, interval }` are asked
//! every interval for one line of HAProxy's agent-check protocol (what
//! `lvs-agent serve` answers); `lvs-feedback`'s policy turns the answers
//! into weights (EWMA, step limit, hysteresis, blackout, expiry back to the
//! configured weight, the mean for real servers without an agent). The
//! weight the checks want for a real server that is up is replaced by the
//! policy's; a dynamic `exec` check's weight takes precedence.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipvs_proto::ServiceKey;
use lvs_director::config::{AgentConfig, Config, FeedbackConfig};
use lvs_director::diff::TableService;
use lvs_feedback::agent::MAX_LINE;
use lvs_feedback::{Pool, Report};
use tokio::io::AsyncReadExt as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::RealKey;
use super::log::{self, Level};
use super::status::AgentStatus;

/// One agent's answer (or why there was none), from an agent task.
#[derive(Debug)]
pub struct AgentResult {
    real: RealKey,
    answer: Result<Report, String>,
}

#[derive(Debug)]
struct AgentTask {
    spec: (SocketAddr, Duration),
    handle: JoinHandle<()>,
}

impl Drop for AgentTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// A service's real servers and policy knobs as the policy sees them; kept
/// across reloads while they do not change.
type Signature = (Vec<(SocketAddr, u32, Option<AgentConfig>)>, FeedbackConfig);

/// The policy's knobs from the file's `[feedback]` / `[service.feedback]`.
pub fn policy(f: &FeedbackConfig) -> lvs_feedback::Config {
    lvs_feedback::Config {
        alpha: f64::from(f.smoothing_permille) / 1000.0,
        max_step_percent: f.max_step_percent,
        band_percent: f.band_percent,
        blackout: f.blackout,
        expiry: f.expiry,
    }
}

#[derive(Debug)]
struct ServicePool {
    signature: Signature,
    pool: Pool,
    index: HashMap<SocketAddr, usize>,
    interval: Duration,
    next_tick: Instant,
}

/// The feedback state of every service with at least one agent.
#[derive(Debug)]
pub struct Feedback {
    start: Instant,
    pools: HashMap<ServiceKey, ServicePool>,
    tasks: HashMap<RealKey, AgentTask>,
    /// The last error logged per agent (logged again only when it changes).
    failing: HashMap<RealKey, String>,
    /// Weight changes made, per real server and kind of reason.
    changes: HashMap<RealKey, BTreeMap<&'static str, u64>>,
    results: mpsc::Sender<AgentResult>,
}

impl Feedback {
    /// No services yet; answers go to `results`.
    pub fn new(results: mpsc::Sender<AgentResult>) -> Self {
        Self {
            start: Instant::now(),
            pools: HashMap::new(),
            tasks: HashMap::new(),
            failing: HashMap::new(),
            changes: HashMap::new(),
            results,
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Takes a (new) configuration: pools of unchanged services are kept,
    /// others made afresh with the kernel's weights adopted (so that a
    /// restart or reload moves nothing until agents say so); agent tasks
    /// started, restarted or stopped.
    pub fn install(&mut self, config: &Config, table: &[TableService]) {
        let mut pools = HashMap::new();
        let mut tasks = HashMap::new();
        for service in &config.services {
            if service.reals.iter().all(|r| r.agent.is_none()) {
                continue;
            }
            let signature: Signature = (
                service
                    .reals
                    .iter()
                    .map(|r| (r.address, r.weight, r.agent))
                    .collect(),
                service.feedback,
            );
            let pool = match self.pools.remove(&service.key) {
                Some(p) if p.signature == signature => p,
                _ => {
                    let mut pool = match Pool::new(policy(&service.feedback)) {
                        Ok(pool) => pool,
                        Err(e) => {
                            // The configuration's checks make this unreachable;
                            // said rather than hidden if they ever disagree.
                            log::line(
                                Level::Error,
                                &format!(
                                    "feedback of {}: {e}; its weights are left alone",
                                    service.key
                                ),
                            );
                            continue;
                        }
                    };
                    let kernel = table.iter().find(|t| t.service.key == service.key);
                    let mut index = HashMap::new();
                    for real in &service.reals {
                        let i = pool.add(real.weight, real.agent.is_some());
                        if let Some(d) = kernel.and_then(|k| {
                            k.destinations
                                .iter()
                                .find(|d| d.socket_addr() == real.address)
                        }) {
                            pool.adopt(i, d.weight);
                        }
                        index.insert(real.address, i);
                    }
                    let interval = service
                        .reals
                        .iter()
                        .filter_map(|r| r.agent.map(|a| a.interval))
                        .min()
                        .unwrap_or(Duration::from_secs(2));
                    ServicePool {
                        signature,
                        pool,
                        index,
                        interval,
                        next_tick: Instant::now() + interval,
                    }
                }
            };
            pools.insert(service.key, pool);
            for real in &service.reals {
                let Some(agent) = real.agent else { continue };
                let key = (service.key, real.address);
                let spec = (
                    SocketAddr::new(real.address.ip(), agent.port),
                    agent.interval,
                );
                let task = match self.tasks.remove(&key) {
                    Some(t) if t.spec == spec => t,
                    _ => AgentTask {
                        handle: tokio::spawn(agent_loop(key, spec.0, spec.1, self.results.clone())),
                        spec,
                    },
                };
                tasks.insert(key, task);
            }
        }
        // Dropping what is left stops the tasks of agents no longer configured.
        self.pools = pools;
        self.tasks = tasks;
        self.failing.retain(|k, _| self.tasks.contains_key(k));
        self.changes.retain(|(service, address), _| {
            self.pools
                .get(service)
                .is_some_and(|p| p.index.contains_key(address))
        });
    }

    /// Counts one answer. Weights change only on [`Feedback::tick`].
    pub fn record(&mut self, result: AgentResult) {
        let now = self.now();
        let (service, address) = result.real;
        match result.answer {
            Ok(report) => {
                if self.failing.remove(&result.real).is_some() {
                    log::line(
                        Level::Notice,
                        &format!(
                            "agent of real server {address} of {service} answers again: {report}"
                        ),
                    );
                }
                if let Some(p) = self.pools.get_mut(&service)
                    && let Some(&i) = p.index.get(&address)
                {
                    p.pool.report(i, now, &report);
                }
            }
            Err(e) => {
                if self.failing.get(&result.real) != Some(&e) {
                    log::line(
                        Level::Warning,
                        &format!(
                            "agent of real server {address} of {service}: {e} (its weight is kept until the reports expire, then configured)"
                        ),
                    );
                    self.failing.insert(result.real, e);
                }
            }
        }
    }

    /// Moves the weights of the services whose interval has come one step;
    /// logs each change with its reason. True when a weight changed.
    pub fn tick(&mut self) -> bool {
        let now = self.now();
        let instant = Instant::now();
        let mut changed = false;
        for (service, p) in &mut self.pools {
            if instant < p.next_tick {
                continue;
            }
            p.next_tick = instant + p.interval;
            let addresses: HashMap<usize, SocketAddr> =
                p.index.iter().map(|(a, i)| (*i, *a)).collect();
            for change in p.pool.tick(now) {
                changed = true;
                let Some(&real) = addresses.get(&change.server) else {
                    continue;
                };
                *self
                    .changes
                    .entry((*service, real))
                    .or_default()
                    .entry(change.reason.kind())
                    .or_insert(0) += 1;
                let address = real.to_string();
                log::line(
                    Level::Notice,
                    &format!(
                        "real server {address} of {service}: feedback weight {} -> {} ({})",
                        change.from, change.to, change.reason
                    ),
                );
            }
        }
        changed
    }

    /// The weight feedback gives a real server, for services with agents.
    pub fn weight(&self, service: &ServiceKey, address: SocketAddr) -> Option<u32> {
        let p = self.pools.get(service)?;
        p.pool.weight(*p.index.get(&address)?)
    }

    /// What `status` and `/metrics` show of it.
    pub fn status(&self, service: &ServiceKey, address: SocketAddr) -> Option<AgentStatus> {
        let p = self.pools.get(service)?;
        let i = *p.index.get(&address)?;
        Some(AgentStatus {
            weight: p.pool.weight(i)?,
            spare_percent: p.pool.smoothed(i),
            reason: p.pool.reason(i)?.to_string(),
            error: self.failing.get(&(*service, address)).cloned(),
            changes: self
                .changes
                .get(&(*service, address))
                .map(|m| m.iter().map(|(k, v)| ((*k).to_string(), *v)).collect())
                .unwrap_or_default(),
        })
    }
}

/// Asks one agent every interval, forever.
async fn agent_loop(
    real: RealKey,
    target: SocketAddr,
    interval: Duration,
    results: mpsc::Sender<AgentResult>,
) {
    let timeout = interval.min(Duration::from_secs(2));
    let mut next = tokio::time::Instant::now();
    loop {
        let answer = ask(target, timeout).await;
        if results.send(AgentResult { real, answer }).await.is_err() {
            return;
        }
        next += interval;
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
        tokio::time::sleep_until(next).await;
    }
}

/// One connection: the answer's first line, at most `MAX_LINE` bytes.
async fn ask(target: SocketAddr, timeout: Duration) -> Result<Report, String> {
    let read = async {
        let mut stream = tokio::net::TcpStream::connect(target)
            .await
            .map_err(|e| format!("{target}: {e}"))?;
        let mut buf = vec![0u8; MAX_LINE];
        let mut len = 0;
        while len < buf.len() {
            let n = stream
                .read(&mut buf[len..])
                .await
                .map_err(|e| format!("{target}: {e}"))?;
            if n == 0 {
                break;
            }
            let end = buf[len..len + n].iter().any(|&b| b == b'\n' || b == b'\r');
            len += n;
            if end {
                break;
            }
        }
        Report::parse(&buf[..len]).map_err(|e| format!("{target}: {e}"))
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| format!("{target}: no answer within {timeout:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_defaults_are_the_policys_defaults() {
        assert_eq!(
            policy(&FeedbackConfig::default()),
            lvs_feedback::Config::default()
        );
    }

    #[test]
    fn every_setting_the_file_accepts_the_policy_accepts() {
        for (smoothing, step, band) in [("0.001", 1, 0), ("1", 100, 100), ("0.5", 50, 5)] {
            let text = format!(
                "[feedback]\nsmoothing = {smoothing}\nmax_step_percent = {step}\nband_percent = {band}\nblackout = \"0s\"\nexpiry = \"100ms\"\n"
            );
            let config = lvs_director::config::parse(
                &format!("{text}[[service]]\naddress = \"10.0.0.1:80\"\n"),
                "t",
            )
            .unwrap();
            let cfg = policy(&config.services[0].feedback);
            assert!(Pool::new(cfg.clone()).is_ok(), "{cfg:?}");
        }
    }
}
