//! `ipvsctl`: a drop-in `ipvsadm` (1.31) on the `ipvs-proto` netlink client.
//!
//! The library half of the binary holds the parts worth testing alone: the
//! ipvsadm-compatible command line ([`cli`]), the byte-exact text formats
//! ([`format`](mod@format), [`conn`]), the listing order ([`sort`]), the request builder
//! ([`request`]), restores ([`restore`]) and the JSON schema ([`json`]).
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
pub mod conn;
pub mod failure;
pub mod format;
pub mod json;
pub mod kernel;
pub mod model;
pub mod netdb;
pub mod output;
pub mod request;
pub mod restore;
pub mod service;
pub mod sort;
pub mod sub;
pub mod timing;
pub mod usage;
pub mod watch;
