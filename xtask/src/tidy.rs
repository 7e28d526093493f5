//! `cargo xtask tidy`: the workspace's architecture rules, checked from
//! `cargo metadata`, each failure naming the offending edge or file.
//!
//! - The serial half (a terminal that logs a power meter) and the IPVS half
//!   never depend on each other; only tooling (benches, xtask) sees both.
//! - Libraries (`crates/`) never depend on binaries (`bins/`).
//! - `tty` knows no meter and `hpm-frame` no device: neither depends on the other.
//! - Only `ipvs-proto` speaks the IPVS generic-netlink family, and only `lvs-net`
//!   the route family that changes addresses and routes (as normal dependencies:
//!   tests may parse captured bytes with the generic crates).
//! - The modules of the crates in `ACYCLIC` import no cycle (see
//!   `modgraph`: code names the module that defines an item).
//! - The functions of the crates in `SHORT_FUNCTIONS` stay within their
//!   limit of lines (see `fnlen`), so that none grows into a wall again.
//! - Every library has a README that its crate documentation includes (so its
//!   example compiles as a doctest) and an `examples/` directory.
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::util::cargo;

/// Which half of the project a workspace package belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Serial,
    Ipvs,
    /// Benchmarks and automation: allowed to see both halves.
    Tooling,
}

impl fmt::Display for Half {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Half::Serial => "serial",
            Half::Ipvs => "IPVS",
            Half::Tooling => "tooling",
        })
    }
}

/// The serial half by name; every `lvs*` package (lvsd, lvs-net, ...) and
/// these names are IPVS.
const SERIAL: &[&str] = &["tty", "hpm-frame", "com"];
const IPVS: &[&str] = &["sched", "ipvs-proto", "ipvsctl"];
const TOOLING: &[&str] = &["benches", "xtask"];

/// Packages that know nothing of each other, with the reason.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    ("tty", "hpm-frame", "tty knows no meter"),
    ("hpm-frame", "tty", "hpm-frame knows no device"),
];

/// External crates only one workspace package may depend on (normal
/// dependencies), with the reason.
const SOLE_USERS: &[(&str, &str, &str)] = &[
    (
        "netlink-packet-generic",
        "ipvs-proto",
        "only ipvs-proto speaks the IPVS generic-netlink family",
    ),
    (
        "netlink-packet-route",
        "lvs-net",
        "only lvs-net changes addresses, links and routes",
    ),
    (
        "rtnetlink",
        "lvs-net",
        "only lvs-net changes addresses, links and routes",
    ),
];

/// Crates whose modules must not import each other in a cycle.
const ACYCLIC: &[&str] = &["ipvs-proto", "ipvsctl"];

/// Crates whose functions (in `src/`) must not be longer than the limit.
const SHORT_FUNCTIONS: &[(&str, usize)] = &[("ipvsctl", 80)];

fn half_of(name: &str) -> Option<Half> {
    if SERIAL.contains(&name) {
        Some(Half::Serial)
    } else if IPVS.contains(&name) || name.starts_with("lvs") {
        Some(Half::Ipvs)
    } else if TOOLING.contains(&name) {
        Some(Half::Tooling)
    } else {
        None
    }
}

/// One dependency edge as `cargo metadata` states it.
#[derive(Debug, Clone)]
struct Dependency {
    name: String,
    /// `normal`, `dev` or `build`.
    kind: String,
}

/// A workspace package, as far as the rules need it.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    /// The directory of its `Cargo.toml`.
    dir: PathBuf,
    /// Whether it has a library target.
    is_lib: bool,
    dependencies: Vec<Dependency>,
}

/// The workspace as `cargo metadata --no-deps` describes it.
#[derive(Debug, Clone)]
struct Workspace {
    root: PathBuf,
    packages: Vec<Package>,
}

impl Workspace {
    fn from_metadata(json: &Value) -> anyhow::Result<Self> {
        let root = PathBuf::from(
            json["workspace_root"]
                .as_str()
                .context("cargo metadata has no workspace_root")?,
        );
        let mut packages = Vec::new();
        for pkg in json["packages"].as_array().context("no packages")? {
            let name = pkg["name"].as_str().context("a package has no name")?;
            let manifest = pkg["manifest_path"]
                .as_str()
                .with_context(|| format!("{name} has no manifest_path"))?;
            let is_lib = pkg["targets"].as_array().is_some_and(|targets| {
                targets.iter().any(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "lib"))
                })
            });
            let dependencies = pkg["dependencies"]
                .as_array()
                .map(|deps| {
                    deps.iter()
                        .filter_map(|d| {
                            Some(Dependency {
                                name: d["name"].as_str()?.to_owned(),
                                kind: d["kind"].as_str().unwrap_or("normal").to_owned(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            packages.push(Package {
                name: name.to_owned(),
                dir: Path::new(manifest)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                is_lib,
                dependencies,
            });
        }
        Ok(Workspace { root, packages })
    }

    fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// `crates/tty`, for messages.
    fn relative<'a>(&self, pkg: &'a Package) -> std::borrow::Cow<'a, str> {
        pkg.dir
            .strip_prefix(&self.root)
            .unwrap_or(&pkg.dir)
            .to_string_lossy()
    }

    fn is_library_crate(&self, pkg: &Package) -> bool {
        pkg.is_lib && pkg.dir.starts_with(self.root.join("crates"))
    }

    fn is_binary_crate(&self, pkg: &Package) -> bool {
        pkg.dir.starts_with(self.root.join("bins"))
    }
}

/// Every broken rule, one line each; empty when the workspace is tidy.
fn violations(ws: &Workspace) -> Vec<String> {
    let mut found = Vec::new();
    let halves: BTreeMap<&str, Half> = ws
        .packages
        .iter()
        .filter_map(|p| half_of(&p.name).map(|h| (p.name.as_str(), h)))
        .collect();
    for pkg in &ws.packages {
        let at = ws.relative(pkg);
        let Some(&half) = halves.get(pkg.name.as_str()) else {
            found.push(format!(
                "{at} ({}) belongs to no half: name it in xtask/src/tidy.rs (SERIAL, IPVS or TOOLING)",
                pkg.name
            ));
            continue;
        };
        for dep in &pkg.dependencies {
            let edge = format!(
                "{at} ({}) -> {} ({} dependency)",
                pkg.name, dep.name, dep.kind
            );
            if let Some(target) = ws.package(&dep.name) {
                let other = halves.get(dep.name.as_str()).copied();
                if let Some(other) = other
                    && half != Half::Tooling
                    && other != Half::Tooling
                    && other != half
                {
                    found.push(format!(
                        "{edge}: the {half} half depends on the {other} half (they meet only in the README)"
                    ));
                }
                if ws.is_library_crate(pkg) && ws.is_binary_crate(target) {
                    found.push(format!("{edge}: a library depends on a binary"));
                }
            }
            if let Some((_, _, why)) = FORBIDDEN
                .iter()
                .find(|(from, to, _)| *from == pkg.name && *to == dep.name)
            {
                found.push(format!("{edge}: {why}"));
            }
            if dep.kind == "normal"
                && let Some((_, _, why)) = SOLE_USERS
                    .iter()
                    .find(|(krate, owner, _)| *krate == dep.name && *owner != pkg.name)
            {
                found.push(format!("{edge}: {why}"));
            }
        }
        if ws.is_library_crate(pkg) {
            found.extend(library_files(&at, pkg));
        }
        if let Some(&(_, limit)) = SHORT_FUNCTIONS.iter().find(|(name, _)| *name == pkg.name) {
            match crate::fnlen::longer_than(&pkg.dir.join("src"), limit) {
                Ok(long) => found.extend(long.into_iter().map(|f| {
                    format!(
                        "{at}/src/{}:{}: fn {} is {} lines (at most {limit})",
                        f.file, f.line, f.name, f.lines
                    )
                })),
                Err(e) => found.push(format!("{at}/src: {e}")),
            }
        }
        if ACYCLIC.contains(&pkg.name.as_str()) {
            match crate::modgraph::cycles(&pkg.dir.join("src")) {
                Ok(cycles) => found.extend(
                    cycles
                        .into_iter()
                        .map(|cycle| format!("{at}/src: module import cycle {cycle}")),
                ),
                Err(e) => found.push(format!("{at}/src: {e}")),
            }
        }
    }
    found
}

/// A library's README, included by its crate root, and its examples.
fn library_files(at: &str, pkg: &Package) -> Vec<String> {
    let mut found = Vec::new();
    if !pkg.dir.join("README.md").is_file() {
        found.push(format!("{at}: no README.md"));
    }
    let lib = pkg.dir.join("src/lib.rs");
    match fs::read_to_string(&lib) {
        Ok(text) if text.contains("include_str!(\"../README.md\")") => {}
        Ok(_) => found.push(format!(
            "{at}/src/lib.rs does not include README.md (#[doc = include_str!(\"../README.md\")] under cfg(doctest)), so its example is not compiled"
        )),
        Err(e) => found.push(format!("{at}/src/lib.rs: {e}")),
    }
    let has_example = fs::read_dir(pkg.dir.join("examples")).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "rs") || e.path().is_dir())
    });
    if !has_example {
        found.push(format!(
            "{at}: no examples/ (a library shows its use there)"
        ));
    }
    found
}

/// Runs the check on this workspace.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask tidy` takes no arguments (got `{arg}`)");
    }
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let json: Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let ws = Workspace::from_metadata(&json)?;
    let found = violations(&ws);
    for line in &found {
        eprintln!("tidy: {line}");
    }
    if !found.is_empty() {
        bail!("step `tidy`: {} architecture rule(s) broken", found.len());
    }
    eprintln!(
        "xtask: tidy: {} packages follow the architecture rules",
        ws.packages.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This workspace, read by the real `cargo metadata`.
    fn this_workspace() -> Workspace {
        let out = cargo()
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .expect("cargo metadata");
        assert!(out.status.success());
        Workspace::from_metadata(&serde_json::from_slice(&out.stdout).expect("json"))
            .expect("metadata")
    }

    fn add_dependency(ws: &mut Workspace, from: &str, to: &str, kind: &str) {
        ws.packages
            .iter_mut()
            .find(|p| p.name == from)
            .unwrap_or_else(|| panic!("no package {from}"))
            .dependencies
            .push(Dependency {
                name: to.to_owned(),
                kind: kind.to_owned(),
            });
    }

    #[test]
    fn this_workspace_is_tidy() {
        let found = violations(&this_workspace());
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn an_edge_between_the_halves_is_named() {
        let mut ws = this_workspace();
        add_dependency(&mut ws, "com", "sched", "normal");
        assert_eq!(
            violations(&ws),
            [
                "bins/com (com) -> sched (normal dependency): the serial half depends on the IPVS half (they meet only in the README)"
            ]
        );
    }

    #[test]
    fn tty_and_hpm_frame_stay_apart() {
        let mut ws = this_workspace();
        add_dependency(&mut ws, "tty", "hpm-frame", "dev");
        assert_eq!(
            violations(&ws),
            ["crates/tty (tty) -> hpm-frame (dev dependency): tty knows no meter"]
        );
    }

    #[test]
    fn a_library_depending_on_a_binary_is_named() {
        let mut ws = this_workspace();
        add_dependency(&mut ws, "ipvs-proto", "ipvsctl", "normal");
        assert_eq!(
            violations(&ws),
            [
                "crates/ipvs-proto (ipvs-proto) -> ipvsctl (normal dependency): a library depends on a binary"
            ]
        );
    }

    #[test]
    fn only_ipvs_proto_speaks_generic_netlink() {
        let mut ws = this_workspace();
        add_dependency(&mut ws, "sched", "netlink-packet-generic", "normal");
        assert_eq!(
            violations(&ws),
            [
                "crates/sched (sched) -> netlink-packet-generic (normal dependency): only ipvs-proto speaks the IPVS generic-netlink family"
            ]
        );
        // Tests may parse captured bytes with it.
        let mut ws = this_workspace();
        add_dependency(&mut ws, "sched", "netlink-packet-generic", "dev");
        assert!(violations(&ws).is_empty());
    }

    #[test]
    fn a_package_of_no_half_is_named() {
        let mut ws = this_workspace();
        let mut stray = ws.packages[0].clone();
        stray.name = "stray".into();
        stray.dependencies.clear();
        stray.is_lib = false;
        ws.packages.push(stray);
        let found = violations(&ws);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].contains("(stray) belongs to no half"),
            "{found:#?}"
        );
    }
}
