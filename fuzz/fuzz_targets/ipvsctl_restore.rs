//! Arbitrary bytes as `ipvsctl -R` input: the restore check
//! (`restore::validate`, one reused entry for every line) must never panic
//! and must answer, line for line, what the general entry answers for that
//! line alone (`cli::parse` of its words into a fresh entry, then
//! `request::change`): the same requests with the same line numbers when
//! every line passes, otherwise the same bad lines with the same status and
//! text.
//!
//! The model splits lines as the README documents restore input: words
//! separated by blanks, tabs and carriage returns, the words `ipvsadm` and
//! `ipvsctl` dropped, blank lines and lines whose first word starts with `#`
//! skipped. Its refusals beyond `cli::parse`'s own are the documented
//! ones: `-h`/`-v`, commands that change nothing (`-L`, `-S`, `-R`) and a
//! per-line `--netns`.
//!
//! Fuzzed words that are not numeric addresses go to the system resolver
//! (as ipvsadm's do); run it without a network so that they fail at once
//! instead of asking a DNS server: `unshare -n cargo fuzz run ipvsctl_restore
//! -- -dict=ipvsctl_restore.dict` in `fuzz/` (the dictionary holds the
//! option names and a few addresses and values).
#![no_main]

use ipvs_proto::Request;
use ipvsctl::internals::cli::{self, Parsed};
use ipvsctl::internals::{request, restore};
use libfuzzer_sys::fuzz_target;

const PROGRAM: &str = "ipvsadm";

/// What one line alone should give: `Ok(None)` for a line that passes
/// without a request.
type LineAnswer = Result<Option<Request>, (u8, String)>;

fn words(raw: &str) -> Option<Vec<&str>> {
    let words: Vec<&str> = raw
        .split([' ', '\t', '\r'])
        .filter(|w| !w.is_empty() && *w != "ipvsadm" && *w != "ipvsctl")
        .collect();
    words
        .first()
        .is_some_and(|first| !first.starts_with('#'))
        .then_some(words)
}

fn line_alone(words: &[&str]) -> LineAnswer {
    let argv: Vec<&str> = std::iter::once(PROGRAM)
        .chain(words.iter().copied())
        .collect();
    let refuse = |status: u8, message: &str| Err((status, message.trim_end_matches('\n').into()));
    match cli::parse(&argv, true) {
        Ok(Parsed::Run(inv)) => {
            if inv.ext.netns.is_some() {
                refuse(2, "--netns applies to the whole restore, not to one line")
            } else if let Some(request) = request::change(&inv) {
                Ok(Some(request))
            } else {
                refuse(
                    2,
                    &format!("the '{}' command cannot be restored", inv.cmd.name()),
                )
            }
        }
        Ok(Parsed::Help | Parsed::Version) => refuse(2, "-h and -v cannot be restored"),
        Err(err) => refuse(err.status, &err.message),
    }
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let mut kept = Vec::new();
    let mut lines = Vec::new();
    let mut requests = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in input.split('\n').enumerate() {
        let Some(words) = words(raw) else { continue };
        let number = index + 1;
        match line_alone(&words) {
            Ok(Some(request)) => {
                lines.push(number);
                requests.push(request);
            }
            Ok(None) => {}
            Err((status, message)) => errors.push(restore::LineError {
                line: number,
                status,
                message,
            }),
        }
        kept.push(restore::Line { number, words });
    }
    let split: Vec<restore::Line<'_>> = restore::split_lines(&input).collect();
    assert_eq!(split, kept, "lines split differently");
    match restore::validate(PROGRAM, &input) {
        Ok(plan) => {
            assert_eq!(errors, [], "restore accepted lines that parse refuses");
            assert_eq!(plan.lines, lines, "requests from other lines");
            assert_eq!(plan.requests, requests, "other requests");
        }
        Err(refused) => assert_eq!(refused, errors, "other bad lines"),
    }
});
