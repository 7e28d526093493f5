//! `/metrics`: the snapshot in Prometheus' text format through
//! prometheus-client (a collector reads the snapshot at each scrape, so real
//! servers removed by a reload disappear from the output). The HTTP side is
//! deliberately small: one bounded `GET` per connection.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipvs_proto::Stats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use super::status::Snapshot;

/// The longest request head read.
const MAX_REQUEST: usize = 8 * 1024;

#[derive(Debug)]
struct SnapshotCollector(Arc<Mutex<Snapshot>>);

type Labels = Vec<(&'static str, String)>;

fn gauge<V: prometheus_client::encoding::EncodeGaugeValue + Copy>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(Labels, V)],
) -> fmt::Result {
    if samples.is_empty() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        ConstGauge::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: &[(Labels, u64)],
) -> fmt::Result {
    if samples.is_empty() {
        return Ok(());
    }
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        ConstCounter::new(*value).encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

/// A counter's name, help and value.
type CounterDef = (&'static str, &'static str, fn(&Stats) -> u64);

const COUNTERS: [CounterDef; 5] = [
    ("connections", "Connections scheduled", |s| s.connections),
    ("in_packets", "Packets in", |s| s.packets_in),
    ("out_packets", "Packets out", |s| s.packets_out),
    ("in_bytes", "Bytes in", |s| s.bytes_in),
    ("out_bytes", "Bytes out", |s| s.bytes_out),
];

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let Ok(snapshot) = self.0.lock().map(|s| s.clone()) else {
            return Ok(());
        };
        let mut up = Vec::new();
        let mut weight = Vec::new();
        let mut configured = Vec::new();
        let mut latency = Vec::new();
        let mut active = Vec::new();
        let mut real_counters: Vec<Vec<(Labels, u64)>> = vec![Vec::new(); COUNTERS.len()];
        let mut service_counters: Vec<Vec<(Labels, u64)>> = vec![Vec::new(); COUNTERS.len()];
        let mut draining = Vec::new();
        let mut agent_weight = Vec::new();
        let mut agent_spare = Vec::new();
        let mut agent_changes = Vec::new();
        for service in &snapshot.services {
            let service_labels: Labels = vec![("service", service.service.clone())];
            if let Some(stats) = &service.stats {
                for (i, (_, _, get)) in COUNTERS.iter().enumerate() {
                    service_counters[i].push((service_labels.clone(), get(stats)));
                }
            }
            draining.push((service_labels, service.draining.len() as u64));
            for real in &service.reals {
                let labels: Labels = vec![
                    ("service", service.service.clone()),
                    ("real", real.address.clone()),
                ];
                up.push((labels.clone(), u64::from(real.health == "up")));
                configured.push((labels.clone(), u64::from(real.configured_weight)));
                if let Some(w) = real.weight {
                    weight.push((labels.clone(), u64::from(w)));
                }
                if let Some(check) = &real.last_check {
                    latency.push((labels.clone(), check.latency_seconds));
                }
                if let Some(c) = &real.connections {
                    active.push((labels.clone(), u64::from(c.active)));
                }
                if let Some(stats) = &real.stats {
                    for (i, (_, _, get)) in COUNTERS.iter().enumerate() {
                        real_counters[i].push((labels.clone(), get(stats)));
                    }
                }
                if let Some(agent) = &real.agent {
                    agent_weight.push((labels.clone(), u64::from(agent.weight)));
                    if let Some(p) = agent.spare_percent {
                        agent_spare.push((labels.clone(), p));
                    }
                    for (reason, n) in &agent.changes {
                        let mut l = labels.clone();
                        l.push(("reason", reason.clone()));
                        agent_changes.push((l, *n));
                    }
                }
            }
        }
        if !up.is_empty() {
            gauge(
                &mut encoder,
                "lvsd_real_server_up",
                "1 while the real server passes its checks",
                &up,
            )?;
            gauge(
                &mut encoder,
                "lvsd_real_server_configured_weight",
                "Weight in the configuration file",
                &configured,
            )?;
        }
        if !weight.is_empty() {
            gauge(
                &mut encoder,
                "lvsd_real_server_weight",
                "Weight in the kernel's table",
                &weight,
            )?;
        }
        if !latency.is_empty() {
            gauge(
                &mut encoder,
                "lvsd_check_latency_seconds",
                "Duration of the last health check",
                &latency,
            )?;
        }
        if !active.is_empty() {
            gauge(
                &mut encoder,
                "lvsd_real_server_active_connections",
                "Active connections in the kernel's table",
                &active,
            )?;
        }
        if !agent_weight.is_empty() {
            gauge(
                &mut encoder,
                "lvsd_real_server_feedback_weight",
                "Weight load feedback gives the real server",
                &agent_weight,
            )?;
        }
        if !agent_spare.is_empty() {
            gauge(
                &mut encoder,
                "lvsd_real_server_agent_spare_percent",
                "Spare capacity the real server's agent reports, smoothed",
                &agent_spare,
            )?;
        }
        counter(
            &mut encoder,
            "lvsd_real_server_feedback_changes",
            "Weight changes load feedback made, by the kind of their reason",
            &agent_changes,
        )?;
        if !draining.is_empty() {
            gauge(
                &mut encoder,
                "lvsd_service_draining_real_servers",
                "Real servers being drained",
                &draining,
            )?;
        }
        for (i, (name, help, _)) in COUNTERS.iter().enumerate() {
            counter(
                &mut encoder,
                &format!("lvsd_real_server_{name}"),
                &format!("{help} (IPVS counter)"),
                &real_counters[i],
            )?;
            counter(
                &mut encoder,
                &format!("lvsd_service_{name}"),
                &format!("{help} (IPVS counter)"),
                &service_counters[i],
            )?;
        }
        let metric = encoder.encode_descriptor(
            "lvsd_foreign_services",
            "Services in the kernel that the file does not name",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(snapshot.foreign.len() as u64).encode(metric)?;
        Ok(())
    }
}

/// The text `/metrics` answers for `snapshot`.
pub fn render(snapshot: Arc<Mutex<Snapshot>>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(snapshot)));
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

/// Serves `/metrics` forever.
pub async fn serve(listener: TcpListener, snapshot: Arc<Mutex<Snapshot>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        tokio::spawn(answer(stream, snapshot.clone()));
    }
}

async fn answer(mut stream: TcpStream, snapshot: Arc<Mutex<Snapshot>>) {
    let mut head = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 1024];
        while head.len() < MAX_REQUEST && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
        true
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), read).await,
        Ok(true)
    ) {
        return;
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let (status, content_type, body) = match line.split(|&b| b == b' ').collect::<Vec<_>>()[..] {
        [b"GET", path, version]
            if path.split(|&b| b == b'?').next() == Some(b"/metrics")
                && version.starts_with(b"HTTP/1.") =>
        {
            (
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                render(snapshot),
            )
        }
        [b"GET", _, _] => (
            "404 Not Found",
            "text/plain",
            "only /metrics is here\n".to_string(),
        ),
        _ => ("400 Bad Request", "text/plain", "bad request\n".to_string()),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::status::{AgentStatus, DrainStatus, LastCheck, RealStatus, ServiceStatus};
    use ipvs_proto::Connections;

    fn snapshot() -> Snapshot {
        let stats = Stats {
            connections: 12,
            packets_in: 340,
            packets_out: 330,
            bytes_in: 25_000,
            bytes_out: 1_234_567,
            ..Stats::default()
        };
        let real = |address: &str, up: bool, weight: Option<u32>| RealStatus {
            address: address.into(),
            configured_weight: 2,
            weight,
            health: if up { "up" } else { "down" }.into(),
            since: 1_700_000_000,
            last_check: Some(LastCheck {
                ok: up,
                detail: "http: status 200".into(),
                latency_seconds: 0.0015,
                at: 1_700_000_100,
            }),
            connections: Some(Connections {
                active: 3,
                inactive: 1,
                persistent: 0,
            }),
            stats: Some(stats),
            agent: (address == "10.0.1.2:80").then(|| AgentStatus {
                weight: 2,
                spare_percent: Some(62.5),
                reason: "agent reports 62.5% spare (smoothed)".into(),
                error: None,
                changes: [("load".to_string(), 4), ("drain".to_string(), 1)].into(),
            }),
        };
        Snapshot {
            config: "/etc/lvsd/lvsd.toml".into(),
            pid: 42,
            services: vec![ServiceStatus {
                service: "TCP 10.0.0.1:80".into(),
                scheduler: "wrr".into(),
                check: "http".into(),
                in_kernel: true,
                sorry: None,
                sorry_active: false,
                stats: Some(stats),
                reals: vec![
                    real("10.0.1.2:80", true, Some(2)),
                    real("[2001:db8::2]:80", false, None),
                ],
                draining: vec![DrainStatus {
                    address: "10.0.1.9:80".into(),
                    weight: 0,
                    active: 1,
                    since: 1_700_000_050,
                }],
            }],
            foreign: vec!["UDP 10.9.9.9:53".into()],
        }
    }

    #[test]
    fn metrics_are_named_in_base_units_with_their_labels() {
        let text = render(Arc::new(Mutex::new(snapshot())));
        let labels = r#"service="TCP 10.0.0.1:80",real="10.0.1.2:80""#;
        for line in [
            format!("lvsd_real_server_up{{{labels}}} 1"),
            r#"lvsd_real_server_up{service="TCP 10.0.0.1:80",real="[2001:db8::2]:80"} 0"#
                .to_string(),
            format!("lvsd_real_server_weight{{{labels}}} 2"),
            format!("lvsd_real_server_configured_weight{{{labels}}} 2"),
            format!("lvsd_check_latency_seconds{{{labels}}} 0.0015"),
            format!("lvsd_real_server_active_connections{{{labels}}} 3"),
            format!("lvsd_real_server_connections_total{{{labels}}} 12"),
            format!("lvsd_real_server_out_bytes_total{{{labels}}} 1234567"),
            "# TYPE lvsd_real_server_in_packets counter".to_string(),
            r#"lvsd_service_in_bytes_total{service="TCP 10.0.0.1:80"} 25000"#.to_string(),
            r#"lvsd_service_draining_real_servers{service="TCP 10.0.0.1:80"} 1"#.to_string(),
            "lvsd_foreign_services 1".to_string(),
            format!("lvsd_real_server_feedback_weight{{{labels}}} 2"),
            format!("lvsd_real_server_agent_spare_percent{{{labels}}} 62.5"),
            "# TYPE lvsd_real_server_feedback_changes counter".to_string(),
            format!(r#"lvsd_real_server_feedback_changes_total{{{labels},reason="load"}} 4"#),
            format!(r#"lvsd_real_server_feedback_changes_total{{{labels},reason="drain"}} 1"#),
            "# EOF".to_string(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        // Not in the kernel: no weight sample rather than a made-up one.
        assert!(!text.contains(
            r#"lvsd_real_server_weight{service="TCP 10.0.0.1:80",real="[2001:db8::2]:80"}"#
        ));
    }

    /// Prometheus' own OpenMetrics parser (promtool's backfill, which needs a
    /// timestamp on every sample) reads every sample back with its value.
    #[test]
    fn prometheus_reads_every_sample() {
        let text = render(Arc::new(Mutex::new(snapshot())));
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        let stamped: String = text
            .lines()
            .map(|l| {
                if l.starts_with('#') {
                    format!("{l}\n")
                } else {
                    format!("{l} 1700000000\n")
                }
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("metrics.txt");
        std::fs::write(&input, stamped).unwrap();
        let tsdb = dir.path().join("tsdb");
        let promtool = |args: &[&std::ffi::OsStr]| {
            let out = std::process::Command::new("promtool")
                .args(args)
                .output()
                .expect("promtool (Debian package prometheus; cargo xtask ci installs it)");
            assert!(out.status.success(), "promtool {args:?}: {out:?}\n{text}");
            String::from_utf8(out.stdout).unwrap()
        };
        promtool(&[
            "tsdb".as_ref(),
            "create-blocks-from".as_ref(),
            "openmetrics".as_ref(),
            input.as_os_str(),
            tsdb.as_os_str(),
        ]);
        std::fs::create_dir_all(tsdb.join("wal")).unwrap();
        let dump = promtool(&["tsdb".as_ref(), "dump".as_ref(), tsdb.as_os_str()]);
        assert_eq!(dump.lines().count(), samples.len(), "{dump}\n{text}");
        for line in [
            r#"{__name__="lvsd_real_server_connections_total", real="10.0.1.2:80", service="TCP 10.0.0.1:80"} 12 1700000000000"#,
            r#"{__name__="lvsd_real_server_out_bytes_total", real="10.0.1.2:80", service="TCP 10.0.0.1:80"} 1.234567e+06 1700000000000"#,
            r#"{__name__="lvsd_check_latency_seconds", real="10.0.1.2:80", service="TCP 10.0.0.1:80"} 0.0015 1700000000000"#,
            r#"{__name__="lvsd_real_server_up", real="[2001:db8::2]:80", service="TCP 10.0.0.1:80"} 0 1700000000000"#,
            r#"{__name__="lvsd_real_server_feedback_changes_total", real="10.0.1.2:80", reason="load", service="TCP 10.0.0.1:80"} 4 1700000000000"#,
        ] {
            assert!(dump.lines().any(|l| l == line), "no {line} in\n{dump}");
        }
    }
}
