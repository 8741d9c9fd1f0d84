//! Web-server side: a sans-IO connection to an application (PHP-FPM,
//! fcgiwrap, any libfcgi application).
//!
//! Start requests with [`Connection::begin`], send params and body, feed
//! received bytes to [`Connection::handle_bytes`] (or, without copying
//! them, [`Connection::handle_buf`] or [`Connection::handle_shared`]),
//! take [`Event`]s and send
//! what [`Connection::poll_transmit`] returns.
//!
//! END_REQUEST ends STDOUT and STDERR even without their empty records
//! (PHP-FPM omits them). Records for ids not in flight are a
//! [`ClientError::UnknownRequest`]; STDOUT/STDERR/END_REQUEST chunks are
//! streamed, never accumulated.

use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;

use bytes::{Buf, Bytes, BytesMut};

use crate::record::{RecordBuf, record_bytes_missing, split_record};
use crate::server::complete_records_len;

use crate::{
    BeginRequest, Body, DecodeError, EncodeError, EndRequest, Params, RecordLayout, RecordType,
    Role, StreamWriter, encode_pairs, encode_record,
};

/// What the application sent.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// STDOUT bytes.
    Stdout {
        /// Request id.
        id: u16,
        /// The bytes.
        data: Bytes,
    },
    /// STDERR bytes.
    Stderr {
        /// Request id.
        id: u16,
        /// The bytes.
        data: Bytes,
    },
    /// END_REQUEST: the request is over, its id free again.
    End {
        /// Request id.
        id: u16,
        /// Application and protocol status.
        end: EndRequest,
    },
    /// GET_VALUES_RESULT.
    Values(Params),
    /// UNKNOWN_TYPE: the application did not know this type.
    UnknownType(RecordType),
}

/// A protocol violation by the application (fatal).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Framing error.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A record for an id that is not in flight.
    #[error("{record_type:?} for request {id}, which is not in flight")]
    UnknownRequest {
        /// Request id.
        id: u16,
        /// Record type.
        record_type: RecordType,
    },
    /// A record type the application must not send.
    #[error("unexpected {record_type:?} for request {id}")]
    Unexpected {
        /// Request id.
        id: u16,
        /// Record type.
        record_type: RecordType,
    },
}

/// Misuse of the request calls.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The id is 0 or already in flight.
    #[error("request id {id} is 0 or in flight")]
    BadId {
        /// Request id.
        id: u16,
    },
    /// The id is not in flight.
    #[error("request {id} is not in flight")]
    NotInFlight {
        /// Request id.
        id: u16,
    },
    /// Encoding failed (a pair over 2³¹−1 bytes).
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// The web-server side of one connection.
///
/// ```
/// use fastcgi_proto::client::{Connection, Event};
/// use fastcgi_proto::{ProtocolStatus, Role};
/// let mut c = Connection::new();
/// c.begin(1, Role::RESPONDER, false).unwrap();
/// c.params(1, [(&b"REQUEST_METHOD"[..], &b"GET"[..])]).unwrap();
/// c.stdin_end(1).unwrap();
/// let sent = c.poll_transmit().unwrap();
/// assert_eq!(&sent[..16], b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00");
/// // PHP-FPM style answer: STDOUT then END_REQUEST, no empty STDOUT
/// c.handle_bytes(b"\x01\x06\x00\x01\x00\x02\x06\x00hi\0\0\0\0\0\0\
///                  \x01\x03\x00\x01\x00\x08\x00\x00\0\0\0\0\0\0\0\0").unwrap();
/// assert!(matches!(c.poll_event(), Some(Event::Stdout { id: 1, .. })));
/// let Some(Event::End { id: 1, end }) = c.poll_event() else { panic!() };
/// assert_eq!(end.protocol_status, ProtocolStatus::REQUEST_COMPLETE);
/// ```
#[derive(Debug)]
pub struct Connection {
    inbuf: BytesMut,
    offset: usize,
    in_flight: BTreeSet<u16>,
    events: VecDeque<Event>,
    out: BytesMut,
    align: u16,
}

impl Default for Connection {
    fn default() -> Self {
        Self::new()
    }
}

impl Connection {
    /// A new connection padding records to 8 bytes.
    pub fn new() -> Self {
        Self {
            inbuf: BytesMut::new(),
            offset: 0,
            in_flight: BTreeSet::new(),
            events: VecDeque::new(),
            out: BytesMut::new(),
            align: 8,
        }
    }

    /// Requests started and not yet ended by END_REQUEST.
    pub fn in_flight(&self) -> impl Iterator<Item = u16> + '_ {
        self.in_flight.iter().copied()
    }

    /// Bytes held in the input buffer (at most one record).
    pub fn input_buffered(&self) -> usize {
        self.inbuf.len()
    }

    /// Sends BEGIN_REQUEST.
    pub fn begin(&mut self, id: u16, role: Role, keep_conn: bool) -> Result<(), RequestError> {
        if id == 0 || !self.in_flight.insert(id) {
            return Err(RequestError::BadId { id });
        }
        let body = BeginRequest::new(role, keep_conn).to_bytes();
        encode_record(
            &mut self.out,
            RecordType::BEGIN_REQUEST,
            id,
            &body,
            self.align,
        )?;
        Ok(())
    }

    fn check(&self, id: u16) -> Result<(), RequestError> {
        if self.in_flight.contains(&id) {
            Ok(())
        } else {
            Err(RequestError::NotInFlight { id })
        }
    }

    /// Sends all params and the empty PARAMS record, pairs kept whole per
    /// record (PHP-FPM layout).
    pub fn params<'p>(
        &mut self,
        id: u16,
        pairs: impl IntoIterator<Item = (&'p [u8], &'p [u8])>,
    ) -> Result<(), RequestError> {
        self.check(id)?;
        let layout = RecordLayout {
            align: self.align,
            keep_pairs_whole: true,
        };
        encode_pairs(&mut self.out, RecordType::PARAMS, id, pairs, layout, true)?;
        Ok(())
    }

    /// Sends body bytes.
    pub fn stdin(&mut self, id: u16, data: &[u8]) -> Result<(), RequestError> {
        self.check(id)?;
        StreamWriter::new(RecordType::STDIN, id)
            .with_align(self.align)
            .write(&mut self.out, data);
        Ok(())
    }

    /// Ends the body (always send it, even with no body).
    pub fn stdin_end(&mut self, id: u16) -> Result<(), RequestError> {
        self.check(id)?;
        StreamWriter::new(RecordType::STDIN, id).finish(&mut self.out);
        Ok(())
    }

    /// Sends ABORT_REQUEST; the request stays in flight until END_REQUEST.
    pub fn abort(&mut self, id: u16) -> Result<(), RequestError> {
        self.check(id)?;
        encode_record(&mut self.out, RecordType::ABORT_REQUEST, id, &[], 0)?;
        Ok(())
    }

    /// Sends a GET_VALUES query for `names`.
    pub fn get_values<'n>(
        &mut self,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<(), RequestError> {
        let pairs: Vec<(&[u8], &[u8])> = names
            .into_iter()
            .map(|n| (n.as_bytes(), &b""[..]))
            .collect();
        let layout = RecordLayout {
            align: self.align,
            keep_pairs_whole: true,
        };
        encode_pairs(
            &mut self.out,
            RecordType::GET_VALUES,
            0,
            pairs,
            layout,
            false,
        )?;
        Ok(())
    }

    /// Bytes to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        (!self.out.is_empty()).then(|| self.out.split().freeze())
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Feeds received bytes. After an error the connection must be closed.
    ///
    /// The complete records in `src` are copied out of it once, together,
    /// and handed out as slices of that copy; only a record cut by the end
    /// of `src` is kept in the connection's own buffer (at most one record).
    pub fn handle_bytes(&mut self, src: &[u8]) -> Result<(), ClientError> {
        let taken = self.complete_held(src)?;
        let src = src.get(taken..).unwrap_or_default();
        let len = complete_records_len(src, usize::MAX);
        let (records, cut) = src.split_at(len.min(src.len()));
        if !records.is_empty() {
            self.take_records(&mut Bytes::copy_from_slice(records))?;
        }
        // At most one record, cut short; a bad header is reported now.
        self.inbuf.extend_from_slice(cut);
        self.drain_records()
    }

    /// Feeds received bytes held in a [`Bytes`] (a hyper body chunk, a
    /// quinn chunk, a frozen read buffer, a capture file) without copying
    /// them: complete records are split off `src` (a reference count, no
    /// copy) and the STDOUT / STDERR events are slices of `src`'s memory.
    /// Takes everything in `src`, leaving it empty; the events and errors
    /// are those of [`handle_bytes`](Self::handle_bytes) on the same bytes.
    ///
    /// A record begun by an earlier call is completed first, copying only
    /// the bytes it lacks; a record cut by the end of `src` (less than one
    /// record; a bad header in it is reported now) is copied into the
    /// connection's own buffer, as a `Bytes` cannot be appended to. After an
    /// error the connection must be closed.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use fastcgi_proto::{Role, client};
    /// let mut conn = client::Connection::new();
    /// conn.begin(1, Role::RESPONDER, false)?;
    /// let mut wire = Bytes::from_static(b"\x01\x06\x00\x01\x00\x02\x06\x00hi\0\0\0\0\0\0\x01\x03");
    /// let start = wire.as_ptr() as usize;
    /// conn.handle_shared(&mut wire)?;
    /// assert!(wire.is_empty());
    /// assert_eq!(conn.input_buffered(), 2); // the start of END_REQUEST, copied
    /// let Some(client::Event::Stdout { id: 1, data }) = conn.poll_event() else { panic!() };
    /// assert_eq!(data, "hi");
    /// assert_eq!(data.as_ptr() as usize, start + 8); // a slice of the input
    /// conn.handle_shared(&mut Bytes::from_static(b"\x00\x01\x00\x08\x00\x00\0\0\0\0\0\0\0\0"))?;
    /// assert!(matches!(conn.poll_event(), Some(client::Event::End { id: 1, .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_shared(&mut self, src: &mut Bytes) -> Result<(), ClientError> {
        let taken = self.complete_held(src)?;
        src.advance(taken);
        self.take_records(src)
    }

    /// Completes a record begun by an earlier call from the start of `src`,
    /// copying only the bytes it lacks; returns how many were taken.
    fn complete_held(&mut self, src: &[u8]) -> Result<usize, ClientError> {
        let mut rest = src;
        while !self.inbuf.is_empty() && !rest.is_empty() {
            let need = record_bytes_missing(&self.inbuf, self.offset)?;
            let (piece, tail) = rest.split_at(need.min(rest.len()));
            self.inbuf.extend_from_slice(piece);
            rest = tail;
            self.drain_records()?;
        }
        Ok(src.len() - rest.len())
    }

    /// Splits the complete records off `src` (no copy), then moves what is
    /// left, at most one record cut short, into the input buffer, where a
    /// bad header is reported as soon as its 8 bytes are there. Called with
    /// the input buffer empty, or with nothing in `src`.
    fn take_records<B: RecordBuf>(&mut self, src: &mut B) -> Result<(), ClientError> {
        if self.inbuf.is_empty() {
            while let Some((header, content)) = split_record(src, &mut self.offset)? {
                self.record(header.record_type, header.request_id, content)?;
            }
        }
        self.inbuf.extend_from_slice(src);
        src.advance(src.len());
        self.drain_records()
    }

    /// Feeds received bytes without copying them: takes everything in `src`
    /// (leaving it empty) and hands record contents out as slices of it. The
    /// way to read a large STDOUT with one copy in all (the socket read).
    /// After an error the connection must be closed.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use fastcgi_proto::{Role, client};
    /// let mut conn = client::Connection::new();
    /// conn.begin(1, Role::RESPONDER, false)?;
    /// let mut buf = BytesMut::from(&b"\x01\x06\x00\x01\x00\x02\x00\x00hi"[..]);
    /// conn.handle_buf(&mut buf)?;
    /// assert!(buf.is_empty());
    /// assert!(matches!(conn.poll_event(), Some(client::Event::Stdout { id: 1, data }) if data == "hi"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle_buf(&mut self, src: &mut BytesMut) -> Result<(), ClientError> {
        if self.inbuf.is_empty() {
            self.inbuf = src.split();
        } else {
            self.inbuf.extend_from_slice(src);
            src.clear();
        }
        self.drain_records()
    }

    fn drain_records(&mut self) -> Result<(), ClientError> {
        // The content is handed out as a slice of the frozen record: no copy.
        while let Some((header, content)) = split_record(&mut self.inbuf, &mut self.offset)? {
            self.record(header.record_type, header.request_id, content)?;
        }
        Ok(())
    }

    fn record(&mut self, ty: RecordType, id: u16, content: Bytes) -> Result<(), ClientError> {
        if id == 0 {
            match Body::parse(ty, &content) {
                Body::UnknownType(t) => self.events.push_back(Event::UnknownType(t)),
                _ if ty == RecordType::GET_VALUES_RESULT => {
                    let p = Params::decode(content)?;
                    self.events.push_back(Event::Values(p));
                }
                _ => {
                    return Err(ClientError::Unexpected {
                        id,
                        record_type: ty,
                    });
                }
            }
            return Ok(());
        }
        if !self.in_flight.contains(&id) {
            return Err(ClientError::UnknownRequest {
                id,
                record_type: ty,
            });
        }
        match (ty, Body::parse(ty, &content)) {
            (RecordType::STDOUT, _) if !content.is_empty() => {
                self.events.push_back(Event::Stdout { id, data: content });
            }
            (RecordType::STDERR, _) if !content.is_empty() => {
                self.events.push_back(Event::Stderr { id, data: content });
            }
            (RecordType::STDOUT | RecordType::STDERR, _) => {}
            (_, Body::EndRequest(end)) => {
                self.in_flight.remove(&id);
                self.events.push_back(Event::End { id, end });
            }
            _ => {
                return Err(ClientError::Unexpected {
                    id,
                    record_type: ty,
                });
            }
        }
        Ok(())
    }
}
