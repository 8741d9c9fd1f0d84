//! Request streams: a request packet (header + vars) followed by a body of
//! `CONTENT_LENGTH` bytes.
//!
//! The server side ([`RequestDecoder`]) is what uWSGI does with a connection
//! from nginx; the client side ([`RequestEncoder`]) is what nginx does.

use bytes::BufMut;

use crate::{
    DecodeError, EncodeError, Field, HEADER_LEN, Limits, Mode, OwnedPacket, OwnedVars, Packet,
    PacketHeader, Status, Vars,
};

/// The var that carries the body length.
pub const CONTENT_LENGTH: &[u8] = b"CONTENT_LENGTH";

/// HTTP method prefixes that betray an HTTP client on a uwsgi socket.
const HTTP_PREFIXES: [&[u8; 4]; 10] = [
    b"GET ", b"POST", b"PUT ", b"HEAD", b"DELE", b"OPTI", b"PATC", b"CONN", b"TRAC", b"PRI ",
];

/// Parses one `CONTENT_LENGTH` value.
///
/// Strict: `""` is 0 (nginx sends an empty value for requests without a
/// body); otherwise 1 to 20 ASCII digits whose value fits a `u64` — no sign,
/// no whitespace, no exponent. Compat ([`Mode::Compat`]): the leading digits,
/// as uWSGI reads them (`"12abc"` → 12, `"-1"` → 0), overflow still rejected.
/// Returns `None` when the value is invalid.
///
/// ```
/// use uwsgi_proto::{parse_content_length, Mode};
/// assert_eq!(parse_content_length(b"42", Mode::Strict), Some(42));
/// assert_eq!(parse_content_length(b"", Mode::Strict), Some(0));
/// assert_eq!(parse_content_length(b"+5", Mode::Strict), None);
/// assert_eq!(parse_content_length(b"12abc", Mode::Compat), Some(12));
/// ```
pub fn parse_content_length(value: &[u8], mode: Mode) -> Option<u64> {
    let digits = match mode {
        Mode::Strict => {
            if !value.iter().all(u8::is_ascii_digit) {
                return None;
            }
            value
        }
        Mode::Compat => {
            let n = value.iter().take_while(|b| b.is_ascii_digit()).count();
            value.get(..n).unwrap_or_default()
        }
    };
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The body length a request's vars announce, checked against `limits`.
///
/// No `CONTENT_LENGTH` means an empty body. In strict mode every
/// `CONTENT_LENGTH` must be valid and all must agree; in compat mode the
/// last one wins. Error offsets count from the packet start.
pub fn body_length(vars: &Vars<'_>, limits: &Limits, mode: Mode) -> Result<u64, DecodeError> {
    let mut found: Option<u64> = None;
    let base = vars.as_bytes().as_ptr() as usize;
    for (k, v) in vars.iter() {
        if k != CONTENT_LENGTH {
            continue;
        }
        // Offset of the value inside the packet, from the slice positions.
        let offset = (v.as_ptr() as usize).saturating_sub(base) + HEADER_LEN;
        let n =
            parse_content_length(v, mode).ok_or(DecodeError::InvalidContentLength { offset })?;
        match (found, mode) {
            (Some(prev), Mode::Strict) if prev != n => {
                return Err(DecodeError::ConflictingContentLength { offset });
            }
            _ => found = Some(n),
        }
    }
    let len = found.unwrap_or(0);
    if let Some(max) = limits.max_body_len {
        if len > max {
            return Err(DecodeError::TooLarge {
                what: Field::Body,
                size: len,
                max,
            });
        }
    }
    Ok(len)
}

/// A decoded request head: the packet header, its validated vars and the
/// body length they announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// The packet header.
    pub header: PacketHeader,
    /// The vars.
    pub vars: Vars<'a>,
    /// The body length (from `CONTENT_LENGTH`; 0 without one).
    pub content_length: u64,
}

/// An owned request head (see [`RequestHead`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedRequestHead {
    /// The packet header.
    pub header: PacketHeader,
    /// The vars.
    pub vars: OwnedVars,
    /// The body length (from `CONTENT_LENGTH`; 0 without one).
    pub content_length: u64,
}

impl OwnedRequestHead {
    /// The borrowed view.
    pub fn as_head(&self) -> RequestHead<'_> {
        RequestHead {
            header: self.header,
            vars: self.vars.as_vars(),
            content_length: self.content_length,
        }
    }

    /// A head for `packet` (a request packet whose payload is vars), its
    /// body length taken from `CONTENT_LENGTH` under default limits, strict.
    pub fn from_packet(packet: OwnedPacket) -> Result<Self, DecodeError> {
        let vars = packet.vars()?;
        let content_length = body_length(&vars.as_vars(), &Limits::default(), Mode::Strict)?;
        Ok(Self {
            header: packet.header(),
            vars,
            content_length,
        })
    }

    /// Writes the packet (header + vars); the body is written separately.
    pub fn encode(&self, dst: &mut impl BufMut) {
        self.header.encode(dst);
        dst.put_slice(self.vars.bytes());
    }

    /// `4 + datasize`.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.vars.bytes().len()
    }
}

/// One step of a [`RequestDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFrame<'a> {
    /// A request head (request modifier1 values, see
    /// [`Modifier1::is_request`](crate::Modifier1::is_request)); its body
    /// follows.
    Head(RequestHead<'a>),
    /// A packet of another kind (ping, signal, spooler …), with no body.
    Packet(Packet<'a>),
    /// The next piece of the body: all the body bytes available in the buffer,
    /// up to what remains.
    Body(&'a [u8]),
    /// The request is complete.
    End,
}

/// What a decoder step consumed and produced.
pub type Step<'a> = Status<(RequestFrame<'a>, usize)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body { remaining: u64 },
    End,
    Done,
    Failed,
}

/// Server-side, sans-IO decoder of a request stream.
///
/// Call [`decode`](Self::decode) with the bytes buffered so far; it returns
/// the next frame and how many bytes it used (drop them from the buffer), or
/// `Incomplete`. A request yields `Head`, zero or more `Body` chunks and
/// `End`; a non-request packet (ping …) yields `Packet` and then `End`. The
/// header is read once; the vars block is taken whole once it is there
/// (never more than [`Limits::max_vars_len`] bytes, checked on the header);
/// the body is streamed and never buffered.
///
/// After `End`, uWSGI closes the connection, discarding anything pipelined.
/// By default this decoder reports bytes after the request as
/// [`DecodeError::UnexpectedData`]; with [`pipelining`](Self::pipelining) it
/// decodes the next request instead (uWSGI's persistent `--puwsgi-socket`).
///
/// Errors are terminal: every later call returns the same kind of failure.
///
/// ```
/// use uwsgi_proto::{RequestDecoder, RequestFrame, Status};
/// let wire = b"\x00\x13\x00\x00\x0e\x00CONTENT_LENGTH\x01\x005hello";
/// let mut dec = RequestDecoder::new();
/// let Status::Complete((RequestFrame::Head(head), used)) = dec.decode(wire)? else { panic!() };
/// assert_eq!((head.content_length, used), (5, 23));
/// let Status::Complete((RequestFrame::Body(b), n)) = dec.decode(&wire[used..])? else { panic!() };
/// assert_eq!((b, n), (&b"hello"[..], 5));
/// assert_eq!(dec.decode(&[])?, Status::Complete((RequestFrame::End, 0)));
/// # Ok::<(), uwsgi_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequestDecoder {
    limits: Limits,
    mode: Mode,
    pipelining: bool,
    state: State,
    /// Stream offset of the start of the current buffer.
    offset: u64,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestDecoder {
    /// A strict decoder with default limits.
    pub const fn new() -> Self {
        Self::with_limits(Limits::new())
    }

    /// A strict decoder with the given limits.
    pub const fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            mode: Mode::Strict,
            pipelining: false,
            state: State::Head,
            offset: 0,
        }
    }

    /// Sets the parsing mode.
    #[must_use]
    pub const fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Whether another request may follow `End` on the same stream.
    #[must_use]
    pub const fn pipelining(mut self, on: bool) -> Self {
        self.pipelining = on;
        self
    }

    /// The limits.
    pub const fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Body bytes still expected (0 outside a body).
    pub const fn body_remaining(&self) -> u64 {
        match self.state {
            State::Body { remaining } => remaining,
            _ => 0,
        }
    }

    /// Whether the decoder is between requests (nothing of a request read).
    pub const fn is_idle(&self) -> bool {
        matches!(self.state, State::Head | State::Done)
    }

    /// Decodes the next frame from `buf`. See the type docs.
    pub fn decode<'a>(&mut self, buf: &'a [u8]) -> Result<Step<'a>, DecodeError> {
        let r = self.step(buf);
        match &r {
            Ok(Status::Complete((_, used))) => self.offset += *used as u64,
            Ok(Status::Incomplete { .. }) => {}
            Err(_) => self.state = State::Failed,
        }
        r
    }

    fn step<'a>(&mut self, buf: &'a [u8]) -> Result<Step<'a>, DecodeError> {
        match self.state {
            State::Failed => Err(DecodeError::UnexpectedData {
                what: Field::Header,
                offset: self.offset,
            }),
            State::Done => {
                if buf.is_empty() {
                    Ok(Status::incomplete(HEADER_LEN))
                } else {
                    Err(DecodeError::UnexpectedData {
                        what: Field::Body,
                        offset: self.offset,
                    })
                }
            }
            State::End => {
                self.state = if self.pipelining {
                    State::Head
                } else {
                    State::Done
                };
                Ok(Status::Complete((RequestFrame::End, 0)))
            }
            State::Body { remaining } => {
                if remaining == 0 {
                    self.state = State::End;
                    return self.step(buf);
                }
                if buf.is_empty() {
                    return Ok(Status::incomplete(
                        usize::try_from(remaining).unwrap_or(usize::MAX),
                    ));
                }
                let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                let left = remaining - n as u64;
                self.state = if left == 0 {
                    State::End
                } else {
                    State::Body { remaining: left }
                };
                Ok(Status::Complete((RequestFrame::Body(&buf[..n]), n)))
            }
            State::Head => self.head(buf),
        }
    }

    fn head<'a>(&mut self, buf: &'a [u8]) -> Result<Step<'a>, DecodeError> {
        if let Some(prefix) = buf.first_chunk::<4>() {
            if HTTP_PREFIXES.contains(&prefix) {
                return Err(DecodeError::LooksLikeHttp { prefix: *prefix });
            }
        }
        let (packet, used) = match Packet::parse(buf, &self.limits)? {
            Status::Complete(p) => p,
            Status::Incomplete { needed } => return Ok(Status::Incomplete { needed }),
        };
        if !packet.header().modifier1.is_request() {
            self.state = State::End;
            return Ok(Status::Complete((RequestFrame::Packet(packet), used)));
        }
        let vars = Vars::parse(packet.payload(), &self.limits, self.mode)?;
        let content_length = body_length(&vars, &self.limits, self.mode)?;
        self.state = State::Body {
            remaining: content_length,
        };
        let head = RequestHead {
            header: packet.header(),
            vars,
            content_length,
        };
        Ok(Status::Complete((RequestFrame::Head(head), used)))
    }

    /// Reports whether the stream may end now, given `buffered` undecoded
    /// bytes: at EOF, a stream that ends inside a header, vars block or body
    /// is [`DecodeError::Truncated`].
    pub fn finish(&self, buffered: usize) -> Result<(), DecodeError> {
        let at = self.offset + buffered as u64;
        match self.state {
            State::Head | State::Done if buffered == 0 => Ok(()),
            State::Head => Err(DecodeError::Truncated {
                what: if buffered < HEADER_LEN {
                    Field::Header
                } else {
                    Field::Vars
                },
                offset: at,
            }),
            State::Body { remaining } if remaining > 0 => Err(DecodeError::Truncated {
                what: Field::Body,
                offset: at,
            }),
            State::Failed | State::Done => Err(DecodeError::UnexpectedData {
                what: Field::Body,
                offset: self.offset,
            }),
            State::Body { .. } | State::End => Ok(()),
        }
    }
}

/// Client-side request writer: the packet, then a body of the announced
/// length, in as many pieces as the caller likes. It checks that the body
/// never exceeds `CONTENT_LENGTH`; nothing is written when a check fails.
///
/// ```
/// use uwsgi_proto::{RequestEncoder, VarsBuilder, Modifier1};
/// let mut vars = VarsBuilder::new();
/// vars.var("REQUEST_METHOD", "POST").var("CONTENT_LENGTH", "5");
/// let mut enc = RequestEncoder::new();
/// let mut wire = Vec::new();
/// enc.head(&vars.packet(Modifier1::WSGI, 0)?, &mut wire)?;
/// enc.body(b"hel", &mut wire)?;
/// enc.body(b"lo", &mut wire)?;
/// assert!(enc.is_complete());
/// assert!(enc.body(b"!", &mut wire).is_err());
/// assert!(wire.ends_with(b"hello"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestEncoder {
    declared: Option<u64>,
    sent: u64,
}

impl RequestEncoder {
    /// A writer for one request.
    pub const fn new() -> Self {
        Self {
            declared: None,
            sent: 0,
        }
    }

    /// Writes the request packet. Its `CONTENT_LENGTH` (strictly parsed,
    /// absent = 0) fixes the body length.
    pub fn head(
        &mut self,
        packet: &OwnedPacket,
        dst: &mut impl BufMut,
    ) -> Result<usize, EncodeError> {
        if self.declared.is_some() {
            return Err(EncodeError::OutOfOrder("a second request head"));
        }
        let len = match packet.vars() {
            Ok(vars) => match body_length(&vars.as_vars(), &Limits::default(), Mode::Strict) {
                Ok(n) => n,
                Err(_) => {
                    return Err(EncodeError::OutOfOrder(
                        "request head with an invalid CONTENT_LENGTH",
                    ));
                }
            },
            Err(_) if !packet.header().modifier1.is_request() => 0,
            Err(_) => {
                return Err(EncodeError::OutOfOrder(
                    "request head with a malformed vars block",
                ));
            }
        };
        self.declared = Some(len);
        packet.encode(dst);
        Ok(packet.encoded_len())
    }

    /// Writes a piece of the body.
    pub fn body(&mut self, chunk: &[u8], dst: &mut impl BufMut) -> Result<usize, EncodeError> {
        let Some(declared) = self.declared else {
            return Err(EncodeError::OutOfOrder("body before the request head"));
        };
        let sent = self.sent.saturating_add(chunk.len() as u64);
        if sent > declared {
            return Err(EncodeError::BodyOverrun { declared });
        }
        self.sent = sent;
        dst.put_slice(chunk);
        Ok(chunk.len())
    }

    /// Body bytes still to send.
    pub fn body_remaining(&self) -> u64 {
        self.declared.map_or(0, |d| d - self.sent)
    }

    /// Whether the head and the whole body were written.
    pub fn is_complete(&self) -> bool {
        self.declared.is_some_and(|d| d == self.sent)
    }
}
