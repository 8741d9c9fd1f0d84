//! Name-value pairs (PARAMS, GET_VALUES, GET_VALUES_RESULT).
//!
//! A length is one byte (0..=127) or four bytes big-endian with the top bit
//! set (up to 2³¹−1). Decoders accept a 4-byte length for a short value;
//! encoders always write the shortest form.

use alloc::vec::Vec;

use bytes::{BufMut, Bytes, BytesMut};

use crate::record::{MAX_CONTENT_LEN, padding_for};
use crate::{DecodeError, EncodeError, Header, RecordType, Status};

/// Largest name or value length (2³¹−1).
pub const MAX_PAIR_LEN: usize = 0x7fff_ffff;
/// Default cap on the total PARAMS stream length (1 MiB).
pub const DEFAULT_MAX_PARAMS_LEN: usize = 1 << 20;
/// Default cap on the number of pairs.
pub const DEFAULT_MAX_PARAMS: usize = 4096;

/// Bytes needed to encode a length.
pub const fn len_len(n: usize) -> usize {
    if n < 0x80 { 1 } else { 4 }
}

/// Encoded size of one pair.
pub const fn pair_len(name: &[u8], value: &[u8]) -> usize {
    len_len(name.len()) + len_len(value.len()) + name.len() + value.len()
}

fn put_len(dst: &mut impl BufMut, n: usize) -> Result<(), EncodeError> {
    if n < 0x80 {
        dst.put_u8(n as u8);
    } else {
        let v = u32::try_from(n).ok().filter(|v| *v <= MAX_PAIR_LEN as u32);
        let v = v.ok_or(EncodeError::PairTooLong { len: n })?;
        dst.put_u32(v | 0x8000_0000);
    }
    Ok(())
}

/// Writes one pair. Errors (writing nothing) if a length exceeds 2³¹−1.
pub fn encode_pair(dst: &mut impl BufMut, name: &[u8], value: &[u8]) -> Result<(), EncodeError> {
    for n in [name.len(), value.len()] {
        if n > MAX_PAIR_LEN {
            return Err(EncodeError::PairTooLong { len: n });
        }
    }
    put_len(dst, name.len())?;
    put_len(dst, value.len())?;
    dst.put_slice(name);
    dst.put_slice(value);
    Ok(())
}

/// Reads a length at `src[pos..]`: `Ok(None)` if incomplete.
fn read_len(src: &[u8], pos: usize) -> Option<(u32, usize)> {
    let b0 = *src.get(pos)?;
    if b0 & 0x80 == 0 {
        return Some((u32::from(b0), 1));
    }
    let &[_, b1, b2, b3] = src.get(pos..pos.checked_add(4)?)?.first_chunk::<4>()?;
    Some((u32::from_be_bytes([b0 & 0x7f, b1, b2, b3]), 4))
}

/// A parsed pair: name, value and the bytes it used.
pub type ParsedPair<'a> = (&'a [u8], &'a [u8], usize);

/// Parses one pair at the start of `src`: the name, value and bytes used.
/// A length larger than `max_len` is an error before anything is read.
pub fn parse_pair(
    src: &[u8],
    max_len: usize,
    offset: usize,
) -> Result<Status<ParsedPair<'_>>, DecodeError> {
    let Some((nl, a)) = read_len(src, 0) else {
        return Ok(Status::incomplete(1));
    };
    let limit = u32::try_from(max_len).unwrap_or(u32::MAX);
    if nl > limit {
        return Err(DecodeError::PairTooLong {
            len: nl,
            limit,
            offset,
        });
    }
    let Some((vl, b)) = read_len(src, a) else {
        return Ok(Status::incomplete(1));
    };
    let framing = (a + b) as u32; // at most 8
    if vl > limit || nl.saturating_add(vl).saturating_add(framing) > limit {
        return Err(DecodeError::PairTooLong {
            len: vl,
            limit,
            offset: offset + a,
        });
    }
    let (nl, vl) = (nl as usize, vl as usize);
    let start = a + b;
    let total = start + nl + vl;
    let (Some(name), Some(value)) = (src.get(start..start + nl), src.get(start + nl..total)) else {
        return Ok(Status::incomplete(total - src.len()));
    };
    Ok(Status::Complete((name, value, total)))
}

/// Zero-copy iterator over the pairs of a complete block. Yields an error
/// (once, then stops) on a truncated or oversized pair.
///
/// ```
/// use fastcgi_proto::Pairs;
/// // the second pair uses a non-canonical 4-byte name length
/// let block = b"\x0e\x04REQUEST_METHODPOST\x80\x00\x00\x01\x01XY";
/// let v: Vec<_> = Pairs::new(block).collect::<Result<_, _>>().unwrap();
/// assert_eq!(v, [(&b"REQUEST_METHOD"[..], &b"POST"[..]), (&b"X"[..], &b"Y"[..])]);
/// ```
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    src: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Pairs<'a> {
    /// Iterates over `src`.
    pub const fn new(src: &'a [u8]) -> Self {
        Self {
            src,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.src.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        match parse_pair(rest, rest.len(), self.pos) {
            Ok(Status::Complete((n, v, used))) => {
                self.pos += used;
                Some(Ok((n, v)))
            }
            Ok(Status::Incomplete { .. }) => {
                self.done = true;
                Some(Err(DecodeError::PairTruncated { offset: self.pos }))
            }
            Err(e) => {
                self.done = true;
                Some(Err(match e {
                    DecodeError::PairTooLong { .. } => {
                        DecodeError::PairTruncated { offset: self.pos }
                    }
                    e => e,
                }))
            }
        }
    }
}

/// Owned pairs in wire order, backed by one `Bytes` buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    buf: Bytes,
    // (name start, name end, value end)
    spans: Vec<(usize, usize, usize)>,
}

impl Params {
    /// Decodes a complete block.
    pub fn decode(src: Bytes) -> Result<Self, DecodeError> {
        let mut spans = Vec::new();
        let mut pos = 0;
        while pos < src.len() {
            let rest = src.get(pos..).unwrap_or(&[]);
            match parse_pair(rest, rest.len(), pos) {
                Ok(Status::Complete((n, v, used))) => {
                    let ns = pos + used - n.len() - v.len();
                    spans.push((ns, ns + n.len(), ns + n.len() + v.len()));
                    pos += used;
                }
                _ => return Err(DecodeError::PairTruncated { offset: pos }),
            }
        }
        Ok(Self { buf: src, spans })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    /// The pairs in order (duplicates kept).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans.iter().map(|&(a, b, c)| {
            (
                self.buf.get(a..b).unwrap_or(&[]),
                self.buf.get(b..c).unwrap_or(&[]),
            )
        })
    }
    /// The last value for `name` (last wins).
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter()
            .filter(|(n, _)| *n == name)
            .last()
            .map(|(_, v)| v)
    }
    /// The value for `name` as a `Bytes` slice (no copy).
    pub fn get_bytes(&self, name: &[u8]) -> Option<Bytes> {
        self.spans
            .iter()
            .rev()
            .find(|&&(a, b, _)| self.buf.get(a..b) == Some(name))
            .map(|&(_, b, c)| self.buf.slice(b..c))
    }
    /// The encoded block.
    pub fn as_bytes(&self) -> &Bytes {
        &self.buf
    }
}

/// Builds an encoded pair block; keeps the first error.
///
/// ```
/// use fastcgi_proto::ParamsBuilder;
/// let mut b = ParamsBuilder::new();
/// b.pair("A", "1").pair("LONG", "x".repeat(200));
/// let p = b.finish().unwrap();
/// assert_eq!(p.get(b"A"), Some(&b"1"[..]));
/// assert_eq!(&p.as_bytes()[..5], b"\x01\x01A1\x04");
/// ```
#[derive(Debug, Default)]
pub struct ParamsBuilder {
    buf: BytesMut,
    error: Option<EncodeError>,
}

impl ParamsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a pair.
    pub fn pair(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        if self.error.is_none() {
            if let Err(e) = encode_pair(&mut self.buf, name.as_ref(), value.as_ref()) {
                self.error = Some(e);
            }
        }
        self
    }
    /// The block, or the first error.
    pub fn finish(self) -> Result<Params, EncodeError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Params::decode(self.buf.freeze()).map_err(|_| EncodeError::PairTooLong { len: 0 })
    }
}

/// Limits for [`ParamsDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamsLimits {
    /// Most bytes in the whole stream.
    pub max_params_len: usize,
    /// Most pairs.
    pub max_params: usize,
}

impl Default for ParamsLimits {
    fn default() -> Self {
        Self {
            max_params_len: DEFAULT_MAX_PARAMS_LEN,
            max_params: DEFAULT_MAX_PARAMS,
        }
    }
}

/// Streaming, bounded decoder for a pair stream split over records at any
/// byte. Each declared length is checked against the remaining byte budget
/// before anything is buffered.
///
/// ```
/// use fastcgi_proto::{ParamsDecoder, ParamsLimits};
/// let mut d = ParamsDecoder::new(ParamsLimits::default());
/// d.push(b"\x0b\x09SERVER_").unwrap();
/// d.push(b"ADDR127.0.0.1").unwrap();
/// let p = d.finish().unwrap();
/// assert_eq!(p.get(b"SERVER_ADDR"), Some(&b"127.0.0.1"[..]));
/// ```
#[derive(Debug)]
pub struct ParamsDecoder {
    limits: ParamsLimits,
    buf: BytesMut,
    spans: Vec<(usize, usize, usize)>,
    parsed: usize,
}

impl ParamsDecoder {
    /// A decoder with these limits.
    pub fn new(limits: ParamsLimits) -> Self {
        Self {
            limits,
            buf: BytesMut::new(),
            spans: Vec::new(),
            parsed: 0,
        }
    }

    /// Bytes buffered so far.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Pairs complete so far.
    pub fn pair_count(&self) -> usize {
        self.spans.len()
    }

    /// Feeds the content of one PARAMS record.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        let limit = self.limits.max_params_len;
        if self.buf.len().saturating_add(chunk.len()) > limit {
            return Err(DecodeError::ParamsTooLong { limit });
        }
        self.buf.extend_from_slice(chunk);
        loop {
            let rest = self.buf.get(self.parsed..).unwrap_or(&[]);
            if rest.is_empty() {
                return Ok(());
            }
            let budget = limit.saturating_sub(self.parsed);
            match parse_pair(rest, budget, self.parsed) {
                Ok(Status::Complete((n, v, used))) => {
                    if self.spans.len() >= self.limits.max_params {
                        return Err(DecodeError::TooManyPairs {
                            limit: self.limits.max_params,
                        });
                    }
                    let ns = self.parsed + used - n.len() - v.len();
                    self.spans.push((ns, ns + n.len(), ns + n.len() + v.len()));
                    self.parsed += used;
                }
                Ok(Status::Incomplete { .. }) => return Ok(()),
                Err(DecodeError::PairTooLong { len, offset, .. }) => {
                    return Err(DecodeError::PairTooLong {
                        len,
                        limit: u32::try_from(budget).unwrap_or(u32::MAX),
                        offset,
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Ends the stream (the empty record arrived).
    pub fn finish(self) -> Result<Params, DecodeError> {
        if self.parsed != self.buf.len() {
            return Err(DecodeError::PairTruncated {
                offset: self.parsed,
            });
        }
        Ok(Params {
            buf: self.buf.freeze(),
            spans: self.spans,
        })
    }
}

/// How pair streams are cut into records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLayout {
    /// Pad records to a multiple of this (1 or 0: no padding; default 8).
    pub align: u16,
    /// Never split a pair across records unless the pair alone exceeds a
    /// record (default true; PHP-FPM parses each record alone).
    pub keep_pairs_whole: bool,
}

impl Default for RecordLayout {
    fn default() -> Self {
        Self {
            align: 8,
            keep_pairs_whole: true,
        }
    }
}

impl RecordLayout {
    /// Largest content per record so that content + padding ≤ 65 535.
    pub const fn max_content(&self) -> usize {
        if self.align <= 1 {
            MAX_CONTENT_LEN
        } else {
            let a = self.align as usize;
            MAX_CONTENT_LEN - MAX_CONTENT_LEN % a
        }
    }
}

fn flush(dst: &mut impl BufMut, ty: RecordType, id: u16, content: &[u8], align: u16) {
    // A record above `max_content` (a whole pair that fits no padded
    // record) goes out unpadded: content + padding never exceeds 65 535.
    let pad = match padding_for(content.len(), align) {
        p if content.len() + usize::from(p) > MAX_CONTENT_LEN => 0,
        p => p,
    };
    let len = u16::try_from(content.len()).unwrap_or(u16::MAX);
    Header {
        record_type: ty,
        request_id: id,
        content_len: len,
        padding_len: pad,
    }
    .encode(dst);
    dst.put_slice(content);
    dst.put_slice(crate::record::padding_bytes(pad));
}

/// Writes `pairs` as records of type `ty` (PARAMS, GET_VALUES or
/// GET_VALUES_RESULT), followed by the empty terminating record if
/// `terminate`. Returns bytes written. Nothing is written on error.
///
/// A pair longer than one record is split across records (as the spec
/// allows) when it alone exceeds a record; all other pairs stay whole. A
/// pair that fits 65 535 bytes but not [`RecordLayout::max_content`] goes
/// whole into an unpadded record rather than being split (PHP-FPM drops
/// the connection on a split pair).
///
/// ```
/// use fastcgi_proto::{encode_pairs, RecordLayout, RecordType};
/// let mut out = Vec::new();
/// encode_pairs(&mut out, RecordType::PARAMS, 1, [(&b"A"[..], &b"1"[..])], RecordLayout::default(), true).unwrap();
/// assert_eq!(out, b"\x01\x04\x00\x01\x00\x04\x04\x00\x01\x01A1\0\0\0\0\x01\x04\x00\x01\x00\x00\x00\x00");
/// ```
pub fn encode_pairs<'p>(
    dst: &mut impl BufMut,
    ty: RecordType,
    request_id: u16,
    pairs: impl IntoIterator<Item = (&'p [u8], &'p [u8])>,
    layout: RecordLayout,
    terminate: bool,
) -> Result<usize, EncodeError> {
    let max = layout.max_content();
    let mut block = BytesMut::new();
    let mut sizes = Vec::new();
    for (n, v) in pairs {
        encode_pair(&mut block, n, v)?;
        sizes.push(pair_len(n, v));
    }
    let mut out = BytesMut::with_capacity(block.len() + block.len() / max * 16 + 32);
    let mut start = 0;
    let mut cur = 0;
    let emit = |out: &mut BytesMut, a: usize, b: usize| {
        flush(
            out,
            ty,
            request_id,
            block.get(a..b).unwrap_or(&[]),
            layout.align,
        );
    };
    for s in sizes {
        if !layout.keep_pairs_whole || s > MAX_CONTENT_LEN {
            // stream bytes, cutting wherever a record fills (after an
            // unpadded whole pair, which must not be cut)
            if cur - start > max {
                emit(&mut out, start, cur);
                start = cur;
            }
            let end = cur + s;
            while end - start > max {
                emit(&mut out, start, start + max);
                start += max;
            }
            cur = end;
            continue;
        }
        // a pair too big for a padded record still fits an unpadded one
        let limit = if s > max { MAX_CONTENT_LEN } else { max };
        if cur + s - start > limit {
            emit(&mut out, start, cur);
            start = cur;
        }
        cur += s;
    }
    if cur > start {
        emit(&mut out, start, cur);
    }
    if terminate {
        flush(&mut out, ty, request_id, &[], layout.align);
    }
    let n = out.len();
    dst.put_slice(&out);
    Ok(n)
}

/// Encoded length of [`encode_pairs`] output for the same arguments.
pub fn encoded_pairs_len<'p>(
    ty: RecordType,
    pairs: impl IntoIterator<Item = (&'p [u8], &'p [u8])>,
    layout: RecordLayout,
    terminate: bool,
) -> Result<usize, EncodeError> {
    encode_pairs(&mut BytesMut::new(), ty, 1, pairs, layout, terminate)
}
