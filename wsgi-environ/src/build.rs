//! HTTP request head → environ (web-server side).
//!
//! [`build_environ`] emits the variables of a [`Preset`] in nginx's order,
//! then one `HTTP_*` variable per mapped header. Variables set by the preset
//! or by [`BuildOptions::overrides`] hide header-derived ones of the same name
//! (as a `fastcgi_param HTTP_X …` line does in nginx); an override with an
//! empty `HTTP_*` value hides the header without sending anything.
//!
//! | variable | value |
//! |---|---|
//! | `QUERY_STRING` | raw query, `""` when none (always present) |
//! | `REQUEST_METHOD` | method |
//! | `CONTENT_TYPE` | `Content-Type`, `""` when absent |
//! | `CONTENT_LENGTH` | `Content-Length`, else [`Connection::body_len`], else `""` (`"0"` for SCGI, emitted first) |
//! | `SCRIPT_NAME` | FastCGI presets: the decoded path, or the mount |
//! | `PATH_INFO` | `uwsgi_params`: the decoded path; with a mount, the part below it |
//! | `REQUEST_URI` | raw path and query of the target (absolute form reduced to origin form) |
//! | `DOCUMENT_URI` | decoded, dot-resolved, slash-merged path |
//! | `DOCUMENT_ROOT`, `SCRIPT_FILENAME` | [`Connection::document_root`], root + `SCRIPT_NAME` |
//! | `SERVER_PROTOCOL` | `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0`, `HTTP/3.0` |
//! | `REQUEST_SCHEME`, `HTTPS` | `http`/`https`; `HTTPS=on` under TLS only |
//! | `REMOTE_ADDR`, `REMOTE_PORT` | immediate peer (IPv6 without brackets); never from forwarded headers |
//! | `SERVER_ADDR`, `SERVER_PORT`, `SERVER_NAME` | local address; port always set; name without port, IPv6 bracketed |
//! | `HTTP_HOST` | the preset's `$host` (Debian nginx 1.22 files), or the Host header / URI authority |
//! | `HTTP_*` | headers, names `[A-Za-z0-9-]` only, upper-cased, `-` → `_` |

use core::fmt::Write as _;
use core::net::{IpAddr, SocketAddr};
use std::borrow::Cow;

use http::{HeaderMap, Method, Uri, Version, request::Parts};

use crate::environ::{Appender, Environ, EnvironFull};
use crate::error::BuildError;
use crate::path::{PathPolicy, decode_path, split_mount};

/// An nginx parameter file, as shipped by Debian's nginx 1.22 (the peer the
/// golden captures come from).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `fastcgi_params` (with Debian's `HTTP_HOST $host` line).
    FastcgiParams,
    /// `fastcgi.conf`: `SCRIPT_FILENAME` first, no `HTTP_HOST` line.
    FastcgiConf,
    /// `uwsgi_params`: `PATH_INFO = $document_uri`, no `SCRIPT_NAME`.
    UwsgiParams,
    /// `scgi_params`: `CONTENT_LENGTH` first (always, `0` without body), `SCGI=1`.
    ScgiParams,
}

#[derive(Clone, Copy)]
enum Src {
    ScriptFilename,
    Query,
    Method,
    ContentType,
    ContentLength,
    ScriptName,
    PathInfo,
    RequestUri,
    DocumentUri,
    DocumentRoot,
    Protocol,
    Scheme,
    Https,
    Gateway,
    Software,
    RemoteAddr,
    RemotePort,
    RemoteUser,
    ServerAddr,
    ServerPort,
    ServerName,
    RedirectStatus,
    Scgi,
    Host,
}

const FASTCGI_COMMON: &[(&str, Src)] = &[
    ("QUERY_STRING", Src::Query),
    ("REQUEST_METHOD", Src::Method),
    ("CONTENT_TYPE", Src::ContentType),
    ("CONTENT_LENGTH", Src::ContentLength),
    ("SCRIPT_NAME", Src::ScriptName),
    ("REQUEST_URI", Src::RequestUri),
    ("DOCUMENT_URI", Src::DocumentUri),
    ("DOCUMENT_ROOT", Src::DocumentRoot),
    ("SERVER_PROTOCOL", Src::Protocol),
    ("REQUEST_SCHEME", Src::Scheme),
    ("HTTPS", Src::Https),
    ("GATEWAY_INTERFACE", Src::Gateway),
    ("SERVER_SOFTWARE", Src::Software),
    ("REMOTE_ADDR", Src::RemoteAddr),
    ("REMOTE_PORT", Src::RemotePort),
    ("REMOTE_USER", Src::RemoteUser),
    ("SERVER_ADDR", Src::ServerAddr),
    ("SERVER_PORT", Src::ServerPort),
    ("SERVER_NAME", Src::ServerName),
    ("REDIRECT_STATUS", Src::RedirectStatus),
];

const UWSGI: &[(&str, Src)] = &[
    ("QUERY_STRING", Src::Query),
    ("REQUEST_METHOD", Src::Method),
    ("CONTENT_TYPE", Src::ContentType),
    ("CONTENT_LENGTH", Src::ContentLength),
    ("REQUEST_URI", Src::RequestUri),
    ("PATH_INFO", Src::PathInfo),
    ("DOCUMENT_ROOT", Src::DocumentRoot),
    ("SERVER_PROTOCOL", Src::Protocol),
    ("REQUEST_SCHEME", Src::Scheme),
    ("HTTPS", Src::Https),
    ("REMOTE_ADDR", Src::RemoteAddr),
    ("REMOTE_PORT", Src::RemotePort),
    ("SERVER_PORT", Src::ServerPort),
    ("SERVER_NAME", Src::ServerName),
    ("HTTP_HOST", Src::Host),
];

const SCGI: &[(&str, Src)] = &[
    ("CONTENT_LENGTH", Src::ContentLength),
    ("REQUEST_METHOD", Src::Method),
    ("REQUEST_URI", Src::RequestUri),
    ("QUERY_STRING", Src::Query),
    ("CONTENT_TYPE", Src::ContentType),
    ("DOCUMENT_URI", Src::DocumentUri),
    ("DOCUMENT_ROOT", Src::DocumentRoot),
    ("SCGI", Src::Scgi),
    ("SERVER_PROTOCOL", Src::Protocol),
    ("REQUEST_SCHEME", Src::Scheme),
    ("HTTPS", Src::Https),
    ("REMOTE_ADDR", Src::RemoteAddr),
    ("REMOTE_PORT", Src::RemotePort),
    ("SERVER_PORT", Src::ServerPort),
    ("SERVER_NAME", Src::ServerName),
    ("HTTP_HOST", Src::Host),
];

impl Preset {
    fn params(self) -> impl Iterator<Item = &'static (&'static str, Src)> {
        let (head, body, tail): (&[_], &[_], &[_]) = match self {
            Self::FastcgiParams => (&[], FASTCGI_COMMON, &[("HTTP_HOST", Src::Host)]),
            Self::FastcgiConf => (
                &[("SCRIPT_FILENAME", Src::ScriptFilename)],
                FASTCGI_COMMON,
                &[],
            ),
            Self::UwsgiParams => (&[], UWSGI, &[]),
            Self::ScgiParams => (&[], SCGI, &[]),
        };
        head.iter().chain(body).chain(tail)
    }

    /// The variable names this preset emits before the headers, in order
    /// (`HTTPS` only under TLS).
    pub fn names(self) -> Vec<&'static str> {
        self.params().map(|(n, _)| *n).collect()
    }
}

/// Header names outside `[A-Za-z0-9-]`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidNames {
    /// Silently drop the header (nginx `ignore_invalid_headers on`).
    #[default]
    Drop,
    /// Fail with [`BuildError::InvalidHeaderName`].
    Reject,
}

/// How repeated header fields become variables.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Duplicates {
    /// One variable, values joined with `", "` (`Cookie`: `"; "`), as nginx ≥ 1.23.
    #[default]
    Join,
    /// One variable per field, repeated names (nginx ≤ 1.22).
    Repeat,
}

/// How request headers become `HTTP_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPolicy {
    /// Names outside `[A-Za-z0-9-]`.
    pub invalid_names: InvalidNames,
    /// Repeated fields.
    pub duplicates: Duplicates,
    /// Never emit `HTTP_PROXY` from a `Proxy` header (httpoxy). Default `true`.
    pub drop_proxy: bool,
    /// Drop hop-by-hop headers (`Connection`, `Keep-Alive`,
    /// `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`)
    /// and the names `Connection` lists. Default `true`.
    pub drop_hop_by_hop: bool,
    /// Pass `Authorization` / `Proxy-Authorization` (RFC 3875 §9.2 says
    /// SHOULD NOT; PHP and most frameworks need it). Default `true`.
    pub pass_authorization: bool,
    /// Also emit `HTTP_CONTENT_TYPE` / `HTTP_CONTENT_LENGTH` (nginx does).
    /// Default `true`.
    pub http_content_vars: bool,
    /// When the target has an authority (absolute form, HTTP/2 `:authority`),
    /// use it for `HTTP_HOST` instead of the `Host` header; synthesise
    /// `HTTP_HOST` from it when there is no `Host`. Default `true`.
    pub host_from_authority: bool,
}

impl Default for HeaderPolicy {
    fn default() -> Self {
        Self {
            invalid_names: InvalidNames::Drop,
            duplicates: Duplicates::Join,
            drop_proxy: true,
            drop_hop_by_hop: true,
            pass_authorization: true,
            http_content_vars: true,
            host_from_authority: true,
        }
    }
}

impl HeaderPolicy {
    /// What nginx 1.22 does: duplicates repeated, `Proxy` and hop-by-hop
    /// headers passed, raw `Host`. For reproducing captures; not a safe
    /// default.
    pub fn nginx_1_22() -> Self {
        Self {
            invalid_names: InvalidNames::Drop,
            duplicates: Duplicates::Repeat,
            drop_proxy: false,
            drop_hop_by_hop: false,
            pass_authorization: true,
            http_content_vars: true,
            host_from_authority: false,
        }
    }
}

/// Facts about the connection and the server, not in the request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The immediate peer (`None`: unix socket, `REMOTE_ADDR` empty).
    pub remote: Option<SocketAddr>,
    /// The local address the request arrived on.
    pub local: Option<SocketAddr>,
    /// Whether the client connection is TLS.
    pub tls: bool,
    /// `SERVER_NAME` (configured name, not `Host`); empty: the request host,
    /// else the local IP address, else `localhost` (never empty).
    pub server_name: Vec<u8>,
    /// `SERVER_PORT` when not the local port (unix sockets); else the local
    /// port, else 80 / 443.
    pub server_port: Option<u16>,
    /// `DOCUMENT_ROOT`.
    pub document_root: Vec<u8>,
    /// Mount prefix: splits the path into `SCRIPT_NAME` / `PATH_INFO` on a
    /// segment boundary. Empty: no split (the preset's plain behaviour).
    pub mount: Vec<u8>,
    /// `SERVER_SOFTWARE`.
    pub server_software: Vec<u8>,
    /// `REMOTE_USER`, when the server authenticated the client.
    pub remote_user: Vec<u8>,
    /// Decoded body length when the server de-chunked the body (or the
    /// caller knows it); used when there is no `Content-Length`.
    pub body_len: Option<u64>,
}

impl Default for Connection {
    fn default() -> Self {
        Self {
            remote: None,
            local: None,
            tls: false,
            server_name: Vec::new(),
            server_port: None,
            document_root: Vec::new(),
            mount: Vec::new(),
            server_software: concat!("wsgi-environ/", env!("CARGO_PKG_VERSION")).into(),
            remote_user: Vec::new(),
            body_len: None,
        }
    }
}

/// Options for [`build_environ`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Variable set and order.
    pub preset: Preset,
    /// Header mapping.
    pub headers: HeaderPolicy,
    /// Path decoding.
    pub path: PathPolicy,
    /// Caller-supplied variables; they beat preset and header values.
    pub overrides: Vec<(Vec<u8>, Vec<u8>)>,
    /// Most variables emitted.
    pub max_vars: usize,
    /// Most bytes, counted as a uwsgi vars block (2 + name + 2 + value each).
    pub max_size: usize,
}

impl BuildOptions {
    /// Default variable count limit.
    pub const DEFAULT_MAX_VARS: usize = 1000;
    /// Default size limit: one uwsgi vars block / FastCGI params record.
    pub const DEFAULT_MAX_SIZE: usize = 65535;

    /// Safe defaults for a preset.
    pub fn new(preset: Preset) -> Self {
        Self {
            preset,
            headers: HeaderPolicy::default(),
            path: PathPolicy::default(),
            overrides: Vec::new(),
            max_vars: Self::DEFAULT_MAX_VARS,
            max_size: Self::DEFAULT_MAX_SIZE,
        }
    }
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn valid_name(n: &[u8]) -> bool {
    !n.is_empty() && n.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

/// One byte of a header name as it appears in its `HTTP_*` variable.
fn cgi_byte(b: u8) -> u8 {
    if b == b'-' {
        b'_'
    } else {
        b.to_ascii_uppercase()
    }
}

/// Whether `var` is the `HTTP_*` variable of header name `n`.
fn is_cgi_name(var: &[u8], n: &[u8]) -> bool {
    var.strip_prefix(b"HTTP_").is_some_and(|rest| {
        rest.len() == n.len() && rest.iter().zip(n).all(|(&a, &b)| a == cgi_byte(b))
    })
}

fn bad_value(v: &[u8]) -> bool {
    v.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
}

/// `v` lower-cased, borrowed when it already is.
fn lower(v: &[u8]) -> Cow<'_, [u8]> {
    if v.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(v.to_ascii_lowercase())
    } else {
        Cow::Borrowed(v)
    }
}

/// nginx `$host`: authority host, else `Host` without port, lower-cased,
/// else the server name.
fn nginx_host<'a>(uri: &'a Uri, headers: &'a HeaderMap, server_name: &'a [u8]) -> Cow<'a, [u8]> {
    if let Some(h) = uri.host() {
        return lower(h.as_bytes());
    }
    if let Some(h) = headers.get(http::header::HOST) {
        let h = h.as_bytes();
        let host = if h.first() == Some(&b'[') {
            h.iter()
                .position(|&b| b == b']')
                .and_then(|i| h.get(..=i))
                .unwrap_or(h)
        } else {
            h.split(|&b| b == b':').next().unwrap_or(h)
        };
        if !host.is_empty() {
            return lower(host);
        }
    }
    Cow::Borrowed(server_name)
}

/// Writes `v` through its `Display` (straight into the arena).
fn put(a: &mut Appender<'_>, v: impl core::fmt::Display) {
    // Appending to an `Appender` cannot fail.
    let _ = write!(a, "{v}");
}

/// Writes a host name, bracketed when it is a bare IPv6 address.
fn put_bracketed(a: &mut Appender<'_>, name: &[u8]) {
    if name.contains(&b':') && name.first() != Some(&b'[') {
        a.push(b'[');
        a.extend_from_slice(name);
        a.push(b']');
    } else {
        a.extend_from_slice(name);
    }
}

fn protocol(v: Version) -> &'static [u8] {
    match v {
        Version::HTTP_09 => b"HTTP/0.9",
        Version::HTTP_10 => b"HTTP/1.0",
        Version::HTTP_2 => b"HTTP/2.0",
        Version::HTTP_3 => b"HTTP/3.0",
        _ => b"HTTP/1.1",
    }
}

/// Builds the environ for a request head under `opts`.
///
/// ```
/// use wsgi_environ::{build_environ, BuildOptions, Connection, Preset};
/// let req = http::Request::get("/app/x?a=1").header("Host", "example.test")
///     .header("Proxy", "http://evil").header("X_Auth", "smuggled")
///     .body(()).unwrap();
/// let (parts, ()) = req.into_parts();
/// let env = build_environ(&parts, &Connection::default(), &BuildOptions::new(Preset::UwsgiParams)).unwrap();
/// assert_eq!(env.get(b"PATH_INFO"), Some(&b"/app/x"[..]));
/// assert_eq!(env.get(b"QUERY_STRING"), Some(&b"a=1"[..]));
/// assert_eq!(env.get(b"HTTP_PROXY"), None);
/// assert_eq!(env.get(b"HTTP_X_AUTH"), None);
/// ```
pub fn build_environ(
    parts: &Parts,
    conn: &Connection,
    opts: &BuildOptions,
) -> Result<Environ, BuildError> {
    build_from(
        &parts.method,
        &parts.uri,
        parts.version,
        &parts.headers,
        conn,
        conn.body_len,
        opts,
    )
}

/// Owned ordered `(name, value)` pairs.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The ordered pairs a client (uwsgi / FastCGI / SCGI gateway) sends for a
/// request: `body_len` fills `CONTENT_LENGTH` when there is no header.
pub fn client_params(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body_len: Option<u64>,
    preset: Preset,
    conn: &Connection,
) -> Result<Pairs, BuildError> {
    build_from(
        method,
        uri,
        Version::HTTP_11,
        headers,
        conn,
        body_len.or(conn.body_len),
        &BuildOptions::new(preset),
    )
    .map(Environ::into_vec)
}

/// The values shared by the preset variables, computed once per request.
struct Facts<'a> {
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    conn: &'a Connection,
    doc_uri: &'a [u8],
    script: &'a [u8],
    path_info: Option<&'a [u8]>,
    request_uri: &'a [u8],
    host: &'a [u8],
    server_port: u16,
    content_type: &'a [u8],
    content_length: Option<&'a [u8]>,
    body_len: Option<u64>,
    scgi: bool,
}

impl Facts<'_> {
    /// Writes the value of `src` into the arena.
    fn write(&self, src: Src, a: &mut Appender<'_>) {
        let conn = self.conn;
        match src {
            Src::ScriptFilename => {
                a.extend_from_slice(&conn.document_root);
                a.extend_from_slice(self.script);
            }
            Src::Query => a.extend_from_slice(self.uri.query().unwrap_or("").as_bytes()),
            Src::Method => a.extend_from_slice(self.method.as_str().as_bytes()),
            Src::ContentType => a.extend_from_slice(self.content_type),
            Src::ContentLength => match (self.content_length, self.body_len) {
                (Some(v), _) => a.extend_from_slice(v),
                (None, Some(n)) => put(a, n),
                (None, None) if self.scgi => a.push(b'0'),
                (None, None) => {}
            },
            Src::ScriptName => a.extend_from_slice(self.script),
            Src::PathInfo => a.extend_from_slice(self.path_info.unwrap_or(self.doc_uri)),
            Src::RequestUri => a.extend_from_slice(self.request_uri),
            Src::DocumentUri => a.extend_from_slice(self.doc_uri),
            Src::DocumentRoot => a.extend_from_slice(&conn.document_root),
            Src::Protocol => a.extend_from_slice(protocol(self.version)),
            Src::Scheme => a.extend_from_slice(if conn.tls { b"https" } else { b"http" }),
            Src::Https => a.extend_from_slice(b"on"),
            Src::Gateway => a.extend_from_slice(b"CGI/1.1"),
            Src::Software => a.extend_from_slice(&conn.server_software),
            Src::RemoteAddr => {
                if let Some(r) = conn.remote {
                    put(a, r.ip());
                }
            }
            Src::RemotePort => {
                if let Some(r) = conn.remote {
                    put(a, r.port());
                }
            }
            Src::RemoteUser => a.extend_from_slice(&conn.remote_user),
            Src::ServerAddr => {
                if let Some(l) = conn.local {
                    put(a, l.ip());
                }
            }
            Src::ServerPort => put(a, self.server_port),
            Src::ServerName => {
                if !conn.server_name.is_empty() {
                    put_bracketed(a, &conn.server_name);
                } else if !self.host.is_empty() {
                    put_bracketed(a, self.host);
                } else {
                    // RFC 3875 4.1.14: SERVER_NAME is never empty. Without a
                    // configured name or a request host, the local address
                    // names the server.
                    match conn.local.map(|l| l.ip()) {
                        Some(IpAddr::V6(ip)) => {
                            a.push(b'[');
                            put(a, ip);
                            a.push(b']');
                        }
                        Some(IpAddr::V4(ip)) => put(a, ip),
                        None => a.extend_from_slice(b"localhost"),
                    }
                }
            }
            Src::RedirectStatus => a.extend_from_slice(b"200"),
            Src::Scgi => a.push(b'1'),
            Src::Host => a.extend_from_slice(self.host),
        }
    }
}

fn build_from(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    conn: &Connection,
    body_len: Option<u64>,
    opts: &BuildOptions,
) -> Result<Environ, BuildError> {
    let pol = &opts.headers;
    // Framing.
    let mut cl: Option<&[u8]> = None;
    for v in headers.get_all(http::header::CONTENT_LENGTH) {
        let v = v.as_bytes();
        if crate::environ::parse_decimal(v).is_none() || cl.is_some_and(|c| c != v) {
            return Err(BuildError::InvalidContentLength);
        }
        cl = Some(v);
    }
    if cl.is_some() && headers.contains_key(http::header::TRANSFER_ENCODING) {
        return Err(BuildError::ContentLengthWithTransferEncoding);
    }
    for (k, v) in opts.overrides.iter().enumerate() {
        let ok_name = !v.0.is_empty()
            && v.0
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        if !ok_name || bad_value(&v.1) {
            return Err(BuildError::InvalidOverride { index: k });
        }
    }

    // Paths.
    let raw_path = uri.path().as_bytes();
    let doc_uri = decode_path(raw_path, &opts.path)?;
    let (script, path_info): (&[u8], Option<&[u8]>) = if conn.mount.is_empty() {
        (&doc_uri, None)
    } else {
        let (s, p) = split_mount(&doc_uri, &conn.mount).ok_or(BuildError::OutsideMount)?;
        (s, Some(p))
    };
    let request_uri: &[u8] = uri
        .path_and_query()
        .map_or(&b"/"[..], |pq| pq.as_str().as_bytes());
    let host = nginx_host(uri, headers, &conn.server_name);
    let facts = Facts {
        method,
        uri,
        version,
        conn,
        doc_uri: &doc_uri,
        script,
        path_info,
        request_uri,
        host: &host,
        server_port: conn
            .server_port
            .or_else(|| conn.local.map(|a| a.port()))
            .unwrap_or(if conn.tls { 443 } else { 80 }),
        content_type: headers
            .get(http::header::CONTENT_TYPE)
            .map_or(&b""[..], |v| v.as_bytes()),
        content_length: cl,
        body_len,
        scgi: opts.preset == Preset::ScgiParams,
    };

    // Room for every variable: the preset's names (under 400 bytes) and
    // values (the paths a few times over, the connection's strings, short
    // numbers), the overrides, and each header as `HTTP_` + name + value.
    let header_bytes: usize = headers
        .iter()
        .map(|(n, v)| 5 + n.as_str().len() + v.len())
        .sum();
    let override_bytes: usize = opts.overrides.iter().map(|(k, v)| k.len() + v.len()).sum();
    let bytes = 512
        + request_uri.len()
        + 3 * doc_uri.len()
        + 2 * conn.document_root.len()
        + conn.server_software.len()
        + conn.remote_user.len()
        + 2 * host.len()
        + conn.server_name.len()
        + facts.content_type.len()
        + override_bytes
        + header_bytes;
    let mut env = Environ::with_capacity(
        24 + opts.overrides.len() + headers.len(),
        bytes.min(opts.max_size.saturating_mul(2)),
    );
    let full = |e: EnvironFull| BuildError::TooLarge {
        size: e.len,
        max: opts.max_size.min(Environ::MAX_BYTES),
    };

    for &(name, src) in opts.preset.params() {
        if matches!(src, Src::Https) && !conn.tls {
            continue;
        }
        env.try_push_with(
            |n| n.extend_from_slice(name.as_bytes()),
            |a| facts.write(src, a),
        )
        .map_err(full)?;
    }
    if let Some(pi) = path_info {
        if env.get(b"SCRIPT_NAME").is_none() {
            env.try_push(b"SCRIPT_NAME", script).map_err(full)?;
        }
        env.try_set(b"PATH_INFO", pi).map_err(full)?;
    }
    for (name, value) in &opts.overrides {
        env.try_set(name, value).map_err(full)?;
    }
    // Empty HTTP_* overrides hide a header without being sent.
    env.retain(|k, v| !(k.starts_with(b"HTTP_") && v.is_empty()));

    // Headers. A header is hidden by an `HTTP_*` variable of the preset or
    // an override of the same name.
    let head_len = env.len();
    let hidden = |env: &Environ, n: &[u8]| {
        env.iter().take(head_len).any(|(k, _)| is_cgi_name(k, n))
            || opts.overrides.iter().any(|(k, _)| is_cgi_name(k, n))
    };
    // Names listed in `Connection` (compared without case; header names
    // are lower case).
    let listed = |n: &[u8]| {
        pol.drop_hop_by_hop
            && headers
                .get_all(http::header::CONNECTION)
                .iter()
                .flat_map(|v| v.as_bytes().split(|&b| b == b','))
                .any(|tok| {
                    let t = tok.trim_ascii();
                    !t.is_empty() && t.eq_ignore_ascii_case(n)
                })
    };
    let host_seen = headers.contains_key(http::header::HOST) && !listed(b"host");
    if !host_seen
        && pol.host_from_authority
        && let Some(a) = uri.authority()
        && !hidden(&env, b"host")
    {
        env.try_push(b"HTTP_HOST", a.as_str()).map_err(full)?;
    }
    let first_header = env.len();
    for (index, (name, value)) in headers.iter().enumerate() {
        let n = name.as_str().as_bytes();
        if bad_value(value.as_bytes()) {
            return Err(BuildError::InvalidHeaderValue { index });
        }
        if !valid_name(n) {
            match pol.invalid_names {
                InvalidNames::Drop => continue,
                InvalidNames::Reject => return Err(BuildError::InvalidHeaderName { index }),
            }
        }
        let ns = name.as_str();
        if (pol.drop_proxy && ns == "proxy")
            || (pol.drop_hop_by_hop && (HOP_BY_HOP.contains(&ns) || listed(n)))
            || (!pol.pass_authorization && (ns == "authorization" || ns == "proxy-authorization"))
            || (!pol.http_content_vars && (ns == "content-type" || ns == "content-length"))
            || hidden(&env, n)
        {
            continue;
        }
        let mut v = value.as_bytes();
        if ns == "host"
            && pol.host_from_authority
            && let Some(a) = uri.authority()
        {
            v = a.as_str().as_bytes();
        }
        if pol.duplicates == Duplicates::Join
            && let Some((i, _)) = env
                .iter()
                .enumerate()
                .skip(first_header)
                .rev()
                .find(|(_, (k, _))| is_cgi_name(k, n))
        {
            let sep: &[u8] = if ns == "cookie" { b"; " } else { b", " };
            env.extend_value(i, sep).map_err(full)?;
            env.extend_value(i, v).map_err(full)?;
            continue;
        }
        env.try_push_with(
            |a| {
                a.extend_from_slice(b"HTTP_");
                a.extend(n.iter().map(|&b| cgi_byte(b)));
            },
            |a| a.extend_from_slice(v),
        )
        .map_err(full)?;
    }

    if env.len() > opts.max_vars {
        return Err(BuildError::TooManyVars { max: opts.max_vars });
    }
    let size = env.byte_len().saturating_add(4 * env.len());
    if size > opts.max_size {
        return Err(BuildError::TooLarge {
            size,
            max: opts.max_size,
        });
    }
    Ok(env)
}
