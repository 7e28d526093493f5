//! The pure parts of `lvsd`, the declarative IPVS director: its TOML
//! configuration (every error with its `line:column`), the reconcile diff
//! between the table wanted and the kernel's, and the health decisions (rise
//! and fall, inhibit or remove, sorry server, the health adopted from the
//! kernel at start). No clock, no kernel, no network: `lvsd` feeds it.
//!
//! ```
//! use lvs_director::{config, diff, health};
//!
//! let text = r#"
//! [[service]]
//! address = "10.0.0.1:80"
//! scheduler = "rr"
//! [[service.real]]
//! address = "10.0.1.2:80"
//! "#;
//! let config = config::parse(text, "lvsd.toml").unwrap();
//! let wanted = health::desired(&config, &|_, _| health::Health::new(true), &[]);
//! // An empty kernel table: add the service, then its real server.
//! let plan = diff::diff(&wanted, &[], &|_, _| true);
//! assert_eq!(plan.changes.len(), 2);
//! assert_eq!(plan.changes[1].to_string(), "add real server 10.0.1.2:80 to TCP 10.0.0.1:80 (weight 1)");
//!
//! let errors = config::parse("[[service]]\naddress = \"10.0.0.1\"\n", "lvsd.toml").unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "lvsd.toml:2:11: invalid service address \"10.0.0.1\" (write ADDRESS:PORT, [IPv6]:PORT)"
//! );
//! ```

pub mod config;
pub mod diff;
pub mod duration;
pub mod health;
pub mod http;

pub use config::{Config, ConfigErrors, parse};
pub use diff::{Change, Desired, Plan, TableService, diff};
pub use health::Health;

/// The README's example runs as a doctest too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
