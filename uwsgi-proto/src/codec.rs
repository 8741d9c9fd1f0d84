//! tokio-util [`Decoder`]/[`Encoder`] adapters (feature `codec`): thin shells
//! over [`RequestDecoder`], [`RequestEncoder`] and [`ResponseDecoder`].
//!
//! * [`ServerCodec`] (what uWSGI is): decodes [`RequestPart`]s — one `Head`
//!   (or one `Packet` for pings and other non-request packets), the body as
//!   `Body` chunks handed out without copying (`split_to().freeze()`), then
//!   `End` — and encodes [`ResponsePart`]s.
//! * [`ClientCodec`] (what nginx is): encodes [`RequestPart`]s and decodes
//!   the backend's [`ResponsePart`]s.
//!
//! Limits come from [`Limits`]: the decoder never buffers more than a packet
//! (≤ `max_vars_len + 4` bytes); bodies are streamed. Errors are terminal:
//! after an `Err` the stream is corrupt and must be closed. A stream that ends
//! early is reported by `decode_eof` as [`DecodeError::Truncated`].

use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{
    DecodeError, EncodeError, HEADER_LEN, HttpVersion, Limits, Mode, OwnedPacket, OwnedRequestHead,
    OwnedVars, PacketHeader, RequestDecoder, RequestEncoder, RequestFrame, ResponseDecoder,
    ResponseFrame, ResponseHead, Status,
};

/// A codec error: malformed input, an encoding failure, or IO.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The peer sent something invalid; close the connection.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A frame could not be encoded; nothing was written.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The underlying transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A piece of a request stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestPart {
    /// The request head; `content_length` body bytes follow.
    Head(OwnedRequestHead),
    /// A non-request packet (ping, signal …); no body follows.
    Packet(OwnedPacket),
    /// A chunk of the body.
    Body(Bytes),
    /// The request is complete.
    End,
}

/// A piece of a response stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponsePart {
    /// The HTTP response head.
    Head(ResponseHead),
    /// A uwsgi packet reply (pong, generic response) to a non-request packet.
    Packet(OwnedPacket),
    /// A chunk of the body.
    Body(Bytes),
    /// The response is complete.
    End,
}

/// Server side: decodes requests, encodes responses.
///
/// The response status line uses the version of the request's
/// `SERVER_PROTOCOL` ([`HttpVersion::from_server_protocol`]).
#[derive(Debug, Clone, Default)]
pub struct ServerCodec {
    dec: RequestDecoder,
    version: Option<HttpVersion>,
}

impl ServerCodec {
    /// Strict, default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Strict, with `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            dec: RequestDecoder::with_limits(limits),
            version: None,
        }
    }

    /// Replaces the request decoder (to set its mode or pipelining).
    #[must_use]
    pub fn decoder(mut self, dec: RequestDecoder) -> Self {
        self.dec = dec;
        self
    }

    /// Sets the parsing mode.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.dec = self.dec.mode(mode);
        self
    }
}

impl Decoder for ServerCodec {
    type Item = RequestPart;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RequestPart>, CodecError> {
        enum Got {
            Head(PacketHeader, u64, Mode, usize),
            Packet(PacketHeader),
            Body,
            End,
        }
        let (got, used) = match self.dec.decode(src)? {
            Status::Incomplete { needed } => {
                if let (true, Some(n)) = (self.dec.is_idle(), needed) {
                    // Header or vars pending: at most max_vars_len + 4 bytes.
                    let want = n.get().min(self.dec.limits().max_vars_len + HEADER_LEN);
                    src.reserve(want);
                }
                return Ok(None);
            }
            Status::Complete((RequestFrame::Head(h), used)) => {
                self.version = Some(HttpVersion::from_server_protocol(
                    h.vars.get(b"SERVER_PROTOCOL"),
                ));
                (
                    Got::Head(h.header, h.content_length, h.vars.mode(), h.vars.len()),
                    used,
                )
            }
            Status::Complete((RequestFrame::Packet(p), used)) => (Got::Packet(p.header()), used),
            Status::Complete((RequestFrame::Body(_), used)) => (Got::Body, used),
            Status::Complete((RequestFrame::End, used)) => (Got::End, used),
        };
        let bytes = src.split_to(used).freeze();
        Ok(Some(match got {
            Got::Head(header, content_length, mode, count) => RequestPart::Head(OwnedRequestHead {
                header,
                vars: OwnedVars::from_validated(bytes.slice(HEADER_LEN..), mode, count),
                content_length,
            }),
            Got::Packet(header) => {
                RequestPart::Packet(OwnedPacket::from_parts(header, bytes.slice(HEADER_LEN..)))
            }
            Got::Body => RequestPart::Body(bytes),
            Got::End => RequestPart::End,
        }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<RequestPart>, CodecError> {
        if let Some(part) = self.decode(src)? {
            return Ok(Some(part));
        }
        self.dec.finish(src.len())?;
        Ok(None)
    }
}

impl Encoder<ResponsePart> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: ResponsePart, dst: &mut BytesMut) -> Result<(), CodecError> {
        match item {
            ResponsePart::Head(head) => {
                dst.reserve(head.encoded_len());
                head.encode(self.version.unwrap_or(HttpVersion::Http11), dst)?;
            }
            ResponsePart::Packet(p) => p.encode(dst),
            ResponsePart::Body(b) => dst.put_slice(&b),
            ResponsePart::End => {}
        }
        Ok(())
    }
}

/// Client side: encodes requests, decodes responses.
#[derive(Debug, Clone, Default)]
pub struct ClientCodec {
    enc: RequestEncoder,
    dec: ResponseDecoder,
    packet_reply: bool,
    limits: Limits,
}

impl ClientCodec {
    /// Default bounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the response decoder (to set its bounds, or `HEAD`).
    #[must_use]
    pub fn decoder(mut self, dec: ResponseDecoder) -> Self {
        self.dec = dec;
        self
    }
}

impl Encoder<RequestPart> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, item: RequestPart, dst: &mut BytesMut) -> Result<(), CodecError> {
        match item {
            RequestPart::Head(head) => {
                let packet = OwnedPacket::from_parts(head.header, head.vars.bytes().clone());
                dst.reserve(packet.encoded_len());
                self.enc.head(&packet, dst)?;
            }
            RequestPart::Packet(p) => {
                self.packet_reply = !p.header().modifier1.is_request();
                self.enc.head(&p, dst)?;
            }
            RequestPart::Body(b) => {
                self.enc.body(&b, dst)?;
            }
            RequestPart::End => {
                if !self.enc.is_complete() {
                    return Err(EncodeError::OutOfOrder(
                        "request ended before its CONTENT_LENGTH was sent",
                    )
                    .into());
                }
            }
        }
        Ok(())
    }
}

impl Decoder for ClientCodec {
    type Item = ResponsePart;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ResponsePart>, CodecError> {
        if self.packet_reply {
            return match crate::Packet::parse(src, &self.limits)? {
                Status::Incomplete { .. } => Ok(None),
                Status::Complete((p, used)) => {
                    let header = p.header();
                    let bytes = src.split_to(used).freeze();
                    self.packet_reply = false;
                    Ok(Some(ResponsePart::Packet(OwnedPacket::from_parts(
                        header,
                        bytes.slice(HEADER_LEN..),
                    ))))
                }
            };
        }
        let (part, used) = match self.dec.decode(src)? {
            Status::Incomplete { .. } => return Ok(None),
            Status::Complete((ResponseFrame::Head(h), used)) => (Some(ResponsePart::Head(h)), used),
            Status::Complete((ResponseFrame::Body(_), used)) => (None, used),
            Status::Complete((ResponseFrame::End, used)) => (Some(ResponsePart::End), used),
        };
        let bytes = src.split_to(used);
        Ok(Some(
            part.unwrap_or_else(|| ResponsePart::Body(bytes.freeze())),
        ))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ResponsePart>, CodecError> {
        if let Some(part) = self.decode(src)? {
            return Ok(Some(part));
        }
        if self.packet_reply {
            return Err(DecodeError::Truncated {
                what: crate::Field::Header,
                offset: src.len() as u64,
            }
            .into());
        }
        Ok(self.dec.finish(src.len())?.then_some(ResponsePart::End))
    }
}
