//! fastcgi-proto side by side with the other Rust FastCGI crates, on the same
//! bytes in the same run:
//!
//! * request side (what an application decodes): nginx request streams
//!   captured on loopback (a GET and a 1 MiB POST) → params + STDIN, by our
//!   `server::Connection` and by `tokio-fastcgi`;
//! * response side (what a web server decodes): a PHP-FPM response captured
//!   on loopback and a 1 MiB STDOUT response → STDOUT bytes, by our
//!   `client::Connection` and by `fastcgi-client`.
//!
//! The peers are async-only, so every contender reads the bytes from the same
//! in-memory `AsyncRead` (`&[u8]`) on a current-thread tokio runtime; ours is
//! also measured sans-IO, which is how it is meant to be embedded.
#![allow(missing_docs)]

use core::hint::black_box;

use benches::{allocations, install_counting_allocator};
use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fastcgi_proto::{Role, StreamWriter, client, server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

install_counting_allocator!();

const NGINX_GET: &[u8] = include_bytes!("../../fastcgi-proto/vectors/captures/nginx-get-query.bin");
const NGINX_POST_1M: &[u8] =
    include_bytes!("../../fastcgi-proto/vectors/captures/nginx-post-1m.bin");
const PHP_FPM_GET: &[u8] =
    include_bytes!("../../fastcgi-proto/vectors/captures/php-fpm-get-echo.bin");

/// A 1 MiB STDOUT response for request 1: a CGI head, the body in 8-aligned
/// records, the empty STDOUT and END_REQUEST.
fn stdout_1mib() -> Vec<u8> {
    let mut payload = b"Content-Type: application/octet-stream\r\n\r\n".to_vec();
    payload.extend((0..1 << 20).map(|i| (i % 251) as u8));
    let mut out = Vec::new();
    let w = StreamWriter::new(fastcgi_proto::RecordType::STDOUT, 1);
    w.write(&mut out, &payload);
    w.finish(&mut out);
    out.extend_from_slice(&[1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out
}

/// (params, stdin bytes) from our application side, sans-IO.
fn ours_request_sans_io(wire: &[u8]) -> (usize, usize) {
    let mut conn = server::Connection::new(server::Config::default());
    let (mut params, mut stdin) = (0, 0);
    let mut rest = wire;
    loop {
        let n = conn.handle_bytes(rest).expect("valid capture");
        rest = &rest[n..];
        let mut done = false;
        while let Some(ev) = conn.poll_event() {
            match ev {
                server::Event::Params { params: p, .. } => params = p.len(),
                server::Event::Stdin { data, .. } => stdin += data.len(),
                server::Event::StdinEnd { .. } => done = true,
                _ => {}
            }
        }
        if done || (n == 0 && rest.is_empty()) {
            return (params, stdin);
        }
    }
}

/// The same through the same async read path the peers use.
async fn ours_request_async(wire: &[u8]) -> (usize, usize) {
    let mut reader = wire;
    let mut conn = server::Connection::new(server::Config::default());
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let (mut params, mut stdin) = (0, 0);
    loop {
        if reader.read_buf(&mut buf).await.unwrap() == 0 && buf.is_empty() {
            return (params, stdin);
        }
        let n = conn.handle_bytes(&buf).expect("valid capture");
        let _ = buf.split_to(n);
        while let Some(ev) = conn.poll_event() {
            match ev {
                server::Event::Params { params: p, .. } => params = p.len(),
                server::Event::Stdin { data, .. } => stdin += data.len(),
                server::Event::StdinEnd { .. } => return (params, stdin),
                _ => {}
            }
        }
    }
}

async fn tokio_fastcgi_request(wire: &[u8]) -> (usize, usize) {
    let mut requests = tokio_fastcgi::Requests::new(wire, tokio::io::sink(), 1, 1);
    let request = requests
        .next()
        .await
        .expect("valid capture")
        .expect("one request");
    let params = request.params_iter().map_or(0, Iterator::count);
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut *request.get_stdin(), &mut body).unwrap();
    (params, body.len())
}

/// STDOUT bytes from our web-server side, sans-IO.
fn ours_response_sans_io(wire: &[u8]) -> usize {
    let mut conn = client::Connection::new();
    conn.begin(1, Role::RESPONDER, false).unwrap();
    conn.handle_bytes(wire).expect("valid capture");
    let mut out = 0;
    while let Some(ev) = conn.poll_event() {
        if let client::Event::Stdout { data, .. } = ev {
            out += data.len();
        }
    }
    out
}

async fn ours_response_async(wire: &[u8]) -> usize {
    let mut reader = wire;
    let mut sink = tokio::io::sink();
    let mut conn = client::Connection::new();
    conn.begin(1, Role::RESPONDER, false).unwrap();
    while let Some(b) = conn.poll_transmit() {
        sink.write_all(&b).await.unwrap();
    }
    let mut buf = BytesMut::new();
    let mut out = 0;
    loop {
        buf.reserve(64 * 1024);
        if reader.read_buf(&mut buf).await.unwrap() == 0 {
            return out;
        }
        conn.handle_buf(&mut buf).expect("valid capture");
        while let Some(ev) = conn.poll_event() {
            match ev {
                client::Event::Stdout { data, .. } => out += data.len(),
                client::Event::End { .. } => return out,
                _ => {}
            }
        }
    }
}

async fn fastcgi_client_response(wire: &[u8]) -> usize {
    let stream = tokio::io::join(wire, tokio::io::sink());
    let client = fastcgi_client::Client::new_tokio(stream);
    let params = fastcgi_client::Params::default();
    let resp = client
        .execute_once(fastcgi_client::Request::new_tokio(
            params,
            tokio::io::empty(),
        ))
        .await
        .expect("valid capture");
    resp.stdout.map_or(0, |s| s.len())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let big = stdout_1mib();

    // The contenders must agree on what they decoded.
    for wire in [NGINX_GET, NGINX_POST_1M] {
        let ours = ours_request_sans_io(wire);
        assert_eq!(rt.block_on(ours_request_async(wire)), ours);
        assert_eq!(rt.block_on(tokio_fastcgi_request(wire)), ours);
    }
    for wire in [PHP_FPM_GET, &big[..]] {
        let ours = ours_response_sans_io(wire);
        assert_eq!(rt.block_on(ours_response_async(wire)), ours);
        assert_eq!(rt.block_on(fastcgi_client_response(wire)), ours);
    }
    for (name, wire) in [
        ("nginx GET", NGINX_GET),
        ("nginx POST 1 MiB", NGINX_POST_1M),
    ] {
        let (_, a) = allocations(GLOBAL, || ours_request_sans_io(wire));
        let (_, b) = allocations(GLOBAL, || rt.block_on(tokio_fastcgi_request(wire)));
        eprintln!("fastcgi request, {name}: heap allocations per op: ours {a}, tokio-fastcgi {b}");
    }
    for (name, wire) in [("PHP-FPM GET", PHP_FPM_GET), ("1 MiB STDOUT", &big[..])] {
        let (_, a) = allocations(GLOBAL, || ours_response_sans_io(wire));
        let (_, b) = allocations(GLOBAL, || rt.block_on(fastcgi_client_response(wire)));
        eprintln!(
            "fastcgi response, {name}: heap allocations per op: ours {a}, fastcgi-client {b}"
        );
    }

    for (name, wire) in [
        ("nginx GET", NGINX_GET),
        ("nginx POST 1 MiB", NGINX_POST_1M),
    ] {
        let mut g = c.benchmark_group(format!("fastcgi request decode/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("ours sans-IO", |b| {
            b.iter(|| ours_request_sans_io(black_box(wire)))
        });
        g.bench_function("ours async", |b| {
            b.iter(|| rt.block_on(ours_request_async(black_box(wire))))
        });
        g.bench_function("tokio-fastcgi", |b| {
            b.iter(|| rt.block_on(tokio_fastcgi_request(black_box(wire))))
        });
        g.finish();
    }
    for (name, wire) in [("PHP-FPM GET", PHP_FPM_GET), ("1 MiB STDOUT", &big[..])] {
        let mut g = c.benchmark_group(format!("fastcgi response decode/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("ours sans-IO", |b| {
            b.iter(|| ours_response_sans_io(black_box(wire)))
        });
        g.bench_function("ours async", |b| {
            b.iter(|| rt.block_on(ours_response_async(black_box(wire))))
        });
        g.bench_function("fastcgi-client", |b| {
            b.iter(|| rt.block_on(fastcgi_client_response(black_box(wire))))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
