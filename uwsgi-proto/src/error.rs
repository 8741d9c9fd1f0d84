//! Error types.

/// The part of a packet or stream an error refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The 4-byte packet header.
    Header,
    /// The vars block as a whole.
    Vars,
    /// A key (its length prefix or its bytes).
    Key,
    /// A value (its length prefix or its bytes).
    Value,
    /// The request or response body.
    Body,
    /// An HTTP response head.
    ResponseHead,
    /// A packet payload that is not a vars block.
    Payload,
}

impl core::fmt::Display for Field {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Header => "packet header",
            Self::Vars => "vars block",
            Self::Key => "key",
            Self::Value => "value",
            Self::Body => "body",
            Self::ResponseHead => "response head",
            Self::Payload => "payload",
        })
    }
}

/// A decoding failure: the input is not valid uwsgi (or not acceptable under
/// the configured [`Limits`](crate::Limits)).
///
/// Offsets in vars errors count from the first byte of the packet (the
/// modifier1 byte), so `offset 4` is the first byte of the vars block.
/// Stream errors ([`Truncated`](Self::Truncated),
/// [`UnexpectedData`](Self::UnexpectedData)) carry the offset in the stream
/// since the start of the request or response.
///
/// "Need more bytes" is never an error: parsers return
/// [`Status::Incomplete`](crate::Status::Incomplete) for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A declared size is over its limit; detected before anything is buffered.
    #[error("{what} of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// What was too large.
        what: Field,
        /// The declared size.
        size: u64,
        /// The configured maximum.
        max: u64,
    },
    /// A var has a zero-length key (uWSGI: "uwsgi key cannot be null").
    #[error("empty key at offset {offset}")]
    EmptyKey {
        /// Offset of the key's length prefix.
        offset: usize,
    },
    /// A key or value length runs past the end of the vars block.
    #[error("{what} length at offset {offset} runs past the end of the vars block")]
    LengthOverrun {
        /// [`Field::Key`] or [`Field::Value`].
        what: Field,
        /// Offset of the length prefix.
        offset: usize,
    },
    /// One or more bytes after the last complete var that cannot hold a var
    /// (a key length needs 2 bytes, a key and a value length at least 5).
    #[error("{len} trailing byte(s) at offset {offset} after the last var")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
        /// How many bytes trail.
        len: usize,
    },
    /// More vars than [`Limits::max_vars`](crate::Limits::max_vars).
    #[error("more than {max} vars: the var at offset {offset} is one too many")]
    TooManyVars {
        /// Offset of the first var over the limit.
        offset: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The stream starts with an HTTP method (`GET `, `POST`, `PRI ` …): an
    /// HTTP client is talking to a uwsgi socket.
    #[error("an HTTP request was sent to a uwsgi socket (starts with {prefix:?})")]
    LooksLikeHttp {
        /// The first four bytes.
        prefix: [u8; 4],
    },
    /// A `CONTENT_LENGTH` value is not a decimal number that fits in a `u64`.
    #[error("invalid CONTENT_LENGTH value at offset {offset}")]
    InvalidContentLength {
        /// Offset of the value's first byte.
        offset: usize,
    },
    /// Two `CONTENT_LENGTH` vars with different values (a smuggling vector).
    #[error("conflicting CONTENT_LENGTH values; the second is at offset {offset}")]
    ConflictingContentLength {
        /// Offset of the second, differing value.
        offset: usize,
    },
    /// The stream ended inside a header, vars block or body.
    #[error("stream ended inside the {what} at offset {offset}")]
    Truncated {
        /// Where the stream ended.
        what: Field,
        /// Stream offset of the end.
        offset: u64,
    },
    /// Bytes arrived where none may (after a complete request, or past a
    /// response's `Content-Length`).
    #[error("unexpected data after the end of the {what} at offset {offset}")]
    UnexpectedData {
        /// What had already ended.
        what: Field,
        /// Stream offset of the first unexpected byte.
        offset: u64,
    },
    /// An HTTP response head is malformed.
    #[error("invalid response head: {reason}")]
    InvalidResponse {
        /// What is wrong with it.
        reason: ResponseError,
    },
}

/// What is wrong with an HTTP response head read by the client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The head is not valid HTTP/1.x syntax (bad status line, header name or
    /// value, CR/LF/NUL in a header, obsolete line folding …).
    #[error("malformed syntax")]
    Syntax,
    /// More headers than the configured maximum.
    #[error("too many headers")]
    TooManyHeaders,
    /// A `Status:` header that is not `NNN [reason]` with NNN in 100..=999.
    #[error("invalid Status header")]
    InvalidStatus,
    /// A `Content-Length` that is not a decimal number, or two different ones.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (a smuggling vector).
    #[error("both Content-Length and Transfer-Encoding")]
    LengthAndTransferEncoding,
}

/// An encoding failure. Nothing is written when an encoder returns an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A size does not fit its 16-bit length field (or a configured maximum).
    /// uwsgi encoders that truncated here caused CVE-2020-11984.
    #[error("{what} of {size} bytes does not fit (maximum {max})")]
    TooLarge {
        /// What was too large.
        what: Field,
        /// Its size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// A var with an empty key (uWSGI rejects the whole request).
    #[error("empty key")]
    EmptyKey,
    /// A response header name that is not an HTTP token.
    #[error("invalid header name")]
    InvalidHeaderName,
    /// CR, LF or NUL in a header value or reason phrase (response splitting).
    #[error("CR, LF or NUL in a header value or reason phrase")]
    InvalidHeaderValue,
    /// A status code outside 100..=999.
    #[error("invalid status code {0}")]
    InvalidStatus(u16),
    /// `Transfer-Encoding` in a uwsgi response: the body of a uwsgi response
    /// is delimited by `Content-Length` or by closing the connection.
    #[error("Transfer-Encoding is not allowed in a uwsgi response")]
    TransferEncoding,
    /// More body bytes than the request's `CONTENT_LENGTH` announced.
    #[error("body exceeds the announced CONTENT_LENGTH of {declared} bytes")]
    BodyOverrun {
        /// The announced length.
        declared: u64,
    },
    /// A frame that does not fit the encoder's current state (a body before a
    /// head, a second head before the body was complete).
    #[error("frame out of order: {0}")]
    OutOfOrder(&'static str),
}
