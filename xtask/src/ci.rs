//! `cargo xtask ci`: every check a submission must pass, in the order CI runs them.
use anyhow::Context;

use crate::util::{cargo, ensure_debian_packages, run_step, workspace_root};

/// Debian packages the host-side tests use (pseudo-terminal bridging is compared
/// with socat; the interactive terminal tests drive `com` inside tmux; the
/// agent-check interop test runs HAProxy against `lvs-agent serve`; com's time
/// zone tests read the tz database; lvs-agent's systemd unit is checked with
/// systemd-analyze; lvsd's `/metrics` text is read back by promtool, from
/// `prometheus`; `com plot` draws its text with DejaVu Sans).
const HOST_TEST_PACKAGES: &[&str] = &[
    "tmux",
    "socat",
    "haproxy",
    "tzdata",
    "systemd",
    "prometheus",
    "fonts-dejavu-core",
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        anyhow::bail!("`cargo xtask ci` takes no arguments (got `{arg}`)");
    }
    eprintln!("xtask: [tidy] cargo xtask tidy");
    crate::tidy::run(&[]).context("step `tidy`")?;
    ensure_debian_packages(HOST_TEST_PACKAGES)?;

    run_step("fmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_step(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run_step("test", cargo().args(["test", "--workspace"]))?;
    // The workspace build turns tty's `bridge` feature on (com asks for it);
    // the crate must also stand without it.
    without_default_features("tty", false)?;
    // ipvs-proto's packet layer alone (its client layer is the default
    // feature `client`, which every user in the workspace turns on), its
    // doctests included (the client examples of its docs are compiled only
    // with the feature).
    without_default_features("ipvs-proto", true)?;
    // The guest suites against a real IPVS kernel. Every failure here (a package
    // that cannot be installed, a kernel that does not boot, a timeout, a failing
    // guest test) fails CI: never skipped.
    eprintln!("xtask: [kernel-lab] cargo xtask kernel-lab");
    crate::kernel_lab::run(&[]).context("step `kernel-lab`")?;
    run_step(
        "doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    run_step(
        "check benches",
        cargo().args(["check", "-p", "benches", "--benches"]),
    )?;
    let fuzz_manifest = workspace_root().join("fuzz/Cargo.toml");
    run_step(
        "check fuzz",
        cargo()
            .args(["check", "--bins", "--manifest-path"])
            .arg(&fuzz_manifest),
    )?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// Clippy and the tests of `package` without its default features, and with
/// `doc` its docs too: a crate whose users in the workspace all turn a
/// feature on must still build, pass and document without it.
fn without_default_features(package: &str, doc: bool) -> anyhow::Result<()> {
    run_step(
        &format!("{package} without default features"),
        cargo()
            .args([
                "clippy",
                "-p",
                package,
                "--no-default-features",
                "--all-targets",
            ])
            .args(["--", "-D", "warnings"]),
    )?;
    run_step(
        &format!("test {package} without default features"),
        cargo().args(["test", "-p", package, "--no-default-features"]),
    )?;
    if doc {
        run_step(
            &format!("doc {package} without default features"),
            cargo()
                .args(["doc", "-p", package, "--no-deps", "--no-default-features"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }
    Ok(())
}
