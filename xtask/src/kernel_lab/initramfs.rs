//! The guest's root file system: busybox as `/init`, the IPVS modules, ipvsadm,
//! the guest suites and workspace binaries with every shared library they load,
//! packed as a newc cpio archive.
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::kernel::{Kernel, ModulePlan};
use super::plan::{TestArgs, TestCase};
use super::suites::Suite;

/// Statically linked busybox from `busybox-static`.
const BUSYBOX: &str = "/bin/busybox";
/// The reference tool the tests compare with.
const IPVSADM: &str = "/usr/sbin/ipvsadm";
/// iproute2's `ip`: busybox's applet cannot create veth pairs or bridges. Busybox
/// `sh` runs its own `ip` applet before anything on `PATH`, so the cluster tests
/// call this one by its full path.
const IPROUTE2_IP: &str = "/usr/sbin/ip";
/// The spare 16550 UART of every VM (qemu's third serial port), for the serial
/// tests: ttyS0 is the console, ttyS1 the result channel.
const GUEST_UART: &str = "/dev/ttyS2";
/// Small host files that name lookups (`ipvsadm` without `-n`) read.
const ETC_FILES: &[&str] = &["/etc/services", "/etc/protocols"];

/// Everything that goes into one guest image.
#[derive(Debug)]
pub struct Contents<'a> {
    pub kernel: &'a Kernel,
    pub modules: &'a ModulePlan,
    pub suites: &'a [Suite],
    /// Workspace binaries, placed at their host paths so `CARGO_BIN_EXE_*` holds.
    pub bins: &'a [PathBuf],
    /// The tests of each VM (`/lab/run-tests N` runs list N).
    pub shards: &'a [Vec<TestCase>],
    /// The user's test arguments.
    pub test_args: &'a TestArgs,
    /// Environment variables for the test binaries.
    pub env: &'a [(String, String)],
    /// Out-of-tree modules built for this kernel (`kmod.rs`), put under
    /// `/lab/kmod/` for the tests to load.
    pub kmods: &'a [PathBuf],
    /// Where the examples some suites run are (at their host paths, among
    /// `bins`), exported to the tests as `KERNEL_LAB_EXAMPLES`.
    pub examples_dir: Option<&'a Path>,
}

/// Builds the staging tree under `staging` and packs it into `archive`.
pub fn build(contents: &Contents<'_>, staging: &Path, archive: &Path) -> anyhow::Result<()> {
    if staging.exists() {
        fs::remove_dir_all(staging).with_context(|| format!("removing {}", staging.display()))?;
    }
    let mut tree = Tree::new(staging)?;
    for dir in [
        "proc",
        "sys",
        "dev",
        "tmp",
        "run",
        "root",
        "etc",
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "lab/suites",
    ] {
        tree.mkdir(dir)?;
    }
    tree.copy_file(Path::new(BUSYBOX), Path::new(BUSYBOX), Copy::Plain)?;
    tree.copy_elf(Path::new(IPVSADM), Path::new(IPVSADM), Copy::Plain)?;
    tree.copy_elf(Path::new(IPROUTE2_IP), Path::new(IPROUTE2_IP), Copy::Plain)?;
    for etc in ETC_FILES {
        tree.copy_file(Path::new(etc), Path::new(etc), Copy::Plain)?;
    }
    tree.write(
        "etc/hosts",
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n",
        0o644,
    )?;
    tree.write(
        "etc/nsswitch.conf",
        "hosts: files\nservices: files\nprotocols: files\nnetworks: files\n",
        0o644,
    )?;
    tree.write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644)?;
    tree.write("etc/group", "root:x:0:\n", 0o644)?;

    let modules_dir = contents.kernel.modules_dir();
    let guest_modules = Path::new("/lib/modules").join(&contents.kernel.release);
    for module in &contents.modules.load_order {
        tree.copy_file(
            &modules_dir.join(module),
            &guest_modules.join(module),
            Copy::Plain,
        )?;
    }
    for bin in contents.bins {
        tree.copy_elf(bin, bin, Copy::StripDebug)?;
    }
    for ko in contents.kmods {
        let name = ko.file_name().context("a module file name")?;
        tree.copy_file(ko, &Path::new("/lab/kmod").join(name), Copy::Plain)?;
    }
    let mut guest_suites = Vec::new();
    for suite in contents.suites {
        let exe = suite
            .executable
            .as_ref()
            .with_context(|| format!("{} was not built", suite.name()))?;
        let guest_exe =
            Path::new("/lab/suites").join(format!("{}--{}", suite.package, suite.target));
        tree.copy_elf(exe, &guest_exe, Copy::StripDebug)?;
        // Tests run in their package directory, as under `cargo test`; data files
        // beside the tests come along.
        tree.mkdir_abs(&suite.manifest_dir)?;
        let data = suite.manifest_dir.join("tests/data");
        if data.is_dir() {
            tree.copy_dir(&data, &data)?;
        }
        guest_suites.push((suite.manifest_dir.clone(), guest_exe));
    }

    tree.write("init", INIT, 0o755)?;
    tree.write(
        "lab/load-modules",
        &load_modules_script(contents, &guest_modules),
        0o755,
    )?;
    tree.write(
        "lab/run-tests",
        &run_tests_script(&guest_suites, contents),
        0o755,
    )?;
    pack(staging, &tree.entries(), archive)
}

/// The guest's PID 1: mounts, loads modules, runs the suites (or a shell), reports
/// progress and the exit status on the second serial port, powers off.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
# No tmpfs on /tmp or /run: the root file system is already in memory, and the
# workspace (with the suites' package directories and binaries, kept at their
# host paths) may itself live under /tmp.
mkdir -p /run/netns
stty -F /dev/ttyS1 raw -echo
mark() { echo "$*" > /dev/ttyS1; }
finish() { mark "$@"; sync; poweroff -f; }
mark step init
ulimit -n 65536
hostname kernel-lab
ip link set lo up
mark step modules
/lab/load-modules || finish setup-failed modules
if grep -qw lab.shell /proc/cmdline; then
    mark step shell
    echo "kernel-lab: shell in the guest; /lab/run-tests runs the suites; exit powers off"
    setsid cttyhack sh -l
    finish exit $?
fi
mark step tests
shard=$(sed -n 's/.*lab\.shard=\([0-9]*\).*/\1/p' /proc/cmdline)
/lab/run-tests "${shard:-all}"
finish exit $?
"#;

fn load_modules_script(contents: &Contents<'_>, guest_modules: &Path) -> String {
    let mut script = String::from(
        "#!/bin/sh\n# Generated by cargo xtask kernel-lab: IPVS modules, dependencies first.\n",
    );
    for module in &contents.modules.load_order {
        let path = guest_modules.join(module);
        // A module the virtual CPU cannot use (crc32c-intel without SSE4.2) may fail;
        // whether IPVS ended up loaded is checked below.
        let _ = writeln!(
            script,
            "insmod {} || echo 'kernel-lab: warning: insmod {} failed'",
            quote(&path.to_string_lossy()),
            module.display()
        );
    }
    script.push_str(
        "[ -e /proc/net/ip_vs ] || { echo 'kernel-lab: ip_vs is not loaded'; exit 1; }\n",
    );
    script
}

/// `/lab/run-tests [all|N]`: runs the tests of VM `N` (or all), each in a
/// process of its own; prints one line per test (and a failing test's output),
/// reports `result STATUS SECONDS ID` per test on the second serial port, and
/// exits non-zero when a test failed.
fn run_tests_script(suites: &[(PathBuf, PathBuf)], contents: &Contents<'_>) -> String {
    let args = contents.test_args;
    let mut script = String::from(
        "#!/bin/sh\n\
         # Generated by cargo xtask kernel-lab: runs the guest tests.\n\
         # Dump-comparing tests must not overlap (dumps are not isolated between\n\
         # namespaces): one test at a time, one thread unless --test-threads says so.\n\
         export RUST_TEST_THREADS=1 RUST_BACKTRACE=1 KERNEL_LAB=1\n",
    );
    let _ = writeln!(
        script,
        "export KERNEL_LAB_SCHEDULERS={}",
        quote(&contents.modules.schedulers.join(" "))
    );
    // The 16550 the VM has for serial tests (see `vm.rs`).
    let _ = writeln!(script, "export KERNEL_LAB_UART={}", quote(GUEST_UART));
    // Out-of-tree modules for the `kernel_kmod*` suites.
    if !contents.kmods.is_empty() {
        let _ = writeln!(script, "export KERNEL_LAB_KMODS=/lab/kmod");
    }
    // The examples of the packages whose suites run them.
    if let Some(dir) = contents.examples_dir {
        let _ = writeln!(
            script,
            "export KERNEL_LAB_EXAMPLES={}",
            quote(&dir.to_string_lossy())
        );
    }
    for (name, value) in contents.env {
        let _ = writeln!(script, "export {name}={}", quote(value));
    }
    let _ = writeln!(script, "stream={}", if args.stream { "yes" } else { "''" });
    script.push_str(
        "passed=0; failed=0\n\
         now() { read -r up _ < /proc/uptime; echo \"$up\"; }\n\
         run_test() {\n\
         \x20   id=$1; dir=$2; exe=$3; shift 3\n\
         \x20   start=$(now)\n\
         \x20   if [ -n \"$stream\" ]; then\n\
         \x20       (cd \"$dir\" && \"$exe\" \"$@\")\n\
         \x20   else\n\
         \x20       (cd \"$dir\" && \"$exe\" \"$@\") > /tmp/test.out 2>&1\n\
         \x20   fi\n\
         \x20   status=$?\n\
         \x20   secs=$(awk -v a=\"$start\" -v b=\"$(now)\" 'BEGIN { printf \"%.2f\", b - a }')\n\
         \x20   if [ $status -eq 0 ]; then\n\
         \x20       passed=$((passed + 1))\n\
         \x20       echo \"kernel-lab: ok     $id ($secs s)\"\n\
         \x20   else\n\
         \x20       failed=$((failed + 1))\n\
         \x20       [ -n \"$stream\" ] || cat /tmp/test.out\n\
         \x20       echo \"kernel-lab: FAILED $id (exit $status, $secs s)\"\n\
         \x20   fi\n\
         \x20   echo \"result $status $secs $id\" > /dev/ttyS1\n\
         }\n",
    );
    for (n, shard) in contents.shards.iter().enumerate() {
        let _ = writeln!(script, "shard_{n}() {{\n    :");
        for test in shard {
            let (dir, exe) = &suites[test.suite];
            let mut line = format!(
                "    run_test {} {} {} {}",
                quote(&test.id),
                quote(&dir.to_string_lossy()),
                quote(&exe.to_string_lossy()),
                quote(&args.ignored)
            );
            for arg in &args.run {
                line.push(' ');
                line.push_str(&quote(arg));
            }
            let _ = writeln!(line, " --exact {}", quote(&test.name));
            script.push_str(&line);
        }
        script.push_str("}\n");
    }
    let all: Vec<String> = (0..contents.shards.len())
        .map(|n| format!("shard_{n}"))
        .collect();
    let _ = write!(
        script,
        "echo \"kernel-lab: guest up $(now) s, modules loaded; running the tests\"\n\
         case \"${{1:-all}}\" in\n\
         \x20   all) {} ;;\n",
        if all.is_empty() {
            ":".to_owned()
        } else {
            all.join("; ")
        }
    );
    for n in 0..contents.shards.len() {
        let _ = writeln!(script, "    {n}) shard_{n} ;;");
    }
    script.push_str(
        "    *) echo \"usage: /lab/run-tests [all|N]\" >&2; exit 2 ;;\n\
         esac\n\
         echo \"kernel-lab: this VM: $passed passed, $failed failed\"\n\
         [ \"$failed\" -eq 0 ]\n",
    );
    script
}

/// Single-quotes `s` for the guest's shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copy {
    Plain,
    /// Debug info makes test binaries ten times larger; symbols stay for backtraces.
    StripDebug,
}

/// The staging tree, remembering what it holds.
#[derive(Debug)]
struct Tree {
    root: PathBuf,
    copied: BTreeSet<PathBuf>,
}

impl Tree {
    fn new(root: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        Ok(Self {
            root: root.to_owned(),
            copied: BTreeSet::new(),
        })
    }

    fn host_path(&self, guest: &Path) -> PathBuf {
        self.root.join(guest.strip_prefix("/").unwrap_or(guest))
    }

    fn mkdir(&self, guest: &str) -> anyhow::Result<()> {
        self.mkdir_abs(Path::new(guest))
    }

    fn mkdir_abs(&self, guest: &Path) -> anyhow::Result<()> {
        let dir = self.host_path(guest);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))
    }

    fn write(&self, guest: &str, text: &str, mode: u32) -> anyhow::Result<()> {
        let path = self.host_path(Path::new(guest));
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", path.display()))
    }

    fn copy_file(&mut self, host: &Path, guest: &Path, how: Copy) -> anyhow::Result<()> {
        if !self.copied.insert(guest.to_owned()) {
            return Ok(());
        }
        let dest = self.host_path(guest);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        match how {
            Copy::Plain => {
                fs::copy(host, &dest)
                    .with_context(|| format!("copying {} into the initramfs", host.display()))?;
            }
            Copy::StripDebug => {
                let status = Command::new("strip")
                    .arg("--strip-debug")
                    .arg("-o")
                    .arg(&dest)
                    .arg(host)
                    .status()
                    .with_context(|| format!("running strip on {}", host.display()))?;
                if !status.success() {
                    bail!("strip --strip-debug {} failed ({status})", host.display());
                }
            }
        }
        Ok(())
    }

    /// Copies an ELF executable and every shared library `ldd` says it loads,
    /// each at its host path.
    fn copy_elf(&mut self, host: &Path, guest: &Path, how: Copy) -> anyhow::Result<()> {
        if !host.is_file() {
            bail!(
                "{} does not exist (is its package installed?)",
                host.display()
            );
        }
        self.copy_file(host, guest, how)?;
        for lib in shared_libraries(host)? {
            self.copy_file(&lib, &lib, Copy::Plain)?;
        }
        Ok(())
    }

    fn copy_dir(&mut self, host: &Path, guest: &Path) -> anyhow::Result<()> {
        for entry in fs::read_dir(host).with_context(|| format!("listing {}", host.display()))? {
            let entry = entry?;
            let (h, g) = (entry.path(), guest.join(entry.file_name()));
            if entry.file_type()?.is_dir() {
                self.copy_dir(&h, &g)?;
            } else {
                self.copy_file(&h, &g, Copy::Plain)?;
            }
        }
        Ok(())
    }

    /// Every path in the tree, relative, parents before children.
    fn entries(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        walk(&self.root, Path::new(""), &mut out);
        out
    }
}

fn walk(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let Ok(dir) = fs::read_dir(root.join(rel)) else {
        return;
    };
    let mut names: Vec<_> = dir.filter_map(Result::ok).collect();
    names.sort_by_key(|e| e.file_name());
    for entry in names {
        let path = rel.join(entry.file_name());
        out.push(path.clone());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(root, &path, out);
        }
    }
}

/// The libraries (and the dynamic loader) an executable loads, per `ldd`.
fn shared_libraries(elf: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(elf)
        .output()
        .with_context(|| format!("running ldd {}", elf.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // Static executables: ldd says so and fails.
        let all = format!("{text}{}", String::from_utf8_lossy(&out.stderr));
        if all.contains("not a dynamic executable") || all.contains("statically linked") {
            return Ok(Vec::new());
        }
        bail!("ldd {} failed: {}", elf.display(), all.trim());
    }
    parse_ldd(&text).with_context(|| format!("ldd {}", elf.display()))
}

fn parse_ldd(text: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut libs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.contains("statically linked") {
            continue;
        }
        let path = match line.split_once("=>") {
            Some((name, target)) => {
                let target = target.trim();
                if target.starts_with("not found") {
                    bail!("library {} not found", name.trim());
                }
                target.split_whitespace().next().unwrap_or("")
            }
            None => line.split_whitespace().next().unwrap_or(""),
        };
        // The vDSO has no file; everything else is an absolute path.
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

/// Packs `entries` (relative to `staging`) as an uncompressed newc cpio archive
/// owned by root. Uncompressed unpacks fastest in an emulated guest.
fn pack(staging: &Path, entries: &[PathBuf], archive: &Path) -> anyhow::Result<()> {
    let out =
        fs::File::create(archive).with_context(|| format!("creating {}", archive.display()))?;
    let mut child = Command::new("cpio")
        .args(["--create", "--format=newc", "--owner=0:0", "--quiet"])
        .current_dir(staging)
        .stdin(Stdio::piped())
        .stdout(out)
        .spawn()
        .context("running cpio (package cpio)")?;
    let mut list = String::new();
    for entry in entries {
        list.push_str(&entry.to_string_lossy());
        list.push('\n');
    }
    child
        .stdin
        .take()
        .context("cpio's stdin")?
        .write_all(list.as_bytes())
        .context("writing the file list to cpio")?;
    let status = child.wait().context("waiting for cpio")?;
    if !status.success() {
        bail!("cpio failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_libraries_and_loader_but_not_the_vdso() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibnl-3.so.200 => /lib/x86_64-linux-gnu/libnl-3.so.200 (0x00007f)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text).unwrap(),
            [
                "/lib/x86_64-linux-gnu/libnl-3.so.200",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn a_missing_library_is_an_error() {
        let err = parse_ldd("\tlibgone.so.1 => not found\n").unwrap_err();
        assert!(err.to_string().contains("libgone.so.1"), "{err}");
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
