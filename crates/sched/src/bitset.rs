//! A fixed-size bit set with "next set bit in a range" in word steps.

use alloc::vec::Vec;

#[derive(Debug, Clone, Default)]
pub(crate) struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    /// Clear every bit and make room for `len` bits.
    pub(crate) fn reset(&mut self, len: usize) {
        self.words.clear();
        self.words.resize(len.div_ceil(64), 0);
    }

    pub(crate) fn set(&mut self, i: usize, on: bool) {
        if let Some(w) = self.words.get_mut(i / 64) {
            let bit = 1u64 << (i % 64);
            if on {
                *w |= bit;
            } else {
                *w &= !bit;
            }
        }
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// The first set bit in `from..to`.
    pub(crate) fn next_in(&self, from: usize, to: usize) -> Option<usize> {
        if from >= to {
            return None;
        }
        let mut wi = from / 64;
        let mut word = self.words.get(wi)? & (u64::MAX << (from % 64));
        loop {
            if word != 0 {
                let i = wi * 64 + word.trailing_zeros() as usize;
                return (i < to).then_some(i);
            }
            wi += 1;
            if wi * 64 >= to {
                return None;
            }
            word = *self.words.get(wi)?;
        }
    }
}
