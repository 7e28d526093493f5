//! The part of a host's network state a plan depends on: links, addresses,
//! default routes, sysctls and loaded modules. Read live by
//! [`crate::System::state`], or built by hand (tests, other tools).
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A network device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The interface index.
    pub index: u32,
    /// Its name (`eth0`, `lo`, `tunl0`).
    pub name: String,
    /// Whether it is administratively up (`IFF_UP`).
    pub up: bool,
}

/// An address on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The interface index of the device.
    pub index: u32,
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
    /// The IPv4 label (`eth0`, `lo:0`); IPv6 addresses have none.
    pub label: Option<String>,
}

impl Address {
    /// Whether `other` lies in this address's subnet (never for host addresses).
    pub fn subnet_contains(&self, other: IpAddr) -> bool {
        let max = crate::params::max_prefix(self.addr);
        if self.prefix >= max {
            return false;
        }
        match (self.addr, other) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX << (32 - u32::from(self.prefix));
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX << (128 - u32::from(self.prefix));
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

/// A default route of the main table, with what it takes to put it back as it
/// was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRoute {
    /// IPv6 (`::/0`) rather than IPv4 (`0.0.0.0/0`).
    pub ipv6: bool,
    /// The gateway, if any.
    pub gateway: Option<IpAddr>,
    /// The output device's index, if any.
    pub oif: Option<u32>,
    /// The output device's name, when known (for printing).
    pub dev: Option<String>,
    /// The metric (`RTA_PRIORITY`), if any.
    pub priority: Option<u32>,
    /// `rtm_protocol` (`boot`, `static`, `dhcp`, ...).
    pub protocol: u8,
    /// `rtm_scope`.
    pub scope: u8,
    /// `rtm_type` (unicast, blackhole, ...).
    pub kind: u8,
}

impl DefaultRoute {
    /// The `ip route` arguments that name it: `default via 10.0.0.1 dev eth0 metric 100`.
    pub fn spec(&self) -> String {
        let mut s = String::from("default");
        if let Some(gw) = self.gateway {
            s.push_str(&format!(" via {gw}"));
        }
        match (&self.dev, self.oif) {
            (Some(dev), _) => s.push_str(&format!(" dev {dev}")),
            (None, Some(oif)) => s.push_str(&format!(" dev if{oif}")),
            (None, None) => {}
        }
        if let Some(m) = self.priority {
            s.push_str(&format!(" metric {m}"));
        }
        s
    }

    /// `ip route` or `ip -6 route`.
    pub(crate) fn ip_route(&self) -> &'static str {
        if self.ipv6 { "ip -6 route" } else { "ip route" }
    }
}

impl fmt::Display for DefaultRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec())
    }
}

/// A sysctl, named by its path under `/proc/sys` (`net/ipv4/conf/all/arp_ignore`);
/// printed as `sysctl` names it (`net.ipv4.conf.all.arp_ignore`, a dot inside
/// a device name written as `/`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SysctlKey(pub String);

impl SysctlKey {
    /// `net/ipv4/conf/<dev>/<name>`.
    pub fn ipv4_conf(dev: &str, name: &str) -> Self {
        Self(format!("net/ipv4/conf/{dev}/{name}"))
    }

    /// The device of a `net/ipv4/conf/<dev>/...` key.
    pub fn conf_device(&self) -> Option<&str> {
        let rest = self
            .0
            .strip_prefix("net/ipv4/conf/")
            .or_else(|| self.0.strip_prefix("net/ipv6/conf/"))?;
        rest.split('/').next()
    }
}

impl fmt::Display for SysctlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dotted: Vec<String> = self.0.split('/').map(|c| c.replace('.', "/")).collect();
        f.write_str(&dotted.join("."))
    }
}

/// What a plan is computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemState {
    /// Every network device of the namespace.
    pub links: Vec<Link>,
    /// Every address of the namespace.
    pub addresses: Vec<Address>,
    /// The main table's default routes, IPv4 and IPv6.
    pub default_routes: Vec<DefaultRoute>,
    /// Values of the sysctls the plan looks at (a key that does not exist is
    /// absent), trimmed.
    pub sysctls: BTreeMap<SysctlKey, String>,
    /// Loaded kernel modules the plan looks at.
    pub modules: BTreeSet<String>,
}

impl SystemState {
    /// The device named `name`.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// The name of the device with index `index`.
    pub fn link_name(&self, index: u32) -> Option<&str> {
        self.links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_print_as_sysctl_names_them() {
        assert_eq!(
            SysctlKey::ipv4_conf("eth0.100", "rp_filter").to_string(),
            "net.ipv4.conf.eth0/100.rp_filter"
        );
        assert_eq!(
            SysctlKey::ipv4_conf("eth0.100", "rp_filter").conf_device(),
            Some("eth0.100")
        );
    }

    #[test]
    fn subnets_contain_their_addresses_only() {
        let a = Address {
            index: 2,
            addr: "10.1.2.3".parse().unwrap(),
            prefix: 24,
            label: None,
        };
        assert!(a.subnet_contains("10.1.2.200".parse().unwrap()));
        assert!(!a.subnet_contains("10.1.3.1".parse().unwrap()));
        assert!(!a.subnet_contains("::1".parse().unwrap()));
        let host = Address { prefix: 32, ..a };
        assert!(!host.subnet_contains("10.1.2.3".parse().unwrap()));
    }
}
