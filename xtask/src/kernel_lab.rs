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
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::util::ensure_debian_packages;

mod initramfs;
mod kernel;
mod kmod;
mod plan;
mod suites;
mod vm;

/// What the lab needs on the host: the emulator, the guest's userland, the
/// reference tool, the archiver, depmod/modprobe, `/etc/services` and
/// `/etc/protocols` for name lookups in the guest (`netbase`), and make with
/// the 6.1 kernel's compiler for the out-of-tree modules (`kmod.rs`).
pub const PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "ipvsadm",
    "cpio",
    "kmod",
    "netbase",
    "iproute2",
    "make",
    "gcc-12",
];

pub const HELP: &str = "\
cargo xtask kernel-lab [OPTIONS] [TEST-ARGS...] [-- TEST-ARGS...]

Boots Debian's cloud kernel with IPVS under qemu and runs the workspace's guest
suites (integration tests named `kernel` or `kernel_*`) there with `--ignored`,
each test in a process of its own, shared out over several VMs by their last
measured durations. Exits with the first failing test's status (0 when all pass).

Options:
  -p, --package NAME  only the guest suites of package NAME (repeatable)
  --test NAME         only the guest suite (test target) NAME (repeatable)
  --list              list the guest suites and exit
  --shell             boot to a shell on the console instead of running the suites
                      (/lab/run-tests runs them; `exit` or Ctrl-A X leaves)
  --timeout SECS      kill the VM after SECS seconds (default 600)
  --vms N             VMs to share the tests out over (default: host CPUs, at
                      most 4)
  --cpus N            virtual CPUs per VM (default 1)
  --memory MIB        guest memory (default 1024)
  --env NAME=VALUE    set an environment variable for the guest suites (repeatable)
  --kernel VERSION    boot this version of linux-image-cloud-amd64 instead of the
                      apt lists' candidate: exact (6.1.172-1) or its upstream part
                      (6.1.172), as `apt-cache madison linux-image-cloud-amd64`
                      lists it or as already cached; or a linux-image-*.deb file
  --all-kernels       run the lab once per version the apt lists offer, one after
                      another, and print one line per kernel
  TEST-ARGS           as for a test binary: name filters, --exact, --skip X
                      choose the tests; --nocapture, --test-threads N, ... are
                      given to each
";

/// Guest tests ran and failed: `cargo xtask` exits with the first one's status.
#[derive(Debug)]
pub struct GuestTestsFailed {
    /// The exit status of the first failing test.
    pub code: i32,
    /// How many failed.
    pub failed: usize,
}

impl fmt::Display for GuestTestsFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step `guest tests` failed: {} guest test(s) failed (the first with exit status {})",
            self.failed, self.code
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
    vms: usize,
    cpus: u32,
    memory_mib: u32,
    env: Vec<(String, String)>,
    kernel: kernel::KernelChoice,
    all_kernels: bool,
    test_args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            packages: Vec::new(),
            tests: Vec::new(),
            list: false,
            shell: false,
            timeout: Duration::from_secs(600),
            vms: std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(4),
            cpus: 1,
            memory_mib: 1024,
            env: Vec::new(),
            kernel: kernel::KernelChoice::Candidate,
            all_kernels: false,
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
                opts.timeout = Duration::from_secs(number(arg, &value(arg)?, 1, "seconds")?);
            }
            "--vms" => opts.vms = number(arg, &value(arg)?, 1, "VMs")?,
            "--cpus" => opts.cpus = number(arg, &value(arg)?, 1, "CPUs")?,
            "--memory" => opts.memory_mib = number(arg, &value(arg)?, 128, "MiB")?,
            "--env" => {
                let v = value(arg)?;
                let (name, val) = v
                    .split_once('=')
                    .filter(|(name, _)| is_env_name(name))
                    .with_context(|| format!("--env takes NAME=VALUE, not `{v}`"))?;
                opts.env.push((name.to_owned(), val.to_owned()));
            }
            "--kernel" => opts.kernel = kernel::KernelChoice::parse(&value(arg)?),
            "--all-kernels" => opts.all_kernels = true,
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
    if opts.all_kernels && (opts.shell || opts.kernel != kernel::KernelChoice::Candidate) {
        bail!(
            "--all-kernels runs the tests on every listed kernel: it takes neither --shell nor --kernel"
        );
    }
    Ok(opts)
}

/// Holds the cache for this run: a second run in the same target directory
/// would overwrite the image and the result files under a running VM.
fn lock_cache(cache: &std::path::Path) -> anyhow::Result<Flock<std::fs::File>> {
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let path = cache.join("lock");
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((file, Errno::EWOULDBLOCK)) => {
            eprintln!(
                "xtask: kernel-lab: waiting for the other kernel-lab run in {}",
                cache.display()
            );
            Flock::lock(file, FlockArg::LockExclusive)
                .map_err(|(_, e)| anyhow::anyhow!("locking {}: {e}", path.display()))
        }
        Err((_, e)) => bail!("locking {}: {e}", path.display()),
    }
}

/// `a/kernel, b/kernel`.
fn suite_names(suites: &[suites::Suite]) -> String {
    suites
        .iter()
        .map(suites::Suite::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `value` of `option` as a whole number of at least `min` `unit`.
fn number<T>(option: &str, value: &str, min: T, unit: &str) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    value.parse().ok().filter(|n| *n >= min).with_context(|| {
        format!("{option} takes a whole number of {unit} (at least {min}), not `{value}`")
    })
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Runs the lab; `Err(GuestTestsFailed)` when the suites ran and failed.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let opts = parse_args(args)?;
    if opts.all_kernels {
        return run_all_kernels(&opts);
    }
    let lab = run_lab(&opts, &opts.kernel)?;
    println!(
        "kernel-lab: {} passed, {} failed on {}",
        lab.passed, lab.failed, lab.kernel
    );
    lab.verdict
}

/// One lab run's outcome on one kernel.
#[derive(Debug)]
struct LabRun {
    /// The kernel package and version booted.
    kernel: String,
    passed: usize,
    failed: usize,
    /// `Err(GuestTestsFailed)` or a missing result; `Ok` when everything passed.
    verdict: anyhow::Result<()>,
    /// The `kernel_kmod*` suites were left out because the archive no longer
    /// serves this kernel's headers: why.
    kmod_left_out: Option<kmod::HeadersUnavailable>,
}

/// Which of the chosen suites one boot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Every chosen suite (the `kernel_kmod*` ones left out, and said so, when
    /// the kernel's headers are gone from the archive).
    Chosen,
    /// Only the chosen `kernel_kmod*` suites.
    ModulesOnly,
}

/// The lab on `choice`; when the archive no longer has that kernel's headers,
/// the `kernel_kmod*` suites run on the newest other kernel the apt lists offer
/// whose headers it has, said on the console and in the result line. The
/// module is the workspace's own code: what its suites test does not depend
/// on the 6.1 release, while the other suites' per-release facts do.
fn run_lab(opts: &Options, choice: &kernel::KernelChoice) -> anyhow::Result<LabRun> {
    let mut lab = run_on(opts, choice, Scope::Chosen)?;
    let Some(missing) = lab.kmod_left_out.take() else {
        return Ok(lab);
    };
    let current = lab.kernel.clone();
    eprintln!("xtask: kernel-lab: {missing}; the kernel_kmod suites run on another kernel");
    let mut tried = Vec::new();
    // The meta package's versions are its images' versions.
    for version in kernel::archive_versions()? {
        if version == missing.version {
            continue;
        }
        let choice = kernel::KernelChoice::Version(version.clone());
        match run_on(opts, &choice, Scope::ModulesOnly) {
            Ok(modules) => {
                lab.kernel = format!("{current} (kernel_kmod suites on {})", modules.kernel);
                lab.passed += modules.passed;
                lab.failed += modules.failed;
                if lab.verdict.is_ok() {
                    lab.verdict = modules.verdict;
                }
                return Ok(lab);
            }
            Err(e) if e.downcast_ref::<kmod::HeadersUnavailable>().is_some() => {
                tried.push(format!("{e:#}"));
            }
            Err(e) => return Err(e),
        }
    }
    bail!(
        "step `kmod`: {missing}, and no other kernel the apt lists offer has its headers there either{}",
        tried.iter().map(|t| format!("; {t}")).collect::<String>()
    )
}

/// `--all-kernels`: the lab on every version the apt lists offer, in turn; one
/// line per kernel, then the totals.
fn run_all_kernels(opts: &Options) -> anyhow::Result<()> {
    ensure_debian_packages(PACKAGES).context("step `packages`")?;
    let versions = kernel::archive_versions()?;
    eprintln!(
        "xtask: kernel-lab: --all-kernels: {} version(s): {}",
        versions.len(),
        versions.join(", ")
    );
    let mut lines = Vec::new();
    let (mut passed, mut failed, mut broken) = (0, 0, 0);
    for version in &versions {
        let started = Instant::now();
        match run_lab(opts, &kernel::KernelChoice::Version(version.clone())) {
            Ok(lab) => {
                passed += lab.passed;
                failed += lab.failed;
                let verdict = match &lab.verdict {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => {
                        broken += usize::from(lab.failed == 0);
                        format!("FAILED: {e:#}")
                    }
                };
                lines.push(format!(
                    "kernel-lab: {}: {} passed, {} failed in {:.0} s: {verdict}",
                    lab.kernel,
                    lab.passed,
                    lab.failed,
                    started.elapsed().as_secs_f64()
                ));
            }
            Err(e) => {
                broken += 1;
                lines.push(format!("kernel-lab: {version}: FAILED: {e:#}"));
            }
        }
    }
    for line in &lines {
        println!("{line}");
    }
    println!("kernel-lab: {passed} passed, {failed} failed");
    if failed > 0 || broken > 0 {
        bail!(
            "step `all kernels`: {failed} test failure(s), {broken} run(s) broken over {} kernel(s)",
            versions.len()
        );
    }
    Ok(())
}

/// The lab on one kernel: `Err` when it could not run the tests at all.
fn run_on(opts: &Options, choice: &kernel::KernelChoice, scope: Scope) -> anyhow::Result<LabRun> {
    let started = Instant::now();

    let workspace = suites::discover()?;
    let mut chosen: Vec<suites::Suite> = workspace
        .suites
        .iter()
        .filter(|s| opts.packages.is_empty() || opts.packages.contains(&s.package))
        .filter(|s| opts.tests.is_empty() || opts.tests.contains(&s.target))
        .filter(|s| scope == Scope::Chosen || kmod::needs_modules(s))
        .cloned()
        .collect();
    if opts.list {
        for suite in &workspace.suites {
            println!("{}", suite.name());
        }
        std::process::exit(0);
    }
    if chosen.is_empty() && !opts.shell {
        bail!(
            "step `suites`: no guest suite matches (packages {:?}, tests {:?}); the workspace has: {}",
            opts.packages,
            opts.tests,
            suite_names(&workspace.suites)
        );
    }

    ensure_debian_packages(PACKAGES).context("step `packages`")?;
    let cache = workspace.target_dir.join("kernel-lab");
    let _lock = lock_cache(&cache)?;
    let kernel = kernel::ensure_kernel(&cache, choice)?;
    eprintln!(
        "xtask: kernel-lab: kernel {} (release {})",
        kernel.package, kernel.release
    );
    let modules = kernel::module_plan(&kernel)?;

    let mut kmod_left_out = None;
    let kmods = if kmod::wanted(&chosen) {
        match kmod::build(&cache, &kernel) {
            Ok(kmods) => kmods,
            Err(e) if scope == Scope::Chosen => match e.downcast::<kmod::HeadersUnavailable>() {
                Ok(missing) => {
                    chosen.retain(|s| !kmod::needs_modules(s));
                    kmod_left_out = Some(missing);
                    Vec::new()
                }
                Err(e) => return Err(e.context("step `kmod`")),
            },
            // Not wrapped: `run_lab` tries the next kernel on this error.
            Err(e) => return Err(e),
        }
    } else {
        Vec::new()
    };
    if chosen.is_empty() && kmod_left_out.is_some() {
        return Ok(LabRun {
            kernel: kernel.package.to_string(),
            passed: 0,
            failed: 0,
            verdict: Ok(()),
            kmod_left_out,
        });
    }
    let built = if chosen.is_empty() {
        suites::Built {
            suites: Vec::new(),
            bins: Vec::new(),
            examples_dir: None,
        }
    } else {
        suites::build(&chosen)?
    };
    let test_args = plan::TestArgs::parse(&opts.test_args);
    let tests = plan::list_tests(&built.suites, &test_args)?;
    if tests.is_empty() && !opts.shell {
        bail!(
            "step `list tests`: no guest test matches {:?} in {}",
            test_args.select,
            suite_names(&built.suites)
        );
    }
    let timings_file = cache.join("timings.txt");
    let mut timings = plan::Timings::load(&timings_file);
    let vms = if opts.shell { 1 } else { opts.vms };
    let shards = plan::shard(&tests, vms, &timings);

    let image = cache.join("initramfs.cpio");
    let packed = Instant::now();
    initramfs::build(
        &initramfs::Contents {
            kernel: &kernel,
            modules: &modules,
            suites: &built.suites,
            bins: &built.bins,
            shards: &shards,
            test_args: &test_args,
            env: &opts.env,
            kmods: &kmods,
            examples_dir: built.examples_dir.as_deref(),
        },
        &cache.join("initramfs"),
        &image,
    )
    .context("step `initramfs`")?;
    let size = std::fs::metadata(&image).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "xtask: kernel-lab: {} with {} module(s); {} test(s) of [{}] on {} VM(s); image {:.1} MiB in {:.1} s",
        kernel.package,
        modules.load_order.len(),
        tests.len(),
        suite_names(&built.suites),
        shards.len(),
        size as f64 / (1024.0 * 1024.0),
        packed.elapsed().as_secs_f64()
    );

    let boot = vm::Boot {
        vmlinuz: kernel.vmlinuz.clone(),
        initramfs: image,
        memory_mib: opts.memory_mib,
        cpus: opts.cpus,
    };
    if opts.shell {
        let code = vm::shell(&boot, &cache.join("result-shell.txt"))?;
        eprintln!("xtask: kernel-lab: the guest shell exited with {code}");
        std::process::exit(0);
    }
    let result_files: Vec<_> = (0..shards.len())
        .map(|n| cache.join(format!("result-vm{n}.txt")))
        .collect();
    let booted = Instant::now();
    let reports = vm::run_tests(&boot, &result_files, opts.timeout)?;

    // A failing test's time says little about a passing run's.
    for result in reports.iter().flat_map(|r| &r.results) {
        if result.status == 0 {
            timings.record(&result.id, result.secs);
        }
    }
    timings.save(&timings_file)?;
    eprintln!(
        "xtask: kernel-lab: VMs ran {:.1} s; finished in {:.1} s (wall, from start)",
        booted.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let mut lab = conclude(kernel.package.to_string(), &tests, &reports);
    lab.kmod_left_out = kmod_left_out;
    Ok(lab)
}

/// Prints the failures and turns them into the lab's result: every planned test
/// must have reported, and passed.
fn conclude(kernel: String, tests: &[plan::TestCase], reports: &[vm::Report]) -> LabRun {
    let results: Vec<&vm::TestResult> = reports.iter().flat_map(|r| &r.results).collect();
    let missing: Vec<&str> = tests
        .iter()
        .filter(|t| !results.iter().any(|r| r.id == t.id))
        .map(|t| t.id.as_str())
        .collect();
    let failed: Vec<&vm::TestResult> = results.iter().copied().filter(|r| r.status != 0).collect();
    for result in &failed {
        eprintln!(
            "xtask: kernel-lab: FAILED {} (exit {})",
            result.id, result.status
        );
    }
    let verdict = verdict(&missing, &failed, reports);
    LabRun {
        kernel,
        passed: results.len() - failed.len(),
        failed: failed.len(),
        verdict,
        kmod_left_out: None,
    }
}

fn verdict(
    missing: &[&str],
    failed: &[&vm::TestResult],
    reports: &[vm::Report],
) -> anyhow::Result<()> {
    if !missing.is_empty() {
        bail!(
            "step `guest tests`: no result for {} test(s): {}",
            missing.len(),
            missing.join(", ")
        );
    }
    if let Some(first) = failed.first() {
        return Err(GuestTestsFailed {
            code: first.status,
            failed: failed.len(),
        }
        .into());
    }
    if let Some(code) = reports.iter().filter_map(|r| r.exit).find(|&c| c != 0) {
        bail!("step `guest tests`: every test passed but a VM's runner exited with {code}");
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

    fn report(results: &[(i32, &str)], exit: i32) -> vm::Report {
        vm::Report {
            last_step: Some("tests".into()),
            setup_failed: None,
            exit: Some(exit),
            results: results
                .iter()
                .map(|&(status, id)| vm::TestResult {
                    status,
                    secs: 0.1,
                    id: id.into(),
                })
                .collect(),
        }
    }

    fn case(id: &str) -> plan::TestCase {
        plan::TestCase {
            suite: 0,
            name: id.into(),
            id: id.into(),
        }
    }

    #[test]
    fn the_verdict_needs_every_test_to_report_and_pass() {
        let tests = [case("a"), case("b")];
        let verdict = |reports: &[vm::Report]| conclude("k".into(), &tests, reports);
        let lab = verdict(&[report(&[(0, "a")], 0), report(&[(0, "b")], 0)]);
        assert_eq!((lab.passed, lab.failed), (2, 0));
        assert!(lab.verdict.is_ok());
        let err = verdict(&[report(&[(0, "a")], 0)]).verdict.unwrap_err();
        assert!(
            err.to_string().contains("no result for 1 test(s): b"),
            "{err}"
        );
        let lab = verdict(&[report(&[(0, "a"), (101, "b")], 1)]);
        assert_eq!((lab.passed, lab.failed), (1, 1));
        let err = lab.verdict.unwrap_err();
        let failed = err
            .downcast_ref::<GuestTestsFailed>()
            .expect("a test failure");
        assert_eq!((failed.code, failed.failed), (101, 1));
    }

    #[test]
    fn all_kernels_takes_no_single_kernel() {
        assert!(parse_args(&args(&["--all-kernels", "-p", "sched"])).is_ok());
        let err = parse_args(&args(&["--all-kernels", "--kernel", "6.1.172"])).unwrap_err();
        assert!(err.to_string().contains("--all-kernels"), "{err}");
        let opts = parse_args(&args(&["--kernel", "6.1.172-1"])).unwrap();
        assert_eq!(
            opts.kernel,
            kernel::KernelChoice::Version("6.1.172-1".into())
        );
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
