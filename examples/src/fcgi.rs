//! An application-side FastCGI codec that also answers the management
//! records the connection handles by itself (GET_VALUES → GET_VALUES_RESULT,
//! unknown types → UNKNOWN_TYPE) as soon as they arrive: where the crate's
//! `AppCodec` yields `Event::Replied` and waits for a `Flush`, this decoder
//! hands the reply bytes out as [`AppItem::Reply`] for the serving loop to
//! send as is, so a web server probing with GET_VALUES between requests gets its
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

impl AppConnCodec {
    /// The next event, with [`Event::Replied`] turned into the reply bytes.
    fn next_item(&mut self) -> Option<AppItem> {
        while let Some(e) = self.conn.poll_event() {
            if let Event::Replied { .. } = e {
                if let Some(b) = self.conn.poll_transmit() {
                    return Some(AppItem::Reply(b));
                }
                continue;
            }
            return Some(AppItem::Event(e));
        }
        None
    }
}

impl Decoder for AppConnCodec {
    type Item = AppItem;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<AppItem>, CodecError> {
        if let Some(item) = self.next_item() {
            return Ok(Some(item));
        }
        if self.conn.is_closed() {
            // Input after the end is read and dropped: the buffer cannot grow.
            src.clear();
            return Ok(None);
        }
        let n = self.conn.handle_bytes(src).map_err(CodecError::from)?;
        src.advance(n);
        Ok(self.next_item())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_values_is_answered_without_waiting_for_output() {
        let mut codec = AppConnCodec::new(Config {
            max_conns: 7,
            ..Config::default()
        });
        // GET_VALUES for FCGI_MAX_CONNS (empty value).
        let mut src =
            BytesMut::from(&b"\x01\x09\x00\x00\x00\x10\x00\x00\x0e\x00FCGI_MAX_CONNS"[..]);
        let Some(AppItem::Reply(reply)) = codec.decode(&mut src).unwrap() else {
            panic!("no reply");
        };
        // GET_VALUES_RESULT: FCGI_MAX_CONNS=7, padded to 8.
        assert_eq!(
            &reply[..],
            b"\x01\x0a\x00\x00\x00\x11\x07\x00\x0e\x01FCGI_MAX_CONNS7\0\0\0\0\0\0\0"
        );
        assert!(src.is_empty());
        assert_eq!(codec.decode(&mut src).unwrap(), None);
    }

    #[test]
    fn events_and_raw_bytes_round_trip() {
        let mut codec = AppConnCodec::new(Config::default());
        let mut src = BytesMut::from(
            &b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"[..],
        );
        assert!(matches!(
            codec.decode(&mut src).unwrap(),
            Some(AppItem::Event(Event::Request { id: 1, .. }))
        ));
        let mut dst = BytesMut::new();
        Encoder::<Bytes>::encode(&mut codec, Bytes::from_static(b"raw"), &mut dst).unwrap();
        assert_eq!(&dst[..], b"raw");
    }
}
