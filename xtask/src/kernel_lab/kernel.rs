//! The guest kernel: Debian's cloud kernel, fetched once into a cache, and the
//! IPVS modules it needs in the order `insmod` must load them.
use std::fmt;
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

/// Which kernel the lab boots (`--kernel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelChoice {
    /// The version of `linux-image-cloud-amd64` the apt lists name as candidate:
    /// CI follows the archive.
    Candidate,
    /// A version of `linux-image-cloud-amd64`: exact (`6.1.172-1`) or its upstream
    /// part (`6.1.172`), as `apt-cache madison` lists it, or one already in the cache.
    Version(String),
    /// A `linux-image-*.deb` file (a kernel the archive no longer offers).
    Deb(PathBuf),
}

impl KernelChoice {
    /// `--kernel VALUE`: a path when it names a `.deb`, a version otherwise.
    pub fn parse(value: &str) -> Self {
        if value.ends_with(".deb") {
            KernelChoice::Deb(PathBuf::from(value))
        } else {
            KernelChoice::Version(value.to_owned())
        }
    }
}

/// One kernel image package: `linux-image-6.1.0-48-cloud-amd64` at `6.1.172-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelPackage {
    pub name: String,
    pub version: String,
}

impl KernelPackage {
    /// The kernel release the package installs (`6.1.0-48-cloud-amd64`).
    fn release(&self) -> anyhow::Result<String> {
        self.name
            .strip_prefix("linux-image-")
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "step `kernel`: unexpected kernel package name `{}`",
                    self.name
                )
            })
    }

    /// The cache directory of this package and version.
    fn cache_dir(&self, cache: &Path) -> PathBuf {
        cache.join(format!("{}_{}", self.name, self.version))
    }
}

impl fmt::Display for KernelPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// A kernel unpacked in the cache, ready to boot.
#[derive(Debug)]
pub struct Kernel {
    /// The image package and its version, e.g. `linux-image-6.1.0-48-cloud-amd64 6.1.172-1`.
    pub package: KernelPackage,
    /// Kernel release, e.g. `6.1.0-48-cloud-amd64`.
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

/// The versions of `linux-image-cloud-amd64` the apt lists offer, newest first
/// (`apt-cache madison`), running `apt-get update` once if they know none.
pub fn archive_versions() -> anyhow::Result<Vec<String>> {
    let versions = madison_versions()?;
    if !versions.is_empty() {
        return Ok(versions);
    }
    apt_get_update()?;
    let versions = madison_versions()?;
    if versions.is_empty() {
        bail!("step `kernel`: apt-cache madison lists no version of {KERNEL_META_PACKAGE}");
    }
    Ok(versions)
}

/// Resolves `choice` to a package and makes sure it is downloaded (or taken from
/// the given file), unpacked and `depmod`-ed under `cache`.
pub fn ensure_kernel(cache: &Path, choice: &KernelChoice) -> anyhow::Result<Kernel> {
    let (package, deb) = match choice {
        KernelChoice::Deb(path) => (deb_package(path)?, Some(path.clone())),
        KernelChoice::Candidate => (candidate_package()?, None),
        KernelChoice::Version(version) => (version_package(cache, version)?, None),
    };
    let release = package.release()?;
    let dir = package.cache_dir(cache);
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
        let deb = match deb {
            Some(deb) => deb,
            None => {
                run_step(
                    "kernel download",
                    Command::new("apt-get")
                        .args(["download", "-q", "-o", "APT::Sandbox::User=root"])
                        .arg(format!("{}={}", package.name, package.version))
                        .current_dir(&dir),
                )?;
                find_deb(&dir, &package.name)?
            }
        };
        run_step(
            "kernel unpack",
            Command::new("dpkg").arg("-x").arg(&deb).arg(&root),
        )?;
        if deb.starts_with(&dir) {
            fs::remove_file(&deb).with_context(|| format!("removing {}", deb.display()))?;
        }
        // The package ships no modules.dep: build it so modprobe can order modules.
        run_step(
            "kernel depmod",
            Command::new("depmod").arg("-b").arg(&root).arg(&release),
        )?;
        fs::write(&stamp, format!("{}\n{}\n", package.name, package.version))
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
        package,
        release,
        root,
        vmlinuz,
    })
}

/// The candidate version of `linux-image-cloud-amd64` and the image it depends on,
/// running `apt-get update` once if the lists do not know the package yet.
fn candidate_package() -> anyhow::Result<KernelPackage> {
    let version = match candidate_version()? {
        Some(version) => version,
        None => {
            apt_get_update()?;
            candidate_version()?.with_context(|| {
                format!(
                    "step `kernel`: apt-cache policy names no candidate of {KERNEL_META_PACKAGE}"
                )
            })?
        }
    };
    image_of_meta_version(&version)
}

/// A chosen version: in the apt lists (exact, or the newest whose upstream part
/// matches), else a package of that version already in the cache.
fn version_package(cache: &Path, wanted: &str) -> anyhow::Result<KernelPackage> {
    let listed = madison_versions()?;
    if let Some(version) = match_version(&listed, wanted) {
        return image_of_meta_version(&version);
    }
    let cached = cached_packages(cache);
    let cached_versions: Vec<String> = cached.iter().map(|p| p.version.clone()).collect();
    if let Some(version) = match_version(&cached_versions, wanted)
        && let Some(package) = cached.into_iter().find(|p| p.version == version)
    {
        return Ok(package);
    }
    bail!(
        "step `kernel`: no version `{wanted}` of {KERNEL_META_PACKAGE}: the apt lists offer {} and the cache holds {} (a .deb file can be given as --kernel PATH.deb)",
        list_or_none(&listed),
        list_or_none(&cached_versions)
    )
}

fn list_or_none(versions: &[String]) -> String {
    if versions.is_empty() {
        "none".to_owned()
    } else {
        versions.join(", ")
    }
}

/// `wanted` among `versions`: the exact version, or the first (newest) whose
/// upstream part (before the Debian revision) equals it.
fn match_version(versions: &[String], wanted: &str) -> Option<String> {
    versions
        .iter()
        .find(|v| *v == wanted)
        .or_else(|| {
            versions.iter().find(|v| {
                v.split_once('-')
                    .is_some_and(|(upstream, _)| upstream == wanted)
            })
        })
        .cloned()
}

/// Packages unpacked completely in the cache (their `complete` stamp names them).
fn cached_packages(cache: &Path) -> Vec<KernelPackage> {
    let Ok(entries) = fs::read_dir(cache) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| fs::read_to_string(entry.path().join("complete")).ok())
        .filter_map(|stamp| {
            let mut lines = stamp.lines();
            Some(KernelPackage {
                name: lines.next()?.to_owned(),
                version: lines.next()?.to_owned(),
            })
        })
        .collect()
}

/// The image package and version inside a `.deb` file.
fn deb_package(path: &Path) -> anyhow::Result<KernelPackage> {
    let out = Command::new("dpkg-deb")
        .arg("--field")
        .arg(path)
        .args(["Package", "Version"])
        .output()
        .with_context(|| format!("step `kernel`: running dpkg-deb --field {}", path.display()))?;
    if !out.status.success() {
        bail!(
            "step `kernel`: {} is not a readable .deb: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
            .map(str::to_owned)
    };
    match (field("Package"), field("Version")) {
        (Some(name), Some(version)) if name.starts_with("linux-image-") => {
            Ok(KernelPackage { name, version })
        }
        (name, _) => bail!(
            "step `kernel`: {} is not a linux-image package (Package: {})",
            path.display(),
            name.unwrap_or_default()
        ),
    }
}

fn apt_get_update() -> anyhow::Result<()> {
    run_step(
        "apt-get update",
        Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn apt_cache(args: &[&str]) -> anyhow::Result<Option<String>> {
    let out = Command::new("apt-cache")
        .args(args)
        .output()
        .with_context(|| format!("running apt-cache {}", args.join(" ")))?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn candidate_version() -> anyhow::Result<Option<String>> {
    Ok(apt_cache(&["policy", KERNEL_META_PACKAGE])?
        .as_deref()
        .and_then(parse_candidate))
}

fn madison_versions() -> anyhow::Result<Vec<String>> {
    Ok(apt_cache(&["madison", KERNEL_META_PACKAGE])?
        .as_deref()
        .map(parse_madison)
        .unwrap_or_default())
}

/// `linux-image-cloud-amd64=VERSION` → the image package it depends on.
fn image_of_meta_version(version: &str) -> anyhow::Result<KernelPackage> {
    let text =
        apt_cache(&["show", &format!("{KERNEL_META_PACKAGE}={version}")])?.with_context(|| {
            format!("step `kernel`: apt-cache show {KERNEL_META_PACKAGE}={version} failed")
        })?;
    let name = parse_image_dependency(&text).with_context(|| {
        format!(
            "step `kernel`: {KERNEL_META_PACKAGE} {version} depends on no linux-image-* package"
        )
    })?;
    Ok(KernelPackage {
        name,
        version: version.to_owned(),
    })
}

/// `Candidate: 6.1.172-1` out of `apt-cache policy`.
fn parse_candidate(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "(none)")
        .map(str::to_owned)
}

/// The versions of `apt-cache madison` lines (`pkg | version | source`), in
/// order and without repeats.
fn parse_madison(text: &str) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split('|').map(str::trim);
        if fields.next() != Some(KERNEL_META_PACKAGE) {
            continue;
        }
        if let Some(version) = fields.next().filter(|v| !v.is_empty())
            && !versions.iter().any(|known| known == version)
        {
            versions.push(version.to_owned());
        }
    }
    versions
}

/// The image package out of the `Depends:` field of `apt-cache show` (the first
/// stanza: `apt-cache show pkg=version` prints that version only).
fn parse_image_dependency(text: &str) -> Option<String> {
    let depends = text
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.strip_prefix("Depends:"))?;
    depends
        .split(',')
        .map(|dep| dep.split_whitespace().next().unwrap_or(""))
        .find(|name| name.starts_with("linux-image-"))
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
    fn the_candidate_comes_from_apt_cache_policy() {
        let text = "linux-image-cloud-amd64:\n  Installed: (none)\n  Candidate: 6.1.172-1\n  Version table:\n     6.1.172-1 500\n";
        assert_eq!(parse_candidate(text).as_deref(), Some("6.1.172-1"));
        assert_eq!(parse_candidate("x:\n  Candidate: (none)\n"), None);
    }

    #[test]
    fn madison_lists_versions_in_order_once() {
        let text = "linux-image-cloud-amd64 |  6.1.192-3 | http://a bookworm-security/main amd64 Packages\n\
                    linux-image-cloud-amd64 |  6.1.176-1 | http://b bookworm/main amd64 Packages\n\
                    linux-image-cloud-amd64 |  6.1.176-1 | http://c bookworm/main Sources\n";
        assert_eq!(parse_madison(text), ["6.1.192-3", "6.1.176-1"]);
    }

    #[test]
    fn the_image_is_the_dependency_of_the_chosen_version() {
        let text = "Package: linux-image-cloud-amd64\nVersion: 6.1.172-1\nDepends: linux-image-6.1.0-48-cloud-amd64 (= 6.1.172-1)\n\nPackage: linux-image-cloud-amd64\nDepends: linux-image-6.1.0-47-cloud-amd64 (= 6.1.170-3)\n";
        assert_eq!(
            parse_image_dependency(text).as_deref(),
            Some("linux-image-6.1.0-48-cloud-amd64")
        );
    }

    #[test]
    fn versions_match_exactly_or_by_their_upstream_part() {
        let listed = ["6.1.192-3".to_owned(), "6.1.176-1".to_owned()];
        assert_eq!(
            match_version(&listed, "6.1.176-1").as_deref(),
            Some("6.1.176-1")
        );
        assert_eq!(
            match_version(&listed, "6.1.192").as_deref(),
            Some("6.1.192-3")
        );
        assert_eq!(match_version(&listed, "6.1.19"), None);
        assert_eq!(match_version(&listed, "6.1.172"), None);
    }

    #[test]
    fn a_deb_path_is_told_from_a_version() {
        assert_eq!(
            KernelChoice::parse("6.1.172"),
            KernelChoice::Version("6.1.172".into())
        );
        assert_eq!(
            KernelChoice::parse("/tmp/linux-image-x_1_amd64.deb"),
            KernelChoice::Deb("/tmp/linux-image-x_1_amd64.deb".into())
        );
    }
}
