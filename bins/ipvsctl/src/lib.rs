//! `ipvsctl`: a drop-in `ipvsadm` (1.31) on the `ipvs-proto` netlink client.
//!
//! The crate is a binary; this library is the part of it that code outside
//! `src/` reaches, and nothing more. Public, each for its users:
//!
//! | module | what | used by |
//! | --- | --- | --- |
//! | [`cli`] | the ipvsadm command line: option definitions, reading, the typed [`cli::Invocation`] | benches, fuzz, host tests |
//! | [`request`] | a checked command line as an `ipvs-proto` request | benches, fuzz, host tests |
//! | [`restore`] | `-R`: checking a whole input ([`restore::validate`]) and sending it | benches, fuzz |
//! | [`format`](mod@format), [`json`] | the byte-exact listings and the JSON documents | host tests (against ipvsadm's recordings) |
//! | [`apply`], [`model`] | `ipvsctl apply`/`diff`: wanted tables and the requests between two tables | `examples/diff_files.rs` |
//! | [`app`] | dispatch: the binary's `main` and ipvsadm's error texts | `main.rs`, host tests |
//!
//! Everything else is private to the binary: kernel access (`kernel`), the
//! failure type and exit statuses (`failure`), stdout (`output`), the
//! subcommands (`sub`, `service`), `--watch` (`watch`), the connection
//! table (`conn`), listing order (`sort`), name lookups (`netdb`), usage text
//! and timings. Modules import no cycle and no function is over 80 lines
//! (`cargo xtask tidy` checks both).
//!
//! ```
//! use ipvsctl::cli::{parse, Parsed};
//!
//! let argv: Vec<String> = ["ipvsadm", "-A", "-t", "10.0.0.1:80", "-s", "rr"]
//!     .iter().map(|s| s.to_string()).collect();
//! let Parsed::Run(inv) = parse(&argv, false).unwrap() else { unreachable!() };
//! assert_eq!(inv.svc.sched_name, "rr");
//!
//! let argv: Vec<String> = ["ipvsadm", "-a", "-t", "10.0.0.1:80", "-w", "x"]
//!     .iter().map(|s| s.to_string()).collect();
//! let err = parse(&argv, false).unwrap_err();
//! assert_eq!((err.status, err.message.as_str()), (2, "illegal weight specified\n"));
//! ```
#![forbid(unsafe_code)]

pub mod app;
pub mod apply;
pub mod cli;
mod conn;
mod failure;
pub mod format;
pub mod json;
mod kernel;
pub mod model;
mod netdb;
mod output;
pub mod request;
pub mod restore;
mod service;
mod sort;
mod sub;
mod timing;
mod usage;
mod watch;
