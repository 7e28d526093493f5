//! The IPVS version code.

use std::fmt;

/// The IPVS version code, `0x010201` for 1.2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(pub u32);

impl Version {
    /// Major number (bits 16..24).
    pub fn major(self) -> u8 {
        (self.0 >> 16) as u8
    }

    /// Minor number (bits 8..16).
    pub fn minor(self) -> u8 {
        (self.0 >> 8) as u8
    }

    /// Patch number (bits 0..8).
    pub fn patch(self) -> u8 {
        self.0 as u8
    }
}

impl fmt::Display for Version {
    /// `1.2.1`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major(), self.minor(), self.patch())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Version {
    /// `"1.2.1"`, as [`Version`]'s `Display`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
