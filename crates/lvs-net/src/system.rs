//! The live system: reads its state, applies a plan, undoes what was applied.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::journal::{Change, Journal, StateFile};
use crate::netlink::Rtnl;
use crate::params::Params;
use crate::plan::{IPIP, Plan, Setting, Status, sysctl_keys};
use crate::state::{DefaultRoute, SysctlKey, SystemState};

/// `rtm_protocol` of routes added here: `boot`, as `ip route add` does.
const RTPROT_BOOT: u8 = 3;
/// `rtm_type` unicast.
const RTN_UNICAST: u8 = 1;

/// The network namespace of the calling thread, with its `/proc/sys`.
#[derive(Debug)]
pub struct System {
    rtnl: Rtnl,
    proc_sys: PathBuf,
}

impl System {
    /// Opens a route netlink socket in the calling thread's network namespace.
    pub fn open() -> Result<Self> {
        Ok(Self {
            rtnl: Rtnl::open()?,
            proc_sys: PathBuf::from("/proc/sys"),
        })
    }

    /// What a plan for `params` depends on.
    pub fn state(&mut self, params: &Params) -> Result<SystemState> {
        let links = self.rtnl.links()?;
        let addresses = self.rtnl.addresses()?;
        let mut default_routes = self.rtnl.default_routes()?;
        for route in &mut default_routes {
            route.dev = route
                .oif
                .and_then(|i| links.iter().find(|l| l.index == i))
                .map(|l| l.name.clone());
        }
        let mut state = SystemState {
            links,
            addresses,
            default_routes,
            ..SystemState::default()
        };
        for key in sysctl_keys(params) {
            if let Some(value) = self.read_sysctl(&key)? {
                state.sysctls.insert(key, value);
            }
        }
        if module_loaded(IPIP) {
            state.modules.insert(IPIP.to_owned());
        }
        Ok(state)
    }

    /// Reads the state and computes the plan for `params`.
    pub fn plan(&mut self, params: &Params) -> Result<Plan> {
        let state = self.state(params)?;
        Plan::compute(params, &state)
    }

    fn sysctl_path(&self, key: &SysctlKey) -> PathBuf {
        self.proc_sys.join(&key.0)
    }

    /// A sysctl's value, trimmed; `None` when it does not exist.
    pub fn read_sysctl(&self, key: &SysctlKey) -> Result<Option<String>> {
        let path = self.sysctl_path(key);
        match fs::read_to_string(&path) {
            Ok(v) => Ok(Some(v.trim().to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Sysctl {
                what: "reading",
                path,
                source,
            }),
        }
    }

    fn write_sysctl(&self, key: &SysctlKey, value: &str) -> Result<()> {
        let path = self.sysctl_path(key);
        fs::write(&path, format!("{value}\n")).map_err(|source| Error::Sysctl {
            what: "writing",
            path,
            source,
        })
    }

    fn link_index(&mut self, dev: &str) -> Result<u32> {
        self.rtnl
            .links()?
            .into_iter()
            .find(|l| l.name == dev)
            .map(|l| l.index)
            .ok_or_else(|| Error::NoSuchDevice(dev.to_owned()))
    }

    /// Applies the settings of `plan` that are not in place, recording each
    /// change in `file` as it is made. Returns the changes (none when
    /// everything was in place). When a change fails, the ones made before it
    /// are reversed and the file is left as it was.
    pub fn apply(&mut self, plan: &Plan, file: &StateFile) -> Result<Vec<Change>> {
        if let Some(conflict) = plan.conflict() {
            return Err(conflict);
        }
        if plan.is_in_place() {
            return Ok(Vec::new());
        }
        require_root("setup")?;
        let before = file.load()?;
        file.prepare()?;
        let mut journal = before.clone();
        let mut made: Vec<Change> = Vec::new();
        for item in plan.pending() {
            let result = self
                .perform(&item.setting, &item.status)
                .and_then(|change| {
                    journal.changes.push(change.clone());
                    made.push(change);
                    file.save(&journal)
                });
            if let Err(err) = result {
                let undone = made.len();
                for change in made.iter().rev() {
                    // Best effort: the first error is the one to report.
                    let _ = self.revert(change);
                }
                let _ = file.save(&before);
                return Err(if undone == 0 {
                    err
                } else {
                    Error::RolledBack {
                        source: Box::new(err),
                        undone,
                    }
                });
            }
        }
        Ok(made)
    }

    fn perform(&mut self, setting: &Setting, status: &Status) -> Result<Change> {
        match setting {
            Setting::Module { name } => {
                modprobe(&[name])?;
                Ok(Change::Module { name: name.clone() })
            }
            Setting::LinkUp { dev } => {
                let index = self.link_index(dev)?;
                self.rtnl.set_link(&setting.to_string(), index, true)?;
                Ok(Change::LinkUp { dev: dev.clone() })
            }
            Setting::Address { dev, vip, label } => {
                let index = self.link_index(dev)?;
                self.rtnl.add_address(
                    &setting.to_string(),
                    index,
                    vip.addr,
                    vip.prefix,
                    label.as_deref(),
                )?;
                Ok(Change::Address {
                    dev: dev.clone(),
                    addr: vip.addr,
                    prefix: vip.prefix,
                    label: label.clone(),
                })
            }
            Setting::DefaultRoute { via } => {
                let _ = status;
                let what = setting.to_string();
                let links = self.rtnl.links()?;
                let removed: Vec<DefaultRoute> = self
                    .rtnl
                    .default_routes()?
                    .into_iter()
                    .filter(|r| r.ipv6 == via.is_ipv6())
                    .map(|mut r| {
                        r.dev = r
                            .oif
                            .and_then(|i| links.iter().find(|l| l.index == i))
                            .map(|l| l.name.clone());
                        r
                    })
                    .collect();
                let added = DefaultRoute {
                    ipv6: via.is_ipv6(),
                    gateway: Some(*via),
                    oif: None,
                    dev: None,
                    priority: None,
                    protocol: RTPROT_BOOT,
                    scope: 0,
                    kind: RTN_UNICAST,
                };
                let mut gone = Vec::new();
                let mut result = Ok(());
                for r in &removed {
                    result = self.rtnl.del_route(&what, r);
                    if result.is_err() {
                        break;
                    }
                    gone.push(r);
                }
                if result.is_ok() {
                    result = self.rtnl.add_route(&what, &added);
                }
                if let Err(err) = result {
                    for r in gone {
                        let _ = self.rtnl.add_route(&what, r);
                    }
                    return Err(err);
                }
                Ok(Change::DefaultRoute { added, removed })
            }
            Setting::Sysctl { key, value } => {
                let previous = self.read_sysctl(key)?.ok_or_else(|| Error::Sysctl {
                    what: "reading",
                    path: self.sysctl_path(key),
                    source: io::Error::from(io::ErrorKind::NotFound),
                })?;
                self.write_sysctl(key, value)?;
                Ok(Change::Sysctl {
                    key: key.clone(),
                    previous,
                    value: value.clone(),
                })
            }
        }
    }

    fn revert(&mut self, change: &Change) -> Result<()> {
        let what = change.undo_commands().join("; ");
        match change {
            Change::Module { name } => modprobe(&["-r", name]),
            Change::LinkUp { dev } => {
                let index = self.link_index(dev)?;
                self.rtnl.set_link(&what, index, false)
            }
            Change::Address {
                dev, addr, prefix, ..
            } => {
                let index = self.link_index(dev)?;
                self.rtnl.del_address(&what, index, *addr, *prefix)
            }
            Change::DefaultRoute { added, removed } => {
                self.rtnl.del_route(&what, added)?;
                for r in removed {
                    self.rtnl.add_route(&what, r)?;
                }
                Ok(())
            }
            Change::Sysctl { key, previous, .. } => self.write_sysctl(key, previous),
        }
    }

    /// Reverses every change recorded in `file`, newest first, and removes the
    /// file. Returns the changes reversed (none when the file does not
    /// exist). When a reversal fails, the changes not yet reversed stay in the
    /// file.
    pub fn undo(&mut self, file: &StateFile) -> Result<Vec<Change>> {
        let mut journal = file.load()?;
        if journal.changes.is_empty() {
            return Ok(Vec::new());
        }
        require_root("undo")?;
        let mut undone = Vec::new();
        while let Some(change) = journal.changes.pop() {
            if let Err(err) = self.revert(&change) {
                journal.changes.push(change);
                file.save(&journal)?;
                return Err(err);
            }
            undone.push(change);
            file.save(&journal)?;
        }
        file.save(&Journal::default())?;
        Ok(undone)
    }
}

fn require_root(what: &'static str) -> Result<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(Error::NotRoot(what))
    }
}

fn module_loaded(name: &str) -> bool {
    Path::new("/sys/module").join(name).exists()
}

fn modprobe(args: &[&str]) -> Result<()> {
    let command = format!("modprobe {}", args.join(" "));
    let status = Command::new("modprobe")
        .args(args)
        .status()
        .map_err(|e| Error::Module {
            command: command.clone(),
            reason: e.to_string(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Module {
            command,
            reason: status.to_string(),
        })
    }
}
