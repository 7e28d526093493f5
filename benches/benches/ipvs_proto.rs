//! ipvs-proto: nanoseconds to encode and decode a service request and a
//! 100-service dump reply (one receive buffer of 100 `NEW_SERVICE` messages
//! with statistics, as the kernel sends a listing), and to decode a
//! 100-destination dump reply; each decode both through the generic path
//! (attribute enums, then typed values: the baseline) and through the
//! one-pass decoder `Reply::decode`. Also the 11,000 requests of the lab's
//! restore (1,000 services x 10 destinations), written as a batch writes them
//! (`wire::emit_request`, straight from the typed requests) and through the
//! built attributes (`Request::to_message`, the baseline).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ipvs_proto::netlink_packet_core::{NLM_F_MULTIPART, NetlinkPayload};
use ipvs_proto::netlink_packet_generic::GenlMessage;
use ipvs_proto::{
    Connections, Destination, Forwarding, IpvsCmd, IpvsMessage, Reply, Request, Service,
    ServiceKey, Stats, wire,
};

const FAMILY: u16 = 0x20;

fn service(i: u32) -> Service {
    let address = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
    let key = ServiceKey::Tuple {
        protocol: ipvs_proto::Protocol::Tcp,
        address,
        port: 80,
    };
    Service::new(key, "wrr").with_persistence(Duration::from_secs(300))
}

fn listed(i: u32) -> Reply {
    let mut service = service(i);
    service.stats = Some(Stats {
        connections: u64::from(i) * 1000,
        bytes_in: u64::from(i) << 33,
        ..Stats::default()
    });
    Reply::Service(service)
}

fn listed_destination(i: u32) -> Reply {
    let address = std::net::SocketAddr::from((Ipv4Addr::from(0xc0a8_0000 + i), 8080));
    let mut destination = Destination::new(address, Forwarding::Masq, i % 7 + 1);
    destination.connections = Some(Connections {
        active: i,
        inactive: i * 2,
        persistent: 0,
    });
    destination.stats = Some(Stats {
        connections: u64::from(i) * 1000,
        bytes_in: u64::from(i) << 33,
        ..Stats::default()
    });
    Reply::Destination(destination)
}

/// The requests of `ipvsctl -R` for 1,000 services of 10 destinations each,
/// as in the lab's `speed_restore_and_list`.
fn restore_requests() -> Vec<Request> {
    let mut requests = Vec::with_capacity(11_000);
    for s in 0..1000u32 {
        let vip = std::net::SocketAddr::from((
            Ipv4Addr::new(10, 10 + (s / 250) as u8, (s % 250) as u8, 1),
            80,
        ));
        let key = ServiceKey::tcp(vip);
        requests.push(Request::add_service(&Service::new(key, "rr")));
        for d in 0..10u32 {
            let real = std::net::SocketAddr::from((
                Ipv4Addr::new(172, 16, (s % 250) as u8, 1 + d as u8),
                80,
            ));
            requests.push(Request::add_destination(
                &key,
                &Destination::new(real, Forwarding::Masq, 1),
            ));
        }
    }
    requests
}

fn encode_batch(requests: &[Request], out: &mut Vec<u8>) {
    for (sequence, request) in (1..).zip(requests) {
        wire::emit_request(request, FAMILY, sequence, 0, out);
    }
}

fn encode_batch_built(requests: &[Request], out: &mut Vec<u8>) {
    for (sequence, request) in (1..).zip(requests) {
        wire::emit_ipvs(
            &request.to_message(),
            FAMILY,
            wire::DO_FLAGS,
            sequence,
            0,
            out,
        );
    }
}

fn encode_dump(replies: &[Reply], out: &mut Vec<u8>) {
    for reply in replies {
        wire::emit_ipvs(&reply.to_message(), FAMILY, NLM_F_MULTIPART, 7, 1, out);
    }
}

/// Baseline: the same bytes through netlink-packet-core's `Emitable`.
fn encode_dump_emitable(replies: &[Reply], out: &mut Vec<u8>) {
    for reply in replies {
        wire::emit_genl(reply.to_message(), FAMILY, NLM_F_MULTIPART, 7, 1, out);
    }
}

/// Reference point: parsing to attribute enums only, no typed values.
fn decode_attributes(datagram: &[u8]) -> usize {
    wire::parse_datagram::<GenlMessage<IpvsMessage>>(datagram)
        .map(|message| match message.unwrap().payload {
            NetlinkPayload::InnerMessage(genl) => genl.payload.attributes.len(),
            other => panic!("{other:?}"),
        })
        .sum()
}

fn decode_replies(datagram: &[u8]) -> Vec<Reply> {
    wire::parse_datagram::<GenlMessage<IpvsMessage>>(datagram)
        .map(|message| match message.unwrap().payload {
            NetlinkPayload::InnerMessage(genl) => Reply::from_message(&genl.payload, None).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The one-pass decoder over the messages of a datagram.
fn decode_replies_one_pass(datagram: &[u8]) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(100);
    let mut offset = 0;
    while offset < datagram.len() {
        let length = u32::from_ne_bytes(datagram[offset..offset + 4].try_into().unwrap()) as usize;
        let message = &datagram[offset..offset + length];
        replies.push(Reply::decode(IpvsCmd::from(message[16]), &message[20..], None).unwrap());
        offset += (length + 3) & !3;
    }
    replies
}

fn decode_request(bytes: &[u8]) -> Request {
    let mut messages = wire::parse_datagram::<GenlMessage<IpvsMessage>>(bytes);
    match messages.next().unwrap().unwrap().payload {
        NetlinkPayload::InnerMessage(genl) => Request::from_message(&genl.payload, false).unwrap(),
        other => panic!("{other:?}"),
    }
}

fn bench(c: &mut Criterion) {
    let request = Request::NewService(service(1));
    let mut request_bytes = Vec::new();
    wire::emit_request(&request, FAMILY, 7, 1, &mut request_bytes);
    assert_eq!(decode_request(&request_bytes), request);

    let replies: Vec<Reply> = (0..100).map(listed).collect();
    let mut dump_bytes = Vec::new();
    encode_dump(&replies, &mut dump_bytes);
    assert_eq!(decode_replies(&dump_bytes), replies);
    assert_eq!(decode_replies_one_pass(&dump_bytes), replies);
    let mut baseline = Vec::new();
    encode_dump_emitable(&replies, &mut baseline);
    assert_eq!(baseline, dump_bytes);
    let destinations: Vec<Reply> = (0..100).map(listed_destination).collect();
    let mut destination_bytes = Vec::new();
    encode_dump(&destinations, &mut destination_bytes);
    assert_eq!(decode_replies(&destination_bytes), destinations);
    assert_eq!(decode_replies_one_pass(&destination_bytes), destinations);

    let restore = restore_requests();
    let mut batch_bytes = Vec::new();
    encode_batch(&restore, &mut batch_bytes);
    let mut built = Vec::new();
    encode_batch_built(&restore, &mut built);
    assert_eq!(batch_bytes, built);

    let mut group = c.benchmark_group("ipvs_proto");
    let mut batch = Vec::with_capacity(batch_bytes.len());
    group.bench_function("encode 11,000 restore requests", |b| {
        b.iter(|| {
            batch.clear();
            encode_batch(black_box(&restore), &mut batch);
            black_box(batch.len())
        })
    });
    group.bench_function(
        "encode 11,000 restore requests, built-attributes baseline",
        |b| {
            b.iter(|| {
                batch.clear();
                encode_batch_built(black_box(&restore), &mut batch);
                black_box(batch.len())
            })
        },
    );
    let mut buffer = Vec::with_capacity(64 * 1024);
    group.bench_function("encode service request", |b| {
        b.iter(|| {
            buffer.clear();
            wire::emit_request(black_box(&request), FAMILY, 7, 1, &mut buffer);
            black_box(buffer.len())
        })
    });
    group.bench_function("decode service request", |b| {
        b.iter(|| decode_request(black_box(&request_bytes)))
    });
    group.bench_function("encode 100-service dump reply", |b| {
        b.iter(|| {
            buffer.clear();
            encode_dump(black_box(&replies), &mut buffer);
            black_box(buffer.len())
        })
    });
    group.bench_function("encode 100-service dump reply, Emitable baseline", |b| {
        b.iter(|| {
            buffer.clear();
            encode_dump_emitable(black_box(&replies), &mut buffer);
            black_box(buffer.len())
        })
    });
    group.bench_function("decode 100-service dump reply", |b| {
        b.iter(|| decode_replies(black_box(&dump_bytes)))
    });
    group.bench_function("decode 100-service dump reply, one-pass decoder", |b| {
        b.iter(|| decode_replies_one_pass(black_box(&dump_bytes)))
    });
    group.bench_function("decode 100-destination dump reply", |b| {
        b.iter(|| decode_replies(black_box(&destination_bytes)))
    });
    group.bench_function("decode 100-destination dump reply, one-pass decoder", |b| {
        b.iter(|| decode_replies_one_pass(black_box(&destination_bytes)))
    });
    group.bench_function("decode 100-service dump reply, attributes only", |b| {
        b.iter(|| decode_attributes(black_box(&dump_bytes)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
