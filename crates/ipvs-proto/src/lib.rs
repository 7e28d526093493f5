//! The Linux IPVS generic-netlink family.
//!
//! This crate will hold every command and attribute of `include/uapi/linux/ip_vs.h`
//! as typed values built on `netlink-packet-core` and `netlink-packet-generic`, a
//! typed model for users (`Service`, `Destination`, `Daemon`, `Stats`, ...) and a
//! `netlink-sys` client that resolves the family once per socket and pipelines
//! batches of requests.
#![forbid(unsafe_code)]
