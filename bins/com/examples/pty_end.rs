//! The far end of a pseudo-terminal, for `cargo xtask bench-pty`.
//!
//! `pty_end sink N`: creates a pty pair (slave raw), prints the slave's path,
//! reads N bytes from the master, checks them against the benchmark pattern,
//! prints `ok N` and exits.
//! `pty_end source N`: the same pair; writes N bytes of the pattern to the master,
//! then waits for its stdin to close (so the bytes still in the pty are not
//! discarded by a hang-up) and exits.
//!
//! The pattern: byte i is `(i % 251) as u8 ^ (i / 4096) as u8`, so a lost,
//! repeated or reordered block shows.
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::process::ExitCode;

use nix::fcntl::OFlag;

fn pattern(offset: u64, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        let at = offset + i as u64;
        *byte = (at % 251) as u8 ^ (at / 4096) as u8;
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pty_end: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, total) = match args.as_slice() {
        [mode, n] => (mode.as_str(), n.parse::<u64>()?),
        _ => return Err("usage: pty_end sink|source BYTES".into()),
    };
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)?;
    nix::pty::grantpt(&master)?;
    nix::pty::unlockpt(&master)?;
    let path = nix::pty::ptsname_r(&master)?;
    // Hold the slave open, raw, so the pty is a clean byte pipe before the
    // bridge under test opens it.
    let slave = File::options().read(true).write(true).open(&path)?;
    let mut tio = nix::sys::termios::tcgetattr(&slave)?;
    nix::sys::termios::cfmakeraw(&mut tio);
    nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &tio)?;
    let mut master = File::from(OwnedFd::from(master));
    println!("{path}");
    io::stdout().flush()?;

    let mut buf = vec![0u8; 64 * 1024];
    let mut expected = vec![0u8; 64 * 1024];
    let mut done = 0u64;
    match mode {
        "sink" => {
            while done < total {
                let n = master.read(&mut buf)?;
                if n == 0 {
                    return Err(format!("end of data after {done} bytes").into());
                }
                pattern(done, &mut expected[..n]);
                if buf[..n] != expected[..n] {
                    return Err(format!("wrong bytes near offset {done}").into());
                }
                done += n as u64;
            }
            println!("ok {done}");
        }
        "source" => {
            while done < total {
                let n = buf.len().min((total - done) as usize);
                pattern(done, &mut buf[..n]);
                master.write_all(&buf[..n])?;
                done += n as u64;
            }
            let mut rest = Vec::new();
            io::stdin().read_to_end(&mut rest)?;
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    drop(slave);
    Ok(())
}
