//! `lvs-agent setup` refusals that need no privileges: one clear line, exit 2.
use std::process::Command;

#[test]
fn parameters_that_do_not_fit_the_mode_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    for (args, message) in [
        (
            vec!["setup", "--mode", "nat", "--state-dir", state],
            "lvs-agent: error: a NAT real server needs --gateway (the director's address on its side)\n",
        ),
        (
            vec![
                "setup",
                "--mode",
                "nat",
                "--vip",
                "10.0.0.100",
                "--gateway",
                "10.0.0.1",
                "--state-dir",
                state,
            ],
            "lvs-agent: error: a NAT real server does not hold the VIP: drop --vip, give --gateway\n",
        ),
        (
            vec![
                "setup",
                "--mode",
                "dr",
                "--gateway",
                "10.0.0.1",
                "--vip",
                "10.0.0.100",
                "--state-dir",
                state,
            ],
            "lvs-agent: error: --gateway is for NAT real servers; a dr real server answers clients directly\n",
        ),
        (
            vec!["setup", "--mode", "tun", "--state-dir", state],
            "lvs-agent: error: a tun real server needs at least one --vip\n",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_lvs-agent"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), message, "{args:?}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// Without root, a set-up that has something to change is refused before the
/// first change. The command runs in a user namespace of its own, where it is
/// not root whoever runs the test.
#[test]
fn without_root_setup_is_one_line_exit_2_and_changes_nothing() {
    use std::os::unix::process::CommandExt as _;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("lvs");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvs-agent"));
    cmd.args([
        "setup",
        "--mode",
        "dr",
        "--vip",
        "192.0.2.254",
        "--state-dir",
    ])
    .arg(&state);
    // SAFETY: unshare(2) is async-signal-safe and the child is single-threaded
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER).map_err(std::io::Error::from)
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "lvs-agent: error: setup needs root (CAP_NET_ADMIN and write access to /proc/sys)\n"
    );
    assert!(!state.exists(), "no state directory made");
}
