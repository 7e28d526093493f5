//! What a host is for: its role, the forwarding method, the VIPs and, for a NAT
//! real server, the gateway.
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The LVS forwarding method (`ipvsadm -m`, `-g`, `-i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Masquerading: the director rewrites addresses both ways; the real servers
    /// route their replies back through it.
    Nat,
    /// Direct routing: the director rewrites the MAC address only; the real
    /// servers hold the VIP themselves and answer the client directly.
    Dr,
    /// IP-in-IP tunnelling: as DR, but the director encapsulates each packet, so
    /// real servers may sit on other networks.
    Tun,
}

impl Mode {
    /// `nat`, `dr` or `tun`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Dr => "dr",
            Mode::Tun => "tun",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "nat" => Ok(Mode::Nat),
            "dr" => Ok(Mode::Dr),
            "tun" => Ok(Mode::Tun),
            _ => Err(Error::Params(format!(
                "unknown mode `{s}`: use nat, dr or tun"
            ))),
        }
    }
}

/// Which host of the cluster this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The load balancer that holds the IPVS table.
    Director,
    /// A server behind it.
    RealServer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Director => "director",
            Role::RealServer => "real server",
        })
    }
}

/// An address with its prefix length: a bare address is a host address
/// (`/32`, or `/128` for IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Vip {
    /// `addr` as a host address.
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            prefix: max_prefix(addr),
        }
    }
}

/// 32 for IPv4, 128 for IPv6.
pub(crate) fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Vip {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadAddress {
            input: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| bad("not an IPv4 or IPv6 address"))?;
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(bad("an unspecified or multicast address cannot be a VIP"));
        }
        let max = max_prefix(addr);
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n >= 1 && n <= max => n,
                _ => return Err(bad(&format!("the prefix must be 1 to {max}"))),
            },
        };
        Ok(Vip { addr, prefix })
    }
}

/// Everything a host's set-up depends on besides the system's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// Director or real server.
    pub role: Role,
    /// The forwarding method.
    pub mode: Mode,
    /// The virtual addresses (at least one, except on a NAT real server).
    pub vips: Vec<Vip>,
    /// Director only: the device that holds the VIPs (default: the interface
    /// with a subnet containing the first VIP).
    pub dev: Option<String>,
    /// NAT real server only: the director's address on the real servers' side,
    /// which becomes the default gateway.
    pub gateway: Option<IpAddr>,
}

impl Params {
    /// Director parameters.
    pub fn director(mode: Mode, vips: Vec<Vip>, dev: Option<String>) -> Self {
        Self {
            role: Role::Director,
            mode,
            vips,
            dev,
            gateway: None,
        }
    }

    /// Real-server parameters.
    pub fn real_server(mode: Mode, vips: Vec<Vip>, gateway: Option<IpAddr>) -> Self {
        Self {
            role: Role::RealServer,
            mode,
            vips,
            dev: None,
            gateway,
        }
    }

    /// Refuses combinations that make no sense, naming the parameter.
    pub fn validate(&self) -> Result<()> {
        let err = |m: String| Err(Error::Params(m));
        let mut seen = Vec::new();
        for vip in &self.vips {
            if seen.contains(&vip.addr) {
                return err(format!("--vip {} is given twice", vip.addr));
            }
            seen.push(vip.addr);
            if self.mode == Mode::Tun && vip.addr.is_ipv6() {
                return err(format!(
                    "--vip {}: tun mode is IPv4 only here (IPv6 in IPv6 tunnels are not set up by lvs-net)",
                    vip.addr
                ));
            }
        }
        match (self.role, self.mode) {
            (Role::Director, _) => {
                if self.vips.is_empty() {
                    return err("the director needs at least one --vip".into());
                }
                if self.gateway.is_some() {
                    return err("--gateway is for NAT real servers, not the director".into());
                }
            }
            (Role::RealServer, Mode::Nat) => {
                if !self.vips.is_empty() {
                    return err(
                        "a NAT real server does not hold the VIP: drop --vip, give --gateway"
                            .into(),
                    );
                }
                if self.gateway.is_none() {
                    return err(
                        "a NAT real server needs --gateway (the director's address on its side)"
                            .into(),
                    );
                }
            }
            (Role::RealServer, Mode::Dr | Mode::Tun) => {
                if self.vips.is_empty() {
                    return err(format!(
                        "a {} real server needs at least one --vip",
                        self.mode
                    ));
                }
                if self.gateway.is_some() {
                    return err(format!(
                        "--gateway is for NAT real servers; a {} real server answers clients directly",
                        self.mode
                    ));
                }
            }
        }
        if self.role == Role::RealServer && self.dev.is_some() {
            return err("a real server keeps its VIPs on lo; --dev is for the director".into());
        }
        if let Some(dev) = &self.dev
            && (dev.is_empty() || dev.len() > 15 || dev.contains(['/', ' ', ':']))
        {
            return err(format!("--dev `{dev}` is not an interface name"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_addresses_are_host_addresses() {
        assert_eq!(
            "123.234.1.101".parse::<Vip>().unwrap().to_string(),
            "123.234.1.101/32"
        );
        assert_eq!("2001:db8::1".parse::<Vip>().unwrap().prefix, 128);
        assert_eq!("10.0.0.1/24".parse::<Vip>().unwrap().prefix, 24);
    }

    #[test]
    fn bad_addresses_name_the_input() {
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4/33",
            "1.2.3.4/0",
            "1.2.3.4/x",
            "0.0.0.0",
            "224.0.0.1",
        ] {
            let err = bad.parse::<Vip>().unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn parameters_are_checked_for_role_and_mode() {
        let vip = |s: &str| vec![s.parse::<Vip>().unwrap()];
        let gw = Some("10.0.0.1".parse().unwrap());
        assert!(
            Params::director(Mode::Dr, vip("10.0.0.100"), None)
                .validate()
                .is_ok()
        );
        assert!(Params::director(Mode::Dr, vec![], None).validate().is_err());
        assert!(
            Params::real_server(Mode::Nat, vec![], gw)
                .validate()
                .is_ok()
        );
        assert!(
            Params::real_server(Mode::Nat, vec![], None)
                .validate()
                .is_err()
        );
        assert!(
            Params::real_server(Mode::Nat, vip("10.0.0.100"), gw)
                .validate()
                .is_err()
        );
        assert!(
            Params::real_server(Mode::Dr, vip("10.0.0.100"), gw)
                .validate()
                .is_err()
        );
        assert!(
            Params::real_server(Mode::Tun, vip("2001:db8::1"), None)
                .validate()
                .is_err()
        );
        let twice = vec!["10.0.0.1".parse().unwrap(), "10.0.0.1/24".parse().unwrap()];
        assert!(Params::director(Mode::Dr, twice, None).validate().is_err());
    }
}
