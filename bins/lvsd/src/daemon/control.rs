//! The control socket: a Unix stream socket, mode 0600, that answers only
//! root or the daemon's own user (checked with `SO_PEERCRED`). One request
//! line per connection (`status` or `reload`), one JSON answer.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::ControlRequest;
use super::log::{self, Level};
use super::status::Snapshot;

/// The longest request line read.
const MAX_REQUEST: usize = 64;

/// Binds the socket at `path` (its directory made 0700 if missing, a stale
/// socket replaced) and restricts it to its owner.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            anyhow::bail!("{} is in use: is another lvsd running?", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))?;
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("binding the control socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))?;
    Ok(listener)
}

/// Answers control connections forever.
pub async fn serve(
    listener: UnixListener,
    requests: mpsc::Sender<ControlRequest>,
    snapshot: Arc<Mutex<Snapshot>>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                log::line(Level::Error, &format!("control socket: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(answer(stream, requests.clone(), snapshot.clone()));
    }
}

async fn answer(
    mut stream: UnixStream,
    requests: mpsc::Sender<ControlRequest>,
    snapshot: Arc<Mutex<Snapshot>>,
) {
    let allowed = stream
        .peer_cred()
        .is_ok_and(|c| c.uid() == 0 || c.uid() == nix::unistd::geteuid().as_raw());
    let reply = if !allowed {
        json!({"ok": false, "error": "permission denied: the control socket answers root only"})
    } else {
        match read_line(&mut stream).await {
            Some(line) if line == "status" => match snapshot.lock() {
                Ok(s) => json!({"ok": true, "status": &*s}),
                Err(_) => json!({"ok": false, "error": "state unavailable"}),
            },
            Some(line) if line == "reload" => {
                let (tx, rx) = oneshot::channel();
                if requests.send(ControlRequest::Reload(tx)).await.is_err() {
                    json!({"ok": false, "error": "the daemon is stopping"})
                } else {
                    match rx.await {
                        Ok(Ok(summary)) => json!({"ok": true, "message": summary}),
                        Ok(Err(errors)) => json!({"ok": false, "error": errors}),
                        Err(_) => json!({"ok": false, "error": "the daemon is stopping"}),
                    }
                }
            }
            Some(_) => json!({"ok": false, "error": "unknown request (status or reload)"}),
            None => return,
        }
    };
    let mut bytes = reply.to_string().into_bytes();
    bytes.push(b'\n');
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

/// One request line, at most [`MAX_REQUEST`] bytes, within 5 seconds.
async fn read_line(stream: &mut UnixStream) -> Option<String> {
    let mut buf = Vec::with_capacity(MAX_REQUEST);
    let read = async {
        let mut byte = [0u8; 1];
        while buf.len() < MAX_REQUEST {
            match stream.read(&mut byte).await {
                Ok(0) => break,
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => buf.push(byte[0]),
                Err(_) => return false,
            }
        }
        true
    };
    match tokio::time::timeout(Duration::from_secs(5), read).await {
        Ok(true) => String::from_utf8(buf).ok().map(|s| s.trim().to_string()),
        _ => None,
    }
}

/// The client side: sends `request` to the daemon at `socket` and returns its
/// JSON answer.
pub fn ask(socket: &Path, request: &str) -> anyhow::Result<serde_json::Value> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .with_context(|| format!("connecting to {} (is lvsd running?)", socket.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    let mut answer = String::new();
    stream
        .take(64 << 20)
        .read_to_string(&mut answer)
        .context("reading the daemon's answer")?;
    serde_json::from_str(&answer)
        .with_context(|| format!("the daemon's answer is not JSON: {answer:?}"))
}
