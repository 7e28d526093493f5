//! The kernel's hash functions as the 6.1 IPVS schedulers use them.

use core::net::IpAddr;

/// `GOLDEN_RATIO_32` of `include/linux/hash.h`.
const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)`: the top `bits` bits of `val * GOLDEN_RATIO_32`
/// (x86 has no architecture-specific version). `bits` is 1..=32.
#[inline]
pub(crate) fn hash_32(val: u32, bits: u32) -> u32 {
    val.wrapping_mul(GOLDEN_RATIO_32) >> (32 - bits)
}

/// The schedulers' address fold, in host order: an IPv4 address as is, an
/// IPv6 address as the XOR of its four 32-bit words (`ntohl(ip6[0] ^ ...
/// ^ ip6[3])`).
#[inline]
pub(crate) fn fold(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            w(0) ^ w(4) ^ w(8) ^ w(12)
        }
    }
}

#[inline(always)]
fn sipround(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// `hsiphash(&v, sizeof(v), key)` of a host-order `u32` on a 64-bit kernel,
/// where `hsiphash` is SipHash-1-3 (one compression round, three
/// finalisation rounds) over the 4 bytes of `v` in little-endian order,
/// truncated to 32 bits; `key` is `hsiphash_key_t`'s two `unsigned long`s.
#[inline]
pub(crate) fn hsiphash_u32(v: u32, key: [u64; 2]) -> u32 {
    let mut s = [
        0x736f_6d65_7073_6575 ^ key[0],
        0x646f_7261_6e64_6f6d ^ key[1],
        0x6c79_6765_6e65_7261 ^ key[0],
        0x7465_6462_7974_6573 ^ key[1],
    ];
    let b = (4u64 << 56) | u64::from(v);
    s[3] ^= b;
    sipround(&mut s);
    s[0] ^= b;
    s[2] ^= 0xff;
    sipround(&mut s);
    sipround(&mut s);
    sipround(&mut s);
    (s[0] ^ s[1] ^ s[2] ^ s[3]) as u32
}

/// Euclid's greatest common divisor of two positive numbers.
pub(crate) fn gcd(a: i32, b: i32) -> i32 {
    let (mut a, mut b) = (a, b);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsiphash_is_siphash_1_3() {
        // std's `DefaultHasher::new()` is SipHash-1-3 with the key (0, 0);
        // `write_u32` feeds the 4 bytes in native (here little-endian)
        // order, as the kernel hashes `&v`.
        extern crate std;
        use core::hash::Hasher;
        for v in [0, 1, 0x0a01_0203, u32::MAX] {
            let mut h = std::hash::DefaultHasher::new();
            h.write_u32(v);
            assert_eq!(hsiphash_u32(v, [0, 0]), h.finish() as u32, "{v:#x}");
        }
        let k = [2_654_435_761, 2_654_435_761];
        assert_ne!(hsiphash_u32(0, k), hsiphash_u32(0, [0, 0]));
    }

    #[test]
    fn hash_32_takes_the_top_bits() {
        assert_eq!(hash_32(1, 8), 0x61);
        assert_eq!(hash_32(1, 10), 0x61C8_8647 >> 22);
        assert_eq!(hash_32(0, 8), 0);
    }

    #[test]
    fn ipv6_folds_by_xor() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(fold(a), 0x2001_0db8 ^ 1);
        let b: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(fold(b), 0x0a01_0203);
    }
}
