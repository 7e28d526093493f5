//! A private tmux server for terminal tests (`#[path]`-included by the test
//! binaries that drive `com` interactively).
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A private tmux server running one shell script in a 120x40 pane.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(name: &str, script: &str) -> Tmux {
        let version = Command::new("tmux").arg("-V").output();
        assert!(
            version.is_ok_and(|v| v.status.success()),
            "tmux is needed for this test (`cargo xtask ci` installs it)"
        );
        let tmux = Tmux {
            socket: format!("com-{name}-{}", std::process::id()),
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

    pub fn send(&self, keys: &[&str]) {
        let status = self
            .cmd()
            .args(["send-keys", "-t", "0"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn screen(&self) -> String {
        let out = self
            .cmd()
            .args(["capture-pane", "-p", "-t", "0"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn wait(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
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
