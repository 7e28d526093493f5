//! Frames of the HPM-100A power meter's serial output.
//!
//! This crate will hold the nom grammar of the meter's frames (live form with `:`
//! separators and the annotated form without), a lossless raw model, a replaceable
//! decoding rule, a streaming decoder that resynchronises after line noise, a reader
//! for the `watt.txt` logs written by the notebook's `com.c`, and CSV / JSON Lines /
//! InfluxDB line-protocol output. It knows no serial device.
#![forbid(unsafe_code)]
