//! gateway in front of environ-dump, over uwsgi and FastCGI: exact decoded
//! vars, a 2 MiB body carried intact both as Content-Length and chunked,
//! 502 when the backend is down.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use sha2::{Digest, Sha256};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &str, args: &[&str], lines: usize) -> (Kill, Vec<String>) {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = (0..lines).map(|_| out.next().unwrap().unwrap()).collect();
    (Kill(child), ready)
}

/// environ-dump (JSON reports) on uwsgi and FastCGI: (process, uwsgi addr, fcgi addr).
fn dump() -> (Kill, String, String) {
    let (k, ready) = spawn(
        env!("CARGO_BIN_EXE_environ-dump"),
        &[
            "--uwsgi",
            "127.0.0.1:0",
            "--fastcgi",
            "127.0.0.1:0",
            "--format",
            "json",
        ],
        2,
    );
    let u = ready[0]
        .strip_prefix("listening uwsgi://")
        .unwrap()
        .to_owned();
    let f = ready[1]
        .strip_prefix("listening fcgi://")
        .unwrap()
        .to_owned();
    (k, u, f)
}

fn gateway(args: &[&str]) -> (Kill, String) {
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let (k, ready) = spawn(env!("CARGO_BIN_EXE_gateway"), &all, 1);
    let addr = ready[0]
        .strip_prefix("listening http://")
        .unwrap()
        .to_owned();
    (k, addr)
}

struct Reply {
    status: u16,
    headers: String,
    body: Vec<u8>,
    /// The client's local port (the gateway's REMOTE_PORT).
    port: u16,
}

/// One HTTP/1.1 request with `Connection: close`, read to EOF.
fn http(addr: &str, head: &str, body: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let port = s.local_addr().unwrap().port();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8(all[..split].to_vec()).unwrap();
    let status = headers[9..12].parse().unwrap();
    let mut body = all[split + 4..].to_vec();
    if headers
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
        port,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
}

fn vars(body: &[u8]) -> (Vec<(String, String)>, serde_json::Value) {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    let vars = v["vars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (vars, v)
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const GET: &str = "GET /app/a%20b?x=1&y=%C3%A9 HTTP/1.1\r\nHost: example.test:8080\r\n\
                   X-Trace: 7\r\nProxy: http://evil\r\nConnection: close\r\n\r\n";

#[test]
fn uwsgi_get_carries_the_uwsgi_params_preset() {
    let (_d, u, _f) = dump();
    let (_g, gw) = gateway(&["--backend", &format!("uwsgi://{u}")]);
    let r = http(&gw, GET, b"");
    assert_eq!(r.status, 200, "{}", r.headers);
    let (got, _) = vars(&r.body);
    let remote_port = r.port.to_string();
    let server_port = gw.rsplit_once(':').unwrap().1;
    let want = pairs(&[
        ("QUERY_STRING", "x=1&y=%C3%A9"),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("REQUEST_URI", "/app/a%20b?x=1&y=%C3%A9"),
        ("PATH_INFO", "/app/a b"),
        ("DOCUMENT_ROOT", ""),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", &remote_port),
        ("SERVER_PORT", server_port),
        ("SERVER_NAME", "example.test"),
        ("HTTP_HOST", "example.test"),
        ("HTTP_X_TRACE", "7"),
    ]);
    assert_eq!(got, want);
}

#[test]
fn fastcgi_get_carries_fastcgi_params_and_script_filename() {
    let (_d, _u, f) = dump();
    let (_g, gw) = gateway(&[
        "--backend",
        &format!("fcgi://{f}"),
        "--document-root",
        "/srv/www",
        "--server-name",
        "localhost",
    ]);
    let r = http(
        &gw,
        "GET /dir/?q=1 HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.headers);
    let (got, _) = vars(&r.body);
    let remote_port = r.port.to_string();
    let server_port = gw.rsplit_once(':').unwrap().1;
    let want = pairs(&[
        ("QUERY_STRING", "q=1"),
        ("REQUEST_METHOD", "GET"),
        ("CONTENT_TYPE", ""),
        ("CONTENT_LENGTH", ""),
        ("SCRIPT_NAME", "/dir/index.php"),
        ("REQUEST_URI", "/dir/?q=1"),
        ("DOCUMENT_URI", "/dir/"),
        ("DOCUMENT_ROOT", "/srv/www"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_SCHEME", "http"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_SOFTWARE", "gateway"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", &remote_port),
        ("REMOTE_USER", ""),
        ("SERVER_ADDR", "127.0.0.1"),
        ("SERVER_PORT", server_port),
        ("SERVER_NAME", "localhost"),
        ("REDIRECT_STATUS", "200"),
        ("HTTP_HOST", "example.test"),
        ("SCRIPT_FILENAME", "/srv/www/dir/index.php"),
    ]);
    assert_eq!(got, want);
}

fn big_body() -> (Vec<u8>, String) {
    // 2 MiB of every byte value, not a repeating short pattern.
    let body: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let sha = hex::encode(Sha256::digest(&body));
    (body, sha)
}

#[test]
fn two_mib_post_reaches_both_protocols_intact() {
    let (_d, u, f) = dump();
    let (body, sha) = big_body();
    for backend in [format!("uwsgi://{u}"), format!("fcgi://{f}")] {
        let (_g, gw) = gateway(&["--backend", &backend, "--script-filename", "/srv/app.php"]);
        let head = format!(
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let r = http(&gw, &head, &body);
        assert_eq!(r.status, 200, "{backend}: {}", r.headers);
        let (got, v) = vars(&r.body);
        assert_eq!(v["body_len"], 2 * 1024 * 1024, "{backend}");
        assert_eq!(v["body_sha256"], sha.as_str(), "{backend}");
        let get = |k: &str| got.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CONTENT_LENGTH"), Some("2097152"), "{backend}");
        assert_eq!(get("CONTENT_TYPE"), Some("application/octet-stream"));
        assert_eq!(get("REQUEST_METHOD"), Some("POST"));
        if backend.starts_with("fcgi") {
            assert_eq!(get("SCRIPT_FILENAME"), Some("/srv/app.php"));
        }

        // The same body chunked: buffered to learn CONTENT_LENGTH.
        let mut chunked = Vec::new();
        for c in body.chunks(100_000) {
            chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            chunked.extend_from_slice(c);
            chunked.extend_from_slice(b"\r\n");
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let r = http(
            &gw,
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            &chunked,
        );
        assert_eq!(r.status, 200, "{backend}: {}", r.headers);
        let (got, v) = vars(&r.body);
        assert_eq!(v["body_sha256"], sha.as_str(), "{backend}");
        let get = |k: &str| got.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("CONTENT_LENGTH"), Some("2097152"), "{backend}");
    }
}

#[test]
fn backend_down_is_502_with_one_line_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for scheme in ["uwsgi", "fcgi"] {
        let backend = format!("{scheme}://127.0.0.1:{port}");
        let (_g, gw) = gateway(&["--backend", &backend]);
        let r = http(
            &gw,
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"",
        );
        assert_eq!(r.status, 502, "{}", r.headers);
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            format!("bad gateway: {backend}: connect: connection refused\n")
        );
    }
}

#[test]
fn path_escaping_the_root_is_400_before_any_backend_connection() {
    let (_d, u, _f) = dump();
    let (_g, gw) = gateway(&["--backend", &format!("uwsgi+unix:///nonexistent/{u}")]);
    // A path escaping the root is refused before any backend connection
    // (the backend here does not even exist: no 502).
    let r = http(
        &gw,
        "GET /a/%2e%2e/%2e%2e/etc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.headers);
}

#[test]
fn ctrl_c_stops_accepting_and_exits_zero() {
    let (_d, u, _f) = dump();
    let (mut g, gw) = gateway(&["--backend", &format!("uwsgi://{u}")]);
    // An idle keep-alive connection does not hold the shutdown up.
    let mut idle = TcpStream::connect(&gw).unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 12];
    idle.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 200");
    let t = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &g.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = g.0.wait().unwrap();
    assert!(status.success());
    assert!(
        t.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        t.elapsed()
    );
    assert!(TcpStream::connect(&gw).is_err());
}

/// A backend that accepts and reads but answers `reply` (or nothing).
fn fake_backend(reply: Option<&'static [u8]>) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            let mut s = s.unwrap();
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            match reply {
                Some(r) => {
                    // End our side, then read until the gateway closes:
                    // unread request bytes at close would make it a reset.
                    let _ = s.write_all(r);
                    let _ = s.shutdown(std::net::Shutdown::Write);
                    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                }
                None => held.push(s),
            }
        }
    });
    addr
}

#[test]
fn silent_backend_is_504_after_the_timeout() {
    let b = fake_backend(None);
    let (_g, gw) = gateway(&["--backend", &format!("fcgi://{b}"), "--timeout", "1"]);
    let t = std::time::Instant::now();
    let r = http(
        &gw,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 504, "{}", r.headers);
    assert!(t.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        format!("gateway timeout: fcgi://{b}\n")
    );
}

#[test]
fn malformed_replies_are_502_naming_the_offset() {
    // uwsgi: a head that is not HTTP.
    let b = fake_backend(Some(b"HTTP/1.1 2x0 OK\r\n\r\n"));
    let (_g, gw) = gateway(&["--backend", &format!("uwsgi://{b}")]);
    let r = http(
        &gw,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 502, "{}", r.headers);
    // FastCGI: a record of version 2 at offset 16.
    let b = fake_backend(Some(
        b"\x01\x06\x00\x01\x00\x08\x00\x00Status: \x02\x06\x00\x01\x00\x00\x00\x00",
    ));
    let (_g2, gw) = gateway(&["--backend", &format!("fcgi://{b}")]);
    let r = http(
        &gw,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 502, "{}", r.headers);
    let body = String::from_utf8(r.body).unwrap();
    assert!(
        body.starts_with(&format!("bad gateway: fcgi://{b}: malformed reply: ")),
        "{body}"
    );
    assert!(body.contains("offset 16"), "{body}");
    // FastCGI: END_REQUEST before any CGI head.
    let b = fake_backend(Some(
        b"\x01\x03\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ));
    let (_g3, gw) = gateway(&["--backend", &format!("fcgi://{b}")]);
    let r = http(
        &gw,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 502, "{}", r.headers);
}

#[test]
fn head_request_has_no_body_and_keep_alive_serves_the_next_request() {
    let (_d, u, f) = dump();
    for backend in [format!("uwsgi://{u}"), format!("fcgi://{f}")] {
        let (_g, gw) = gateway(&["--backend", &backend]);
        let mut s = TcpStream::connect(&gw).unwrap();
        s.write_all(b"HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        let text = String::from_utf8_lossy(&all);
        // Two responses; the first carries a Content-Length but no body.
        assert_eq!(
            text.matches("HTTP/1.1 200 OK\r\n").count(),
            2,
            "{backend}: {text}"
        );
        let second = text.rfind("HTTP/1.1 200 OK").unwrap();
        assert!(
            !text[..second].contains("REQUEST_METHOD"),
            "{backend}: {text}"
        );
        assert!(
            text[second..].contains(r#"["REQUEST_METHOD","GET"]"#),
            "{backend}: {text}"
        );
    }
}

#[test]
fn fastcgi_local_redirect_becomes_a_302_for_the_client() {
    // STDOUT "Location: /elsewhere\r\n\r\n", then END_REQUEST.
    let b = fake_backend(Some(
        b"\x01\x06\x00\x01\x00\x18\x00\x00Location: /elsewhere\r\n\r\n\
          \x01\x03\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ));
    let (_g, gw) = gateway(&["--backend", &format!("fcgi://{b}")]);
    let r = http(
        &gw,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(r.status, 302, "{}", r.headers);
    assert!(
        r.headers.contains("location: /elsewhere\r\n"),
        "{}",
        r.headers
    );
}

#[test]
fn a_body_that_stalls_is_cut_off_after_the_timeout() {
    // Head and 3 of 10 body bytes, then silence with the connection open.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming() {
            let mut s = s.unwrap();
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
            held.push(s);
        }
    });
    let (_g, gw) = gateway(&["--backend", &format!("uwsgi://{b}"), "--timeout", "1"]);
    let mut s = TcpStream::connect(&gw).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (got, took) = {
        let t = std::time::Instant::now();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        (all, t.elapsed())
    };
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nabc"), "{text}");
    assert!(took >= std::time::Duration::from_millis(900), "{took:?}");
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

#[test]
fn in_front_of_tower_serve_streams_and_keeps_duplicate_headers() {
    let (_t, ready) = spawn(
        env!("CARGO_BIN_EXE_tower-serve"),
        &["--uwsgi", "127.0.0.1:0", "--fastcgi", "127.0.0.1:0"],
        2,
    );
    let u = ready[0].strip_prefix("listening uwsgi://").unwrap();
    let f = ready[1].strip_prefix("listening fcgi://").unwrap();
    for backend in [format!("uwsgi://{u}"), format!("fcgi://{f}")] {
        let (_g, gw) = gateway(&["--backend", &backend]);
        let r = http(
            &gw,
            "GET /stream?chunks=3&size=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"",
        );
        assert_eq!(r.status, 200, "{backend}: {}", r.headers);
        assert!(
            r.headers.contains("transfer-encoding: chunked"),
            "{}",
            r.headers
        );
        assert_eq!(r.body, b"xxxxxxxxxxxxxxx", "{backend}");
        let r = http(
            &gw,
            "GET /status/404 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"",
        );
        assert_eq!(r.status, 404, "{backend}");
        assert!(
            r.headers
                .contains("x-status-code: 404\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n"),
            "{backend}: {}",
            r.headers
        );
    }
}
