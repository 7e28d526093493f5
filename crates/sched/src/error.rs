//! The crate's error type.

use core::fmt;

/// What went wrong in a [`Service`](crate::Service) operation.
///
/// Every variant names the offending input and what was expected, like the
/// kernel's own `-ERANGE` / `-EINVAL` answers to `ipvsadm` but with the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A destination index past the end of the list.
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// The number of destinations in the list.
        len: usize,
    },
    /// A negative weight: the kernel refuses it with `-ERANGE`.
    NegativeWeight {
        /// The weight given.
        weight: i32,
    },
    /// A lower connection threshold above the upper one (`-ERANGE` in the kernel).
    ThresholdOrder {
        /// The lower threshold given.
        lower: u32,
        /// The upper threshold given.
        upper: u32,
    },
    /// An upper connection threshold above `i32::MAX` (`-EINVAL` in the kernel).
    ThresholdTooLarge {
        /// The upper threshold given.
        upper: u32,
    },
    /// A connection counter would go below zero.
    NoConnection {
        /// The destination index.
        index: usize,
        /// Which counter: `"active"` or `"inactive"`.
        counter: &'static str,
    },
    /// A connection counter would pass `u32::MAX`.
    CounterOverflow {
        /// The destination index.
        index: usize,
        /// Which counter: `"active"` or `"inactive"`.
        counter: &'static str,
    },
    /// More destinations than the scheduler indexes (`u32::MAX - 1`).
    TooManyDestinations {
        /// The number of destinations the list would have.
        len: usize,
    },
    /// A destination with this address and port is already in the list
    /// (`-EEXIST` in the kernel).
    DuplicateAddress {
        /// The address given.
        addr: core::net::SocketAddr,
    },
    /// A [`DestId`](crate::DestId) whose destination was removed (or that
    /// this service never handed out).
    StaleId {
        /// The id given.
        id: crate::DestId,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::IndexOutOfRange { index, len } => write!(
                f,
                "destination index {index} is out of range: expected less than {len}"
            ),
            Error::NegativeWeight { weight } => {
                write!(f, "weight {weight} is negative: expected 0 or more")
            }
            Error::ThresholdOrder { lower, upper } => write!(
                f,
                "lower threshold {lower} is above upper threshold {upper}: expected lower <= upper"
            ),
            Error::ThresholdTooLarge { upper } => write!(
                f,
                "upper threshold {upper} is too large: expected at most {}",
                i32::MAX
            ),
            Error::NoConnection { index, counter } => write!(
                f,
                "destination {index} has no {counter} connection to remove: expected a count above 0"
            ),
            Error::CounterOverflow { index, counter } => write!(
                f,
                "destination {index}'s {counter} connection count is at its maximum: expected less than {}",
                u32::MAX
            ),
            Error::TooManyDestinations { len } => write!(
                f,
                "{len} destinations are too many: expected fewer than {}",
                u32::MAX
            ),
            Error::DuplicateAddress { addr } => write!(
                f,
                "destination {addr} is already in the service: expected a new address and port"
            ),
            Error::StaleId { id } => write!(
                f,
                "destination id {id} names no destination of the service: expected the id of one not removed since"
            ),
        }
    }
}

impl core::error::Error for Error {}
