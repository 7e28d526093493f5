//! Guest suites: the workspace's integration test targets named `kernel` or
//! `kernel_*`, built on the host and run inside the VM with `--ignored`.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::util::cargo;

/// One integration test target that runs in the guest.
#[derive(Debug, Clone)]
pub struct Suite {
    pub package: String,
    pub target: String,
    /// The package's directory (the test's working directory, as under `cargo test`).
    pub manifest_dir: PathBuf,
    /// Other workspace packages whose binaries the suite runs, from the
    /// package's `[package.metadata.kernel-lab] bins = [...]`: built with the
    /// suites and put into the guest beside the package's own, in the same
    /// directory as `CARGO_BIN_EXE_<name>`.
    pub bin_packages: Vec<String>,
    /// Whether the suite runs its package's examples, from the package's
    /// `[package.metadata.kernel-lab] examples = true`: built with the
    /// suites, put into the guest at their host paths, their directory named
    /// by `KERNEL_LAB_EXAMPLES`.
    pub examples: bool,
    /// Set by [`build`]: the test executable.
    pub executable: Option<PathBuf>,
}

impl Suite {
    /// `package/target`, the name the lab prints.
    pub fn name(&self) -> String {
        format!("{}/{}", self.package, self.target)
    }
}

/// Whether an integration test target is a guest suite.
pub fn is_guest_suite(target_name: &str) -> bool {
    target_name == "kernel" || target_name.starts_with("kernel_")
}

/// The workspace's target directory and every guest suite in it.
#[derive(Debug)]
pub struct Workspace {
    pub target_dir: PathBuf,
    pub suites: Vec<Suite>,
}

/// Reads `cargo metadata` for the target directory and the guest suites.
pub fn discover() -> anyhow::Result<Workspace> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .context("step `suites`: running cargo metadata")?;
    if !out.status.success() {
        bail!("step `suites`: cargo metadata failed ({})", out.status);
    }
    let meta: Value =
        serde_json::from_slice(&out.stdout).context("step `suites`: parsing cargo metadata")?;
    let target_dir = meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("step `suites`: cargo metadata has no target_directory")?;
    let mut suites = Vec::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let bin_packages: Vec<String> = package["metadata"]["kernel-lab"]["bins"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b.as_str().map(str::to_owned))
            .collect();
        let examples = package["metadata"]["kernel-lab"]["examples"] == true;
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_test = target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "test"));
            let target_name = target["name"].as_str().unwrap_or_default();
            if is_test && is_guest_suite(target_name) {
                suites.push(Suite {
                    package: name.to_owned(),
                    target: target_name.to_owned(),
                    manifest_dir: manifest.parent().map(PathBuf::from).unwrap_or_default(),
                    bin_packages: bin_packages.clone(),
                    examples,
                    executable: None,
                });
            }
        }
    }
    suites.sort_by_key(Suite::name);
    Ok(Workspace { target_dir, suites })
}

/// What the build produced: the suites with their executables, and the
/// workspace binaries built alongside (`CARGO_BIN_EXE_*` points at these paths)
/// with the examples the suites run (their directory in `examples_dir`).
#[derive(Debug)]
pub struct Built {
    pub suites: Vec<Suite>,
    pub bins: Vec<PathBuf>,
    pub examples_dir: Option<PathBuf>,
}

/// The guest suites are built as ipvsctl is shipped (its README, "Building
/// for production"): the release profile, for `x86_64-unknown-linux-gnu`
/// as static, position-dependent executables (`-C target-feature=+crt-static
/// -C relocation-model=static`), so the ipvsctl binary the suites run
/// (`CARGO_BIN_EXE_ipvsctl`) is the one the timed comparison with ipvsadm is
/// about. Under emulation that matters: a dynamically linked program spends
/// about 35 ms in the loader before `main`, a static PIE about 25 ms
/// relocating itself, a static non-PIE executable about 4 ms; and the tests'
/// own work (encoding, parsing, comparing tens of thousands of entries) costs
/// as much as the kernel's. The explicit target keeps the flags off build
/// scripts and proc macros, and the artifacts apart from the host's.
const GUEST_PROFILE: &[&str] = &[
    "build.target=\"x86_64-unknown-linux-gnu\"",
    "target.x86_64-unknown-linux-gnu.rustflags=[\"-C\",\"target-feature=+crt-static\",\"-C\",\"relocation-model=static\"]",
    // The libc crate (0.2.191 here) links glibc's termios speed functions by
    // their original symbol versions (`cfsetspeed@GLIBC_2.2.5`, ...), which a
    // static glibc does not name: alias them to the one version glibc 2.36 has
    // (com's simulated meter calls nix's `cfsetspeed`). Cargo appends these
    // flags to the ones above.
    concat!(
        r#"target.x86_64-unknown-linux-gnu.rustflags=["-C","link-arg=-Wl"#,
        r#",--defsym=\"cfgetispeed@GLIBC_2.2.5\"=cfgetispeed"#,
        r#",--defsym=\"cfgetospeed@GLIBC_2.2.5\"=cfgetospeed"#,
        r#",--defsym=\"cfsetispeed@GLIBC_2.2.5\"=cfsetispeed"#,
        r#",--defsym=\"cfsetospeed@GLIBC_2.2.5\"=cfsetospeed"#,
        r#",--defsym=\"cfsetspeed@GLIBC_2.2.5\"=cfsetspeed"]"#,
    ),
];

/// `cargo test --no-run` for the chosen suites; executables from cargo's JSON.
pub fn build(suites: &[Suite]) -> anyhow::Result<Built> {
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--no-run",
        "--release",
        "--message-format=json-render-diagnostics",
    ]);
    for setting in GUEST_PROFILE {
        cmd.args(["--config", setting]);
    }
    let mut packages: Vec<&str> = suites.iter().map(|s| s.package.as_str()).collect();
    packages.dedup();
    for package in packages {
        cmd.args(["-p", package]);
    }
    let mut targets: Vec<&str> = suites.iter().map(|s| s.target.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    for target in targets {
        cmd.args(["--test", target]);
    }
    eprintln!("xtask: [build guest suites] {cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("step `build guest suites`: could not start cargo")?;
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let mut tests: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    let mut bins = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let kinds = &msg["target"]["kind"];
        let has_kind = |k: &str| kinds.as_array().is_some_and(|ks| ks.iter().any(|x| x == k));
        let target = msg["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if has_kind("test") {
            let package = package_name(msg["package_id"].as_str().unwrap_or_default());
            tests.insert((package, target), PathBuf::from(exe));
        } else if has_kind("bin") {
            bins.push(PathBuf::from(exe));
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("step `build guest suites` failed ({status})");
    }
    let mut extra: Vec<&str> = suites
        .iter()
        .flat_map(|s| s.bin_packages.iter().map(String::as_str))
        .collect();
    extra.sort_unstable();
    extra.dedup();
    if !extra.is_empty() {
        bins.extend(build_targets(&extra, Kind::Bin)?);
    }
    let mut with_examples: Vec<&str> = suites
        .iter()
        .filter(|s| s.examples)
        .map(|s| s.package.as_str())
        .collect();
    with_examples.dedup();
    let mut examples_dir = None;
    if !with_examples.is_empty() {
        let examples = build_targets(&with_examples, Kind::Example)?;
        examples_dir = examples.first().and_then(|e| e.parent()).map(PathBuf::from);
        bins.extend(examples);
    }
    let mut built = Vec::new();
    for suite in suites {
        let key = (suite.package.clone(), suite.target.clone());
        let exe = tests.get(&key).with_context(|| {
            format!(
                "step `build guest suites`: cargo reported no executable for {}",
                suite.name()
            )
        })?;
        built.push(Suite {
            executable: Some(exe.clone()),
            ..suite.clone()
        });
    }
    Ok(Built {
        suites: built,
        bins,
        examples_dir,
    })
}

/// What [`build_targets`] builds of a package.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Bin,
    Example,
}

/// `cargo build --bins` (or `--examples`) of `packages` with the guest
/// profile: the binaries suites declare they run besides their own
/// package's, or the examples of the packages whose suites run them.
fn build_targets(packages: &[&str], kind: Kind) -> anyhow::Result<Vec<PathBuf>> {
    let (flag, kind_name, what) = match kind {
        Kind::Bin => ("--bins", "bin", "binaries"),
        Kind::Example => ("--examples", "example", "examples"),
    };
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--release",
        flag,
        "--message-format=json-render-diagnostics",
    ]);
    for setting in GUEST_PROFILE {
        cmd.args(["--config", setting]);
    }
    for package in packages {
        cmd.args(["-p", package]);
    }
    eprintln!("xtask: [build guest suites] {cmd:?}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("step `build guest suites`: could not start cargo")?;
    if !out.status.success() {
        bail!(
            "step `build guest suites`: building the {what} of {packages:?} failed ({})",
            out.status
        );
    }
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let is_kind = msg["target"]["kind"]
            .as_array()
            .is_some_and(|ks| ks.iter().any(|k| k == kind_name));
        if msg["reason"] == "compiler-artifact"
            && is_kind
            && let Some(exe) = msg["executable"].as_str()
        {
            bins.push(PathBuf::from(exe));
        }
    }
    Ok(bins)
}

/// The package name inside a cargo package id, in either of its formats:
/// `path+file:///dir#name@0.1.0`, `path+file:///dir/name#0.1.0` or the old
/// `name 0.1.0 (path+file:///dir)`.
fn package_name(id: &str) -> String {
    if let Some((before, after)) = id.split_once('#') {
        if let Some((name, _version)) = after.split_once('@') {
            return name.to_owned();
        }
        return before.rsplit('/').next().unwrap_or(before).to_owned();
    }
    id.split_whitespace().next().unwrap_or(id).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_come_out_of_every_id_format() {
        assert_eq!(
            package_name("path+file:///work/main/crates/ipvs-proto#0.1.0"),
            "ipvs-proto"
        );
        assert_eq!(
            package_name("path+file:///work/main/crates/x#ipvs-proto@0.1.0"),
            "ipvs-proto"
        );
        assert_eq!(
            package_name("sched 0.1.0 (path+file:///work/main/crates/sched)"),
            "sched"
        );
    }

    #[test]
    fn only_kernel_targets_are_guest_suites() {
        assert!(is_guest_suite("kernel"));
        assert!(is_guest_suite("kernel_diff"));
        assert!(!is_guest_suite("kernelish"));
        assert!(!is_guest_suite("cli"));
    }
}
