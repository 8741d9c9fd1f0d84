//! Resource limits and parsing mode.

/// Default [`Limits::max_vars_len`]: the largest block the 16-bit datasize
/// can declare. uWSGI's own default `buffer-size` is 4096, the most common
/// cause of 502s behind nginx; nginx itself never sends more than 65535.
pub const DEFAULT_MAX_VARS_LEN: usize = 65_535;

/// Default [`Limits::max_vars`]: above uWSGI's 128 and below gunicorn's 1000.
pub const DEFAULT_MAX_VARS: usize = 512;

/// Resource limits for decoding untrusted input. The defaults are safe for a
/// public-facing server: a decoder never buffers more than
/// `max_vars_len + 4` bytes per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest vars block (packet datasize) accepted. Checked on the 4-byte
    /// header, before the block is buffered. Default
    /// [`DEFAULT_MAX_VARS_LEN`]; memory per connection is at most this.
    pub max_vars_len: usize,
    /// Most vars in one packet. Default [`DEFAULT_MAX_VARS`].
    pub max_vars: usize,
    /// Largest `CONTENT_LENGTH` accepted, checked when the head is decoded.
    /// `None` (the default) accepts any length: the body is streamed in
    /// chunks and never buffered whole, so this bounds work, not memory.
    pub max_body_len: Option<u64>,
}

impl Limits {
    /// The default limits.
    pub const fn new() -> Self {
        Self {
            max_vars_len: DEFAULT_MAX_VARS_LEN,
            max_vars: DEFAULT_MAX_VARS,
            max_body_len: None,
        }
    }

    /// Sets [`max_vars_len`](Self::max_vars_len).
    #[must_use]
    pub const fn max_vars_len(mut self, n: usize) -> Self {
        self.max_vars_len = n;
        self
    }

    /// Sets [`max_vars`](Self::max_vars).
    #[must_use]
    pub const fn max_vars(mut self, n: usize) -> Self {
        self.max_vars = n;
        self
    }

    /// Sets [`max_body_len`](Self::max_body_len).
    #[must_use]
    pub const fn max_body_len(mut self, n: Option<u64>) -> Self {
        self.max_body_len = n;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

/// How strictly vars blocks and `CONTENT_LENGTH` are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Reject everything that is not well formed (the default).
    #[default]
    Strict,
    /// Accept exactly what uWSGI 2.0 accepts where it is more lenient than
    /// [`Strict`](Self::Strict). The differences, point by point:
    ///
    /// 1. **Key length overrun.** When a key length runs past the end of the
    ///    block, uWSGI's `uwsgi_parse_vars` has already skipped the two length
    ///    bytes and goes on parsing from there, so the tail
    ///    `ff ff 01 00 4b 00 00` is read as the var `K=""`. Compat mode does
    ///    the same; strict mode reports [`LengthOverrun`].
    /// 2. **`CONTENT_LENGTH` digits.** uWSGI reads the leading decimal digits
    ///    and ignores the rest: `"12abc"` is 12, `"-1"` and `" 5"` are 0.
    ///    Compat mode does the same, except that a number overflowing `u64`
    ///    is still [`InvalidContentLength`] (uWSGI wraps it and then fails the
    ///    request). Strict mode accepts only `""` (0, as nginx sends for a
    ///    request without a body) or 1 to 20 ASCII digits.
    /// 3. **Duplicate `CONTENT_LENGTH`.** uWSGI's last value wins; strict mode
    ///    rejects differing duplicates with [`ConflictingContentLength`].
    ///
    /// Everything else is rejected in both modes, as uWSGI does: an empty
    /// key, a value length past the end, a key reaching the end with no value
    /// length, and 1 or 2 trailing bytes.
    ///
    /// [`LengthOverrun`]: crate::DecodeError::LengthOverrun
    /// [`InvalidContentLength`]: crate::DecodeError::InvalidContentLength
    /// [`ConflictingContentLength`]: crate::DecodeError::ConflictingContentLength
    Compat,
}
