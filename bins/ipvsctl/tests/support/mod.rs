//! Reading the golden captures of ipvsadm 1.31 talking to a real kernel
//! (`crates/ipvs-proto/tests/data/`, the workspace's one copy): the command,
//! its exit status and output, and every IPVS request and reply, typed with
//! `ipvs-proto`. The files are read by ipvs-proto's own capture reader.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ipvs_proto::{IpvsMessage, Reply, Request};
use netlink_packet_core::ParseableParametrized;
use netlink_packet_generic::GenlHeader;

#[path = "../../../../crates/ipvs-proto/tests/support/capture.rs"]
mod capture;

/// One IPVS message of a capture.
#[derive(Debug, Clone)]
pub struct Message {
    /// True for what ipvsadm sent.
    pub sent: bool,
    /// netlink header flags.
    pub flags: u16,
    /// The whole netlink message.
    pub bytes: Vec<u8>,
    pub message: IpvsMessage,
}

/// One capture file.
#[derive(Debug, Clone)]
pub struct Capture {
    pub name: String,
    pub command: String,
    pub status: i32,
    /// ipvsadm's stdout and stderr.
    pub output: String,
    pub family: u16,
    pub messages: Vec<Message>,
    /// Kernel errors (negative errno) of NLMSG_ERROR replies, in order.
    pub errors: Vec<i32>,
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The golden captures: ipvs-proto's `tests/data/`, read in place (ipvsctl is
/// a binary of this workspace, never built outside it).
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/ipvs-proto/tests/data")
}

/// Reads the golden capture `NAME` (see [`golden_dir`]).
pub fn load(name: &str) -> Capture {
    let raw = capture::read(&golden_dir().join(name));
    let mut capture = Capture {
        name: raw.name,
        command: raw.command,
        status: raw.status,
        output: raw.output.iter().map(|line| format!("{line}\n")).collect(),
        family: raw.family_id,
        messages: Vec::new(),
        errors: Vec::new(),
    };
    for (direction, buffer) in &raw.buffers {
        capture.split(buffer, *direction == capture::Direction::Send);
    }
    capture
}

impl Capture {
    fn split(&mut self, buf: &[u8], sent: bool) {
        let mut off = 0;
        while off + 16 <= buf.len() {
            let len = u32::from_le_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
            let kind = u16::from_le_bytes([buf[off + 4], buf[off + 5]]);
            let flags = u16::from_le_bytes([buf[off + 6], buf[off + 7]]);
            let msg = &buf[off..off + len];
            if kind == 2 {
                let errno = i32::from_le_bytes(msg[16..20].try_into().unwrap());
                if errno != 0 {
                    self.errors.push(errno);
                }
            } else if kind == self.family {
                let header = GenlHeader {
                    cmd: msg[16],
                    version: msg[17],
                };
                let message = IpvsMessage::parse_with_param(&msg[20..], header)
                    .unwrap_or_else(|e| panic!("{}: {e}", self.name));
                self.messages.push(Message {
                    sent,
                    flags,
                    bytes: msg.to_vec(),
                    message,
                });
            }
            off += (len + 3) & !3;
        }
    }

    /// The requests ipvsadm sent, typed.
    pub fn requests(&self) -> Vec<(Request, &Message)> {
        self.messages
            .iter()
            .filter(|m| m.sent)
            .map(|m| {
                let dump = m.flags & 0x300 != 0;
                (Request::from_message(&m.message, dump).expect("request"), m)
            })
            .collect()
    }

    /// Every reply, with the request it answers.
    pub fn exchanges(&self) -> Vec<(Request, Vec<Reply>)> {
        let mut out: Vec<(Request, Vec<Reply>)> = Vec::new();
        for m in &self.messages {
            if m.sent {
                let dump = m.flags & 0x300 != 0;
                out.push((
                    Request::from_message(&m.message, dump).expect("request"),
                    Vec::new(),
                ));
            } else if let Some((request, replies)) = out.last_mut() {
                let hint = match request {
                    Request::GetDestinations(key) => Some(key.family()),
                    _ => None,
                };
                replies.push(Reply::from_message(&m.message, hint).expect("reply"));
            }
        }
        out
    }

    /// The command's words after `ipvsadm`.
    pub fn argv(&self) -> Vec<String> {
        self.command.split_whitespace().map(String::from).collect()
    }
}

/// One case of the bad-input matrix.
#[derive(Debug, Clone)]
pub struct Case {
    pub status: i32,
    pub args: Vec<String>,
    pub stderr: String,
}

pub fn bad_input_cases() -> Vec<Case> {
    let text = std::fs::read_to_string(data_dir().join("bad-input.txt")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.splitn(3, " | ");
            let status = parts.next().unwrap().trim().parse().unwrap();
            let args = parts
                .next()
                .unwrap()
                .split_whitespace()
                .map(|w| {
                    if w == "''" {
                        String::new()
                    } else {
                        w.to_string()
                    }
                })
                .collect();
            let stderr = format!("{}\n", parts.next().unwrap().replace("\\n", "\n"));
            Case {
                status,
                args,
                stderr,
            }
        })
        .collect()
}

/// What a program printed: exit status, stdout, stderr.
pub fn spawn(
    program: &str,
    args: &[impl AsRef<std::ffi::OsStr>],
    input: Option<&str>,
) -> (Option<i32>, String, String) {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
