//! `cargo xtask kernel-lab`: the workspace's guest suites against a real Linux
//! IPVS kernel and the real `ipvsadm`, in a throw-away qemu VM.
//!
//! Steps: install the Debian packages, fetch and unpack Debian's cloud kernel into
//! a cache, order the IPVS modules, build the guest suites, pack an initramfs,
//! boot it under TCG, stream the console, and exit with the suites' status.
//! `docs/kernel-lab.md` explains how to use it.
use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util::ensure_debian_packages;

mod initramfs;
mod kernel;
mod suites;
mod vm;

/// What the lab needs on the host.
pub const PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "ipvsadm",
    "cpio",
    "kmod",
];

pub const HELP: &str = "\
cargo xtask kernel-lab [OPTIONS] [TEST-ARGS...] [-- TEST-ARGS...]

Boots Debian's cloud kernel with IPVS under qemu and runs the workspace's guest
suites (integration tests named `kernel` or `kernel_*`) there with `--ignored`.
Exits with the suites' status.

Options:
  -p, --package NAME  only the guest suites of package NAME (repeatable)
  --test NAME         only the guest suite (test target) NAME (repeatable)
  --list              list the guest suites and exit
  --shell             boot to a shell on the console instead of running the suites
                      (/lab/run-tests runs them; `exit` or Ctrl-A X leaves)
  --timeout SECS      kill the VM after SECS seconds (default 300)
  --cpus N            virtual CPUs (default 1)
  --memory MIB        guest memory (default 1024)
  --env NAME=VALUE    set an environment variable for the guest suites (repeatable)
  TEST-ARGS           passed to every test binary: a name filter, --exact,
                      --nocapture, --test-threads N, ...
";

/// The guest suites ran and failed: `cargo xtask` exits with their status.
#[derive(Debug)]
pub struct GuestTestsFailed {
    pub code: i32,
}

impl fmt::Display for GuestTestsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step `guest tests` failed: the guest suites exited with {}",
            self.code
        )
    }
}

impl std::error::Error for GuestTestsFailed {}

#[derive(Debug)]
struct Options {
    packages: Vec<String>,
    tests: Vec<String>,
    list: bool,
    shell: bool,
    timeout: Duration,
    cpus: u32,
    memory_mib: u32,
    env: Vec<(String, String)>,
    test_args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            packages: Vec::new(),
            tests: Vec::new(),
            list: false,
            shell: false,
            timeout: Duration::from_secs(300),
            cpus: 1,
            memory_mib: 1024,
            env: Vec::new(),
            test_args: Vec::new(),
        }
    }
}

fn parse_args(args: &[String]) -> anyhow::Result<Options> {
    let mut opts = Options::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .cloned()
                .with_context(|| format!("`{name}` needs a value"))
        };
        match arg.as_str() {
            "-p" | "--package" => opts.packages.push(value(arg)?),
            "--test" => opts.tests.push(value(arg)?),
            "--list" => opts.list = true,
            "--shell" => opts.shell = true,
            "--timeout" => {
                let v = value(arg)?;
                let secs: u64 = v
                    .parse()
                    .with_context(|| format!("--timeout takes whole seconds, not `{v}`"))?;
                opts.timeout = Duration::from_secs(secs);
            }
            "--cpus" => {
                let v = value(arg)?;
                opts.cpus = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--cpus takes a positive number, not `{v}`"))?;
            }
            "--memory" => {
                let v = value(arg)?;
                opts.memory_mib = v
                    .parse()
                    .ok()
                    .filter(|&n| n >= 128)
                    .with_context(|| format!("--memory takes MiB (at least 128), not `{v}`"))?;
            }
            "--env" => {
                let v = value(arg)?;
                let (name, val) = v
                    .split_once('=')
                    .filter(|(name, _)| is_env_name(name))
                    .with_context(|| format!("--env takes NAME=VALUE, not `{v}`"))?;
                opts.env.push((name.to_owned(), val.to_owned()));
            }
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            "--" => {
                opts.test_args.extend(iter.by_ref().cloned());
            }
            _ => opts.test_args.push(arg.clone()),
        }
    }
    Ok(opts)
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Runs the lab; `Err(GuestTestsFailed)` when the suites ran and failed.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let opts = parse_args(args)?;
    let started = Instant::now();

    let workspace = suites::discover()?;
    let chosen: Vec<suites::Suite> = workspace
        .suites
        .iter()
        .filter(|s| opts.packages.is_empty() || opts.packages.contains(&s.package))
        .filter(|s| opts.tests.is_empty() || opts.tests.contains(&s.target))
        .cloned()
        .collect();
    if opts.list {
        for suite in &workspace.suites {
            println!("{}", suite.name());
        }
        return Ok(());
    }
    if chosen.is_empty() && !opts.shell {
        bail!(
            "step `suites`: no guest suite matches (packages {:?}, tests {:?}); the workspace has: {}",
            opts.packages,
            opts.tests,
            workspace
                .suites
                .iter()
                .map(suites::Suite::name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    ensure_debian_packages(PACKAGES).context("step `packages`")?;
    let cache = workspace.target_dir.join("kernel-lab");
    let kernel = kernel::ensure_kernel(&cache)?;
    let modules = kernel::module_plan(&kernel)?;

    let built = if chosen.is_empty() {
        suites::Built {
            suites: Vec::new(),
            bins: Vec::new(),
        }
    } else {
        suites::build(&chosen)?
    };

    let image = cache.join("initramfs.cpio");
    let packed = Instant::now();
    initramfs::build(
        &initramfs::Contents {
            kernel: &kernel,
            modules: &modules,
            suites: &built.suites,
            bins: &built.bins,
            test_args: &opts.test_args,
            env: &opts.env,
        },
        &cache.join("initramfs"),
        &image,
    )
    .context("step `initramfs`")?;
    let size = std::fs::metadata(&image).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "xtask: kernel-lab: {} with {} module(s), suites [{}]: {:.1} MiB in {:.1} s",
        kernel.release,
        modules.load_order.len(),
        built
            .suites
            .iter()
            .map(suites::Suite::name)
            .collect::<Vec<_>>()
            .join(", "),
        size as f64 / (1024.0 * 1024.0),
        packed.elapsed().as_secs_f64()
    );

    let outcome = vm::run(&vm::Boot {
        vmlinuz: kernel.vmlinuz.clone(),
        initramfs: image,
        result_file: cache.join("result.txt"),
        memory_mib: opts.memory_mib,
        cpus: opts.cpus,
        shell: opts.shell,
        timeout: (!opts.shell).then_some(opts.timeout),
    })?;
    let vm::Outcome::Exited(code) = outcome;
    eprintln!(
        "xtask: kernel-lab: finished in {:.1} s (wall, from start), guest exit status {code}",
        started.elapsed().as_secs_f64()
    );
    if code != 0 {
        return Err(GuestTestsFailed { code }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_and_test_arguments_are_told_apart() {
        let opts = parse_args(&args(&[
            "-p",
            "ipvs-proto",
            "--test",
            "kernel",
            "dump",
            "--",
            "--exact",
            "--nocapture",
        ]))
        .unwrap();
        assert_eq!(opts.packages, ["ipvs-proto"]);
        assert_eq!(opts.tests, ["kernel"]);
        assert_eq!(opts.test_args, ["dump", "--exact", "--nocapture"]);
        assert!(!opts.shell);
    }

    #[test]
    fn bad_values_name_the_option() {
        let err = parse_args(&args(&["--timeout", "soon"])).unwrap_err();
        assert!(err.to_string().contains("--timeout"), "{err}");
        let err = parse_args(&args(&["--cpus"])).unwrap_err();
        assert!(err.to_string().contains("--cpus"), "{err}");
        let err = parse_args(&args(&["--env", "1X=2"])).unwrap_err();
        assert!(err.to_string().contains("NAME=VALUE"), "{err}");
    }

    #[test]
    fn environment_for_the_guest_is_collected() {
        let opts = parse_args(&args(&["--env", "SEED=7", "--env", "A_B=x=y"])).unwrap();
        assert_eq!(
            opts.env,
            [("SEED".into(), "7".into()), ("A_B".into(), "x=y".into())]
        );
    }
}
