//! The environ model: ordered byte pairs.

use crate::error::ParseError;

/// An ordered set of `(name, value)` byte pairs: a CGI/WSGI environ.
///
/// Order and duplicates are kept as given; lookups return the **last**
/// value of a name (what most applications see). An empty value means
/// "unset" for the optional CGI variables (RFC 3875 §4.1), which the
/// `*_nonempty` accessors apply.
///
/// ```
/// use wsgi_environ::Environ;
/// let env = Environ::from_pairs([(&b"REQUEST_METHOD"[..], &b"GET"[..]), (b"QUERY_STRING", b"")]);
/// assert_eq!(env.request_method(), Some(&b"GET"[..]));
/// assert_eq!(env.query_string(), Some(&b""[..]));
/// assert_eq!(env.get_latin1(b"REQUEST_METHOD").as_deref(), Some("GET"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environ {
    vars: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Environ {
    /// An empty environ.
    pub const fn new() -> Self {
        Self { vars: Vec::new() }
    }

    /// Copies ordered pairs (a uwsgi vars view, FastCGI params view, …).
    pub fn from_pairs<'a, I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect(),
        }
    }

    /// Appends a pair, keeping any earlier one of the same name.
    pub fn push(&mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.vars.push((name.into(), value.into()));
    }

    /// Sets `name`: replaces the first pair of that name (removing later
    /// ones) or appends.
    pub fn set(&mut self, name: &[u8], value: impl Into<Vec<u8>>) {
        let value = value.into();
        if let Some(i) = self.vars.iter().position(|(k, _)| k == name) {
            if let Some(slot) = self.vars.get_mut(i) {
                slot.1 = value;
            }
            let mut idx = 0;
            self.vars.retain(|(k, _)| {
                let keep = idx <= i || k != name;
                idx += 1;
                keep
            });
        } else {
            self.vars.push((name.to_vec(), value));
        }
    }

    /// Removes every pair named `name`.
    pub fn remove(&mut self, name: &[u8]) {
        self.vars.retain(|(k, _)| k != name);
    }

    /// The last value of `name`.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.vars
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
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

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.vars.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Number of pairs (duplicates counted).
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The pairs, owned, in order.
    pub fn into_vec(self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.vars
    }

    /// The pairs as a slice.
    pub fn as_slice(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.vars
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

impl Environ {
    pub(crate) fn vars_retain(&mut self, mut f: impl FnMut(&[u8], &[u8]) -> bool) {
        self.vars.retain(|(k, v)| f(k, v));
    }
}
