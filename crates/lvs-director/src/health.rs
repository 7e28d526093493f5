//! Health decisions: rise and fall counting, the table wanted for given
//! health, and the health adopted from the kernel's table at start.

use std::net::SocketAddr;

use ipvs_proto::{Destination, ServiceKey};

use crate::config::{CheckKind, Config, OnFailure, RealConfig, ServiceConfig};
use crate::diff::{Desired, TableService};

/// The health of one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// Up (gets its weight) or down (inhibited or removed).
    pub up: bool,
    /// Successes in a row while down.
    pub successes: u32,
    /// Failures in a row while up.
    pub failures: u32,
    /// The weight an `exec` check with `dynamic = true` asked for.
    pub dynamic_weight: Option<u32>,
}

impl Health {
    /// A real server starting up or down, no checks counted yet.
    pub fn new(up: bool) -> Self {
        Self {
            up,
            successes: 0,
            failures: 0,
            dynamic_weight: None,
        }
    }

    /// Counts one check result; returns the new state when it flips
    /// (`Some(true)`: up after `rise` successes, `Some(false)`: down after
    /// `fall` failures).
    pub fn record(&mut self, success: bool, rise: u32, fall: u32) -> Option<bool> {
        if success {
            self.failures = 0;
            if !self.up {
                self.successes += 1;
                if self.successes >= rise {
                    self.up = true;
                    self.successes = 0;
                    return Some(true);
                }
            }
        } else {
            self.successes = 0;
            if self.up {
                self.failures += 1;
                if self.failures >= fall {
                    self.up = false;
                    self.failures = 0;
                    return Some(false);
                }
            }
        }
        None
    }
}

/// The destination a configured real server is in the kernel with `weight`.
pub fn destination(real: &RealConfig, weight: u32) -> Destination {
    let mut d = Destination::new(real.address, real.forwarding, weight);
    d.upper_threshold = real.upper_threshold;
    d.lower_threshold = real.lower_threshold;
    d
}

/// The weight a real server should have now: its configured weight (or the
/// dynamic one) when up, 0 when down and inhibited, none when down and
/// removed.
pub fn wanted_weight(service: &ServiceConfig, real: &RealConfig, health: &Health) -> Option<u32> {
    if health.up {
        Some(health.dynamic_weight.unwrap_or(real.weight))
    } else {
        match service.check.on_failure {
            OnFailure::Inhibit => Some(0),
            OnFailure::Remove => None,
        }
    }
}

/// The table wanted for `config` with the health `health_of` gives, plus the
/// retired services. A service with a sorry server that has no real server
/// up gets the sorry server (weight 1, the service's forwarding).
pub fn desired(
    config: &Config,
    health_of: &dyn Fn(&ServiceKey, SocketAddr) -> Health,
    retired: &[ServiceKey],
) -> Desired {
    let mut out = Desired {
        services: Vec::with_capacity(config.services.len()),
        retired: retired.to_vec(),
    };
    for service in &config.services {
        let mut destinations = Vec::with_capacity(service.reals.len() + 1);
        let mut any_up = false;
        for real in &service.reals {
            let health = health_of(&service.key, real.address);
            any_up |= health.up;
            if let Some(weight) = wanted_weight(service, real, &health) {
                destinations.push(destination(real, weight));
            }
        }
        if let Some(sorry) = service.sorry
            && !any_up
        {
            destinations.push(Destination::new(sorry, service.forwarding, 1));
        }
        out.services.push(TableService {
            service: service.to_service(),
            destinations,
        });
    }
    out
}

/// The health a real server starts with, read from the kernel's table so that
/// a restart changes nothing: listed with weight 0 while configured above 0
/// means it was inhibited (down); missing from a service that exists while
/// failures remove means it was removed (down); anything else starts up
/// (keepalived's default), or with its weight as the dynamic weight when an
/// `exec` check sets weights. Without a check a real server is always up.
pub fn adopted(
    service: &ServiceConfig,
    real: &RealConfig,
    kernel: Option<&TableService>,
) -> Health {
    // Without a check nothing could bring a real server back: always up.
    if service.check.kind == CheckKind::None {
        return Health::new(true);
    }
    let Some(kernel) = kernel else {
        return Health::new(true);
    };
    match kernel
        .destinations
        .iter()
        .find(|d| d.socket_addr() == real.address)
    {
        Some(d) if d.weight == 0 && real.weight > 0 => Health::new(false),
        Some(d) => {
            let mut health = Health::new(true);
            if let CheckKind::Exec(exec) = &service.check.kind
                && exec.dynamic
                && d.weight != real.weight
            {
                health.dynamic_weight = Some(d.weight);
            }
            health
        }
        None => Health::new(service.check.on_failure != OnFailure::Remove),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_and_fall() {
        let mut h = Health::new(true);
        assert_eq!(h.record(false, 2, 3), None);
        assert_eq!(h.record(false, 2, 3), None);
        assert_eq!(h.record(true, 2, 3), None, "a success resets the failures");
        assert_eq!(h.record(false, 2, 3), None);
        assert_eq!(h.record(false, 2, 3), None);
        assert_eq!(h.record(false, 2, 3), Some(false));
        assert!(!h.up);
        assert_eq!(h.record(true, 2, 3), None);
        assert_eq!(
            h.record(false, 2, 3),
            None,
            "a failure resets the successes"
        );
        assert_eq!(h.record(true, 2, 3), None);
        assert_eq!(h.record(true, 2, 3), Some(true));
        assert!(h.up);
    }

    fn service(check: &str) -> ServiceConfig {
        let text = format!(
            "[[service]]\naddress = \"10.0.0.1:80\"\nsorry = \"10.0.9.9:80\"\n{check}\n[[service.real]]\naddress = \"10.0.1.2:80\"\nweight = 3\n[[service.real]]\naddress = \"10.0.1.3:80\"\nweight = 2\n"
        );
        crate::config::parse(&text, "t").unwrap().services.remove(0)
    }

    fn kernel(weights: &[(&str, u32)]) -> TableService {
        TableService {
            service: ipvs_proto::Service::new(
                ServiceKey::tcp("10.0.0.1:80".parse().unwrap()),
                "wlc",
            ),
            destinations: weights
                .iter()
                .map(|(a, w)| {
                    Destination::new(a.parse().unwrap(), ipvs_proto::Forwarding::Masq, *w)
                })
                .collect(),
        }
    }

    #[test]
    fn health_is_adopted_from_the_kernel() {
        let inhibit = service("[service.check]\ntype = \"tcp\"");
        let remove = service("[service.check]\ntype = \"tcp\"\non_failure = \"remove\"");
        let none = service("");
        let k = kernel(&[("10.0.1.2:80", 0)]);
        assert!(
            !adopted(&inhibit, &inhibit.reals[0], Some(&k)).up,
            "weight 0: inhibited"
        );
        assert!(
            adopted(&inhibit, &inhibit.reals[1], Some(&k)).up,
            "missing, inhibit: new"
        );
        assert!(
            !adopted(&remove, &remove.reals[1], Some(&k)).up,
            "missing, remove: removed"
        );
        assert!(
            adopted(&remove, &remove.reals[1], None).up,
            "no service yet: up"
        );
        assert!(
            adopted(&none, &none.reals[0], Some(&k)).up,
            "no check: always up"
        );
    }

    #[test]
    fn desired_applies_health_and_the_sorry_server() {
        let s = service("[service.check]\ntype = \"tcp\"\non_failure = \"remove\"");
        let config = Config { services: vec![s] };
        let all_down = desired(&config, &|_, _| Health::new(false), &[]);
        let d = &all_down.services[0].destinations;
        assert_eq!(d.len(), 1, "removed, and the sorry server in");
        assert_eq!(d[0].socket_addr(), "10.0.9.9:80".parse().unwrap());
        let one_up = desired(
            &config,
            &|_, a| Health::new(a.port() == 80 && a.ip().to_string() == "10.0.1.3"),
            &[],
        );
        let d = &one_up.services[0].destinations;
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].socket_addr().to_string(), d[0].weight),
            ("10.0.1.3:80".into(), 2)
        );
    }
}
