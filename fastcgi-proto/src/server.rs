//! Application side: a sans-IO connection from a web server.
//!
//! Feed received bytes with [`Connection::handle_bytes`] (or, without
//! copying them, [`Connection::handle_buf`] or
//! [`Connection::handle_shared`]), take events with
//! [`Connection::poll_event`], answer with [`Connection::stdout`],
//! [`Connection::stderr`] and [`Connection::end_request`], and send what
//! [`Connection::poll_transmit`] returns. No sockets, no clock.
//!
//! How each peer action is handled:
//!
//! | input | outcome |
//! |---|---|
//! | version ≠ 1, fixed-size body of the wrong length | [`ServerError::Decode`] (fatal) |
//! | GET_VALUES (id 0) | GET_VALUES_RESULT from [`Config`], unknown names omitted; [`Event::Replied`] |
//! | other type on id 0 | UNKNOWN_TYPE reply; [`Event::Replied`] |
//! | BEGIN_REQUEST on an active id | [`ServerError::RequestActive`] (fatal) |
//! | BEGIN_REQUEST beyond `max_concurrent_requests` | END_REQUEST CANT_MPX_CONN (limit 1) or OVERLOADED; [`Event::Replied`] |
//! | BEGIN_REQUEST with a role other than 1..=3 | END_REQUEST UNKNOWN_ROLE; [`Event::Replied`] |
//! | any record for an inactive id (except BEGIN) | ignored (spec §4.1) |
//! | ABORT_REQUEST for an active id | [`Event::Abort`]; the application still ends the request |
//! | STDIN/DATA before the PARAMS end, PARAMS after it, DATA for a non-FILTER, data after a stream's end, STDOUT/STDERR/END_REQUEST from the web server | [`ServerError::Unexpected`] (fatal) |
//! | params over `max_params_len` / `max_params`, truncated pair | [`ServerError::Params`] (fatal) |
//! | unknown type on an active id | ignored |

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::record::{RecordBuf, record_bytes_missing, split_record};
use crate::{
    Body, DecodeError, EncodeError, EndRequest, FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS,
    HEADER_LEN, Pairs, Params, ParamsDecoder, ParamsLimits, ProtocolStatus, RecordLayout,
    RecordType, Role, StreamWriter, encode_pairs, encode_record,
};

/// Default `max_buffered`: 256 KiB of unpolled body data.
pub const DEFAULT_MAX_BUFFERED: usize = 256 * 1024;
/// Largest possible record on the wire.
pub const MAX_RECORD_LEN: usize = 8 + 65535 + 255;

/// Length of the complete records at the start of `src`, read from their
/// headers alone (a bad header is reported when the record is parsed). Stops
/// after the record whose content brings the running total to
/// `max_content` or beyond, and before a record that would make the prefix
/// longer than `max_content` + [`MAX_RECORD_LEN`] (records carrying little
/// content), but always takes a first complete record.
pub(crate) fn complete_records_len(src: &[u8], max_content: usize) -> usize {
    let max_len = max_content.saturating_add(MAX_RECORD_LEN);
    let (mut len, mut content) = (0usize, 0usize);
    while content < max_content {
        let Some(&[_, _, _, _, l1, l0, pad, _]) =
            src.get(len..).and_then(<[u8]>::first_chunk::<HEADER_LEN>)
        else {
            break;
        };
        let content_len = usize::from(u16::from_be_bytes([l1, l0]));
        let record_len = HEADER_LEN + content_len + usize::from(pad);
        let end = len + record_len;
        if end > src.len() || (len > 0 && end > max_len) {
            break;
        }
        len = end;
        content += content_len;
    }
    len
}

/// Connection configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Requests in flight on one connection (1: no multiplexing).
    pub max_concurrent_requests: usize,
    /// Advertised as `FCGI_MAX_CONNS`.
    pub max_conns: usize,
    /// Limits on each PARAMS stream.
    pub params: ParamsLimits,
    /// Unpolled STDIN/DATA bytes above which input is no longer accepted.
    pub max_buffered: usize,
    /// Record alignment of output (0 or 1: none).
    pub align: u16,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_concurrent_requests: 1,
            max_conns: 1,
            params: ParamsLimits::default(),
            max_buffered: DEFAULT_MAX_BUFFERED,
            align: 8,
        }
    }
}

/// What the web server did.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// BEGIN_REQUEST accepted.
    Request {
        /// Request id.
        id: u16,
        /// Role.
        role: Role,
        /// Whether the web server keeps the connection open.
        keep_conn: bool,
    },
    /// All params arrived.
    Params {
        /// Request id.
        id: u16,
        /// The pairs.
        params: Params,
    },
    /// STDIN bytes.
    Stdin {
        /// Request id.
        id: u16,
        /// The bytes.
        data: Bytes,
    },
    /// STDIN ended.
    StdinEnd {
        /// Request id.
        id: u16,
    },
    /// DATA bytes (FILTER).
    Data {
        /// Request id.
        id: u16,
        /// The bytes.
        data: Bytes,
    },
    /// DATA ended.
    DataEnd {
        /// Request id.
        id: u16,
    },
    /// ABORT_REQUEST: end the request soon with [`Connection::end_request`].
    Abort {
        /// Request id.
        id: u16,
    },
    /// The connection answered a record itself and queued the reply: a
    /// GET_VALUES_RESULT, an UNKNOWN_TYPE, or an END_REQUEST refusing a
    /// BEGIN_REQUEST (CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE). Nothing is
    /// asked of the application except to send it: take
    /// [`Connection::poll_transmit`] (through the codec, send
    /// [`AppOutput::Flush`](crate::codec::AppOutput::Flush)). Without this a
    /// management query on an idle connection would wait for the next
    /// write.
    Replied {
        /// Request id of the reply (0 for management records).
        id: u16,
        /// Type of the queued reply record.
        record_type: RecordType,
    },
}

/// A fatal protocol violation by the web server.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ServerError {
    /// Framing error.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// BEGIN_REQUEST for an id already active.
    #[error("BEGIN_REQUEST for active request {id}")]
    RequestActive {
        /// Request id.
        id: u16,
    },
    /// A record not allowed in the request's current state.
    #[error("unexpected {record_type:?} for request {id}")]
    Unexpected {
        /// Request id.
        id: u16,
        /// Record type.
        record_type: RecordType,
    },
    /// The PARAMS stream broke a limit or was malformed.
    #[error("request {id} params: {error}")]
    Params {
        /// Request id.
        id: u16,
        /// What was wrong.
        error: DecodeError,
    },
}

/// Misuse of the output calls.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// The id is not an active request.
    #[error("request {id} is not active")]
    NotActive {
        /// Request id.
        id: u16,
    },
    /// Encoding failed.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Params,
    Body,
}

#[derive(Debug)]
struct Req {
    role: Role,
    keep_conn: bool,
    phase: Phase,
    params: Option<ParamsDecoder>,
    stdin_done: bool,
    data_done: bool,
    stderr_used: bool,
}

/// The application side of one FastCGI connection.
///
/// ```
/// use fastcgi_proto::server::{Connection, Config, Event};
/// use fastcgi_proto::Role;
/// let mut c = Connection::new(Config::default());
/// let wire = b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\
///              \x01\x04\x00\x01\x00\x00\x00\x00\x01\x05\x00\x01\x00\x00\x00\x00";
/// assert_eq!(c.handle_bytes(wire).unwrap(), wire.len());
/// assert_eq!(c.poll_event(), Some(Event::Request { id: 1, role: Role::RESPONDER, keep_conn: false }));
/// assert!(matches!(c.poll_event(), Some(Event::Params { id: 1, .. })));
/// assert_eq!(c.poll_event(), Some(Event::StdinEnd { id: 1 }));
/// c.stdout(1, b"Status: 204\r\n\r\n").unwrap();
/// c.end_request(1, 0).unwrap();
/// let out = c.poll_transmit().unwrap();
/// assert_eq!(&out[out.len() - 16..], b"\x01\x03\x00\x01\x00\x08\x00\x00\0\0\0\0\0\0\0\0");
/// assert!(c.is_closed()); // KEEP_CONN was off
/// ```
#[derive(Debug)]
pub struct Connection {
    config: Config,
    inbuf: BytesMut,
    offset: usize,
    requests: BTreeMap<u16, Req>,
    events: VecDeque<Event>,
    buffered: usize,
    out: BytesMut,
    closed: bool,
}

impl Connection {
    /// A new connection.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            inbuf: BytesMut::new(),
            offset: 0,
            requests: BTreeMap::new(),
            events: VecDeque::new(),
            buffered: 0,
            out: BytesMut::new(),
            closed: false,
        }
    }

    /// Unpolled STDIN/DATA bytes (never above `max_buffered` + one record).
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Bytes held in the input buffer (at most one record).
    pub fn input_buffered(&self) -> usize {
        self.inbuf.len()
    }

    /// Active request ids.
    pub fn active_requests(&self) -> impl Iterator<Item = u16> + '_ {
        self.requests.keys().copied()
    }

    /// Whether the connection should be closed (after an END_REQUEST
    /// without KEEP_CONN, once [`Connection::poll_transmit`] is drained).
    /// Once closed, no more input is taken; the IO layer should send the
    /// remaining output, shut down its write half and drain unread input
    /// for a moment before closing (a lingering close), so the web server
    /// does not see a reset while it is still sending STDIN.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Feeds received bytes; returns how many were taken. Fewer than given
    /// means back-pressure: poll events, then offer the rest again. After a
    /// returned error the connection must be closed.
    ///
    /// Complete records are copied out of `src` once, together, and handed
    /// out as slices of that copy; only a record cut by the end of `src` is
    /// kept in the connection's own buffer. The copy stops once the records
    /// in it carry enough content to reach `max_buffered`, so a large `src`
    /// is never held beyond the limit.
    pub fn handle_bytes(&mut self, src: &[u8]) -> Result<usize, ServerError> {
        let mut taken = self.complete_held(src)?;
        loop {
            if !self.inbuf.is_empty() || self.stopped() {
                return Ok(taken);
            }
            let rest = src.get(taken..).unwrap_or_default();
            let len = complete_records_len(rest, self.budget());
            let Some(records) = rest.get(..len).filter(|r| !r.is_empty()) else {
                // At most one record, cut short: keep it; a bad header is
                // reported now, as soon as its 8 bytes are here.
                self.inbuf.extend_from_slice(rest);
                self.process()?;
                return Ok(src.len());
            };
            let mut records = Bytes::copy_from_slice(records);
            while !records.is_empty() && !self.stopped() {
                let Some((header, content)) = split_record(&mut records, &mut self.offset)? else {
                    // not reached: `records` holds complete records only
                    return Ok(taken);
                };
                taken += header.record_len();
                self.record(header.record_type, header.request_id, content)?;
            }
        }
    }

    /// Completes a record begun by an earlier call from the start of `src`,
    /// copying only the bytes it lacks; returns how many were taken.
    fn complete_held(&mut self, src: &[u8]) -> Result<usize, ServerError> {
        let mut taken = 0;
        loop {
            self.process()?;
            if self.inbuf.is_empty() || self.stopped() || taken == src.len() {
                return Ok(taken);
            }
            let need = record_bytes_missing(&self.inbuf, self.offset)?;
            let rest = src.get(taken..).unwrap_or_default();
            let piece = rest.get(..need.max(1)).unwrap_or(rest);
            self.inbuf.extend_from_slice(piece);
            taken += piece.len();
        }
    }

    /// Whether input is no longer taken: closed, or `max_buffered` reached.
    fn stopped(&self) -> bool {
        self.closed || self.buffered >= self.config.max_buffered
    }

    /// Content bytes that may still be queued before `max_buffered`.
    fn budget(&self) -> usize {
        self.config.max_buffered.saturating_sub(self.buffered)
    }

    /// Feeds received bytes held in a `BytesMut`, taking complete records
    /// over without copying them (the STDIN / DATA events are slices of
    /// `src`'s memory). On return `src` holds what was not taken: an
    /// incomplete record, to be completed by appending more bytes to `src`,
    /// or more under back-pressure (poll events, then call again), or
    /// everything once the connection is closed. Bytes fed before through
    /// [`handle_bytes`](Self::handle_bytes) or
    /// [`handle_shared`](Self::handle_shared) are completed first. After a
    /// returned error the connection must be closed.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use fastcgi_proto::server::{Config, Connection, Event};
    /// let mut wire = BytesMut::from(
    ///     &b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\
    ///        \x01\x04\x00\x01\x00\x00\x00\x00\
    ///        \x01\x05\x00\x01\x00\x02\x00\x00hi\x01\x05"[..],
    /// );
    /// let mut conn = Connection::new(Config::default());
    /// conn.handle_buf(&mut wire)?;
    /// assert_eq!(&wire[..], b"\x01\x05"); // the start of the next record stays
    /// let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    /// assert!(matches!(&events[2], Event::Stdin { id: 1, data } if data == "hi"));
    /// # Ok::<(), fastcgi_proto::server::ServerError>(())
    /// ```
    pub fn handle_buf(&mut self, src: &mut BytesMut) -> Result<(), ServerError> {
        self.take_records(src)
    }

    /// Feeds received bytes held in a [`Bytes`] (a frozen read buffer, a
    /// hyper or quinn chunk, a capture file) without copying them: complete
    /// records are split off `src` (a reference count, no copy) and the
    /// STDIN / DATA events are slices of `src`'s memory.
    ///
    /// Takes what [`handle_buf`](Self::handle_buf) takes, in the same
    /// order, with the same events and errors. A record begun by an earlier
    /// call is completed first, copying only the bytes it lacks. Where the
    /// two differ is a record cut by the end of `src`: a `Bytes` cannot be
    /// appended to, so that tail (less than one record; a bad header in it
    /// is reported now) is copied into the connection's own buffer and `src`
    /// is left empty, to be completed by the next call. On return `src` is
    /// therefore empty unless input stopped being taken: under back-pressure
    /// (`max_buffered` reached: poll events, then call again with `src`) it
    /// holds the untaken rest, starting at a record boundary or, if a held
    /// record is still being completed, just after the bytes copied into
    /// it; once the connection is closed it holds everything not taken.
    /// After a returned error the connection must be closed.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use fastcgi_proto::server::{Config, Connection, Event};
    /// let mut wire = Bytes::from_static(
    ///     b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\
    ///       \x01\x04\x00\x01\x00\x00\x00\x00\
    ///       \x01\x05\x00\x01\x00\x02\x00\x00hi\x01\x05",
    /// );
    /// let start = wire.as_ptr() as usize;
    /// let mut conn = Connection::new(Config::default());
    /// conn.handle_shared(&mut wire)?;
    /// assert!(wire.is_empty());
    /// assert_eq!(conn.input_buffered(), 2); // the start of the next record, copied
    /// let events: Vec<Event> = std::iter::from_fn(|| conn.poll_event()).collect();
    /// let Event::Stdin { id: 1, data } = &events[2] else { panic!("{events:?}") };
    /// assert_eq!(data, "hi");
    /// assert_eq!(data.as_ptr() as usize, start + 32); // a slice of the input
    /// // the rest of the STDIN record completes the held start
    /// conn.handle_shared(&mut Bytes::from_static(b"\x00\x01\x00\x00\x00\x00"))?;
    /// assert_eq!(conn.poll_event(), Some(Event::StdinEnd { id: 1 }));
    /// # Ok::<(), fastcgi_proto::server::ServerError>(())
    /// ```
    pub fn handle_shared(&mut self, src: &mut Bytes) -> Result<(), ServerError> {
        self.take_records(src)?;
        if self.inbuf.is_empty() && !self.stopped() {
            // Less than one record is left (its header, if whole, is good).
            self.inbuf.extend_from_slice(src);
            src.clear();
        }
        Ok(())
    }

    /// The zero-copy input path of [`handle_buf`](Self::handle_buf) and
    /// [`handle_shared`](Self::handle_shared): completes a held record, then
    /// splits complete records off `src` until input stops being taken or
    /// a record is cut by the end of `src`, which stays there.
    fn take_records<B: RecordBuf>(&mut self, src: &mut B) -> Result<(), ServerError> {
        let n = self.complete_held(src)?;
        src.advance(n);
        if !self.inbuf.is_empty() {
            return Ok(());
        }
        while !self.stopped() {
            let Some((header, content)) = split_record(src, &mut self.offset)? else {
                return Ok(());
            };
            self.record(header.record_type, header.request_id, content)?;
        }
        Ok(())
    }

    fn process(&mut self) -> Result<(), ServerError> {
        while !self.closed {
            // The content is handed out as a slice of the frozen record: no copy.
            let Some((header, content)) = split_record(&mut self.inbuf, &mut self.offset)? else {
                return Ok(());
            };
            self.record(header.record_type, header.request_id, content)?;
        }
        Ok(())
    }

    fn reply(&mut self, ty: RecordType, id: u16, content: &[u8]) {
        // content is at most 8 bytes or a bounded GET_VALUES_RESULT
        let _ = encode_record(&mut self.out, ty, id, content, self.config.align);
    }

    fn end(&mut self, id: u16, app_status: u32, ps: ProtocolStatus) {
        let body = EndRequest {
            app_status,
            protocol_status: ps,
        }
        .to_bytes();
        self.reply(RecordType::END_REQUEST, id, &body);
    }

    fn refuse(&mut self, id: u16, ps: ProtocolStatus) {
        self.end(id, 0, ps);
        self.events.push_back(Event::Replied {
            id,
            record_type: RecordType::END_REQUEST,
        });
    }

    fn record(&mut self, ty: RecordType, id: u16, content: Bytes) -> Result<(), ServerError> {
        if id == 0 {
            let record_type = if ty == RecordType::GET_VALUES {
                self.get_values(&content);
                RecordType::GET_VALUES_RESULT
            } else {
                let mut body = [0u8; 8];
                body[0] = ty.0;
                self.reply(RecordType::UNKNOWN_TYPE, 0, &body);
                RecordType::UNKNOWN_TYPE
            };
            self.events.push_back(Event::Replied { id: 0, record_type });
            return Ok(());
        }
        let unexpected = ServerError::Unexpected {
            id,
            record_type: ty,
        };
        if ty == RecordType::BEGIN_REQUEST {
            let Body::BeginRequest(b) = Body::parse(ty, &content) else {
                return Err(unexpected);
            };
            if self.requests.contains_key(&id) {
                return Err(ServerError::RequestActive { id });
            }
            if self.requests.len() >= self.config.max_concurrent_requests {
                let ps = if self.config.max_concurrent_requests <= 1 {
                    ProtocolStatus::CANT_MPX_CONN
                } else {
                    ProtocolStatus::OVERLOADED
                };
                self.refuse(id, ps);
                return Ok(());
            }
            if !matches!(b.role.0, 1..=3) {
                self.refuse(id, ProtocolStatus::UNKNOWN_ROLE);
                return Ok(());
            }
            self.requests.insert(
                id,
                Req {
                    role: b.role,
                    keep_conn: b.keep_conn(),
                    phase: Phase::Params,
                    params: Some(ParamsDecoder::new(self.config.params)),
                    stdin_done: false,
                    data_done: false,
                    stderr_used: false,
                },
            );
            self.events.push_back(Event::Request {
                id,
                role: b.role,
                keep_conn: b.keep_conn(),
            });
            return Ok(());
        }
        let Some(req) = self.requests.get_mut(&id) else {
            return Ok(());
        };
        match ty {
            RecordType::ABORT_REQUEST => self.events.push_back(Event::Abort { id }),
            RecordType::PARAMS => {
                let (Phase::Params, Some(dec)) = (req.phase, req.params.as_mut()) else {
                    return Err(unexpected);
                };
                if content.is_empty() {
                    let dec = req.params.take().ok_or(unexpected)?;
                    let params = dec
                        .finish()
                        .map_err(|error| ServerError::Params { id, error })?;
                    req.phase = Phase::Body;
                    self.events.push_back(Event::Params { id, params });
                } else {
                    dec.push(&content)
                        .map_err(|error| ServerError::Params { id, error })?;
                }
            }
            RecordType::STDIN | RecordType::DATA => {
                let is_data = ty == RecordType::DATA;
                let done = if is_data {
                    req.data_done
                } else {
                    req.stdin_done
                };
                if req.phase != Phase::Body || (is_data && req.role != Role::FILTER) {
                    return Err(unexpected);
                }
                if done {
                    return if content.is_empty() {
                        Ok(())
                    } else {
                        Err(unexpected)
                    };
                }
                if content.is_empty() {
                    if is_data {
                        req.data_done = true;
                        self.events.push_back(Event::DataEnd { id });
                    } else {
                        req.stdin_done = true;
                        self.events.push_back(Event::StdinEnd { id });
                    }
                } else {
                    self.buffered += content.len();
                    let data = content;
                    self.events.push_back(if is_data {
                        Event::Data { id, data }
                    } else {
                        Event::Stdin { id, data }
                    });
                }
            }
            RecordType::END_REQUEST
            | RecordType::STDOUT
            | RecordType::STDERR
            | RecordType::GET_VALUES
            | RecordType::GET_VALUES_RESULT
            | RecordType::UNKNOWN_TYPE => return Err(unexpected),
            _ => {}
        }
        Ok(())
    }

    fn get_values(&mut self, content: &[u8]) {
        let mpxs = if self.config.max_concurrent_requests > 1 {
            "1"
        } else {
            "0"
        };
        let conns = alloc::format!("{}", self.config.max_conns);
        let reqs = alloc::format!("{}", self.config.max_concurrent_requests);
        let mut answer: Vec<(&[u8], &[u8])> = Vec::new();
        for (name, _) in Pairs::new(content).map_while(Result::ok) {
            let v: &[u8] = match name {
                n if n == FCGI_MAX_CONNS.as_bytes() => conns.as_bytes(),
                n if n == FCGI_MAX_REQS.as_bytes() => reqs.as_bytes(),
                n if n == FCGI_MPXS_CONNS.as_bytes() => mpxs.as_bytes(),
                _ => continue,
            };
            let n: &[u8] = match v {
                _ if name == FCGI_MAX_CONNS.as_bytes() => FCGI_MAX_CONNS.as_bytes(),
                _ if name == FCGI_MAX_REQS.as_bytes() => FCGI_MAX_REQS.as_bytes(),
                _ => FCGI_MPXS_CONNS.as_bytes(),
            };
            if !answer.iter().any(|(a, _)| *a == n) {
                answer.push((n, v));
            }
        }
        let layout = RecordLayout {
            align: self.config.align,
            keep_pairs_whole: true,
        };
        let _ = encode_pairs(
            &mut self.out,
            RecordType::GET_VALUES_RESULT,
            0,
            answer.iter().map(|&(n, v)| (n, v)),
            layout,
            false,
        );
        if answer.is_empty() {
            self.reply(RecordType::GET_VALUES_RESULT, 0, &[]);
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        if let Event::Stdin { data, .. } | Event::Data { data, .. } = &e {
            self.buffered = self.buffered.saturating_sub(data.len());
        }
        Some(e)
    }

    /// Bytes to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }

    fn writer(&self, ty: RecordType, id: u16) -> Result<StreamWriter, OutputError> {
        if !self.requests.contains_key(&id) {
            return Err(OutputError::NotActive { id });
        }
        Ok(StreamWriter::new(ty, id).with_align(self.config.align))
    }

    /// Queues STDOUT bytes (empty input writes nothing).
    pub fn stdout(&mut self, id: u16, data: &[u8]) -> Result<(), OutputError> {
        let w = self.writer(RecordType::STDOUT, id)?;
        w.write(&mut self.out, data);
        Ok(())
    }

    /// Queues STDERR bytes (empty input writes nothing).
    pub fn stderr(&mut self, id: u16, data: &[u8]) -> Result<(), OutputError> {
        let w = self.writer(RecordType::STDERR, id)?;
        if !data.is_empty() {
            if let Some(r) = self.requests.get_mut(&id) {
                r.stderr_used = true;
            }
        }
        w.write(&mut self.out, data);
        Ok(())
    }

    /// Ends the request: the empty STDOUT, the empty STDERR if STDERR was
    /// used, then END_REQUEST{REQUEST_COMPLETE, app_status}. The id becomes
    /// inactive; without KEEP_CONN the connection is closed.
    pub fn end_request(&mut self, id: u16, app_status: u32) -> Result<(), OutputError> {
        let w = self.writer(RecordType::STDOUT, id)?;
        let req = self
            .requests
            .remove(&id)
            .ok_or(OutputError::NotActive { id })?;
        w.finish(&mut self.out);
        if req.stderr_used {
            StreamWriter::new(RecordType::STDERR, id).finish(&mut self.out);
        }
        self.end(id, app_status, ProtocolStatus::REQUEST_COMPLETE);
        self.events.retain(
            |e| !matches!(e, Event::Stdin { id: i, .. } | Event::Data { id: i, .. } if *i == id),
        );
        self.buffered = self
            .events
            .iter()
            .map(|e| match e {
                Event::Stdin { data, .. } | Event::Data { data, .. } => data.len(),
                _ => 0,
            })
            .sum();
        if !req.keep_conn {
            self.closed = true;
        }
        Ok(())
    }
}
