//! The C library's number and address readers, as ipvsadm relies on them:
//! `strtol` (base 10, leading blanks and sign allowed), `atoi`, `inet_aton`
//! (one to four parts, each decimal, octal or hex) and `inet_pton`.

use std::net::{Ipv4Addr, Ipv6Addr};

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// `strtol(s, &end, 10)`: the value (saturated like `strtol` on overflow, with
/// `overflow` set) and how many bytes were consumed (0 when no digits).
fn strtol10(s: &str) -> (i64, usize, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        negative = b[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    // The magnitude, held at most at 2^63 (|i64::MIN|) once it overflows.
    const LIMIT: u64 = 1 << 63;
    let mut value: u64 = 0;
    let mut overflow = false;
    while i < b.len() && b[i].is_ascii_digit() {
        let digit = u64::from(b[i] - b'0');
        value = match value.checked_mul(10).and_then(|v| v.checked_add(digit)) {
            Some(v) if v <= LIMIT => v,
            _ => {
                overflow = true;
                LIMIT
            }
        };
        i += 1;
    }
    if i == digits_start {
        return (0, 0, false);
    }
    let signed = if negative {
        // 2^63 itself is i64::MIN, which fits.
        0i64.wrapping_sub_unsigned(value)
    } else if value == LIMIT {
        overflow = true;
        i64::MAX
    } else {
        value as i64
    };
    (signed, i, overflow)
}

/// ipvsadm's `string_to_number`: the whole word must be a base-10 number in
/// `min..=max`.
pub fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    let (value, used, overflow) = strtol10(s);
    if used == 0 || used != s.len() || overflow {
        return None;
    }
    (min..=max).contains(&value).then_some(value)
}

/// ipvsadm's `parse_fwmark`: `strtol`, whole word, 1..=u32::MAX.
pub fn parse_fwmark(s: &str) -> Option<u32> {
    let (value, used, overflow) = strtol10(s);
    if used == 0 || used != s.len() || overflow || value <= 0 || value > i64::from(u32::MAX) {
        return None;
    }
    Some(value as u32)
}

/// C `atoi` (as `strtol` truncated to `int`, garbage after the digits ignored).
pub fn atoi(s: &str) -> i64 {
    let (value, _, _) = strtol10(s);
    i64::from(value as i32)
}

/// ipvsadm's `str_is_digit`: true for the empty word too.
pub fn str_is_digit(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// The plain dotted quad `d.d.d.d` (each part 0 to 255 in decimal without a
/// leading zero, nothing after): the form nearly every address takes, read
/// without the general rules. `None` for anything else.
fn dotted_quad(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while i < b.len() && i - start < 3 && b[i].is_ascii_digit() {
            value = value * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && b[start] == b'0') || value > 255 {
            return None;
        }
        *octet = value as u8;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

/// glibc `inet_aton`: `a`, `a.b`, `a.b.c`, `a.b.c.d`, each part decimal,
/// `0`-prefixed octal or `0x` hex; trailing blanks end the address.
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    dotted_quad(b).or_else(|| inet_aton_any(b))
}

/// `inet_aton` by its general rules.
fn inet_aton_any(b: &[u8]) -> Option<Ipv4Addr> {
    let mut parts = [0u64; 4];
    let mut count = 0;
    let mut i = 0;
    loop {
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        let (base, start) = if b[i] == b'0' {
            if i + 1 < b.len() && (b[i + 1] == b'x' || b[i + 1] == b'X') {
                (16, i + 2)
            } else {
                (8, i + 1)
            }
        } else {
            (10, i)
        };
        let mut value: u64 = 0;
        let mut j = start;
        while j < b.len() {
            let digit = match b[j] {
                b'0'..=b'9' => b[j] - b'0',
                b'a'..=b'f' => b[j] - b'a' + 10,
                b'A'..=b'F' => b[j] - b'A' + 10,
                _ => break,
            };
            if u32::from(digit) >= base {
                break;
            }
            value = value
                .saturating_mul(u64::from(base))
                .saturating_add(u64::from(digit));
            j += 1;
        }
        // "0x" with no hex digit is the number 0 followed by garbage in glibc.
        if base == 16 && j == start {
            return None;
        }
        if value > u64::from(u32::MAX) {
            return None;
        }
        if count == 4 {
            return None;
        }
        parts[count] = value;
        count += 1;
        i = j;
        if i < b.len() && b[i] == b'.' {
            if count == 4 {
                return None;
            }
            i += 1;
            continue;
        }
        if i < b.len() && !is_c_space(b[i]) {
            return None;
        }
        break;
    }
    let value = match &parts[..count] {
        [a] => *a,
        [a, b] if *a <= 0xff && *b <= 0xff_ffff => (a << 24) | b,
        [a, b, c] if *a <= 0xff && *b <= 0xff && *c <= 0xffff => (a << 24) | (b << 16) | c,
        [a, b, c, d] if [a, b, c, d].iter().all(|p| **p <= 0xff) => {
            (a << 24) | (b << 16) | (c << 8) | d
        }
        _ => return None,
    };
    Some(Ipv4Addr::from(value as u32))
}

/// `inet_pton(AF_INET6, ...)`.
pub fn inet_pton6(s: &str) -> Option<Ipv6Addr> {
    s.parse().ok()
}

/// `inet_pton(AF_INET, ...)`: strict dotted quad.
pub fn inet_pton4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `strtol` from its definition: skip blanks, an optional sign, the
    /// longest run of digits, its exact value clamped to the `i64` range.
    fn strtol10_model(s: &str) -> (i64, usize, bool) {
        let t = s.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
        let (negative, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let digits = body.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return (0, 0, false);
        }
        let magnitude: i128 = body[..digits].parse().unwrap_or(i128::MAX);
        let exact = if negative { -magnitude } else { magnitude };
        let clamped = exact.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
        (
            clamped as i64,
            s.len() - body.len() + digits,
            clamped != exact,
        )
    }

    proptest! {
        #[test]
        fn strtol_agrees_with_the_wide_model(s in "[ +-]{0,2}[0-9]{0,22}[x ]{0,1}") {
            prop_assert_eq!(strtol10(&s), strtol10_model(&s));
        }

        #[test]
        fn strtol_agrees_at_the_limits(v in any::<i64>(), extra in 0u8..10) {
            for s in [v.to_string(), format!("{v}{extra}"), format!("-{}", v.unsigned_abs())] {
                prop_assert_eq!(strtol10(&s), strtol10_model(&s));
            }
        }

        #[test]
        fn dotted_quads_read_as_the_general_rules_read_them(s in "[0-9]{1,4}(\\.[0-9]{1,4}){0,4}[. x]{0,1}") {
            if let Some(quad) = dotted_quad(s.as_bytes()) {
                prop_assert_eq!(Some(quad), inet_aton_any(s.as_bytes()));
            }
            prop_assert_eq!(inet_aton(&s), inet_aton_any(s.as_bytes()));
        }

        #[test]
        fn every_quad_takes_the_fast_path(a in any::<[u8; 4]>()) {
            let text = Ipv4Addr::from(a).to_string();
            prop_assert_eq!(dotted_quad(text.as_bytes()), Some(Ipv4Addr::from(a)));
        }
    }

    #[test]
    fn string_to_number_follows_strtol() {
        assert_eq!(string_to_number("5", 0, 10), Some(5));
        assert_eq!(string_to_number(" +5", 0, 10), Some(5));
        assert_eq!(string_to_number("-0", 0, 10), Some(0));
        assert_eq!(string_to_number("5x", 0, 10), None);
        assert_eq!(string_to_number("", 0, 10), None);
        assert_eq!(string_to_number("11", 0, 10), None);
        assert_eq!(string_to_number("99999999999999999999", 0, i64::MAX), None);
    }

    #[test]
    fn inet_aton_accepts_the_short_forms() {
        assert_eq!(inet_aton("10.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(inet_aton("0x7f.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(inet_aton("010.0.0.1"), Some(Ipv4Addr::new(8, 0, 0, 1)));
        assert_eq!(inet_aton("64"), Some(Ipv4Addr::new(0, 0, 0, 64)));
        assert_eq!(inet_aton("1.2.3.4 x"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("host"), None);
        assert_eq!(inet_aton("09"), None);
    }

    #[test]
    fn fwmark_and_atoi() {
        assert_eq!(parse_fwmark("4294967295"), Some(u32::MAX));
        assert_eq!(parse_fwmark("4294967296"), None);
        assert_eq!(parse_fwmark("0"), None);
        assert_eq!(atoi("64abc"), 64);
        assert_eq!(atoi("abc"), 0);
    }
}
