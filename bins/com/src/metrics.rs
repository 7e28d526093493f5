//! `--metrics ADDR`: the live session's readings for Prometheus at
//! `http://ADDR/metrics`, through prometheus-client, served by a small HTTP/1.1
//! responder on its own thread (one request per connection, bounded: 8 KiB of
//! request head, 2 s to send it).
//!
//! The text is Prometheus' classic exposition format (0.0.4), which
//! `promtool check metrics` reads, or OpenMetrics when the scraper asks for it
//! (`Accept: application/openmetrics-text`), as prometheus-client writes it.
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

/// The metrics a session updates.
#[derive(Debug, Clone)]
pub struct Metrics {
    voltage: Gauge<f64, AtomicU64>,
    current: Gauge<f64, AtomicU64>,
    power: Gauge<f64, AtomicU64>,
    power_factor: Gauge<f64, AtomicU64>,
    frequency: Gauge<f64, AtomicU64>,
    energy: Counter<f64, AtomicU64>,
    frames: Family<Vec<(String, String)>, Counter>,
    last_frame: Gauge<f64, AtomicU64>,
    /// The meter's counter at the last frame, in Wh.
    last_counter: Option<f64>,
    /// Held while a frame's values are set and while the text is made, so a
    /// scrape sees one frame's values with that frame's counts.
    lock: Arc<Mutex<()>>,
}

/// What a frame said, in base units (`None`: not in the frame).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Values {
    pub volts: Option<f64>,
    pub amperes: Option<f64>,
    pub watts: Option<f64>,
    pub watt_hours: Option<f64>,
    pub power_factor: Option<f64>,
    pub hertz: Option<f64>,
}

impl Metrics {
    /// The metrics, registered with the `device` label.
    pub fn new(device: &str) -> (Metrics, Registry) {
        let mut registry = Registry::with_labels(
            [(
                std::borrow::Cow::Borrowed("device"),
                std::borrow::Cow::Owned(device.to_string()),
            )]
            .into_iter(),
        );
        let m = Metrics {
            voltage: Gauge::default(),
            current: Gauge::default(),
            power: Gauge::default(),
            power_factor: Gauge::default(),
            frequency: Gauge::default(),
            energy: Counter::default(),
            frames: Family::default(),
            last_frame: Gauge::default(),
            last_counter: None,
            lock: Arc::new(Mutex::new(())),
        };
        let other = |u: &str| Unit::Other(u.to_string());
        registry.register_with_unit(
            "hpm_voltage",
            "Voltage of the last consistent frame",
            Unit::Volts,
            m.voltage.clone(),
        );
        registry.register_with_unit(
            "hpm_current",
            "Current of the last consistent frame",
            Unit::Amperes,
            m.current.clone(),
        );
        registry.register_with_unit(
            "hpm_power",
            "Active power of the last consistent frame",
            other("watts"),
            m.power.clone(),
        );
        registry.register(
            "hpm_power_factor",
            "Power factor of the last consistent frame",
            m.power_factor.clone(),
        );
        registry.register_with_unit(
            "hpm_frequency",
            "Line frequency of the last consistent frame",
            other("hertz"),
            m.frequency.clone(),
        );
        registry.register_with_unit(
            "hpm_energy",
            "Energy from the meter's counter: its first reading, then its increases (after a reset, its new reading)",
            Unit::Joules,
            m.energy.clone(),
        );
        registry.register(
            "hpm_frames",
            "Frames received: ok (consistent), damaged (not in the meter's shape), suspect (power disagrees with V x A x PF)",
            m.frames.clone(),
        );
        registry.register_with_unit(
            "hpm_last_frame_timestamp",
            "When the last consistent frame arrived (Unix time)",
            Unit::Seconds,
            m.last_frame.clone(),
        );
        for result in ["ok", "damaged", "suspect"] {
            let _ = m.frames.get_or_create(&labels(result));
        }
        (m, registry)
    }

    /// The lock to hold while making the text ([`serve`]).
    pub fn lock(&self) -> Arc<Mutex<()>> {
        Arc::clone(&self.lock)
    }

    /// A consistent frame received at Unix time `now`.
    pub fn frame(&mut self, values: &Values, now: f64) {
        let lock = Arc::clone(&self.lock);
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        let set = |g: &Gauge<f64, AtomicU64>, v: Option<f64>| {
            if let Some(v) = v {
                g.set(v);
            }
        };
        set(&self.voltage, values.volts);
        set(&self.current, values.amperes);
        set(&self.power, values.watts);
        set(&self.power_factor, values.power_factor);
        set(&self.frequency, values.hertz);
        if let Some(wh) = values.watt_hours {
            let add = match self.last_counter {
                Some(last) if wh >= last => wh - last,
                // The first reading, or the counter restarted from zero.
                _ => wh,
            };
            self.energy.inc_by(add * 3600.0);
            self.last_counter = Some(wh);
        }
        self.last_frame.set(now);
        self.frames.get_or_create(&labels("ok")).inc();
    }

    pub fn suspect(&self) {
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.frames.get_or_create(&labels("suspect")).inc();
    }

    pub fn damaged(&self, n: u64) {
        if n > 0 {
            let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.frames.get_or_create(&labels("damaged")).inc_by(n);
        }
    }
}

fn labels(result: &str) -> Vec<(String, String)> {
    vec![("result".to_string(), result.to_string())]
}

/// The registry as Prometheus' classic text format: prometheus-client writes
/// OpenMetrics, whose counters are described under their name without
/// `_total` and which has `# UNIT` and `# EOF` lines; the classic format
/// describes the `_total` series itself and has neither.
pub fn classic_text(registry: &Registry) -> String {
    let mut open = String::new();
    if encode(&mut open, registry).is_err() {
        return String::new();
    }
    let mut counters: Vec<String> = Vec::new();
    for line in open.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.push(name.to_string());
        }
    }
    let mut out = String::with_capacity(open.len());
    for line in open.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .iter()
                .any(|c| c == name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// The most a request head may take, and how long it may take to arrive.
const MAX_HEAD: usize = 8 * 1024;
const TIMEOUT: Duration = Duration::from_secs(2);

/// Listens on `addr` and serves the registry from a thread; returns the bound
/// address (port 0 picks one).
pub fn serve(
    addr: SocketAddr,
    registry: Registry,
    lock: Arc<Mutex<()>>,
) -> anyhow::Result<SocketAddr> {
    let listener =
        TcpListener::bind(addr).with_context(|| format!("--metrics: cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("--metrics")?;
    let registry = Arc::new(registry);
    std::thread::Builder::new()
        .name("metrics".to_string())
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    Ok(stream) => {
                        let _ = answer(stream, &registry, &lock);
                    }
                    // Out of descriptors, say: no busy loop while it lasts.
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        })
        .context("--metrics: starting the server thread")?;
    Ok(bound)
}

/// Reads one request head (bounded) and answers it.
fn answer(mut stream: TcpStream, registry: &Registry, lock: &Mutex<()>) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let complete = loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break true;
        }
        if head.len() > MAX_HEAD {
            break false;
        }
        match stream.read(&mut buf) {
            Ok(0) => break false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break false,
        }
    };
    let (status, content_type, body) = if !complete {
        if head.len() > MAX_HEAD {
            (
                "431 Request Header Fields Too Large",
                "text/plain",
                "request head too large\n".to_string(),
            )
        } else {
            (
                "400 Bad Request",
                "text/plain",
                "incomplete request\n".to_string(),
            )
        }
    } else {
        let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
        respond(&String::from_utf8_lossy(&head), registry)
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes())?;
    stream.flush()?;
    if !complete {
        // Read what is left of a refused request (briefly) so that closing
        // does not reset the connection before the client reads the answer.
        stream.shutdown(std::net::Shutdown::Write)?;
        stream.set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut left = 0;
        while let Ok(n) = stream.read(&mut buf) {
            left += n;
            if n == 0 || left > 64 * 1024 {
                break;
            }
        }
    }
    Ok(())
}

/// Status, content type and body for a request head.
fn respond(head: &str, registry: &Registry) -> (&'static str, &'static str, String) {
    let mut lines = head.lines();
    let request = lines.next().unwrap_or("");
    let mut parts = request.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    if !version.is_some_and(|v| v.starts_with("HTTP/1.")) || parts.next().is_some() {
        return (
            "400 Bad Request",
            "text/plain",
            "bad request line\n".to_string(),
        );
    }
    let path = target.unwrap_or("").split('?').next().unwrap_or("");
    if path != "/metrics" {
        return (
            "404 Not Found",
            "text/plain",
            "only /metrics is here\n".to_string(),
        );
    }
    if method != Some("GET") && method != Some("HEAD") {
        return (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        );
    }
    let open_metrics = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("accept:") && l.contains("application/openmetrics-text")
    });
    if open_metrics {
        let mut text = String::new();
        let _ = encode(&mut text, registry);
        (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            text,
        )
    } else {
        (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            classic_text(registry),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_text_describes_counters_by_their_total() {
        let (mut m, registry) = Metrics::new("/dev/ttyUSB0");
        m.frame(
            &Values {
                volts: Some(216.9),
                watt_hours: Some(2.0),
                ..Values::default()
            },
            1_700_000_000.0,
        );
        m.frame(
            &Values {
                watt_hours: Some(5.0),
                ..Values::default()
            },
            1_700_000_001.0,
        );
        m.damaged(2);
        let text = classic_text(&registry);
        assert!(text.contains("# TYPE hpm_frames_total counter\n"), "{text}");
        assert!(
            text.contains("# TYPE hpm_energy_joules_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("hpm_voltage_volts{device=\"/dev/ttyUSB0\"} 216.9\n"),
            "{text}"
        );
        assert!(
            text.contains("hpm_energy_joules_total{device=\"/dev/ttyUSB0\"} 18000.0\n"),
            "{text}"
        );
        assert!(
            text.contains("hpm_frames_total{device=\"/dev/ttyUSB0\",result=\"damaged\"} 2\n"),
            "{text}"
        );
        assert!(
            !text.contains("# UNIT") && !text.contains("# EOF"),
            "{text}"
        );
        // A reset: the counter's new reading is the energy since.
        m.frame(
            &Values {
                watt_hours: Some(1.0),
                ..Values::default()
            },
            1_700_000_002.0,
        );
        assert!(
            classic_text(&registry)
                .contains("hpm_energy_joules_total{device=\"/dev/ttyUSB0\"} 21600.0\n")
        );
    }

    #[test]
    fn requests_are_answered_within_bounds() {
        let (_m, registry) = Metrics::new("x");
        let ok = respond("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &registry);
        assert_eq!(ok.0, "200 OK");
        assert!(ok.1.starts_with("text/plain; version=0.0.4"));
        let om = respond(
            "GET /metrics HTTP/1.1\r\nAccept: application/openmetrics-text\r\n\r\n",
            &registry,
        );
        assert!(om.2.ends_with("# EOF\n"), "{}", om.2);
        assert_eq!(
            respond("GET / HTTP/1.1\r\n\r\n", &registry).0,
            "404 Not Found"
        );
        assert_eq!(
            respond("POST /metrics HTTP/1.1\r\n\r\n", &registry).0,
            "405 Method Not Allowed"
        );
        assert_eq!(respond("hello\r\n\r\n", &registry).0, "400 Bad Request");
    }
}
