//! CGI response heads: parsing (FastCGI `STDOUT`, SCGI, CGI scripts) and
//! encoding (CGI `Status:` form and HTTP/1.x status-line form).
//!
//! Rules: LF and CRLF line ends (mixed too); bare CR, NUL and other control
//! characters rejected (HTAB allowed, obs-text allowed); obsolete line
//! folding rejected; `Status` case-insensitive, three digits in 100–599,
//! optional reason; `Location` without `Status` → 302; a local redirect
//! (`Location: /path` and nothing else) is returned as
//! [`ResponseKind::LocalRedirect`] and never followed here; duplicate
//! `Status` / `Location` / `Content-Type` rejected; framing headers from the
//! script (`Transfer-Encoding`, `Connection`, `Keep-Alive`) dropped, a
//! `Content-Length` kept only if it is a plain number; the head is bounded by
//! [`ResponseLimits`].

use bytes::BufMut;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::error::ResponseError;
use crate::status::Status;

/// Bounds on a response head, checked before anything is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimits {
    /// Most bytes in the head, blank line included.
    pub max_head: usize,
    /// Most header lines.
    pub max_headers: usize,
}

impl ResponseLimits {
    /// Default [`Self::max_head`].
    pub const DEFAULT_MAX_HEAD: usize = 32 * 1024;
    /// Default [`Self::max_headers`].
    pub const DEFAULT_MAX_HEADERS: usize = 100;
}

impl Default for ResponseLimits {
    fn default() -> Self {
        Self {
            max_head: Self::DEFAULT_MAX_HEAD,
            max_headers: Self::DEFAULT_MAX_HEADERS,
        }
    }
}

/// Options for [`parse_cgi_response`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseOptions {
    /// Size bounds.
    pub limits: ResponseLimits,
    /// Accept an `HTTP/1.x NNN reason` first line (uwsgi backends, NPH).
    /// Default `false`.
    pub allow_status_line: bool,
    /// Drop `X-CGI-*` fields. Default `true`.
    pub strip_x_cgi: bool,
}

impl Default for ResponseOptions {
    fn default() -> Self {
        Self {
            limits: ResponseLimits::default(),
            allow_status_line: false,
            strip_x_cgi: true,
        }
    }
}

/// A response status and header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase as sent (`None`: the canonical one when encoding).
    pub reason: Option<Vec<u8>>,
    /// Header fields, multi-valued ones (`Set-Cookie`) kept individually.
    pub headers: HeaderMap,
}

/// What kind of CGI response this is (RFC 3875 §6.2).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseKind {
    /// A document response.
    Document,
    /// A redirect to the client (`Location` with an absolute URI, or any
    /// `Location` with a status or other fields).
    ClientRedirect,
    /// `Location: /path` alone: the server may serve that local path. It is
    /// returned to the caller and never followed by this crate.
    LocalRedirect {
        /// The local path and query.
        location: Vec<u8>,
    },
}

/// A parsed CGI response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiResponse {
    /// Status and fields.
    pub head: ResponseHead,
    /// Response kind.
    pub kind: ResponseKind,
    /// Where the body starts in the parsed buffer.
    pub body_offset: usize,
}

fn is_ctl(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn parse_status(v: &[u8]) -> Option<(StatusCode, Option<Vec<u8>>)> {
    let digits = v.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let rest = v.get(3..)?;
    let reason = match rest.first() {
        None => None,
        Some(b' ' | b'\t') => Some(rest.trim_ascii().to_vec()).filter(|r| !r.is_empty()),
        Some(_) => return None,
    };
    let code = StatusCode::from_bytes(digits).ok()?;
    (100..=599)
        .contains(&code.as_u16())
        .then_some((code, reason))
}

/// Parses a CGI response head from the start of `buf`.
///
/// Returns [`Status::Incomplete`] until the blank line arrives (call again
/// with more bytes; the size limit is enforced on the partial head), then
/// the head and the body offset.
///
/// ```
/// use wsgi_environ::response::{parse_cgi_response, ResponseOptions, ResponseKind};
/// let opts = ResponseOptions::default();
/// assert!(!parse_cgi_response(b"Status: 404", &opts).unwrap().is_complete());
/// let r = parse_cgi_response(b"status: 404 Gone\nContent-Type: text/plain\n\nbody", &opts)
///     .unwrap().complete().unwrap();
/// assert_eq!(r.head.status, 404);
/// assert_eq!(r.body_offset, 43);
/// let r = parse_cgi_response(b"Location: /elsewhere\r\n\r\n", &opts).unwrap().complete().unwrap();
/// assert_eq!(r.kind, ResponseKind::LocalRedirect { location: b"/elsewhere".to_vec() });
/// ```
pub fn parse_cgi_response(
    buf: &[u8],
    opts: &ResponseOptions,
) -> Result<Status<CgiResponse>, ResponseError> {
    let max = opts.limits.max_head;
    let mut pos = 0;
    let mut status: Option<(StatusCode, Option<Vec<u8>>)> = None;
    let mut status_line = false;
    let mut location: Option<Vec<u8>> = None;
    let mut content_type = false;
    let mut other_fields = 0usize;
    let mut lines = 0usize;
    let mut headers = HeaderMap::new();
    loop {
        let rest = buf.get(pos..).unwrap_or_default();
        let Some(nl) = memchr::memchr(b'\n', rest) else {
            if buf.len() > max {
                return Err(ResponseError::HeadTooLarge { max });
            }
            return Ok(Status::Incomplete);
        };
        let end = pos + nl + 1;
        if end > max {
            return Err(ResponseError::HeadTooLarge { max });
        }
        let raw = rest.get(..nl).unwrap_or_default();
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if let Some(i) = line.iter().position(|&b| b == b'\r' || b == 0) {
            return Err(ResponseError::ControlChar { offset: pos + i });
        }
        if line.is_empty() {
            pos = end;
            break;
        }
        let start = pos;
        pos = end;
        if start == 0 && line.starts_with(b"HTTP/") {
            if !opts.allow_status_line {
                return Err(ResponseError::StatusLine);
            }
            let ok = line.len() >= 12
                && matches!(line.get(..8), Some(b"HTTP/1.0" | b"HTTP/1.1"))
                && line.get(8) == Some(&b' ');
            let parsed = line.get(9..).filter(|_| ok).and_then(parse_status);
            let Some(s) = parsed else {
                return Err(ResponseError::StatusLine);
            };
            if let Some(i) = line.iter().position(|&b| is_ctl(b)) {
                return Err(ResponseError::ControlChar { offset: start + i });
            }
            status = Some(s);
            status_line = true;
            continue;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return Err(ResponseError::ObsFold { offset: start });
        }
        lines += 1;
        if lines > opts.limits.max_headers {
            return Err(ResponseError::TooManyHeaders {
                max: opts.limits.max_headers,
            });
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            return Err(ResponseError::MalformedLine { offset: start });
        };
        let name = line.get(..colon).unwrap_or_default();
        let value_raw = line.get(colon + 1..).unwrap_or_default();
        let Ok(name) = HeaderName::from_bytes(name) else {
            return Err(ResponseError::MalformedLine { offset: start });
        };
        if let Some(i) = value_raw.iter().position(|&b| is_ctl(b)) {
            return Err(ResponseError::ControlChar {
                offset: start + colon + 1 + i,
            });
        }
        let value = value_raw.trim_ascii();
        match name.as_str() {
            "status" => {
                if status.is_some() && !status_line {
                    return Err(ResponseError::DuplicateField { offset: start });
                }
                status = Some(
                    parse_status(value).ok_or(ResponseError::InvalidStatus { offset: start })?,
                );
                status_line = false;
                continue;
            }
            "location" => {
                if location.is_some() {
                    return Err(ResponseError::DuplicateField { offset: start });
                }
                location = Some(value.to_vec());
            }
            "content-type" => {
                if content_type {
                    return Err(ResponseError::DuplicateField { offset: start });
                }
                content_type = true;
                other_fields += 1;
            }
            "content-length" => {
                if crate::environ::parse_decimal(value).is_none() {
                    return Err(ResponseError::InvalidContentLength { offset: start });
                }
                other_fields += 1;
            }
            "transfer-encoding" | "connection" | "keep-alive" => continue,
            n if opts.strip_x_cgi && n.starts_with("x-cgi-") => continue,
            _ => other_fields += 1,
        }
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| ResponseError::ControlChar { offset: start })?;
        headers.append(name, value);
    }
    if status.is_none() && location.is_none() && !content_type {
        return Err(ResponseError::NoCgiFields);
    }
    let explicit = status.is_some();
    let (code, reason) = status.unwrap_or((StatusCode::OK, None));
    let kind = match location {
        Some(l)
            if l.first() == Some(&b'/')
                && other_fields == 0
                && (!explicit || code == StatusCode::OK) =>
        {
            headers.remove(http::header::LOCATION);
            ResponseKind::LocalRedirect { location: l }
        }
        Some(_) => ResponseKind::ClientRedirect,
        None => ResponseKind::Document,
    };
    let code = if kind == ResponseKind::ClientRedirect && !explicit {
        StatusCode::FOUND
    } else {
        code
    };
    Ok(Status::Complete(CgiResponse {
        head: ResponseHead {
            status: code,
            reason,
            headers,
        },
        kind,
        body_offset: pos,
    }))
}

/// Like [`parse_cgi_response`] for a stream that has ended: an incomplete
/// head is [`ResponseError::UnexpectedEof`].
pub fn parse_cgi_response_at_eof(
    buf: &[u8],
    opts: &ResponseOptions,
) -> Result<CgiResponse, ResponseError> {
    parse_cgi_response(buf, opts)?
        .complete()
        .ok_or(ResponseError::UnexpectedEof)
}

impl ResponseHead {
    /// A head with `status`, no reason and no fields.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            headers: HeaderMap::new(),
        }
    }

    fn reason_bytes(&self) -> Result<&[u8], ResponseError> {
        let r = match &self.reason {
            Some(r) => r.as_slice(),
            None => self.status.canonical_reason().unwrap_or("").as_bytes(),
        };
        if r.iter().any(|&b| is_ctl(b)) {
            return Err(ResponseError::Unencodable);
        }
        Ok(r)
    }

    fn check(&self) -> Result<(), ResponseError> {
        for (n, v) in &self.headers {
            if n == "status" || v.as_bytes().iter().any(|&b| matches!(b, 0 | b'\r' | b'\n')) {
                return Err(ResponseError::Unencodable);
            }
        }
        Ok(())
    }

    fn fields_len(&self) -> usize {
        self.headers
            .iter()
            .map(|(n, v)| n.as_str().len() + 2 + v.len() + 2)
            .sum::<usize>()
            + 2
    }

    fn put_fields(&self, dst: &mut impl BufMut) {
        for (n, v) in &self.headers {
            dst.put_slice(n.as_str().as_bytes());
            dst.put_slice(b": ");
            dst.put_slice(v.as_bytes());
            dst.put_slice(b"\r\n");
        }
        dst.put_slice(b"\r\n");
    }

    /// Bytes [`Self::encode_cgi`] writes.
    pub fn cgi_encoded_len(&self) -> usize {
        let r = self
            .reason_bytes()
            .map_or(0, |r| if r.is_empty() { 0 } else { r.len() + 1 });
        "Status: NNN\r\n".len() + r + self.fields_len()
    }

    /// Writes the CGI form: `Status: NNN reason\r\n`, the fields, a blank
    /// line. Fails on CR/LF/NUL anywhere, a control character in the
    /// reason, or a field named `Status`.
    ///
    /// ```
    /// use wsgi_environ::ResponseHead;
    /// let mut h = ResponseHead::new(http::StatusCode::NOT_FOUND);
    /// h.headers.append("set-cookie", "a=1".parse().unwrap());
    /// h.headers.append("set-cookie", "b=2".parse().unwrap());
    /// let mut out = Vec::new();
    /// h.encode_cgi(&mut out).unwrap();
    /// assert_eq!(out, b"Status: 404 Not Found\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n");
    /// assert_eq!(out.len(), h.cgi_encoded_len());
    /// ```
    pub fn encode_cgi(&self, dst: &mut impl BufMut) -> Result<(), ResponseError> {
        self.check()?;
        let r = self.reason_bytes()?;
        dst.put_slice(b"Status: ");
        dst.put_slice(self.status.as_str().as_bytes());
        if !r.is_empty() {
            dst.put_u8(b' ');
            dst.put_slice(r);
        }
        dst.put_slice(b"\r\n");
        self.put_fields(dst);
        Ok(())
    }

    /// Bytes [`Self::encode_http1`] writes.
    pub fn http1_encoded_len(&self) -> usize {
        let r = self.reason_bytes().map_or(0, <[u8]>::len);
        "HTTP/1.1 NNN \r\n".len() + r + self.fields_len()
    }

    /// Writes the HTTP/1.1 form: `HTTP/1.1 NNN reason\r\n`, the fields, a
    /// blank line (what uwsgi backends send).
    pub fn encode_http1(&self, dst: &mut impl BufMut) -> Result<(), ResponseError> {
        self.check()?;
        let r = self.reason_bytes()?;
        dst.put_slice(b"HTTP/1.1 ");
        dst.put_slice(self.status.as_str().as_bytes());
        dst.put_u8(b' ');
        dst.put_slice(r);
        dst.put_slice(b"\r\n");
        self.put_fields(dst);
        Ok(())
    }
}
