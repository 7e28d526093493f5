//! `cargo xtask com-docs [DIR]`: com's man page and shell completions, made by
//! `com generate` (clap_mangen, clap_complete) from the command line's own
//! definition, written to DIR (default `com-docs` in the target directory).
use std::path::PathBuf;

use anyhow::Context;

use crate::util::{cargo, run_step, workspace_root};

/// The files and what `com generate` prints for each.
const FILES: [(&str, &str); 4] = [
    ("com.1", "man"),
    ("com.bash", "bash"),
    ("_com", "zsh"),
    ("com.fish", "fish"),
];

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let dir = match args {
        [] => std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| workspace_root().join("target"), PathBuf::from)
            .join("com-docs"),
        [dir] => PathBuf::from(dir),
        _ => anyhow::bail!("usage: cargo xtask com-docs [DIR]"),
    };
    run_step("build com", cargo().args(["build", "-q", "-p", "com"]))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, what) in FILES {
        let out = cargo()
            .args(["run", "-q", "-p", "com", "--", "generate", what])
            .output()
            .context("running com generate")?;
        anyhow::ensure!(
            out.status.success() && !out.stdout.is_empty(),
            "com generate {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = dir.join(file);
        std::fs::write(&path, &out.stdout)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    Ok(())
}
