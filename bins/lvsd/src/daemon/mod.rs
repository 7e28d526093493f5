//! `lvsd run`: the director. One loop owns the state (configuration, health
//! of every real server, the kernel's table as last read) and reacts to check
//! results, a one-second tick, reloads and the end signal; checks run as
//! tokio tasks, one per real server, each waiting for its own check before the
//! next (so checks never pile up).

pub mod control;
pub mod feedback;
pub mod kernel;
pub mod log;
pub mod metrics;
pub mod probe;
pub mod status;

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use ipvs_proto::{Client, Destination, Protocol, ServiceKey};
use lvs_director::config::{self, CheckKind, Config, LoadError, ServiceConfig};
use lvs_director::diff::{self, Change, TableService};
use lvs_director::health::{self, Health};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::log::Level;
use self::probe::{Outcome, ProbeSpec};
use self::status::{DrainStatus, LastCheck, RealStatus, ServiceStatus, Snapshot};

/// How `lvsd run` was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration file.
    pub config: PathBuf,
    /// The control socket.
    pub socket: PathBuf,
    /// Where `/metrics` is served, if anywhere.
    pub metrics: Option<SocketAddr>,
}

/// Exit status when the configuration is refused at start.
pub const INVALID: u8 = 2;

type RealKey = (ServiceKey, SocketAddr);

/// One check result, from a probe task to the director.
#[derive(Debug)]
struct ProbeResult {
    real: RealKey,
    outcome: Outcome,
    latency: Duration,
}

/// A request through the control socket.
#[derive(Debug)]
pub enum ControlRequest {
    /// Read the file again; the answer is `Ok(summary)` or the errors.
    Reload(oneshot::Sender<Result<String, String>>),
}

#[derive(Debug, Clone)]
struct RealState {
    health: Health,
    since: SystemTime,
    last: Option<LastCheck>,
}

#[derive(Debug)]
struct ProbeTask {
    spec: ProbeSpec,
    handle: JoinHandle<()>,
}

impl Drop for ProbeTask {
    fn drop(&mut self) {
        // Dropping the task's future drops a running exec check's child,
        // whose process group is killed then.
        self.handle.abort();
    }
}

struct Director {
    path: PathBuf,
    config: Config,
    client: Client,
    reals: HashMap<RealKey, RealState>,
    probes: HashMap<RealKey, ProbeTask>,
    /// Services configured at some time in this run, with their drain time:
    /// the ones no longer in the file are retired (drained, then deleted).
    owned: HashMap<ServiceKey, Duration>,
    draining: HashMap<RealKey, (Instant, SystemTime)>,
    table: Vec<TableService>,
    foreign: Vec<ServiceKey>,
    /// Changes the kernel refused at the last reconcile, with the error.
    failing: HashMap<String, String>,
    results: mpsc::Sender<ProbeResult>,
    snapshot: Arc<Mutex<Snapshot>>,
    feedback: feedback::Feedback,
}

/// Runs the director until SIGTERM or SIGINT; the kernel's table is left as
/// it is then (a restart adopts it).
pub fn run(options: Options) -> anyhow::Result<ExitCode> {
    let config = match config::load(&options.config) {
        Ok(c) => c,
        Err(LoadError::Invalid(errors)) => {
            eprintln!("{errors}");
            return Ok(ExitCode::from(INVALID));
        }
        Err(e) => {
            eprintln!("lvsd: {e}");
            return Ok(ExitCode::from(INVALID));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(main_loop(options, config))?;
    Ok(ExitCode::SUCCESS)
}

async fn main_loop(options: Options, config: Config) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    let client = Client::connect().context("opening the IPVS netlink socket")?;
    let snapshot = Arc::new(Mutex::new(Snapshot::default()));
    let (control_tx, mut control_rx) = mpsc::channel(8);
    let listener = control::bind(&options.socket)?;
    tokio::spawn(control::serve(listener, control_tx, snapshot.clone()));
    if let Some(address) = options.metrics {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("listening for /metrics on {address}"))?;
        tokio::spawn(metrics::serve(listener, snapshot.clone()));
    }
    let mut hangup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT handler")?;

    let (results_tx, mut results_rx) = mpsc::channel(256);
    let (agents_tx, mut agents_rx) = mpsc::channel(256);
    let mut director = Director {
        path: options.config.clone(),
        config: Config::default(),
        client,
        reals: HashMap::new(),
        probes: HashMap::new(),
        owned: HashMap::new(),
        draining: HashMap::new(),
        table: Vec::new(),
        foreign: Vec::new(),
        failing: HashMap::new(),
        results: results_tx,
        snapshot,
        feedback: feedback::Feedback::new(agents_tx),
    };
    director.table = kernel::read_table(&mut director.client)?;
    let adopted = director.table.len();
    director.install(config);
    let changes = director.reconcile();
    log::line(
        Level::Info,
        &format!(
            "started with {} (pid {}): {} services in the file, {adopted} in the kernel ({} foreign), {changes} changes applied",
            director.path.display(),
            std::process::id(),
            director.config.services.len(),
            director.foreign.len(),
        ),
    );
    for key in &director.foreign {
        log::line(Level::Info, &format!("foreign service {key} left alone"));
    }

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            Some(result) = results_rx.recv() => {
                // A result that changes nothing is published with the next tick.
                if director.record(result) {
                    director.reconcile();
                }
            }
            Some(answer) = agents_rx.recv() => {
                director.feedback.record(answer);
            }
            _ = tick.tick() => {
                director.feedback.tick();
                director.reconcile();
            }
            _ = hangup.recv() => {
                let _ = director.reload();
            }
            Some(request) = control_rx.recv() => match request {
                ControlRequest::Reload(reply) => {
                    let _ = reply.send(director.reload());
                }
            },
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    log::line(Level::Info, "stopping; the IPVS table is left as it is");
    let _ = std::fs::remove_file(&options.socket);
    Ok(())
}

impl Director {
    /// Takes `config` as the configuration: health carried over for real
    /// servers it had, adopted from the kernel for new ones; checks started,
    /// restarted where their settings changed, stopped where gone.
    fn install(&mut self, config: Config) {
        let now = SystemTime::now();
        let mut reals = HashMap::new();
        let mut probes = HashMap::new();
        for service in &config.services {
            self.owned.insert(service.key, service.drain);
            let kernel = self.table.iter().find(|t| t.service.key == service.key);
            for real in &service.reals {
                let key = (service.key, real.address);
                let state = self.reals.remove(&key).unwrap_or_else(|| RealState {
                    health: health::adopted(service, real, kernel),
                    since: now,
                    last: None,
                });
                reals.insert(key, state);
                let spec = probe_spec(service, real.address);
                if matches!(spec.kind, CheckKind::None) {
                    continue;
                }
                let task = match self.probes.remove(&key) {
                    Some(task) if task.spec == spec => task,
                    _ => ProbeTask {
                        handle: tokio::spawn(probe_loop(spec.clone(), key, self.results.clone())),
                        spec,
                    },
                };
                probes.insert(key, task);
            }
        }
        // Whatever is left in the old maps is gone from the file; dropping the
        // old probe tasks stops them.
        self.reals = reals;
        self.probes = probes;
        self.feedback.install(&config, &self.table);
        self.config = config;
    }

    /// Reads the file again and applies it, or keeps everything as it is when
    /// the file has errors.
    fn reload(&mut self) -> Result<String, String> {
        match config::load(&self.path) {
            Err(e) => {
                log::line(
                    Level::Warning,
                    &format!("reload refused, the running configuration is kept: {e}"),
                );
                Err(e.to_string())
            }
            Ok(config) => {
                self.install(config);
                let changes = self.reconcile();
                let summary = format!(
                    "reloaded {}: {} services, {changes} changes applied",
                    self.path.display(),
                    self.config.services.len()
                );
                log::line(Level::Info, &summary);
                Ok(summary)
            }
        }
    }

    /// Counts a check result; true when the wanted table changed.
    fn record(&mut self, result: ProbeResult) -> bool {
        let Some(service) = self.config.services.iter().find(|s| s.key == result.real.0) else {
            return false;
        };
        let Some(state) = self.reals.get_mut(&result.real) else {
            return false;
        };
        let now = SystemTime::now();
        let (ok, detail, weight) = match &result.outcome {
            Outcome::Up { weight, detail } => (true, detail.clone(), *weight),
            Outcome::Down(reason) => (false, reason.clone(), None),
        };
        state.last = Some(LastCheck {
            ok,
            detail: detail.clone(),
            latency_seconds: result.latency.as_secs_f64(),
            at: unix_seconds(now),
        });
        let mut changed = false;
        // A dynamic exec check's weight (exit 0 gives the configured one back).
        if ok && weight != state.health.dynamic_weight {
            state.health.dynamic_weight = weight;
            changed = state.health.up;
        }
        let check = &service.check;
        if let Some(up) = state.health.record(ok, check.rise, check.fall) {
            state.since = now;
            changed = true;
            let real = result.real.1;
            let configured = service
                .reals
                .iter()
                .find(|r| r.address == real)
                .map_or(0, |r| r.weight);
            let line = if up {
                format!(
                    "real server {real} of {} up after {} successful checks ({detail}); weight {}",
                    service.key,
                    check.rise,
                    state.health.dynamic_weight.unwrap_or(configured)
                )
            } else {
                format!(
                    "real server {real} of {} down after {} failed checks ({detail}); {}",
                    service.key,
                    check.fall,
                    match check.on_failure {
                        config::OnFailure::Inhibit => "weight 0".to_string(),
                        config::OnFailure::Remove => "removed".to_string(),
                    }
                )
            };
            log::line(if up { Level::Notice } else { Level::Warning }, &line);
        }
        changed
    }

    /// Reads the kernel's table, applies the difference to the wanted one in
    /// one batch, and publishes the state. Returns the number of changes.
    fn reconcile(&mut self) -> usize {
        let table = match kernel::read_table(&mut self.client) {
            Ok(t) => t,
            Err(e) => {
                log::line(Level::Error, &format!("{e:#}"));
                return 0;
            }
        };
        let configured: HashSet<ServiceKey> = self.config.services.iter().map(|s| s.key).collect();
        let retired: Vec<ServiceKey> = self
            .owned
            .keys()
            .filter(|k| !configured.contains(k))
            .copied()
            .collect();
        let reals = &self.reals;
        let feedback = &self.feedback;
        let wanted = health::desired(
            &self.config,
            &|k, a| {
                let mut health = reals.get(&(*k, a)).map_or(Health::new(true), |r| r.health);
                // Load feedback sets the weight of a real server that is up,
                // unless a dynamic exec check does.
                if health.dynamic_weight.is_none() {
                    health.dynamic_weight = feedback.weight(k, a);
                }
                health
            },
            &retired,
        );
        let now = Instant::now();
        let config = &self.config;
        let owned = &self.owned;
        let draining = &self.draining;
        let deletable = |key: &ServiceKey, d: &Destination| -> bool {
            let service = config.services.iter().find(|s| s.key == *key);
            // A configured real server that is not wanted failed its checks
            // with `on_failure = "remove"`: it goes at once.
            if service.is_some_and(|s| s.reals.iter().any(|r| r.address == d.socket_addr())) {
                return true;
            }
            let connections = d.connections.unwrap_or_default();
            let udp = matches!(
                key,
                ServiceKey::Tuple {
                    protocol: Protocol::Udp,
                    ..
                }
            );
            if connections.active == 0 && (!udp || connections.inactive == 0) {
                return true;
            }
            let drain = service
                .map(|s| s.drain)
                .or_else(|| owned.get(key).copied())
                .unwrap_or(Duration::from_secs(60));
            draining
                .get(&(*key, d.socket_addr()))
                .is_some_and(|(started, _)| now.duration_since(*started) >= drain)
        };
        let plan = diff::diff(&wanted, &table, &deletable);
        let still: HashSet<RealKey> = plan.draining.iter().copied().collect();
        self.draining.retain(|k, _| still.contains(k));
        for key in &plan.draining {
            self.draining
                .entry(*key)
                .or_insert_with(|| (now, SystemTime::now()));
        }
        let count = plan.changes.len();
        match kernel::apply(&mut self.client, &plan.changes) {
            Ok(results) => {
                let mut failing = HashMap::new();
                for (change, error) in results {
                    match error {
                        None => {
                            log::line(Level::Notice, &change.to_string());
                            if let Change::DeleteService(key) = change {
                                self.owned.remove(&key);
                            }
                        }
                        Some(e) => {
                            // A change the kernel keeps refusing (a scheduler
                            // module it lacks, say) is retried every second but
                            // logged once, and again only when its error changes.
                            let text = change.to_string();
                            if self.failing.get(&text) != Some(&e) {
                                log::line(Level::Error, &format!("{text}: {e}"));
                            }
                            failing.insert(text, e);
                        }
                    }
                }
                self.failing = failing;
            }
            Err(e) => log::line(Level::Error, &format!("{e:#}")),
        }
        self.foreign = plan.foreign;
        self.table = if count > 0 {
            kernel::read_table(&mut self.client).unwrap_or(table)
        } else {
            table
        };
        self.publish();
        count
    }

    /// Writes the state for `status` and `/metrics`.
    fn publish(&self) {
        let kernel: HashMap<ServiceKey, &TableService> =
            self.table.iter().map(|t| (t.service.key, t)).collect();
        let services = self
            .config
            .services
            .iter()
            .map(|service| self.service_status(service, kernel.get(&service.key).copied()))
            .collect();
        let snapshot = Snapshot {
            config: self.path.display().to_string(),
            pid: std::process::id(),
            services,
            foreign: self.foreign.iter().map(ToString::to_string).collect(),
        };
        if let Ok(mut shared) = self.snapshot.lock() {
            *shared = snapshot;
        }
    }

    fn service_status(
        &self,
        service: &ServiceConfig,
        kernel: Option<&TableService>,
    ) -> ServiceStatus {
        let in_kernel = |a: SocketAddr| {
            kernel.and_then(|k| k.destinations.iter().find(|d| d.socket_addr() == a))
        };
        let reals = service
            .reals
            .iter()
            .map(|real| {
                let state = self.reals.get(&(service.key, real.address));
                let d = in_kernel(real.address);
                RealStatus {
                    address: real.address.to_string(),
                    configured_weight: real.weight,
                    weight: d.map(|d| d.weight),
                    health: match state {
                        Some(s) if s.health.up => "up",
                        Some(_) => "down",
                        None => "unknown",
                    }
                    .to_string(),
                    since: state.map_or(0, |s| unix_seconds(s.since)),
                    last_check: state.and_then(|s| s.last.clone()),
                    connections: d.and_then(|d| d.connections),
                    stats: d.and_then(|d| d.stats),
                    agent: self.feedback.status(&service.key, real.address),
                }
            })
            .collect();
        let draining = self
            .draining
            .iter()
            .filter(|((k, _), _)| *k == service.key)
            .map(|((_, a), (_, since))| {
                let d = in_kernel(*a);
                DrainStatus {
                    address: a.to_string(),
                    weight: d.map_or(0, |d| d.weight),
                    active: d.and_then(|d| d.connections).map_or(0, |c| c.active),
                    since: unix_seconds(*since),
                }
            })
            .collect();
        let sorry_active = service.sorry.is_some_and(|s| in_kernel(s).is_some());
        ServiceStatus {
            service: service.key.to_string(),
            scheduler: service.scheduler.clone(),
            check: service.check.kind.name().to_string(),
            in_kernel: kernel.is_some(),
            sorry: service.sorry.map(|s| s.to_string()),
            sorry_active,
            stats: kernel.and_then(|k| k.service.stats),
            reals,
            draining,
        }
    }
}

fn probe_spec(service: &ServiceConfig, real: SocketAddr) -> ProbeSpec {
    let mut target = real;
    if let Some(port) = service.check.port {
        target.set_port(port);
    }
    ProbeSpec {
        kind: service.check.kind.clone(),
        target,
        timeout: service.check.timeout,
        interval: service.check.interval,
        spread: service.check.spread,
    }
}

/// Checks one real server forever: the first check after a random part of
/// one interval (with `spread`), then one check per interval, each started
/// only after the previous one ended.
async fn probe_loop(spec: ProbeSpec, real: RealKey, results: mpsc::Sender<ProbeResult>) {
    if spec.spread {
        let nanos = spec.interval.as_nanos().max(1) as u64;
        let offset = std::collections::hash_map::RandomState::new().hash_one(real) % nanos;
        tokio::time::sleep(Duration::from_nanos(offset)).await;
    }
    let mut next = tokio::time::Instant::now();
    loop {
        let started = Instant::now();
        let outcome = probe::run(&spec).await;
        let latency = started.elapsed();
        if results
            .send(ProbeResult {
                real,
                outcome,
                latency,
            })
            .await
            .is_err()
        {
            return;
        }
        next += spec.interval;
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
        tokio::time::sleep_until(next).await;
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
