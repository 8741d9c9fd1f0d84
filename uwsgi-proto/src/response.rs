//! Response side: a uwsgi backend answers with a raw HTTP/1.x response (or
//! the CGI `Status:` form) and closes the connection.

use alloc::vec::Vec;
use bytes::BufMut;

use crate::{DecodeError, EncodeError, Field, ResponseError, Status};

/// The HTTP version written in a response status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HttpVersion {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    #[default]
    Http11,
}

impl HttpVersion {
    /// The version to answer with for a request's `SERVER_PROTOCOL` var.
    /// uWSGI echoes the var verbatim, which lets a forged value inject bytes
    /// into the status line; this maps `HTTP/1.0` to 1.0, anything else that
    /// is present to 1.1, and an absent var to 1.0 (as uWSGI does).
    pub fn from_server_protocol(var: Option<&[u8]>) -> Self {
        match var {
            None | Some(b"HTTP/1.0") => Self::Http10,
            Some(_) => Self::Http11,
        }
    }

    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

/// A response head: status, reason and headers, bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseHead {
    /// Status code (100..=999).
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: Vec<u8>,
    /// Headers in order, names as sent.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn bad_value_byte(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | 0)
}

impl ResponseHead {
    /// A head with `status` and `reason`, no headers.
    pub fn new(status: u16, reason: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    /// Appends a header.
    #[must_use]
    pub fn header(mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    fn validate(&self) -> Result<(), EncodeError> {
        if !(100..=999).contains(&self.status) {
            return Err(EncodeError::InvalidStatus(self.status));
        }
        if self.reason.iter().copied().any(bad_value_byte) {
            return Err(EncodeError::InvalidHeaderValue);
        }
        for (n, v) in &self.headers {
            if n.is_empty() || !n.iter().copied().all(is_tchar) {
                return Err(EncodeError::InvalidHeaderName);
            }
            if v.iter().copied().any(bad_value_byte) {
                return Err(EncodeError::InvalidHeaderValue);
            }
            if n.eq_ignore_ascii_case(b"transfer-encoding") {
                return Err(EncodeError::TransferEncoding);
            }
        }
        Ok(())
    }

    /// Size of the encoded head (either form has the same length when the
    /// status line prefix is 8 bytes, `HTTP/1.x` or `Status: `).
    pub fn encoded_len(&self) -> usize {
        let line = 8 + 1 + 3 + 1 + self.reason.len() + 2;
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + 2 + v.len() + 2)
            .sum();
        line + headers + 2
    }

    /// Writes `HTTP/1.x NNN reason\r\n`, the headers and the blank line: what
    /// a uwsgi backend sends. Validates everything first (no CR/LF/NUL in the
    /// reason or values, token header names, no `Transfer-Encoding`); on error
    /// nothing is written.
    ///
    /// ```
    /// use uwsgi_proto::{HttpVersion, ResponseHead};
    /// let head = ResponseHead::new(404, "Not Found").header("Content-Type", "text/plain");
    /// let mut out = Vec::new();
    /// head.encode(HttpVersion::Http11, &mut out)?;
    /// assert_eq!(out, b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n");
    /// # Ok::<(), uwsgi_proto::EncodeError>(())
    /// ```
    pub fn encode(
        &self,
        version: HttpVersion,
        dst: &mut impl BufMut,
    ) -> Result<usize, EncodeError> {
        self.encode_with(version.as_str().as_bytes(), b" ", dst)
    }

    /// Writes the CGI form: `Status: NNN reason\r\n`, headers, blank line
    /// (uWSGI's `--cgi-mode`; nginx accepts it).
    pub fn encode_cgi(&self, dst: &mut impl BufMut) -> Result<usize, EncodeError> {
        self.encode_with(b"Status:", b" ", dst)
    }

    fn encode_with(
        &self,
        prefix: &[u8],
        sep: &[u8],
        dst: &mut impl BufMut,
    ) -> Result<usize, EncodeError> {
        self.validate()?;
        dst.put_slice(prefix);
        dst.put_slice(sep);
        let s = self.status;
        dst.put_slice(&[
            b'0' + (s / 100) as u8,
            b'0' + (s / 10 % 10) as u8,
            b'0' + (s % 10) as u8,
        ]);
        dst.put_u8(b' ');
        dst.put_slice(&self.reason);
        dst.put_slice(b"\r\n");
        for (n, v) in &self.headers {
            dst.put_slice(n);
            dst.put_slice(b": ");
            dst.put_slice(v);
            dst.put_slice(b"\r\n");
        }
        dst.put_slice(b"\r\n");
        Ok(self.encoded_len())
    }
}

/// Default [`ResponseDecoder::max_head_len`]: 64 KiB (nginx's
/// `uwsgi_buffer_size` is 4 or 8 KiB).
pub const DEFAULT_MAX_HEAD_LEN: usize = 64 * 1024;

/// Default [`ResponseDecoder::max_headers`].
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// One step of a [`ResponseDecoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseFrame<'a> {
    /// The parsed head.
    Head(ResponseHead),
    /// Body bytes.
    Body(&'a [u8]),
    /// The body is complete (reached `Content-Length`, or EOF via
    /// [`ResponseDecoder::finish`]).
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RState {
    Head,
    Body { remaining: Option<u64> },
    End,
    Done,
}

/// Client-side, sans-IO decoder of a uwsgi backend's response: an HTTP/1.x
/// head (`HTTP/1.x NNN reason`, no reason, or the CGI `Status: NNN` form with
/// no status line, as nginx accepts; `Location` alone means 302, nothing
/// means 200), parsed with `httparse`, then the body until `Content-Length`
/// or EOF. 1xx (except 101), 204 and 304 responses and responses to `HEAD`
/// have no body.
///
/// ```
/// use uwsgi_proto::{ResponseDecoder, ResponseFrame, Status};
/// let wire = b"Status: 404 Not Found\r\nContent-Length: 2\r\n\r\nno";
/// let mut dec = ResponseDecoder::new();
/// let Status::Complete((ResponseFrame::Head(head), used)) = dec.decode(wire)? else { panic!() };
/// assert_eq!(head.status, 404);
/// let Status::Complete((ResponseFrame::Body(b), _)) = dec.decode(&wire[used..])? else { panic!() };
/// assert_eq!(b, b"no");
/// # Ok::<(), uwsgi_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    max_head_len: usize,
    max_headers: usize,
    head_request: bool,
    state: RState,
    offset: u64,
}

impl Default for ResponseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseDecoder {
    /// A decoder with the default bounds.
    pub const fn new() -> Self {
        Self {
            max_head_len: DEFAULT_MAX_HEAD_LEN,
            max_headers: DEFAULT_MAX_HEADERS,
            head_request: false,
            state: RState::Head,
            offset: 0,
        }
    }

    /// Sets the largest head accepted (bytes up to and including the blank
    /// line).
    #[must_use]
    pub const fn max_head_len(mut self, n: usize) -> Self {
        self.max_head_len = n;
        self
    }

    /// Sets the most headers accepted.
    #[must_use]
    pub const fn max_headers(mut self, n: usize) -> Self {
        self.max_headers = n;
        self
    }

    /// Declares that the request was `HEAD`: the response has no body.
    #[must_use]
    pub const fn head_request(mut self, yes: bool) -> Self {
        self.head_request = yes;
        self
    }

    /// Decodes the next frame from the buffered bytes.
    pub fn decode<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(ResponseFrame<'a>, usize)>, DecodeError> {
        let r = self.step(buf);
        if let Ok(Status::Complete((_, used))) = &r {
            self.offset += *used as u64;
        }
        r
    }

    fn step<'a>(
        &mut self,
        buf: &'a [u8],
    ) -> Result<Status<(ResponseFrame<'a>, usize)>, DecodeError> {
        match self.state {
            RState::Head => {
                let (head, used, body) = match self.parse_head(buf)? {
                    Status::Complete(x) => x,
                    Status::Incomplete { needed } => return Ok(Status::Incomplete { needed }),
                };
                self.state = if body == Some(0) {
                    RState::End
                } else {
                    RState::Body { remaining: body }
                };
                Ok(Status::Complete((ResponseFrame::Head(head), used)))
            }
            RState::Body { remaining } => {
                if buf.is_empty() {
                    return Ok(Status::incomplete(1));
                }
                let n = remaining.map_or(buf.len(), |r| {
                    usize::try_from(r).map_or(buf.len(), |r| r.min(buf.len()))
                });
                if let Some(r) = remaining {
                    let left = r - n as u64;
                    self.state = if left == 0 {
                        RState::End
                    } else {
                        RState::Body {
                            remaining: Some(left),
                        }
                    };
                }
                Ok(Status::Complete((ResponseFrame::Body(&buf[..n]), n)))
            }
            RState::End => {
                self.state = RState::Done;
                Ok(Status::Complete((ResponseFrame::End, 0)))
            }
            RState::Done if buf.is_empty() => Ok(Status::incomplete(1)),
            RState::Done => Err(DecodeError::UnexpectedData {
                what: Field::Body,
                offset: self.offset,
            }),
        }
    }

    /// At EOF with `buffered` undecoded bytes: a close-delimited body ends
    /// here (returns `true` if an `End` frame is still due); a stream ending
    /// inside the head or before `Content-Length` is
    /// [`DecodeError::Truncated`].
    pub fn finish(&mut self, buffered: usize) -> Result<bool, DecodeError> {
        let at = self.offset + buffered as u64;
        match self.state {
            RState::Head => Err(DecodeError::Truncated {
                what: Field::ResponseHead,
                offset: at,
            }),
            RState::Body { remaining: None } => {
                self.state = RState::Done;
                Ok(true)
            }
            RState::Body { remaining: Some(_) } => Err(DecodeError::Truncated {
                what: Field::Body,
                offset: at,
            }),
            RState::End => {
                self.state = RState::Done;
                Ok(true)
            }
            RState::Done => Ok(false),
        }
    }

    #[allow(clippy::type_complexity)]
    fn parse_head(
        &self,
        buf: &[u8],
    ) -> Result<Status<(ResponseHead, usize, Option<u64>)>, DecodeError> {
        let invalid = |reason| DecodeError::InvalidResponse { reason };
        let window = buf.get(..self.max_head_len).unwrap_or(buf);
        let mut storage = alloc::vec![httparse::EMPTY_HEADER; self.max_headers];
        let map_err = |e: httparse::Error| match e {
            httparse::Error::TooManyHeaders => invalid(ResponseError::TooManyHeaders),
            _ => invalid(ResponseError::Syntax),
        };
        let (status_line, headers, used) =
            if window.starts_with(b"HTTP/") || (window.len() < 5 && b"HTTP/".starts_with(window)) {
                let mut resp = httparse::Response::new(&mut storage);
                match resp.parse(window).map_err(map_err)? {
                    httparse::Status::Complete(used) => {
                        let code = resp.code.unwrap_or(0);
                        let reason = resp.reason.unwrap_or("").as_bytes().to_vec();
                        let n = resp.headers.len();
                        (Some((code, reason)), storage_to_vec(&storage[..n]), used)
                    }
                    httparse::Status::Partial => return self.partial(buf),
                }
            } else {
                match httparse::parse_headers(window, &mut storage).map_err(map_err)? {
                    httparse::Status::Complete((used, hs)) => (None, storage_to_vec(hs), used),
                    httparse::Status::Partial => return self.partial(buf),
                }
            };
        let mut head = ResponseHead {
            status: 200,
            reason: b"OK".to_vec(),
            headers,
        };
        let mut has_status_header = false;
        if let Some((code, reason)) = status_line {
            head.status = code;
            head.reason = reason;
        } else if let Some(v) = head.get("status") {
            let (code, reason) =
                parse_status_value(v).ok_or_else(|| invalid(ResponseError::InvalidStatus))?;
            let reason = reason.to_vec();
            head.status = code;
            head.reason = reason;
            has_status_header = true;
        } else if head.get("location").is_some() {
            head.status = 302;
            head.reason = b"Found".to_vec();
        }
        if has_status_header {
            head.headers
                .retain(|(n, _)| !n.eq_ignore_ascii_case(b"status"));
        }
        let mut cl: Option<u64> = None;
        let mut te = false;
        for (n, v) in &head.headers {
            if n.eq_ignore_ascii_case(b"content-length") {
                let len = crate::parse_content_length(v, crate::Mode::Strict)
                    .filter(|_| !v.is_empty())
                    .ok_or_else(|| invalid(ResponseError::InvalidContentLength))?;
                if cl.is_some_and(|c| c != len) {
                    return Err(invalid(ResponseError::InvalidContentLength));
                }
                cl = Some(len);
            } else if n.eq_ignore_ascii_case(b"transfer-encoding") {
                te = true;
            }
        }
        if te && cl.is_some() {
            return Err(invalid(ResponseError::LengthAndTransferEncoding));
        }
        let no_body = self.head_request
            || matches!(head.status, 100..=199 if head.status != 101)
            || head.status == 204
            || head.status == 304;
        let body = if no_body { Some(0) } else { cl };
        Ok(Status::Complete((head, used, body)))
    }

    fn partial<T>(&self, buf: &[u8]) -> Result<Status<T>, DecodeError> {
        if buf.len() >= self.max_head_len {
            // No end of head within `max_head_len` bytes: the head is at
            // least one byte longer. Reported the same way however the
            // input was split into reads.
            return Err(DecodeError::TooLarge {
                what: Field::ResponseHead,
                size: (self.max_head_len as u64).saturating_add(1),
                max: self.max_head_len as u64,
            });
        }
        Ok(Status::incomplete(1))
    }
}

fn storage_to_vec(hs: &[httparse::Header<'_>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    hs.iter()
        .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
        .collect()
}

/// Parses a CGI `Status` value: `NNN` or `NNN reason`, NNN in 100..=999.
fn parse_status_value(v: &[u8]) -> Option<(u16, &[u8])> {
    let (code, rest) = v.split_at_checked(3)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = code.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    if n < 100 {
        return None;
    }
    let reason = match rest.split_first() {
        None => &[][..],
        Some((b' ', r)) => r,
        Some(_) => return None,
    };
    Some((n, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A head over the limit is the same error whether it arrives in one
    /// read or byte by byte.
    #[test]
    fn head_over_the_limit_does_not_depend_on_read_splits() {
        let wire = [
            &b"HTTP/1.1 200 OK\r\nX-Long: "[..],
            &[b'a'; 80],
            b"\r\n\r\n",
        ]
        .concat();
        let want = Err(DecodeError::TooLarge {
            what: Field::ResponseHead,
            size: 65,
            max: 64,
        });
        assert_eq!(ResponseDecoder::new().max_head_len(64).decode(&wire), want);
        let mut dec = ResponseDecoder::new().max_head_len(64);
        let mut got = Ok(Status::incomplete(1));
        for n in 1..=wire.len() {
            got = dec.decode(&wire[..n]);
            if got.is_err() {
                break;
            }
        }
        assert_eq!(got, want);
    }
}
