//! Small helpers shared by the tasks: running commands loudly, the workspace root,
//! installing Debian packages that are missing.
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// Runs `cmd`, echoing it first, and fails with the step's name when it fails.
pub fn run_step(step: &str, cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: [{step}] {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("step `{step}`: could not start {cmd:?}"))?;
    if !status.success() {
        bail!("step `{step}` failed ({status})");
    }
    Ok(())
}

/// A `cargo` command run from the workspace root.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root());
    cmd
}

/// Installs the Debian packages among `packages` that are not installed yet.
///
/// CI starts from a fresh machine, so every tool the tests use is installed here
/// rather than assumed. Nothing is run when everything is present.
pub fn ensure_debian_packages(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|pkg| !debian_package_installed(pkg))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    let sudo = !is_root();
    let apt = |args: &[&str]| {
        let mut cmd = if sudo {
            let mut cmd = Command::new("sudo");
            cmd.arg("apt-get");
            cmd
        } else {
            Command::new("apt-get")
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    // The package lists of a fresh machine may be stale or absent.
    run_step(
        "apt-get update",
        apt(&["update", "-q"]).arg("-o=Dpkg::Use-Pty=0"),
    )?;
    run_step(
        "apt-get install",
        apt(&["install", "-y", "-q", "--no-install-recommends"]).args(&missing),
    )
    .with_context(|| format!("installing the Debian packages {}", missing.join(" ")))
}

fn debian_package_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|out| {
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("install ok installed")
        })
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}
