//! backend-client: sends one HTTP-style request to a uwsgi or FastCGI
//! backend and prints the response; also FastCGI GET_VALUES and uwsgi ping.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use examples::net::{Backend, Endpoint, Protocol, Stream, describe_io};
use examples::proxy::{ExchangeError, ExchangeOptions, Note, exchange};
use examples::request_head;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use sha2::{Digest, Sha256};
use tokio_util::codec::Framed;

const HELP: &str = "backend-client: send one request to a uwsgi or FastCGI backend

usage: backend-client [OPTIONS] uwsgi://HOST:PORT/PATH?QUERY
       backend-client [OPTIONS] fcgi://HOST:PORT/PATH?QUERY
       backend-client [OPTIONS] --unix SOCKET uwsgi://localhost/PATH?QUERY
       backend-client --get-values fcgi://HOST:PORT
       backend-client --ping uwsgi://HOST:PORT

  -X METHOD        request method (default GET, POST with -d)
  -H 'Name: value' add a request header (as HTTP_* var)
  -d @FILE | @- | DATA  request body (file, stdin or literal)
  --var K=V        add or override a var (SCRIPT_FILENAME=…, DOCUMENT_ROOT=…)
  --unix PATH      connect to a unix socket instead of HOST:PORT
  --timeout SECS   whole-exchange timeout (default 30)
  --json           print one JSON object: status, headers, body (latin-1),
                   body_len, body_sha256, stderr, app_status, protocol_status
  --get-values     FastCGI GET_VALUES: FCGI_MAX_CONNS, FCGI_MAX_REQS,
                   FCGI_MPXS_CONNS; prints NAME=value lines (or JSON)
  --ping           uwsgi ping (modifier1 100); prints `pong` on a pong
  -h, --help       this text

Prints the response as HTTP/1.1 (status line, fields, body); FastCGI stderr
goes to stderr. Exit codes: 0 response < 400 (or pong, or values), 1
response >= 400, 2 usage error, 3 protocol error (malformed reply, reset or
closed early), 4 connect error, 5 timeout. Every failure is one line on
stderr.";

/// Largest body kept in memory for `--json`.
const MAX_JSON_BODY: usize = 64 * 1024 * 1024;

enum Mode {
    Request,
    GetValues,
    Ping,
}

struct Opts {
    url: String,
    method: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    vars: Vec<(String, String)>,
    unix: Option<String>,
    timeout: u64,
    json: bool,
    mode: Mode,
}

fn parse() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        url: String::new(),
        method: None,
        headers: vec![],
        body: vec![],
        vars: vec![],
        unix: None,
        timeout: 30,
        json: false,
        mode: Mode::Request,
    };
    let mut args = std::env::args().skip(1);
    let mut has_body = false;
    while let Some(a) = args.next() {
        let mut val = |n: &str| args.next().ok_or_else(|| format!("{n} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "-X" => o.method = Some(val("-X")?),
            "-H" => {
                let h = val("-H")?;
                let (n, v) = h
                    .split_once(':')
                    .ok_or_else(|| format!("header {h:?} has no ':'"))?;
                o.headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
            "-d" => {
                let d = val("-d")?;
                has_body = true;
                o.body = match d.strip_prefix('@') {
                    Some("-") => {
                        let mut b = vec![];
                        std::io::stdin()
                            .read_to_end(&mut b)
                            .map_err(|e| format!("reading stdin: {e}"))?;
                        b
                    }
                    Some(f) => std::fs::read(f).map_err(|e| format!("reading {f}: {e}"))?,
                    None => d.into_bytes(),
                };
            }
            "--var" => {
                let kv = val("--var")?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("--var {kv:?} has no '='"))?;
                o.vars.push((k.to_owned(), v.to_owned()));
            }
            "--unix" => o.unix = Some(val("--unix")?),
            "--timeout" => {
                o.timeout = val("--timeout")?
                    .parse()
                    .map_err(|_| "--timeout needs whole seconds".to_owned())?;
            }
            "--json" => o.json = true,
            "--get-values" => o.mode = Mode::GetValues,
            "--ping" => o.mode = Mode::Ping,
            s if s.starts_with('-') => return Err(format!("unknown option {s:?} (try --help)")),
            _ => o.url = a,
        }
    }
    if o.url.is_empty() {
        return Err("missing URL (try --help)".into());
    }
    if o.method.is_none() && has_body {
        o.method = Some("POST".into());
    }
    Ok(Some(o))
}

/// A failure: exit code and one line.
type Failure = (u8, String);

fn exchange_failure(e: ExchangeError, target: &Endpoint) -> Failure {
    match e {
        ExchangeError::Connect(e) => (4, format!("connect {target}: {}", describe_io(&e))),
        ExchangeError::Io(e) => (3, format!("{target}: {}", describe_io(&e))),
        e => (3, format!("{target}: {e}")),
    }
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

fn protocol_status_name(s: fastcgi_proto::ProtocolStatus) -> String {
    use fastcgi_proto::ProtocolStatus as P;
    match s {
        P::REQUEST_COMPLETE => "request-complete".into(),
        P::CANT_MPX_CONN => "cant-mpx-conn".into(),
        P::OVERLOADED => "overloaded".into(),
        P::UNKNOWN_ROLE => "unknown-role".into(),
        P(n) => format!("unknown-{n}"),
    }
}

#[derive(Default)]
struct Collected {
    stderr: Vec<u8>,
    end: Option<(u32, fastcgi_proto::ProtocolStatus)>,
}

async fn connect(ep: &Endpoint) -> Result<Stream, Failure> {
    ep.connect()
        .await
        .map_err(|e| (4, format!("connect {ep}: {}", describe_io(&e))))
}

async fn request(o: &Opts, backend: &Backend, target: &str) -> Result<u8, Failure> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = if path.is_empty() { "/" } else { path };
    let host = match &backend.endpoint {
        Endpoint::Tcp(a) if o.unix.is_none() => a.as_str(),
        _ => "localhost",
    };
    let head = request_head(
        o.method.as_deref().unwrap_or("GET"),
        path,
        query,
        host,
        &o.headers,
        &o.vars,
        &o.body,
    )
    .map_err(|e| (2, format!("cannot build request: {e}")))?;
    let vars: Vec<(Vec<u8>, Vec<u8>)> = head
        .vars
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let collected = Arc::new(Mutex::new(Collected::default()));
    let json = o.json;
    let sink = collected.clone();
    let opts = ExchangeOptions {
        head_request: o.method.as_deref() == Some("HEAD"),
        // The whole exchange has its own deadline.
        read_timeout: None,
        notes: Some(Arc::new(move |n| {
            let Ok(mut c) = sink.lock() else { return };
            match n {
                Note::Stderr(b) => {
                    if json {
                        c.stderr.extend_from_slice(&b);
                    } else {
                        let mut e = std::io::stderr().lock();
                        let _ = e.write_all(&b);
                    }
                }
                Note::End {
                    app_status,
                    protocol_status,
                } => c.end = Some((app_status, protocol_status)),
                _ => {}
            }
        })),
    };
    let stream = connect(&backend.endpoint).await?;
    let resp = exchange(
        backend.protocol,
        stream,
        vars,
        Full::new(Bytes::from(o.body.clone())),
        opts,
    )
    .await
    .map_err(|e| exchange_failure(e, &backend.endpoint))?;
    let status = resp.status();
    let code = u8::from(status.as_u16() >= 400);
    let (parts, mut body) = resp.into_parts();
    let body_failure = |e: examples::proxy::BoxError| {
        (
            3,
            format!("{}: malformed reply body: {e}", backend.endpoint),
        )
    };
    if !json {
        let mut text = format!(
            "HTTP/1.1 {} {}\r\n",
            status.as_str(),
            status.canonical_reason().unwrap_or("")
        );
        for (n, v) in &parts.headers {
            text.push_str(&format!("{}: {}\r\n", n, latin1(v.as_bytes())));
        }
        text.push_str("\r\n");
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        while let Some(frame) = body.frame().await {
            if let Ok(d) = frame.map_err(body_failure)?.into_data() {
                let _ = out.write_all(&d);
            }
        }
        let _ = out.flush();
        return Ok(code);
    }
    let mut all = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(d) = frame.map_err(body_failure)?.into_data() {
            if all.len() + d.len() > MAX_JSON_BODY {
                return Err((3, format!("response body over {MAX_JSON_BODY} bytes")));
            }
            all.extend_from_slice(&d);
        }
    }
    let c = collected
        .lock()
        .map_err(|_| (3, "internal error".to_owned()))?;
    let headers: Vec<[String; 2]> = parts
        .headers
        .iter()
        .map(|(n, v)| [n.to_string(), latin1(v.as_bytes())])
        .collect();
    let fcgi = backend.protocol == Protocol::Fastcgi;
    let v = serde_json::json!({
        "status": status.as_u16(),
        "headers": headers,
        "body": latin1(&all),
        "body_len": all.len(),
        "body_sha256": hex::encode(Sha256::digest(&all)),
        "stderr": latin1(&c.stderr),
        "app_status": c.end.map(|e| e.0),
        "protocol_status": if fcgi { c.end.map(|e| protocol_status_name(e.1)) } else { None },
    });
    println!("{v}");
    Ok(code)
}

async fn get_values(o: &Opts, backend: &Backend) -> Result<u8, Failure> {
    use fastcgi_proto::client::Event;
    use fastcgi_proto::codec::{ClientCodec, ClientInput};
    if backend.protocol != Protocol::Fastcgi {
        return Err((2, "--get-values needs an fcgi:// URL".into()));
    }
    let stream = connect(&backend.endpoint).await?;
    let mut framed = Framed::new(stream, ClientCodec::default());
    let io = |e: fastcgi_proto::codec::CodecError| match e {
        fastcgi_proto::codec::CodecError::Io(e) => {
            (3, format!("{}: {}", backend.endpoint, describe_io(&e)))
        }
        e => (3, format!("{}: malformed reply: {e}", backend.endpoint)),
    };
    framed.send(ClientInput::GetValues).await.map_err(io)?;
    loop {
        match framed.next().await {
            Some(Ok(Event::Values(p))) => {
                if o.json {
                    let values: Vec<[String; 2]> =
                        p.iter().map(|(k, v)| [latin1(k), latin1(v)]).collect();
                    println!("{}", serde_json::json!({ "values": values }));
                } else {
                    for (k, v) in p.iter() {
                        println!("{}={}", latin1(k), latin1(v));
                    }
                }
                return Ok(0);
            }
            Some(Ok(Event::UnknownType(t))) => {
                return Err((
                    3,
                    format!(
                        "{}: UNKNOWN_TYPE for {t:?}: GET_VALUES not supported",
                        backend.endpoint
                    ),
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(io(e)),
            None => {
                return Err((
                    3,
                    format!(
                        "{}: connection closed before GET_VALUES_RESULT",
                        backend.endpoint
                    ),
                ));
            }
        }
    }
}

async fn ping(o: &Opts, backend: &Backend) -> Result<u8, Failure> {
    use uwsgi_proto::codec::{ClientCodec, RequestPart, ResponsePart};
    if backend.protocol != Protocol::Uwsgi {
        return Err((2, "--ping needs a uwsgi:// URL".into()));
    }
    let stream = connect(&backend.endpoint).await?;
    let mut framed = Framed::new(stream, ClientCodec::new());
    let fail = |e: uwsgi_proto::codec::CodecError| match e {
        uwsgi_proto::codec::CodecError::Io(e) => {
            (3, format!("{}: {}", backend.endpoint, describe_io(&e)))
        }
        e => (3, format!("{}: malformed reply: {e}", backend.endpoint)),
    };
    let ping = uwsgi_proto::OwnedPacket::new(
        uwsgi_proto::Modifier1::PING,
        uwsgi_proto::special::PING_MODIFIER2,
        Bytes::new(),
    )
    .map_err(|e| (3, e.to_string()))?;
    framed.send(RequestPart::Packet(ping)).await.map_err(fail)?;
    match framed.next().await {
        Some(Ok(ResponsePart::Packet(p))) => {
            match uwsgi_proto::special::pong_message(&p.as_packet()) {
                Some(msg) => {
                    if o.json {
                        println!(
                            "{}",
                            serde_json::json!({"pong": true, "message": latin1(msg)})
                        );
                    } else if msg.is_empty() {
                        println!("pong");
                    } else {
                        println!("pong: {}", latin1(msg));
                    }
                    Ok(0)
                }
                None => Err((
                    3,
                    format!(
                        "{}: not a pong: modifier1 {} modifier2 {}",
                        backend.endpoint,
                        p.header().modifier1.0,
                        p.header().modifier2
                    ),
                )),
            }
        }
        Some(Ok(_)) => Err((3, format!("{}: not a pong", backend.endpoint))),
        Some(Err(e)) => Err(fail(e)),
        None => Err((
            3,
            format!(
                "{}: connection closed at offset 0 without a pong",
                backend.endpoint
            ),
        )),
    }
}

async fn run(o: Opts) -> Result<u8, Failure> {
    let (mut backend, target) = Backend::parse(&o.url).map_err(|e| (2, e))?;
    if let Some(p) = &o.unix {
        backend.endpoint = Endpoint::Unix(p.into());
    }
    let target = target.to_owned();
    let work = async {
        match o.mode {
            Mode::Request => request(&o, &backend, &target).await,
            Mode::GetValues => get_values(&o, &backend).await,
            Mode::Ping => ping(&o, &backend).await,
        }
    };
    tokio::time::timeout(Duration::from_secs(o.timeout), work)
        .await
        .map_err(|_| {
            (
                5,
                format!("{}: timed out after {}s", backend.endpoint, o.timeout),
            )
        })?
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match parse() {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("backend-client: {e}");
            return ExitCode::from(2);
        }
    };
    match run(o).await {
        Ok(c) => ExitCode::from(c),
        Err((c, e)) => {
            eprintln!("backend-client: {e}");
            ExitCode::from(c)
        }
    }
}
