//! Arbitrary attribute bytes as a listed service or destination: the
//! one-pass decoder (`Reply::decode_listed`) must never panic, must read
//! only what the generic path (attribute enums, then typed values) reads, to
//! the same value, and `Reply::decode` must fail exactly when that path does.
#![no_main]

use ipvs_proto::netlink_packet_core::ParseableParametrized;
use ipvs_proto::netlink_packet_generic::GenlHeader;
use ipvs_proto::{AddressFamily, IpvsCmd, IpvsMessage, Reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, attributes)) = data.split_first() else {
        return;
    };
    let cmd = if selector & 1 == 0 {
        IpvsCmd::NewService
    } else {
        IpvsCmd::NewDest
    };
    let hint = match selector >> 1 & 3 {
        0 => None,
        1 => Some(AddressFamily::Inet),
        2 => Some(AddressFamily::Inet6),
        _ => Some(AddressFamily::from_raw(u16::from(selector))),
    };
    let header = GenlHeader {
        cmd: cmd.into(),
        version: 1,
    };
    let generic = IpvsMessage::parse_with_param(attributes, header)
        .map_err(ipvs_proto::Error::from)
        .and_then(|message| Reply::from_message(&message, hint));
    if let Some(fast) = Reply::decode_listed(cmd, attributes, hint) {
        assert_eq!(generic.as_ref().ok(), Some(&fast), "{generic:?}");
    }
    let decoded = Reply::decode(cmd, attributes, hint);
    assert_eq!(decoded.is_ok(), generic.is_ok());
    if let (Ok(decoded), Ok(generic)) = (decoded, generic) {
        assert_eq!(decoded, generic);
    }
});
