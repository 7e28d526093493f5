//! ipvsadm's listing order, reproduced exactly.
//!
//! ipvsadm sorts with glibc's `qsort`, which in glibc 2.36 (Debian bookworm) is
//! a top-down merge sort (left half `n / 2`, ties keep the left element), and
//! compares `u32` fields by subtracting them into a C `int`. That subtraction
//! wraps: `FWM 4294967295` sorts before `FWM 1`, `192.0.2.36` before
//! `10.0.0.36`, and some sets are not even ordered transitively, so only the
//! same algorithm with the same comparisons gives the same output.

use std::net::IpAddr;

use ipvs_proto::{Destination, Service, ServiceKey};

use ipvs_proto::constants::{AF_INET, AF_INET6};

/// glibc 2.36 `msort_with_tmp`: stable top-down merge sort driven by a C-style
/// comparison (`<= 0` keeps the left element first). Like glibc for large
/// elements, it sorts indices and moves each element once.
pub fn msort_by<T>(items: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> i32) {
    let n = items.len();
    if n <= 1 {
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut tmp = vec![0usize; n];
    merge_sort(&mut order, &mut tmp, &|a: &usize, b: &usize| {
        cmp(&items[*a], &items[*b])
    });
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(
        order
            .into_iter()
            .map(|i| slots[i].take().expect("each index once")),
    );
}

fn merge_sort(v: &mut [usize], tmp: &mut [usize], cmp: &impl Fn(&usize, &usize) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort(&mut v[..n1], &mut tmp[..n1], cmp);
    merge_sort(&mut v[n1..], &mut tmp[n1..], cmp);
    let (mut i, mut j, mut k) = (0, n1, 0);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp[k] = v[i];
            i += 1;
        } else {
            tmp[k] = v[j];
            j += 1;
        }
        k += 1;
    }
    tmp[k..k + n1 - i].copy_from_slice(&v[i..n1]);
    k += n1 - i;
    tmp[k..k + n - j].copy_from_slice(&v[j..n]);
    v.copy_from_slice(&tmp[..n]);
}

/// The address as libipvs's `union nf_inet_addr` seen through `ntohl`: four
/// host-order words, IPv4 in the first.
fn words(addr: IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(v4) => [u32::from(v4), 0, 0, 0],
        IpAddr::V6(v6) => {
            let o = v6.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// `int r = a - b` for two `u32` (wrapping, as C does on these machines).
fn c_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn cmp_addr(af: u16, a: IpAddr, b: IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    if af == AF_INET6 {
        let mut r = 0;
        for i in 0..4 {
            r = c_diff(wa[i], wb[i]);
            if r != 0 {
                break;
            }
        }
        r
    } else {
        c_diff(wa[0], wb[0])
    }
}

/// The fields libipvs compares for a service: fwmark, af, protocol, address,
/// port (zeros where the kernel sends none).
fn service_fields(service: &Service) -> (u32, u16, u16, IpAddr, u16) {
    match service.key {
        ServiceKey::Tuple {
            protocol,
            address,
            port,
        } => {
            let af = if address.is_ipv4() { AF_INET } else { AF_INET6 };
            (0, af, protocol.raw(), address, port)
        }
        ServiceKey::Fwmark { family, mark } => (mark, family.raw(), 0, family.unspecified(), 0),
    }
}

/// libipvs `ipvs_cmp_services`.
pub fn cmp_services(a: &Service, b: &Service) -> i32 {
    let (fa, afa, pa, aa, porta) = service_fields(a);
    let (fb, afb, pb, ab, portb) = service_fields(b);
    let r = c_diff(fa, fb);
    if r != 0 {
        return r;
    }
    let r = i32::from(afa) - i32::from(afb);
    if r != 0 {
        return r;
    }
    let r = i32::from(pa) - i32::from(pb);
    if r != 0 {
        return r;
    }
    let r = cmp_addr(afa, aa, ab);
    if r != 0 {
        return r;
    }
    i32::from(porta) - i32::from(portb)
}

/// libipvs `ipvs_cmp_dests`.
pub fn cmp_dests(a: &Destination, b: &Destination) -> i32 {
    let af = if a.address.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    };
    let r = cmp_addr(af, a.address, b.address);
    if r != 0 {
        return r;
    }
    i32::from(a.port) - i32::from(b.port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_is_stable_and_sorts() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        msort_by(&mut v, &|a: &(i32, char), b: &(i32, char)| a.0 - b.0);
        assert_eq!(v, vec![(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
    }

    #[test]
    fn c_int_wrapping_orders_high_addresses_first() {
        let a: IpAddr = "192.0.2.36".parse().unwrap();
        let b: IpAddr = "10.0.0.36".parse().unwrap();
        assert!(cmp_addr(AF_INET, a, b) < 0);
        assert!(c_diff(u32::MAX, 1) < 0);
    }
}
