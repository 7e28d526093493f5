//! Standard output as ipvsadm writes it: the whole text at once, a closed
//! pipe not an error.

use std::io::Write as _;

use anyhow::Context as _;

/// Writes `text` to stdout; a closed pipe is not an error.
pub fn write_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`ipvsctl -Ln | head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}
