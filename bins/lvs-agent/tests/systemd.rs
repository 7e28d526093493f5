//! The systemd unit: `systemd-analyze verify` accepts it (with ExecStart
//! pointed at the built binary), and it runs `lvs-agent serve`.
use std::path::Path;
use std::process::Command;

#[test]
fn the_unit_verifies_and_runs_serve() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/lvs-agent.service"),
    )
    .unwrap();
    let exec: Vec<&str> = unit
        .lines()
        .filter(|l| l.starts_with("ExecStart="))
        .collect();
    assert_eq!(
        exec,
        ["ExecStart=/usr/sbin/lvs-agent serve $LVS_AGENT_OPTIONS"]
    );

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("lvs-agent.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/sbin/lvs-agent", env!("CARGO_BIN_EXE_lvs-agent")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect(
            "systemd-analyze is not installed: Debian's systemd package has it (CI installs it)",
        );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}
