//! Starting `lvs-agent serve` on a loopback port of its choosing.
#![allow(dead_code)]
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lvs_feedback::Report;

/// A running `lvs-agent serve`, killed on drop.
pub struct Agent {
    child: Child,
    pub addr: SocketAddr,
}

impl Agent {
    /// Starts `lvs-agent serve --listen 127.0.0.1:0 ARGS...` and reads the
    /// port it chose from its first line on stderr.
    pub fn start(args: &[&str]) -> Agent {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lvs-agent"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting lvs-agent");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr
            .read_line(&mut line)
            .expect("reading lvs-agent's stderr");
        let addr = line
            .strip_prefix("lvs-agent: serving on ")
            .and_then(|rest| {
                rest.split(':')
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(":")
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("lvs-agent's first line: {line:?}"));
        // Keep draining stderr so that the agent never blocks on it.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stderr.read_to_end(&mut sink);
        });
        Agent { child, addr }
    }

    /// One connection's answer, as bytes.
    pub fn raw(&self) -> Vec<u8> {
        let mut s =
            TcpStream::connect_timeout(&self.addr, Duration::from_secs(5)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("read");
        out
    }

    /// One connection's answer, read as HAProxy reads it.
    pub fn ask(&self) -> Report {
        Report::parse(&self.raw()).expect("a valid agent answer")
    }

    /// Asks until `pred` holds (at most `secs` seconds); returns the last answer.
    pub fn ask_until(&self, secs: u64, pred: impl Fn(&Report) -> bool) -> Report {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let r = self.ask();
            if pred(&r) || Instant::now() > end {
                return r;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
