//! The health checks themselves: tcp connect, http/https GET (bounded,
//! parsed as untrusted input), exec (no shell, killed with its whole process
//! group at the timeout).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use lvs_director::config::{CheckKind, ExecCheck, HttpCheck};
use lvs_director::http::{MAX_REPLY, content_length, header_end, judge};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// What one check runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    /// The check.
    pub kind: CheckKind,
    /// Where to connect (the real server, or its `port` override).
    pub target: SocketAddr,
    /// The check's time limit.
    pub timeout: Duration,
    /// Time between check starts.
    pub interval: Duration,
    /// Spread the first check over one interval.
    pub spread: bool,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed; `weight` is set by a dynamic exec check.
    Up {
        /// The weight asked for.
        weight: Option<u32>,
        /// What was seen.
        detail: String,
    },
    /// Failed, with the reason.
    Down(String),
}

/// Runs one check, never longer than its timeout (an exec check is killed
/// then, with everything it started).
pub async fn run(spec: &ProbeSpec) -> Outcome {
    let limit = spec.timeout;
    let result = match &spec.kind {
        CheckKind::None => Ok(Outcome::Up {
            weight: None,
            detail: "no check".into(),
        }),
        CheckKind::Exec(exec) => return run_exec(exec, spec).await,
        CheckKind::Tcp => timeout(limit, tcp(spec.target)).await,
        CheckKind::Http(http) => timeout(limit, http_check(spec.target, http, false)).await,
        CheckKind::Https(http) => timeout(limit, http_check(spec.target, http, true)).await,
    };
    result.unwrap_or_else(|_| {
        Outcome::Down(format!(
            "{}: no answer within {}",
            spec.kind.name(),
            lvs_director::duration::format_duration(limit)
        ))
    })
}

async fn tcp(target: SocketAddr) -> Outcome {
    match TcpStream::connect(target).await {
        Ok(_) => Outcome::Up {
            weight: None,
            detail: "tcp: connected".into(),
        },
        Err(e) => Outcome::Down(format!("tcp: {}", plain_io_error(&e))),
    }
}

async fn http_check(target: SocketAddr, check: &HttpCheck, tls: bool) -> Outcome {
    let name = if tls { "https" } else { "http" };
    let stream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(e) => return Outcome::Down(format!("{name}: {}", plain_io_error(&e))),
    };
    let host = check.host.clone().unwrap_or_else(|| match target {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => a.to_string(),
    });
    let reply = if tls {
        let server_name = match check.host.as_deref() {
            Some(h) => match rustls::pki_types::ServerName::try_from(h.to_string()) {
                Ok(n) => n,
                Err(_) => rustls::pki_types::ServerName::IpAddress(target.ip().into()),
            },
            None => rustls::pki_types::ServerName::IpAddress(target.ip().into()),
        };
        let connector = tokio_rustls::TlsConnector::from(tls_config());
        match connector.connect(server_name, stream).await {
            Ok(s) => exchange(s, &host, check).await,
            Err(e) => Err(format!("TLS handshake: {e}")),
        }
    } else {
        exchange(stream, &host, check).await
    };
    match reply {
        Ok(reply) => match judge(name, &reply, check) {
            Ok(detail) => Outcome::Up {
                weight: None,
                detail,
            },
            Err(reason) => Outcome::Down(reason),
        },
        Err(e) => Outcome::Down(format!("{name}: {e}")),
    }
}

/// Sends the GET and reads at most [`MAX_REPLY`] bytes of the answer: up to
/// the end of the headers when no body is checked, else up to the end of the
/// body (`Content-Length`, or the connection's end).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    check: &HttpCheck,
) -> Result<Vec<u8>, String> {
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: lvsd\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        check.path
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| plain_io_error(&e))?;
    stream.flush().await.map_err(|e| plain_io_error(&e))?;
    let mut reply = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if reply.len() >= MAX_REPLY {
            reply.truncate(MAX_REPLY);
            break;
        }
        if let Some(end) = header_end(&reply) {
            if check.body.is_none() {
                break;
            }
            if let Some(length) = content_length(&reply[..end])
                && reply.len() - end >= length
            {
                break;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            // A TLS peer closing without close_notify: what came is the answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !reply.is_empty() => break,
            Err(e) => return Err(plain_io_error(&e)),
        }
    }
    Ok(reply)
}

/// One TLS client configuration for all checks. Certificates are not
/// verified (as keepalived's SSL_GET without a CA): a check asks whether the
/// real server answers, not whom it is; signatures are still checked.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Kills a process group when dropped (an exec check's program and
/// everything it started), so that nothing outlives its check.
struct ProcessGroup(i32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // ESRCH (the group is already gone) is the usual, good case.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// The arguments of an exec check for one real server.
pub fn exec_arguments(check: &ExecCheck, target: SocketAddr) -> Vec<String> {
    check
        .command
        .iter()
        .map(|a| {
            a.replace("{address}", &target.ip().to_string())
                .replace("{port}", &target.port().to_string())
        })
        .collect()
}

async fn run_exec(check: &ExecCheck, spec: &ProbeSpec) -> Outcome {
    let args = exec_arguments(check, spec.target);
    let Some((program, rest)) = args.split_first() else {
        return Outcome::Down("exec: empty command".into());
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome::Down(format!(
                "exec: cannot run {program}: {}",
                plain_io_error(&e)
            ));
        }
    };
    // The child leads its own group: killing the group kills what it started.
    let group = child.id().map(|pid| ProcessGroup(pid as i32));
    let status = match timeout(spec.timeout, child.wait()).await {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Outcome::Down(format!("exec: {}", plain_io_error(&e))),
        Err(_) => {
            drop(group);
            let _ = child.wait().await;
            return Outcome::Down(format!(
                "exec: killed at its timeout of {}",
                lvs_director::duration::format_duration(spec.timeout)
            ));
        }
    };
    drop(group);
    misc_check(status.code(), check.dynamic)
}

/// keepalived's MISC_CHECK contract: 0 up, 1 down; with `dynamic`, 2–255
/// up with weight status − 2; anything else (or a signal) down.
pub fn misc_check(code: Option<i32>, dynamic: bool) -> Outcome {
    match code {
        Some(0) => Outcome::Up {
            weight: None,
            detail: "exec: exit status 0".into(),
        },
        Some(c @ 2..=255) if dynamic => Outcome::Up {
            weight: Some(c as u32 - 2),
            detail: format!("exec: exit status {c}, weight {}", c - 2),
        },
        Some(c) => Outcome::Down(format!("exec: exit status {c}")),
        None => Outcome::Down("exec: killed by a signal".into()),
    }
}

/// An I/O error without the standard library's "(os error N)".
pub fn plain_io_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_lowercase(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvs_director::config::StatusRanges;

    fn check(body: Option<&str>) -> HttpCheck {
        HttpCheck {
            path: "/".into(),
            host: None,
            status: StatusRanges(vec![(200, 399)]),
            body: body.map(|b| lvs_director::config::BodyRegex(regex::Regex::new(b).unwrap())),
        }
    }

    #[test]
    fn misc_check_contract() {
        assert!(matches!(
            misc_check(Some(0), false),
            Outcome::Up { weight: None, .. }
        ));
        assert_eq!(
            misc_check(Some(1), true),
            Outcome::Down("exec: exit status 1".into())
        );
        assert!(matches!(
            misc_check(Some(7), true),
            Outcome::Up {
                weight: Some(5),
                ..
            }
        ));
        assert!(matches!(misc_check(Some(7), false), Outcome::Down(_)));
        assert!(matches!(misc_check(None, true), Outcome::Down(_)));
    }

    /// A one-shot server on loopback answering every connection with `reply`
    /// after reading the request head; returns its address.
    async fn server(reply: &'static [u8]) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n")
                    && stream.read(&mut byte).await.is_ok_and(|n| n == 1)
                {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(reply).await;
            }
        });
        address
    }

    /// A check with a timeout generous enough for a loaded CI machine.
    fn spec(kind: CheckKind, target: SocketAddr) -> ProbeSpec {
        ProbeSpec {
            kind,
            target,
            timeout: Duration::from_secs(5),
            interval: Duration::from_secs(5),
            spread: false,
        }
    }

    /// A check whose timeout is the point of the test.
    fn short(kind: CheckKind, target: SocketAddr) -> ProbeSpec {
        ProbeSpec {
            timeout: Duration::from_millis(500),
            ..spec(kind, target)
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn http_checks_over_loopback() {
        runtime().block_on(async {
            let ok = server(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy").await;
            assert!(matches!(
                run(&spec(CheckKind::Http(check(Some("heal"))), ok)).await,
                Outcome::Up { .. }
            ));
            let busy = server(b"HTTP/1.1 503 Busy\r\n\r\n").await;
            assert_eq!(
                run(&spec(CheckKind::Http(check(None)), busy)).await,
                Outcome::Down("http: status 503 not in 200-399".into())
            );
            // A server that says nothing: failed at the timeout.
            let mute = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mute_addr = mute.local_addr().unwrap();
            assert_eq!(
                run(&short(CheckKind::Http(check(None)), mute_addr)).await,
                Outcome::Down("http: no answer within 500ms".into())
            );
            // An endless reply is cut at MAX_REPLY and judged on what came.
            static HUGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
            let huge = HUGE.get_or_init(|| {
                let mut v = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
                v.resize(4 * MAX_REPLY, b'x');
                v
            });
            let big = server(huge).await;
            assert_eq!(
                run(&spec(CheckKind::Http(check(Some("healthy"))), big)).await,
                Outcome::Down("http: status 200, body does not match /healthy/".into())
            );
            let garbage = server(b"\x00\xffnot http at all\r\n\r\n").await;
            assert_eq!(
                run(&spec(CheckKind::Http(check(None)), garbage)).await,
                Outcome::Down("http: not an HTTP/1.x reply".into())
            );
            drop(mute);
            // Nothing listening: refused at once.
            let closed = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap()
            };
            assert_eq!(
                run(&spec(CheckKind::Tcp, closed)).await,
                Outcome::Down("tcp: connection refused".into())
            );
            assert!(matches!(
                run(&spec(CheckKind::Tcp, ok)).await,
                Outcome::Up { .. }
            ));
        });
    }

    #[test]
    fn exec_checks_follow_misc_check_and_are_killed_at_their_timeout() {
        runtime().block_on(async {
            let exec = |command: &[&str], dynamic| {
                CheckKind::Exec(ExecCheck {
                    command: command.iter().map(|s| s.to_string()).collect(),
                    dynamic,
                })
            };
            let target: SocketAddr = "127.0.0.1:8080".parse().unwrap();
            assert!(matches!(
                run(&spec(exec(&["/bin/true"], false), target)).await,
                Outcome::Up { .. }
            ));
            assert_eq!(
                run(&spec(exec(&["/bin/false"], false), target)).await,
                Outcome::Down("exec: exit status 1".into())
            );
            // Arguments substituted, no shell: the port arrives as one word.
            assert!(matches!(
                run(&spec(
                    exec(
                        &["/bin/sh", "-c", "exit $(( $1 - 8070 ))", "sh", "{port}"],
                        true
                    ),
                    target
                ))
                .await,
                Outcome::Up {
                    weight: Some(8),
                    ..
                }
            ));
            assert_eq!(
                run(&spec(exec(&["/nonexistent/check"], false), target)).await,
                Outcome::Down(
                    "exec: cannot run /nonexistent/check: no such file or directory".into()
                )
            );
            // A hanging check and what it started in the background: all gone.
            let dir = std::env::temp_dir().join(format!("lvsd-probe-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let pids = dir.join("pids");
            let script = format!(
                "sleep 30 & echo $! > {0}; echo $$ >> {0}; sleep 30",
                pids.display()
            );
            let started = std::time::Instant::now();
            let outcome = run(&short(exec(&["/bin/sh", "-c", &script], false), target)).await;
            assert_eq!(
                outcome,
                Outcome::Down("exec: killed at its timeout of 500ms".into())
            );
            assert!(started.elapsed() < Duration::from_secs(3));
            let text = std::fs::read_to_string(&pids).unwrap();
            for pid in text.split_whitespace() {
                // SIGKILL was sent: within a moment the process is gone, or a
                // zombie waiting for its new parent to reap it.
                let path = format!("/proc/{pid}/stat");
                let dead = || {
                    let stat = std::fs::read_to_string(&path).unwrap_or_default();
                    stat.is_empty() || stat.contains(") Z ")
                };
                let deadline = std::time::Instant::now() + Duration::from_secs(1);
                while !dead() && std::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let stat = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(dead(), "process {pid} left: {stat}");
            }
            let _ = std::fs::remove_dir_all(&dir);
        });
    }

    /// A TLS server on loopback (a fresh self-signed certificate) answering
    /// every connection with `reply`.
    async fn tls_server(reply: &'static [u8]) -> SocketAddr {
        let certified = rcgen::generate_simple_self_signed(vec!["real.example".into()]).unwrap();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    continue;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n")
                    && tls.read(&mut byte).await.is_ok_and(|n| n == 1)
                {
                    head.push(byte[0]);
                }
                let _ = tls.write_all(reply).await;
                let _ = tls.shutdown().await;
            }
        });
        address
    }

    #[test]
    fn https_checks_over_loopback() {
        runtime().block_on(async {
            let ok = tls_server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
            let mut with_name = check(Some("^ok$"));
            with_name.host = Some("real.example".into());
            assert_eq!(
                run(&spec(CheckKind::Https(with_name), ok)).await,
                Outcome::Up {
                    weight: None,
                    detail: "https: status 200".into()
                }
            );
            // By address (no host): the certificate's name is not checked.
            assert!(matches!(
                run(&spec(CheckKind::Https(check(None)), ok)).await,
                Outcome::Up { .. }
            ));
            let failing = tls_server(b"HTTP/1.1 500 Oops\r\n\r\n").await;
            assert_eq!(
                run(&spec(CheckKind::Https(check(None)), failing)).await,
                Outcome::Down("https: status 500 not in 200-399".into())
            );
            // A plain HTTP server behind an https check: the handshake fails.
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let plain = listener.local_addr().unwrap();
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
                }
            });
            match run(&spec(CheckKind::Https(check(None)), plain)).await {
                Outcome::Down(reason) => {
                    assert!(reason.starts_with("https: TLS handshake:"), "{reason}")
                }
                up => panic!("{up:?}"),
            }
        });
    }
}
