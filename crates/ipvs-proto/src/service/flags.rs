//! Service flags (`IP_VS_SVC_F_*`) and the flags-with-mask value of
//! `IPVS_SVC_ATTR_FLAGS`.

use crate::constants::*;

bitflags::bitflags! {
    /// Virtual service flags (`IP_VS_SVC_F_*`). Bits this crate does not
    /// name are kept as they are.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ServiceFlags: u32 {
        /// Persistent service (`-p`).
        const PERSISTENT = IP_VS_SVC_F_PERSISTENT;
        /// Set by the kernel on every service it has hashed (listings show it).
        const HASHED = IP_VS_SVC_F_HASHED;
        /// One-packet scheduling (`-o`, UDP).
        const ONE_PACKET = IP_VS_SVC_F_ONEPACKET;
        /// Scheduler flag 1 (`sh-fallback`, `mh-fallback`).
        const SCHED1 = IP_VS_SVC_F_SCHED1;
        /// Scheduler flag 2 (`sh-port`, `mh-port`).
        const SCHED2 = IP_VS_SVC_F_SCHED2;
        /// Scheduler flag 3.
        const SCHED3 = IP_VS_SVC_F_SCHED3;
        const _ = !0;
    }
}

impl ServiceFlags {
    /// Source hashing: fall back to another server when the hashed one is
    /// unavailable (`-b sh-fallback`).
    pub const SH_FALLBACK: Self = Self::SCHED1;
    /// Source hashing: hash the source port too (`-b sh-port`).
    pub const SH_PORT: Self = Self::SCHED2;
    /// Maglev hashing: fall back when the chosen server is unavailable.
    pub const MH_FALLBACK: Self = Self::SCHED1;
    /// Maglev hashing: hash the source port too.
    pub const MH_PORT: Self = Self::SCHED2;
    /// Every bit set: the mask ipvsadm sends, meaning "replace all flags".
    pub const ALL_BITS: Self = Self::from_bits_retain(u32::MAX);
}

/// The `IPVS_SVC_ATTR_FLAGS` value, `struct ip_vs_flags`: new flags and the
/// mask of the bits to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlagsWithMask {
    /// The flag values.
    pub flags: ServiceFlags,
    /// Which bits of `flags` apply.
    pub mask: ServiceFlags,
}
