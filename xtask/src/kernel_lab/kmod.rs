//! Out-of-tree kernel modules (`kmod/*/`, each a Kbuild directory) built
//! against the lab kernel's own headers, for the guest suites named
//! `kernel_kmod*`.
//!
//! The headers are Debian's: `linux-headers-RELEASE`, its
//! `linux-headers-ABI-common` and `linux-kbuild-MAJOR.MINOR`, all at the
//! image's version, `apt-get download`ed and unpacked once into the cache.
//! The flavour's `Makefile` includes the common one by its absolute
//! `/usr/src/...` path; the unpacked copy is pointed at the cache instead.
//! Each module is built in a copy of its directory (the sources stay clean)
//! with the flavour's compiler (`gcc-12` for 6.1), and goes into the guest
//! image under `/lab/kmod/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::kernel::Kernel;
use super::suites::Suite;
use crate::util::{run_step, workspace_root};

/// The archive no longer serves the headers of the booted kernel (Debian's
/// security archive drops superseded headers while it still serves the
/// image): the modules cannot be built for it. The lab then runs the
/// `kernel_kmod*` suites on another kernel the lists offer
/// (`kernel_lab::run_lab`).
#[derive(Debug)]
pub struct HeadersUnavailable {
    pub release: String,
    pub version: String,
    cause: String,
}

impl std::fmt::Display for HeadersUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the headers of {} at {} are not in the apt archive: {}",
            self.release, self.version, self.cause
        )
    }
}

impl std::error::Error for HeadersUnavailable {}

/// Whether `suite` needs the modules.
pub fn needs_modules(suite: &Suite) -> bool {
    suite.target.starts_with("kernel_kmod")
}

/// Whether any chosen suite needs the modules.
pub fn wanted(suites: &[Suite]) -> bool {
    suites.iter().any(needs_modules)
}

/// `6.1.0-57-cloud-amd64` -> (`6.1.0-57`, `6.1`): the ABI name of the
/// common headers and the kbuild package's version.
fn abi_and_series(release: &str) -> Option<(String, String)> {
    let mut parts = release.splitn(3, '-');
    let version = parts.next()?;
    let abi = parts.next()?;
    let mut numbers = version.split('.');
    let series = format!("{}.{}", numbers.next()?, numbers.next()?);
    Some((format!("{version}-{abi}"), series))
}

/// The headers of `kernel`, unpacked under `cache`; returns the flavour's
/// headers directory (the `KDIR` of an out-of-tree build).
fn ensure_headers(cache: &Path, kernel: &Kernel) -> anyhow::Result<PathBuf> {
    let release = &kernel.release;
    let version = &kernel.package.version;
    let (abi, series) = abi_and_series(release)
        .with_context(|| format!("step `kmod headers`: unexpected kernel release {release}"))?;
    let dir = cache.join(format!("headers-{release}_{version}"));
    let root = dir.join("root");
    let kdir = root
        .join("usr/src")
        .join(format!("linux-headers-{release}"));
    let stamp = dir.join("complete");
    if stamp.exists() {
        return Ok(kdir);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir)
            .with_context(|| format!("removing the partial cache {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let packages = [
        format!("linux-headers-{release}"),
        format!("linux-headers-{abi}-common"),
        format!("linux-kbuild-{series}"),
    ];
    eprintln!(
        "xtask: kernel-lab: fetching {} at {version} into {}",
        packages.join(", "),
        dir.display()
    );
    run_step(
        "kmod headers download",
        Command::new("apt-get")
            .args(["download", "-q", "-o", "APT::Sandbox::User=root"])
            .args(packages.iter().map(|p| format!("{p}={version}")))
            .current_dir(&dir),
    )
    .map_err(|e| HeadersUnavailable {
        release: release.clone(),
        version: version.clone(),
        cause: format!("{e:#}"),
    })?;
    for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let deb = entry?.path();
        if deb.extension().is_some_and(|e| e == "deb") {
            run_step(
                "kmod headers unpack",
                Command::new("dpkg").arg("-x").arg(&deb).arg(&root),
            )?;
            fs::remove_file(&deb).with_context(|| format!("removing {}", deb.display()))?;
        }
    }
    // `include /usr/src/linux-headers-ABI-common/Makefile` -> the cache.
    let makefile = kdir.join("Makefile");
    let text = fs::read_to_string(&makefile)
        .with_context(|| format!("step `kmod headers`: reading {}", makefile.display()))?;
    let usr_src = root.join("usr/src");
    let text = text.replace("/usr/src/", &format!("{}/", usr_src.display()));
    fs::write(&makefile, text).with_context(|| format!("writing {}", makefile.display()))?;
    fs::write(&stamp, format!("{release}\n{version}\n"))
        .with_context(|| format!("writing {}", stamp.display()))?;
    Ok(kdir)
}

/// Builds every `kmod/NAME/` of the workspace against `kernel` and returns
/// the `.ko` files.
pub fn build(cache: &Path, kernel: &Kernel) -> anyhow::Result<Vec<PathBuf>> {
    let kdir = ensure_headers(cache, kernel)?;
    let sources = workspace_root().join("kmod");
    let mut names: Vec<String> = fs::read_dir(&sources)
        .with_context(|| format!("step `kmod`: listing {}", sources.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Makefile").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut built = Vec::new();
    for name in names {
        let from = sources.join(&name);
        let work = cache.join("kmod").join(&kernel.release).join(&name);
        fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        for entry in fs::read_dir(&from).with_context(|| format!("listing {}", from.display()))? {
            let path = entry?.path();
            let keep = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n == "Makefile" || n == "Kbuild" || n.ends_with(".c") || n.ends_with(".h")
            });
            if keep {
                let target = work.join(path.file_name().expect("a file name"));
                // Copied only when changed, so make sees the real times.
                let same = fs::read(&target).ok() == fs::read(&path).ok();
                if !same {
                    fs::copy(&path, &target).with_context(|| {
                        format!("copying {} to {}", path.display(), target.display())
                    })?;
                }
            }
        }
        run_step(
            &format!("kmod build {name}"),
            Command::new("make")
                .arg("-s")
                .arg("-C")
                .arg(&work)
                .arg(format!("KDIR={}", kdir.display())),
        )?;
        let ko = work.join(format!("{name}.ko"));
        if !ko.is_file() {
            bail!("step `kmod build {name}`: make left no {}", ko.display());
        }
        built.push(ko);
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_the_common_headers_and_kbuild() {
        assert_eq!(
            abi_and_series("6.1.0-57-cloud-amd64"),
            Some(("6.1.0-57".to_owned(), "6.1".to_owned()))
        );
        assert_eq!(abi_and_series("6"), None);
    }
}
