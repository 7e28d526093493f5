//! `ipvsctl`: a drop-in `ipvsadm` (1.31) on the `ipvs-proto` netlink client.
//!
//! The crate is a binary (see the README). Its library is the binary's code
//! and is private, except for one module, [`internals`]: the items that the
//! code of this repository outside `src/` needs (the binary's `main`, the
//! criterion bench and fuzz target of the restore check, the host tests and
//! the example), listed there with their users. It is not a stable API.
//!
//! Inside, the modules are: the command line (`cli`: option definitions,
//! low-level reading, the typed arguments), the requests it asks for
//! (`request`), dispatch (`app`), kernel access (`kernel`), the failure type
//! and exit statuses (`failure`), `-R` (`restore`), `apply`/`diff`
//! (`apply`, `model`), listings (`format`, `json`, `sort`, `netdb`),
//! stdout (`output`), the subcommands (`sub`, `service`), `--watch`
//! (`watch`), the connection table (`conn`), usage text and timings. They
//! import no cycle and no function is over 80 lines (`cargo xtask tidy`
//! checks both).
#![forbid(unsafe_code)]

mod app;
mod apply;
mod cli;
mod conn;
mod failure;
mod format;
pub mod internals;
mod json;
mod kernel;
mod model;
mod netdb;
mod output;
mod request;
mod restore;
mod service;
mod sort;
mod sub;
mod timing;
mod usage;
mod watch;
