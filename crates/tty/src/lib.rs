//! Raw serial ports and a terminal bridge for Linux.
//!
//! This crate will hold: opening a serial device exclusively, raw mode with any
//! speed (`termios2`/`BOTHER` for non-standard rates), modem lines and break, a
//! raw-terminal guard that restores stdin on drop, panic and signals, and a mio poll
//! loop bridging a terminal (or pipes) with the port. It knows nothing of any
//! instrument attached to the port.
