//! backend-client against environ-dump over uwsgi and FastCGI, TCP and unix;
//! JSON output, GET_VALUES, ping, and one-line failures with exit codes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_dump(extra: &[&str]) -> (Kill, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_environ-dump"))
        .args(["--uwsgi", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let listeners = ["--uwsgi-unix", "--fastcgi", "--fastcgi-unix"];
    let want = 1 + extra.iter().filter(|a| listeners.contains(a)).count();
    let ready = (0..want).map(|_| lines.next().unwrap().unwrap()).collect();
    (Kill(child), ready)
}

const BODY_SHA: &str = "8c40e45a";

#[test]
fn client_and_dump_over_tcp() {
    let (_dump, ready) = start_dump(&[]);
    let addr = ready[0].strip_prefix("listening uwsgi://").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backend-client"))
        .args(["-H", "X-Trace: 7", "--var", "SERVER_NAME=example.org"])
        .args(["-d", "field=value&other=1"])
        .arg(format!("uwsgi://{addr}/submit?q=1"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    for want in [
        "REQUEST_METHOD=POST\n",
        "REQUEST_URI=/submit?q=1\n",
        "PATH_INFO=/submit\n",
        "QUERY_STRING=q=1\n",
        "HTTP_X_TRACE=7\n",
        "SERVER_NAME=example.org\n",
        "CONTENT_LENGTH=19\n",
        "body_len=19\n",
    ] {
        assert!(text.contains(want), "{want:?} missing in {text}");
    }
    assert!(text.contains(&format!("body_sha256={BODY_SHA}")), "{text}");
}

#[test]
fn client_and_dump_over_unix() {
    let path = std::env::temp_dir().join(format!("environ-dump-{}.sock", std::process::id()));
    let p = path.to_str().unwrap();
    let (_dump, _ready) = start_dump(&["--uwsgi-unix", p]);
    let out = Command::new(env!("CARGO_BIN_EXE_backend-client"))
        .args(["--unix", p, "uwsgi://localhost/x"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("REQUEST_METHOD=GET\nREQUEST_URI=/x\n"),
        "{text}"
    );
    assert!(text.contains("body_len=0\n"), "{text}");
}

#[test]
fn client_reports_refused_connection_with_exit_4() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_backend-client"))
        .arg(format!("uwsgi://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("backend-client: connect 127.0.0.1:"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn client_and_dump_over_fastcgi_tcp_and_unix() {
    let path = std::env::temp_dir().join(format!("environ-dump-f{}.sock", std::process::id()));
    let p = path.to_str().unwrap();
    let (_dump, ready) = start_dump(&["--fastcgi", "127.0.0.1:0", "--fastcgi-unix", p]);
    let addr = ready[1].strip_prefix("listening fcgi://").unwrap();
    for target in [
        vec![format!("fcgi://{addr}/index.php?a=b")],
        vec![
            "--unix".to_owned(),
            p.to_owned(),
            "fcgi://localhost/index.php?a=b".to_owned(),
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_backend-client"))
            .args([
                "--var",
                "SCRIPT_FILENAME=/srv/index.php",
                "-d",
                "field=value&other=1",
            ])
            .args(&target)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        for want in [
            "REQUEST_METHOD=POST\n",
            "QUERY_STRING=a=b\n",
            "SCRIPT_FILENAME=/srv/index.php\n",
            "body_len=19\n",
        ] {
            assert!(text.contains(want), "{want:?} missing in {text}");
        }
        assert!(text.contains(&format!("body_sha256={BODY_SHA}")), "{text}");
    }
}

#[test]
fn json_report_carries_bytes_as_latin1() {
    let (_dump, ready) = start_dump(&["--format", "json"]);
    let addr = ready[0].strip_prefix("listening uwsgi://").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backend-client"))
        .args(["--var", "X_NAME=caf\u{e9}"])
        .arg(format!("uwsgi://{addr}/j"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let vars = v["vars"].as_array().unwrap();
    assert_eq!(vars[0], serde_json::json!(["REQUEST_METHOD", "GET"]));
    // "é" is the UTF-8 bytes c3 a9, each carried as one latin-1 code point.
    assert_eq!(
        vars.last().unwrap(),
        &serde_json::json!(["X_NAME", "caf\u{c3}\u{a9}"])
    );
    assert_eq!(v["body_len"], 0);
    assert_eq!(
        v["body_sha256"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

fn client(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_backend-client"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn json_output_over_both_protocols() {
    let (_dump, ready) = start_dump(&["--fastcgi", "127.0.0.1:0"]);
    let u = ready[0].strip_prefix("listening uwsgi://").unwrap();
    let f = ready[1].strip_prefix("listening fcgi://").unwrap();
    for (url, fcgi) in [
        (format!("uwsgi://{u}/j?x=1"), false),
        (format!("fcgi://{f}/j?x=1"), true),
    ] {
        let (code, out, err) = client(&["--json", "-d", "field=value&other=1", &url]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out.lines().count(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let body = v["body"].as_str().unwrap();
        assert!(body.contains("QUERY_STRING=x=1\n"), "{body}");
        assert!(body.contains(&format!("body_sha256={BODY_SHA}")), "{body}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["body_len"], body.len());
        assert_eq!(
            v["headers"],
            serde_json::json!([
                ["content-type", "text/plain; charset=utf-8"],
                ["content-length", body.len().to_string()]
            ])
        );
        assert_eq!(v["body_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(v["stderr"], "");
        if fcgi {
            assert_eq!(v["app_status"], 0);
            assert_eq!(v["protocol_status"], "request-complete");
        } else {
            assert_eq!(v["app_status"], serde_json::Value::Null);
            assert_eq!(v["protocol_status"], serde_json::Value::Null);
        }
    }
}

#[test]
fn get_values_and_ping() {
    let (_dump, ready) = start_dump(&["--fastcgi", "127.0.0.1:0"]);
    let u = ready[0].strip_prefix("listening uwsgi://").unwrap();
    let f = ready[1].strip_prefix("listening fcgi://").unwrap();
    let (code, out, err) = client(&["--get-values", &format!("fcgi://{f}")]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        "FCGI_MAX_CONNS=10000\nFCGI_MAX_REQS=1\nFCGI_MPXS_CONNS=0\n"
    );
    let (code, out, _) = client(&["--get-values", "--json", &format!("fcgi://{f}")]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out,
        "{\"values\":[[\"FCGI_MAX_CONNS\",\"10000\"],[\"FCGI_MAX_REQS\",\"1\"],[\"FCGI_MPXS_CONNS\",\"0\"]]}\n"
    );
    let (code, out, err) = client(&["--ping", &format!("uwsgi://{u}")]);
    assert_eq!((code, out.as_str()), (Some(0), "pong\n"), "{err}");
    // A ping to a FastCGI URL is a usage error; GET_VALUES to a uwsgi
    // server gets no answer: protocol error.
    let (code, _, err) = client(&["--ping", &format!("fcgi://{f}")]);
    assert_eq!(
        (code, err.as_str()),
        (Some(2), "backend-client: --ping needs a uwsgi:// URL\n")
    );
    let (code, _, err) = client(&["--get-values", &format!("fcgi://{u}")]);
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A server answering every connection with `reply` after reading the
/// request's first bytes, then ending its side and reading until the client
/// closes: request bytes left unread at close would turn the clean end of
/// the reply into a reset.
fn fake(reply: &'static [u8]) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let mut s = s.unwrap();
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let _ = s.write_all(reply);
            let _ = s.shutdown(std::net::Shutdown::Write);
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        }
    });
    addr
}

#[test]
fn malformed_replies_are_one_line_with_the_offset_and_exit_3() {
    let a = fake(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    let (code, _, err) = client(&[&format!("uwsgi://{a}/")]);
    assert_eq!(code, Some(3));
    assert_eq!(
        err,
        format!(
            "backend-client: {a}: malformed reply body: stream ended inside the body at offset 42\n"
        )
    );
    let a = fake(b"HTTP/1.1 2x0 OK\r\n\r\n");
    let (code, _, err) = client(&[&format!("uwsgi://{a}/")]);
    assert_eq!(code, Some(3));
    assert_eq!(
        err,
        format!(
            "backend-client: {a}: malformed reply: invalid response head: malformed syntax \
             (response head at offset 0)\n"
        )
    );
    // A FastCGI record with version 2 at offset 13.
    let a = fake(b"\x01\x06\x00\x01\x00\x05\x00\x00Statu\x02\x06\x00\x01\x00\x00\x00\x00");
    let (code, _, err) = client(&[&format!("fcgi://{a}/")]);
    assert_eq!(code, Some(3));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("offset 13"), "{err}");
    // FastCGI: the connection closes before END_REQUEST.
    let a = fake(b"\x01\x06\x00\x01\x00\x05\x00\x00Statu");
    let (code, _, err) = client(&[&format!("fcgi://{a}/")]);
    assert_eq!(code, Some(3));
    assert_eq!(
        err,
        format!(
            "backend-client: {a}: malformed reply: connection closed at offset 13 before END_REQUEST\n"
        )
    );
}

#[test]
fn timeout_exits_5() {
    // A listener that never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    let (code, _, err) = client(&["--timeout", "1", &format!("uwsgi://{a}/")]);
    drop(l);
    assert_eq!(code, Some(5));
    assert_eq!(err, format!("backend-client: {a}: timed out after 1s\n"));
}
