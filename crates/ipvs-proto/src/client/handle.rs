//! A blocking IPVS client over a netlink socket.

use std::io;
use std::net::SocketAddr;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP_INTR, NetlinkDeserializable, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_generic::GenlMessage;
use netlink_packet_generic::ctrl::GenlCtrl;
use netlink_packet_generic::ctrl::GenlCtrlCmd;
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_sys::{Socket, protocols::NETLINK_GENERIC};
use nix::sys::socket::{MsgFlags, MultiHeaders, recvmmsg, setsockopt, sockopt::RcvBufForce};
use std::io::IoSliceMut;
use std::os::fd::AsRawFd as _;

use crate::address::AddressFamily;
use crate::client::netns::{NetNs, with_netns};
use crate::client::reply::Reply;
use crate::client::request::Request;
use crate::client::wire::{self, DO_FLAGS};
use crate::cmd::IpvsCmd;
use crate::constants::IPVS_GENL_NAME;
use crate::daemon::{Daemon, DaemonState};
use crate::destination::Destination;
use crate::error::{Error, KernelError};
use crate::info::Info;
use crate::message::IpvsMessage;
use crate::service::{Service, ServiceKey};
use crate::timeouts::Timeouts;

/// The kernel sizes each dump part it queues to the largest buffer this
/// socket has read with (at most 32 KiB) and to at least `NLMSG_GOODSIZE`
/// (a page less the kernel's overhead, for pages up to 8 KiB). Reading with
/// a page-sized buffer, as libnl does, keeps every datagram within the
/// buffer and the kernel's allocations for each part small: under emulation
/// thousands of small dumps (`-Ln` reads the destinations of each service
/// with one) cost noticeably less than with 32 KiB parts.
fn receive_buffer() -> usize {
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|page| usize::try_from(page).ok())
        .unwrap_or(4096);
    page.clamp(4096, 8192)
}
/// Socket receive buffer asked for; the kernel may grant less.
const SOCKET_RECEIVE_BUFFER: usize = 1024 * 1024;
/// Socket receive buffer asked for when privileged.
const SOCKET_RECEIVE_BUFFER_FORCED: usize = 4 * 1024 * 1024;
/// Largest datagram a batch sends at once.
const SEND_CHUNK: usize = 32 * 1024;
/// Bytes of socket receive buffer one reply may cost, on top of its length
/// (the kernel charges a buffer's true size, not its length).
const REPLY_OVERHEAD: usize = 1024;
/// Room for one datagram of a batch's answers (ACKs, errors echoing only
/// a header, small data replies of do-requests).
const BATCH_SLOT: usize = 4 * 1024;
/// Bytes of the buffer `recvmmsg` fills with a batch's answers (128
/// slots): every ACK is its own datagram, and under emulation every system
/// call is dear.
const SLOTS_BUFFER: usize = 128 * BATCH_SLOT;
/// Message type of netlink's ACKs and errors.
const NLMSG_ERROR: u16 = 2;
/// Family id of the generic-netlink controller.
const GENL_ID_CTRL: u16 = 0x10;
/// How often an interrupted dump is tried again.
const DUMP_ATTEMPTS: u32 = 5;

/// A connection to the kernel's IPVS family: one netlink socket, the family
/// id resolved once, any number of requests.
///
/// ```no_run
/// use ipvs_proto::{Client, Destination, Forwarding, Service, ServiceKey};
///
/// let mut client = Client::connect()?;
/// let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
/// client.add_service(&Service::new(key, "wrr"))?;
/// client.add_destination(
///     &key,
///     &Destination::new("10.0.0.2:80".parse().unwrap(), Forwarding::Masq, 3),
/// )?;
/// for service in client.services()? {
///     println!("{} {}", service.key, service.scheduler);
/// }
/// # Ok::<(), ipvs_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    socket: Socket,
    family_id: u16,
    port: u32,
    next_sequence: u32,
    receive: Vec<u8>,
    /// [`SLOTS_BUFFER`] bytes for `recvmmsg`, allocated on first use.
    slots: Vec<u8>,
    window: usize,
}

/// The outcome of each request of a [`Client::batch`], in request order.
pub type BatchResults = Vec<Result<(), KernelError>>;

impl Client {
    /// Opens a client in the calling thread's network namespace.
    pub fn connect() -> Result<Self, Error> {
        Self::connect_in(NetNs::Current)
    }

    /// Opens a client whose socket lives in `netns`. The calling thread
    /// enters the namespace only while the socket is created.
    pub fn connect_in(netns: NetNs<'_>) -> Result<Self, Error> {
        let socket = with_netns(netns, || {
            Socket::new(NETLINK_GENERIC).map_err(io_error("cannot open a generic netlink socket"))
        })?;
        Self::from_socket(socket)
    }

    /// Opens a client on an already created generic netlink socket (not yet
    /// bound), e.g. one made in another namespace.
    pub fn from_socket(socket: Socket) -> Result<Self, Error> {
        let mut client = Self::unresolved(socket)?;
        client.family_id = client.resolve_family()?;
        Ok(client)
    }

    /// Binds and sizes the socket; the family id is still to be resolved.
    fn unresolved(mut socket: Socket) -> Result<Self, Error> {
        let address = socket
            .bind_auto()
            .map_err(io_error("cannot bind the netlink socket"))?;
        // Best effort: a smaller buffer only makes batches wait sooner. The
        // forced size passes `rmem_max` and needs CAP_NET_ADMIN, which every
        // IPVS change needs anyway.
        let _ = socket.set_rx_buf_sz(SOCKET_RECEIVE_BUFFER);
        let _ = setsockopt(&socket, RcvBufForce, &SOCKET_RECEIVE_BUFFER_FORCED);
        // Errors then echo only the header of the failed request.
        let _ = socket.set_cap_ack(true);
        let granted = socket.get_rx_buf_sz().unwrap_or(SOCKET_RECEIVE_BUFFER / 8);
        Ok(Self {
            socket,
            family_id: 0,
            port: address.port_number(),
            next_sequence: 1,
            receive: Vec::with_capacity(receive_buffer()),
            slots: Vec::new(),
            window: (granted / 2).max(2 * REPLY_OVERHEAD),
        })
    }

    /// The generic-netlink id of the IPVS family on this kernel.
    pub fn family_id(&self) -> u16 {
        self.family_id
    }

    fn sequence(&mut self) -> u32 {
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        sequence
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let sequence = self.sequence();
        let mut bytes = Vec::with_capacity(64);
        let ctrl = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(IPVS_GENL_NAME.to_owned())],
        };
        wire::emit_genl(
            ctrl,
            GENL_ID_CTRL,
            DO_FLAGS,
            sequence,
            self.port,
            &mut bytes,
        );
        self.send(&bytes)?;
        let mut family_id = None;
        let outcome = self.receive_until::<GenlMessage<GenlCtrl>>(GENL_ID_CTRL, |message| {
            if message.header.sequence_number != sequence {
                return Ok(Flow::Continue);
            }
            match message.payload {
                NetlinkPayload::InnerMessage(genl) => {
                    for nla in genl.payload.nlas {
                        if let GenlCtrlAttrs::FamilyId(id) = nla {
                            family_id = Some(id);
                        }
                    }
                    Ok(Flow::Continue)
                }
                NetlinkPayload::Error(error) => Ok(Flow::Done(error.raw_code())),
                _ => Ok(Flow::Continue),
            }
        })?;
        match (outcome, family_id) {
            (0, Some(id)) => Ok(id),
            (code, _) if code == -libc::ENOENT => Err(Error::FamilyNotFound),
            (0, None) => Err(Error::Protocol(
                "the family lookup of IPVS answered without a family id".into(),
            )),
            (code, _) => Err(Error::Io {
                context: "cannot look up the IPVS generic netlink family",
                source: io::Error::from_raw_os_error(-code),
            }),
        }
    }

    fn send(&self, bytes: &[u8]) -> Result<(), Error> {
        let sent = loop {
            match self.socket.send(bytes, 0) {
                Ok(sent) => break sent,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Io {
                        context: "cannot send to the kernel",
                        source,
                    });
                }
            }
        };
        if sent != bytes.len() {
            return Err(Error::Protocol(format!(
                "sent {sent} of {} bytes",
                bytes.len()
            )));
        }
        Ok(())
    }

    /// Receives datagrams and feeds their messages to `on_message` until it
    /// returns [`Flow::Done`]; the datagram's remaining messages are still
    /// fed (they may be needed by batches), then the code is returned.
    fn receive_until<I: NetlinkDeserializable>(
        &mut self,
        family: u16,
        mut on_message: impl FnMut(NetlinkMessage<I>) -> Result<Flow, Error>,
    ) -> Result<i32, Error> {
        loop {
            self.receive_datagram()?;
            let mut done = None;
            for message in wire::parse_family_datagram::<I>(&self.receive, family) {
                if let Flow::Done(code) = on_message(message?)? {
                    done.get_or_insert(code);
                }
            }
            if let Some(code) = done {
                return Ok(code);
            }
        }
    }

    /// Receives at least one datagram, and as many more as are already
    /// queued and fit, in one system call (`recvmmsg`), each into its
    /// `slot`-byte slot of `self.slots`; returns their lengths. A datagram
    /// larger than a slot is an error.
    fn receive_datagrams(&mut self, slot: usize, lengths: &mut Vec<usize>) -> Result<(), Error> {
        if self.slots.is_empty() {
            self.slots = vec![0; SLOTS_BUFFER];
        }
        lengths.clear();
        let mut headers = MultiHeaders::<()>::preallocate(SLOTS_BUFFER / slot, None);
        let fd = self.socket.as_raw_fd();
        loop {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
                .slots
                .chunks_mut(slot)
                .map(|slot| [IoSliceMut::new(slot)])
                .collect();
            match recvmmsg(
                fd,
                &mut headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) {
                Ok(received) => {
                    for message in received {
                        if message.flags.contains(MsgFlags::MSG_TRUNC) {
                            return Err(Error::Protocol(format!(
                                "a datagram did not fit its {slot}-byte receive buffer"
                            )));
                        }
                        lengths.push(message.bytes);
                    }
                    return Ok(());
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(errno) => {
                    return Err(Error::Io {
                        context: "cannot receive from the kernel",
                        source: errno.into(),
                    });
                }
            }
        }
    }

    /// Receives one datagram into `self.receive`.
    fn receive_datagram(&mut self) -> Result<(), Error> {
        self.receive.clear();
        let length = loop {
            match self.socket.recv(&mut self.receive, libc::MSG_TRUNC) {
                Ok(length) => break length,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(Error::Io {
                        context: "cannot receive from the kernel",
                        source: error,
                    });
                }
            }
        };
        if length > self.receive.len() {
            return Err(Error::Protocol(format!(
                "a {length}-byte datagram did not fit the {}-byte receive buffer",
                self.receive.len()
            )));
        }
        Ok(())
    }

    /// Sends one request and collects its replies (none for most requests,
    /// one for `GetInfo`, `GetTimeouts` and `GetService`, the listing for
    /// dumps). An interrupted dump is run again, up to 5 times.
    pub fn request(&mut self, request: &Request) -> Result<Vec<Reply>, Error> {
        if may_go_unanswered(request) {
            // Through a batch, which follows it with a request that is
            // always answered, instead of waiting for an ACK that may
            // never come.
            let outcome = self.batch(std::slice::from_ref(request))?;
            return match outcome.into_iter().next() {
                Some(Err(error)) => Err(error.into()),
                _ => Ok(Vec::new()),
            };
        }
        for _ in 0..DUMP_ATTEMPTS {
            let (replies, interrupted) = self.request_once(request)?;
            if !interrupted {
                return Ok(replies);
            }
        }
        Err(Error::DumpInterrupted {
            attempts: DUMP_ATTEMPTS,
        })
    }

    fn request_once(&mut self, request: &Request) -> Result<(Vec<Reply>, bool), Error> {
        let sequence = self.sequence();
        let mut bytes = Vec::with_capacity(256);
        wire::emit_request(request, self.family_id, sequence, self.port, &mut bytes);
        self.send(&bytes)?;
        let family_id = self.family_id;
        let mut collector = ReplyCollector::new(request, sequence, family_id);
        loop {
            self.receive_datagram()?;
            if let Some(code) = collector.absorb_datagram(&self.receive)? {
                return collector.finish(code);
            }
        }
    }

    /// Sends `requests` pipelined: many per datagram, without waiting for
    /// any answer, then collects the errors and maps each to the request
    /// that caused it (only the last request of each window asks for an
    /// ACK). Requests are processed by the kernel in
    /// order; one failing does not stop the others. At most as many
    /// requests are in flight as their replies fit in the socket's receive
    /// buffer. Data replies (of `GetInfo`, ...) are discarded: use
    /// [`Client::request`] for queries. Dumps are refused.
    ///
    /// The outer error is for the transport; the inner results are per
    /// request, in request order.
    pub fn batch(&mut self, requests: &[Request]) -> Result<BatchResults, Error> {
        if let Some(dump) = requests.iter().find(|request| request.is_dump()) {
            return Err(Error::UnexpectedCommand {
                command: dump.command(),
                expected: "requests answered by an ACK (a batch cannot hold dumps)",
            });
        }
        let mut results = Vec::with_capacity(requests.len());
        let mut bytes = Vec::with_capacity(SEND_CHUNK + 1024);
        let mut lengths = Vec::with_capacity(SLOTS_BUFFER / BATCH_SLOT);
        let mut start = 0;
        while start < requests.len() {
            // One window: as many requests as their replies fit in the
            // receive buffer, sent in datagrams of at most SEND_CHUNK bytes.
            let first_sequence = self.next_sequence;
            let mut sentinel = false;
            let mut budget = 0;
            let mut end = start;
            bytes.clear();
            while end < requests.len() {
                let before = bytes.len();
                let sequence = self.sequence();
                wire::emit_request(
                    &requests[end],
                    self.family_id,
                    sequence,
                    self.port,
                    &mut bytes,
                );
                budget += bytes.len() - before + REPLY_OVERHEAD;
                end += 1;
                let last = end == requests.len() || budget >= self.window;
                sentinel = last && may_go_unanswered(&requests[end - 1]);
                if !last || sentinel {
                    // Only the window's last request asks for an ACK: the
                    // kernel answers in order, so once that ACK is in, every
                    // error of the window is too, and each request it did
                    // not refuse succeeded. 11,000 ACKs fewer to queue and
                    // read for a 1000x10 restore.
                    let flags = &mut bytes[before + 6..before + 8];
                    let without_ack = u16::from_ne_bytes([flags[0], flags[1]]) & !NLM_F_ACK;
                    flags.copy_from_slice(&without_ack.to_ne_bytes());
                }
                if sentinel {
                    // The window ends with a request that is always
                    // answered; its own outcome is dropped below.
                    let sequence = self.sequence();
                    wire::emit_request(
                        &Request::GetInfo,
                        self.family_id,
                        sequence,
                        self.port,
                        &mut bytes,
                    );
                }
                if bytes.len() >= SEND_CHUNK {
                    self.send(&bytes)?;
                    bytes.clear();
                }
                if last {
                    break;
                }
            }
            if !bytes.is_empty() {
                self.send(&bytes)?;
            }
            let mut commands: Vec<IpvsCmd> =
                requests[start..end].iter().map(Request::command).collect();
            if sentinel {
                commands.push(IpvsCmd::GetInfo);
            }
            let mut acks = AckCollector::new(first_sequence, &commands);
            while !acks.is_complete() {
                self.receive_datagrams(BATCH_SLOT, &mut lengths)?;
                for (slot, &length) in self.slots.chunks(BATCH_SLOT).zip(&lengths) {
                    for frame in wire::frames(&slot[..length]) {
                        let (_, message) = frame?;
                        acks.absorb_bytes(message);
                    }
                }
            }
            results.extend(acks.into_results().take(end - start));
            start = end;
        }
        Ok(results)
    }

    /// Adds a service (`ipvsadm -A`).
    pub fn add_service(&mut self, service: &Service) -> Result<(), Error> {
        self.request(&Request::add_service(service)).map(drop)
    }

    /// Replaces the settings of a service (`ipvsadm -E`).
    pub fn edit_service(&mut self, service: &Service) -> Result<(), Error> {
        self.request(&Request::edit_service(service)).map(drop)
    }

    /// Deletes a service and its destinations (`ipvsadm -D`).
    pub fn delete_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.request(&Request::delete_service(key)).map(drop)
    }

    /// Gets one service (`ipvsadm -L -t ...`).
    pub fn service(&mut self, key: &ServiceKey) -> Result<Service, Error> {
        let replies = self.request(&Request::get_service(key))?;
        replies
            .into_iter()
            .find_map(Reply::into_service)
            .ok_or_else(|| Error::Protocol("GET_SERVICE answered without a service".into()))
    }

    /// Lists every service, in the kernel's order (a dump).
    pub fn services(&mut self) -> Result<Vec<Service>, Error> {
        Ok(self
            .request(&Request::GetServices)?
            .into_iter()
            .filter_map(Reply::into_service)
            .collect())
    }

    /// Adds a destination to a service (`ipvsadm -a`).
    pub fn add_destination(
        &mut self,
        service: &ServiceKey,
        destination: &Destination,
    ) -> Result<(), Error> {
        self.request(&Request::add_destination(service, destination))
            .map(drop)
    }

    /// Replaces the settings of a destination (`ipvsadm -e`).
    pub fn edit_destination(
        &mut self,
        service: &ServiceKey,
        destination: &Destination,
    ) -> Result<(), Error> {
        self.request(&Request::edit_destination(service, destination))
            .map(drop)
    }

    /// Deletes the destination at `address` from a service (`ipvsadm -d`).
    pub fn delete_destination(
        &mut self,
        service: &ServiceKey,
        address: SocketAddr,
    ) -> Result<(), Error> {
        self.request(&Request::delete_destination(service, address))
            .map(drop)
    }

    /// Lists the destinations of a service (a dump).
    pub fn destinations(&mut self, service: &ServiceKey) -> Result<Vec<Destination>, Error> {
        Ok(self
            .request(&Request::GetDestinations(*service))?
            .into_iter()
            .filter_map(Reply::into_destination)
            .collect())
    }

    /// Version and connection table size.
    pub fn info(&mut self) -> Result<Info, Error> {
        self.request(&Request::GetInfo)?
            .into_iter()
            .find_map(Reply::into_info)
            .ok_or_else(|| Error::Protocol("GET_INFO answered without information".into()))
    }

    /// The connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        self.request(&Request::GetTimeouts)?
            .into_iter()
            .find_map(Reply::into_timeouts)
            .ok_or_else(|| Error::Protocol("GET_CONFIG answered without timeouts".into()))
    }

    /// Sets the connection timeouts (`ipvsadm --set`).
    pub fn set_timeouts(&mut self, timeouts: &Timeouts) -> Result<(), Error> {
        self.request(&Request::SetTimeouts(*timeouts)).map(drop)
    }

    /// Zeroes the counters of one service, or of all (`ipvsadm -Z`).
    pub fn zero(&mut self, service: Option<&ServiceKey>) -> Result<(), Error> {
        self.request(&Request::zero(service)).map(drop)
    }

    /// Deletes every service (`ipvsadm -C`).
    pub fn flush(&mut self) -> Result<(), Error> {
        self.request(&Request::Flush).map(drop)
    }

    /// Starts a sync daemon (`ipvsadm --start-daemon`).
    pub fn start_daemon(&mut self, daemon: &Daemon) -> Result<(), Error> {
        self.request(&Request::NewDaemon(daemon.clone())).map(drop)
    }

    /// Stops the sync daemon in `state` (`ipvsadm --stop-daemon`).
    pub fn stop_daemon(&mut self, state: DaemonState) -> Result<(), Error> {
        self.request(&Request::stop_daemon(state)).map(drop)
    }

    /// The running sync daemons (a dump).
    pub fn daemons(&mut self) -> Result<Vec<Daemon>, Error> {
        Ok(self
            .request(&Request::GetDaemons)?
            .into_iter()
            .filter_map(Reply::into_daemon)
            .collect())
    }
}

/// What a receive loop does after a message.
enum Flow {
    Continue,
    /// Stop after this datagram with this code (0 or a negative errno).
    Done(i32),
}

fn io_error(context: &'static str) -> impl FnOnce(io::Error) -> Error {
    move |source| Error::Io { context, source }
}

/// Collects the replies to one request (a do-request or a dump) and notes
/// whether the kernel flagged any part of a dump as interrupted.
#[derive(Debug)]
pub(crate) struct ReplyCollector {
    command: IpvsCmd,
    sequence: u32,
    family_id: u16,
    hint: Option<AddressFamily>,
    replies: Vec<Reply>,
    interrupted: bool,
}

impl ReplyCollector {
    pub(crate) fn new(request: &Request, sequence: u32, family_id: u16) -> Self {
        Self {
            command: request.command(),
            sequence,
            family_id,
            hint: match request {
                Request::GetDestinations(key) => Some(key.family()),
                _ => None,
            },
            replies: Vec::new(),
            interrupted: false,
        }
    }

    /// Takes every message of a received datagram; `Some(code)` once the
    /// request is answered. The services and destinations of a listing go
    /// straight from the bytes to the typed values; the rest, and anything
    /// irregular, through the parsed message.
    pub(crate) fn absorb_datagram(&mut self, datagram: &[u8]) -> Result<Option<i32>, Error> {
        let mut done = None;
        for frame in wire::frames(datagram) {
            let (offset, message) = frame?;
            let kind = u16::from_ne_bytes([message[4], message[5]]);
            if wire::is_foreign(kind, self.family_id) {
                continue;
            }
            let code = match self.absorb_listed(message) {
                Some(code) => code,
                None => self.absorb(wire::deserialize_at(offset, message)?)?,
            };
            if let Some(code) = code {
                done.get_or_insert(code);
            }
        }
        Ok(done)
    }

    /// Takes one received message, still as bytes, when it is a service or
    /// a destination of this request's listing that the one-pass decoder
    /// reads: `Some(None)` (the request is not answered yet). `None` leaves
    /// the message to [`ReplyCollector::absorb`].
    pub(crate) fn absorb_listed(&mut self, message: &[u8]) -> Option<Option<i32>> {
        let header = message.get(..20)?;
        let kind = u16::from_ne_bytes([header[4], header[5]]);
        let flags = u16::from_ne_bytes([header[6], header[7]]);
        let sequence = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
        if kind != self.family_id || sequence != self.sequence {
            return None;
        }
        let reply = Reply::decode_listed(IpvsCmd::from(header[16]), &message[20..], self.hint)?;
        self.interrupted |= flags & NLM_F_DUMP_INTR != 0;
        self.replies.push(reply);
        Some(None)
    }

    /// Takes one received message; `Some(code)` once the request is
    /// answered (its ACK, error or the dump's DONE). Messages of other
    /// sequence numbers are ignored.
    pub(crate) fn absorb(
        &mut self,
        message: NetlinkMessage<GenlMessage<IpvsMessage>>,
    ) -> Result<Option<i32>, Error> {
        let header = message.header;
        if header.sequence_number != self.sequence {
            return Ok(None);
        }
        self.interrupted |= header.flags & NLM_F_DUMP_INTR != 0;
        match message.payload {
            NetlinkPayload::InnerMessage(genl) if header.message_type == self.family_id => {
                self.replies
                    .push(Reply::from_message(&genl.payload, self.hint)?);
                Ok(None)
            }
            NetlinkPayload::Error(error) => Ok(Some(error.raw_code())),
            NetlinkPayload::Done(done) => Ok(Some(done.code)),
            NetlinkPayload::Overrun(_) => Err(Error::Protocol("netlink overrun".into())),
            _ => Ok(None),
        }
    }

    /// The replies and whether the dump was interrupted, or the kernel's
    /// error for `code` < 0.
    pub(crate) fn finish(self, code: i32) -> Result<(Vec<Reply>, bool), Error> {
        if code < 0 {
            return Err(KernelError {
                errno: code.saturating_neg(),
                command: self.command,
            }
            .into());
        }
        Ok((self.replies, self.interrupted))
    }
}

/// Whether the kernel may answer `request` with nothing at all, not even an
/// ACK asked for: starting or stopping a sync daemon. Stopping a sync thread
/// that has not run yet makes the kernel's `kthread_stop` return `-EINTR`
/// (the thread is stopped all the same), and netlink sends no answer for
/// `-EINTR`, so a client waiting for that ACK would wait forever (seen in
/// the kernel lab when a restore's rollback stopped the daemon it had just
/// started). Such a request is never the last of a window: a `GET_INFO`
/// follows it, and its answer tells that the daemon request was processed.
fn may_go_unanswered(request: &Request) -> bool {
    matches!(request, Request::NewDaemon(_) | Request::DelDaemon(_))
}

/// Maps the answers to a window of pipelined requests (consecutive
/// sequence numbers from `first_sequence`) to the requests. Only the last
/// request asks for an ACK; the kernel answers in order, so once its answer
/// is in, a request without an error succeeded.
#[derive(Debug)]
pub(crate) struct AckCollector<'a> {
    first_sequence: u32,
    commands: &'a [IpvsCmd],
    errors: Vec<Option<KernelError>>,
    complete: bool,
}

impl<'a> AckCollector<'a> {
    pub(crate) fn new(first_sequence: u32, commands: &'a [IpvsCmd]) -> Self {
        Self {
            first_sequence,
            commands,
            errors: vec![None; commands.len()],
            complete: commands.is_empty(),
        }
    }

    /// Takes note of one received message, still as bytes (its header
    /// checked by [`wire::frames`]): an `NLMSG_ERROR` (ACK or error)
    /// carries its code right after the netlink header, and nothing else is
    /// parsed. ACKs and errors of other sequence numbers, and data replies,
    /// are ignored.
    pub(crate) fn absorb_bytes(&mut self, message: &[u8]) {
        let kind = u16::from_ne_bytes([message[4], message[5]]);
        if kind != NLMSG_ERROR {
            return;
        }
        let (Some(sequence), Some(code)) = (message.get(8..12), message.get(16..20)) else {
            return;
        };
        let sequence = u32::from_ne_bytes([sequence[0], sequence[1], sequence[2], sequence[3]]);
        let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
        self.record(sequence, code);
    }

    fn record(&mut self, sequence: u32, code: i32) {
        let index = sequence.wrapping_sub(self.first_sequence) as usize;
        let Some(slot) = self.errors.get_mut(index) else {
            return;
        };
        if code != 0 {
            *slot = Some(KernelError {
                errno: code.saturating_neg(),
                command: self.commands[index],
            });
        }
        if index + 1 == self.commands.len() {
            self.complete = true;
        }
    }

    /// True once the last request is answered.
    pub(crate) fn is_complete(&self) -> bool {
        self.complete
    }

    pub(crate) fn into_results(self) -> impl Iterator<Item = Result<(), KernelError>> {
        self.errors
            .into_iter()
            .map(|error| error.map_or(Ok(()), Err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of every `recv` line of a capture in `tests/data`.
    fn received(capture: &str) -> Vec<Vec<u8>> {
        capture
            .lines()
            .filter_map(|line| line.strip_prefix("recv "))
            .map(|hex| {
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect()
            })
            .collect()
    }

    /// Rewrites the sequence number of the netlink message at the start of
    /// `datagram` (an ACK or error as the kernel sent it).
    fn with_sequence(mut datagram: Vec<u8>, sequence: u32) -> Vec<u8> {
        datagram[8..12].copy_from_slice(&sequence.to_ne_bytes());
        datagram
    }

    #[test]
    fn acks_and_errors_map_to_the_requests_that_caused_them() {
        // A real success ACK (capture 03) and real errors (38: EEXIST on
        // NEW_SERVICE, 41: ENOENT on DEL_DEST), renumbered as replies to a
        // window of three pipelined requests starting at sequence 1000.
        let ack = received(include_str!("../../tests/data/03-add-svc-tcp-wrr.txt"))
            .pop()
            .unwrap();
        let exists = received(include_str!("../../tests/data/38-err-add-dup-svc.txt"))
            .pop()
            .unwrap();
        let no_dest = received(include_str!("../../tests/data/41-err-del-missing-dst.txt"))
            .pop()
            .unwrap();
        let commands = [IpvsCmd::NewService, IpvsCmd::NewService, IpvsCmd::DelDest];
        let mut collector = AckCollector::new(1000, &commands);
        // In the kernel's order; only the last request asks for an ACK.
        let datagrams = [
            with_sequence(ack.clone(), 999), // an older request's ACK: ignored
            with_sequence(exists, 1001),
            with_sequence(no_dest, 1002),
        ];
        for datagram in &datagrams {
            assert!(!collector.is_complete());
            for frame in wire::frames(datagram) {
                collector.absorb_bytes(frame.unwrap().1);
            }
        }
        assert!(collector.is_complete());
        let results: Vec<_> = collector.into_results().collect();
        assert_eq!(results[0], Ok(()));
        let exists = results[1].unwrap_err();
        assert_eq!(exists.to_string(), "Service already exists");
        let no_dest = results[2].unwrap_err();
        assert_eq!(no_dest.errno, libc::ENOENT);
        assert_eq!(no_dest.to_string(), "No such destination");
    }

    #[test]
    fn sequence_numbers_wrap_around_inside_a_window() {
        let ack = received(include_str!("../../tests/data/03-add-svc-tcp-wrr.txt"))
            .pop()
            .unwrap();
        let commands = [IpvsCmd::Flush, IpvsCmd::Zero];
        let mut collector = AckCollector::new(u32::MAX, &commands);
        for sequence in [u32::MAX, 0] {
            let datagram = with_sequence(ack.clone(), sequence);
            for frame in wire::frames(&datagram) {
                collector.absorb_bytes(frame.unwrap().1);
            }
        }
        assert!(collector.is_complete());
        assert!(collector.into_results().all(|result| result.is_ok()));
    }

    /// Feeds every received datagram of a capture that answers `request`
    /// (sent with the capture's sequence number) to a collector.
    fn collect(
        capture: &str,
        request: &Request,
        damage: impl Fn(&mut Vec<u8>),
    ) -> Result<(Vec<Reply>, bool), Error> {
        let sent = capture
            .lines()
            .filter_map(|line| line.strip_prefix("send "))
            .map(|hex| received(&format!("recv {hex}")).pop().unwrap())
            .find(|bytes| {
                wire::parse_datagram::<GenlMessage<IpvsMessage>>(bytes).any(|m| match m {
                    Ok(NetlinkMessage {
                        payload: NetlinkPayload::InnerMessage(genl),
                        header,
                        ..
                    }) => {
                        Request::from_message(&genl.payload, header.flags & 0x300 == 0x300).ok()
                            == Some(request.clone())
                    }
                    _ => false,
                })
            })
            .expect("the capture sends the request");
        let sequence = u32::from_ne_bytes(sent[8..12].try_into().unwrap());
        let mut collector = ReplyCollector::new(request, sequence, 0x20);
        // ipvsadm opens a socket per step, each numbering from the same
        // sequence: the port id tells the answers to this request apart.
        for mut datagram in received(capture) {
            if datagram[12..16] != sent[12..16] {
                continue;
            }
            damage(&mut datagram);
            if let Some(code) = collector.absorb_datagram(&datagram)? {
                return collector.finish(code);
            }
        }
        panic!("the capture never answers the request");
    }

    #[test]
    fn a_multi_part_dump_is_collected_until_done() {
        let capture = include_str!("../../tests/data/20-list-numeric.txt");
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        let (replies, interrupted) =
            collect(capture, &Request::GetDestinations(key), |_| {}).unwrap();
        assert!(!interrupted);
        let addresses: Vec<String> = replies
            .iter()
            .map(|reply| match reply {
                Reply::Destination(d) => d.socket_addr().to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            addresses,
            [
                "10.0.0.6:80",
                "10.0.0.5:80",
                "10.0.0.4:80",
                "10.0.0.3:80",
                "10.0.0.2:80"
            ]
        );
        let (services, _) = collect(capture, &Request::GetServices, |_| {}).unwrap();
        assert_eq!(services.len(), 8);
    }

    #[test]
    fn a_dump_part_flagged_interrupted_is_noticed() {
        let capture = include_str!("../../tests/data/20-list-numeric.txt");
        // Set NLM_F_DUMP_INTR on the first message of every datagram that
        // is a multi-part message.
        let flag = |datagram: &mut Vec<u8>| {
            if datagram[6] & 0x02 != 0 {
                datagram[6] |= 0x10;
            }
        };
        let (services, interrupted) = collect(capture, &Request::GetServices, flag).unwrap();
        assert_eq!(services.len(), 8);
        assert!(interrupted);
    }

    #[test]
    fn an_error_answer_becomes_the_kernel_error_of_the_request() {
        let capture = include_str!("../../tests/data/39-err-del-missing-svc.txt");
        let key = ServiceKey::tcp("10.9.9.9:80".parse().unwrap());
        let error = collect(capture, &Request::delete_service(&key), |_| {}).unwrap_err();
        assert_eq!(error.to_string(), "No such service");
        assert_eq!(error.kernel().unwrap().errno, libc::ESRCH);
    }

    /// A client whose "IPVS" requests go to the kernel's generic-netlink
    /// controller instead: it knows none of the IPVS command numbers used
    /// below and answers each with its own `EOPNOTSUPP` error. That makes
    /// the real kernel exercise the batch machinery on hosts without IPVS.
    fn client_talking_to_nlctrl() -> Client {
        let socket = Socket::new(NETLINK_GENERIC).unwrap();
        let mut client = Client::unresolved(socket).unwrap();
        client.family_id = GENL_ID_CTRL;
        client
    }

    #[test]
    fn a_long_batch_gets_one_answer_per_request_in_order() {
        let mut client = client_talking_to_nlctrl();
        // Small windows: many round trips of pipelined datagrams.
        client.window = 16 * 1024;
        let key = ServiceKey::tcp("10.0.0.1:80".parse().unwrap());
        let requests: Vec<Request> = (0..3000)
            .map(|i| match i % 3 {
                0 => Request::Flush,
                1 => Request::zero(Some(&key)),
                _ => Request::GetInfo,
            })
            .collect();
        let results = client.batch(&requests).unwrap();
        assert_eq!(results.len(), requests.len());
        for (request, result) in requests.iter().zip(&results) {
            let error = result.unwrap_err();
            assert_eq!(error.errno, libc::EOPNOTSUPP);
            assert_eq!(error.command, request.command());
        }
        // The window the socket's receive buffer allows: no answer is lost.
        client.window = Client::unresolved(Socket::new(NETLINK_GENERIC).unwrap())
            .unwrap()
            .window;
        let results = client.batch(&requests).unwrap();
        assert_eq!(results.len(), requests.len());
        assert!(
            results
                .iter()
                .all(|r| r.unwrap_err().errno == libc::EOPNOTSUPP)
        );
        // The socket holds nothing stale: the next request gets its own answer.
        let error = client.request(&Request::Flush).unwrap_err();
        assert_eq!(error.kernel().unwrap().errno, libc::EOPNOTSUPP);
        assert_eq!(error.kernel().unwrap().command, IpvsCmd::Flush);
    }

    #[test]
    fn a_batch_refuses_dumps() {
        let mut client = client_talking_to_nlctrl();
        let error = client
            .batch(&[Request::Flush, Request::GetServices])
            .unwrap_err();
        assert!(matches!(
            error,
            Error::UnexpectedCommand {
                command: IpvsCmd::GetService,
                ..
            }
        ));
    }

    #[test]
    fn kernel_error_messages_depend_on_the_command() {
        let message = |command, errno| KernelError { errno, command }.to_string();
        assert_eq!(
            message(IpvsCmd::NewDest, libc::EEXIST),
            "Destination already exists"
        );
        assert_eq!(message(IpvsCmd::DelService, libc::ESRCH), "No such service");
        assert_eq!(
            message(IpvsCmd::NewDest, libc::ESRCH),
            "Service not defined"
        );
        // Listing the destinations of a missing service (ipvs_get_dests).
        assert_eq!(message(IpvsCmd::GetDest, libc::ESRCH), "No such service");
        assert_eq!(
            message(IpvsCmd::NewService, libc::ENOENT),
            "Scheduler or persistence engine not found"
        );
        assert_eq!(
            message(IpvsCmd::SetDest, libc::ENOENT),
            "No such destination"
        );
        assert_eq!(
            message(IpvsCmd::Flush, libc::EPERM),
            "Permission denied (you must be root)"
        );
        // Unknown combinations fall back to strerror's text, with no
        // "(os error N)" tail.
        assert_eq!(
            message(IpvsCmd::GetInfo, libc::EBUSY),
            "Device or resource busy"
        );
        assert_eq!(message(IpvsCmd::Flush, 4095), "Unknown error 4095");
    }
}
