//! The guest kernel: Debian's cloud kernel, fetched once into a cache, and the
//! IPVS modules it needs in the order `insmod` must load them.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::util::run_step;

/// The meta package whose single dependency is the current cloud kernel image.
const KERNEL_META_PACKAGE: &str = "linux-image-cloud-amd64";

/// Modules under `net/netfilter/ipvs/` that the lab does not load: the FTP helper
/// pulls in NAT and conntrack helpers that no test needs.
const SKIPPED_IPVS_MODULES: &[&str] = &["ip_vs_ftp"];

/// Modules the cluster tests wire their namespaces with: veth pairs, a bridge for
/// a shared LAN, and `ipip` (which also creates `tunl0` in every namespace) for
/// LVS tunnelling.
const CLUSTER_MODULES: &[&str] = &["veth", "bridge", "ipip"];

/// A kernel unpacked in the cache, ready to boot.
#[derive(Debug)]
pub struct Kernel {
    /// Kernel release, e.g. `6.1.0-56-cloud-amd64`.
    pub release: String,
    /// The unpacked package (`boot/`, `lib/modules/`).
    pub root: PathBuf,
    /// The bootable image.
    pub vmlinuz: PathBuf,
}

impl Kernel {
    /// The modules directory of this release inside the unpacked package.
    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.release)
    }
}

/// Resolves the cloud kernel package now current in the apt lists and makes sure it
/// is downloaded, unpacked and `depmod`-ed under `cache`.
pub fn ensure_kernel(cache: &Path) -> anyhow::Result<Kernel> {
    let package = resolve_kernel_package().with_context(|| {
        format!("step `kernel`: resolving the package {KERNEL_META_PACKAGE} depends on")
    })?;
    let release = package
        .strip_prefix("linux-image-")
        .with_context(|| format!("step `kernel`: unexpected kernel package name `{package}`"))?
        .to_owned();
    let dir = cache.join(&package);
    let root = dir.join("root");
    let stamp = dir.join("complete");
    if !stamp.exists() {
        eprintln!(
            "xtask: kernel-lab: fetching {package} into {}",
            dir.display()
        );
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .with_context(|| format!("removing the partial cache {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        run_step(
            "kernel download",
            Command::new("apt-get")
                .args(["download", "-q", "-o", "APT::Sandbox::User=root"])
                .arg(&package)
                .current_dir(&dir),
        )?;
        let deb = find_deb(&dir, &package)?;
        run_step(
            "kernel unpack",
            Command::new("dpkg").arg("-x").arg(&deb).arg(&root),
        )?;
        fs::remove_file(&deb).with_context(|| format!("removing {}", deb.display()))?;
        // The package ships no modules.dep: build it so modprobe can order modules.
        run_step(
            "kernel depmod",
            Command::new("depmod").arg("-b").arg(&root).arg(&release),
        )?;
        fs::write(&stamp, format!("{package}\n"))
            .with_context(|| format!("writing {}", stamp.display()))?;
    }
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.is_file() {
        bail!(
            "step `kernel`: {} is missing from the unpacked {package} (remove {} to fetch it again)",
            vmlinuz.display(),
            dir.display()
        );
    }
    Ok(Kernel {
        release,
        root,
        vmlinuz,
    })
}

/// `apt-cache depends linux-image-cloud-amd64` → `linux-image-<release>`, running
/// `apt-get update` once if the lists do not know the package yet.
fn resolve_kernel_package() -> anyhow::Result<String> {
    if let Some(package) = kernel_dependency()? {
        return Ok(package);
    }
    run_step(
        "apt-get update",
        Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    kernel_dependency()?.with_context(|| {
        format!("apt-cache knows no `Depends: linux-image-*` of {KERNEL_META_PACKAGE}")
    })
}

fn kernel_dependency() -> anyhow::Result<Option<String>> {
    let out = Command::new("apt-cache")
        .args(["depends", KERNEL_META_PACKAGE])
        .output()
        .context("running apt-cache depends")?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(parse_kernel_dependency(&String::from_utf8_lossy(
        &out.stdout,
    )))
}

/// Picks the kernel image out of `apt-cache depends` output.
fn parse_kernel_dependency(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|dep| dep.starts_with("linux-image-") && !dep.contains('<'))
        .map(str::to_owned)
}

fn find_deb(dir: &Path, package: &str) -> anyhow::Result<PathBuf> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(&format!("{package}_")) && name.ends_with(".deb") {
            return Ok(path);
        }
    }
    bail!(
        "apt-get download left no {package}_*.deb in {}",
        dir.display()
    )
}

/// The modules to load, dependencies first, as paths relative to the modules dir,
/// and the scheduler names the kernel then offers.
#[derive(Debug)]
pub struct ModulePlan {
    pub load_order: Vec<PathBuf>,
    pub schedulers: Vec<String>,
}

/// Orders `ip_vs` and every IPVS scheduler and persistence-engine module (with
/// their dependencies) by asking `modprobe --show-depends` of the unpacked kernel.
pub fn module_plan(kernel: &Kernel) -> anyhow::Result<ModulePlan> {
    let modules_dir = kernel.modules_dir();
    let ipvs_dir = modules_dir.join("kernel/net/netfilter/ipvs");
    let mut names: Vec<String> = fs::read_dir(&ipvs_dir)
        .with_context(|| format!("step `modules`: listing {}", ipvs_dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".ko").map(str::to_owned)
        })
        .filter(|name| !SKIPPED_IPVS_MODULES.contains(&name.as_str()))
        .collect();
    names.sort();
    // ip_vs itself first, so the order of the rest is only about their own deps.
    names.sort_by_key(|name| name != "ip_vs");
    if names.first().map(String::as_str) != Some("ip_vs") {
        bail!("step `modules`: no ip_vs.ko in {}", ipvs_dir.display());
    }

    let mut load_order: Vec<PathBuf> = Vec::new();
    let cluster = CLUSTER_MODULES.iter().map(|name| (*name).to_owned());
    for name in names.iter().cloned().chain(cluster) {
        let out = Command::new("modprobe")
            .arg("-d")
            .arg(&kernel.root)
            .arg("-S")
            .arg(&kernel.release)
            .args(["--show-depends", &name])
            .output()
            .with_context(|| format!("step `modules`: running modprobe --show-depends {name}"))?;
        if !out.status.success() {
            bail!(
                "step `modules`: modprobe --show-depends {name} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Some(path) = line.trim().strip_prefix("insmod ") else {
                continue; // builtin modules need nothing
            };
            let path = Path::new(path.trim());
            let relative = path.strip_prefix(&modules_dir).with_context(|| {
                format!(
                    "step `modules`: {} is outside {}",
                    path.display(),
                    modules_dir.display()
                )
            })?;
            if !load_order.iter().any(|known| known == relative) {
                load_order.push(relative.to_owned());
            }
        }
    }
    let schedulers = names
        .iter()
        .filter_map(|name| name.strip_prefix("ip_vs_"))
        .filter(|name| !name.starts_with("pe_"))
        .map(str::to_owned)
        .collect();
    Ok(ModulePlan {
        load_order,
        schedulers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_dependency_is_the_image_package() {
        let text = "linux-image-cloud-amd64\n  Depends: linux-image-6.1.0-56-cloud-amd64\n";
        assert_eq!(
            parse_kernel_dependency(text).as_deref(),
            Some("linux-image-6.1.0-56-cloud-amd64")
        );
    }

    #[test]
    fn virtual_and_other_dependencies_are_ignored() {
        let text =
            "linux-image-cloud-amd64\n  Depends: <linux-image-x>\n  Depends: initramfs-tools\n";
        assert_eq!(parse_kernel_dependency(text), None);
    }
}
