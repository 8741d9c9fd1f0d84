//! Interop tests against real peers: nginx, the uWSGI HTTP router and
//! server, PHP-FPM, fcgiwrap, a libfcgi application, Apache and lighttpd.
//!
//! Every test is ignored in a plain `cargo test`: `scripts/interop.sh`
//! installs and starts the peers on loopback, exports their addresses
//! (`INTEROP_*`) and runs these with `--ignored`. A test whose variable is
//! missing fails. Each test records `peer<TAB>scenario<TAB>pass|fail` in
//! `$INTEROP_RESULTS` for the table the script prints.

#[path = "interop/support.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use fastcgi_proto::Role;
use fastcgi_proto::client::{Connection, Event};
use support::{
    Dump, HttpReply, MISSING_BODY, Proto, STDERR_LINE, TestServer, env, esc, http, latin1, pattern,
    record, sha_hex, stream_body,
};
use wsgi_environ::response::{ResponseOptions, parse_cgi_response};

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------
// Front-ends (nginx, uWSGI router, Apache, lighttpd) in front of our servers.

/// A front-end in front of environ-dump: its address variable, the path
/// prefix routed to us, and the path split it makes of `/path/to`.
struct Front {
    peer: &'static str,
    addr: &'static str,
    prefix: &'static str,
    split: &'static [(&'static str, &'static str)],
}

const NGINX_UWSGI: Front = Front {
    peer: "nginx-uwsgi",
    addr: "INTEROP_NGINX_UWSGI",
    prefix: "",
    split: &[("PATH_INFO", "/path/to")],
};
const NGINX_FCGI: Front = Front {
    peer: "nginx-fastcgi",
    addr: "INTEROP_NGINX_FCGI",
    prefix: "",
    split: &[("SCRIPT_NAME", "/path/to"), ("DOCUMENT_URI", "/path/to")],
};
const ROUTER: Front = Front {
    peer: "uwsgi-router",
    addr: "INTEROP_UWSGI_ROUTER",
    prefix: "",
    split: &[("SCRIPT_NAME", ""), ("PATH_INFO", "/path/to")],
};
const APACHE_UWSGI: Front = Front {
    peer: "apache-uwsgi",
    addr: "INTEROP_APACHE",
    prefix: "/uwsgi",
    split: &[("SCRIPT_NAME", "/uwsgi"), ("PATH_INFO", "/path/to")],
};
const APACHE_FCGI: Front = Front {
    peer: "apache-fcgi",
    addr: "INTEROP_APACHE",
    prefix: "/fcgi",
    split: &[("SCRIPT_NAME", "/fcgi/path/to")],
};
const LIGHTTPD_UWSGI: Front = Front {
    peer: "lighttpd-uwsgi",
    addr: "INTEROP_LIGHTTPD",
    prefix: "/uwsgi",
    split: &[("SCRIPT_NAME", "/uwsgi/path"), ("PATH_INFO", "/to")],
};
const LIGHTTPD_FCGI: Front = Front {
    peer: "lighttpd-fastcgi",
    addr: "INTEROP_LIGHTTPD",
    prefix: "/fcgi",
    split: &[("SCRIPT_NAME", "/fcgi/path"), ("PATH_INFO", "/to")],
};

fn json_200(r: &HttpReply) -> Dump {
    assert_eq!(
        r.status,
        200,
        "{:?} {}",
        r.headers_text(),
        esc(&r.body[..r.body.len().min(600)])
    );
    assert_eq!(esc(r.one("content-type")), "application/json");
    Dump::parse(&r.body)
}

fn front_get(f: &Front) {
    let _r = record(f.peer, "GET");
    let raw = format!(
        "GET {}/path/to?q=1&x=%20y HTTP/1.1\r\nHost: example.test\r\nUser-Agent: interop/1\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n",
        f.prefix
    );
    let d = json_200(&http(&env(f.addr), raw.as_bytes()));
    d.expect("REQUEST_METHOD", "GET");
    d.expect("QUERY_STRING", "q=1&x=%20y");
    d.expect("REQUEST_URI", format!("{}/path/to?q=1&x=%20y", f.prefix));
    d.expect("SERVER_PROTOCOL", "HTTP/1.1");
    d.expect("REMOTE_ADDR", "127.0.0.1");
    d.expect("HTTP_HOST", "example.test");
    d.expect("HTTP_USER_AGENT", "interop/1");
    d.expect("HTTP_ACCEPT", "*/*");
    for (k, v) in f.split {
        d.expect(k, v);
    }
    d.body(b"");
}

fn front_post(f: &Front, scenario: &'static str, len: usize) {
    let _r = record(f.peer, scenario);
    let body = pattern(len);
    let mut raw = format!(
        "POST {}/submit HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n",
        f.prefix
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    let d = json_200(&http(&env(f.addr), &raw));
    d.expect("REQUEST_METHOD", "POST");
    d.expect("CONTENT_LENGTH", len.to_string());
    d.expect("CONTENT_TYPE", "application/octet-stream");
    d.expect("REQUEST_URI", format!("{}/submit", f.prefix));
    d.body(&body);
}

/// nginx only: duplicate headers arrive as repeated vars, in order.
fn nginx_dup_headers(f: &Front) {
    let _r = record(f.peer, "odd headers");
    let raw = b"GET /dup HTTP/1.1\r\nHost: example.test\r\nX-Dup: one\r\nX-Dup: two\r\n\
                Cookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n";
    let d = json_200(&http(&env(f.addr), raw));
    assert_eq!(d.all("HTTP_X_DUP"), [&b"one"[..], b"two"], "{}", d.text());
    assert_eq!(d.all("HTTP_COOKIE"), [&b"a=1"[..], b"b=2"], "{}", d.text());
}

/// nginx only: a header name with `_` is dropped (underscores_in_headers off).
fn nginx_underscore(f: &Front) {
    let _r = record(f.peer, "odd headers");
    let raw = b"GET /u HTTP/1.1\r\nHost: example.test\r\nX-Auth-User: good\r\n\
                X_Auth_User: evil\r\nConnection: close\r\n\r\n";
    let d = json_200(&http(&env(f.addr), raw));
    d.expect("HTTP_X_AUTH_USER", "good");
    assert!(
        !d.vars.iter().any(|(_, v)| v == b"evil"),
        "underscore header leaked: {}",
        d.text()
    );
}

/// nginx only: raw UTF-8 in the path and query, latin-1 in a header value.
fn nginx_non_ascii(f: &Front, path_var: &str) {
    let _r = record(f.peer, "non-ASCII, raw bytes");
    let raw = b"GET /caf\xc3\xa9/%C3%A9?n=\xc3\xa9 HTTP/1.1\r\nHost: example.test\r\n\
                X-Latin: caf\xe9\r\nConnection: close\r\n\r\n";
    let d = json_200(&http(&env(f.addr), raw));
    d.expect("REQUEST_URI", b"/caf\xc3\xa9/%C3%A9?n=\xc3\xa9");
    d.expect("QUERY_STRING", b"n=\xc3\xa9");
    d.expect(path_var, b"/caf\xc3\xa9/\xc3\xa9");
    d.expect("HTTP_X_LATIN", b"caf\xe9");
}

/// nginx only: an HTTP/1.0 request without Host.
fn nginx_http10(f: &Front) {
    let _r = record(f.peer, "HTTP/1.0");
    let r = http(&env(f.addr), b"GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(r.version, "HTTP/1.1");
    assert!(r.all("transfer-encoding").is_empty());
    let d = json_200(&r);
    d.expect("SERVER_PROTOCOL", "HTTP/1.0");
    d.expect("REQUEST_URI", "/old");
    d.expect("QUERY_STRING", "");
    // nginx's params send $host, the server name when the client gave none
    d.expect("HTTP_HOST", "localhost");
    d.body(b"");
}

/// Request vars over 64 KiB: nginx refuses with 500 and our server sees
/// nothing at all (no truncated packet, no connection).
fn nginx_big_vars(peer: &'static str, addr: &str, proto: Proto, log: &str, message: &str) {
    let _r = record(peer, "vars at/over 64 KiB");
    let server = TestServer::start(proto);
    let mut raw = b"GET /big HTTP/1.1\r\nHost: example.test\r\n".to_vec();
    for i in 0..8 {
        raw.extend_from_slice(format!("X-Big-{i}: {}\r\n", "b".repeat(9000)).as_bytes());
    }
    raw.extend_from_slice(b"Connection: close\r\n\r\n");
    let r = http(&env(addr), &raw);
    assert_eq!(r.status, 500, "{:?}", r.headers_text());
    std::thread::sleep(Duration::from_millis(100));
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.conns, 0, "{seen:?}");
    assert!(
        seen.requests.is_empty() && seen.errors.is_empty(),
        "{seen:?}"
    );
    let log = std::fs::read_to_string(format!("{}/{log}", env("INTEROP_RUN_DIR"))).unwrap();
    assert!(log.contains(message), "nginx error log lacks {message:?}");
}

/// A response body streamed without a length reaches the client chunked.
fn nginx_stream(peer: &'static str, addr: &str, proto: Proto) {
    stream_via(peer, addr, "", proto, false);
}

/// A response body streamed without a length, through a front-end that
/// mounts the test server under `prefix`, reaches the client chunked, or
/// with a `Content-Length` when the front-end `buffers` whole responses
/// (lighttpd's default).
fn stream_via(peer: &'static str, addr: &str, prefix: &str, proto: Proto, buffers: bool) {
    let _r = record(peer, "streamed response");
    let server = TestServer::start(proto);
    let raw =
        format!("GET {prefix}/stream HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n");
    let r = http(&env(addr), raw.as_bytes());
    assert_eq!(r.status, 200, "{:?}", r.headers_text());
    if buffers {
        assert!(
            r.all("transfer-encoding").is_empty(),
            "{:?}",
            r.headers_text()
        );
        assert_eq!(
            esc(r.one("content-length")),
            stream_body().len().to_string()
        );
    } else {
        assert_eq!(esc(r.one("transfer-encoding")), "chunked");
        assert!(r.all("content-length").is_empty());
    }
    assert_eq!(esc(r.one("content-type")), "text/plain");
    assert_eq!(esc(r.one("x-stream")), "yes");
    assert_eq!(r.body, stream_body());
    let seen = server.seen.lock().unwrap();
    assert_eq!((seen.conns, seen.requests.len()), (1, 1), "{seen:?}");
    assert!(seen.errors.is_empty(), "{seen:?}");
}

/// A 404 with its own headers passes through with status and headers.
fn nginx_404(peer: &'static str, addr: &str, proto: Proto) {
    not_found_via(peer, addr, "", proto, true);
}

/// A 404 with its own headers, through a front-end mounting the test
/// server under `prefix`, passes through with status and headers; the
/// front-end keeps our `Content-Length` when `keeps_length`, else it
/// re-frames the body chunked (Apache mod_proxy_fcgi).
fn not_found_via(peer: &'static str, addr: &str, prefix: &str, proto: Proto, keeps_length: bool) {
    let _r = record(peer, "404 with headers");
    let server = TestServer::start(proto);
    let raw =
        format!("GET {prefix}/missing HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n");
    let r = http(&env(addr), raw.as_bytes());
    assert_eq!(r.status, 404, "{:?}", r.headers_text());
    assert_eq!(esc(r.one("x-status-code")), "404");
    assert_eq!(
        r.all("set-cookie"),
        [&b"a=1; Path=/"[..], b"b=2; Path=/"],
        "{:?}",
        r.headers_text()
    );
    assert_eq!(esc(r.one("content-type")), "text/plain");
    if keeps_length {
        assert_eq!(esc(r.one("content-length")), MISSING_BODY.len().to_string());
    } else {
        assert!(r.all("content-length").is_empty(), "{:?}", r.headers_text());
        assert_eq!(esc(r.one("transfer-encoding")), "chunked");
    }
    assert_eq!(r.body, MISSING_BODY);
    assert!(server.seen.lock().unwrap().errors.is_empty());
}

/// What a front-end does with a chunked request body.
enum Chunked {
    /// De-chunks it and sends `CONTENT_LENGTH`; whether the client's
    /// `Transfer-Encoding` header is passed on as `HTTP_TRANSFER_ENCODING`.
    Dechunks { te_forwarded: bool },
    /// Refuses it with this status.
    Refuses(u16),
    /// Forwards the TE header but neither the body nor a length (the uWSGI
    /// router without `--http-chunked-input`): the application sees an
    /// empty body.
    Drops,
}

fn front_chunked(f: &Front, how: Chunked) {
    let _r = record(f.peer, "chunked request body");
    let raw = format!(
        "POST {}/chunked HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\
         Content-Type: text/plain\r\nConnection: close\r\n\r\n\
         5\r\nhello\r\ne\r\n chunked world\r\n0\r\n\r\n",
        f.prefix
    );
    let r = http(&env(f.addr), raw.as_bytes());
    match how {
        Chunked::Refuses(status) => assert_eq!(r.status, status, "{:?}", r.headers_text()),
        Chunked::Dechunks { te_forwarded } => {
            let d = json_200(&r);
            d.expect("CONTENT_LENGTH", "19");
            d.expect("CONTENT_TYPE", "text/plain");
            if te_forwarded {
                d.expect("HTTP_TRANSFER_ENCODING", "chunked");
            } else {
                d.absent("HTTP_TRANSFER_ENCODING");
            }
            d.body(b"hello chunked world");
        }
        Chunked::Drops => {
            let d = json_200(&r);
            d.absent("CONTENT_LENGTH");
            d.expect("HTTP_TRANSFER_ENCODING", "chunked");
            d.body(b"");
        }
    }
}

/// A request whose vars are exactly 65535 bytes (the most a uwsgi packet
/// or one FastCGI record holds, and the most nginx sends) goes through; 5
/// bytes more and nginx answers 500. `size` computes the encoded size of
/// the vars the server reported; the pad is adjusted until it hits 65535
/// exactly (`REMOTE_PORT` may change length between requests).
fn nginx_vars_edge(f: &Front, size: fn(&Dump) -> usize) {
    let _r = record(f.peer, "vars at/over 64 KiB");
    let raw = |pad: usize| {
        let mut raw = b"GET /edge HTTP/1.1\r\nHost: example.test\r\n".to_vec();
        for i in 0..4 {
            raw.extend_from_slice(format!("X-Fill-{i}: {}\r\n", "f".repeat(15_000)).as_bytes());
        }
        raw.extend_from_slice(format!("X-Pad: {}\r\n", "p".repeat(pad)).as_bytes());
        raw.extend_from_slice(b"Connection: close\r\n\r\n");
        raw
    };
    let mut pad = 1000;
    let mut hit = None;
    for _ in 0..4 {
        let d = json_200(&http(&env(f.addr), &raw(pad)));
        let s = size(&d);
        if s == 65_535 {
            hit = Some(d);
            break;
        }
        pad = pad + 65_535 - s;
    }
    let d = hit.expect("a request of exactly 65535 bytes of vars");
    d.expect("HTTP_X_PAD", "p".repeat(pad));
    for i in 0..4 {
        d.expect(&format!("HTTP_X_FILL_{i}"), "f".repeat(15_000));
    }
    let r = http(&env(f.addr), &raw(pad + 5));
    assert_eq!(r.status, 500, "{:?}", r.headers_text());
}

fn uwsgi_vars_size(d: &Dump) -> usize {
    d.vars.iter().map(|(k, v)| 4 + k.len() + v.len()).sum()
}

fn fastcgi_params_size(d: &Dump) -> usize {
    let n = |l: usize| if l < 128 { 1 } else { 4 };
    d.vars
        .iter()
        .map(|(k, v)| n(k.len()) + n(v.len()) + k.len() + v.len())
        .sum()
}

/// Ten 8000-byte headers (about 80 KiB of vars) through Apache and lighttpd.
fn big_headers(prefix: &str) -> Vec<u8> {
    let mut raw = format!("GET {prefix}/big HTTP/1.1\r\nHost: example.test\r\n").into_bytes();
    for i in 0..10u8 {
        raw.extend_from_slice(format!("X-Big-{i}: ").as_bytes());
        raw.extend(std::iter::repeat_n(b'a' + i, 8000));
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"Connection: close\r\n\r\n");
    raw
}

// nginx uwsgi_pass -> environ-dump / test server

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_get_query() {
    front_get(&NGINX_UWSGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_post_1k() {
    front_post(&NGINX_UWSGI, "POST", 1024);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_post_2m() {
    front_post(&NGINX_UWSGI, "POST 1-2 MiB", 2 * MIB);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_dup_headers() {
    nginx_dup_headers(&NGINX_UWSGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_underscore() {
    nginx_underscore(&NGINX_UWSGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_non_ascii() {
    nginx_non_ascii(&NGINX_UWSGI, "PATH_INFO");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_http10() {
    nginx_http10(&NGINX_UWSGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_big_vars() {
    nginx_big_vars(
        "nginx-uwsgi",
        "INTEROP_NGINX_UWSGI_TEST",
        Proto::Uwsgi,
        "ngx-u-test/nginx-u/nginx-error.log",
        "uwsgi request is too big",
    );
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_stream() {
    nginx_stream("nginx-uwsgi", "INTEROP_NGINX_UWSGI_TEST", Proto::Uwsgi);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_404() {
    nginx_404("nginx-uwsgi", "INTEROP_NGINX_UWSGI_TEST", Proto::Uwsgi);
}

// nginx fastcgi_pass -> environ-dump / test server

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_get_query() {
    front_get(&NGINX_FCGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_post_1k() {
    front_post(&NGINX_FCGI, "POST", 1024);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_post_1m() {
    front_post(&NGINX_FCGI, "POST 1-2 MiB", MIB);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_post_2m() {
    front_post(&NGINX_FCGI, "POST 1-2 MiB", 2 * MIB);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_dup_headers() {
    nginx_dup_headers(&NGINX_FCGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_underscore() {
    nginx_underscore(&NGINX_FCGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_non_ascii() {
    nginx_non_ascii(&NGINX_FCGI, "SCRIPT_NAME");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_http10() {
    nginx_http10(&NGINX_FCGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_big_vars() {
    nginx_big_vars(
        "nginx-fastcgi",
        "INTEROP_NGINX_FCGI_TEST",
        Proto::Fastcgi,
        "ngx-f-test/nginx-f/nginx-fcgi-error.log",
        "fastcgi request record is too big",
    );
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_stream() {
    nginx_stream("nginx-fastcgi", "INTEROP_NGINX_FCGI_TEST", Proto::Fastcgi);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_404() {
    nginx_404("nginx-fastcgi", "INTEROP_NGINX_FCGI_TEST", Proto::Fastcgi);
}

/// `fastcgi_keep_conn on` (location /keep/, upstream keepalive): many
/// requests arrive on one connection, each with the keep-conn flag.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_keep_conn() {
    const N: usize = 50;
    let _r = record("nginx-fastcgi", "keep-conn");
    let server = TestServer::start(Proto::Fastcgi);
    let addr = env("INTEROP_NGINX_FCGI_TEST");
    for i in 0..N {
        let raw = format!(
            "GET /keep/k?n={i} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n"
        );
        let d = json_200(&http(&addr, raw.as_bytes()));
        d.expect("QUERY_STRING", format!("n={i}"));
        d.expect("DOCUMENT_URI", "/keep/k");
    }
    let seen = server.seen.lock().unwrap();
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    assert_eq!(seen.conns, 1, "one upstream connection");
    assert_eq!(seen.requests.len(), N);
    assert!(seen.requests.iter().all(|(c, keep, _)| *c == 1 && *keep));
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_uwsgi_vars_edge() {
    nginx_vars_edge(&NGINX_UWSGI, uwsgi_vars_size);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn nginx_fastcgi_vars_edge() {
    nginx_vars_edge(&NGINX_FCGI, fastcgi_params_size);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn chunked_request_bodies() {
    front_chunked(&NGINX_UWSGI, Chunked::Dechunks { te_forwarded: true });
    front_chunked(&NGINX_FCGI, Chunked::Dechunks { te_forwarded: true });
    front_chunked(&ROUTER, Chunked::Drops);
    front_chunked(&APACHE_UWSGI, Chunked::Refuses(411));
    front_chunked(
        &APACHE_FCGI,
        Chunked::Dechunks {
            te_forwarded: false,
        },
    );
    front_chunked(
        &LIGHTTPD_UWSGI,
        Chunked::Dechunks {
            te_forwarded: false,
        },
    );
    front_chunked(
        &LIGHTTPD_FCGI,
        Chunked::Dechunks {
            te_forwarded: false,
        },
    );
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn post_2m_other_fronts() {
    for f in [
        &ROUTER,
        &APACHE_UWSGI,
        &APACHE_FCGI,
        &LIGHTTPD_UWSGI,
        &LIGHTTPD_FCGI,
    ] {
        front_post(f, "POST 1-2 MiB", 2 * MIB);
    }
}

/// About 80 KiB of vars: mod_proxy_fcgi spreads them over several PARAMS
/// records (all arrive intact); mod_proxy_uwsgi cannot fit them in one
/// packet and answers 500 without sending anything; lighttpd refuses the
/// request head with 431.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn big_vars_apache_lighttpd() {
    {
        let _r = record("apache-fcgi", "vars at/over 64 KiB");
        let d = json_200(&http(&env("INTEROP_APACHE"), &big_headers("/fcgi")));
        for i in 0..10u8 {
            d.expect(&format!("HTTP_X_BIG_{i}"), vec![b'a' + i; 8000]);
        }
        assert!(fastcgi_params_size(&d) > 80_000);
    }
    {
        let _r = record("apache-uwsgi", "vars at/over 64 KiB");
        let r = http(&env("INTEROP_APACHE"), &big_headers("/uwsgi"));
        assert_eq!(r.status, 500, "{:?}", r.headers_text());
        let log = format!("{}/apache/error.log", env("INTEROP_RUN_DIR"));
        let log = std::fs::read_to_string(log).unwrap();
        assert!(log.contains("packet size too large"), "apache error log");
    }
    for f in [&LIGHTTPD_UWSGI, &LIGHTTPD_FCGI] {
        let _r = record(f.peer, "vars at/over 64 KiB");
        let r = http(&env(f.addr), &big_headers(f.prefix));
        assert_eq!(r.status, 431, "{:?}", r.headers_text());
    }
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn apache_lighttpd_stream_and_404() {
    let fronts = [
        (
            "apache-uwsgi",
            "INTEROP_APACHE_TEST",
            "/uwsgi",
            Proto::Uwsgi,
            true,
        ),
        (
            "apache-fcgi",
            "INTEROP_APACHE_TEST",
            "/fcgi",
            Proto::Fastcgi,
            false,
        ),
        (
            "lighttpd-uwsgi",
            "INTEROP_LIGHTTPD_TEST",
            "/uwsgi",
            Proto::Uwsgi,
            true,
        ),
        (
            "lighttpd-fastcgi",
            "INTEROP_LIGHTTPD_TEST",
            "/fcgi",
            Proto::Fastcgi,
            true,
        ),
    ];
    for (peer, addr, prefix, proto, keeps_length) in fronts {
        stream_via(peer, addr, prefix, proto, peer.starts_with("lighttpd"));
        not_found_via(peer, addr, prefix, proto, keeps_length);
    }
}

/// 8 clients × 25 POSTs at once through a front-end (nginx's FastCGI
/// requests go through its keep-conn location): every reply matches its own
/// request's query and body.
fn front_concurrent(f: &Front, path: &str) {
    let _r = record(f.peer, "concurrent 8 x 25");
    let addr = env(f.addr);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let addr = &addr;
            scope.spawn(move || {
                for i in 0..25 {
                    let body = pattern(t * 1000 + i * 37);
                    let mut raw = format!(
                        "POST {}{path}?t={t}&i={i} HTTP/1.1\r\nHost: example.test\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        f.prefix,
                        body.len()
                    )
                    .into_bytes();
                    raw.extend_from_slice(&body);
                    let d = json_200(&http(addr, &raw));
                    d.expect("QUERY_STRING", format!("t={t}&i={i}"));
                    d.body(&body);
                }
            });
        }
    });
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn concurrent_fronts() {
    front_concurrent(&NGINX_UWSGI, "/c");
    front_concurrent(&NGINX_FCGI, "/keep/c");
    front_concurrent(&ROUTER, "/c");
    for f in [&APACHE_UWSGI, &APACHE_FCGI, &LIGHTTPD_UWSGI, &LIGHTTPD_FCGI] {
        front_concurrent(f, "/c");
    }
}

/// FCGI_STDERR from our responder: the front-end logs it and the response
/// still arrives intact.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn fastcgi_stderr_logged_by_fronts() {
    let fronts = [
        (
            "nginx-fastcgi",
            "INTEROP_NGINX_FCGI_TEST",
            "",
            "ngx-f-test/nginx-f/nginx-fcgi-error.log",
        ),
        (
            "apache-fcgi",
            "INTEROP_APACHE_TEST",
            "/fcgi",
            "apache-test/apache/error.log",
        ),
        (
            "lighttpd-fastcgi",
            "INTEROP_LIGHTTPD_TEST",
            "/fcgi",
            "lighttpd-test/lighttpd/error.log",
        ),
    ];
    for (peer, addr, prefix, log) in fronts {
        let _r = record(peer, "stderr, errors");
        let server = TestServer::start(Proto::Fastcgi);
        let raw = format!(
            "GET {prefix}/stderr HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n"
        );
        let r = http(&env(addr), raw.as_bytes());
        assert_eq!(r.status, 200, "{:?}", r.headers_text());
        assert_eq!(r.body, b"ok\n");
        assert!(server.seen.lock().unwrap().errors.is_empty());
        let path = format!("{}/{log}", env("INTEROP_RUN_DIR"));
        let mut logged = false;
        for _ in 0..20 {
            let text = std::fs::read(&path).unwrap_or_default();
            if text.windows(STDERR_LINE.len()).any(|w| w == STDERR_LINE) {
                logged = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(logged, "{peer} did not log our stderr in {path}");
    }
}

// uWSGI HTTP router, Apache, lighttpd -> environ-dump

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_router_get() {
    front_get(&ROUTER);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_router_post() {
    front_post(&ROUTER, "POST", 1024);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn apache_uwsgi_get() {
    front_get(&APACHE_UWSGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn apache_uwsgi_post() {
    front_post(&APACHE_UWSGI, "POST", 1024);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn apache_fcgi_get() {
    front_get(&APACHE_FCGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn apache_fcgi_post() {
    front_post(&APACHE_FCGI, "POST", 1024);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn lighttpd_uwsgi_get() {
    front_get(&LIGHTTPD_UWSGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn lighttpd_uwsgi_post() {
    front_post(&LIGHTTPD_UWSGI, "POST", 1024);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn lighttpd_fcgi_get() {
    front_get(&LIGHTTPD_FCGI);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn lighttpd_fcgi_post() {
    front_post(&LIGHTTPD_FCGI, "POST", 1024);
}

// ---------------------------------------------------------------------------
// nginx (over unix sockets) and the uWSGI router in front of tower-serve, an
// axum application on our tower adapter.

/// A front-end in front of tower-serve; `chunks` when it re-frames a body
/// without length with the chunked coding.
struct TowerFront {
    peer: &'static str,
    addr: &'static str,
    chunks: bool,
}

const TOWER_FRONTS: [TowerFront; 3] = [
    TowerFront {
        peer: "nginx-uwsgi",
        addr: "INTEROP_NGINX_UWSGI_TOWER",
        chunks: true,
    },
    TowerFront {
        peer: "nginx-fastcgi",
        addr: "INTEROP_NGINX_FCGI_TOWER",
        chunks: true,
    },
    TowerFront {
        peer: "uwsgi-router",
        addr: "INTEROP_UWSGI_ROUTER_TOWER",
        chunks: false,
    },
];

fn tower_get(path: &str) -> impl Fn(&TowerFront) -> HttpReply + '_ {
    move |f| {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n");
        http(&env(f.addr), raw.as_bytes())
    }
}

fn tower_hello(f: &TowerFront) {
    let _r = record(f.peer, "GET");
    let r = tower_get("/")(f);
    assert_eq!(r.status, 200, "{:?}", r.headers_text());
    assert_eq!(esc(r.one("content-type")), "text/plain; charset=utf-8");
    assert_eq!(r.body, b"hello\n");
}

fn tower_404(f: &TowerFront) {
    let _r = record(f.peer, "404 with headers");
    let r = tower_get("/status/404")(f);
    assert_eq!(r.status, 404, "{:?}", r.headers_text());
    assert_eq!(esc(r.one("x-status-code")), "404");
    assert_eq!(r.all("set-cookie"), [&b"a=1"[..], b"b=2"]);
    assert!(r.body.is_empty());
}

fn tower_stream(f: &TowerFront) {
    let _r = record(f.peer, "streamed response");
    let r = tower_get("/stream?chunks=64&size=4096")(f);
    assert_eq!(r.status, 200, "{:?}", r.headers_text());
    assert_eq!(esc(r.one("content-type")), "application/octet-stream");
    assert!(r.all("content-length").is_empty(), "{:?}", r.headers_text());
    if f.chunks {
        assert_eq!(esc(r.one("transfer-encoding")), "chunked");
    }
    assert_eq!(r.body, vec![b'x'; 64 * 4096]);
}

fn tower_echo(f: &TowerFront) {
    let _r = record(f.peer, "POST 1-2 MiB");
    let body = pattern(2 * MIB);
    let mut raw = format!(
        "POST /echo HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    let r = http(&env(f.addr), &raw);
    assert_eq!(r.status, 200, "{:?}", r.headers_text());
    assert_eq!(esc(r.one("content-type")), "application/json");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"len": body.len(), "sha256": sha_hex(&body)})
    );
}

/// Request targets nginx forwards raw in `REQUEST_URI` that `http::Uri`
/// refuses (`"`, `<`, `>`, `` ` ``, latin-1 bytes) still reach the route.
fn tower_odd_target(f: &TowerFront) {
    let _r = record(f.peer, "non-ASCII, raw bytes");
    for target in [
        &b"/status/404?x=\"<>`"[..],
        b"/status/404?q=caf\xe9",
        b"/status/404?q=caf\xc3\xa9",
    ] {
        let mut raw = b"GET ".to_vec();
        raw.extend_from_slice(target);
        raw.extend_from_slice(b" HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n");
        let r = http(&env(f.addr), &raw);
        assert_eq!(
            r.status,
            404,
            "{}: {:?} {}",
            esc(target),
            r.headers_text(),
            esc(&r.body)
        );
        assert_eq!(esc(r.one("x-status-code")), "404", "{}", esc(target));
    }
}

/// An absolute-form request target: nginx reduces it, the uWSGI router
/// passes it on as sent (in `REQUEST_URI` and `PATH_INFO`); either way the
/// route is found.
fn tower_absolute_form(f: &TowerFront) {
    let _r = record(f.peer, "absolute-form target");
    let r = http(
        &env(f.addr),
        b"GET http://other.test/status/404?a=1 HTTP/1.1\r\nHost: example.test\r\n\
          Connection: close\r\n\r\n",
    );
    assert_eq!(r.status, 404, "{:?} {}", r.headers_text(), esc(&r.body));
    assert_eq!(esc(r.one("x-status-code")), "404");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn tower_nginx_uwsgi() {
    let f = &TOWER_FRONTS[0];
    tower_hello(f);
    tower_404(f);
    tower_stream(f);
    tower_echo(f);
    tower_odd_target(f);
    tower_absolute_form(f);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn tower_nginx_fastcgi() {
    let f = &TOWER_FRONTS[1];
    tower_hello(f);
    tower_404(f);
    tower_stream(f);
    tower_echo(f);
    tower_odd_target(f);
    tower_absolute_form(f);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn tower_uwsgi_router() {
    let f = &TOWER_FRONTS[2];
    tower_hello(f);
    tower_404(f);
    tower_stream(f);
    tower_echo(f);
    tower_odd_target(f);
    tower_absolute_form(f);
}

// ---------------------------------------------------------------------------
// Our uwsgi client -> uWSGI server running scripts/peers/apps/echo_wsgi.py.

/// The echo app's report: its environ (latin-1 strings back to bytes).
struct Echo {
    environ: std::collections::BTreeMap<String, Vec<u8>>,
    body_len: u64,
    body_sha256: String,
}

impl Echo {
    fn parse(body: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", esc(body)));
        Self {
            environ: v["environ"]
                .as_object()
                .expect("environ")
                .iter()
                .map(|(k, v)| (k.clone(), latin1(v.as_str().unwrap())))
                .collect(),
            body_len: v["body_len"].as_u64().unwrap(),
            body_sha256: v["body_sha256"].as_str().unwrap().to_owned(),
        }
    }

    fn expect(&self, name: &str, value: impl AsRef<[u8]>) {
        assert_eq!(
            self.environ.get(name).map(|v| esc(v)),
            Some(esc(value.as_ref())),
            "{name} in {:?}",
            self.environ
        );
    }

    fn body(&self, body: &[u8]) {
        assert_eq!(self.body_len, body.len() as u64);
        assert_eq!(self.body_sha256, sha_hex(body));
    }
}

fn uwsgi_head(pairs: &[(&[u8], &[u8])]) -> uwsgi_proto::OwnedRequestHead {
    let mut b = uwsgi_proto::VarsBuilder::new();
    for (k, v) in pairs {
        b.var(k, v);
    }
    uwsgi_proto::OwnedRequestHead::from_packet(b.packet(uwsgi_proto::Modifier1::WSGI, 0).unwrap())
        .unwrap()
}

fn uwsgi_call(head: uwsgi_proto::OwnedRequestHead, body: &[u8]) -> examples::Reply {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = env("INTEROP_UWSGI_SERVER");
        let s = tokio::net::TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        tokio::time::timeout(
            Duration::from_secs(60),
            examples::uwsgi_request(s, head, body),
        )
        .await
        .expect("uWSGI answered in time")
        .expect("a valid response")
    })
}

fn echo_ok(reply: &examples::Reply) -> Echo {
    assert_eq!(reply.head.status, 200, "{:?}", reply.head);
    assert_eq!(reply.head.reason, b"OK");
    assert_eq!(
        reply.head.get("Content-Type"),
        Some(&b"application/json"[..])
    );
    assert_eq!(reply.head.get("X-Echo"), Some(&b"1"[..]));
    Echo::parse(&reply.body)
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_server_get() {
    let _r = record("uwsgi-server", "GET");
    let head = examples::request_head(
        "GET",
        "/echo/path",
        "a=1&b=%20",
        "example.test:8080",
        &[("User-Agent".into(), "interop/1".into())],
        &[],
        b"",
    )
    .unwrap();
    let e = echo_ok(&uwsgi_call(head, b""));
    e.expect("REQUEST_METHOD", "GET");
    e.expect("PATH_INFO", "/echo/path");
    e.expect("QUERY_STRING", "a=1&b=%20");
    e.expect("REQUEST_URI", "/echo/path?a=1&b=%20");
    e.expect("SERVER_NAME", "example.test");
    e.expect("SERVER_PORT", "8080");
    e.expect("HTTP_HOST", "example.test:8080");
    e.expect("HTTP_USER_AGENT", "interop/1");
    e.expect("wsgi.url_scheme", "http");
    e.body(b"");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_server_post_2m() {
    let _r = record("uwsgi-server", "POST 1-2 MiB");
    let body = pattern(2 * MIB);
    let head = examples::request_head(
        "POST",
        "/upload",
        "",
        "example.test",
        &[("Content-Type".into(), "application/octet-stream".into())],
        &[],
        &body,
    )
    .unwrap();
    let e = echo_ok(&uwsgi_call(head, &body));
    e.expect("REQUEST_METHOD", "POST");
    e.expect("CONTENT_LENGTH", (2 * MIB).to_string());
    e.expect("CONTENT_TYPE", "application/octet-stream");
    e.body(&body);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_server_non_ascii_headers() {
    let _r = record("uwsgi-server", "non-ASCII, raw bytes");
    let head = uwsgi_head(&[
        (b"REQUEST_METHOD", b"GET"),
        (b"PATH_INFO", b"/caf\xc3\xa9"),
        (b"QUERY_STRING", b""),
        (b"SERVER_NAME", b"localhost"),
        (b"SERVER_PORT", b"80"),
        (b"SERVER_PROTOCOL", b"HTTP/1.1"),
        (b"HTTP_X_LATIN", b"caf\xe9"),
        (b"HTTP_X_UTF8", "ünïcødé ✓".as_bytes()),
        (b"HTTP_X_HIGH", b"\x80\xff\xfe"),
    ]);
    let e = echo_ok(&uwsgi_call(head, b""));
    e.expect("HTTP_X_LATIN", b"caf\xe9");
    e.expect("HTTP_X_UTF8", "ünïcødé ✓".as_bytes());
    e.expect("HTTP_X_HIGH", b"\x80\xff\xfe");
    e.expect("PATH_INFO", b"/caf\xc3\xa9");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_server_ping() {
    let _r = record("uwsgi-server", "ping, GET_VALUES, subscription");
    let addr = env("INTEROP_UWSGI_SERVER");
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&uwsgi_proto::special::PING).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let (packet, used) = uwsgi_proto::Packet::parse(&buf, &uwsgi_proto::Limits::default())
        .unwrap()
        .complete()
        .expect("a whole pong packet");
    assert_eq!(used, buf.len(), "nothing after the pong");
    assert_eq!(uwsgi_proto::special::pong_message(&packet), Some(&b""[..]));
}

// ---------------------------------------------------------------------------
// Our FastCGI client -> PHP-FPM, fcgiwrap, a libfcgi application.

#[derive(Debug, Default)]
struct FcgiReply {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    app_status: u32,
    protocol_status: u8,
}

/// Sends what the connection has queued and reads until END_REQUEST of `id`.
fn fcgi_roundtrip<S: Read + Write>(s: &mut S, c: &mut Connection, id: u16) -> FcgiReply {
    while let Some(b) = c.poll_transmit() {
        s.write_all(&b).unwrap();
    }
    let mut reply = FcgiReply::default();
    let mut buf = vec![0; 64 * 1024];
    loop {
        while let Some(ev) = c.poll_event() {
            match ev {
                Event::Stdout { id: i, data } if i == id => reply.stdout.extend_from_slice(&data),
                Event::Stderr { id: i, data } if i == id => reply.stderr.extend_from_slice(&data),
                Event::End { id: i, end } if i == id => {
                    reply.app_status = end.app_status;
                    reply.protocol_status = end.protocol_status.0;
                    return reply;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed before END_REQUEST");
        c.handle_bytes(&buf[..n]).unwrap();
    }
}

fn fcgi_request<S: Read + Write>(
    s: &mut S,
    c: &mut Connection,
    id: u16,
    keep: bool,
    params: &[(Vec<u8>, Vec<u8>)],
    body: &[u8],
) -> FcgiReply {
    c.begin(id, Role::RESPONDER, keep).unwrap();
    c.params(id, params.iter().map(|(k, v)| (&k[..], &v[..])))
        .unwrap();
    for chunk in body.chunks(32 * 1024) {
        c.stdin(id, chunk).unwrap();
        while let Some(b) = c.poll_transmit() {
            s.write_all(&b).unwrap();
        }
    }
    c.stdin_end(id).unwrap();
    fcgi_roundtrip(s, c, id)
}

fn tcp(addr_var: &str) -> TcpStream {
    let addr = env(addr_var);
    let s = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

fn php_params(script: &str, method: &str, query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let dir = format!("{}/scripts/peers/php", env("INTEROP_REPO"));
    let uri = if query.is_empty() {
        format!("/{script}")
    } else {
        format!("/{script}?{query}")
    };
    [
        ("SCRIPT_FILENAME", format!("{dir}/{script}")),
        ("SCRIPT_NAME", format!("/{script}")),
        ("REQUEST_METHOD", method.into()),
        ("QUERY_STRING", query.into()),
        ("REQUEST_URI", uri),
        ("SERVER_PROTOCOL", "HTTP/1.1".into()),
        ("GATEWAY_INTERFACE", "CGI/1.1".into()),
        ("SERVER_NAME", "localhost".into()),
        ("SERVER_PORT", "80".into()),
        ("REMOTE_ADDR", "127.0.0.1".into()),
        ("HTTP_HOST", "example.test".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.as_bytes().to_vec(), v.into_bytes()))
    .collect()
}

/// Splits a CGI reply with our parser: (status, headers, body).
fn cgi(stdout: &[u8]) -> (u16, Vec<String>, Vec<u8>) {
    let r = parse_cgi_response(stdout, &ResponseOptions::default())
        .unwrap_or_else(|e| panic!("bad CGI head {e}: {}", esc(stdout)))
        .complete()
        .unwrap_or_else(|| panic!("incomplete CGI head: {}", esc(stdout)));
    let headers = r
        .head
        .headers
        .iter()
        .map(|(n, v)| format!("{}: {}", n.as_str(), esc(v.as_bytes())))
        .collect();
    (
        r.head.status.as_u16(),
        headers,
        stdout[r.body_offset..].to_vec(),
    )
}

/// echo.php's report: `$_SERVER` and the body summary.
struct PhpEcho {
    server: serde_json::Map<String, serde_json::Value>,
    body_len: u64,
    body_sha256: String,
}

impl PhpEcho {
    fn from_reply(r: &FcgiReply) -> Self {
        assert_eq!((r.app_status, r.protocol_status), (0, 0));
        assert!(r.stderr.is_empty(), "stderr: {}", esc(&r.stderr));
        let (status, headers, body) = cgi(&r.stdout);
        assert_eq!(status, 200);
        assert!(
            headers.contains(&"content-type: application/json".to_owned()),
            "{headers:?}"
        );
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        Self {
            server: v["server"].as_object().unwrap().clone(),
            body_len: v["body_len"].as_u64().unwrap(),
            body_sha256: v["body_sha256"].as_str().unwrap().to_owned(),
        }
    }

    fn expect(&self, name: &str, value: &str) {
        assert_eq!(
            self.server.get(name).and_then(|v| v.as_str()),
            Some(value),
            "{name}"
        );
    }
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_get() {
    let _r = record("php-fpm", "GET");
    let mut s = tcp("INTEROP_PHP_FPM");
    let mut c = Connection::new();
    let mut params = php_params("echo.php", "GET", "a=1&b=2");
    params.push((b"HTTP_X_CUSTOM".to_vec(), b"custom value".to_vec()));
    let e = PhpEcho::from_reply(&fcgi_request(&mut s, &mut c, 1, false, &params, b""));
    e.expect("REQUEST_METHOD", "GET");
    e.expect("QUERY_STRING", "a=1&b=2");
    e.expect("REQUEST_URI", "/echo.php?a=1&b=2");
    e.expect("SCRIPT_NAME", "/echo.php");
    e.expect("HTTP_HOST", "example.test");
    e.expect("HTTP_X_CUSTOM", "custom value");
    assert_eq!((e.body_len, e.body_sha256), (0, sha_hex(b"")));
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_post_2m() {
    let _r = record("php-fpm", "POST 1-2 MiB");
    let mut s = tcp("INTEROP_PHP_FPM");
    let mut c = Connection::new();
    let body = pattern(2 * MIB);
    let mut params = php_params("echo.php", "POST", "");
    params.push((
        b"CONTENT_LENGTH".to_vec(),
        body.len().to_string().into_bytes(),
    ));
    params.push((
        b"CONTENT_TYPE".to_vec(),
        b"application/octet-stream".to_vec(),
    ));
    let e = PhpEcho::from_reply(&fcgi_request(&mut s, &mut c, 1, false, &params, &body));
    e.expect("REQUEST_METHOD", "POST");
    e.expect("CONTENT_LENGTH", &(2 * MIB).to_string());
    assert_eq!(
        (e.body_len, e.body_sha256),
        (body.len() as u64, sha_hex(&body))
    );
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_large_params() {
    let _r = record("php-fpm", "vars at/over 64 KiB");
    let mut s = tcp("INTEROP_PHP_FPM");
    let mut c = Connection::new();
    let mut params = php_params("echo.php", "GET", "");
    for i in 0..8u8 {
        params.push((format!("HTTP_X_BIG_{i}").into_bytes(), vec![b'a' + i; 9000]));
    }
    let total: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(total > 64 * 1024);
    let e = PhpEcho::from_reply(&fcgi_request(&mut s, &mut c, 1, false, &params, b""));
    for i in 0..8u8 {
        let want = String::from_utf8(vec![b'a' + i; 9000]).unwrap();
        e.expect(&format!("HTTP_X_BIG_{i}"), &want);
    }
    e.expect("SCRIPT_NAME", "/echo.php");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_stderr() {
    let _r = record("php-fpm", "stderr, errors");
    let mut s = tcp("INTEROP_PHP_FPM");
    let mut c = Connection::new();
    let r = fcgi_request(
        &mut s,
        &mut c,
        1,
        false,
        &php_params("stderr.php", "GET", ""),
        b"",
    );
    assert_eq!(esc(&r.stderr), "PHP message: stderr-line from php");
    assert_eq!((r.app_status, r.protocol_status), (0, 0));
    let (status, headers, body) = cgi(&r.stdout);
    assert_eq!(status, 200);
    assert_eq!(headers, ["content-type: text/html; charset=UTF-8"]);
    assert_eq!(body, b"after stderr\n");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_get_values() {
    let _r = record("php-fpm", "ping, GET_VALUES, subscription");
    let mut s = tcp("INTEROP_PHP_FPM");
    let mut c = Connection::new();
    c.get_values([
        fastcgi_proto::FCGI_MAX_CONNS,
        fastcgi_proto::FCGI_MAX_REQS,
        fastcgi_proto::FCGI_MPXS_CONNS,
    ])
    .unwrap();
    while let Some(b) = c.poll_transmit() {
        s.write_all(&b).unwrap();
    }
    let mut buf = vec![0; 4096];
    let values = loop {
        if let Some(ev) = c.poll_event() {
            match ev {
                Event::Values(p) => break p,
                other => panic!("unexpected {other:?}"),
            }
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before GET_VALUES_RESULT");
        c.handle_bytes(&buf[..n]).unwrap();
    };
    let got: Vec<(String, String)> = values.iter().map(|(k, v)| (esc(k), esc(v))).collect();
    // PHP-FPM answers only FCGI_MPXS_CONNS (it does not multiplex).
    assert_eq!(got, [("FCGI_MPXS_CONNS".to_owned(), "0".to_owned())]);
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_keep_conn_100() {
    let _r = record("php-fpm", "keep-conn");
    let mut s = tcp("INTEROP_PHP_FPM");
    let mut c = Connection::new();
    for i in 1..=100u16 {
        let id = (i % 3) + 1;
        let params = php_params("echo.php", "GET", &format!("n={i}"));
        let e = PhpEcho::from_reply(&fcgi_request(&mut s, &mut c, id, true, &params, b""));
        e.expect("QUERY_STRING", &format!("n={i}"));
        assert_eq!(c.in_flight().count(), 0);
    }
}

fn cgi_params(script: &str, method: &str, query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    [
        ("SCRIPT_FILENAME", script.to_owned()),
        ("SCRIPT_NAME", "/echo.sh".to_owned()),
        ("REQUEST_METHOD", method.to_owned()),
        ("QUERY_STRING", query.to_owned()),
        ("GATEWAY_INTERFACE", "CGI/1.1".to_owned()),
        ("SERVER_PROTOCOL", "HTTP/1.1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.as_bytes().to_vec(), v.into_bytes()))
    .collect()
}

fn fcgiwrap_call(method: &str, query: &str, body: &[u8]) -> FcgiReply {
    let path = env("INTEROP_FCGIWRAP");
    let mut s = UnixStream::connect(&path).unwrap_or_else(|e| panic!("connect {path}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let script = format!("{}/scripts/peers/cgi/echo.sh", env("INTEROP_REPO"));
    let mut params = cgi_params(&script, method, query);
    if !body.is_empty() {
        params.push((
            b"CONTENT_LENGTH".to_vec(),
            body.len().to_string().into_bytes(),
        ));
    }
    let mut c = Connection::new();
    fcgi_request(&mut s, &mut c, 1, false, &params, body)
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn fcgiwrap_get() {
    let _r = record("fcgiwrap", "GET");
    let r = fcgiwrap_call("GET", "x=1&y=%20", b"");
    assert_eq!((r.app_status, r.protocol_status), (0, 0));
    assert!(r.stderr.is_empty(), "{}", esc(&r.stderr));
    assert_eq!(
        esc(&r.stdout),
        esc(b"Content-Type: text/plain\r\n\r\nmethod=GET\nquery=x=1&y=%20\nscript=/echo.sh\nlength=\n")
    );
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn fcgiwrap_post() {
    let _r = record("fcgiwrap", "POST");
    let body = pattern(100_000);
    let r = fcgiwrap_call("POST", "", &body);
    assert_eq!((r.app_status, r.protocol_status), (0, 0));
    assert!(r.stderr.is_empty(), "{}", esc(&r.stderr));
    let want = format!(
        "Content-Type: text/plain\r\n\r\nmethod=POST\nquery=\nscript=/echo.sh\nlength=100000\n\
         body_sha256={}\n",
        sha_hex(&body)
    );
    assert_eq!(esc(&r.stdout), esc(want.as_bytes()));
}

fn libfcgi_call(method: &str, query: &str, body: &[u8]) -> FcgiReply {
    let mut s = tcp("INTEROP_LIBFCGI");
    let mut params: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"REQUEST_METHOD".to_vec(), method.as_bytes().to_vec()),
        (b"QUERY_STRING".to_vec(), query.as_bytes().to_vec()),
        (b"SERVER_PROTOCOL".to_vec(), b"HTTP/1.1".to_vec()),
    ];
    if !body.is_empty() {
        params.push((
            b"CONTENT_LENGTH".to_vec(),
            body.len().to_string().into_bytes(),
        ));
    }
    let mut c = Connection::new();
    fcgi_request(&mut s, &mut c, 1, false, &params, body)
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn libfcgi_get() {
    let _r = record("libfcgi", "GET");
    let r = libfcgi_call("GET", "y=2", b"");
    assert_eq!((r.app_status, r.protocol_status), (0, 0));
    assert_eq!(
        esc(&r.stdout),
        esc(b"Content-Type: text/plain\r\n\r\nmethod=GET\nquery=y=2\n")
    );
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn libfcgi_post() {
    let _r = record("libfcgi", "POST");
    let r = libfcgi_call("POST", "z=3", &pattern(5000));
    assert_eq!((r.app_status, r.protocol_status), (0, 0));
    assert_eq!(
        esc(&r.stdout),
        esc(b"Content-Type: text/plain\r\n\r\nmethod=POST\nquery=z=3\n")
    );
}

// ---------------------------------------------------------------------------
// Our gateway in front of uWSGI and PHP-FPM, next to nginx in front of them:
// the same request must give the same status, headers and application view.

/// What one side must send for a var where the gateway and nginx differ.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Not sent.
    Absent,
    /// Sent with this value.
    Is(&'static str),
    /// Sent, any value (ports, times, software names).
    Any,
}

/// A var where the two differ: name, nginx's value, the gateway's value.
type Known = (&'static str, Want, Want);

/// Differences every request shows: the listening port and the client's
/// port; `SERVER_NAME` is nginx's configured `server_name` while the gateway
/// (no name configured) takes the request host; the hop-by-hop `Connection`
/// header reaches the application through nginx but not through the gateway.
const COMMON: &[Known] = &[
    ("SERVER_PORT", Want::Any, Want::Any),
    ("REMOTE_PORT", Want::Any, Want::Any),
    (
        "SERVER_NAME",
        Want::Is("localhost"),
        Want::Is("example.test"),
    ),
    ("HTTP_CONNECTION", Want::Is("close"), Want::Absent),
];
/// PHP adds request times; `SERVER_SOFTWARE` names each server.
const PHP: &[Known] = &[
    ("REQUEST_TIME", Want::Any, Want::Any),
    ("REQUEST_TIME_FLOAT", Want::Any, Want::Any),
    ("SERVER_SOFTWARE", Want::Any, Want::Is("gateway")),
];

/// Sends `raw` through nginx and through our gateway and compares what the
/// application reported, var for var; the vars in `known` must differ
/// exactly as stated.
fn gateway_vs_nginx(
    peer: &'static str,
    scenario: &'static str,
    (nginx, gateway): (&str, &str),
    raw: &[u8],
    known: &[Known],
    body: &[u8],
) {
    let _r = record(peer, scenario);
    let n = http(&env(nginx), raw);
    let g = http(&env(gateway), raw);
    assert_eq!(n.status, 200, "nginx: {:?}", n.headers_text());
    assert_eq!(g.status, 200, "gateway: {:?}", g.headers_text());
    for h in ["content-type", "x-echo"] {
        assert_eq!(n.all(h), g.all(h), "{h}");
    }
    let view = |r: &HttpReply| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", esc(&r.body)));
        assert_eq!(v["body_len"], serde_json::json!(body.len()));
        assert_eq!(v["body_sha256"], serde_json::json!(sha_hex(body)));
        v
    };
    let (nv, gv) = (view(&n), view(&g));
    let key = if nv.get("environ").is_some() {
        "environ"
    } else {
        "server"
    };
    let (nm, gm) = (
        nv[key].as_object().expect("environ map"),
        gv[key].as_object().expect("environ map"),
    );
    let ok = |want: Want, got: Option<&serde_json::Value>| match (want, got) {
        (Want::Absent, None) | (Want::Any, Some(_)) => true,
        (Want::Is(w), Some(v)) => v.as_str() == Some(w),
        _ => false,
    };
    let names: std::collections::BTreeSet<&String> = nm.keys().chain(gm.keys()).collect();
    let mut diffs = Vec::new();
    for name in names {
        let (a, b) = (nm.get(name), gm.get(name));
        let fine = match known.iter().find(|k| k.0 == name) {
            Some(&(_, wn, wg)) => ok(wn, a) && ok(wg, b),
            None => a == b,
        };
        if !fine {
            diffs.push(format!("{name}: nginx {a:?} gateway {b:?}"));
        }
    }
    for (name, wn, wg) in known {
        if !nm.contains_key(*name) && !gm.contains_key(*name) && !ok(*wn, None) {
            diffs.push(format!("{name}: sent by neither, expected {wn:?} / {wg:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "gateway differs from nginx:\n{}",
        diffs.join("\n")
    );
}

const GW_UWSGI: (&str, &str) = ("INTEROP_NGINX_UWSGI_PEER", "INTEROP_GATEWAY_UWSGI");
const GW_FCGI: (&str, &str) = ("INTEROP_NGINX_FCGI_PEER", "INTEROP_GATEWAY_FCGI");

fn known(ends: (&str, &str), extra: &[Known]) -> Vec<Known> {
    let mut k: Vec<Known> = COMMON.to_vec();
    if ends == GW_FCGI {
        k.extend_from_slice(PHP);
    }
    for e in extra {
        k.retain(|x| x.0 != e.0);
        k.push(*e);
    }
    k
}

fn gw_get(peer: &'static str, ends: (&str, &str), path: &str) {
    let raw = format!(
        "GET {path}?q=1&x=%20y HTTP/1.1\r\nHost: example.test\r\nUser-Agent: interop/1\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    let k = known(ends, &[]);
    gateway_vs_nginx(peer, "gateway = nginx", ends, raw.as_bytes(), &k, b"");
}

fn gw_post(peer: &'static str, ends: (&str, &str), path: &str) {
    let body = pattern(2 * MIB);
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    let k = known(ends, &[]);
    gateway_vs_nginx(peer, "gateway = nginx", ends, &raw, &k, &body);
}

/// Repeated headers: nginx passes each line as its own var and the
/// application keeps the last; the gateway joins them (`, `, and `; ` for
/// cookies), so the application sees every value.
fn gw_headers(peer: &'static str, ends: (&str, &str), path: &str) {
    let raw = format!(
        "GET {path} HTTP/1.1\r\nHost: example.test\r\nX-Dup: one\r\nX-Dup: two\r\n\
         Cookie: a=1\r\nCookie: b=2\r\nX-Auth-User: good\r\nX_Auth_User: evil\r\n\
         X-Latin: caf\u{e9}\r\nConnection: close\r\n\r\n"
    );
    // the header value goes out as the single latin-1 byte 0xE9
    let raw: Vec<u8> = latin1(&raw);
    let k = known(
        ends,
        &[
            ("HTTP_X_DUP", Want::Is("two"), Want::Is("one, two")),
            ("HTTP_COOKIE", Want::Is("b=2"), Want::Is("a=1; b=2")),
        ],
    );
    gateway_vs_nginx(peer, "gateway = nginx", ends, &raw, &k, b"");
}

/// HTTP/1.0 without Host: nginx falls back to its `server_name`; the
/// gateway has no configured name, so `SERVER_NAME` is the address it
/// listens on (never empty) and (uwsgi, whose params send `$host`) no
/// `HTTP_HOST` is made up.
fn gw_http10(peer: &'static str, ends: (&str, &str), path: &str) {
    let raw = format!("GET {path} HTTP/1.0\r\n\r\n");
    let mut extra: Vec<Known> = vec![
        ("SERVER_NAME", Want::Is("localhost"), Want::Is("127.0.0.1")),
        ("HTTP_CONNECTION", Want::Absent, Want::Absent),
    ];
    if ends == GW_UWSGI {
        extra.push(("HTTP_HOST", Want::Is("localhost"), Want::Absent));
    }
    let k = known(ends, &extra);
    gateway_vs_nginx(peer, "gateway = nginx", ends, raw.as_bytes(), &k, b"");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_uwsgi_get() {
    gw_get("gateway+uwsgi", GW_UWSGI, "/echo/path");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_uwsgi_post() {
    gw_post("gateway+uwsgi", GW_UWSGI, "/echo/post");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_uwsgi_headers() {
    gw_headers("gateway+uwsgi", GW_UWSGI, "/echo/h");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_uwsgi_http10() {
    gw_http10("gateway+uwsgi", GW_UWSGI, "/echo/old");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_uwsgi_non_ascii() {
    let raw = b"GET /caf\xc3\xa9/%C3%A9?n=\xc3\xa9 HTTP/1.1\r\nHost: example.test\r\n\
                Connection: close\r\n\r\n";
    let k = known(GW_UWSGI, &[]);
    gateway_vs_nginx("gateway+uwsgi", "gateway = nginx", GW_UWSGI, raw, &k, b"");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_php_get() {
    gw_get("gateway+php-fpm", GW_FCGI, "/conf/echo.php");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_php_post() {
    gw_post("gateway+php-fpm", GW_FCGI, "/conf/echo.php");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_php_headers() {
    gw_headers("gateway+php-fpm", GW_FCGI, "/conf/echo.php");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_php_http10() {
    gw_http10("gateway+php-fpm", GW_FCGI, "/conf/echo.php");
}

/// PHP-FPM without a script: "Primary script unknown" on FCGI_STDERR and a
/// CGI 404 on FCGI_STDOUT.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_missing_script() {
    let _r = record("php-fpm", "stderr, errors");
    let mut s = tcp("INTEROP_PHP_FPM");
    let mut c = Connection::new();
    let params = vec![(b"REQUEST_METHOD".to_vec(), b"GET".to_vec())];
    let r = fcgi_request(&mut s, &mut c, 1, false, &params, b"");
    assert_eq!(esc(&r.stderr), "Primary script unknown");
    assert_eq!((r.app_status, r.protocol_status), (0, 0));
    let (status, headers, body) = cgi(&r.stdout);
    assert_eq!(status, 404);
    assert_eq!(headers, ["content-type: text/html; charset=UTF-8"]);
    assert_eq!(body, b"File not found.\n");
}

/// fcgiwrap without a script: a CGI 403 of its own.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn fcgiwrap_missing_script() {
    let _r = record("fcgiwrap", "stderr, errors");
    let path = env("INTEROP_FCGIWRAP");
    let mut s = UnixStream::connect(&path).unwrap_or_else(|e| panic!("connect {path}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut c = Connection::new();
    let params = vec![(b"REQUEST_METHOD".to_vec(), b"GET".to_vec())];
    let r = fcgi_request(&mut s, &mut c, 1, false, &params, b"");
    assert_eq!((r.app_status, r.protocol_status), (0, 0));
    let (status, headers, body) = cgi(&r.stdout);
    assert_eq!(status, 403);
    assert_eq!(headers, ["content-type: text/plain"]);
    assert_eq!(body, b"403 Forbidden\r\n");
}

/// keep-conn with libfcgi and fcgiwrap: 20 requests on one connection each.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn libfcgi_fcgiwrap_keep_conn() {
    {
        let _r = record("libfcgi", "keep-conn");
        let mut s = tcp("INTEROP_LIBFCGI");
        let mut c = Connection::new();
        for i in 0..20 {
            let q = format!("n={i}");
            let params = vec![
                (b"REQUEST_METHOD".to_vec(), b"GET".to_vec()),
                (b"QUERY_STRING".to_vec(), q.clone().into_bytes()),
            ];
            let r = fcgi_request(&mut s, &mut c, 1, true, &params, b"");
            assert_eq!((r.app_status, r.protocol_status), (0, 0));
            let want = format!("Content-Type: text/plain\r\n\r\nmethod=GET\nquery={q}\n");
            assert_eq!(esc(&r.stdout), esc(want.as_bytes()));
        }
    }
    {
        let _r = record("fcgiwrap", "keep-conn");
        let path = env("INTEROP_FCGIWRAP");
        let mut s = UnixStream::connect(&path).unwrap_or_else(|e| panic!("connect {path}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let script = format!("{}/scripts/peers/cgi/echo.sh", env("INTEROP_REPO"));
        let mut c = Connection::new();
        for i in 0..20 {
            let q = format!("n={i}");
            let params = cgi_params(&script, "GET", &q);
            let r = fcgi_request(&mut s, &mut c, 1, true, &params, b"");
            assert_eq!((r.app_status, r.protocol_status), (0, 0));
            let want = format!(
                "Content-Type: text/plain\r\n\r\nmethod=GET\nquery={q}\nscript=/echo.sh\nlength=\n"
            );
            assert_eq!(esc(&r.stdout), esc(want.as_bytes()));
        }
    }
}

/// libfcgi's own client (`cgi-fcgi -bind -connect`) in front of our
/// responder (environ-dump): its environment becomes the params, its stdin
/// the body, our CGI reply its stdout.
fn cgi_fcgi(vars: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("cgi-fcgi")
        .args(["-bind", "-connect", &env("INTEROP_OURS_FCGI")])
        .env_clear()
        .envs(vars.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cgi-fcgi (libfcgi-bin) runs");
    let mut stdin = child.stdin.take().unwrap();
    let body = body.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{}", esc(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", esc(&out.stderr));
    out.stdout
}

fn cgi_fcgi_dump(stdout: &[u8]) -> Dump {
    let (status, headers, body) = cgi(stdout);
    assert_eq!(status, 200);
    assert!(
        headers.contains(&"content-type: application/json".to_owned()),
        "{headers:?}"
    );
    assert!(
        headers.contains(&format!("content-length: {}", body.len())),
        "{headers:?}"
    );
    Dump::parse(&body)
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn cgi_fcgi_client_get() {
    let _r = record("cgi-fcgi client", "GET");
    let out = cgi_fcgi(
        &[
            ("REQUEST_METHOD", "GET"),
            ("QUERY_STRING", "a=1&b=%20"),
            ("SCRIPT_NAME", "/x"),
            ("HTTP_X_LATIN", "caf\u{e9}"),
        ],
        b"",
    );
    let d = cgi_fcgi_dump(&out);
    d.expect("REQUEST_METHOD", "GET");
    d.expect("QUERY_STRING", "a=1&b=%20");
    d.expect("SCRIPT_NAME", "/x");
    // the environment holds UTF-8: é arrives as its two bytes
    d.expect("HTTP_X_LATIN", "caf\u{e9}".as_bytes());
    assert_eq!(d.vars.len(), 4, "{}", d.text());
    d.body(b"");
}

#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn cgi_fcgi_client_post_2m() {
    let _r = record("cgi-fcgi client", "POST 1-2 MiB");
    let body = pattern(2 * MIB);
    let len = body.len().to_string();
    let out = cgi_fcgi(
        &[
            ("REQUEST_METHOD", "POST"),
            ("CONTENT_LENGTH", &len),
            ("CONTENT_TYPE", "application/octet-stream"),
        ],
        &body,
    );
    let d = cgi_fcgi_dump(&out);
    d.expect("CONTENT_LENGTH", &len);
    d.body(&body);
}

/// uWSGI's default buffer-size is 4096: a bigger vars block is refused
/// ("invalid request block size") and the connection closed without a
/// response; our client reports that as an error, not as an empty reply.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_server_vars_over_buffer_size() {
    let _r = record("uwsgi-server", "vars at/over 64 KiB");
    let head = examples::request_head(
        "GET",
        "/big",
        "",
        "example.test",
        &[("X-Big".into(), "b".repeat(5000))],
        &[],
        b"",
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let res = rt.block_on(async {
        let s = tokio::net::TcpStream::connect(env("INTEROP_UWSGI_SERVER"))
            .await
            .unwrap();
        tokio::time::timeout(
            Duration::from_secs(30),
            examples::uwsgi_request(s, head, b""),
        )
        .await
        .expect("uWSGI closed the connection in time")
    });
    match res {
        Err(uwsgi_proto::codec::CodecError::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
        }
        Err(uwsgi_proto::codec::CodecError::Decode(e)) => {
            assert!(
                matches!(e, uwsgi_proto::DecodeError::Truncated { .. }),
                "{e:?}"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let log =
        std::fs::read_to_string(format!("{}/uwsgi-server.log", env("INTEROP_RUN_DIR"))).unwrap();
    assert!(log.contains("invalid request block size"), "uWSGI log");
}

/// Our uwsgi client against uWSGI's internal router (`--route-run
/// return:200`, no application).
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_static_get() {
    let _r = record("uwsgi-static", "GET");
    let head = examples::request_head("GET", "/x", "", "example.test", &[], &[], b"").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = rt.block_on(async {
        let s = tokio::net::TcpStream::connect(env("INTEROP_UWSGI_STATIC"))
            .await
            .unwrap();
        tokio::time::timeout(
            Duration::from_secs(30),
            examples::uwsgi_request(s, head, b""),
        )
        .await
        .expect("in time")
        .expect("a valid response")
    });
    assert_eq!(
        (reply.head.status, &reply.head.reason[..]),
        (200, &b"OK"[..])
    );
    assert_eq!(reply.head.get("Content-Type"), Some(&b"text/plain"[..]));
    assert_eq!(reply.head.get("Content-Length"), Some(&b"2"[..]));
    assert_eq!(reply.body, b"OK");
}

/// A real uWSGI subscription packet (modifier1 224, sent over UDP by
/// `--subscribe-to`), decoded by our packet and subscription parsers.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_subscription_packet() {
    let _r = record("uwsgi-static", "ping, GET_VALUES, subscription");
    let udp = std::net::UdpSocket::bind(env("INTEROP_SUBSCRIBE_UDP")).unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = vec![0; 65_536];
    let n = udp.recv(&mut buf).expect("a subscription within 5 s");
    let (packet, used) = uwsgi_proto::Packet::parse(&buf[..n], &uwsgi_proto::Limits::default())
        .unwrap()
        .complete()
        .expect("a whole packet in one datagram");
    assert_eq!(used, n);
    assert_eq!(
        packet.header().modifier1,
        uwsgi_proto::Modifier1::SUBSCRIPTION
    );
    assert_eq!(packet.header().modifier2, 0);
    let sub = uwsgi_proto::special::Subscription::parse(&packet)
        .unwrap()
        .expect("a subscription");
    assert_eq!(sub.key(), Some(&b"example.test"[..]));
    assert_eq!(sub.address().map(esc), Some(env("INTEROP_UWSGI_STATIC")));
    assert_eq!(sub.number("cores"), Some(Ok(1)));
    assert_eq!(sub.number("load"), Some(Ok(0)));
    assert_eq!(sub.number("weight"), Some(Ok(0)));
    assert_eq!(sub.number("modifier1"), Some(Ok(0)));
}

/// The same 2 MiB POST through the tokio codec (`ClientCodec`, as
/// backend-client sends it) instead of the sans-IO connection.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_codec_post_2m() {
    let _r = record("php-fpm", "POST 1-2 MiB");
    let body = pattern(2 * MIB);
    let mut params = php_params("echo.php", "POST", "via=codec");
    params.push((
        b"CONTENT_LENGTH".to_vec(),
        body.len().to_string().into_bytes(),
    ));
    let pairs = params
        .into_iter()
        .map(|(k, v)| (bytes::Bytes::from(k), bytes::Bytes::from(v)))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = rt.block_on(async {
        let s = tokio::net::TcpStream::connect(env("INTEROP_PHP_FPM"))
            .await
            .unwrap();
        tokio::time::timeout(
            Duration::from_secs(60),
            examples::fastcgi_request(s, pairs, &body),
        )
        .await
        .expect("in time")
        .expect("a valid reply")
    });
    let e = PhpEcho::from_reply(&FcgiReply {
        stdout: reply.stdout,
        stderr: reply.stderr,
        app_status: reply.app_status,
        protocol_status: 0,
    });
    e.expect("QUERY_STRING", "via=codec");
    assert_eq!(
        (e.body_len, e.body_sha256),
        (body.len() as u64, sha_hex(&body))
    );
}

/// One pair of 65 528, 65 529 and 65 535 encoded bytes: PHP-FPM parses
/// each PARAMS record alone, so the pair must arrive whole in one record
/// (unpadded above 65 528).
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn php_fpm_pair_of_65535_bytes() {
    let _r = record("php-fpm", "vars at/over 64 KiB");
    for pair in [65_528usize, 65_529, 65_535] {
        let mut s = tcp("INTEROP_PHP_FPM");
        let mut c = Connection::new();
        let mut params = php_params("echo.php", "GET", "");
        // 1 + 4 length bytes, 8 name bytes, the value
        params.push((b"HTTP_X_E".to_vec(), vec![b'h'; pair - 13]));
        let e = PhpEcho::from_reply(&fcgi_request(&mut s, &mut c, 1, false, &params, b""));
        e.expect("HTTP_X_E", &"h".repeat(pair - 13));
    }
}

/// uWSGI's own ping client (`uwsgi --ping`) against our uwsgi server: it
/// exits 0 only on a pong.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_ping_client_to_ours() {
    let _r = record("uwsgi --ping client", "ping, GET_VALUES, subscription");
    let out = std::process::Command::new("uwsgi")
        .args(["--plugin", "ping", "--ping", &env("INTEROP_OURS_UWSGI")])
        .output()
        .expect("uwsgi runs");
    assert!(
        out.status.success(),
        "{} {}",
        esc(&out.stdout),
        esc(&out.stderr)
    );
    // a dead address (nothing listens on port 1) makes it fail, so success
    // above means a pong
    let dead = std::process::Command::new("uwsgi")
        .args(["--plugin", "ping", "--ping", "127.0.0.1:1"])
        .output()
        .expect("uwsgi runs");
    assert!(!dead.status.success());
}

/// A uwsgi signal packet (modifier1 110) for a signal no handler is
/// registered for: uWSGI answers with a generic response (modifier1 255,
/// no payload, result 1 in modifier2), which our parsers read.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn uwsgi_server_signal() {
    let _r = record("uwsgi-server", "ping, GET_VALUES, subscription");
    let mut s = tcp("INTEROP_UWSGI_SERVER");
    s.write_all(&uwsgi_proto::special::signal(1)).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let (packet, used) = uwsgi_proto::Packet::parse(&buf, &uwsgi_proto::Limits::default())
        .unwrap()
        .complete()
        .expect("a whole reply packet");
    assert_eq!(used, buf.len());
    assert!(packet.payload().is_empty());
    assert_eq!(
        uwsgi_proto::special::GenericResponse::from_packet(&packet),
        Some(uwsgi_proto::special::GenericResponse { result: 1 })
    );
}

/// More request shapes through both: odd targets (dot segments, `//`,
/// `%2F`, `;params`, absolute form) and header policies where the gateway
/// deliberately differs from nginx, each difference stated exactly.
#[test]
#[ignore = "needs real peers: run scripts/interop.sh"]
fn gateway_policies() {
    use Want::{Absent, Is};
    // (target, extra head lines, body, uwsgi-only differences, FastCGI-only differences)
    type Case = (
        &'static str,
        &'static [u8],
        &'static [u8],
        &'static [Known],
        &'static [Known],
    );
    let cases: &[Case] = &[
        ("/a/../echo/./b//c", b"", b"", &[], &[]),
        ("/echo/a%2Fb%20c;p=1?x=%2F&x=2", b"", b"", &[], &[]),
        ("/echo/caf%C3%A9/%E9?q", b"", b"", &[], &[]),
        // the absolute-form authority names the server for the gateway (and
        // is its `$host`; nginx's fastcgi.conf passes the raw Host header)
        (
            "http://other.test/echo/abs?z=1",
            b"",
            b"",
            &[("SERVER_NAME", Is("localhost"), Is("other.test"))],
            &[
                ("SERVER_NAME", Is("localhost"), Is("other.test")),
                ("HTTP_HOST", Is("example.test"), Is("other.test")),
            ],
        ),
        // fastcgi.conf (nginx) has no HTTP_HOST line; the gateway's
        // fastcgi_params preset sends Debian's `$host` (lower case, no port)
        (
            "/echo/h",
            b"Host: EXAMPLE.test:8080\r\n",
            b"",
            &[],
            &[("HTTP_HOST", Is("EXAMPLE.test:8080"), Is("example.test"))],
        ),
        (
            "/echo/h",
            b"Host: [::1]:8080\r\n",
            b"",
            &[("SERVER_NAME", Is("localhost"), Is("[::1]"))],
            &[
                ("SERVER_NAME", Is("localhost"), Is("[::1]")),
                ("HTTP_HOST", Is("[::1]:8080"), Is("[::1]")),
            ],
        ),
        // httpoxy: nginx passes `Proxy` on as HTTP_PROXY, the gateway never
        // (PHP drops HTTP_PROXY itself, so PHP-FPM sees neither)
        (
            "/echo/h",
            b"Proxy: http://evil.test/\r\n",
            b"",
            &[("HTTP_PROXY", Is("http://evil.test/"), Absent)],
            &[],
        ),
        // nginx de-chunks but still forwards the header; the gateway drops it
        (
            "/echo/h",
            b"Transfer-Encoding: chunked\r\n",
            b"3\r\nabc\r\n0\r\n\r\n",
            &[("HTTP_TRANSFER_ENCODING", Is("chunked"), Absent)],
            &[("HTTP_TRANSFER_ENCODING", Is("chunked"), Absent)],
        ),
        // nginx fills REMOTE_USER from an unchecked Basic header
        (
            "/echo/h",
            b"Authorization: Basic Zm9vOmJhcg==\r\n",
            b"",
            &[],
            &[("REMOTE_USER", Is("foo"), Is(""))],
        ),
        (
            "/echo/h",
            b"X-Empty:\r\nX-Tab: a\tb\r\nx-lower: v\r\nX-9: n\r\nX-Forwarded-For: 192.0.2.1\r\n\
              Content-Type: text/plain; charset=utf-8\r\n",
            b"",
            &[],
            &[],
        ),
    ];
    for (ends, peer, script) in [
        (GW_UWSGI, "gateway+uwsgi", None),
        (GW_FCGI, "gateway+php-fpm", Some("/conf/echo.php")),
    ] {
        for &(target, head, body, u_known, f_known) in cases {
            // PHP-FPM needs the script: its cases vary the query only
            let target = match script {
                None => target.to_owned(),
                Some(s) if target.starts_with("http://") => format!("http://other.test{s}?z=1"),
                Some(s) => format!("{s}?t={}", target.replace(['?', '&', '#'], "_")),
            };
            let host: &[u8] = if head.starts_with(b"Host:") {
                b""
            } else {
                b"Host: example.test\r\n"
            };
            let method = if body.is_empty() { "GET" } else { "POST" };
            let mut raw = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
            raw.extend_from_slice(host);
            raw.extend_from_slice(head);
            raw.extend_from_slice(b"Connection: close\r\n\r\n");
            raw.extend_from_slice(body);
            let want: &[u8] = if body.is_empty() { b"" } else { b"abc" };
            let k = known(ends, if script.is_some() { f_known } else { u_known });
            gateway_vs_nginx(peer, "gateway = nginx", ends, &raw, &k, want);
        }
    }
}
