//! `com --list`: the serial devices present.
use std::fs;
use std::path::{Path, PathBuf};

/// One device: its stable name (if udev made one) and its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub by_id: Option<PathBuf>,
    pub node: PathBuf,
    pub driver: Option<String>,
}

/// `/dev/serial/by-id` names with their targets, then the other serial ttys the
/// kernel knows a device for (USB adapters, ACM modems, and `ttyS*` ports whose
/// UART was detected).
pub fn devices() -> Vec<Device> {
    let mut found: Vec<Device> = Vec::new();
    if let Ok(entries) = fs::read_dir("/dev/serial/by-id") {
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for link in entries {
            if let Ok(node) = fs::canonicalize(&link) {
                let driver = driver_of(&node);
                found.push(Device {
                    by_id: Some(link),
                    node,
                    driver,
                });
            }
        }
    }
    if let Ok(entries) = fs::read_dir("/sys/class/tty") {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort_by_key(|name| natural_key(name));
        for name in names {
            let sys = Path::new("/sys/class/tty").join(&name);
            if !sys.join("device").exists() {
                continue; // virtual consoles, ptys
            }
            // A ttyS* without a detected UART reports type 0 (PORT_UNKNOWN).
            if name.starts_with("ttyS") {
                let kind = fs::read_to_string(sys.join("type")).unwrap_or_default();
                if kind.trim() == "0" || kind.trim().is_empty() {
                    continue;
                }
            }
            let node = Path::new("/dev").join(&name);
            if !node.exists() || found.iter().any(|d| d.node == node) {
                continue;
            }
            let driver = driver_of(&node);
            found.push(Device {
                by_id: None,
                node,
                driver,
            });
        }
    }
    found
}

fn driver_of(node: &Path) -> Option<String> {
    let name = node.file_name()?.to_string_lossy().into_owned();
    let link = fs::read_link(Path::new("/sys/class/tty").join(name).join("device/driver")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

fn natural_key(name: &str) -> (String, u64) {
    let split = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (stem, number) = name.split_at(split);
    (stem.to_string(), number.parse().unwrap_or(0))
}

/// The listing as printed.
pub fn render(devices: &[Device]) -> String {
    if devices.is_empty() {
        return "no serial devices found (plug the adapter in; `com --demo` needs none)\n"
            .to_string();
    }
    let mut out = String::new();
    for device in devices {
        let driver = device
            .driver
            .as_deref()
            .map(|d| format!("  ({d})"))
            .unwrap_or_default();
        match &device.by_id {
            Some(link) => out.push_str(&format!(
                "{} -> {}{driver}\n",
                link.display(),
                device.node.display()
            )),
            None => out.push_str(&format!("{}{driver}\n", device.node.display())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_shows_names_targets_and_drivers() {
        let devices = vec![
            Device {
                by_id: Some("/dev/serial/by-id/usb-FTDI_FT232R-if00-port0".into()),
                node: "/dev/ttyUSB0".into(),
                driver: Some("ftdi_sio".into()),
            },
            Device {
                by_id: None,
                node: "/dev/ttyS0".into(),
                driver: None,
            },
        ];
        assert_eq!(
            render(&devices),
            "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0 -> /dev/ttyUSB0  (ftdi_sio)\n/dev/ttyS0\n"
        );
        assert!(render(&[]).contains("no serial devices"));
        assert!(natural_key("ttyS10") > natural_key("ttyS9"));
    }
}
