//! Environ → HTTP request head (application side).
//!
//! [`environ_to_request`] rebuilds an `http::Request<()>` head and the
//! connection facts. It tolerates what real servers send: empty values mean
//! unset, `HTTP_CONTENT_*` beside `CONTENT_*` (the `CONTENT_*` ones win),
//! `HTTP_TRANSFER_ENCODING` next to a `CONTENT_LENGTH` (the body was already
//! de-chunked: the header is dropped), `HTTP/2` / `HTTP/1` spellings. It
//! never lets `HTTP_PROXY` become a `Proxy` header.

use core::net::IpAddr;
use std::borrow::Cow;

use http::{HeaderName, HeaderValue, Method, Request, Uri, Version};

use crate::environ::{Environ, parse_decimal};
use crate::error::ParseError;
use crate::path::{PathError, encode_path};

/// The origin form of an absolute-form `REQUEST_URI` (`http://h/p?q` →
/// `/p?q`, `http://h?q` → `/?q`): the uWSGI router and Apache forward an
/// absolute-form target as the client sent it. Other targets unchanged.
fn origin_form(u: &[u8]) -> Cow<'_, [u8]> {
    let rest = [&b"http://"[..], b"https://"]
        .into_iter()
        .find_map(|scheme| {
            u.get(..scheme.len())
                .filter(|p| p.eq_ignore_ascii_case(scheme))
                .and_then(|_| u.get(scheme.len()..))
        });
    let Some(rest) = rest else {
        return Cow::Borrowed(u);
    };
    match rest.iter().position(|&b| b == b'/' || b == b'?') {
        Some(i) => match rest.get(i..).unwrap_or_default() {
            tail @ [b'/', ..] => Cow::Borrowed(tail),
            query => Cow::Owned([&b"/"[..], query].concat()),
        },
        None => Cow::Borrowed(b"/"),
    }
}

/// `REQUEST_URI` as a path-and-query for [`Uri`]: the bytes front servers
/// pass through raw but `http` refuses are percent-encoded — `"`, `<`, `>`
/// and `` ` `` (nginx accepts them in the request line), and every byte
/// ≥ 0x80 when the target is not valid UTF-8 (latin-1 clients). Valid UTF-8,
/// `%` escapes and everything else stay as sent.
fn request_target(u: &[u8]) -> Vec<u8> {
    let utf8 = core::str::from_utf8(u).is_ok();
    let mut out = Vec::with_capacity(u.len());
    for &b in u {
        if matches!(b, b'"' | b'<' | b'>' | b'`') || (b >= 0x80 && !utf8) {
            out.extend_from_slice(percent_encoding::percent_encode_byte(b).as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// Repeated names in the vars.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateKeys {
    /// The last value wins (CGI environments cannot repeat names).
    #[default]
    LastWins,
    /// `HTTP_*` repeats become repeated header fields (nginx ≤ 1.22 sends
    /// `HTTP_COOKIE` once per `Cookie` line); others: last wins.
    AppendHeaders,
    /// Fail with [`ParseError::DuplicateKey`].
    Reject,
}

/// Options for [`environ_to_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Repeated names.
    pub duplicates: DuplicateKeys,
    /// Reject an unknown `SERVER_PROTOCOL` (else HTTP/1.1). Default `false`.
    pub strict_protocol: bool,
    /// Use `REQUEST_URI` for the path and query when present. Default `true`.
    pub prefer_request_uri: bool,
    /// Accept `CONTENT_LENGTH` with leading zeros (`007`). Default `true`.
    pub allow_leading_zeros: bool,
    /// Reject control characters in `SCRIPT_NAME` / `PATH_INFO` (NUL is
    /// always rejected). Default `true`.
    pub reject_control_in_paths: bool,
    /// Most variables accepted.
    pub max_vars: usize,
}

impl ParseOptions {
    /// Default variable limit.
    pub const DEFAULT_MAX_VARS: usize = 1000;
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            duplicates: DuplicateKeys::LastWins,
            strict_protocol: false,
            prefer_request_uri: true,
            allow_leading_zeros: true,
            reject_control_in_paths: true,
            max_vars: Self::DEFAULT_MAX_VARS,
        }
    }
}

/// Connection facts carried by the environ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    /// `REMOTE_ADDR`, if a valid IP (the immediate peer of the web server).
    pub remote_addr: Option<IpAddr>,
    /// `REMOTE_PORT`.
    pub remote_port: Option<u16>,
    /// `SERVER_ADDR`.
    pub server_addr: Option<IpAddr>,
    /// `SERVER_PORT`.
    pub server_port: Option<u16>,
    /// `SERVER_NAME` bytes.
    pub server_name: Vec<u8>,
    /// `SCRIPT_NAME` (decoded bytes, `""` when unset).
    pub script_name: Vec<u8>,
    /// `PATH_INFO` (decoded bytes, `""` when unset).
    pub path_info: Vec<u8>,
    /// `CONTENT_LENGTH`.
    pub content_length: Option<u64>,
    /// Whether the client connection was TLS (`HTTPS` / `REQUEST_SCHEME`).
    pub https: bool,
    /// Variables that are neither standard CGI variables nor `HTTP_*`
    /// (`DOCUMENT_ROOT`, `SSL_*`, `REMOTE_USER`, …), in order.
    pub extensions: Vec<(Vec<u8>, Vec<u8>)>,
}

const STANDARD: &[&[u8]] = &[
    b"REQUEST_METHOD",
    b"QUERY_STRING",
    b"CONTENT_TYPE",
    b"CONTENT_LENGTH",
    b"SCRIPT_NAME",
    b"PATH_INFO",
    b"REQUEST_URI",
    b"SERVER_PROTOCOL",
    b"SERVER_NAME",
    b"SERVER_PORT",
    b"SERVER_ADDR",
    b"REMOTE_ADDR",
    b"REMOTE_PORT",
    b"HTTPS",
    b"REQUEST_SCHEME",
];

/// Rebuilds the request head and facts from ordered pairs.
///
/// ```
/// use wsgi_environ::{environ_to_request, ParseOptions};
/// let vars: [(&[u8], &[u8]); 5] = [
///     (b"REQUEST_METHOD", b"POST"), (b"SCRIPT_NAME", b"/app"), (b"PATH_INFO", b"/a b"),
///     (b"QUERY_STRING", b"x=1"), (b"HTTP_HOST", b"example.test"),
/// ];
/// let (req, facts) = environ_to_request(vars, &ParseOptions::default()).unwrap();
/// assert_eq!(req.uri(), "http://example.test/app/a%20b?x=1");
/// assert_eq!(facts.path_info, b"/a b");
/// ```
pub fn environ_to_request<'a, I>(
    vars: I,
    opts: &ParseOptions,
) -> Result<(Request<()>, RequestFacts), ParseError>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    let vars = vars.into_iter();
    let mut env = Environ::with_pair_hint(vars.size_hint().0.min(opts.max_vars));
    for (i, (k, v)) in vars.enumerate() {
        if i >= opts.max_vars {
            return Err(ParseError::TooManyVars { max: opts.max_vars });
        }
        if opts.duplicates == DuplicateKeys::Reject && env.get(k).is_some() {
            return Err(ParseError::DuplicateKey { index: i });
        }
        env.try_push(k, v)?;
    }

    let method = env.request_method().ok_or(ParseError::MissingMethod)?;
    let method = Method::from_bytes(method).map_err(|_| ParseError::InvalidMethod)?;

    let content_length = match env.get_nonempty(b"CONTENT_LENGTH") {
        None => None,
        Some(v) => {
            if !opts.allow_leading_zeros && v.len() > 1 && v.first() == Some(&b'0') {
                return Err(ParseError::InvalidContentLength);
            }
            Some(parse_decimal(v).ok_or(ParseError::InvalidContentLength)?)
        }
    };
    let https = env.is_https();
    let server_port = env.server_port();
    let server_name = env.server_name().unwrap_or_default().to_vec();

    let script_name = env.script_name().unwrap_or_default().to_vec();
    let path_info = env.path_info().unwrap_or_default().to_vec();
    check_path(&script_name, opts)?;
    check_path(&path_info, opts)?;

    // Authority.
    let host: Vec<u8> = match env.get_nonempty(b"HTTP_HOST") {
        Some(h) => h.to_vec(),
        None => {
            let mut h = server_name.clone();
            match server_port {
                Some(p) if !((https && p == 443) || (!https && p == 80)) => {
                    h.extend_from_slice(format!(":{p}").as_bytes());
                }
                _ => {}
            }
            h
        }
    };
    // Path and query.
    let pq: Vec<u8> = match env.request_uri().map(origin_form) {
        Some(u) if opts.prefer_request_uri && u.first() == Some(&b'/') => request_target(&u),
        _ => {
            let mut p = encode_path(&[&script_name[..], &path_info[..]].concat()).into_bytes();
            if p.is_empty() {
                p.push(b'/');
            }
            if let Some(q) = env.get_nonempty(b"QUERY_STRING") {
                p.push(b'?');
                p.extend_from_slice(q);
            }
            p
        }
    };
    // Without any host the URI stays in origin form (no scheme either).
    let mut b = Uri::builder();
    if !host.is_empty() {
        let a =
            http::uri::Authority::try_from(host.as_slice()).map_err(|_| ParseError::InvalidHost)?;
        b = b.scheme(if https { "https" } else { "http" }).authority(a);
    }
    let uri = b
        .path_and_query(pq.as_slice())
        .build()
        .map_err(|_| ParseError::InvalidUri)?;

    let version = match env.server_protocol() {
        None => Version::HTTP_11,
        Some(b"HTTP/1.0") => Version::HTTP_10,
        Some(b"HTTP/1.1" | b"HTTP/1") => Version::HTTP_11,
        Some(b"HTTP/2.0" | b"HTTP/2") => Version::HTTP_2,
        Some(b"HTTP/3.0" | b"HTTP/3") => Version::HTTP_3,
        Some(b"HTTP/0.9") => Version::HTTP_09,
        Some(_) if opts.strict_protocol => return Err(ParseError::InvalidProtocol),
        Some(_) => Version::HTTP_11,
    };

    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .version(version)
        .body(())
        .map_err(|_| ParseError::InvalidUri)?;
    let headers = req.headers_mut();
    let mut extensions = Vec::new();
    let mut name: Vec<u8> = Vec::new();
    for (index, (k, v)) in env.iter().enumerate() {
        let Some(rest) = k.strip_prefix(b"HTTP_").filter(|r| !r.is_empty()) else {
            if !STANDARD.contains(&k) {
                extensions.push((k.to_vec(), v.to_vec()));
            }
            continue;
        };
        name.clear();
        name.extend(rest.iter().map(|&b| {
            if b == b'_' {
                b'-'
            } else {
                b.to_ascii_lowercase()
            }
        }));
        // Compared after mapping, so `HTTP_proxy` or `HTTP_CONTENt_LENGTH`
        // cannot slip past the checks by their case.
        if matches!(
            name.as_slice(),
            b"content-type" | b"content-length" | b"proxy" | b"host"
        ) || (name == b"transfer-encoding" && content_length.is_some())
        {
            continue;
        }
        let Ok(field) = HeaderName::from_bytes(&name) else {
            extensions.push((k.to_vec(), v.to_vec()));
            continue;
        };
        let value = HeaderValue::from_bytes(v).map_err(|_| ParseError::InvalidHeader { index })?;
        if opts.duplicates == DuplicateKeys::AppendHeaders {
            headers.append(field, value);
        } else {
            headers.insert(field, value);
        }
    }
    if !host.is_empty() {
        let hv = HeaderValue::from_bytes(&host).map_err(|_| ParseError::InvalidHost)?;
        headers.insert(http::header::HOST, hv);
    }
    if let Some(ct) = env.content_type() {
        let hv = HeaderValue::from_bytes(ct).map_err(|_| ParseError::InvalidHeader {
            index: env
                .iter()
                .rposition(|(k, _)| k == b"CONTENT_TYPE")
                .unwrap_or_default(),
        })?;
        headers.insert(http::header::CONTENT_TYPE, hv);
    }
    if let Some(n) = content_length {
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(n));
    }

    let ip = |n: &[u8]| {
        env.get_nonempty(n)
            .and_then(|v| core::str::from_utf8(v).ok())
            .and_then(|s| s.parse().ok())
    };
    let facts = RequestFacts {
        remote_addr: ip(b"REMOTE_ADDR"),
        remote_port: env
            .get_nonempty(b"REMOTE_PORT")
            .and_then(parse_decimal)
            .and_then(|p| u16::try_from(p).ok()),
        server_addr: ip(b"SERVER_ADDR"),
        server_port,
        server_name,
        script_name,
        path_info,
        content_length,
        https,
        extensions,
    };
    Ok((req, facts))
}

fn check_path(p: &[u8], opts: &ParseOptions) -> Result<(), PathError> {
    for (offset, &b) in p.iter().enumerate() {
        if b == 0 {
            return Err(PathError::Nul { offset });
        }
        if opts.reject_control_in_paths && (b < 0x20 || b == 0x7f) {
            return Err(PathError::ControlChar { offset });
        }
    }
    Ok(())
}
