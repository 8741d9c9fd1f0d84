//! Record headers, record types and the fixed-size bodies.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::{DecodeError, Status};

/// Length of a record header (`FCGI_HEADER_LEN`).
pub const HEADER_LEN: usize = 8;
/// The only protocol version (`FCGI_VERSION_1`).
pub const VERSION_1: u8 = 1;
/// Largest record content (`FCGI_MAX_LENGTH`).
pub const MAX_CONTENT_LEN: usize = 0xffff;
/// Largest content of a padded record whose content + padding stays within
/// 65 535 bytes with 8-byte alignment (PHP-FPM rejects larger sums).
pub const MAX_ALIGNED_CONTENT_LEN: usize = 0xfff8;
/// Request id of management records (`FCGI_NULL_REQUEST_ID`).
pub const NULL_REQUEST_ID: u16 = 0;
/// The `FCGI_KEEP_CONN` flag bit of BEGIN_REQUEST.
pub const KEEP_CONN: u8 = 1;
/// GET_VALUES name: the most concurrent transport connections.
pub const FCGI_MAX_CONNS: &str = "FCGI_MAX_CONNS";
/// GET_VALUES name: the most concurrent requests.
pub const FCGI_MAX_REQS: &str = "FCGI_MAX_REQS";
/// GET_VALUES name: `"1"` if connections may be multiplexed, else `"0"`.
pub const FCGI_MPXS_CONNS: &str = "FCGI_MPXS_CONNS";

static ZEROS: [u8; 255] = [0; 255];

/// `len` zero bytes of padding (`len` ≤ 255), without allocating.
pub fn padding_bytes(len: u8) -> &'static [u8] {
    ZEROS.get(..usize::from(len)).unwrap_or(&[])
}

wire_enum! {
    /// A record's type byte. Open: every `u8` round-trips.
    ///
    /// ```
    /// use fastcgi_proto::RecordType;
    /// assert_eq!(RecordType::from(6), RecordType::STDOUT);
    /// assert_eq!(RecordType(42).name(), None);
    /// assert!(RecordType::GET_VALUES.is_management());
    /// ```
    pub struct RecordType(pub u8);
    /// 1: starts a request.
    BEGIN_REQUEST = 1 => "BEGIN_REQUEST",
    /// 2: the web server aborts a request.
    ABORT_REQUEST = 2 => "ABORT_REQUEST",
    /// 3: the application ends a request.
    END_REQUEST = 3 => "END_REQUEST",
    /// 4: name-value pair stream.
    PARAMS = 4 => "PARAMS",
    /// 5: request body stream.
    STDIN = 5 => "STDIN",
    /// 6: response stream.
    STDOUT = 6 => "STDOUT",
    /// 7: error stream.
    STDERR = 7 => "STDERR",
    /// 8: FILTER data stream.
    DATA = 8 => "DATA",
    /// 9: management query.
    GET_VALUES = 9 => "GET_VALUES",
    /// 10: management answer.
    GET_VALUES_RESULT = 10 => "GET_VALUES_RESULT",
    /// 11: answer to an unknown management type.
    UNKNOWN_TYPE = 11 => "UNKNOWN_TYPE",
}

impl RecordType {
    /// Whether the spec defines this type as a management record
    /// (GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE).
    pub const fn is_management(self) -> bool {
        matches!(self.0, 9..=11)
    }
    /// Whether this is one of the five stream types.
    pub const fn is_stream(self) -> bool {
        matches!(self.0, 4..=8)
    }
    /// The fixed body length of this type, if it has one.
    pub const fn fixed_len(self) -> Option<u16> {
        match self.0 {
            1 | 3 | 11 => Some(8),
            2 => Some(0),
            _ => None,
        }
    }
}

wire_enum! {
    /// The role in BEGIN_REQUEST. Open: every `u16` round-trips.
    ///
    /// ```
    /// use fastcgi_proto::Role;
    /// assert_eq!(Role::from(1), Role::RESPONDER);
    /// assert_eq!(Role(4).name(), None);
    /// ```
    pub struct Role(pub u16);
    /// 1: produce a response.
    RESPONDER = 1 => "RESPONDER",
    /// 2: allow or deny a request.
    AUTHORIZER = 2 => "AUTHORIZER",
    /// 3: transform the DATA stream.
    FILTER = 3 => "FILTER",
}

wire_enum! {
    /// The protocol status in END_REQUEST. Open: every `u8` round-trips.
    ///
    /// ```
    /// use fastcgi_proto::ProtocolStatus;
    /// assert_eq!(ProtocolStatus::from(2), ProtocolStatus::OVERLOADED);
    /// assert_eq!(u8::from(ProtocolStatus(9)), 9);
    /// ```
    pub struct ProtocolStatus(pub u8);
    /// 0: normal end.
    REQUEST_COMPLETE = 0 => "REQUEST_COMPLETE",
    /// 1: the application does not multiplex this connection.
    CANT_MPX_CONN = 1 => "CANT_MPX_CONN",
    /// 2: the application is out of some resource.
    OVERLOADED = 2 => "OVERLOADED",
    /// 3: the role is not supported.
    UNKNOWN_ROLE = 3 => "UNKNOWN_ROLE",
}

/// The 8-byte record header.
///
/// ```text
/// +---------+------+------------+---------------+---------+----------+
/// | version | type | request id | contentLength | padding | reserved |
/// |   u8    |  u8  |  u16 BE    |    u16 BE     |   u8    |    u8    |
/// +---------+------+------------+---------------+---------+----------+
/// then contentLength bytes of content and padding bytes of padding
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The record type.
    pub record_type: RecordType,
    /// The request id (0 for management records).
    pub request_id: u16,
    /// The content length.
    pub content_len: u16,
    /// The padding length.
    pub padding_len: u8,
}

impl Header {
    /// A header with no padding.
    pub const fn new(record_type: RecordType, request_id: u16, content_len: u16) -> Self {
        Self {
            record_type,
            request_id,
            content_len,
            padding_len: 0,
        }
    }

    /// Parses a header from the start of `src`. The reserved byte is
    /// ignored; a version other than 1 is an error. `offset` is only used in
    /// errors.
    ///
    /// ```
    /// use fastcgi_proto::{Header, RecordType, Status};
    /// let h = Header::parse(&[1, 5, 0, 1, 0, 5, 3, 0], 0).unwrap();
    /// assert_eq!(h, Status::Complete(Header { record_type: RecordType::STDIN,
    ///     request_id: 1, content_len: 5, padding_len: 3 }));
    /// ```
    pub fn parse(src: &[u8], offset: usize) -> Result<Status<Self>, DecodeError> {
        let Some(&[version, ty, id1, id0, l1, l0, pad, _]) = src.first_chunk::<8>() else {
            return Ok(Status::incomplete(HEADER_LEN.saturating_sub(src.len())));
        };
        if version != VERSION_1 {
            return Err(DecodeError::Version { version, offset });
        }
        Ok(Status::Complete(Self {
            record_type: RecordType(ty),
            request_id: u16::from_be_bytes([id1, id0]),
            content_len: u16::from_be_bytes([l1, l0]),
            padding_len: pad,
        }))
    }

    /// The header bytes.
    pub fn to_bytes(&self) -> [u8; 8] {
        let [i1, i0] = self.request_id.to_be_bytes();
        let [l1, l0] = self.content_len.to_be_bytes();
        [
            VERSION_1,
            self.record_type.0,
            i1,
            i0,
            l1,
            l0,
            self.padding_len,
            0,
        ]
    }

    /// Writes the header.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_slice(&self.to_bytes());
    }

    /// Header + content + padding.
    pub const fn record_len(&self) -> usize {
        HEADER_LEN + self.content_len as usize + self.padding_len as usize
    }

    /// Checks the content length of a fixed-size type.
    pub fn check_body_len(&self, offset: usize) -> Result<(), DecodeError> {
        match self.record_type.fixed_len() {
            Some(expected) if expected != self.content_len => Err(DecodeError::BodyLength {
                record_type: self.record_type,
                len: self.content_len,
                expected,
                offset,
            }),
            _ => Ok(()),
        }
    }
}

/// Padding that rounds `content_len` up to a multiple of `align` (1..=256;
/// 0 or 1 means no padding).
pub const fn padding_for(content_len: usize, align: u16) -> u8 {
    if align <= 1 {
        return 0;
    }
    let a = align as usize;
    let rem = content_len % a;
    if rem == 0 { 0 } else { (a - rem) as u8 }
}

/// A record borrowed from the input; padding already skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The header as read.
    pub header: Header,
    /// The content (padding excluded).
    pub content: &'a [u8],
}

/// A buffer records are split off without copying: [`Bytes`] or
/// [`BytesMut`] (frozen as it is split). [`Buf::advance`] drops bytes
/// already taken some other way.
pub(crate) trait RecordBuf: core::ops::Deref<Target = [u8]> + Buf {
    /// The first `at` bytes, split off.
    fn split_front(&mut self, at: usize) -> Bytes;
}

impl RecordBuf for Bytes {
    fn split_front(&mut self, at: usize) -> Bytes {
        self.split_to(at)
    }
}

impl RecordBuf for BytesMut {
    fn split_front(&mut self, at: usize) -> Bytes {
        self.split_to(at).freeze()
    }
}

/// Splits the next complete record off the front of `buf` (whose first byte
/// is at `*offset` in the stream, advanced past the record): its header and
/// its content as a slice of `buf`'s memory, no copy. `None` while the
/// record is incomplete.
#[inline]
pub(crate) fn split_record<B: RecordBuf>(
    buf: &mut B,
    offset: &mut usize,
) -> Result<Option<(Header, Bytes)>, DecodeError> {
    let (header, content_len, used) = match Record::parse(buf, *offset)? {
        Status::Complete((r, used)) => (r.header, r.content.len(), used),
        Status::Incomplete { .. } => return Ok(None),
    };
    let content = buf
        .split_front(used)
        .slice(HEADER_LEN..HEADER_LEN + content_len);
    *offset += used;
    Ok(Some((header, content)))
}

/// How many more bytes the record begun in `buf` needs (0: complete), or the
/// error its header already shows.
pub(crate) fn record_bytes_missing(buf: &[u8], offset: usize) -> Result<usize, DecodeError> {
    Ok(match Record::parse(buf, offset)? {
        Status::Incomplete { needed } => needed.map_or(1, core::num::NonZeroUsize::get),
        Status::Complete(_) => 0,
    })
}

impl<'a> Record<'a> {
    /// Parses one record from the start of `src`, returning it and the bytes
    /// consumed (header + content + padding). Fixed-size bodies of the wrong
    /// length are errors.
    ///
    /// ```
    /// use fastcgi_proto::{Record, RecordType, Status};
    /// let bytes = [1, 5, 0, 1, 0, 5, 3, 0, b'h', b'e', b'l', b'l', b'o', 0, 0, 0];
    /// let Status::Complete((rec, used)) = Record::parse(&bytes, 0).unwrap() else { panic!() };
    /// assert_eq!((rec.header.record_type, rec.content, used), (RecordType::STDIN, &b"hello"[..], 16));
    /// assert!(Record::parse(&bytes[..15], 0).unwrap().is_incomplete());
    /// ```
    pub fn parse(src: &'a [u8], offset: usize) -> Result<Status<(Self, usize)>, DecodeError> {
        let header = match Header::parse(src, offset)? {
            Status::Complete(h) => h,
            Status::Incomplete { needed } => return Ok(Status::Incomplete { needed }),
        };
        header.check_body_len(offset)?;
        let total = header.record_len();
        let Some(content) = src.get(HEADER_LEN..HEADER_LEN + usize::from(header.content_len))
        else {
            return Ok(Status::incomplete(total.saturating_sub(src.len())));
        };
        if src.len() < total {
            return Ok(Status::incomplete(total - src.len()));
        }
        Ok(Status::Complete((Self { header, content }, total)))
    }

    /// The body as a typed value.
    pub fn body(&self) -> Body<'a> {
        Body::parse(self.header.record_type, self.content)
    }

    /// Converts to an owned record.
    pub fn to_owned_record(&self) -> OwnedRecord {
        OwnedRecord {
            header: self.header,
            content: Bytes::copy_from_slice(self.content),
        }
    }
}

/// A record with owned content (padding excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedRecord {
    /// The header as read, or as it will be written (its `content_len` is
    /// recomputed by [`OwnedRecord::encode`]).
    pub header: Header,
    /// The content.
    pub content: Bytes,
}

impl OwnedRecord {
    /// A record with no padding. Errors when content exceeds 65 535 bytes.
    pub fn new(
        record_type: RecordType,
        request_id: u16,
        content: impl Into<Bytes>,
    ) -> Result<Self, crate::EncodeError> {
        let content = content.into();
        let len = u16::try_from(content.len())
            .map_err(|_| crate::EncodeError::ContentTooLong { len: content.len() })?;
        Ok(Self {
            header: Header::new(record_type, request_id, len),
            content,
        })
    }

    /// The typed body.
    pub fn body(&self) -> Body<'_> {
        Body::parse(self.header.record_type, &self.content)
    }

    /// Bytes [`OwnedRecord::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.content.len() + usize::from(self.header.padding_len)
    }

    /// Writes header, content and zero padding. The header's content length
    /// is taken from `content` (truncated records cannot be produced: the
    /// constructors reject content over 65 535 bytes).
    pub fn encode(&self, dst: &mut impl BufMut) {
        let mut h = self.header;
        h.content_len = u16::try_from(self.content.len()).unwrap_or(u16::MAX);
        h.encode(dst);
        dst.put_slice(
            self.content
                .get(..usize::from(h.content_len))
                .unwrap_or(&[]),
        );
        dst.put_slice(padding_bytes(h.padding_len));
    }
}

/// BEGIN_REQUEST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BeginRequest {
    /// The role.
    pub role: Role,
    /// The raw flags byte (bit 0: `FCGI_KEEP_CONN`).
    pub flags: u8,
}

impl BeginRequest {
    /// A body with the KEEP_CONN flag set or not.
    pub const fn new(role: Role, keep_conn: bool) -> Self {
        Self {
            role,
            flags: if keep_conn { KEEP_CONN } else { 0 },
        }
    }
    /// Whether `FCGI_KEEP_CONN` is set.
    pub const fn keep_conn(&self) -> bool {
        self.flags & KEEP_CONN != 0
    }
    /// The 8 body bytes.
    pub fn to_bytes(&self) -> [u8; 8] {
        let [r1, r0] = self.role.0.to_be_bytes();
        [r1, r0, self.flags, 0, 0, 0, 0, 0]
    }
    /// Parses exactly 8 bytes.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let &[r1, r0, flags, _, _, _, _, _] = <&[u8; 8]>::try_from(b).ok()?;
        Some(Self {
            role: Role(u16::from_be_bytes([r1, r0])),
            flags,
        })
    }
}

/// END_REQUEST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndRequest {
    /// The application status (CGI exit status).
    pub app_status: u32,
    /// The protocol status.
    pub protocol_status: ProtocolStatus,
}

impl EndRequest {
    /// The 8 body bytes.
    pub fn to_bytes(&self) -> [u8; 8] {
        let [a, b, c, d] = self.app_status.to_be_bytes();
        [a, b, c, d, self.protocol_status.0, 0, 0, 0]
    }
    /// Parses exactly 8 bytes.
    pub fn parse(b: &[u8]) -> Option<Self> {
        let &[a, b1, c, d, ps, _, _, _] = <&[u8; 8]>::try_from(b).ok()?;
        Some(Self {
            app_status: u32::from_be_bytes([a, b1, c, d]),
            protocol_status: ProtocolStatus(ps),
        })
    }
}

/// A record body, typed by the record type.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// BEGIN_REQUEST.
    BeginRequest(BeginRequest),
    /// END_REQUEST.
    EndRequest(EndRequest),
    /// UNKNOWN_TYPE: the type the peer did not know.
    UnknownType(RecordType),
    /// Any other type, or a fixed-size type of the wrong length: the raw
    /// content.
    Raw(&'a [u8]),
}

impl<'a> Body<'a> {
    /// Interprets `content` for `ty`.
    pub fn parse(ty: RecordType, content: &'a [u8]) -> Self {
        match ty {
            RecordType::BEGIN_REQUEST => {
                BeginRequest::parse(content).map_or(Body::Raw(content), Body::BeginRequest)
            }
            RecordType::END_REQUEST => {
                EndRequest::parse(content).map_or(Body::Raw(content), Body::EndRequest)
            }
            RecordType::UNKNOWN_TYPE if content.len() == 8 => {
                Body::UnknownType(RecordType(content.first().copied().unwrap_or(0)))
            }
            _ => Body::Raw(content),
        }
    }
}

/// Writes one complete record (header, content, zero padding to `align`).
/// Errors if `content` exceeds 65 535 bytes or content + padding would.
pub fn encode_record(
    dst: &mut impl BufMut,
    record_type: RecordType,
    request_id: u16,
    content: &[u8],
    align: u16,
) -> Result<usize, crate::EncodeError> {
    let len = content.len();
    let mut pad = padding_for(len, align);
    if len + usize::from(pad) > MAX_CONTENT_LEN {
        pad = 0;
    }
    let content_len = u16::try_from(len).map_err(|_| crate::EncodeError::ContentTooLong { len })?;
    Header {
        record_type,
        request_id,
        content_len,
        padding_len: pad,
    }
    .encode(dst);
    dst.put_slice(content);
    dst.put_slice(padding_bytes(pad));
    Ok(HEADER_LEN + len + usize::from(pad))
}
