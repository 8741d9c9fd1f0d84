//! An application-side FastCGI codec that also answers the management
//! records the connection handles by itself (GET_VALUES → GET_VALUES_RESULT,
//! unknown types → UNKNOWN_TYPE) as soon as they arrive: the decoder hands
//! such a reply out as [`AppItem::Reply`] for the serving loop to send as
//! is, so a web server probing with GET_VALUES between requests gets its
//! answer without waiting for the next request's output.

use bytes::{Buf, Bytes, BytesMut};
use fastcgi_proto::codec::{AppOutput, CodecError};
use fastcgi_proto::server::{Config, Connection, Event};
use tokio_util::codec::{Decoder, Encoder};

/// What the decoder yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppItem {
    /// An event of the web server.
    Event(Event),
    /// Bytes the connection wrote by itself; send them as they are.
    Reply(Bytes),
}

/// The codec: decodes [`AppItem`]s, encodes [`AppOutput`] and raw [`Bytes`].
#[derive(Debug)]
pub struct AppConnCodec {
    conn: Connection,
}

impl AppConnCodec {
    /// A codec over a new connection with `config`.
    pub fn new(config: Config) -> Self {
        Self {
            conn: Connection::new(config),
        }
    }

    /// The connection state.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Decoder for AppConnCodec {
    type Item = AppItem;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<AppItem>, CodecError> {
        if let Some(e) = self.conn.poll_event() {
            return Ok(Some(AppItem::Event(e)));
        }
        if self.conn.is_closed() {
            // Input after the end is read and dropped: the buffer cannot grow.
            src.clear();
            return Ok(None);
        }
        let n = self.conn.handle_bytes(src).map_err(CodecError::from)?;
        src.advance(n);
        if let Some(e) = self.conn.poll_event() {
            return Ok(Some(AppItem::Event(e)));
        }
        Ok(self.conn.poll_transmit().map(AppItem::Reply))
    }
}

impl Encoder<AppOutput> for AppConnCodec {
    type Error = CodecError;

    fn encode(&mut self, item: AppOutput, dst: &mut BytesMut) -> Result<(), CodecError> {
        match item {
            AppOutput::Stdout(id, b) => self.conn.stdout(id, &b)?,
            AppOutput::Stderr(id, b) => self.conn.stderr(id, &b)?,
            AppOutput::End(id, status) => self.conn.end_request(id, status)?,
            _ => {}
        }
        if let Some(b) = self.conn.poll_transmit() {
            dst.extend_from_slice(&b);
        }
        Ok(())
    }
}

impl Encoder<Bytes> for AppConnCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}
