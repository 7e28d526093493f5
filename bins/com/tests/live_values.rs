//! Ctrl-T v in a real terminal (tmux): the demo's frames, each followed by a
//! `[VALUES]:` line with the frame's decoded values, toggled on and off.
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use hpm_frame::{DecodeRule, Frame, Label, TableRule};

/// A private tmux server running one shell script in a 120x40 pane.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(script: &str) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|v| v.status.success()),
            "tmux is needed for this test (`cargo xtask ci` installs it)"
        );
        let tmux = Tmux {
            socket: format!("com-values-{}", std::process::id()),
        };
        let status = tmux
            .cmd()
            .args(["new-session", "-d", "-x", "120", "-y", "40", script])
            .status()
            .unwrap();
        assert!(status.success());
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket, "-f", "/dev/null"])
            .env("TERM", "xterm")
            .stdin(Stdio::null());
        cmd
    }

    fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "0"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\n{screen}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

#[test]
fn ctrl_t_v_shows_each_frames_values_under_it() {
    let script = format!(
        "{} --demo --demo-interval 0.3; echo EXIT=$?; sleep 30",
        env!("CARGO_BIN_EXE_com")
    );
    let tmux = Tmux::start(&script);
    tmux.wait("a frame", |s| s.contains("Eu  E"));
    tmux.send(&["C-t", "v"]);
    let re = regex::Regex::new(
        r"^\[VALUES\]: (\d+\.\d) V  (\d+\.\d+) A  \d+\.\d+ kW  PF 0\.\d+  \d+\.\d+ Hz  \d+ Wh$",
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
