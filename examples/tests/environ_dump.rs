//! environ-dump's connection policy: idle timeout (slowloris defence),
//! connection limit, --exit-after and graceful Ctrl-C.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Kill, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_environ-dump"))
        .args(["--uwsgi", "127.0.0.1:0", "--quiet"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    // Every ready line is read before the pipe is dropped.
    if args.contains(&"--uwsgi-unix") {
        lines.next().unwrap().unwrap();
    }
    let addr = first.strip_prefix("listening uwsgi://").unwrap().to_owned();
    (Kill(child), addr)
}

/// A complete uwsgi GET (no body).
fn get_packet() -> Vec<u8> {
    let mut v = Vec::new();
    uwsgi_proto::encode_packet(
        uwsgi_proto::Modifier1::WSGI,
        0,
        [
            ("REQUEST_METHOD", "GET"),
            ("PATH_INFO", "/"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ],
        &mut v,
    )
    .unwrap();
    v
}

/// Reads until EOF, returning what came and how long it took.
fn read_all(s: &mut TcpStream) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (out, t.elapsed())
}

#[test]
fn silent_and_dripping_connections_are_closed_after_the_idle_timeout() {
    let (_d, addr) = start(&["--idle-timeout", "1"]);
    // Sends nothing.
    let mut silent = TcpStream::connect(&addr).unwrap();
    // Sends half a request head, then nothing.
    let mut partial = TcpStream::connect(&addr).unwrap();
    partial.write_all(&get_packet()[..10]).unwrap();
    let t = Instant::now();
    for s in [&mut silent, &mut partial] {
        let (got, _) = read_all(s);
        assert!(got.is_empty());
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(800), "{took:?}");
        assert!(took < Duration::from_secs(10), "{took:?}");
    }
    // A complete request is still answered.
    let mut ok = TcpStream::connect(&addr).unwrap();
    ok.write_all(&get_packet()).unwrap();
    let (got, _) = read_all(&mut ok);
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

#[test]
fn connections_past_the_limit_wait_for_a_slot() {
    let (_d, addr) = start(&["--max-connections", "1", "--idle-timeout", "30"]);
    let mut first = TcpStream::connect(&addr).unwrap();
    first.write_all(&get_packet()[..4]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // The second connection completes its TCP handshake (backlog) but is not
    // served while the first holds the only slot.
    let mut second = TcpStream::connect(&addr).unwrap();
    second.write_all(&get_packet()).unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    let e = second.read(&mut buf).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e}"
    );
    // The first finishes its request: the second is served.
    first.write_all(&get_packet()[4..]).unwrap();
    let (got, _) = read_all(&mut first);
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let (got, _) = read_all(&mut second);
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

#[test]
fn exit_after_ends_with_status_zero() {
    let (mut d, _addr) = start(&["--exit-after", "1"]);
    let t = Instant::now();
    let status = d.0.wait().unwrap();
    assert!(status.success());
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn ctrl_c_lets_a_request_in_progress_finish_then_exits_zero() {
    let sock = std::env::temp_dir().join(format!("environ-dump-int-{}.sock", std::process::id()));
    let (mut d, addr) = start(&["--uwsgi-unix", sock.to_str().unwrap()]);
    let mut s = TcpStream::connect(&addr).unwrap();
    let p = get_packet();
    s.write_all(&p[..6]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let kill = Command::new("kill")
        .args(["-INT", &d.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // Not accepting any more (the listener closes soon after the signal),
    // but the request in progress is answered.
    let t = Instant::now();
    while TcpStream::connect(&addr).is_ok() {
        assert!(t.elapsed() < Duration::from_secs(5), "still accepting");
        std::thread::sleep(Duration::from_millis(50));
    }
    s.write_all(&p[6..]).unwrap();
    let (got, _) = read_all(&mut s);
    assert!(got.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let status = d.0.wait().unwrap();
    assert!(status.success());
    assert!(!sock.exists(), "unix socket file left behind");
}
