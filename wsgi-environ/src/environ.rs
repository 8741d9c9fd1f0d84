//! The environ model: ordered byte pairs in one byte arena.

use core::fmt;
use core::iter::FusedIterator;

use crate::error::ParseError;

/// Where one pair lives in the arena: the name is `start..mid`, the value
/// `mid..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    mid: u32,
    end: u32,
}

impl Span {
    fn name(self) -> core::ops::Range<usize> {
        self.start as usize..self.mid as usize
    }
    fn value(self) -> core::ops::Range<usize> {
        self.mid as usize..self.end as usize
    }
}

/// An [`Environ`] would hold more than [`Environ::MAX_BYTES`] bytes of names
/// and values; the environ is left as it was.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("environ of {len} bytes of names and values exceeds the 4294967295-byte limit")]
pub struct EnvironFull {
    /// Bytes of names and values the operation would have reached.
    pub len: usize,
}

/// An ordered set of `(name, value)` byte pairs: a CGI/WSGI environ.
///
/// Order and duplicates are kept as given; lookups return the **last**
/// value of a name (what most applications see). An empty value means
/// "unset" for the optional CGI variables (RFC 3875 §4.1), which the
/// `*_nonempty` accessors apply.
///
/// # Storage
///
/// Names and values live back to back, in pair order, in one byte arena,
/// with one small span (three `u32` offsets) per pair: building an environ
/// costs amortized growth of two buffers, not two allocations per pair
/// ([`Environ::with_capacity`] avoids even the growth). The arena holds
/// nothing but the live pairs: [`set`](Environ::set) and
/// [`remove`](Environ::remove) move the bytes behind the changed pair in
/// place, so repeated changes never grow it beyond the live bytes.
///
/// An environ holds at most [`Environ::MAX_BYTES`] bytes of names and
/// values (4 GiB, far above any gateway's limits). The `try_*` methods
/// return [`EnvironFull`] beyond that and leave the environ unchanged; the
/// builders in this crate use them, so no input makes them panic.
///
/// Two environs are equal when they hold the same pairs in the same order,
/// whatever their capacities.
///
/// ```
/// use wsgi_environ::Environ;
/// let env = Environ::from_pairs([(&b"REQUEST_METHOD"[..], &b"GET"[..]), (b"QUERY_STRING", b"")]);
/// assert_eq!(env.request_method(), Some(&b"GET"[..]));
/// assert_eq!(env.query_string(), Some(&b""[..]));
/// assert_eq!(env.get_latin1(b"REQUEST_METHOD").as_deref(), Some("GET"));
/// assert_eq!(format!("{env:?}"), r#"Environ {"REQUEST_METHOD": "GET", "QUERY_STRING": ""}"#);
/// ```
#[derive(Clone, Default)]
pub struct Environ {
    buf: Vec<u8>,
    spans: Vec<Span>,
}

impl PartialEq for Environ {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Environ {}

/// Bytes shown as a string literal: printable ASCII as is, the rest escaped.
struct Escaped<'a>(&'a [u8]);

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

impl fmt::Debug for Environ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Environ ")?;
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (Escaped(k), Escaped(v))))
            .finish()
    }
}

/// Appends bytes to the name or the value being written by
/// [`Environ::try_push_with`]. Writing text through [`fmt::Write`]
/// (`write!(value, "{port}")`) formats straight into the arena.
pub struct Appender<'a> {
    buf: &'a mut Vec<u8>,
}

impl Appender<'_> {
    /// Appends `bytes`.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends one byte.
    pub fn push(&mut self, byte: u8) {
        self.buf.push(byte);
    }
}

impl Extend<u8> for Appender<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        self.buf.extend(iter);
    }
}

impl<'b> Extend<&'b u8> for Appender<'_> {
    fn extend<I: IntoIterator<Item = &'b u8>>(&mut self, iter: I) {
        self.buf.extend(iter);
    }
}

impl fmt::Write for Appender<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The pairs of an [`Environ`] in order: see [`Environ::iter`].
#[derive(Clone)]
pub struct EnvironIter<'a> {
    buf: &'a [u8],
    spans: core::slice::Iter<'a, Span>,
}

impl<'a> EnvironIter<'a> {
    fn pair(&self, s: Span) -> (&'a [u8], &'a [u8]) {
        let buf: &'a [u8] = self.buf;
        (
            buf.get(s.name()).unwrap_or_default(),
            buf.get(s.value()).unwrap_or_default(),
        )
    }
}

impl<'a> Iterator for EnvironIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let s = *self.spans.next()?;
        Some(self.pair(s))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl DoubleEndedIterator for EnvironIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let s = *self.spans.next_back()?;
        Some(self.pair(s))
    }
}

impl ExactSizeIterator for EnvironIter<'_> {}

impl FusedIterator for EnvironIter<'_> {}

impl fmt::Debug for EnvironIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.clone().map(|(k, v)| (Escaped(k), Escaped(v))))
            .finish()
    }
}

impl<'a> IntoIterator for &'a Environ {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = EnvironIter<'a>;

    fn into_iter(self) -> EnvironIter<'a> {
        self.iter()
    }
}

/// `len` as an arena offset, if within [`Environ::MAX_BYTES`].
fn offset(len: usize) -> Result<u32, EnvironFull> {
    u32::try_from(len).map_err(|_| EnvironFull { len })
}

impl Environ {
    /// The most bytes of names and values an environ holds (offsets are
    /// `u32`).
    pub const MAX_BYTES: usize = u32::MAX as usize;

    /// An empty environ.
    pub const fn new() -> Self {
        Self {
            buf: Vec::new(),
            spans: Vec::new(),
        }
    }

    /// An empty environ with room for `pairs` pairs holding `bytes` bytes of
    /// names and values together.
    pub fn with_capacity(pairs: usize, bytes: usize) -> Self {
        Self {
            buf: Vec::with_capacity(bytes.min(Self::MAX_BYTES)),
            spans: Vec::with_capacity(pairs),
        }
    }

    /// Room for `pairs` pairs of a typical CGI size (32 bytes each), from
    /// an iterator's size hint: at most 4096 pairs ahead, growth does the
    /// rest.
    pub(crate) fn with_pair_hint(pairs: usize) -> Self {
        let pairs = pairs.min(4096);
        Self::with_capacity(pairs, pairs * 32)
    }

    /// Copies ordered pairs (a uwsgi vars view, FastCGI params view, …).
    ///
    /// # Panics
    ///
    /// When the pairs hold more than [`Environ::MAX_BYTES`] bytes; see
    /// [`Environ::try_from_pairs`].
    pub fn from_pairs<'a, I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        match Self::try_from_pairs(pairs) {
            Ok(env) => env,
            Err(e) => panic!("{e}"),
        }
    }

    /// Copies ordered pairs, or fails when they hold more than
    /// [`Environ::MAX_BYTES`] bytes.
    ///
    /// ```
    /// use wsgi_environ::Environ;
    /// let env = Environ::try_from_pairs([(&b"A"[..], &b"1"[..])]).unwrap();
    /// assert_eq!(env.get(b"A"), Some(&b"1"[..]));
    /// ```
    pub fn try_from_pairs<'a, I>(pairs: I) -> Result<Self, EnvironFull>
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        let pairs = pairs.into_iter();
        let mut env = Self::with_pair_hint(pairs.size_hint().0);
        for (k, v) in pairs {
            env.try_push(k, v)?;
        }
        Ok(env)
    }

    /// Appends a pair, keeping any earlier one of the same name.
    ///
    /// # Panics
    ///
    /// When the environ would hold more than [`Environ::MAX_BYTES`] bytes;
    /// see [`Environ::try_push`].
    pub fn push(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        if let Err(e) = self.try_push(name, value) {
            panic!("{e}");
        }
    }

    /// Appends a pair, or leaves the environ unchanged when it would hold
    /// more than [`Environ::MAX_BYTES`] bytes.
    pub fn try_push(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), EnvironFull> {
        let (name, value) = (name.as_ref(), value.as_ref());
        let start = self.buf.len();
        let len = start.saturating_add(name.len()).saturating_add(value.len());
        let end = offset(len)?;
        // Both fit below `end`.
        let (start, mid) = (start as u32, (start + name.len()) as u32);
        self.buf.reserve(name.len() + value.len());
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(value);
        self.spans.push(Span { start, mid, end });
        Ok(())
    }

    /// Appends a pair written in pieces straight into the arena: `name`
    /// writes the name, then `value` the value. Leaves the environ unchanged
    /// when it would hold more than [`Environ::MAX_BYTES`] bytes.
    ///
    /// ```
    /// use core::fmt::Write;
    /// use wsgi_environ::Environ;
    /// let mut env = Environ::new();
    /// env.try_push_with(
    ///     |n| {
    ///         n.extend_from_slice(b"HTTP_");
    ///         n.extend(b"x-request-id".iter().map(|b| if *b == b'-' { b'_' } else { b.to_ascii_uppercase() }));
    ///     },
    ///     |v| write!(v, "{}-{}", 7, "a").unwrap(),
    /// ).unwrap();
    /// assert_eq!(env.get(b"HTTP_X_REQUEST_ID"), Some(&b"7-a"[..]));
    /// ```
    pub fn try_push_with(
        &mut self,
        name: impl FnOnce(&mut Appender<'_>),
        value: impl FnOnce(&mut Appender<'_>),
    ) -> Result<(), EnvironFull> {
        let start = self.buf.len();
        name(&mut Appender { buf: &mut self.buf });
        let mid = self.buf.len();
        value(&mut Appender { buf: &mut self.buf });
        let end = self.buf.len();
        match offset(end) {
            Ok(end) => {
                // `start <= mid <= end` fit too.
                self.spans.push(Span {
                    start: start as u32,
                    mid: mid as u32,
                    end,
                });
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(start);
                Err(e)
            }
        }
    }

    /// Index of the first pair named `name`.
    fn position(&self, name: &[u8]) -> Option<usize> {
        self.iter().position(|(k, _)| k == name)
    }

    /// Replaces the bytes `range` of the arena with `bytes`, moving the bytes
    /// behind it and the spans after pair `index` (the pair that holds the
    /// range, whose own end moves too).
    fn splice(
        &mut self,
        index: usize,
        range: core::ops::Range<usize>,
        bytes: &[u8],
    ) -> Result<(), EnvironFull> {
        let old = range.end.saturating_sub(range.start);
        let len = self.buf.len() - old;
        let new_len = offset(len.saturating_add(bytes.len()))? as usize;
        let tail = range.end..self.buf.len();
        let to = range.start + bytes.len();
        if bytes.len() > old {
            self.buf.resize(new_len, 0);
            self.buf.copy_within(tail, to);
        } else {
            self.buf.copy_within(tail, to);
            self.buf.truncate(new_len);
        }
        if let Some(dst) = self.buf.get_mut(range.start..to) {
            dst.copy_from_slice(bytes);
        }
        // Offsets fit: the arena is at most `MAX_BYTES` long.
        let shift = |o: u32| {
            if (o as usize) < range.end {
                o
            } else {
                (o as usize + bytes.len() - old) as u32
            }
        };
        if let Some(s) = self.spans.get_mut(index) {
            s.end = shift(s.end);
        }
        for s in self.spans.iter_mut().skip(index + 1) {
            *s = Span {
                start: shift(s.start),
                mid: shift(s.mid),
                end: shift(s.end),
            };
        }
        Ok(())
    }

    /// Sets `name`: replaces the value of the first pair of that name
    /// (removing later ones) or appends.
    ///
    /// # Panics
    ///
    /// When the environ would hold more than [`Environ::MAX_BYTES`] bytes;
    /// see [`Environ::try_set`].
    pub fn set(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        if let Err(e) = self.try_set(name, value) {
            panic!("{e}");
        }
    }

    /// [`Environ::set`], or leaves the environ unchanged when it would hold
    /// more than [`Environ::MAX_BYTES`] bytes. The arena never keeps the
    /// replaced bytes:
    ///
    /// ```
    /// use wsgi_environ::Environ;
    /// let mut env = Environ::new();
    /// env.push("A", "1");
    /// env.push("B", "2");
    /// env.push("A", "3");
    /// env.try_set("A", "four").unwrap();
    /// assert_eq!(env.iter().collect::<Vec<_>>(), [(&b"A"[..], &b"four"[..]), (b"B", b"2")]);
    /// assert_eq!(env.byte_len(), 7);
    /// ```
    pub fn try_set(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), EnvironFull> {
        let (name, value) = (name.as_ref(), value.as_ref());
        let Some(i) = self.position(name) else {
            return self.try_push(name, value);
        };
        let Some(&span) = self.spans.get(i) else {
            return self.try_push(name, value);
        };
        self.splice(i, span.value(), value)?;
        let mut idx = 0;
        self.retain(|k, _| {
            let keep = idx <= i || k != name;
            idx += 1;
            keep
        });
        Ok(())
    }

    /// Appends `bytes` to the value of pair `index`.
    pub(crate) fn extend_value(&mut self, index: usize, bytes: &[u8]) -> Result<(), EnvironFull> {
        match self.spans.get(index) {
            Some(s) => self.splice(index, s.end as usize..s.end as usize, bytes),
            None => Ok(()),
        }
    }

    /// Removes every pair named `name`.
    pub fn remove(&mut self, name: &[u8]) {
        self.retain(|k, _| k != name);
    }

    /// Keeps the pairs for which `f(name, value)` holds, in order, moving
    /// their bytes together in the arena.
    ///
    /// ```
    /// use wsgi_environ::Environ;
    /// let mut env = Environ::from_pairs([(&b"A"[..], &b""[..]), (b"B", b"2"), (b"C", b"")]);
    /// env.retain(|_, v| !v.is_empty());
    /// assert_eq!(env, Environ::from_pairs([(&b"B"[..], &b"2"[..])]));
    /// assert_eq!(env.byte_len(), 2);
    /// ```
    pub fn retain(&mut self, mut f: impl FnMut(&[u8], &[u8]) -> bool) {
        let mut to = 0usize;
        let mut kept = 0usize;
        for i in 0..self.spans.len() {
            let Some(s) = self.spans.get(i).copied() else {
                break;
            };
            let keep = f(
                self.buf.get(s.name()).unwrap_or_default(),
                self.buf.get(s.value()).unwrap_or_default(),
            );
            if !keep {
                continue;
            }
            let start = s.start as usize;
            if start != to {
                self.buf.copy_within(start..s.end as usize, to);
            }
            // Moving towards the front keeps every offset in range.
            let moved = Span {
                start: to as u32,
                mid: (to + (s.mid - s.start) as usize) as u32,
                end: (to + (s.end - s.start) as usize) as u32,
            };
            if let Some(slot) = self.spans.get_mut(kept) {
                *slot = moved;
            }
            to = moved.end as usize;
            kept += 1;
        }
        self.buf.truncate(to);
        self.spans.truncate(kept);
    }

    /// The last value of `name`.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// The last value of `name` unless empty (empty means unset).
    pub fn get_nonempty(&self, name: &[u8]) -> Option<&[u8]> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The PEP 3333 native-string view of a value: byte n is code point n.
    pub fn get_latin1(&self, name: &[u8]) -> Option<String> {
        self.get(name).map(latin1)
    }

    /// A lossy UTF-8 view of a value.
    pub fn get_utf8_lossy(&self, name: &[u8]) -> Option<String> {
        self.get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The pairs in order (double-ended, exact size).
    pub fn iter(&self) -> EnvironIter<'_> {
        EnvironIter {
            buf: &self.buf,
            spans: self.spans.iter(),
        }
    }

    /// Number of pairs (duplicates counted).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Bytes of names and values together (what the arena holds).
    pub fn byte_len(&self) -> usize {
        self.buf.len()
    }

    /// The pairs copied out, owned, in order (two allocations per pair).
    pub fn into_vec(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
    }

    /// `REQUEST_METHOD`.
    pub fn request_method(&self) -> Option<&[u8]> {
        self.get_nonempty(b"REQUEST_METHOD")
    }
    /// `QUERY_STRING` (raw, still percent-encoded).
    pub fn query_string(&self) -> Option<&[u8]> {
        self.get(b"QUERY_STRING")
    }
    /// `SCRIPT_NAME` (decoded bytes).
    pub fn script_name(&self) -> Option<&[u8]> {
        self.get(b"SCRIPT_NAME")
    }
    /// `PATH_INFO` (decoded bytes).
    pub fn path_info(&self) -> Option<&[u8]> {
        self.get(b"PATH_INFO")
    }
    /// `REQUEST_URI` (raw request target).
    pub fn request_uri(&self) -> Option<&[u8]> {
        self.get_nonempty(b"REQUEST_URI")
    }
    /// `CONTENT_TYPE`, unless empty.
    pub fn content_type(&self) -> Option<&[u8]> {
        self.get_nonempty(b"CONTENT_TYPE")
    }
    /// `SERVER_NAME`.
    pub fn server_name(&self) -> Option<&[u8]> {
        self.get_nonempty(b"SERVER_NAME")
    }
    /// `SERVER_PROTOCOL`.
    pub fn server_protocol(&self) -> Option<&[u8]> {
        self.get_nonempty(b"SERVER_PROTOCOL")
    }
    /// `REMOTE_ADDR`.
    pub fn remote_addr(&self) -> Option<&[u8]> {
        self.get_nonempty(b"REMOTE_ADDR")
    }

    /// `CONTENT_LENGTH` as a number: `Ok(None)` when absent or empty; only
    /// ASCII digits accepted (no sign, no spaces), overflow is an error.
    pub fn content_length(&self) -> Result<Option<u64>, ParseError> {
        match self.get_nonempty(b"CONTENT_LENGTH") {
            None => Ok(None),
            Some(v) => parse_decimal(v)
                .map(Some)
                .ok_or(ParseError::InvalidContentLength),
        }
    }

    /// `SERVER_PORT` as a number, if present and valid.
    pub fn server_port(&self) -> Option<u16> {
        self.get_nonempty(b"SERVER_PORT")
            .and_then(parse_decimal)
            .and_then(|p| u16::try_from(p).ok())
    }

    /// Whether `HTTPS` says TLS (`on`, `1`, `yes`, any case) or
    /// `REQUEST_SCHEME` is `https`.
    pub fn is_https(&self) -> bool {
        if let Some(v) = self.get_nonempty(b"HTTPS") {
            return [&b"on"[..], b"1", b"yes"]
                .iter()
                .any(|t| v.eq_ignore_ascii_case(t));
        }
        self.get(b"REQUEST_SCHEME")
            .is_some_and(|s| s.eq_ignore_ascii_case(b"https"))
    }
}

impl<'a> FromIterator<(&'a [u8], &'a [u8])> for Environ {
    /// See [`Environ::from_pairs`] (same panic beyond
    /// [`Environ::MAX_BYTES`]).
    fn from_iter<I: IntoIterator<Item = (&'a [u8], &'a [u8])>>(iter: I) -> Self {
        Self::from_pairs(iter)
    }
}

/// Byte n → code point n.
pub(crate) fn latin1(v: &[u8]) -> String {
    v.iter().map(|&b| char::from(b)).collect()
}

/// Plain ASCII decimal, digits only, no overflow.
pub(crate) fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans in order, back to back from 0 to the arena's end.
    fn assert_packed(env: &Environ) {
        let mut at = 0u32;
        for s in &env.spans {
            assert_eq!(s.start, at);
            assert!(s.start <= s.mid && s.mid <= s.end);
            at = s.end;
        }
        assert_eq!(at as usize, env.buf.len());
    }

    #[test]
    fn repeated_set_keeps_the_arena_bounded() {
        let mut env = Environ::new();
        env.push("REQUEST_METHOD", "GET");
        env.push("PATH_INFO", "/");
        env.push("QUERY_STRING", "");
        let mut peak_cap = 0;
        // Fewer rounds under the interpreter; every value length still comes up.
        let rounds = if cfg!(miri) { 200 } else { 2_000 };
        for i in 0..rounds {
            let value = vec![b'a' + (i % 26) as u8; i % 97];
            env.set(b"PATH_INFO", &value);
            env.set(b"X_COUNTER", i.to_string());
            assert_packed(&env);
            assert_eq!(env.get(b"PATH_INFO"), Some(&value[..]));
            assert_eq!(env.len(), 4);
            let live = "REQUEST_METHODGETPATH_INFOQUERY_STRINGX_COUNTER".len()
                + value.len()
                + i.to_string().len();
            assert_eq!(env.byte_len(), live);
            peak_cap = peak_cap.max(env.buf.capacity());
        }
        // Live bytes never exceed 47 + 96 + 4; growth at most doubles.
        assert!(peak_cap <= 2 * (47 + 96 + 4), "capacity {peak_cap}");
    }

    #[test]
    fn retain_and_extend_value_keep_spans_packed() {
        let mut env = Environ::from_pairs([
            (&b"A"[..], &b"1"[..]),
            (b"B", b"22"),
            (b"A", b"333"),
            (b"C", b""),
        ]);
        env.extend_value(1, b"xy").unwrap();
        assert_packed(&env);
        assert_eq!(env.get(b"B"), Some(&b"22xy"[..]));
        env.extend_value(3, b"z").unwrap();
        assert_packed(&env);
        assert_eq!(env.get(b"C"), Some(&b"z"[..]));
        env.remove(b"A");
        assert_packed(&env);
        assert_eq!(
            env.iter().collect::<Vec<_>>(),
            [(&b"B"[..], &b"22xy"[..]), (b"C", b"z")]
        );
        assert_eq!(env.extend_value(7, b"q"), Ok(()));
        assert_eq!(env.byte_len(), 7);
    }

    #[test]
    fn offsets_beyond_u32_are_refused() {
        assert_eq!(offset(Environ::MAX_BYTES), Ok(u32::MAX));
        assert_eq!(
            offset(Environ::MAX_BYTES + 1),
            Err(EnvironFull {
                len: Environ::MAX_BYTES + 1
            })
        );
        assert_eq!(
            EnvironFull { len: 1 << 33 }.to_string(),
            "environ of 8589934592 bytes of names and values exceeds the 4294967295-byte limit"
        );
    }
}
