//! `ipvsctl service start|save|stop [--config-style redhat|debian] [--root
//! DIR]`: what the `ipvsadm` packages' init scripts do, for the systemd unit
//! (`bins/ipvsctl/systemd/ipvsctl.service`), reading both distributions'
//! files as they are.
//!
//! | style | rules | settings |
//! | --- | --- | --- |
//! | `redhat` | `/etc/sysconfig/ipvsadm` | `/etc/sysconfig/ipvsadm-config`: `IPVS_SAVE_ON_STOP`, `IPVS_SAVE_ON_RESTART` (`yes`/`no`) |
//! | `debian` | `/etc/ipvsadm.rules` | `/etc/default/ipvsadm`: `AUTO` (`true`/`false`), `DAEMON` (`master`/`backup`/`none`), `IFACE`, `SYNCID` |
//!
//! - `start` makes the table equal to the rules file through `apply
//!   --prune` (only the difference is sent, so a restart of the unit never
//!   flushes live traffic), unless Debian's `AUTO` is not `true`, then starts
//!   the sync daemon Debian's `DAEMON` asks for (when not running).
//! - `save` writes `-S -n` atomically: a temporary file beside the rules,
//!   written and `fsync`ed, the old rules hard-linked to `RULES.bak`, the
//!   temporary file renamed over the rules, the directory `fsync`ed. A crash
//!   at any point leaves either the old or the new rules, never a part.
//! - `stop` saves when `IPVS_SAVE_ON_STOP` or `IPVS_SAVE_ON_RESTART` is
//!   `yes` (systemd restarts a unit through its stop), stops the daemon
//!   Debian's `DAEMON` started, and leaves the table as it is (the scripts'
//!   flush would drop traffic on every restart: `ipvsctl -C` does that).
//!
//! Any missing or bad file is one line naming the file (and line), exit
//! status 2, the live table untouched.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ipvs_proto::{Daemon, DaemonState, Request};

use crate::failure::{self, Failure, USAGE_FAILURE};
use crate::kernel;
use crate::model;
use crate::restore;

/// Which distribution's files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    RedHat,
    Debian,
}

impl Style {
    /// The rules file, relative to the root.
    pub fn rules(self) -> &'static str {
        match self {
            Style::RedHat => "etc/sysconfig/ipvsadm",
            Style::Debian => "etc/ipvsadm.rules",
        }
    }

    /// The settings file, relative to the root.
    pub fn settings(self) -> &'static str {
        match self {
            Style::RedHat => "etc/sysconfig/ipvsadm-config",
            Style::Debian => "etc/default/ipvsadm",
        }
    }
}

fn fail(message: impl std::fmt::Display) -> anyhow::Error {
    Failure::new(USAGE_FAILURE, format!("ipvsctl service: {message}")).into()
}

/// The style whose files exist under `root`; with neither, the style whose
/// directory exists (a first `save`).
pub fn detect(root: &Path) -> anyhow::Result<Style> {
    let has =
        |style: Style| root.join(style.rules()).exists() || root.join(style.settings()).exists();
    match (has(Style::RedHat), has(Style::Debian)) {
        (true, false) => Ok(Style::RedHat),
        (false, true) => Ok(Style::Debian),
        (true, true) => Err(fail(format!(
            "both {} and {} files exist: choose with --config-style redhat|debian",
            root.join(Style::RedHat.rules()).display(),
            root.join(Style::Debian.rules()).display()
        ))),
        (false, false) if root.join("etc/sysconfig").is_dir() => Ok(Style::RedHat),
        (false, false) if root.join("etc/default").is_dir() => Ok(Style::Debian),
        (false, false) => Err(fail(format!(
            "no rules file ({} or {}): choose with --config-style redhat|debian",
            root.join(Style::RedHat.rules()).display(),
            root.join(Style::Debian.rules()).display()
        ))),
    }
}

/// Reads a shell-style settings file (`KEY=value`, `KEY="value"`,
/// `KEY='value'`, `export KEY=value`, `#` comments); a line that is none of
/// these is an error naming its number.
pub fn parse_settings(text: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let bad = || format!("line {}: not KEY=value: {raw}", i + 1);
        let (key, value) = line.split_once('=').ok_or_else(bad)?;
        let key_ok = !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !key.starts_with(|c: char| c.is_ascii_digit());
        if !key_ok {
            return Err(bad());
        }
        // A trailing comment after the value.
        let value = value.trim();
        let value = match value.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let rest = &value[1..];
                let end = rest.find(q).ok_or_else(bad)?;
                let tail = rest[end + 1..].trim();
                if !(tail.is_empty() || tail.starts_with('#')) {
                    return Err(bad());
                }
                rest[..end].to_string()
            }
            _ => {
                let v = value.split(" #").next().unwrap_or("").trim();
                if v.contains(char::is_whitespace) {
                    return Err(bad());
                }
                v.to_string()
            }
        };
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

/// The settings that matter, with the distributions' defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Restore the rules at start (Debian's `AUTO`; always on Red Hat).
    pub restore: bool,
    /// Save at stop (Red Hat's `IPVS_SAVE_ON_STOP` / `_ON_RESTART`).
    pub save_on_stop: bool,
    /// The sync daemon to run (Debian's `DAEMON`, `IFACE`, `SYNCID`).
    pub daemon: Option<Daemon>,
}

/// The settings of `style` from its file's `values`.
pub fn settings(style: Style, values: &HashMap<String, String>) -> Result<Settings, String> {
    let get = |k: &str| values.get(k).map(String::as_str);
    let flag = |k: &str, yes: &str, no: &str, default: bool| match get(k) {
        None | Some("") => Ok(default),
        Some(v) if v == yes => Ok(true),
        Some(v) if v == no => Ok(false),
        Some(v) => Err(format!("{k}=\"{v}\": expected {yes} or {no}")),
    };
    match style {
        Style::RedHat => Ok(Settings {
            restore: true,
            save_on_stop: flag("IPVS_SAVE_ON_STOP", "yes", "no", false)?
                || flag("IPVS_SAVE_ON_RESTART", "yes", "no", false)?,
            daemon: None,
        }),
        Style::Debian => {
            let state = match get("DAEMON") {
                None | Some("" | "none") => None,
                Some("master") => Some(DaemonState::Master),
                Some("backup") => Some(DaemonState::Backup),
                Some(v) => return Err(format!("DAEMON=\"{v}\": expected master, backup or none")),
            };
            let daemon = match state {
                None => None,
                Some(state) => {
                    let iface = get("IFACE").filter(|v| !v.is_empty()).unwrap_or("eth0");
                    if iface.len() > 15 {
                        return Err(format!("IFACE=\"{iface}\": longer than 15 characters"));
                    }
                    let syncid = match get("SYNCID") {
                        None | Some("") => 0,
                        Some(v) => v
                            .parse::<u8>()
                            .map_err(|_| format!("SYNCID=\"{v}\": expected 0 to 255"))?,
                    };
                    Some(Daemon::new(state, iface, u32::from(syncid)))
                }
            };
            Ok(Settings {
                restore: flag("AUTO", "true", "false", true)?,
                save_on_stop: false,
                daemon,
            })
        }
    }
}

/// The settings under `root` (defaults when the file is missing).
fn read_settings(root: &Path, style: Style) -> anyhow::Result<Settings> {
    let path = root.join(style.settings());
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(fail(format!("{}: {e}", path.display()))),
    };
    parse_settings(&text)
        .and_then(|values| settings(style, &values))
        .map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// Writes `text` to `path` atomically, keeping the old file as
/// `PATH.bak`; `pause` (tests) waits between writing the temporary file and
/// the rename.
pub fn write_atomically(
    path: &Path,
    text: &str,
    pause: Option<std::time::Duration>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let bak = dir.join(format!("{name}.bak"));
    {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    if let Some(pause) = pause {
        std::thread::sleep(pause);
    }
    if path.exists() {
        let _ = std::fs::remove_file(&bak);
        if std::fs::hard_link(path, &bak).is_err() {
            std::fs::copy(path, &bak)?;
        }
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// Environment variable that makes `save` wait this many milliseconds
/// between writing the temporary file and renaming it (the lab's crash
/// test kills it there).
pub const SAVE_PAUSE_ENV: &str = "IPVSCTL_SAVE_PAUSE_MS";

fn save(root: &Path, style: Style) -> anyhow::Result<()> {
    let (mut client, info) = kernel::init()?;
    let table = kernel::table(&mut client).map_err(failure::kernel)?;
    let text = crate::format::listing(
        &info,
        table,
        crate::cli::fmt::RULE | crate::cli::fmt::NUMERIC,
    );
    let path = root.join(style.rules());
    let pause = std::env::var(SAVE_PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    write_atomically(&path, &text, pause)
        .map_err(|e| fail(format!("cannot save to {}: {e}", path.display())))
}

fn start(root: &Path, style: Style, settings: &Settings) -> anyhow::Result<()> {
    if settings.restore {
        let path = root.join(style.rules());
        let text =
            std::fs::read_to_string(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        let shown = path.display().to_string();
        let wanted = crate::apply::wanted("ipvsctl", &text).map_err(|errors| {
            let first = &errors[0];
            let more = match errors.len() {
                1 => String::new(),
                n => format!(" (and {} more bad lines)", n - 1),
            };
            fail(format!(
                "{shown}: {first}{more}; the table is left as it was"
            ))
        })?;
        let (mut client, _info) = kernel::init()?;
        let current = kernel::table(&mut client).map_err(failure::kernel)?;
        let requests = model::diff(&current, &wanted.table, true);
        if !requests.is_empty() {
            let labels: Vec<String> = crate::apply::labels(&wanted, &requests)
                .into_iter()
                .map(|l| format!("{shown}: {l}"))
                .collect();
            restore::prepare(&mut client, &requests, &labels)
                .and_then(|snapshot| restore::apply(&mut client, &requests, &labels, &snapshot))
                .map_err(one_line)?;
        }
    }
    if let Some(daemon) = &settings.daemon {
        let (mut client, _info) = kernel::init()?;
        let running = client.daemons().map_err(failure::kernel)?;
        if !running.iter().any(|d| d.state == daemon.state) {
            client
                .request(&Request::NewDaemon(daemon.clone()))
                .map_err(failure::kernel)?;
        }
    }
    Ok(())
}

/// A refusal of several lines as the journal's one line: the first, and how
/// many more there were.
fn one_line(err: anyhow::Error) -> anyhow::Error {
    match err.downcast::<Failure>() {
        Ok(failure) => {
            let lines: Vec<&str> = failure.message.lines().collect();
            let more = match lines.len() {
                0 | 1 => String::new(),
                n => format!(" (and {} more lines)", n - 1),
            };
            Failure::new(
                failure.status,
                format!("ipvsctl service: {}{more}", lines.first().unwrap_or(&"")),
            )
            .into()
        }
        Err(other) => other,
    }
}

fn stop(root: &Path, style: Style, settings: &Settings) -> anyhow::Result<()> {
    if settings.save_on_stop {
        save(root, style)?;
    }
    if let Some(daemon) = &settings.daemon {
        let (mut client, _info) = kernel::init()?;
        let running = client.daemons().map_err(failure::kernel)?;
        if running.iter().any(|d| d.state == daemon.state) {
            client
                .request(&Request::DelDaemon(Daemon::new(daemon.state, "", 0)))
                .map_err(failure::kernel)?;
        }
    }
    Ok(())
}

/// `service start|save|stop [--config-style redhat|debian] [--root DIR]`.
pub fn run(args: &[&str]) -> anyhow::Result<ExitCode> {
    let (mut action, mut style, mut root) = (None, None, PathBuf::from("/"));
    let mut words = args.iter();
    while let Some(&word) = words.next() {
        match word {
            "start" | "save" | "stop" if action.is_none() => action = Some(word),
            "--config-style" => {
                style = Some(match words.next().copied() {
                    Some("redhat") => Style::RedHat,
                    Some("debian") => Style::Debian,
                    other => {
                        return Err(fail(format!(
                            "--config-style takes redhat or debian, not `{}'",
                            other.unwrap_or("")
                        )));
                    }
                });
            }
            "--root" => {
                root = PathBuf::from(
                    words
                        .next()
                        .ok_or_else(|| fail("--root: missing argument"))?,
                );
            }
            _ => {
                return Err(fail(format!(
                    "unexpected `{word}' (start|save|stop [--config-style redhat|debian] [--root DIR])"
                )));
            }
        }
    }
    let action = action.ok_or_else(|| fail("start, save or stop?"))?;
    let style = match style {
        Some(style) => style,
        None => detect(&root)?,
    };
    let settings = read_settings(&root, style)?;
    match action {
        "start" => start(&root, style, &settings)?,
        "save" => save(&root, style)?,
        _ => stop(&root, style, &settings)?,
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_files_read_as_the_shell_reads_them() {
        let text = "# comment\nIPVS_SAVE_ON_STOP=\"yes\"\nexport IPVS_STATUS_NUMERIC='no' # trailing\n\nX=plain\n";
        let v = parse_settings(text).unwrap();
        assert_eq!(v["IPVS_SAVE_ON_STOP"], "yes");
        assert_eq!(v["IPVS_STATUS_NUMERIC"], "no");
        assert_eq!(v["X"], "plain");
        assert_eq!(
            parse_settings("A=1\nthis is bad\n").unwrap_err(),
            "line 2: not KEY=value: this is bad"
        );
        assert!(parse_settings("A=\"open\n").is_err());
        assert!(parse_settings("1A=x\n").is_err());
        assert!(parse_settings("A=two words\n").is_err());
    }

    #[test]
    fn both_distributions_settings() {
        let values = |text: &str| parse_settings(text).unwrap();
        let rh = settings(
            Style::RedHat,
            &values("IPVS_SAVE_ON_STOP=no\nIPVS_SAVE_ON_RESTART=yes\n"),
        )
        .unwrap();
        assert_eq!((rh.restore, rh.save_on_stop, rh.daemon), (true, true, None));
        assert!(
            !settings(Style::RedHat, &HashMap::new())
                .unwrap()
                .save_on_stop
        );
        assert_eq!(
            settings(Style::RedHat, &values("IPVS_SAVE_ON_STOP=maybe\n")).unwrap_err(),
            "IPVS_SAVE_ON_STOP=\"maybe\": expected yes or no"
        );
        let deb = settings(
            Style::Debian,
            &values("AUTO=\"true\"\nDAEMON=\"backup\"\nIFACE=\"lo\"\nSYNCID=\"7\"\n"),
        )
        .unwrap();
        assert!(deb.restore && !deb.save_on_stop);
        assert_eq!(deb.daemon, Some(Daemon::new(DaemonState::Backup, "lo", 7)));
        let off = settings(Style::Debian, &values("AUTO=false\nDAEMON=none\n")).unwrap();
        assert_eq!((off.restore, off.daemon), (false, None));
        assert!(settings(Style::Debian, &values("SYNCID=300\nDAEMON=master\n")).is_err());
        assert!(settings(Style::Debian, &values("DAEMON=primary\n")).is_err());
    }

    #[test]
    fn styles_are_found_by_their_files() {
        let root = std::env::temp_dir().join(format!("ipvsctl-style-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("etc")).unwrap();
        assert!(detect(&root).is_err());
        std::fs::create_dir_all(root.join("etc/default")).unwrap();
        assert_eq!(detect(&root).unwrap(), Style::Debian);
        std::fs::create_dir_all(root.join("etc/sysconfig")).unwrap();
        std::fs::write(root.join("etc/sysconfig/ipvsadm"), "").unwrap();
        assert_eq!(detect(&root).unwrap(), Style::RedHat);
        std::fs::write(root.join("etc/ipvsadm.rules"), "").unwrap();
        assert!(
            detect(&root)
                .unwrap_err()
                .to_string()
                .contains("--config-style")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn saves_are_atomic_and_keep_the_old_file() {
        let dir = std::env::temp_dir().join(format!("ipvsctl-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("etc/ipvsadm.rules");
        write_atomically(&path, "one\n", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\n");
        assert!(!dir.join("etc/ipvsadm.rules.bak").exists());
        write_atomically(&path, "two\n", None).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        assert_eq!(
            std::fs::read_to_string(dir.join("etc/ipvsadm.rules.bak")).unwrap(),
            "one\n"
        );
        assert!(!dir.join("etc/.ipvsadm.rules.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
