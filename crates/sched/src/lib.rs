//! The Linux IPVS connection schedulers, exact to the kernel.
//!
//! This crate will hold rr, wrr, lc, wlc, sed, nq, fo and ovf with the kernel's
//! exact decisions and tie-breaking, the connection-threshold rules, and the
//! notebook's N-of-N round-robin variant.
#![no_std]
#![forbid(unsafe_code)]
