//! Shared code of the example programs, usable on its own:
//!
//! - [`net`]: backend URLs (`uwsgi://`, `fcgi://`, `…+unix://`), one stream
//!   and listener type for TCP and unix sockets, an idle deadline (the
//!   slowloris defence), a connection tracker and the shutdown signal.
//! - [`proxy`]: one uwsgi / FastCGI exchange with bodies streamed both ways
//!   ([`proxy::exchange`]), and the HTTP → backend [`proxy::Gateway`].
//! - [`tower`]: any `tower::Service` (an axum `Router`) served over uwsgi
//!   or FastCGI.
//! - the environ-dump backend ([`serve_uwsgi_dump`], [`serve_fastcgi_dump`]),
//!   simple one-request clients ([`uwsgi_request`], [`fastcgi_request`]),
//!   reports and a hex dump.
#![forbid(unsafe_code)]

pub mod net;
pub mod proxy;
pub mod tower;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;
use uwsgi_proto::codec::{ClientCodec, CodecError, RequestPart, ResponsePart, ServerCodec};
use uwsgi_proto::{Limits, OwnedRequestHead, ResponseHead, special};

/// Writes `out` to standard output and flushes it. A reader that went away
/// (`wire-inspect … | head`) is not an error: the output is simply cut.
pub fn write_stdout(out: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(out).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// Renders bytes as a classic hex dump: offset, 16 hex bytes, ASCII.
pub fn hexdump(data: &[u8]) -> String {
    let mut out = String::new();
    for (i, line) in data.chunks(16).enumerate() {
        let hex: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = line
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:08x}  {:<48}  {}\n",
            i * 16,
            hex.join(" "),
            ascii
        ));
    }
    out
}

/// Renders bytes for display: UTF-8 text when valid, otherwise escaped.
pub fn show(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => b.escape_ascii().to_string(),
    }
}

/// Appends `b` as [`show`] renders it, without an intermediate string.
pub fn push_shown(out: &mut String, b: &[u8]) {
    use std::fmt::Write;
    match std::str::from_utf8(b) {
        Ok(s) if !s.chars().any(char::is_control) => out.push_str(s),
        _ => {
            let _ = write!(out, "{}", b.escape_ascii());
        }
    }
}

/// The text report of vars in wire order, then the body length and sha256:
/// `NAME=value` lines (see [`show`]), `body_len=N`, `body_sha256=hex`.
pub fn vars_report<'a>(
    vars: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    body_len: u64,
    body_sha256: &[u8],
) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(1024);
    for (k, v) in vars {
        push_shown(&mut out, k);
        out.push('=');
        push_shown(&mut out, v);
        out.push('\n');
    }
    let _ = write!(
        out,
        "body_len={body_len}\nbody_sha256={}\n",
        hex::encode(body_sha256)
    );
    out
}

/// The text an environ-dump backend answers with: every var in wire order,
/// then the body length and sha256 ([`vars_report`] of a uwsgi head).
pub fn environ_report(head: &OwnedRequestHead, body_len: u64, body_sha256: &[u8]) -> String {
    vars_report(head.vars.iter(), body_len, body_sha256)
}

/// Serves one uwsgi connection as an environ-dump backend: answers a ping
/// with a pong and a request with `200 OK` and its [`environ_report`], its
/// body streamed through a hash, never buffered.
pub async fn serve_uwsgi_dump<S>(stream: S) -> Result<(), CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_uwsgi_dump_as(stream, false).await
}

/// Renders vars and a body summary as JSON:
/// `{"vars":[["NAME","value"],…],"body_len":N,"body_sha256":"hex"}`, in wire
/// order; names and values are decoded as latin-1 (each byte one code point
/// U+0000–U+00FF), so non-UTF-8 bytes survive losslessly.
pub fn environ_json<'a>(
    vars: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    body_len: u64,
    body_sha256: &[u8],
) -> String {
    let latin1 = |b: &[u8]| b.iter().map(|&c| char::from(c)).collect::<String>();
    let vars: Vec<[String; 2]> = vars.map(|(k, v)| [latin1(k), latin1(v)]).collect();
    serde_json::json!({
        "vars": vars,
        "body_len": body_len,
        "body_sha256": hex::encode(body_sha256),
    })
    .to_string()
        + "\n"
}

/// [`serve_uwsgi_dump`], answering with [`environ_json`] when `json` is set.
pub async fn serve_uwsgi_dump_as<S>(stream: S, json: bool) -> Result<(), CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let opts = DumpOptions {
        json,
        ..DumpOptions::default()
    };
    serve_uwsgi_dump_opts(stream, &opts).await
}

/// One answered request, as handed to [`DumpOptions::log`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpLog<'a> {
    /// `REQUEST_METHOD`.
    pub method: &'a [u8],
    /// `REQUEST_URI`, else `PATH_INFO`.
    pub uri: &'a [u8],
    /// Request body bytes received.
    pub body_len: u64,
}

impl std::fmt::Display for DumpLog<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}, body {} bytes",
            self.method.escape_ascii(),
            self.uri.escape_ascii(),
            self.body_len
        )
    }
}

/// Called once per answered request.
pub type DumpLogger = std::sync::Arc<dyn Fn(&DumpLog<'_>) + Send + Sync>;

/// How an environ-dump backend answers and logs.
#[derive(Clone, Default)]
pub struct DumpOptions {
    /// Answer with [`environ_json`] instead of the text report.
    pub json: bool,
    /// FastCGI connection limits (and what GET_VALUES reports).
    pub fastcgi: fastcgi_proto::server::Config,
    /// Called once per answered request.
    pub log: Option<DumpLogger>,
}

impl std::fmt::Debug for DumpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpOptions")
            .field("json", &self.json)
            .field("fastcgi", &self.fastcgi)
            .field("log", &self.log.is_some())
            .finish()
    }
}

fn log_request<'a>(opts: &DumpOptions, get: impl Fn(&[u8]) -> Option<&'a [u8]>, body_len: u64) {
    if let Some(log) = &opts.log {
        let uri = get(b"REQUEST_URI")
            .filter(|u| !u.is_empty())
            .or_else(|| get(b"PATH_INFO"))
            .unwrap_or_default();
        log(&DumpLog {
            method: get(b"REQUEST_METHOD").unwrap_or_default(),
            uri,
            body_len,
        });
    }
}

/// [`serve_uwsgi_dump`] with `opts`.
pub async fn serve_uwsgi_dump_opts<S>(stream: S, opts: &DumpOptions) -> Result<(), CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let json = opts.json;
    // Small buffers to start with (they grow for large requests): an idle
    // connection costs little.
    let mut framed =
        Framed::with_capacity(stream, ServerCodec::with_limits(Limits::default()), 2048);
    let mut head = None;
    let mut hasher = Sha256::new();
    let mut body_len = 0u64;
    while let Some(part) = framed.next().await {
        match part? {
            RequestPart::Head(h) => head = Some(h),
            RequestPart::Body(chunk) => {
                body_len += chunk.len() as u64;
                hasher.update(&chunk);
            }
            RequestPart::Packet(p) if special::is_ping(&p.as_packet()) => {
                framed
                    .send(ResponsePart::Packet(special::pong(b"")?))
                    .await?;
                return Ok(());
            }
            RequestPart::Packet(_) => return Ok(()),
            RequestPart::End => break,
            _ => {}
        }
    }
    let Some(head) = head else { return Ok(()) };
    log_request(opts, |k| head.vars.get(k), body_len);
    let sha = hasher.finalize();
    let (report, ctype) = if json {
        (
            environ_json(head.vars.iter(), body_len, &sha),
            "application/json",
        )
    } else {
        (
            environ_report(&head, body_len, &sha),
            "text/plain; charset=utf-8",
        )
    };
    let resp = ResponseHead::new(200, "OK")
        .header("Content-Type", ctype)
        .header("Content-Length", report.len().to_string());
    framed.send(ResponsePart::Head(resp)).await?;
    framed.send(ResponsePart::Body(Bytes::from(report))).await?;
    Ok(())
}

/// A response read by [`uwsgi_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The response head.
    pub head: ResponseHead,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Sends one request (head, then `body` in chunks) and reads the response.
pub async fn uwsgi_request<S>(
    stream: S,
    head: OwnedRequestHead,
    body: &[u8],
) -> Result<Reply, CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(stream, ClientCodec::new());
    framed.feed(RequestPart::Head(head)).await?;
    for chunk in body.chunks(16 * 1024) {
        framed
            .feed(RequestPart::Body(Bytes::copy_from_slice(chunk)))
            .await?;
    }
    framed.send(RequestPart::End).await?;
    let mut reply = Reply {
        head: ResponseHead::default(),
        body: Vec::new(),
    };
    while let Some(part) = framed.next().await {
        match part? {
            ResponsePart::Head(h) => reply.head = h,
            ResponsePart::Body(b) => reply.body.extend_from_slice(&b),
            ResponsePart::End => break,
            _ => {}
        }
    }
    Ok(reply)
}

/// Builds a uwsgi request head the way a front server would: the CGI vars
/// for `method`, `path` and `query`, each header as an `HTTP_*` var (with
/// `CONTENT_TYPE` kept unprefixed), then `extra` vars, which win over the
/// defaults of the same name.
pub fn request_head(
    method: &str,
    path: &str,
    query: &str,
    host: &str,
    headers: &[(String, String)],
    extra: &[(String, String)],
    body: &[u8],
) -> Result<OwnedRequestHead, Box<dyn std::error::Error + Send + Sync>> {
    let (server_name, server_port) = host.rsplit_once(':').unwrap_or((host, "80"));
    let uri = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let mut vars: Vec<(String, String)> = vec![
        ("REQUEST_METHOD".into(), method.into()),
        ("REQUEST_URI".into(), uri),
        ("PATH_INFO".into(), path.into()),
        ("QUERY_STRING".into(), query.into()),
        ("SERVER_PROTOCOL".into(), "HTTP/1.1".into()),
        ("SERVER_NAME".into(), server_name.into()),
        ("SERVER_PORT".into(), server_port.into()),
        ("REMOTE_ADDR".into(), "127.0.0.1".into()),
        ("HTTP_HOST".into(), host.into()),
        ("CONTENT_LENGTH".into(), body.len().to_string()),
    ];
    for (n, v) in headers {
        let key = n.to_ascii_uppercase().replace('-', "_");
        let key = if key == "CONTENT_TYPE" {
            key
        } else {
            format!("HTTP_{key}")
        };
        vars.push((key, v.clone()));
    }
    for (k, v) in extra {
        vars.retain(|(n, _)| n != k);
        vars.push((k.clone(), v.clone()));
    }
    let mut b = uwsgi_proto::VarsBuilder::new();
    for (k, v) in &vars {
        b.var(k, v);
    }
    Ok(OwnedRequestHead::from_packet(
        b.packet(uwsgi_proto::Modifier1::WSGI, 0)?,
    )?)
}

/// Serves one FastCGI connection as an environ-dump application: every
/// request (several per connection with keep-conn) is answered with a CGI
/// `200 OK` head and the same report as [`environ_report`], its body hashed
/// while streaming.
pub async fn serve_fastcgi_dump<S>(stream: S) -> Result<(), fastcgi_proto::codec::CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_fastcgi_dump_as(stream, false).await
}

/// [`serve_fastcgi_dump`], answering with [`environ_json`] when `json` is set.
pub async fn serve_fastcgi_dump_as<S>(
    stream: S,
    json: bool,
) -> Result<(), fastcgi_proto::codec::CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let opts = DumpOptions {
        json,
        ..DumpOptions::default()
    };
    serve_fastcgi_dump_opts(stream, &opts).await
}

/// [`serve_fastcgi_dump`] with `opts`.
pub async fn serve_fastcgi_dump_opts<S>(
    stream: S,
    opts: &DumpOptions,
) -> Result<(), fastcgi_proto::codec::CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (json, config) = (opts.json, opts.fastcgi);
    use fastcgi_proto::codec::{AppCodec, AppOutput};
    use fastcgi_proto::server::Event;
    use std::collections::HashMap;
    let mut framed = Framed::with_capacity(stream, AppCodec::new(config), 2048);
    /// Per request: params (as received, not copied), body hash, body length.
    type InFlight = (Option<fastcgi_proto::Params>, Sha256, u64);
    let mut reqs: HashMap<u16, InFlight> = HashMap::new();
    while let Some(ev) = framed.next().await {
        match ev? {
            // GET_VALUES / UNKNOWN_TYPE answered by the connection: send now.
            Event::Replied { .. } => framed.send(AppOutput::Flush).await?,
            Event::Request { id, .. } => {
                reqs.insert(id, (None, Sha256::new(), 0));
            }
            Event::Params { id, params } => {
                if let Some(r) = reqs.get_mut(&id) {
                    r.0 = Some(params);
                }
            }
            Event::Stdin { id, data } => {
                if let Some(r) = reqs.get_mut(&id) {
                    r.1.update(&data);
                    r.2 += data.len() as u64;
                }
            }
            Event::StdinEnd { id } => {
                let Some((params, hasher, len)) = reqs.remove(&id) else {
                    continue;
                };
                log_request(opts, |k| params.as_ref().and_then(|p| p.get(k)), len);
                let sha = hasher.finalize();
                let vars = params.iter().flat_map(|p| p.iter());
                let (report, ctype) = if json {
                    (environ_json(vars, len, &sha), "application/json")
                } else {
                    (vars_report(vars, len, &sha), "text/plain; charset=utf-8")
                };
                // Head and report in one STDOUT record.
                let mut out = format!(
                    "Status: 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                    report.len()
                );
                out.push_str(&report);
                framed.feed(AppOutput::Stdout(id, Bytes::from(out))).await?;
                framed.send(AppOutput::End(id, 0)).await?;
            }
            _ => {}
        }
        if framed.codec().connection().is_closed() {
            break;
        }
    }
    Ok(())
}

/// What [`fastcgi_request`] read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcgiReply {
    /// All STDOUT bytes (CGI head and body).
    pub stdout: Vec<u8>,
    /// All STDERR bytes.
    pub stderr: Vec<u8>,
    /// The application status from END_REQUEST.
    pub app_status: u32,
}

/// Sends one FastCGI request (id 1, responder, no keep-conn) with `params`
/// and `body`, and reads the reply up to END_REQUEST.
pub async fn fastcgi_request<S>(
    stream: S,
    params: Vec<(Bytes, Bytes)>,
    body: &[u8],
) -> Result<FcgiReply, fastcgi_proto::codec::CodecError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use fastcgi_proto::codec::{ClientCodec, ClientInput};
    use fastcgi_proto::{Role, client};
    let mut framed = Framed::new(stream, ClientCodec::default());
    framed
        .feed(ClientInput::Begin {
            id: 1,
            role: Role::RESPONDER,
            keep_conn: false,
        })
        .await?;
    framed
        .feed(ClientInput::Params {
            id: 1,
            pairs: params,
        })
        .await?;
    for chunk in body.chunks(16 * 1024) {
        framed
            .feed(ClientInput::Stdin {
                id: 1,
                data: Bytes::copy_from_slice(chunk),
            })
            .await?;
    }
    framed.send(ClientInput::StdinEnd { id: 1 }).await?;
    let mut reply = FcgiReply {
        stdout: Vec::new(),
        stderr: Vec::new(),
        app_status: 0,
    };
    while let Some(ev) = framed.next().await {
        match ev? {
            client::Event::Stdout { data, .. } => reply.stdout.extend_from_slice(&data),
            client::Event::Stderr { data, .. } => reply.stderr.extend_from_slice(&data),
            client::Event::End { end, .. } => {
                reply.app_status = end.app_status;
                break;
            }
            _ => {}
        }
    }
    Ok(reply)
}
