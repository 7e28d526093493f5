//! `lvs-agent serve --cgroup` against a real cgroup v2 with a CPU quota, in
//! the kernel lab's guest (root, cgroup2 mountable): a busy loop inside the
//! group takes the spare capacity to about 0, stopping it brings it back.
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use support::Agent;

/// cgroup2 mounted on a fresh directory (outside /sys, see
/// /work/shared/cluster-lab-facts.md), with one child group limited to
/// 20 % of a CPU; unmounted and removed on drop.
struct Group {
    mount: PathBuf,
    dir: PathBuf,
    burner: Option<Child>,
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text)
        .unwrap_or_else(|e| panic!("writing {text:?} to {}: {e}", path.display()));
}

impl Group {
    fn new() -> Group {
        let mount = PathBuf::from(format!("/tmp/lvs-agent-cg-{}", std::process::id()));
        std::fs::create_dir_all(&mount).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "cgroup2", "none"])
            .arg(&mount)
            .status()
            .expect("running mount");
        assert!(ok.success(), "mount -t cgroup2 failed");
        write(&mount.join("cgroup.subtree_control"), "+cpu");
        let dir = mount.join("web");
        std::fs::create_dir(&dir).unwrap();
        write(&dir.join("cpu.max"), "20000 100000");
        Group {
            mount,
            dir,
            burner: None,
        }
    }

    fn burn(&mut self) {
        let child = Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("starting the busy loop");
        write(&self.dir.join("cgroup.procs"), &child.id().to_string());
        self.burner = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.burner.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir(&self.dir);
        let _ = Command::new("umount").arg(&self.mount).status();
        let _ = std::fs::remove_dir(&self.mount);
    }
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn cgroup_quota_use_is_reported_as_spare_capacity() {
    let mut group = Group::new();
    let dir = group.dir.to_str().unwrap().to_owned();
    let agent = Agent::start(&["--cgroup", &dir, "--interval", "200ms", "--window", "1s"]);

    // Nothing runs in the group: all of its quota is spare.
    let idle = agent.ask_until(10, |r| r.percent.is_some_and(|p| p >= 95));
    assert!(
        idle.percent.is_some_and(|p| p >= 95),
        "idle group: {idle:?}"
    );

    // A busy loop in the group uses all of its 20 % of a CPU: nothing spare.
    group.burn();
    let busy = agent.ask_until(15, |r| r.percent.is_some_and(|p| p <= 10));
    assert!(
        busy.percent.is_some_and(|p| p <= 10),
        "busy group: {busy:?}"
    );
    // The kernel did hold the loop to its quota (the machine's one CPU was
    // not full): the answer measures the quota, not the machine.
    let stat = std::fs::read_to_string(group.dir.join("cpu.stat")).unwrap();
    let throttled: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("nr_throttled "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no nr_throttled in {stat}"));
    assert!(throttled > 0, "{stat}");

    group.stop();
    let back = agent.ask_until(15, |r| r.percent.is_some_and(|p| p >= 90));
    assert!(
        back.percent.is_some_and(|p| p >= 90),
        "after the loop: {back:?}"
    );
}
