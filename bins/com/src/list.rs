//! `com --list`: the serial devices present.
use std::fs;
use std::path::{Path, PathBuf};

/// One device: its node, the stable names udev made for it, its driver and,
/// for a USB adapter, what the adapter says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Device {
    pub node: PathBuf,
    /// `/dev/serial/by-id/` names.
    pub by_id: Vec<PathBuf>,
    /// `/dev/serial/by-path/` names.
    pub by_path: Vec<PathBuf>,
    pub driver: Option<String>,
    pub usb: Option<Usb>,
}

/// A USB device's identity from sysfs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usb {
    /// `idVendor:idProduct`, e.g. `0403:6001`.
    pub id: String,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
}

/// The devices of this machine.
pub fn devices() -> Vec<Device> {
    devices_in(Path::new("/dev"), Path::new("/sys"))
}

/// The stable names (by-id, by-path) with their targets, then the other
/// serial ttys the kernel knows a device for (USB adapters, ACM modems, and
/// `ttyS*` ports whose UART was detected); `dev` and `sys` are where /dev and
/// /sys are.
pub fn devices_in(dev: &Path, sys: &Path) -> Vec<Device> {
    let mut found: Vec<Device> = Vec::new();
    let class = sys.join("class/tty");
    for (dir, by_id) in [("serial/by-id", true), ("serial/by-path", false)] {
        let Ok(entries) = fs::read_dir(dev.join(dir)) else {
            continue;
        };
        let mut links: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        links.sort();
        for link in links {
            let Ok(node) = fs::canonicalize(&link) else {
                continue;
            };
            let index = match found.iter().position(|d| d.node == node) {
                Some(i) => i,
                None => {
                    found.push(Device {
                        driver: driver_of(&class, &node),
                        usb: usb_of(&class, &node),
                        node,
                        ..Device::default()
                    });
                    found.len() - 1
                }
            };
            let names = if by_id {
                &mut found[index].by_id
            } else {
                &mut found[index].by_path
            };
            names.push(link);
        }
    }
    if let Ok(entries) = fs::read_dir(&class) {
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort_by_key(|name| natural_key(name));
        for name in names {
            let tty = class.join(&name);
            if !tty.join("device").exists() {
                continue; // virtual consoles, ptys
            }
            // A ttyS* without a detected UART reports type 0 (PORT_UNKNOWN).
            if name.starts_with("ttyS") {
                let kind = fs::read_to_string(tty.join("type")).unwrap_or_default();
                if kind.trim() == "0" || kind.trim().is_empty() {
                    continue;
                }
            }
            let node = dev.join(&name);
            let node = fs::canonicalize(&node).unwrap_or(node);
            if !node.exists() || found.iter().any(|d| d.node == node) {
                continue;
            }
            found.push(Device {
                driver: driver_of(&class, &node),
                usb: usb_of(&class, &node),
                node,
                ..Device::default()
            });
        }
    }
    found
}

fn driver_of(class: &Path, node: &Path) -> Option<String> {
    let name = node.file_name()?;
    let link = fs::read_link(class.join(name).join("device/driver")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// The USB device above a tty in sysfs: the nearest ancestor of its device
/// directory with an `idVendor`.
fn usb_of(class: &Path, node: &Path) -> Option<Usb> {
    let mut dir = fs::canonicalize(class.join(node.file_name()?).join("device")).ok()?;
    let read = |dir: &Path, file: &str| {
        fs::read_to_string(dir.join(file))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    for _ in 0..8 {
        if let Some(vendor) = read(&dir, "idVendor") {
            return Some(Usb {
                id: format!("{vendor}:{}", read(&dir, "idProduct").unwrap_or_default()),
                manufacturer: read(&dir, "manufacturer"),
                product: read(&dir, "product"),
                serial: read(&dir, "serial"),
            });
        }
        if !dir.pop() {
            break;
        }
    }
    None
}

fn natural_key(name: &str) -> (String, u64) {
    let split = name
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(name.len());
    let (stem, number) = name.split_at(split);
    (stem.to_string(), number.parse().unwrap_or(0))
}

/// The listing as printed: each stable name `-> NODE`, then the node with its
/// driver and USB identity.
pub fn render(devices: &[Device]) -> String {
    if devices.is_empty() {
        return "no serial devices found (plug the adapter in; `com --demo` needs none)\n"
            .to_string();
    }
    let mut out = String::new();
    for device in devices {
        for link in device.by_id.iter().chain(&device.by_path) {
            out.push_str(&format!(
                "{} -> {}\n",
                link.display(),
                device.node.display()
            ));
        }
        out.push_str(&device.node.display().to_string());
        if let Some(d) = &device.driver {
            out.push_str(&format!("  ({d})"));
        }
        if let Some(usb) = &device.usb {
            out.push_str(&format!("  USB {}", usb.id));
            let words: Vec<&str> = [usb.manufacturer.as_deref(), usb.product.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !words.is_empty() {
                out.push_str(&format!("  {}", words.join(" ")));
            }
            if let Some(serial) = &usb.serial {
                out.push_str(&format!("  serial {serial}"));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_shows_names_drivers_and_usb_identity_from_sysfs() {
        // A fake /dev and /sys: an FTDI adapter with by-id and by-path names,
        // a detected UART, an undetected one and a pty.
        let root = tempfile::tempdir().unwrap();
        let (dev, sys) = (root.path().join("dev"), root.path().join("sys"));
        let mk = |p: &Path| fs::create_dir_all(p).unwrap();
        let write = |p: &Path, s: &str| {
            mk(p.parent().unwrap());
            fs::write(p, s).unwrap();
        };
        let link = |target: &Path, at: &Path| {
            mk(at.parent().unwrap());
            std::os::unix::fs::symlink(target, at).unwrap();
        };
        for node in ["ttyUSB0", "ttyS0", "ttyS1", "pts"] {
            write(&dev.join(node), "");
        }
        let usb = sys.join("devices/pci0000:00/usb1/1-2");
        write(&usb.join("idVendor"), "0403\n");
        write(&usb.join("idProduct"), "6001\n");
        write(&usb.join("manufacturer"), "FTDI\n");
        write(&usb.join("product"), "FT232R USB UART\n");
        write(&usb.join("serial"), "A1B2C3\n");
        let port = usb.join("1-2:1.0/ttyUSB0");
        mk(&port);
        mk(&sys.join("bus/usb-serial/drivers/ftdi_sio"));
        link(
            &sys.join("bus/usb-serial/drivers/ftdi_sio"),
            &port.join("driver"),
        );
        let class = sys.join("class/tty");
        link(&port, &class.join("ttyUSB0/device"));
        let uart = sys.join("devices/platform/serial8250");
        mk(&uart);
        mk(&sys.join("bus/platform/drivers/serial8250"));
        link(
            &sys.join("bus/platform/drivers/serial8250"),
            &uart.join("driver"),
        );
        link(&uart, &class.join("ttyS0/device"));
        write(&class.join("ttyS0/type"), "4\n");
        link(&uart, &class.join("ttyS1/device"));
        write(&class.join("ttyS1/type"), "0\n");
        mk(&class.join("pts"));
        link(
            Path::new("../../ttyUSB0"),
            &dev.join("serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0"),
        );
        link(
            Path::new("../../ttyUSB0"),
            &dev.join("serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0"),
        );
        let devices = devices_in(&dev, &sys);
        let text = render(&devices).replace(&dev.display().to_string(), "/dev");
        assert_eq!(
            text,
            "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3-if00-port0 -> /dev/ttyUSB0\n\
             /dev/serial/by-path/pci-0000:00:14.0-usb-0:2:1.0-port0 -> /dev/ttyUSB0\n\
             /dev/ttyUSB0  (ftdi_sio)  USB 0403:6001  FTDI FT232R USB UART  serial A1B2C3\n\
             /dev/ttyS0  (serial8250)\n"
        );
        assert!(render(&[]).contains("no serial devices"));
        assert!(natural_key("ttyS10") > natural_key("ttyS9"));
    }
}
