//! HTTP health-check replies, read as untrusted input: a bounded reply (the
//! caller reads at most [`MAX_REPLY`] bytes), a strict status line, the body
//! matched as lossy UTF-8. Nothing here panics on any bytes.

use crate::config::HttpCheck;

/// The most of an HTTP reply a check reads; the rest is ignored.
pub const MAX_REPLY: usize = 64 * 1024;

/// The index just past the blank line that ends the headers (`\r\n\r\n`, or
/// a bare `\n\n`).
pub fn header_end(reply: &[u8]) -> Option<usize> {
    reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| reply.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
}

/// The `Content-Length` of a header block, if it has a valid one.
pub fn content_length(headers: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(headers).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

/// The status code of a reply's first line (`HTTP/1.x NNN[ reason]`), or why
/// it is not one.
pub fn status_of(reply: &[u8]) -> Result<u16, String> {
    let line_end = reply
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no complete status line")?;
    let line = reply[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&reply[..line_end]);
    let rest = line
        .strip_prefix(b"HTTP/1.")
        .ok_or("not an HTTP/1.x reply")?;
    match rest {
        [v, b' ', a, b, c, ..]
            if v.is_ascii_digit()
                && a.is_ascii_digit()
                && b.is_ascii_digit()
                && c.is_ascii_digit()
                && rest.get(5).is_none_or(|&x| x == b' ') =>
        {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err("malformed status line".into()),
    }
}

/// Judges a reply against the check: `Ok(what was seen)` when the status is
/// in range and the body (if checked) matches, else `Err(why not)`; `name`
/// (`http`, `https`) starts both.
pub fn judge(name: &str, reply: &[u8], check: &HttpCheck) -> Result<String, String> {
    let status = status_of(reply).map_err(|e| format!("{name}: {e}"))?;
    if !check.status.contains(status) {
        return Err(format!("{name}: status {status} not in {}", check.status));
    }
    if let Some(body_re) = &check.body {
        let body = header_end(reply).map_or(&[][..], |end| &reply[end..]);
        let body = String::from_utf8_lossy(body);
        if !body_re.0.is_match(&body) {
            return Err(format!(
                "{name}: status {status}, body does not match /{}/",
                body_re.0.as_str()
            ));
        }
    }
    Ok(format!("{name}: status {status}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BodyRegex, StatusRanges};
    use proptest::prelude::*;

    fn check(body: Option<&str>) -> HttpCheck {
        HttpCheck {
            path: "/".into(),
            host: None,
            status: StatusRanges(vec![(200, 399)]),
            body: body.map(|b| BodyRegex(regex::Regex::new(b).unwrap())),
        }
    }

    #[test]
    fn status_lines_are_parsed_strictly() {
        assert_eq!(status_of(b"HTTP/1.1 200 OK\r\n"), Ok(200));
        assert_eq!(status_of(b"HTTP/1.0 503\r\n"), Ok(503));
        assert_eq!(status_of(b"HTTP/1.1 204 No Content\n"), Ok(204));
        assert!(status_of(b"HTTP/1.1 200 OK").is_err(), "no line end");
        assert!(status_of(b"HTTP/2 200\r\n").is_err());
        assert!(status_of(b"HTTP/1.1 20x OK\r\n").is_err());
        assert!(status_of(b"HTTP/1.1 2000 OK\r\n").is_err());
        assert!(status_of(b"\xff\xfe\r\n").is_err());
        assert!(status_of(b"").is_err());
    }

    #[test]
    fn replies_are_judged() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nhealthy";
        assert_eq!(
            judge("http", ok, &check(None)),
            Ok("http: status 200".into())
        );
        assert!(judge("http", ok, &check(Some("^heal"))).is_ok());
        assert_eq!(
            judge("http", ok, &check(Some("sick"))),
            Err("http: status 200, body does not match /sick/".into())
        );
        assert_eq!(
            judge("https", b"HTTP/1.1 503 Busy\r\n\r\n", &check(None)),
            Err("https: status 503 not in 200-399".into())
        );
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\ncontent-length:  12 \r\n\r\n"),
            Some(12)
        );
        assert_eq!(content_length(b"Content-Length: -1\r\n"), None);
    }

    proptest! {
        #[test]
        fn any_bytes_are_judged_without_panicking(reply in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = judge("http", &reply, &check(Some("a+b")));
            let _ = header_end(&reply);
            let _ = content_length(&reply);
        }

        #[test]
        fn well_formed_replies_are_judged_by_status_and_body(
            status in 100u16..600,
            minor in 0u8..2,
            reason in "[ -~]{0,20}",
            body in "[ -~\n]{0,200}",
            crlf in any::<bool>(),
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let reason = if reason.is_empty() { String::new() } else { format!(" {reason}") };
            let reply = format!("HTTP/1.{minor} {status}{reason}{end}X-A: b{end}{end}{body}");
            prop_assert_eq!(status_of(reply.as_bytes()), Ok(status));
            let want = check(Some("^ok"));
            let verdict = judge("http", reply.as_bytes(), &want);
            prop_assert_eq!(
                verdict.is_ok(),
                (200..=399).contains(&status) && body.starts_with("ok")
            );
        }
    }
}
