//! The settings a role needs, compared with the system's state.
use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::params::{Mode, Params, Role, Vip, max_prefix};
use crate::state::{SysctlKey, SystemState};

/// The kernel module that gives `tunl0` (IPv4 in IPv4 tunnels).
pub const IPIP: &str = "ipip";
/// The IPIP fallback device `ipip` creates in every network namespace.
pub const TUNL0: &str = "tunl0";
/// Longest interface name or label the kernel takes (IFNAMSIZ - 1).
const MAX_NAME: usize = 15;

/// One setting of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// A kernel module is loaded.
    Module {
        /// Its name.
        name: String,
    },
    /// A device is up.
    LinkUp {
        /// The device.
        dev: String,
    },
    /// An address is on a device.
    Address {
        /// The device.
        dev: String,
        /// The address and prefix.
        vip: Vip,
        /// The IPv4 label (`lo:0`), when the name fits.
        label: Option<String>,
    },
    /// The default route goes through a gateway.
    DefaultRoute {
        /// The gateway.
        via: IpAddr,
    },
    /// A sysctl has a value.
    Sysctl {
        /// The sysctl.
        key: SysctlKey,
        /// Its value.
        value: String,
    },
}

impl Setting {
    /// What the setting is for, in a few words (printed by `check`).
    pub fn purpose(&self) -> &'static str {
        match self {
            Setting::Module { .. } => "gives tunl0, which decapsulates the director's IPIP packets",
            Setting::LinkUp { dev } if dev == TUNL0 => {
                "tunnelled packets are only received on an up tunl0"
            }
            Setting::LinkUp { .. } => "addresses on a down device are not used",
            Setting::Address { dev, .. } if dev == "lo" => {
                "this host accepts the packets sent to the VIP"
            }
            Setting::Address { .. } => "the director receives the clients' packets for the VIP",
            Setting::DefaultRoute { .. } => {
                "replies must go back through the director, which rewrites their source to the VIP"
            }
            Setting::Sysctl { key, .. } => {
                let k = key.0.as_str();
                if k.ends_with("/arp_ignore") {
                    "without it this host answers ARP requests for the VIP and steals the director's traffic"
                } else if k.ends_with("/arp_announce") {
                    "without it this host's ARP requests announce the VIP as their source"
                } else if k.ends_with("/rp_filter") {
                    "reverse-path filtering drops decapsulated packets whose client is not routed via tunl0"
                } else if k.ends_with("ip_forward") || k.ends_with("/forwarding") {
                    "the director forwards the real servers' replies back to the clients"
                } else {
                    "required by the role"
                }
            }
        }
    }
}

impl fmt::Display for Setting {
    /// The equivalent command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Setting::Module { name } => write!(f, "modprobe {name}"),
            Setting::LinkUp { dev } => write!(f, "ip link set dev {dev} up"),
            Setting::Address { dev, vip, label } => {
                let ip = if vip.addr.is_ipv6() { "ip -6" } else { "ip" };
                write!(f, "{ip} address add {vip} dev {dev}")?;
                if let Some(label) = label {
                    write!(f, " label {label}")?;
                }
                Ok(())
            }
            Setting::DefaultRoute { via } => {
                let ip = if via.is_ipv6() { "ip -6" } else { "ip" };
                write!(f, "{ip} route replace default via {via}")
            }
            Setting::Sysctl { key, value } => write!(f, "sysctl -w {key}={value}"),
        }
    }
}

/// How the system compares with a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Already as planned.
    InPlace,
    /// Not there yet.
    Missing,
    /// There, with another value (what was found).
    Wrong(String),
    /// In the way of the setting and not lvs-net's to change (what was found):
    /// apply refuses, check reports it.
    Conflict(String),
}

/// A setting and how the system compares with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The setting.
    pub setting: Setting,
    /// Its status when the plan was computed.
    pub status: Status,
}

impl Item {
    /// The `check` line of a setting that is not in place.
    pub fn difference(&self) -> Option<String> {
        let s = &self.setting;
        let why = s.purpose();
        Some(match (&self.status, s) {
            (Status::InPlace, _) => return None,
            (Status::Missing, Setting::Sysctl { key, value }) => {
                format!("missing: {key} does not exist yet, should be {value} ({why})")
            }
            (Status::Missing, Setting::Module { name }) => {
                format!("missing: module {name} is not loaded ({why})")
            }
            (Status::Missing, Setting::LinkUp { dev }) => {
                format!("missing: {dev} does not exist yet ({why})")
            }
            (Status::Missing, Setting::Address { dev, vip, .. }) => {
                format!("missing: {vip} on {dev} ({why})")
            }
            (Status::Missing, Setting::DefaultRoute { via }) => {
                format!("missing: no default route, should be via {via} ({why})")
            }
            (Status::Wrong(found), Setting::Sysctl { key, value }) => {
                format!("wrong: {key} is {found}, should be {value} ({why})")
            }
            (Status::Wrong(found), Setting::LinkUp { dev }) => {
                format!("wrong: {dev} is {found}, should be up ({why})")
            }
            (Status::Wrong(found), Setting::DefaultRoute { via }) => {
                format!("wrong: the default route is {found}, should be via {via} ({why})")
            }
            (Status::Wrong(found), other) | (Status::Conflict(found), other) => {
                format!("wrong: {found}, planned: {other} ({why})")
            }
        })
    }
}

/// The settings of one host, each with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The parameters it was computed from.
    pub params: Params,
    /// The settings, in the order they are applied.
    pub items: Vec<Item>,
}

impl Plan {
    /// Computes the settings `params` need and compares each with `state`.
    ///
    /// Fails on parameters that make no sense for the role and mode, on a device
    /// that does not exist, on a director without `--dev` whose VIP is on no
    /// interface's subnet, and on a NAT gateway that is on no local subnet.
    pub fn compute(params: &Params, state: &SystemState) -> Result<Plan> {
        params.validate()?;
        let settings = settings(params, state)?;
        let items = settings
            .into_iter()
            .map(|setting| {
                let status = status(&setting, state);
                Item { setting, status }
            })
            .collect();
        Ok(Plan {
            params: params.clone(),
            items,
        })
    }

    /// Whether every setting is in place.
    pub fn is_in_place(&self) -> bool {
        self.items.iter().all(|i| i.status == Status::InPlace)
    }

    /// The settings not in place.
    pub fn pending(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.status != Status::InPlace)
    }

    /// One `check` line per setting not in place.
    pub fn differences(&self) -> Vec<String> {
        self.items.iter().filter_map(Item::difference).collect()
    }

    /// The first conflict, as the error `apply` gives for it.
    pub fn conflict(&self) -> Option<Error> {
        self.items
            .iter()
            .find_map(|item| match (&item.status, &item.setting) {
                (Status::Conflict(found), Setting::Address { dev, vip, .. }) => {
                    Some(Error::AddressElsewhere {
                        addr: vip.addr,
                        found: found.rsplit(' ').next().unwrap_or(found).to_owned(),
                        wanted: dev.clone(),
                    })
                }
                (Status::Conflict(found), other) => {
                    Some(Error::Params(format!("{found}: cannot apply `{other}`")))
                }
                _ => None,
            })
    }

    /// The plan as commands (what `--dry-run` prints): a comment line with the
    /// counts, then one command per setting, those already in place commented
    /// out.
    pub fn commands(&self) -> String {
        let pending = self.pending().count();
        let mut out = format!(
            "# {} {}: {} to change, {} already in place\n",
            self.params.mode,
            self.params.role,
            pending,
            self.items.len() - pending
        );
        for item in &self.items {
            match &item.status {
                Status::InPlace => out.push_str(&format!("# in place: {}\n", item.setting)),
                Status::Conflict(found) => {
                    out.push_str(&format!("# refused ({found}): {}\n", item.setting));
                }
                Status::Missing | Status::Wrong(_) => {
                    out.push_str(&format!("{}\n", item.setting));
                }
            }
        }
        out
    }
}

/// The sysctls a set-up reads (and may write).
pub fn sysctl_keys(params: &Params) -> Vec<SysctlKey> {
    let mut keys = Vec::new();
    let any_v4 = params.vips.iter().any(|v| v.addr.is_ipv4());
    let any_v6 = params.vips.iter().any(|v| v.addr.is_ipv6());
    match (params.role, params.mode) {
        (Role::Director, Mode::Nat) => {
            if any_v4 {
                keys.push(SysctlKey("net/ipv4/ip_forward".into()));
            }
            if any_v6 {
                keys.push(SysctlKey("net/ipv6/conf/all/forwarding".into()));
            }
        }
        (Role::Director, _) | (Role::RealServer, Mode::Nat) => {}
        (Role::RealServer, Mode::Dr | Mode::Tun) => {
            if any_v4 {
                for dev in ["all", "lo"] {
                    keys.push(SysctlKey::ipv4_conf(dev, "arp_ignore"));
                    keys.push(SysctlKey::ipv4_conf(dev, "arp_announce"));
                }
            }
            if params.mode == Mode::Tun {
                keys.push(SysctlKey::ipv4_conf("all", "rp_filter"));
                keys.push(SysctlKey::ipv4_conf(TUNL0, "rp_filter"));
            }
        }
    }
    keys
}

fn sysctl_value(key: &SysctlKey) -> &'static str {
    let k = key.0.as_str();
    if k.ends_with("/arp_ignore") {
        "1"
    } else if k.ends_with("/arp_announce") {
        "2"
    } else if k.ends_with("/rp_filter") {
        "0"
    } else {
        "1"
    }
}

fn settings(params: &Params, state: &SystemState) -> Result<Vec<Setting>> {
    let mut out = Vec::new();
    let sysctls = |out: &mut Vec<Setting>| {
        for key in sysctl_keys(params) {
            let value = sysctl_value(&key).to_owned();
            out.push(Setting::Sysctl { key, value });
        }
    };
    match (params.role, params.mode) {
        (Role::Director, _) => {
            let dev = director_device(params, state)?;
            out.push(Setting::LinkUp { dev: dev.clone() });
            push_addresses(&mut out, &dev, &params.vips, state);
            sysctls(&mut out);
        }
        (Role::RealServer, Mode::Nat) => {
            let via = params
                .gateway
                .expect("validated: NAT real servers have a gateway");
            if !state.addresses.iter().any(|a| a.subnet_contains(via)) {
                return Err(Error::GatewayNotOnLink(via));
            }
            out.push(Setting::DefaultRoute { via });
        }
        (Role::RealServer, mode) => {
            if mode == Mode::Tun {
                out.push(Setting::Module { name: IPIP.into() });
                out.push(Setting::LinkUp { dev: TUNL0.into() });
            }
            // The ARP settings before the VIP: the host never answers ARP for
            // it, not even for a moment (undo goes the other way).
            sysctls(&mut out);
            out.push(Setting::LinkUp { dev: "lo".into() });
            push_addresses(&mut out, "lo", &params.vips, state);
        }
    }
    Ok(out)
}

/// The named device (which must exist), or the one whose subnet holds the first VIP.
fn director_device(params: &Params, state: &SystemState) -> Result<String> {
    if let Some(dev) = &params.dev {
        return match state.link(dev) {
            Some(_) => Ok(dev.clone()),
            None => Err(Error::NoSuchDevice(dev.clone())),
        };
    }
    let first = params.vips[0].addr;
    state
        .addresses
        .iter()
        .find(|a| a.subnet_contains(first))
        .and_then(|a| state.link_name(a.index))
        .map(str::to_owned)
        .ok_or(Error::NoDeviceFor(first))
}

fn push_addresses(out: &mut Vec<Setting>, dev: &str, vips: &[Vip], state: &SystemState) {
    let index = state.link(dev).map(|l| l.index);
    let mut taken: Vec<String> = state
        .addresses
        .iter()
        .filter(|a| Some(a.index) == index)
        .filter_map(|a| a.label.clone())
        .collect();
    let mut next = 0;
    for vip in vips {
        let label = if vip.addr.is_ipv4() {
            let existing = state
                .addresses
                .iter()
                .find(|a| Some(a.index) == index && a.addr == vip.addr);
            match existing {
                Some(a) => a.label.clone(),
                None => loop {
                    let candidate = format!("{dev}:{next}");
                    next += 1;
                    if candidate.len() > MAX_NAME {
                        break None;
                    }
                    if !taken.contains(&candidate) {
                        taken.push(candidate.clone());
                        break Some(candidate);
                    }
                },
            }
        } else {
            None
        };
        out.push(Setting::Address {
            dev: dev.to_owned(),
            vip: *vip,
            label,
        });
    }
}

fn status(setting: &Setting, state: &SystemState) -> Status {
    match setting {
        Setting::Module { name } => {
            if state.modules.contains(name) {
                Status::InPlace
            } else {
                Status::Missing
            }
        }
        Setting::LinkUp { dev } => match state.link(dev) {
            Some(link) if link.up => Status::InPlace,
            Some(_) => Status::Wrong("down".into()),
            None => Status::Missing,
        },
        Setting::Address { dev, vip, .. } => {
            let found = state.addresses.iter().find(|a| a.addr == vip.addr);
            match found {
                None => Status::Missing,
                Some(a) => {
                    let on = state.link_name(a.index).unwrap_or("?");
                    if on == dev {
                        if a.prefix == vip.prefix || vip.prefix == max_prefix(vip.addr) {
                            Status::InPlace
                        } else {
                            Status::Conflict(format!(
                                "{}/{} is on {on} with another prefix",
                                a.addr, a.prefix
                            ))
                        }
                    } else {
                        Status::Conflict(format!("{}/{} is on {on}", a.addr, a.prefix))
                    }
                }
            }
        }
        Setting::DefaultRoute { via } => {
            let mut routes: Vec<_> = state
                .default_routes
                .iter()
                .filter(|r| r.ipv6 == via.is_ipv6())
                .collect();
            routes.sort_by_key(|r| r.priority.unwrap_or(0));
            match routes.first() {
                None => Status::Missing,
                Some(r) if r.gateway == Some(*via) => Status::InPlace,
                Some(r) => Status::Wrong(r.spec()),
            }
        }
        Setting::Sysctl { key, value } => match state.sysctls.get(key) {
            Some(found) if found == value => Status::InPlace,
            Some(found) => Status::Wrong(found.clone()),
            // A device's keys appear with the device (tunl0 with ipip).
            None => Status::Missing,
        },
    }
}
