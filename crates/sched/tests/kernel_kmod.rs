//! The `ip_vs_nofn` kernel module (`kmod/ip_vs_nofn/`), built by the kernel
//! lab against the booted kernel's own headers and loaded in the guest: its
//! picks equal `sched`'s `nofn` (and `nofn-seed` with `seed=1`) pick for pick,
//! over services with random weights, thresholds and destinations edited,
//! added, removed and re-added mid-sequence; every service keeps its own
//! counters (the notebook's patch shared globals); and it unloads cleanly
//! once no service uses it. Run with `cargo xtask kernel-lab -p sched --test
//! kernel_kmod`; `#[ignore]`d on the host.
//
// The shared machinery uses more than these tests need.
#![allow(dead_code)]

include!("support/lab.rs");

use std::path::PathBuf;

const MODULE: &str = "ip_vs_nofn";

/// `/lab/kmod/ip_vs_nofn.ko`: where the lab puts the modules it built.
fn module_file() -> PathBuf {
    let dir = std::env::var("KERNEL_LAB_KMODS").expect(
        "KERNEL_LAB_KMODS is unset: the kernel lab builds the modules (cargo xtask kernel-lab)",
    );
    PathBuf::from(dir).join(format!("{MODULE}.ko"))
}

fn loaded() -> bool {
    std::path::Path::new("/sys/module").join(MODULE).exists()
}

/// The module, loaded with these parameters; services flushed and the
/// module removed when dropped (also after a panic).
#[must_use]
struct Module;

impl Module {
    fn load(params: &[&str]) -> Module {
        if loaded() {
            let _ = Command::new("rmmod").arg(MODULE).status();
        }
        let file = module_file();
        let mut args = vec![file.to_str().expect("UTF-8 path")];
        args.extend_from_slice(params);
        run("insmod", &args);
        assert!(loaded(), "insmod {args:?} left no /sys/module/{MODULE}");
        Module
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        let _ = Command::new("ipvsadm").arg("-C").status();
        let _ = Command::new("rmmod").arg(MODULE).status();
    }
}

fn nofn_scenarios(rng: &mut Rng, count: u8, model_as: Scheduler) -> Vec<Scenario> {
    (0..count)
        .map(|i| {
            let mut s = Scenario::random(
                rng,
                i,
                Scheduler::NofN,
                Shape {
                    max_weight: 8,
                    picks: (8, 30),
                    thresholds: 30,
                },
            );
            s.model_as = model_as;
            s
        })
        .collect()
}

/// 30 services run one after the other: with the notebook's global counters
/// each would start where the previous one stopped; here each starts afresh.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn nofn_module_picks_as_sched() {
    let _flush = enter_fresh_netns();
    let _module = Module::load(&[]);
    let seed_param = format!("/sys/module/{MODULE}/parameters/seed");
    assert_eq!(
        std::fs::read_to_string(&seed_param).expect("seed parameter"),
        "N\n"
    );
    let mut rng = Rng(seed() ^ 0x0f0f);
    let scenarios = nofn_scenarios(&mut rng, 30, Scheduler::NofN);
    let mut sport = 1024;
    let failures = run_scenarios(&scenarios, &mut sport, None);
    assert!(
        failures.is_empty(),
        "the module differs from sched's nofn:\n{failures}"
    );
}

/// `insmod ip_vs_nofn.ko seed=1`: the notebook's original sequence (runs
/// of 2, 3, 4, ...), sched's `nofn-seed`.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn nofn_module_with_seed_picks_as_nofn_seed() {
    let _flush = enter_fresh_netns();
    let _module = Module::load(&["seed=1"]);
    let seed_param = format!("/sys/module/{MODULE}/parameters/seed");
    assert_eq!(
        std::fs::read_to_string(&seed_param).expect("seed parameter"),
        "Y\n"
    );
    let mut rng = Rng(seed() ^ 0xf0f0);
    let scenarios = nofn_scenarios(&mut rng, 15, Scheduler::NofNSeed);
    let mut sport = 1024;
    let failures = run_scenarios(&scenarios, &mut sport, None);
    assert!(
        failures.is_empty(),
        "the module (seed=1) differs from sched's nofn-seed:\n{failures}"
    );
}

/// A service using the scheduler holds the module; once the service is
/// gone `rmmod` succeeds, and `-s nofn` is unknown again.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn nofn_module_unloads_once_unused() {
    let _flush = enter_fresh_netns();
    let module = Module::load(&[]);
    run("ipvsadm", &["-A", "-t", "10.0.0.100:80", "-s", "nofn"]);
    let listing = run("ipvsadm", &["-Ln"]);
    assert!(
        listing.contains("10.0.0.100:80 nofn"),
        "ipvsadm -Ln:\n{listing}"
    );
    let busy = Command::new("rmmod").arg(MODULE).output().expect("rmmod");
    assert!(
        !busy.status.success() && loaded(),
        "rmmod succeeded while a service used the scheduler"
    );
    run("ipvsadm", &["-D", "-t", "10.0.0.100:80"]);
    run("rmmod", &[MODULE]);
    assert!(!loaded(), "/sys/module/{MODULE} is still there");
    std::mem::forget(module);
    let refused = Command::new("ipvsadm")
        .args(["-A", "-t", "10.0.0.100:80", "-s", "nofn"])
        .output()
        .expect("ipvsadm");
    assert!(
        !refused.status.success(),
        "ipvsadm -s nofn worked without the module"
    );
}
