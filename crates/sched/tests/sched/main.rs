//! The `sched` crate's integration tests: the live kernel's observed
//! sequences, hand-checked golden sequences, and differential property tests
//! against a literal reference model of the kernel's list walks.

mod churn;
mod differential;
mod golden;
mod ids;
mod keyed;
mod observed;
mod reference;
