//! Criterion benchmarks of the workspace's hot paths, each side by side with its
//! baseline. Run them with `cargo bench -p benches`; the figures and the commands
//! that produced them are in `docs/performance.md`.
