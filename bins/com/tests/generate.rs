//! `com generate` (what `cargo xtask com-docs` writes): the man page and the
//! bash, zsh and fish completions name every option.
use std::process::Command;

fn generate(what: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_com"))
        .args(["generate", what])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_man_page_and_completions_name_every_option() {
    let man = generate("man");
    assert!(man.contains(".TH com 1"), "{man}");
    for option in [
        "metrics",
        "timestamp",
        "local\\-echo",
        "map",
        "log\\-format",
        "reconnect",
    ] {
        assert!(
            man.contains(&format!("\\fB\\-\\-{option}\\fR")),
            "--{option}:\n{man}"
        );
    }
    assert!(man.contains("Exit codes"), "{man}");
    let bash = generate("bash");
    for option in [
        "--metrics",
        "--timestamp",
        "--hex",
        "--imap",
        "stats",
        "plot",
        "decode",
    ] {
        assert!(bash.contains(option), "{option}");
    }
    // bash reads it without a syntax error.
    let status = Command::new("bash")
        .args(["-n", "-c", &bash])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(generate("zsh").starts_with("#compdef com"));
    assert!(generate("fish").contains("complete -c com"));
}
