//! Route netlink: dumps of links, addresses and routes; adding and removing
//! addresses and routes; setting links up or down.
use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::error::{Error, Result};
use crate::state::{Address, DefaultRoute, Link};

/// A route netlink socket in the calling thread's network namespace.
#[derive(Debug)]
pub(crate) struct Rtnl {
    socket: Socket,
    seq: u32,
}

impl Rtnl {
    pub(crate) fn open() -> Result<Self> {
        let fail = |source: io::Error| Error::Netlink {
            what: "opening a route netlink socket".into(),
            source,
        };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(fail)?;
        socket.bind_auto().map_err(fail)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(fail)?;
        Ok(Self { socket, seq: 0 })
    }

    /// Sends one request and collects the answers: every message of a dump, or
    /// nothing for an acknowledged change.
    fn request(
        &mut self,
        what: &str,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = flags | NLM_F_REQUEST | NLM_F_ACK;
        header.sequence_number = seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(message));
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        let io_err = |source: io::Error| Error::Netlink {
            what: what.to_owned(),
            source,
        };
        self.socket.send(&buf, 0).map_err(io_err)?;
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut out = Vec::new();
        loop {
            let (bytes, _) = self.socket.recv_from_full().map_err(io_err)?;
            let mut offset = 0;
            while offset < bytes.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[offset..])
                    .map_err(|e| Error::Decode {
                        what: what.to_owned(),
                        reason: e.to_string(),
                    })?;
                let len = reply.header.length as usize;
                if len == 0 {
                    break;
                }
                offset += (len + 3) & !3;
                if reply.header.sequence_number != seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None if !dump => Ok(out),
                            None => continue,
                            Some(_) => Err(io_err(e.to_io())),
                        };
                    }
                    _ => {}
                }
            }
        }
    }

    pub(crate) fn links(&mut self) -> Result<Vec<Link>> {
        let replies = self.request(
            "ip link show",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(Link {
                    index: l.header.index,
                    up: l.header.flags.contains(LinkFlags::Up),
                    name: l
                        .attributes
                        .iter()
                        .find_map(|a| match a {
                            LinkAttribute::IfName(n) => Some(n.clone()),
                            _ => None,
                        })
                        .unwrap_or_default(),
                }),
                _ => None,
            })
            .collect())
    }

    pub(crate) fn addresses(&mut self) -> Result<Vec<Address>> {
        let replies = self.request(
            "ip address show",
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        let mut out = Vec::new();
        for m in replies {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            // IPv4: IFA_LOCAL is the address (IFA_ADDRESS the peer's on
            // point-to-point links); IPv6 has IFA_ADDRESS only.
            let local = a.attributes.iter().find_map(|x| match x {
                AddressAttribute::Local(ip) => Some(*ip),
                _ => None,
            });
            let address = a.attributes.iter().find_map(|x| match x {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            });
            let Some(addr) = local.or(address) else {
                continue;
            };
            out.push(Address {
                index: a.header.index,
                addr,
                prefix: a.header.prefix_len,
                label: a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Label(l) => Some(l.clone()),
                    _ => None,
                }),
            });
        }
        Ok(out)
    }

    pub(crate) fn default_routes(&mut self) -> Result<Vec<DefaultRoute>> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut get = RouteMessage::default();
            get.header.address_family = family;
            let replies = self.request(
                "ip route show",
                RouteNetlinkMessage::GetRoute(get),
                NLM_F_DUMP,
            )?;
            for m in replies {
                let RouteNetlinkMessage::NewRoute(r) = m else {
                    continue;
                };
                let table = r
                    .attributes
                    .iter()
                    .find_map(|a| match a {
                        RouteAttribute::Table(t) => Some(*t),
                        _ => None,
                    })
                    .unwrap_or(u32::from(r.header.table));
                if table != u32::from(RouteHeader::RT_TABLE_MAIN)
                    || r.header.destination_prefix_length != 0
                {
                    continue;
                }
                let gateway = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(RouteAddress::Inet(ip)) => Some(IpAddr::V4(*ip)),
                    RouteAttribute::Gateway(RouteAddress::Inet6(ip)) => Some(IpAddr::V6(*ip)),
                    _ => None,
                });
                let oif = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Oif(i) => Some(*i),
                    _ => None,
                });
                let priority = r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Priority(p) => Some(*p),
                    _ => None,
                });
                out.push(DefaultRoute {
                    ipv6: family == AddressFamily::Inet6,
                    gateway,
                    oif,
                    dev: None,
                    priority,
                    protocol: r.header.protocol.into(),
                    scope: r.header.scope.into(),
                    kind: r.header.kind.into(),
                });
            }
        }
        Ok(out)
    }

    fn address_message(
        index: u32,
        addr: IpAddr,
        prefix: u8,
        label: Option<&str>,
    ) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header.family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        m.header.prefix_len = prefix;
        m.header.index = index;
        if addr.is_ipv4() {
            m.attributes.push(AddressAttribute::Local(addr));
        }
        m.attributes.push(AddressAttribute::Address(addr));
        if let (Some(label), true) = (label, addr.is_ipv4()) {
            m.attributes.push(AddressAttribute::Label(label.to_owned()));
        }
        m
    }

    pub(crate) fn add_address(
        &mut self,
        what: &str,
        index: u32,
        addr: IpAddr,
        prefix: u8,
        label: Option<&str>,
    ) -> Result<()> {
        let m = Self::address_message(index, addr, prefix, label);
        self.request(
            what,
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    pub(crate) fn del_address(
        &mut self,
        what: &str,
        index: u32,
        addr: IpAddr,
        prefix: u8,
    ) -> Result<()> {
        let m = Self::address_message(index, addr, prefix, None);
        self.request(what, RouteNetlinkMessage::DelAddress(m), 0)
            .map(drop)
    }

    pub(crate) fn set_link(&mut self, what: &str, index: u32, up: bool) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = if up {
            LinkFlags::Up
        } else {
            LinkFlags::empty()
        };
        m.header.change_mask = LinkFlags::Up;
        self.request(what, RouteNetlinkMessage::SetLink(m), 0)
            .map(drop)
    }

    fn route_message(route: &DefaultRoute) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header.address_family = if route.ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::from(route.protocol);
        m.header.scope = RouteScope::from(route.scope);
        m.header.kind = RouteType::from(route.kind);
        if let Some(gw) = route.gateway {
            m.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
        }
        if let Some(oif) = route.oif {
            m.attributes.push(RouteAttribute::Oif(oif));
        }
        if let Some(p) = route.priority {
            m.attributes.push(RouteAttribute::Priority(p));
        }
        m
    }

    pub(crate) fn add_route(&mut self, what: &str, route: &DefaultRoute) -> Result<()> {
        self.request(
            what,
            RouteNetlinkMessage::NewRoute(Self::route_message(route)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
    }

    pub(crate) fn del_route(&mut self, what: &str, route: &DefaultRoute) -> Result<()> {
        self.request(
            what,
            RouteNetlinkMessage::DelRoute(Self::route_message(route)),
            0,
        )
        .map(drop)
    }
}
