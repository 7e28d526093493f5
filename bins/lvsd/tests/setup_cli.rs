//! `lvsd setup` refusals that need no privileges: one clear line, exit 2.
use std::process::Command;

fn lvsd(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
        .args(args)
        .output()
        .expect("run lvsd");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_parameters_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    for (args, message) in [
        (
            vec!["setup", "--mode", "dr", "--state-dir", state],
            "lvsd: error: the director needs at least one --vip\n",
        ),
        (
            vec![
                "setup",
                "--mode",
                "dr",
                "--vip",
                "10.0.0.1",
                "--vip",
                "10.0.0.1/24",
                "--state-dir",
                state,
            ],
            "lvsd: error: --vip 10.0.0.1 is given twice\n",
        ),
        (
            vec![
                "setup",
                "--mode",
                "tun",
                "--vip",
                "2001:db8::1",
                "--state-dir",
                state,
            ],
            "lvsd: error: --vip 2001:db8::1: tun mode is IPv4 only here (IPv6 in IPv6 tunnels are not set up by lvs-net)\n",
        ),
    ] {
        let (code, stdout, stderr) = lvsd(&args);
        assert_eq!(code, Some(2), "{args:?}");
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(stderr, message, "{args:?}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn malformed_addresses_and_clashing_actions_exit_2() {
    for args in [
        vec!["setup", "--mode", "dr", "--vip", "10.0.0"],
        vec!["setup", "--mode", "dr", "--vip", "10.0.0.1/33"],
        vec![
            "setup", "--mode", "nat", "--vip", "10.0.0.1", "--check", "--undo",
        ],
        vec!["setup", "--mode", "lb", "--vip", "10.0.0.1"],
        vec!["setup", "--vip", "10.0.0.1"],
    ] {
        let (code, _, stderr) = lvsd(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    let (_, _, stderr) = lvsd(&["setup", "--mode", "dr", "--vip", "10.0.0"]);
    assert!(stderr.contains("`10.0.0` is not an address"), "{stderr}");
}

/// `lvsd setup ARGS` in a fresh user and network namespace of its own: a host
/// with nothing but a down `lo`, the same wherever the test runs.
fn lvsd_in_empty_netns(args: &[&str]) -> (Option<i32>, String, String) {
    use nix::sched::{CloneFlags, unshare};
    use std::os::unix::process::CommandExt as _;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvsd"));
    cmd.args(args);
    // SAFETY: unshare(2) is async-signal-safe and the child is single-threaded
    // between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)
                .map_err(std::io::Error::from)
        });
    }
    let out = cmd.output().expect("run lvsd");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn dry_run_and_check_of_the_notebooks_dr_vip_on_an_empty_host() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let base = [
        "setup",
        "--mode",
        "dr",
        "--vip",
        "123.234.1.101",
        "--dev",
        "lo",
    ];
    let with = |extra: &'static str| {
        let mut v = base.to_vec();
        v.extend_from_slice(&[extra, "--state-dir", state]);
        v
    };
    assert_eq!(
        lvsd_in_empty_netns(&with("--dry-run")),
        (
            Some(0),
            "# dr director: 2 to change, 0 already in place\n\
             ip link set dev lo up\n\
             ip address add 123.234.1.101/32 dev lo label lo:0\n"
                .to_owned(),
            String::new()
        )
    );
    assert_eq!(
        lvsd_in_empty_netns(&with("--check")),
        (
            Some(1),
            "wrong: lo is down, should be up (addresses on a down device are not used)\n\
             missing: 123.234.1.101/32 on lo (this host accepts the packets sent to the VIP)\n"
                .to_owned(),
            String::new()
        )
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
