//! wsgi-environ: request → environ for a typical browser request (15
//! headers), environ → request on the resulting pairs, and CGI response head
//! parsing. The baseline is the hand-written `HashMap<String, String>`
//! mapping FastCGI client users write (no policy, UTF-8 only). Heap
//! allocations per operation are printed before the timings.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;

use benches::{allocations, install_counting_allocator};
use criterion::{Criterion, criterion_group, criterion_main};
use wsgi_environ::Environ;
use wsgi_environ::build::{BuildOptions, Connection, Preset, build_environ};
use wsgi_environ::parse::{ParseOptions, environ_to_request};
use wsgi_environ::response::{ResponseOptions, parse_cgi_response};

install_counting_allocator!();

fn browser() -> http::request::Parts {
    let h: [(&str, &str); 15] = [
        ("host", "www.example.test"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        ),
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("accept-language", "en-US,en;q=0.5"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("referer", "https://www.example.test/articles/index.html"),
        ("connection", "keep-alive"),
        (
            "cookie",
            "session=0123456789abcdef0123456789abcdef; theme=dark",
        ),
        ("cookie", "consent=yes"),
        ("upgrade-insecure-requests", "1"),
        ("sec-fetch-dest", "document"),
        ("sec-fetch-mode", "navigate"),
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-user", "?1"),
        ("priority", "u=0, i"),
    ];
    let mut b = http::Request::get("/articles/2026/11/some-title?page=2&sort=new");
    for (n, v) in h {
        b = b.header(n, v);
    }
    b.body(()).unwrap().into_parts().0
}

fn conn() -> Connection {
    Connection {
        remote: Some(([192, 0, 2, 7], 51234).into()),
        local: Some(([198, 51, 100, 1], 443).into()),
        tls: true,
        server_name: b"www.example.test".to_vec(),
        document_root: b"/srv/www".to_vec(),
        ..Connection::default()
    }
}

fn naive(parts: &http::request::Parts) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert("REQUEST_METHOD".into(), parts.method.to_string());
    m.insert("REQUEST_URI".into(), parts.uri.to_string());
    m.insert(
        "QUERY_STRING".into(),
        parts.uri.query().unwrap_or("").into(),
    );
    m.insert("SCRIPT_NAME".into(), parts.uri.path().into());
    m.insert("SERVER_PROTOCOL".into(), "HTTP/1.1".into());
    m.insert("REMOTE_ADDR".into(), "192.0.2.7".into());
    for (n, v) in &parts.headers {
        let k = format!("HTTP_{}", n.as_str().to_uppercase().replace('-', "_"));
        m.insert(k, v.to_str().unwrap_or("").into());
    }
    m
}

const RESPONSE: &[u8] = b"Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
Cache-Control: private, max-age=0\r\nSet-Cookie: session=abc; Path=/; HttpOnly\r\n\
Set-Cookie: theme=dark; Path=/\r\nX-Frame-Options: DENY\r\nContent-Length: 1234\r\n\r\n";

fn benches(c: &mut Criterion) {
    let parts = browser();
    let conn = conn();
    let opts = BuildOptions::new(Preset::FastcgiParams);
    let env = build_environ(&parts, &conn, &opts).unwrap();
    let popts = ParseOptions::default();
    let ropts = ResponseOptions::default();
    let (_, a_build) = allocations(GLOBAL, || build_environ(black_box(&parts), &conn, &opts));
    let (_, a_naive) = allocations(GLOBAL, || naive(black_box(&parts)));
    let (_, a_copy) = allocations(GLOBAL, || Environ::from_pairs(black_box(&env).iter()));
    let (_, a_parse) = allocations(GLOBAL, || {
        environ_to_request(black_box(&env).iter(), &popts)
    });
    let (_, a_resp) = allocations(GLOBAL, || parse_cgi_response(black_box(RESPONSE), &ropts));
    eprintln!(
        "environ: {} vars; heap allocations per op: request_to_environ {a_build}, naive {a_naive}, \
         from_pairs {a_copy}, environ_to_request {a_parse}, cgi_response_head_parse {a_resp}",
        env.len()
    );
    let mut g = c.benchmark_group("environ");
    g.bench_function("request_to_environ/fastcgi_params/15_headers", |b| {
        b.iter(|| build_environ(black_box(&parts), &conn, &opts).unwrap())
    });
    g.bench_function("request_to_environ/naive_hashmap/15_headers", |b| {
        b.iter(|| naive(black_box(&parts)))
    });
    g.bench_function("environ_from_pairs/fastcgi_params", |b| {
        b.iter(|| Environ::from_pairs(black_box(&env).iter()))
    });
    g.bench_function("environ_to_request/fastcgi_params", |b| {
        b.iter(|| environ_to_request(black_box(&env).iter(), &popts).unwrap())
    });
    g.bench_function("cgi_response_head_parse/7_fields", |b| {
        b.iter(|| parse_cgi_response(black_box(RESPONSE), &ropts).unwrap())
    });
    g.finish();
}

criterion_group!(environ, benches);
criterion_main!(environ);
