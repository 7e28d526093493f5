//! Arbitrary bytes as a received netlink datagram: splitting, parsing the
//! IPVS messages and reading them as typed requests and replies must never
//! panic, and whatever reads as a typed value must survive being written
//! and read again.
#![no_main]

use ipvs_proto::netlink_packet_core::{NLM_F_DUMP, NetlinkMessage, NetlinkPayload};
use ipvs_proto::netlink_packet_generic::GenlMessage;
use ipvs_proto::{IpvsMessage, Reply, Request, wire};
use libfuzzer_sys::fuzz_target;

fn reparse(bytes: &[u8]) -> IpvsMessage {
    match NetlinkMessage::<GenlMessage<IpvsMessage>>::deserialize(bytes)
        .expect("written bytes parse")
        .payload
    {
        NetlinkPayload::InnerMessage(genl) => genl.payload,
        other => panic!("written bytes are not an IPVS message: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    for message in wire::parse_datagram::<GenlMessage<IpvsMessage>>(data) {
        let Ok(message) = message else { continue };
        let NetlinkPayload::InnerMessage(genl) = message.payload else {
            continue;
        };
        let dump = message.header.flags & NLM_F_DUMP == NLM_F_DUMP;
        if let Ok(request) = Request::from_message(&genl.payload, dump) {
            let mut bytes = Vec::new();
            wire::emit_request(&request, 0x20, 0, 0, &mut bytes);
            let again = Request::from_message(&reparse(&bytes), request.is_dump());
            assert_eq!(again.expect("written request reads back"), request);
        }
        if let Ok(reply) = Reply::from_message(&genl.payload, None) {
            let mut bytes = Vec::new();
            wire::emit_ipvs(&reply.to_message(), 0x20, 0, 0, 0, &mut bytes);
            let again = Reply::from_message(&reparse(&bytes), None);
            assert_eq!(again.expect("written reply reads back"), reply);
        }
    }
});
