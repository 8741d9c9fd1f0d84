//! tower-serve: an axum router served over uwsgi and FastCGI.

use std::process::ExitCode;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, Response, StatusCode, Uri};
use axum::routing::{get, post};
use bytes::Bytes;
use examples::net::{Endpoint, Listener};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

const HELP: &str = "tower-serve: an axum router behind uwsgi or FastCGI

usage: tower-serve [--uwsgi ADDR] [--fastcgi ADDR] [--uwsgi-unix PATH] [--fastcgi-unix PATH]

  --uwsgi ADDR         serve uwsgi on a TCP address
  --fastcgi ADDR       serve FastCGI on a TCP address
  --uwsgi-unix PATH    serve uwsgi on a unix socket
  --fastcgi-unix PATH  serve FastCGI on a unix socket
  -h, --help           this text

With no listener option, serves uwsgi on 127.0.0.1:3031. Routes:
  GET  /                         200 text/plain \"hello\\n\"
  GET  /status/{code}            that status, X-Status-Code: {code},
                                 Set-Cookie: a=1 and Set-Cookie: b=2
  GET  /stream?chunks=N&size=S   N chunks of S bytes of 'x', one flush each
  POST /echo                     {\"len\":N,\"sha256\":\"hex\"} of the body

Prints `listening uwsgi://ADDR` / `listening fcgi://ADDR` (or
`…+unix://PATH`) on stdout when ready. On Ctrl-C or SIGTERM stops accepting, lets
connections in progress finish (up to 5 s) and exits 0.";

/// Most chunks and largest chunk `/stream` serves.
const MAX_CHUNKS: u64 = 1_000_000;
const MAX_CHUNK: usize = 1024 * 1024;

async fn status(Path(code): Path<u16>) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let h = r.headers_mut();
    h.insert("x-status-code", HeaderValue::from(code));
    h.append("set-cookie", HeaderValue::from_static("a=1"));
    h.append("set-cookie", HeaderValue::from_static("b=2"));
    r
}

fn query_num(uri: &Uri, key: &str, default: u64) -> u64 {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(default)
}

async fn stream(uri: Uri) -> Response<Body> {
    let chunks = query_num(&uri, "chunks", 1).min(MAX_CHUNKS);
    let size = usize::try_from(query_num(&uri, "size", 1)).map_or(MAX_CHUNK, |s| s.min(MAX_CHUNK));
    let chunk = Bytes::from(vec![b'x'; size]);
    let body = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::convert::Infallible>(chunk.clone())),
    );
    let mut r = Response::new(Body::from_stream(body));
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

async fn echo(body: Body) -> Response<Body> {
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    let mut data = body.into_data_stream();
    while let Some(chunk) = data.next().await {
        match chunk {
            Ok(c) => {
                len += c.len() as u64;
                hasher.update(&c);
            }
            Err(e) => {
                let mut r = Response::new(Body::from(format!("body: {e}\n")));
                *r.status_mut() = StatusCode::BAD_REQUEST;
                return r;
            }
        }
    }
    let json = serde_json::json!({"len": len, "sha256": hex::encode(hasher.finalize())});
    let mut r = Response::new(Body::from(json.to_string()));
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "hello\n" }))
        .route("/status/{code}", get(status))
        .route("/stream", get(stream))
        .route("/echo", post(echo))
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut listen: Vec<(bool, Endpoint)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (fcgi, unix) = match a.as_str() {
            "-h" | "--help" => {
                println!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "--uwsgi" => (false, false),
            "--fastcgi" => (true, false),
            "--uwsgi-unix" => (false, true),
            "--fastcgi-unix" => (true, true),
            other => {
                eprintln!("tower-serve: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        };
        let Some(v) = args.next() else {
            eprintln!("tower-serve: {a} needs a value");
            return ExitCode::from(2);
        };
        listen.push((
            fcgi,
            if unix {
                Endpoint::Unix(v.into())
            } else {
                Endpoint::Tcp(v)
            },
        ));
    }
    if listen.is_empty() {
        listen.push((false, Endpoint::Tcp("127.0.0.1:3031".into())));
    }
    let interrupted = match examples::net::shutdown_signal() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tower-serve: signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = app();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for (fcgi, ep) in &listen {
        let l = match Listener::bind(ep).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("tower-serve: cannot listen on {ep}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("listening {}", l.url(if *fcgi { "fcgi" } else { "uwsgi" }));
        let app = app.clone();
        let mut stopped = stopped.clone();
        let shutdown = async move {
            let _ = stopped.changed().await;
        };
        tasks.push(if *fcgi {
            tokio::spawn(examples::tower::serve_fastcgi_until(l, app, shutdown))
        } else {
            tokio::spawn(examples::tower::serve_uwsgi_until(l, app, shutdown))
        });
    }
    interrupted.await;
    eprintln!("tower-serve: shutting down");
    // Stop accepting; connections in progress finish (at most 5 s).
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    for (_, ep) in &listen {
        if let Endpoint::Unix(p) = ep {
            let _ = std::fs::remove_file(p);
        }
    }
    ExitCode::SUCCESS
}
