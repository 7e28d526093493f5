//! Ctrl-T v in a real terminal (tmux): the demo's frames, each followed by a
//! `[VALUES]:` line with the frame's decoded values, toggled on and off.
#[path = "support/tmux.rs"]
mod tmux;

use hpm_frame::{
    Frame,
    decode::{DecodeRule, TableRule},
    field::Label,
};

#[test]
fn ctrl_t_v_shows_each_frames_values_under_it() {
    let script = format!(
        "{} --demo --demo-interval 0.3; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_com")
    );
    let tmux = tmux::Tmux::start("values", &script);
    tmux.wait("a frame", |s| s.contains("Eu  E"));
    tmux.send(&["C-t", "v"]);
    let re = regex::Regex::new(
        r"^\[VALUES\]: (\d+\.\d) V  (\d+\.\d+) A  \d+\.\d{3} kW  PF 0\.\d{3}  \d+\.\d\d Hz  \d+\.\d+ kWh$",
    )
    .unwrap();
    let screen = tmux.wait("two values lines", |s| {
        s.contains("com: live values on: ") && s.lines().filter(|l| re.is_match(l)).count() >= 2
    });
    // Each values line says what the frame above it says.
    let lines: Vec<&str> = screen.lines().collect();
    let rule = TableRule::inferred();
    let mut checked = 0;
    for pair in lines.windows(2) {
        let Some(caps) = re.captures(pair[1]) else {
            continue;
        };
        let frame = Frame::parse(pair[0].trim_end().as_bytes())
            .unwrap_or_else(|e| panic!("{e}: {:?}\n{screen}", pair[0]));
        let shown = |label| {
            rule.decode(frame.get(label).unwrap())
                .unwrap()
                .amount
                .to_string()
        };
        assert_eq!(&caps[1], shown(Label::Vo), "{screen}");
        assert_eq!(
            &caps[2].trim_end_matches('0'),
            &shown(Label::Am).trim_end_matches('0')
        );
        checked += 1;
    }
    assert!(checked >= 2, "{screen}");
    tmux.send(&["C-t", "v"]);
    tmux.wait("values off", |s| s.contains("com: live values off"));
    tmux.send(&["C-a"]);
    tmux.wait("the exit", |s| s.contains("EXIT=0"));
}
