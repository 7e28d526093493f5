//! The difference between two saved tables, without a kernel: the ipvsadm
//! command lines that turn the first into the second, as `ipvsctl diff
//! --prune` prints them against the live table.
//!
//! ```sh
//! cargo run -p ipvsctl --example diff_files              # two tables of its own
//! cargo run -p ipvsctl --example diff_files -- OLD NEW   # two files in -S format
//! ```
use anyhow::{Context as _, anyhow};
use ipvsctl::internals::{apply, model};

const OLD: &str = "\
-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1
-a -t 10.0.0.1:80 -r 10.0.1.2:80 -m -w 1
-A -u 10.0.0.1:53 -s rr
-a -u 10.0.0.1:53 -r 10.0.1.1:53 -m -w 1
";

const NEW: &str = "\
-A -t 10.0.0.1:80 -s wrr
-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3
-a -t 10.0.0.1:80 -r 10.0.1.3:80 -m -w 1
-A -t 10.0.0.1:443 -s rr -p 300
-a -t 10.0.0.1:443 -r 10.0.1.1:443 -m -w 1
";

fn table(name: &str, text: &str) -> anyhow::Result<apply::Wanted> {
    apply::wanted("diff_files", text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow!("{name}: {}", lines.join("; "))
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (old, new) = match args.as_slice() {
        [] => (table("OLD", OLD)?, table("NEW", NEW)?),
        [a, b] => {
            let read = |path: &str| std::fs::read_to_string(path).with_context(|| path.to_string());
            (table(a, &read(a)?)?, table(b, &read(b)?)?)
        }
        _ => anyhow::bail!("usage: diff_files [OLD NEW] (two files in -S format)"),
    };
    let requests = model::diff(&old.table, &new.table, true);
    print!("{}", apply::script(&requests));
    Ok(())
}
