//! What `apply` changed, kept in a state file so that `undo` reverses exactly
//! that and nothing else.
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::state::{DefaultRoute, SysctlKey};

/// Where the tools keep their state files by default.
pub const DEFAULT_STATE_DIR: &str = "/run/lvs";

/// One change made by `apply`, with what it takes to reverse it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// A module was loaded.
    Module {
        /// Its name.
        name: String,
    },
    /// A device was set up (it was down).
    LinkUp {
        /// The device.
        dev: String,
    },
    /// An address was added.
    Address {
        /// The device.
        dev: String,
        /// The address.
        addr: IpAddr,
        /// Its prefix length.
        prefix: u8,
        /// Its label.
        label: Option<String>,
    },
    /// The default route was replaced.
    DefaultRoute {
        /// The route added.
        added: DefaultRoute,
        /// The default routes removed to make way for it.
        removed: Vec<DefaultRoute>,
    },
    /// A sysctl was written.
    Sysctl {
        /// The sysctl.
        key: SysctlKey,
        /// Its value before.
        previous: String,
        /// The value written.
        value: String,
    },
}

impl Change {
    /// The commands that reverse it.
    pub fn undo_commands(&self) -> Vec<String> {
        match self {
            Change::Module { name } => vec![format!("modprobe -r {name}")],
            Change::LinkUp { dev } => vec![format!("ip link set dev {dev} down")],
            Change::Address {
                dev, addr, prefix, ..
            } => {
                let ip = if addr.is_ipv6() { "ip -6" } else { "ip" };
                vec![format!("{ip} address del {addr}/{prefix} dev {dev}")]
            }
            Change::DefaultRoute { added, removed } => {
                let mut v = vec![format!("{} del {}", added.ip_route(), added.spec())];
                v.extend(
                    removed
                        .iter()
                        .map(|r| format!("{} add {}", r.ip_route(), r.spec())),
                );
                v
            }
            Change::Sysctl { key, previous, .. } => vec![format!("sysctl -w {key}={previous}")],
        }
    }
}

impl fmt::Display for Change {
    /// The command that made it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Module { name } => write!(f, "modprobe {name}"),
            Change::LinkUp { dev } => write!(f, "ip link set dev {dev} up"),
            Change::Address {
                dev,
                addr,
                prefix,
                label,
            } => {
                let ip = if addr.is_ipv6() { "ip -6" } else { "ip" };
                write!(f, "{ip} address add {addr}/{prefix} dev {dev}")?;
                if let Some(l) = label {
                    write!(f, " label {l}")?;
                }
                Ok(())
            }
            Change::DefaultRoute { added, removed } => {
                let what = if removed.is_empty() { "add" } else { "replace" };
                write!(f, "{} {what} {}", added.ip_route(), added.spec())
            }
            Change::Sysctl { key, value, .. } => write!(f, "sysctl -w {key}={value}"),
        }
    }
}

/// The changes recorded in a state file, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The changes.
    pub changes: Vec<Change>,
}

/// A state file: `DIR/NAME.json`, the directory mode 0700, the file 0600,
/// replaced atomically on every change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state file `NAME.json` in `dir` (`/run/lvs` for the tools).
    pub fn new(dir: impl AsRef<Path>, name: &str) -> Self {
        Self {
            path: dir.as_ref().join(format!("{name}.json")),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, reason: impl fmt::Display) -> Error {
        Error::State {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// The recorded changes; none when the file does not exist.
    pub fn load(&self) -> Result<Journal> {
        match fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| self.error(e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Journal::default()),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Creates the directory (mode 0700) if needed and checks that it can be
    /// written: done before the first change, so a failure changes nothing.
    pub fn prepare(&self) -> Result<()> {
        let dir = self.dir();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| self.error(format_args!("creating {}: {e}", dir.display())))?;
        let probe = self.temp_path();
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&probe)
            .map_err(|e| self.error(e))?;
        drop(file);
        fs::remove_file(&probe).map_err(|e| self.error(e))
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    fn temp_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".new");
        self.path.with_file_name(name)
    }

    /// Writes `journal` (removes the file when it is empty).
    pub fn save(&self, journal: &Journal) -> Result<()> {
        if journal.changes.is_empty() {
            return match fs::remove_file(&self.path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(self.error(e)),
                _ => Ok(()),
            };
        }
        let mut text = serde_json::to_string_pretty(journal).map_err(|e| self.error(e))?;
        text.push('\n');
        let temp = self.temp_path();
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| self.error(e))?;
        // The mode given to open() is masked by the umask and kept for an
        // existing file: set it.
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(|e| self.error(e))?;
        fs::rename(&temp, &self.path).map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_survives_its_file_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path().join("lvs"), "lvsd");
        assert_eq!(file.load().unwrap(), Journal::default());
        file.prepare().unwrap();
        let journal = Journal {
            changes: vec![
                Change::Sysctl {
                    key: SysctlKey::ipv4_conf("all", "arp_ignore"),
                    previous: "0".into(),
                    value: "1".into(),
                },
                Change::Address {
                    dev: "lo".into(),
                    addr: "10.0.0.100".parse().unwrap(),
                    prefix: 32,
                    label: Some("lo:0".into()),
                },
            ],
        };
        file.save(&journal).unwrap();
        assert_eq!(file.load().unwrap(), journal);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(file.path()), 0o600);
        assert_eq!(mode(&dir.path().join("lvs")), 0o700);
        file.save(&Journal::default()).unwrap();
        assert!(!file.path().exists());
    }

    #[test]
    fn a_damaged_state_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = StateFile::new(dir.path(), "lvs-agent");
        fs::write(file.path(), "{ not json").unwrap();
        let err = file.load().unwrap_err().to_string();
        assert!(err.contains("lvs-agent.json"), "{err}");
    }

    #[test]
    fn undo_commands_reverse_each_change() {
        let c = Change::Sysctl {
            key: SysctlKey("net/ipv4/ip_forward".into()),
            previous: "0".into(),
            value: "1".into(),
        };
        assert_eq!(c.to_string(), "sysctl -w net.ipv4.ip_forward=1");
        assert_eq!(c.undo_commands(), ["sysctl -w net.ipv4.ip_forward=0"]);
    }
}
