//! The configuration file: TOML read into a spanned tree, then walked key by
//! key so that **every** error is reported at once, each with the exact
//! `line:column` of the key or value at fault.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use ipvs_proto::{AddressFamily, Forwarding, Netmask, Protocol, Service, ServiceKey};
use regex::Regex;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::duration::{format_duration, parse_duration};

/// The schedulers Linux ships (`ip_vs_*.ko`); any other name is refused.
pub const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// The largest weight ipvsadm accepts.
pub const MAX_WEIGHT: u64 = 65_535;

/// A whole configuration: the services lvsd keeps in the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// The services, in file order.
    pub services: Vec<ServiceConfig>,
}

/// One `[[service]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Protocol, address and port, or firewall mark.
    pub key: ServiceKey,
    /// Scheduler name (one of [`SCHEDULERS`]).
    pub scheduler: String,
    /// Persistence timeout, if persistent.
    pub persistence: Option<Duration>,
    /// Persistence granularity (only with `persistence`).
    pub netmask: Option<Netmask>,
    /// Default forwarding method of the real servers.
    pub forwarding: Forwarding,
    /// How long a removed real server may drain before it is deleted.
    pub drain: Duration,
    /// The sorry server, used while no real server is up.
    pub sorry: Option<SocketAddr>,
    /// The health check of its real servers.
    pub check: CheckConfig,
    /// The load-feedback policy of its real servers with an agent: the
    /// file's `[feedback]`, with the keys of `[service.feedback]` over it.
    pub feedback: FeedbackConfig,
    /// The real servers, in file order.
    pub reals: Vec<RealConfig>,
}

impl ServiceConfig {
    /// The service as it should be in the kernel (no counters).
    pub fn to_service(&self) -> Service {
        let mut service = Service::new(self.key, self.scheduler.clone());
        if let Some(timeout) = self.persistence {
            service = service.with_persistence(timeout);
            if let Some(netmask) = self.netmask {
                service.netmask = netmask;
            }
        }
        service
    }
}

/// One `[[service.real]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealConfig {
    /// Address and port (port 0: any, only in firewall-mark services).
    pub address: SocketAddr,
    /// Configured weight.
    pub weight: u32,
    /// Forwarding method (the service's unless set).
    pub forwarding: Forwarding,
    /// Upper connection threshold (0: none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0: none).
    pub lower_threshold: u32,
    /// Load feedback from an agent on the real server (`agent = { ... }`).
    pub agent: Option<AgentConfig>,
}

/// `agent = { port = 3333, interval = "2s" }` of a real server: its
/// `lvs-agent serve` (HAProxy's agent-check protocol) answers on `port` of
/// the real server's address, asked every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentConfig {
    /// TCP port of the agent (default 3333).
    pub port: u16,
    /// Time between two questions (default 2 s).
    pub interval: Duration,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            port: 3333,
            interval: Duration::from_secs(2),
        }
    }
}

/// `[feedback]` (every service) and `[service.feedback]` (one service, its
/// keys over the file's): the knobs of the policy that turns agents'
/// reports into weights (`lvs-feedback`'s `Config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedbackConfig {
    /// `smoothing`: the EWMA weight of a new report, in thousandths (the
    /// file says 0.001 to 1; 1 uses the last report only). Default 0.5.
    pub smoothing_permille: u32,
    /// `max_step_percent`: the largest change per interval, in percent of
    /// the configured weight (1 to 100). Default 25.
    pub max_step_percent: u32,
    /// `band_percent`: smaller moves than this, in percent of the configured
    /// weight, are not made (0 to 100). Default 5.
    pub band_percent: u32,
    /// `blackout`: a new or returning agent's reports are used only this
    /// long after its first one (0s to 1h). Default 10 s.
    pub blackout: Duration,
    /// `expiry`: an agent silent for longer than this no longer counts; its
    /// real server returns to the configured weight (100ms to 1d, and
    /// longer than the service's agent intervals). Default 30 s.
    pub expiry: Duration,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        Self {
            smoothing_permille: 500,
            max_step_percent: 25,
            band_percent: 5,
            blackout: Duration::from_secs(10),
            expiry: Duration::from_secs(30),
        }
    }
}

/// The keys of `[feedback]` and `[service.feedback]`.
const FEEDBACK_KEYS: &[&str] = &[
    "smoothing",
    "max_step_percent",
    "band_percent",
    "blackout",
    "expiry",
];

/// What happens to a real server whose check fails `fall` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Weight 0: no new connections, existing ones go on.
    Inhibit,
    /// Deleted from the table.
    Remove,
}

/// `[service.check]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConfig {
    /// What is checked.
    pub kind: CheckKind,
    /// Time between the starts of two checks of one real server.
    pub interval: Duration,
    /// Time after which a check counts as failed (and an `exec` is killed).
    pub timeout: Duration,
    /// Successes in a row that bring a down real server back.
    pub rise: u32,
    /// Failures in a row that take an up real server down.
    pub fall: u32,
    /// Inhibit or remove a failed real server.
    pub on_failure: OnFailure,
    /// Port to check instead of the real server's.
    pub port: Option<u16>,
    /// Spread the first checks of the real servers over one interval.
    pub spread: bool,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self {
            kind: CheckKind::None,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(3),
            rise: 2,
            fall: 3,
            on_failure: OnFailure::Inhibit,
            port: None,
            spread: true,
        }
    }
}

/// The kind of health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    /// No check: real servers are always up.
    None,
    /// A TCP connection is accepted.
    Tcp,
    /// An HTTP GET answers with an expected status (and body).
    Http(HttpCheck),
    /// The same over TLS.
    Https(HttpCheck),
    /// A program's exit status (keepalived's MISC_CHECK).
    Exec(ExecCheck),
}

impl CheckKind {
    /// The name used in the file.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::None => "none",
            CheckKind::Tcp => "tcp",
            CheckKind::Http(_) => "http",
            CheckKind::Https(_) => "https",
            CheckKind::Exec(_) => "exec",
        }
    }
}

/// HTTP and HTTPS checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    /// Request path (starts with `/`).
    pub path: String,
    /// `Host` header (and TLS server name); the real server's address when unset.
    pub host: Option<String>,
    /// Accepted status codes.
    pub status: StatusRanges,
    /// A regular expression the body must match.
    pub body: Option<BodyRegex>,
}

/// Inclusive ranges of HTTP status codes, e.g. `"200-399"` or `"200,204"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRanges(pub Vec<(u16, u16)>);

impl StatusRanges {
    /// Whether `status` is in one of the ranges.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }

    fn parse(text: &str) -> Result<Self, String> {
        let bad =
            || format!("invalid status range {text:?} (write e.g. \"200-399\" or \"200,204\")");
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (lo.trim(), hi.trim()),
                None => (part, part),
            };
            let lo: u16 = lo.parse().map_err(|_| bad())?;
            let hi: u16 = hi.parse().map_err(|_| bad())?;
            if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
                return Err(bad());
            }
            ranges.push((lo, hi));
        }
        Ok(Self(ranges))
    }
}

impl fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (lo, hi)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
    }
}

/// A compiled body regex, compared by its source text.
#[derive(Debug, Clone)]
pub struct BodyRegex(pub Regex);

impl PartialEq for BodyRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for BodyRegex {}

/// `exec` checks: keepalived's MISC_CHECK contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecCheck {
    /// Program and arguments, run without a shell; `{address}` and `{port}`
    /// in an argument are replaced by the real server's.
    pub command: Vec<String>,
    /// Exit status 2–255 sets the weight to status − 2.
    pub dynamic: bool,
}

/// A position in the file, 1-based, the column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `source`.
    pub fn of(source: &str, offset: usize) -> Self {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Self { line, column }
    }
}

/// One error in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where it is.
    pub position: Position,
    /// What is wrong.
    pub message: String,
}

/// Every error found in one configuration file, in file order, displayed one
/// per line as `FILE:LINE:COLUMN: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The file's name as given.
    pub file: String,
    /// The errors (never empty).
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, error.position.line, error.position.column, error.message
            )?;
        }
        Ok(())
    }
}

/// Errors of [`load`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file has errors.
    #[error(transparent)]
    Invalid(#[from] ConfigErrors),
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<Config, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        file: file.clone(),
        source,
    })?;
    Ok(parse(&text, &file)?)
}

/// Parses configuration text; `file` names it in the errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let mut walker = Walker::new(text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    for error in syntax {
        let offset = error.span().map_or(0, |s| s.start);
        let message = error.message().trim().to_string();
        walker.error(offset..offset, format!("TOML syntax: {message}"));
    }
    let config = if walker.errors.is_empty() {
        walker.config(root.get_ref(), root.span())
    } else {
        Config::default()
    };
    if walker.errors.is_empty() {
        Ok(config)
    } else {
        let mut errors = walker.errors;
        errors.sort_by_key(|e| e.position);
        errors.dedup();
        Err(ConfigErrors {
            file: file.to_string(),
            errors,
        })
    }
}

type Value<'i> = Spanned<DeValue<'i>>;

struct Walker<'s> {
    source: &'s str,
    /// The byte offset of each line's start, for positions in O(log n).
    line_starts: Vec<usize>,
    errors: Vec<ConfigError>,
}

/// The keys of one table, checked against the allowed ones.
struct Fields<'a, 'i> {
    table: &'a DeTable<'i>,
    span: Range<usize>,
}

impl<'a, 'i> Fields<'a, 'i> {
    fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    fn key_span(&self, key: &str) -> Range<usize> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map_or(self.span.clone(), |(k, _)| k.span())
    }
}

impl<'s> Walker<'s> {
    fn new(source: &'s str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            source,
            line_starts,
            errors: Vec::new(),
        }
    }

    /// [`Position::of`] without scanning the text before `offset`.
    fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.source.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self
            .source
            .get(start..offset)
            .map_or(offset - start, |text| text.chars().count())
            + 1;
        Position { line, column }
    }

    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            position: self.position(span.start),
            message: message.into(),
        });
    }

    fn fields<'a, 'i>(
        &mut self,
        table: &'a DeTable<'i>,
        span: Range<usize>,
        what: &str,
        allowed: &[&str],
    ) -> Fields<'a, 'i> {
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if !allowed.contains(&name) {
                self.error(
                    key.span(),
                    format!(
                        "unknown key `{name}` in {what} (known: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Fields { table, span }
    }

    fn string<'v>(&mut self, value: &'v Value<'_>, key: &str) -> Option<&'v str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            other => {
                self.error(
                    value.span(),
                    format!("`{key}` must be a string, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn integer(&mut self, value: &Value<'_>, key: &str, range: Range<u64>) -> Option<u64> {
        let parsed = match value.get_ref() {
            DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix()).ok(),
            other => {
                self.error(
                    value.span(),
                    format!("`{key}` must be an integer, not {}", other.type_str()),
                );
                return None;
            }
        };
        match parsed {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                self.error(
                    value.span(),
                    format!(
                        "`{key}` must be an integer from {} to {}",
                        range.start,
                        range.end - 1
                    ),
                );
                None
            }
        }
    }

    fn boolean(&mut self, value: &Value<'_>, key: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.error(
                    value.span(),
                    format!("`{key}` must be true or false, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn duration(&mut self, fields: &Fields<'_, '_>, key: &str) -> Option<(Duration, Range<usize>)> {
        let value = fields.get(key)?;
        let text = self.string(value, key)?;
        match parse_duration(text) {
            Ok(d) => Some((d, value.span())),
            Err(message) => {
                self.error(value.span(), format!("`{key}`: {message}"));
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        fields: &Fields<'_, '_>,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        let value = fields.get(key)?;
        let text = self.string(value, key)?;
        match choices.iter().find(|(name, _)| *name == text) {
            Some((_, v)) => Some(*v),
            None => {
                let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
                self.error(
                    value.span(),
                    format!("unknown {key} {text:?} (known: {})", names.join(", ")),
                );
                None
            }
        }
    }

    fn config(&mut self, root: &DeTable<'_>, span: Range<usize>) -> Config {
        let fields = self.fields(root, span, "the file", &["feedback", "service"]);
        let mut config = Config::default();
        let feedback = match fields.get("feedback") {
            None => FeedbackConfig::default(),
            Some(v) => self.feedback(v, "[feedback]", FeedbackConfig::default()),
        };
        let Some(services) = fields.get("service") else {
            return config;
        };
        let DeValue::Array(items) = services.get_ref() else {
            self.error(
                services.span(),
                "`service` must be an array of tables ([[service]])",
            );
            return config;
        };
        let mut seen: HashMap<ServiceKey, Position> = HashMap::new();
        for item in items.iter() {
            let DeValue::Table(table) = item.get_ref() else {
                self.error(item.span(), "each service must be a table ([[service]])");
                continue;
            };
            if let Some((service, key_span)) = self.service(table, item.span(), feedback) {
                let here = self.position(key_span.start);
                if let Some(first) = seen.get(&service.key) {
                    self.error(
                        key_span,
                        format!(
                            "duplicate service {} (first at line {})",
                            service.key, first.line
                        ),
                    );
                } else {
                    seen.insert(service.key, here);
                    config.services.push(service);
                }
            }
        }
        config
    }

    fn service(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        feedback: FeedbackConfig,
    ) -> Option<(ServiceConfig, Range<usize>)> {
        let errors_before = self.errors.len();
        let f = self.fields(
            table,
            span.clone(),
            "[[service]]",
            &[
                "address",
                "fwmark",
                "family",
                "protocol",
                "scheduler",
                "persistence",
                "netmask",
                "forwarding",
                "drain",
                "sorry",
                "check",
                "feedback",
                "agent",
                "real",
            ],
        );
        // The key.
        let protocol = self
            .choice(
                &f,
                "protocol",
                &[
                    ("tcp", Protocol::Tcp),
                    ("udp", Protocol::Udp),
                    ("sctp", Protocol::Sctp),
                ],
            )
            .unwrap_or(Protocol::Tcp);
        let family = self.choice(
            &f,
            "family",
            &[
                ("inet", AddressFamily::Inet),
                ("inet6", AddressFamily::Inet6),
            ],
        );
        let mut key = None;
        let mut key_span = span.clone();
        match (f.get("address"), f.get("fwmark")) {
            (Some(_), Some(mark)) => {
                self.error(mark.span(), "a service has `address` or `fwmark`, not both");
            }
            (None, None) => {
                self.error(span.clone(), "a service needs `address` or `fwmark`");
            }
            (Some(address), None) => {
                key_span = address.span();
                if let Some(text) = self.string(address, "address") {
                    match text.parse::<SocketAddr>() {
                        Ok(a) => key = Some(ServiceKey::tuple(protocol, a)),
                        Err(_) => self.error(
                            address.span(),
                            format!(
                                "invalid service address {text:?} (write ADDRESS:PORT, [IPv6]:PORT)"
                            ),
                        ),
                    }
                }
                if let Some(v) = f.get("family") {
                    self.error(
                        v.span(),
                        "`family` is only for fwmark services (an address has its own)",
                    );
                }
            }
            (None, Some(mark)) => {
                key_span = mark.span();
                if let Some(v) = f.get("protocol") {
                    self.error(
                        v.span(),
                        "`protocol` has no meaning with `fwmark` (the mark selects the packets)",
                    );
                }
                if let Some(m) = self.integer(mark, "fwmark", 1..u64::from(u32::MAX) + 1) {
                    key = Some(ServiceKey::fwmark(
                        family.unwrap_or(AddressFamily::Inet),
                        m as u32,
                    ));
                }
            }
        }
        let scheduler = match f.get("scheduler") {
            None => "wlc".to_string(),
            Some(v) => match self.string(v, "scheduler") {
                Some(s) if SCHEDULERS.contains(&s) => s.to_string(),
                Some(s) => {
                    self.error(
                        v.span(),
                        format!("unknown scheduler {s:?} (known: {})", SCHEDULERS.join(", ")),
                    );
                    String::new()
                }
                None => String::new(),
            },
        };
        let persistence = self.duration(&f, "persistence").map(|(d, span)| {
            if d < Duration::from_secs(1) {
                self.error(span, "`persistence` must be at least 1s");
            }
            d
        });
        let mut netmask = None;
        if let Some(v) = f.get("netmask") {
            if persistence.is_none() {
                self.error(v.span(), "`netmask` needs `persistence`");
            }
            let service_family = key.map(|k| k.family()).unwrap_or(AddressFamily::Inet);
            netmask = self.netmask(v, service_family);
        }
        let forwarding = self
            .choice(&f, "forwarding", FORWARDINGS)
            .unwrap_or(Forwarding::Masq);
        let drain = self
            .duration(&f, "drain")
            .map_or(Duration::from_secs(60), |(d, _)| d);
        let sorry = f.get("sorry").and_then(|v| {
            let text = self.string(v, "sorry")?;
            match text.parse::<SocketAddr>() {
                Ok(a) => Some((a, v.span())),
                Err(_) => {
                    self.error(
                        v.span(),
                        format!("invalid sorry server {text:?} (write ADDRESS:PORT)"),
                    );
                    None
                }
            }
        });
        let check = match f.get("check") {
            None => CheckConfig::default(),
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => self.check(t, v.span()),
                other => {
                    self.error(
                        v.span(),
                        format!("`check` must be a table, not {}", other.type_str()),
                    );
                    CheckConfig::default()
                }
            },
        };
        let service_agent = match f.get("agent") {
            None => None,
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => Some(self.agent(t, v.span(), AgentConfig::default())),
                other => {
                    self.error(
                        v.span(),
                        format!(
                            "`agent` of a service must be a table like {{ port = 3333, interval = \"2s\" }} (its real servers' default), not {}",
                            other.type_str()
                        ),
                    );
                    None
                }
            },
        };
        let feedback = match f.get("feedback") {
            None => feedback,
            Some(v) => self.feedback(v, "[service.feedback]", feedback),
        };
        let is_fwmark = matches!(key, Some(ServiceKey::Fwmark { .. }));
        let mut reals = Vec::new();
        let mut seen: HashMap<SocketAddr, usize> = HashMap::new();
        if let Some(v) = f.get("real") {
            match v.get_ref() {
                DeValue::Array(items) => {
                    for item in items.iter() {
                        let DeValue::Table(t) = item.get_ref() else {
                            self.error(
                                item.span(),
                                "each real server must be a table ([[service.real]])",
                            );
                            continue;
                        };
                        let Some((real, span)) =
                            self.real(t, item.span(), forwarding, is_fwmark, service_agent)
                        else {
                            continue;
                        };
                        if let Some(first) = seen.get(&real.address) {
                            self.error(
                                span,
                                format!(
                                    "duplicate real server {} (first at line {first})",
                                    real.address
                                ),
                            );
                            continue;
                        }
                        seen.insert(real.address, self.position(span.start).line);
                        if let Some(k) = key
                            && k.family() != AddressFamily::of(real.address.ip())
                            && real.forwarding != Forwarding::Tunnel
                        {
                            self.error(
                                span.clone(),
                                format!(
                                    "real server {} is not of the service's address family (only tun mixes families)",
                                    real.address
                                ),
                            );
                        }
                        if real.address.port() == 0
                            && check.port.is_none()
                            && matches!(
                                check.kind,
                                CheckKind::Tcp | CheckKind::Http(_) | CheckKind::Https(_)
                            )
                        {
                            self.error(
                                span.clone(),
                                format!(
                                    "real server {} has no port to check: give it one or set `port` in [service.check]",
                                    real.address.ip()
                                ),
                            );
                        }
                        reals.push(real);
                    }
                }
                other => self.error(
                    v.span(),
                    format!(
                        "`real` must be an array of tables ([[service.real]]), not {}",
                        other.type_str()
                    ),
                ),
            }
        }
        if let Some((address, span)) = sorry.clone() {
            if seen.contains_key(&address) {
                self.error(
                    span.clone(),
                    format!("sorry server {address} is also a real server"),
                );
            }
            if let Some(k) = key
                && k.family() != AddressFamily::of(address.ip())
            {
                self.error(
                    span,
                    "the sorry server is not of the service's address family",
                );
            }
        }
        if let Some(slowest) = reals
            .iter()
            .filter_map(|r| r.agent.map(|a| a.interval))
            .max()
            && feedback.expiry <= slowest
        {
            let at = f.get("feedback").map_or_else(|| span.clone(), |v| v.span());
            self.error(
                at,
                format!(
                    "`expiry` of the feedback ({}) must be longer than the service's longest agent interval ({}): every report would expire before the next",
                    format_duration(feedback.expiry),
                    format_duration(slowest)
                ),
            );
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some((
            ServiceConfig {
                key: key?,
                scheduler,
                persistence,
                netmask,
                forwarding,
                drain,
                sorry: sorry.map(|(a, _)| a),
                check,
                feedback,
                reals,
            },
            key_span,
        ))
    }

    fn netmask(&mut self, value: &Value<'_>, family: AddressFamily) -> Option<Netmask> {
        match (family, value.get_ref()) {
            (AddressFamily::Inet6, DeValue::Integer(_)) => self
                .integer(value, "netmask", 1..129)
                .map(|n| Netmask::V6(n as u8)),
            (AddressFamily::Inet6, _) => {
                self.error(
                    value.span(),
                    "an IPv6 `netmask` is a prefix length (1 to 128)",
                );
                None
            }
            (_, DeValue::String(s)) => match s.parse::<Ipv4Addr>() {
                Ok(mask) => Some(Netmask::V4(mask)),
                Err(_) => {
                    self.error(
                        value.span(),
                        format!("invalid netmask {s:?} (write e.g. \"255.255.255.0\")"),
                    );
                    None
                }
            },
            _ => {
                self.error(
                    value.span(),
                    "an IPv4 `netmask` is a string such as \"255.255.255.0\"",
                );
                None
            }
        }
    }

    fn real(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        forwarding: Forwarding,
        is_fwmark: bool,
        service_agent: Option<AgentConfig>,
    ) -> Option<(RealConfig, Range<usize>)> {
        let f = self.fields(
            table,
            span.clone(),
            "[[service.real]]",
            &[
                "address",
                "weight",
                "forwarding",
                "upper_threshold",
                "lower_threshold",
                "agent",
            ],
        );
        let mut address = None;
        let mut address_span = span.clone();
        match f.get("address") {
            None => self.error(span.clone(), "a real server needs `address`"),
            Some(v) => {
                address_span = v.span();
                if let Some(text) = self.string(v, "address") {
                    if let Ok(a) = text.parse::<SocketAddr>() {
                        if a.port() == 0 && !is_fwmark {
                            self.error(v.span(), format!("real server {text:?} needs a port"));
                        } else {
                            address = Some(a);
                        }
                    } else if let Ok(ip) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
                        if is_fwmark {
                            address = Some(SocketAddr::new(ip, 0));
                        } else {
                            self.error(
                                v.span(),
                                format!("real server {text:?} needs a port (ADDRESS:PORT)"),
                            );
                        }
                    } else {
                        self.error(
                            v.span(),
                            format!("invalid real server address {text:?} (write ADDRESS:PORT, [IPv6]:PORT)"),
                        );
                    }
                }
            }
        }
        let weight = f
            .get("weight")
            .and_then(|v| self.integer(v, "weight", 0..MAX_WEIGHT + 1))
            .unwrap_or(1) as u32;
        let forwarding = self
            .choice(&f, "forwarding", FORWARDINGS)
            .unwrap_or(forwarding);
        let upper_threshold = f
            .get("upper_threshold")
            .and_then(|v| self.integer(v, "upper_threshold", 0..u64::from(u32::MAX) + 1))
            .unwrap_or(0) as u32;
        let lower_threshold = f
            .get("lower_threshold")
            .and_then(|v| self.integer(v, "lower_threshold", 0..u64::from(u32::MAX) + 1))
            .unwrap_or(0) as u32;
        if upper_threshold != 0 && lower_threshold > upper_threshold {
            self.error(
                f.key_span("lower_threshold"),
                "`lower_threshold` must not exceed `upper_threshold`",
            );
        }
        let agent = match f.get("agent") {
            None => service_agent,
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => {
                    Some(self.agent(t, v.span(), service_agent.unwrap_or_default()))
                }
                DeValue::Boolean(false) => None,
                DeValue::Boolean(true) => Some(service_agent.unwrap_or_default()),
                other => {
                    self.error(
                        v.span(),
                        format!(
                            "`agent` must be a table like {{ port = 3333, interval = \"2s\" }}, or false (no agent), not {}",
                            other.type_str()
                        ),
                    );
                    None
                }
            },
        };
        // Returned even when other keys are wrong (the service is refused
        // then), so that duplicates are still found.
        Some((
            RealConfig {
                address: address?,
                weight,
                forwarding,
                upper_threshold,
                lower_threshold,
                agent,
            },
            address_span,
        ))
    }

    fn agent(&mut self, table: &DeTable<'_>, span: Range<usize>, base: AgentConfig) -> AgentConfig {
        let f = self.fields(table, span, "`agent`", &["port", "interval"]);
        let mut agent = base;
        if let Some(port) = f
            .get("port")
            .and_then(|v| self.integer(v, "port", 1..65536))
        {
            agent.port = port as u16;
        }
        if let Some((interval, at)) = self.duration(&f, "interval") {
            if interval < Duration::from_millis(100) || interval > Duration::from_secs(3600) {
                self.error(at, "`interval` of `agent` must be from 100ms to 1h");
            } else {
                agent.interval = interval;
            }
        }
        agent
    }

    /// `[feedback]` or `[service.feedback]` (`what`): its keys over `base`.
    fn feedback(&mut self, value: &Value<'_>, what: &str, base: FeedbackConfig) -> FeedbackConfig {
        let DeValue::Table(table) = value.get_ref() else {
            self.error(
                value.span(),
                format!("{what} must be a table, not {}", value.get_ref().type_str()),
            );
            return base;
        };
        let f = self.fields(table, value.span(), what, FEEDBACK_KEYS);
        let mut feedback = base;
        if let Some(v) = f.get("smoothing") {
            let number = match v.get_ref() {
                DeValue::Float(x) => x.as_str().replace('_', "").parse::<f64>().ok(),
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                    .ok()
                    .map(|n| n as f64),
                _ => None,
            };
            match number {
                Some(x) if (0.001..=1.0).contains(&x) => {
                    feedback.smoothing_permille = (x * 1000.0).round() as u32;
                }
                _ => self.error(
                    v.span(),
                    format!(
                        "`smoothing` in {what} must be a number from 0.001 to 1 (the weight of a new report in the average; 1: the last report only)"
                    ),
                ),
            }
        }
        if let Some(n) = f
            .get("max_step_percent")
            .and_then(|v| self.integer(v, "max_step_percent", 1..101))
        {
            feedback.max_step_percent = n as u32;
        }
        if let Some(n) = f
            .get("band_percent")
            .and_then(|v| self.integer(v, "band_percent", 0..101))
        {
            feedback.band_percent = n as u32;
        }
        if let Some((d, at)) = self.duration(&f, "blackout") {
            if d > Duration::from_secs(3600) {
                self.error(at, format!("`blackout` in {what} must be from 0s to 1h"));
            } else {
                feedback.blackout = d;
            }
        }
        if let Some((d, at)) = self.duration(&f, "expiry") {
            if d < Duration::from_millis(100) || d > Duration::from_secs(86_400) {
                self.error(at, format!("`expiry` in {what} must be from 100ms to 1d"));
            } else {
                feedback.expiry = d;
            }
        }
        feedback
    }

    fn check(&mut self, table: &DeTable<'_>, span: Range<usize>) -> CheckConfig {
        let f = self.fields(
            table,
            span.clone(),
            "[service.check]",
            &[
                "type",
                "interval",
                "timeout",
                "rise",
                "fall",
                "on_failure",
                "port",
                "spread",
                "path",
                "host",
                "status",
                "body",
                "command",
                "dynamic",
            ],
        );
        let mut check = CheckConfig::default();
        let kind = match f.get("type") {
            None => {
                self.error(
                    span.clone(),
                    "[service.check] needs `type` (tcp, http, https, exec or none)",
                );
                "none"
            }
            Some(v) => match self.string(v, "type") {
                Some(t @ ("tcp" | "http" | "https" | "exec" | "none")) => t,
                Some(t) => {
                    self.error(
                        v.span(),
                        format!("unknown check type {t:?} (known: tcp, http, https, exec, none)"),
                    );
                    "none"
                }
                None => "none",
            },
        };
        let interval = self.duration(&f, "interval");
        if let Some((d, s)) = &interval {
            if *d < Duration::from_millis(100) {
                self.error(s.clone(), "`interval` must be at least 100ms");
            }
            check.interval = *d;
        }
        match self.duration(&f, "timeout") {
            Some((d, s)) => {
                if d < Duration::from_millis(10) {
                    self.error(s.clone(), "`timeout` must be at least 10ms");
                }
                if d > check.interval {
                    self.error(
                        s,
                        "`timeout` must not exceed `interval` (checks never overlap)",
                    );
                }
                check.timeout = d;
            }
            None => check.timeout = check.timeout.min(check.interval),
        }
        if let Some(v) = f.get("rise") {
            check.rise = self.integer(v, "rise", 1..1001).unwrap_or(1) as u32;
        }
        if let Some(v) = f.get("fall") {
            check.fall = self.integer(v, "fall", 1..1001).unwrap_or(1) as u32;
        }
        if let Some(v) = self.choice(
            &f,
            "on_failure",
            &[
                ("inhibit", OnFailure::Inhibit),
                ("remove", OnFailure::Remove),
            ],
        ) {
            check.on_failure = v;
        }
        if let Some(v) = f.get("port") {
            check.port = self.integer(v, "port", 1..65536).map(|p| p as u16);
        }
        if let Some(v) = f.get("spread") {
            check.spread = self.boolean(v, "spread").unwrap_or(true);
        }
        // Keys that only some types take.
        let only = |key: &str| -> Option<&[&str]> {
            match key {
                "path" | "host" | "status" | "body" => Some(&["http", "https"]),
                "command" | "dynamic" => Some(&["exec"]),
                "port" => Some(&["tcp", "http", "https"]),
                _ => None,
            }
        };
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if let Some(types) = only(name)
                && !types.contains(&kind)
            {
                self.error(
                    key.span(),
                    format!(
                        "`{name}` has no meaning for a {kind} check (only {})",
                        types.join(", ")
                    ),
                );
            }
        }
        check.kind = match kind {
            "tcp" => CheckKind::Tcp,
            "http" | "https" => {
                let http = self.http(&f);
                if kind == "http" {
                    CheckKind::Http(http)
                } else {
                    CheckKind::Https(http)
                }
            }
            "exec" => {
                let dynamic = f
                    .get("dynamic")
                    .and_then(|v| self.boolean(v, "dynamic"))
                    .unwrap_or(false);
                let mut command = Vec::new();
                match f.get("command") {
                    None => self.error(
                        span,
                        "an exec check needs `command` (an array: program and arguments)",
                    ),
                    Some(v) => match v.get_ref() {
                        DeValue::Array(items) if !items.is_empty() => {
                            for item in items.iter() {
                                if let Some(s) = self.string(item, "command") {
                                    command.push(s.to_string());
                                }
                            }
                        }
                        _ => self.error(
                            v.span(),
                            "`command` must be a non-empty array of strings (no shell: [\"/path/prog\", \"arg\"])",
                        ),
                    },
                }
                CheckKind::Exec(ExecCheck { command, dynamic })
            }
            _ => CheckKind::None,
        };
        check
    }

    fn http(&mut self, f: &Fields<'_, '_>) -> HttpCheck {
        let mut http = HttpCheck {
            path: "/".to_string(),
            host: None,
            status: StatusRanges(vec![(200, 399)]),
            body: None,
        };
        let token_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
        if let Some(v) = f.get("path")
            && let Some(p) = self.string(v, "path")
        {
            if p.starts_with('/') && token_ok(p) {
                http.path = p.to_string();
            } else {
                self.error(
                    v.span(),
                    format!("invalid path {p:?} (starts with /, printable ASCII without spaces)"),
                );
            }
        }
        if let Some(v) = f.get("host")
            && let Some(h) = self.string(v, "host")
        {
            if token_ok(h) {
                http.host = Some(h.to_string());
            } else {
                self.error(v.span(), format!("invalid host {h:?}"));
            }
        }
        if let Some(v) = f.get("status")
            && let Some(s) = self.string(v, "status")
        {
            match StatusRanges::parse(s) {
                Ok(r) => http.status = r,
                Err(message) => self.error(v.span(), message),
            }
        }
        if let Some(v) = f.get("body")
            && let Some(s) = self.string(v, "body")
        {
            match regex::RegexBuilder::new(s).size_limit(1 << 20).build() {
                Ok(r) => http.body = Some(BodyRegex(r)),
                Err(e) => self.error(v.span(), format!("invalid body regex: {e}")),
            }
        }
        http
    }
}

const FORWARDINGS: &[(&str, Forwarding)] = &[
    ("nat", Forwarding::Masq),
    ("dr", Forwarding::DirectRoute),
    ("tun", Forwarding::Tunnel),
];

/// The file's name for a forwarding method (`nat`, `dr`, `tun`).
pub fn forwarding_name(forwarding: Forwarding) -> &'static str {
    FORWARDINGS
        .iter()
        .find(|(_, f)| *f == forwarding)
        .map_or("other", |(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_by_index_equal_positions_by_scan() {
        let text = "a = 1\n\n  é = \"ü\" # ß\r\n[[x]]\nlast";
        let walker = Walker::new(text);
        for offset in 0..=text.len() + 2 {
            if text.is_char_boundary(offset.min(text.len())) {
                assert_eq!(
                    walker.position(offset),
                    Position::of(text, offset),
                    "{offset}"
                );
            }
        }
    }
}
