//! The one door into the binary's code, for the code of this repository
//! outside `src/`: not a stable API.
//!
//! `ipvsctl` is a program; its modules are private. This module re-exports
//! exactly the items that the program's other users name, grouped under the
//! name of the private module each comes from, so a caller reads
//! `internals::restore::validate` where the code says `restore::validate`:
//!
//! | here | what | used by |
//! | --- | --- | --- |
//! | [`app`] | the program's `main`, and ipvsadm's text of a failure | `src/main.rs`; host tests |
//! | [`cli`] | reading an ipvsadm command line into the typed [`cli::Invocation`] | benches, fuzz, host tests |
//! | [`request`] | a checked command line as an `ipvs-proto` request | benches, fuzz, host tests |
//! | [`restore`] | `-R`: checking a whole input ([`restore::validate`]) | benches, fuzz |
//! | [`format`](mod@format), [`json`] | the byte-exact listings and the JSON documents | host tests (against ipvsadm's recordings) |
//! | [`apply`], [`model`] | `ipvsctl apply`/`diff`: wanted tables and the requests between two tables | `examples/diff_files.rs` |
//!
//! The users: the criterion bench `benches/benches/ipvsctl_restore.rs`
//! (restore check against the line-by-line baseline), the fuzz target
//! `fuzz/fuzz_targets/ipvsctl_restore.rs` (restore check against the same
//! lines parsed one by one), the host tests `tests/cli.rs` (listings and
//! requests against ipvsadm's recordings, error texts) and the example
//! `examples/diff_files.rs`. Besides the items they name, the types that
//! those items hand out are here ([`cli::CliError`], [`restore::Plan`] and
//! the types of [`cli::Invocation`]'s fields), so that this page documents
//! every value a caller holds.
//!
//! Nothing here is promised beyond this repository: names and signatures
//! change with the program, and a use outside the repository should run the
//! binary instead. What is behind the door (kernel access, failures and exit
//! statuses, output, the subcommands, `--watch`, the connection table,
//! listing order, name lookups, usage text, timings) is private: a new user
//! adds the item it needs here, with its user in the table above.
//!
//! ```
//! use ipvsctl::internals::cli::{Parsed, parse};
//! use ipvsctl::internals::request;
//!
//! let argv = ["ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "rr"];
//! let Parsed::Run(inv) = parse(&argv, false).unwrap() else { unreachable!() };
//! assert_eq!(inv.svc.sched_name, "rr");
//! assert!(request::change(&inv).is_some());
//!
//! let argv = ["ipvsadm", "-a", "-t", "10.0.0.1:80", "-w", "x"];
//! let err = parse(&argv, false).unwrap_err();
//! assert_eq!((err.status, err.message.as_str()), (2, "illegal weight specified\n"));
//! ```

pub mod app {
    //! Dispatch: what `src/main.rs` runs, and ipvsadm's text of a failure.

    pub use crate::app::main;
    pub use crate::failure::error_text;
}

pub mod cli {
    //! ipvsadm's command line read into a checked, typed [`Invocation`], with
    //! ipvsadm's exact error texts and statuses ([`CliError`]).

    pub use crate::cli::{
        CliError, Command, DaemonArgs, DestArgs, Extensions, Format, Invocation, Options, Parsed,
        SvcArgs, TimeoutArgs, fmt, parse,
    };
}

pub mod request {
    //! A checked command line as the `ipvs-proto` request it sends.

    pub use crate::request::change;
}

pub mod restore {
    //! `-R`: restore input split into lines and checked as a whole.

    pub use crate::restore::{Line, LineError, Plan, split_lines, validate};
}

pub mod format {
    //! The listings, byte for byte as ipvsadm 1.31 prints them.

    pub use crate::format::{Entry, daemons, listing, one_service, timeouts};
}

pub mod json {
    //! The `--json` documents (docs/ipvsctl-json.md).

    pub use crate::json::{daemons, listing, listing_line, timeouts};
}

pub mod apply {
    //! `ipvsctl apply`/`diff`: the table a `-S` file asks for, as command lines.

    pub use crate::apply::{Wanted, script, wanted};
}

pub mod model {
    //! Tables compared: the requests that turn one into another.

    pub use crate::model::diff;
}
