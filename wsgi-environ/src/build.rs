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

use core::net::SocketAddr;

use http::{HeaderMap, Method, Uri, Version, request::Parts};

use crate::environ::Environ;
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

fn cgi_name(prefix: &[u8], n: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(prefix.len() + n.len());
    v.extend_from_slice(prefix);
    v.extend(n.iter().map(|&b| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_uppercase()
        }
    }));
    v
}

fn bad_value(v: &[u8]) -> bool {
    v.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))
}

/// nginx `$host`: authority host, else `Host` without port, lower-cased,
/// else the server name.
fn nginx_host(uri: &Uri, headers: &HeaderMap, server_name: &[u8]) -> Vec<u8> {
    if let Some(h) = uri.host() {
        return h.to_ascii_lowercase().into_bytes();
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
            return host.to_ascii_lowercase();
        }
    }
    server_name.to_vec()
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
    let mut c = conn.clone();
    if body_len.is_some() {
        c.body_len = body_len;
    }
    build_from(
        method,
        uri,
        Version::HTTP_11,
        headers,
        &c,
        &BuildOptions::new(preset),
    )
    .map(Environ::into_vec)
}

struct HeaderVar {
    name: Vec<u8>,
    value: Vec<u8>,
}

fn build_from(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    conn: &Connection,
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
    let (script, path_info): (Vec<u8>, Option<Vec<u8>>) = if conn.mount.is_empty() {
        (doc_uri.clone(), None)
    } else {
        let (s, p) = split_mount(&doc_uri, &conn.mount).ok_or(BuildError::OutsideMount)?;
        (s.to_vec(), Some(p.to_vec()))
    };
    let request_uri: Vec<u8> = uri
        .path_and_query()
        .map_or_else(|| b"/".to_vec(), |pq| pq.as_str().as_bytes().to_vec());

    let host = nginx_host(uri, headers, &conn.server_name);
    let server_name = if !conn.server_name.is_empty() {
        bracket(&conn.server_name)
    } else if !host.is_empty() {
        bracket(&host)
    } else {
        // RFC 3875 4.1.14: SERVER_NAME is never empty. Without a configured
        // name or a request host, the local address names the server.
        conn.local.map_or_else(
            || b"localhost".to_vec(),
            |a| bracket(a.ip().to_string().as_bytes()),
        )
    };
    let server_port = conn
        .server_port
        .or_else(|| conn.local.map(|a| a.port()))
        .unwrap_or(if conn.tls { 443 } else { 80 });

    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .map_or(&b""[..], |v| v.as_bytes());
    let content_length: Vec<u8> = match (cl, conn.body_len) {
        (Some(v), _) => v.to_vec(),
        (None, Some(n)) => n.to_string().into_bytes(),
        (None, None) if opts.preset == Preset::ScgiParams => b"0".to_vec(),
        (None, None) => Vec::new(),
    };

    let mut env = Environ::new();
    for (name, src) in opts.preset.params() {
        let value: Vec<u8> = match src {
            Src::ScriptFilename => [&conn.document_root[..], &script[..]].concat(),
            Src::Query => uri.query().unwrap_or("").as_bytes().to_vec(),
            Src::Method => method.as_str().as_bytes().to_vec(),
            Src::ContentType => content_type.to_vec(),
            Src::ContentLength => content_length.clone(),
            Src::ScriptName => script.clone(),
            Src::PathInfo => path_info.clone().unwrap_or_else(|| doc_uri.clone()),
            Src::RequestUri => request_uri.clone(),
            Src::DocumentUri => doc_uri.clone(),
            Src::DocumentRoot => conn.document_root.clone(),
            Src::Protocol => protocol(version).to_vec(),
            Src::Scheme => {
                if conn.tls {
                    b"https".to_vec()
                } else {
                    b"http".to_vec()
                }
            }
            Src::Https => {
                if !conn.tls {
                    continue;
                }
                b"on".to_vec()
            }
            Src::Gateway => b"CGI/1.1".to_vec(),
            Src::Software => conn.server_software.clone(),
            Src::RemoteAddr => conn
                .remote
                .map(|a| a.ip().to_string().into_bytes())
                .unwrap_or_default(),
            Src::RemotePort => conn
                .remote
                .map(|a| a.port().to_string().into_bytes())
                .unwrap_or_default(),
            Src::RemoteUser => conn.remote_user.clone(),
            Src::ServerAddr => conn
                .local
                .map(|a| a.ip().to_string().into_bytes())
                .unwrap_or_default(),
            Src::ServerPort => server_port.to_string().into_bytes(),
            Src::ServerName => server_name.clone(),
            Src::RedirectStatus => b"200".to_vec(),
            Src::Scgi => b"1".to_vec(),
            Src::Host => host.clone(),
        };
        env.push(name.as_bytes(), value);
    }
    if let Some(pi) = path_info {
        if env.get(b"SCRIPT_NAME").is_none() {
            env.push(&b"SCRIPT_NAME"[..], script.clone());
        }
        env.set(b"PATH_INFO", pi);
    }
    for (name, value) in &opts.overrides {
        env.set(name, value.clone());
    }
    // Empty HTTP_* overrides hide a header without being sent.
    env.vars_retain(|k, v| !(k.starts_with(b"HTTP_") && v.is_empty()));

    // Headers.
    let mut listed: Vec<Vec<u8>> = Vec::new();
    if pol.drop_hop_by_hop {
        for v in headers.get_all(http::header::CONNECTION) {
            for tok in v.as_bytes().split(|&b| b == b',') {
                let t = tok.trim_ascii();
                if !t.is_empty() {
                    listed.push(t.to_ascii_lowercase());
                }
            }
        }
    }
    let mut vars: Vec<HeaderVar> = Vec::new();
    let mut host_seen = false;
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
            || (pol.drop_hop_by_hop && (HOP_BY_HOP.contains(&ns) || listed.iter().any(|l| l == n)))
            || (!pol.pass_authorization && (ns == "authorization" || ns == "proxy-authorization"))
            || (!pol.http_content_vars && (ns == "content-type" || ns == "content-length"))
        {
            continue;
        }
        let mut v = value.as_bytes().to_vec();
        if ns == "host" {
            host_seen = true;
            if pol.host_from_authority
                && let Some(a) = uri.authority()
            {
                v = a.as_str().as_bytes().to_vec();
            }
        }
        let var = cgi_name(b"HTTP_", n);
        if pol.duplicates == Duplicates::Join
            && let Some(prev) = vars.iter_mut().find(|h| h.name == var)
        {
            prev.value
                .extend_from_slice(if ns == "cookie" { b"; " } else { b", " });
            prev.value.extend_from_slice(&v);
            continue;
        }
        vars.push(HeaderVar {
            name: var,
            value: v,
        });
    }
    if !host_seen
        && pol.host_from_authority
        && let Some(a) = uri.authority()
    {
        vars.insert(
            0,
            HeaderVar {
                name: b"HTTP_HOST".to_vec(),
                value: a.as_str().as_bytes().to_vec(),
            },
        );
    }
    let hidden: Vec<Vec<u8>> = env
        .iter()
        .filter(|(k, _)| k.starts_with(b"HTTP_"))
        .map(|(k, _)| k.to_vec())
        .chain(
            opts.overrides
                .iter()
                .filter(|(k, _)| k.starts_with(b"HTTP_"))
                .map(|(k, _)| k.clone()),
        )
        .collect();
    for h in vars {
        if !hidden.contains(&h.name) {
            env.push(h.name, h.value);
        }
    }

    if env.len() > opts.max_vars {
        return Err(BuildError::TooManyVars { max: opts.max_vars });
    }
    let size: usize = env.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
    if size > opts.max_size {
        return Err(BuildError::TooLarge {
            size,
            max: opts.max_size,
        });
    }
    Ok(env)
}

fn bracket(name: &[u8]) -> Vec<u8> {
    if name.contains(&b':') && name.first() != Some(&b'[') {
        [&b"["[..], name, b"]"].concat()
    } else {
        name.to_vec()
    }
}
