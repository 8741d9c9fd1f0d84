//! The vars block ("uwsgi dict"): `[key_size u16 LE][key][val_size u16 LE][val]`…

use alloc::vec::Vec;
use bytes::{BufMut, Bytes};

use crate::{DecodeError, EncodeError, Field, HEADER_LEN, Mode};

/// Largest key, value or block the 16-bit length fields can express.
pub const MAX_FIELD_LEN: usize = u16::MAX as usize;

fn le16(block: &[u8], at: usize) -> Option<usize> {
    let b = block.get(at..at.checked_add(2)?)?;
    Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

/// Splits `len` key bytes off `r`, dispatching on the common key lengths.
///
/// Every var boundary depends on two loads: the key length says where the
/// value length is, and the value length where the next var starts. In the
/// arms below the split point is a constant, so the load of the value length
/// can start as soon as the branch is predicted instead of waiting for the
/// key length to arrive from memory. Front servers send their vars in a fixed
/// order (nginx's `uwsgi_params`, then the client's headers), so the sequence
/// of key lengths repeats from request to request and predicts well; a
/// mispredicted arm costs time, never a different result.
macro_rules! split_key {
    ($r:expr, $len:expr, $($n:literal)*) => {
        match $len {
            $($n => $r.split_at_checked($n),)*
            len => $r.split_at_checked(len),
        }
    };
}

/// Splits the next var off `rest` (strict layout), or `None` if the bytes do
/// not hold a complete var. The hot path of validation and iteration.
#[inline(always)]
fn split_var<'a>(rest: &mut &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
    let (kl, r) = rest.split_first_chunk::<2>()?;
    let (k, r) = split_key!(
        r,
        usize::from(u16::from_le_bytes(*kl)),
        4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
    )?;
    let (vl, r) = r.split_first_chunk::<2>()?;
    let (v, r) = r.split_at_checked(usize::from(u16::from_le_bytes(*vl)))?;
    *rest = r;
    Some((k, v))
}

/// One item of a [`VarsReader`].
pub type PairResult<'a> = Result<(&'a [u8], &'a [u8]), DecodeError>;

/// A lazy, fallible iterator over the raw pairs of a vars block, in order.
///
/// Each item is `Ok((key, value))` or, once, the `Err` that stops it (the
/// iterator is fused after an error). Offsets in errors count from the start
/// of the packet, i.e. the block is assumed to follow a 4-byte header. Most
/// callers want [`Vars::parse`], which validates the block once and then
/// iterates infallibly.
#[derive(Debug, Clone)]
pub struct VarsReader<'a> {
    block: &'a [u8],
    /// The unread part of `block`.
    rest: &'a [u8],
    mode: Mode,
    done: bool,
}

impl<'a> VarsReader<'a> {
    /// A reader over `block` (the packet payload, without the header).
    pub const fn new(block: &'a [u8], mode: Mode) -> Self {
        Self {
            block,
            rest: block,
            mode,
            done: false,
        }
    }

    fn fail(&mut self, e: DecodeError) -> Option<PairResult<'a>> {
        self.done = true;
        self.rest = &[];
        Some(Err(e))
    }
}

impl<'a> Iterator for VarsReader<'a> {
    type Item = PairResult<'a>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.mode == Mode::Strict {
            // Fast path for well-formed vars; anything else takes the slow
            // path below, which names the error (and empties `rest`, so the
            // iterator stays fused).
            let mut rest = self.rest;
            if rest.is_empty() {
                return None;
            }
            if let Some((k, v)) = split_var(&mut rest) {
                if !k.is_empty() {
                    self.rest = rest;
                    return Some(Ok((k, v)));
                }
            }
        }
        // On a copy, so that `self` can live in registers on the fast path.
        let mut copy = self.clone();
        let item = copy.next_slow();
        *self = copy;
        item
    }
}

impl<'a> VarsReader<'a> {
    /// Offset of the next var in the block.
    fn pos(&self) -> usize {
        self.block.len() - self.rest.len()
    }

    fn set_pos(&mut self, pos: usize) {
        self.rest = self.block.get(pos..).unwrap_or_default();
    }

    #[cold]
    fn next_slow(&mut self) -> Option<PairResult<'a>> {
        loop {
            if self.done {
                return None;
            }
            let block = self.block;
            let end = block.len();
            let start = self.pos();
            if start >= end {
                self.done = true;
                return None;
            }
            let off = start + HEADER_LEN;
            let rem = end - start;
            // The smallest var is 5 bytes (2 + 1-byte key + 2); 1 or 2 bytes
            // cannot even hold a key length and a key.
            let klen = match le16(block, start) {
                Some(n) if rem > 2 => n,
                _ => {
                    return self.fail(DecodeError::TrailingBytes {
                        offset: off,
                        len: rem,
                    });
                }
            };
            let kstart = start + 2;
            let kend = kstart + klen;
            if kend >= end && self.mode == Mode::Compat {
                // uWSGI has already skipped the key length and parses on
                // from there (its missing `else` branch).
                self.set_pos(kstart);
                continue;
            }
            if kend > end {
                return self.fail(DecodeError::LengthOverrun {
                    what: Field::Key,
                    offset: off,
                });
            }
            if klen == 0 {
                return self.fail(DecodeError::EmptyKey { offset: off });
            }
            let Some(vlen) = le16(block, kend) else {
                // The key reaches the end with no room for a value length.
                return self.fail(DecodeError::LengthOverrun {
                    what: Field::Value,
                    offset: kend + HEADER_LEN,
                });
            };
            let vstart = kend + 2;
            let vend = vstart + vlen;
            if vend > end {
                return self.fail(DecodeError::LengthOverrun {
                    what: Field::Value,
                    offset: kend + HEADER_LEN,
                });
            }
            self.set_pos(vend);
            return Some(Ok((&block[kstart..kend], &block[vstart..vend])));
        }
    }
}

impl core::iter::FusedIterator for VarsReader<'_> {}

/// Which of several vars with the same key a lookup returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Duplicates {
    /// The first one (what uWSGI uses internally for `REMOTE_ADDR`).
    First,
    /// The last one (what the uWSGI Python environ, gunicorn and PHP-FPM
    /// see). The default.
    #[default]
    Last,
    /// Fail with [`DuplicateKey`] if the key occurs more than once.
    Reject,
}

/// A key occurs more than once and [`Duplicates::Reject`] was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("duplicate key")]
pub struct DuplicateKey;

/// A validated, borrowed vars block: a zero-copy view whose iteration and
/// lookups cannot fail.
///
/// ```
/// use uwsgi_proto::{Limits, Mode, Vars};
/// let block = b"\x04\x00PATH\x02\x00/a\x01\x00Q\x00\x00";
/// let vars = Vars::parse(block, &Limits::default(), Mode::Strict)?;
/// assert_eq!(vars.len(), 2);
/// assert_eq!(vars.get(b"PATH"), Some(&b"/a"[..]));
/// assert_eq!(vars.iter().collect::<Vec<_>>(), [(&b"PATH"[..], &b"/a"[..]), (&b"Q"[..], &b""[..])]);
/// # Ok::<(), uwsgi_proto::DecodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vars<'a> {
    block: &'a [u8],
    mode: Mode,
    count: usize,
}

impl<'a> Vars<'a> {
    /// Validates `block` (a packet payload without its header) and returns the
    /// view. Fails on the first malformed var, or when there are more than
    /// `limits.max_vars` vars or the block is longer than
    /// `limits.max_vars_len`. Error offsets count from the packet start.
    pub fn parse(block: &'a [u8], limits: &crate::Limits, mode: Mode) -> Result<Self, DecodeError> {
        if block.len() > limits.max_vars_len {
            return Err(DecodeError::TooLarge {
                what: Field::Vars,
                size: block.len() as u64,
                max: limits.max_vars_len as u64,
            });
        }
        if mode == Mode::Strict {
            // Fast path: well-formed blocks are split without building errors.
            let mut rest = block;
            let mut count = 0usize;
            while !rest.is_empty() {
                match split_var(&mut rest) {
                    Some((k, _)) if !k.is_empty() && count < limits.max_vars => count += 1,
                    _ => return Err(Self::slow_error(block, limits, mode)),
                }
            }
            return Ok(Self { block, mode, count });
        }
        let count = Self::slow_count(block, limits, mode)?;
        Ok(Self { block, mode, count })
    }

    fn slow_count(block: &[u8], limits: &crate::Limits, mode: Mode) -> Result<usize, DecodeError> {
        let mut count = 0usize;
        let mut reader = VarsReader::new(block, mode);
        loop {
            let at = reader.pos();
            match reader.next() {
                None => return Ok(count),
                Some(Err(e)) => return Err(e),
                Some(Ok(_)) => {
                    if count == limits.max_vars {
                        return Err(DecodeError::TooManyVars {
                            offset: at + HEADER_LEN,
                            max: limits.max_vars,
                        });
                    }
                    count += 1;
                }
            }
        }
    }

    #[cold]
    fn slow_error(block: &[u8], limits: &crate::Limits, mode: Mode) -> DecodeError {
        match Self::slow_count(block, limits, mode) {
            Err(e) => e,
            // The fast path only bails out on a malformed var or too many.
            Ok(_) => DecodeError::TooManyVars {
                offset: HEADER_LEN,
                max: limits.max_vars,
            },
        }
    }

    /// An empty block.
    pub const fn empty() -> Self {
        Self {
            block: &[],
            mode: Mode::Strict,
            count: 0,
        }
    }

    /// Number of vars.
    pub const fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no vars.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The raw block.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.block
    }

    /// The mode the block was validated in.
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// The vars in wire order.
    pub fn iter(&self) -> Iter<'a> {
        Iter {
            rest: self.block,
            compat: (self.mode == Mode::Compat).then(|| VarsReader::new(self.block, self.mode)),
        }
    }

    /// The value of `key`, last one wins (see [`Duplicates::Last`]).
    pub fn get(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }

    /// The value of `key` under an explicit duplicate policy.
    pub fn get_with(
        &self,
        key: &[u8],
        policy: Duplicates,
    ) -> Result<Option<&'a [u8]>, DuplicateKey> {
        let mut all = self.get_all(key);
        match policy {
            Duplicates::First => Ok(all.next()),
            Duplicates::Last => Ok(all.last()),
            Duplicates::Reject => {
                let first = all.next();
                if all.next().is_some() {
                    Err(DuplicateKey)
                } else {
                    Ok(first)
                }
            }
        }
    }

    /// Every value of `key`, in order.
    pub fn get_all<'k>(&self, key: &'k [u8]) -> impl Iterator<Item = &'a [u8]> + 'k
    where
        'a: 'k,
    {
        self.iter().filter(move |(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for Vars<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Vars<'a> {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over a validated [`Vars`] block.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
    compat: Option<VarsReader<'a>>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // The block was validated, so splitting cannot fail; should it ever,
        // iteration just ends.
        match &mut self.compat {
            None => split_var(&mut self.rest),
            Some(reader) => reader.next().and_then(Result::ok),
        }
    }
}

impl core::iter::FusedIterator for Iter<'_> {}

/// An owned, validated vars block backed by [`Bytes`] (no copy when it comes
/// from a codec's buffer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedVars {
    block: Bytes,
    mode: Mode,
    count: usize,
}

impl OwnedVars {
    /// Validates `block` as [`Vars::parse`] does and keeps it.
    pub fn from_bytes(
        block: Bytes,
        limits: &crate::Limits,
        mode: Mode,
    ) -> Result<Self, DecodeError> {
        let count = Vars::parse(&block, limits, mode)?.count;
        Ok(Self { block, mode, count })
    }

    /// The borrowed view.
    pub fn as_vars(&self) -> Vars<'_> {
        Vars {
            block: &self.block,
            mode: self.mode,
            count: self.count,
        }
    }

    /// The raw block.
    pub fn bytes(&self) -> &Bytes {
        &self.block
    }

    /// Number of vars.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no vars.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The vars in wire order.
    pub fn iter(&self) -> Iter<'_> {
        self.as_vars().iter()
    }

    /// The value of `key`, last one wins.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.as_vars().get(key)
    }

    /// The value of `key` under an explicit duplicate policy.
    pub fn get_with(&self, key: &[u8], policy: Duplicates) -> Result<Option<&[u8]>, DuplicateKey> {
        self.as_vars().get_with(key, policy)
    }
}

impl OwnedVars {
    /// Keeps `block`, which the caller has just validated (in `mode`, with
    /// `count` vars).
    #[cfg_attr(not(feature = "codec"), allow(dead_code))]
    pub(crate) const fn from_validated(block: Bytes, mode: Mode, count: usize) -> Self {
        Self { block, mode, count }
    }
}

impl From<Vars<'_>> for OwnedVars {
    fn from(v: Vars<'_>) -> Self {
        Self {
            block: Bytes::copy_from_slice(v.block),
            mode: v.mode,
            count: v.count,
        }
    }
}

/// Size of one encoded var, after checking that the key is not empty and
/// that key and value fit their 16-bit length fields.
pub fn var_encoded_len(key: &[u8], value: &[u8]) -> Result<usize, EncodeError> {
    if key.is_empty() {
        return Err(EncodeError::EmptyKey);
    }
    for (what, len) in [(Field::Key, key.len()), (Field::Value, value.len())] {
        if len > MAX_FIELD_LEN {
            return Err(EncodeError::TooLarge {
                what,
                size: len,
                max: MAX_FIELD_LEN,
            });
        }
    }
    Ok(4 + key.len() + value.len())
}

/// Size of the vars block holding `pairs`, checked: every key non-empty,
/// every key and value ≤ 65 535 bytes and the whole block ≤ 65 535 bytes.
pub fn vars_encoded_len<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<usize, EncodeError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let mut total = 0usize;
    for (k, v) in pairs {
        total = total.saturating_add(var_encoded_len(k.as_ref(), v.as_ref())?);
    }
    if total > MAX_FIELD_LEN {
        return Err(EncodeError::TooLarge {
            what: Field::Vars,
            size: total,
            max: MAX_FIELD_LEN,
        });
    }
    Ok(total)
}

fn put_var(dst: &mut impl BufMut, k: &[u8], v: &[u8]) {
    // Lengths were checked by `var_encoded_len`.
    dst.put_u16_le(k.len() as u16);
    dst.put_slice(k);
    dst.put_u16_le(v.len() as u16);
    dst.put_slice(v);
}

/// Encodes a whole packet: header (`modifier1`, datasize, `modifier2`) and
/// the vars block. Checks every size first: on error nothing is written.
/// Returns the number of bytes written.
///
/// ```
/// use uwsgi_proto::{encode_packet, Modifier1};
/// let mut out = Vec::new();
/// let n = encode_packet(Modifier1::WSGI, 0, [("PATH_INFO", "/p")], &mut out)?;
/// assert_eq!(out, b"\x00\x0f\x00\x00\x09\x00PATH_INFO\x02\x00/p");
/// assert_eq!(n, out.len());
/// # Ok::<(), uwsgi_proto::EncodeError>(())
/// ```
pub fn encode_packet<K, V, I>(
    modifier1: crate::Modifier1,
    modifier2: u8,
    pairs: I,
    dst: &mut impl BufMut,
) -> Result<usize, EncodeError>
where
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    I: IntoIterator<Item = (K, V)>,
    I::IntoIter: Clone,
{
    let pairs = pairs.into_iter();
    let len = vars_encoded_len(pairs.clone())?;
    crate::PacketHeader::new(modifier1, len as u16, modifier2).encode(dst);
    for (k, v) in pairs {
        put_var(dst, k.as_ref(), v.as_ref());
    }
    Ok(HEADER_LEN + len)
}

/// Builds a vars block var by var, keeping the first error (like
/// `http::request::Builder`); chaining never panics.
///
/// ```
/// use uwsgi_proto::{EncodeError, VarsBuilder, Modifier1};
/// let mut b = VarsBuilder::new();
/// b.var("REQUEST_METHOD", "GET").var("PATH_INFO", "/");
/// let packet = b.packet(Modifier1::WSGI, 0)?;
/// assert_eq!(packet.vars()?.get(b"PATH_INFO"), Some(&b"/"[..]));
///
/// let mut bad = VarsBuilder::new();
/// bad.var("", "x").var("OK", "1");
/// assert_eq!(bad.finish(), Err(EncodeError::EmptyKey));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct VarsBuilder {
    block: Vec<u8>,
    count: usize,
    error: Option<EncodeError>,
}

impl VarsBuilder {
    /// An empty builder.
    pub const fn new() -> Self {
        Self {
            block: Vec::new(),
            count: 0,
            error: None,
        }
    }

    /// Appends a var. An empty key, a key or value over 65 535 bytes, or a
    /// block that would grow past 65 535 bytes records an error (the first
    /// one is kept) and the var is not added.
    pub fn var(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        if self.error.is_some() {
            return self;
        }
        let (k, v) = (key.as_ref(), value.as_ref());
        match var_encoded_len(k, v) {
            Err(e) => self.error = Some(e),
            Ok(n) if self.block.len() + n > MAX_FIELD_LEN => {
                self.error = Some(EncodeError::TooLarge {
                    what: Field::Vars,
                    size: self.block.len() + n,
                    max: MAX_FIELD_LEN,
                });
            }
            Ok(_) => {
                put_var(&mut self.block, k, v);
                self.count += 1;
            }
        }
        self
    }

    /// Appends every pair.
    pub fn vars<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Self {
        for (k, v) in pairs {
            self.var(k, v);
        }
        self
    }

    /// Current block length (what the datasize will be).
    pub fn encoded_len(&self) -> usize {
        self.block.len()
    }

    /// The finished block, or the first error.
    pub fn finish(self) -> Result<OwnedVars, EncodeError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(OwnedVars {
                block: Bytes::from(self.block),
                mode: Mode::Strict,
                count: self.count,
            }),
        }
    }

    /// The finished packet with the given modifiers, or the first error.
    pub fn packet(
        self,
        modifier1: crate::Modifier1,
        modifier2: u8,
    ) -> Result<crate::OwnedPacket, EncodeError> {
        let vars = self.finish()?;
        // The builder never lets the block grow past 65 535 bytes.
        let datasize = u16::try_from(vars.block.len()).map_err(|_| EncodeError::TooLarge {
            what: Field::Vars,
            size: vars.block.len(),
            max: MAX_FIELD_LEN,
        })?;
        let header = crate::PacketHeader::new(modifier1, datasize, modifier2);
        Ok(crate::OwnedPacket::from_parts(header, vars.block))
    }
}
