//! fastcgi-proto: PARAMS decode of an nginx `fastcgi_params` set (borrowed
//! iterator and streaming decoder), pairs encode, and 1 MiB of STDIN and
//! STDOUT through the record codec; then side by side with the other Rust
//! FastCGI crates, on the same bytes in the same run:
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
//! also measured sans-IO, which is how it is meant to be embedded: fed the
//! whole `&[u8]` (`handle_bytes`, one copy), and fed a prebuilt `Bytes`
//! cloned per op (`handle_shared`, no copy), as a caller holding a hyper or
//! quinn chunk or a frozen read buffer would.
#![allow(missing_docs)]

use core::hint::black_box;

use benches::{allocations, install_counting_allocator};
use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use fastcgi_proto::codec::RecordCodec;
use fastcgi_proto::{
    Pairs, ParamsDecoder, ParamsLimits, RecordLayout, RecordType, Role, StreamWriter, client,
    encode_pairs, server,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Decoder;

install_counting_allocator!();

/// The variables nginx's stock `fastcgi_params` + `SCRIPT_FILENAME` send for a
/// browser GET, with typical browser headers.
fn nginx_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("QUERY_STRING", "q=rust&page=2"),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("SCRIPT_NAME", "/index.php"),
        ("REQUEST_URI", "/index.php?q=rust&page=2"),
        ("DOCUMENT_URI", "/index.php"),
        ("DOCUMENT_ROOT", "/var/www/html"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "nginx/1.22.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "53412"),
        ("SERVER_ADDR", "127.0.0.1"),
        ("SERVER_PORT", "8080"),
        ("SERVER_NAME", "localhost"),
        ("REDIRECT_STATUS", "200"),
        ("SCRIPT_FILENAME", "/var/www/html/index.php"),
        ("HTTP_HOST", "localhost:8080"),
        ("HTTP_CONNECTION", "keep-alive"),
        (
            "HTTP_USER_AGENT",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        ),
        (
            "HTTP_ACCEPT",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        ),
        ("HTTP_ACCEPT_ENCODING", "gzip, deflate, br"),
        ("HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.9"),
        (
            "HTTP_COOKIE",
            "session=0123456789abcdef0123456789abcdef; theme=dark",
        ),
        ("HTTP_UPGRADE_INSECURE_REQUESTS", "1"),
        ("HTTP_SEC_FETCH_DEST", "document"),
        ("HTTP_SEC_FETCH_MODE", "navigate"),
        ("HTTP_SEC_FETCH_SITE", "none"),
    ]
}

fn encoded_block() -> Vec<u8> {
    let p = nginx_params();
    let mut out = Vec::new();
    let layout = RecordLayout {
        align: 0,
        keep_pairs_whole: true,
    };
    encode_pairs(
        &mut out,
        RecordType::PARAMS,
        1,
        p.iter().map(|(a, b)| (a.as_bytes(), b.as_bytes())),
        layout,
        false,
    )
    .unwrap();
    out[8..].to_vec()
}

fn params(c: &mut Criterion) {
    let block = encoded_block();
    let mut g = c.benchmark_group("fastcgi/params");
    g.throughput(Throughput::Bytes(block.len() as u64));
    g.bench_function("decode_borrowed_iter", |b| {
        b.iter(|| {
            Pairs::new(black_box(&block))
                .filter_map(Result::ok)
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
        })
    });
    g.bench_function("decode_streaming_owned", |b| {
        b.iter(|| {
            let mut d = ParamsDecoder::new(ParamsLimits::default());
            d.push(black_box(&block)).unwrap();
            d.finish().unwrap().len()
        })
    });
    let p = nginx_params();
    g.bench_function("encode_records", |b| {
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            out.clear();
            encode_pairs(
                &mut out,
                RecordType::PARAMS,
                1,
                p.iter().map(|(a, v)| (a.as_bytes(), v.as_bytes())),
                RecordLayout::default(),
                true,
            )
            .unwrap()
        })
    });
    g.finish();
    let (_, n) = allocations(GLOBAL, || Pairs::new(&block).count());
    eprintln!(
        "params: {} bytes, {} pairs, borrowed decode allocations: {n}",
        block.len(),
        nginx_params().len()
    );
}

fn streams(c: &mut Criterion) {
    let body = Bytes::from(vec![0x5a; 1 << 20]);
    let mut g = c.benchmark_group("fastcgi/stream_1MiB");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for ty in [RecordType::STDIN, RecordType::STDOUT] {
        let w = StreamWriter::new(ty, 1);
        let mut wire = BytesMut::new();
        w.write(&mut wire, &body);
        w.finish(&mut wire);
        let wire = wire.freeze();
        g.bench_function(format!("{}_decode_codec", ty.name().unwrap_or("?")), |b| {
            b.iter_batched(
                || BytesMut::from(&wire[..]),
                |mut buf| {
                    let mut c = RecordCodec::default();
                    let mut n = 0;
                    while let Some(r) = c.decode(&mut buf).unwrap() {
                        n += r.content.len();
                    }
                    n
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function(
            format!("{}_encode_zero_copy", ty.name().unwrap_or("?")),
            |b| b.iter(|| w.pieces(body.clone()).len()),
        );
        g.bench_function(format!("{}_encode_copy", ty.name().unwrap_or("?")), |b| {
            let mut out = BytesMut::with_capacity(wire.len());
            b.iter(|| {
                out.clear();
                w.write(&mut out, &body)
            })
        });
    }
    g.finish();
}

const NGINX_GET: &[u8] = include_bytes!("../../fastcgi-proto/vectors/captures/nginx-get-query.bin");
const NGINX_POST_1M: &[u8] =
    include_bytes!("../../fastcgi-proto/vectors/captures/nginx-post-1m.bin");
const PHP_FPM_HELLO: &[u8] =
    include_bytes!("../../fastcgi-proto/vectors/captures/php-fpm-hello.bin");
const PHP_FPM_GET: &[u8] =
    include_bytes!("../../fastcgi-proto/vectors/captures/php-fpm-get-echo.bin");

/// A 1 MiB STDOUT response for request 1: a CGI head, the body in 8-aligned
/// records, the empty STDOUT and END_REQUEST.
fn stdout_1mib() -> Vec<u8> {
    let mut payload = b"Content-Type: application/octet-stream\r\n\r\n".to_vec();
    payload.extend((0..1 << 20).map(|i| (i % 251) as u8));
    let mut out = Vec::new();
    let w = StreamWriter::new(RecordType::STDOUT, 1);
    w.write(&mut out, &payload);
    w.finish(&mut out);
    out.extend_from_slice(&[1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out
}

/// Polls every event: the params count and STDIN bytes go into `params`
/// and `stdin`; whether STDIN has ended.
fn tally_request(conn: &mut server::Connection, params: &mut usize, stdin: &mut usize) -> bool {
    let mut done = false;
    while let Some(ev) = conn.poll_event() {
        match ev {
            server::Event::Params { params: p, .. } => *params = p.len(),
            server::Event::Stdin { data, .. } => *stdin += data.len(),
            server::Event::StdinEnd { .. } => done = true,
            _ => {}
        }
    }
    done
}

/// Polls every event; the STDOUT bytes among them.
fn stdout_len(conn: &mut client::Connection) -> usize {
    let mut out = 0;
    while let Some(ev) = conn.poll_event() {
        if let client::Event::Stdout { data, .. } = ev {
            out += data.len();
        }
    }
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
        let done = tally_request(&mut conn, &mut params, &mut stdin);
        if done || (n == 0 && rest.is_empty()) {
            return (params, stdin);
        }
    }
}

/// The same from a `Bytes` (a clone of `wire`: a reference count), taken
/// over without copying by `handle_shared`.
fn ours_request_shared(wire: &Bytes) -> (usize, usize) {
    let mut conn = server::Connection::new(server::Config::default());
    let (mut params, mut stdin) = (0, 0);
    let mut src = wire.clone();
    loop {
        conn.handle_shared(&mut src).expect("valid capture");
        let done = tally_request(&mut conn, &mut params, &mut stdin);
        if done || src.is_empty() {
            return (params, stdin);
        }
    }
}

/// The same through the same async read path the peers use. `handle_buf`
/// takes the records over from the read buffer without copying them again
/// (what `hello-server` does).
async fn ours_request_async(wire: &[u8]) -> (usize, usize) {
    let mut reader = wire;
    let mut conn = server::Connection::new(server::Config::default());
    let mut buf = BytesMut::new();
    let (mut params, mut stdin) = (0, 0);
    loop {
        buf.reserve(64 * 1024);
        if reader.read_buf(&mut buf).await.unwrap() == 0 && buf.is_empty() {
            return (params, stdin);
        }
        conn.handle_buf(&mut buf).expect("valid capture");
        if tally_request(&mut conn, &mut params, &mut stdin) {
            return (params, stdin);
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
    stdout_len(&mut conn)
}

/// The same from a `Bytes` (a clone of `wire`: a reference count), taken
/// over without copying by `handle_shared`.
fn ours_response_shared(wire: &Bytes) -> usize {
    let mut conn = client::Connection::new();
    conn.begin(1, Role::RESPONDER, false).unwrap();
    conn.handle_shared(&mut wire.clone())
        .expect("valid capture");
    stdout_len(&mut conn)
}

/// A `Bytes` holding `wire` on the heap, as a read buffer or a body chunk
/// would, already shared (cloning it is a reference count).
fn shared_input(wire: &[u8]) -> Bytes {
    let b = Bytes::copy_from_slice(wire);
    drop(b.clone());
    b
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

/// A whole web-server-side exchange from ours, sans-IO: BEGIN_REQUEST, the
/// nginx params set, the empty STDIN (bytes written), then a PHP-FPM reply
/// decoded to STDOUT bytes.
fn ours_exchange_sans_io(pairs: &[(&[u8], &[u8])], reply: &[u8]) -> (usize, usize) {
    let mut conn = client::Connection::new();
    conn.begin(1, Role::RESPONDER, false).unwrap();
    conn.params(1, pairs.iter().copied()).unwrap();
    conn.stdin_end(1).unwrap();
    let mut sent = 0;
    while let Some(b) = conn.poll_transmit() {
        sent += b.len();
    }
    conn.handle_bytes(reply).expect("valid capture");
    let mut out = 0;
    while let Some(ev) = conn.poll_event() {
        if let client::Event::Stdout { data, .. } = ev {
            out += data.len();
        }
    }
    (sent, out)
}

/// The same exchange through the async path the peer uses: requests written
/// to a sink, the reply read from a `&[u8]`.
async fn ours_exchange_async(pairs: &[(&[u8], &[u8])], reply: &[u8]) -> usize {
    let mut reader = reply;
    let mut sink = tokio::io::sink();
    let mut conn = client::Connection::new();
    conn.begin(1, Role::RESPONDER, false).unwrap();
    conn.params(1, pairs.iter().copied()).unwrap();
    conn.stdin_end(1).unwrap();
    while let Some(b) = conn.poll_transmit() {
        sink.write_all(&b).await.unwrap();
    }
    // `handle_buf` takes the read bytes over without copying them again.
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

/// fastcgi-client's only way to encode params is a whole request, so the
/// exchange is the comparable operation.
async fn fastcgi_client_exchange(params: &fastcgi_client::Params<'static>, reply: &[u8]) -> usize {
    let stream = tokio::io::join(reply, tokio::io::sink());
    let client = fastcgi_client::Client::new_tokio(stream);
    let resp = client
        .execute_once(fastcgi_client::Request::new_tokio(
            params.clone(),
            tokio::io::empty(),
        ))
        .await
        .expect("valid capture");
    resp.stdout.map_or(0, |s| s.len())
}

fn exchange(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let list = nginx_params();
    let pairs: Vec<(&[u8], &[u8])> = list
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    let mut theirs = fastcgi_client::Params::default();
    theirs.clear();
    for (n, v) in &list {
        theirs.insert((*n).into(), (*v).into());
    }
    let (_, ours) = ours_exchange_sans_io(&pairs, PHP_FPM_HELLO);
    assert_eq!(
        rt.block_on(ours_exchange_async(&pairs, PHP_FPM_HELLO)),
        ours
    );
    assert_eq!(
        rt.block_on(fastcgi_client_exchange(&theirs, PHP_FPM_HELLO)),
        ours
    );
    let (_, a) = allocations(GLOBAL, || ours_exchange_sans_io(&pairs, PHP_FPM_HELLO));
    let (_, a2) = allocations(GLOBAL, || {
        rt.block_on(ours_exchange_async(&pairs, PHP_FPM_HELLO))
    });
    let (_, b) = allocations(GLOBAL, || {
        rt.block_on(fastcgi_client_exchange(&theirs, PHP_FPM_HELLO))
    });
    eprintln!(
        "fastcgi exchange (params encode + PHP-FPM hello decode): heap allocations per op: ours sans-IO {a}, ours async {a2}, fastcgi-client {b}"
    );
    let mut g = c.benchmark_group("fastcgi exchange/nginx params + PHP-FPM hello");
    g.bench_function("ours sans-IO", |b| {
        b.iter(|| ours_exchange_sans_io(black_box(&pairs), black_box(PHP_FPM_HELLO)))
    });
    g.bench_function("ours async", |b| {
        b.iter(|| {
            rt.block_on(ours_exchange_async(
                black_box(&pairs),
                black_box(PHP_FPM_HELLO),
            ))
        })
    });
    g.bench_function("fastcgi-client", |b| {
        b.iter(|| {
            rt.block_on(fastcgi_client_exchange(
                black_box(&theirs),
                black_box(PHP_FPM_HELLO),
            ))
        })
    });
    g.finish();
}

fn peers(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let big = stdout_1mib();

    // The contenders must agree on what they decoded.
    for wire in [NGINX_GET, NGINX_POST_1M] {
        let ours = ours_request_sans_io(wire);
        assert_eq!(ours_request_shared(&shared_input(wire)), ours);
        assert_eq!(rt.block_on(ours_request_async(wire)), ours);
        assert_eq!(rt.block_on(tokio_fastcgi_request(wire)), ours);
    }
    for wire in [PHP_FPM_GET, &big[..]] {
        let ours = ours_response_sans_io(wire);
        assert_eq!(ours_response_shared(&shared_input(wire)), ours);
        assert_eq!(rt.block_on(ours_response_async(wire)), ours);
        assert_eq!(rt.block_on(fastcgi_client_response(wire)), ours);
    }
    for (name, wire) in [
        ("nginx GET", NGINX_GET),
        ("nginx POST 1 MiB", NGINX_POST_1M),
    ] {
        let input = shared_input(wire);
        let (_, a) = allocations(GLOBAL, || ours_request_sans_io(wire));
        let (_, a1) = allocations(GLOBAL, || ours_request_shared(&input));
        let (_, a2) = allocations(GLOBAL, || rt.block_on(ours_request_async(wire)));
        let (_, b) = allocations(GLOBAL, || rt.block_on(tokio_fastcgi_request(wire)));
        eprintln!(
            "fastcgi request, {name}: heap allocations per op: ours sans-IO {a}, ours sans-IO (Bytes) {a1}, ours async {a2}, tokio-fastcgi {b}"
        );
    }
    for (name, wire) in [("PHP-FPM GET", PHP_FPM_GET), ("1 MiB STDOUT", &big[..])] {
        let input = shared_input(wire);
        let (_, a) = allocations(GLOBAL, || ours_response_sans_io(wire));
        let (_, a1) = allocations(GLOBAL, || ours_response_shared(&input));
        let (_, a2) = allocations(GLOBAL, || rt.block_on(ours_response_async(wire)));
        let (_, b) = allocations(GLOBAL, || rt.block_on(fastcgi_client_response(wire)));
        eprintln!(
            "fastcgi response, {name}: heap allocations per op: ours sans-IO {a}, ours sans-IO (Bytes) {a1}, ours async {a2}, fastcgi-client {b}"
        );
    }

    for (name, wire) in [
        ("nginx GET", NGINX_GET),
        ("nginx POST 1 MiB", NGINX_POST_1M),
    ] {
        let input = shared_input(wire);
        let mut g = c.benchmark_group(format!("fastcgi request decode/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("ours sans-IO", |b| {
            b.iter(|| ours_request_sans_io(black_box(wire)))
        });
        g.bench_function("ours sans-IO (Bytes)", |b| {
            b.iter(|| ours_request_shared(black_box(&input)))
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
        let input = shared_input(wire);
        let mut g = c.benchmark_group(format!("fastcgi response decode/{name}"));
        g.throughput(Throughput::Bytes(wire.len() as u64));
        g.bench_function("ours sans-IO", |b| {
            b.iter(|| ours_response_sans_io(black_box(wire)))
        });
        g.bench_function("ours sans-IO (Bytes)", |b| {
            b.iter(|| ours_response_shared(black_box(&input)))
        });
        g.bench_function("ours async", |b| {
            b.iter(|| rt.block_on(ours_response_async(black_box(wire))))
        });
        g.bench_function("fastcgi-client", |b| {
            b.iter(|| rt.block_on(fastcgi_client_response(black_box(wire))))
        });
        g.finish();
    }
    exchange(c, &rt);
}

criterion_group!(benches, params, streams, peers);
criterion_main!(benches);
