//! tio's comforts in a real terminal (tmux): timestamps, maps (a CR-only meter
//! shown one frame per line), hex view, local echo, Ctrl-T c and l.
#[path = "support/tmux.rs"]
mod tmux;

fn com(args: &str) -> String {
    format!(
        "{} --demo --demo-interval 0.3 {args}; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_com")
    )
}

fn frames(screen: &str, prefix: &regex::Regex) -> usize {
    screen.lines().filter(|l| prefix.is_match(l)).count()
}

#[test]
fn a_cr_only_meter_shows_one_stamped_frame_per_line_with_icrnl() {
    let t = tmux::Tmux::start("icrnl", &com("--line-ending cr --map ICRNL --timestamp"));
    let re = regex::Regex::new(r"^\[\d\d:\d\d:\d\d\.\d\d\d\] S:  \d+Vo:.*Eu  E$").unwrap();
    let screen = t.wait("three stamped frames", |s| frames(s, &re) >= 3);
    // Without the map, the CR-only meter's frames overwrite one line.
    t.send(&["C-a"]);
    t.wait("the exit", |s| s.contains("EXIT=0"));
    assert!(!screen.contains("Eu  ES:"), "{screen}");
    let t = tmux::Tmux::start("cr", &com("--line-ending cr --timestamp=iso8601"));
    let iso =
        regex::Regex::new(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d\] S:").unwrap();
    let screen = t.wait("a stamped frame", |s| iso.is_match(s));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let later = t.screen();
    let lines = |s: &str| s.lines().filter(|l| l.contains("Eu  E")).count();
    assert_eq!(lines(&later), 1, "one line, rewritten:\n{screen}\n{later}");
    t.send(&["C-a"]);
    t.wait("the exit", |s| s.contains("EXIT=0"));
}

#[test]
fn hex_view_echo_settings_and_clear() {
    let t = tmux::Tmux::start("hex", &com("--hex --map OLTU"));
    let re = regex::Regex::new(r"^[0-9a-f]{8}  53 3a 20 20 ").unwrap();
    let row =
        regex::Regex::new(r"^[0-9a-f]{8}  ([0-9a-f]{2} ){8} ([0-9a-f]{2} ){8} \|.{16}\|$").unwrap();
    t.wait("a hex row starting a frame", |s| {
        s.lines().any(|l| re.is_match(l)) && frames(s, &row) >= 3
    });
    t.send(&["C-t", "c"]);
    let screen = t.wait("the settings", |s| s.contains("[SETTINGS]: "));
    assert!(screen.contains("  hex        on"), "{screen}");
    assert!(screen.contains("  maps       OLTU"), "{screen}");
    t.send(&["C-t", "e"]);
    t.wait("echo on", |s| s.contains("com: local echo on"));
    t.send(&["-l", "zq"]);
    // Echoed as sent: OLTU makes it upper case.
    t.wait("the echo", |s| s.contains("ZQ"));
    t.send(&["C-t", "l"]);
    t.wait("a cleared screen", |s| {
        !s.contains("[SETTINGS]") && !s.contains("ZQ")
    });
    t.send(&["C-a"]);
    t.wait("the exit", |s| s.contains("EXIT=0"));
}
