//! Typed errors.

/// Why an HTTP request head could not become an environ.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A header name outside `[A-Za-z0-9-]` under [`crate::build::InvalidNames::Reject`];
    /// `index` is the header's position.
    #[error("header {index} has a name outside [A-Za-z0-9-]")]
    InvalidHeaderName {
        /// Position of the header in the request.
        index: usize,
    },
    /// A header value holds NUL, CR or LF.
    #[error("header {index} has a NUL, CR or LF in its value")]
    InvalidHeaderValue {
        /// Position of the header in the request.
        index: usize,
    },
    /// `Content-Length` together with `Transfer-Encoding`.
    #[error("Content-Length together with Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    /// Two `Content-Length` values that differ, or one that is not a number.
    #[error("conflicting or invalid Content-Length")]
    InvalidContentLength,
    /// The request path could not be decoded under the path policy.
    #[error("request path rejected: {0}")]
    Path(#[from] crate::path::PathError),
    /// The decoded path is not under the configured mount.
    #[error("request path is not under the mount prefix")]
    OutsideMount,
    /// More variables than [`crate::build::BuildOptions::max_vars`].
    #[error("more than {max} variables")]
    TooManyVars {
        /// The limit.
        max: usize,
    },
    /// Encoded size (names + values) above [`crate::build::BuildOptions::max_size`].
    #[error("environ of {size} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// Size reached.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An override name or value holds a byte that cannot be carried
    /// (NUL/CR/LF in values, or a name outside `[A-Za-z0-9_.]`).
    #[error("override {index} has an invalid name or value")]
    InvalidOverride {
        /// Position of the override.
        index: usize,
    },
}

/// Why an environ could not become an HTTP request head.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// `REQUEST_METHOD` missing or empty.
    #[error("REQUEST_METHOD missing")]
    MissingMethod,
    /// `REQUEST_METHOD` not a token.
    #[error("REQUEST_METHOD is not a valid method token")]
    InvalidMethod,
    /// `CONTENT_LENGTH` not a plain decimal, or overflowing.
    #[error("CONTENT_LENGTH is not a plain decimal number")]
    InvalidContentLength,
    /// The request URI could not be rebuilt.
    #[error("request URI could not be rebuilt")]
    InvalidUri,
    /// `HTTP_HOST` (or `SERVER_NAME`) is not a valid authority.
    #[error("host is not a valid authority")]
    InvalidHost,
    /// A variable holds NUL, CR or LF where a header value is built from it;
    /// `index` is the pair's position.
    #[error("variable {index} cannot become a header")]
    InvalidHeader {
        /// Position of the pair.
        index: usize,
    },
    /// A name occurs twice under [`crate::parse::DuplicateKeys::Reject`].
    #[error("variable {index} repeats an earlier name")]
    DuplicateKey {
        /// Position of the repeated pair.
        index: usize,
    },
    /// `SERVER_PROTOCOL` is not an HTTP version under strict parsing.
    #[error("SERVER_PROTOCOL is not a known HTTP version")]
    InvalidProtocol,
    /// `SCRIPT_NAME` / `PATH_INFO` rejected by the path policy.
    #[error("SCRIPT_NAME or PATH_INFO rejected: {0}")]
    Path(#[from] crate::path::PathError),
    /// More variables than [`crate::parse::ParseOptions::max_vars`].
    #[error("more than {max} variables")]
    TooManyVars {
        /// The limit.
        max: usize,
    },
    /// The pairs hold more than [`crate::Environ::MAX_BYTES`] bytes.
    #[error(transparent)]
    TooLarge(#[from] crate::EnvironFull),
}

/// Why a CGI response head is invalid. Offsets are byte positions in the
/// parsed buffer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The head is larger than [`crate::response::ResponseLimits::max_head`].
    #[error("response head exceeds {max} bytes")]
    HeadTooLarge {
        /// The limit.
        max: usize,
    },
    /// More header lines than [`crate::response::ResponseLimits::max_headers`].
    #[error("more than {max} header lines")]
    TooManyHeaders {
        /// The limit.
        max: usize,
    },
    /// A line without a colon, with an empty name, a name that is not a
    /// token, or whitespace before the colon.
    #[error("malformed header line at offset {offset}")]
    MalformedLine {
        /// Start of the line.
        offset: usize,
    },
    /// A line starting with SP or HTAB (obsolete line folding).
    #[error("obsolete line folding at offset {offset}")]
    ObsFold {
        /// Start of the line.
        offset: usize,
    },
    /// NUL, bare CR or another control character.
    #[error("control character at offset {offset}")]
    ControlChar {
        /// Position of the byte.
        offset: usize,
    },
    /// `Status` not three digits in 100–599.
    #[error("invalid Status at offset {offset}")]
    InvalidStatus {
        /// Start of the line.
        offset: usize,
    },
    /// `Status`, `Location` or `Content-Type` given twice.
    #[error("duplicate CGI field at offset {offset}")]
    DuplicateField {
        /// Start of the second line.
        offset: usize,
    },
    /// Neither `Content-Type`, `Location` nor `Status`.
    #[error("no Content-Type, Location or Status field")]
    NoCgiFields,
    /// A `Content-Length` from the script that is not a plain decimal.
    #[error("invalid Content-Length at offset {offset}")]
    InvalidContentLength {
        /// Start of the line.
        offset: usize,
    },
    /// An `HTTP/1.x` status line where not enabled, or malformed.
    #[error("status line not accepted at offset 0")]
    StatusLine,
    /// Input ended before the blank line.
    #[error("input ended before the end of the head")]
    UnexpectedEof,
    /// An encode input holds CR, LF or NUL, or a reason phrase holds a
    /// control character.
    #[error("value cannot be encoded without injection")]
    Unencodable,
}
