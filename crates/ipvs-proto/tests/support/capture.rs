//! Reading one golden capture (`crates/ipvs-proto/tests/data/`, format in its
//! `README.md`): the command line, its exit status and output, the IPVS family
//! id of that boot and every syscall buffer in order, as bytes.
//!
//! Shared by path (`#[path]`) by ipvs-proto's `tests/golden.rs` and ipvsctl's
//! `tests/support/mod.rs`, which read the same files and type the messages
//! each their own way.

use std::path::Path;

/// Which way a syscall buffer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// ipvsadm sent it.
    Send,
    /// ipvsadm received it.
    Recv,
}

/// One capture file, as written.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The file name.
    pub name: String,
    /// The command line (`# command:`).
    pub command: String,
    /// Its exit status (`# exit status:`).
    pub status: i32,
    /// The generic-netlink family id of IPVS in that boot.
    pub family_id: u16,
    /// ipvsadm's stdout and stderr, one entry a line, without line ends.
    pub output: Vec<String>,
    /// Every `send` / `recv` buffer, in order.
    pub buffers: Vec<(Direction, Vec<u8>)>,
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Reads the capture at `path`; panics naming the file when it cannot.
pub fn read(path: &Path) -> Capture {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().expect("a file name").to_string_lossy();
    let mut capture = Capture {
        name: name.into_owned(),
        command: String::new(),
        status: 0,
        family_id: 0,
        output: Vec::new(),
        buffers: Vec::new(),
    };
    let mut in_output = false;
    for line in text.lines() {
        if let Some(command) = line.strip_prefix("# command: ") {
            capture.command = command.to_owned();
        } else if let Some(status) = line.strip_prefix("# exit status: ") {
            capture.status = status.trim().parse().expect("exit status");
        } else if let Some(rest) = line.strip_prefix("# IPVS genl family id in this boot: ") {
            capture.family_id = rest.split(' ').next().unwrap().parse().expect("family id");
        } else if line == "# stdout+stderr:" {
            in_output = true;
        } else if let Some(out) = line.strip_prefix("#   ").filter(|_| in_output) {
            if out != "(none)" {
                capture.output.push(out.to_owned());
            }
        } else if let Some(bytes) = line.strip_prefix("send ") {
            in_output = false;
            capture.buffers.push((Direction::Send, hex(bytes)));
        } else if let Some(bytes) = line.strip_prefix("recv ") {
            in_output = false;
            capture.buffers.push((Direction::Recv, hex(bytes)));
        }
    }
    capture
}
