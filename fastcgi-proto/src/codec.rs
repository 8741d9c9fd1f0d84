//! tokio-util codecs (feature `codec`).
//!
//! [`RecordCodec`] frames single records, zero-copy: each decoded record's
//! content is a `split_to().freeze()` of the read buffer. [`AppCodec`] and
//! [`ClientCodec`] wrap the sans-IO connections so a tokio server or client
//! is a `Framed` and a loop.
//!
//! ```
//! # tokio_test::block_on(async {
//! use futures_util::{SinkExt, StreamExt};
//! use fastcgi_proto::codec::{AppCodec, AppOutput, ClientCodec, ClientInput};
//! use fastcgi_proto::server::{Config, Event};
//! use fastcgi_proto::{client, Role};
//! use tokio_util::codec::Framed;
//!
//! let (a, b) = tokio::io::duplex(64 * 1024);
//! let mut web = Framed::new(a, ClientCodec::default());
//! let mut app = Framed::new(b, AppCodec::new(Config::default()));
//! web.send(ClientInput::Begin { id: 1, role: Role::RESPONDER, keep_conn: false }).await.unwrap();
//! web.send(ClientInput::Params { id: 1, pairs: vec![("REQUEST_METHOD".into(), "GET".into())] }).await.unwrap();
//! web.send(ClientInput::StdinEnd { id: 1 }).await.unwrap();
//!
//! while let Some(ev) = app.next().await {
//!     if let Event::StdinEnd { id } = ev.unwrap() {
//!         app.send(AppOutput::Stdout(id, "Status: 204\r\n\r\n".into())).await.unwrap();
//!         app.send(AppOutput::End(id, 0)).await.unwrap();
//!         break;
//!     }
//! }
//! let mut out = Vec::new();
//! while let Some(ev) = web.next().await {
//!     match ev.unwrap() {
//!         client::Event::Stdout { data, .. } => out.extend_from_slice(&data),
//!         client::Event::End { .. } => break,
//!         _ => {}
//!     }
//! }
//! assert_eq!(out, b"Status: 204\r\n\r\n");
//! # });
//! ```

use alloc::vec::Vec;
use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::client::{self, ClientError, RequestError};
use crate::server::{self, Config, OutputError, ServerError};
use crate::{DecodeError, Header, OwnedRecord, Role, Status};

/// Codec errors.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Transport error.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// Framing error.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Application-side protocol violation.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// Web-server-side protocol violation.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Misuse of the application output.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// Misuse of the request calls.
    #[error(transparent)]
    Request(#[from] RequestError),
}

/// Frames single records.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordCodec {
    offset: usize,
}

impl Decoder for RecordCodec {
    type Item = OwnedRecord;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<OwnedRecord>, CodecError> {
        let header = match Header::parse(src, self.offset)? {
            Status::Complete(h) => h,
            Status::Incomplete { .. } => return Ok(None),
        };
        header.check_body_len(self.offset)?;
        let total = header.record_len();
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(crate::HEADER_LEN);
        let content = src.split_to(usize::from(header.content_len)).freeze();
        src.advance(usize::from(header.padding_len));
        self.offset += total;
        Ok(Some(OwnedRecord { header, content }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<OwnedRecord>, CodecError> {
        match self.decode(src)? {
            Some(r) => Ok(Some(r)),
            None if src.is_empty() => Ok(None),
            None => {
                let need = Header::parse(src, self.offset)
                    .ok()
                    .and_then(|s| match s {
                        Status::Complete(h) => Some(h.record_len()),
                        Status::Incomplete { .. } => None,
                    })
                    .unwrap_or(crate::HEADER_LEN);
                Err(DecodeError::Truncated {
                    have: src.len(),
                    need,
                    offset: self.offset,
                }
                .into())
            }
        }
    }
}

impl Encoder<OwnedRecord> for RecordCodec {
    type Error = CodecError;
    fn encode(&mut self, item: OwnedRecord, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.reserve(item.encoded_len());
        item.encode(dst);
        Ok(())
    }
}

/// What the application sends through [`AppCodec`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppOutput {
    /// STDOUT bytes for a request.
    Stdout(u16, Bytes),
    /// STDERR bytes for a request.
    Stderr(u16, Bytes),
    /// End the request with this application status.
    End(u16, u32),
    /// Send pending management replies (GET_VALUES, UNKNOWN_TYPE, refusals).
    Flush,
}

/// The application side as a codec: decodes [`server::Event`]s, encodes
/// [`AppOutput`]. Replies the library makes itself (GET_VALUES results,
/// CANT_MPX_CONN, …) are announced by [`server::Event::Replied`] and go out
/// with the next encoded item; answer that event with [`AppOutput::Flush`]
/// so a management query on an idle connection is not left waiting. Once the connection is closed
/// (a request without KEEP_CONN ended), further input is discarded: the read
/// buffer stays empty however long the peer keeps sending.
#[derive(Debug)]
pub struct AppCodec {
    conn: server::Connection,
}

impl AppCodec {
    /// A codec over a new connection.
    pub fn new(config: Config) -> Self {
        Self {
            conn: server::Connection::new(config),
        }
    }
    /// The connection (for `is_closed`, `active_requests`, …).
    pub fn connection(&self) -> &server::Connection {
        &self.conn
    }
}

impl Decoder for AppCodec {
    type Item = server::Event;
    type Error = CodecError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<server::Event>, CodecError> {
        if let Some(e) = self.conn.poll_event() {
            return Ok(Some(e));
        }
        if self.conn.is_closed() {
            // The lingering close: input after the end is read and dropped,
            // so the read buffer cannot grow while the peer keeps sending.
            src.clear();
            return Ok(None);
        }
        let n = self.conn.handle_bytes(src)?;
        src.advance(n);
        let e = self.conn.poll_event();
        if e.is_none() && self.conn.is_closed() {
            src.clear();
        }
        Ok(e)
    }
}

impl Encoder<AppOutput> for AppCodec {
    type Error = CodecError;
    fn encode(&mut self, item: AppOutput, dst: &mut BytesMut) -> Result<(), CodecError> {
        match item {
            AppOutput::Stdout(id, b) => self.conn.stdout(id, &b)?,
            AppOutput::Stderr(id, b) => self.conn.stderr(id, &b)?,
            AppOutput::End(id, status) => self.conn.end_request(id, status)?,
            AppOutput::Flush => {}
        }
        if let Some(b) = self.conn.poll_transmit() {
            dst.extend_from_slice(&b);
        }
        Ok(())
    }
}

/// What the web server sends through [`ClientCodec`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientInput {
    /// BEGIN_REQUEST.
    Begin {
        /// Request id.
        id: u16,
        /// Role.
        role: Role,
        /// Keep the connection after the request.
        keep_conn: bool,
    },
    /// All params, then the empty PARAMS record.
    Params {
        /// Request id.
        id: u16,
        /// The pairs.
        pairs: Vec<(Bytes, Bytes)>,
    },
    /// Body bytes.
    Stdin {
        /// Request id.
        id: u16,
        /// The bytes.
        data: Bytes,
    },
    /// End of the body.
    StdinEnd {
        /// Request id.
        id: u16,
    },
    /// ABORT_REQUEST.
    Abort {
        /// Request id.
        id: u16,
    },
    /// GET_VALUES for the three spec names.
    GetValues,
}

/// The web-server side as a codec.
#[derive(Debug, Default)]
pub struct ClientCodec {
    conn: client::Connection,
}

impl ClientCodec {
    /// The connection (for `in_flight`).
    pub fn connection(&self) -> &client::Connection {
        &self.conn
    }
}

impl Decoder for ClientCodec {
    type Item = client::Event;
    type Error = CodecError;
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<client::Event>, CodecError> {
        if let Some(e) = self.conn.poll_event() {
            return Ok(Some(e));
        }
        if !src.is_empty() {
            let b = src.split();
            self.conn.handle_bytes(&b)?;
        }
        Ok(self.conn.poll_event())
    }
}

impl Encoder<ClientInput> for ClientCodec {
    type Error = CodecError;
    fn encode(&mut self, item: ClientInput, dst: &mut BytesMut) -> Result<(), CodecError> {
        match item {
            ClientInput::Begin {
                id,
                role,
                keep_conn,
            } => self.conn.begin(id, role, keep_conn)?,
            ClientInput::Params { id, pairs } => {
                self.conn
                    .params(id, pairs.iter().map(|(n, v)| (&n[..], &v[..])))?;
            }
            ClientInput::Stdin { id, data } => self.conn.stdin(id, &data)?,
            ClientInput::StdinEnd { id } => self.conn.stdin_end(id)?,
            ClientInput::Abort { id } => self.conn.abort(id)?,
            ClientInput::GetValues => self.conn.get_values([
                crate::FCGI_MAX_CONNS,
                crate::FCGI_MAX_REQS,
                crate::FCGI_MPXS_CONNS,
            ])?,
        }
        if let Some(b) = self.conn.poll_transmit() {
            dst.extend_from_slice(&b);
        }
        Ok(())
    }
}
