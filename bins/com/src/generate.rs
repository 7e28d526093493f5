//! `com generate man|bash|zsh|fish`: the man page (clap_mangen) and shell
//! completions (clap_complete) from the command line's own definition;
//! `cargo xtask com-docs` writes them to files.
use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// The man page, com(1), in roff.
    Man,
    Bash,
    Zsh,
    Fish,
}

/// Writes the chosen text to stdout.
pub fn run(what: What) -> anyhow::Result<crate::exit::Exit> {
    let mut out = Vec::new();
    let mut cmd = Cli::command();
    match what {
        What::Man => clap_mangen::Man::new(cmd)
            .render(&mut out)
            .map_err(|e| anyhow::anyhow!("rendering the man page: {e}"))?,
        What::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut cmd, "com", &mut out)
        }
        What::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut cmd, "com", &mut out),
        What::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut cmd, "com", &mut out)
        }
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(crate::exit::Exit::Done),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(crate::exit::Exit::Done),
        Err(e) => Err(anyhow::anyhow!("writing to stdout: {e}")),
    }
}
