//! The signals that end a session: SIGINT, SIGTERM and SIGHUP, delivered through
//! a mio registration instead of killing the process (with the `bridge`
//! feature).
use std::sync::atomic::AtomicUsize;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The signals [`ExitSignals`] catches.
pub const EXIT_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// How many [`ExitSignals`] are alive: while there is one, the
/// [`RawTerminal`](crate::RawTerminal) signal handler only restores the terminal
/// and lets the program end by itself; with none it also ends the process.
pub(crate) static WATCHERS: AtomicUsize = AtomicUsize::new(0);

#[cfg(feature = "bridge")]
pub use watch::ExitSignals;

#[cfg(feature = "bridge")]
mod watch {
    use std::io;
    use std::sync::atomic::Ordering;

    use mio::event::Source;
    use mio::{Interest, Registry, Token};
    use signal_hook_mio::v1_0::Signals;

    use super::{EXIT_SIGNALS, WATCHERS};

    /// SIGINT, SIGTERM and SIGHUP as mio events.
    ///
    /// While this value lives, those signals no longer terminate the process: they
    /// become readable events (token of the caller's choice) and [`ExitSignals::pending`]
    /// names them, so the program can finish its work (flush its log, restore the
    /// port and the terminal) and exit.
    pub struct ExitSignals {
        inner: Signals,
    }

    impl std::fmt::Debug for ExitSignals {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ExitSignals")
                .field("signals", &EXIT_SIGNALS)
                .finish()
        }
    }

    impl ExitSignals {
        /// Starts catching the three signals.
        pub fn new() -> io::Result<ExitSignals> {
            let inner = Signals::new(EXIT_SIGNALS)?;
            WATCHERS.fetch_add(1, Ordering::SeqCst);
            Ok(ExitSignals { inner })
        }

        /// The first signal received since the last call, if any.
        pub fn pending(&mut self) -> Option<i32> {
            self.inner.pending().next()
        }
    }

    impl Drop for ExitSignals {
        fn drop(&mut self) {
            WATCHERS.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Source for ExitSignals {
        fn register(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            self.inner.register(registry, token, interests)
        }
        fn reregister(
            &mut self,
            registry: &Registry,
            token: Token,
            interests: Interest,
        ) -> io::Result<()> {
            self.inner.reregister(registry, token, interests)
        }
        fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
            self.inner.deregister(registry)
        }
    }
}
