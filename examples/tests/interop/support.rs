//! Shared pieces of the interop tests: environment, result recording, a raw
//! HTTP/1.x client, environ reports and the two test servers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio_util::codec::Framed;

/// The value of an environment variable `scripts/interop.sh` exports; a
/// missing one fails the test.
pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests need real peers, run scripts/interop.sh")
    })
}

/// Appends `peer<TAB>scenario<TAB>pass|fail` to `$INTEROP_RESULTS` when
/// dropped (fail when the test is panicking).
pub(crate) struct Outcome {
    peer: &'static str,
    scenario: &'static str,
    path: String,
}

/// Starts recording the outcome of one scenario against one peer.
pub(crate) fn record(peer: &'static str, scenario: &'static str) -> Outcome {
    Outcome {
        peer,
        scenario,
        path: env("INTEROP_RESULTS"),
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        let res = if std::thread::panicking() {
            "fail"
        } else {
            "pass"
        };
        let line = format!("{}\t{}\t{res}\n", self.peer, self.scenario);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .expect("results file");
        f.write_all(line.as_bytes()).expect("write results");
    }
}

/// Hex sha256.
pub(crate) fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A deterministic body of `n` bytes that is not periodic in 256.
pub(crate) fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Escaped bytes for messages.
pub(crate) fn esc(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
pub(crate) struct HttpReply {
    /// Status line version, e.g. `HTTP/1.1`.
    pub(crate) version: String,
    /// Status code.
    pub(crate) status: u16,
    /// Header fields in order (name lowercased).
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    /// Body, de-chunked.
    pub(crate) body: Vec<u8>,
}

impl HttpReply {
    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
            .collect()
    }

    /// The single value of `name` (fails if absent or repeated).
    pub(crate) fn one(&self, name: &str) -> &[u8] {
        let v = self.all(name);
        assert_eq!(v.len(), 1, "header {name} in {:?}", self.headers_text());
        v[0]
    }

    /// Headers for messages.
    pub(crate) fn headers_text(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", esc(v)))
            .collect()
    }
}

/// Sends `raw` to `addr`, reads to EOF (requests carry `Connection: close`
/// or are HTTP/1.0) and parses the response.
pub(crate) fn http(addr: &str, raw: &[u8]) -> HttpReply {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(raw).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    parse_http(&buf)
}

/// Parses one HTTP/1.x response: status line, header fields as sent
/// (hop-by-hop ones included), body by chunked coding, Content-Length or EOF.
pub(crate) fn parse_http(buf: &[u8]) -> HttpReply {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("incomplete response: {}", esc(&buf[..buf.len().min(400)])));
    let mut lines = buf[..end]
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status_line = String::from_utf8_lossy(lines.next().unwrap()).into_owned();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap().to_owned();
    let status = parts
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, Vec<u8>)> = lines
        .map(|l| {
            let colon = l.iter().position(|&b| b == b':').expect("header colon");
            (
                String::from_utf8_lossy(&l[..colon]).to_ascii_lowercase(),
                l[colon + 1..].trim_ascii().to_vec(),
            )
        })
        .collect();
    let rest = &buf[end + 4..];
    let mut reply = HttpReply {
        version,
        status,
        headers,
        body: Vec::new(),
    };
    reply.body = if reply
        .all("transfer-encoding")
        .iter()
        .any(|v| v.eq_ignore_ascii_case(b"chunked"))
    {
        dechunk(rest)
    } else if let Some(cl) = reply.all("content-length").first() {
        let cl: usize = std::str::from_utf8(cl).unwrap().parse().unwrap();
        assert_eq!(rest.len(), cl, "body length vs Content-Length");
        rest.to_vec()
    } else {
        rest.to_vec()
    };
    reply
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let line = std::str::from_utf8(&b[..nl]).unwrap();
        let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).unwrap();
        b = &b[nl + 2..];
        if size == 0 {
            assert_eq!(b, b"\r\n", "chunked trailer");
            return out;
        }
        out.extend_from_slice(&b[..size]);
        assert_eq!(&b[size..size + 2], b"\r\n", "chunk end");
        b = &b[size + 2..];
    }
}

/// An environ-dump JSON report (names and values back to bytes).
#[derive(Debug)]
pub(crate) struct Dump {
    /// Vars in wire order.
    pub(crate) vars: Vec<(Vec<u8>, Vec<u8>)>,
    /// Body length.
    pub(crate) body_len: u64,
    /// Body sha256.
    pub(crate) body_sha256: String,
}

/// Latin-1 string back to bytes.
pub(crate) fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 code point"))
        .collect()
}

impl Dump {
    /// Parses environ-dump's `--format json` report.
    pub(crate) fn parse(body: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("not a JSON report ({e}): {}", esc(body)));
        let vars = v["vars"]
            .as_array()
            .expect("vars")
            .iter()
            .map(|p| {
                (
                    latin1(p[0].as_str().unwrap()),
                    latin1(p[1].as_str().unwrap()),
                )
            })
            .collect();
        Self {
            vars,
            body_len: v["body_len"].as_u64().expect("body_len"),
            body_sha256: v["body_sha256"].as_str().expect("body_sha256").to_owned(),
        }
    }

    /// Every value of `name`, in wire order.
    pub(crate) fn all(&self, name: &str) -> Vec<&[u8]> {
        self.vars
            .iter()
            .filter(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| &v[..])
            .collect()
    }

    /// Asserts `name` occurs exactly once, with `value`.
    pub(crate) fn expect(&self, name: &str, value: impl AsRef<[u8]>) {
        let got: Vec<String> = self.all(name).into_iter().map(esc).collect();
        assert_eq!(got, vec![esc(value.as_ref())], "{name} in {}", self.text());
    }

    /// Asserts `name` is not sent.
    pub(crate) fn absent(&self, name: &str) {
        assert!(self.all(name).is_empty(), "{name} in {}", self.text());
    }

    /// Asserts the body summary.
    pub(crate) fn body(&self, body: &[u8]) {
        assert_eq!(self.body_len, body.len() as u64, "body_len");
        assert_eq!(self.body_sha256, sha_hex(body), "body_sha256");
    }

    /// All vars for messages.
    pub(crate) fn text(&self) -> String {
        self.vars
            .iter()
            .map(|(n, v)| format!("{}={}", esc(n), esc(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Name-value pairs as received.
pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// What a test server saw.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Connections accepted.
    pub(crate) conns: usize,
    /// Requests: connection number (from 1), keep-conn flag, vars.
    pub(crate) requests: Vec<(usize, bool, Pairs)>,
    /// Decode errors and early ends.
    pub(crate) errors: Vec<String>,
}

/// Shared record of a test server.
pub(crate) type Shared = Arc<Mutex<Seen>>;

static TEST_PORTS: Mutex<()> = Mutex::new(());

/// A test server running on its own runtime for as long as this lives; it
/// holds the lock of the test ports.
pub(crate) struct TestServer {
    /// What it saw.
    pub(crate) seen: Shared,
    _rt: tokio::runtime::Runtime,
    _lock: MutexGuard<'static, ()>,
}

/// The body of the streamed response: `STREAM_CHUNKS` pieces.
pub(crate) const STREAM_CHUNKS: usize = 8;

/// One piece of the streamed response.
pub(crate) fn stream_chunk(i: usize) -> Vec<u8> {
    let mut c = format!("chunk {i:02} ").into_bytes();
    c.extend(std::iter::repeat_n(b'a' + i as u8, 1000));
    c.push(b'\n');
    c
}

/// The whole streamed body.
pub(crate) fn stream_body() -> Vec<u8> {
    (0..STREAM_CHUNKS).flat_map(stream_chunk).collect()
}

/// What the FastCGI test server writes to FCGI_STDERR for `/stderr`.
pub(crate) const STDERR_LINE: &[u8] = b"interop stderr line 7f3a";

/// The body of the 404 response.
pub(crate) const MISSING_BODY: &[u8] = b"not found\n";

/// Which protocol a [`TestServer`] speaks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Proto {
    /// uwsgi on `$INTEROP_TEST_UWSGI`.
    Uwsgi,
    /// FastCGI on `$INTEROP_TEST_FCGI`.
    Fastcgi,
}

impl TestServer {
    /// Binds the test port of `proto` and serves: `/stream` streams
    /// [`stream_body`] in pieces without a length, `/missing` answers 404
    /// with `X-Status-Code` and two `Set-Cookie`, anything else the JSON
    /// environ report.
    pub(crate) fn start(proto: Proto) -> Self {
        let lock = TEST_PORTS.lock().unwrap_or_else(|e| e.into_inner());
        let addr = match proto {
            Proto::Uwsgi => env("INTEROP_TEST_UWSGI"),
            Proto::Fastcgi => env("INTEROP_TEST_FCGI"),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let seen = Shared::default();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(&addr))
            .unwrap_or_else(|e| panic!("bind test server {addr}: {e}"));
        let s = seen.clone();
        rt.spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let n = {
                    let mut g = s.lock().unwrap();
                    g.conns += 1;
                    g.conns
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let r = match proto {
                        Proto::Uwsgi => uwsgi_conn(conn, n, &s).await,
                        Proto::Fastcgi => fastcgi_conn(conn, n, &s).await,
                    };
                    if let Err(e) = r {
                        s.lock().unwrap().errors.push(e);
                    }
                });
            }
        });
        Self {
            seen,
            _rt: rt,
            _lock: lock,
        }
    }
}

/// The route of a request target: `/stream`, `/missing` or `/stderr` when its path
/// ends so (front-ends mount the server under a prefix), else the path.
fn route(request_uri: &[u8]) -> &[u8] {
    let path = request_uri.split(|&b| b == b'?').next().unwrap_or_default();
    [&b"/stream"[..], b"/missing", b"/stderr"]
        .into_iter()
        .find(|r| path.ends_with(r))
        .unwrap_or(path)
}

async fn uwsgi_conn(conn: tokio::net::TcpStream, n: usize, seen: &Shared) -> Result<(), String> {
    use uwsgi_proto::ResponseHead;
    use uwsgi_proto::codec::{RequestPart, ResponsePart, ServerCodec};
    let mut framed = Framed::new(conn, ServerCodec::new());
    let mut head = None;
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    loop {
        match framed.next().await {
            Some(Ok(RequestPart::Head(h))) => head = Some(h),
            Some(Ok(RequestPart::Body(b))) => {
                hasher.update(&b);
                len += b.len() as u64;
            }
            Some(Ok(RequestPart::End)) => break,
            Some(Ok(_)) => return Err("unexpected non-request packet".into()),
            Some(Err(e)) => return Err(format!("decode: {e}")),
            None if head.is_none() => return Ok(()),
            None => return Err("connection ended inside a request".into()),
        }
    }
    let head = head.ok_or("End without a head")?;
    let vars: Pairs = head
        .vars
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    seen.lock().unwrap().requests.push((n, false, vars));
    let e = |e: uwsgi_proto::codec::CodecError| e.to_string();
    match route(head.vars.get(b"REQUEST_URI").unwrap_or_default()) {
        b"/stream" => {
            let h = ResponseHead::new(200, "OK")
                .header("Content-Type", "text/plain")
                .header("X-Stream", "yes");
            framed.send(ResponsePart::Head(h)).await.map_err(e)?;
            for i in 0..STREAM_CHUNKS {
                framed
                    .send(ResponsePart::Body(Bytes::from(stream_chunk(i))))
                    .await
                    .map_err(e)?;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        b"/missing" => {
            let h = ResponseHead::new(404, "Not Found")
                .header("Content-Type", "text/plain")
                .header("X-Status-Code", "404")
                .header("Set-Cookie", "a=1; Path=/")
                .header("Set-Cookie", "b=2; Path=/")
                .header("Content-Length", MISSING_BODY.len().to_string());
            framed.send(ResponsePart::Head(h)).await.map_err(e)?;
            framed
                .send(ResponsePart::Body(Bytes::from_static(MISSING_BODY)))
                .await
                .map_err(e)?;
        }
        _ => {
            let report = examples::environ_json(head.vars.iter(), len, &hasher.finalize());
            let h = ResponseHead::new(200, "OK")
                .header("Content-Type", "application/json")
                .header("Content-Length", report.len().to_string());
            framed.send(ResponsePart::Head(h)).await.map_err(e)?;
            framed
                .send(ResponsePart::Body(Bytes::from(report)))
                .await
                .map_err(e)?;
        }
    }
    framed.send(ResponsePart::End).await.map_err(e)?;
    Ok(())
}

async fn fastcgi_conn(conn: tokio::net::TcpStream, n: usize, seen: &Shared) -> Result<(), String> {
    use fastcgi_proto::codec::{AppCodec, AppOutput};
    use fastcgi_proto::server::{Config, Event};
    let mut framed = Framed::new(conn, AppCodec::new(Config::default()));
    let e = |e: fastcgi_proto::codec::CodecError| e.to_string();
    let mut keep = false;
    let mut vars: Pairs = Vec::new();
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    while let Some(ev) = framed.next().await {
        match ev.map_err(|x| format!("decode: {x}"))? {
            Event::Request { keep_conn, .. } => {
                keep = keep_conn;
                vars.clear();
                hasher = Sha256::new();
                len = 0;
            }
            Event::Params { params, .. } => {
                vars = params
                    .iter()
                    .map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .collect();
            }
            Event::Stdin { data, .. } => {
                hasher.update(&data);
                len += data.len() as u64;
            }
            Event::StdinEnd { id } => {
                seen.lock().unwrap().requests.push((n, keep, vars.clone()));
                let uri = vars
                    .iter()
                    .find(|(k, _)| k == b"REQUEST_URI")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let out = |b: Vec<u8>| AppOutput::Stdout(id, Bytes::from(b));
                match route(&uri) {
                    b"/stream" => {
                        framed
                            .send(out(b"Status: 200 OK\r\nContent-Type: text/plain\r\nX-Stream: yes\r\n\r\n".to_vec()))
                            .await
                            .map_err(e)?;
                        for i in 0..STREAM_CHUNKS {
                            framed.send(out(stream_chunk(i))).await.map_err(e)?;
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                    b"/stderr" => {
                        framed
                            .send(AppOutput::Stderr(id, Bytes::from_static(STDERR_LINE)))
                            .await
                            .map_err(e)?;
                        framed
                            .send(out(b"Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n".to_vec()))
                            .await
                            .map_err(e)?;
                    }
                    b"/missing" => {
                        let mut b = format!(
                            "Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-Status-Code: 404\r\n\
                             Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Path=/\r\nContent-Length: {}\r\n\r\n",
                            MISSING_BODY.len()
                        )
                        .into_bytes();
                        b.extend_from_slice(MISSING_BODY);
                        framed.send(out(b)).await.map_err(e)?;
                    }
                    _ => {
                        let sha = std::mem::replace(&mut hasher, Sha256::new()).finalize();
                        let report = examples::environ_json(
                            vars.iter().map(|(k, v)| (&k[..], &v[..])),
                            len,
                            &sha,
                        );
                        let mut b = format!(
                            "Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            report.len()
                        )
                        .into_bytes();
                        b.extend_from_slice(report.as_bytes());
                        framed.send(out(b)).await.map_err(e)?;
                    }
                }
                framed.send(AppOutput::End(id, 0)).await.map_err(e)?;
            }
            _ => {}
        }
        if framed.codec().connection().is_closed() {
            break;
        }
    }
    Ok(())
}
