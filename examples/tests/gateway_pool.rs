//! gateway in front of a fake FastCGI backend that counts connections:
//! kept connections (FCGI_KEEP_CONN) are reused, stale ones are replaced
//! without failing the client, `--keepalive 0` opens one connection per
//! request without KEEP_CONN.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn gateway(backend: &str, extra: &[&str]) -> (Kill, String) {
    let mut args = vec!["--listen", "127.0.0.1:0", "--backend", backend];
    args.extend_from_slice(extra);
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = out.next().unwrap().unwrap();
    let addr = line.strip_prefix("listening http://").unwrap().to_owned();
    (Kill(child), addr)
}

/// What the fake backend does after answering a request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Keeps the connection when BEGIN_REQUEST has FCGI_KEEP_CONN, else
    /// closes it (the protocol's rule).
    Honour,
    /// Closes after every END_REQUEST whatever the flags say.
    IgnoreKeepConn,
    /// Keeps the connection, but closes it when it stays idle for 100 ms.
    CloseIdle,
    /// Answers the first request of a connection; reads the second one in
    /// full, then closes without a byte of response.
    DropSecond,
    /// Like `Honour`, but the first requests of the first two connections
    /// are answered only once both have arrived (two in flight at once).
    Pair,
    /// Like `Honour`, with `Content-Length: 6` in the reply head, and
    /// END_REQUEST sent 20 ms after the body.
    LengthLateEnd,
    /// Like `Honour`, with the reply head cut across two STDOUT records.
    SplitHead,
}

struct Counts {
    connections: AtomicUsize,
    /// Connections the gateway closed (EOF between requests).
    closed: AtomicUsize,
    pair: tokio::sync::Barrier,
    /// Requests read in full (BEGIN_REQUEST to the empty STDIN).
    requests: AtomicUsize,
    /// Every BEGIN_REQUEST record (header and body), in arrival order.
    begins: Mutex<Vec<Vec<u8>>>,
    /// STDIN bytes of every request, in arrival order.
    bodies: Mutex<Vec<usize>>,
}

const REPLY_HEAD: &[u8] = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
const REPLY_HEAD_LENGTH: &[u8] = b"Content-Type: text/plain\r\nContent-Length: 6\r\n\r\n";

/// One record: (type, request id, content); `None` at EOF.
async fn record(s: &mut tokio::net::TcpStream) -> Option<(u8, u16, Vec<u8>)> {
    let mut h = [0u8; 8];
    s.read_exact(&mut h).await.ok()?;
    let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    let mut content = vec![0u8; len + usize::from(h[6])];
    s.read_exact(&mut content).await.ok()?;
    content.truncate(len);
    Some((h[1], u16::from_be_bytes([h[2], h[3]]), content))
}

fn encode(ty: u8, id: u16, content: &[u8]) -> Vec<u8> {
    let mut r = vec![1, ty];
    r.extend_from_slice(&id.to_be_bytes());
    r.extend_from_slice(&(content.len() as u16).to_be_bytes());
    r.extend_from_slice(&[0, 0]);
    r.extend_from_slice(content);
    r
}

/// Reads one whole request; returns (id, keep_conn), or `None` at EOF.
async fn read_request(s: &mut tokio::net::TcpStream, counts: &Counts) -> Option<(u16, bool)> {
    let (ty, id, begin) = record(s).await?;
    assert_eq!(ty, 1, "first record is BEGIN_REQUEST");
    let mut raw = encode(ty, id, &begin);
    raw.truncate(16);
    counts.begins.lock().unwrap().push(raw);
    let keep = begin[2] & 1 == 1;
    let (mut params_done, mut body) = (false, 0usize);
    loop {
        let (ty, rid, content) = record(s).await?;
        assert_eq!(rid, id);
        match ty {
            4 if content.is_empty() => params_done = true,
            4 => {}
            5 if content.is_empty() => break,
            5 => body += content.len(),
            t => panic!("unexpected record type {t}"),
        }
    }
    assert!(params_done);
    counts.bodies.lock().unwrap().push(body);
    counts.requests.fetch_add(1, Ordering::SeqCst);
    Some((id, keep))
}

async fn serve_conn(mut s: tokio::net::TcpStream, mode: Mode, counts: Arc<Counts>) {
    let mut served = 0usize;
    loop {
        let next = if mode == Mode::CloseIdle && served > 0 {
            match tokio::time::timeout(Duration::from_millis(100), read_request(&mut s, &counts))
                .await
            {
                Ok(r) => r,
                Err(_) => return,
            }
        } else {
            read_request(&mut s, &counts).await
        };
        let Some((id, keep)) = next else {
            counts.closed.fetch_add(1, Ordering::SeqCst);
            return;
        };
        if mode == Mode::DropSecond && served == 1 {
            return;
        }
        if mode == Mode::Pair && served == 0 {
            counts.pair.wait().await;
        }
        served += 1;
        let head = if mode == Mode::LengthLateEnd {
            REPLY_HEAD_LENGTH
        } else {
            REPLY_HEAD
        };
        let whole = [head, b"hello\n"].concat();
        let mut out = if mode == Mode::SplitHead {
            [encode(6, id, &whole[..20]), encode(6, id, &whole[20..])].concat()
        } else {
            encode(6, id, &whole)
        };
        if mode == Mode::LengthLateEnd {
            if s.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        out.extend_from_slice(&encode(6, id, b""));
        out.extend_from_slice(&encode(3, id, &[0; 8]));
        if s.write_all(&out).await.is_err() {
            return;
        }
        if !keep || mode == Mode::IgnoreKeepConn {
            return;
        }
    }
}

/// A fake FastCGI backend on its own runtime thread.
fn backend(mode: Mode) -> (String, Arc<Counts>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let counts = Arc::new(Counts {
        connections: AtomicUsize::new(0),
        closed: AtomicUsize::new(0),
        pair: tokio::sync::Barrier::new(2),
        requests: AtomicUsize::new(0),
        begins: Mutex::default(),
        bodies: Mutex::default(),
    });
    let c = counts.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            loop {
                let (s, _) = l.accept().await.unwrap();
                c.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_conn(s, mode, c.clone()));
            }
        });
    });
    (addr, counts)
}

/// Sends one request on a kept-alive client connection, returns (status, body).
fn request(s: &mut BufReader<TcpStream>, method: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let head = format!(
        "{method} / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let head = if body.is_empty() && method != "POST" {
        format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n")
    } else {
        head
    };
    s.get_mut().write_all(head.as_bytes()).unwrap();
    s.get_mut().write_all(body).unwrap();
    let mut status = String::new();
    s.read_line(&mut status).unwrap();
    let head_only = method == "HEAD";
    let code = status[9..12].parse().unwrap();
    let (mut len, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        s.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        let l = line.to_ascii_lowercase();
        if let Some(v) = l.strip_prefix("content-length: ") {
            len = Some(v.trim().parse::<usize>().unwrap());
        }
        if l.starts_with("transfer-encoding: chunked") {
            chunked = true;
        }
    }
    let mut out = Vec::new();
    if head_only {
        return (code, out);
    }
    if chunked {
        loop {
            let mut size = String::new();
            s.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0u8; n + 2];
            s.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
    } else {
        let mut b = vec![0u8; len.unwrap()];
        s.read_exact(&mut b).unwrap();
        out = b;
    }
    (code, out)
}

fn client(gw: &str) -> BufReader<TcpStream> {
    let s = TcpStream::connect(gw).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    BufReader::new(s)
}

fn get(gw: &str) -> (u16, Vec<u8>) {
    request(&mut client(gw), "GET", b"")
}

#[test]
fn fifty_sequential_requests_use_one_backend_connection() {
    let (b, counts) = backend(Mode::Honour);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    // A new client connection per request: the pool is the gateway's, not
    // the client connection's.
    for i in 0..50 {
        let (status, body) = if i % 2 == 0 {
            get(&gw)
        } else {
            request(&mut client(&gw), "POST", &[7u8; 3000])
        };
        assert_eq!((status, &body[..]), (200, &b"hello\n"[..]), "request {i}");
    }
    assert_eq!(counts.connections.load(Ordering::SeqCst), 1);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 50);
    let bodies = counts.bodies.lock().unwrap().clone();
    let want: Vec<usize> = (0..50).map(|i| if i % 2 == 0 { 0 } else { 3000 }).collect();
    assert_eq!(bodies, want);
}

#[test]
fn kept_request_begins_with_keep_conn_flag_set() {
    let (b, counts) = backend(Mode::Honour);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    assert_eq!(get(&gw).0, 200);
    assert_eq!(get(&gw).0, 200);
    let begins = counts.begins.lock().unwrap().clone();
    // BEGIN_REQUEST, id 1, 8 bytes; role RESPONDER, flags FCGI_KEEP_CONN.
    let want = b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00".to_vec();
    assert_eq!(begins, vec![want.clone(), want]);
    assert_eq!(counts.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn keepalive_zero_opens_a_connection_per_request_without_keep_conn() {
    let (b, counts) = backend(Mode::Honour);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &["--keepalive", "0"]);
    for _ in 0..5 {
        assert_eq!(get(&gw), (200, b"hello\n".to_vec()));
    }
    assert_eq!(counts.connections.load(Ordering::SeqCst), 5);
    let begins = counts.begins.lock().unwrap().clone();
    let want = b"\x01\x01\x00\x01\x00\x08\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00".to_vec();
    assert_eq!(begins, vec![want; 5]);
}

#[test]
fn concurrent_clients_share_at_most_one_connection_each() {
    for threads in [None, Some("1"), Some("3")] {
        concurrent_clients(threads);
    }
}

#[test]
fn threads_must_be_a_positive_number() {
    for bad in ["0", "-1", "x"] {
        let out = Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(["--backend", "fcgi://127.0.0.1:1", "--threads", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--threads {bad}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "gateway: --threads needs a positive number\n"
        );
    }
}

/// `CLIENTS` clients at once through a gateway on a current-thread (`--threads
/// 1`), multi-thread (`3`) or default runtime.
fn concurrent_clients(runtime: Option<&str>) {
    const CLIENTS: usize = 4;
    let (b, counts) = backend(Mode::Honour);
    let extra: Vec<&str> = runtime.map(|n| vec!["--threads", n]).unwrap_or_default();
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &extra);
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let gw = gw.clone();
            std::thread::spawn(move || {
                let mut c = client(&gw);
                for _ in 0..15 {
                    assert_eq!(request(&mut c, "GET", b""), (200, b"hello\n".to_vec()));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counts.requests.load(Ordering::SeqCst), CLIENTS * 15);
    let n = counts.connections.load(Ordering::SeqCst);
    assert!(
        (1..=CLIENTS).contains(&n),
        "{n} backend connections (--threads {runtime:?})"
    );
}

/// Two requests in flight at once on two connections, then sequential ones
/// (the gateway is returned: its exit would close every connection).
fn pair_then_sequential(keepalive: &str) -> (Kill, Arc<Counts>) {
    let (b, counts) = backend(Mode::Pair);
    let (g, gw) = gateway(&format!("fcgi://{b}"), &["--keepalive", keepalive]);
    let both: Vec<_> = (0..2)
        .map(|_| {
            let gw = gw.clone();
            std::thread::spawn(move || get(&gw))
        })
        .collect();
    for t in both {
        assert_eq!(t.join().unwrap(), (200, b"hello\n".to_vec()));
    }
    for _ in 0..6 {
        assert_eq!(get(&gw).0, 200);
    }
    // Let a close reach the backend.
    std::thread::sleep(Duration::from_millis(200));
    (g, counts)
}

#[test]
fn keepalive_bounds_the_idle_connections() {
    // One idle connection kept: of the two, one is closed once both are done.
    let (_g, counts) = pair_then_sequential("1");
    assert_eq!(counts.connections.load(Ordering::SeqCst), 2);
    assert_eq!(counts.closed.load(Ordering::SeqCst), 1);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 8);
    // Two kept: both stay open.
    let (_g2, counts) = pair_then_sequential("2");
    assert_eq!(counts.connections.load(Ordering::SeqCst), 2);
    assert_eq!(counts.closed.load(Ordering::SeqCst), 0);
}

#[test]
fn a_connection_closed_while_idle_is_replaced_before_use() {
    let (b, counts) = backend(Mode::CloseIdle);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    // Back to back: the same connection.
    assert_eq!(get(&gw).0, 200);
    assert_eq!(get(&gw).0, 200);
    assert_eq!(counts.connections.load(Ordering::SeqCst), 1);
    // Idle past the backend's limit: it closed the connection; the next
    // request, with a body (never sent twice), goes on a new one.
    std::thread::sleep(Duration::from_millis(400));
    let r = request(&mut client(&gw), "POST", &[1u8; 100_000]);
    assert_eq!(r, (200, b"hello\n".to_vec()));
    assert_eq!(counts.connections.load(Ordering::SeqCst), 2);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(get(&gw).0, 200);
    assert_eq!(counts.connections.load(Ordering::SeqCst), 3);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 4);
    assert_eq!(*counts.bodies.lock().unwrap(), vec![0, 0, 100_000, 0]);
}

#[test]
fn a_bodiless_request_lost_on_a_reused_connection_is_sent_again_once() {
    let (b, counts) = backend(Mode::DropSecond);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    for i in 0..6 {
        assert_eq!(get(&gw), (200, b"hello\n".to_vec()), "request {i}");
    }
    // Request 1 on connection 1; every later one reaches the kept
    // connection, which closes without answering, then a new one.
    assert_eq!(counts.connections.load(Ordering::SeqCst), 6);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 11);
}

#[test]
fn a_request_with_a_body_lost_on_a_reused_connection_is_a_502() {
    let (b, counts) = backend(Mode::DropSecond);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    assert_eq!(get(&gw).0, 200);
    // The body was streamed to the kept connection, which closed without a
    // byte of response: it cannot be sent again.
    let (status, body) = request(&mut client(&gw), "POST", b"abc");
    assert_eq!(status, 502);
    let body = String::from_utf8(body).unwrap();
    assert_eq!(
        body,
        format!(
            "bad gateway: fcgi://{b}: malformed reply: connection closed at offset 0 before END_REQUEST\n"
        )
    );
    assert_eq!(counts.connections.load(Ordering::SeqCst), 1);
    assert_eq!(*counts.bodies.lock().unwrap(), vec![0, 3]);
    // The failed connection is not kept: the next request opens a new one.
    assert_eq!(get(&gw).0, 200);
    assert_eq!(counts.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn a_backend_ignoring_keep_conn_still_answers_every_request() {
    let (b, counts) = backend(Mode::IgnoreKeepConn);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    let mut c = client(&gw);
    for i in 0..20 {
        assert_eq!(
            request(&mut c, "GET", b""),
            (200, b"hello\n".to_vec()),
            "request {i}"
        );
    }
    assert_eq!(counts.connections.load(Ordering::SeqCst), 20);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 20);
    // Every request still asked to keep the connection.
    let begins = counts.begins.lock().unwrap().clone();
    assert!(begins.iter().all(|b| b[10] == 1));
}

#[test]
fn replies_with_a_length_and_head_requests_keep_the_connection() {
    // The client has the whole body once Content-Length bytes are in (and
    // at once for HEAD): the connection is kept after the END_REQUEST that
    // follows 20 ms later.
    let (b, counts) = backend(Mode::LengthLateEnd);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    let mut c = client(&gw);
    for i in 0..10 {
        let method = if i % 2 == 0 { "GET" } else { "HEAD" };
        let want = if i % 2 == 0 { &b"hello\n"[..] } else { b"" };
        let (status, body) = request(&mut c, method, b"");
        assert_eq!((status, &body[..]), (200, want), "request {i}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(counts.connections.load(Ordering::SeqCst), 1);
    assert_eq!(counts.requests.load(Ordering::SeqCst), 10);
}

#[test]
fn idle_connections_are_closed_after_the_keepalive_timeout() {
    let (b, counts) = backend(Mode::Honour);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &["--keepalive-timeout", "1"]);
    assert_eq!(get(&gw).0, 200);
    assert_eq!(get(&gw).0, 200);
    assert_eq!(counts.closed.load(Ordering::SeqCst), 0);
    // Closed by the gateway within 1.5 s of going idle, with no request.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(counts.closed.load(Ordering::SeqCst), 1);
    assert_eq!(get(&gw).0, 200);
    assert_eq!(counts.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn a_reply_head_cut_across_records_is_joined() {
    let (b, counts) = backend(Mode::SplitHead);
    let (_g, gw) = gateway(&format!("fcgi://{b}"), &[]);
    for _ in 0..3 {
        assert_eq!(get(&gw), (200, b"hello\n".to_vec()));
    }
    assert_eq!(counts.connections.load(Ordering::SeqCst), 1);
}
