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
