//! tower-serve (an axum router on the tower adapter) over uwsgi and FastCGI,
//! TCP and unix: exact replies, duplicate headers, streamed chunks, a 2 MiB
//! body, FastCGI keep-conn and the uwsgi ping.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use examples::{fastcgi_request, request_head, uwsgi_request};
use futures_util::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::net::{TcpStream, UnixStream};
use tokio_util::codec::Framed;

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str]) -> (Kill, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tower-serve"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = (0..args.len() / 2)
        .map(|_| lines.next().unwrap().unwrap())
        .collect();
    (Kill(child), ready)
}

fn tcp_both() -> (Kill, String, String) {
    let (k, r) = serve(&["--uwsgi", "127.0.0.1:0", "--fastcgi", "127.0.0.1:0"]);
    let u = r[0].strip_prefix("listening uwsgi://").unwrap().to_owned();
    let f = r[1].strip_prefix("listening fcgi://").unwrap().to_owned();
    (k, u, f)
}

fn pairs(method: &str, path: &str, query: &str, body: &[u8]) -> Vec<(Bytes, Bytes)> {
    request_head(method, path, query, "example.test", &[], &[], body)
        .unwrap()
        .vars
        .iter()
        .map(|(k, v)| (Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)))
        .collect()
}

async fn uwsgi(addr: &str, method: &str, path: &str, query: &str, body: &[u8]) -> String {
    let head = request_head(method, path, query, "example.test", &[], &[], body).unwrap();
    let r = uwsgi_request(TcpStream::connect(addr).await.unwrap(), head, body)
        .await
        .unwrap();
    let mut text = format!(
        "{} {}\n",
        r.head.status,
        String::from_utf8_lossy(&r.head.reason)
    );
    for (n, v) in &r.head.headers {
        text.push_str(&format!(
            "{}: {}\n",
            String::from_utf8_lossy(n),
            String::from_utf8_lossy(v)
        ));
    }
    text.push('\n');
    text + &String::from_utf8_lossy(&r.body)
}

async fn fcgi(addr: &str, method: &str, path: &str, query: &str, body: &[u8]) -> String {
    let r = fastcgi_request(
        TcpStream::connect(addr).await.unwrap(),
        pairs(method, path, query, body),
        body,
    )
    .await
    .unwrap();
    assert_eq!(r.app_status, 0);
    assert!(r.stderr.is_empty());
    String::from_utf8(r.stdout).unwrap()
}

#[tokio::test]
async fn root_says_hello_over_both_protocols() {
    let (_k, u, f) = tcp_both();
    assert_eq!(
        uwsgi(&u, "GET", "/", "", b"").await,
        "200 OK\ncontent-type: text/plain; charset=utf-8\ncontent-length: 6\n\nhello\n"
    );
    assert_eq!(
        fcgi(&f, "GET", "/", "", b"").await,
        "Status: 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 6\r\n\r\nhello\n"
    );
}

#[tokio::test]
async fn status_route_keeps_duplicate_set_cookie() {
    let (_k, u, f) = tcp_both();
    assert_eq!(
        uwsgi(&u, "GET", "/status/418", "", b"").await,
        "418 I'm a teapot\nx-status-code: 418\nset-cookie: a=1\nset-cookie: b=2\ncontent-length: 0\n\n"
    );
    assert_eq!(
        fcgi(&f, "GET", "/status/503", "", b"").await,
        "Status: 503 Service Unavailable\r\nx-status-code: 503\r\nset-cookie: a=1\r\n\
         set-cookie: b=2\r\ncontent-length: 0\r\n\r\n"
    );
    assert_eq!(
        fcgi(&f, "GET", "/nowhere", "", b"").await,
        "Status: 404 Not Found\r\ncontent-length: 0\r\n\r\n"
    );
}

#[tokio::test]
async fn no_content_length_on_204() {
    // axum sets `content-length: 0` on every empty body; a 204 must not
    // carry one (RFC 9110 8.6), a 304 keeps what the service set.
    let (_k, u, f) = tcp_both();
    assert_eq!(
        uwsgi(&u, "GET", "/status/204", "", b"").await,
        "204 No Content\nx-status-code: 204\nset-cookie: a=1\nset-cookie: b=2\n\n"
    );
    assert_eq!(
        fcgi(&f, "GET", "/status/204", "", b"").await,
        "Status: 204 No Content\r\nx-status-code: 204\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n"
    );
    assert_eq!(
        fcgi(&f, "GET", "/status/304", "", b"").await,
        "Status: 304 Not Modified\r\nx-status-code: 304\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\
         content-length: 0\r\n\r\n"
    );
}

#[tokio::test]
async fn echo_hashes_a_two_mib_body_over_both_protocols() {
    let (_k, u, f) = tcp_both();
    let body: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let json = format!(
        "{{\"len\":2097152,\"sha256\":\"{}\"}}",
        hex::encode(Sha256::digest(&body))
    );
    let reply = uwsgi(&u, "POST", "/echo", "", &body).await;
    assert_eq!(
        reply,
        format!("200 OK\ncontent-type: application/json\ncontent-length: 91\n\n{json}")
    );
    let reply = fcgi(&f, "POST", "/echo", "", &body).await;
    assert_eq!(
        reply,
        format!(
            "Status: 200 OK\r\ncontent-type: application/json\r\ncontent-length: 91\r\n\r\n{json}"
        )
    );
}

/// Each chunk of `/stream` leaves as its own STDOUT record: one write and
/// flush per chunk, nothing gathered.
#[tokio::test]
async fn stream_route_sends_one_fastcgi_record_per_chunk() {
    use fastcgi_proto::codec::{ClientCodec, ClientInput};
    use fastcgi_proto::{Role, client};
    let (_k, _u, f) = tcp_both();
    let mut framed = Framed::new(
        TcpStream::connect(&f).await.unwrap(),
        ClientCodec::default(),
    );
    framed
        .send(ClientInput::Begin {
            id: 1,
            role: Role::RESPONDER,
            keep_conn: false,
        })
        .await
        .unwrap();
    framed
        .send(ClientInput::Params {
            id: 1,
            pairs: pairs("GET", "/stream", "chunks=3&size=5", b""),
        })
        .await
        .unwrap();
    framed.send(ClientInput::StdinEnd { id: 1 }).await.unwrap();
    let mut records = Vec::new();
    while let Some(ev) = framed.next().await {
        match ev.unwrap() {
            client::Event::Stdout { data, .. } => records.push(data),
            client::Event::End { end, .. } => {
                assert_eq!(end.app_status, 0);
                break;
            }
            e => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(
        records,
        [
            Bytes::from_static(b"Status: 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n"),
            Bytes::from_static(b"xxxxx"),
            Bytes::from_static(b"xxxxx"),
            Bytes::from_static(b"xxxxx"),
        ]
    );
}

#[tokio::test]
async fn stream_route_over_uwsgi_is_close_delimited() {
    let (_k, u, _f) = tcp_both();
    assert_eq!(
        uwsgi(&u, "GET", "/stream", "chunks=4&size=3", b"").await,
        "200 OK\ncontent-type: application/octet-stream\n\nxxxxxxxxxxxx"
    );
}

#[tokio::test]
async fn fastcgi_keep_conn_serves_requests_in_turn_on_one_connection() {
    use fastcgi_proto::codec::{ClientCodec, ClientInput};
    use fastcgi_proto::{Role, client};
    let (_k, _u, f) = tcp_both();
    let mut framed = Framed::new(
        TcpStream::connect(&f).await.unwrap(),
        ClientCodec::default(),
    );
    for (i, path) in ["/", "/status/201", "/echo"].into_iter().enumerate() {
        let method = if path == "/echo" { "POST" } else { "GET" };
        let body = b"abc";
        let body: &[u8] = if method == "POST" { body } else { b"" };
        framed
            .feed(ClientInput::Begin {
                id: 1,
                role: Role::RESPONDER,
                keep_conn: true,
            })
            .await
            .unwrap();
        framed
            .feed(ClientInput::Params {
                id: 1,
                pairs: pairs(method, path, "", body),
            })
            .await
            .unwrap();
        if !body.is_empty() {
            framed
                .feed(ClientInput::Stdin {
                    id: 1,
                    data: Bytes::copy_from_slice(body),
                })
                .await
                .unwrap();
        }
        framed.send(ClientInput::StdinEnd { id: 1 }).await.unwrap();
        let mut out = Vec::new();
        loop {
            match framed.next().await.unwrap().unwrap() {
                client::Event::Stdout { data, .. } => out.extend_from_slice(&data),
                client::Event::End { .. } => break,
                e => panic!("unexpected {e:?}"),
            }
        }
        let out = String::from_utf8(out).unwrap();
        let want = [
            "Status: 200 OK\r\n",
            "Status: 201 Created\r\n",
            "Status: 200 OK\r\n",
        ][i];
        assert!(out.starts_with(want), "request {i}: {out}");
    }
}

#[tokio::test]
async fn unix_sockets_and_uwsgi_ping() {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let us = dir.join(format!("tower-serve-u{pid}.sock"));
    let fs = dir.join(format!("tower-serve-f{pid}.sock"));
    let (_k, ready) = serve(&[
        "--uwsgi-unix",
        us.to_str().unwrap(),
        "--fastcgi-unix",
        fs.to_str().unwrap(),
    ]);
    assert_eq!(ready[0], format!("listening uwsgi+unix://{}", us.display()));
    assert_eq!(ready[1], format!("listening fcgi+unix://{}", fs.display()));
    let head = request_head("GET", "/", "", "localhost", &[], &[], b"").unwrap();
    let r = uwsgi_request(UnixStream::connect(&us).await.unwrap(), head, b"")
        .await
        .unwrap();
    assert_eq!((r.head.status, &r.body[..]), (200, &b"hello\n"[..]));
    let r = fastcgi_request(
        UnixStream::connect(&fs).await.unwrap(),
        pairs("GET", "/", "", b""),
        b"",
    )
    .await
    .unwrap();
    assert!(r.stdout.ends_with(b"\r\n\r\nhello\n"));

    // uwsgi ping (modifier1 100, empty payload) → pong.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = UnixStream::connect(&us).await.unwrap();
    s.write_all(&[100, 0, 0, 0]).await.unwrap();
    let mut pong = Vec::new();
    s.read_to_end(&mut pong).await.unwrap();
    assert_eq!(pong, [100, 0, 0, 1]);
}

#[test]
fn ctrl_c_exits_zero_and_removes_unix_sockets() {
    let sock = std::env::temp_dir().join(format!("tower-serve-int{}.sock", std::process::id()));
    let (mut k, _ready) = serve(&[
        "--uwsgi",
        "127.0.0.1:0",
        "--fastcgi-unix",
        sock.to_str().unwrap(),
    ]);
    assert!(sock.exists());
    let kill = Command::new("kill")
        .args(["-INT", &k.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(k.0.wait().unwrap().success());
    assert!(!sock.exists());
}

/// A service that answers at once with the request body streamed back: the
/// adapter must carry the request body in while the response goes out.
#[tokio::test]
async fn full_duplex_echo_through_the_library_over_both_protocols() {
    use axum::body::Body;
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/duplex",
        post(|body: Body| async move { http::Response::new(body) }),
    );
    let ul = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (ua, fa) = (ul.local_addr().unwrap(), fl.local_addr().unwrap());
    tokio::spawn(examples::tower::serve_uwsgi(ul, app.clone()));
    tokio::spawn(examples::tower::serve_fastcgi(fl, app));
    let body: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    let head = request_head("POST", "/duplex", "", "x", &[], &[], &body).unwrap();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        uwsgi_request(TcpStream::connect(ua).await.unwrap(), head, &body),
    )
    .await
    .expect("uwsgi duplex echo stalled")
    .unwrap();
    assert_eq!(r.head.status, 200);
    assert_eq!(r.body, body);
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        fastcgi_request(
            TcpStream::connect(fa).await.unwrap(),
            pairs("POST", "/duplex", "", &body),
            &body,
        ),
    )
    .await
    .expect("FastCGI duplex echo stalled")
    .unwrap();
    let split = r.stdout.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert_eq!(&r.stdout[..split], b"Status: 200 OK");
    assert_eq!(&r.stdout[split + 4..], &body[..]);
}
